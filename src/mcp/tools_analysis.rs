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
use super::dto::{ConnectionItem, FindingItem, LIST_BUDGET, Lang, ProcessItem, check_limit, default_limit, finding_about_pid, fit, portable_schema, safe};
use super::tools_connections::{severity_counts, unknown_view};
use crate::model::{Pid, Severity, Snapshot, Socket, SocketKey, view};

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(transform = portable_schema)]
pub struct AnalyzeArgs {
    /// Analyse only the sockets of this view of the spec (default, suspicious_only, internet_only, …). Empty: all sockets.
    #[serde(default)]
    pub view: String,
    /// Most findings to list in findings_by_severity, most severe first (1 to 10000); the counts cover all of them.
    #[serde(default = "default_limit")]
    pub limit: u32,
}

#[derive(Debug, Serialize, JsonSchema)]
#[schemars(transform = portable_schema)]
pub struct FindingBrief {
    pub id: String,
    pub rule_id: String,
    pub rule_name: String,
    pub tags: Vec<String>,
}

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
    /// Findings by severity: at most `limit` in all, the most severe first (see findings_count_by_severity for how many there are).
    pub findings_by_severity: BTreeMap<String, Vec<FindingBrief>>,
    /// How many findings there are of each severity.
    pub findings_count_by_severity: BTreeMap<String, usize>,
    /// Findings in all.
    pub findings_total: usize,
    /// Findings listed in findings_by_severity (fewer than findings_total when the limit, or the answer's size, cut the list).
    pub findings_listed: usize,
    /// How many findings carry each tag.
    pub findings_by_tag: BTreeMap<String, usize>,
    /// Rules loaded, and the packs they came from.
    pub rules_loaded: usize,
    pub packs: Vec<String>,
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
}

#[derive(Debug, Serialize, JsonSchema)]
#[schemars(transform = portable_schema)]
pub struct Explanation {
    pub generation: u64,
    pub connection: ConnectionItem,
    /// Sockets that matched the question (the first one is explained).
    pub matching_sockets: usize,
    pub process: Option<ProcessItem>,
    /// One sentence: the most severe finding, or that nothing matched.
    pub verdict: String,
    /// Findings about this socket, its process or its remote endpoint, most severe first.
    pub findings: Vec<FindingItem>,
    /// Next steps from those findings, without repeats.
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
}

#[derive(Debug, Serialize, JsonSchema)]
#[schemars(transform = portable_schema)]
pub struct Investigation {
    pub generation: u64,
    pub process: ProcessItem,
    /// Highest severity of its findings, or null.
    pub severity: Option<Severity>,
    pub findings: Vec<FindingItem>,
    /// Its sockets (at most 50; see connections_total).
    pub connections: Vec<ConnectionItem>,
    pub connections_total: usize,
    /// Concrete commands to run next, from its findings and the usual first looks.
    pub steps: Vec<String>,
}

/// Steps of these findings, in order, without repeats.
fn unique_steps<'a>(findings: impl Iterator<Item = &'a FindingItem>) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for f in findings {
        for s in &f.steps {
            if !out.contains(s) {
                out.push(s.clone());
            }
        }
    }
    out
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

fn by_severity_desc(findings: &mut [FindingItem]) {
    findings.sort_by(|x, y| y.severity.cmp(&x.severity).then_with(|| x.id.cmp(&y.id)));
}

#[tool_router(router = analysis_router, vis = "pub(super)")]
impl NecromapServer {
    #[tool(
        description = "Summary of the host's connections: sockets by severity, findings counted by severity and by tag (and listed, at most limit, default 100, the most severe first), and the rules loaded. Optionally restricted to one view of the spec.",
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
        let briefs: Vec<(Severity, FindingBrief)> = ranked
            .iter()
            .take(limit)
            .map(|f| (f.severity, FindingBrief { id: safe(&f.id, 256), rule_id: f.rule_id.clone(), rule_name: f.rule_name.clone(), tags: f.tags.clone() }))
            .collect();
        let briefs = fit(briefs, LIST_BUDGET);
        let findings_listed = briefs.len();
        let mut findings_by_severity: BTreeMap<String, Vec<FindingBrief>> = BTreeMap::new();
        for (severity, brief) in briefs {
            findings_by_severity.entry(severity.name().to_string()).or_default().push(brief);
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
            findings_by_severity,
            findings_count_by_severity,
            findings_total: s.findings.len(),
            findings_listed,
            findings_by_tag,
            rules_loaded: self.state.rules.rules.len(),
            packs: self.state.rules.files.clone(),
        }))
    }

    #[tool(
        description = "Explain one connection: which rules matched it (about the socket, its process or its remote endpoint), why (each condition with the observed value), the explanation (lang en or ko) and investigation steps. Identify it by socket_id, or by pid and remote_address (and remote_port).",
        annotations(title = "Explain a connection", read_only_hint = true, open_world_hint = false)
    )]
    pub fn explain_connection(&self, Parameters(a): Parameters<ExplainArgs>) -> Result<Json<Explanation>, String> {
        let s = self.state.snapshot();
        let (sock, matching_sockets) = find_socket(&s, &a)?;
        let mut findings: Vec<FindingItem> =
            s.findings.iter().filter(|f| view::finding_about_socket(f, sock)).map(|f| FindingItem::new(&s, f, a.lang)).collect();
        by_severity_desc(&mut findings);
        let verdict = match findings.first() {
            None => "No rule matched this connection, its process or its remote endpoint.".to_string(),
            Some(top) => format!("{}: {} ({} finding{} in all).", top.severity, top.rule_name, findings.len(), if findings.len() == 1 { "" } else { "s" }),
        };
        Ok(Json(Explanation {
            generation: s.generation,
            connection: ConnectionItem::new(&s, sock),
            matching_sockets,
            process: sock.owner().and_then(|p| s.process(p)).map(|p| ProcessItem::new(&s, p)),
            verdict,
            steps: unique_steps(findings.iter()),
            findings,
        }))
    }

    #[tool(
        description = "What to look at next for one process: its facts (executable, command line, parents, user), its sockets, its findings, and concrete commands with the pid filled in.",
        annotations(title = "Suggest an investigation", read_only_hint = true, open_world_hint = false)
    )]
    pub fn suggest_investigation(&self, Parameters(a): Parameters<InvestigateArgs>) -> Result<Json<Investigation>, String> {
        let s = self.state.snapshot();
        let p = s.process(Pid(a.pid)).ok_or_else(|| format!("no process {} owns a socket in snapshot {} (see list_processes)", a.pid, s.generation))?;
        let mut findings: Vec<FindingItem> = s.findings.iter().filter(|f| finding_about_pid(f, a.pid)).map(|f| FindingItem::new(&s, f, a.lang)).collect();
        by_severity_desc(&mut findings);
        let sockets: Vec<&Socket> = s.sockets.iter().filter(|x| x.raw.owners.contains(&Pid(a.pid))).collect();
        let mut steps = unique_steps(findings.iter());
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
        Ok(Json(Investigation {
            generation: s.generation,
            process: ProcessItem::new(&s, p),
            severity: findings.first().map(|f| f.severity),
            connections_total: sockets.len(),
            connections: sockets.iter().take(50).map(|x| ConnectionItem::new(&s, x)).collect(),
            findings,
            steps,
        }))
    }
}
