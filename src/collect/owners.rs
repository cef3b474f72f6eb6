//! Which processes own which socket inodes, from `/proc/<pid>/fd`, cached
//! so a steady refresh touches almost nothing.
//!
//! A pid is read again only when:
//! - it is new (or its fd directory was replaced: pid reuse);
//! - its fd count changed (`stat /proc/<pid>/fd` reports the count as the
//!   directory size on Linux ≥ 6.2): the fd numbers that appeared are read,
//!   the ones that vanished are dropped, and the low fds (stdio, where
//!   `dup2` puts plumbing without changing the numbers) are read again;
//! - it is young (first read in the last [`YOUNG_REFRESHES`] refreshes) and
//!   its comm changed: an exec with the fd count unchanged (sshd's session
//!   child sets up its pty on 0, 1 and 2, then execs the shell); every fd
//!   is read again;
//! - one of its cached socket inodes left the dump: those fds are read again
//!   (an fd number reused for another socket);
//! - a socket inode stayed unowned for two refreshes in a row: a wider
//!   rescan of every readable pid, after which still-unowned inodes go to a
//!   negative cache until they leave the dump.
//!
//! `TIME_WAIT`, request and orphaned sockets have inode 0 and are never looked
//! up. The walk is abstracted behind [`ProcFs`] so tests can drive it.

use rustc_hash::{FxHashMap, FxHashSet};

use crate::model::Pid;

/// What an fd points at, as far as ownership and plumbing go.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum FdTarget {
    /// Any socket (inet, Unix, netlink), by inode.
    Socket(u32),
    /// An anonymous pipe, by inode.
    Pipe(u32),
    /// A pty master (`/dev/ptmx`), by the index of its `/dev/pts/N`.
    PtyMaster(u32),
    /// A pty slave, `/dev/pts/N`.
    PtySlave(u32),
    /// A path held on a low fd (below [`LOW_FDS`]: a FIFO candidate), by
    /// a 32-bit hash of the path (a collision costs one `stat`: FIFOs are
    /// matched by device and inode). Other fds' paths are not kept.
    LowFdPath(u32),
    /// A file that holds secrets (see `sensitive::is_sensitive_path`).
    SensitiveFile,
    Other,
}

/// Fds below this are where plumbing sits: stdio and the first files a
/// program opens. Their paths are indexed (FIFO candidates).
pub const LOW_FDS: u32 = 10;

/// What plumbing an fd is one end of, for finding the other end.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ConduitKey {
    Pipe(u32),
    Master(u32),
    Path(u32),
}

impl FdTarget {
    fn conduit(self) -> Option<ConduitKey> {
        match self {
            Self::Pipe(i) => Some(ConduitKey::Pipe(i)),
            Self::PtyMaster(n) => Some(ConduitKey::Master(n)),
            Self::LowFdPath(h) => Some(ConduitKey::Path(h)),
            Self::Socket(_) | Self::PtySlave(_) | Self::SensitiveFile | Self::Other => None,
        }
    }
}

/// Why a pid's fds could not be listed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FdError {
    /// Not ours to look at (another user's process, without root).
    Denied,
    /// Exited meanwhile.
    Gone,
}

/// The part of /proc the owner cache reads.
pub trait ProcFs {
    /// Every process id (not thread).
    fn pids(&mut self) -> Vec<u32>;
    /// A number that changes when the pid's fd directory is a different one
    /// (pid reuse): the inode of `/proc/<pid>`.
    fn identity(&mut self, pid: u32) -> Result<u64, FdError>;
    /// The fd count, or `None` where the kernel does not report it.
    fn fd_count(&mut self, pid: u32) -> Result<Option<u64>, FdError>;
    /// Every fd number open in the pid.
    fn list_fds(&mut self, pid: u32) -> Result<Vec<u32>, FdError>;
    /// What one fd points at; `None` when it closed meanwhile.
    fn read_fd(&mut self, pid: u32, fd: u32) -> Option<FdTarget>;
    /// What each of `fds` points at, in order, as [`Self::read_fd`] says
    /// (a live source may read a long list on several threads).
    fn read_fds(&mut self, pid: u32, fds: &[u32]) -> Vec<Option<FdTarget>> {
        fds.iter().map(|&fd| self.read_fd(pid, fd)).collect()
    }
    /// Every fd open in the pid with what it points at, as
    /// [`Self::list_fds`] then [`Self::read_fds`] say; `count` is what
    /// [`Self::fd_count`] said (a live source may list and read a long
    /// table in parts on several threads).
    fn scan_fds(&mut self, pid: u32, _count: Option<u64>) -> Result<Vec<(u32, Option<FdTarget>)>, FdError> {
        let listed = self.list_fds(pid)?;
        let targets = self.read_fds(pid, &listed);
        Ok(listed.into_iter().zip(targets).collect())
    }
    /// The process's short name (comm); `None` when it exited.
    fn comm(&mut self, pid: u32) -> Option<String>;
    /// Whether argv[0] (the start of `/proc/<pid>/cmdline`) opens with `[`,
    /// as a kernel thread's name is shown; kernel threads have an empty
    /// command line.
    fn argv0_bracketed(&mut self, pid: u32) -> bool;
    /// Whether `/proc/<pid>/exe` resolves: kernel threads have no executable.
    fn has_exe(&mut self, pid: u32) -> bool;
}

