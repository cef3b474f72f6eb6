//! Actions: what each of the keymap's actions does to the UI state
//! (moving, paging, panes, views, sorts, focus, the filter, the events
//! pane's jump), and the effects some ask of the collector.

use std::time::Duration;

use super::app::{App, Effect};
use super::keymap::Action;
use super::prompt::Prompt;
use super::state::{MapMode, MapNode, Pane};
use super::views::tree;
use crate::filter::Filter;
use crate::model::Pid;

impl App {
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

    /// Scroll the detail pane by `delta` lines, within its content.
    pub(super) fn scroll_detail(&mut self, delta: isize) {
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
            // The prompt's keys reach it directly (see `input`).
            Action::Edit(_) => {}
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
        let Some(subject) = super::views::events::rows(&self.snapshot).get(index).map(super::views::events::EventRow::subject) else { return };
        let node = match subject {
            Subject::Endpoint { endpoint } => Some(MapNode::Endpoint(endpoint)),
            Subject::Process { pid } => Some(MapNode::Process(pid)),
            Subject::Socket { .. } | Subject::Host => None,
        };
        if let Some(node) = node {
            self.ui.pane = Pane::Map;
            self.ui.map_mode = MapMode::Graph;
            self.ui.focus = None;
            self.ui.map_selected = node.clone();
            self.rederive_now();
            if self.ui.map_selected == node {
                return;
            }
            // An endpoint folded into a group (alert-only parties when the
            // map is full among them): select the group it is drawn in.
            if let Subject::Endpoint { endpoint } = subject {
                let graph = self.derived.map_graph(&self.snapshot);
                if let crate::model::NodeRef::Group(g) = graph.slot_of(endpoint)
                    && let Some(group) = graph.groups.get(g as usize)
                {
                    self.ui.map_selected = MapNode::Group(group.label.clone());
                    return;
                }
            }
        }
        // Not a node on the map (a socket, or an endpoint folded into a
        // group): select its first socket in the list instead.
        let socket = match subject {
            Subject::Socket { socket, .. } => Some(socket),
            Subject::Endpoint { endpoint } => self.snapshot.sockets.iter().find(|x| x.raw.remote.ip() == endpoint.ip).map(crate::model::Socket::key),
            Subject::Process { pid } => self.snapshot.sockets.iter().find(|x| x.raw.owners.contains(&pid)).map(crate::model::Socket::key),
            Subject::Host => None,
        };
        if let Some(key) = socket {
            self.ui.pane = Pane::List;
            if !self.ui.filter_text.is_empty() {
                self.set_filter("");
            }
            self.ui.list_selected = Some(key);
            self.rederive_now();
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
}
