//! One host's drill-down for the fleet explorer: its map from the
//! current-state tables, grouped as processes → peers (a peer that is
//! another fleet host's address is named by that host, with its process
//! there when its current state says which), and the host's recent events
//! (findings and Suricata alerts, with first and last seen).
//!
//! Peers are keyed as the map keys them: an outbound socket by the remote
//! ip:port it dialled, an accepted one by the remote ip and the local port
//! it came in on (the client's port is ephemeral).

use std::time::{Duration, SystemTime};

use serde::Serialize;
use tokio_postgres::Client;

use super::FleetError;

/// A peer of one process: where it talks, how many sockets, and the
/// fleet host (and its process) at the other end, when it is one.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Peer {
    /// `outbound` or `inbound`.
    pub direction: String,
    /// The remote address (`10.0.0.2:5432` outbound, `10.0.0.9` inbound).
    pub address: String,
    /// The local port an inbound peer came in on.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub local_port: Option<u16>,
    pub protocol: String,
    pub sockets: i64,
    /// The fleet host that has the remote address.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub host: Option<String>,
    /// Its process on that host (the listener dialled, or the client).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub process: Option<String>,
}

/// One process of the host with its listeners and peers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ProcessPeers {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pid: Option<i32>,
    pub name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub user: Option<String>,
    /// Ports it listens on (`tcp/5432`).
    pub listens: Vec<String>,
    /// Busiest first.
    pub peers: Vec<Peer>,
}

/// A finding or an alert of the host.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct HostEvent {
    /// `finding` or `alert`.
    pub kind: &'static str,
    /// 0 info … 4 critical (an alert's Suricata severity 1 is high, 2 medium, else low).
    pub severity: i16,
    /// The rule's name, or the alert's signature.
    pub title: String,
    /// The finding's subject, or the alert's remote address.
    pub subject: String,
    pub first_ms: i64,
    pub last_ms: i64,
    /// How many alerts (1 for a finding).
    pub count: i64,
}

/// One host's drill-down.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct HostMap {
    pub host_id: String,
    pub name: String,
    /// Most peers first.
    pub processes: Vec<ProcessPeers>,
    /// Most recently seen first.
    pub events: Vec<HostEvent>,
}

/// Processes (and peers per process) a drill-down holds at most.
pub const MAX_PROCESSES: usize = 200;
const MAX_PEERS: i64 = 2000;
const MAX_EVENTS: i64 = 50;

/// The peers of the host's current sockets, with the fleet host at the
/// other end and its process there. $1 host id, $2 limit.
const PEERS: &str = "
    WITH mine AS (
        SELECT s.* FROM current_sockets s WHERE s.host_id = $1 AND s.direction IN ('outbound', 'inbound')
    ), keyed AS (
        SELECT m.pid, coalesce(m.comm, '') AS comm, m.direction, m.protocol, m.remote_ip,
               CASE WHEN m.direction = 'outbound' THEN m.remote_port END AS remote_port,
               CASE WHEN m.direction = 'inbound' THEN m.local_port END AS local_port,
               count(*) AS n, min(m.remote_port) AS a_remote_port
          FROM mine m GROUP BY 1, 2, 3, 4, 5, 6, 7
    )
    SELECT k.pid, k.comm, k.direction, k.protocol, host(k.remote_ip), k.remote_port, k.local_port, k.n,
           o.name,
           CASE WHEN k.direction = 'outbound' THEN
               (SELECT t.comm FROM current_sockets t
                 WHERE t.host_id = o.host_id AND t.direction = 'listen' AND t.local_port = k.remote_port AND t.protocol = k.protocol
                   AND (t.local_ip = k.remote_ip OR t.local_ip = '0.0.0.0'::inet OR t.local_ip = '::'::inet)
                 ORDER BY t.comm NULLS LAST LIMIT 1)
           ELSE
               (SELECT t.comm FROM current_sockets t
                 WHERE t.host_id = o.host_id AND t.direction = 'outbound' AND t.local_ip = k.remote_ip AND t.local_port = k.a_remote_port
                 ORDER BY t.comm NULLS LAST LIMIT 1)
           END
      FROM keyed k
      LEFT JOIN LATERAL (
          SELECT h.host_id, h.name FROM host_addresses a JOIN hosts h ON h.host_id = a.host_id
           WHERE a.ip = k.remote_ip AND a.host_id <> $1 AND NOT (a.ip << '127.0.0.0/8'::inet OR a.ip = '::1'::inet)
           ORDER BY h.name LIMIT 1
      ) o ON true
     ORDER BY k.n DESC, 5, 6, 7 LIMIT $2";

