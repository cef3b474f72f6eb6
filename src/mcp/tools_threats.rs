//! Threat tools: one address, recent threats, and the timeline of a source,
//! over findings and Suricata alerts from the event store (or, without
//! one, from memory: see `evidence.rs`). Every result says in `source`
//! what it could see.

// Field docs here are JSON Schema descriptions read by models: plain words,
// not rustdoc markup.
#![allow(clippy::doc_markdown)]

use std::collections::{BTreeMap, BTreeSet};
use std::net::IpAddr;

use rmcp::handler::server::wrapper::Parameters;
use rmcp::schemars::{self, JsonSchema};
use rmcp::{Json, tool, tool_router};
use serde::{Deserialize, Serialize};

use super::dto::{Detail, LIST_BUDGET, Lang, check_limit, default_limit, fit, parse_severity, portable_schema, safe};
use super::evidence::{ThreatItem, ThreatKind, distinct_types, gather, store_reader};
use super::{McpState, NecromapServer};
use crate::intel::{Phase, risk_level, threat_score};
use crate::model::{EndpointKey, Severity, Zone, normalize_ip};

fn default_hours() -> u32 {
    24
}

fn check_hours(hours: u32) -> Result<i64, String> {
    if hours == 0 || hours > 24 * 365 {
        return Err(format!("hours must be between 1 and 8760; got {hours}"));
    }
    Ok(i64::from(hours) * 3_600_000)
}

fn parse_ip(text: &str) -> Result<IpAddr, String> {
    text.trim().parse().map(normalize_ip).map_err(|_| format!("`{}` is not an IP address", safe(text, 60)))
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(transform = portable_schema)]
pub struct AnalyzeIpArgs {
    /// The IP address to analyse (IPv4 or IPv6).
    pub ip_address: String,
    /// How far back to look, in hours (1 to 8760).
    #[serde(default = "default_hours")]
    #[schemars(range(min = 1, max = 8760))]
    pub hours: u32,
    /// Language of explanations: en or ko.
    #[serde(default)]
    pub lang: Lang,
    /// brief (default) or full (adds each finding's explanation).
    #[serde(default)]
    pub detail: Detail,
}

#[derive(Debug, Serialize, JsonSchema)]
#[schemars(transform = portable_schema)]
pub struct ProcessRef {
    pub pid: Option<u32>,
    pub name: String,
    pub exe: Option<String>,
    /// Open sockets to the address now.
    pub open_sockets: usize,
    /// Socket events with it in the window (from the event store; 0 without one).
    pub events: u64,
    /// Bytes over connections to it that closed in the window.
    pub bytes_sent: u64,
    pub bytes_received: u64,
    pub last_ms: Option<i64>,
}

#[derive(Debug, Serialize, JsonSchema)]
#[schemars(transform = portable_schema)]
pub struct IpAnalysis {
    pub generation: u64,
    pub ip_address: String,
    /// loopback, private, link_local or public.
    pub zone: String,
    /// Offline country code for public addresses.
    pub country: Option<String>,
    /// The name the address is best known by, when one was seen.
    pub hostname: Option<String>,
    /// Every name seen for it, most recent first.
    pub names: Vec<String>,
    /// Where the first name came from: dns-answer (a process asked for it), ptr (reverse lookup) or hosts (/etc/hosts).
    pub name_source: Option<String>,
    /// The pid whose DNS query got the first name (dns-answer only, when its socket was known).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub asked_by: Option<u32>,
    /// IOC and other tags on the endpoint.
    pub tags: Vec<String>,
    /// Processes that had sockets to it in the window, or have now.
    pub processes: Vec<ProcessRef>,
    pub open_sockets: usize,
    pub findings: Vec<ThreatItem>,
    /// Suricata alerts about it (newest first).
    pub alerts: Vec<ThreatItem>,
    /// 0 to 100: min(100, 5·items + 10·distinct threat types), +30 when any item is critical.
    pub threat_score: u32,
    /// info, low, medium, high or critical, from the score.
    pub risk_level: String,
    pub attack_phases: Vec<String>,
    /// Logins from it (--auth-log/--journal): counts by kind for the last hour and day, users tried, accepts after failures.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "super::dto::object_schema")]
    pub logins: Option<serde_json::Value>,
    /// A cautious suggestion for a person to weigh.
    pub recommendation: String,
    /// What this answer could see.
    pub source: String,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(transform = portable_schema)]
