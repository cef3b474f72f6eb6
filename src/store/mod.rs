//! The embedded event store: `SQLite` (bundled) in WAL mode.
//!
//! What it keeps: findings (first/last seen, how often), socket events
//! (seen at start, opened, closed with bytes and duration), Suricata alerts,
//! where each eve.json file was read to, saved baselines, and proposed and
//! executed responses. One writer thread owns the writing connection and
//! commits a batch per refresh in one transaction (`writer.rs`), so the
//! collector never waits on the disk; readers open their own connections.
//! A committed transaction survives the writer being killed (WAL).
//!
//! Location: `--db FILE`, default `$XDG_DATA_HOME/necromap/events.db`;
//! `--no-store` runs without one.

pub mod query;
pub mod recorder;
pub mod schema;
pub mod status;
pub mod writer;

use std::path::{Path, PathBuf};

use rusqlite::{Connection, OpenFlags, params};

use crate::model::Alert;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("event store {path}: {source}")]
    Open { path: PathBuf, source: rusqlite::Error },
    #[error("{path}: the store has schema version {found}, newer than this necromap ({supported}); use a newer necromap or another --db")]
    TooNew { path: PathBuf, found: u32, supported: u32 },
    #[error("store: {0}")]
    Sql(#[from] rusqlite::Error),
    #[error("cannot create {path}")]
    Dir { path: PathBuf, source: std::io::Error },
    #[error("no data directory: set XDG_DATA_HOME or HOME, or give --db FILE")]
    NoDataDir,
}

/// The default store file.
pub fn default_path() -> Result<PathBuf, StoreError> {
    Ok(crate::paths::data_dir().ok_or(StoreError::NoDataDir)?.join("events.db"))
}

/// Open (creating and migrating as needed) a store for writing.
pub fn open(path: &Path) -> Result<Connection, StoreError> {
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(|source| StoreError::Dir { path: dir.to_path_buf(), source })?;
    }
    let at = |source| StoreError::Open { path: path.to_path_buf(), source };
    let mut conn = Connection::open(path).map_err(at)?;
    // SQLite opens lazily: a file that is not a database fails here, and
    // is said with its path.
    conn.busy_timeout(std::time::Duration::from_secs(5)).map_err(at)?;
    conn.pragma_update(None, "journal_mode", "WAL").map_err(at)?;
    conn.pragma_update(None, "synchronous", "NORMAL").map_err(at)?;
    conn.pragma_update(None, "foreign_keys", "ON").map_err(at)?;
    migrate(&mut conn, path).map_err(|e| match e {
        StoreError::Sql(source) => at(source),
        other => other,
    })?;
    Ok(conn)
}

/// Open an existing store for reading (queries from MCP tools and commands).
pub fn open_reader(path: &Path) -> Result<Connection, StoreError> {
    let at = |source| StoreError::Open { path: path.to_path_buf(), source };
    let conn = Connection::open_with_flags(path, OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX).map_err(at)?;
    conn.busy_timeout(std::time::Duration::from_secs(5)).map_err(at)?;
    // SQLite opens lazily: read the header now, so a file that is not a
    // database is said with its path.
    let _: i64 = conn.pragma_query_value(None, "user_version", |r| r.get(0)).map_err(at)?;
    Ok(conn)
}

/// Run the migrations this store has not seen yet.
fn migrate(conn: &mut Connection, path: &Path) -> Result<(), StoreError> {
    let found: u32 = conn.pragma_query_value(None, "user_version", |r| r.get(0))?;
    let supported = schema::current_version();
    if found > supported {
        return Err(StoreError::TooNew { path: path.to_path_buf(), found, supported });
    }
    for (i, sql) in schema::MIGRATIONS.iter().enumerate().skip(found as usize) {
        let tx = conn.transaction()?;
        tx.execute_batch(sql)?;
        tx.pragma_update(None, "user_version", (i + 1) as i64)?;
        tx.commit()?;
    }
    Ok(())
}

