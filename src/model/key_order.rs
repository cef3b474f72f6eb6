//! An observation's socket rows in key order, for the builder's merge with
//! history. The dump's rows are mostly ascending runs already (see
//! [`super::dump_runs`]), and are then merged. When they are not, sorting
//! 100k rows of ~170 bytes is a good part of a refresh, so from
//! [`PARALLEL_FROM`] rows the two halves are sorted on two threads (the
//! first ascending, the second descending, in place) and merged as the
//! builder reads them: from the front of the first half and the back of
//! the second. Either way the rows are read in place, not moved out: the
//! builder copies what it keeps, and the emptied table is lent on whole
//! ([`KeyOrder::into_room`]).

use super::dump_runs::{Merge, Runs};
use super::socket::RawSocket;

/// From how many rows the halves are sorted on two threads.
const PARALLEL_FROM: usize = 20_000;

/// The rows, read in key order.
#[derive(Debug)]
pub struct KeyOrder(Way);

#[derive(Debug)]
enum Way {
    /// The dump's own runs, merged.
    Runs(Runs),
    /// Sorted in place.
    Sorted(Sorted),
}

/// Rows sorted in place, as one ascending table or two halves.
#[derive(Debug)]
struct Sorted {
    /// The ascending half, then the descending half: the next row is the
    /// first or the last of what is left, each looked at in place.
    rows: Vec<RawSocket>,
    ends: Ends,
}

/// Where the reading of sorted halves stands.
#[derive(Debug)]
struct Ends {
    /// The ascending half's next position.
    front: usize,
    /// One past the descending half's next position (it is read from the
    /// back); rows `front..back` are left.
    back: usize,
    /// Where the halves meet.
    middle: usize,
}

/// Hands out the rows of a [`KeyOrder`] in key order while the rows
/// themselves may be read elsewhere too (see [`KeyOrder::split`]).
#[derive(Debug)]
pub struct Cursor<'k> {
    rows: &'k [RawSocket],
    way: CursorWay<'k>,
}

#[derive(Debug)]
enum CursorWay<'k> {
    Runs(&'k mut Merge),
    Sorted(&'k mut Ends),
}

impl<'k> Cursor<'k> {
    /// The next row in key order.
    pub fn next_row(&mut self) -> Option<&'k RawSocket> {
        let rows = self.rows;
        let at = match &mut self.way {
            CursorWay::Runs(merge) => merge.next_at(rows),
            CursorWay::Sorted(ends) => ends.next_at(rows),
        };
        at.map(|at| &rows[at])
    }
}

impl KeyOrder {
    /// Merge `rows`' runs, or sort them (on two threads when there are
    /// many and two cores).
    pub fn of(rows: Vec<RawSocket>) -> Self {
        Self::merged_or_sorted(Runs::of(rows))
    }

    /// As [`KeyOrder::of`], with `side` reading the rows on a second
    /// thread while their runs are found here: both are a pass over the
    /// dump's cold table, bound by its cache misses, not by one core.
    pub fn of_beside<T: Send>(rows: Vec<RawSocket>, side: impl FnOnce(&[RawSocket]) -> T + Send) -> (Self, T) {
        let (t, plan) = crate::both::both(|| side(&rows), || Runs::plan(&rows));
        (Self::merged_or_sorted(Runs::with_plan(rows, plan)), t)
    }

    fn merged_or_sorted(runs: Result<Runs, Vec<RawSocket>>) -> Self {
        match runs {
            Ok(runs) => Self(Way::Runs(runs)),
            Err(rows) => Self(Way::Sorted(Sorted::of(rows))),
        }
    }

    /// The rows as they lie in the table (the dump's order, or sorted
    /// halves), for whoever reads them beside, and a cursor handing them
    /// out in key order.
    pub fn split(&mut self) -> (&[RawSocket], Cursor<'_>) {
        match &mut self.0 {
            Way::Runs(runs) => {
                let (rows, merge) = runs.parts();
                (rows, Cursor { rows, way: CursorWay::Runs(merge) })
            }
            Way::Sorted(Sorted { rows, ends }) => (rows, Cursor { rows, way: CursorWay::Sorted(ends) }),
        }
    }

    /// The emptied table's memory: the dump's pages, already mapped, for
    /// whoever needs a table next (see
    /// [`Evaluator::lend_room`](super::Evaluator::lend_room)).
    pub fn into_room(self) -> Vec<RawSocket> {
        let mut rows = match self.0 {
            Way::Runs(runs) => runs.into_table(),
            Way::Sorted(sorted) => sorted.rows,
        };
        rows.clear();
        rows
    }

    /// How many rows are left.
    pub fn remaining(&self) -> usize {
        match &self.0 {
            Way::Runs(runs) => runs.remaining(),
            Way::Sorted(sorted) => sorted.ends.back - sorted.ends.front,
        }
    }
}

impl Sorted {
    fn of(mut rows: Vec<RawSocket>) -> Self {
        let parallel = rows.len() >= PARALLEL_FROM && std::thread::available_parallelism().is_ok_and(|n| n.get() > 1);
        Self::sorted(&mut rows, parallel);
        let n = rows.len();
        let middle = if parallel { n / 2 } else { n };
        Self { rows, ends: Ends { front: 0, back: n, middle } }
    }

    fn sorted(rows: &mut [RawSocket], parallel: bool) {
        if parallel {
            let (front, back) = rows.split_at_mut(rows.len() / 2);
            crate::both::both(|| back.sort_unstable_by_key(|s| std::cmp::Reverse(s.key)), || front.sort_unstable_by_key(|s| s.key));
        } else {
            rows.sort_unstable_by_key(|s| s.key);
        }
    }
}

