//! Tools that list what the host has: connections and processes, and the
//! connections rules flagged.

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
    ConnectionItem, Detail, FindingItem, LIST_BUDGET, Lang, ProcessItem, RuleNote, default_limit, fit, next_offset, page, parse_severity, portable_schema,
    rule_notes, safe,
};
use crate::model::{Pid, Protocol, Snapshot, Socket, SocketState, view};

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(transform = portable_schema)]
pub struct ListConnectionsArgs {
    /// Only sockets in this state (ESTABLISHED, LISTEN, TIME_WAIT, CLOSE_WAIT, SYN_SENT, UDP, …).
    #[serde(default)]
    pub state: String,
    /// Only sockets owned by this process id. 0: every process.
    #[serde(default)]
    pub pid: u32,
    /// `tcp` or `udp`.
    #[serde(default)]
    pub proto: String,
    /// Only the sockets of this view of the spec (default, suspicious_only, active_only, local_only, internet_only, listeners_only, cleanup_states).
    #[serde(default)]
    pub view: String,
    /// Only sockets whose remote address is this IP.
    #[serde(default)]
    pub remote_address: String,
    /// Only sockets whose remote endpoint has a name (DNS answer, PTR or /etc/hosts) containing this text, case-insensitive; e.g. `github.com`.
    #[serde(default)]
    pub remote_name: String,
    /// The explorer's filter language, terms ANDed, `!` negates: `proc:nginx state:established port:https zone:public sev>=medium tag:beacon pid:123 proto:udp dir:in lport:22 rport:4444 host:github ns:host container:web ip:203.0.113.0/24`, a bare address, or free text.
    #[serde(default)]
    pub filter: String,
    /// Only sockets of this network namespace: `host`, an inode (4026532301), or part of its name.
    #[serde(default)]
    pub namespace: String,
    /// Only sockets whose process runs in a container or unit matching this text (id, name, pod, unit or slice; case-insensitive).
    #[serde(default)]
    pub container: String,
    /// Most items to return (1 to 10000).
    #[serde(default = "default_limit")]
    #[schemars(schema_with = "super::dto::limit_schema")]
    pub limit: u32,
    /// Items to skip, for paging.
    #[serde(default)]
    pub offset: u32,
    /// brief (default) or full (adds protocol, service, uid, rtt, rates, age bound, netns inode).
    #[serde(default)]
    pub detail: Detail,
}

#[derive(Debug, Serialize, JsonSchema)]
#[schemars(transform = portable_schema)]
pub struct ConnectionList {
    /// The snapshot this answer comes from.
    pub generation: u64,
    pub taken_at_ms: i64,
    /// Matching sockets before paging.
    pub total: usize,
    pub offset: u32,
    /// Where the next page starts, when sockets remain (a page also ends
    /// early to keep the answer under 1 MB).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_offset: Option<u32>,
    pub connections: Vec<ConnectionItem>,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(transform = portable_schema)]
pub struct ListProcessesArgs {
    /// Only processes whose name or executable contains this text (case-insensitive).
    #[serde(default)]
    pub name: String,
    /// Only processes in this network namespace: `host`, an inode (4026532301), or part of its name.
    #[serde(default)]
    pub namespace: String,
    /// Only processes in a container or unit matching this text (id, name, pod, unit or slice; case-insensitive).
    #[serde(default)]
    pub container: String,
    /// Also return each process's connections (at most 100 each).
    #[serde(default)]
    pub with_connections: bool,
    /// brief (default) or full (adds uid, tty, start time, bytes, and full connections).
    #[serde(default)]
    pub detail: Detail,
    /// Most items to return (1 to 10000).
    #[serde(default = "default_limit")]
    #[schemars(schema_with = "super::dto::limit_schema")]
    pub limit: u32,
    /// Items to skip, for paging.
    #[serde(default)]
    pub offset: u32,
}

#[derive(Debug, Serialize, JsonSchema)]
#[schemars(transform = portable_schema)]
pub struct ProcessEntry {
    #[serde(flatten)]
    pub process: ProcessItem,
    /// Present when `with_connections` was asked.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub connections: Option<Vec<ConnectionItem>>,
}

