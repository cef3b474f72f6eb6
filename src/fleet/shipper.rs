//! The agent's shipper: follows the collector's snapshots, queues each
//! refresh's changes in the outbox (one task), and sends the outbox to
//! PostgreSQL in order (another task), reconnecting with a growing pause
//! while the database is away. Its state is published as [`ShipStatus`].
//!
//! ```text
//!  watch<Arc<Snapshot>> ─► Differ ─► outbox.push ──notify──► drain: connect, migrate, partitions,
//!                                                                   apply(seq) … remove(seq)
//! ```

use std::fmt::Write as _;
use std::path::PathBuf;
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant, SystemTime};

use tokio::sync::{Notify, watch};
use tokio_util::sync::CancellationToken;

use super::FleetError;
use super::batch::Differ;
use super::conn::{FleetUrl, connect};
use super::outbox::{Outbox, Queued};
use super::ship::{AgentHealth, HostIdentity, apply};
use crate::model::Snapshot;

/// An empty refresh is still sent this often (the host's last seen).
const HEARTBEAT: Duration = Duration::from_secs(30);
/// Batches sent per round before looking at new ones.
const ROUND: usize = 64;
const MAX_PAUSE: Duration = Duration::from_secs(5);

#[derive(Debug, Clone)]
pub struct ShipperOptions {
    pub url: FleetUrl,
    pub host: HostIdentity,
    /// The local store that holds the outbox.
    pub store: PathBuf,
    pub capacity: usize,
    /// Drop day partitions older than this (none: keep everything).
    pub retention: Option<Duration>,
}

/// What the shipper is doing.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ShipStatus {
    pub connected: bool,
    /// Batches waiting in the outbox.
    pub queued: usize,
    /// Batches PostgreSQL committed since start.
    pub sent: u64,
    /// Batches not queued because the outbox was full (since the store began).
    pub dropped: u64,
    /// The last error talking to PostgreSQL or the outbox (cleared on success).
    pub last_error: Option<String>,
    /// Milliseconds from a refresh to its commit in PostgreSQL, the last one.
    pub last_lag_ms: Option<i64>,
}

impl ShipStatus {
    /// One line for the log and health.
    pub fn line(&self) -> String {
        let state = if self.connected { "connected" } else { "not connected" };
        let mut s = format!("fleet: {state}; {} batches queued, {} sent", self.queued, self.sent);
        if self.dropped > 0 {
            let _ = write!(s, ", {} dropped while the outbox was full (a resync followed)", self.dropped);
        }
        if let Some(e) = &self.last_error {
            let _ = write!(s, "; {e}");
        }
        s
    }
}

/// The running shipper; stops (and joins) when dropped.
#[derive(Debug)]
pub struct Shipper {
    cancel: CancellationToken,
    thread: Option<JoinHandle<()>>,
    status: watch::Receiver<ShipStatus>,
}