impl Ends {
    /// The position of the next row of `rows` (the sorted table) in key
    /// order.
    fn next_at(&mut self, rows: &[RawSocket]) -> Option<usize> {
        let from_back = match (self.front < self.middle, self.middle < self.back) {
            (false, false) => return None,
            (false, true) => true,
            (true, false) => false,
            (true, true) => rows[self.back - 1].key < rows[self.front].key,
        };
        if from_back {
            self.back -= 1;
            Some(self.back)
        } else {
            self.front += 1;
            Some(self.front - 1)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::{Ends, KeyOrder, Sorted};
    use crate::model::{Protocol, RawSocket, SocketKey, SocketState};

    fn row(protocol: Protocol, cookie: u64) -> RawSocket {
        RawSocket {
            key: SocketKey { protocol, cookie },
            state: SocketState::Established,
            local: ([127, 0, 0, 1], 1).into(),
            remote: ([127, 0, 0, 1], 2).into(),
            inode: cookie as u32,
            uid: 0,
            owners: crate::model::Owners::default(),
            tcp: None,
            recv_queue: 0,
            send_queue: 0,
            netns: None,
        }
    }

    /// Both ways (one thread, two halves) give every row once, in key
    /// order, for even and odd counts and both protocols.
    #[test]
    fn every_row_once_in_key_order() {
        let mut seed: u64 = 0x2545_f491_4f6c_dd1d;
        for n in [0usize, 1, 2, 3, 10, 101, 1_000] {
            let rows: Vec<RawSocket> = (0..n)
                .map(|_| {
                    seed ^= seed << 13;
                    seed ^= seed >> 7;
                    seed ^= seed << 17;
                    row(if seed.is_multiple_of(3) { Protocol::Udp } else { Protocol::Tcp }, seed % 10_000)
                })
                .collect();
            let mut want: Vec<SocketKey> = rows.iter().map(|r| r.key).collect();
            want.sort_unstable();
            for parallel in [false, true] {
                let mut sorted = rows.clone();
                Sorted::sorted(&mut sorted, parallel);
                let middle = if parallel { n / 2 } else { n };
                let mut ends = Ends { front: 0, back: n, middle };
                assert_eq!(ends.back - ends.front, n);
                let at: Vec<usize> = std::iter::from_fn(|| ends.next_at(&sorted)).collect();
                let got: Vec<SocketKey> = at.into_iter().map(|at| sorted[at].key).collect();
                assert_eq!(got, want, "n {n}, parallel {parallel}");
            }
        }
        // The public way agrees (one thread below the threshold).
        let rows: Vec<RawSocket> = (0..50).rev().map(|c| row(Protocol::Tcp, c)).collect();
        let mut order = KeyOrder::of(rows);
        let got: Vec<u64> = {
            let (_, mut cursor) = order.split();
            std::iter::from_fn(|| cursor.next_row().map(|r| r.key.cookie)).collect()
        };
        assert_eq!(got, (0..50).collect::<Vec<u64>>());
    }

    /// Read beside the search for runs, the rows come out in the same key
    /// order as without, and the side's reader saw every row in the dump's
    /// order: for runs with spikes (merged) and for rows in no order
    /// (sorted).
    #[test]
    fn a_reader_beside_changes_nothing_of_the_order() {
        let runs: Vec<u64> = (0..400).chain(1_000..1_400).chain([5_000, 5_001]).chain(400..800).collect();
        let mut shuffled: Vec<u64> = (0..500).map(|c: u64| c.wrapping_mul(7_919) % 503).collect();
        shuffled.dedup();
        for cookies in [runs, shuffled] {
            let rows: Vec<RawSocket> = cookies.iter().map(|&c| row(Protocol::Tcp, c)).collect();
            let mut alone = KeyOrder::of(rows.clone());
            let want: Vec<u64> = {
                let (_, mut cursor) = alone.split();
                std::iter::from_fn(|| cursor.next_row().map(|r| r.key.cookie)).collect()
            };
            let (mut beside, seen) = KeyOrder::of_beside(rows, |rows| rows.iter().map(|r| r.key.cookie).collect::<Vec<u64>>());
            let got: Vec<u64> = {
                let (_, mut cursor) = beside.split();
                std::iter::from_fn(|| cursor.next_row().map(|r| r.key.cookie)).collect()
            };
            assert_eq!(got, want);
            assert_eq!(seen, cookies);
            let mut sorted = cookies.clone();
            sorted.sort_unstable();
            assert_eq!(got, sorted);
        }
    }

    /// Split, the table holds every row once and the cursor hands them out
    /// in key order, for runs (merged) and rows in no order (sorted).
    #[test]
    fn a_split_order_reads_the_dump_while_the_cursor_hands_out_key_order() {
        let runs: Vec<u64> = (0..400).chain(1_000..1_400).chain([5_000, 5_001]).chain(400..800).collect();
        let shuffled: Vec<u64> = (0..500).map(|c: u64| c.wrapping_mul(7_919) % 503).collect();
        for cookies in [runs, shuffled] {
            let mut order = KeyOrder::of(cookies.iter().map(|&c| row(Protocol::Tcp, c)).collect());
            let (dump, mut cursor) = order.split();
            let got: Vec<u64> = std::iter::from_fn(|| cursor.next_row().map(|r| r.key.cookie)).collect();
            let mut lying: Vec<u64> = dump.iter().map(|r| r.key.cookie).collect();
            lying.sort_unstable();
            let mut sorted = cookies.clone();
            sorted.sort_unstable();
            assert_eq!(lying, sorted, "every row, once");
            assert_eq!(got, sorted);
            assert_eq!(order.remaining(), 0);
        }
    }
}
