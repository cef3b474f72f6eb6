//! The fleet schema on a real PostgreSQL: migrations run once and are
//! recorded, a batch is applied once however often it is sent, the
//! current state follows opens and closes, day partitions are made and
//! dropped, and the queries use their indexes (EXPLAIN).

#![allow(clippy::doc_markdown)] // "PostgreSQL" is a name, not code

mod common;

use std::time::{Duration, SystemTime};

use common::fleet::{host, migrated, opened, row};
use common::pg::Pg;
use necromap::fleet::batch::{Batch, EventKind, SocketEvent};
use necromap::fleet::ship::{AgentHealth, apply};
use necromap::model::Direction;

fn now_ms() -> i64 {
    SystemTime::now().duration_since(SystemTime::UNIX_EPOCH).expect("clock").as_millis() as i64
}

#[tokio::test(flavor = "current_thread")]
#[allow(clippy::too_many_lines)] // one schema, every table and index in turn
async fn migrations_batches_current_state_partitions_and_indexes() {
    let pg = Pg::start();
    let url = necromap::fleet::conn::parse(&pg.url(), &|_| None).expect("url");
    let mut c = necromap::fleet::conn::connect(&url).await.expect("connect");
    let applied = necromap::fleet::migrate::migrate(&mut c).await.expect("migrate");
    assert_eq!(applied, (1..=necromap::fleet::schema::current_version()).collect::<Vec<_>>());
    assert!(necromap::fleet::migrate::migrate(&mut c).await.expect("again").is_empty(), "a second run applies nothing");
    assert_eq!(necromap::fleet::migrate::version(&c).await.expect("version"), necromap::fleet::schema::current_version());
    necromap::fleet::partitions::ensure(&mut c, SystemTime::now()).await.expect("partitions");

    // web-1's client talks to db-1's listener.
    let t = now_ms();
    let web = host("web-1");
    let db = host("db-1");
    let health = AgentHealth::default();
    let db_batch = Batch {
        at_ms: t,
        host_name: "db-1".into(),
        resync: true,
        addresses: Some(vec!["10.9.0.2".parse().expect("ip")]),
        events: vec![opened(t, row("tcp:1", Direction::Listen, "0.0.0.0:5432", "0.0.0.0:0", 700, "postgres"))],
        ..Batch::default()
    };
    assert!(apply(&mut c, &db, 1, 1, &db_batch, &health).await.expect("apply"));
    let web_batch = Batch {
        at_ms: t,
        host_name: "web-1".into(),
        resync: true,
        addresses: Some(vec!["10.9.0.1".parse().expect("ip")]),
        events: vec![opened(t, row("tcp:2", Direction::Outbound, "10.9.0.1:40000", "10.9.0.2:5432", 500, "nginx"))],
        ..Batch::default()
    };
    assert!(apply(&mut c, &web, 1, 1, &web_batch, &health).await.expect("apply"));
    // The same batch again (a lost acknowledgement, a retry): skipped.
    assert!(!apply(&mut c, &web, 1, 1, &web_batch, &health).await.expect("apply twice"));
    let (events, _, batches) = necromap::fleet::query::event_counts(&c).await.expect("counts");
    assert_eq!((events, batches), (2, 2), "nothing is stored twice");

    let filter = necromap::fleet::edges::EdgeFilter { hosts: vec![], port: None, window: Duration::from_secs(3600), limit: 10 };
    let edges = necromap::fleet::edges::fleet_edges(&c, &filter).await.expect("edges");
    assert_eq!(edges.len(), 1, "{edges:?}");
    let e = &edges[0];
    assert_eq!((e.from.host.as_str(), e.from.process.as_deref(), e.from.pid), ("web-1", Some("nginx"), Some(500)));
    assert_eq!((e.to.host.as_str(), e.to.process.as_deref(), e.to.pid), ("db-1", Some("postgres"), Some(700)));
    assert_eq!((e.address.as_str(), e.port), ("10.9.0.2", 5432));
    let who = necromap::fleet::query::who_talks_to(&c, "10.9.0.2:5432".parse().expect("addr"), &[], Duration::from_secs(3600), 10).await.expect("who");
    assert_eq!(who.talkers.len(), 1);
    assert_eq!(who.owned_by.iter().map(|o| o.host.as_str()).collect::<Vec<_>>(), vec!["db-1"]);

    // The client closes: it leaves web-1's current state; the event stays.
    let close = Batch {
        at_ms: t + 1000,
        host_name: "web-1".into(),
        events: vec![SocketEvent {
            kind: EventKind::Closed,
            ..opened(t + 1000, row("tcp:2", Direction::Outbound, "10.9.0.1:40000", "10.9.0.2:5432", 500, "nginx"))
        }],
        ..Batch::default()
    };
    assert!(apply(&mut c, &web, 1, 2, &close, &health).await.expect("close"));
    assert!(necromap::fleet::query::host_sockets(&c, "web-1", 10).await.expect("sockets").is_empty());
    assert_eq!(necromap::fleet::query::host_sockets(&c, "db-1", 10).await.expect("sockets").len(), 1);

    // Today's partition holds the rows (not the default).
    let in_default: i64 = c.query_one("SELECT count(*) FROM socket_events_default", &[]).await.expect("q").get(0);
    assert_eq!(in_default, 0);

    // Indexes: with enough rows to make a scan costly, who_talks_to's
    // predicate and the edges' address join use socket_events_remote.
    c.batch_execute(
        "INSERT INTO socket_events (host_id, at, kind, socket_id, protocol, state, direction, local_ip, local_port, remote_ip, remote_port)
         SELECT 'id-bulk', now() - (g % 3600) * interval '1 second', 'opened', 'tcp:' || g, 'tcp', 'ESTABLISHED', 'outbound',
                '10.1.0.1', 30000 + g % 20000, ('10.2.' || (g % 250) || '.' || (g / 250 % 250))::inet, 443
           FROM generate_series(1, 60000) g;
         ANALYZE socket_events;",
    )
    .await
    .expect("bulk rows");
    let plan: Vec<String> = c
        .query("EXPLAIN SELECT count(*) FROM socket_events WHERE remote_ip = '10.9.0.2'::inet AND remote_port = 5432 AND at >= now() - interval '1 hour'", &[])
        .await
        .expect("explain")
        .iter()
        .map(|r| r.get(0))
        .collect();
    let plan = plan.join("\n");
    assert!(
        plan.contains("socket_events_remote") || plan.contains("remote_ip_remote_port_at"),
        "who_talks_to must use the (remote_ip, remote_port, at) index:\n{plan}"
    );
    assert!(!plan.contains("socket_events_default") || plan.contains("Index"), "{plan}");
    // fleet_edges reads the hourly rollup by its (hour, …) key, never the events.
    let plan = necromap::fleet::edges::explain_edges(&c, &filter).await.expect("explain edges").join("\n");
    assert!(plan.contains("edge_hours_pkey") && !plan.contains("socket_events"), "fleet_edges must read edge_hours by its key:\n{plan}");
    // who_talks_to's talkers come from the rollup's (ip, port, hour) index.
    let plan: Vec<String> = c
        .query(
            "EXPLAIN SELECT host_id, sum(n) FROM edge_hours WHERE direction = 'outbound' AND ip = '10.9.0.2'::inet AND port = 5432 AND hour >= date_trunc('hour', now(), 'UTC') GROUP BY 1",
            &[],
        )
        .await
        .expect("explain")
        .iter()
        .map(|r| r.get(0))
        .collect();
    let plan = plan.join("\n");
    assert!(plan.contains("edge_hours_address") || plan.contains("edge_hours_pkey"), "who_talks_to must use an edge_hours index:\n{plan}");

    // A window of several days reads its whole days from the day rollup by
    // an index: fleet_edges by its (day, …) key, who_talks_to by (ip, port, day).
    c.batch_execute(
        "INSERT INTO edge_days (day, host_id, direction, ip, port, protocol, comm, n, last_at, pid)
         SELECT date_trunc('day', now(), 'UTC') - (g % 200) * interval '1 day', 'id-bulk', 'outbound',
                ('10.3.' || (g % 250) || '.' || (g / 250 % 250))::inet, 443, 'tcp', 'w', 1, now(), 1
           FROM generate_series(1, 60000) g;
         INSERT INTO edge_hours (hour, host_id, direction, ip, port, protocol, comm, n, last_at, pid)
         SELECT date_trunc('hour', now(), 'UTC') - (g % 2000) * interval '1 hour', 'id-bulk', 'outbound',
                ('10.3.' || (g % 250) || '.' || (g / 250 % 250))::inet, 443, 'tcp', 'w', 1, now(), 1
           FROM generate_series(1, 60000) g;
         ANALYZE edge_days; ANALYZE edge_hours;",
    )
    .await
    .expect("bulk rollup rows");
    let days = necromap::fleet::edges::EdgeFilter { window: Duration::from_secs(3 * 86_400), ..filter.clone() };
    let plan = necromap::fleet::edges::explain_edges(&c, &days).await.expect("explain edges, 3 days").join("\n");
    assert!(
        plan.contains("edge_days_pkey") && !plan.contains("Seq Scan on edge_days") && !plan.contains("socket_events"),
        "fleet_edges over 3 days must read edge_days by its (day, …) key:\n{plan}"
    );
    let span = necromap::fleet::rollup::Span::last(Duration::from_secs(3 * 86_400));
    assert!(span.days_from + Duration::from_secs(86_400) < SystemTime::now(), "3 days back hold whole days: {span:?}");
    let plan = necromap::fleet::query::explain_who(&c, "10.9.0.2:5432".parse().expect("addr"), span).await.expect("explain who").join("\n");
    assert!(
        plan.contains("edge_days_address") && !plan.contains("Seq Scan on edge_days"),
        "who_talks_to over 3 days must read edge_days by its (ip, port, day) index:\n{plan}"
    );

    // Retention drops whole days: a partition from long ago goes.
    let old = SystemTime::now() - Duration::from_secs(40 * 86_400);
    necromap::fleet::partitions::ensure(&mut c, old).await.expect("old partitions");
    let dropped = necromap::fleet::partitions::drop_older(&c, SystemTime::now(), Duration::from_secs(30 * 86_400)).await.expect("retention");
    assert_eq!(dropped.len(), 9, "three days of three tables: {dropped:?}");
    let (events_after, _, _) = necromap::fleet::query::event_counts(&c).await.expect("counts");
    assert_eq!(events_after, 60_003, "today's rows stay (two opened, one closed, the bulk)");
    // … and the rollups' hours and days before the cutoff go with them.
    let old_rollup: i64 = c
        .query_one(
            "SELECT (SELECT count(*) FROM edge_days WHERE day < now() - interval '31 days') + (SELECT count(*) FROM edge_hours WHERE hour < now() - interval '31 days')",
            &[],
        )
        .await
        .expect("q")
        .get(0);
    assert_eq!(old_rollup, 0, "retention leaves no rollup row older than it keeps");
    let kept: i64 = c.query_one("SELECT count(*) FROM edge_days WHERE day >= now() - interval '29 days'", &[]).await.expect("q").get(0);
    assert!(kept >= 60_000 * 29 / 200, "the days kept stay: {kept}");
}

