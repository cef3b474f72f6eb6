//! The explorer's state machine: a snapshot, the UI state and what is
//! derived from both. Events become actions (`input`); actions change UI
//! state or ask the collector for something (`actions`, `commands`).
//! Here: the state, and taking in snapshots. Rendering reads `&App` only.

use std::sync::Arc;
use std::time::Duration;

use super::derived::Derived;
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
}

impl Default for Options {
    fn default() -> Self {
        Self { plain: false, initial_view: None, mcp_note: None, look: super::theme::Look::default(), bell: true, keymap: Keymap::default() }
    }
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
    pub(super) class: SizeClass,
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
            class,
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
        if snapshot.generation != self.snapshot.generation || snapshot.generation == 0 {
            // The known rates (a socket's first sighting and UDP have none).
            let rate: u64 = snapshot.sockets.iter().map(|s| s.send_rate.unwrap_or(0) + s.recv_rate.unwrap_or(0)).sum();
            self.activity.push_back(rate);
            while self.activity.len() > ACTIVITY_SAMPLES {
                self.activity.pop_front();
            }
        }
        if announce && snapshot.generation != self.snapshot.generation {
            self.announce_new_findings(&snapshot);
        }
        let rates = super::derived::process_rates(&snapshot);
        if snapshot.generation != self.snapshot.generation || snapshot.generation == 0 {
            self.traffic.push(&rates);
        }
        self.derived.rates = rates;
        self.snapshot = snapshot;
        self.rederive_with(true);
    }

    pub fn set_status(&mut self, status: CollectorStatus) {
        if status != self.status {
            self.status = status;
            self.dirty = true;
        }
    }

    pub(super) fn rederive(&mut self) {
        self.rederive_with(false);
    }

    /// Recompute what the views need; `new_refresh`: a new snapshot (the
    /// placement memory ages gone nodes only then).
    fn rederive_with(&mut self, new_refresh: bool) {
        let previous = std::mem::take(&mut self.derived);
        let rates = previous.rates.clone();
        // A new snapshot recomputes everything; a key reuses what it leaves as it was.
        let previous = (!new_refresh).then_some(previous);
        self.derived = Derived::compute_from(&self.snapshot, &self.spec, &self.ui, self.class, rates, previous);
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
