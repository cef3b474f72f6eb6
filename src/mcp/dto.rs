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

/// How much a tool says: `brief` (the default) keeps what a first look
/// needs; `full` adds every counter and timestamp.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum Detail {
    #[default]
    Brief,
    Full,
}

impl Detail {
    pub fn full(self) -> bool {
        self == Detail::Full
    }
}

/// One socket, as `necromap snapshot` and the TUI list show it. Absent
/// fields are empty or unknown (so is every absent field in necromap's
/// answers).
#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
#[schemars(transform = portable_schema)]
pub struct ConnectionItem {
    /// Stable socket id, e.g. `tcp:00000000000012ab` (its prefix is the protocol).
    pub id: String,
    /// ESTABLISHED, LISTEN, TIME_WAIT, UDP, …
    pub state: String,
    /// outbound or inbound; absent for listeners (state LISTEN).
    pub direction: String,
    /// Local address:port.
    pub local: String,
    /// Remote address:port; absent for listeners and unconnected UDP.
    pub remote: String,
    /// Zone of the remote address: loopback, private, link_local, public, …; absent without a remote.
    pub zone: String,
    pub pid: Option<u32>,
    pub process: Option<String>,
    /// How long it has been open, in ms (full: see age_bound).
    pub age_ms: Option<i64>,
    /// Bytes acknowledged by the peer (TCP).
    pub bytes_sent: Option<u64>,
    /// Bytes received (TCP).
    pub bytes_received: Option<u64>,
    /// Highest severity of the findings about this socket, its process or its remote endpoint.
    pub severity: Option<crate::model::Severity>,
    /// Rule ids of those findings.
    pub rule_ids: Vec<String>,
    /// The remote address's name (DNS answer, PTR or /etc/hosts).
    pub remote_name: Option<String>,
    /// Full only: service name of the service port, e.g. https.
    pub service: Option<String>,
    /// The owner's container or systemd unit.
    pub container: Option<String>,
    /// The network namespace, when not necromap's own (`host`).
    pub namespace: Option<String>,
    /// Full only: tcp or udp.
    pub protocol: Option<String>,
    /// Full only.
    pub uid: Option<u32>,
    /// Full only: smoothed round-trip time, µs.
    pub rtt_us: Option<u32>,
    /// Full only: bytes/s sent over the last refresh.
    pub send_rate: Option<u64>,
    /// Full only: bytes/s received over the last refresh.
    pub recv_rate: Option<u64>,
    /// Full only: exact, at_least (open before necromap started) or at_most (a listener, bounded by its process's start).
    pub age_bound: Option<String>,
    /// Full only: the namespace's inode.
    pub netns: Option<u32>,
}

/// `address:port`, with IPv6 in brackets.
fn endpoint(address: &str, port: u16) -> String {
    if address.contains(':') { format!("[{address}]:{port}") } else { format!("{address}:{port}") }
}

impl ConnectionItem {
    pub fn new(snapshot: &Snapshot, socket: &Socket) -> Self {
        Self::with(snapshot, socket, Detail::Brief)
    }

