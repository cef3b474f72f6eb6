//! One batch into PostgreSQL, in one transaction: the host row, the
//! ledger entry (host, stream, seq), the events as multi-row inserts
//! (`unnest` of one array per column: one statement per table whatever
//! the batch size), and the current-state tables brought up to date. A
//! batch whose ledger entry exists was applied before and is skipped, so a
//! retry after a lost commit acknowledgement sends nothing twice.

use std::collections::BTreeSet;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use tokio_postgres::Client;

use super::FleetError;
use super::batch::{Batch, EventKind};

/// Who is sending.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HostIdentity {
    /// Stable: `/etc/machine-id` by default, or `--host-name`.
    pub id: String,
    pub name: String,
    pub agent_version: String,
    /// `--label KEY=VALUE` (role=web): stored in `hosts.labels`.
    pub labels: super::labels::Labels,
}

/// What the agent says about itself with every batch.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AgentHealth {
    pub outbox_depth: usize,
    pub dropped: u64,
    pub note: Option<String>,
}

pub fn time_of(ms: i64) -> SystemTime {
    UNIX_EPOCH + Duration::from_millis(ms.max(0) as u64)
}

fn opt_i32(v: Option<u32>) -> Option<i32> {
    v.map(|x| x as i32)
}

/// Apply `batch` (number `seq` of `stream`); false when it was applied before.
pub async fn apply(client: &mut Client, host: &HostIdentity, stream: i64, seq: i64, batch: &Batch, health: &AgentHealth) -> Result<bool, FleetError> {
    let tx = client.transaction().await?;
    let at = time_of(batch.at_ms);
    tx.execute(
        "INSERT INTO hosts (host_id, name, agent_version, first_seen, last_seen, outbox_depth, dropped, health, labels) VALUES ($1, $2, $3, $4, $4, $5, $6, $7, $8::text::jsonb) \
         ON CONFLICT (host_id) DO UPDATE SET name = EXCLUDED.name, agent_version = EXCLUDED.agent_version, labels = EXCLUDED.labels, \
         last_seen = greatest(hosts.last_seen, EXCLUDED.last_seen), outbox_depth = EXCLUDED.outbox_depth, dropped = EXCLUDED.dropped, health = EXCLUDED.health",
        &[&host.id, &host.name, &host.agent_version, &at, &(health.outbox_depth as i32), &(health.dropped as i64), &health.note, &serde_json::to_string(&host.labels)?],
    )
    .await?;
    let fresh =
        tx.execute("INSERT INTO batches (host_id, stream, seq, at) VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING", &[&host.id, &stream, &seq, &at]).await?;
    if fresh == 0 {
        tx.commit().await?;
        return Ok(false);
    }
    if batch.resync {
        tx.execute("DELETE FROM current_sockets WHERE host_id = $1", &[&host.id]).await?;
        tx.execute("DELETE FROM current_processes WHERE host_id = $1", &[&host.id]).await?;
    }
    events(&tx, host, batch).await?;
    current(&tx, host, batch, at).await?;
    findings(&tx, host, batch).await?;
    alerts(&tx, host, batch).await?;
    if let Some(addresses) = &batch.addresses {
        let ips: Vec<String> = addresses.iter().map(ToString::to_string).collect();
        tx.execute("DELETE FROM host_addresses WHERE host_id = $1", &[&host.id]).await?;
        tx.execute(
            "INSERT INTO host_addresses (host_id, ip, seen) SELECT $1, ip::inet, $3 FROM unnest($2::text[]) AS u(ip) ON CONFLICT DO NOTHING",
            &[&host.id, &ips, &at],
        )
        .await?;
    }
    tx.commit().await?;
    Ok(true)
}

