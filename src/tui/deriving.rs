//! Deriving off the key path. On a large snapshot the list's order, the
//! map and the tree take tens of milliseconds to derive (every socket is
//! filtered and sorted, the view's graph is built); done on the loop, a
//! sort key or a new snapshot would hold the next frame that long. So the
//! loop hands the work to one thread and keeps drawing what it has (the
//! banner says `updating…`); the result comes back over a channel and
//! replaces the old one whole, with the snapshot it was derived from, so
//! the rows never point into another snapshot.
//!
//! The thread takes only the newest request when several wait (a key
//! typed while a sort runs asks again; the older answer would be shown for
//! one frame at best). Small snapshots are derived on the loop itself
//! ([`App`](super::App) decides): it costs less than a hand-over.

use std::sync::Arc;
use std::sync::mpsc;
use std::time::Instant;

use tokio::sync::mpsc::{UnboundedReceiver, UnboundedSender, unbounded_channel};

use super::derived::{Derived, ProcessRates, process_rates};
use super::state::UiState;
use crate::model::Snapshot;
use crate::spec::{SizeClass, Spec};

/// What to derive, and from what.
#[derive(Debug)]
pub struct Request {
    /// Counts up with each request; an answer to an older one is dropped.
    pub seq: u64,
    pub snapshot: Arc<Snapshot>,
    pub spec: Arc<Spec>,
    pub ui: UiState,
    pub class: SizeClass,
    /// The snapshot's rates when known; summed on the thread otherwise.
    pub rates: Option<ProcessRates>,
    /// What is shown now, when it is of the same snapshot: the parts this
    /// change leaves as they were are reused.
    pub previous: Option<Derived>,
}

/// A finished derivation.
#[derive(Debug)]
pub struct Answer {
    pub seq: u64,
    pub snapshot: Arc<Snapshot>,
    pub derived: Derived,
}

/// The loop's end of the deriving thread. Dropping it ends the thread.
#[derive(Debug)]
pub struct Deriver {
    requests: mpsc::Sender<Request>,
}

impl Deriver {
    /// Start the thread; answers arrive on the receiver.
    pub fn start() -> std::io::Result<(Self, UnboundedReceiver<Answer>)> {
        let (requests, inbox) = mpsc::channel::<Request>();
        let (answers, outbox) = unbounded_channel();
        std::thread::Builder::new().name("necromap-derive".into()).spawn(move || serve(&inbox, &answers))?;
        Ok((Self { requests }, outbox))
    }

    /// Ask; false when the thread is gone (the caller derives itself).
    pub fn ask(&self, request: Request) -> bool {
        self.requests.send(request).is_ok()
    }
}

fn serve(inbox: &mpsc::Receiver<Request>, answers: &UnboundedSender<Answer>) {
    while let Ok(mut request) = inbox.recv() {
        // Only the newest of those waiting matters.
        while let Ok(newer) = inbox.try_recv() {
            request = newer;
        }
        let Request { seq, snapshot, spec, ui, class, rates, previous } = request;
        let rates = rates.unwrap_or_else(|| process_rates(&snapshot));
        let derived = Derived::compute_from(&snapshot, &spec, &ui, class, rates, previous);
        if answers.send(Answer { seq, snapshot, derived }).is_err() {
            return;
        }
    }
}

/// Request → shown times of the latest derivations, for the latency
/// benchmark and the curious (newest last, at most [`Timings::KEEP`]).
#[derive(Debug, Clone, Default)]
pub struct Timings {
    pub ms: std::collections::VecDeque<f64>,
}

impl Timings {
    pub const KEEP: usize = 1024;

    pub(super) fn record(&mut self, since: Instant) {
        self.ms.push_back(since.elapsed().as_secs_f64() * 1000.0);
        while self.ms.len() > Self::KEEP {
            self.ms.pop_front();
        }
    }
}
