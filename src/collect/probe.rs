//! The live [`Probe`] for the plumbing search: fdinfo access modes, Unix
//! socket peers (netlink), FIFO identities and command lines, each
//! remembered from one refresh to the next while it is still asked for,
//! so a steady host re-reads nothing.

use std::hash::Hash;

use rustc_hash::FxHashMap;

use super::netlink::DiagSocket;
use super::owners::{FdTarget, OwnerCache};
use super::plumbing::Probe;
use super::procfs::{Access, RealProcFs};

/// Answers kept while they are used: what this refresh asked for carries
/// over to the next; the rest is dropped.
#[derive(Debug)]
struct Memo<K, V> {
    prev: FxHashMap<K, V>,
    next: FxHashMap<K, V>,
}

impl<K, V> Default for Memo<K, V> {
    fn default() -> Self {
        Self { prev: FxHashMap::default(), next: FxHashMap::default() }
    }
}

impl<K: Hash + Eq + Copy, V: Clone> Memo<K, V> {
    fn get_or(&mut self, key: K, compute: impl FnOnce() -> V) -> V {
        if let Some(v) = self.next.get(&key) {
            return v.clone();
        }
        let v = self.prev.remove(&key).unwrap_or_else(compute);
        self.next.insert(key, v.clone());
        v
    }

    fn rotate(&mut self) {
        self.prev = std::mem::take(&mut self.next);
    }
}

/// What the probe remembers between refreshes.
#[derive(Debug, Default)]
pub struct ProbeMemo {
    access: Memo<(u32, u32, FdTarget), Option<Access>>,
    peers: Memo<u32, Option<u32>>,
    fifos: Memo<(u32, u32, FdTarget), Option<(u64, u64)>>,
    cmdlines: Memo<(u32, u32), Option<String>>,
    /// Unix peer lookups that failed this refresh (netlink errors).
    pub failures: u32,
}

impl ProbeMemo {
    /// Call once per refresh, after the search.
    pub fn rotate(&mut self) {
        self.access.rotate();
        self.peers.rotate();
        self.fifos.rotate();
        self.cmdlines.rotate();
    }
}

/// The probe over this host's /proc and a netlink socket.
#[derive(Debug)]
pub struct LiveProbe<'a> {
    pub fs: &'a RealProcFs,
    pub diag: &'a mut DiagSocket,
    pub owners: &'a OwnerCache,
    pub memo: &'a mut ProbeMemo,
}

impl LiveProbe<'_> {
    fn target(&self, pid: u32, fd: u32) -> FdTarget {
        self.owners.fd_target(pid, fd).unwrap_or(FdTarget::Other)
    }
}

impl Probe for LiveProbe<'_> {
    fn access(&mut self, pid: u32, fd: u32) -> Option<Access> {
        let key = (pid, fd, self.target(pid, fd));
        let fs = self.fs;
        self.memo.access.get_or(key, || fs.access(pid, fd))
    }

    fn unix_peer(&mut self, inode: u32) -> Option<u32> {
        let diag = &mut *self.diag;
        let failures = &mut self.memo.failures;
        self.memo.peers.get_or(inode, || {
            diag.unix_peer(inode).unwrap_or_else(|_| {
                *failures += 1;
                None
            })
        })
    }

    fn fifo(&mut self, pid: u32, fd: u32) -> Option<(u64, u64)> {
        let key = (pid, fd, self.target(pid, fd));
        let fs = self.fs;
        self.memo.fifos.get_or(key, || fs.fifo_identity(pid, fd))
    }

    fn link(&mut self, pid: u32, fd: u32) -> Option<String> {
        self.fs.fd_link(pid, fd)
    }

    fn cmdline(&mut self, pid: u32) -> Option<String> {
        // A new program (exec) usually has a new name: key by both.
        let name = self.owners.name(pid).map_or(0, |n| super::procfs::path_hash(n.as_bytes()));
        let fs = self.fs;
        self.memo.cmdlines.get_or((pid, name), || fs.cmdline(pid))
    }
}
