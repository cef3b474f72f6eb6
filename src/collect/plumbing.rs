//! Where a shell's input and output go: from each shell's fd 0 (input)
//! and fd 1/2 (output), follow pipes, FIFOs, ptys and socketpairs to the
//! process at the other end, up to [`MAX_HOPS`] hops, until one holds a
//! network socket. The result is a [`ShellLink`] on every socket holder a
//! shell's plumbing reaches, so `cat /tmp/f | sh -i | nc … > /tmp/f`,
//! `socat … EXEC:bash,pty` and `python -c 'pty.spawn(…)'` are seen even
//! though no shell holds a socket itself.
//!
//! A *shell* is a process whose comm is one of [`SHELLS`], or an
//! interpreter ([`INTERPRETERS`], `busybox`) whose command line spawns a
//! shell (`pty.spawn`, `subprocess`, `exec`, `system`, `child_process` with
//! `sh`/`bash`/…). Direction matters for pipes and FIFOs: a shell's input
//! must be *written* by the other side, its output *read* by it (checked
//! in fdinfo), so an ordinary `ls | while read f; do curl …; done | grep`
//! whose children merely inherit the loop's pipes does not count. Ptys
//! and socketpairs carry both directions.
//!
//! A pipe or FIFO shared by more than [`MAX_CONDUIT_HOLDERS`] processes (a
//! service manager's log pipe) is not a private channel and is not followed.
//! Everything is looked up in the owner cache's fd tables; the few extra
//! reads (fdinfo access modes, Unix peers, FIFO identities, interpreters'
//! command lines) are made only on the paths being followed and cached.

use std::sync::LazyLock;

use regex::Regex;
use rustc_hash::{FxHashMap, FxHashSet};

use super::owners::{ConduitKey, FdTarget, OwnerCache};
use super::procfs::Access;
use crate::model::{Conduit, Hop, ShellLink};

/// Most hops followed from a shell's fd to a socket holder.
pub const MAX_HOPS: usize = 3;
/// Most shell links kept per socket holder (an sshd with hundreds of
/// sessions keeps the first ones).
pub const MAX_LINKS_PER_HOLDER: usize = 16;
/// A pipe or FIFO held by more processes than this is a shared log or
/// output pipe (a service manager's, a build's), not a private channel:
/// it is not followed, which also bounds the work per shell.
pub const MAX_CONDUIT_HOLDERS: usize = 16;
/// Longest shell command line kept in a link.
const CMDLINE_MAX: usize = 256;

/// Names (comm) of shells.
pub const SHELLS: &[&str] = &["sh", "bash", "rbash", "dash", "zsh", "ksh", "ksh93", "mksh", "ash", "csh", "tcsh", "fish", "yash"];
/// Name prefixes of interpreters that count as a shell when their command
/// line spawns one.
pub const INTERPRETERS: &[&str] = &["python", "perl", "ruby", "php", "node", "nodejs", "lua", "tclsh", "pwsh", "busybox"];

static SPAWNS_A_SHELL: LazyLock<(Regex, Regex)> = LazyLock::new(|| {
    let spawn = Regex::new(r"(?i)(pty\.spawn|subprocess|os\.system|popen|\bexec|\bsystem|\bspawn|child_process)");
    let shell = Regex::new(r"(?i)(^|[/\s'\x22(\[,])(ba|da|z|k|mk|a|c|tc|fi)?sh($|[\s'\x22),\]])");
    match (spawn, shell) {
        (Ok(a), Ok(b)) => (a, b),
        _ => unreachable!("the shell-spawn patterns are constant and valid"),
    }
});

/// Whether an interpreter's command line runs a shell (`pty.spawn("/bin/sh")`,
/// `subprocess.call(["bash"])`, `exec "/bin/sh -i"`, …), or busybox is one.
pub fn spawns_a_shell(cmdline: &str) -> bool {
    let (spawn, shell) = &*SPAWNS_A_SHELL;
    let busybox_shell = cmdline.split_whitespace().next().is_some_and(|a| a.ends_with("busybox")) && shell.is_match(cmdline);
    busybox_shell || (spawn.is_match(cmdline) && shell.is_match(cmdline))
}

