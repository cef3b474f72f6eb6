//! Ordinary hosts stay quiet: a Python dev server run from a toolchain
//! under a home dot-directory, a client pool stuck in `SYN_SENT` against a
//! full accept queue on loopback, and an SSH login with a terminal draw
//! nothing of medium or above — while what they are is still seen (the
//! listener, the low finding, the shell behind sshd). Real processes on
//! 127.0.0.1, each killed and reaped.

mod common;

use std::net::TcpListener;
use std::process::Command;
use std::time::{Duration, Instant};

use common::{Watcher, about_pid, require, spawn_group};
use necromap::model::{Finding, Pid, Severity, Snapshot};

/// Findings of medium or above about `pid`.
fn serious(snap: &Snapshot, pid: Pid) -> Vec<Finding> {
    snap.findings.iter().filter(|f| f.severity >= Severity::Medium && about_pid(f, snap, pid)).cloned().collect()
}

/// A free port on 127.0.0.1 (bound, then released for a child to take).
fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").expect("bind").local_addr().expect("addr").port()
}

/// The real python interpreter (not a pyenv shim script).
fn python_binary() -> std::path::PathBuf {
    require("python3");
    let out = Command::new("python3").args(["-c", "import sys; print(sys.executable)"]).output().expect("python3");
    std::fs::canonicalize(String::from_utf8_lossy(&out.stdout).trim()).expect("python executable")
}

#[test]
fn a_python_dev_server_from_a_home_toolchain_is_not_a_hidden_listener() {
    // ~/.pyenv-style: a copy of the interpreter under a dot-directory of
    // $HOME (not /tmp: that would rightly be odd).
    let home = std::env::var_os("HOME").expect("HOME");
    let root = tempfile::Builder::new().prefix(".necromap-test-").tempdir_in(home).expect("dir in HOME");
    let bin = root.path().join(".pyenv/versions/3.11.7/bin");
    std::fs::create_dir_all(&bin).expect("mkdir");
    let python = bin.join("python3.11");
    std::fs::copy(python_binary(), &python).expect("copy python");
    let port = free_port();
    let mut c = Command::new(&python);
    // Every address, as `python3 -m http.server` does by default.
    c.args(["-m", "http.server", "--bind", "0.0.0.0", &port.to_string()]).current_dir(root.path());
    let server = spawn_group(c);
    let pid = server.pid();
    let mut w = Watcher::new();
    let snap = w
        .until(Duration::from_millis(200), Duration::from_secs(15), |s| s.listeners.values().any(|l| l.port == port && l.pid == Some(pid.0)).then(|| s.clone()))
        .expect("the dev server listens");
    assert!(snap.process(pid).and_then(|p| p.facts.exe.clone()).is_some_and(|e| e.contains("/.pyenv/")), "runs from the dot-directory");
    // Seen for what it is (a wildcard listener on a high port: low) …
    let low: Vec<&str> = snap.findings.iter().filter(|f| about_pid(f, &snap, pid)).map(|f| f.rule_id.as_str()).collect();
    assert!(low.contains(&"unexpected_high_port_listener"), "{low:?}");
    // … and nothing serious, on several refreshes.
    for _ in 0..5 {
        let snap = w.snapshot();
        let bad = serious(&snap, pid);
        assert!(bad.is_empty(), "an ordinary dev server drew {bad:?}");
        std::thread::sleep(Duration::from_millis(200));
    }
}

