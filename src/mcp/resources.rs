//! Resources: the dashboard as text, the snapshot as JSON, the spec, the
//! rules, and the findings and recent alerts (which clients may subscribe
//! to, see `notify.rs`). Each read takes one snapshot. JSON resources are
//! compact, without null or empty fields.

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
pub const FINDINGS: &str = "necromap://findings";
pub const ALERTS: &str = "necromap://alerts/recent";

/// Most items the findings and alerts resources list.
const RESOURCE_ITEMS: usize = 100;
/// The window of `necromap://alerts/recent`.
const ALERT_WINDOW_MS: i64 = 3_600_000;

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
        (
            FINDINGS,
            "findings",
            "The current findings, most severe first (at most 100, with the total). Subscribe to be told when one of medium or above appears.",
            "application/json",
        ),
        (ALERTS, "alerts", "Suricata alerts of the last hour, newest first (at most 100). Subscribe to be told when alerts arrive.", "application/json"),
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
            (crate::text::json_escape_unsafe(&compact_json(&rules)?).into_owned(), "application/json")
        }
        FINDINGS => (compact_json(&findings(&state.snapshot()))?, "application/json"),
        ALERTS => (compact_json(&alerts(state, &state.snapshot())?)?, "application/json"),
        _ => {
            return Err(ErrorData::resource_not_found(
                format!(
                    "no resource {}; necromap has {DASHBOARD}, {SNAPSHOT}, {SPEC}, {RULES}, {FINDINGS} and {ALERTS} (see resources/list)",
                    bounded(&escape_control(uri), 120)
                ),
                None,
            ));
        }
    };
    let text = if text.len() > super::dto::ANSWER_MAX { too_large(uri, text.len(), mime) } else { text };
    Ok(ReadResourceResult::new(vec![ResourceContents::text(text, uri).with_mime_type(mime)]))
}

/// JSON without null or empty fields.
fn compact_json<T: serde::Serialize>(value: &T) -> Result<String, ErrorData> {
    let mut v = serde_json::to_value(value).map_err(|e| ErrorData::internal_error(e.to_string(), None))?;
    super::compact::prune(&mut v);
    Ok(v.to_string())
}

/// `necromap://findings`: the most severe findings of the snapshot.
fn findings(s: &Snapshot) -> serde_json::Value {
    let mut ranked: Vec<&crate::model::Finding> = s.findings.iter().collect();
    ranked.sort_by(|x, y| y.severity.cmp(&x.severity).then_with(|| x.id.cmp(&y.id)));
    let items: Vec<super::dto::FindingItem> =
        ranked.iter().take(RESOURCE_ITEMS).map(|f| super::dto::FindingItem::new(s, f, super::dto::Detail::Brief)).collect();
    let mut by_severity: BTreeMap<&str, usize> = BTreeMap::new();
    for f in &s.findings {
        *by_severity.entry(f.severity.name()).or_insert(0) += 1;
    }
    serde_json::json!({
        "generation": s.generation,
        "taken_at_ms": s.taken_at_ms,
        "total": s.findings.len(),
        "by_severity": by_severity,
        "findings": items,
        "next": "explain_connection {socket_id} or suggest_investigation {pid} for one finding's subject; get_suspicious_connections pages them all with each rule's explanation",
    })
}

/// `necromap://alerts/recent`: the Suricata alerts of the last hour.
fn alerts(state: &McpState, s: &Snapshot) -> Result<serde_json::Value, ErrorData> {
    let since = s.taken_at_ms - ALERT_WINDOW_MS;
    let conn = super::evidence::store_reader(state).map_err(|e| ErrorData::internal_error(e, None))?;
    let (items, source) =
        super::evidence::gather(state, conn.as_ref(), s, since, None, super::dto::Lang::En).map_err(|e| ErrorData::internal_error(e, None))?;
    let mut alerts: Vec<super::evidence::ThreatItem> = items.into_iter().filter(|i| i.kind == super::evidence::ThreatKind::Alert).collect();
    alerts.sort_by(|x, y| y.last_ms.cmp(&x.last_ms).then_with(|| x.id.cmp(&y.id)));
    let total = alerts.len();
    alerts.truncate(RESOURCE_ITEMS);
    Ok(serde_json::json!({
        "generation": s.generation,
        "total": total,
        "alerts": alerts,
        "source": source,
        "next": "analyze_ip {ip_address} or get_threat_timeline {source_ip} for one party; propose_blocks for what to block",
    }))
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
    for (t, n) in types.iter().take(6) {
        let _ = writeln!(o, "  {t:<16} {n}");
    }
    let mut eps: Vec<_> = s.endpoints.values().collect();
    eps.sort_by(|a, b| b.connection_count.cmp(&a.connection_count).then(a.ip.cmp(&b.ip)));
    let _ = writeln!(o, "\ntop endpoints:");
    for e in eps.iter().take(6) {
        let _ = writeln!(o, "  {:<40} {:<10} {:>6} connections", e.ip, e.zone.name(), e.connection_count);
    }
    let mut procs: Vec<_> = s.processes.values().collect();
    procs.sort_by(|a, b| b.socket_count.cmp(&a.socket_count).then(a.facts.pid.cmp(&b.facts.pid)));
    let _ = writeln!(o, "\ntop processes:");
    for p in procs.iter().take(6) {
        let _ = writeln!(o, "  {:>7}  {:<16} {:>6} sockets", p.facts.pid, bounded(&escape_control(&p.facts.name), 16), p.socket_count);
    }
    let _ = writeln!(
        o,
        "\nnext: get_suspicious_connections (what was flagged and why), explain_connection {{socket_id}}, suggest_investigation {{pid}}, analyze_ip {{ip_address}}; subscribe to {FINDINGS} and {ALERTS} to hear of new ones"
    );
    o
}