/// The host's listeners and the owners' users. $1 host id.
const PROCESSES: &str = "
    SELECT s.pid, coalesce(s.comm, ''), s.direction, s.protocol, s.local_port, p.username
      FROM current_sockets s LEFT JOIN current_processes p ON p.host_id = s.host_id AND p.pid = s.pid
     WHERE s.host_id = $1
     ORDER BY s.local_port";

/// Findings last seen, and alerts, in the window, by signature. $1 host id, $2 since, $3 limit.
const EVENTS: &str = "
    SELECT * FROM (
        SELECT 'finding' AS kind, f.severity, f.rule_name AS title, f.subject,
               (extract(epoch FROM f.first_seen) * 1000)::bigint AS first_ms, (extract(epoch FROM f.last_seen) * 1000)::bigint AS last_ms, 1::bigint AS n
          FROM findings f WHERE f.host_id = $1 AND f.last_seen >= $2
        UNION ALL
        SELECT 'alert', (CASE min(a.severity) WHEN 1 THEN 3 WHEN 2 THEN 2 ELSE 1 END)::smallint, a.signature, host(a.remote_ip),
               (extract(epoch FROM min(a.at)) * 1000)::bigint, (extract(epoch FROM max(a.at)) * 1000)::bigint, count(*)
          FROM alerts a WHERE a.host_id = $1 AND a.at >= $2 GROUP BY a.signature, a.remote_ip
    ) e ORDER BY e.last_ms DESC, e.severity DESC LIMIT $3";

/// The drill-down of `host_id`: processes → peers now, and its events of the last `window`.
pub async fn host_map(client: &Client, host_id: &str, window: Duration) -> Result<HostMap, FleetError> {
    let name: Option<String> = client.query_opt("SELECT name FROM hosts WHERE host_id = $1", &[&host_id]).await?.map(|r| r.get(0));
    let mut processes: Vec<ProcessPeers> = Vec::new();
    let index = |processes: &mut Vec<ProcessPeers>, pid: Option<i32>, name: String| -> Option<usize> {
        if let Some(i) = processes.iter().position(|p| p.pid == pid && p.name == name) {
            return Some(i);
        }
        (processes.len() < MAX_PROCESSES).then(|| {
            processes.push(ProcessPeers { pid, name, user: None, listens: Vec::new(), peers: Vec::new() });
            processes.len() - 1
        })
    };
    for r in client.query(PROCESSES, &[&host_id]).await? {
        let Some(i) = index(&mut processes, r.get(0), r.get(1)) else { continue };
        let p = &mut processes[i];
        if p.user.is_none() {
            p.user = r.get(5);
        }
        if r.get::<_, &str>(2) == "listen" {
            let listen = format!("{}/{}", r.get::<_, &str>(3), r.get::<_, i32>(4));
            if !p.listens.contains(&listen) {
                p.listens.push(listen);
            }
        }
    }
    let port = |v: Option<i32>| v.and_then(|p| u16::try_from(p).ok());
    for r in client.query(PEERS, &[&host_id, &MAX_PEERS]).await? {
        let Some(i) = index(&mut processes, r.get(0), r.get(1)) else { continue };
        let ip: String = r.get(4);
        let remote_port = port(r.get(5));
        let address = match (remote_port, ip.parse::<std::net::IpAddr>()) {
            (Some(p), Ok(a)) => std::net::SocketAddr::new(a, p).to_string(),
            _ => ip,
        };
        processes[i].peers.push(Peer {
            direction: r.get(2),
            address,
            local_port: port(r.get(6)),
            protocol: r.get(3),
            sockets: r.get(7),
            host: r.get(8),
            process: r.get(9),
        });
    }
    // Processes with peers first (most sockets first), then listeners only.
    processes.sort_by_key(|p| (std::cmp::Reverse(p.peers.iter().map(|x| x.sockets).sum::<i64>()), p.name.clone(), p.pid));
    let since = SystemTime::now().checked_sub(window).unwrap_or(std::time::UNIX_EPOCH);
    let events = client
        .query(EVENTS, &[&host_id, &since, &MAX_EVENTS])
        .await?
        .iter()
        .map(|r| HostEvent {
            kind: if r.get::<_, &str>(0) == "alert" { "alert" } else { "finding" },
            severity: r.get(1),
            title: r.get(2),
            subject: r.get(3),
            first_ms: r.get(4),
            last_ms: r.get(5),
            count: r.get(6),
        })
        .collect();
    Ok(HostMap { host_id: host_id.to_string(), name: name.unwrap_or_else(|| host_id.to_string()), processes, events })
}