pub struct RecentArgs {
    /// How far back to look, in hours (1 to 8760).
    #[serde(default = "default_hours")]
    #[schemars(range(min = 1, max = 8760))]
    pub hours: u32,
    /// Lowest severity to include: info, low, medium, high or critical.
    #[serde(default = "low")]
    pub severity: String,
    /// Only threats of this type: a finding tag (c2, beacon, scan, …) or words of an alert category.
    #[serde(default)]
    pub threat_type: String,
    /// Most items to return (1 to 10000).
    #[serde(default = "default_limit")]
    #[schemars(schema_with = "super::dto::limit_schema")]
    pub limit: u32,
    /// Language of explanations: en or ko.
    #[serde(default)]
    pub lang: Lang,
    /// brief (default) or full (adds each finding's explanation).
    #[serde(default)]
    pub detail: Detail,
}

fn low() -> String {
    "low".into()
}

#[derive(Debug, Serialize, JsonSchema)]
#[schemars(transform = portable_schema)]
pub struct RecentThreats {
    pub generation: u64,
    pub hours: u32,
    pub total: usize,
    pub by_severity: BTreeMap<String, usize>,
    /// Counts per type (finding tag or alert category).
    pub by_type: BTreeMap<String, usize>,
    /// Distinct remote addresses among the threats.
    pub unique_sources: usize,
    /// Most severe first, then most recent (at most `limit`).
    pub items: Vec<ThreatItem>,
    pub source: String,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(transform = portable_schema)]
pub struct TimelineArgs {
    /// The remote address whose activity to order.
    pub source_ip: String,
    /// How far back to look, in hours (1 to 8760).
    #[serde(default = "default_hours")]
    #[schemars(range(min = 1, max = 8760))]
    pub hours: u32,
}

#[derive(Debug, Serialize, JsonSchema)]
#[schemars(transform = portable_schema)]
pub struct TimelineEvent {
    pub time_ms: i64,
    /// alert, finding_first_seen, finding_last_seen, connection_opened, connection_closed or login_<kind> (failed, accepted, …).
    pub event: String,
    /// Finding id, `suricata:<sid>`, or the socket id.
    pub id: String,
    /// Rule name, alert signature, or the connection's process and ports.
    pub title: String,
    pub severity: Option<Severity>,
    /// The attack phase it points to, if any.
    pub phase: Option<Phase>,
}

#[derive(Debug, Serialize, JsonSchema)]
#[schemars(transform = portable_schema)]
pub struct Timeline {
    pub generation: u64,
    pub source_ip: String,
    pub events: Vec<TimelineEvent>,
    /// Phases seen, in attack order.
    pub attack_phases: Vec<String>,
    pub source: String,
}

fn recommendation(level: crate::model::Severity, zone: Zone) -> String {
    use crate::model::Severity as S;
    match (level, zone) {
        (_, Zone::Loopback) => "A loopback address: look at the local processes on both ends rather than at the address.".into(),
        (S::Critical | S::High, _) => "Worth a close look now: confirm which process talks to it and why (suggest_investigation with its pid); consider blocking it once a person agrees it is unwanted.".into(),
        (S::Medium, _) => "Keep an eye on it: check the findings' traces, and whether the processes talking to it are expected to.".into(),
        _ => "Nothing here points to a threat; no action suggested.".into(),
    }
}