/// Opened connections over five days, shipped by the ingest: the answer of
/// `fleet_edges` and `who_talks_to` over windows of three days and some
/// hours (a partial first day read by its hours in the window, or by its
/// day row less its hours before the window; whole days and today from
/// `edge_days`) equals the same question asked of the raw events, edge by
/// edge and count by count; and the whole days really come from the day
/// rollup (their hours deleted, the answers are the same).
#[tokio::test(flavor = "current_thread")]
#[allow(clippy::too_many_lines)]
async fn a_window_of_days_answers_as_the_raw_events_do() {
    use necromap::fleet::rollup::Span;
    let pg = Pg::start();
    let mut c = migrated(&pg, false).await;
    let now = SystemTime::now();
    for d in 0..6 {
        necromap::fleet::partitions::ensure(&mut c, now - Duration::from_secs(d * 86_400)).await.expect("partitions");
    }
    let t = now_ms();
    let health = AgentHealth::default();
    for (name, ip, port, comm) in [("b", "10.7.0.2", 5432, "postgres"), ("c", "10.7.0.3", 6379, "redis")] {
        let b = Batch {
            at_ms: t - 6 * 86_400_000,
            host_name: name.into(),
            resync: true,
            addresses: Some(vec![ip.parse().expect("ip")]),
            events: vec![opened(t - 6 * 86_400_000, row(&format!("tcp:l{name}"), Direction::Listen, &format!("0.0.0.0:{port}"), "0.0.0.0:0", 70, comm))],
            ..Batch::default()
        };
        assert!(apply(&mut c, &host(name), 1, 1, &b, &health).await.expect("apply"));
    }
    // a's clients: every 37 minutes over five days, to b or c, from one of
    // three processes; one batch per 6 hours (late batches: the ingest
    // puts each event in its own hour and day).
    let step = 37 * 60_000;
    let first = t - 5 * 86_400_000;
    let mut seq = 1;
    let mut batch = Vec::new();
    let mut k = 0_i64;
    while first + k * step < t {
        let at = first + k * step;
        let (peer, comm) = [("10.7.0.2:5432", "app"), ("10.7.0.3:6379", "cache"), ("10.7.0.2:5432", "cron")][(k % 3) as usize];
        batch.push(opened(at, row(&format!("tcp:a{k}"), Direction::Outbound, &format!("10.7.0.1:{}", 30_000 + k % 20_000), peer, 100 + (k % 7) as u32, comm)));
        k += 1;
        if batch.len() == 10 || first + k * step >= t {
            let b = Batch {
                at_ms: at,
                host_name: "a".into(),
                resync: seq == 1,
                addresses: Some(vec!["10.7.0.1".parse().expect("ip")]),
                events: std::mem::take(&mut batch),
                ..Batch::default()
            };
            assert!(apply(&mut c, &host("a"), 1, seq, &b, &health).await.expect("apply a"));
            seq += 1;
        }
    }

    let day_rows: i64 = c.query_one("SELECT count(*) FROM edge_days", &[]).await.expect("q").get(0);
    assert!(day_rows >= 5 * 3, "the ingest kept the day rollup: {day_rows}");
    // Two windows of three days and some hours: one from 03:00 (read as its
    // first day's row less three hours), one from 20:00 (its first day's
    // four hours, then whole days).
    let secs = now.duration_since(SystemTime::UNIX_EPOCH).expect("clock").as_secs();
    let first_day = SystemTime::UNIX_EPOCH + Duration::from_secs((secs / 86_400 - 3) * 86_400);
    let today = first_day + Duration::from_secs(3 * 86_400);
    let mut checked = Vec::new();
    for (hour, subtracts) in [(3, true), (20, false)] {
        let since = first_day + Duration::from_secs(hour * 3600 + 59);
        let span = Span::of(since, now);
        assert_eq!(span.minus_from < span.minus_to, subtracts, "from {hour}:00: {span:?}");
        assert_eq!(span.hours_from < span.hours_to, !subtracts, "from {hour}:00: {span:?}");
        let start = first_day + Duration::from_secs(hour * 3600);
        let expected = raw(&c, start).await;
        assert_eq!(expected.0.len(), 2, "{expected:?}");
        assert_eq!(expected.1.len(), 2, "app and cron talk to b: {expected:?}");
        let total: i64 = expected.0.values().map(|v| v.0).sum();
        assert!(total > 2 * 24 * 60 / 37, "two days and more of connections: {total}");
        let got = answers(&c, span).await;
        assert_eq!(got.0, expected.0, "fleet_edges from {hour}:00 = the raw events");
        assert_eq!(got.1, expected.1, "who_talks_to from {hour}:00 = the raw events");
        checked.push((span, expected));
    }

    // The whole days come from edge_days: without their hours, the same answers.
    let gone =
        c.execute("DELETE FROM edge_hours WHERE hour >= $1 AND hour < $2", &[&(first_day + Duration::from_secs(86_400)), &today]).await.expect("delete hours");
    assert!(gone > 0, "the whole days had hour rows");
    for (span, expected) in checked {
        assert_eq!(answers(&c, span).await, expected, "the whole days are read from the day rollup: {span:?}");
    }
}

