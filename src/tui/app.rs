//! The explorer's state machine: a snapshot, the UI state and what is
//! derived from both. Events become actions (`input`); actions change UI
//! state or ask the collector for something (`actions`, `commands`).
//! Here: the state, and taking in snapshots. Rendering reads `&App` only.

use std::sync::Arc;
use std::time::Duration;

use super::derived::{Derived, process_rates};
use super::deriving::{Answer, Deriver, Request, Timings};
use super::keymap::Keymap;
use super::layout::{Areas, areas};
use super::outgoing::Outgoing;
use super::placement::{Label, MapMemory};
use super::state::{MapMode, MapNode, UiState};
use super::theme::Theme;
use super::views::graph;
use crate::collector::CollectorStatus;
use crate::model::Snapshot;
use crate::spec::{SizeClass, Spec};

/// What the app asks of the world outside it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Effect {
    Freeze(bool),
    SetInterval(Duration),
}

/// How the explorer was started.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Options {
    /// ASCII icons and no colour (`--ascii`, or `NO_COLOR` set).
    pub plain: bool,
    /// Index of the spec view to start in.
    pub initial_view: Option<usize>,
    /// Shown in the banner when the MCP endpoint runs beside the explorer
    /// (`--serve-mcp`): its URL and where the token is.
    pub mcp_note: Option<String>,
    /// Scheme, colour depth and icons (config `theme`, `icons`; the terminal's colours).
    pub look: super::theme::Look,
    /// Ring the bell on a new critical or high finding (`--no-bell`,
    /// `bell = false`, `NO_BELL` turn it off).
    pub bell: bool,
    /// The keys, with the config's `[keys]` rebindings.
    pub keymap: Keymap,
    /// From this many sockets the loop derives rows, map and tree on its
    /// own thread (see [`deriving`](super::deriving)); below, on the loop.
    pub background_from: usize,
}

/// See [`Options::background_from`]: about 3 ms of deriving on the loop.
pub const BACKGROUND_FROM: usize = 10_000;

impl Default for Options {
    fn default() -> Self {
        Self {
            plain: false,
            initial_view: None,
            mcp_note: None,
            look: super::theme::Look::default(),
            bell: true,
            keymap: Keymap::default(),
            background_from: BACKGROUND_FROM,
        }
    }
}

/// A derivation asked of the thread and not yet shown.
#[derive(Debug)]
struct Waiting {
    seq: u64,
    /// The snapshot it derives from (newer than the shown one after a refresh).
    snapshot: Arc<Snapshot>,
    /// When the oldest unanswered request went out.
    since: std::time::Instant,
    /// A key asked for it (not only a refresh): the banner says so.
    by_key: bool,
}

/// Samples kept for the activity sparkline.
pub const ACTIVITY_SAMPLES: usize = 120;

#[derive(Debug)]
pub struct App {
    pub spec: Arc<Spec>,
    pub snapshot: Arc<Snapshot>,
    pub status: CollectorStatus,
    pub ui: UiState,
    pub derived: Derived,
    pub theme: Theme,
    /// Terminal size (columns, rows).
    pub size: (u16, u16),
    /// Bytes per second (up + down) per refresh, oldest first.
    pub activity: std::collections::VecDeque<u64>,
    /// Animation phase, advanced by the tick while animations are on.
    pub phase: u64,
    pub quit: bool,
    pub dirty: bool,
    /// See [`Options::mcp_note`].
    pub mcp_note: Option<String>,
    /// Where map nodes sit, kept across refreshes (UI state: never in the
    /// snapshot).
    pub map_memory: MapMemory,
    /// Ring the terminal bell when a new critical or high finding arrives
    /// (see [`Options::bell`]).
    pub bell: bool,
    /// The keys in use.
    pub keymap: Keymap,
    /// For the terminal beside the frames (bell, clipboard); the loop
    /// writes and empties it.
    pub outbox: Vec<Outgoing>,
    /// Recent rates per process, for the detail's sparkline.
    pub traffic: super::traffic::TrafficHistory,
    /// How long derivations on the thread took to reach the screen.
    pub derive_timings: Timings,
    pub(super) class: SizeClass,
    deriver: Option<Deriver>,
    background_from: usize,
    waiting: Option<Waiting>,
    seq: u64,
}

