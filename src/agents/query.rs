//! Reading what the observer stored: servers (by command line, with their
//! runs), tool lists, calls and findings. For `mcp-audit`, the MCP tools
//! and the map.

use rusqlite::{Connection, OptionalExtension, params};
use serde::Serialize;

use super::catalog::AgentRule;
use super::jsonrpc::ToolSpec;
use crate::store::StoreError;
use crate::terms::Severity;

/// A server as observed over all its runs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ServerRow {
    pub server_key: String,
    /// serverInfo.name of the latest run that gave one.
    pub name: Option<String>,
    pub runs: u64,
    /// The latest run: its pid, start and end (none while running or killed).
    pub pid: Option<u32>,
    pub last_started_ms: i64,
    pub last_ended_ms: Option<i64>,
    pub spec_versions: u64,
    pub tools: u64,
    pub calls: u64,
    pub findings: u64,
    pub worst: Option<Severity>,
}

/// One stored call.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CallRow {
    pub id: i64,
    pub server_key: String,
    pub at_ms: i64,
    pub tool: String,
    /// JSON, secrets redacted.
    pub arguments: String,
    pub result_bytes: Option<i64>,
    pub duration_ms: Option<i64>,
    pub error: Option<String>,
    /// Rule ids of findings on this call.
    pub flags: Vec<String>,
}

/// One stored MCP finding.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct StoredFinding {
    pub server_key: String,
    pub pid: Option<u32>,
    pub at_ms: i64,
    pub rule: AgentRule,
    pub severity: Severity,
    pub tool: Option<String>,
    pub evidence: String,
}

/// Whether the store has the MCP tables (an older store may not).
pub fn has_tables(conn: &Connection) -> bool {
    conn.query_row("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'mcp_servers'", [], |_| Ok(())).optional().ok().flatten().is_some()
}