type Counts = (std::collections::BTreeMap<(String, String, i32), (i64, i64)>, std::collections::BTreeMap<(String, String, i32), i64>);

/// Edges (client host, address, port → connections, last ms) and talkers
/// to 10.7.0.2 (host, process, port → connections) from the raw events
/// opened since `start`.
async fn raw(c: &tokio_postgres::Client, start: SystemTime) -> Counts {
    let edges = c
        .query(
            "SELECT host_id, host(remote_ip), remote_port, count(*), (extract(epoch FROM max(at)) * 1000)::bigint FROM socket_events
              WHERE kind = 'opened' AND direction = 'outbound' AND at >= $1 GROUP BY 1, 2, 3",
            &[&start],
        )
        .await
        .expect("raw edges")
        .iter()
        .map(|r| ((r.get(0), r.get(1), r.get(2)), (r.get(3), r.get(4))))
        .collect();
    let who = c
        .query(
            "SELECT host_id, comm, remote_port, count(*) FROM socket_events
              WHERE kind = 'opened' AND direction = 'outbound' AND remote_ip = '10.7.0.2' AND at >= $1 GROUP BY 1, 2, 3",
            &[&start],
        )
        .await
        .expect("raw who")
        .iter()
        .map(|r| ((r.get(0), r.get(1), r.get(2)), r.get(3)))
        .collect();
    (edges, who)
}