impl App {
    pub fn new(spec: Arc<Spec>, snapshot: Arc<Snapshot>, status: CollectorStatus, options: Options, size: (u16, u16)) -> Self {
        let class = spec.layout.size_classes.classify(size.0, size.1);
        let mut app = Self {
            spec,
            snapshot: Arc::new(Snapshot::empty(snapshot.source.clone())),
            status,
            ui: UiState::default(),
            derived: Derived::default(),
            theme: Theme { plain: options.plain, glow: true, look: options.look },
            mcp_note: options.mcp_note,
            map_memory: MapMemory::default(),
            bell: options.bell,
            keymap: options.keymap,
            outbox: Vec::new(),
            traffic: super::traffic::TrafficHistory::default(),
            size,
            activity: std::collections::VecDeque::new(),
            phase: 0,
            quit: false,
            dirty: true,
            derive_timings: Timings::default(),
            class,
            deriver: None,
            background_from: options.background_from,
            waiting: None,
            seq: 0,
        };
        app.ui.view = options.initial_view.unwrap_or(0);
        app.take_snapshot(snapshot, false);
        app
    }

    /// Screen areas for the current size.
    pub fn areas(&self) -> Areas {
        areas(ratatui::layout::Rect::new(0, 0, self.size.0, self.size.1))
    }

    pub fn size_class(&self) -> SizeClass {
        self.class
    }

    /// A new snapshot: recompute, keep the selection by key.
    pub fn set_snapshot(&mut self, snapshot: Arc<Snapshot>) {
        self.take_snapshot(snapshot, true);
    }

    /// `announce`: tell of critical and high findings the previous
    /// snapshot did not have (not for the first one).
    fn take_snapshot(&mut self, snapshot: Arc<Snapshot>, announce: bool) {
        if self.deriver.is_some() && (self.waiting.is_some() || snapshot.sockets.len() >= self.background_from) {
            self.ask(snapshot, false);
            return;
        }
        let rates = process_rates(&snapshot);
        self.admit(snapshot, rates, announce);
        self.derive_here(true);
    }

    /// Make `snapshot` the shown one, with what goes with each refresh:
    /// the activity sample, notices of new findings, the traffic history.
    fn admit(&mut self, snapshot: Arc<Snapshot>, rates: super::derived::ProcessRates, announce: bool) {
        if snapshot.generation != self.snapshot.generation || snapshot.generation == 0 {
            // The known rates (a socket's first sighting and UDP have none).
            let rate: u64 = snapshot.sockets.iter().map(|s| s.send_rate().unwrap_or(0) + s.recv_rate().unwrap_or(0)).sum();
            self.activity.push_back(rate);
            while self.activity.len() > ACTIVITY_SAMPLES {
                self.activity.pop_front();
            }
        }
        if announce && snapshot.generation != self.snapshot.generation {
            self.announce_new_findings(&snapshot);
        }
        if snapshot.generation != self.snapshot.generation || snapshot.generation == 0 {
            self.traffic.push(&rates);
        }
        self.derived.rates = rates;
        self.snapshot = snapshot;
    }

    pub fn set_status(&mut self, status: CollectorStatus) {
        if status != self.status {
            self.status = status;
            self.dirty = true;
        }
    }

    /// Derive on a thread of its own from now on, for snapshots of
    /// [`Options::background_from`] sockets or more; answers come on the
    /// receiver and go to [`App::apply`]. Without this (the app alone, as
    /// tests drive it) everything is derived at once.
    pub fn derive_in_background(&mut self) -> std::io::Result<tokio::sync::mpsc::UnboundedReceiver<Answer>> {
        let (deriver, answers) = Deriver::start()?;
        self.deriver = Some(deriver);
        Ok(answers)
    }