#[derive(Debug, Serialize, JsonSchema)]
#[schemars(transform = portable_schema)]
pub struct ProcessList {
    pub generation: u64,
    pub total: usize,
    pub offset: u32,
    /// Where the next page starts, when processes remain.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_offset: Option<u32>,
    pub processes: Vec<ProcessEntry>,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(transform = portable_schema)]
pub struct SuspiciousArgs {
    /// Lowest severity to include: info, low, medium, high or critical.
    #[serde(default = "medium")]
    pub min_severity: String,
    /// Language of explanations: en or ko.
    #[serde(default)]
    pub lang: Lang,
    /// brief (default) or full (adds each finding's steps, times and condition names, and full connections).
    #[serde(default)]
    pub detail: Detail,
    /// Most connections to return, and most findings (1 to 10000).
    #[serde(default = "default_limit")]
    #[schemars(schema_with = "super::dto::limit_schema")]
    pub limit: u32,
    /// Connections to skip, for paging.
    #[serde(default)]
    pub offset: u32,
    /// Findings to skip, for paging the findings (keep offset and limit as they were: the order depends on the connections page).
    #[serde(default)]
    pub findings_offset: u32,
}

fn medium() -> String {
    "medium".into()
}

#[derive(Debug, Serialize, JsonSchema)]
#[schemars(transform = portable_schema)]
pub struct FlaggedConnection {
    pub connection: ConnectionItem,
    /// Ids of the findings about this socket, its process or its endpoint.
    pub finding_ids: Vec<String>,
}

#[derive(Debug, Serialize, JsonSchema)]
#[schemars(transform = portable_schema)]
pub struct SuspiciousList {
    pub generation: u64,
    pub min_severity: crate::model::Severity,
    /// Flagged connections before paging.
    pub total: usize,
    pub offset: u32,
    /// Where the next page of connections starts, when some remain.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_offset: Option<u32>,
    pub connections: Vec<FlaggedConnection>,
    /// Findings at or above the severity, at most `limit` from findings_offset: first those about the connections returned, then the others (also those without an open socket, such as beacons and alert-only parties), most severe first.
    pub findings: Vec<FindingItem>,
    /// Name, tags and explanation of each rule behind those findings, once per rule.
    pub rules: BTreeMap<String, RuleNote>,
    /// The processes owning the connections returned, keyed by pid, once each: command line, parent chain (ancestors), user, container, namespace.
    pub processes: BTreeMap<String, ProcessItem>,
    /// Findings at or above the severity before paging.
    pub findings_total: usize,
    pub findings_offset: u32,
    /// Where the next page of findings starts (pass it as findings_offset), when some remain.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub findings_next_offset: Option<u32>,
}

