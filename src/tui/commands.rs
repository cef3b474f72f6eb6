//! What some keys do beyond moving the selection: Esc's step back, the
//! next finding, copying the selection, and the status-line notices (key
//! feedback and news of a serious finding).

use super::app::App;
use super::outgoing::Outgoing;
use super::state::{MapNode, Notice, NoticeKind, Pane};
use crate::model::{Pid, Severity, Snapshot};

/// What a finding is about, in a few words: `bash (3401)`, an address.
fn subject_label(s: &Snapshot, subject: crate::model::Subject) -> String {
    use crate::model::Subject;
    let process = |p: Pid| format!("{} ({p})", crate::text::escape_control(s.process(p).map_or("?", |x| x.facts.name.as_str())));
    match subject {
        Subject::Process { pid } | Subject::Socket { pid: Some(pid), .. } => process(pid),
        Subject::Socket { socket, pid: None } => socket.to_string(),
        Subject::Endpoint { endpoint } => endpoint.ip.to_string(),
        Subject::Host => "this host".into(),
    }
}

impl App {
    /// A critical or high finding that the previous snapshot did not
    /// have: a notice in the status line, and the bell.
    pub(super) fn announce_new_findings(&mut self, next: &Snapshot) {
        let serious = |f: &&crate::model::Finding| f.severity >= Severity::High;
        let known: std::collections::HashSet<&str> = self.snapshot.findings.iter().filter(serious).map(|f| f.id.as_str()).collect();
        let mut fresh: Vec<&crate::model::Finding> = next.findings.iter().filter(serious).filter(|f| !known.contains(f.id.as_str())).collect();
        if fresh.is_empty() {
            return;
        }
        fresh.sort_by_key(|f| std::cmp::Reverse(f.severity));
        let f = fresh[0];
        let more = if fresh.len() > 1 { format!(" (+{} more)", fresh.len() - 1) } else { String::new() };
        let text = format!(
            "NEW {}: {} · {}{more} · n selects it",
            f.severity.name().to_uppercase(),
            crate::text::escape_control(&f.rule_name),
            subject_label(next, f.subject)
        );
        self.ui.notice = Some(Notice { kind: NoticeKind::Alert, text });
        if self.bell {
            self.outbox.push(Outgoing::Bell);
        }
    }

    /// Feedback for a key in the status line.
    pub(super) fn say(&mut self, text: impl Into<String>) {
        self.ui.notice = Some(Notice::info(text));
    }

    pub(super) fn say_sort(&mut self) {
        let arrow = if self.ui.sort.descending { "▼" } else { "▲" };
        self.say(format!("sort by {} {arrow}", self.ui.sort.column.title()));
    }

    /// `name (pid)`.
    pub(super) fn process_label(&self, pid: Pid) -> String {
        format!("{} ({pid})", crate::text::escape_control(self.snapshot.process(pid).map_or("?", |p| p.facts.name.as_str())))
    }

    /// Esc, like k9s: close what is open, step back one level; at the top
    /// level ask first, and quit on a second Esc.
    pub(super) fn back(&mut self) {
        if self.ui.help {
            self.ui.help = false;
        } else if self.ui.legend {
            self.ui.legend = false;
        } else if self.ui.events.is_some() {
            self.ui.events = None;
        } else if self.ui.detail_focus {
            self.ui.detail_focus = false;
        } else if self.ui.focus.is_some() {
            self.ui.focus = None;
            self.ui.map_selected = MapNode::Host;
            self.rederive();
            self.say("map: the host");
        } else if !self.ui.filter_text.is_empty() {
            self.set_filter("");
            self.say("filter cleared");
        } else if self.ui.notice.as_ref().is_some_and(|n| n.kind == NoticeKind::ConfirmQuit) {
            self.quit = true;
        } else {
            self.ui.notice = Some(Notice { kind: NoticeKind::ConfirmQuit, text: "press Esc again or q to quit".into() });
        }
    }