    /// Stop deriving on the thread (it ends); what is waiting is derived here.
    pub fn derive_here_from_now(&mut self) {
        self.deriver = None;
        if self.waiting.is_some() {
            self.rederive_now();
        }
    }

    /// Whether a derivation is on its way.
    pub fn deriving(&self) -> bool {
        self.waiting.is_some()
    }

    /// Whether one a key asked for is on its way: the banner says
    /// `updating…` (a refresh derived meanwhile goes unsaid, or the word
    /// would blink with every refresh).
    pub fn updating(&self) -> bool {
        self.waiting.as_ref().is_some_and(|w| w.by_key)
    }

    /// The UI state changed what the views show: derive again, on the
    /// thread when the snapshot is large.
    pub(super) fn rederive(&mut self) {
        let newest = self.waiting.as_ref().map_or_else(|| self.snapshot.clone(), |w| w.snapshot.clone());
        if self.deriver.is_some() && (self.waiting.is_some() || newest.sockets.len() >= self.background_from) {
            self.ask(newest, true);
        } else {
            self.derive_here(false);
        }
    }

    /// Derive now, here, for an action that reads the result at once;
    /// a snapshot still waiting to be derived is taken first.
    pub(super) fn rederive_now(&mut self) {
        if let Some(w) = self.waiting.take()
            && !Arc::ptr_eq(&w.snapshot, &self.snapshot)
        {
            let rates = process_rates(&w.snapshot);
            self.admit(w.snapshot, rates, true);
            self.derive_here(true);
            return;
        }
        self.derive_here(false);
    }

    /// Hand the derivation for `snapshot` and the current UI state to the thread.
    fn ask(&mut self, snapshot: Arc<Snapshot>, by_key: bool) {
        let Some(deriver) = &self.deriver else { return };
        let same = Arc::ptr_eq(&snapshot, &self.snapshot);
        self.seq += 1;
        let request = Request {
            seq: self.seq,
            snapshot: snapshot.clone(),
            spec: self.spec.clone(),
            ui: self.ui.for_deriving(),
            class: self.class,
            rates: same.then(|| self.derived.rates.clone()),
            previous: same.then(|| self.derived.clone()),
        };
        if deriver.ask(request) {
            let since = self.waiting.as_ref().map_or_else(std::time::Instant::now, |w| w.since);
            let by_key = by_key || self.waiting.as_ref().is_some_and(|w| w.by_key);
            self.waiting = Some(Waiting { seq: self.seq, snapshot, since, by_key });
            self.dirty = true;
        } else {
            // The thread is gone: derive here from now on.
            self.deriver = None;
            self.waiting = Some(Waiting { seq: self.seq, snapshot, since: std::time::Instant::now(), by_key });
            self.rederive_now();
        }
    }

    /// A derivation from the thread: shown when it answers the latest
    /// request (an older one is dropped: a newer answer is on its way).
    pub fn take_derived(&mut self, answer: Answer) {
        let Some(w) = &self.waiting else { return };
        if answer.seq != w.seq {
            return;
        }
        let since = w.since;
        self.waiting = None;
        let new_refresh = !Arc::ptr_eq(&answer.snapshot, &self.snapshot);
        if new_refresh {
            self.admit(answer.snapshot, answer.derived.rates.clone(), true);
        }
        self.derived = answer.derived;
        self.settle(new_refresh);
        self.derive_timings.record(since);
    }

    /// Recompute what the views need, here; `new_refresh`: a new snapshot
    /// (the placement memory ages gone nodes only then).
    fn derive_here(&mut self, new_refresh: bool) {
        let previous = std::mem::take(&mut self.derived);
        let rates = previous.rates.clone();
        // A new snapshot recomputes everything; a key reuses what it leaves as it was.
        let previous = (!new_refresh).then_some(previous);
        self.derived = Derived::compute_from(&self.snapshot, &self.spec, &self.ui, self.class, rates, previous);
        self.settle(new_refresh);
    }