/// Kinds of socket events.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EventKind {
    /// Already open when necromap started.
    Seen,
    Opened,
    Closed,
}

impl EventKind {
    pub fn name(self) -> &'static str {
        match self {
            Self::Seen => "seen",
            Self::Opened => "opened",
            Self::Closed => "closed",
        }
    }
}

/// One socket appearing or going away.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SocketEvent {
    pub at_ms: i64,
    pub kind: EventKind,
    pub socket_id: String,
    pub protocol: &'static str,
    pub state: &'static str,
    pub direction: String,
    pub local_ip: String,
    pub local_port: u16,
    pub remote_ip: String,
    pub remote_port: u16,
    /// The remote's best name at the time (bounded; escaped when shown).
    pub remote_name: Option<String>,
    pub pid: Option<u32>,
    pub comm: Option<String>,
    pub exe: Option<String>,
    pub uid: u32,
    pub bytes_sent: Option<u64>,
    pub bytes_received: Option<u64>,
    pub duration_ms: Option<i64>,
    /// The network namespace's inode (necromap's own included); none when
    /// the source does not say.
    pub netns: Option<u32>,
    /// Its readable name at the time (`host` for necromap's own).
    pub namespace: Option<String>,
}

/// A finding as stored: seen once more at `seen_ms`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FindingRow {
    pub id: String,
    pub rule_id: String,
    pub rule_name: String,
    pub severity: crate::model::Severity,
    pub tags: Vec<String>,
    pub subject_kind: &'static str,
    pub socket_id: Option<String>,
    pub pid: Option<u32>,
    pub exe: Option<String>,
    pub endpoint: Option<String>,
    pub first_seen_ms: i64,
    pub seen_ms: i64,
    /// The subject's network namespace inode and readable name; none for an
    /// endpoint outside loopback.
    pub netns: Option<u32>,
    pub namespace: Option<String>,
}

/// Where an eve.json file was read to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EveOffset {
    pub inode: u64,
    pub offset: u64,
    pub malformed: u64,
}

/// Where a login source was read to: an auth log's inode and offset, or
/// the journal's cursor.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct LoginPosition {
    pub inode: u64,
    pub offset: u64,
    pub cursor: Option<String>,
    pub malformed: u64,
}

/// What happened to a proposed block (the `responses.kind` column).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ResponseKind {
    Proposed,
    Executed,
    Refused,
    Failed,
}

impl ResponseKind {
    pub fn name(self) -> &'static str {
        match self {
            Self::Proposed => "proposed",
            Self::Executed => "executed",
            Self::Refused => "refused",
            Self::Failed => "failed",
        }
    }
}

/// A response proposed, executed, refused or failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResponseRow {
    pub at_ms: i64,
    pub kind: ResponseKind,
    pub remote_ip: String,
    pub command: String,
    pub reason: String,
    pub outcome: Option<String>,
}

/// Everything one commit writes.
#[derive(Debug, Clone, Default)]
pub struct Batch {
    pub events: Vec<SocketEvent>,
    pub findings: Vec<FindingRow>,
    pub alerts: Vec<Alert>,
    pub offsets: Vec<(String, EveOffset)>,
    pub responses: Vec<ResponseRow>,
    pub baselines: Vec<crate::model::Baseline>,
    /// Login events and where their source was read to.
    pub logins: Vec<crate::model::LoginEvent>,
    pub login_positions: Vec<(String, LoginPosition)>,
}

impl Batch {
    pub fn is_empty(&self) -> bool {
        self.events.is_empty()
            && self.findings.is_empty()
            && self.alerts.is_empty()
            && self.offsets.is_empty()
            && self.responses.is_empty()
            && self.baselines.is_empty()
            && self.logins.is_empty()
            && self.login_positions.is_empty()
    }

    pub fn rows(&self) -> usize {
        self.events.len()
            + self.findings.len()
            + self.alerts.len()
            + self.offsets.len()
            + self.responses.len()
            + self.baselines.len()
            + self.logins.len()
            + self.login_positions.len()
    }

