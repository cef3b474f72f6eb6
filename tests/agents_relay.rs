//! The observer changes nothing: every byte in is a byte out, both ways
//! (through `cat`, with binary, partial lines and malformed JSON), a
//! malformed line is counted, the exit status and a terminating signal
//! pass through, and traffic flows when the store cannot be opened.

use std::io::{Read, Write};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const BIN: &str = env!("CARGO_BIN_EXE_necromap");

/// Bytes that are not all JSON-RPC: valid lines, garbage, binary, a long line, no final newline.
fn traffic() -> Vec<u8> {
    let mut v = Vec::new();
    for i in 0..2000u32 {
        v.extend_from_slice(
            format!("{{\"jsonrpc\":\"2.0\",\"id\":{i},\"method\":\"tools/call\",\"params\":{{\"name\":\"x\",\"arguments\":{{}}}}}}\n").as_bytes(),
        );
        if i % 100 == 0 {
            v.extend_from_slice(b"{not json\r\n\x00\xff\xfe\x1b[2J\n");
        }
    }
    v.extend((0..200_000u32).map(|i| (i.wrapping_mul(2_654_435_761) >> 24) as u8));
    v.extend_from_slice(b"\n{\"unterminated\": ");
    v
}

struct Reaped(std::process::Child);

impl Drop for Reaped {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn relay_through_cat(db_args: &[&std::ffi::OsStr]) -> (Vec<u8>, Vec<u8>, std::process::ExitStatus, String) {
    let input = traffic();
    let mut child = Reaped(
        Command::new(BIN)
            .args(db_args)
            .args(["mcp-observe", "--", "cat"])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn"),
    );
    let mut stdin = child.0.stdin.take().expect("stdin");
    let mut stdout = child.0.stdout.take().expect("stdout");
    let mut stderr = child.0.stderr.take().expect("stderr");
    let sent = input.clone();
    let writer = std::thread::spawn(move || {
        for chunk in sent.chunks(7919) {
            stdin.write_all(chunk).expect("write");
        }
    });
    let mut out = Vec::new();
    stdout.read_to_end(&mut out).expect("read");
    writer.join().expect("writer");
    let mut err = String::new();
    stderr.read_to_string(&mut err).expect("stderr");
    let status = child.0.wait().expect("wait");
    (input, out, status, err)
}

#[test]
fn bytes_pass_unchanged_and_malformed_lines_are_counted() {
    let tmp = tempfile::tempdir().expect("tmp");
    let db = tmp.path().join("events.db");
    let (input, out, status, err) = relay_through_cat(&["--db".as_ref(), db.as_os_str()]);
    assert!(status.success(), "{status:?} {err}");
    assert_eq!(out.len(), input.len());
    assert!(out == input, "the relay changed bytes");
    assert!(err.contains("malformed lines"), "{err}");
    let conn = necromap::store::open_reader(&db).expect("store");
    let malformed: i64 = conn.query_row("SELECT malformed FROM mcp_servers", [], |r| r.get(0)).expect("row");
    // Each direction sees 21 garbage lines (`{not json` ×20 + the binary run's lines); at least those.
    assert!(malformed >= 40, "{malformed}");
}

#[test]
fn traffic_flows_when_the_store_cannot_be_opened() {
    let (input, out, status, err) = relay_through_cat(&["--db".as_ref(), "/dev/null/cannot/events.db".as_ref()]);
    assert!(status.success(), "{status:?}");
    assert!(out == input, "the relay changed bytes");
    assert!(err.contains("not recording (traffic still flows)"), "{err}");
}

#[test]
fn the_exit_status_passes_through() {
    let status = Command::new(BIN).args(["--no-store", "mcp-observe", "--", "sh", "-c", "exit 7"]).stdin(Stdio::null()).status().expect("run");
    assert_eq!(status.code(), Some(7));
    let missing = Command::new(BIN).args(["--no-store", "mcp-observe", "--", "/nonexistent/necromap-test-server"]).stdin(Stdio::null()).output().expect("run");
    assert!(!missing.status.success());
    assert!(String::from_utf8_lossy(&missing.stderr).contains("cannot run /nonexistent/necromap-test-server"), "{}", String::from_utf8_lossy(&missing.stderr));
}

#[test]
fn a_terminating_signal_reaches_the_server() {
    let mut child =
        Reaped(Command::new(BIN).args(["--no-store", "mcp-observe", "--", "sleep", "30"]).stdin(Stdio::piped()).stdout(Stdio::null()).spawn().expect("spawn"));
    // Give the observer time to install its handlers and start the child.
    std::thread::sleep(Duration::from_millis(500));
    let kill = Command::new("kill").args(["-TERM", &child.0.id().to_string()]).status().expect("kill");
    assert!(kill.success());
    let deadline = Instant::now() + Duration::from_secs(10);
    let status = loop {
        if let Some(s) = child.0.try_wait().expect("wait") {
            break s;
        }
        assert!(Instant::now() < deadline, "the observer did not end after SIGTERM");
        std::thread::sleep(Duration::from_millis(20));
    };
    assert_eq!(status.code(), Some(128 + 15), "the server died of SIGTERM and the observer says so: {status:?}");
}
