//! Tools that explain: a summary of the whole host, one connection, and what
//! to look at next for one process.

// Field docs here are JSON Schema descriptions read by models: plain words,
// not rustdoc markup.
#![allow(clippy::doc_markdown)]

use std::collections::BTreeMap;
use std::net::IpAddr;

use rmcp::handler::server::wrapper::Parameters;
use rmcp::schemars::{self, JsonSchema};
use rmcp::{Json, tool, tool_router};
use serde::{Deserialize, Serialize};

use super::NecromapServer;
use super::dto::{
    ConnectionItem, Detail, FindingItem, LIST_BUDGET, Lang, ProcessItem, RuleNote, check_limit, finding_about_pid, fit, portable_schema, rule_notes, safe,
    steps_of,
};
use super::tools_connections::{severity_counts, unknown_view};
use crate::model::{Pid, Severity, Snapshot, Socket, SocketKey, view};

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(transform = portable_schema)]
pub struct AnalyzeArgs {
    /// Analyse only the sockets of this view of the spec (default, suspicious_only, internet_only, …).
    #[serde(default)]
    pub view: String,
    /// Most finding ids to list in findings_by_severity, most severe first (1 to 10000, default 10); the counts cover all of them.
    #[serde(default = "ten")]
    #[schemars(schema_with = "ten_schema")]
    pub limit: u32,
}

fn ten() -> u32 {
    10
}

fn ten_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
    schemars::json_schema!({ "type": "integer", "minimum": 1, "maximum": super::dto::LIMIT_MAX, "default": 10 })
}

/// Where to go from the summary (fixed text).
const DRILL_DOWN: &str = "get_suspicious_connections: the flagged connections with why and each rule's explanation; explain_connection {socket_id} or suggest_investigation {pid}: one connection or process in depth; list_connections {filter: \"sev>=medium\"}: the sockets themselves; get_recent_threats and analyze_ip: alerts and remote parties.";

#[derive(Debug, Serialize, JsonSchema)]
#[schemars(transform = portable_schema)]
pub struct Analysis {
    pub generation: u64,
    pub taken_at_ms: i64,
    pub host: String,
    /// Sockets analysed (after the view filter).
    pub socket_count: usize,
    pub process_count: usize,
    pub endpoint_count: usize,
    /// Sockets by the highest severity of their findings ("none": no finding).
    pub sockets_by_severity: BTreeMap<String, usize>,
    /// How many findings there are of each severity.
    pub findings_count_by_severity: BTreeMap<String, usize>,
    /// Ids (`rule@subject`) of the most severe findings by severity, at most `limit` in all.
    pub findings_by_severity: BTreeMap<String, Vec<String>>,
    /// Findings in all.
    pub findings_total: usize,
    /// Finding ids listed in findings_by_severity.
    pub findings_listed: usize,
    /// How many findings carry each tag.
    pub findings_by_tag: BTreeMap<String, usize>,
    /// Rules loaded.
    pub rules_loaded: usize,
    /// The tools to drill down with.
    pub next: String,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(transform = portable_schema)]
pub struct ExplainArgs {
    /// The socket id from list_connections (e.g. tcp:00000000000012ab). Or leave empty and give pid and remote_address.
    #[serde(default)]
    pub socket_id: String,
    /// Process id owning the connection (with remote_address).
    #[serde(default)]
    pub pid: u32,
    /// Remote IP address of the connection (with pid).
    #[serde(default)]
    pub remote_address: String,
    /// Remote port, to pick one connection among several to the same address. 0: any.
    #[serde(default)]
    pub remote_port: u16,
    /// Language of explanations: en or ko.
    #[serde(default)]
    pub lang: Lang,
    /// brief (default) or full (adds condition names, times, counters and every step).
    #[serde(default)]
    pub detail: Detail,
}

#[derive(Debug, Serialize, JsonSchema)]
#[schemars(transform = portable_schema)]
pub struct Explanation {
    pub generation: u64,
    pub connection: ConnectionItem,
    /// Sockets that matched the question, when more than one (the first is explained).
    pub matching_sockets: Option<usize>,
    /// Its process, with the parent chain (ancestors) and container.
    pub process: Option<ProcessItem>,
    /// One sentence: the most severe finding, or that nothing matched.
    pub verdict: String,
    /// Findings about this socket, its process or its remote endpoint, most severe first.
    pub findings: Vec<FindingItem>,
    /// Name, tags and explanation of each rule behind the findings, once per rule.
    pub rules: BTreeMap<String, RuleNote>,
    /// Next commands from those findings, without repeats.
    pub steps: Vec<String>,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(transform = portable_schema)]
