//! The events of `/events`, numbered, in a bounded replay buffer.
//!
//! Every event gets the next id (1, 2, …, never reused while the server
//! runs). The newest [`REPLAY`] are kept: a client that comes back with
//! `Last-Event-ID: n` is sent every event after `n` when they are all still
//! kept, and a `reset` otherwise (its id too old, or from an earlier run),
//! after which it reloads the state and continues with the newest events.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};

use serde::Serialize;
use tokio::sync::watch;

/// Events kept for clients that resume.
pub const REPLAY: usize = 1024;

/// What an event says (its SSE `event:` name).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum EventKind {
    FindingNew,
    FindingEnded,
    Alert,
    Summary,
    Health,
    /// Not kept: sent when a client's `Last-Event-ID` cannot be resumed.
    Reset,
}

impl EventKind {
    pub fn name(self) -> &'static str {
        match self {
            Self::FindingNew => "finding_new",
            Self::FindingEnded => "finding_ended",
            Self::Alert => "alert",
            Self::Summary => "summary",
            Self::Health => "health",
            Self::Reset => "reset",
        }
    }
}

/// One event: its id, kind and JSON text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WebEvent {
    pub id: u64,
    pub kind: EventKind,
    pub data: Arc<str>,
}

/// What a client after `last` is sent.
#[derive(Debug, PartialEq, Eq)]
pub enum Since {
    /// Every event after it, oldest first (maybe none).
    Events(Vec<WebEvent>),
    /// Some were dropped from the buffer, or the id is not of this run:
    /// reload, then continue after this id.
    Reset { newest: u64 },
}

#[derive(Debug, Default)]
struct Ring {
    events: VecDeque<WebEvent>,
    last_id: u64,
}

#[derive(Debug)]
pub struct Feed {
    ring: Mutex<Ring>,
    cap: usize,
    latest: watch::Sender<u64>,
}

impl Feed {
    pub fn new(cap: usize) -> Self {
        Self { ring: Mutex::default(), cap: cap.max(1), latest: watch::Sender::new(0) }
    }

    /// Add an event; its id.
    pub fn push(&self, kind: EventKind, data: &serde_json::Value) -> u64 {
        let raw = data.to_string();
        let text: Arc<str> = crate::text::json_escape_unsafe(&raw).into();
        let id = {
            let mut ring = self.ring.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
            ring.last_id += 1;
            let id = ring.last_id;
            if ring.events.len() >= self.cap {
                ring.events.pop_front();
            }
            ring.events.push_back(WebEvent { id, kind, data: text });
            id
        };
        self.latest.send_replace(id);
        id
    }

    /// The newest id (0 before the first event).
    pub fn last_id(&self) -> u64 {
        self.ring.lock().unwrap_or_else(std::sync::PoisonError::into_inner).last_id
    }

    /// The events after `last`, or a reset when that cannot be done
    /// without a gap.
    pub fn since(&self, last: u64) -> Since {
        let ring = self.ring.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        let oldest = ring.events.front().map_or(ring.last_id + 1, |e| e.id);
        if last > ring.last_id || last + 1 < oldest {
            return Since::Reset { newest: ring.last_id };
        }
        Since::Events(ring.events.iter().filter(|e| e.id > last).cloned().collect())
    }

    /// Told of each new id.
    pub fn subscribe(&self) -> watch::Receiver<u64> {
        self.latest.subscribe()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ids(s: Since) -> Vec<u64> {
        match s {
            Since::Events(e) => e.into_iter().map(|e| e.id).collect(),
            Since::Reset { .. } => panic!("unexpected reset"),
        }
    }

    #[test]
    fn resume_is_gapless_while_kept_and_a_reset_after() {
        let feed = Feed::new(4);
        assert_eq!(ids(feed.since(0)), Vec::<u64>::new());
        for i in 0..6 {
            assert_eq!(feed.push(EventKind::Summary, &serde_json::json!({ "i": i })), i + 1);
        }
        // Kept: 3, 4, 5, 6.
        assert_eq!(ids(feed.since(2)), vec![3, 4, 5, 6]);
        assert_eq!(ids(feed.since(5)), vec![6]);
        assert_eq!(ids(feed.since(6)), Vec::<u64>::new());
        assert_eq!(feed.since(1), Since::Reset { newest: 6 }, "event 2 was dropped");
        assert_eq!(feed.since(99), Since::Reset { newest: 6 }, "an id of an earlier run");
        assert_eq!(feed.last_id(), 6);
    }

    #[test]
    fn host_text_cannot_carry_controls() {
        let feed = Feed::new(2);
        feed.push(EventKind::Alert, &serde_json::json!({ "s": "a\u{202e}b\u{1b}c" }));
        let Since::Events(e) = feed.since(0) else { panic!("events") };
        assert!(!e[0].data.contains('\u{202e}') && !e[0].data.contains('\u{1b}'), "{}", e[0].data);
    }
}
