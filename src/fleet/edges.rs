//! Host-to-host edges: an outbound connection on one fleet host whose
//! remote ip:port is another fleet host's local ip:port — a listener
//! bound to that address, a wildcard listener on a host that has that
//! address, or the accepted socket itself — is an edge with both
//! processes (web-1 nginx → db-1 postgres).
//!
//! Read from the rollups ([`super::rollup`]: whole days from the daily
//! one, the partial ends from the hourly one), not the events: the window
//! is rounded out to whole hours, and an edge's process is the one of its
//! most recent connection.
//!
//! Limits: addresses are compared as they are, so this holds on NAT-free
//! networks (one address space, no port forwarding or load balancer in
//! between); loopback is never an edge; two sites reusing the same
//! private range look like one.

use std::time::Duration;

use serde::Serialize;
use tokio_postgres::Client;

use super::FleetError;
use super::rollup::{ROLLED, Span};

/// What to look at.
#[derive(Debug, Clone, Default)]
pub struct EdgeFilter {
    /// Only edges touching these hosts (id or name); empty: all.
    pub hosts: Vec<String>,
    /// Only edges to this port.
    pub port: Option<u16>,
    /// How far back connections count.
    pub window: Duration,
    pub limit: usize,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct EdgeEnd {
    pub host_id: String,
    pub host: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pid: Option<i32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub process: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Edge {
    /// The client side: the process of the most recent connection.
    pub from: EdgeEnd,
    pub to: EdgeEnd,
    /// The server's address as the client dialled it.
    pub address: String,
    pub port: u16,
    pub protocol: String,
    /// Connections opened in the window.
    pub connections: i64,
    pub last_ms: i64,
}

/// The servers a client may have reached, by address: the listeners and
/// accepted sockets of every host now (rank 0; wildcard listeners at each
/// of their host's addresses, rank 1), and, only for the clients' addresses
/// that no other host serves now, the sockets accepted there in the window
/// (rank 2, from the rollups, through their `(ip, port, …)` indexes): a
/// server that has closed since. Uses `clients`.
const SERVERS: &str = "
    listening AS (
        SELECT s.host_id, s.pid, s.comm, s.local_ip AS ip, s.local_port AS port, s.protocol, 0 AS rank
          FROM current_sockets s WHERE s.direction IN ('listen', 'inbound') AND NOT (s.local_ip = '0.0.0.0'::inet OR s.local_ip = '::'::inet)
        UNION ALL
        SELECT s.host_id, s.pid, s.comm, a.ip, s.local_port, s.protocol, 1
          FROM current_sockets s JOIN host_addresses a ON a.host_id = s.host_id
         WHERE s.direction = 'listen' AND (s.local_ip = '0.0.0.0'::inet OR s.local_ip = '::'::inet) AND family(a.ip) = family(s.local_ip)
    ), unserved AS (
        SELECT DISTINCT c.remote_ip, c.remote_port, c.protocol FROM clients c
         WHERE NOT EXISTS (SELECT 1 FROM listening l
                            WHERE l.ip = c.remote_ip AND l.port = c.remote_port AND l.protocol = c.protocol AND l.host_id <> c.host_id)
    ), servers AS (
        SELECT * FROM listening
        UNION ALL
        SELECT r.host_id, max(r.pid), nullif(r.comm, ''), r.ip, r.port, r.protocol, 2
          FROM unserved u JOIN rolled r ON r.ip = u.remote_ip AND r.port = u.remote_port AND r.protocol = u.protocol
         WHERE r.direction = 'inbound'
         GROUP BY r.host_id, r.comm, r.ip, r.port, r.protocol HAVING sum(r.n) > 0
    )";

/// The query plan of [`fleet_edges`] as PostgreSQL runs it (`EXPLAIN ANALYZE`).
pub async fn explain_edges(client: &Client, filter: &EdgeFilter) -> Result<Vec<String>, FleetError> {
    let span = Span::last(filter.window);
    let sql = format!("EXPLAIN (ANALYZE, BUFFERS) {}", edges_sql());
    let (port, limit) = (filter.port.map(i32::from), filter.limit as i64);
    let mut params = span.params().to_vec();
    params.extend([&filter.hosts as &(dyn tokio_postgres::types::ToSql + Sync), &port, &limit]);
    let rows = client.query(&sql, &params).await?;
    Ok(rows.iter().map(|r| r.get(0)).collect())
}

/// The edges of the window, busiest first.
pub async fn fleet_edges(client: &Client, filter: &EdgeFilter) -> Result<Vec<Edge>, FleetError> {
    fleet_edges_in(client, filter, Span::last(filter.window)).await
}

/// The edges of `span` (the window of `filter` is not looked at), busiest first.
pub async fn fleet_edges_in(client: &Client, filter: &EdgeFilter, span: Span) -> Result<Vec<Edge>, FleetError> {
    let hosts: Vec<String> = filter.hosts.clone();
    let port: Option<i32> = filter.port.map(i32::from);
    let limit = filter.limit as i64;
    let sql = edges_sql();
    let mut params = span.params().to_vec();
    params.extend([&hosts as &(dyn tokio_postgres::types::ToSql + Sync), &port, &limit]);
    let rows = client.query(&sql, &params).await?;
    Ok(rows
        .iter()
        .map(|r| Edge {
            from: EdgeEnd { host_id: r.get(0), host: r.get(1), pid: r.get(2), process: r.get(3) },
            to: EdgeEnd { host_id: r.get(4), host: r.get(5), pid: r.get(6), process: r.get(7) },
            address: r.get(8),
            port: u16::try_from(r.get::<_, i32>(9)).unwrap_or(0),
            protocol: r.get(10),
            connections: r.get(11),
            last_ms: r.get(12),
        })
        .collect())
}

/// Parameters: $1–$5 the [`Span`], $6 hosts, $7 port, $8 limit.
///
/// The clients are grouped by a hash (counts and the last time only); the
/// process and pid of each edge's most recent connection are looked up
/// after the limit, in the hour row of that connection (`edge_hours`
/// keeps every hour the day rollup does), by the hourly rollup's key.
fn edges_sql() -> String {
    format!(
        "WITH {ROLLED}, clients AS (
            SELECT r.host_id, r.ip AS remote_ip, r.port AS remote_port, r.protocol, sum(r.n)::bigint AS n, max(r.last_at) AS last_at
              FROM rolled r
             WHERE r.direction = 'outbound'
               AND NOT (r.ip << '127.0.0.0/8'::inet OR r.ip = '::1'::inet)
               AND ($7::int IS NULL OR r.port = $7)
             GROUP BY 1, 2, 3, 4 HAVING sum(r.n) > 0
         ), {SERVERS},
         matched AS (
            SELECT DISTINCT ON (c.host_id, c.remote_ip, c.remote_port, c.protocol, s.host_id)
                   c.host_id AS src, s.host_id AS dst, s.pid AS dst_pid, s.comm AS dst_comm,
                   c.remote_ip, c.remote_port, c.protocol, c.n, c.last_at
              FROM clients c JOIN servers s ON s.ip = c.remote_ip AND s.port = c.remote_port AND s.protocol = c.protocol AND s.host_id <> c.host_id
             ORDER BY c.host_id, c.remote_ip, c.remote_port, c.protocol, s.host_id, s.rank, s.pid NULLS LAST
         ), top AS (
            SELECT m.* FROM matched m
             WHERE cardinality($6::text[]) = 0 OR m.src = ANY($6) OR m.dst = ANY($6)
                OR EXISTS (SELECT 1 FROM hosts h WHERE h.host_id IN (m.src, m.dst) AND h.name = ANY($6))
             ORDER BY m.n DESC, m.last_at DESC
             LIMIT $8
         )
         -- Host names looked up by key per edge (a join let the planner pick a
         -- nested loop of sequential scans: 170 ms at 1,400 edges).
         SELECT m.src, coalesce((SELECT h.name FROM hosts h WHERE h.host_id = m.src), m.src), l.pid, nullif(l.comm, ''),
                m.dst, coalesce((SELECT h.name FROM hosts h WHERE h.host_id = m.dst), m.dst), m.dst_pid, m.dst_comm,
                host(m.remote_ip), m.remote_port, m.protocol, m.n, (extract(epoch FROM m.last_at) * 1000)::bigint
           FROM top m
           LEFT JOIN LATERAL (
                SELECT e.pid, e.comm FROM edge_hours e
                 WHERE e.hour = date_trunc('hour', m.last_at, 'UTC') AND e.host_id = m.src AND e.direction = 'outbound'
                   AND e.ip = m.remote_ip AND e.port = m.remote_port AND e.protocol = m.protocol
                 ORDER BY e.last_at DESC, e.comm LIMIT 1
           ) l ON true
          ORDER BY m.n DESC, m.last_at DESC"
    )
}
