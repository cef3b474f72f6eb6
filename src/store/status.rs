//! How the event store is doing, shared between the writer thread and
//! whoever reports health: failing since when and why, rows waiting for a
//! retry, rows dropped. Store trouble is data shown in health, never lines
//! printed over the explorer.

use std::sync::{Arc, Mutex};

/// A snapshot of the store's state.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StoreState {
    /// Why the store could not be opened (necromap runs without it).
    pub unavailable: Option<String>,
    /// When commits started failing (Unix ms), and the last error.
    pub failing_since_ms: Option<i64>,
    pub last_error: Option<String>,
    /// Rows kept for the next attempt.
    pub waiting_rows: usize,
    /// Rows given up on (the retry queue was full).
    pub dropped_rows: u64,
    pub written_rows: u64,
}

impl StoreState {
    /// A health line when something is wrong.
    pub fn health_line(&self) -> Option<crate::model::HealthMessage> {
        if let Some(why) = &self.unavailable {
            return Some(
                crate::model::HealthMessage::warn(format!("event store unavailable, running without it: {why}")).about(crate::model::HealthTopic::Store),
            );
        }
        let since = self.failing_since_ms?;
        let ago = (crate::collect::now_ms() - since).max(0) / 1000;
        Some(
            crate::model::HealthMessage::error(format!(
                "event store failing for {ago} s: {}; {} rows wait for a retry, {} dropped",
                self.last_error.as_deref().unwrap_or("unknown error"),
                self.waiting_rows,
                self.dropped_rows
            ))
            .about(crate::model::HealthTopic::Store),
        )
    }
}

/// The shared handle.
#[derive(Debug, Clone, Default)]
pub struct StoreStatus(Arc<Mutex<StoreState>>);

impl StoreStatus {
    pub fn get(&self) -> StoreState {
        self.0.lock().map(|s| s.clone()).unwrap_or_default()
    }

    pub fn update(&self, f: impl FnOnce(&mut StoreState)) {
        if let Ok(mut s) = self.0.lock() {
            f(&mut s);
        }
    }
}

/// An evaluator that adds the store's health line to every snapshot.
pub struct WithStoreHealth {
    pub inner: Box<dyn crate::model::Evaluator>,
    pub status: StoreStatus,
}

impl std::fmt::Debug for WithStoreHealth {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WithStoreHealth").field("status", &self.status.get()).finish_non_exhaustive()
    }
}

impl crate::model::Evaluator for WithStoreHealth {
    fn lend_room(&mut self, room: Vec<crate::model::RawSocket>) {
        self.inner.lend_room(room);
    }

    fn leftovers(&mut self) -> Option<crate::drop_beside::Garbage> {
        self.inner.leftovers()
    }

    fn evaluate(&mut self, snapshot: &crate::model::Snapshot, history: &crate::model::History) -> Vec<crate::model::Finding> {
        self.inner.evaluate(snapshot, history)
    }

    fn health(&self) -> Vec<crate::model::HealthMessage> {
        let mut out = self.inner.health();
        out.extend(self.status.get().health_line());
        out
    }
}
