//! Findings: what a rule says about a socket, endpoint or process. The rule
//! engine fills these in each refresh; the model carries the slot so views,
//! exports and the MCP server can already show them.

use serde::{Deserialize, Serialize};

use super::keys::{EndpointKey, NetNs, Pid, SocketKey};
use crate::spec::IconHint;
use crate::terms::Severity;

/// What one finding is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Subject {
    Socket {
        socket: SocketKey,
        pid: Option<Pid>,
    },
    Endpoint {
        endpoint: EndpointKey,
    },
    Process {
        pid: Pid,
    },
    /// The host as a whole (a posture check).
    Host,
}

impl Subject {
    /// The process it is about: the process itself, or a socket's owner.
    pub fn pid(&self) -> Option<Pid> {
        match *self {
            Self::Process { pid } => Some(pid),
            Self::Socket { pid, .. } => pid,
            Self::Endpoint { .. } | Self::Host => None,
        }
    }

    /// Whether the subject lives in one network namespace: every socket and
    /// process does, and a loopback endpoint (that namespace's loopback);
    /// any other address is one endpoint for every namespace that reaches it.
    pub fn in_one_namespace(&self) -> bool {
        match self {
            Self::Endpoint { endpoint } => endpoint.ip.is_loopback(),
            Self::Socket { .. } | Self::Process { .. } => true,
            // The host's configuration is read in necromap's own namespace.
            Self::Host => false,
        }
    }

    /// `socket`, `endpoint`, `process` or `host`, as every output names the kind.
    pub fn kind_name(&self) -> &'static str {
        match self {
            Self::Socket { .. } => "socket",
            Self::Endpoint { .. } => "endpoint",
            Self::Process { .. } => "process",
            Self::Host => "host",
        }
    }
}

/// One condition that matched, with the value that made it match.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TraceStep {
    /// The rule's condition, e.g. `remote_port_gte: 1024`.
    pub condition: String,
    /// The observed value, e.g. `remote_port 4444`.
    pub value: String,
}

/// Highlight styles rules may ask for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Highlight {
    RedGlow,
    OrangeGlow,
    YellowGlow,
    GrayGlow,
    BlueGlow,
    CyanGlow,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Finding {
    /// Stable: same rule and subject give the same id across refreshes.
    pub id: String,
    pub rule_id: String,
    pub rule_name: String,
    pub severity: Severity,
    pub tags: Vec<String>,
    pub subject: Subject,
    /// The network namespace of the subject (the socket's, the process's,
    /// or the loopback endpoint's); none for the observer's own and for an
    /// endpoint outside loopback. Exports write it resolved, as the inode
    /// and the readable name ([`super::Snapshot::finding_namespace`]).
    #[serde(skip)]
    pub netns: Option<NetNs>,
    pub highlight: Option<Highlight>,
    pub icon: Option<IconHint>,
    pub trace: Vec<TraceStep>,
    /// Why this is worth a look, in plain words (English).
    #[serde(default)]
    pub explanation: String,
    /// The same in Korean (empty when the rule has none).
    #[serde(default)]
    pub explanation_ko: String,
    /// What to do next: concrete commands with the pid filled in.
    #[serde(default)]
    pub steps: Vec<String>,
    pub first_seen_ms: i64,
    pub last_seen_ms: i64,
}

#[cfg(test)]
impl Finding {
    /// A finding with only what a test sets: its rule (id and name), its
    /// severity and its subject; the rest empty. Override with `..`.
    pub(crate) fn bare(rule: &str, severity: super::Severity, subject: Subject) -> Self {
        Self {
            id: format!("{rule}@{subject:?}"),
            rule_id: rule.into(),
            rule_name: rule.into(),
            severity,
            tags: vec![],
            subject,
            netns: None,
            highlight: None,
            icon: None,
            trace: vec![],
            explanation: String::new(),
            explanation_ko: String::new(),
            steps: vec![],
            first_seen_ms: 0,
            last_seen_ms: 0,
        }
    }
}