/// What kind of process a comm names, for this search.
fn role(comm: &str) -> Option<Role> {
    if SHELLS.contains(&comm) {
        Some(Role::Shell)
    } else if INTERPRETERS.iter().any(|p| comm.starts_with(p)) {
        Some(Role::Interpreter)
    } else {
        None
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Role {
    Shell,
    Interpreter,
}

/// The lookups beyond the owner cache's fd tables.
pub trait Probe {
    /// How an fd was opened (fdinfo `flags`).
    fn access(&mut self, pid: u32, fd: u32) -> Option<Access>;
    /// The peer inode of a Unix socket.
    fn unix_peer(&mut self, inode: u32) -> Option<u32>;
    /// (device, inode) when the fd points at a FIFO.
    fn fifo(&mut self, pid: u32, fd: u32) -> Option<(u64, u64)>;
    /// Where the fd points, as text (a FIFO's path).
    fn link(&mut self, pid: u32, fd: u32) -> Option<String>;
    /// The command line, joined.
    fn cmdline(&mut self, pid: u32) -> Option<String>;
}

/// Which way data flows on a path.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Dir {
    /// Towards the shell's fd 0: the other end writes.
    In,
    /// Away from the shell's fd 1/2: the other end reads.
    Out,
}

struct Search<'a> {
    owners: &'a OwnerCache,
    /// Inodes of inet sockets (the dump's).
    inet: &'a FxHashSet<u32>,
    /// Processes that hold an inet socket.
    holders: &'a FxHashSet<u32>,
    probe: &'a mut dyn Probe,
}

