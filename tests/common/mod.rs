//! What the live tests share: children that are killed and reaped when
//! dropped, a watcher that refreshes through the shipped packs until a
//! finding turns up (with a deadline), and lookups of findings by process.
//! Each test binary uses a subset of these.
#![allow(dead_code)]

pub mod fleet;
pub mod mcp;
pub mod pg;

use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use necromap::collect::{LinuxSource, Source};
use necromap::model::{Finding, Pid, Snapshot, SnapshotBuilder, Subject};
use necromap::rules::{Engine, IocSet, RuleSet};
use necromap::spec::Spec;

/// Kills and reaps a child (and, when it leads one, its process group) when
/// dropped, so a failing test leaves nothing running.
#[derive(Debug)]
pub struct Reaped(pub Child);

impl Drop for Reaped {
    fn drop(&mut self) {
        // Children started by `spawn_group` lead their own process group:
        // killing the group takes their descendants along. For any other
        // child there is no such group and this does nothing.
        if let Some(pid) = rustix::process::Pid::from_raw(self.0.id() as i32) {
            let _ = rustix::process::kill_process_group(pid, rustix::process::Signal::KILL);
        }
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

impl Reaped {
    pub fn pid(&self) -> Pid {
        Pid(self.0.id())
    }
}

/// Start `command` in its own process group with no stdio, reaped on drop.
pub fn spawn_group(mut command: Command) -> Reaped {
    use std::os::unix::process::CommandExt;
    command.process_group(0).stdin(Stdio::null()).stdout(Stdio::null()).stderr(Stdio::null());
    let program = command.get_program().to_string_lossy().into_owned();
    Reaped(spawn_when_not_busy(&mut command).unwrap_or_else(|e| panic!("cannot start {program}: {e} (.ci/run installs socat, ncat, netcat-openbsd, curl)")))
}

/// Spawn `command`, trying again for up to 5 s while its program is busy:
/// a program a test has just copied can still be open for writing in a
/// child that another test thread forked meanwhile (until that child
/// execs), and exec fails with ETXTBSY then.
pub fn spawn_when_not_busy(command: &mut Command) -> std::io::Result<Child> {
    const ETXTBSY: i32 = 26;
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        match command.spawn() {
            Err(e) if e.raw_os_error() == Some(ETXTBSY) && Instant::now() < deadline => std::thread::sleep(Duration::from_millis(20)),
            other => return other,
        }
    }
}

/// `bash -c script args…`, in its own process group.
pub fn bash(script: &str, args: &[&str]) -> Reaped {
    let mut c = Command::new("bash");
    c.arg("-c").arg(script).args(args);
    spawn_group(c)
}

/// Panics with a clear message when a tool the test needs is missing.
pub fn require(tool: &str) {
    let found = std::env::var_os("PATH").is_some_and(|p| std::env::split_paths(&p).any(|d| d.join(tool).is_file()));
    assert!(found, "`{tool}` is not installed: this test runs it for real (.ci/run installs it with apt-get)");
}

/// The live source, a builder and the shipped packs.
pub struct Watcher {
    source: LinuxSource,
    builder: SnapshotBuilder,
    engine: Engine,
}

impl Watcher {
    pub fn new() -> Self {
        Self {
            source: LinuxSource::open().expect("netlink"),
            builder: SnapshotBuilder::new(Arc::new(Spec::embedded())),
            engine: Engine::new(RuleSet::embedded(), IocSet::new()),
        }
    }

    pub fn snapshot(&mut self) -> Snapshot {
        let obs = self.source.collect().expect("collect");
        self.builder.build(obs, self.source.info(), Some(&mut self.engine))
    }

    /// Connection starts history has counted for `pid` (every series).
    pub fn starts_of(&self, pid: Pid) -> usize {
        self.builder.history().series().map(|(_, q)| q.iter().filter(|s| s.pid == pid.0).count()).sum()
    }

    /// Refresh every `every` until `found` returns something, for at most `limit`.
    pub fn until<T>(&mut self, every: Duration, limit: Duration, mut found: impl FnMut(&Snapshot) -> Option<T>) -> Option<T> {
        let deadline = Instant::now() + limit;
        while Instant::now() < deadline {
            let snap = self.snapshot();
            if let Some(f) = found(&snap) {
                return Some(f);
            }
            std::thread::sleep(every);
        }
        None
    }
}

/// Whether a finding is about this process (as subject, as a socket's
/// owner, or as an endpoint it has a socket to).
pub fn about_pid(f: &Finding, snap: &Snapshot, pid: Pid) -> bool {
    match f.subject {
        Subject::Process { pid: p } => p == pid,
        Subject::Socket { pid: p, .. } => p == Some(pid),
        Subject::Endpoint { endpoint } => snap.sockets.iter().any(|s| s.raw.owners.contains(&pid) && s.endpoint() == endpoint),
        Subject::Host => false,
    }
}

/// The first finding of `rule` about a process whose name is `name` and
/// whose command line contains `marker`.
pub fn finding_on(snap: &Snapshot, rule: &str, name: &str, marker: &str) -> Option<Finding> {
    snap.findings
        .iter()
        .find(|f| {
            f.rule_id == rule && snap.processes.values().any(|p| p.facts.name == name && p.facts.cmdline.contains(marker) && about_pid(f, snap, p.facts.pid()))
        })
        .cloned()
}

/// All trace values of a finding as one text, for assertions.
pub fn trace_text(f: &Finding) -> String {
    f.trace.iter().map(|t| format!("{}: {}", t.condition, t.value)).collect::<Vec<_>>().join("\n")
}
