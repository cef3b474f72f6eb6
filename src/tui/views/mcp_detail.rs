//! An MCP server's part of the process detail: what the agents' evaluator
//! knows of it (the `mcp_server` finding's trace: who observed or
//! configured it, its tools, recent calls) and how many MCP findings it
//! drew, worst first. Everything shown comes from the host or the store
//! and is escaped and bounded.

use ratatui::text::Line;

use super::super::app::App;
use crate::model::{Finding, Pid, Subject};
use crate::text::{bounded, escape_control};

/// The detail's lines about `pid` as an MCP server (none when it is not one).
pub fn mcp_lines(app: &App, pid: Pid, out: &mut Vec<Line<'static>>, kv: fn(&str, String) -> Line<'static>) {
    let findings: Vec<&Finding> = app.snapshot.findings.iter().filter(|f| f.subject.pid() == Some(pid)).collect();
    let Some(marker) = findings.iter().find(|f| f.tags.iter().any(|t| t == "mcp_server")) else { return };
    let mut head = "MCP server".to_string();
    let mut rest = Vec::new();
    for step in &marker.trace {
        let value = bounded(&escape_control(&step.value), 200);
        match step.condition.as_str() {
            "observed by" | "configured in" => head = format!("MCP server · {} {value}", step.condition),
            "server name" => rest.push(kv("mcp name", value)),
            "tools" if value.is_empty() => rest.push(kv("tools", "(no tool list seen yet)".into())),
            "tools" => rest.push(kv("tools", value)),
            "recent calls" => rest.push(kv("calls", value)),
            _ => {}
        }
    }
    out.push(kv("mcp", head));
    out.extend(rest);
    let mcp: Vec<&&Finding> = findings.iter().filter(|f| f.rule_id.starts_with("mcp_") && f.rule_id != "mcp_server").collect();
    let summary = match mcp.iter().map(|f| f.severity).max() {
        Some(worst) => {
            let mut rules: Vec<&str> = mcp.iter().map(|f| f.rule_id.as_str()).collect();
            rules.sort_unstable();
            rules.dedup();
            format!("{} (worst {}): {}", mcp.len(), worst.name(), bounded(&rules.join(", "), 200))
        }
        None => "none".into(),
    };
    out.push(kv("findings", summary));
}

/// The host detail's lines about MCP servers that hold no socket (stdio
/// servers: no node on the map), one line each.
pub fn host_lines(app: &App, out: &mut Vec<Line<'static>>, kv: fn(&str, String) -> Line<'static>) {
    let socketless = app.snapshot.findings.iter().filter(|f| f.subject == Subject::Host && f.tags.iter().any(|t| t == "mcp_server"));
    for f in socketless.take(20) {
        let value = |c: &str| f.trace.iter().find(|s| s.condition == c).map(|s| bounded(&escape_control(&s.value), 160));
        let who = value("server name").or_else(|| value("observed by")).unwrap_or_default();
        let process = value("process").unwrap_or_default();
        let tools = value("tools").filter(|t| !t.is_empty()).unwrap_or_else(|| "no tool list yet".into());
        let finds = value("findings").map_or_else(String::new, |n| format!(" · findings {n}"));
        out.push(kv("mcp", format!("{who} · {process} · tools {tools}{finds}")));
    }
}