#[derive(Debug, Default)]
struct Entry {
    identity: u64,
    fd_count: Option<u64>,
    fds: FxHashMap<u32, FdTarget>,
    /// How many of `fds` are sensitive files (so the common zero case
    /// needs no walk).
    sensitive: u32,
    /// comm, read when the fd table is (re)read: an exec usually closes
    /// close-on-exec fds, so the count changes and the name is read again.
    /// A child that set its fds up before exec keeps its count through
    /// it: its comm is read every refresh while it is young.
    comm: Box<str>,
    /// Refreshes left in which comm is read again even with the count
    /// unchanged (an exec then reads every fd again).
    young: u8,
    /// comm or argv[0] starts with `[` (named like a kernel thread), read
    /// with comm. Real kernel threads show brackets only in `ps`: their comm
    /// has none and their command line is empty.
    bracketed: bool,
}

/// The pids holding one inode, with how many fds each holds on it (dup'ed
/// fds). One owner is the common case and needs no allocation.
#[derive(Debug, Clone)]
enum Holders {
    One(u32, u32),
    Many(Vec<(u32, u32)>),
}

impl Holders {
    fn add(&mut self, pid: u32) {
        match self {
            Self::One(p, n) if *p == pid => *n += 1,
            Self::One(p, n) => *self = Self::Many(vec![(*p, *n), (pid, 1)]),
            Self::Many(v) => match v.iter_mut().find(|(p, _)| *p == pid) {
                Some((_, n)) => *n += 1,
                None => v.push((pid, 1)),
            },
        }
    }

    /// Drop one fd of `pid`; true when nobody holds the inode any more.
    fn remove(&mut self, pid: u32) -> bool {
        match self {
            Self::One(p, n) if *p == pid => {
                *n -= 1;
                *n == 0
            }
            Self::One(..) => false,
            Self::Many(v) => {
                if let Some(i) = v.iter().position(|(p, _)| *p == pid) {
                    v[i].1 -= 1;
                    if v[i].1 == 0 {
                        v.remove(i);
                    }
                }
                v.is_empty()
            }
        }
    }

    fn pids(&self) -> crate::model::Owners {
        match self {
            Self::One(p, _) => crate::model::Owners::one(Pid(*p)),
            Self::Many(v) => {
                let mut out: Vec<Pid> = v.iter().map(|(p, _)| Pid(*p)).collect();
                out.sort_unstable();
                out.into()
            }
        }
    }
}

pub use crate::model::OwnerScanStats;

/// The owner map, kept up to date incrementally: an inode → holders index
/// changes only when an fd is read, replaced or dropped.
#[derive(Debug, Default)]
pub struct OwnerCache {
    entries: FxHashMap<u32, Entry>,
    by_inode: FxHashMap<u32, Holders>,
    /// Pipes, pty masters and stdio paths → (pid, fd) of each holder.
    conduits: FxHashMap<ConduitKey, Vec<(u32, u32)>>,
    denied: FxHashSet<u32>,
    last_live: FxHashSet<u32>,
    unowned_last: FxHashSet<u32>,
    negative: FxHashSet<u32>,
    /// Refreshes since a full rescan, for kernels without fd counts.
    since_full: u32,
    /// What [`Self::prime`] read, counted in the next refresh.
    primed: Option<OwnerScanStats>,
}

