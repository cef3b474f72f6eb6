//! Which process made a connection, even one that lived a few
//! milliseconds: `sock_diag` polling misses it, and its destroy event names
//! no process. The kernel tracepoint `sock:inet_sock_set_state` fires
//! inside `connect()` when a TCP socket enters `SYN_SENT`, so its line
//! carries the caller's thread id; it covers every network namespace.
//!
//! No eBPF and no compiler: the tracepoint is read as text from a tracing
//! instance of our own, filtered in the kernel, on a tracefs that is
//! either the host's or a private, detached mount. Root only.
//!
//! ```no_run
//! let tracer = necromap::collect::trace::ConnectTracer::start()?;
//! eprintln!("{}", tracer.describe());
//! let (records, stats) = tracer.take();
//! # Ok::<(), necromap::collect::trace::TraceError>(())
//! ```

mod instance;
mod pair;
pub mod parse;
mod task;
mod tracefs;
mod tracer;

use std::io;
use std::net::SocketAddr;
use std::sync::{Arc, PoisonError};
use std::thread::JoinHandle;

pub use instance::{BUFFER_KB, FILTER};
pub use pair::MAX_WAIT;
pub use parse::{TraceLine, Transition, UNKNOWN_COMM, parse_line};
pub use tracefs::Location;
pub use tracer::QUEUE_CAP;

use instance::Instance;
use tracer::{Session, Shared};

/// One outbound TCP connect.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConnectRecord {
    /// When `connect()` was called (Unix ms), from the trace timestamp;
    /// when the read time if the instance could not use the boot clock.
    pub at_ms: i64,
    /// The thread that called `connect()`.
    pub tid: u32,
    /// Its process (thread group) id from /proc when the line was read;
    /// else the kernel's (with [`TraceOptions::record_tgid`]); else the
    /// thread id (a thread that had already exited).
    pub pid: u32,
    /// Task name, bounded and escaped: from /proc when readable, else the
    /// trace's name cache, which may say [`UNKNOWN_COMM`].
    pub comm: String,
    /// Source address and port. Port 0 when the connect never left
    /// `SYN_SENT` within [`MAX_WAIT`] or failed before a port was chosen.
    pub local: SocketAddr,
    pub remote: SocketAddr,
    pub outcome: ConnectOutcome,
    /// Inode of the caller's network namespace (as in `/proc/<pid>/ns/net`)
    /// when it was readable: records from containers carry theirs.
    pub net_ns: Option<u64>,
}

/// How the connect's `SYN_SENT` ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConnectOutcome {
    /// Handshake completed.
    Established,
    /// Back to `CLOSE`: refused, unreachable, timed out or aborted.
    Failed,
    /// Still in `SYN_SENT` after [`MAX_WAIT`], or its end was not seen.
    Unknown,
}

/// Counters since [`ConnectTracer::start`] (cumulative, never reset).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct TraceStats {
    /// Connects seen entering `SYN_SENT`.
    pub received: u64,
    /// Records dropped because [`QUEUE_CAP`] were waiting for `take()`.
    pub dropped_queue_full: u64,
    /// Events the kernel's buffer lost before we read them (`overrun` and
    /// `dropped events` of the instance's per-CPU stats, or the
    /// `[LOST n EVENTS]` lines), updated about once a second.
    pub kernel_lost: u64,
    /// Lines that did not parse (a format this parser does not know).
    pub unparsed_lines: u64,
}

/// Choices for [`ConnectTracer::start_with`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct TraceOptions {
    /// Have the kernel remember each traced thread's process id (the
    /// instance's `record-tgid` option), so a thread that exits before its
    /// line is read still gets the right `pid`. Without it such a thread is
    /// reported with its own id (a process that exits stays readable in
    /// /proc until it is reaped, so only threads are affected). The cost:
    /// the first use allocates a table of `pid_max` entries in the kernel
    /// that is never freed (4 bytes each: 128 KiB with `pid_max` 32768,
    /// 16 MiB with 4194304).
    pub record_tgid: bool,
}

