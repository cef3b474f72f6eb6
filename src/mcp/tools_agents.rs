//! MCP servers seen by `necromap mcp-observe`, from the event store:
//! `list_mcp_servers`, `get_mcp_calls`, `audit_mcp_server`. Descriptions
//! and schemas are kept short: tools/list has a budget (tests/mcp_sizes.rs).

// Field docs here are JSON Schema descriptions read by models.
#![allow(clippy::doc_markdown)]

use std::collections::BTreeMap;

use rmcp::handler::server::wrapper::Parameters;
use rmcp::schemars::{self, JsonSchema};
use rmcp::{Json, tool, tool_router};
use serde::{Deserialize, Serialize};

use super::dto::{Lang, check_limit, default_limit, portable_schema, safe};
use super::evidence::store_reader;
use super::{NecromapServer, off_reactor};
use crate::agents::query::{self, CallFilter};
use crate::agents::{AgentFinding, detect};

fn default_hours() -> u32 {
    24
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(transform = portable_schema)]
pub struct ServersArgs {
    /// Most items to return (1 to 10000).
    #[serde(default = "default_limit")]
    #[schemars(schema_with = "super::dto::limit_schema")]
    pub limit: u32,
}

#[derive(Debug, Serialize, JsonSchema)]
#[schemars(transform = portable_schema)]
pub struct McpServerItem {
    /// Its command line.
    pub server: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pid: Option<u32>,
    pub running: bool,
    /// Sockets its running process holds in the current snapshot: 0 for a
    /// stdio server (listed all the same); absent when not running.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sockets: Option<u64>,
    pub runs: u64,
    pub tools: u64,
    pub spec_versions: u64,
    pub calls: u64,
    pub findings: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub worst: Option<String>,
}

#[derive(Debug, Serialize, JsonSchema)]
#[schemars(transform = portable_schema)]
pub struct McpServers {
    /// Empty when no store is kept or nothing was observed.
    pub servers: Vec<McpServerItem>,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(transform = portable_schema)]
pub struct CallsArgs {
    /// Part of the server's command line or name.
    #[serde(default)]
    pub server: String,
    #[serde(default)]
    pub tool: String,
    #[serde(default = "default_hours")]
    pub hours: u32,
    /// Only calls with findings.
    #[serde(default)]
    pub flagged: bool,
    /// Most items to return (1 to 10000).
    #[serde(default = "default_limit")]
    #[schemars(schema_with = "super::dto::limit_schema")]
    pub limit: u32,
}

#[derive(Debug, Serialize, JsonSchema)]
#[schemars(transform = portable_schema)]
pub struct McpCallItem {
    pub server: String,
    pub at_ms: i64,
    pub tool: String,
    /// JSON, secrets redacted.
    pub arguments: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub result_bytes: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub duration_ms: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub rules: Vec<String>,
}

#[derive(Debug, Serialize, JsonSchema)]
#[schemars(transform = portable_schema)]
pub struct McpCalls {
    pub calls: Vec<McpCallItem>,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(transform = portable_schema)]
pub struct AuditArgs {
    /// Part of the server's command line or name.
    pub server: String,
    #[serde(default)]
    pub lang: Lang,
}

#[derive(Debug, Serialize, JsonSchema)]
#[schemars(transform = portable_schema)]
pub struct McpToolItem {
    pub name: String,
    pub description: String,
}

#[derive(Debug, Serialize, JsonSchema)]
#[schemars(transform = portable_schema)]
pub struct McpFindingItem {
    pub rule: String,
    pub severity: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tool: Option<String>,
    pub evidence: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub at_ms: Option<i64>,
}

#[derive(Debug, Serialize, JsonSchema)]
#[schemars(transform = portable_schema)]
pub struct McpAudit {
    pub server: String,
    pub spec_version: i64,
    pub tools: Vec<McpToolItem>,
    pub findings: Vec<McpFindingItem>,
    /// Each rule's explanation, once.
    pub explanations: BTreeMap<String, String>,
}

fn item(f: &AgentFinding, at_ms: Option<i64>) -> McpFindingItem {
    McpFindingItem {
        rule: f.rule.id().into(),
        severity: f.severity.name().into(),
        tool: f.tool.as_deref().map(|t| safe(t, 128)),
        evidence: safe(&f.evidence, 300),
        at_ms,
    }
}

