//! Keys numbered in the order first met. A run of one key (the sockets of
//! one process, one remote, one edge lie together in key order), or of
//! two keys taking turns (a loopback connection's two ends have
//! neighbouring keys: outbound, inbound, outbound...), is numbered without
//! a hash lookup. The rules' indexes and grouping, the
//! rules' per-address outcomes, the map's edges, the endpoint table and
//! the fact index all number their keys this way; each keeps its own
//! values in a list by number. Keys that are small numbers already (a
//! bucket's code, a process's place in the table) are numbered by
//! [`Dense`], a list read.

use rustc_hash::FxHashMap;

#[derive(Debug)]
pub struct Slots<K> {
    slot_of: FxHashMap<K, usize>,
    count: usize,
    /// The last two keys met and their numbers, the latest first.
    last: [Option<(K, usize)>; 2],
}

impl<K> Default for Slots<K> {
    fn default() -> Self {
        Self { slot_of: FxHashMap::default(), count: 0, last: [None, None] }
    }
}

impl<K: std::hash::Hash + Eq + Copy> Slots<K> {
    pub fn new() -> Self {
        Self::default()
    }

    /// `key`'s number, and whether it was met for the first time (then
    /// its number is the count of keys met before it).
    pub fn of(&mut self, key: K) -> (usize, bool) {
        if let Some((_, slot)) = self.last[0].filter(|(l, _)| *l == key) {
            return (slot, false);
        }
        if let Some((_, slot)) = self.last[1].filter(|(l, _)| *l == key) {
            self.last.swap(0, 1);
            return (slot, false);
        }
        let next = self.count;
        let slot = *self.slot_of.entry(key).or_insert(next);
        let new = slot == next;
        if new {
            self.count += 1;
        }
        self.last = [Some((key, slot)), self.last[0]];
        (slot, new)
    }

    /// How many keys were met.
    pub fn len(&self) -> usize {
        self.count
    }

    pub fn is_empty(&self) -> bool {
        self.count == 0
    }
}

/// Numbers, in the order first met, for keys that are small numbers
/// already (a bucket's code, a process's place in the table): a list
/// lookup where [`Slots`] hashes. The dump's rows come in hash order, so
/// a socket's neighbours rarely share its owner or bucket, and the hash
/// was paid for nearly every socket.
#[derive(Debug, Default)]
pub struct Dense {
    slot_of: Vec<u32>,
    count: usize,
}

impl Dense {
    /// `code`'s number, and whether it was met for the first time.
    pub fn of(&mut self, code: usize) -> (usize, bool) {
        if code >= self.slot_of.len() {
            self.slot_of.resize(code + 1, u32::MAX);
        }
        match self.slot_of[code] {
            u32::MAX => {
                self.slot_of[code] = self.count as u32;
                self.count += 1;
                (self.count - 1, true)
            }
            slot => (slot as usize, false),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::{Dense, Slots};

    #[test]
    fn keys_are_numbered_in_the_order_first_met_runs_or_not() {
        let mut s = Slots::new();
        let got: Vec<(usize, bool)> = ['b', 'b', 'a', 'b', 'c', 'a', 'a'].into_iter().map(|k| s.of(k)).collect();
        assert_eq!(got, [(0, true), (0, false), (1, true), (0, false), (2, true), (1, false), (1, false)]);
        assert_eq!(s.len(), 3);
        // Two keys taking turns, then a third, then the first again.
        let got: Vec<(usize, bool)> = ['d', 'e', 'd', 'e', 'f', 'd', 'e', 'b'].into_iter().map(|k| s.of(k)).collect();
        assert_eq!(got, [(3, true), (4, true), (3, false), (4, false), (5, true), (3, false), (4, false), (0, false)]);
        assert_eq!(s.len(), 6);
        assert!(Slots::<u8>::new().is_empty());
    }

    #[test]
    fn small_numbers_are_numbered_in_the_order_first_met() {
        let mut dense = Dense::default();
        let got: Vec<(usize, bool)> = [7, 7, 2, 7, 40, 2].into_iter().map(|c| dense.of(c)).collect();
        assert_eq!(got, [(0, true), (0, false), (1, true), (0, false), (2, true), (1, false)]);
    }
}
