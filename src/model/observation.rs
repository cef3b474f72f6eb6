//! One refresh's raw rows as a source saw them, and who the source is:
//! what every collector hands the model (and what a recording holds, frame
//! by frame). The model defines it so it depends on no collector.

use serde::{Deserialize, Serialize};

use super::{ClosedSocket, HealthMessage, NamespaceInfo, ProcessFacts, RawSocket, StageTimings};

/// One refresh's raw rows, as a source saw them. This is also one frame of
/// a recording.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Observation {
    /// When the rows were read (Unix ms).
    pub taken_at_ms: i64,
    pub sockets: Vec<RawSocket>,
    /// Facts for the processes that own sockets.
    pub processes: Vec<ProcessFacts>,
    #[serde(default)]
    pub owner_scan: OwnerScanStats,
    /// Whether this source can see every process's fds (root, or the
    /// capabilities to read them).
    #[serde(default)]
    pub privileged: bool,
    /// The uid the observer ran as: sockets of other users show no owner
    /// to an unprivileged observer. None for sources that do not say.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub viewer_uid: Option<u32>,
    /// Problems met while collecting: shown, never fatal.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub health: Vec<HealthMessage>,
    /// The network namespaces in use and whether each was read (empty
    /// for sources that do not look beyond their own).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub namespaces: Vec<NamespaceInfo>,
    /// Sockets that closed since the previous observation (kernel destroy
    /// events and failed connects), however short they were.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub closed: Vec<ClosedSocket>,
    /// Names of remote addresses and DNS queries answered since the
    /// previous observation (empty when names are off).
    #[serde(default, skip_serializing_if = "super::NameFacts::is_empty")]
    pub names: super::NameFacts,
    /// Time per stage; not recorded (a replay measures its own).
    #[serde(skip)]
    pub timings: StageTimings,
}

/// Which kind of source produced a snapshot.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SourceKind {
    /// netlink `sock_diag` + /proc.
    Netlink,
    /// netstat2 + sysinfo (no byte counters).
    Portable,
    /// A recording or scenario file.
    Replay,
}

/// Who the rows come from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SourceInfo {
    pub kind: SourceKind,
    /// Host name of the machine observed.
    pub host: String,
    /// Free text: the file replayed, or why the fallback is in use.
    pub detail: String,
}

/// Counts from the last refresh, for the health section.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct OwnerScanStats {
    /// Processes seen in /proc.
    pub pids: u32,
    /// Processes whose fds we may not read.
    pub denied: u32,
    /// Processes whose fds were (re)read this refresh, wholly or in part.
    pub rescanned: u32,
    /// readlink calls made this refresh.
    pub fds_read: u64,
    /// Whether a wider rescan ran.
    pub wide_rescan: bool,
}
