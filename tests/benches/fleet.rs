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
//!
//! History mode (NECROMAP_BENCH_HISTORY_DAYS=30): instead of shipping in
//! real time, synthesise DAYS of history for the hosts in SQL
//! (`generate_series`: NECROMAP_BENCH_PER_HOUR outbound connections per
//! host-hour, default 30, and the last hour at the live churn,
//! NECROMAP_BENCH_LAST_HOUR per host, default 7200 = 10 per 5 s), rebuild
//! the hourly and daily rollups from it, and time `fleet_edges` and `who_talks_to`
//! over 1 hour, 1 day and 30 days, against the same questions asked of the
//! raw events (the queries before the rollup). NECROMAP_BENCH_INBOUND=1
//! adds, for each connection, its accepted socket on the host it reached.

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

/// `fleet_edges` as it was before the rollup: every opened event of the
/// window grouped (the client side only; for the comparison).
const RAW_EDGES: &str = "SELECT e.host_id, e.remote_ip, e.remote_port, e.protocol, count(*), max(e.at),
        (array_agg(e.pid ORDER BY e.at DESC, e.socket_id))[1], (array_agg(e.comm ORDER BY e.at DESC, e.socket_id))[1]
   FROM socket_events e
  WHERE e.kind = 'opened' AND e.direction = 'outbound' AND e.at >= $1
    AND NOT (e.remote_ip << '127.0.0.0/8'::inet OR e.remote_ip = '::1'::inet)
  GROUP BY 1, 2, 3, 4 ORDER BY 5 DESC LIMIT 100";

/// `who_talks_to` as it was before the rollup.
const RAW_WHO: &str = "SELECT e.host_id, e.pid, e.comm, e.remote_port, count(*), max(e.at)
   FROM socket_events e
  WHERE e.remote_ip = $1::text::inet AND e.remote_port = 5432 AND e.kind = 'opened' AND e.direction <> 'listen' AND e.at >= $2
  GROUP BY 1, 2, 3, 4 ORDER BY 5 DESC LIMIT 100";

/// Median of five runs of `f`, in ms, and what the last run counted.
async fn median_ms<F: AsyncFnMut() -> usize>(mut f: F) -> (f64, usize) {
    let mut times = Vec::new();
    for _ in 0..5 {
        let t = Instant::now();
        let n = f().await;
        times.push((t.elapsed().as_secs_f64() * 1000.0, n));
    }
    times.sort_by(|a, b| a.0.total_cmp(&b.0));
    times[2]
}

