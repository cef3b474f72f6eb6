//! The fleet's ingest, measured on a real local PostgreSQL (started here,
//! as in the tests): N simulated agents (one process, one task per
//! connection, each carrying N/CONNS hosts) send one batch per host every
//! 5 s with realistic churn (10 sockets opened and 10 closed of ~200 per
//! host, connections to other fleet hosts' listeners, a finding refreshed).
//!
//! Prints: ingest lag (batch time → commit) p50/p99/max; PostgreSQL CPU
//! seconds and disk bytes per host-day (extrapolated from the run); the
//! time of `who_talks_to` and `fleet_edges` over what was ingested.
//!
//! `cargo bench --bench fleet` (NECROMAP_BENCH_HOSTS=200, NECROMAP_BENCH_SECS=60).

#![allow(clippy::doc_markdown)] // "PostgreSQL" is a name, not code

#[path = "../common/pg.rs"]
#[allow(dead_code)]
mod pg;

use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use necromap::fleet::batch::{Batch, EventKind, FindingRow, SocketEvent, SocketRow};
use necromap::fleet::ship::{AgentHealth, HostIdentity, apply};
use necromap::model::{Direction, Protocol, SocketState};

const CONNS: usize = 20;
const CHURN: usize = 10;

fn env_or(name: &str, default: u64) -> u64 {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

fn now_ms() -> i64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_millis() as i64)
}

fn addr(host: usize) -> String {
    format!("10.100.{}.{}", host / 250, host % 250 + 1)
}

fn socket(host: usize, n: u64, hosts: usize) -> SocketRow {
    let peer = (host + 1 + (n as usize % 7)) % hosts;
    SocketRow {
        id: format!("tcp:{host:04x}{n:012x}"),
        protocol: Protocol::Tcp,
        state: SocketState::Established,
        direction: Direction::Outbound,
        local: format!("{}:{}", addr(host), 20_000 + n % 40_000).parse().expect("addr"),
        remote: format!("{}:5432", addr(peer)).parse().expect("addr"),
        pid: Some(1000 + (n % 50) as u32),
        comm: Some(format!("worker-{}", n % 5)),
        exe: Some("/usr/bin/worker".into()),
        uid: 1000,
        netns: None,
    }
}

fn listener(host: usize) -> SocketRow {
    SocketRow {
        id: format!("tcp:{host:04x}ffffffffffff"),
        protocol: Protocol::Tcp,
        state: SocketState::Listen,
        direction: Direction::Listen,
        local: "0.0.0.0:5432".parse().expect("addr"),
        remote: "0.0.0.0:0".parse().expect("addr"),
        pid: Some(700),
        comm: Some("postgres".into()),
        exe: None,
        uid: 100,
        netns: None,
    }
}

/// One simulated host's state across refreshes.
struct Sim {
    id: HostIdentity,
    host: usize,
    seq: i64,
    next: u64,
    open: std::collections::VecDeque<SocketRow>,
}

impl Sim {
    fn batch(&mut self, hosts: usize, at_ms: i64) -> Batch {
        let mut b = Batch { at_ms, host_name: self.id.name.clone(), ..Batch::default() };
        let ev = |kind, socket| SocketEvent { at_ms, kind, socket, bytes_sent: None, bytes_received: None };
        if self.seq == 0 {
            b.resync = true;
            b.addresses = Some(vec![addr(self.host).parse().expect("ip")]);
            b.events.push(ev(EventKind::Opened, listener(self.host)));
            for _ in 0..200 {
                let s = socket(self.host, self.next, hosts);
                self.next += 1;
                self.open.push_back(s.clone());
                b.events.push(ev(EventKind::Opened, s));
            }
        } else {
            for _ in 0..CHURN {
                if let Some(s) = self.open.pop_front() {
                    b.events.push(ev(EventKind::Closed, s));
                }
                let s = socket(self.host, self.next, hosts);
                self.next += 1;
                self.open.push_back(s.clone());
                b.events.push(ev(EventKind::Opened, s));
            }
        }
        b.findings.push(FindingRow {
            id: format!("net.odd@{}", self.host),
            rule_id: "net.odd".into(),
            rule_name: "odd".into(),
            severity: necromap::model::Severity::Low,
            tags: vec!["odd".into()],
            subject: "process 1000".into(),
            pid: Some(1000),
            endpoint: None,
            first_seen_ms: at_ms - self.seq * 5000,
            last_seen_ms: at_ms,
        });
        self.seq += 1;
        b
    }
}

