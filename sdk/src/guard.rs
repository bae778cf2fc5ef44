//! Catching panics at the plugin boundary.
//!
//! A panic that crosses an abi_stable boundary ends the process, so every entry point runs its
//! body under [`guard`]. Each cdylib has its own copy of std and so its own panic hook: the hook
//! installed here records the panic message and location for the error instead of printing it,
//! while a panic outside any guard still goes to the previous hook.
use rlhost_plugin_api::abi_stable::std_types::RResult;
use rlhost_plugin_api::{ErrorKind, PluginError};
use std::cell::{Cell, RefCell};
use std::panic::{self, AssertUnwindSafe};
use std::sync::Once;

thread_local! {
    static GUARD_DEPTH: Cell<u32> = const { Cell::new(0) };
    static LAST_PANIC: RefCell<Option<String>> = const { RefCell::new(None) };
}

static HOOK: Once = Once::new();

fn install_hook() {
    HOOK.call_once(|| {
        let previous = panic::take_hook();
        panic::set_hook(Box::new(move |info| {
            if GUARD_DEPTH.with(Cell::get) == 0 {
                previous(info);
                return;
            }
            let location = info.location().map(|l| format!(" at {}:{}", l.file(), l.line())).unwrap_or_default();
            LAST_PANIC.with(|p| *p.borrow_mut() = Some(format!("{}{location}", payload_text(info.payload()))));
        }));
    });
}

fn payload_text(payload: &(dyn std::any::Any + Send)) -> String {
    if let Some(s) = payload.downcast_ref::<&str>() {
        (*s).to_string()
    } else if let Some(s) = payload.downcast_ref::<String>() {
        s.clone()
    } else {
        "unknown panic payload".to_string()
    }
}

/// Runs `f`, turning a panic into a [`PluginError`] of kind [`ErrorKind::Panic`].
pub fn guard<T>(f: impl FnOnce() -> Result<T, PluginError>) -> RResult<T, PluginError> {
    install_hook();
    GUARD_DEPTH.with(|d| d.set(d.get() + 1));
    let outcome = panic::catch_unwind(AssertUnwindSafe(f));
    GUARD_DEPTH.with(|d| d.set(d.get() - 1));
    match outcome {
        Ok(result) => result.into(),
        Err(payload) => {
            let text = LAST_PANIC.with(|p| p.borrow_mut().take()).unwrap_or_else(|| payload_text(payload.as_ref()));
            let (first, rest) = text.split_once('\n').unwrap_or((&text, ""));
            RResult::RErr(PluginError::new(ErrorKind::Panic, format!("plugin panicked: {first}")).with_detail(rest))
        }
    }
}