pub struct InvestigateArgs {
    /// The process id to investigate.
    pub pid: u32,
    /// Language of explanations: en or ko.
    #[serde(default)]
    pub lang: Lang,
    /// brief (default: at most 10 sockets) or full (50 sockets, every field).
    #[serde(default)]
    pub detail: Detail,
}

#[derive(Debug, Serialize, JsonSchema)]
#[schemars(transform = portable_schema)]
pub struct Investigation {
    pub generation: u64,
    pub process: ProcessItem,
    /// Highest severity of its findings.
    pub severity: Option<Severity>,
    pub findings: Vec<FindingItem>,
    /// Name, tags and explanation of each rule behind the findings, once per rule.
    pub rules: BTreeMap<String, RuleNote>,
    /// Its sockets (brief: at most 10, full: 50; see connections_total).
    pub connections: Vec<ConnectionItem>,
    pub connections_total: usize,
    /// Concrete commands to run next, from its findings and the usual first looks.
    pub steps: Vec<String>,
}

/// The socket an `explain_connection` call asks about, and how many matched.
fn find_socket<'a>(s: &'a Snapshot, a: &ExplainArgs) -> Result<(&'a Socket, usize), String> {
    if !a.socket_id.trim().is_empty() {
        let key: SocketKey = a.socket_id.trim().parse().map_err(|e: String| safe(&e, 200))?;
        let sock = s.socket(key).ok_or_else(|| format!("no socket {key} in snapshot {} (it may have closed; see list_connections)", s.generation))?;
        return Ok((sock, 1));
    }
    if a.pid == 0 || a.remote_address.trim().is_empty() {
        return Err("give socket_id, or pid and remote_address (and optionally remote_port)".into());
    }
    let ip: IpAddr = a.remote_address.trim().parse().map_err(|_| format!("remote_address `{}` is not an IP address", safe(&a.remote_address, 60)))?;
    let ip = crate::model::normalize_ip(ip);
    // The process's edges to that endpoint in the map, not a scan of every socket.
    let matching: Vec<&Socket> = s
        .sockets_with(ip, Some(Pid(a.pid)))
        .into_iter()
        .filter_map(|i| s.sockets.get(i))
        .filter(|x| a.remote_port == 0 || x.raw.remote.port() == a.remote_port)
        .collect();
    let port = if a.remote_port == 0 { String::new() } else { format!(":{}", a.remote_port) };
    let first = matching.first().ok_or_else(|| format!("no socket of pid {} to {ip}{port} in snapshot {} (see list_connections)", a.pid, s.generation))?;
    Ok((first, matching.len()))
}

fn by_severity_desc(findings: &mut [&crate::model::Finding]) {
    findings.sort_by(|x, y| y.severity.cmp(&x.severity).then_with(|| x.id.cmp(&y.id)));
}

/// Most steps a brief answer lists.
const BRIEF_STEPS: usize = 6;

