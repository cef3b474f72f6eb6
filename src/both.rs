//! Two pieces of work at once: one on a scoped thread, one here. Scoped,
//! so both may borrow what the caller holds (a snapshot, a table) without
//! copying or locking; a panic on the thread is raised again here.

/// Run `side` on a second thread and `here` on this one; both results,
/// once both are done.
pub fn both<A: Send, B>(side: impl FnOnce() -> A + Send, here: impl FnOnce() -> B) -> (A, B) {
    std::thread::scope(|scope| {
        let other = scope.spawn(side);
        let mine = here();
        let theirs = other.join().unwrap_or_else(|panic| std::panic::resume_unwind(panic));
        (theirs, mine)
    })
}

/// Whether a second thread can run beside this one (asked once: the
/// answer reads cgroup files).
pub fn second_core() -> bool {
    static TWO: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    *TWO.get_or_init(|| std::thread::available_parallelism().is_ok_and(|n| n.get() >= 2))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_results_come_back_from_borrowed_data() {
        let data: Vec<u64> = (1..=1_000).collect();
        let (first, second) = data.split_at(500);
        let (a, b) = both(|| first.iter().sum::<u64>(), || second.iter().sum::<u64>());
        assert_eq!((a, b), (125_250, 375_250));
    }

    #[test]
    #[should_panic(expected = "side failed")]
    fn a_panic_on_the_thread_is_raised_here() {
        let fail = std::hint::black_box(true);
        let _ = both(
            || {
                assert!(!fail, "side failed");
                0
            },
            || 1,
        );
    }
}