async fn events(tx: &tokio_postgres::Transaction<'_>, host: &HostIdentity, batch: &Batch) -> Result<(), FleetError> {
    if batch.events.is_empty() {
        return Ok(());
    }
    let e = &batch.events;
    let at: Vec<SystemTime> = e.iter().map(|x| time_of(x.at_ms)).collect();
    let kind: Vec<&str> = e.iter().map(|x| x.kind.as_str()).collect();
    let id: Vec<&str> = e.iter().map(|x| x.socket.id.as_str()).collect();
    let proto: Vec<String> = e.iter().map(|x| x.socket.protocol.to_string()).collect();
    let state: Vec<String> = e.iter().map(|x| x.socket.state.to_string()).collect();
    let direction: Vec<String> = e.iter().map(|x| x.socket.direction.to_string()).collect();
    let lip: Vec<String> = e.iter().map(|x| x.socket.local.ip().to_string()).collect();
    let lport: Vec<i32> = e.iter().map(|x| i32::from(x.socket.local.port())).collect();
    let rip: Vec<String> = e.iter().map(|x| x.socket.remote.ip().to_string()).collect();
    let rport: Vec<i32> = e.iter().map(|x| i32::from(x.socket.remote.port())).collect();
    let pid: Vec<Option<i32>> = e.iter().map(|x| opt_i32(x.socket.pid)).collect();
    let comm: Vec<Option<&str>> = e.iter().map(|x| x.socket.comm.as_deref()).collect();
    let exe: Vec<Option<&str>> = e.iter().map(|x| x.socket.exe.as_deref()).collect();
    let uid: Vec<i32> = e.iter().map(|x| x.socket.uid as i32).collect();
    let netns: Vec<Option<i64>> = e.iter().map(|x| x.socket.netns.map(i64::from)).collect();
    let sent: Vec<Option<i64>> = e.iter().map(|x| x.bytes_sent.map(|b| b as i64)).collect();
    let recv: Vec<Option<i64>> = e.iter().map(|x| x.bytes_received.map(|b| b as i64)).collect();
    tx.execute(
        "INSERT INTO socket_events (host_id, at, kind, socket_id, protocol, state, direction, local_ip, local_port, remote_ip, remote_port, pid, comm, exe, uid, netns, bytes_sent, bytes_received) \
         SELECT $1, at, kind, id, proto, state, direction, lip::inet, lport, rip::inet, rport, pid, comm, exe, uid, netns, sent, recv \
         FROM unnest($2::timestamptz[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[], $8::text[], $9::int[], $10::text[], $11::int[], $12::int[], $13::text[], $14::text[], $15::int[], $16::bigint[], $17::bigint[], $18::bigint[]) \
         AS u(at, kind, id, proto, state, direction, lip, lport, rip, rport, pid, comm, exe, uid, netns, sent, recv)",
        &[&host.id, &at, &kind, &id, &proto, &state, &direction, &lip, &lport, &rip, &rport, &pid, &comm, &exe, &uid, &netns, &sent, &recv],
    )
    .await?;
    tx.execute(super::rollup::ADD, &[&host.id, &at, &kind, &direction, &proto, &lip, &lport, &rip, &rport, &pid, &comm]).await?;
    Ok(())
}

