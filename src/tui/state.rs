//! UI-only state: panes, modes, selection (by stable key, never by row),
//! sort, filter, view, tree expansion. It survives refreshes.

use tui_tree_widget::TreeState;

use crate::filter::Filter;
use crate::model::{EndpointKey, ListenerKey, Pid, SocketKey};

/// Which pane keys go to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Pane {
    Map,
    List,
}

/// What the map pane shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MapMode {
    Graph,
    TreeByProcess,
    TreeByEndpoint,
    /// Container (or systemd unit) → process → socket → endpoint.
    TreeByContainer,
}

/// A node of the map.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum MapNode {
    Host,
    Process(Pid),
    Listener(ListenerKey),
    Endpoint(EndpointKey),
    /// A group of endpoints, by its label.
    Group(String),
    /// Processes drawn as one node when the map is crowded (`nginx ×4`,
    /// `+9 processes`), by its label; members in [`MapModel::process_groups`](super::derived::MapModel).
    Processes(String),
}

/// List columns, in display order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Column {
    Process,
    Proto,
    Local,
    Remote,
    State,
    Age,
    Up,
    Down,
    /// The owning process's rates (all its sockets), per refresh.
    ProcUp,
    ProcDown,
    /// The owner's container or unit.
    Container,
    Severity,
}

impl Column {
    pub const ALL: [Self; 12] = [
        Self::Process,
        Self::Proto,
        Self::Local,
        Self::Remote,
        Self::State,
        Self::Age,
        Self::Up,
        Self::Down,
        Self::ProcUp,
        Self::ProcDown,
        Self::Container,
        Self::Severity,
    ];

    pub fn title(self) -> &'static str {
        match self {
            Self::Process => "process",
            Self::Proto => "proto",
            Self::Local => "local",
            Self::Remote => "remote",
            Self::State => "state",
            Self::Age => "age",
            Self::Up => "↑/s",
            Self::Down => "↓/s",
            Self::ProcUp => "p↑/s",
            Self::ProcDown => "p↓/s",
            Self::Container => "container",
            Self::Severity => "sev",
        }
    }

    #[must_use]
    pub fn next(self) -> Self {
        let i = Self::ALL.iter().position(|c| *c == self).unwrap_or(0);
        Self::ALL[(i + 1) % Self::ALL.len()]
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Sort {
    pub column: Column,
    pub descending: bool,
}

impl Sort {
    /// The list's first order: worst severity first (the snapshot's own
    /// default order, so no sort is needed).
    pub const WORST_FIRST: Self = Self { column: Column::Severity, descending: true };
}

/// How a status-line notice reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NoticeKind {
    /// Feedback for a key (a toggle, a copy, a question).
    Info,
    /// Something new and serious arrived.
    Alert,
    /// Esc at the top level: a second Esc quits.
    ConfirmQuit,
}

/// A message in the status line, until the next key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Notice {
    pub kind: NoticeKind,
    pub text: String,
}

impl Notice {
    pub fn info(text: impl Into<String>) -> Self {
        Self { kind: NoticeKind::Info, text: text.into() }
    }
}

// Independent toggles (help, legend, animations, detail focus), each its own key.
#[allow(clippy::struct_excessive_bools)]
#[derive(Debug)]
pub struct UiState {
    pub pane: Pane,
    pub map_mode: MapMode,
    pub map_selected: MapNode,
    pub list_selected: Option<SocketKey>,
    /// First list row shown.
    pub list_offset: usize,
    /// The process the map is centred on.
    pub focus: Option<Pid>,
    pub sort: Sort,
    pub filter_text: String,
    pub filter: Filter,
    pub filter_error: Option<String>,
    /// The filter being typed (Some while the input line is open).
    pub input: Option<super::prompt::Prompt>,
    /// Filters entered at the prompt, for ↑/↓.
    pub filter_history: super::prompt::History,
    /// Index into the spec's views.
    pub view: usize,
    pub tree: TreeState<super::views::tree::TreeId>,
    pub help: bool,
    /// First help line shown (the help scrolls when it does not fit).
    pub help_scroll: usize,
    /// The map's legend is shown.
    pub legend: bool,
    /// The events pane, when open: the selected row.
    pub events: Option<usize>,
    pub animations: bool,
    /// Keys scroll the detail pane (it shows the selection of `pane`).
    pub detail_focus: bool,
    /// First detail line shown; back to 0 when the detail's target changes.
    pub detail_scroll: usize,
    pub notice: Option<Notice>,
}

impl UiState {
    /// What derivation reads of the UI state (view, filter, sort, focus,
    /// map mode), the rest at its defaults: for the deriving thread.
    #[must_use]
    pub fn for_deriving(&self) -> Self {
        Self {
            map_mode: self.map_mode,
            focus: self.focus,
            sort: self.sort,
            filter_text: self.filter_text.clone(),
            filter: self.filter.clone(),
            view: self.view,
            ..Self::default()
        }
    }
}

impl Default for UiState {
    fn default() -> Self {
        Self {
            pane: Pane::Map,
            map_mode: MapMode::Graph,
            map_selected: MapNode::Host,
            list_selected: None,
            list_offset: 0,
            focus: None,
            sort: Sort::WORST_FIRST,
            filter_text: String::new(),
            filter: Filter::default(),
            filter_error: None,
            input: None,
            filter_history: super::prompt::History::default(),
            view: 0,
            tree: TreeState::default(),
            help: false,
            help_scroll: 0,
            legend: false,
            events: None,
            animations: false,
            detail_focus: false,
            detail_scroll: 0,
            notice: None,
        }
    }
}