pub fn servers(conn: &Connection) -> Result<Vec<ServerRow>, StoreError> {
    if !has_tables(conn) {
        return Ok(Vec::new());
    }
    let mut stmt = conn.prepare(
        "SELECT s.server_key,
                (SELECT name FROM mcp_servers n WHERE n.server_key = s.server_key AND n.name IS NOT NULL ORDER BY n.started_ms DESC LIMIT 1),
                COUNT(*),
                (SELECT pid FROM mcp_servers l WHERE l.server_key = s.server_key ORDER BY l.started_ms DESC, l.id DESC LIMIT 1),
                MAX(s.started_ms),
                (SELECT ended_ms FROM mcp_servers l WHERE l.server_key = s.server_key ORDER BY l.started_ms DESC, l.id DESC LIMIT 1),
                (SELECT COUNT(*) FROM mcp_specs p WHERE p.server_key = s.server_key),
                (SELECT json_array_length(tools) FROM mcp_specs p WHERE p.server_key = s.server_key ORDER BY version DESC LIMIT 1),
                (SELECT COUNT(*) FROM mcp_calls c JOIN mcp_servers r ON c.run_id = r.id WHERE r.server_key = s.server_key),
                (SELECT COUNT(*) FROM mcp_findings f JOIN mcp_servers r ON f.run_id = r.id WHERE r.server_key = s.server_key),
                (SELECT MAX(severity) FROM mcp_findings f JOIN mcp_servers r ON f.run_id = r.id WHERE r.server_key = s.server_key)
         FROM mcp_servers s GROUP BY s.server_key ORDER BY MAX(s.started_ms) DESC",
    )?;
    let rows = stmt.query_map([], |r| {
        Ok(ServerRow {
            server_key: r.get(0)?,
            name: r.get(1)?,
            runs: r.get::<_, i64>(2)? as u64,
            pid: r.get(3)?,
            last_started_ms: r.get(4)?,
            last_ended_ms: r.get(5)?,
            spec_versions: r.get::<_, i64>(6)? as u64,
            tools: r.get::<_, Option<i64>>(7)?.unwrap_or(0) as u64,
            calls: r.get::<_, i64>(8)? as u64,
            findings: r.get::<_, i64>(9)? as u64,
            worst: r.get::<_, Option<i64>>(10)?.map(crate::store::severity_of_rank),
        })
    })?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// A server's tool lists: the latest's version, the latest, and the first ever seen.
pub type Specs = (i64, Vec<ToolSpec>, Vec<ToolSpec>);

/// The latest and the first tool list of a server, with the latest's version.
pub fn specs(conn: &Connection, server_key: &str) -> Result<Option<Specs>, StoreError> {
    if !has_tables(conn) {
        return Ok(None);
    }
    let latest: Option<(i64, String)> = conn
        .query_row("SELECT version, tools FROM mcp_specs WHERE server_key = ?1 ORDER BY version DESC LIMIT 1", params![server_key], |r| {
            Ok((r.get(0)?, r.get(1)?))
        })
        .optional()?;
    let Some((version, tools)) = latest else { return Ok(None) };
    let first: String = conn
        .query_row("SELECT tools FROM mcp_specs WHERE server_key = ?1 AND version = 1", params![server_key], |r| r.get(0))
        .optional()?
        .unwrap_or_else(|| tools.clone());
    Ok(Some((version, serde_json::from_str(&tools).unwrap_or_default(), serde_json::from_str(&first).unwrap_or_default())))
}

/// Which calls to read.
#[derive(Debug, Clone, Default)]
pub struct CallFilter {
    /// Part of the server's command line or name.
    pub server: String,
    pub tool: String,
    pub since_ms: i64,
    pub flagged_only: bool,
    pub limit: usize,
}

pub fn calls(conn: &Connection, f: &CallFilter) -> Result<Vec<CallRow>, StoreError> {
    if !has_tables(conn) {
        return Ok(Vec::new());
    }
    let mut stmt = conn.prepare(
        "SELECT c.id, s.server_key, c.at_ms, c.tool, c.arguments, c.result_bytes, c.duration_ms, c.error,
                (SELECT group_concat(rule_id) FROM mcp_findings f WHERE f.call_id = c.id)
         FROM mcp_calls c JOIN mcp_servers s ON c.run_id = s.id
         WHERE c.at_ms >= ?1 AND (?2 = '' OR instr(s.server_key, ?2) > 0 OR instr(coalesce(s.name, ''), ?2) > 0) AND (?3 = '' OR c.tool = ?3)
           AND (?4 = 0 OR EXISTS (SELECT 1 FROM mcp_findings f WHERE f.call_id = c.id))
         ORDER BY c.at_ms DESC, c.id DESC LIMIT ?5",
    )?;
    let rows = stmt.query_map(params![f.since_ms, f.server, f.tool, i64::from(f.flagged_only), f.limit as i64], |r| {
        let flags: Option<String> = r.get(8)?;
        Ok(CallRow {
            id: r.get(0)?,
            server_key: r.get(1)?,
            at_ms: r.get(2)?,
            tool: r.get(3)?,
            arguments: r.get(4)?,
            result_bytes: r.get(5)?,
            duration_ms: r.get(6)?,
            error: r.get(7)?,
            flags: flags.map(|f| f.split(',').map(str::to_owned).collect()).unwrap_or_default(),
        })
    })?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// Findings since `since_ms` (of servers whose key or name holds `server`), newest first.
pub fn findings(conn: &Connection, server: &str, since_ms: i64, limit: usize) -> Result<Vec<StoredFinding>, StoreError> {
    if !has_tables(conn) {
        return Ok(Vec::new());
    }
    let mut stmt = conn.prepare(
        "SELECT s.server_key, s.pid, f.at_ms, f.rule_id, f.severity, f.tool, f.evidence
         FROM mcp_findings f JOIN mcp_servers s ON f.run_id = s.id
         WHERE f.at_ms >= ?1 AND (?2 = '' OR instr(s.server_key, ?2) > 0 OR instr(coalesce(s.name, ''), ?2) > 0)
         ORDER BY f.at_ms DESC, f.id DESC LIMIT ?3",
    )?;
    let rows = stmt.query_map(params![since_ms, server, limit as i64], |r| {
        Ok((
            r.get::<_, String>(0)?,
            r.get::<_, Option<u32>>(1)?,
            r.get::<_, i64>(2)?,
            r.get::<_, String>(3)?,
            r.get::<_, i64>(4)?,
            r.get::<_, Option<String>>(5)?,
            r.get::<_, String>(6)?,
        ))
    })?;
    let mut out = Vec::new();
    for row in rows {
        let (server_key, pid, at_ms, rule, severity, tool, evidence) = row?;
        let Some(rule) = AgentRule::from_id(&rule) else { continue };
        out.push(StoredFinding { server_key, pid, at_ms, rule, severity: crate::store::severity_of_rank(severity), tool, evidence });
    }
    Ok(out)
}