#[tool_router(router = agents_router, vis = "pub(super)")]
impl NecromapServer {
    #[tool(description = "MCP servers seen by necromap mcp-observe: tools, calls, findings.", annotations(read_only_hint = true, open_world_hint = false))]
    pub async fn list_mcp_servers(&self, Parameters(a): Parameters<ServersArgs>) -> Result<Json<McpServers>, String> {
        let limit = check_limit(a.limit)?;
        let state = self.state.clone();
        off_reactor(move || {
            let Some(conn) = store_reader(&state)? else { return Ok(Json(McpServers { servers: Vec::new() })) };
            let rows = query::servers(&conn).map_err(|e| safe(&e.to_string(), 300))?;
            let snapshot = state.snapshot();
            let sockets = |pid: Option<u32>| pid.map_or(0, |p| snapshot.process(crate::model::Pid(p)).map_or(0, |n| n.socket_count));
            let servers = rows
                .into_iter()
                .take(limit)
                .map(|r| McpServerItem {
                    server: safe(&r.server_key, 300),
                    name: r.name.as_deref().map(|n| safe(n, 128)),
                    pid: r.pid,
                    running: r.last_ended_ms.is_none(),
                    sockets: r.last_ended_ms.is_none().then(|| sockets(r.pid)),
                    runs: r.runs,
                    tools: r.tools,
                    spec_versions: r.spec_versions,
                    calls: r.calls,
                    findings: r.findings,
                    worst: r.worst.map(|w| w.name().into()),
                })
                .collect();
            Ok(Json(McpServers { servers }))
        })
        .await
    }

    #[tool(
        description = "Recorded MCP tool calls, newest first; filter by server, tool, hours, flagged.",
        annotations(read_only_hint = true, open_world_hint = false)
    )]
    pub async fn get_mcp_calls(&self, Parameters(a): Parameters<CallsArgs>) -> Result<Json<McpCalls>, String> {
        let limit = check_limit(a.limit)?;
        if a.hours == 0 || a.hours > 24 * 365 {
            return Err(format!("hours must be between 1 and 8760; got {}", a.hours));
        }
        let state = self.state.clone();
        off_reactor(move || {
            let Some(conn) = store_reader(&state)? else { return Ok(Json(McpCalls { calls: Vec::new() })) };
            let since_ms = crate::collect::now_ms() - i64::from(a.hours) * 3_600_000;
            let filter = CallFilter { server: a.server, tool: a.tool, since_ms, flagged_only: a.flagged, limit };
            let rows = query::calls(&conn, &filter).map_err(|e| safe(&e.to_string(), 300))?;
            let calls = rows
                .into_iter()
                .map(|c| McpCallItem {
                    server: safe(&c.server_key, 300),
                    at_ms: c.at_ms,
                    tool: safe(&c.tool, 128),
                    arguments: safe(&c.arguments, 2000),
                    result_bytes: c.result_bytes,
                    duration_ms: c.duration_ms,
                    error: c.error.as_deref().map(|e| safe(e, 300)),
                    rules: c.flags,
                })
                .collect();
            Ok(Json(McpCalls { calls }))
        })
        .await
    }

    #[tool(description = "One observed MCP server: its latest tools and MCP findings, explained.", annotations(read_only_hint = true, open_world_hint = false))]
    pub async fn audit_mcp_server(&self, Parameters(a): Parameters<AuditArgs>) -> Result<Json<McpAudit>, String> {
        let state = self.state.clone();
        off_reactor(move || {
            let conn = store_reader(&state)?.ok_or("no event store is kept (--no-store): nothing was recorded")?;
            let servers = query::servers(&conn).map_err(|e| safe(&e.to_string(), 300))?;
            let wanted = a.server.trim();
            let found = servers.iter().find(|s| s.server_key == wanted).or_else(|| {
                servers.iter().find(|s| !wanted.is_empty() && (s.server_key.contains(wanted) || s.name.as_deref().is_some_and(|n| n.contains(wanted))))
            });
            let server = found.ok_or_else(|| format!("no observed MCP server matches `{}`; list_mcp_servers lists them", safe(wanted, 100)))?;
            let (version, latest, first) = query::specs(&conn, &server.server_key).map_err(|e| safe(&e.to_string(), 300))?.unwrap_or_default();
            let mut findings: Vec<McpFindingItem> =
                detect::spec_findings(&latest).iter().chain(&detect::rugpull::changed(&first, &latest)).map(|f| item(f, None)).collect();
            for f in query::findings(&conn, &server.server_key, 0, 200).map_err(|e| safe(&e.to_string(), 300))? {
                if f.server_key != server.server_key {
                    continue;
                }
                let g = AgentFinding { rule: f.rule, severity: f.severity, tool: f.tool, evidence: f.evidence };
                let it = item(&g, Some(f.at_ms));
                if !findings.iter().any(|x| x.at_ms.is_none() && x.rule == it.rule && x.tool == it.tool) {
                    findings.push(it);
                }
            }
            let explanations = findings
                .iter()
                .filter_map(|f| crate::agents::AgentRule::from_id(&f.rule))
                .map(|r| (r.id().to_string(), if a.lang == Lang::Ko { r.explanation_ko() } else { r.explanation() }.to_string()))
                .collect();
            let tools = latest.iter().take(500).map(|t| McpToolItem { name: safe(&t.name, 128), description: safe(&t.description, 1000) }).collect();
            Ok(Json(McpAudit { server: safe(&server.server_key, 300), spec_version: version, tools, findings, explanations }))
        })
        .await
    }
}
