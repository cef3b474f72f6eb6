//! Every network namespace in use: found from `/proc/*/ns/net` and the
//! names bound under `/run/netns`, entered once each on a short-lived
//! thread (`setns` moves only that thread) to open the netlink sockets that
//! read it. A netlink socket stays in the namespace it was created in, so
//! later dumps run from the collector thread. Socket inodes are unique
//! across namespaces (one sockfs), so one owner cache serves them all.
//!
//! Holding a namespace's sockets keeps the namespace alive; sockets of
//! namespaces no longer in use are closed at the next refresh.
//!
//! Every namespace's TCP dump walks the host's whole connection hash table
//! (namespaces share it unless `net.ipv4.tcp_child_ehash_entries` is set),
//! so each costs about as much as an empty host's dump (1.5–2.5 ms here)
//! however few sockets it holds. With many namespaces, a refresh reads
//! those with activity since the last one (destroy events, connects), the
//! ones never read, and the [`ROTATION`] read longest ago; the others keep
//! their last rows (minus sockets their destroy events closed), marked with
//! the time they were read. With at most [`ROTATION`] namespaces besides
//! the observer's own, every one is read every refresh.

use std::collections::BTreeMap;
use std::os::fd::{AsFd, OwnedFd};

use rustc_hash::FxHashMap;
use rustix::fs::{Dir, Mode, OFlags, open, stat};
use rustix::io::Errno;
use rustix::thread::{LinkNameSpaceType, move_into_link_name_space};

use super::netlink::{DiagSocket, NetlinkError};
use super::owners::ProcFs;
use super::procfs::RealProcFs;
use crate::model::{HealthMessage, NamespaceInfo, NamespaceStatus, NetNs, RawSocket};

/// Where named namespaces are bound (`ip netns add`).
const BOUND_DIR: &str = "/run/netns";
/// Refreshes before a namespace that could not be entered is tried again.
const RETRY_AFTER: u64 = 30;
/// Quiet namespaces read per refresh, besides the active ones, when there
/// are more than this many.
pub const ROTATION: usize = 8;

/// Run `f` on a new thread that has entered the namespace `ns`: whatever
/// sockets `f` opens live in that namespace.
pub fn within<T: Send + 'static>(ns: OwnedFd, f: impl FnOnce() -> T + Send + 'static) -> Result<T, String> {
    let handle = std::thread::Builder::new()
        .name("necromap-netns".into())
        .spawn(move || -> Result<T, String> {
            move_into_link_name_space(ns.as_fd(), Some(LinkNameSpaceType::Network)).map_err(|e| match e {
                Errno::PERM => "permission denied (entering a network namespace needs root or CAP_SYS_ADMIN)".to_string(),
                e => format!("setns failed: {}", std::io::Error::from(e)),
            })?;
            Ok(f())
        })
        .map_err(|e| format!("cannot start a thread: {e}"))?;
    handle.join().map_err(|_| "the namespace thread panicked".to_string())?
}

/// One namespace seen in use.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Sighting {
    /// The lowest pid in it.
    pub first_pid: Option<u32>,
    pub processes: u32,
    /// Its name under /run/netns.
    pub bound_name: Option<String>,
}

/// What one look at /proc and /run/netns found.
#[derive(Debug, Default)]
pub struct Sightings {
    pub by_inode: BTreeMap<u32, Sighting>,
    /// The namespace of every process whose link could be read.
    pub pid_netns: FxHashMap<u32, u32>,
    /// Processes whose namespace link could not be read (other users'
    /// processes, unprivileged).
    pub unreadable: u32,
}

impl Sightings {
    /// Look at every process and every bound name.
    pub fn scan(fs: &mut RealProcFs) -> Self {
        let mut out = Self::default();
        let mut pids = fs.pids();
        pids.sort_unstable();
        for pid in pids {
            match fs.netns_of(pid) {
                Ok(inode) => {
                    out.pid_netns.insert(pid, inode);
                    let s = out.by_inode.entry(inode).or_default();
                    s.processes += 1;
                    s.first_pid.get_or_insert(pid);
                }
                Err(Errno::NOENT | Errno::SRCH) => {}
                Err(_) => out.unreadable += 1,
            }
        }
        for (name, inode) in bound_names() {
            out.by_inode.entry(inode).or_default().bound_name.get_or_insert(name);
        }
        out
    }
}

