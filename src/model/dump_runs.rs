//! The dump's rows are nearly in key order already, and are merged rather
//! than sorted when they are.
//!
//! The kernel gives a socket its cookie the first time anyone asks for it,
//! and on a host where necromap is the one asking, that is its first dump:
//! cookies then follow the order of the kernel's hash walk, which every
//! later dump repeats. A refresh's rows are therefore a few ascending runs
//! (one per dump half, per protocol and family, per namespace, and where
//! the dumping thread took cookies from another CPU's batch), with the
//! sockets made since the last refresh standing out of them as spikes: new
//! cookies, larger than every old one, at their hash positions. Measured
//! at 100k live loopback sockets: 26 runs, one of half the rows and 25 of
//! 2,048. Sorting such rows moved every 168-byte row a dozen times; the
//! merge here hands out positions, so the builder reads each row once, in
//! place, each run in order (taking each row out wrote an empty one back:
//! a second, dirtying pass over the dump's cold table).
//!
//! Where cookies were given in another order (a BPF program or another
//! tool asked first), the rows are not runs, and [`Runs::of`] says so
//! after a few hundred rows: the caller sorts them.

use super::keys::SocketKey;
use super::socket::RawSocket;

/// Beyond this many runs (or one run per [`ROWS_PER_RUN`] rows, for small
/// tables) the rows are sorted instead: the merge looks at every run's head
/// each time it changes runs.
const MAX_RUNS: usize = 64;
const ROWS_PER_RUN: usize = 256;
/// At most this many rows in a row are taken out of a run as spikes.
const MAX_SPIKE: usize = 8;
/// Beyond one spike in this many rows the rows are sorted instead.
const SPIKES_PER: usize = 16;

/// The runs (position ranges) and spikes (key, position) of a table of
/// rows, found by [`Runs::plan`].
#[derive(Debug)]
pub struct Plan {
    runs: Vec<(usize, usize)>,
    spikes: Vec<(SocketKey, usize)>,
}

/// The rows, with their runs found: their positions handed out in key
/// order.
#[derive(Debug)]
pub struct Runs {
    rows: Vec<RawSocket>,
    merge: Merge,
}

/// Where the merge of a table's runs stands: kept apart from the rows, so
/// that another reader may look at the rows while positions are handed
/// out (see [`Runs::parts`]).
#[derive(Debug)]
pub struct Merge {
    /// Each run's next position and end.
    ranges: Vec<(usize, usize)>,
    /// The key at each run's next position, and (last) the next spike's;
    /// none when it has none left.
    heads: Vec<Option<SocketKey>>,
    /// The spikes' keys and positions, in key order.
    spikes: Vec<(SocketKey, usize)>,
    next_spike: usize,
    /// One bit per position: a spike, skipped by its run.
    is_spike: Vec<u64>,
    /// Where rows are taken from until its head passes `bound`, the least
    /// head of the others.
    current: usize,
    bound: Option<SocketKey>,
    left: usize,
}

impl Runs {
    /// The rows as runs and spikes, or back when they are too far from
    /// key order for a merge to pay.
    pub fn of(rows: Vec<RawSocket>) -> Result<Self, Vec<RawSocket>> {
        let plan = Self::plan(&rows);
        Self::with_plan(rows, plan)
    }

    /// Where `rows`' runs and spikes are, or none when they are too far
    /// from key order: the read-only half of [`Runs::of`], which may run
    /// beside another reader of the rows.
    pub fn plan(rows: &[RawSocket]) -> Option<Plan> {
        find(rows).map(|(runs, spikes)| Plan { runs, spikes })
    }

    /// The merge of `rows` by `plan` (found for these rows), or the rows
    /// back when there is none.
    pub fn with_plan(rows: Vec<RawSocket>, plan: Option<Plan>) -> Result<Self, Vec<RawSocket>> {
        let Some(Plan { runs, mut spikes }) = plan else { return Err(rows) };
        let mut is_spike = vec![0u64; rows.len().div_ceil(64)];
        for &(_, at) in &spikes {
            is_spike[at / 64] |= 1 << (at % 64);
        }
        spikes.sort_unstable();
        let mut merge = Merge { left: rows.len(), ranges: runs, heads: Vec::new(), spikes, next_spike: 0, is_spike, current: 0, bound: None };
        for r in 0..merge.ranges.len() {
            merge.skip_spikes(r);
        }
        merge.heads = (0..merge.ranges.len()).map(|r| merge.head(r, &rows)).collect();
        merge.heads.push(merge.spikes.first().map(|s| s.0));
        merge.choose();
        Ok(Self { rows, merge })
    }