/// For how many refreshes after a pid is first read its comm is read
/// again each refresh (a fork is followed by its exec within them).
const YOUNG_REFRESHES: u8 = 3;

/// Kernels without fd counts get a full rescan every this many refreshes.
const FULL_RESCAN_EVERY: u32 = 10;

impl OwnerCache {
    pub fn new() -> Self {
        Self::default()
    }

    /// Read every process's fds into an empty cache, before the first dump
    /// is in: the first refresh reads them all anyway, and beside the dump
    /// (on another core) it hides the shorter of the two. The refresh that
    /// follows reads only what changed meanwhile (a count that moved), and
    /// its counts include this read.
    pub fn prime(&mut self, fs: &mut dyn ProcFs) {
        let mut stats = OwnerScanStats::default();
        for pid in fs.pids() {
            self.refresh_pid(fs, pid, false, None, &mut stats);
        }
        self.primed = Some(stats);
    }

    /// Bring the cache up to date against the inodes in the latest dump.
    /// Then [`Self::owners`] answers for each of them.
    pub fn refresh(&mut self, fs: &mut dyn ProcFs, live: &FxHashSet<u32>) -> OwnerScanStats {
        let mut stats = self.primed.take().unwrap_or_default();
        let pids = fs.pids();
        stats.pids = pids.len() as u32;
        let present: FxHashSet<u32> = pids.iter().copied().collect();
        let vanished: Vec<u32> = self.entries.keys().copied().filter(|p| !present.contains(p)).collect();
        for pid in vanished {
            self.drop_entry(pid);
        }
        self.denied.retain(|pid| present.contains(pid));
        self.negative.retain(|inode| live.contains(inode));
        self.since_full += 1;
        let force_full = self.since_full >= FULL_RESCAN_EVERY;
        if force_full {
            self.since_full = 0;
        }

        // Pids holding an inode that left the dump: their fd may be reused.
        let mut suspects: FxHashSet<u32> = FxHashSet::default();
        let gone: FxHashSet<u32> = self.last_live.iter().copied().filter(|i| !live.contains(i)).collect();
        for inode in &gone {
            if let Some(h) = self.by_inode.get(inode) {
                suspects.extend(h.pids().into_iter().map(|p| p.0));
            }
        }

        for &pid in &pids {
            self.refresh_pid(fs, pid, force_full, suspects.contains(&pid).then_some(&gone), &mut stats);
        }

        let unowned: Vec<u32> = live.iter().copied().filter(|i| !self.by_inode.contains_key(i) && !self.negative.contains(i)).collect();
        let stubborn: Vec<u32> = unowned.iter().copied().filter(|i| self.unowned_last.contains(i)).collect();
        if !stubborn.is_empty() {
            stats.wide_rescan = true;
            for &pid in &pids {
                if !self.denied.contains(&pid) {
                    self.rescan_all(fs, pid, &mut stats);
                }
            }
            self.negative.extend(stubborn.into_iter().filter(|i| !self.by_inode.contains_key(i)));
        }
        self.unowned_last = live.iter().copied().filter(|i| !self.by_inode.contains_key(i)).collect();
        self.last_live.clone_from(live);
        stats.denied = self.denied.len() as u32;
        stats
    }

    /// The pids holding `inode`, sorted (several after a fork).
    pub fn owners(&self, inode: u32) -> crate::model::Owners {
        self.by_inode.get(&inode).map(Holders::pids).unwrap_or_default()
    }

    /// What fd `fd` of a cached pid points at (for stdio checks).
    pub fn fd_target(&self, pid: u32, fd: u32) -> Option<FdTarget> {
        self.entries.get(&pid).and_then(|e| e.fds.get(&fd).copied())
    }

    /// The fds of `pid` that point at sensitive files, lowest first.
    pub fn sensitive_fds(&self, pid: u32) -> Vec<u32> {
        let Some(e) = self.entries.get(&pid).filter(|e| e.sensitive > 0) else { return Vec::new() };
        let mut fds: Vec<u32> = e.fds.iter().filter(|(_, t)| **t == FdTarget::SensitiveFile).map(|(&fd, _)| fd).collect();
        fds.sort_unstable();
        fds
    }

    /// Whether the last refresh could not read this pid's fds.
    pub fn is_denied(&self, pid: u32) -> bool {
        self.denied.contains(&pid)
    }

