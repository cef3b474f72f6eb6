use std::collections::{HashMap, HashSet};

use super::*;

/// An in-memory /proc: pid → (identity, fds), with call counting.
#[derive(Default)]
struct FakeProc {
    procs: HashMap<u32, (u64, HashMap<u32, FdTarget>)>,
    denied: HashSet<u32>,
    reads: u64,
    report_counts: bool,
    /// comm where it is not `p<pid>`.
    names: HashMap<u32, String>,
    argv0s: HashMap<u32, String>,
    /// Pids whose exe link resolves.
    exes: HashSet<u32>,
}

impl FakeProc {
    fn new() -> Self {
        Self { report_counts: true, ..Self::default() }
    }
    fn set(&mut self, pid: u32, identity: u64, fds: &[(u32, FdTarget)]) {
        self.procs.insert(pid, (identity, fds.iter().copied().collect()));
    }
    fn fds(&mut self, pid: u32) -> &mut HashMap<u32, FdTarget> {
        &mut self.procs.get_mut(&pid).expect("pid").1
    }
}

impl ProcFs for FakeProc {
    fn pids(&mut self) -> Vec<u32> {
        let mut p: Vec<u32> = self.procs.keys().copied().collect();
        p.sort_unstable();
        p
    }
    fn identity(&mut self, pid: u32) -> Result<u64, FdError> {
        self.procs.get(&pid).map(|p| p.0).ok_or(FdError::Gone)
    }
    fn fd_count(&mut self, pid: u32) -> Result<Option<u64>, FdError> {
        if self.denied.contains(&pid) {
            return Err(FdError::Denied);
        }
        let report = self.report_counts;
        self.procs.get(&pid).map(|p| report.then_some(p.1.len() as u64)).ok_or(FdError::Gone)
    }
    fn list_fds(&mut self, pid: u32) -> Result<Vec<u32>, FdError> {
        if self.denied.contains(&pid) {
            return Err(FdError::Denied);
        }
        self.procs.get(&pid).map(|p| p.1.keys().copied().collect()).ok_or(FdError::Gone)
    }
    fn read_fd(&mut self, pid: u32, fd: u32) -> Option<FdTarget> {
        self.reads += 1;
        self.procs.get(&pid).and_then(|p| p.1.get(&fd).copied())
    }
    fn comm(&mut self, pid: u32) -> Option<String> {
        self.procs.contains_key(&pid).then(|| self.names.get(&pid).cloned().unwrap_or_else(|| format!("p{pid}")))
    }
    fn argv0_bracketed(&mut self, pid: u32) -> bool {
        self.argv0s.get(&pid).is_some_and(|a| a.starts_with('['))
    }
    fn has_exe(&mut self, pid: u32) -> bool {
        self.exes.contains(&pid)
    }
}

fn live(inodes: &[u32]) -> FxHashSet<u32> {
    inodes.iter().copied().collect()
}

fn owners_of(cache: &OwnerCache, inode: u32) -> Vec<u32> {
    cache.owners(inode).iter().map(|p| p.0).collect()
}

use FdTarget::{Other, Socket};

#[test]
fn finds_owners_and_a_steady_refresh_reads_nothing() {
    let mut fs = FakeProc::new();
    fs.set(10, 1, &[(0, Other), (3, Socket(100)), (4, Socket(101))]);
    fs.set(20, 2, &[(5, Socket(200))]);
    let mut cache = OwnerCache::new();
    let stats = cache.refresh(&mut fs, &live(&[100, 101, 200]));
    assert_eq!(owners_of(&cache, 100), vec![10]);
    assert_eq!(owners_of(&cache, 200), vec![20]);
    assert_eq!(stats.fds_read, 4);
    let before = fs.reads;
    let stats = cache.refresh(&mut fs, &live(&[100, 101, 200]));
    assert_eq!(owners_of(&cache, 101), vec![10]);
    assert_eq!(fs.reads, before, "no fd read when nothing changed");
    assert_eq!(stats.rescanned, 0);
}

#[test]
fn a_new_fd_is_read_alone() {
    let mut fs = FakeProc::new();
    fs.set(10, 1, &[(3, Socket(100))]);
    let mut cache = OwnerCache::new();
    cache.refresh(&mut fs, &live(&[100]));
    fs.fds(10).insert(4, Socket(101));
    let before = fs.reads;
    cache.refresh(&mut fs, &live(&[100, 101]));
    assert_eq!(owners_of(&cache, 101), vec![10]);
    assert_eq!(fs.reads - before, 2, "the new fd is read, and the low fd 3 again");
}