/// Names bound under /run/netns with their namespace inodes.
fn bound_names() -> Vec<(String, u32)> {
    let Ok(dir) = open(BOUND_DIR, OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC, Mode::empty()) else { return Vec::new() };
    let Ok(entries) = Dir::new(dir) else { return Vec::new() };
    entries
        .filter_map(Result::ok)
        .filter_map(|e| {
            let name = e.file_name().to_str().ok()?.to_string();
            if name.starts_with('.') {
                return None;
            }
            let st = stat(format!("{BOUND_DIR}/{name}")).ok()?;
            Some((crate::text::bounded(&name, 64), u32::try_from(st.st_ino).ok()?))
        })
        .collect()
}

#[derive(Debug)]
struct Entered {
    diag: DiagSocket,
    /// Its rows as last read, and when.
    rows: Vec<RawSocket>,
    read_at_ms: i64,
    read_refresh: u64,
}

/// The namespaces the collector reads, kept across refreshes.
#[derive(Debug)]
pub struct NamespaceSet {
    own: u32,
    entered: FxHashMap<u32, Entered>,
    refused: FxHashMap<u32, (String, u64)>,
    refreshes: u64,
    /// Read no namespace but the observer's own.
    own_only: bool,
}

/// What happened since the last refresh, per namespace: which had events
/// (destroy events, connects) and which sockets closed.
#[derive(Debug, Default)]
pub struct Activity {
    pub namespaces: rustc_hash::FxHashSet<u32>,
    pub closed: rustc_hash::FxHashSet<u64>,
    /// Destroy events were lost since the last refresh (a kernel buffer
    /// overrun or a full queue): no namespace can be called quiet, so every
    /// one is read again to resynchronise.
    pub events_lost: bool,
}

/// The outcome of reading every namespace once.
#[derive(Debug, Default)]
pub struct NamespaceDump {
    pub namespaces: Vec<NamespaceInfo>,
    pub health: Vec<HealthMessage>,
    /// Namespaces entered for the first time this refresh, with their file
    /// (for opening event listeners in them).
    pub new: Vec<(NetNs, OwnedFd)>,
    /// Namespaces left this refresh.
    pub gone: Vec<NetNs>,
}

impl NamespaceSet {
    /// The observer's own namespace is read by the caller's socket.
    pub fn new(fs: &RealProcFs) -> Result<Self, String> {
        let own = fs.netns_of(std::process::id()).map_err(|e| format!("cannot read /proc/self/ns/net: {}", std::io::Error::from(e)))?;
        Ok(Self { own, entered: FxHashMap::default(), refused: FxHashMap::default(), refreshes: 0, own_only: false })
    }

    /// Read only the observer's own namespace when `own_only`.
    #[must_use]
    pub fn only_own(mut self, own_only: bool) -> Self {
        self.own_only = own_only;
        self
    }

    /// The observer's own namespace inode.
    pub fn own(&self) -> u32 {
        self.own
    }

