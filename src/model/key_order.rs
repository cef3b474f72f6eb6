//! An observation's socket rows in key order, for the builder's merge with
//! history. The dump's rows are mostly ascending runs already (see
//! [`super::dump_runs`]), and are then merged, each row moved once. When
//! they are not, sorting 100k rows of ~170 bytes is a good part of a
//! refresh, so from [`PARALLEL_FROM`] rows the two halves are sorted on two
//! threads (the first ascending, the second descending, in place) and
//! merged as the builder takes them: from the front of the first half and
//! the back of the second, so nothing is allocated and each row is moved
//! once more.

use super::dump_runs::Runs;
use super::socket::RawSocket;

/// From how many rows the halves are sorted on two threads.
const PARALLEL_FROM: usize = 20_000;

/// The rows, consumed in key order.
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
    /// first or the last of what is left, each looked at in place, so a
    /// row is moved once, when it is taken (holding the two candidates
    /// outside the table moved each 160-byte row three more times).
    rows: std::vec::IntoIter<RawSocket>,
    /// Rows of the ascending half not yet taken.
    front_left: usize,
    /// Rows of the descending half not yet taken.
    back_left: usize,
}

impl KeyOrder {
    /// Merge `rows`' runs, or sort them (on two threads when there are
    /// many and two cores).
    pub fn of(rows: Vec<RawSocket>) -> Self {
        match Runs::of(rows) {
            Ok(runs) => Self(Way::Runs(runs)),
            Err(rows) => Self(Way::Sorted(Sorted::of(rows))),
        }
    }

    /// The emptied table's memory (the rows not taken are dropped): the
    /// dump's pages, already mapped, for whoever needs a table next (see
    /// [`Evaluator::lend_room`](super::Evaluator::lend_room)).
    pub fn into_room(self) -> Vec<RawSocket> {
        match self.0 {
            Way::Runs(runs) => crate::spare::reuse(runs.into_table().into_iter()),
            Way::Sorted(sorted) => crate::spare::reuse(sorted.rows),
        }
    }

    /// How many rows are left.
    pub fn remaining(&self) -> usize {
        match &self.0 {
            Way::Runs(runs) => runs.remaining(),
            Way::Sorted(sorted) => sorted.remaining(),
        }
    }
}

impl Iterator for KeyOrder {
    type Item = RawSocket;

    fn next(&mut self) -> Option<RawSocket> {
        match &mut self.0 {
            Way::Runs(runs) => runs.next(),
            Way::Sorted(sorted) => sorted.next(),
        }
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        (self.remaining(), Some(self.remaining()))
    }
}

impl Sorted {
    fn of(mut rows: Vec<RawSocket>) -> Self {
        let parallel = rows.len() >= PARALLEL_FROM && std::thread::available_parallelism().is_ok_and(|n| n.get() > 1);
        Self::sorted(&mut rows, parallel);
        let n = rows.len();
        let front_left = if parallel { n / 2 } else { n };
        Self { rows: rows.into_iter(), front_left, back_left: n - front_left }
    }

    fn sorted(rows: &mut [RawSocket], parallel: bool) {
        if parallel {
            let (front, back) = rows.split_at_mut(rows.len() / 2);
            crate::both::both(|| back.sort_unstable_by_key(|s| std::cmp::Reverse(s.key)), || front.sort_unstable_by_key(|s| s.key));
        } else {
            rows.sort_unstable_by_key(|s| s.key);
        }
    }

    fn remaining(&self) -> usize {
        self.front_left + self.back_left
    }

    fn next(&mut self) -> Option<RawSocket> {
        let left = self.rows.as_slice();
        let from_back = match (self.front_left, self.back_left) {
            (0, 0) => return None,
            (0, _) => true,
            (_, 0) => false,
            _ => left.last().map(|r| r.key) < left.first().map(|r| r.key),
        };
        if from_back {
            self.back_left -= 1;
            self.rows.next_back()
        } else {
            self.front_left -= 1;
            self.rows.next()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::{KeyOrder, Sorted};
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
                let front_left = if parallel { n / 2 } else { n };
                let mut order = Sorted { rows: sorted.into_iter(), front_left, back_left: n - front_left };
                assert_eq!(order.remaining(), n);
                let got: Vec<SocketKey> = std::iter::from_fn(|| order.next()).map(|r| r.key).collect();
                assert_eq!(got, want, "n {n}, parallel {parallel}");
            }
        }
        // The public way agrees (one thread below the threshold).
        let rows: Vec<RawSocket> = (0..50).rev().map(|c| row(Protocol::Tcp, c)).collect();
        let got: Vec<u64> = KeyOrder::of(rows).map(|r| r.key.cookie).collect();
        assert_eq!(got, (0..50).collect::<Vec<u64>>());
    }
}
