//! What the capture and reverse threads share with the [`Names`](super::Names)
//! handle: the cache behind one mutex (held only for an insert or a
//! lookup, never across I/O), the counters, and the stop flag.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Mutex, MutexGuard, PoisonError};

use super::cache::NameCache;

/// Event counters, all monotonic.
#[derive(Debug, Default)]
pub struct Counters {
    pub packets: AtomicU64,
    pub answers: AtomicU64,
    pub not_answers: AtomicU64,
    pub duplicates: AtomicU64,
    pub asker_found: AtomicU64,
    pub asker_missing: AtomicU64,
    pub recv_errors: AtomicU64,
    pub ptr_wanted: AtomicU64,
    pub ptr_dropped: AtomicU64,
    pub ptr_sent: AtomicU64,
    pub ptr_answered: AtomicU64,
    pub ptr_negative: AtomicU64,
    pub ptr_rejected: AtomicU64,
}

/// Add one to a counter.
pub fn bump(c: &AtomicU64) {
    c.fetch_add(1, Ordering::Relaxed);
}

/// Read a counter.
pub fn get(c: &AtomicU64) -> u64 {
    c.load(Ordering::Relaxed)
}

#[derive(Debug)]
pub struct Shared {
    cache: Mutex<NameCache>,
    /// `/etc/hosts`, consulted when the cache has nothing live.
    pub hosts: HashMap<IpAddr, Vec<String>>,
    pub counters: Counters,
    pub stop: AtomicBool,
    /// Set at capture start: a detail for health, or why capture is off.
    pub capture_status: Mutex<Option<Result<String, String>>>,
}

impl Shared {
    pub fn new(cache: NameCache, hosts: HashMap<IpAddr, Vec<String>>) -> Self {
        Self { cache: Mutex::new(cache), hosts, counters: Counters::default(), stop: AtomicBool::new(false), capture_status: Mutex::new(None) }
    }

    /// The cache; a thread that panicked holding it leaves valid data
    /// (every update is one call), so poisoning is ignored.
    pub fn cache(&self) -> MutexGuard<'_, NameCache> {
        self.cache.lock().unwrap_or_else(PoisonError::into_inner)
    }

    pub fn stopping(&self) -> bool {
        self.stop.load(Ordering::Relaxed)
    }
}

/// Lock a status slot, ignoring poisoning.
pub fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Wall-clock milliseconds since the Unix epoch (the time base of snapshots).
pub fn now_ms() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_millis() as i64)
}