#[tool_router(router = threats_router, vis = "pub(super)")]
impl NecromapServer {
    #[tool(
        description = "Use on one remote IP address to judge it over the last `hours`: zone, offline country, names, processes that talked to it, findings and Suricata alerts, a 0-100 threat score with risk level, attack phases and a cautious recommendation.",
        annotations(title = "Analyze an IP", read_only_hint = true, open_world_hint = false)
    )]
    pub async fn analyze_ip(&self, Parameters(a): Parameters<AnalyzeIpArgs>) -> Result<Json<IpAnalysis>, String> {
        let state = self.state.clone();
        super::off_reactor(move || analyze_ip_blocking(&state, &a)).await
    }

    #[tool(
        description = "Use to see what happened lately: findings and Suricata alerts of the last `hours` at or above `severity` (optionally one type), with counts by severity and type, unique remote sources and the items, most severe first.",
        annotations(title = "Recent threats", read_only_hint = true, open_world_hint = false)
    )]
    pub async fn get_recent_threats(&self, Parameters(a): Parameters<RecentArgs>) -> Result<Json<RecentThreats>, String> {
        let state = self.state.clone();
        super::off_reactor(move || get_recent_threats_blocking(&state, &a)).await
    }

    #[tool(
        description = "Use on one remote IP to order its activity over the last `hours`: alerts, findings' first and last sightings, logins and (with the event store) connections opened and closed, each with the attack phase it points to.",
        annotations(title = "Threat timeline", read_only_hint = true, open_world_hint = false)
    )]
    pub async fn get_threat_timeline(&self, Parameters(a): Parameters<TimelineArgs>) -> Result<Json<Timeline>, String> {
        let state = self.state.clone();
        super::off_reactor(move || get_threat_timeline_blocking(&state, &a)).await
    }
}

/// Brief items leave out explanations (a rule's is the same on each of its findings).
fn brief_items(items: &mut [ThreatItem], detail: Detail) {
    if !detail.full() {
        for i in items {
            i.explanation.clear();
        }
    }
}

/// The body of `analyze_ip`, run off the reactor (it reads the event store).
fn analyze_ip_blocking(state: &McpState, a: &AnalyzeIpArgs) -> Result<Json<IpAnalysis>, String> {
    let ip = parse_ip(&a.ip_address)?;
    let window = check_hours(a.hours)?;
    let s = state.snapshot();
    let since = s.taken_at_ms - window;
    let conn = store_reader(state)?;
    let (mut items, source) = gather(state, conn.as_ref(), &s, since, Some(ip), a.lang)?;
    brief_items(&mut items, a.detail);
    let (mut alerts, findings): (Vec<ThreatItem>, Vec<ThreatItem>) = items.into_iter().partition(|i| i.kind == ThreatKind::Alert);
    alerts.sort_by_key(|x| std::cmp::Reverse(x.last_ms));
    // Processes: open sockets now, and the store's history.
    let mut procs: BTreeMap<Option<u32>, ProcessRef> = BTreeMap::new();
    let mut open_sockets = 0;
    // Who talks with it now: its endpoints' edges in the map.
    for x in s.sockets_with(ip, None).into_iter().filter_map(|i| s.sockets.get(i)) {
        open_sockets += 1;
        let pid = x.owner().map(|p| p.0);
        let facts = x.owner().and_then(|p| s.process(p)).map(|p| &p.facts);
        let e = procs.entry(pid).or_insert_with(|| ProcessRef {
            pid,
            name: facts.map_or_else(String::new, |f| safe(&f.name, 64)),
            exe: facts.and_then(|f| f.exe.as_deref()).map(|e| safe(e, 256)),
            open_sockets: 0,
            events: 0,
            bytes_sent: 0,
            bytes_received: 0,
            last_ms: None,
        });
        e.open_sockets += 1;
    }
    if let Some(conn) = &conn {
        for p in crate::store::query::processes_for_ip(conn, ip, since).map_err(|e| safe(&e.to_string(), 300))? {
            let e = procs.entry(p.pid).or_insert_with(|| ProcessRef {
                pid: p.pid,
                name: p.comm.as_deref().map_or_else(String::new, |c| safe(c, 64)),
                exe: p.exe.as_deref().map(|x| safe(x, 256)),
                open_sockets: 0,
                events: 0,
                bytes_sent: 0,
                bytes_received: 0,
                last_ms: None,
            });
            e.events += p.events;
            e.bytes_sent += p.bytes_sent;
            e.bytes_received += p.bytes_received;
            e.last_ms = Some(e.last_ms.unwrap_or(p.last_ms).max(p.last_ms));
        }
    }
    let mut processes: Vec<ProcessRef> = procs.into_values().collect();
    processes.sort_by_key(|x| std::cmp::Reverse((x.open_sockets, x.events)));
    let all: Vec<ThreatItem> = findings.iter().chain(&alerts).cloned().collect();
    let score = threat_score(all.len(), distinct_types(&all), all.iter().any(|i| i.severity == Severity::Critical));
    let level = risk_level(score);
    let zone = Zone::of(ip);
    let endpoint = s.endpoints.get(&EndpointKey::host(ip));
    let phases: BTreeSet<Phase> = all.iter().filter_map(|i| i.phase).collect();
    Ok(Json(IpAnalysis {
        generation: s.generation,
        ip_address: ip.to_string(),
        zone: zone.name().to_string(),
        country: endpoint.and_then(|e| e.country.clone()).or_else(|| (zone == Zone::Public).then(|| iptocc::country_code(ip)).flatten().map(str::to_string)),
        hostname: endpoint.and_then(|e| e.hostname.as_deref()).map(|h| safe(h, 256)),
        names: endpoint.map(|e| e.names.iter().map(|n| safe(n, 256)).collect()).unwrap_or_default(),
        name_source: endpoint.and_then(|e| e.name_source).map(|n| n.name().to_string()),
        asked_by: endpoint.and_then(|e| e.asked_by),
        tags: endpoint.map(|e| e.tags.clone()).unwrap_or_default(),
        processes: processes.into_iter().take(50).collect(),
        open_sockets,
        findings: findings.into_iter().take(200).collect(),
        alerts: alerts.into_iter().take(200).collect(),
        threat_score: score,
        risk_level: level.name().to_string(),
        attack_phases: phases.iter().map(|p| p.name().to_string()).collect(),
        logins: super::logins::tally(&s, conn.as_ref(), ip)?.and_then(|t| serde_json::to_value(t).ok()),
        recommendation: recommendation(level, zone),
        source,
    }))
}