/// Sockets passing the `list_connections` filters.
fn filtered<'a>(server: &NecromapServer, s: &'a Snapshot, a: &ListConnectionsArgs) -> Result<Vec<&'a Socket>, String> {
    let state: Option<SocketState> = match a.state.trim() {
        "" => None,
        t => Some(
            t.to_ascii_uppercase().parse().map_err(|_| format!("unknown state `{}`: use a name such as ESTABLISHED, LISTEN, TIME_WAIT or UDP", safe(t, 40)))?,
        ),
    };
    let proto = match a.proto.trim().to_ascii_lowercase().as_str() {
        "" => None,
        "tcp" => Some(Protocol::Tcp),
        "udp" => Some(Protocol::Udp),
        other => return Err(format!("unknown proto `{}`: use tcp or udp", safe(other, 20))),
    };
    let view_filter = match a.view.trim() {
        "" => None,
        name => Some(&server.state.spec.views.get(name).ok_or_else(|| unknown_view(server, name))?.filter),
    };
    let remote: Option<IpAddr> = match a.remote_address.trim() {
        "" => None,
        t => Some(t.parse().map_err(|_| format!("remote_address `{}` is not an IP address", safe(t, 60)))?),
    };
    let language = crate::filter::Filter::parse(&a.filter).map_err(|e| format!("filter: {}", safe(&e.to_string(), 300)))?;
    let remote_name = a.remote_name.trim().to_lowercase();
    let named =
        |x: &Socket| remote_name.is_empty() || s.endpoints.get(&x.endpoint()).is_some_and(|e| e.names.iter().any(|n| n.to_lowercase().contains(&remote_name)));
    if a.pid != 0 && s.process(Pid(a.pid)).is_none() {
        return Err(format!("no process {} owns a socket in snapshot {} (see list_processes)", a.pid, s.generation));
    }
    Ok(s.sockets
        .iter()
        .enumerate()
        .filter(|(i, _)| language.matches_socket(s, *i))
        .map(|(_, x)| x)
        .filter(|x| state.is_none_or(|st| x.state() == st))
        .filter(|x| proto.is_none_or(|p| x.key().protocol == p))
        .filter(|x| a.pid == 0 || x.raw.owners.contains(&Pid(a.pid)))
        .filter(|x| remote.is_none_or(|ip| crate::model::normalize_ip(x.raw.remote.ip()) == crate::model::normalize_ip(ip)))
        .filter(|x| named(x))
        .filter(|x| view_filter.is_none_or(|f| view::passes(f, s, x)))
        .filter(|x| a.namespace.trim().is_empty() || s.namespace_matches(x.raw.netns, &a.namespace))
        .filter(|x| {
            a.container.trim().is_empty() || x.owner().and_then(|p| s.process(p)).is_some_and(|p| Snapshot::workload_matches(&p.facts.workload, &a.container))
        })
        .collect())
}

pub(super) fn unknown_view(server: &NecromapServer, name: &str) -> String {
    let names: Vec<&str> = server.state.spec.views.keys().map(String::as_str).collect();
    format!("unknown view `{}`: the spec has {}", safe(name, 40), names.join(", "))
}