/// Synthesise `days` of history in SQL and time the queries over it.
async fn history(admin: &mut tokio_postgres::Client, hosts: usize, days: u64) {
    let per_hour = env_or("NECROMAP_BENCH_PER_HOUR", 30);
    let last_hour = env_or("NECROMAP_BENCH_LAST_HOUR", 7200);
    let now = SystemTime::now();
    for d in (0..=days).step_by(2) {
        necromap::fleet::partitions::ensure(admin, now - Duration::from_secs(d * 86_400)).await.expect("partitions");
    }
    let clock = Instant::now();
    let n_hosts = hosts as i64;
    let addr = |col: &str| format!("('10.100.' || (({col}) / 250) || '.' || (({col}) % 250 + 1))::inet");
    admin
        .batch_execute(&format!(
            "INSERT INTO hosts (host_id, name, agent_version, first_seen, last_seen)
               SELECT 'h' || lpad(g::text, 4, '0'), 'host-' || lpad(g::text, 4, '0'), 'bench', now() - interval '{days} days', now() FROM generate_series(0, {n_hosts} - 1) g;
             INSERT INTO host_addresses (host_id, ip, seen) SELECT 'h' || lpad(g::text, 4, '0'), {a}, now() FROM generate_series(0, {n_hosts} - 1) g;
             INSERT INTO current_sockets (host_id, socket_id, protocol, state, direction, local_ip, local_port, remote_ip, remote_port, pid, comm, since)
               SELECT 'h' || lpad(g::text, 4, '0'), 'tcp:listen', 'tcp', 'LISTEN', 'listen', '0.0.0.0', 5432, '0.0.0.0', 0, 700, 'postgres', now() FROM generate_series(0, {n_hosts} - 1) g;",
            a = addr("g")
        ))
        .await
        .expect("hosts");
    let insert = |first: &str, count: u64, step: &str| {
        format!(
            "INSERT INTO socket_events (host_id, at, kind, socket_id, protocol, state, direction, local_ip, local_port, remote_ip, remote_port, pid, comm, exe, uid)
             SELECT 'h' || lpad(g::text, 4, '0'), now() - {first} - m * {step} - (g % 60) * interval '1 second', 'opened', 'tcp:s' || g || ':' || m, 'tcp', 'ESTABLISHED', 'outbound',
                    {src}, 20000 + m % 40000, {dst}, 5432, 1000 + m % 50, 'worker-' || (m % 5), '/usr/bin/worker', 1000
               FROM generate_series(0, {n_hosts} - 1) g, generate_series(0, {count} - 1) m",
            src = addr("g"),
            dst = addr(&format!("(g + 1 + m % 7) % {n_hosts}"))
        )
    };
    let old = days * 24 * per_hour;
    admin.batch_execute(&insert("interval '1 hour'", old, &format!("interval '{} ms'", 3_600_000 / per_hour.max(1)))).await.expect("history");
    admin.batch_execute(&insert("interval '0 s'", last_hour, &format!("interval '{} ms'", 3_600_000 / last_hour.max(1)))).await.expect("last hour");
    if std::env::var_os("NECROMAP_BENCH_INBOUND").is_some() {
        // Each connection also accepted on the host it reached, as a real
        // fleet reports it: as many inbound rows as outbound ones.
        admin
            .batch_execute(
                "INSERT INTO socket_events (host_id, at, kind, socket_id, protocol, state, direction, local_ip, local_port, remote_ip, remote_port, pid, comm, exe, uid)
                 SELECT 'h' || lpad(((remote_ip - '10.100.0.1'::inet) - (remote_ip - '10.100.0.1'::inet) / 256 * 6)::text, 4, '0'),
                        at, 'opened', socket_id || ':in', protocol, state, 'inbound', remote_ip, remote_port, local_ip, local_port, 700, 'postgres', '/usr/bin/postgres', 100
                   FROM socket_events WHERE direction = 'outbound' AND kind = 'opened' AND host_id LIKE 'h%'"
            )
            .await
            .expect("inbound");
    }
    let filled = clock.elapsed().as_secs_f64();
    let clock = Instant::now();
    let (hour_rows, day_rows) = necromap::fleet::rollup::rebuild(admin, now - Duration::from_secs((days + 1) * 86_400)).await.expect("rollup");
    let rolled = clock.elapsed().as_secs_f64();
    admin.batch_execute("ANALYZE").await.expect("analyze");
    let (events, _, _) = necromap::fleet::query::event_counts(admin).await.expect("counts");
    let size = async |t: &str| admin.query_one("SELECT pg_total_relation_size($1::text::regclass)", &[&t]).await.expect("size").get::<_, i64>(0) as f64 / 1e6;
    let (hours_mb, days_mb) = (size("edge_hours").await, size("edge_days").await);
    println!("fleet history: {hosts} hosts, {days} days, {per_hour} connections per host-hour, the last hour {last_hour} per host");
    println!(
        "  socket_events {events} rows (synthesised in {filled:.0} s); edge_hours {hour_rows} rows, {hours_mb:.0} MB; edge_days {day_rows} rows, {days_mb:.0} MB (both rebuilt in {rolled:.1} s)"
    );
    let who: necromap::fleet::query::Address = format!("{}:5432", addr_of(1)).parse().expect("addr");
    for (label, window) in [("1 hour", 3600), ("1 day", 86_400), ("30 days", 30 * 86_400)] {
        let window = Duration::from_secs(window);
        let filter = necromap::fleet::edges::EdgeFilter { hosts: vec![], port: None, window, limit: 100 };
        let db = &*admin;
        let (ms, n) = median_ms(async || necromap::fleet::edges::fleet_edges(db, &filter).await.expect("edges").len()).await;
        println!("  fleet_edges, {label}: median {ms:.1} ms ({n} edges)");
        let (ms, n) = median_ms(async || necromap::fleet::query::who_talks_to(db, who, &[], window, 100).await.expect("who").talkers.len()).await;
        println!("  who_talks_to {}, {label}: median {ms:.1} ms ({n} talkers)", addr_of(1));
    }
    let since = now - Duration::from_secs(3600);
    let db = &*admin;
    let (ms, n) = median_ms(async || db.query(RAW_EDGES, &[&since]).await.expect("raw edges").len()).await;
    println!("  before the rollup, fleet_edges' client side from the events, 1 hour: median {ms:.1} ms ({n} groups)");
    for (label, window) in [("1 hour", 3600), ("30 days", 30 * 86_400)] {
        let since = now - Duration::from_secs(window);
        let (ms, n) = median_ms(async || db.query(RAW_WHO, &[&addr_of(1), &since]).await.expect("raw who").len()).await;
        println!("  before the rollup, who_talks_to from the events, {label}: median {ms:.1} ms ({n} talkers)");
    }
    if std::env::var_os("NECROMAP_BENCH_EXPLAIN").is_some() {
        for window in [3600, days * 86_400] {
            let filter = necromap::fleet::edges::EdgeFilter { hosts: vec![], port: None, window: Duration::from_secs(window), limit: 100 };
            println!("fleet_edges, {window} s:\n{}", necromap::fleet::edges::explain_edges(admin, &filter).await.expect("explain").join("\n"));
        }
        let span = necromap::fleet::rollup::Span::last(Duration::from_secs(days * 86_400));
        println!("who_talks_to, {days} days:\n{}", necromap::fleet::query::explain_who(admin, who, span).await.expect("explain who").join("\n"));
        let plan = admin.query(&format!("EXPLAIN (ANALYZE, BUFFERS) {RAW_EDGES}"), &[&since]).await.expect("explain raw");
        println!("{}", plan.iter().map(|r| r.get::<_, String>(0)).collect::<Vec<_>>().join("\n"));
    }
}

fn addr_of(host: usize) -> String {
    addr(host)
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
    let days = env_or("NECROMAP_BENCH_HISTORY_DAYS", 0);
    if days > 0 {
        history(&mut admin, hosts, days).await;
        return;
    }
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
                    id: HostIdentity {
                        id: format!("h{h:04}"),
                        name: format!("host-{h:04}"),
                        agent_version: "bench".into(),
                        labels: std::collections::BTreeMap::new(),
                    },
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
        let w = necromap::fleet::query::who_talks_to(&admin, who, &[], Duration::from_secs(3600), 100).await.expect("who");
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