/// The body of `get_recent_threats`, run off the reactor (it reads the event store).
fn get_recent_threats_blocking(state: &McpState, a: &RecentArgs) -> Result<Json<RecentThreats>, String> {
    let window = check_hours(a.hours)?;
    let min = parse_severity(&a.severity)?;
    let limit = check_limit(a.limit)?;
    let s = state.snapshot();
    let since = s.taken_at_ms - window;
    let ty = a.threat_type.trim().to_lowercase();
    let (mut items, source) = gather(state, store_reader(state)?.as_ref(), &s, since, None, a.lang)?;
    brief_items(&mut items, a.detail);
    let mut items: Vec<ThreatItem> = items
        .into_iter()
        .filter(|i| i.severity >= min)
        .filter(|i| ty.is_empty() || i.types.iter().any(|t| t.to_lowercase() == ty || t.to_lowercase().contains(&ty)))
        .collect();
    items.sort_by(|x, y| y.severity.cmp(&x.severity).then(y.last_ms.cmp(&x.last_ms)).then_with(|| x.id.cmp(&y.id)));
    let mut by_severity = BTreeMap::new();
    let mut by_type = BTreeMap::new();
    let mut sources = BTreeSet::new();
    for i in &items {
        *by_severity.entry(i.severity.name().to_string()).or_insert(0) += 1;
        for t in &i.types {
            *by_type.entry(t.clone()).or_insert(0) += 1;
        }
        if let Some(r) = &i.remote_address {
            sources.insert(r.clone());
        }
    }
    Ok(Json(RecentThreats {
        generation: s.generation,
        hours: a.hours,
        total: items.len(),
        by_severity,
        by_type,
        unique_sources: sources.len(),
        items: fit(items.into_iter().take(limit).collect(), LIST_BUDGET),
        source,
    }))
}

