//! Reading the store: what talked to an address, findings and alerts in a
//! time window, saved baselines, where an eve file was read to.

use std::net::IpAddr;
use std::path::Path;

use rusqlite::{Connection, OptionalExtension, params};

use super::{EveOffset, StoreError, severity_of_rank};
use crate::model::Severity;

/// A process that had sockets to an address.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProcessActivity {
    pub pid: Option<u32>,
    pub comm: Option<String>,
    pub exe: Option<String>,
    /// Socket events (seen, opened, closed) with this process.
    pub events: u64,
    pub first_ms: i64,
    pub last_ms: i64,
    pub bytes_sent: u64,
    pub bytes_received: u64,
}

/// A stored finding.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredFinding {
    pub id: String,
    pub rule_id: String,
    pub rule_name: String,
    pub severity: Severity,
    pub tags: Vec<String>,
    pub subject_kind: String,
    pub socket_id: Option<String>,
    pub pid: Option<u32>,
    pub exe: Option<String>,
    pub endpoint: Option<String>,
    pub first_seen_ms: i64,
    pub last_seen_ms: i64,
    pub count: u64,
}

/// A stored alert.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredAlert {
    pub at_ms: i64,
    pub remote_ip: String,
    pub src_ip: String,
    pub src_port: Option<u16>,
    pub dest_ip: String,
    pub dest_port: Option<u16>,
    pub proto: String,
    pub direction: Option<String>,
    pub signature_id: u64,
    pub signature: String,
    pub category: String,
    /// Suricata severity: 1 highest .. 3.
    pub severity: u8,
}

impl From<&crate::model::Alert> for StoredAlert {
    fn from(a: &crate::model::Alert) -> Self {
        Self {
            at_ms: a.at_ms,
            remote_ip: a.remote.to_string(),
            src_ip: a.src_ip.to_string(),
            src_port: a.src_port,
            dest_ip: a.dest_ip.to_string(),
            dest_port: a.dest_port,
            proto: a.proto.clone(),
            direction: a.direction.map(|d| d.name().to_string()),
            signature_id: a.signature_id,
            signature: a.signature.clone(),
            category: a.category.clone(),
            severity: a.severity,
        }
    }
}

impl StoredAlert {
    /// The severity scale findings use: 1 → high, 2 → medium, 3 → low.
    pub fn finding_severity(&self) -> Severity {
        match self.severity {
            1 => Severity::High,
            2 => Severity::Medium,
            _ => Severity::Low,
        }
    }
}

/// Processes that had sockets to `ip` since `since_ms`, most events first.
pub fn processes_for_ip(conn: &Connection, ip: IpAddr, since_ms: i64) -> Result<Vec<ProcessActivity>, StoreError> {
    let mut st = conn.prepare_cached(
        "SELECT pid, comm, exe, count(*), min(at_ms), max(at_ms), coalesce(sum(bytes_sent), 0), coalesce(sum(bytes_received), 0)
         FROM socket_events WHERE remote_ip = ?1 AND at_ms >= ?2
         GROUP BY pid, comm, exe ORDER BY count(*) DESC LIMIT 100",
    )?;
    let rows = st.query_map(params![ip.to_string(), since_ms], |r| {
        Ok(ProcessActivity {
            pid: r.get(0)?,
            comm: r.get(1)?,
            exe: r.get(2)?,
            events: r.get::<_, i64>(3)? as u64,
            first_ms: r.get(4)?,
            last_ms: r.get(5)?,
            bytes_sent: r.get::<_, i64>(6)? as u64,
            bytes_received: r.get::<_, i64>(7)? as u64,
        })
    })?;
    Ok(rows.collect::<Result<_, _>>()?)
}

fn finding_from(r: &rusqlite::Row<'_>) -> rusqlite::Result<StoredFinding> {
    let tags: String = r.get(4)?;
    Ok(StoredFinding {
        id: r.get(0)?,
        rule_id: r.get(1)?,
        rule_name: r.get(2)?,
        severity: severity_of_rank(r.get(3)?),
        tags: tags.split(',').filter(|t| !t.is_empty()).map(str::to_string).collect(),
        subject_kind: r.get(5)?,
        socket_id: r.get(6)?,
        pid: r.get(7)?,
        exe: r.get(8)?,
        endpoint: r.get(9)?,
        first_seen_ms: r.get(10)?,
        last_seen_ms: r.get(11)?,
        count: r.get::<_, i64>(12)? as u64,
    })
}