/// The same two questions asked of `fleet_edges` and `who_talks_to` over `span`.
async fn answers(c: &tokio_postgres::Client, span: necromap::fleet::rollup::Span) -> Counts {
    let filter = necromap::fleet::edges::EdgeFilter { hosts: vec![], port: None, window: Duration::ZERO, limit: 100 };
    let edges = necromap::fleet::edges::fleet_edges_in(c, &filter, span)
        .await
        .expect("edges")
        .into_iter()
        .map(|e| ((e.from.host_id, e.address, i32::from(e.port)), (e.connections, e.last_ms)))
        .collect();
    let who = necromap::fleet::query::who_talks_to_in(c, "10.7.0.2".parse().expect("addr"), &[], span, 100)
        .await
        .expect("who")
        .talkers
        .into_iter()
        .map(|w| ((w.end.host_id, w.end.process.unwrap_or_default(), i32::from(w.port)), w.connections))
        .collect();
    (edges, who)
}

#[tokio::test(flavor = "current_thread")]
async fn fleet_rules_find_lateral_movement_shared_iocs_and_blast_radius() {
    use necromap::fleet::batch::FindingRow;
    use necromap::fleet::rules::{FleetRule, FleetRules, evaluate};
    let pg = Pg::start();
    let mut c = migrated(&pg, false).await;
    let t = now_ms();
    let health = AgentHealth::default();
    let ioc = |host: &str, severity| FindingRow {
        id: format!("ioc.dest@{host}"),
        rule_id: "ioc.dest".into(),
        rule_name: "IOC destination".into(),
        severity,
        tags: vec!["ioc".into()],
        subject: "endpoint 203.0.113.9".into(),
        pid: None,
        endpoint: Some("203.0.113.9".parse().expect("ip")),
        first_seen_ms: t,
        last_seen_ms: t,
    };
    // Three targets with ssh listeners; one of them (t1) also reaches the IOC.
    for (i, name) in ["t1", "t2", "t3"].iter().enumerate() {
        let b = Batch {
            at_ms: t,
            host_name: (*name).into(),
            resync: true,
            addresses: Some(vec![format!("10.5.0.{}", i + 10).parse().expect("ip")]),
            events: vec![opened(t, row(&format!("tcp:{i}"), Direction::Listen, "0.0.0.0:22", "0.0.0.0:0", 50, "sshd"))],
            findings: if i == 0 { vec![ioc(name, necromap::model::Severity::High)] } else { vec![] },
            ..Batch::default()
        };
        assert!(apply(&mut c, &host(name), 1, 1, &b, &health).await.expect("apply"));
    }
    // The jump host: one process reaches ssh on all three, and the IOC; a critical finding.
    let b = Batch {
        at_ms: t,
        host_name: "jump".into(),
        resync: true,
        addresses: Some(vec!["10.5.0.2".parse().expect("ip")]),
        events: (0..3)
            .map(|i| {
                opened(t, row(&format!("tcp:j{i}"), Direction::Outbound, &format!("10.5.0.2:{}", 50_000 + i), &format!("10.5.0.{}:22", i + 10), 99, "ssh"))
            })
            .collect(),
        findings: vec![ioc("jump", necromap::model::Severity::Critical)],
        ..Batch::default()
    };
    assert!(apply(&mut c, &host("jump"), 1, 1, &b, &health).await.expect("apply"));
    let found = evaluate(&c, &FleetRules::default(), Duration::from_secs(3600)).await.expect("rules");
    let of = |r: FleetRule| found.iter().filter(|f| f.rule == r).collect::<Vec<_>>();
    let lateral = of(FleetRule::LateralMovement);
    assert_eq!(lateral.len(), 1, "{found:?}");
    assert_eq!(lateral[0].hosts, vec!["t1", "t2", "t3"]);
    assert!(lateral[0].subject.contains("ssh (pid 99) on jump"), "{}", lateral[0].subject);
    let shared = of(FleetRule::SharedIoc);
    assert_eq!(shared.len(), 1, "{found:?}");
    assert_eq!(shared[0].hosts, vec!["jump", "t1"]);
    let blast = of(FleetRule::BlastRadius);
    assert_eq!(blast.len(), 1, "{found:?}");
    assert_eq!(blast[0].hosts, vec!["t1", "t2", "t3"], "the critical host's fleet peers");
    assert!(of(FleetRule::NewEdge).is_empty(), "no history before the window: no baseline, no verdict");
    // With a threshold of four hosts, three is not lateral movement.
    let strict = FleetRules { lateral_hosts: 4, ..FleetRules::default() };
    let found = evaluate(&c, &strict, Duration::from_secs(3600)).await.expect("rules");
    assert!(found.iter().all(|f| f.rule != FleetRule::LateralMovement), "{found:?}");
}

