//! What the fleet front ends ask: the hosts, who talks to an address
//! across hosts, the findings and alerts of the fleet, one host's current
//! sockets (drill-down). Edges are in [`super::edges`].

use std::net::IpAddr;
use std::time::{Duration, SystemTime};

use serde::Serialize;
use tokio_postgres::Client;

use super::FleetError;

fn since(window: Duration) -> SystemTime {
    SystemTime::now().checked_sub(window).unwrap_or(std::time::UNIX_EPOCH)
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct HostRow {
    pub host_id: String,
    pub name: String,
    pub agent_version: String,
    pub last_seen_ms: i64,
    /// Open sockets in the current state.
    pub sockets: i64,
    /// Findings seen in the window.
    pub findings: i64,
    /// Worst severity of those findings (0 info … 4 critical), none without findings.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub worst: Option<i16>,
    #[serde(skip_serializing_if = "is_zero")]
    pub outbox_depth: i32,
    #[serde(skip_serializing_if = "is_zero64")]
    pub dropped: i64,
    /// The agent's `--label`s.
    #[serde(skip_serializing_if = "std::collections::BTreeMap::is_empty")]
    pub labels: super::labels::Labels,
    /// The /24 (IPv4) or /64 (IPv6) of its first address other than loopback.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub subnet: Option<String>,
}

#[allow(clippy::trivially_copy_pass_by_ref)]
fn is_zero(v: &i32) -> bool {
    *v == 0
}
#[allow(clippy::trivially_copy_pass_by_ref)]
fn is_zero64(v: &i64) -> bool {
    *v == 0
}

/// Every host, with its findings of the window.
pub async fn list_hosts(client: &Client, window: Duration) -> Result<Vec<HostRow>, FleetError> {
    let rows = client
        .query(
            "SELECT h.host_id, h.name, h.agent_version, (extract(epoch FROM h.last_seen) * 1000)::bigint,
                    (SELECT count(*) FROM current_sockets s WHERE s.host_id = h.host_id),
                    (SELECT count(*) FROM findings f WHERE f.host_id = h.host_id AND f.last_seen >= $1),
                    (SELECT max(f.severity) FROM findings f WHERE f.host_id = h.host_id AND f.last_seen >= $1),
                    h.outbox_depth, h.dropped, h.labels::text,
                    (SELECT text(network(set_masklen(a.ip, CASE family(a.ip) WHEN 4 THEN 24 ELSE 64 END))) FROM host_addresses a
                      WHERE a.host_id = h.host_id AND NOT (a.ip << '127.0.0.0/8'::inet OR a.ip = '::1'::inet) ORDER BY family(a.ip), a.ip LIMIT 1)
               FROM hosts h ORDER BY h.name, h.host_id",
            &[&since(window)],
        )
        .await?;
    Ok(rows
        .iter()
        .map(|r| HostRow {
            host_id: r.get(0),
            name: r.get(1),
            agent_version: r.get(2),
            last_seen_ms: r.get(3),
            sockets: r.get(4),
            findings: r.get(5),
            worst: r.get(6),
            outbox_depth: r.get(7),
            dropped: r.get(8),
            labels: serde_json::from_str(r.get::<_, &str>(9)).unwrap_or_default(),
            subnet: r.get(10),
        })
        .collect())
}

/// A fleet host as a question names it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct HostRef {
    pub host_id: String,
    pub name: String,
}

/// How many known hosts an unknown-host error lists.
const KNOWN_LISTED: usize = 40;

/// The hosts `given` (ids or names) stand for, in order, each once; an
/// unknown one is an error listing the known hosts. Nothing given: none.
pub async fn resolve_hosts(client: &Client, given: &[String]) -> Result<Vec<HostRef>, FleetError> {
    if given.is_empty() {
        return Ok(Vec::new());
    }
    let rows = client.query("SELECT host_id, name FROM hosts ORDER BY name, host_id", &[]).await?;
    let known: Vec<HostRef> = rows.iter().map(|r| HostRef { host_id: r.get(0), name: r.get(1) }).collect();
    let mut out: Vec<HostRef> = Vec::new();
    for g in given {
        let hits: Vec<&HostRef> = known.iter().filter(|h| h.host_id == *g || h.name == *g).collect();
        if hits.is_empty() {
            let clean = |s: &str| crate::text::escape_control(&crate::text::bounded(s, 64));
            let mut list: Vec<String> = known.iter().take(KNOWN_LISTED).map(|h| clean(&h.name)).collect();
            if known.len() > KNOWN_LISTED {
                list.push(format!("and {} more (list_hosts)", known.len() - KNOWN_LISTED));
            }
            let known = if list.is_empty() { "none yet (no agent has shipped)".to_string() } else { list.join(", ") };
            return Err(FleetError::UnknownHost { given: clean(g), known });
        }
        for h in hits {
            if !out.contains(h) {
                out.push(h.clone());
            }
        }
    }
    Ok(out)
}