#[tool_router(router = analysis_router, vis = "pub(super)")]
impl NecromapServer {
    #[tool(
        description = "Start here: a summary of the host (sockets by severity, findings counted by severity and tag, the ids of the most severe findings) and which tools to drill down with.",
        annotations(title = "Analyze connections", read_only_hint = true, open_world_hint = false)
    )]
    pub fn analyze_connections(&self, Parameters(a): Parameters<AnalyzeArgs>) -> Result<Json<Analysis>, String> {
        let s = self.state.snapshot();
        let filter = match a.view.trim() {
            "" => None,
            name => Some(&self.state.spec.views.get(name).ok_or_else(|| unknown_view(self, name))?.filter),
        };
        let sockets: Vec<&Socket> = s.sockets.iter().filter(|x| filter.is_none_or(|f| view::passes(f, &s, x))).collect();
        let limit = check_limit(a.limit)?;
        // Bounded by the limit and the answer's budget: a remote party
        // controls how many alert findings exist.
        let mut ranked: Vec<&crate::model::Finding> = s.findings.iter().collect();
        ranked.sort_by_key(|f| std::cmp::Reverse(f.severity));
        let ids: Vec<(Severity, String)> = ranked.iter().take(limit).map(|f| (f.severity, safe(&f.id, 256))).collect();
        let ids = fit(ids, LIST_BUDGET);
        let findings_listed = ids.len();
        let mut findings_by_severity: BTreeMap<String, Vec<String>> = BTreeMap::new();
        for (severity, id) in ids {
            findings_by_severity.entry(severity.name().to_string()).or_default().push(id);
        }
        let mut findings_count_by_severity: BTreeMap<String, usize> = BTreeMap::new();
        let mut findings_by_tag: BTreeMap<String, usize> = BTreeMap::new();
        for f in &s.findings {
            *findings_count_by_severity.entry(f.severity.name().to_string()).or_insert(0) += 1;
            for t in &f.tags {
                *findings_by_tag.entry(t.clone()).or_insert(0) += 1;
            }
        }
        Ok(Json(Analysis {
            generation: s.generation,
            taken_at_ms: s.taken_at_ms,
            host: safe(&s.source.host, 256),
            socket_count: sockets.len(),
            process_count: s.processes.len(),
            endpoint_count: s.endpoints.len(),
            sockets_by_severity: severity_counts(&s, sockets.into_iter()),
            findings_count_by_severity,
            findings_by_severity,
            findings_total: s.findings.len(),
            findings_listed,
            findings_by_tag,
            rules_loaded: self.state.rules.rules.len(),
            next: DRILL_DOWN.to_string(),
        }))
    }

    #[tool(
        description = "Use on one connection (socket_id, or pid and remote_address) to learn why it was flagged: its process and parent chain, each matching finding with the observed values, each rule's explanation once, and commands to run next.",
        annotations(title = "Explain a connection", read_only_hint = true, open_world_hint = false)
    )]
    pub fn explain_connection(&self, Parameters(a): Parameters<ExplainArgs>) -> Result<Json<Explanation>, String> {
        let s = self.state.snapshot();
        let (sock, matching_sockets) = find_socket(&s, &a)?;
        let mut about: Vec<&crate::model::Finding> = s.findings.iter().filter(|f| view::finding_about_socket(f, sock)).collect();
        by_severity_desc(&mut about);
        let verdict = match about.first() {
            None => "No rule matched this connection, its process or its remote endpoint.".to_string(),
            Some(top) => format!("{}: {} ({} finding{} in all).", top.severity, top.rule_name, about.len(), if about.len() == 1 { "" } else { "s" }),
        };
        let findings: Vec<FindingItem> = about.iter().map(|f| FindingItem::new(&s, f, a.detail)).collect();
        let max_steps = if a.detail.full() { usize::MAX } else { BRIEF_STEPS };
        Ok(Json(Explanation {
            generation: s.generation,
            connection: ConnectionItem::with(&s, sock, a.detail),
            matching_sockets: (matching_sockets > 1).then_some(matching_sockets),
            process: sock.owner().and_then(|p| s.process(p)).map(|p| ProcessItem::with(&s, p, a.detail)),
            verdict,
            rules: rule_notes(&s, findings.iter(), a.lang),
            steps: steps_of(about.iter().copied(), max_steps),
            findings,
        }))
    }

    #[tool(
        description = "Use on one pid to plan an investigation: its facts (executable, command line, parent chain, user), its sockets and findings, and concrete commands with the pid filled in.",
        annotations(title = "Suggest an investigation", read_only_hint = true, open_world_hint = false)
    )]
    pub fn suggest_investigation(&self, Parameters(a): Parameters<InvestigateArgs>) -> Result<Json<Investigation>, String> {
        let s = self.state.snapshot();
        let p = s.process(Pid(a.pid)).ok_or_else(|| format!("no process {} owns a socket in snapshot {} (see list_processes)", a.pid, s.generation))?;
        let mut about: Vec<&crate::model::Finding> = s.findings.iter().filter(|f| finding_about_pid(f, a.pid)).collect();
        by_severity_desc(&mut about);
        let findings: Vec<FindingItem> = about.iter().map(|f| FindingItem::new(&s, f, a.detail)).collect();
        let sockets: Vec<&Socket> = s.sockets.iter().filter(|x| x.raw.owners.contains(&Pid(a.pid))).collect();
        let mut steps = steps_of(about.iter().copied(), if a.detail.full() { usize::MAX } else { BRIEF_STEPS });
        let pid = a.pid;
        for generic in [
            format!("ls -l /proc/{pid}/exe /proc/{pid}/cwd"),
            format!("cat /proc/{pid}/cmdline | tr '\\0' ' '"),
            format!("ps -o pid,ppid,user,lstart,cmd --forest -p {pid}"),
            format!("ss -tunp | grep 'pid={pid},'"),
            format!("ls -l /proc/{pid}/fd"),
        ] {
            if !steps.contains(&generic) {
                steps.push(generic);
            }
        }
        let shown = if a.detail.full() { 50 } else { 10 };
        Ok(Json(Investigation {
            generation: s.generation,
            process: ProcessItem::with(&s, p, a.detail),
            severity: about.first().map(|f| f.severity),
            connections_total: sockets.len(),
            connections: sockets.iter().take(shown).map(|x| ConnectionItem::with(&s, x, a.detail)).collect(),
            rules: rule_notes(&s, findings.iter(), a.lang),
            findings,
            steps,
        }))
    }
}