#[tokio::test(flavor = "current_thread")]
async fn a_new_edge_fires_once_and_an_edge_of_the_baseline_does_not() {
    use necromap::fleet::rules::{FleetRule, FleetRules, evaluate};
    let pg = Pg::start();
    let mut c = migrated(&pg, false).await;
    let t = now_ms();
    let two_days_ago = t - 2 * 86_400_000;
    let health = AgentHealth::default();
    // b and c listen on 5432.
    for (name, ip) in [("b", "10.6.0.2"), ("c", "10.6.0.3")] {
        let b = Batch {
            at_ms: two_days_ago,
            host_name: name.into(),
            resync: true,
            addresses: Some(vec![ip.parse().expect("ip")]),
            events: vec![opened(two_days_ago, row(&format!("tcp:l{name}"), Direction::Listen, "0.0.0.0:5432", "0.0.0.0:0", 70, "postgres"))],
            ..Batch::default()
        };
        assert!(apply(&mut c, &host(name), 1, 1, &b, &health).await.expect("apply"));
    }
    // Two days ago a talked to b: the baseline.
    let history = Batch {
        at_ms: two_days_ago,
        host_name: "a".into(),
        resync: true,
        addresses: Some(vec!["10.6.0.1".parse().expect("ip")]),
        events: vec![opened(two_days_ago, row("tcp:h1", Direction::Outbound, "10.6.0.1:41000", "10.6.0.2:5432", 40, "app"))],
        ..Batch::default()
    };
    assert!(apply(&mut c, &host("a"), 1, 1, &history, &health).await.expect("apply"));
    // Now a talks to b again (known) and, twice, to c (new).
    let now = Batch {
        at_ms: t,
        host_name: "a".into(),
        events: vec![
            opened(t, row("tcp:n1", Direction::Outbound, "10.6.0.1:42000", "10.6.0.2:5432", 40, "app")),
            opened(t, row("tcp:n2", Direction::Outbound, "10.6.0.1:42001", "10.6.0.3:5432", 40, "app")),
            opened(t, row("tcp:n3", Direction::Outbound, "10.6.0.1:42002", "10.6.0.3:5432", 41, "app")),
        ],
        ..Batch::default()
    };
    assert!(apply(&mut c, &host("a"), 1, 2, &now, &health).await.expect("apply"));
    let found = evaluate(&c, &FleetRules::default(), Duration::from_secs(3600)).await.expect("rules");
    let new: Vec<_> = found.iter().filter(|f| f.rule == FleetRule::NewEdge).collect();
    assert_eq!(new.len(), 1, "one finding for the new edge, none for the known one: {found:?}");
    assert_eq!(new[0].subject, "a → c:5432");
    assert_eq!((new[0].host.as_deref(), new[0].hosts.clone()), (Some("a"), vec!["a".to_string(), "c".to_string()]));
    // Without the history (a baseline that ends before it) both edges are new.
    let short = FleetRules { baseline: Duration::from_secs(3600), ..FleetRules::default() };
    let found = evaluate(&c, &short, Duration::from_secs(3600)).await.expect("rules");
    let new = found.iter().filter(|f| f.rule == FleetRule::NewEdge).count();
    assert_eq!(new, 0, "no events in a one-hour baseline before the window: no verdict at all: {found:?}");
}

