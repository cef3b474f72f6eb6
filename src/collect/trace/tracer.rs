//! The `necromap-trace` thread: waits on `trace_pipe` with poll (so a stop
//! request is seen within [`POLL_TIMEOUT`]), turns lines into records and
//! queues them for [`super::ConnectTracer::take`].

use std::collections::VecDeque;
use std::os::fd::OwnedFd;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

use rustix::event::{PollFd, PollFlags, poll};
use rustix::io::Errno;
use rustix::time::{ClockId, Timespec, clock_gettime};

use super::instance::{Instance, lost_events};
use super::pair::Pairer;
use super::parse::{SYN_SENT, TraceLine, Transition, UNKNOWN_COMM, parse_line};
use super::task::TaskLookup;
use super::{ConnectOutcome, ConnectRecord, TraceStats};
use crate::collect::now_ms;

/// Longest a stop request waits for the thread.
const POLL_TIMEOUT: Duration = Duration::from_millis(100);

/// Under a flood of connects (more than [`BURST_LINES`] lines within
/// [`COALESCE`]), pause this long after each read: the thread then wakes
/// about 100 times a second instead of once per event, and each wakeup
/// also costs the connecting task an interrupt. Sparse connects are read
/// at once, while /proc still knows their thread.
const COALESCE: Duration = Duration::from_millis(10);
const BURST_LINES: usize = 64;

/// Records queued at most between two `take()`s; later ones are counted
/// and dropped.
pub const QUEUE_CAP: usize = 200_000;

/// Most bytes kept while waiting for the end of a line.
const MAX_PARTIAL: usize = 64 * 1024;

/// Longest task name kept (the kernel's limit is 15 bytes; /proc escapes
/// may make it longer).
const COMM_MAX: usize = 64;

/// What the thread owns. Field order is drop order: `trace_pipe` and the
/// stats files close before the instance is removed (the kernel refuses
/// to remove an instance with open files).
#[derive(Debug)]
pub struct Session {
    pub pipe: OwnedFd,
    pub stats: Vec<OwnedFd>,
    pub instance: Instance,
}

/// Shared between the thread and the [`super::ConnectTracer`].
#[derive(Debug, Default)]
pub struct Shared {
    pub stop: AtomicBool,
    queue: Mutex<VecDeque<ConnectRecord>>,
    received: AtomicU64,
    dropped: AtomicU64,
    kernel_lost: AtomicU64,
    unparsed: AtomicU64,
    pub failure: Mutex<Option<String>>,
}

impl Shared {
    pub fn take(&self) -> (Vec<ConnectRecord>, TraceStats) {
        let records = std::mem::take(&mut *self.queue.lock().unwrap_or_else(PoisonError::into_inner));
        let stats = TraceStats {
            received: self.received.load(Ordering::Relaxed),
            dropped_queue_full: self.dropped.load(Ordering::Relaxed),
            kernel_lost: self.kernel_lost.load(Ordering::Relaxed),
            unparsed_lines: self.unparsed.load(Ordering::Relaxed),
        };
        (records.into(), stats)
    }

    fn push(&self, records: impl IntoIterator<Item = ConnectRecord>) {
        let mut queue = self.queue.lock().unwrap_or_else(PoisonError::into_inner);
        for r in records {
            if queue.len() < QUEUE_CAP {
                queue.push_back(r);
            } else {
                self.dropped.fetch_add(1, Ordering::Relaxed);
            }
        }
    }

    fn fail(&self, why: String) {
        *self.failure.lock().unwrap_or_else(PoisonError::into_inner) = Some(why);
    }
}

/// The thread body. Returns when asked to stop or when `trace_pipe` fails
/// (the reason is left in [`Shared::failure`]); the session's drop then
/// removes the instance.
pub fn run(session: &Session, shared: &Shared) {
    let mut reader = Reader::new(session.instance.boot_clock);
    let mut buf = vec![0u8; 64 * 1024];
    let mut last_housekeeping = Instant::now();
    let mut burst = Burst::default();
    let timeout = Timespec { tv_sec: 0, tv_nsec: POLL_TIMEOUT.as_nanos() as i64 };
    while !shared.stop.load(Ordering::Relaxed) {
        let mut fds = [PollFd::new(&session.pipe, PollFlags::IN)];
        match poll(&mut fds, Some(&timeout)) {
            Ok(_) | Err(Errno::INTR) => {}
            Err(e) => return shared.fail(format!("poll on trace_pipe failed: {e}")),
        }
        let mut lines = 0;
        loop {
            match rustix::io::read(&session.pipe, &mut buf[..]) {
                Ok(0) | Err(Errno::AGAIN) => break,
                Ok(n) => lines += reader.feed(&buf[..n], shared),
                Err(Errno::INTR) => {}
                Err(e) => return shared.fail(format!("reading trace_pipe failed: {e}")),
            }
        }
        if burst.count(lines) {
            std::thread::sleep(COALESCE);
        }
        let now = Instant::now();
        shared.push(reader.pairer.expire(now));
        if now.duration_since(last_housekeeping) >= Duration::from_secs(1) {
            last_housekeeping = now;
            reader.tasks.prune(now);
            let lost = lost_events(&session.stats).unwrap_or(0).max(reader.lost_lines);
            shared.kernel_lost.store(lost, Ordering::Relaxed);
        }
    }
    // Connects still waiting for their end go out as they are.
    shared.push(reader.pairer.expire(Instant::now() + super::pair::MAX_WAIT));
    shared.kernel_lost.fetch_max(lost_events(&session.stats).unwrap_or(0).max(reader.lost_lines), Ordering::Relaxed);
}

