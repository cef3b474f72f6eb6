//! What `necromap mcp-observe` adds to each message: the round trip of a
//! JSON-RPC line through `cat` directly, and through the observer in front
//! of `cat` (recording to a temporary store), N times each; the added
//! latency is the difference of the two at each percentile.
//!
//! `cargo bench --bench observe` (N with `OBSERVE_N`, default 5000).

use std::io::{BufRead, BufReader, Write};
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

fn main() {
    let n: usize = std::env::var("OBSERVE_N").ok().and_then(|v| v.parse().ok()).unwrap_or(5000);
    let tmp = tempfile::tempdir().expect("tmp");
    let db = tmp.path().join("events.db");
    let db = db.to_string_lossy().into_owned();
    let direct = round_trips("cat", &[], n);
    let observed = round_trips(BIN, &["--db", &db, "mcp-observe", "--", "cat"], n);
    println!("round trip of one JSON-RPC line (~150 B), {n} messages each");
    println!("{:>6} {:>12} {:>12} {:>12}", "", "direct", "observed", "added");
    for (name, p) in [("p50", 0.50), ("p90", 0.90), ("p99", 0.99), ("max", 1.0)] {
        let (d, o) = (pct(&direct, p), pct(&observed, p));
        println!("{name:>6} {:>10.1}µs {:>10.1}µs {:>10.1}µs", d.as_secs_f64() * 1e6, o.as_secs_f64() * 1e6, o.saturating_sub(d).as_secs_f64() * 1e6);
    }
    let added = pct(&observed, 0.99).saturating_sub(pct(&direct, 0.99));
    println!("added p99: {:.3} ms (target ≤ 1 ms): {}", added.as_secs_f64() * 1e3, if added <= Duration::from_millis(1) { "met" } else { "NOT met" });
}