impl Search<'_> {
    fn name(&self, pid: u32) -> String {
        self.owners.name(pid).unwrap_or("?").to_string()
    }

    fn access_ok(&mut self, pid: u32, fd: u32, dir: Dir, own_side: bool) -> bool {
        // The shell's own side: reads its input, writes its output. The
        // other side: the opposite.
        let want_read = (dir == Dir::In) == own_side;
        self.probe.access(pid, fd).is_some_and(|a| if want_read { a.reads() } else { a.writes() })
    }

    /// The other holders of a pipe or FIFO (none when it is a shared log
    /// pipe of more than [`MAX_CONDUIT_HOLDERS`]).
    fn others(&self, key: ConduitKey, pid: u32) -> Vec<(u32, u32)> {
        let holders = self.owners.conduit_holders(key);
        if holders.len() > MAX_CONDUIT_HOLDERS {
            return Vec::new();
        }
        holders.iter().copied().filter(|&(p, _)| p != pid).collect()
    }

    /// The processes at the other end of `pid`'s `fd`, with the conduit.
    fn peers(&mut self, pid: u32, fd: u32, dir: Dir) -> Vec<(Conduit, u32, u32)> {
        let Some(target) = self.owners.fd_target(pid, fd) else { return Vec::new() };
        match target {
            FdTarget::Pipe(inode) => {
                let others = self.others(ConduitKey::Pipe(inode), pid);
                if others.is_empty() || !self.access_ok(pid, fd, dir, true) {
                    return Vec::new();
                }
                others.into_iter().filter(|&(p, f)| self.access_ok(p, f, dir, false)).map(|(p, f)| (Conduit::Pipe { inode }, p, f)).collect()
            }
            FdTarget::LowFdPath(hash) => {
                let others = self.others(ConduitKey::Path(hash), pid);
                if others.is_empty() {
                    return Vec::new();
                }
                let Some(fifo) = self.probe.fifo(pid, fd) else { return Vec::new() };
                if !self.access_ok(pid, fd, dir, true) {
                    return Vec::new();
                }
                let path = self.probe.link(pid, fd).unwrap_or_default();
                others
                    .into_iter()
                    .filter(|&(p, f)| self.probe.fifo(p, f) == Some(fifo) && self.access_ok(p, f, dir, false))
                    .map(|(p, f)| (Conduit::Fifo { path: path.clone() }, p, f))
                    .collect()
            }
            FdTarget::PtySlave(index) => self
                .owners
                .conduit_holders(ConduitKey::Master(index))
                .iter()
                .filter(|&&(p, _)| p != pid)
                .map(|&(p, f)| (Conduit::Pty { index }, p, f))
                .collect(),
            FdTarget::Socket(inode) if !self.inet.contains(&inode) => {
                let Some(peer) = self.probe.unix_peer(inode) else { return Vec::new() };
                self.owners
                    .owners(peer)
                    .into_iter()
                    .filter(|p| p.0 != pid)
                    .filter_map(|p| self.owners.fds_on(p.0, FdTarget::Socket(peer)).first().map(|&f| (Conduit::SocketPair { inode }, p.0, f)))
                    .collect()
            }
            FdTarget::Socket(_) | FdTarget::PtyMaster(_) | FdTarget::SensitiveFile | FdTarget::Other => Vec::new(),
        }
    }

    /// Hops from `pid`'s `fds` to a process holding an inet socket.
    fn path(&mut self, pid: u32, fds: &[u32], dir: Dir, visited: &mut Vec<u32>) -> Option<Vec<Hop>> {
        for &fd in fds {
            for (conduit, other, other_fd) in self.peers(pid, fd, dir) {
                if visited.contains(&other) {
                    continue;
                }
                let hop = Hop { from_pid: pid, from_name: self.name(pid), from_fd: fd, conduit, to_pid: other, to_name: self.name(other), to_fd: other_fd };
                if self.holders.contains(&other) {
                    return Some(vec![hop]);
                }
                if visited.len() < MAX_HOPS {
                    visited.push(other);
                    // The next process's other low fds carry on (its stdio,
                    // or a file it opened: `cat /tmp/f`).
                    let next: Vec<u32> = self.owners.low_fds(other).into_iter().filter(|&f| f != other_fd).collect();
                    if let Some(rest) = self.path(other, &next, dir, visited) {
                        return Some(std::iter::once(hop).chain(rest).collect());
                    }
                    visited.pop();
                }
            }
        }
        None
    }
}

/// Shell links for every inet-socket holder a shell's plumbing reaches.
pub fn shell_links(owners: &OwnerCache, inet: &FxHashSet<u32>, holders: &FxHashSet<u32>, probe: &mut dyn Probe) -> FxHashMap<u32, Vec<ShellLink>> {
    let mut out: FxHashMap<u32, Vec<ShellLink>> = FxHashMap::default();
    let mut candidates: Vec<(u32, Role)> = owners.names().filter_map(|(pid, comm)| role(comm).map(|r| (pid, r))).collect();
    candidates.sort_unstable_by_key(|c| c.0);
    let mut search = Search { owners, inet, holders, probe };
    for (pid, role) in candidates {
        let input = search.path(pid, &[0], Dir::In, &mut vec![pid]).unwrap_or_default();
        let output = search.path(pid, &[1, 2], Dir::Out, &mut vec![pid]).unwrap_or_default();
        if input.is_empty() && output.is_empty() {
            continue;
        }
        let cmdline = search.probe.cmdline(pid).unwrap_or_default();
        if role == Role::Interpreter && !spawns_a_shell(&cmdline) {
            continue;
        }
        let link = ShellLink { pid, name: search.name(pid), cmdline: crate::text::bounded(&cmdline, CMDLINE_MAX), input, output };
        let ends: FxHashSet<u32> = [link.input.last(), link.output.last()].into_iter().flatten().map(|h| h.to_pid).collect();
        for holder in ends {
            let links = out.entry(holder).or_default();
            if links.len() < MAX_LINKS_PER_HOLDER {
                links.push(link.clone());
            }
        }
    }
    out
}

#[cfg(test)]
#[path = "plumbing_tests.rs"]
mod tests;
