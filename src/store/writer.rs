//! The writer thread: the only connection that writes. It follows the
//! collector's snapshot channel (a snapshot skipped while it was busy is
//! simply diffed across), takes batches from other producers (the eve
//! tailer, `baseline save`, responses) over a channel, and commits each
//! round in one transaction. Retention pruning runs at start and hourly.
//!
//! The collector never waits on it: the watch channel only keeps the
//! latest snapshot, and batches queue without blocking their sender.
//!
//! A failed commit (a full disk, a locked file) loses nothing at once: the
//! rows wait and are tried again with back-off (1 s doubling to 30 s), up
//! to [`MAX_WAITING_ROWS`] (the oldest socket events go first past that,
//! counted). The [`StoreStatus`] says since when and why, for health.

use std::path::PathBuf;
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

use tokio::sync::{mpsc, watch};

use super::recorder::Recorder;
use super::status::StoreStatus;
use super::{Batch, StoreError};
use crate::model::Snapshot;

/// How often old rows are pruned.
const PRUNE_EVERY: Duration = Duration::from_secs(3600);
/// Rows kept for a retry while commits fail.
pub const MAX_WAITING_ROWS: usize = 200_000;
const FIRST_BACKOFF: Duration = Duration::from_secs(1);
const MAX_BACKOFF: Duration = Duration::from_secs(30);

#[derive(Debug)]
enum Message {
    Batch(Batch),
    Stop,
}

/// Sends batches to the writer from any thread, without blocking.
#[derive(Debug, Clone)]
pub struct BatchSender(mpsc::UnboundedSender<Message>);

impl BatchSender {
    /// Queue rows for the next commit. False when the writer has stopped.
    pub fn send(&self, batch: Batch) -> bool {
        self.0.send(Message::Batch(batch)).is_ok()
    }
}

/// Settings of the writer.
#[derive(Debug, Clone)]
pub struct WriterOptions {
    pub path: PathBuf,
    /// Keep rows this long (None: forever).
    pub retention: Option<Duration>,
    /// Print one line per commit on stderr (`NECROMAP_STORE_TRACE=1`; the
    /// durability test reads them).
    pub trace_commits: bool,
    /// Where the writer reports failures.
    pub status: StoreStatus,
}

/// A running writer; dropping it commits what is queued and stops.
#[derive(Debug)]
pub struct StoreWriter {
    sender: BatchSender,
    thread: Option<JoinHandle<()>>,
}

/// A store opened (and pruned) but not yet written to: open it before the
/// collector starts, so its first snapshot already knows whether there is
/// a store, then start the thread with the collector's snapshots.
#[derive(Debug)]
pub struct OpenedStore {
    conn: rusqlite::Connection,
    options: WriterOptions,
}

impl OpenedStore {
    /// Open the store (errors now, not later).
    pub fn open(options: WriterOptions) -> Result<Self, StoreError> {
        let conn = super::open(&options.path)?;
        if let Some(keep) = options.retention {
            super::prune(&conn, crate::collect::now_ms() - keep.as_millis() as i64)?;
        }
        Ok(Self { conn, options })
    }

    /// Start the thread. With `snapshots`, every published snapshot is
    /// recorded.
    pub fn start(self, snapshots: Option<watch::Receiver<Arc<Snapshot>>>) -> Result<StoreWriter, StoreError> {
        let Self { mut conn, options } = self;
        let (tx, rx) = mpsc::unbounded_channel();
        let path = options.path.clone();
        let thread = std::thread::Builder::new()
            .name("necromap-store".into())
            .spawn(move || {
                let Ok(rt) = tokio::runtime::Builder::new_current_thread().enable_time().build() else { return };
                rt.block_on(run(&mut conn, rx, snapshots, &options));
            })
            .map_err(|source| StoreError::Dir { path: path.clone(), source })?;
        Ok(StoreWriter { sender: BatchSender(tx), thread: Some(thread) })
    }
}

impl StoreWriter {
    /// Open the store (errors now, not later) and start the thread. With
    /// `snapshots`, every published snapshot is recorded.
    pub fn spawn(options: WriterOptions, snapshots: Option<watch::Receiver<Arc<Snapshot>>>) -> Result<Self, StoreError> {
        OpenedStore::open(options)?.start(snapshots)
    }

    pub fn sender(&self) -> BatchSender {
        self.sender.clone()
    }
}