    /// After new derived parts: placements, selections, a redraw.
    fn settle(&mut self, new_refresh: bool) {
        self.remember_places(new_refresh);
        self.keep_selection();
        self.dirty = true;
    }

    /// Take the new map model into the placement memory: known nodes keep
    /// their ring and angle, new ones take free arcs; then remember where
    /// the labels went, so they stay there too.
    fn remember_places(&mut self, new_refresh: bool) {
        let entries: Vec<&super::derived::MapEntry> =
            self.derived.map.processes.iter().chain(&self.derived.map.listeners).chain(&self.derived.map.endpoints).collect();
        let start = self.spec.layout.radial.start_angle_deg.to_radians();
        self.map_memory.update(&entries, &self.spec.layout.radial.rings, start, new_refresh);
        if self.ui.map_mode == MapMode::Graph {
            let inner = graph::inner(self.areas().map);
            let placed = graph::place(self, inner);
            self.map_memory.remember_labels(inner, placed.nodes.into_iter().map(|n| (n.node, Label { node: (n.x, n.y), at: (n.label_x, n.label_y) })));
        }
    }

    /// After a change, keep each selection on its key when it is still
    /// there, else on the nearest row / the first node.
    fn keep_selection(&mut self) {
        let rows = &self.derived.rows;
        let keys = |i: usize| self.snapshot.sockets[rows[i] as usize].key();
        match self.ui.list_selected {
            Some(k) if rows.iter().any(|&r| self.snapshot.sockets[r as usize].key() == k) => {}
            _ => self.ui.list_selected = (!rows.is_empty()).then(|| keys(self.ui.list_offset.min(rows.len() - 1))),
        }
        if self.ui.map_mode == MapMode::Graph {
            let nodes = self.graph_nodes();
            if !nodes.contains(&self.ui.map_selected) {
                self.ui.map_selected = nodes.first().cloned().unwrap_or(MapNode::Host);
            }
        }
        self.ensure_visible();
    }

    /// Map nodes in navigation order: the centre, then the rings.
    pub fn graph_nodes(&self) -> Vec<MapNode> {
        let inner = graph::inner(self.areas().map);
        std::iter::once(MapNode::Host).chain(graph::place(self, inner).nodes.into_iter().map(|p| p.node)).collect()
    }

    /// Index of the selected list row.
    pub fn selected_row(&self) -> Option<usize> {
        let k = self.ui.list_selected?;
        self.derived.rows.iter().position(|&r| self.snapshot.sockets[r as usize].key() == k)
    }

    pub(super) fn list_height(&self) -> usize {
        usize::from(self.areas().list.height.saturating_sub(3)).max(1)
    }

    pub(super) fn ensure_visible(&mut self) {
        let h = self.list_height();
        if let Some(i) = self.selected_row() {
            if i < self.ui.list_offset {
                self.ui.list_offset = i;
            } else if i >= self.ui.list_offset + h {
                self.ui.list_offset = i + 1 - h;
            }
        }
        self.ui.list_offset = self.ui.list_offset.min(self.derived.rows.len().saturating_sub(1));
    }

    /// Advance animations; returns whether a redraw is due.
    pub fn tick(&mut self) -> bool {
        let animate = self.ui.animations && self.derived.map.endpoints.len() + self.derived.map.listeners.len() < 60 && !self.snapshot.findings.is_empty();
        if animate {
            self.phase = self.phase.wrapping_add(1);
            self.dirty = true;
        }
        animate
    }

    /// Whether a glow pulses right now.
    pub fn pulse(&self) -> bool {
        self.ui.animations && self.phase % 2 == 1
    }
}