    /// Enter namespaces that appeared, close the ones that went, and dump
    /// every entered one into `out` (sockets tagged with their namespace).
    /// `own_sockets` is how many sockets the caller read from its own.
    ///
    /// `active` are the namespaces with events since the last refresh,
    /// `closed` the cookies of sockets destroyed since then (dropped from
    /// rows kept from an earlier read).
    pub fn dump(&mut self, fs: &RealProcFs, seen: &Sightings, own_sockets: u32, activity: &Activity, now_ms: i64, out: &mut Vec<RawSocket>) -> NamespaceDump {
        self.refreshes += 1;
        let mut result = NamespaceDump::default();
        let to_read = self.choose(seen, activity);
        let mut kept = 0usize;
        let mut oldest_ms = now_ms;
        let gone: Vec<u32> = self.entered.keys().copied().filter(|i| !seen.by_inode.contains_key(i)).collect();
        for inode in gone {
            self.entered.remove(&inode);
            result.gone.push(NetNs(inode));
        }
        self.refused.retain(|i, _| seen.by_inode.contains_key(i));
        for (&inode, sighting) in &seen.by_inode {
            let name = default_name(inode == self.own, sighting);
            if inode == self.own {
                result.namespaces.push(NamespaceInfo {
                    inode,
                    name,
                    processes: sighting.processes,
                    sockets: own_sockets,
                    status: NamespaceStatus::Own,
                    read_at_ms: Some(now_ms),
                });
                continue;
            }
            if self.own_only {
                continue;
            }
            if !self.entered.contains_key(&inode) {
                let retry = self.refused.get(&inode).is_none_or(|(_, at)| self.refreshes - at >= RETRY_AFTER);
                if retry {
                    match enter(fs, inode, sighting) {
                        Ok((e, fd)) => {
                            self.refused.remove(&inode);
                            result.new.push((NetNs(inode), fd));
                            self.entered.insert(inode, e);
                        }
                        Err(reason) => {
                            self.refused.insert(inode, (reason, self.refreshes));
                        }
                    }
                }
            }
            let (status, read_at_ms) = self.read_one(inode, &to_read, activity, now_ms, out);
            if read_at_ms.is_some_and(|t| t < now_ms) {
                kept += 1;
                oldest_ms = oldest_ms.min(read_at_ms.unwrap_or(now_ms));
            }
            let sockets = out.iter().rev().take_while(|s| s.netns == Some(NetNs(inode))).count() as u32;
            result.namespaces.push(NamespaceInfo { inode, name, processes: sighting.processes, sockets, status, read_at_ms });
        }
        let reasons: Vec<&str> = result
            .namespaces
            .iter()
            .filter_map(|n| match &n.status {
                NamespaceStatus::NotEntered(r) => Some(r.as_str()),
                _ => None,
            })
            .collect();
        if let Some(reason) = reasons.first() {
            result.health.push(HealthMessage::warn(format!(
                "{} of {} network namespaces could not be read ({reason}): their sockets are missing",
                reasons.len(),
                result.namespaces.len()
            )));
        }
        if kept > 0 {
            result.health.push(HealthMessage::info(format!(
                "{kept} quiet network namespaces kept their rows from an earlier read (the oldest {:.1} s ago): with many namespaces each refresh reads the active ones and the {ROTATION} read longest ago, so every one is read within {} refreshes",
                (now_ms - oldest_ms) as f64 / 1000.0,
                self.entered.len().div_ceil(ROTATION)
            )));
        }
        if seen.unreadable > 0 {
            let why = if rustix::process::geteuid().is_root() { "permission denied" } else { "other users' processes: run as root to count them" };
            result.health.push(HealthMessage::info(format!(
                "the network namespace of {} processes could not be read ({why}): namespaces only they use are missing",
                seen.unreadable
            )));
        }
        result
    }

    /// Read one namespace, or give its kept rows: its status and when its
    /// rows were read.
    fn read_one(
        &mut self,
        inode: u32,
        to_read: &rustc_hash::FxHashSet<u32>,
        activity: &Activity,
        now_ms: i64,
        out: &mut Vec<RawSocket>,
    ) -> (NamespaceStatus, Option<i64>) {
        let refreshes = self.refreshes;
        match (self.entered.get_mut(&inode), self.refused.get(&inode)) {
            (Some(e), _) if e.read_refresh != 0 && !to_read.contains(&inode) => {
                // Kept from an earlier read, minus what closed since.
                e.rows.retain(|s| !activity.closed.contains(&s.key.cookie));
                out.extend(e.rows.iter().cloned());
                (NamespaceStatus::Entered, Some(e.read_at_ms))
            }
            (Some(e), _) => {
                let before = out.len();
                match e.diag.dump_all(out) {
                    Ok(()) => {
                        for s in &mut out[before..] {
                            s.netns = Some(NetNs(inode));
                        }
                        e.rows.clear();
                        e.rows.extend_from_slice(&out[before..]);
                        e.read_at_ms = now_ms;
                        e.read_refresh = refreshes;
                        (NamespaceStatus::Entered, Some(now_ms))
                    }
                    Err(err) => {
                        out.truncate(before);
                        (NamespaceStatus::NotEntered(format!("dump failed: {err}")), None)
                    }
                }
            }
            (None, Some((reason, _))) => (NamespaceStatus::NotEntered(reason.clone()), None),
            (None, None) => (NamespaceStatus::NotEntered("not tried yet".into()), None),
        }
    }

