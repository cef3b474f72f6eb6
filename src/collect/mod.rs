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

pub use live::{LinuxSource, LiveOptions};
pub use portable::PortableSource;
pub use replay::{ReplayError, ReplaySource};

pub use crate::model::{Observation, OwnerScanStats, SourceInfo, SourceKind};

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