    /// Drop the oldest rows until at most `max` remain: socket events
    /// first, then findings, then alerts (offsets, responses and baselines
    /// are few and kept). Returns how many were dropped.
    pub fn shed(&mut self, max: usize) -> usize {
        let mut excess = self.rows().saturating_sub(max);
        let before = excess;
        let n = excess.min(self.events.len());
        self.events.drain(..n);
        excess -= n;
        let n = excess.min(self.findings.len());
        self.findings.drain(..n);
        excess -= n;
        let n = excess.min(self.alerts.len());
        self.alerts.drain(..n);
        excess -= n;
        before - excess
    }

    pub fn append(&mut self, other: Self) {
        self.events.extend(other.events);
        self.findings.extend(other.findings);
        self.alerts.extend(other.alerts);
        self.offsets.extend(other.offsets);
        self.responses.extend(other.responses);
        self.baselines.extend(other.baselines);
        self.logins.extend(other.logins);
        self.login_positions.extend(other.login_positions);
    }
}

/// Write a batch in one transaction.
pub fn write(conn: &mut Connection, batch: &Batch) -> Result<(), StoreError> {
    let tx = conn.transaction()?;
    {
        let mut ev = tx.prepare_cached(
            "INSERT INTO socket_events (at_ms, kind, socket_id, protocol, state, direction, local_ip, local_port, remote_ip, remote_port, pid, comm, exe, uid, bytes_sent, bytes_received, duration_ms, remote_name, netns, namespace)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?19, ?20)",
        )?;
        for e in &batch.events {
            ev.execute(params![
                e.at_ms,
                e.kind.name(),
                e.socket_id,
                e.protocol,
                e.state,
                e.direction,
                e.local_ip,
                e.local_port,
                e.remote_ip,
                e.remote_port,
                e.pid,
                e.comm,
                e.exe,
                e.uid,
                e.bytes_sent.map(|b| b as i64),
                e.bytes_received.map(|b| b as i64),
                e.duration_ms,
                e.remote_name,
                e.netns,
                e.namespace
            ])?;
        }
        let mut fi = tx.prepare_cached(
            "INSERT INTO findings (id, rule_id, rule_name, severity, tags, subject_kind, socket_id, pid, exe, endpoint, first_seen_ms, last_seen_ms, count, netns, namespace)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, 1, ?13, ?14)
             ON CONFLICT(id) DO UPDATE SET last_seen_ms = max(last_seen_ms, excluded.last_seen_ms), severity = excluded.severity, count = count + 1,
               netns = excluded.netns, namespace = excluded.namespace",
        )?;
        for f in &batch.findings {
            fi.execute(params![
                f.id,
                f.rule_id,
                f.rule_name,
                severity_rank(f.severity),
                f.tags.join(","),
                f.subject_kind,
                f.socket_id,
                f.pid,
                f.exe,
                f.endpoint,
                f.first_seen_ms,
                f.seen_ms,
                f.netns,
                f.namespace
            ])?;
        }
        let mut al = tx.prepare_cached(
            "INSERT INTO alerts (at_ms, remote_ip, local_ip, src_ip, src_port, dest_ip, dest_port, proto, direction, flow_id, signature_id, signature, category, severity, action)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15)",
        )?;
        for a in &batch.alerts {
            al.execute(params![
                a.at_ms,
                a.remote.to_string(),
                a.local.map(|l| l.to_string()),
                a.src_ip.to_string(),
                a.src_port,
                a.dest_ip.to_string(),
                a.dest_port,
                a.proto,
                a.direction.map(crate::model::AlertDirection::name),
                a.flow_id.map(|f| f as i64),
                a.signature_id as i64,
                a.signature,
                a.category,
                a.severity,
                a.action
            ])?;
        }
        let mut off = tx.prepare_cached(
            "INSERT INTO eve_offsets (path, inode, offset, malformed, updated_ms) VALUES (?1, ?2, ?3, ?4, ?5)
             ON CONFLICT(path) DO UPDATE SET inode = excluded.inode, offset = excluded.offset, malformed = excluded.malformed, updated_ms = excluded.updated_ms",
        )?;
        for (path, o) in &batch.offsets {
            off.execute(params![path, o.inode as i64, o.offset as i64, o.malformed as i64, crate::collect::now_ms()])?;
        }
        let mut re = tx.prepare_cached("INSERT INTO responses (at_ms, kind, remote_ip, command, reason, outcome) VALUES (?1, ?2, ?3, ?4, ?5, ?6)")?;
        for r in &batch.responses {
            re.execute(params![r.at_ms, r.kind.name(), r.remote_ip, r.command, r.reason, r.outcome])?;
        }
        let mut ba = tx.prepare_cached(
            "INSERT INTO baselines (name, host, taken_at_ms, body) VALUES (?1, ?2, ?3, ?4)
             ON CONFLICT(name) DO UPDATE SET host = excluded.host, taken_at_ms = excluded.taken_at_ms, body = excluded.body",
        )?;
        for b in &batch.baselines {
            let body = serde_json::to_string(b).map_err(|e| rusqlite::Error::ToSqlConversionFailure(Box::new(e)))?;
            ba.execute(params![b.name, b.host, b.taken_at_ms, body])?;
        }
        write_logins(&tx, batch)?;
    }
    tx.commit()?;
    Ok(())
}