/// The explorer's drill-down on a real database: web-1's processes with
/// their peers from the current state (db-1's postgres named as the fleet
/// peer it dialled, lb-1's haproxy as the fleet client it accepted, an
/// outside address as itself), its listener, its owner's user, and its
/// finding and alert with first and last seen.
#[tokio::test(flavor = "current_thread")]
#[allow(clippy::too_many_lines)] // three hosts' batches, then the drill-down
async fn a_host_drill_down_names_fleet_peers_and_lists_its_events() {
    use necromap::fleet::batch::{AlertRow, FindingRow, ProcessRow};
    let pg = Pg::start();
    let mut c = migrated(&pg, true).await;
    let t = now_ms();
    let health = AgentHealth::default();
    let db = Batch {
        at_ms: t,
        host_name: "db-1".into(),
        resync: true,
        addresses: Some(vec!["10.8.1.2".parse().expect("ip")]),
        events: vec![opened(t, row("tcp:dl", Direction::Listen, "0.0.0.0:5432", "0.0.0.0:0", 70, "postgres"))],
        ..Batch::default()
    };
    assert!(apply(&mut c, &host("db-1"), 1, 1, &db, &health).await.expect("apply db"));
    let lb = Batch {
        at_ms: t,
        host_name: "lb-1".into(),
        resync: true,
        addresses: Some(vec!["10.8.1.9".parse().expect("ip")]),
        events: vec![
            opened(t, row("tcp:lo", Direction::Outbound, "10.8.1.9:51000", "10.8.1.1:80", 90, "haproxy")),
            opened(t, row("tcp:l2", Direction::Outbound, "10.8.1.9:51001", "10.8.1.1:8443", 90, "haproxy")),
        ],
        ..Batch::default()
    };
    assert!(apply(&mut c, &host("lb-1"), 1, 1, &lb, &health).await.expect("apply lb"));
    let web = Batch {
        at_ms: t,
        host_name: "web-1".into(),
        resync: true,
        addresses: Some(vec!["10.8.1.1".parse().expect("ip")]),
        events: vec![
            opened(t, row("tcp:wl", Direction::Listen, "0.0.0.0:80", "0.0.0.0:0", 812, "nginx")),
            opened(t, row("tcp:w1", Direction::Outbound, "10.8.1.1:40000", "10.8.1.2:5432", 812, "nginx")),
            opened(t, row("tcp:w2", Direction::Outbound, "10.8.1.1:40001", "10.8.1.2:5432", 812, "nginx")),
            opened(t, row("tcp:w3", Direction::Outbound, "10.8.1.1:40002", "93.184.216.34:443", 812, "nginx")),
            opened(t, row("tcp:wi", Direction::Inbound, "10.8.1.1:80", "10.8.1.9:51000", 812, "nginx")),
            // Accepted on a port nothing listens on (closed below).
            opened(t, row("tcp:w8", Direction::Inbound, "10.8.1.1:8443", "10.8.1.9:51001", 812, "nginx")),
        ],
        processes: vec![ProcessRow {
            pid: 812,
            ppid: 1,
            name: "nginx".into(),
            cmdline: "nginx: worker".into(),
            exe: None,
            uid: 33,
            user: Some("www-data".into()),
            workload: None,
        }],
        findings: vec![FindingRow {
            id: "net.odd@web".into(),
            rule_id: "net.odd".into(),
            rule_name: "odd outbound".into(),
            severity: necromap::model::Severity::High,
            tags: vec![],
            subject: "process 812".into(),
            pid: Some(812),
            endpoint: None,
            first_seen_ms: t - 60_000,
            last_seen_ms: t,
        }],
        alerts: (0..3)
            .map(|i| AlertRow {
                at_ms: t - 30_000 + i * 1000,
                remote: "203.0.113.7".parse().expect("ip"),
                src_ip: "203.0.113.7".parse().expect("ip"),
                src_port: Some(4000),
                dest_ip: "10.8.1.1".parse().expect("ip"),
                dest_port: Some(80),
                proto: "TCP".into(),
                signature_id: 2_000_001,
                signature: "ET SCAN probe".into(),
                category: "scan".into(),
                severity: 2,
            })
            .collect(),
    };
    assert!(apply(&mut c, &host("web-1"), 1, 1, &web, &health).await.expect("apply web"));
    // The socket accepted on 8443 closes: only the rollups remember it.
    let closed = Batch {
        at_ms: t + 1000,
        host_name: "web-1".into(),
        events: vec![SocketEvent {
            kind: EventKind::Closed,
            ..opened(t + 1000, row("tcp:w8", Direction::Inbound, "10.8.1.1:8443", "10.8.1.9:51001", 812, "nginx"))
        }],
        ..Batch::default()
    };
    assert!(apply(&mut c, &host("web-1"), 1, 2, &closed, &health).await.expect("apply close"));

    let m = necromap::fleet::drill::host_map(&c, "id-web-1", Duration::from_secs(86_400)).await.expect("drill");
    assert_eq!(m.name, "web-1");
    assert_eq!(m.processes.len(), 1, "{m:?}");
    let nginx = &m.processes[0];
    assert_eq!((nginx.name.as_str(), nginx.pid, nginx.user.as_deref()), ("nginx", Some(812), Some("www-data")));
    assert_eq!(nginx.listens, vec!["tcp/80"]);
    let peers: Vec<String> =
        nginx.peers.iter().map(|p| format!("{} {} {:?} ×{} {:?} {:?}", p.direction, p.address, p.local_port, p.sockets, p.host, p.process)).collect();
    assert_eq!(
        peers,
        vec![
            r#"outbound 10.8.1.2:5432 None ×2 Some("db-1") Some("postgres")"#,
            r#"inbound 10.8.1.9 Some(80) ×1 Some("lb-1") Some("haproxy")"#,
            "outbound 93.184.216.34:443 None ×1 None None",
        ],
        "busiest first, fleet peers named by host and process"
    );
    assert_eq!(m.events.len(), 2, "{:?}", m.events);
    let finding = m.events.iter().find(|e| e.kind == "finding").expect("the finding");
    assert_eq!((finding.title.as_str(), finding.severity, finding.first_ms, finding.last_ms), ("odd outbound", 3, t - 60_000, t));
    let alert = m.events.iter().find(|e| e.kind == "alert").expect("the alert");
    assert_eq!((alert.title.as_str(), alert.subject.as_str(), alert.count), ("ET SCAN probe", "203.0.113.7", 3));
    assert_eq!((alert.first_ms, alert.last_ms), (t - 30_000, t - 28_000));
    // The edges: lb-1 → web-1:80 by web-1's listener, lb-1 → web-1:8443 by
    // the socket web-1 accepted there, closed since (no host listens on
    // 8443 now: the rollups stand in), web-1 → db-1.
    let filter = necromap::fleet::edges::EdgeFilter { hosts: vec![], port: None, window: Duration::from_secs(3600), limit: 10 };
    let mut edges: Vec<String> = necromap::fleet::edges::fleet_edges(&c, &filter)
        .await
        .expect("edges")
        .iter()
        .map(|e| format!("{} {:?} → {}:{} {:?} {:?}", e.from.host, e.from.process, e.to.host, e.port, e.to.process, e.to.pid))
        .collect();
    edges.sort();
    assert_eq!(
        edges,
        vec![
            r#"lb-1 Some("haproxy") → web-1:80 Some("nginx") Some(812)"#,
            r#"lb-1 Some("haproxy") → web-1:8443 Some("nginx") Some(812)"#,
            r#"web-1 Some("nginx") → db-1:5432 Some("postgres") Some(70)"#,
        ]
    );
    // db-1 has a listener and no peers; a host without rows is empty, not an error.
    let db = necromap::fleet::drill::host_map(&c, "id-db-1", Duration::from_secs(86_400)).await.expect("drill db");
    assert_eq!((db.processes.len(), db.processes[0].peers.len(), db.events.len()), (1, 0, 0), "{db:?}");
    let none = necromap::fleet::drill::host_map(&c, "id-nope", Duration::from_secs(86_400)).await.expect("drill nope");
    assert!(none.processes.is_empty() && none.events.is_empty());
}