async fn current(tx: &tokio_postgres::Transaction<'_>, host: &HostIdentity, batch: &Batch, at: SystemTime) -> Result<(), FleetError> {
    let closed: BTreeSet<&str> = batch.events.iter().filter(|e| e.kind == EventKind::Closed).map(|e| e.socket.id.as_str()).collect();
    if !closed.is_empty() {
        let ids: Vec<&str> = closed.iter().copied().collect();
        tx.execute("DELETE FROM current_sockets WHERE host_id = $1 AND socket_id = ANY($2)", &[&host.id, &ids]).await?;
    }
    let open: Vec<_> = batch.events.iter().filter(|e| e.kind == EventKind::Opened && !closed.contains(e.socket.id.as_str())).map(|e| &e.socket).collect();
    if !open.is_empty() {
        let id: Vec<&str> = open.iter().map(|s| s.id.as_str()).collect();
        let proto: Vec<String> = open.iter().map(|s| s.protocol.to_string()).collect();
        let state: Vec<String> = open.iter().map(|s| s.state.to_string()).collect();
        let direction: Vec<String> = open.iter().map(|s| s.direction.to_string()).collect();
        let lip: Vec<String> = open.iter().map(|s| s.local.ip().to_string()).collect();
        let lport: Vec<i32> = open.iter().map(|s| i32::from(s.local.port())).collect();
        let rip: Vec<String> = open.iter().map(|s| s.remote.ip().to_string()).collect();
        let rport: Vec<i32> = open.iter().map(|s| i32::from(s.remote.port())).collect();
        let pid: Vec<Option<i32>> = open.iter().map(|s| opt_i32(s.pid)).collect();
        let comm: Vec<Option<&str>> = open.iter().map(|s| s.comm.as_deref()).collect();
        let netns: Vec<Option<i64>> = open.iter().map(|s| s.netns.map(i64::from)).collect();
        tx.execute(
            "INSERT INTO current_sockets (host_id, socket_id, protocol, state, direction, local_ip, local_port, remote_ip, remote_port, pid, comm, netns, since) \
             SELECT $1, id, proto, state, direction, lip::inet, lport, rip::inet, rport, pid, comm, netns, $13 \
             FROM unnest($2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::int[], $8::text[], $9::int[], $10::int[], $11::text[], $12::bigint[]) \
             AS u(id, proto, state, direction, lip, lport, rip, rport, pid, comm, netns) \
             ON CONFLICT (host_id, socket_id) DO UPDATE SET state = EXCLUDED.state, pid = EXCLUDED.pid, comm = EXCLUDED.comm",
            &[&host.id, &id, &proto, &state, &direction, &lip, &lport, &rip, &rport, &pid, &comm, &netns, &at],
        )
        .await?;
    }
    let p = &batch.processes;
    if !p.is_empty() {
        let pid: Vec<i32> = p.iter().map(|x| x.pid as i32).collect();
        let parent: Vec<i32> = p.iter().map(|x| x.ppid as i32).collect();
        let name: Vec<&str> = p.iter().map(|x| x.name.as_str()).collect();
        let cmdline: Vec<&str> = p.iter().map(|x| x.cmdline.as_str()).collect();
        let exe: Vec<Option<&str>> = p.iter().map(|x| x.exe.as_deref()).collect();
        let uid: Vec<i32> = p.iter().map(|x| x.uid as i32).collect();
        let user: Vec<Option<&str>> = p.iter().map(|x| x.user.as_deref()).collect();
        let workload: Vec<Option<&str>> = p.iter().map(|x| x.workload.as_deref()).collect();
        tx.execute(
            "INSERT INTO current_processes (host_id, pid, ppid, name, cmdline, exe, uid, username, workload) \
             SELECT $1, pid, ppid, name, cmdline, exe, uid, username, workload \
             FROM unnest($2::int[], $3::int[], $4::text[], $5::text[], $6::text[], $7::int[], $8::text[], $9::text[]) AS u(pid, ppid, name, cmdline, exe, uid, username, workload) \
             ON CONFLICT (host_id, pid) DO UPDATE SET ppid = EXCLUDED.ppid, name = EXCLUDED.name, cmdline = EXCLUDED.cmdline, exe = EXCLUDED.exe, uid = EXCLUDED.uid, \
             username = EXCLUDED.username, workload = EXCLUDED.workload",
            &[&host.id, &pid, &parent, &name, &cmdline, &exe, &uid, &user, &workload],
        )
        .await?;
    }
    if !closed.is_empty() {
        // Processes that hold no socket any more leave the current state.
        tx.execute(
            "DELETE FROM current_processes p WHERE p.host_id = $1 AND NOT EXISTS (SELECT 1 FROM current_sockets s WHERE s.host_id = p.host_id AND s.pid = p.pid)",
            &[&host.id],
        )
        .await?;
    }
    Ok(())
}