#[test]
fn a_client_pool_stuck_on_a_full_accept_queue_is_low_at_most() {
    // A server that never accepts, with the smallest backlog; one client
    // process opens twenty connections: most wait in SYN_SENT.
    let port = TcpListener::bind("127.0.0.7:0").expect("bind 127.0.0.7").local_addr().expect("addr").port();
    let mut s = Command::new(python_binary());
    s.arg("-c").arg(format!("import socket,time\nl=socket.socket();l.bind(('127.0.0.7',{port}));l.listen(0)\ntime.sleep(30)\n"));
    let server = spawn_group(s);
    let deadline = Instant::now() + Duration::from_secs(10);
    while std::net::TcpStream::connect(("127.0.0.7", port)).is_err() {
        assert!(Instant::now() < deadline, "the small-backlog server did not start");
        std::thread::sleep(Duration::from_millis(50));
    }
    let code = format!(
        "import socket,time\nss=[]\nfor i in range(20):\n    s=socket.socket();s.setblocking(False)\n    try: s.connect(('127.0.0.7',{port}))\n    except BlockingIOError: pass\n    ss.append(s)\ntime.sleep(30)\n"
    );
    let mut c = Command::new(python_binary());
    c.arg("-c").arg(&code);
    let client = spawn_group(c);
    let pid = client.pid();
    let mut w = Watcher::new();
    let found = w.until(Duration::from_millis(200), Duration::from_secs(15), |s| {
        let f = s.findings.iter().find(|f| f.rule_id == "failed_connection_attempts" && about_pid(f, s, pid)).cloned()?;
        Some((f, serious(s, pid)))
    });
    let (f, bad) = found.expect("the SYN_SENT burst is noticed");
    assert_eq!(f.severity, Severity::Low, "{:?}", f.trace);
    assert!(f.trace.iter().any(|t| t.condition == "private_ip_treatment"), "{:?}", f.trace);
    assert!(bad.is_empty(), "{bad:?}");
    drop(server);
}

/// An sshd on 127.0.0.1 with its own keys and config in `dir`.
fn start_sshd(dir: &std::path::Path, port: u16) -> common::Reaped {
    require("sshd");
    require("ssh-keygen");
    for (name, kind) in [("host_key", "ed25519"), ("user_key", "ed25519")] {
        let ok = Command::new("ssh-keygen").args(["-q", "-t", kind, "-N", "", "-f"]).arg(dir.join(name)).status().expect("ssh-keygen");
        assert!(ok.success());
    }
    std::fs::copy(dir.join("user_key.pub"), dir.join("authorized_keys")).expect("authorized_keys");
    let config = format!(
        "Port {port}\nListenAddress 127.0.0.1\nHostKey {d}/host_key\nAuthorizedKeysFile {d}/authorized_keys\nPidFile {d}/sshd.pid\nStrictModes no\nUsePAM no\nPermitRootLogin prohibit-password\nPasswordAuthentication no\n",
        d = dir.display()
    );
    std::fs::write(dir.join("sshd_config"), config).expect("config");
    // sshd wants its privilege-separation directory (the caller removes it
    // again when it made it).
    let sshd = std::fs::canonicalize(which("sshd")).expect("sshd path");
    let mut c = Command::new(sshd);
    c.args(["-D", "-e", "-f"]).arg(dir.join("sshd_config"));
    spawn_logged(c, &dir.join("sshd.log"))
}

/// Start `command` in its own process group with its stderr in `log`.
fn spawn_logged(mut command: Command, log: &std::path::Path) -> common::Reaped {
    use std::os::unix::process::CommandExt;
    let file = std::fs::File::create(log).expect("log file");
    command.process_group(0).stdin(std::process::Stdio::null()).stdout(std::process::Stdio::null()).stderr(file);
    common::Reaped(common::spawn_when_not_busy(&mut command).expect("spawn"))
}

/// Whether an SSH server answers on `port` (its banner comes first).
fn ssh_banner(port: u16) -> bool {
    use std::io::Read;
    let Ok(mut s) = std::net::TcpStream::connect(("127.0.0.1", port)) else { return false };
    let _ = s.set_read_timeout(Some(Duration::from_secs(2)));
    let mut first = [0u8; 8];
    s.read_exact(&mut first).is_ok() && first.starts_with(b"SSH-2.0")
}

/// The last lines of a log, for a failure message.
fn tail(path: &std::path::Path) -> String {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| format!("({}: {e})", path.display()));
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(15)..].join("\n")
}