    /// The comm of every readable process, for finding shells.
    pub fn names(&self) -> impl Iterator<Item = (u32, &str)> {
        self.entries.iter().map(|(&pid, e)| (pid, &*e.comm))
    }

    /// The comm of one readable process.
    pub fn name(&self, pid: u32) -> Option<&str> {
        self.entries.get(&pid).map(|e| &*e.comm)
    }

    /// Pids named like a kernel thread (comm or argv[0] in brackets) that
    /// hold fds or run an executable, which kernel threads never do, in
    /// order. The exe is looked up only for the (rare) bracketed pids.
    pub fn masquerading(&self, fs: &mut dyn ProcFs) -> Vec<u32> {
        let mut pids: Vec<u32> = self.entries.iter().filter(|(pid, e)| e.bracketed && (!e.fds.is_empty() || fs.has_exe(**pid))).map(|(&pid, _)| pid).collect();
        pids.sort_unstable();
        pids
    }

    /// Every (pid, fd) holding this pipe, pty master or stdio path.
    pub fn conduit_holders(&self, key: ConduitKey) -> &[(u32, u32)] {
        self.conduits.get(&key).map_or(&[], Vec::as_slice)
    }

    /// The fds of `pid` below [`LOW_FDS`], lowest first.
    pub fn low_fds(&self, pid: u32) -> Vec<u32> {
        let Some(e) = self.entries.get(&pid) else { return Vec::new() };
        (0..LOW_FDS).filter(|fd| e.fds.contains_key(fd)).collect()
    }

    /// The fds of `pid` that point at `target`, lowest first.
    pub fn fds_on(&self, pid: u32, target: FdTarget) -> Vec<u32> {
        let Some(e) = self.entries.get(&pid) else { return Vec::new() };
        let mut fds: Vec<u32> = e.fds.iter().filter(|(_, t)| **t == target).map(|(&fd, _)| fd).collect();
        fds.sort_unstable();
        fds
    }

    fn index_add(&mut self, pid: u32, fd: u32, target: FdTarget) {
        if let FdTarget::Socket(inode) = target {
            self.by_inode.entry(inode).and_modify(|h| h.add(pid)).or_insert(Holders::One(pid, 1));
        } else if let Some(key) = target.conduit() {
            self.conduits.entry(key).or_default().push((pid, fd));
        }
    }

    fn index_remove(&mut self, pid: u32, fd: u32, target: FdTarget) {
        if let FdTarget::Socket(inode) = target {
            if self.by_inode.get_mut(&inode).is_some_and(|h| h.remove(pid)) {
                self.by_inode.remove(&inode);
            }
        } else if let Some(key) = target.conduit()
            && let Some(holders) = self.conduits.get_mut(&key)
        {
            holders.retain(|&h| h != (pid, fd));
            if holders.is_empty() {
                self.conduits.remove(&key);
            }
        }
    }

    fn drop_entry(&mut self, pid: u32) {
        if let Some(e) = self.entries.remove(&pid) {
            for (fd, t) in e.fds {
                self.index_remove(pid, fd, t);
            }
        }
    }

