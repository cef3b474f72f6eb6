//! Threat tools: one address, recent threats, and the timeline of a source.
//!
//! Until the event store exists they answer from what this process holds:
//! the current snapshot's findings (with first/last seen) and its sockets.
//! Every result says so in `source`, so a model does not take "nothing in
//! the last 24 h" for more than it is.

// Field docs here are JSON Schema descriptions read by models: plain words,
// not rustdoc markup.
#![allow(clippy::doc_markdown)]

use std::collections::{BTreeMap, BTreeSet};
use std::net::IpAddr;

use rmcp::handler::server::wrapper::Parameters;
use rmcp::schemars::{self, JsonSchema};
use rmcp::{Json, tool, tool_router};
use serde::{Deserialize, Serialize};

use super::NecromapServer;
use super::dto::{FindingItem, Lang, check_limit, default_limit, parse_severity, portable_schema, safe};
use crate::intel::{Phase, phase_of, risk_level, threat_score};
use crate::model::{EndpointKey, Finding, Snapshot, Subject, Zone, normalize_ip};

/// What the threat tools can see until the event store lands.
const IN_MEMORY: &str = "in-memory: findings of the current snapshot (first/last seen since necromap started) and its open sockets; the event store with past socket events and alerts is not built yet";

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

/// Whether a finding concerns this remote address.
fn about_ip(s: &Snapshot, f: &Finding, ip: IpAddr) -> bool {
    match f.subject {
        Subject::Endpoint { endpoint } => normalize_ip(endpoint.0) == ip,
        Subject::Socket { socket, .. } => s.socket(socket).is_some_and(|x| normalize_ip(x.raw.remote.ip()) == ip),
        Subject::Process { pid } => s.sockets.iter().any(|x| x.raw.owners.contains(&pid) && normalize_ip(x.raw.remote.ip()) == ip),
    }
}

/// The remote address a finding is about, if one.
fn source_of(s: &Snapshot, f: &Finding) -> Option<IpAddr> {
    match f.subject {
        Subject::Endpoint { endpoint } => Some(endpoint.0),
        Subject::Socket { socket, .. } => s.socket(socket).map(|x| x.raw.remote.ip()).filter(|ip| !ip.is_unspecified()),
        Subject::Process { .. } => None,
    }
}

fn phases_of(tags: &[String]) -> BTreeSet<Phase> {
    tags.iter().filter_map(|t| phase_of(t)).collect()
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(transform = portable_schema)]
pub struct AnalyzeIpArgs {
    /// The IP address to analyse (IPv4 or IPv6).
    pub ip_address: String,
    /// How far back to look, in hours (1 to 8760).
    #[serde(default = "default_hours")]
    pub hours: u32,
    /// Language of explanations: en or ko.
    #[serde(default)]
    pub lang: Lang,
}

#[derive(Debug, Serialize, JsonSchema)]
#[schemars(transform = portable_schema)]
pub struct ProcessRef {
    pub pid: u32,
    pub name: String,
    /// Open sockets to the address now.
    pub sockets: usize,
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
    /// Reverse name when known.
    pub hostname: Option<String>,
    /// IOC and other tags on the endpoint.
    pub tags: Vec<String>,
    /// Processes with open sockets to it.
    pub processes: Vec<ProcessRef>,
    pub open_sockets: usize,
    pub findings: Vec<FindingItem>,
    /// Suricata alerts (none until the alert intake exists).
    pub alerts: Vec<String>,
    /// 0 to 100: min(100, 5·items + 10·distinct threat types), +30 when any item is critical.
    pub threat_score: u32,
    /// info, low, medium, high or critical, from the score.
    pub risk_level: String,
    pub attack_phases: Vec<String>,
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
    pub hours: u32,
    /// Lowest severity to include: info, low, medium, high or critical.
    #[serde(default = "low")]
    pub severity: String,
    /// Only threats with this tag (c2, beacon, scan, …). Empty: all.
    #[serde(default)]
    pub threat_type: String,
    /// Most items to return (1 to 10000).
    #[serde(default = "default_limit")]
    pub limit: u32,
    /// Language of explanations: en or ko.
    #[serde(default)]
    pub lang: Lang,
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
    /// Counts per tag.
    pub by_type: BTreeMap<String, usize>,
    /// Distinct remote addresses among the threats.
    pub unique_sources: usize,
    /// Most severe first, then most recent.
    pub items: Vec<FindingItem>,
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
    pub hours: u32,
}

