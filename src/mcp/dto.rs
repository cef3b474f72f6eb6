//! What the tools return: flat, documented records built from one snapshot.
//! Every string that came from the host (command lines, paths, names) is
//! bounded and has its control characters escaped here, once, before it
//! can reach a client.

// Field docs here are JSON Schema descriptions read by models: plain words,
// not rustdoc markup.
#![allow(clippy::doc_markdown)]

use rmcp::schemars::{self, JsonSchema};
use serde::Serialize;

use crate::export::SocketRow;
use crate::model::{Finding, ProcessNode, Snapshot, Socket, Subject};
use crate::text::{bounded, escape_control};

/// Longest command line returned (characters, after escaping).
pub const CMDLINE_MAX: usize = 1024;
/// Longest other host string (paths, names, hostnames).
pub const NAME_MAX: usize = 256;

/// A host string made safe for a client: escaped, then bounded.
pub fn safe(s: &str, max: usize) -> String {
    bounded(&escape_control(s), max)
}

/// English or Korean explanations.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum Lang {
    #[default]
    En,
    Ko,
}

/// One socket, as `necromap snapshot` and the TUI list show it.
#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
#[schemars(transform = portable_schema)]
pub struct ConnectionItem {
    /// Stable socket id, e.g. `tcp:00000000000012ab`.
    pub id: String,
    pub protocol: String,
    /// Socket state (ESTABLISHED, LISTEN, TIME_WAIT, UDP, …).
    pub state: String,
    /// outbound, inbound or listen.
    pub direction: String,
    pub local_address: String,
    pub local_port: u16,
    pub remote_address: String,
    pub remote_port: u16,
    /// loopback, private, link_local, public, …
    pub zone: String,
    /// Owning process id, when visible.
    pub pid: Option<u32>,
    /// Owning process name, when visible.
    pub process: Option<String>,
    pub uid: u32,
    /// How long the socket has been open, in milliseconds (see age_bound); null when unknown.
    pub age_ms: Option<i64>,
    /// Bytes acknowledged by the peer (TCP only).
    pub bytes_sent: Option<u64>,
    /// Bytes received (TCP only).
    pub bytes_received: Option<u64>,
    /// Smoothed round-trip time in microseconds (TCP only).
    pub rtt_us: Option<u32>,
    /// Bytes per second sent over the last refresh; null on the first sighting and without TCP counters.
    pub send_rate: Option<u64>,
    /// Bytes per second received over the last refresh; null on the first sighting and without TCP counters.
    pub recv_rate: Option<u64>,
    /// Highest severity of the findings about this socket, its process or its remote endpoint.
    pub severity: Option<crate::model::Severity>,
    /// Rule ids of those findings, sorted.
    pub rule_ids: Vec<String>,
    /// How age_ms relates to the real age: exact (to within one refresh), at_least (the socket was already open when necromap started) or at_most (a listener, bounded by its process's start); null when the age is unknown.
    pub age_bound: Option<String>,
    /// The network namespace's readable name: `host` for necromap's own, a name under /run/netns, a container, or the first process in it.
    pub namespace: String,
    /// The namespace's inode (null when the source does not say).
    pub netns: Option<u32>,
    /// The name the remote address is known by (the name a process asked DNS for, a PTR name, or /etc/hosts); null when none was seen.
    pub remote_name: Option<String>,
    /// The service name of the socket's service port (remote port when outbound, local port otherwise), e.g. https; null when unknown.
    pub service: Option<String>,
    /// The owner's container (namespace/pod/container, a name, or runtime:shortid) or systemd unit; null when unknown.
    pub container: Option<String>,
}

impl ConnectionItem {
    pub fn new(snapshot: &Snapshot, socket: &Socket) -> Self {
        let row = SocketRow::new(snapshot, socket);
        Self {
            id: row.id,
            protocol: row.protocol.to_string(),
            state: row.state.to_string(),
            direction: row.direction,
            local_address: row.local_address,
            local_port: row.local_port,
            remote_address: row.remote_address,
            remote_port: row.remote_port,
            zone: row.zone.to_string(),
            pid: row.pid,
            process: row.process.map(|p| safe(&p, NAME_MAX)),
            uid: row.uid,
            age_ms: row.age_ms,
            bytes_sent: row.bytes_sent,
            bytes_received: row.bytes_received,
            rtt_us: row.rtt_us,
            send_rate: row.send_rate,
            recv_rate: row.recv_rate,
            severity: row.severity,
            rule_ids: row.rule_ids,
            age_bound: row.age_bound.map(|b| b.name().to_string()),
            namespace: safe(&row.namespace, NAME_MAX),
            netns: row.netns,
            container: row.container.map(|c| safe(&c, NAME_MAX)),
            remote_name: row.remote_name.map(|n| safe(&n, NAME_MAX)),
            service: row.service.map(str::to_string),
        }
    }
}