async fn findings(tx: &tokio_postgres::Transaction<'_>, host: &HostIdentity, batch: &Batch) -> Result<(), FleetError> {
    let f = &batch.findings;
    if f.is_empty() {
        return Ok(());
    }
    let id: Vec<&str> = f.iter().map(|x| x.id.as_str()).collect();
    let first: Vec<SystemTime> = f.iter().map(|x| time_of(x.first_seen_ms)).collect();
    let last: Vec<SystemTime> = f.iter().map(|x| time_of(x.last_seen_ms)).collect();
    let rule: Vec<&str> = f.iter().map(|x| x.rule_id.as_str()).collect();
    let name: Vec<&str> = f.iter().map(|x| x.rule_name.as_str()).collect();
    let severity: Vec<i16> = f.iter().map(|x| crate::store::severity_rank(x.severity) as i16).collect();
    // One text per finding (arrays of arrays must be rectangular in SQL).
    let tags: Vec<String> = f.iter().map(|x| x.tags.join(",")).collect();
    let subject: Vec<&str> = f.iter().map(|x| x.subject.as_str()).collect();
    let pid: Vec<Option<i32>> = f.iter().map(|x| opt_i32(x.pid)).collect();
    let endpoint: Vec<Option<String>> = f.iter().map(|x| x.endpoint.map(|e| e.to_string())).collect();
    tx.execute(
        "INSERT INTO findings (host_id, finding_id, first_seen, last_seen, rule_id, rule_name, severity, tags, subject, pid, endpoint) \
         SELECT $1, id, first, last, rule, name, severity, CASE WHEN tags = '' THEN '{}'::text[] ELSE string_to_array(tags, ',') END, subject, pid, endpoint::inet \
         FROM unnest($2::text[], $3::timestamptz[], $4::timestamptz[], $5::text[], $6::text[], $7::smallint[], $8::text[], $9::text[], $10::int[], $11::text[]) \
         AS u(id, first, last, rule, name, severity, tags, subject, pid, endpoint) \
         ON CONFLICT (host_id, finding_id, first_seen) DO UPDATE SET last_seen = greatest(findings.last_seen, EXCLUDED.last_seen), severity = EXCLUDED.severity",
        &[&host.id, &id, &first, &last, &rule, &name, &severity, &tags, &subject, &pid, &endpoint],
    )
    .await?;
    Ok(())
}

async fn alerts(tx: &tokio_postgres::Transaction<'_>, host: &HostIdentity, batch: &Batch) -> Result<(), FleetError> {
    let a = &batch.alerts;
    if a.is_empty() {
        return Ok(());
    }
    let at: Vec<SystemTime> = a.iter().map(|x| time_of(x.at_ms)).collect();
    let remote: Vec<String> = a.iter().map(|x| x.remote.to_string()).collect();
    let src: Vec<String> = a.iter().map(|x| x.src_ip.to_string()).collect();
    let sport: Vec<Option<i32>> = a.iter().map(|x| x.src_port.map(i32::from)).collect();
    let dst: Vec<String> = a.iter().map(|x| x.dest_ip.to_string()).collect();
    let dport: Vec<Option<i32>> = a.iter().map(|x| x.dest_port.map(i32::from)).collect();
    let proto: Vec<&str> = a.iter().map(|x| x.proto.as_str()).collect();
    let sid: Vec<i64> = a.iter().map(|x| x.signature_id as i64).collect();
    let sig: Vec<&str> = a.iter().map(|x| x.signature.as_str()).collect();
    let cat: Vec<&str> = a.iter().map(|x| x.category.as_str()).collect();
    let sev: Vec<i16> = a.iter().map(|x| i16::from(x.severity)).collect();
    tx.execute(
        "INSERT INTO alerts (host_id, at, remote_ip, src_ip, src_port, dest_ip, dest_port, proto, signature_id, signature, category, severity) \
         SELECT $1, at, remote::inet, src::inet, sport, dst::inet, dport, proto, sid, sig, cat, sev \
         FROM unnest($2::timestamptz[], $3::text[], $4::text[], $5::int[], $6::text[], $7::int[], $8::text[], $9::bigint[], $10::text[], $11::text[], $12::smallint[]) \
         AS u(at, remote, src, sport, dst, dport, proto, sid, sig, cat, sev)",
        &[&host.id, &at, &remote, &src, &sport, &dst, &dport, &proto, &sid, &sig, &cat, &sev],
    )
    .await?;
    Ok(())
}
