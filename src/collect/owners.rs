//! Which processes own which socket inodes, from `/proc/<pid>/fd`, cached
//! so a steady refresh touches almost nothing.
//!
//! A pid is read again only when:
//! - it is new (or its fd directory was replaced: pid reuse);
//! - its fd count changed (`stat /proc/<pid>/fd` reports the count as the
//!   directory size on Linux ≥ 6.2): only the fd numbers that appeared are
//!   read, the ones that vanished are dropped;
//! - one of its cached socket inodes left the dump: those fds are read again
//!   (an fd number reused for another socket);
//! - a socket inode stayed unowned for two refreshes in a row: a wider
//!   rescan of every readable pid, after which still-unowned inodes go to a
//!   negative cache until they leave the dump.
//!
//! `TIME_WAIT`, request and orphaned sockets have inode 0 and are never looked
//! up. The walk is abstracted behind [`ProcFs`] so tests can drive it.

use std::collections::{HashMap, HashSet};

use crate::model::Pid;

/// What an fd points at, as far as ownership goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FdTarget {
    Socket(u32),
    Other,
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
}

#[derive(Debug, Default)]
struct Entry {
    identity: u64,
    fd_count: Option<u64>,
    fds: HashMap<u32, FdTarget>,
}

/// Counts from the last refresh, for the health section.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct OwnerScanStats {
    /// Processes seen in /proc.
    pub pids: u32,
    /// Processes whose fds we may not read.
    pub denied: u32,
    /// Processes whose fds were (re)read this refresh, wholly or in part.
    pub rescanned: u32,
    /// readlink calls made this refresh.
    pub fds_read: u64,
    /// Whether a wider rescan ran.
    pub wide_rescan: bool,
}

#[derive(Debug, Default)]
pub struct OwnerCache {
    entries: HashMap<u32, Entry>,
    denied: HashSet<u32>,
    unowned_last: HashSet<u32>,
    negative: HashSet<u32>,
    /// Refreshes since a full rescan, for kernels without fd counts.
    since_full: u32,
}

/// Kernels without fd counts get a full rescan every this many refreshes.
const FULL_RESCAN_EVERY: u32 = 10;

impl OwnerCache {
    pub fn new() -> Self {
        Self::default()
    }

    /// Update the cache against the inodes in the latest dump and return
    /// the owners of each of them (several pids after a fork).
    pub fn refresh(&mut self, fs: &mut dyn ProcFs, live: &HashSet<u32>) -> (HashMap<u32, Vec<Pid>>, OwnerScanStats) {
        let mut stats = OwnerScanStats::default();
        let pids = fs.pids();
        stats.pids = pids.len() as u32;
        let present: HashSet<u32> = pids.iter().copied().collect();
        self.entries.retain(|pid, _| present.contains(pid));
        self.denied.retain(|pid| present.contains(pid));
        self.negative.retain(|inode| live.contains(inode));
        self.since_full += 1;
        let force_full = self.since_full >= FULL_RESCAN_EVERY;
        if force_full {
            self.since_full = 0;
        }

        for &pid in &pids {
            self.refresh_pid(fs, pid, live, force_full, &mut stats);
        }

        let mut owners = self.owner_map(live);
        let unowned: HashSet<u32> = live.iter().copied().filter(|i| !owners.contains_key(i) && !self.negative.contains(i)).collect();
        let stubborn: Vec<u32> = unowned.intersection(&self.unowned_last).copied().collect();
        if !stubborn.is_empty() {
            stats.wide_rescan = true;
            for &pid in &pids {
                if !self.denied.contains(&pid) {
                    self.rescan_all(fs, pid, &mut stats);
                }
            }
            owners = self.owner_map(live);
            self.negative.extend(stubborn.into_iter().filter(|i| !owners.contains_key(i)));
        }
        self.unowned_last = live.iter().copied().filter(|i| !owners.contains_key(i)).collect();
        stats.denied = self.denied.len() as u32;
        for list in owners.values_mut() {
            list.sort_unstable();
        }
        (owners, stats)
    }

    /// The fd table of one cached pid (for stdio checks).
    pub fn fd_target(&self, pid: u32, fd: u32) -> Option<FdTarget> {
        self.entries.get(&pid).and_then(|e| e.fds.get(&fd).copied())
    }

    /// Whether the last refresh could not read this pid's fds.
    pub fn is_denied(&self, pid: u32) -> bool {
        self.denied.contains(&pid)
    }

    fn owner_map(&self, live: &HashSet<u32>) -> HashMap<u32, Vec<Pid>> {
        let mut map: HashMap<u32, Vec<Pid>> = HashMap::with_capacity(live.len());
        for (&pid, entry) in &self.entries {
            for target in entry.fds.values() {
                if let FdTarget::Socket(inode) = *target
                    && live.contains(&inode)
                {
                    let list = map.entry(inode).or_default();
                    if !list.contains(&Pid(pid)) {
                        list.push(Pid(pid));
                    }
                }
            }
        }
        map
    }

    fn refresh_pid(&mut self, fs: &mut dyn ProcFs, pid: u32, live: &HashSet<u32>, force_full: bool, stats: &mut OwnerScanStats) {
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
            if let Some(e) = self.entries.get_mut(&pid) {
                e.identity = identity;
            }
            return;
        }
        let Some(entry) = self.entries.get_mut(&pid) else { return };
        if count.is_some() && count != entry.fd_count {
            // Read only the fds that appeared; drop the ones that went.
            let Ok(listed) = fs.list_fds(pid) else { return };
            stats.rescanned += 1;
            let listed_set: HashSet<u32> = listed.iter().copied().collect();
            entry.fds.retain(|fd, _| listed_set.contains(fd));
            for fd in listed {
                if let std::collections::hash_map::Entry::Vacant(slot) = entry.fds.entry(fd) {
                    stats.fds_read += 1;
                    if let Some(t) = fs.read_fd(pid, fd) {
                        slot.insert(t);
                    }
                }
            }
            entry.fd_count = count;
        }
        // Socket fds whose inode left the dump may have been reused.
        let stale: Vec<u32> = entry.fds.iter().filter_map(|(&fd, t)| matches!(t, FdTarget::Socket(i) if !live.contains(i)).then_some(fd)).collect();
        if !stale.is_empty() {
            stats.rescanned += 1;
            for fd in stale {
                stats.fds_read += 1;
                match fs.read_fd(pid, fd) {
                    Some(t) => entry.fds.insert(fd, t),
                    None => entry.fds.remove(&fd),
                };
            }
        }
    }

    fn rescan_all(&mut self, fs: &mut dyn ProcFs, pid: u32, stats: &mut OwnerScanStats) {
        let identity = match fs.identity(pid) {
            Ok(i) => i,
            Err(e) => return self.mark_failed(pid, e),
        };
        let fd_count = fs.fd_count(pid).ok().flatten();
        let listed = match fs.list_fds(pid) {
            Ok(l) => l,
            Err(e) => return self.mark_failed(pid, e),
        };
        stats.rescanned += 1;
        let mut fds = HashMap::with_capacity(listed.len());
        for fd in listed {
            stats.fds_read += 1;
            if let Some(t) = fs.read_fd(pid, fd) {
                fds.insert(fd, t);
            }
        }
        self.denied.remove(&pid);
        self.entries.insert(pid, Entry { identity, fd_count, fds });
    }

    fn mark_failed(&mut self, pid: u32, e: FdError) {
        self.entries.remove(&pid);
        if e == FdError::Denied {
            self.denied.insert(pid);
        }
    }
}

#[cfg(test)]
#[path = "owners_tests.rs"]
mod tests;