/// The login rows of a batch (events, then positions).
fn write_logins(tx: &rusqlite::Transaction<'_>, batch: &Batch) -> Result<(), StoreError> {
    let mut lo = tx.prepare_cached(
        "INSERT INTO login_events (at_ms, kind, remote_ip, port, user, invalid_user, method, service, pid) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
    )?;
    for e in &batch.logins {
        lo.execute(params![e.at_ms, e.kind.name(), e.remote.to_string(), e.port, e.user, e.invalid_user, e.method, e.service, e.pid])?;
    }
    let mut pos = tx.prepare_cached(
        "INSERT INTO login_positions (source, inode, offset, cursor, malformed, updated_ms) VALUES (?1, ?2, ?3, ?4, ?5, ?6)
         ON CONFLICT(source) DO UPDATE SET inode = excluded.inode, offset = excluded.offset, cursor = excluded.cursor, malformed = excluded.malformed, updated_ms = excluded.updated_ms",
    )?;
    for (source, p) in &batch.login_positions {
        pos.execute(params![source, p.inode as i64, p.offset as i64, p.cursor, p.malformed as i64, crate::collect::now_ms()])?;
    }
    Ok(())
}

/// Delete what is older than `cutoff_ms` (findings by last sighting).
/// Returns the rows removed.
pub fn prune(conn: &Connection, cutoff_ms: i64) -> Result<usize, StoreError> {
    let mut n = conn.execute("DELETE FROM socket_events WHERE at_ms < ?1", [cutoff_ms])?;
    n += conn.execute("DELETE FROM alerts WHERE at_ms < ?1", [cutoff_ms])?;
    n += conn.execute("DELETE FROM findings WHERE last_seen_ms < ?1", [cutoff_ms])?;
    n += conn.execute("DELETE FROM responses WHERE at_ms < ?1", [cutoff_ms])?;
    n += conn.execute("DELETE FROM login_events WHERE at_ms < ?1", [cutoff_ms])?;
    Ok(n)
}

/// Severity as stored (sortable).
pub fn severity_rank(s: crate::model::Severity) -> i64 {
    crate::model::Severity::ALL.iter().position(|x| *x == s).unwrap_or(0) as i64
}

/// Severity from its stored rank.
pub fn severity_of_rank(rank: i64) -> crate::model::Severity {
    usize::try_from(rank).ok().and_then(|i| crate::model::Severity::ALL.get(i).copied()).unwrap_or_default()
}

#[cfg(test)]
mod tests;