/// One socket-owning process.
#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
#[schemars(transform = portable_schema)]
pub struct ProcessItem {
    pub pid: u32,
    pub ppid: u32,
    pub name: String,
    pub user: Option<String>,
    pub uid: u32,
    pub exe: Option<String>,
    /// The executable was deleted after start.
    pub exe_deleted: bool,
    /// Command line, escaped and bounded to 1024 characters.
    pub cmdline: String,
    /// Parent, grandparent and great-grandparent names, nearest first.
    pub ancestors: Vec<String>,
    /// Which of fd 0, 1, 2 are sockets.
    pub stdio_sockets: Vec<u8>,
    pub has_tty: bool,
    /// Open files holding secrets (keys, credentials, wallets, .env).
    pub sensitive_files: Vec<String>,
    /// Shells whose stdin or stdout lead to this process's sockets, each
    /// with every hop (`sh (40) fd 1 → pipe:[7781] ← nc (41) fd 0`).
    pub shell_links: Vec<String>,
    pub start_time_ms: i64,
    pub socket_count: u64,
    pub listener_count: u64,
    pub bytes_sent: u64,
    pub bytes_received: u64,
    /// Highest severity of the findings about this process or its sockets.
    pub severity: Option<crate::model::Severity>,
    /// Rule ids of those findings, sorted.
    pub rule_ids: Vec<String>,
    /// The network namespace it runs in (`host` for necromap's own).
    pub namespace: String,
    /// Its container (namespace/pod/container, a name, or runtime:shortid) or systemd unit; null when unknown.
    pub container: Option<String>,
}

impl ProcessItem {
    pub fn new(snapshot: &Snapshot, p: &ProcessNode) -> Self {
        let f = &p.facts;
        let facts = snapshot.index.process(f.pid());
        Self {
            pid: f.pid,
            ppid: f.ppid,
            name: safe(&f.name, NAME_MAX),
            user: f.user.as_deref().map(|u| safe(u, NAME_MAX)),
            uid: f.uid,
            exe: f.exe.as_deref().map(|e| safe(e, NAME_MAX)),
            exe_deleted: f.exe_deleted,
            cmdline: safe(&f.cmdline, CMDLINE_MAX),
            ancestors: f.ancestors.iter().map(|a| safe(a, NAME_MAX)).collect(),
            stdio_sockets: f.stdio_sockets.clone(),
            has_tty: f.has_tty,
            sensitive_files: f.sensitive_files.iter().map(|x| safe(x, NAME_MAX)).collect(),
            shell_links: f
                .shell_links
                .iter()
                .take(8)
                .map(|l| safe(&format!("{} ({}) `{}`: {}", l.name, l.pid, l.cmdline, l.describe()), CMDLINE_MAX))
                .collect(),
            start_time_ms: f.start_time_ms,
            socket_count: p.socket_count,
            listener_count: p.listener_count,
            bytes_sent: p.bytes_sent,
            bytes_received: p.bytes_received,
            severity: facts.map(|x| x.severity),
            rule_ids: facts.map(|x| x.rule_ids.clone()).unwrap_or_default(),
            namespace: safe(&snapshot.namespace_name(f.netns), NAME_MAX),
            container: f.workload.label().map(|c| safe(&c, NAME_MAX)),
        }
    }
}

/// Whether a finding is about this process (as subject or as a socket's owner).
pub fn finding_about_pid(f: &Finding, pid: u32) -> bool {
    f.subject.pid().is_some_and(|p| p.0 == pid)
}

/// One condition of a rule that matched, with the value that made it match.
#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
#[schemars(transform = portable_schema)]
pub struct TraceItem {
    pub condition: String,
    pub value: String,
}

