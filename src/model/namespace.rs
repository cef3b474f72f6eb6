//! Network namespaces as the snapshot reports them: which ones are in use,
//! what to call them, and whether the collector could read them.

use serde::{Deserialize, Serialize};

use super::keys::NetNs;

/// Whether a namespace's sockets are in the snapshot.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "status", content = "reason")]
pub enum NamespaceStatus {
    /// The observer's own namespace.
    Own,
    /// Entered and dumped.
    Entered,
    /// Seen in use but not read, with the reason (a sentence).
    NotEntered(String),
}

/// One network namespace in use on the host.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NamespaceInfo {
    /// The inode of its `ns/net` link.
    pub inode: u32,
    /// A readable name: `host` for the observer's own, the name under
    /// `/run/netns`, the container, or the first process in it.
    pub name: String,
    /// Processes in it (that the observer could see).
    pub processes: u32,
    /// Sockets read from it this refresh.
    pub sockets: u32,
    #[serde(flatten)]
    pub status: NamespaceStatus,
    /// When its rows were read (Unix ms): earlier than the snapshot for a
    /// quiet namespace whose rows were kept from an earlier read.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub read_at_ms: Option<i64>,
}

impl NamespaceInfo {
    /// The key sockets of this namespace carry: none for the observer's own.
    pub fn key(&self) -> Option<NetNs> {
        (self.status != NamespaceStatus::Own).then_some(NetNs(self.inode))
    }
}
