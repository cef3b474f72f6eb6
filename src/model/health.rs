//! Health: what went wrong or is missing in a refresh, as data the front
//! ends show. Collection problems never crash a front end.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum HealthLevel {
    Info,
    Warn,
    Error,
}

/// What a health message is about, when a front end flags it on its own
/// (the explorer's banner names a failing store).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum HealthTopic {
    /// The event store: unavailable, or failing to commit.
    Store,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HealthMessage {
    pub level: HealthLevel,
    pub text: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub topic: Option<HealthTopic>,
}

impl HealthMessage {
    pub fn info(text: impl Into<String>) -> Self {
        Self { level: HealthLevel::Info, text: text.into(), topic: None }
    }
    pub fn warn(text: impl Into<String>) -> Self {
        Self { level: HealthLevel::Warn, text: text.into(), topic: None }
    }
    pub fn error(text: impl Into<String>) -> Self {
        Self { level: HealthLevel::Error, text: text.into(), topic: None }
    }
    #[must_use]
    pub fn about(mut self, topic: HealthTopic) -> Self {
        self.topic = Some(topic);
        self
    }
}

/// Sockets without a visible owner, by reason.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct UnownedCounts {
    pub total: u64,
    /// `TIME_WAIT`, request and orphaned sockets: the kernel keeps no owner.
    pub kernel_held: u64,
    /// Owned by processes we may not inspect (another user's, unprivileged).
    pub not_permitted: u64,
    /// Owner not found: exited between the dump and the scan, or in another
    /// PID namespace.
    pub not_found: u64,
}

/// Time per refresh stage, in milliseconds.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct StageTimings {
    pub dump_ms: f64,
    pub owners_ms: f64,
    pub facts_ms: f64,
    /// Of `facts_ms`: following shells' pipes and ptys to socket holders.
    #[serde(default)]
    pub plumbing_ms: f64,
    /// History and tables.
    pub graph_ms: f64,
    /// Folding the sockets into the map's graph, on a second thread beside
    /// the rules: it overlaps `rules_ms`.
    #[serde(default)]
    pub map_ms: f64,
    /// Rules and indexing their findings, until the map is done too: the
    /// wall time after `graph_ms`.
    pub rules_ms: f64,
    /// Of `rules_ms`: the fact index.
    #[serde(default)]
    pub index_ms: f64,
    pub total_ms: f64,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Health {
    pub messages: Vec<HealthMessage>,
    pub unowned: UnownedCounts,
    /// Processes whose fds we could not read.
    pub processes_denied: u32,
    pub privileged: bool,
}