const FINDING_COLUMNS: &str = "id, rule_id, rule_name, severity, tags, subject_kind, socket_id, pid, exe, endpoint, first_seen_ms, last_seen_ms, count";

/// Findings last seen since `since_ms`, at or above `min`, optionally about one address; most severe, then most recent first.
pub fn findings_since(conn: &Connection, since_ms: i64, min: Severity, endpoint: Option<IpAddr>, limit: usize) -> Result<Vec<StoredFinding>, StoreError> {
    let sql = format!(
        "SELECT {FINDING_COLUMNS} FROM findings WHERE last_seen_ms >= ?1 AND severity >= ?2 AND (?3 IS NULL OR endpoint = ?3)
         ORDER BY severity DESC, last_seen_ms DESC, id LIMIT ?4"
    );
    let mut st = conn.prepare_cached(&sql)?;
    let rows = st.query_map(params![since_ms, super::severity_rank(min), endpoint.map(|e| e.to_string()), limit as i64], finding_from)?;
    Ok(rows.collect::<Result<_, _>>()?)
}

fn alert_from(r: &rusqlite::Row<'_>) -> rusqlite::Result<StoredAlert> {
    Ok(StoredAlert {
        at_ms: r.get(0)?,
        remote_ip: r.get(1)?,
        src_ip: r.get(2)?,
        src_port: r.get(3)?,
        dest_ip: r.get(4)?,
        dest_port: r.get(5)?,
        proto: r.get(6)?,
        direction: r.get(7)?,
        signature_id: r.get::<_, i64>(8)? as u64,
        signature: r.get(9)?,
        category: r.get(10)?,
        severity: r.get::<_, i64>(11)?.clamp(1, 3) as u8,
    })
}