    pub fn with(snapshot: &Snapshot, socket: &Socket, detail: Detail) -> Self {
        let row = SocketRow::new(snapshot, socket);
        let full = detail.full();
        let connected = socket.raw.remote.port() != 0 || !socket.raw.remote.ip().is_unspecified();
        Self {
            id: row.id,
            state: row.state.to_string(),
            direction: if row.state == "LISTEN" && row.direction == "listen" { String::new() } else { row.direction },
            local: endpoint(&row.local_address, row.local_port),
            remote: if connected { endpoint(&row.remote_address, row.remote_port) } else { String::new() },
            zone: if connected { row.zone.to_string() } else { String::new() },
            pid: row.pid,
            process: row.process.map(|p| safe(&p, NAME_MAX)),
            age_ms: row.age_ms,
            bytes_sent: row.bytes_sent,
            bytes_received: row.bytes_received,
            severity: row.severity,
            rule_ids: row.rule_ids,
            remote_name: row.remote_name.map(|n| safe(&n, NAME_MAX)),
            service: row.service.filter(|_| full).map(str::to_string),
            container: row.container.map(|c| safe(&c, NAME_MAX)),
            namespace: (row.namespace != "host").then(|| safe(&row.namespace, NAME_MAX)),
            protocol: full.then(|| row.protocol.to_string()),
            uid: full.then_some(row.uid),
            rtt_us: row.rtt_us.filter(|_| full),
            send_rate: row.send_rate.filter(|_| full),
            recv_rate: row.recv_rate.filter(|_| full),
            age_bound: row.age_bound.filter(|_| full).map(|b| b.name().to_string()),
            netns: row.netns.filter(|_| full),
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
    pub exe: Option<String>,
    /// Present (true) when the executable was deleted after start.
    pub exe_deleted: Option<bool>,
    /// Command line, escaped and bounded to 1024 characters.
    pub cmdline: String,
    /// The parent chain: parent, grandparent and great-grandparent names, nearest first.
    pub ancestors: Vec<String>,
    /// Which of fd 0, 1, 2 are sockets.
    pub stdio_sockets: Vec<u8>,
    /// Open files holding secrets (keys, credentials, wallets, .env).
    pub sensitive_files: Vec<String>,
    /// Shells whose stdin or stdout lead to this process's sockets, with every hop.
    pub shell_links: Vec<String>,
    pub socket_count: u64,
    pub listener_count: Option<u64>,
    /// Highest severity of the findings about this process or its sockets.
    pub severity: Option<crate::model::Severity>,
    /// Rule ids of those findings.
    pub rule_ids: Vec<String>,
    /// The network namespace, when not necromap's own (`host`).
    pub namespace: Option<String>,
    /// Its container or systemd unit.
    pub container: Option<String>,
    /// Full only.
    pub uid: Option<u32>,
    /// Full only: whether it has a controlling terminal.
    pub has_tty: Option<bool>,
    /// Full only.
    pub start_time_ms: Option<i64>,
    /// Full only: bytes over its sockets.
    pub bytes_sent: Option<u64>,
    /// Full only.
    pub bytes_received: Option<u64>,
}

impl ProcessItem {
    pub fn new(snapshot: &Snapshot, p: &ProcessNode) -> Self {
        Self::with(snapshot, p, Detail::Brief)
    }

    pub fn with(snapshot: &Snapshot, p: &ProcessNode, detail: Detail) -> Self {
        let f = &p.facts;
        let facts = snapshot.index.process(f.pid());
        let full = detail.full();
        let namespace = snapshot.namespace_name(f.netns);
        Self {
            pid: f.pid,
            ppid: f.ppid,
            name: safe(&f.name, NAME_MAX),
            user: f.user.as_deref().map(|u| safe(u, NAME_MAX)),
            exe: f.exe.as_deref().map(|e| safe(e, NAME_MAX)),
            exe_deleted: f.exe_deleted.then_some(true),
            cmdline: safe(&f.cmdline, CMDLINE_MAX),
            ancestors: f.ancestors.iter().map(|a| safe(a, NAME_MAX)).collect(),
            stdio_sockets: f.stdio_sockets.clone(),
            sensitive_files: f.sensitive_files.iter().map(|x| safe(x, NAME_MAX)).collect(),
            shell_links: f
                .shell_links
                .iter()
                .take(8)
                .map(|l| safe(&format!("{} ({}) `{}`: {}", l.name, l.pid, l.cmdline, l.describe()), CMDLINE_MAX))
                .collect(),
            socket_count: p.socket_count,
            listener_count: (p.listener_count > 0).then_some(p.listener_count),
            severity: facts.map(|x| x.severity),
            rule_ids: facts.map(|x| x.rule_ids.clone()).unwrap_or_default(),
            namespace: (namespace != "host").then(|| safe(&namespace, NAME_MAX)),
            container: f.workload.label().map(|c| safe(&c, NAME_MAX)),
            uid: full.then_some(f.uid),
            has_tty: full.then_some(f.has_tty),
            start_time_ms: full.then_some(f.start_time_ms),
            bytes_sent: full.then_some(p.bytes_sent),
            bytes_received: full.then_some(p.bytes_received),
        }
    }
}

/// Whether a finding is about this process (as subject or as a socket's owner).
pub fn finding_about_pid(f: &Finding, pid: u32) -> bool {
    f.subject.pid().is_some_and(|p| p.0 == pid)
}

/// One finding: a rule that matched, about a socket, endpoint or process.
/// Its rule's name, tags and explanation are given once per rule beside
/// the findings (`rules`), and its steps once per answer (`steps`).
#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
#[schemars(transform = portable_schema)]
pub struct FindingItem {
    /// Stable id (`rule@subject`).
    pub id: String,
    pub rule_id: String,
    pub severity: crate::model::Severity,
    /// The socket id, for socket findings.
    pub socket_id: Option<String>,
    /// The process, for socket and process findings.
    pub pid: Option<u32>,
    /// The remote address, for endpoint findings (and socket findings with a remote).
    pub remote_address: Option<String>,
    /// The network namespace of the subject, when not necromap's own.
    pub namespace: Option<String>,
    /// Why it matched: the observed value of each condition (full: `condition => value`).
    pub trace: Vec<String>,
    /// Full only: the next commands for this finding, pid filled in.
    pub steps: Vec<String>,
    /// Full only.
    pub first_seen_ms: Option<i64>,
    /// Full only.
    pub last_seen_ms: Option<i64>,
    /// Full only: the namespace's inode.
    pub netns: Option<u32>,
}

impl FindingItem {
    pub fn new(snapshot: &Snapshot, f: &Finding, detail: Detail) -> Self {
        let socket_id = match f.subject {
            Subject::Socket { socket, .. } => Some(socket.to_string()),
            _ => None,
        };
        let full = detail.full();
        // Most findings are about necromap's own namespace: saying `host`
        // on each would only cost the model tokens, so only others are named.
        let (netns, namespace) = match snapshot.finding_namespace(f) {
            Some((inode, name)) if f.netns.is_some() => (inode, Some(safe(&name, NAME_MAX))),
            _ => (None, None),
        };
        Self {
            id: safe(&f.id, NAME_MAX),
            rule_id: f.rule_id.clone(),
            severity: f.severity,
            socket_id,
            pid: f.subject.pid().map(|p| p.0),
            remote_address: snapshot.subject_remote(f.subject).map(|ip| ip.to_string()),
            namespace,
            // Trace values were escaped and bounded when the engine wrote them.
            trace: f
                .trace
                .iter()
                .map(|t| if full { safe(&format!("{} => {}", t.condition, t.value), CMDLINE_MAX) } else { safe(&t.value, CMDLINE_MAX) })
                .collect(),
            steps: if full { f.steps.iter().map(|s| safe(s, CMDLINE_MAX)).collect() } else { Vec::new() },
            first_seen_ms: full.then_some(f.first_seen_ms),
            last_seen_ms: full.then_some(f.last_seen_ms),
            netns: netns.filter(|_| full),
        }
    }
}

/// What a rule says, given once per answer for all its findings.
#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
#[schemars(transform = portable_schema)]
pub struct RuleNote {
    pub name: String,
    pub tags: Vec<String>,
    /// Why its findings deserve a look, in the language asked for.
    pub explanation: String,
}

/// The notes of the rules behind `findings`, keyed by rule id.
pub fn rule_notes<'a>(snapshot: &Snapshot, findings: impl Iterator<Item = &'a FindingItem>, lang: Lang) -> std::collections::BTreeMap<String, RuleNote> {
    let mut out = std::collections::BTreeMap::new();
    for item in findings {
        if out.contains_key(&item.rule_id) {
            continue;
        }
        let Some(f) = snapshot.findings.iter().find(|f| f.rule_id == item.rule_id) else { continue };
        let explanation = match lang {
            Lang::Ko if !f.explanation_ko.is_empty() => &f.explanation_ko,
            _ => &f.explanation,
        };
        out.insert(item.rule_id.clone(), RuleNote { name: f.rule_name.clone(), tags: f.tags.clone(), explanation: explanation.clone() });
    }
    out
}

/// The steps of these findings (from the snapshot's own findings, pid
/// filled in), in order, without repeats, at most `max`.
pub fn steps_of<'a>(findings: impl Iterator<Item = &'a Finding>, max: usize) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for f in findings {
        for s in &f.steps {
            let s = safe(s, CMDLINE_MAX);
            if out.len() < max && !out.contains(&s) {
                out.push(s);
            }
        }
    }
    out
}

/// Paging arguments shared by list tools.
pub const LIMIT_DEFAULT: u32 = 100;
pub const LIMIT_MAX: u32 = 10_000;

pub fn default_limit() -> u32 {
    LIMIT_DEFAULT
}

/// The schema of a `limit` argument: 1 to [`LIMIT_MAX`], as checked.
pub fn limit_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
    schemars::json_schema!({ "type": "integer", "minimum": 1, "maximum": LIMIT_MAX, "default": LIMIT_DEFAULT })
}

/// A record carried as free JSON (`serde_json::Value`) says it is an
/// object: a schema with no keyword at all is refused by strict clients.
pub fn object_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
    schemars::json_schema!({ "type": "object" })
}

/// A list of such records.
pub fn objects_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
    schemars::json_schema!({ "type": "array", "items": { "type": "object" } })
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
