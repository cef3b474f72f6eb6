//! The collector task: runs a [`Source`] on its own thread, builds each
//! snapshot, and publishes it as `Arc<Snapshot>` over a `tokio::sync::watch`
//! channel. Consumers never block it: they clone the latest `Arc`. Commands
//! come back over a channel, each with a oneshot reply.
//!
//! [`Published`] pairs the latest snapshot (which carries the alert digest
//! of its refresh) with the collector's status in one `Arc`: a reader that
//! needs both (the MCP server) takes them with one borrow. A status change
//! without a refresh (freeze, interval) publishes a new pair that shares
//! the same `Arc<Snapshot>`.
//!
//! ```text
//!  Source ──collect──► SnapshotBuilder ──Arc<Snapshot>──► watch ──► TUI, store
//!     ▲                                                 status ──► (interval, frozen, errors)
//!     │                                      Arc<Published> ──► MCP (snapshot + status)
//!     └──────────── Command (refresh now, interval, freeze, stop) ◄── any front end
//! ```

use std::sync::Arc;
use std::sync::mpsc::{self, RecvTimeoutError};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use tokio::sync::{oneshot, watch};

use crate::collect::{CollectError, Source};
use crate::model::{Evaluator, Snapshot, SnapshotBuilder};
use crate::spec::Spec;

/// Shortest and longest refresh intervals accepted.
pub const MIN_INTERVAL: Duration = Duration::from_millis(100);
pub const MAX_INTERVAL: Duration = Duration::from_secs(3600);

/// What the collector is doing, published beside the snapshots.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct CollectorStatus {
    pub interval_ms: u64,
    pub frozen: bool,
    /// A replay reached its last frame.
    pub finished: bool,
    /// The last refresh failed wholly (the previous snapshot stays).
    pub last_error: Option<String>,
    /// The last refresh took more than half the interval.
    pub slow: bool,
}

/// One published state: a snapshot and the collector's status when it was
/// published. Both are read from the same `Arc`, so they never mix two
/// moments.
#[derive(Debug, Clone)]
pub struct Published {
    pub snapshot: Arc<Snapshot>,
    pub status: CollectorStatus,
}

impl Published {
    /// A snapshot with a default status (tests, fixed snapshots).
    pub fn of(snapshot: Arc<Snapshot>) -> Self {
        Self { snapshot, status: CollectorStatus::default() }
    }
}

/// Commands to the collector. Replies report the state after the command.
#[derive(Debug)]
pub enum Command {
    /// Refresh now, even when frozen; replies with the new generation.
    RefreshNow(oneshot::Sender<u64>),
    /// Change the refresh interval (clamped); replies with the one in force.
    SetInterval(Duration, oneshot::Sender<Duration>),
    /// Stop or resume periodic refreshes; replies with the frozen flag.
    Freeze(bool, oneshot::Sender<bool>),
    Stop,
}

/// A running collector. Dropping it stops the thread and joins it.
#[derive(Debug)]
pub struct Collector {
    snapshots: watch::Receiver<Arc<Snapshot>>,
    status: watch::Receiver<CollectorStatus>,
    published: watch::Receiver<Arc<Published>>,
    commands: mpsc::Sender<Command>,
    thread: Option<JoinHandle<()>>,
}

impl Collector {
    /// Start collecting from `source` every `interval` (a replay's own
    /// interval is used when `interval` is `None`). The first refresh runs
    /// before this returns, so the first snapshot is already there.
    pub fn spawn(mut source: Box<dyn Source>, spec: Arc<Spec>, interval: Option<Duration>, evaluator: Option<Box<dyn Evaluator>>) -> Self {
        let interval =
            interval.or_else(|| source.suggested_interval_ms().map(Duration::from_millis)).unwrap_or(Duration::from_secs(1)).clamp(MIN_INTERVAL, MAX_INTERVAL);
        let mut builder = SnapshotBuilder::new(spec);
        let info = source.info();
        let mut worker = Worker {
            source: None,
            builder: None,
            evaluator,
            status: CollectorStatus { interval_ms: interval.as_millis() as u64, ..CollectorStatus::default() },
        };
        let first = worker.refresh_with(&mut *source, &mut builder, &info);
        worker.source = Some(source);
        worker.builder = Some(builder);
        let first = Arc::new(first.unwrap_or_else(|| Snapshot::empty(info)));
        let (published_tx, published) = watch::channel(Arc::new(Published { snapshot: first.clone(), status: worker.status.clone() }));
        let (snap_tx, snapshots) = watch::channel(first);
        let (status_tx, status) = watch::channel(worker.status.clone());
        let (commands, rx) = mpsc::channel();
        let channels = Channels { snapshots: snap_tx, status: status_tx, published: published_tx };
        let thread = std::thread::Builder::new().name("necromap-collector".into()).spawn(move || worker.run(&rx, &channels, interval)).ok();
        Self { snapshots, status, published, commands, thread }
    }