    /// The entered namespaces to read this refresh: all of them when they
    /// are few; else the active ones, the ones never read, and the
    /// [`ROTATION`] read longest ago.
    fn choose(&self, seen: &Sightings, activity: &Activity) -> rustc_hash::FxHashSet<u32> {
        let candidates: Vec<(u32, u64)> = self.entered.iter().filter(|(i, _)| seen.by_inode.contains_key(*i)).map(|(i, e)| (*i, e.read_refresh)).collect();
        choose(&candidates, activity)
    }
}

/// Which of the entered namespaces (inode, the refresh that last read it,
/// 0 for never) to read: all of them when they are few or when events were
/// lost; else the active ones, the ones never read, and the [`ROTATION`]
/// read longest ago.
pub fn choose(candidates: &[(u32, u64)], activity: &Activity) -> rustc_hash::FxHashSet<u32> {
    if candidates.len() <= ROTATION || activity.events_lost {
        return candidates.iter().map(|(i, _)| *i).collect();
    }
    let mut out: rustc_hash::FxHashSet<u32> = candidates.iter().filter(|(i, read)| *read == 0 || activity.namespaces.contains(i)).map(|(i, _)| *i).collect();
    let mut quiet: Vec<(u64, u32)> = candidates.iter().filter(|(i, _)| !out.contains(i)).map(|(i, read)| (*read, *i)).collect();
    quiet.sort_unstable();
    out.extend(quiet.into_iter().take(ROTATION).map(|(_, i)| i));
    out
}

/// `host`, the bound name, or the first process in it.
fn default_name(own: bool, s: &Sighting) -> String {
    if own {
        return "host".into();
    }
    if let Some(n) = &s.bound_name {
        return n.clone();
    }
    s.first_pid.map_or_else(|| "unnamed".into(), |p| format!("pid {p}"))
}

/// Open the namespace's file and a dump socket inside it; the file is
/// handed back for opening more sockets there (the event listener).
fn enter(fs: &RealProcFs, inode: u32, s: &Sighting) -> Result<(Entered, OwnedFd), String> {
    let fd = match (&s.bound_name, s.first_pid) {
        (_, Some(pid)) => fs.open_netns(pid),
        (Some(name), None) => open(format!("{BOUND_DIR}/{name}"), OFlags::RDONLY | OFlags::CLOEXEC, Mode::empty()),
        (None, None) => return Err("no process or name to enter it by".into()),
    }
    .map_err(|e| format!("cannot open its namespace file: {}", std::io::Error::from(e)))?;
    // The pid may have exited and been reused since the scan.
    let st = rustix::fs::fstat(&fd).map_err(|e| format!("cannot stat its namespace file: {}", std::io::Error::from(e)))?;
    if st.st_ino != u64::from(inode) {
        return Err("its process exited while entering".into());
    }
    let handle = fd.try_clone().map_err(|e| format!("cannot duplicate its namespace file: {e}"))?;
    let diag = within(handle, DiagSocket::open)?.map_err(|e: NetlinkError| e.to_string())?;
    Ok((Entered { diag, rows: Vec::new(), read_at_ms: 0, read_refresh: 0 }, fd))
}

#[cfg(test)]
#[path = "netns_tests.rs"]
mod tests;