/// `/run/sshd`, made for the test when the system has none, and removed
/// again when dropped.
struct PrivsepDir(bool);

impl PrivsepDir {
    fn ensure() -> Self {
        let path = std::path::Path::new("/run/sshd");
        let made = !path.exists();
        if made {
            std::fs::create_dir_all(path).expect("/run/sshd");
        }
        Self(made)
    }
}

impl Drop for PrivsepDir {
    fn drop(&mut self) {
        if self.0 {
            let _ = std::fs::remove_dir("/run/sshd");
        }
    }
}

fn which(tool: &str) -> std::path::PathBuf {
    std::env::split_paths(&std::env::var_os("PATH").unwrap_or_default())
        .chain([std::path::PathBuf::from("/usr/sbin")])
        .map(|d| d.join(tool))
        .find(|p| p.is_file())
        .expect("tool on PATH")
}

#[test]
fn an_ssh_login_with_a_terminal_is_a_shell_behind_sshd_not_a_reverse_shell() {
    assert!(rustix::process::geteuid().is_root(), "this test starts a real sshd, which needs root (CI runs as root)");
    let dir = tempfile::tempdir().expect("tmp");
    let port = free_port();
    let _privsep = PrivsepDir::ensure();
    let _sshd = start_sshd(dir.path(), port);
    // Wait for sshd to listen: its banner, not just any listener (another
    // test may have taken the free port first).
    let deadline = Instant::now() + Duration::from_secs(20);
    while !ssh_banner(port) {
        assert!(Instant::now() < deadline, "sshd did not start on {port}: {}", tail(&dir.path().join("sshd.log")));
        std::thread::sleep(Duration::from_millis(100));
    }
    let mut c = Command::new("ssh");
    c.args(["-tt", "-i"]).arg(dir.path().join("user_key")).args([
        "-o",
        "StrictHostKeyChecking=no",
        "-o",
        "UserKnownHostsFile=/dev/null",
        "-o",
        "BatchMode=yes",
        "-p",
        &port.to_string(),
        "root@127.0.0.1",
        "sleep 40; true",
    ]);
    let _client = spawn_logged(c, &dir.path().join("ssh.log"));
    let mut w = Watcher::new();
    // The session's shell sits on a pty whose master sshd holds, next to its
    // socket: plumbing sees the link …
    let snap = w
        .until(Duration::from_millis(200), Duration::from_secs(30), |s| {
            s.processes
                .values()
                .any(|p| p.facts.exe.as_deref().is_some_and(|e| e.ends_with("/sshd")) && p.facts.shell_links.iter().any(necromap::model::ShellLink::is_both))
                .then(|| s.clone())
        })
        .unwrap_or_else(|| {
            // What the map held of the session, for the next reader.
            let last = w.snapshot();
            let session: Vec<String> = last
                .processes
                .values()
                .filter(|p| ["sshd", "bash", "sleep", "sh"].iter().any(|n| p.facts.name.starts_with(n)))
                .map(|p| format!("{} ({}) exe {:?} links {:?}", p.facts.name, p.facts.pid, p.facts.exe, p.facts.shell_links))
                .collect();
            panic!(
                "the login shell is linked to sshd: not seen in 30 s\nssh: {}\nsshd: {}\non the map: {session:#?}",
                tail(&dir.path().join("ssh.log")),
                tail(&dir.path().join("sshd.log"))
            )
        });
    // … and the rules know sshd carries shells by design.
    let sshd_pids: Vec<Pid> = snap.processes.values().filter(|p| p.facts.name.starts_with("sshd")).map(|p| p.facts.pid()).collect();
    for pid in &sshd_pids {
        let bad = serious(&snap, *pid);
        assert!(bad.is_empty(), "sshd drew {bad:?}");
    }
    assert!(!snap.findings.iter().any(|f| f.rule_id == "reverse_shell_plumbing" || f.rule_id == "shell_fed_by_network"), "{:?}", snap.findings);
}