    /// How many rows are left.
    pub fn remaining(&self) -> usize {
        self.merge.left
    }

    /// The rows and the merge, apart.
    pub fn parts(&mut self) -> (&[RawSocket], &mut Merge) {
        (&self.rows, &mut self.merge)
    }

    /// The emptied table.
    pub fn into_table(mut self) -> Vec<RawSocket> {
        self.rows.clear();
        self.rows
    }
}

impl Merge {
    /// The position of the next row of `rows` (the table the merge was
    /// made for) in key order.
    pub fn next_at(&mut self, rows: &[RawSocket]) -> Option<usize> {
        if self.left == 0 {
            return None;
        }
        let fits = |head: Option<SocketKey>, bound: Option<SocketKey>| head.is_some_and(|h| bound.is_none_or(|b| h <= b));
        if !fits(self.heads[self.current], self.bound) {
            self.choose();
        }
        let r = self.current;
        let at = if r == self.ranges.len() {
            let at = self.spikes[self.next_spike].1;
            self.next_spike += 1;
            self.heads[r] = self.spikes.get(self.next_spike).map(|s| s.0);
            at
        } else {
            let at = self.ranges[r].0;
            self.ranges[r].0 += 1;
            self.skip_spikes(r);
            self.heads[r] = self.head(r, rows);
            at
        };
        self.left -= 1;
        Some(at)
    }

    fn is_spike(&self, at: usize) -> bool {
        self.is_spike[at / 64] & (1 << (at % 64)) != 0
    }

    /// Move run `r` past the spikes at its next position.
    fn skip_spikes(&mut self, r: usize) {
        let (mut next, end) = self.ranges[r];
        while next < end && self.is_spike(next) {
            next += 1;
        }
        self.ranges[r].0 = next;
    }

    fn head(&self, r: usize, rows: &[RawSocket]) -> Option<SocketKey> {
        let (next, end) = self.ranges[r];
        (next < end).then(|| rows[next].key)
    }

    /// Take rows from the least head until it passes the second least.
    fn choose(&mut self) {
        let (mut least, mut second): (Option<(SocketKey, usize)>, Option<SocketKey>) = (None, None);
        for (r, head) in self.heads.iter().enumerate() {
            let Some(k) = *head else { continue };
            match least {
                Some((l, _)) if l <= k => second = Some(second.map_or(k, |s| s.min(k))),
                _ => {
                    second = least.map(|(l, _)| l);
                    least = Some((k, r));
                }
            }
        }
        if let Some((_, r)) = least {
            self.current = r;
        }
        self.bound = second;
    }
}

/// The runs (position ranges) and the spikes (key, position) of `rows`,
/// or none when there are too many of either. A row below the last one
/// taken into the current run either ends up after fewer than
/// [`MAX_SPIKE`] rows above it, which then become spikes, or starts a new
/// run.
#[allow(clippy::type_complexity)]
fn find(rows: &[RawSocket]) -> Option<(Vec<(usize, usize)>, Vec<(SocketKey, usize)>)> {
    let max_spikes = rows.len() / SPIKES_PER;
    let max_runs = MAX_RUNS.min(1 + rows.len() / ROWS_PER_RUN);
    let mut runs = Vec::new();
    let mut spikes = Vec::new();
    let mut start = 0;
    // The current run's last positions, newest last.
    let mut tail: Vec<usize> = Vec::with_capacity(4 * MAX_SPIKE);
    for (at, row) in rows.iter().enumerate() {
        let k = row.key;
        let above = tail.iter().rev().take(MAX_SPIKE + 1).take_while(|&&p| rows[p].key > k).count();
        if above > 0 {
            if above <= MAX_SPIKE && above < tail.len() {
                for p in tail.drain(tail.len() - above..) {
                    spikes.push((rows[p].key, p));
                }
                if spikes.len() > max_spikes {
                    return None;
                }
            } else {
                runs.push((start, at));
                if runs.len() >= max_runs {
                    return None;
                }
                start = at;
                tail.clear();
            }
        }
        if tail.len() == tail.capacity() {
            tail.drain(..tail.len() - MAX_SPIKE - 1);
        }
        tail.push(at);
    }
    if !rows.is_empty() {
        runs.push((start, rows.len()));
    }
    Some((runs, spikes))
}

#[cfg(test)]
#[path = "dump_runs_tests.rs"]
mod tests;