/// One finding: a rule that matched, about a socket, endpoint or process.
#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
#[schemars(transform = portable_schema)]
pub struct FindingItem {
    /// Stable id (`rule@subject`).
    pub id: String,
    pub rule_id: String,
    pub rule_name: String,
    /// info, low, medium, high or critical.
    pub severity: crate::model::Severity,
    pub tags: Vec<String>,
    /// socket, endpoint or process.
    pub subject_kind: String,
    /// The socket id, for socket findings.
    pub socket_id: Option<String>,
    /// The process, for socket and process findings.
    pub pid: Option<u32>,
    /// The remote address, for endpoint findings (and socket findings with a remote).
    pub remote_address: Option<String>,
    /// The network namespace the subject lives in, by readable name, when it is not necromap's own; absent for necromap's own namespace and for an endpoint outside loopback (which every namespace shares).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
    /// That namespace's inode; absent with `namespace`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub netns: Option<u32>,
    /// Each condition that matched, with the observed value.
    pub trace: Vec<TraceItem>,
    /// Why this deserves a look, in the language asked for.
    pub explanation: String,
    /// Concrete next commands, pid filled in.
    pub steps: Vec<String>,
    pub first_seen_ms: i64,
    pub last_seen_ms: i64,
}

impl FindingItem {
    pub fn new(snapshot: &Snapshot, f: &Finding, lang: Lang) -> Self {
        let kind = f.subject.kind_name();
        let socket_id = match f.subject {
            Subject::Socket { socket, .. } => Some(socket.to_string()),
            _ => None,
        };
        let pid = f.subject.pid().map(|p| p.0);
        let remote = snapshot.subject_remote(f.subject).map(|ip| ip.to_string());
        // Most findings are about necromap's own namespace: saying `host`
        // on each would only cost the model tokens, so only others are named.
        let (netns, namespace) = match snapshot.finding_namespace(f) {
            Some((inode, name)) if f.netns.is_some() => (inode, Some(safe(&name, NAME_MAX))),
            _ => (None, None),
        };
        let explanation = match lang {
            Lang::Ko if !f.explanation_ko.is_empty() => &f.explanation_ko,
            _ => &f.explanation,
        };
        Self {
            id: safe(&f.id, NAME_MAX),
            rule_id: f.rule_id.clone(),
            rule_name: f.rule_name.clone(),
            severity: f.severity,
            tags: f.tags.clone(),
            subject_kind: kind.to_string(),
            socket_id,
            pid,
            remote_address: remote,
            namespace,
            netns,
            // Trace values were escaped and bounded when the engine wrote them.
            trace: f.trace.iter().map(|t| TraceItem { condition: t.condition.clone(), value: safe(&t.value, CMDLINE_MAX) }).collect(),
            explanation: explanation.clone(),
            steps: f.steps.iter().map(|s| safe(s, CMDLINE_MAX)).collect(),
            first_seen_ms: f.first_seen_ms,
            last_seen_ms: f.last_seen_ms,
        }
    }
}

/// Paging arguments shared by list tools.
pub const LIMIT_DEFAULT: u32 = 100;
pub const LIMIT_MAX: u32 = 10_000;

pub fn default_limit() -> u32 {
    LIMIT_DEFAULT
}

/// Check a limit; the error is a sentence for the model.
pub fn check_limit(limit: u32) -> Result<usize, String> {
    if limit == 0 || limit > LIMIT_MAX {
        return Err(format!("limit must be between 1 and {LIMIT_MAX} (default {LIMIT_DEFAULT}); got {limit}"));
    }
    Ok(limit as usize)
}

/// One page of `items` and the total before paging.
pub fn page<T>(items: Vec<T>, offset: u32, limit: u32) -> Result<(usize, Vec<T>), String> {
    let limit = check_limit(limit)?;
    let total = items.len();
    Ok((total, items.into_iter().skip(offset as usize).take(limit).collect()))
}

/// Largest answer a tool gives (bytes of JSON-RPC result): a bigger one is
/// refused with a sentence that says how to narrow it. List tools stay
/// under it by themselves, returning fewer items and a `next_offset`.
pub const ANSWER_MAX: usize = 1 << 20;

/// Bytes one list in an answer may take: a tool's structured content is
/// sent twice (as JSON and as the text block beside it), and the rest of
/// the answer needs room.
pub const LIST_BUDGET: usize = ANSWER_MAX / 2 - 64 * 1024;

