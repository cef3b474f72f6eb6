//! One background thread reading the destroy events of any number of
//! network namespaces, so that the collector thread only ever drains a
//! queue. The kernel drops events once a listener's receive queue is full,
//! so reading must not wait for a refresh: this thread reads as soon as
//! the kernel delivers.

use std::os::fd::OwnedFd;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{Receiver, Sender, TryRecvError, channel};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::thread::JoinHandle;
use std::time::Duration;

use rustix::event::{EventfdFlags, PollFd, PollFlags, Timespec, eventfd, poll};
use rustix::io::{Errno, read, write};

use super::destroy::DestroyListener;
use crate::model::DestroyedSocket;

/// Events kept between two [`EventPump::take`] calls; beyond it new events
/// are dropped and counted. 136 bytes an event: about 130 MiB at this bound.
pub const DEFAULT_MAX_QUEUED: usize = 1_000_000;

/// After reading events, wait this long before polling again, so that a
/// stream of closes is read in batches rather than one wake-up per event.
/// Halves the reader's CPU per event under load (about 1.1 µs instead of
/// 2.3 µs in `cargo bench --bench events`) and leaves the connecting
/// threads more of the machine. Costs at most this much delay; a receive
/// queue holds 52,428 events (1,280 bytes each in 64 MiB), over half a
/// second of the fastest churn two cores made here (88,000 sockets/s).
const COALESCE: Duration = Duration::from_millis(2);

/// Poll timeout: add, remove and drop wake the thread at once through an
/// eventfd, so this only bounds how long a lost wake-up could go unnoticed.
const POLL_TIMEOUT: Duration = Duration::from_millis(200);

/// Cumulative counters since the pump started.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PumpStats {
    /// Events read from the kernel, queued or not.
    pub received: u64,
    /// `ENOBUFS` episodes: the kernel dropped events because a listener's
    /// queue was full (each episode loses at least one event).
    pub kernel_overruns: u64,
    /// Events read but dropped because the pump's queue was full.
    pub dropped_queue_full: u64,
    /// Datagrams that could not be parsed and were skipped.
    pub malformed: u64,
    /// Listeners removed after an I/O error other than an overrun.
    pub failed_listeners: u64,
}

impl PumpStats {
    /// Overrun episodes and queue drops since `earlier`: more than zero
    /// means some sockets closed without an event, in any namespace.
    pub fn lost_since(&self, earlier: &Self) -> u64 {
        self.kernel_overruns.saturating_sub(earlier.kernel_overruns) + self.dropped_queue_full.saturating_sub(earlier.dropped_queue_full)
    }
}

enum Control {
    Add(u64, DestroyListener),
    Remove(u64),
}

#[derive(Debug, Default)]
struct Queue {
    events: Vec<(u64, DestroyedSocket)>,
    stats: PumpStats,
}

#[derive(Debug)]
struct Shared {
    queue: Mutex<Queue>,
    stop: AtomicBool,
    /// Written to wake the thread; read by it.
    wake: OwnedFd,
}

impl Shared {
    fn queue(&self) -> MutexGuard<'_, Queue> {
        self.queue.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn wake(&self) {
        // A full counter (never in practice) still leaves the fd readable.
        let _ = write(&self.wake, &1u64.to_ne_bytes());
    }
}

/// Reads [`DestroyListener`]s, keyed by a namespace id the caller chooses,
/// on a thread named `necromap-events`; dropping the pump stops and joins it.
#[derive(Debug)]
pub struct EventPump {
    shared: Arc<Shared>,
    control: Sender<Control>,
    thread: Option<JoinHandle<()>>,
}

impl EventPump {
    /// Start the thread with no listeners and the default queue bound.
    pub fn start() -> std::io::Result<Self> {
        Self::with_max_queued(DEFAULT_MAX_QUEUED)
    }

    /// Start the thread, keeping at most `max_queued` events between takes.
    pub fn with_max_queued(max_queued: usize) -> std::io::Result<Self> {
        let wake = eventfd(0, EventfdFlags::CLOEXEC | EventfdFlags::NONBLOCK)?;
        let shared = Arc::new(Shared { queue: Mutex::new(Queue::default()), stop: AtomicBool::new(false), wake });
        let (control, inbox) = channel();
        let worker = Worker { shared: Arc::clone(&shared), inbox, listeners: Vec::new(), max_queued, batch: Vec::new() };
        let thread = std::thread::Builder::new().name("necromap-events".into()).spawn(move || worker.run())?;
        Ok(Self { shared, control, thread: Some(thread) })
    }

