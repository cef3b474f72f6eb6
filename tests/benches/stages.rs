//! Stage benchmark: the snapshot builder's own stages on a synthetic busy
//! host (no kernel, no /proc), so the model's share of a refresh is seen
//! apart from the dump: history and tables, the map's graph, the rules,
//! the fact index, and the explorer's per-refresh derivation.
//!
//! ```text
//! cargo bench --bench stages                # 10k and 100k sockets
//! cargo bench --bench stages -- 50000       # another size
//! NECROMAP_BENCH_ROUNDS=30 cargo bench --bench stages   # more refreshes;
//!                                            # the fastest of each stage on stderr
//! cargo bench --bench stages -- --loopback  # the live refresh bench's load:
//!                                            # loopback pairs of a few holders,
//!                                            # rows in the live dump's runs
//! cargo bench --bench stages -- --loopback --shuffled
//!                                            # the same, cookies in no order
//!                                            # (the rows are sorted, not merged)
//! ```

use std::sync::Arc;
use std::time::Instant;

use necromap::collector::CollectorStatus;
use necromap::model::SnapshotBuilder;
use necromap::rules::{Engine, IocSet, RuleSet};
use necromap::spec::Spec;
use necromap::tui::{App, Options};

#[path = "synthetic.rs"]
mod synthetic;
use synthetic::{busy_observation, info, loopback_observation, loopback_observation_shuffled};

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

/// Refreshes per size; the first (every socket new) is not counted.
const DEFAULT_ROUNDS: i64 = 9;

fn main() {
    // As the binary does first thing: every large table is a fresh mapping
    // per refresh, as in the explorer (without it glibc reuses freed heap
    // blocks and the stages look faster than they are live).
    necromap::memory::return_large_blocks();
    let rounds: i64 = std::env::var("NECROMAP_BENCH_ROUNDS").ok().and_then(|v| v.parse().ok()).filter(|&r| r > 1).unwrap_or(DEFAULT_ROUNDS);
    let sizes: Vec<usize> = std::env::args()
        .skip(1)
        .find(|a| !a.starts_with('-'))
        .map_or_else(|| vec![10_000, 100_000], |s| s.split(',').filter_map(|x| x.trim().parse().ok()).collect());
    let loopback = std::env::args().any(|a| a == "--loopback");
    let shuffled = std::env::args().any(|a| a == "--shuffled");
    let (observation, host): (fn(usize) -> _, _) = match (loopback, shuffled) {
        (true, false) => (loopback_observation, "loopback pairs, as --bench refresh holds them"),
        (true, true) => (loopback_observation_shuffled, "loopback pairs, cookies in no order"),
        (false, _) => (busy_observation, "busy host, public endpoints"),
    };
    println!("necromap stage benchmark (synthetic host: {host}) · medians of steady refreshes, ms\n");
    // build: history and tables; rules: rules and index until the map,
    // folded beside them on a second thread, is done too (map: its own
    // time, overlapping rules); graph+rules: the wall time of both.
    println!("{:>8} | {:>7} | {:>7} {:>7} {:>7} | {:>13} | {:>9}", "sockets", "build", "rules", "(index)", "map‖", "graph+rules", "TUI prep");
    let mut memory = Vec::new();
    for n in sizes {
        let spec = Arc::new(Spec::embedded());
        let mut builder = SnapshotBuilder::new(spec.clone());
        let mut engine = Engine::new(RuleSet::embedded(), IocSet::new());
        let (mut build, mut map, mut rules, mut index) = (Vec::new(), Vec::new(), Vec::new(), Vec::new());
        let mut last = None;
        for round in 0..rounds {
            let mut obs = observation(n);
            obs.taken_at_ms += round * 1_000;
            let snap = builder.build(obs, info(), Some(&mut engine));
            // The first refresh meets every socket for the first time.
            if round > 0 {
                build.push(snap.timings.graph_ms);
                map.push(snap.timings.map_ms);
                rules.push(snap.timings.rules_ms);
                index.push(snap.timings.index_ms);
            }
            last = Some(snap);
        }
        let Some(snap) = last else { continue };
        let snap = Arc::new(snap);
        let mut app = App::new(spec, snap.clone(), CollectorStatus::default(), Options::default(), (200, 60));
        let prep: Vec<f64> = (0..7)
            .map(|_| {
                let t = Instant::now();
                app.set_snapshot(snap.clone());
                t.elapsed().as_secs_f64() * 1000.0
            })
            .collect();
        if rounds != DEFAULT_ROUNDS {
            // On a busy machine the fastest refresh says more about the
            // code than the median does.
            let min = |v: &[f64]| v.iter().copied().fold(f64::INFINITY, f64::min);
            eprintln!(
                "{n} sockets, fastest of {}: build {:.1} rules {:.1} index {:.1} map {:.1} ms",
                rounds - 1,
                min(&build),
                min(&rules),
                min(&index),
                min(&map)
            );
        }
        let (b, r) = (median(build), median(rules));
        let per = |bytes: usize| bytes as f64 / n as f64;
        let rows = app.derived.rows.capacity() * 4;
        memory.push(format!(
            "{:>8} | {:>8.0} {:>8.0} {:>8.0} {:>8.0} {:>8.0} {:>8.0}",
            n,
            per(snap.socket_table_bytes()),
            per(builder.history().socket_table_bytes()),
            per(snap.graph.heap_bytes()),
            per(snap.index.heap_bytes()),
            per(snap.order.heap_bytes()),
            per(rows)
        ));
        println!("{:>8} | {:>7.1} | {:>7.1} {:>7.1} {:>7.1} | {:>13.1} | {:>9.1}", n, b, r, median(index), median(map), b + r, median(prep));
    }
    println!("\nbytes per socket of each structure (heap, estimated from capacities)\n");
    println!("{:>8} | {:>8} {:>8} {:>8} {:>8} {:>8} {:>8}", "sockets", "sockets", "history", "graph", "index", "orders", "TUI rows");
    for line in memory {
        println!("{line}");
    }
}
