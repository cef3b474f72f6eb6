//! What `necromap mcp-observe` adds to each message: the round trip of a
//! JSON-RPC line through `cat` directly, and through the observer in front
//! of `cat` (recording to a temporary store), N times each; the added
//! latency is the difference of the two at each percentile. Then the same
//! for `mcp-observe --http`: a POST of a JSON-RPC message over one kept
//! connection to a small loopback HTTP server written here, directly and
//! through the relay.
//!
//! `cargo bench --bench observe` (N with `OBSERVE_N`, default 5000).

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const BIN: &str = env!("CARGO_BIN_EXE_necromap");

fn round_trips(program: &str, args: &[&str], n: usize) -> Vec<Duration> {
    let mut child = Command::new(program).args(args).stdin(Stdio::piped()).stdout(Stdio::piped()).stderr(Stdio::null()).spawn().expect("spawn");
    let mut input = child.stdin.take().expect("stdin");
    let mut output = BufReader::new(child.stdout.take().expect("stdout"));
    let mut times = Vec::with_capacity(n);
    let mut line = String::new();
    for i in 0..n + 200 {
        let message = format!(
            "{{\"jsonrpc\":\"2.0\",\"id\":{i},\"method\":\"tools/call\",\"params\":{{\"name\":\"read_file\",\"arguments\":{{\"path\":\"/home/u/project/src/main.rs\"}}}}}}\n"
        );
        let t = Instant::now();
        input.write_all(message.as_bytes()).expect("write");
        input.flush().expect("flush");
        line.clear();
        output.read_line(&mut line).expect("read");
        let took = t.elapsed();
        assert_eq!(line, message, "the line came back changed");
        if i >= 200 {
            times.push(took); // the first 200 warm up
        }
    }
    drop(input);
    let _ = child.wait();
    times.sort();
    times
}

fn pct(sorted: &[Duration], p: f64) -> Duration {
    sorted[((sorted.len() as f64 - 1.0) * p).round() as usize]
}

/// Read one HTTP/1.1 message (headers, then a Content-Length body) from `r`; its body.
fn read_message(r: &mut BufReader<TcpStream>) -> Option<Vec<u8>> {
    let mut length = 0usize;
    let mut line = String::new();
    loop {
        line.clear();
        if r.read_line(&mut line).ok()? == 0 {
            return None;
        }
        if line == "\r\n" {
            break;
        }
        if let Some((k, v)) = line.split_once(':')
            && k.eq_ignore_ascii_case("content-length")
        {
            length = v.trim().parse().ok()?;
        }
    }
    let mut body = vec![0u8; length];
    r.read_exact(&mut body).ok()?;
    Some(body)
}

/// Connections the upstream accepted (the relay keeps one per client connection).
static ACCEPTED: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);

/// A loopback HTTP server answering each POST with a small JSON-RPC result.
fn upstream() -> std::net::SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = listener.local_addr().expect("addr");
    std::thread::spawn(move || {
        for conn in listener.incoming().map_while(Result::ok) {
            ACCEPTED.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            std::thread::spawn(move || {
                let _ = conn.set_nodelay(true);
                let mut w = conn.try_clone().expect("clone");
                let mut r = BufReader::new(conn);
                let answer = br#"{"jsonrpc":"2.0","id":1,"result":{"content":[{"type":"text","text":"fn main() {}"}]}}"#;
                while read_message(&mut r).is_some() {
                    let head = format!("HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\r\n", answer.len());
                    if w.write_all(head.as_bytes()).and_then(|()| w.write_all(answer)).is_err() {
                        return;
                    }
                }
            });
        }
    });
    addr
}

fn http_round_trips(addr: &str, n: usize) -> Vec<Duration> {
    let conn = TcpStream::connect(addr).expect("connect");
    conn.set_nodelay(true).expect("nodelay");
    let mut w = conn.try_clone().expect("clone");
    let mut r = BufReader::new(conn);
    let mut times = Vec::with_capacity(n);
    for i in 0..n + 200 {
        let body = format!(
            "{{\"jsonrpc\":\"2.0\",\"id\":{i},\"method\":\"tools/call\",\"params\":{{\"name\":\"read_file\",\"arguments\":{{\"path\":\"/home/u/project/src/main.rs\"}}}}}}"
        );
        let request = format!(
            "POST /mcp HTTP/1.1\r\nhost: {addr}\r\nauthorization: Bearer bench-token\r\ncontent-type: application/json\r\naccept: application/json, text/event-stream\r\ncontent-length: {}\r\n\r\n{body}",
            body.len()
        );
        let t = Instant::now();
        w.write_all(request.as_bytes()).expect("write");
        let answer = read_message(&mut r).expect("an answer");
        let took = t.elapsed();
        assert!(answer.starts_with(b"{\"jsonrpc\""), "{}", String::from_utf8_lossy(&answer));
        if i >= 200 {
            times.push(took);
        }
    }
    times.sort();
    times
}

fn table(title: &str, n: usize, direct: &[Duration], observed: &[Duration]) {
    println!("{title}, {n} messages each");
    println!("{:>6} {:>12} {:>12} {:>12}", "", "direct", "observed", "added");
    for (name, p) in [("p50", 0.50), ("p90", 0.90), ("p99", 0.99), ("max", 1.0)] {
        let (d, o) = (pct(direct, p), pct(observed, p));
        println!("{name:>6} {:>10.1}µs {:>10.1}µs {:>10.1}µs", d.as_secs_f64() * 1e6, o.as_secs_f64() * 1e6, o.saturating_sub(d).as_secs_f64() * 1e6);
    }
    let added = pct(observed, 0.99).saturating_sub(pct(direct, 0.99));
    println!("added p99: {:.3} ms (target ≤ 1 ms): {}", added.as_secs_f64() * 1e3, if added <= Duration::from_millis(1) { "met" } else { "NOT met" });
}

fn main() {
    let n: usize = std::env::var("OBSERVE_N").ok().and_then(|v| v.parse().ok()).unwrap_or(5000);
    let tmp = tempfile::tempdir().expect("tmp");
    let db = tmp.path().join("events.db");
    let db = db.to_string_lossy().into_owned();
    let direct = round_trips("cat", &[], n);
    let observed = round_trips(BIN, &["--db", &db, "mcp-observe", "--", "cat"], n);
    table("stdio: round trip of one JSON-RPC line (~150 B)", n, &direct, &observed);

    let up = upstream();
    let direct = http_round_trips(&up.to_string(), n);
    let http_db = tmp.path().join("http.db");
    let mut relay = Command::new(BIN)
        .arg("--db")
        .arg(&http_db)
        .args(["mcp-observe", "--http", &format!("http://{up}/mcp"), "--listen", "127.0.0.1:0"])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn the relay");
    let mut err = BufReader::new(relay.stderr.take().expect("stderr"));
    let mut line = String::new();
    err.read_line(&mut line).expect("the relay's first line");
    let at = line.split("relaying http://").nth(1).and_then(|r| r.split('/').next()).unwrap_or_else(|| panic!("where the relay listens: {line}")).to_owned();
    let observed = http_round_trips(&at, n);
    let _ = relay.kill();
    let _ = relay.wait();
    println!();
    table("http: round trip of one JSON-RPC POST (~150 B) over a kept connection", n, &direct, &observed);
    println!("upstream connections: {} (1 direct, the rest the relay's)", ACCEPTED.load(std::sync::atomic::Ordering::Relaxed));
}