#[tool_router(router = connections_router, vis = "pub(super)")]
impl NecromapServer {
    #[tool(
        description = "Page through this host's sockets (connections and listeners) to find specific ones: each with state, local and remote address, owning process, age, bytes and worst finding severity. Narrow with filter (e.g. `sev>=high port:https`) or the other filters; returns total and next_offset.",
        annotations(title = "List connections", read_only_hint = true, open_world_hint = false)
    )]
    pub fn list_connections(&self, Parameters(a): Parameters<ListConnectionsArgs>) -> Result<Json<ConnectionList>, String> {
        let s = self.state.snapshot();
        let sockets = filtered(self, &s, &a)?;
        let (total, rows) = page(sockets, a.offset, a.limit)?;
        let connections = fit(rows.into_iter().map(|x| ConnectionItem::with(&s, x, a.detail)).collect(), LIST_BUDGET);
        Ok(Json(ConnectionList {
            generation: s.generation,
            taken_at_ms: s.taken_at_ms,
            total,
            offset: a.offset,
            next_offset: next_offset(a.offset, connections.len(), total),
            connections,
        }))
    }

    #[tool(
        description = "Page through the processes that own sockets, to find one by name, namespace or container: each with user, executable, command line, parent chain, socket counts and worst finding severity. Returns total and next_offset.",
        annotations(title = "List processes", read_only_hint = true, open_world_hint = false)
    )]
    pub fn list_processes(&self, Parameters(a): Parameters<ListProcessesArgs>) -> Result<Json<ProcessList>, String> {
        let s = self.state.snapshot();
        let needle = a.name.trim().to_lowercase();
        let matching: Vec<_> = s
            .processes
            .values()
            .filter(|p| {
                needle.is_empty() || p.facts.name.to_lowercase().contains(&needle) || p.facts.exe.as_deref().is_some_and(|e| e.to_lowercase().contains(&needle))
            })
            .filter(|p| a.namespace.trim().is_empty() || s.namespace_matches(p.facts.netns, &a.namespace))
            .filter(|p| a.container.trim().is_empty() || Snapshot::workload_matches(&p.facts.workload, &a.container))
            .collect();
        let (total, rows) = page(matching, a.offset, a.limit)?;
        let processes = rows
            .into_iter()
            .map(|p| ProcessEntry {
                process: ProcessItem::with(&s, p, a.detail),
                connections: a.with_connections.then(|| {
                    s.sockets.iter().filter(|x| x.raw.owners.contains(&p.facts.pid())).take(100).map(|x| ConnectionItem::with(&s, x, a.detail)).collect()
                }),
            })
            .collect();
        let processes = fit(processes, LIST_BUDGET);
        Ok(Json(ProcessList { generation: s.generation, total, offset: a.offset, next_offset: next_offset(a.offset, processes.len(), total), processes }))
    }

    #[tool(
        description = "Use to see what the detection rules flagged: connections at or above min_severity (default medium) with their owning processes (parent chain, container), the findings with why they matched, and each rule's explanation once. Paged (offset, findings_offset); returns totals and next offsets.",
        annotations(title = "Suspicious connections", read_only_hint = true, open_world_hint = false)
    )]
    pub fn get_suspicious_connections(&self, Parameters(a): Parameters<SuspiciousArgs>) -> Result<Json<SuspiciousList>, String> {
        let min = parse_severity(&a.min_severity)?;
        let s = self.state.snapshot();
        let findings: Vec<_> = s.findings.iter().filter(|f| f.severity >= min).collect();
        let mut flagged: Vec<(crate::model::Severity, FlaggedConnection)> = s
            .sockets
            .iter()
            .enumerate()
            .filter_map(|(i, sock)| {
                let facts = s.index.socket(i).filter(|f| f.severity >= min)?;
                let ids = facts.findings.iter().map(|&j| &s.findings[j as usize]).filter(|f| f.severity >= min).map(|f| f.id.clone()).collect();
                Some((facts.severity, FlaggedConnection { connection: ConnectionItem::with(&s, sock, a.detail), finding_ids: ids }))
            })
            .collect();
        // Most severe first; stable within a severity (socket order).
        flagged.sort_by_key(|x| std::cmp::Reverse(x.0));
        let (total, rows) = page(flagged.into_iter().map(|(_, f)| f).collect(), a.offset, a.limit)?;
        let rows = fit(rows, LIST_BUDGET / 2);
        // Bounded by the limit too: a remote party controls how many alert
        // findings exist. The page's own findings come first.
        let on_page: std::collections::HashSet<&str> = rows.iter().flat_map(|r| r.finding_ids.iter().map(String::as_str)).collect();
        let (mine, others): (Vec<_>, Vec<_>) = findings.iter().partition(|f| on_page.contains(f.id.as_str()));
        let findings_total = findings.len();
        let chosen: Vec<FindingItem> =
            mine.into_iter().chain(others).skip(a.findings_offset as usize).take(a.limit as usize).map(|f| FindingItem::new(&s, f, a.detail)).collect();
        let chosen = fit(chosen, LIST_BUDGET / 2);
        let rules = rule_notes(&s, chosen.iter(), a.lang);
        let processes: BTreeMap<String, ProcessItem> = rows
            .iter()
            .filter_map(|r| r.connection.pid)
            .filter_map(|pid| s.process(Pid(pid)))
            .map(|p| (p.facts.pid.to_string(), ProcessItem::with(&s, p, a.detail)))
            .collect();
        let findings_next_offset = next_offset(a.findings_offset, chosen.len(), findings_total);
        Ok(Json(SuspiciousList {
            generation: s.generation,
            min_severity: min,
            total,
            offset: a.offset,
            next_offset: next_offset(a.offset, rows.len(), total),
            connections: rows,
            findings: chosen,
            rules,
            processes,
            findings_total,
            findings_offset: a.findings_offset,
            findings_next_offset,
        }))
    }
}

/// Sockets counted by severity ("none" for unflagged ones).
pub(super) fn severity_counts<'a>(s: &Snapshot, sockets: impl Iterator<Item = &'a Socket>) -> BTreeMap<String, usize> {
    let mut out = BTreeMap::new();
    for sock in sockets {
        let key = view::socket_severity(s, sock).map_or("none", |v| v.name());
        *out.entry(key.to_string()).or_insert(0) += 1;
    }
    out
}