    /// Select the next thing with a finding: sockets in the list, and
    /// alert-only parties on the map (no row holds their findings); worst
    /// first, then list order, parties after rows of the same severity;
    /// after the last, the first again.
    pub(super) fn next_finding(&mut self) {
        /// Where a finding is selected.
        #[derive(PartialEq)]
        enum Stop {
            Row(usize),
            Node(MapNode),
        }
        let mut marked: Vec<(Severity, Stop)> = self
            .derived
            .rows
            .iter()
            .enumerate()
            .filter_map(|(i, &r)| super::derived::mark_at(&self.snapshot, r).filter(|m| m.severity > Severity::Info).map(|m| (m.severity, Stop::Row(i))))
            .collect();
        let graph = self.derived.map_graph(&self.snapshot);
        for p in &self.snapshot.parties {
            let Some(severity) = p.severity.filter(|s| *s > Severity::Info) else { continue };
            // Drawn as itself, or in the group it is folded in.
            let node = match graph.slot_of(p.endpoint) {
                crate::model::NodeRef::Group(g) => graph.groups.get(g as usize).map(|x| MapNode::Group(x.label.clone())),
                _ => Some(MapNode::Endpoint(p.endpoint)),
            };
            if let Some(node) = node.filter(|n| self.derived.map.endpoints.iter().any(|e| &e.node == n))
                && !marked.iter().any(|(_, s)| *s == Stop::Node(node.clone()))
            {
                marked.push((severity, Stop::Node(node)));
            }
        }
        if marked.is_empty() {
            self.say("no findings in the list");
            return;
        }
        // Stable: rows keep list order, parties come after rows of their severity.
        marked.sort_by_key(|m| std::cmp::Reverse(m.0));
        let current = match self.ui.pane {
            Pane::List => self.selected_row().map(Stop::Row),
            Pane::Map => Some(Stop::Node(self.ui.map_selected.clone())),
        };
        let at = current.and_then(|c| marked.iter().position(|(_, s)| *s == c)).map_or(0, |p| (p + 1) % marked.len());
        let count = marked.len();
        let (severity, stop) = marked.swap_remove(at);
        self.ui.detail_focus = false;
        let what = match stop {
            Stop::Row(row) => {
                let sock = &self.snapshot.sockets[self.derived.rows[row] as usize];
                let key = sock.key();
                let who = sock.owner().map_or_else(|| "no visible process".to_string(), |p| self.process_label(p));
                self.ui.pane = Pane::List;
                self.ui.list_selected = Some(key);
                self.ensure_visible();
                who
            }
            Stop::Node(node) => {
                let what = match &node {
                    MapNode::Endpoint(e) => format!("{} (no socket)", e.ip),
                    MapNode::Group(label) => crate::text::escape_control(label),
                    _ => String::new(),
                };
                self.ui.pane = Pane::Map;
                self.ui.map_mode = super::state::MapMode::Graph;
                self.ui.map_selected = node;
                what
            }
        };
        self.say(format!("finding {}/{count}: {} · {what}", at + 1, severity.name().to_uppercase()));
    }

    /// The value `y` copies: an address or a pid.
    pub fn selected_value(&self) -> Option<String> {
        use super::views::detail::Target;
        let s = &self.snapshot;
        match super::views::detail::target(self) {
            Target::Socket(k) => s.socket(k).map(|x| if x.raw.remote.ip().is_unspecified() { x.raw.local } else { x.raw.remote }.to_string()),
            Target::Process(p) => Some(p.to_string()),
            Target::Endpoint(e) => Some(e.ip.to_string()),
            Target::Listener(l) => Some(std::net::SocketAddr::new(l.address, l.port).to_string()),
            Target::Host => Some(s.source.host.clone()),
            Target::Group(g) | Target::Processes(g) => Some(g),
            Target::Nothing => None,
        }
    }

    /// `y`: the selected value to the clipboard (OSC 52) and the status line.
    pub(super) fn copy(&mut self) {
        match self.selected_value() {
            Some(v) => {
                let v = crate::text::escape_control(&v);
                self.say(format!("copied {v}"));
                self.outbox.push(Outgoing::Copy(v));
            }
            None => self.say("nothing selected to copy"),
        }
    }
}