/// Lines read within the current [`COALESCE`] window.
#[derive(Debug)]
struct Burst {
    since: Instant,
    lines: usize,
}

impl Default for Burst {
    fn default() -> Self {
        Self { since: Instant::now(), lines: 0 }
    }
}

impl Burst {
    /// Count `lines` just read; whether this is a flood worth batching.
    fn count(&mut self, lines: usize) -> bool {
        if lines == 0 {
            return false;
        }
        let now = Instant::now();
        if now.duration_since(self.since) > COALESCE {
            *self = Self { since: now, lines: 0 };
        }
        self.lines += lines;
        self.lines > BURST_LINES
    }
}

/// Lines to records.
#[derive(Debug)]
struct Reader {
    partial: Vec<u8>,
    pairer: Pairer,
    tasks: TaskLookup,
    boot_clock: bool,
    /// Sum of `[LOST n EVENTS]` lines, in case the stats files are missing.
    lost_lines: u64,
}

impl Reader {
    fn new(boot_clock: bool) -> Self {
        Self { partial: Vec::new(), pairer: Pairer::default(), tasks: TaskLookup::new(), boot_clock, lost_lines: 0 }
    }

    /// Returns the number of complete lines handled.
    fn feed(&mut self, bytes: &[u8], shared: &Shared) -> usize {
        self.partial.extend_from_slice(bytes);
        let Some(end) = self.partial.iter().rposition(|&b| b == b'\n') else {
            // Lines are a few hundred bytes; this much without a newline is
            // not a format we know.
            if self.partial.len() > MAX_PARTIAL {
                self.partial.clear();
                shared.unparsed.fetch_add(1, Ordering::Relaxed);
            }
            return 0;
        };
        let complete: Vec<u8> = self.partial.drain(..=end).collect();
        let now = Instant::now();
        let clock = WallClock::now(self.boot_clock);
        let mut done = Vec::new();
        let mut lines = 0;
        for line in complete.split(|&b| b == b'\n').filter(|l| !l.is_empty()) {
            lines += 1;
            match parse_line(&String::from_utf8_lossy(line)) {
                Some(TraceLine::Transition(t)) if t.new == SYN_SENT => {
                    shared.received.fetch_add(1, Ordering::Relaxed);
                    let record = self.started(&t, &clock, now);
                    done.extend(self.pairer.start(record, now));
                }
                Some(TraceLine::Transition(t)) if t.old == SYN_SENT => done.extend(self.pairer.finish(&t)),
                Some(TraceLine::Transition(_)) => {}
                Some(TraceLine::Lost(n)) => self.lost_lines += n,
                None => {
                    shared.unparsed.fetch_add(1, Ordering::Relaxed);
                }
            }
        }
        shared.push(done);
        lines
    }

    /// The record for a connect entering `SYN_SENT`, with its owner as
    /// /proc tells it now while /proc still has the thread that made the
    /// line (else what the line says).
    fn started(&mut self, t: &Transition, clock: &WallClock, now: Instant) -> ConnectRecord {
        let event_us = if self.boot_clock { t.ts_us } else { None };
        let task = self.tasks.lookup_at(t.tid, &t.comm, now, event_us, t.tgid);
        let (pid, name, net_ns) = match task {
            Some(info) => (info.tgid, info.name, info.net_ns),
            None => (t.tgid.unwrap_or(t.tid), t.comm.clone(), None),
        };
        let name = if name.is_empty() { UNKNOWN_COMM.to_string() } else { name };
        ConnectRecord {
            at_ms: t.ts_us.and_then(|ts| clock.unix_ms(ts)).unwrap_or(clock.now_ms),
            tid: t.tid,
            pid,
            comm: crate::text::bounded(&crate::text::escape_control(&name), COMM_MAX),
            local: t.local,
            remote: t.remote,
            outcome: ConnectOutcome::Unknown,
            net_ns,
        }
    }
}

/// Turns trace timestamps (`CLOCK_BOOTTIME`) into Unix ms.
#[derive(Debug)]
struct WallClock {
    now_ms: i64,
    /// `CLOCK_BOOTTIME` now, in µs, when the instance uses that clock.
    boot_now_us: Option<i64>,
}

impl WallClock {
    fn now(boot_clock: bool) -> Self {
        let boot_now_us = boot_clock.then(|| {
            let t = clock_gettime(ClockId::Boottime);
            t.tv_sec * 1_000_000 + t.tv_nsec / 1_000
        });
        Self { now_ms: now_ms(), boot_now_us }
    }

    /// `ts_us` if it is plausible (not in the future, under a day old).
    fn unix_ms(&self, ts_us: u64) -> Option<i64> {
        let age_us = self.boot_now_us? - i64::try_from(ts_us).ok()?;
        (-1_000_000..86_400_000_000).contains(&age_us).then(|| self.now_ms - age_us / 1_000)
    }
}