/// Why connect tracing is not available; each says so in a sentence.
#[derive(Debug, thiserror::Error)]
pub enum TraceError {
    #[error("connect tracing needs root: only root may mount tracefs and create a tracing instance")]
    NotRoot,
    #[error("connect tracing is unavailable: this kernel has no tracefs (it was built without tracing support)")]
    NoTracefs,
    #[error(
        "connect tracing is unavailable: the kernel refused to mount tracefs ({0}); it takes CAP_SYS_ADMIN, and a container, seccomp or lockdown policy may forbid it"
    )]
    MountRefused(String),
    #[error("connect tracing is unavailable: this kernel has no sock:inet_sock_set_state tracepoint (added in Linux 4.16)")]
    NoEvent,
    #[error("connect tracing could not {step}: {source}{}", lockdown_hint(source))]
    Setup { step: &'static str, source: io::Error },
    #[error("connect tracing could not start its thread: {0}")]
    Thread(io::Error),
}

fn lockdown_hint(e: &io::Error) -> &'static str {
    if e.kind() == io::ErrorKind::PermissionDenied { " (kernel lockdown in confidentiality mode forbids tracing, even to root)" } else { "" }
}

/// Outbound TCP connects of every process, from the kernel tracepoint.
/// Dropping it stops the thread and removes the tracing instance.
#[derive(Debug)]
pub struct ConnectTracer {
    shared: Arc<Shared>,
    thread: Option<JoinHandle<()>>,
    describe: String,
    instance: String,
}

impl ConnectTracer {
    /// Set up tracefs and our instance, and start the `necromap-trace`
    /// thread, with the default [`TraceOptions`].
    pub fn start() -> Result<Self, TraceError> {
        Self::start_with(TraceOptions::default())
    }

    pub fn start_with(options: TraceOptions) -> Result<Self, TraceError> {
        let tracefs = tracefs::Tracefs::open()?;
        let stale = instance::remove_stale(&tracefs);
        let instance = Instance::create(tracefs, options)?;
        let pipe = instance.open_pipe()?;
        let stats = instance.open_stats();
        let describe = format!(
            "connect tracing through {}, instance {} (sock:inet_sock_set_state if {FILTER}, {BUFFER_KB} KiB per CPU, {} clock{}){}",
            instance.tracefs().location,
            instance.name(),
            if instance.boot_clock { "boot" } else { "local" },
            if options.record_tgid { ", record-tgid" } else { "" },
            if stale > 0 { format!("; removed {stale} stale instance(s) of killed runs") } else { String::new() },
        );
        let name = instance.name().to_string();
        let session = Session { pipe, stats, instance };
        let shared = Arc::new(Shared::default());
        let for_thread = Arc::clone(&shared);
        let thread = std::thread::Builder::new().name("necromap-trace".into()).spawn(move || tracer::run(&session, &for_thread)).map_err(TraceError::Thread)?;
        Ok(Self { shared, thread: Some(thread), describe, instance: name })
    }

    /// Records since the last call, and the counters so far.
    pub fn take(&self) -> (Vec<ConnectRecord>, TraceStats) {
        self.shared.take()
    }

    /// One line for health and logs: where tracefs is, the instance, and
    /// why the thread stopped if it did.
    pub fn describe(&self) -> String {
        match self.failure() {
            Some(why) => format!("{} — stopped: {why}", self.describe),
            None => self.describe.clone(),
        }
    }

    /// The tracing instance's directory name under `instances/`.
    pub fn instance_name(&self) -> &str {
        &self.instance
    }

    /// Whether the reading thread still runs.
    pub fn is_running(&self) -> bool {
        self.thread.as_ref().is_some_and(|t| !t.is_finished())
    }

    fn failure(&self) -> Option<String> {
        self.shared.failure.lock().unwrap_or_else(PoisonError::into_inner).clone()
    }
}

impl Drop for ConnectTracer {
    fn drop(&mut self) {
        self.shared.stop.store(true, std::sync::atomic::Ordering::Relaxed);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}