/// The body of `get_threat_timeline`, run off the reactor (it reads the event store).
fn get_threat_timeline_blocking(state: &McpState, a: &TimelineArgs) -> Result<Json<Timeline>, String> {
    let ip = parse_ip(&a.source_ip)?;
    let window = check_hours(a.hours)?;
    let s = state.snapshot();
    let since = s.taken_at_ms - window;
    let conn = store_reader(state)?;
    let (items, source) = gather(state, conn.as_ref(), &s, since, Some(ip), Lang::En)?;
    let mut events = Vec::new();
    let mut phases = BTreeSet::new();
    for i in &items {
        let phase = i.phase;
        phases.extend(phase);
        let stamps: &[(i64, &str)] =
            if i.kind == ThreatKind::Alert { &[(i.first_ms, "alert")] } else { &[(i.first_ms, "finding_first_seen"), (i.last_ms, "finding_last_seen")] };
        for (time_ms, event) in stamps {
            if *time_ms >= since {
                events.push(TimelineEvent {
                    time_ms: *time_ms,
                    event: (*event).into(),
                    id: i.id.clone(),
                    title: i.title.clone(),
                    severity: Some(i.severity),
                    phase,
                });
            }
        }
    }
    if let Some(conn) = &conn {
        for e in crate::store::query::connections_with(conn, ip, since, 500).map_err(|e| safe(&e.to_string(), 300))? {
            events.push(TimelineEvent {
                time_ms: e.at_ms,
                event: format!("connection_{}", e.kind),
                id: e.socket_id,
                title: format!(
                    "{} {} {}:{} ↔ {}:{}",
                    e.comm.as_deref().map_or_else(|| "?".to_string(), |c| safe(c, 64)),
                    e.protocol,
                    e.local_ip,
                    e.local_port,
                    e.remote_ip,
                    e.remote_port
                ),
                severity: None,
                phase: None,
            });
        }
    }
    for e in super::logins::events(&s, conn.as_ref(), ip, since)? {
        let phase = super::logins::phase(e.kind);
        phases.extend(phase);
        events.push(TimelineEvent {
            time_ms: e.at_ms,
            event: format!("login_{}", e.kind.name()),
            id: format!("login:{}[{}]", safe(&e.service, 32), e.pid.map_or_else(|| "-".into(), |p| p.to_string())),
            title: super::logins::title(&e),
            severity: None,
            phase,
        });
    }
    events.sort_by(|x, y| x.time_ms.cmp(&y.time_ms).then_with(|| x.id.cmp(&y.id)));
    events.truncate(2_000);
    Ok(Json(Timeline {
        generation: s.generation,
        source_ip: ip.to_string(),
        events,
        attack_phases: phases.iter().map(|p| p.name().to_string()).collect(),
        source,
    }))
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::collector::Published;
    use crate::model::two_namespaces::snapshot;
    use crate::model::{EndpointKey, NameSource};

    #[test]
    fn analyze_ip_names_the_address_and_the_process_that_asked() {
        let mut s = snapshot(None);
        let ip: IpAddr = "203.0.113.9".parse().expect("ip");
        let e = s.endpoints.get_mut(&EndpointKey::host(ip)).expect("the shared public peer");
        e.names = vec!["c2.example.test".into(), "old.example.test".into()];
        e.hostname = Some("c2.example.test".into());
        e.name_source = Some(NameSource::DnsAnswer);
        e.asked_by = Some(4242);
        let (_tx, published) = tokio::sync::watch::channel(Arc::new(Published::of(Arc::new(s))));
        let state = McpState::new(published, Arc::new(crate::spec::Spec::embedded()), Arc::from(""), Arc::new(crate::rules::RuleSet::empty()));
        let args: AnalyzeIpArgs = serde_json::from_value(serde_json::json!({ "ip_address": "203.0.113.9" })).expect("args");
        let a = analyze_ip_blocking(&state, &args).expect("answer").0;
        assert_eq!(a.names, ["c2.example.test", "old.example.test"]);
        assert_eq!(a.name_source.as_deref(), Some("dns-answer"));
        assert_eq!(a.asked_by, Some(4242));
        let unnamed: AnalyzeIpArgs = serde_json::from_value(serde_json::json!({ "ip_address": "198.51.100.1" })).expect("args");
        let b = serde_json::to_value(analyze_ip_blocking(&state, &unnamed).expect("answer").0).expect("json");
        assert!(b.get("asked_by").is_none(), "left out when nobody asked: {b}");
    }
}