/// sshd's session child, caught between fork and exec: its stdio was the
/// parent's files; it then `dup2`s the pty onto 0, 1 and 2 (same fd
/// numbers) and closes the rest. The count moved, so the low fds are read
/// again and the pty is seen; fds above them that stayed are not.
#[test]
fn stdio_moved_with_dup2_is_read_again_when_the_count_moves() {
    use FdTarget::{PtyMaster, PtySlave};
    let mut fs = FakeProc::new();
    fs.set(30, 3, &[(0, Other), (1, Other), (2, Other), (4, Socket(100)), (5, PtyMaster(7)), (6, PtySlave(7)), (20, Socket(101))]);
    let mut cache = OwnerCache::new();
    cache.refresh(&mut fs, &live(&[100, 101]));
    assert_eq!(cache.fd_target(30, 0), Some(Other));
    fs.set(30, 3, &[(0, PtySlave(7)), (1, PtySlave(7)), (2, PtySlave(7)), (20, Socket(101))]);
    let before = fs.reads;
    cache.refresh(&mut fs, &live(&[100, 101]));
    for fd in 0..3 {
        assert_eq!(cache.fd_target(30, fd), Some(PtySlave(7)), "fd {fd}");
    }
    assert_eq!(cache.fd_target(30, 5), None);
    assert!(cache.conduit_holders(ConduitKey::Master(7)).is_empty(), "the closed master is no longer held");
    assert_eq!(owners_of(&cache, 101), vec![30]);
    assert_eq!(fs.reads - before, 3, "only the low fds are read again");
}

/// The same child caught after its dup2s but before its exec: the count
/// stays 3 through the exec, so only the young pid's comm read each
/// refresh tells the shell apart from the sshd it was; then every fd is
/// read again. Once it is old, a steady pid reads nothing.
#[test]
fn an_exec_with_the_fd_count_unchanged_is_seen_while_the_pid_is_young() {
    use FdTarget::PtySlave;
    let mut fs = FakeProc::new();
    fs.names.insert(40, "sshd".into());
    fs.set(40, 4, &[(0, PtySlave(2)), (1, PtySlave(2)), (2, Other)]);
    let mut cache = OwnerCache::new();
    cache.refresh(&mut fs, &live(&[]));
    assert_eq!(cache.name(40), Some("sshd"));
    fs.names.insert(40, "bash".into());
    fs.set(40, 4, &[(0, PtySlave(2)), (1, PtySlave(2)), (2, PtySlave(2))]);
    let stats = cache.refresh(&mut fs, &live(&[]));
    assert_eq!(cache.name(40), Some("bash"), "the exec is seen");
    assert_eq!(cache.fd_target(40, 2), Some(PtySlave(2)), "and its fds read again");
    assert_eq!(stats.rescanned, 1);
    for _ in 0..5 {
        cache.refresh(&mut fs, &live(&[]));
    }
    let before = fs.reads;
    let stats = cache.refresh(&mut fs, &live(&[]));
    assert_eq!((fs.reads, stats.rescanned), (before, 0), "an old, steady pid reads nothing");
}

#[test]
fn fd_reuse_with_the_same_count_is_caught_by_the_inode_leaving_the_dump() {
    let mut fs = FakeProc::new();
    fs.set(10, 1, &[(3, Socket(100))]);
    let mut cache = OwnerCache::new();
    cache.refresh(&mut fs, &live(&[100]));
    // fd 3 closed and reopened as another socket: count unchanged.
    fs.fds(10).insert(3, Socket(555));
    cache.refresh(&mut fs, &live(&[555]));
    assert_eq!(owners_of(&cache, 555), vec![10]);
    assert!(owners_of(&cache, 100).is_empty());
}

#[test]
fn fd_reuse_from_a_file_to_a_socket_is_found_by_the_wide_rescan() {
    let mut fs = FakeProc::new();
    fs.set(10, 1, &[(3, Other), (4, Socket(100))]);
    let mut cache = OwnerCache::new();
    cache.refresh(&mut fs, &live(&[100]));
    // fd 3 was a file and is now a socket; nothing else moved.
    fs.fds(10).insert(3, Socket(777));
    let stats = cache.refresh(&mut fs, &live(&[100, 777]));
    assert!(owners_of(&cache, 777).is_empty(), "first refresh: not found yet");
    assert!(!stats.wide_rescan);
    let stats = cache.refresh(&mut fs, &live(&[100, 777]));
    assert!(stats.wide_rescan, "unowned twice in a row triggers the wide rescan");
    assert_eq!(owners_of(&cache, 777), vec![10]);
}

