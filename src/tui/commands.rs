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

    /// Select the next socket in the list with a finding: worst first,
    /// then in list order; after the last, the first again.
    pub(super) fn next_finding(&mut self) {
        let mut marked: Vec<(Severity, usize)> = self
            .derived
            .rows
            .iter()
            .enumerate()
            .filter_map(|(i, &r)| super::derived::mark_at(&self.snapshot, r).filter(|m| m.severity > Severity::Info).map(|m| (m.severity, i)))
            .collect();
        if marked.is_empty() {
            self.say("no findings in the list");
            return;
        }
        marked.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)));
        let current = if self.ui.pane == Pane::List { self.selected_row() } else { None };
        let at = current.and_then(|c| marked.iter().position(|&(_, i)| i == c)).map_or(0, |p| (p + 1) % marked.len());
        let (severity, row) = marked[at];
        let sock = &self.snapshot.sockets[self.derived.rows[row] as usize];
        let key = sock.key();
        let who = sock.owner().map_or_else(|| "no visible process".to_string(), |p| self.process_label(p));
        self.ui.pane = Pane::List;
        self.ui.detail_focus = false;
        self.ui.list_selected = Some(key);
        self.ensure_visible();
        self.say(format!("finding {}/{}: {} · {who}", at + 1, marked.len(), severity.name().to_uppercase()));
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
