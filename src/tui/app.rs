//! The explorer's state machine: a snapshot, the UI state and what is
//! derived from both. Events become actions; actions change UI state or
//! ask the collector for something (effects). Rendering reads `&App` only.

use std::sync::Arc;
use std::time::Duration;

use crossterm::event::{Event, KeyCode, KeyEvent, KeyEventKind, MouseButton, MouseEventKind};

use super::derived::Derived;
use super::keymap::{Action, action_for};
use super::layout::{Areas, areas};
use super::outgoing::Outgoing;
use super::placement::{Label, MapMemory};
use super::prompt::{Outcome, Prompt};
use super::state::{MapMode, MapNode, NoticeKind, Pane, UiState};
use super::theme::Theme;
use super::views::{graph, tree};
use crate::collector::CollectorStatus;
use crate::filter::Filter;
use crate::model::{Pid, Snapshot};
use crate::spec::{SizeClass, Spec};

/// What the app asks of the world outside it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Effect {
    Freeze(bool),
    SetInterval(Duration),
}

/// How the explorer was started.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
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
    /// (on unless `NO_BELL` is set; see `tui::explore`).
    pub bell: bool,
    /// For the terminal beside the frames (bell, clipboard); the loop
    /// writes and empties it.
    pub outbox: Vec<Outgoing>,
    /// Recent rates per process, for the detail's sparkline.
    pub traffic: super::traffic::TrafficHistory,
    class: SizeClass,
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
            bell: true,
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
        let rates = std::mem::take(&mut self.derived.rates);
        self.derived = Derived::compute(&self.snapshot, &self.spec, &self.ui, self.class, rates);
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

    fn list_height(&self) -> usize {
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

    pub fn on_event(&mut self, event: &Event) -> Vec<Effect> {
        match event {
            Event::Key(key) if key.kind != KeyEventKind::Release => self.on_key(key),
            Event::Mouse(m) => {
                match m.kind {
                    MouseEventKind::Down(MouseButton::Left) => self.click(m.column, m.row),
                    MouseEventKind::ScrollDown => return self.wheel(m.column, m.row, 1),
                    MouseEventKind::ScrollUp => return self.wheel(m.column, m.row, -1),
                    _ => {}
                }
                Vec::new()
            }
            Event::Resize(w, h) => {
                self.resize(*w, *h);
                Vec::new()
            }
            _ => Vec::new(),
        }
    }

    pub fn resize(&mut self, w: u16, h: u16) {
        self.size = (w, h);
        self.class = self.spec.layout.size_classes.classify(w, h);
        self.rederive();
    }

    fn on_key(&mut self, key: &KeyEvent) -> Vec<Effect> {
        // A notice lasts until the next key (the question to quit stays
        // for the Esc that answers it).
        let answers = self.ui.notice.as_ref().is_some_and(|n| n.kind == NoticeKind::ConfirmQuit) && action_for(key) == Some(Action::Back);
        if !answers && self.ui.notice.take().is_some() {
            self.dirty = true;
        }
        if let Some(prompt) = self.ui.input.as_mut() {
            match prompt.on_key(key, &self.ui.filter_history) {
                Outcome::Accept(text) => {
                    self.ui.input = None;
                    self.ui.filter_history.push(&text);
                    self.set_filter(&text);
                }
                Outcome::Cancel => self.ui.input = None,
                Outcome::Edited | Outcome::Ignored => {}
            }
            self.dirty = true;
            return Vec::new();
        }
        if let Some(sel) = self.ui.events {
            let n = super::views::events::rows(&self.snapshot).len();
            self.dirty = true;
            match key.code {
                KeyCode::Esc | KeyCode::Char('e' | 'q') => self.ui.events = None,
                KeyCode::Up | KeyCode::Char('k') => self.ui.events = Some(sel.saturating_sub(1)),
                KeyCode::Down | KeyCode::Char('j') => self.ui.events = Some((sel + 1).min(n.saturating_sub(1))),
                KeyCode::Enter => self.jump_to_event(sel),
                _ => {}
            }
            return Vec::new();
        }
        if self.ui.help && matches!(key.code, KeyCode::Esc | KeyCode::Char('?' | 'q')) {
            self.ui.help = false;
            self.dirty = true;
            return Vec::new();
        }
        action_for(key).map(|a| self.apply(a)).unwrap_or_default()
    }

    /// Apply a filter text; a bad one keeps the previous filter and shows
    /// the error inline. A filter that narrows selects the first row that
    /// passes, scrolled into view (clearing the filter keeps the selection).
    pub fn set_filter(&mut self, text: &str) {
        match Filter::parse(text) {
            Ok(f) => {
                if !f.is_empty() {
                    self.ui.list_selected = None;
                    self.ui.list_offset = 0;
                }
                self.ui.filter = f;
                self.ui.filter_text = text.trim().to_string();
                self.ui.filter_error = None;
                self.rederive();
            }
            Err(e) => {
                self.ui.filter_error = Some(e.to_string());
                self.dirty = true;
            }
        }
    }

    /// The mouse wheel: over the detail it scrolls the detail, elsewhere
    /// it moves the selection of the focused pane.
    fn wheel(&mut self, x: u16, y: u16, delta: isize) -> Vec<Effect> {
        if self.areas().detail.contains(ratatui::layout::Position::new(x, y)) {
            self.scroll_detail(delta * 3);
            self.dirty = true;
            return Vec::new();
        }
        self.apply(if delta > 0 { Action::Down } else { Action::Up })
    }

    /// Scroll the detail pane by `delta` lines, within its content.
    fn scroll_detail(&mut self, delta: isize) {
        let max = super::views::detail::max_scroll(self, self.areas().detail);
        let cur = self.ui.detail_scroll.min(max);
        self.ui.detail_scroll = cur.saturating_add_signed(delta).min(max);
    }

    /// Apply an action; the detail goes back to its top when its target
    /// changes.
    pub fn apply(&mut self, action: Action) -> Vec<Effect> {
        let before = super::views::detail::target(self);
        let effects = self.apply_action(action);
        if super::views::detail::target(self) != before {
            self.ui.detail_scroll = 0;
        }
        effects
    }

    #[allow(clippy::too_many_lines)]
    fn apply_action(&mut self, action: Action) -> Vec<Effect> {
        self.dirty = true;
        let page = if self.ui.detail_focus { usize::from(self.areas().detail.height.saturating_sub(2)).max(1) } else { self.list_height() } as isize;
        match action {
            Action::Quit => self.quit = true,
            Action::Back => self.back(),
            Action::Help => self.ui.help = !self.ui.help,
            Action::Legend => {
                self.ui.legend = !self.ui.legend;
                self.say(if self.ui.legend { "legend shown · L hides" } else { "legend hidden" });
            }
            Action::Events => self.ui.events = if self.ui.events.is_some() { None } else { Some(0) },
            Action::Up => self.step(-1),
            Action::Down => self.step(1),
            Action::Left => self.side(-1),
            Action::Right => self.side(1),
            Action::PageUp => self.step(-page),
            Action::PageDown => self.step(page),
            Action::HalfPageUp => self.step(-(page / 2).max(1)),
            Action::HalfPageDown => self.step((page / 2).max(1)),
            Action::NextFinding => self.next_finding(),
            Action::Copy => self.copy(),
            Action::Top => self.step(isize::MIN / 2),
            Action::Bottom => self.step(isize::MAX / 2),
            Action::NextPane => {
                // map → list → detail (of the list's selection) → map
                (self.ui.pane, self.ui.detail_focus) = match (self.ui.pane, self.ui.detail_focus) {
                    (Pane::Map, _) => (Pane::List, false),
                    (Pane::List, false) => (Pane::List, true),
                    (Pane::List, true) => (Pane::Map, false),
                };
            }
            Action::FocusDetail => {
                self.ui.detail_focus = !self.ui.detail_focus;
                self.say(if self.ui.detail_focus { "detail: ↑↓ PgUp PgDn g G scroll · Esc or d leaves" } else { "detail left" });
            }
            Action::Inspect => {
                if self.ui.pane == Pane::Map && self.ui.map_mode != MapMode::Graph {
                    let sel = self.ui.tree.selected().to_vec();
                    self.ui.tree.toggle(sel);
                }
            }
            Action::FocusProcess => {
                self.ui.focus = if self.ui.focus.is_some() { None } else { self.selected_process() };
                if self.ui.focus.is_some() {
                    self.ui.map_selected = MapNode::Host;
                }
                self.rederive();
                match self.ui.focus {
                    Some(p) => self.say(format!("focus {} · p or Esc returns to the host", self.process_label(p))),
                    None => self.say("map: the host"),
                }
            }
            Action::Filter => self.ui.input = Some(Prompt::new(&self.ui.filter_text)),
            Action::NextView => {
                self.ui.view = (self.ui.view + 1) % self.spec.views.len().max(1);
                self.rederive();
                if let Some((name, v)) = self.spec.views.get_index(self.ui.view) {
                    self.say(format!("view {name}: {}", v.description));
                }
            }
            Action::NextSort => {
                self.ui.sort.column = self.ui.sort.column.next();
                self.rederive();
                self.say_sort();
            }
            Action::ReverseSort => {
                self.ui.sort.descending = !self.ui.sort.descending;
                self.rederive();
                self.say_sort();
            }
            Action::Tree => {
                self.ui.map_mode = match self.ui.map_mode {
                    MapMode::Graph => MapMode::TreeByProcess,
                    MapMode::TreeByProcess => MapMode::TreeByEndpoint,
                    MapMode::TreeByEndpoint => MapMode::TreeByContainer,
                    MapMode::TreeByContainer => MapMode::Graph,
                };
                self.ui.tree.select(Vec::new());
                self.rederive();
                self.say(match self.ui.map_mode {
                    MapMode::Graph => "map: graph",
                    MapMode::TreeByProcess => "map: tree by process",
                    MapMode::TreeByEndpoint => "map: tree by endpoint",
                    MapMode::TreeByContainer => "map: tree by container",
                });
            }
            Action::Freeze => {
                let on = !self.status.frozen;
                self.say(if on { "frozen · space resumes" } else { "resumed" });
                return vec![Effect::Freeze(on)];
            }
            Action::Faster | Action::Slower => {
                let ms = if action == Action::Faster { self.status.interval_ms / 2 } else { self.status.interval_ms.saturating_mul(2) };
                self.say(format!("refresh every {:.1}s asked", ms as f64 / 1000.0));
                return vec![Effect::SetInterval(Duration::from_millis(ms))];
            }
            Action::Animations => {
                self.ui.animations = !self.ui.animations;
                self.say(if self.ui.animations { "animations on" } else { "animations off" });
            }
            Action::Glow => {
                self.theme.glow = !self.theme.glow;
                self.say(if self.theme.glow { "glow on" } else { "glow off" });
            }
        }
        Vec::new()
    }

    /// Close the events pane and select the subject of event `index`: the
    /// endpoint or process on the map, or the socket in the list.
    pub fn jump_to_event(&mut self, index: usize) {
        use crate::model::Subject;
        self.ui.events = None;
        let Some(subject) = super::views::events::rows(&self.snapshot).get(index).map(|f| f.subject) else { return };
        let node = match subject {
            Subject::Endpoint { endpoint } => Some(MapNode::Endpoint(endpoint)),
            Subject::Process { pid } => Some(MapNode::Process(pid)),
            Subject::Socket { .. } => None,
        };
        if let Some(node) = node {
            self.ui.pane = Pane::Map;
            self.ui.map_mode = MapMode::Graph;
            self.ui.focus = None;
            self.ui.map_selected = node.clone();
            self.rederive();
            if self.ui.map_selected == node {
                return;
            }
        }
        // Not a node on the map (a socket, or an endpoint folded into a
        // group): select its first socket in the list instead.
        let socket = match subject {
            Subject::Socket { socket, .. } => Some(socket),
            Subject::Endpoint { endpoint } => self.snapshot.sockets.iter().find(|x| x.raw.remote.ip() == endpoint.ip).map(crate::model::Socket::key),
            Subject::Process { pid } => self.snapshot.sockets.iter().find(|x| x.raw.owners.contains(&pid)).map(crate::model::Socket::key),
        };
        if let Some(key) = socket {
            self.ui.pane = Pane::List;
            if !self.ui.filter_text.is_empty() {
                self.set_filter("");
            }
            self.ui.list_selected = Some(key);
            self.rederive();
            self.ensure_visible();
        }
    }

    /// The process the selection is about, if any.
    pub fn selected_process(&self) -> Option<Pid> {
        match self.ui.pane {
            Pane::List => self.ui.list_selected.and_then(|k| self.snapshot.socket(k)).and_then(crate::model::Socket::owner),
            Pane::Map if self.ui.map_mode != MapMode::Graph => tree::selected_process(self),
            Pane::Map => match &self.ui.map_selected {
                MapNode::Process(p) => Some(*p),
                MapNode::Listener(l) => self.snapshot.listeners.get(l).and_then(|n| n.pid).map(Pid),
                MapNode::Endpoint(e) => {
                    // The one process that talks with it, when there is one.
                    let procs = self.snapshot.graph.talkers(*e, &self.snapshot.sockets);
                    match procs.as_slice() {
                        [(Some(p), _)] => Some(*p),
                        _ => None,
                    }
                }
                MapNode::Host | MapNode::Group(_) | MapNode::Processes(_) => None,
            },
        }
    }

    fn step(&mut self, delta: isize) {
        if self.ui.detail_focus {
            self.scroll_detail(delta);
            return;
        }
        match (self.ui.pane, self.ui.map_mode) {
            (Pane::List, _) => {
                let n = self.derived.rows.len();
                if n == 0 {
                    return;
                }
                let cur = self.selected_row().unwrap_or(0) as isize;
                let next = (cur.saturating_add(delta)).clamp(0, n as isize - 1) as usize;
                self.ui.list_selected = Some(self.snapshot.sockets[self.derived.rows[next] as usize].key());
                self.ensure_visible();
            }
            (Pane::Map, MapMode::Graph) => self.side(delta.signum()),
            (Pane::Map, _) => {
                let ids = tree::visible_ids(self);
                if ids.is_empty() {
                    return;
                }
                let cur = ids.iter().position(|id| id.as_slice() == self.ui.tree.selected()).map_or(-1, |i| i as isize);
                let next = cur.saturating_add(delta).clamp(0, ids.len() as isize - 1) as usize;
                self.ui.tree.select(ids[next].clone());
            }
        }
    }

    fn side(&mut self, delta: isize) {
        match (self.ui.pane, self.ui.map_mode) {
            (Pane::Map, MapMode::Graph) => {
                let nodes = self.graph_nodes();
                if nodes.is_empty() {
                    return;
                }
                let cur = nodes.iter().position(|n| *n == self.ui.map_selected).unwrap_or(0) as isize;
                let next = (cur + delta.signum()).rem_euclid(nodes.len() as isize) as usize;
                self.ui.map_selected = nodes[next].clone();
            }
            (Pane::Map, _) => {
                let sel = self.ui.tree.selected().to_vec();
                if delta > 0 {
                    self.ui.tree.open(sel);
                } else if !self.ui.tree.close(&sel) && sel.len() > 1 {
                    self.ui.tree.select(sel[..sel.len() - 1].to_vec());
                }
            }
            (Pane::List, _) => {}
        }
    }

    fn click(&mut self, x: u16, y: u16) {
        let a = self.areas();
        let pos = ratatui::layout::Position::new(x, y);
        self.ui.detail_focus = a.detail.contains(pos);
        let before = super::views::detail::target(self);
        self.click_at(a, pos);
        if super::views::detail::target(self) != before {
            self.ui.detail_scroll = 0;
        }
        self.dirty = true;
    }

    fn click_at(&mut self, a: Areas, pos: ratatui::layout::Position) {
        let (x, y) = (pos.x, pos.y);
        if a.list.contains(pos) {
            self.ui.pane = Pane::List;
            // Border, then the header row.
            let row = usize::from(y.saturating_sub(a.list.y + 2));
            let i = self.ui.list_offset + row;
            if y >= a.list.y + 2
                && let Some(&r) = self.derived.rows.get(i)
            {
                self.ui.list_selected = Some(self.snapshot.sockets[r as usize].key());
            }
        } else if a.map.contains(pos) {
            self.ui.pane = Pane::Map;
            if self.ui.map_mode == MapMode::Graph {
                let placed = graph::place(self, graph::inner(a.map));
                let near = placed.nodes.iter().min_by_key(|p| {
                    let (dx, dy) = (i32::from(p.x) - i32::from(x), i32::from(p.y) - i32::from(y));
                    (dx * dx + 4 * dy * dy, 0)
                });
                if let Some(p) = near {
                    let (dx, dy) = (i32::from(p.x) - i32::from(x), i32::from(p.y) - i32::from(y));
                    let on_label = y == p.label_y && x >= p.label_x && x < p.label_x + p.label_width;
                    if on_label || dx * dx + 4 * dy * dy <= 16 {
                        self.ui.map_selected = p.node.clone();
                    }
                }
            } else {
                let ids = tree::visible_ids(self);
                let row = usize::from(y.saturating_sub(a.map.y + 1));
                if let Some(id) = ids.get(tree::scroll_offset(self, &ids) + row) {
                    self.ui.tree.select(id.clone());
                }
            }
        }
        self.dirty = true;
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