/// The longest prefix of `items` whose JSON fits in `budget` bytes (always
/// at least one item: each item is bounded by itself).
pub fn fit<T: serde::Serialize>(mut items: Vec<T>, budget: usize) -> Vec<T> {
    let mut used = 0;
    let keep = items
        .iter()
        .position(|item| {
            used += serde_json::to_vec(item).map_or(budget, |v| v.len() + 1);
            used > budget
        })
        .map_or(items.len(), |i| i.max(1));
    items.truncate(keep);
    items
}

/// Where the next page starts, when items remain after this one.
pub fn next_offset(offset: u32, returned: usize, total: usize) -> Option<u32> {
    let next = offset as usize + returned;
    (next < total).then(|| u32::try_from(next).unwrap_or(u32::MAX))
}

/// Parse a severity name (`Severity`'s own parser), with the sentence a
/// model should see when it is wrong.
pub fn parse_severity(s: &str) -> Result<crate::model::Severity, String> {
    s.trim().parse().map_err(|_: String| format!("unknown severity `{}`: use info, low, medium, high or critical", safe(s, 40)))
}

/// Arguments of a tool that takes none: anything given is refused, so a
/// misspelt call is an error, not silence.
#[derive(Debug, Default, serde::Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(transform = portable_schema)]
pub struct NoArgs {}

/// Make a record's schema portable across clients' schema dialects (the
/// MCP Inspector's `--strict` lint and JSON Schema validators ask for this):
/// nullable values become `"anyOf": [{"type": T, …}, {"type": "null"}]`
/// instead of `"type": [T, "null"]`, and Rust-specific formats (`uint32`,
/// `int64`, `double`, …), which validators do not know, are dropped (the
/// `minimum` stays). Applied with `#[schemars(transform = …)]` on every
/// argument and output record.
pub fn portable_schema(schema: &mut schemars::Schema) {
    if let Some(obj) = schema.as_object_mut() {
        for v in obj.values_mut() {
            portable_value(v);
        }
    }
}

const RUST_FORMATS: &[&str] = &["uint", "uint8", "uint16", "uint32", "uint64", "int", "int8", "int16", "int32", "int64", "float", "double"];

fn portable_value(v: &mut serde_json::Value) {
    use serde_json::{Map, Value};
    match v {
        Value::Array(items) => items.iter_mut().for_each(portable_value),
        Value::Object(obj) => {
            if obj.get("format").and_then(Value::as_str).is_some_and(|f| RUST_FORMATS.contains(&f)) {
                obj.remove("format");
            }
            let nullable = match obj.get("type") {
                Some(Value::Array(types)) if types.len() == 2 && types.iter().any(|t| t == "null") => types.iter().find(|t| *t != "null").cloned(),
                _ => None,
            };
            if let Some(base) = nullable {
                obj.remove("type");
                let mut branch = Map::new();
                branch.insert("type".into(), base);
                for key in ["minimum", "maximum", "items", "properties", "additionalProperties", "required"] {
                    if let Some(x) = obj.remove(key) {
                        branch.insert(key.into(), x);
                    }
                }
                obj.insert("anyOf".into(), Value::Array(vec![Value::Object(branch), serde_json::json!({ "type": "null" })]));
            }
            obj.values_mut().for_each(portable_value);
        }
        _ => {}
    }
}

#[cfg(test)]
mod paging_tests {
    use super::*;

    #[test]
    fn fit_keeps_the_prefix_within_the_budget_and_at_least_one() {
        let items: Vec<String> = (0..100).map(|i| format!("{i:08}")).collect();
        // Each item is 10 bytes of JSON plus a separator: 11.
        assert_eq!(fit(items.clone(), 110).len(), 10);
        assert_eq!(fit(items.clone(), 1 << 20).len(), 100);
        assert_eq!(fit(items, 3).len(), 1);
        assert_eq!(fit(Vec::<String>::new(), 3).len(), 0);
    }

    #[test]
    fn next_offset_only_when_items_remain() {
        assert_eq!(next_offset(0, 10, 25), Some(10));
        assert_eq!(next_offset(20, 5, 25), None);
        assert_eq!(next_offset(30, 0, 25), None);
    }
}