/// CPU seconds of the cluster's processes (owned by nobody, named postgres).
fn pg_cpu_seconds() -> f64 {
    let tick = rustix::param::clock_ticks_per_second() as f64;
    let mut total = 0.0;
    for e in std::fs::read_dir("/proc").expect("/proc").filter_map(Result::ok) {
        let Ok(stat) = std::fs::read_to_string(e.path().join("stat")) else { continue };
        let Some((name, rest)) = stat.split_once(") ").map(|(a, b)| (a.rsplit('(').next().unwrap_or(""), b)) else { continue };
        let uid_is_nobody = std::fs::read_to_string(e.path().join("status"))
            .is_ok_and(|s| s.lines().any(|l| l.starts_with("Uid:") && l.split_whitespace().nth(1) == Some("65534")));
        if !name.starts_with("postgres") || !uid_is_nobody {
            continue;
        }
        let f: Vec<&str> = rest.split_whitespace().collect();
        // utime, stime, and cutime, cstime: the postmaster collects the time of backends that ended.
        let ticks: u64 = (11..=14).map(|i| f.get(i).and_then(|v| v.parse::<u64>().ok()).unwrap_or(0)).sum();
        total += ticks as f64 / tick;
    }
    total
}

async fn db_size(c: &tokio_postgres::Client) -> i64 {
    c.query_one("SELECT pg_database_size(current_database())", &[]).await.expect("size").get(0)
}