    fn refresh_pid(&mut self, fs: &mut dyn ProcFs, pid: u32, force_full: bool, gone: Option<&FxHashSet<u32>>, stats: &mut OwnerScanStats) {
        let identity = match fs.identity(pid) {
            Ok(i) => i,
            Err(e) => return self.mark_failed(pid, e),
        };
        let count = match fs.fd_count(pid) {
            Ok(c) => c,
            Err(e) => return self.mark_failed(pid, e),
        };
        let known = self.entries.get(&pid).is_some_and(|e| e.identity == identity);
        if !known || (count.is_none() && force_full) {
            self.rescan_all(fs, pid, stats);
            return;
        }
        if let Some(entry) = self.entries.get_mut(&pid)
            && entry.young > 0
        {
            entry.young -= 1;
            if fs.comm(pid).is_some_and(|c| *c != *entry.comm) {
                self.rescan_all(fs, pid, stats);
                return;
            }
        }
        let mut changes: Vec<(u32, Option<FdTarget>, Option<FdTarget>)> = Vec::new();
        let Some(entry) = self.entries.get_mut(&pid) else { return };
        if count.is_some() && count != entry.fd_count {
            // Read only the fds that appeared; drop the ones that went.
            let Ok(listed) = fs.list_fds(pid) else { return };
            stats.rescanned += 1;
            let listed_set: FxHashSet<u32> = listed.iter().copied().collect();
            for (&fd, &t) in &entry.fds {
                if !listed_set.contains(&fd) {
                    changes.push((fd, Some(t), None));
                }
            }
            // The low fds are read again too: a child between fork and
            // exec moves its plumbing onto 0, 1 and 2 with dup2, which
            // keeps the fd numbers (sshd's session child puts the pty
            // there, and a scan in between had seen the parent's files).
            let read: Vec<u32> = listed.into_iter().filter(|fd| *fd < LOW_FDS || !entry.fds.contains_key(fd)).collect();
            stats.fds_read += read.len() as u64;
            for (fd, target) in read.iter().zip(fs.read_fds(pid, &read)) {
                let old = entry.fds.get(fd).copied();
                if target != old {
                    changes.push((*fd, old, target));
                }
            }
            entry.fd_count = count;
            if let Some(comm) = fs.comm(pid) {
                entry.bracketed = bracketed(&comm, fs, pid);
                entry.comm = comm.into_boxed_str();
            }
        }
        // Socket fds whose inode left the dump may have been reused (those
        // read just above are not read twice).
        if let Some(gone) = gone {
            let read: FxHashSet<u32> = changes.iter().map(|c| c.0).collect();
            let stale: Vec<(u32, FdTarget)> = entry
                .fds
                .iter()
                .filter(|(fd, t)| matches!(t, FdTarget::Socket(i) if gone.contains(i)) && !read.contains(fd))
                .map(|(&fd, &t)| (fd, t))
                .collect();
            if !stale.is_empty() {
                stats.rescanned += 1;
            }
            for (fd, old) in stale {
                stats.fds_read += 1;
                changes.push((fd, Some(old), fs.read_fd(pid, fd)));
            }
        }
        for (fd, old, new) in changes {
            if let Some(t) = old {
                self.index_remove(pid, fd, t);
            }
            let Some(entry) = self.entries.get_mut(&pid) else { return };
            let replaced = match new {
                Some(t) => {
                    entry.sensitive += u32::from(t == FdTarget::SensitiveFile);
                    let replaced = entry.fds.insert(fd, t);
                    self.index_add(pid, fd, t);
                    replaced
                }
                None => entry.fds.remove(&fd),
            };
            if replaced == Some(FdTarget::SensitiveFile)
                && let Some(entry) = self.entries.get_mut(&pid)
            {
                entry.sensitive -= 1;
            }
        }
    }

    fn rescan_all(&mut self, fs: &mut dyn ProcFs, pid: u32, stats: &mut OwnerScanStats) {
        let identity = match fs.identity(pid) {
            Ok(i) => i,
            Err(e) => return self.mark_failed(pid, e),
        };
        let fd_count = fs.fd_count(pid).ok().flatten();
        let scanned = match fs.scan_fds(pid, fd_count) {
            Ok(l) => l,
            Err(e) => return self.mark_failed(pid, e),
        };
        stats.rescanned += 1;
        let mut fds = FxHashMap::with_capacity_and_hasher(scanned.len(), rustc_hash::FxBuildHasher);
        stats.fds_read += scanned.len() as u64;
        for (fd, target) in scanned {
            if let Some(t) = target {
                fds.insert(fd, t);
            }
        }
        let comm = fs.comm(pid).unwrap_or_default();
        let bracketed = bracketed(&comm, fs, pid);
        let comm = comm.into_boxed_str();
        self.drop_entry(pid);
        for (&fd, &t) in &fds {
            self.index_add(pid, fd, t);
        }
        self.denied.remove(&pid);
        let sensitive = fds.values().filter(|t| **t == FdTarget::SensitiveFile).count() as u32;
        self.entries.insert(pid, Entry { identity, fd_count, fds, sensitive, comm, young: YOUNG_REFRESHES, bracketed });
    }

    fn mark_failed(&mut self, pid: u32, e: FdError) {
        self.drop_entry(pid);
        if e == FdError::Denied {
            self.denied.insert(pid);
        }
    }
}

/// Whether a process calls itself like a kernel thread: comm or argv[0]
/// starting with `[` (argv[0] read only when comm does not tell).
fn bracketed(comm: &str, fs: &mut dyn ProcFs, pid: u32) -> bool {
    comm.starts_with('[') || fs.argv0_bracketed(pid)
}

#[cfg(test)]
#[path = "owners_tests.rs"]
mod tests;