    /// Read `listener` from now on as namespace `ns`, replacing (and
    /// closing) any listener already under that id.
    pub fn add(&self, ns: u64, listener: DestroyListener) {
        // Sending fails only if the thread is gone, and then nothing reads.
        let _ = self.control.send(Control::Add(ns, listener));
        self.shared.wake();
    }

    /// Stop reading namespace `ns` and close its listener.
    pub fn remove(&self, ns: u64) {
        let _ = self.control.send(Control::Remove(ns));
        self.shared.wake();
    }

    /// Every event queued since the last take, oldest first, with the
    /// namespace it came from, and the cumulative counters.
    pub fn take(&self) -> (Vec<(u64, DestroyedSocket)>, PumpStats) {
        let mut q = self.shared.queue();
        (std::mem::take(&mut q.events), q.stats)
    }
}

impl Drop for EventPump {
    fn drop(&mut self) {
        self.shared.stop.store(true, Ordering::Release);
        self.shared.wake();
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// The thread's state.
struct Worker {
    shared: Arc<Shared>,
    inbox: Receiver<Control>,
    listeners: Vec<(u64, DestroyListener)>,
    max_queued: usize,
    /// Events read from one listener, before they are queued.
    batch: Vec<DestroyedSocket>,
}

impl Worker {
    fn run(mut self) {
        let timeout = Timespec::try_from(POLL_TIMEOUT).unwrap_or_default();
        let mut ready = Vec::new();
        while !self.shared.stop.load(Ordering::Acquire) {
            if !self.apply_controls() {
                return;
            }
            ready.clear();
            {
                let mut fds = Vec::with_capacity(1 + self.listeners.len());
                fds.push(PollFd::new(&self.shared.wake, PollFlags::IN));
                fds.extend(self.listeners.iter().map(|(_, l)| PollFd::new(l, PollFlags::IN)));
                match poll(&mut fds, Some(&timeout)) {
                    Ok(_) | Err(Errno::INTR) => {}
                    // Only EFAULT, EINVAL or ENOMEM: wait, then try again.
                    Err(_) => std::thread::sleep(POLL_TIMEOUT),
                }
                if !fds[0].revents().is_empty() {
                    let mut counter = [0u8; 8];
                    let _ = read(&self.shared.wake, &mut counter);
                }
                ready.extend(fds[1..].iter().enumerate().filter(|(_, fd)| !fd.revents().is_empty()).map(|(i, _)| i));
            }
            let mut failed = Vec::new();
            let mut read = 0;
            for &i in &ready {
                match self.read_listener(i) {
                    Some(n) => read += n,
                    None => failed.push(i),
                }
            }
            // Descending, so each swap_remove moves an entry already kept.
            for i in failed.into_iter().rev() {
                self.listeners.swap_remove(i);
            }
            if read > 0 {
                std::thread::sleep(COALESCE);
            }
        }
    }

    /// Apply pending adds and removes; false once the pump is gone.
    fn apply_controls(&mut self) -> bool {
        loop {
            match self.inbox.try_recv() {
                Ok(Control::Add(ns, listener)) => {
                    self.listeners.retain(|(id, _)| *id != ns);
                    self.listeners.push((ns, listener));
                }
                Ok(Control::Remove(ns)) => self.listeners.retain(|(id, _)| *id != ns),
                Err(TryRecvError::Empty) => return true,
                Err(TryRecvError::Disconnected) => return false,
            }
        }
    }

    /// Drain listener `i` into the queue: how many events it gave, or none
    /// if it failed for good. A listener left with events past its read
    /// budget stays readable and is read again after the others.
    fn read_listener(&mut self, i: usize) -> Option<usize> {
        let (ns, listener) = &mut self.listeners[i];
        self.batch.clear();
        let outcome = listener.recv_into(&mut self.batch, None);
        let mut q = self.shared.queue();
        let Ok(outcome) = outcome else {
            q.stats.failed_listeners += 1;
            return None;
        };
        q.stats.received += self.batch.len() as u64;
        q.stats.kernel_overruns += outcome.overruns;
        q.stats.malformed += outcome.malformed;
        let room = self.max_queued.saturating_sub(q.events.len());
        let kept = self.batch.len().min(room);
        q.stats.dropped_queue_full += (self.batch.len() - kept) as u64;
        let ns = *ns;
        q.events.extend(self.batch.drain(..kept).map(|e| (ns, e)));
        Some(outcome.events)
    }
}