impl Drop for Shipper {
    fn drop(&mut self) {
        self.cancel.cancel();
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

impl Shipper {
    /// Open the outbox now (so a bad store is said at once), then ship on a thread.
    pub fn start(options: ShipperOptions, snapshots: watch::Receiver<Arc<Snapshot>>) -> Result<Self, FleetError> {
        let pusher = Outbox::open(&options.store, options.capacity)?;
        let drainer = Outbox::open(&options.store, options.capacity)?;
        let dropped = pusher.counter("dropped")?;
        let (tx, status) = watch::channel(ShipStatus { queued: pusher.depth()?, dropped, ..ShipStatus::default() });
        let cancel = CancellationToken::new();
        let stop = cancel.clone();
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().map_err(FleetError::Runtime)?;
        let thread = std::thread::Builder::new()
            .name("necromap-fleet".into())
            .spawn(move || {
                let tx = Arc::new(tx);
                let wake = Arc::new(Notify::new());
                rt.block_on(async {
                    let queue = tokio::spawn(queue_loop(pusher, snapshots, options.host.name.clone(), tx.clone(), wake.clone(), stop.clone()));
                    drain_loop(drainer, &options, &tx, &wake, &stop).await;
                    let _ = queue.await;
                });
            })
            .map_err(FleetError::Runtime)?;
        Ok(Self { cancel, thread: Some(thread), status })
    }

    pub fn status(&self) -> watch::Receiver<ShipStatus> {
        self.status.clone()
    }
}

async fn queue_loop(
    mut outbox: Outbox,
    mut snapshots: watch::Receiver<Arc<Snapshot>>,
    host_name: String,
    status: Arc<watch::Sender<ShipStatus>>,
    wake: Arc<Notify>,
    stop: CancellationToken,
) {
    let mut differ = Differ::default();
    let mut last_queued = Instant::now();
    let mut first = true;
    loop {
        if !first {
            tokio::select! {
                () = stop.cancelled() => return,
                changed = snapshots.changed() => if changed.is_err() { return },
            }
        }
        first = false;
        let snap = snapshots.borrow_and_update().clone();
        if snap.generation == 0 {
            continue;
        }
        let batch = differ.next(&snap, &host_name);
        if batch.is_empty() && last_queued.elapsed() < HEARTBEAT {
            continue;
        }
        match outbox.push(&batch) {
            Ok(Queued::At(_)) => {
                last_queued = Instant::now();
                let depth = outbox.depth().unwrap_or(0);
                status.send_modify(|s| s.queued = depth);
                wake.notify_one();
            }
            Ok(Queued::Full) => {
                // The next batch queued carries every open socket again.
                differ.reset();
                let dropped = outbox.add_to_counter("dropped", 1).unwrap_or(0);
                status.send_modify(|s| s.dropped = dropped);
            }
            Err(e) => {
                differ.reset();
                status.send_modify(|s| s.last_error = Some(crate::text::error_chain(&e)));
            }
        }
    }
}

async fn drain_loop(outbox: Outbox, options: &ShipperOptions, status: &watch::Sender<ShipStatus>, wake: &Notify, stop: &CancellationToken) {
    let mut client: Option<tokio_postgres::Client> = None;
    let mut pause = Duration::from_millis(200);
    let mut partitions_at: Option<Instant> = None;
    loop {
        if stop.is_cancelled() {
            return;
        }
        if client.is_none() {
            match open(&options.url).await {
                Ok(c) => {
                    client = Some(c);
                    partitions_at = None;
                    pause = Duration::from_millis(200);
                    status.send_modify(|s| {
                        s.connected = true;
                        s.last_error = None;
                    });
                }
                Err(e) => {
                    let text = format!("{}: {}", options.url.display, crate::text::error_chain(&e));
                    status.send_modify(|s| {
                        s.connected = false;
                        s.last_error = Some(text);
                    });
                    tokio::select! {
                        () = stop.cancelled() => return,
                        () = tokio::time::sleep(pause) => {}
                    }
                    pause = (pause * 2).min(MAX_PAUSE);
                    continue;
                }
            }
        }
        let Some(c) = client.as_mut() else { continue };
        if partitions_at.is_none_or(|t| t.elapsed() > Duration::from_secs(3600)) {
            let now = SystemTime::now();
            let kept = match super::partitions::ensure(c, now).await {
                Ok(()) => match options.retention {
                    Some(keep) => super::partitions::drop_older(c, now, keep).await.map(|_| ()),
                    None => Ok(()),
                },
                Err(e) => Err(e),
            };
            if let Err(e) = kept {
                fail(status, &mut client, &e);
                continue;
            }
            partitions_at = Some(Instant::now());
        }
        match drain_once(c, &outbox, options, status).await {
            Ok(more) if more => continue,
            Ok(_) => {}
            Err(e) => {
                fail(status, &mut client, &e);
                continue;
            }
        }
        tokio::select! {
            () = stop.cancelled() => return,
            () = wake.notified() => {}
            () = tokio::time::sleep(Duration::from_secs(1)) => {}
        }
    }
}

fn fail(status: &watch::Sender<ShipStatus>, client: &mut Option<tokio_postgres::Client>, e: &FleetError) {
    *client = None;
    let text = crate::text::error_chain(e);
    status.send_modify(|s| {
        s.connected = false;
        s.last_error = Some(text);
    });
}

async fn open(url: &FleetUrl) -> Result<tokio_postgres::Client, FleetError> {
    let mut c = connect(url).await?;
    super::migrate::migrate(&mut c).await?;
    Ok(c)
}

/// Send up to [`ROUND`] batches; true when more may be waiting.
async fn drain_once(
    client: &mut tokio_postgres::Client,
    outbox: &Outbox,
    options: &ShipperOptions,
    status: &watch::Sender<ShipStatus>,
) -> Result<bool, FleetError> {
    let batches = outbox.oldest(ROUND)?;
    let n = batches.len();
    for (seq, batch) in batches {
        let (depth, dropped) = {
            let s = status.borrow();
            (s.queued, s.dropped)
        };
        let health = AgentHealth { outbox_depth: depth, dropped, note: None };
        apply(client, &options.host, outbox.stream(), seq, &batch, &health).await?;
        outbox.remove(seq)?;
        let lag = crate::collect::now_ms() - batch.at_ms;
        let depth = outbox.depth()?;
        status.send_modify(|s| {
            s.sent += 1;
            s.queued = depth;
            s.last_lag_ms = Some(lag);
            s.last_error = None;
        });
    }
    Ok(n == ROUND)
}

/// The host's stable id: `/etc/machine-id` (systemd's, 32 hex digits).
pub fn machine_id() -> Result<String, FleetError> {
    let text =
        std::fs::read_to_string("/etc/machine-id").map_err(|e| FleetError::HostId(format!("cannot read /etc/machine-id ({e}): give --host-name NAME")))?;
    let id = text.trim();
    if id.is_empty() || id.len() > 64 || !id.chars().all(|c| c.is_ascii_hexdigit()) {
        return Err(FleetError::HostId("/etc/machine-id is not a machine id: give --host-name NAME".into()));
    }
    Ok(id.to_string())
}
