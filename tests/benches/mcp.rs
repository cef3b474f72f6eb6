//! MCP benchmark: `list_connections` over a 10k-socket snapshot (with both
//! rule packs' findings), timed three ways:
//! - the tool alone plus the JSON encoding rmcp does for its result;
//! - a whole JSON-RPC round trip through rmcp's server and client over an
//!   in-memory pipe (server-side work plus the client's decoding);
//! - for scale, `ss -tan` on this host in the same run.
//!
//! ```text
//! cargo bench --bench mcp            # 10k sockets
//! cargo bench --bench mcp -- 100000  # another size
//! ```

use std::sync::Arc;
use std::time::Instant;

use necromap::collector::Published;
use necromap::mcp::tools_connections::ListConnectionsArgs;
use necromap::mcp::{McpState, NecromapServer};
use necromap::rules::{Engine, IocSet, RuleSet};
use necromap::spec::{EMBEDDED_SPEC, Spec};
use rmcp::ServiceExt;
use rmcp::handler::server::wrapper::Parameters;
use rmcp::model::CallToolRequestParams;
use serde_json::json;

#[path = "synthetic.rs"]
mod synthetic;

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn ms(t: Instant) -> f64 {
    t.elapsed().as_secs_f64() * 1000.0
}

/// `ss -tan` on this host, median of 5 (None when ss is missing).
fn ss_ms() -> Option<f64> {
    let runs: Vec<f64> = (0..5)
        .filter_map(|_| {
            let t = Instant::now();
            let out = std::process::Command::new("ss").arg("-tan").output().ok()?;
            out.status.success().then(|| ms(t))
        })
        .collect();
    (!runs.is_empty()).then(|| median(runs))
}

fn main() {
    let n: usize = std::env::args().skip(1).find(|a| !a.starts_with('-')).and_then(|a| a.parse().ok()).unwrap_or(10_000);
    let mut engine = Engine::new(RuleSet::embedded(), IocSet::new());
    let rules = Arc::new(engine.rules.clone());
    let snapshot = Arc::new(synthetic::busy_snapshot_with(n, Some(&mut engine)));
    let (_tx, rx) = tokio::sync::watch::channel(Arc::new(Published::of(snapshot.clone())));
    let spec = Arc::new(Spec::embedded());
    let server = NecromapServer::new(McpState::new(rx, spec, EMBEDDED_SPEC.into(), rules));
    println!(
        "MCP benchmark · {} sockets · {} findings · medians of 30 calls (target: list_connections ≤ 20 ms server-side at 10k)\n",
        snapshot.sockets.len(),
        snapshot.findings.len()
    );
    println!("{:<44} {:>10} {:>10}", "call", "limit 100", "limit 10000");

    let direct = |limit: u32| {
        median(
            (0..30)
                .map(|_| {
                    let t = Instant::now();
                    let args: ListConnectionsArgs = serde_json::from_value(json!({ "limit": limit })).expect("args");
                    let out = server.list_connections(Parameters(args)).expect("answer").0;
                    // rmcp sends the result twice: as structuredContent and as text.
                    let value = serde_json::to_value(&out).expect("value");
                    let text = serde_json::to_string(&value).expect("text");
                    std::hint::black_box(text);
                    ms(t)
                })
                .collect(),
        )
    };
    let tool_only = median(
        (0..30)
            .map(|_| {
                let t = Instant::now();
                let args: ListConnectionsArgs = serde_json::from_value(json!({ "limit": 10_000 })).expect("args");
                std::hint::black_box(server.list_connections(Parameters(args)).expect("answer"));
                ms(t)
            })
            .collect(),
    );
    println!("{:<44} {:>11} {:>8.2} ms", "list_connections: tool alone", "", tool_only);
    let (d100, dall) = (direct(100), direct(10_000));
    println!("{:<44} {:>8.2} ms {:>8.2} ms", "list_connections: tool + JSON encoding", d100, dall);

    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().expect("runtime");
    let (r100, rall) = rt.block_on(async {
        let (client_io, server_io) = tokio::io::duplex(1 << 20);
        let srv = server.clone();
        tokio::spawn(async move {
            if let Ok(running) = srv.serve(server_io).await {
                let _ = running.waiting().await;
            }
        });
        let client = ().serve(client_io).await.expect("handshake");
        let round_trip = async |limit: u32| {
            let mut samples = Vec::new();
            for _ in 0..30 {
                let args = json!({ "limit": limit }).as_object().cloned().expect("object");
                let t = Instant::now();
                let r = client.call_tool(CallToolRequestParams::new("list_connections").with_arguments(args)).await.expect("call");
                samples.push(ms(t));
                std::hint::black_box(r);
            }
            median(samples)
        };
        let out = (round_trip(100).await, round_trip(10_000).await);
        let _ = client.cancel().await;
        out
    });
    println!("{:<44} {:>8.2} ms {:>8.2} ms", "list_connections: JSON-RPC round trip (rmcp)", r100, rall);
    match ss_ms() {
        Some(ss) => println!("\n`ss -tan` on this host, same run: {ss:.2} ms · round trip at limit 100 = {:.3}× ss -tan", r100 / ss),
        None => println!("\n`ss` not found: no comparison"),
    }
}