#[test]
fn pid_reuse_is_a_new_process() {
    let mut fs = FakeProc::new();
    fs.set(10, 1, &[(3, Socket(100)), (4, Socket(101))]);
    let mut cache = OwnerCache::new();
    cache.refresh(&mut fs, &live(&[100, 101]));
    // Same pid, new process (new identity), same fd count, one shared inode.
    fs.set(10, 99, &[(3, Socket(100)), (4, Socket(300))]);
    cache.refresh(&mut fs, &live(&[100, 101, 300]));
    assert_eq!(owners_of(&cache, 300), vec![10]);
    assert!(owners_of(&cache, 101).is_empty(), "the old process's socket is not credited to the new one");
}

#[test]
fn a_socket_with_two_owners_lists_both() {
    let mut fs = FakeProc::new();
    fs.set(10, 1, &[(3, Socket(100))]);
    fs.set(11, 2, &[(3, Socket(100)), (5, Socket(101))]);
    let mut cache = OwnerCache::new();
    cache.refresh(&mut fs, &live(&[100, 101]));
    assert_eq!(owners_of(&cache, 100), vec![10, 11]);
    // The child exits: one owner left.
    fs.procs.remove(&11);
    cache.refresh(&mut fs, &live(&[100]));
    assert_eq!(owners_of(&cache, 100), vec![10]);
}

#[test]
fn denied_pids_are_counted_and_unowned_inodes_go_to_the_negative_cache() {
    let mut fs = FakeProc::new();
    fs.set(10, 1, &[(3, Socket(100))]);
    fs.set(20, 2, &[(3, Socket(200))]);
    fs.denied.insert(20);
    let mut cache = OwnerCache::new();
    let stats = cache.refresh(&mut fs, &live(&[100, 200]));
    assert_eq!(stats.denied, 1);
    assert!(cache.is_denied(20));
    let stats = cache.refresh(&mut fs, &live(&[100, 200]));
    assert!(stats.wide_rescan, "200 unowned twice");
    let stats = cache.refresh(&mut fs, &live(&[100, 200]));
    assert!(!stats.wide_rescan, "negative cache stops repeated wide rescans");
    assert!(owners_of(&cache, 200).is_empty());
}

#[test]
fn without_fd_counts_a_periodic_full_rescan_still_catches_changes() {
    let mut fs = FakeProc::new();
    fs.report_counts = false;
    fs.set(10, 1, &[(3, Socket(100))]);
    let mut cache = OwnerCache::new();
    cache.refresh(&mut fs, &live(&[100]));
    fs.fds(10).insert(9, Other);
    let mut found_reads = false;
    for _ in 0..FULL_RESCAN_EVERY {
        let before = fs.reads;
        cache.refresh(&mut fs, &live(&[100]));
        found_reads |= fs.reads > before;
    }
    assert!(found_reads);
    assert_eq!(cache.fd_target(10, 9), Some(Other));
}

#[test]
fn an_fd_target_stays_eight_bytes() {
    // The cache holds one per open fd on the host: 100k sockets, 100k of these.
    assert_eq!(std::mem::size_of::<FdTarget>(), 8);
}

#[test]
fn pids_named_like_kernel_threads_with_fds_or_an_exe_are_masquerading() {
    let mut fs = FakeProc::new();
    // comm in brackets, holding a socket.
    fs.set(10, 1, &[(3, Socket(100))]);
    fs.names.insert(10, "[kworker/9:9]".into());
    // argv[0] in brackets (exec -a), no fds, an executable.
    fs.set(20, 2, &[]);
    fs.names.insert(20, "python3".into());
    fs.argv0s.insert(20, "[kworker/0:1]".into());
    fs.exes.insert(20);
    // A real kernel thread: no brackets in comm, empty command line, no fds, no exe.
    fs.set(30, 3, &[]);
    fs.names.insert(30, "kworker/0:1".into());
    // Brackets but nothing a kernel thread lacks (a zombie): not counted.
    fs.set(40, 4, &[]);
    fs.names.insert(40, "[defunct]".into());
    // An ordinary process.
    fs.set(50, 5, &[(0, Other)]);
    fs.argv0s.insert(50, "python3".into());
    fs.exes.insert(50);
    let mut cache = OwnerCache::new();
    cache.refresh(&mut fs, &live(&[100]));
    assert_eq!(cache.masquerading(&mut fs), vec![10, 20]);

    // A re-exec under a bracketed argv[0] changes the fd count: read again.
    fs.argv0s.insert(50, "[kthreadd]".into());
    fs.fds(50).insert(1, Other);
    cache.refresh(&mut fs, &live(&[100]));
    assert_eq!(cache.masquerading(&mut fs), vec![10, 20, 50]);
}
