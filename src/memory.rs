//! How the process takes memory from glibc: the one place in the crate
//! with `unsafe` (a single `mallopt` call; the architecture test keeps it
//! the only one).
//!
//! glibc maps an allocation of 128 KiB or more on its own, so freeing it
//! gives the memory back, but its threshold moves: once such a block is
//! freed, blocks up to that size (up to 32 MiB) come from the heap instead,
//! where a freed block stays, and a later, larger one is put beside it.
//! A refresh allocates a new socket table, history table and dump (each
//! megabytes at 50k sockets) and frees the previous ones, so with a moving
//! threshold the heap grew to hold two generations of them: the refresh
//! benchmark's explorer peaked at 70 MiB at 50k sockets with 54 MiB live,
//! and at 56 MiB with the threshold fixed (measured the same day, same
//! build). The price is a fresh mapping, zeroed by the kernel, per large
//! block and refresh. One-shot commands (`snapshot`, `summary`) do not
//! call it: they free nothing they need again, and glibc's moving
//! threshold spares them the fresh pages.
//!
//! The threshold is 1 MiB, not glibc's starting 128 KiB: the rules' and
//! the index's lists of a refresh (a `u32` or a reference per socket, a
//! few hundred KiB each at 100k) then come from the heap, where the last
//! refresh's freed blocks are, instead of a fresh mapping each, every
//! page faulted in again (on this project's VM about 4 µs a page). The
//! socket, row and history tables stay above it. Measured: the stages
//! bench's rules 14.0–16.4 → 12.6–14.1 ms at 100k (fastest of 39), the
//! explorer's 50k peak 54.6–55.1 → 55.4–56.0 MiB.

/// Allocations from this size are mapped on their own and returned when
/// freed (kept fixed; see the module docs for why not glibc's 128 KiB).
pub const LARGE_BLOCK: usize = 1024 * 1024;

/// Fix glibc's threshold for mapped allocations at [`LARGE_BLOCK`]; call
/// it first thing in `main`. Whether glibc took it (always false on other
/// C libraries, where it does nothing).
pub fn return_large_blocks() -> bool {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    {
        // SAFETY: mallopt only sets an allocator parameter, which glibc
        // allows at any time from any thread; it reads no memory of ours
        // and returns 0 for a value it refuses.
        #[allow(unsafe_code)]
        let taken = unsafe { libc::mallopt(libc::M_MMAP_THRESHOLD, LARGE_BLOCK as libc::c_int) };
        taken == 1
    }
    #[cfg(not(all(target_os = "linux", target_env = "gnu")))]
    {
        false
    }
}

#[cfg(test)]
mod tests {
    /// glibc takes the value (the tests run on glibc), and a large block
    /// is then still usable as any other.
    #[test]
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    fn glibc_takes_the_threshold() {
        assert!(super::return_large_blocks());
        let block = vec![7u8; 4 * super::LARGE_BLOCK];
        assert_eq!(block.iter().map(|&b| u64::from(b)).sum::<u64>(), 7 * 4 * super::LARGE_BLOCK as u64);
    }
}