/// The ids of resolved hosts (what the queries filter on).
pub fn ids(hosts: &[HostRef]) -> Vec<String> {
    hosts.iter().map(|h| h.host_id.clone()).collect()
}

/// An address a question is about: an IP, or an IP and port.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Address {
    pub ip: IpAddr,
    pub port: Option<u16>,
}

impl std::str::FromStr for Address {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let s = s.trim();
        if let Ok(sa) = s.parse::<std::net::SocketAddr>() {
            return Ok(Self { ip: crate::terms::normalize_ip(sa.ip()), port: Some(sa.port()) });
        }
        s.parse::<IpAddr>().map(|ip| Self { ip: crate::terms::normalize_ip(ip), port: None }).map_err(|_| {
            format!("`{}` is not an address: give an IP (10.0.0.5, 2001:db8::1) or IP:PORT (10.0.0.5:5432, [2001:db8::1]:443)", crate::text::bounded(s, 60))
        })
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Talker {
    /// The host and process that talked (the same record as an edge's end).
    #[serde(flatten)]
    pub end: super::edges::EdgeEnd,
    pub port: u16,
    pub connections: i64,
    pub last_ms: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Owner {
    pub host_id: String,
    pub host: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct WhoTalksTo {
    pub address: String,
    /// Fleet hosts that have this address.
    pub owned_by: Vec<Owner>,
    /// Processes on fleet hosts that opened connections to it in the window.
    pub talkers: Vec<Talker>,
}

/// Who, on any fleet host (or on `hosts`, by id; empty: all), connected
/// to `address` in the window (whole hours, from the rollups: one talker
/// per host, process name and port, with the pid of its latest connection).
pub async fn who_talks_to(client: &Client, address: Address, hosts: &[String], window: Duration, limit: usize) -> Result<WhoTalksTo, FleetError> {
    who_talks_to_in(client, address, hosts, super::rollup::Span::last(window), limit).await
}

/// [`who_talks_to`] over the rollup rows of `span`.
pub async fn who_talks_to_in(client: &Client, address: Address, hosts: &[String], span: super::rollup::Span, limit: usize) -> Result<WhoTalksTo, FleetError> {
    let ip = address.ip.to_string();
    let port: Option<i32> = address.port.map(i32::from);
    let (limit, hosts) = (limit as i64, hosts.to_vec());
    let mut params = span.params().to_vec();
    params.extend([&ip as &(dyn tokio_postgres::types::ToSql + Sync), &port, &limit, &hosts]);
    let rows = client.query(&who_sql(), &params).await?;
    let talkers = rows
        .iter()
        .map(|r| Talker {
            end: super::edges::EdgeEnd { host_id: r.get(0), host: r.get(1), pid: r.get(2), process: r.get(3) },
            port: u16::try_from(r.get::<_, i32>(4)).unwrap_or(0),
            connections: r.get(5),
            last_ms: r.get(6),
        })
        .collect();
    let owners = client
        .query("SELECT a.host_id, h.name FROM host_addresses a JOIN hosts h ON h.host_id = a.host_id WHERE a.ip = $1::text::inet ORDER BY 2", &[&ip])
        .await?;
    Ok(WhoTalksTo {
        address: address.port.map_or_else(|| ip.clone(), |p| std::net::SocketAddr::new(address.ip, p).to_string()),
        owned_by: owners.iter().map(|r| Owner { host_id: r.get(0), host: r.get(1) }).collect(),
        talkers,
    })
}

/// Parameters: $1–$5 the [`super::rollup::Span`], $6 ip, $7 port, $8 limit, $9 host ids.
/// Grouped by a hash; the pid of each talker's latest connection looked
/// up after the limit in that connection's hour row.
fn who_sql() -> String {
    format!(
        "WITH {},
         talkers AS (
            SELECT r.host_id, r.comm, r.port, sum(r.n)::bigint AS n, max(r.last_at) AS last_at
              FROM rolled r
             WHERE r.direction = 'outbound' AND r.ip = $6::text::inet AND ($7::int IS NULL OR r.port = $7)
               AND (cardinality($9::text[]) = 0 OR r.host_id = ANY($9))
             GROUP BY 1, 2, 3 HAVING sum(r.n) > 0
         )
         SELECT t.host_id, h.name, l.pid, nullif(t.comm, ''), t.port, t.n, (extract(epoch FROM t.last_at) * 1000)::bigint
           FROM talkers t JOIN hosts h ON h.host_id = t.host_id
           LEFT JOIN LATERAL (
                SELECT e.pid FROM edge_hours e
                 WHERE e.hour = date_trunc('hour', t.last_at, 'UTC') AND e.host_id = t.host_id AND e.direction = 'outbound'
                   AND e.ip = $6::text::inet AND e.port = t.port AND e.comm = t.comm
                 ORDER BY e.last_at DESC LIMIT 1
           ) l ON true
          ORDER BY t.n DESC, t.host_id, t.comm LIMIT $8",
        super::rollup::ROLLED
    )
}

/// The query plan of [`who_talks_to_in`]'s talkers as PostgreSQL runs it (`EXPLAIN ANALYZE`).
pub async fn explain_who(client: &Client, address: Address, span: super::rollup::Span) -> Result<Vec<String>, FleetError> {
    let ip = address.ip.to_string();
    let port: Option<i32> = address.port.map(i32::from);
    let (limit, none) = (100_i64, Vec::<String>::new());
    let mut params = span.params().to_vec();
    params.extend([&ip as &(dyn tokio_postgres::types::ToSql + Sync), &port, &limit, &none]);
    let rows = client.query(&format!("EXPLAIN (ANALYZE, BUFFERS) {}", who_sql()), &params).await?;
    Ok(rows.iter().map(|r| r.get(0)).collect())
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FleetFinding {
    pub host_id: String,
    pub host: String,
    pub rule_id: String,
    pub rule_name: String,
    pub severity: i16,
    pub subject: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub endpoint: Option<String>,
    pub first_seen_ms: i64,
    pub last_seen_ms: i64,
}

/// Findings of every host (or of `hosts`) seen in the window, worst first.
pub async fn findings(client: &Client, hosts: &[String], min_severity: i16, window: Duration, limit: usize) -> Result<Vec<FleetFinding>, FleetError> {
    let rows = client
        .query(
            "SELECT f.host_id, h.name, f.rule_id, f.rule_name, f.severity, f.subject, host(f.endpoint),
                    (extract(epoch FROM f.first_seen) * 1000)::bigint, (extract(epoch FROM f.last_seen) * 1000)::bigint
               FROM findings f JOIN hosts h ON h.host_id = f.host_id
              WHERE f.last_seen >= $1 AND f.severity >= $2 AND (cardinality($3::text[]) = 0 OR f.host_id = ANY($3) OR h.name = ANY($3))
              ORDER BY f.severity DESC, f.last_seen DESC LIMIT $4",
            &[&since(window), &min_severity, &hosts.to_vec(), &(limit as i64)],
        )
        .await?;
    Ok(rows
        .iter()
        .map(|r| FleetFinding {
            host_id: r.get(0),
            host: r.get(1),
            rule_id: r.get(2),
            rule_name: r.get(3),
            severity: r.get(4),
            subject: r.get(5),
            endpoint: r.get(6),
            first_seen_ms: r.get(7),
            last_seen_ms: r.get(8),
        })
        .collect())
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CurrentSocket {
    pub socket_id: String,
    pub protocol: String,
    pub state: String,
    pub direction: String,
    pub local: String,
    pub remote: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pid: Option<i32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub process: Option<String>,
}

/// One host's open sockets now (by id or name).
pub async fn host_sockets(client: &Client, host: &str, limit: usize) -> Result<Vec<CurrentSocket>, FleetError> {
    let rows = client
        .query(
            "SELECT s.socket_id, s.protocol, s.state, s.direction, host(s.local_ip), s.local_port, host(s.remote_ip), s.remote_port, s.pid, s.comm
               FROM current_sockets s JOIN hosts h ON h.host_id = s.host_id
              WHERE s.host_id = $1 OR h.name = $1 ORDER BY s.direction, s.local_port, s.socket_id LIMIT $2",
            &[&host, &(limit as i64)],
        )
        .await?;
    let addr = |ip: String, port: i32| {
        let port = u16::try_from(port).unwrap_or(0);
        ip.parse::<IpAddr>().map_or_else(|_| format!("{ip}:{port}"), |ip| std::net::SocketAddr::new(ip, port).to_string())
    };
    Ok(rows
        .iter()
        .map(|r| CurrentSocket {
            socket_id: r.get(0),
            protocol: r.get(1),
            state: r.get(2),
            direction: r.get(3),
            local: addr(r.get(4), r.get(5)),
            remote: addr(r.get(6), r.get(7)),
            pid: r.get(8),
            process: r.get(9),
        })
        .collect())
}

/// Rows in the event tables (tests and the benchmark count them).
pub async fn event_counts(client: &Client) -> Result<(i64, i64, i64), FleetError> {
    let r = client.query_one("SELECT (SELECT count(*) FROM socket_events), (SELECT count(*) FROM findings), (SELECT count(*) FROM batches)", &[]).await?;
    Ok((r.get(0), r.get(1), r.get(2)))
}
