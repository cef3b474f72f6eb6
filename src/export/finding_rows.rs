//! One flat record per finding, as `snapshot --format csv --table findings`
//! prints it. Column names are a public contract: add, never rename.

use crate::model::{Finding, Severity, Snapshot, Subject};

/// One finding, flattened.
#[derive(Debug, Clone, PartialEq)]
pub struct FindingRow {
    pub id: String,
    pub rule_id: String,
    pub rule_name: String,
    pub severity: Severity,
    pub tags: Vec<String>,
    /// `socket`, `endpoint` or `process`.
    pub subject_kind: &'static str,
    /// For socket findings.
    pub socket_id: Option<String>,
    /// For socket (when owned) and process findings.
    pub pid: Option<u32>,
    /// That process's name, when its facts are known.
    pub process: Option<String>,
    /// The endpoint, for endpoint findings and socket findings with a remote.
    pub endpoint: Option<String>,
    pub first_seen_ms: i64,
    pub last_seen_ms: i64,
    /// Every trace step as `condition = value`, joined with `; `.
    pub evidence: String,
    pub explanation: String,
    /// The subject's network namespace inode; none for an endpoint outside
    /// loopback (every namespace shares it) or when the source does not say.
    pub netns: Option<u32>,
    /// Its readable name (`host` for the observer's own); none for an
    /// endpoint outside loopback.
    pub namespace: Option<String>,
}

impl FindingRow {
    pub fn new(snapshot: &Snapshot, f: &Finding) -> Self {
        let socket_id = match f.subject {
            Subject::Socket { socket, .. } => Some(socket.to_string()),
            _ => None,
        };
        let pid = f.subject.pid();
        let endpoint = snapshot.subject_remote(f.subject).map(|ip| ip.to_string());
        let (netns, namespace) = snapshot.finding_namespace(f).map_or((None, None), |(inode, name)| (inode, Some(name)));
        Self {
            id: f.id.clone(),
            rule_id: f.rule_id.clone(),
            rule_name: f.rule_name.clone(),
            severity: f.severity,
            tags: f.tags.clone(),
            subject_kind: f.subject.kind_name(),
            socket_id,
            pid: pid.map(|p| p.0),
            process: pid.and_then(|p| snapshot.process(p)).map(|p| p.facts.name.clone()),
            endpoint,
            first_seen_ms: f.first_seen_ms,
            last_seen_ms: f.last_seen_ms,
            evidence: f.trace.iter().map(|t| format!("{} = {}", t.condition, t.value)).collect::<Vec<_>>().join("; "),
            explanation: f.explanation.clone(),
            netns,
            namespace,
        }
    }

    /// Column names, in CSV order.
    pub const COLUMNS: [&'static str; 16] = [
        "id",
        "rule_id",
        "rule_name",
        "severity",
        "tags",
        "subject_kind",
        "socket_id",
        "pid",
        "process",
        "endpoint",
        "first_seen_ms",
        "last_seen_ms",
        "evidence",
        "explanation",
        "netns",
        "namespace",
    ];

    /// Values in [`Self::COLUMNS`] order, as text (empty for absent).
    pub fn values(&self) -> [String; 16] {
        let opt = |v: Option<String>| v.unwrap_or_default();
        [
            self.id.clone(),
            self.rule_id.clone(),
            self.rule_name.clone(),
            self.severity.name().to_string(),
            self.tags.join(" "),
            self.subject_kind.to_string(),
            opt(self.socket_id.clone()),
            opt(self.pid.map(|p| p.to_string())),
            opt(self.process.clone()),
            opt(self.endpoint.clone()),
            self.first_seen_ms.to_string(),
            self.last_seen_ms.to_string(),
            self.evidence.clone(),
            self.explanation.clone(),
            opt(self.netns.map(|n| n.to_string())),
            opt(self.namespace.clone()),
        ]
    }
}
