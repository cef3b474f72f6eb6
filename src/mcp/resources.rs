//! Resources: the dashboard as text, the snapshot as JSON, the spec and the
//! rules. Each read takes one snapshot.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use rmcp::ErrorData;
use rmcp::model::{ReadResourceResult, Resource, ResourceContents};

use super::McpState;
use crate::model::Snapshot;
use crate::text::{bounded, escape_control};

pub const DASHBOARD: &str = "dashboard://summary";
pub const SNAPSHOT: &str = "necromap://snapshot";
pub const SPEC: &str = "necromap://spec";
pub const RULES: &str = "necromap://rules";

pub fn list() -> Vec<Resource> {
    [
        (DASHBOARD, "dashboard", "Findings of the last 24 h by severity, top threat types, top endpoints and processes (text).", "text/plain"),
        (
            SNAPSHOT,
            "snapshot",
            "The current snapshot as necromap's JSON document (processes, sockets, endpoints, listeners, findings, health).",
            "application/json",
        ),
        (SPEC, "spec", "The network-map spec in use (YAML).", "application/yaml"),
        (RULES, "rules", "The detection rules loaded, as JSON.", "application/json"),
    ]
    .into_iter()
    .map(|(uri, name, description, mime)| {
        let mut r = Resource::new(uri, name).with_description(description);
        r.mime_type = Some(mime.into());
        r
    })
    .collect()
}

pub fn read(state: &McpState, uri: &str) -> Result<ReadResourceResult, ErrorData> {
    let (text, mime) = match uri {
        DASHBOARD => (dashboard(state, &state.snapshot()), "text/plain"),
        SNAPSHOT => {
            let mut out = Vec::new();
            crate::export::write_json(&state.snapshot(), &mut out, false).map_err(|e| ErrorData::internal_error(e.to_string(), None))?;
            (String::from_utf8_lossy(&out).into_owned(), "application/json")
        }
        SPEC => (state.spec_text.to_string(), "application/yaml"),
        RULES => {
            let rules: Vec<&crate::rules::schema::Rule> = state.rules.rules.iter().map(|r| &r.rule).collect();
            (
                crate::text::json_escape_unsafe(&serde_json::to_string(&rules).map_err(|e| ErrorData::internal_error(e.to_string(), None))?).into_owned(),
                "application/json",
            )
        }
        _ => {
            return Err(ErrorData::resource_not_found(
                format!("no resource {}; necromap has {DASHBOARD}, {SNAPSHOT}, {SPEC} and {RULES}", bounded(&escape_control(uri), 120)),
                None,
            ));
        }
    };
    let text = if text.len() > super::dto::ANSWER_MAX { too_large(uri, text.len(), mime) } else { text };
    Ok(ReadResourceResult::new(vec![ResourceContents::text(text, uri).with_mime_type(mime)]))
}

/// What a resource over the 1 MB bound says instead of itself.
fn too_large(uri: &str, bytes: usize, mime: &str) -> String {
    let note = format!(
        "{uri} is {bytes} bytes, over necromap's 1 MB bound for an answer: page through it with list_connections, list_processes, get_suspicious_connections and get_detection_rules (limit and offset), or run `necromap snapshot` on the host"
    );
    if mime == "application/json" { serde_json::json!({ "truncated": true, "bytes": bytes, "note": note }).to_string() } else { note }
}

/// The dashboard text: findings and alerts of the last 24 h, top types,
/// endpoints and processes. Host strings escaped and bounded.
fn dashboard(state: &McpState, s: &Snapshot) -> String {
    let since = s.taken_at_ms - 24 * 3_600_000;
    let gathered = super::evidence::store_reader(state).and_then(|conn| super::evidence::gather(state, conn.as_ref(), s, since, None, super::dto::Lang::En));
    let (recent, source) = match gathered {
        Ok(r) => r,
        Err(_) => (Vec::new(), "the event store could not be read".to_string()),
    };
    let mut o = String::new();
    let _ = writeln!(
        o,
        "necromap dashboard · host {} · snapshot {} at {} · {} sockets, {} processes, {} endpoints",
        escape_control(&s.source.host),
        s.generation,
        crate::duration::utc(s.taken_at_ms),
        s.sockets.len(),
        s.processes.len(),
        s.endpoints.len()
    );
    let alerts = recent.iter().filter(|i| i.kind == super::evidence::ThreatKind::Alert).count();
    let _ = writeln!(o, "\nfindings and alerts of the last 24 h: {} ({alerts} Suricata alerts) · source: {source}", recent.len());
    for sev in crate::model::Severity::ALL.iter().rev() {
        let n = recent.iter().filter(|f| f.severity == *sev).count();
        if n > 0 {
            let _ = writeln!(o, "  {:<8} {n}", sev.name());
        }
    }
    let mut types: BTreeMap<&str, usize> = BTreeMap::new();
    for f in &recent {
        for t in &f.types {
            *types.entry(t.as_str()).or_insert(0) += 1;
        }
    }
    let mut types: Vec<_> = types.into_iter().collect();
    types.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(b.0)));
    let _ = writeln!(o, "\ntop threat types:");
    for (t, n) in types.iter().take(8) {
        let _ = writeln!(o, "  {t:<16} {n}");
    }
    let mut eps: Vec<_> = s.endpoints.values().collect();
    eps.sort_by(|a, b| b.connection_count.cmp(&a.connection_count).then(a.ip.cmp(&b.ip)));
    let _ = writeln!(o, "\ntop endpoints:");
    for e in eps.iter().take(8) {
        let _ = writeln!(o, "  {:<40} {:<10} {:>6} connections", e.ip, e.zone.name(), e.connection_count);
    }
    let mut procs: Vec<_> = s.processes.values().collect();
    procs.sort_by(|a, b| b.socket_count.cmp(&a.socket_count).then(a.facts.pid.cmp(&b.facts.pid)));
    let _ = writeln!(o, "\ntop processes:");
    for p in procs.iter().take(8) {
        let _ = writeln!(o, "  {:>7}  {:<16} {:>6} sockets", p.facts.pid, bounded(&escape_control(&p.facts.name), 16), p.socket_count);
    }
    o
}