#[derive(Debug, Serialize, JsonSchema)]
#[schemars(transform = portable_schema)]
pub struct TimelineEvent {
    pub time_ms: i64,
    /// first_seen or last_seen of a finding.
    pub event: String,
    pub rule_id: String,
    pub severity: String,
    /// The attack phase its tags point to, if any.
    pub phase: Option<String>,
    pub finding_id: String,
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
        description = "Analyse one IP address: zone, offline country, processes with sockets to it, findings about it, a 0-100 threat score with risk level, attack phases and a cautious recommendation.",
        annotations(title = "Analyze an IP", read_only_hint = true, open_world_hint = false)
    )]
    pub fn analyze_ip(&self, Parameters(a): Parameters<AnalyzeIpArgs>) -> Result<Json<IpAnalysis>, String> {
        let ip = parse_ip(&a.ip_address)?;
        let window = check_hours(a.hours)?;
        let s = self.state.snapshot();
        let since = s.taken_at_ms - window;
        let findings: Vec<&Finding> = s.findings.iter().filter(|f| f.last_seen_ms >= since && about_ip(&s, f, ip)).collect();
        let mut per_pid: BTreeMap<u32, usize> = BTreeMap::new();
        let mut open_sockets = 0;
        for x in s.sockets.iter().filter(|x| normalize_ip(x.raw.remote.ip()) == ip) {
            open_sockets += 1;
            if let Some(p) = x.owner() {
                *per_pid.entry(p.0).or_insert(0) += 1;
            }
        }
        let types: BTreeSet<&String> = findings.iter().flat_map(|f| &f.tags).collect();
        let score = threat_score(findings.len(), types.len(), findings.iter().any(|f| f.severity == crate::model::Severity::Critical));
        let level = risk_level(score);
        let zone = Zone::of(ip);
        let endpoint = s.endpoints.get(&EndpointKey(ip));
        let phases: BTreeSet<Phase> = findings.iter().flat_map(|f| phases_of(&f.tags)).collect();
        Ok(Json(IpAnalysis {
            generation: s.generation,
            ip_address: ip.to_string(),
            zone: zone.name().to_string(),
            country: endpoint
                .and_then(|e| e.country.clone())
                .or_else(|| (zone == Zone::Public).then(|| iptocc::country_code(ip)).flatten().map(str::to_string)),
            hostname: endpoint.and_then(|e| e.hostname.as_deref()).map(|h| safe(h, 256)),
            tags: endpoint.map(|e| e.tags.clone()).unwrap_or_default(),
            processes: per_pid
                .into_iter()
                .map(|(pid, n)| ProcessRef { pid, name: s.process(crate::model::Pid(pid)).map_or_else(String::new, |p| safe(&p.facts.name, 64)), sockets: n })
                .collect(),
            open_sockets,
            findings: findings.iter().map(|f| FindingItem::new(&s, f, a.lang)).collect(),
            alerts: Vec::new(),
            threat_score: score,
            risk_level: level.name().to_string(),
            attack_phases: phases.iter().map(|p| p.name().to_string()).collect(),
            recommendation: recommendation(level, zone),
            source: IN_MEMORY.into(),
        }))
    }

    #[tool(
        description = "Recent threats: findings seen in the last `hours` at or above `severity`, optionally of one type (tag): totals, counts by severity and by type, unique remote sources, and the items, most severe first.",
        annotations(title = "Recent threats", read_only_hint = true, open_world_hint = false)
    )]
    pub fn get_recent_threats(&self, Parameters(a): Parameters<RecentArgs>) -> Result<Json<RecentThreats>, String> {
        let window = check_hours(a.hours)?;
        let min = parse_severity(&a.severity)?;
        let limit = check_limit(a.limit)?;
        let s = self.state.snapshot();
        let since = s.taken_at_ms - window;
        let ty = a.threat_type.trim();
        let mut items: Vec<&Finding> =
            s.findings.iter().filter(|f| f.last_seen_ms >= since && f.severity >= min && (ty.is_empty() || f.tags.iter().any(|t| t == ty))).collect();
        items.sort_by(|x, y| y.severity.cmp(&x.severity).then(y.last_seen_ms.cmp(&x.last_seen_ms)).then_with(|| x.id.cmp(&y.id)));
        let mut by_severity = BTreeMap::new();
        let mut by_type = BTreeMap::new();
        let mut sources = BTreeSet::new();
        for f in &items {
            *by_severity.entry(f.severity.name().to_string()).or_insert(0) += 1;
            for t in &f.tags {
                *by_type.entry(t.clone()).or_insert(0) += 1;
            }
            if let Some(ip) = source_of(&s, f) {
                sources.insert(ip);
            }
        }
        Ok(Json(RecentThreats {
            generation: s.generation,
            hours: a.hours,
            total: items.len(),
            by_severity,
            by_type,
            unique_sources: sources.len(),
            items: items.iter().take(limit).map(|f| FindingItem::new(&s, f, a.lang)).collect(),
            source: IN_MEMORY.into(),
        }))
    }

    #[tool(
        description = "The timeline of one remote source: its findings' first and last sightings in time order, each with the attack phase its tags point to (reconnaissance, exploitation, persistence, lateral movement, command and control, exfiltration).",
        annotations(title = "Threat timeline", read_only_hint = true, open_world_hint = false)
    )]
    pub fn get_threat_timeline(&self, Parameters(a): Parameters<TimelineArgs>) -> Result<Json<Timeline>, String> {
        let ip = parse_ip(&a.source_ip)?;
        let window = check_hours(a.hours)?;
        let s = self.state.snapshot();
        let since = s.taken_at_ms - window;
        let mut events = Vec::new();
        let mut phases = BTreeSet::new();
        for f in s.findings.iter().filter(|f| f.last_seen_ms >= since && about_ip(&s, f, ip)) {
            let phase = phases_of(&f.tags).into_iter().next();
            phases.extend(phase);
            for (time_ms, event) in [(f.first_seen_ms, "first_seen"), (f.last_seen_ms, "last_seen")] {
                if time_ms >= since {
                    events.push(TimelineEvent {
                        time_ms,
                        event: event.into(),
                        rule_id: f.rule_id.clone(),
                        severity: f.severity.name().to_string(),
                        phase: phase.map(|p| p.name().to_string()),
                        finding_id: safe(&f.id, 256),
                    });
                }
            }
        }
        events.sort_by(|x, y| x.time_ms.cmp(&y.time_ms).then_with(|| x.finding_id.cmp(&y.finding_id)));
        Ok(Json(Timeline {
            generation: s.generation,
            source_ip: ip.to_string(),
            events,
            attack_phases: phases.iter().map(|p| p.name().to_string()).collect(),
            source: IN_MEMORY.into(),
        }))
    }
}
