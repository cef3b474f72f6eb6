//! A refresh's large tables, kept for the next refresh instead of being
//! given back to the kernel.
//!
//! glibc maps every block of 128 KiB or more on its own (see `memory`), so
//! a table allocated anew each refresh comes back as fresh pages, and the
//! kernel faults and zeroes each one on first write. At 100k sockets the
//! socket table alone is 25 MB: measured on the refresh benchmark, page
//! faults were half of the history-and-tables stage. A table handed to a
//! [`Spare`] when its snapshot goes keeps its pages, and the next refresh
//! writes into them. Only one table is kept per spare, and one far larger
//! than asked for is let go, so a host whose sockets fell away does not
//! hold its old peak.

use std::sync::{Arc, Mutex, PoisonError};

/// From how many rows a kept table may be larger than asked for: below
/// this a table is small enough to keep whatever its size.
const KEEP_ANY_BELOW: usize = 4_096;

/// One empty table of `T`s, shared by whoever builds tables and whoever
/// lets them go (possibly another thread).
#[derive(Debug)]
pub struct Spare<T>(Arc<Mutex<Vec<T>>>);

impl<T> Clone for Spare<T> {
    fn clone(&self) -> Self {
        Self(Arc::clone(&self.0))
    }
}

impl<T> Default for Spare<T> {
    fn default() -> Self {
        Self(Arc::new(Mutex::new(Vec::new())))
    }
}

impl<T> Spare<T> {
    pub fn new() -> Self {
        Self::default()
    }

    /// An empty table with room for `rows`: the kept one when there is one
    /// and it is not more than twice too large, else a new one.
    pub fn take(&self, rows: usize) -> Vec<T> {
        refit(std::mem::take(&mut *self.0.lock().unwrap_or_else(PoisonError::into_inner)), rows)
    }

    /// Keep `table`'s room for the next [`Spare::take`] (its rows are
    /// dropped here): the larger of it and the table kept already.
    pub fn keep(&self, mut table: Vec<T>) {
        table.clear();
        let mut kept = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        if table.capacity() > kept.capacity() {
            *kept = table;
        }
    }

    /// How many rows the kept table has room for (0 when none is kept).
    pub fn room(&self) -> usize {
        self.0.lock().unwrap_or_else(PoisonError::into_inner).capacity()
    }
}

/// An empty table of `U`s in the memory of `rows` (which are dropped
/// first), for a `U` no larger and no more aligned than a `T`: its pages
/// stay mapped, so the table is written without a page fault. Relies on
/// std collecting a vector's own iterator in place (a test checks that it
/// does); where it does not, the table is new and nothing else changes.
/// The rows are let go before: collecting visits every row left (at 100k
/// rules items, a millisecond reading 10 MB), and for rows without drop
/// glue emptying the table costs nothing.
pub fn reuse<T, U>(mut rows: Vec<T>) -> Vec<U> {
    rows.clear();
    rows.into_iter().filter_map(|_| None).collect()
}

/// `table` emptied, with room for `rows`: its own room unless that is more
/// than twice too large (then a new table). What every kept table goes
/// through before it is written into again.
///
/// A table without room enough is made anew with [`SLACK`] to spare,
/// exactly: a host's socket count moves by a few each refresh, and growing
/// by doubling made a table twice too large as soon as the count fell
/// back, so it was let go and the next refresh wrote every row into fresh
/// pages (measured live at 100k: a page fault every 16 sockets pushed).
pub fn refit<T>(mut table: Vec<T>, rows: usize) -> Vec<T> {
    if table.capacity() > rows.max(KEEP_ANY_BELOW).saturating_mul(2) {
        table = Vec::new();
    }
    table.clear();
    if table.capacity() < rows {
        table.reserve_exact(rows + rows / SLACK);
    }
    table
}

/// A table made anew has room for one row in this many more than asked.
const SLACK: usize = 16;

#[cfg(test)]
mod tests {
    use super::*;

    /// A table of smaller rows in a table's memory: the same pages, room
    /// for as many bytes (less any remainder), the rows left dropped.
    #[test]
    fn a_table_of_smaller_rows_is_made_in_the_same_memory() {
        let rows: Vec<[u64; 21]> = vec![[7; 21]; 10_000];
        let (at, bytes) = (rows.as_ptr() as usize, rows.capacity() * 168);
        let small: Vec<(u32, [u64; 10])> = reuse(rows);
        assert!(small.is_empty());
        assert_eq!(small.as_ptr() as usize, at, "std no longer collects in place");
        assert!(small.capacity() * 88 <= bytes && small.capacity() * 88 > bytes - 88, "{} rows of 88 in {bytes} bytes", small.capacity());
    }

    #[test]
    fn a_kept_table_comes_back_with_its_room_and_no_rows() {
        let spare: Spare<u64> = Spare::new();
        let table: Vec<u64> = (0..10_000).collect();
        let (at, room) = (table.as_ptr(), table.capacity());
        spare.keep(table);
        assert_eq!(spare.room(), room);
        let again = spare.take(9_000);
        assert!(again.is_empty());
        assert_eq!((again.as_ptr(), again.capacity()), (at, room), "the same allocation");
        assert_eq!(spare.room(), 0, "taken, so no longer kept");
    }

    #[test]
    fn the_larger_table_is_kept() {
        let spare: Spare<u8> = Spare::new();
        spare.keep(Vec::with_capacity(5_000));
        spare.keep(Vec::with_capacity(1_000));
        assert!(spare.room() >= 5_000);
        spare.keep(Vec::with_capacity(9_000));
        assert!(spare.room() >= 9_000);
    }

    #[test]
    fn a_table_far_larger_than_asked_for_is_let_go() {
        let spare: Spare<u8> = Spare::new();
        spare.keep(Vec::with_capacity(100_000));
        let small = spare.take(10_000);
        assert!(small.capacity() >= 10_000 && small.capacity() < 100_000);
        // Small tables are kept whatever their size.
        spare.keep(Vec::with_capacity(8_000));
        assert!(spare.take(10).capacity() >= 8_000);
        // Without a kept table, a new one with the room asked for.
        assert!(spare.take(300).capacity() >= 300);
    }

    /// A count that grows a little and falls back, refresh after refresh,
    /// keeps writing into the same table after the first one.
    #[test]
    fn a_table_outlives_a_count_that_wobbles() {
        let spare: Spare<u64> = Spare::new();
        let first = spare.take(100_000);
        let at = first.as_ptr();
        spare.keep(first);
        for rows in [100_009, 99_990, 100_400, 99_000, 100_011, 101_000] {
            let mut table = spare.take(rows);
            assert_eq!(table.as_ptr(), at, "{rows} rows: a new table");
            table.extend(0..rows as u64);
            spare.keep(table);
        }
    }

    #[test]
    fn a_table_let_go_on_another_thread_is_kept() {
        let spare: Spare<String> = Spare::new();
        let table: Vec<String> = (0..5_000).map(|i| i.to_string()).collect();
        let room = table.capacity();
        let other = spare.clone();
        std::thread::spawn(move || other.keep(table)).join().expect("thread");
        assert_eq!(spare.take(1).capacity(), room);
    }
}
