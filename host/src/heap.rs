//! The C heap policy of the `rlhost` process.
//!
//! libtorch allocates every tensor with the C allocator. glibc's defaults hand large blocks
//! straight back to the kernel: a block above the mmap threshold is unmapped when freed, and once
//! the free space at the top of the heap passes the trim threshold (twice the largest block
//! freed so far, about 16 MiB for an 8 MiB activation) the heap is shrunk. A PPO minibatch
//! allocates and frees tens of MiB of activations and gradients, so every minibatch touched fresh
//! pages again: on `configs/pendulum_isaaclab_sized_ppo.yaml` about 50,000 page faults per epoch
//! (rl_games 1.6.5 in Python: about 2,000, its interpreter's small objects keep the heap top in
//! use), a kernel page-zeroing cost of the order of the GEMMs'. Keeping freed memory in the heap
//! makes the next minibatch reuse the same pages. The peak footprint is unchanged (it is reached
//! anyway); what is kept is the memory between a peak and the next one.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
mod glibc {
    /// Blocks up to this size come from the heap, not from mmap: glibc's largest accepted value
    /// (half its 64 MiB heap size on 64-bit), above the 8 MiB of a (8192, 256) float activation.
    pub const MMAP_THRESHOLD: i32 = 32 << 20;
    /// Free space at the heap top is returned to the kernel only above this.
    pub const TRIM_THRESHOLD: i32 = 1 << 30;
    /// Environment variables through which a user sets glibc's malloc parameters himself.
    pub const USER_SETTINGS: [&str; 3] = ["GLIBC_TUNABLES", "MALLOC_TRIM_THRESHOLD_", "MALLOC_MMAP_THRESHOLD_"];
}

/// Keeps freed tensor memory in the process's heap for reuse (see the module docs), unless the
/// user sets glibc's malloc parameters through the environment. Call once, first thing in `main`.
pub fn keep_freed_memory() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    {
        if glibc::USER_SETTINGS.iter().any(|v| std::env::var_os(v).is_some()) {
            return;
        }
        // SAFETY: mallopt changes two allocator parameters under the allocator's own lock; a
        // refused value leaves glibc's default in place.
        unsafe {
            libc::mallopt(libc::M_MMAP_THRESHOLD, glibc::MMAP_THRESHOLD);
            libc::mallopt(libc::M_TRIM_THRESHOLD, glibc::TRIM_THRESHOLD);
        }
    }
}

#[cfg(all(test, target_os = "linux", target_env = "gnu"))]
mod tests {
    use super::*;

    /// Four 8 MiB blocks (a (8192, 256) float activation each) come from the heap and stay there
    /// when freed. With glibc's defaults the first block of a fresh process is mmapped, and 32
    /// MiB of free heap top is above the 16 MiB trim threshold its free sets. (Four, not more:
    /// the test runs on a thread whose arena heaps hold 64 MiB; an emptied heap is released
    /// whatever the threshold.)
    #[test]
    fn activation_sized_blocks_are_kept_in_the_heap() {
        if glibc::USER_SETTINGS.iter().any(|v| std::env::var_os(v).is_some()) {
            return; // the user's settings win, by design
        }
        keep_freed_memory();
        const SIZE: usize = 8 << 20;
        // SAFETY: plain malloc/free of blocks this test owns (black_box keeps the compiler from
        // eliding the pairs); mallinfo2 only reads statistics.
        unsafe {
            let before = libc::mallinfo2();
            let blocks: Vec<*mut libc::c_void> = (0..4).map(|_| std::hint::black_box(libc::malloc(SIZE))).collect();
            for &b in &blocks {
                assert!(!b.is_null());
                b.cast::<u8>().write_bytes(1, SIZE);
            }
            let held = libc::mallinfo2();
            for b in blocks {
                libc::free(std::hint::black_box(b));
            }
            let after = libc::mallinfo2();
            assert_eq!(held.hblks, before.hblks, "a block was mmapped");
            assert_eq!(after.arena, held.arena, "the freed blocks were trimmed from the heap");
        }
    }
}