fn percentile(sorted: &[i64], p: f64) -> i64 {
    if sorted.is_empty() {
        return 0;
    }
    sorted[((sorted.len() - 1) as f64 * p).round() as usize]
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let hosts = env_or("NECROMAP_BENCH_HOSTS", 200) as usize;
    let secs = env_or("NECROMAP_BENCH_SECS", 60);
    let pg = pg::Pg::start();
    let url = necromap::fleet::conn::parse(&pg.url(), &|_| None).expect("url");
    let mut admin = necromap::fleet::conn::connect(&url).await.expect("connect");
    necromap::fleet::migrate::migrate(&mut admin).await.expect("migrate");
    necromap::fleet::partitions::ensure(&mut admin, SystemTime::now()).await.expect("partitions");
    let disk0 = db_size(&admin).await;
    let cpu0 = pg_cpu_seconds();
    let start = Instant::now();
    let mut tasks = Vec::new();
    for conn in 0..CONNS {
        let url = url.clone();
        let mine: Vec<usize> = (0..hosts).filter(|h| h % CONNS == conn).collect();
        tasks.push(tokio::spawn(async move {
            let mut c = necromap::fleet::conn::connect(&url).await.expect("connect");
            let mut sims: Vec<Sim> = mine
                .iter()
                .map(|&h| Sim {
                    id: HostIdentity { id: format!("h{h:04}"), name: format!("host-{h:04}"), agent_version: "bench".into() },
                    host: h,
                    seq: 0,
                    next: 0,
                    open: std::collections::VecDeque::default(),
                })
                .collect();
            let mut lags = Vec::new();
            let mut tick = tokio::time::interval(Duration::from_secs(5));
            // Hosts start spread over the first 5 s, like real agents.
            tokio::time::sleep(Duration::from_millis((conn as u64 * 5000) / CONNS as u64)).await;
            while start.elapsed() < Duration::from_secs(secs) {
                tick.tick().await;
                let at = now_ms();
                for s in &mut sims {
                    let b = s.batch(hosts, at);
                    let seq = s.seq;
                    apply(&mut c, &s.id.clone(), 1, seq, &b, &AgentHealth::default()).await.expect("apply");
                    lags.push(now_ms() - at);
                }
            }
            lags
        }));
    }
    let mut lags = Vec::new();
    for t in tasks {
        lags.extend(t.await.expect("task"));
    }
    let elapsed = start.elapsed().as_secs_f64();
    let cpu = pg_cpu_seconds() - cpu0;
    let disk = db_size(&admin).await - disk0;
    lags.sort_unstable();
    let host_days = hosts as f64 * elapsed / 86_400.0;
    let (events, _, batches) = necromap::fleet::query::event_counts(&admin).await.expect("counts");
    println!("fleet ingest: {hosts} hosts, one batch per host every 5 s, {CHURN}+{CHURN} socket events per batch, {CONNS} connections, {elapsed:.0} s");
    println!("  batches {batches}, socket events {events}");
    println!("  lag (refresh → commit): p50 {} ms, p99 {} ms, max {} ms", percentile(&lags, 0.5), percentile(&lags, 0.99), lags.last().copied().unwrap_or(0));
    println!(
        "  PostgreSQL CPU: {cpu:.1} s over the run = {:.0} CPU-s per host-day ({:.1}% of one core for {hosts} hosts)",
        cpu / host_days,
        cpu / elapsed * 100.0
    );
    println!("  PostgreSQL disk: {disk} bytes over the run = {:.1} MB per host-day (tables and indexes, before vacuum)", disk as f64 / host_days / 1e6);
    // Fresh partitions have no statistics until autovacuum's next pass
    // (a minute, and 10% growth, later): time once so, then analysed.
    let f = necromap::fleet::edges::EdgeFilter { hosts: vec![], port: None, window: Duration::from_secs(3600), limit: 100 };
    let t = Instant::now();
    necromap::fleet::edges::fleet_edges(&admin, &f).await.expect("edges");
    println!("  fleet_edges before ANALYZE (fresh partition, no statistics): {:.1} ms", t.elapsed().as_secs_f64() * 1000.0);
    admin.batch_execute("ANALYZE").await.expect("analyze");
    let who: necromap::fleet::query::Address = format!("{}:5432", addr(1)).parse().expect("addr");
    let mut times = Vec::new();
    for _ in 0..5 {
        let t = Instant::now();
        let w = necromap::fleet::query::who_talks_to(&admin, who, Duration::from_secs(3600), 100).await.expect("who");
        times.push((t.elapsed().as_secs_f64() * 1000.0, w.talkers.len()));
    }
    times.sort_by(|a, b| a.0.total_cmp(&b.0));
    println!("  who_talks_to {who:?}: median {:.1} ms ({} talkers)", times[2].0, times[2].1);
    let mut times = Vec::new();
    for _ in 0..5 {
        let t = Instant::now();
        let f = necromap::fleet::edges::EdgeFilter { hosts: vec![], port: None, window: Duration::from_secs(3600), limit: 100 };
        let e = necromap::fleet::edges::fleet_edges(&admin, &f).await.expect("edges");
        times.push((t.elapsed().as_secs_f64() * 1000.0, e.len()));
    }
    times.sort_by(|a, b| a.0.total_cmp(&b.0));
    if std::env::var_os("NECROMAP_BENCH_EXPLAIN").is_some() {
        let f = necromap::fleet::edges::EdgeFilter { hosts: vec![], port: None, window: Duration::from_secs(3600), limit: 100 };
        println!("{}", necromap::fleet::edges::explain_edges(&admin, &f).await.expect("explain").join("\n"));
    }
    println!("  fleet_edges (all hosts, last hour, limit 100): median {:.1} ms ({} edges)", times[2].0, times[2].1);
}