/// Alerts since `since_ms`, optionally about one address; newest first.
pub fn alerts_since(conn: &Connection, since_ms: i64, remote: Option<IpAddr>, limit: usize) -> Result<Vec<StoredAlert>, StoreError> {
    let mut st = conn.prepare_cached(
        "SELECT at_ms, remote_ip, src_ip, src_port, dest_ip, dest_port, proto, direction, signature_id, signature, category, severity
         FROM alerts WHERE at_ms >= ?1 AND (?2 IS NULL OR remote_ip = ?2) ORDER BY at_ms DESC, id DESC LIMIT ?3",
    )?;
    let rows = st.query_map(params![since_ms, remote.map(|e| e.to_string()), limit as i64], alert_from)?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// Where an eve file was read to.
pub fn eve_offset(conn: &Connection, path: &str) -> Result<Option<EveOffset>, StoreError> {
    Ok(conn
        .query_row("SELECT inode, offset, malformed FROM eve_offsets WHERE path = ?1", [path], |r| {
            Ok(EveOffset { inode: r.get::<_, i64>(0)? as u64, offset: r.get::<_, i64>(1)? as u64, malformed: r.get::<_, i64>(2)? as u64 })
        })
        .optional()?)
}

/// Where a login source (an auth log's path, or `journal`) was read to.
pub fn login_position(conn: &Connection, source: &str) -> Result<Option<super::LoginPosition>, StoreError> {
    Ok(conn
        .query_row("SELECT inode, offset, cursor, malformed FROM login_positions WHERE source = ?1", [source], |r| {
            Ok(super::LoginPosition {
                inode: r.get::<_, i64>(0)? as u64,
                offset: r.get::<_, i64>(1)? as u64,
                cursor: r.get(2)?,
                malformed: r.get::<_, i64>(3)? as u64,
            })
        })
        .optional()?)
}

/// Login events since `since_ms` (from `remote` when given), newest first.
/// Rows whose kind or address no longer read are skipped.
pub fn logins_since(conn: &Connection, since_ms: i64, remote: Option<IpAddr>, limit: usize) -> Result<Vec<crate::model::LoginEvent>, StoreError> {
    let mut st = conn.prepare_cached(
        "SELECT at_ms, kind, remote_ip, port, user, invalid_user, method, service, pid FROM login_events
         WHERE at_ms >= ?1 AND (?2 IS NULL OR remote_ip = ?2) ORDER BY at_ms DESC, id DESC LIMIT ?3",
    )?;
    let rows = st.query_map(params![since_ms, remote.map(|e| e.to_string()), limit as i64], |r| {
        Ok((r.get::<_, i64>(0)?, r.get::<_, String>(1)?, r.get::<_, String>(2)?, r.get(3)?, r.get(4)?, r.get(5)?, r.get(6)?, r.get(7)?, r.get(8)?))
    })?;
    let mut out = Vec::new();
    for row in rows {
        let (at_ms, kind, remote, port, user, invalid_user, method, service, pid) = row?;
        let (Some(kind), Ok(remote)) = (crate::model::LoginKind::from_name(&kind), remote.parse()) else { continue };
        out.push(crate::model::LoginEvent { at_ms, kind, remote, port, user, invalid_user, method, service, pid });
    }
    Ok(out)
}

/// A saved baseline by name.
pub fn baseline(conn: &Connection, name: &str) -> Result<Option<crate::model::Baseline>, StoreError> {
    let body: Option<String> = conn.query_row("SELECT body FROM baselines WHERE name = ?1", [name], |r| r.get(0)).optional()?;
    body.map(|b| serde_json::from_str(&b).map_err(|e| StoreError::Sql(rusqlite::Error::FromSqlConversionFailure(0, rusqlite::types::Type::Text, Box::new(e)))))
        .transpose()
}

/// Names of saved baselines with when they were taken.
pub fn baselines(conn: &Connection) -> Result<Vec<(String, i64)>, StoreError> {
    let mut st = conn.prepare("SELECT name, taken_at_ms FROM baselines ORDER BY name")?;
    let rows = st.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// Row counts per table (for `necromap store` and tests).
pub fn counts(conn: &Connection) -> Result<Vec<(&'static str, u64)>, StoreError> {
    ["findings", "socket_events", "alerts", "eve_offsets", "baselines", "responses", "login_events", "login_positions"]
        .into_iter()
        .map(|t| Ok((t, conn.query_row(&format!("SELECT count(*) FROM {t}"), [], |r| r.get::<_, i64>(0))? as u64)))
        .collect()
}

/// A reader connection when the store file exists.
pub fn reader_if_exists(path: &Path) -> Result<Option<Connection>, StoreError> {
    if path.exists() { super::open_reader(path).map(Some) } else { Ok(None) }
}

/// A socket event as read back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredEvent {
    pub at_ms: i64,
    pub kind: String,
    pub socket_id: String,
    pub protocol: String,
    pub local_ip: String,
    pub local_port: u16,
    pub remote_ip: String,
    pub remote_port: u16,
    pub pid: Option<u32>,
    pub comm: Option<String>,
    /// The remote's name when the event was recorded (None before schema 2).
    pub remote_name: Option<String>,
}

/// Connections opened and closed with `ip` since `since_ms`, oldest first.
pub fn connections_with(conn: &Connection, ip: IpAddr, since_ms: i64, limit: usize) -> Result<Vec<StoredEvent>, StoreError> {
    let mut st = conn.prepare_cached(
        "SELECT at_ms, kind, socket_id, protocol, local_ip, local_port, remote_ip, remote_port, pid, comm, remote_name FROM socket_events
         WHERE remote_ip = ?1 AND at_ms >= ?2 AND kind IN ('opened', 'closed') ORDER BY at_ms LIMIT ?3",
    )?;
    let rows = st.query_map(params![ip.to_string(), since_ms, limit as i64], |r| {
        Ok(StoredEvent {
            at_ms: r.get(0)?,
            kind: r.get(1)?,
            socket_id: r.get(2)?,
            protocol: r.get(3)?,
            local_ip: r.get(4)?,
            local_port: r.get(5)?,
            remote_ip: r.get(6)?,
            remote_port: r.get(7)?,
            pid: r.get(8)?,
            comm: r.get(9)?,
            remote_name: r.get(10)?,
        })
    })?;
    Ok(rows.collect::<Result<_, _>>()?)
}
/// Blocks executed since `since_ms` (for the hourly cap).
pub fn executed_since(conn: &Connection, since_ms: i64) -> Result<u64, StoreError> {
    let n: i64 =
        conn.query_row("SELECT count(*) FROM responses WHERE kind = ?1 AND at_ms >= ?2", params![super::ResponseKind::Executed.name(), since_ms], |r| {
            r.get(0)
        })?;
    Ok(u64::try_from(n).unwrap_or(0))
}