impl Drop for StoreWriter {
    fn drop(&mut self) {
        let _ = self.sender.0.send(Message::Stop);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

async fn run(
    conn: &mut rusqlite::Connection,
    mut rx: mpsc::UnboundedReceiver<Message>,
    snapshots: Option<watch::Receiver<Arc<Snapshot>>>,
    options: &WriterOptions,
) {
    let mut recorder = Recorder::default();
    let mut prune = tokio::time::interval(PRUNE_EVERY);
    prune.tick().await; // the first tick is immediate: pruned at start already
    let mut snapshots = snapshots;
    let mut pending = Batch::default();
    let mut stop = false;
    let mut retry = Retry::default();
    // The snapshot already published when we start is recorded too.
    if let Some(s) = &snapshots {
        let snap = s.borrow().clone();
        if snap.generation > 0 {
            pending.append(recorder.record(&snap));
        }
    }
    while !stop {
        if !pending.is_empty() && retry.due() {
            commit(conn, &mut pending, options, &mut retry);
        }
        let wait = retry.wait(!pending.is_empty());
        tokio::select! {
            () = tokio::time::sleep(wait) => {}
            changed = async {
                match snapshots.as_mut() {
                    Some(s) => s.changed().await.map(|()| s.borrow_and_update().clone()),
                    None => std::future::pending().await,
                }
            } => match changed {
                Ok(snap) => pending.append(recorder.record(&snap)),
                Err(_) => snapshots = None,
            },
            msg = rx.recv() => match msg {
                Some(Message::Batch(b)) => pending.append(b),
                Some(Message::Stop) | None => stop = true,
            },
            _ = prune.tick() => {
                if let Some(keep) = options.retention {
                    let _ = super::prune(conn, crate::collect::now_ms() - keep.as_millis() as i64);
                }
            }
        }
        // Take whatever else is queued into the same commit.
        while let Ok(msg) = rx.try_recv() {
            match msg {
                Message::Batch(b) => pending.append(b),
                Message::Stop => stop = true,
            }
        }
    }
    if !pending.is_empty() {
        commit(conn, &mut pending, options, &mut Retry::default());
    }
}

/// When the next commit may be tried after a failure.
#[derive(Debug, Default)]
struct Retry {
    at: Option<std::time::Instant>,
    backoff: Duration,
}

impl Retry {
    fn due(&self) -> bool {
        self.at.is_none_or(|t| std::time::Instant::now() >= t)
    }

    /// How long the loop may sleep: until the retry when rows wait for
    /// one, else a long time (other branches wake it).
    fn wait(&self, rows_waiting: bool) -> Duration {
        match self.at {
            Some(t) if rows_waiting => t.saturating_duration_since(std::time::Instant::now()),
            _ => Duration::from_secs(3600),
        }
    }

    fn failed(&mut self) {
        self.backoff = if self.backoff.is_zero() { FIRST_BACKOFF } else { (self.backoff * 2).min(MAX_BACKOFF) };
        self.at = Some(std::time::Instant::now() + self.backoff);
    }

    fn succeeded(&mut self) {
        *self = Self::default();
    }
}

fn commit(conn: &mut rusqlite::Connection, pending: &mut Batch, options: &WriterOptions, retry: &mut Retry) {
    let batch = std::mem::take(pending);
    match super::write(conn, &batch) {
        Ok(()) => {
            retry.succeeded();
            options.status.update(|s| {
                s.failing_since_ms = None;
                s.last_error = None;
                s.waiting_rows = 0;
                s.written_rows += batch.rows() as u64;
            });
            if options.trace_commits {
                eprintln!(
                    "necromap: store committed {} rows ({} socket events, {} findings, {} alerts)",
                    batch.rows(),
                    batch.events.len(),
                    batch.findings.len(),
                    batch.alerts.len()
                );
            }
        }
        Err(e) => {
            // Keep the rows for the next attempt, up to the bound.
            *pending = batch;
            let dropped = pending.shed(MAX_WAITING_ROWS);
            retry.failed();
            let waiting = pending.rows();
            options.status.update(|s| {
                s.failing_since_ms.get_or_insert_with(crate::collect::now_ms);
                s.last_error = Some(e.to_string());
                s.waiting_rows = waiting;
                s.dropped_rows += dropped as u64;
            });
        }
    }
}
