//! Sources of raw rows: the live host (netlink + /proc, or the portable
//! netstat2 fallback) and recordings. Every source yields [`Observation`]s;
//! [`crate::model::SnapshotBuilder`] turns them into snapshots.

pub mod cgroup;
mod closing;
pub mod container_names;
mod live;
pub mod naming;
pub mod netlink;
pub mod netns;
pub mod owners;
mod plumbing;
mod portable;
mod probe;
pub mod procfs;
pub mod record;
mod replay;
pub mod scenario;
pub mod sensitive;
pub mod trace;

use serde::{Deserialize, Serialize};

pub use live::{LinuxSource, LiveOptions};
pub use owners::OwnerScanStats;
pub use portable::PortableSource;
pub use replay::{ReplayError, ReplaySource};

use crate::model::{ClosedSocket, HealthMessage, NamespaceInfo, ProcessFacts, RawSocket, StageTimings};

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
    #[serde(default, skip_serializing_if = "crate::model::NameFacts::is_empty")]
    pub names: crate::model::NameFacts,
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

/// Why a refresh produced nothing at all. Partial problems are health
/// messages in the observation instead.
#[derive(Debug, thiserror::Error)]
pub enum CollectError {
    #[error(transparent)]
    Netlink(#[from] netlink::NetlinkError),
    #[error("portable socket listing failed: {0}")]
    Portable(String),
    #[error("the recording has no more frames")]
    Exhausted,
}

/// Anything that yields observations: the live host or a recording.
pub trait Source: Send {
    fn info(&self) -> SourceInfo;
    /// Read one refresh.
    fn collect(&mut self) -> Result<Observation, CollectError>;
    /// The pace the source suggests (a recording's own interval).
    fn suggested_interval_ms(&self) -> Option<u64> {
        None
    }
}

/// The live host: the netlink fast path when the kernel allows it, else the
/// portable fallback, with the reason in the source detail and health.
pub fn open_live() -> Box<dyn Source> {
    open_live_with(LiveOptions::default())
}

/// [`open_live`] with options.
pub fn open_live_with(options: LiveOptions) -> Box<dyn Source> {
    match LinuxSource::open_with(options) {
        Ok(src) => Box::new(src),
        Err(reason) => {
            Box::new(PortableSource::new(format!("netlink sock_diag unavailable ({reason}); using the portable fallback: no byte counters, slower")))
        }
    }
}

/// This machine's host name.
pub fn host_name() -> String {
    rustix::system::uname().nodename().to_string_lossy().into_owned()
}

/// Now, in Unix ms.
pub fn now_ms() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_millis() as i64)
}
