//! The observer's writes to the event store: one run of a server, its tool
//! lists (a new version when the list changes), its calls and findings.
//! Each write is its own short transaction, so a crash loses at most one.

use std::path::Path;

use rusqlite::{Connection, OptionalExtension, params};

use super::catalog::AgentFinding;
use super::detect::rugpull::{canonical_tools, digest};
use super::jsonrpc::{CallRecord, ToolSpec};
use crate::store::StoreError;

/// One observed run, recording.
#[derive(Debug)]
pub struct Recorder {
    conn: Connection,
    run_id: i64,
    server_key: String,
}

/// What storing a tool list found.
#[derive(Debug, Clone, PartialEq)]
pub struct Stored {
    /// The list's version for this server (1 for the first ever seen).
    pub version: i64,
    /// Whether this list is new (a version was added).
    pub new_version: bool,
    /// The first list ever seen for this server.
    pub first: Vec<ToolSpec>,
}

impl Recorder {
    /// Open the store and record the start of a run (`pid`: the server's
    /// process, when the observer started it).
    pub fn start(path: &Path, server_key: &str, command: &[String], pid: Option<u32>, at_ms: i64) -> Result<Self, StoreError> {
        let conn = crate::store::open(path)?;
        let command = serde_json::to_string(command).unwrap_or_default();
        conn.execute("INSERT INTO mcp_servers (server_key, command, pid, started_ms) VALUES (?1, ?2, ?3, ?4)", params![server_key, command, pid, at_ms])?;
        Ok(Self { run_id: conn.last_insert_rowid(), conn, server_key: server_key.to_owned() })
    }

    pub fn run_id(&self) -> i64 {
        self.run_id
    }

    pub fn named(&mut self, name: &str) -> Result<(), StoreError> {
        self.conn.execute("UPDATE mcp_servers SET name = ?1 WHERE id = ?2", params![name, self.run_id])?;
        Ok(())
    }

    /// Store a tool list unless it equals the latest version.
    pub fn tools(&mut self, tools: &[ToolSpec], at_ms: i64) -> Result<Stored, StoreError> {
        let text = canonical_tools(tools);
        let hash = digest(&text);
        let tx = self.conn.transaction()?;
        let latest: Option<(i64, String)> = tx
            .query_row("SELECT version, digest FROM mcp_specs WHERE server_key = ?1 ORDER BY version DESC LIMIT 1", params![self.server_key], |r| {
                Ok((r.get(0)?, r.get(1)?))
            })
            .optional()?;
        let (version, new_version) = match latest {
            Some((v, d)) if d == hash => (v, false),
            Some((v, _)) => (v + 1, true),
            None => (1, true),
        };
        if new_version {
            tx.execute(
                "INSERT INTO mcp_specs (server_key, version, run_id, seen_ms, digest, tools) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                params![self.server_key, version, self.run_id, at_ms, hash, text],
            )?;
        }
        let first: String = tx.query_row("SELECT tools FROM mcp_specs WHERE server_key = ?1 AND version = 1", params![self.server_key], |r| r.get(0))?;
        tx.commit()?;
        Ok(Stored { version, new_version, first: serde_json::from_str(&first).unwrap_or_default() })
    }

    /// Store a call (its arguments already redacted); its row id.
    pub fn call(&mut self, call: &CallRecord, redacted_arguments: &serde_json::Value) -> Result<i64, StoreError> {
        self.conn.execute(
            "INSERT INTO mcp_calls (run_id, at_ms, tool, arguments, result_bytes, duration_ms, error) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
            params![
                self.run_id,
                call.at_ms,
                crate::text::bounded(&call.tool, 256),
                crate::text::bounded(&redacted_arguments.to_string(), 16 * 1024),
                call.result_bytes.map(|b| b as i64),
                call.duration_ms,
                call.error.as_deref().map(|e| crate::text::bounded(&super::redact::scrub(e), 512))
            ],
        )?;
        Ok(self.conn.last_insert_rowid())
    }

    pub fn findings(&mut self, call_id: Option<i64>, findings: &[AgentFinding], at_ms: i64) -> Result<(), StoreError> {
        let tx = self.conn.transaction()?;
        for f in findings {
            tx.execute(
                "INSERT INTO mcp_findings (run_id, call_id, at_ms, rule_id, severity, tool, evidence) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
                params![self.run_id, call_id, at_ms, f.rule.id(), crate::store::severity_rank(f.severity), f.tool, f.evidence],
            )?;
        }
        tx.commit()?;
        Ok(())
    }

    /// The run is over: its end, exit code and malformed-line count.
    pub fn end(&mut self, at_ms: i64, exit_code: Option<i32>, malformed: u64) -> Result<(), StoreError> {
        self.conn.execute(
            "UPDATE mcp_servers SET ended_ms = ?1, exit_code = ?2, malformed = ?3 WHERE id = ?4",
            params![at_ms, exit_code, malformed as i64, self.run_id],
        )?;
        Ok(())
    }
}