    /// A receiver of published states (snapshot and status together).
    pub fn published(&self) -> watch::Receiver<Arc<Published>> {
        self.published.clone()
    }

    /// A receiver of snapshots; `borrow()` gives the latest.
    pub fn snapshots(&self) -> watch::Receiver<Arc<Snapshot>> {
        self.snapshots.clone()
    }

    pub fn status(&self) -> watch::Receiver<CollectorStatus> {
        self.status.clone()
    }

    /// The latest snapshot.
    pub fn latest(&self) -> Arc<Snapshot> {
        self.snapshots.borrow().clone()
    }

    /// A sender for commands (cloneable, usable from async code: sending
    /// never blocks).
    pub fn commands(&self) -> mpsc::Sender<Command> {
        self.commands.clone()
    }

    /// Refresh now and wait for the new generation (blocking helper).
    pub fn refresh_blocking(&self) -> Option<u64> {
        let (tx, rx) = oneshot::channel();
        self.commands.send(Command::RefreshNow(tx)).ok()?;
        rx.blocking_recv().ok()
    }
}

impl Drop for Collector {
    fn drop(&mut self) {
        let _ = self.commands.send(Command::Stop);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// Where the worker publishes.
struct Channels {
    snapshots: watch::Sender<Arc<Snapshot>>,
    status: watch::Sender<CollectorStatus>,
    published: watch::Sender<Arc<Published>>,
}

impl Channels {
    /// Publish a new snapshot (if any) and the status; the pair is
    /// republished when either changed.
    fn publish(&self, snap: Option<Snapshot>, st: &CollectorStatus) {
        let fresh = snap.map(|s| {
            let s = Arc::new(s);
            self.snapshots.send_replace(s.clone());
            s
        });
        let status_changed = self.status.send_if_modified(|old| {
            let changed = old != st;
            old.clone_from(st);
            changed
        });
        if fresh.is_some() || status_changed {
            let snapshot = fresh.unwrap_or_else(|| self.snapshots.borrow().clone());
            self.published.send_replace(Arc::new(Published { snapshot, status: st.clone() }));
        }
    }
}

struct Worker {
    source: Option<Box<dyn Source>>,
    builder: Option<SnapshotBuilder>,
    evaluator: Option<Box<dyn Evaluator>>,
    status: CollectorStatus,
}

impl Worker {
    fn refresh_with(&mut self, source: &mut dyn Source, builder: &mut SnapshotBuilder, info: &crate::collect::SourceInfo) -> Option<Snapshot> {
        match source.collect() {
            Ok(obs) => {
                let evaluator = self.evaluator.as_mut().map(|e| &mut **e as &mut dyn Evaluator);
                let snap = builder.build(obs, info.clone(), evaluator);
                self.status.last_error = None;
                self.status.slow = snap.timings.total_ms > self.status.interval_ms as f64 / 2.0;
                Some(snap)
            }
            Err(CollectError::Exhausted) => {
                self.status.finished = true;
                None
            }
            Err(e) => {
                self.status.last_error = Some(e.to_string());
                None
            }
        }
    }

    fn refresh(&mut self) -> Option<Snapshot> {
        let (mut source, mut builder) = (self.source.take()?, self.builder.take()?);
        let info = source.info();
        let snap = self.refresh_with(&mut *source, &mut builder, &info);
        self.source = Some(source);
        self.builder = Some(builder);
        snap
    }

    fn run(mut self, rx: &mpsc::Receiver<Command>, channels: &Channels, mut interval: Duration) {
        let mut next = Instant::now() + interval;
        let publish = |snap: Option<Snapshot>, st: &CollectorStatus| channels.publish(snap, st);
        loop {
            let idle = self.status.frozen || self.status.finished;
            let wait = if idle { Duration::from_secs(3600) } else { next.saturating_duration_since(Instant::now()) };
            match rx.recv_timeout(wait) {
                Ok(Command::Stop) | Err(RecvTimeoutError::Disconnected) => return,
                Ok(Command::RefreshNow(reply)) => {
                    let snap = self.refresh();
                    publish(snap, &self.status);
                    let _ = reply.send(channels.snapshots.borrow().generation);
                }
                Ok(Command::SetInterval(d, reply)) => {
                    interval = d.clamp(MIN_INTERVAL, MAX_INTERVAL);
                    self.status.interval_ms = interval.as_millis() as u64;
                    next = Instant::now() + interval;
                    publish(None, &self.status);
                    let _ = reply.send(interval);
                }
                Ok(Command::Freeze(on, reply)) => {
                    self.status.frozen = on;
                    next = Instant::now() + interval;
                    publish(None, &self.status);
                    let _ = reply.send(on);
                }
                Err(RecvTimeoutError::Timeout) => {
                    let snap = self.refresh();
                    publish(snap, &self.status);
                    // Skip missed ticks: the next one is a full interval
                    // after now if this refresh overran.
                    next = (next + interval).max(Instant::now());
                }
            }
        }
    }
}
