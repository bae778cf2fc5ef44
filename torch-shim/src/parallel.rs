//! libtorch's intra-op thread pool for work that is not a tensor op (`src/parallel.cpp`).
use std::any::Any;
use std::ffi::{c_char, c_void};
use std::ops::Range;
use std::panic::{catch_unwind, resume_unwind, AssertUnwindSafe};
use std::sync::Mutex;

use crate::{check, ShimError};

extern "C" {
    fn rlhost_shim_parallel_for(
        n: i64,
        ctx: *mut c_void,
        body: extern "C" fn(*mut c_void, i64, i64),
        err: *mut *mut c_char,
    ) -> i32;
}

/// The body and the first panic it raised on any thread.
struct Context<'a, F> {
    body: &'a F,
    panic: Mutex<Option<Box<dyn Any + Send>>>,
}

extern "C" fn call_body<F: Fn(Range<usize>) + Sync>(ctx: *mut c_void, begin: i64, end: i64) {
    // SAFETY: `ctx` is the `Context<F>` that `parallel_for` keeps alive for the whole call.
    let ctx = unsafe { &*(ctx as *const Context<F>) };
    // A panic must not unwind into C++: it is kept and raised again on the calling thread.
    if let Err(payload) = catch_unwind(AssertUnwindSafe(|| (ctx.body)(begin as usize..end as usize))) {
        ctx.panic.lock().unwrap_or_else(|e| e.into_inner()).get_or_insert(payload);
    }
}

/// Runs `body` on disjoint ranges that cover `0..n`, one per libtorch intra-op thread
/// (`tch::get_num_threads`, at most `n`), and returns when all are done. A panic in `body` is raised again here, after the other
/// ranges have finished. Called from inside another parallel region, it runs on one thread.
pub fn parallel_for<F: Fn(Range<usize>) + Sync>(n: usize, body: F) -> Result<(), ShimError> {
    if n == 0 {
        return Ok(());
    }
    let ctx = Context { body: &body, panic: Mutex::new(None) };
    let mut err: *mut c_char = std::ptr::null_mut();
    // SAFETY: `ctx` outlives the call, `call_body::<F>` matches its type, and the C++ side calls
    // the body only on disjoint subranges of [0, n) before it returns.
    let rc = unsafe {
        rlhost_shim_parallel_for(n as i64, &ctx as *const Context<F> as *mut c_void, call_body::<F>, &mut err)
    };
    if let Some(payload) = ctx.panic.into_inner().unwrap_or_else(|e| e.into_inner()) {
        resume_unwind(payload);
    }
    check(rc, err)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};

    #[test]
    fn the_ranges_cover_every_index_once() {
        tch::set_num_threads(2);
        let hits: Vec<AtomicUsize> = (0..1001).map(|_| AtomicUsize::new(0)).collect();
        let ranges = AtomicUsize::new(0);
        parallel_for(hits.len(), |r| {
            ranges.fetch_add(1, Ordering::Relaxed);
            r.for_each(|i| {
                hits[i].fetch_add(1, Ordering::Relaxed);
            })
        })
        .unwrap();
        assert!(hits.iter().all(|h| h.load(Ordering::Relaxed) == 1));
        assert_eq!(ranges.load(Ordering::Relaxed), (tch::get_num_threads() as usize).min(hits.len()));
    }

    #[test]
    fn it_runs_on_more_than_one_thread() {
        tch::set_num_threads(2);
        let threads = Mutex::new(std::collections::HashSet::new());
        parallel_for(2, |_| {
            // Long enough that both ranges are in flight at once.
            std::thread::sleep(std::time::Duration::from_millis(20));
            threads.lock().unwrap().insert(std::thread::current().id());
        })
        .unwrap();
        assert_eq!(threads.into_inner().unwrap().len(), 2);
    }

    #[test]
    fn a_panicking_body_panics_the_caller() {
        let caught = catch_unwind(|| parallel_for(8, |r| assert!(!r.contains(&5), "index {}", 5)));
        let payload = caught.unwrap_err();
        let message =
            payload.downcast_ref::<String>().cloned().or(payload.downcast_ref::<&str>().map(|m| m.to_string()));
        assert_eq!(message.as_deref(), Some("index 5"));
    }
}
