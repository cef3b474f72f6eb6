//! The tree: process → sockets → endpoint, endpoint → processes (who
//! else talks to this address?), or container → process → socket. Expansion is kept by identifier, so it
//! survives refreshes. Children are built only for open nodes, at most
//! [`MAX_CHILDREN`] each.

use std::collections::HashSet;

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::style::Modifier;
use ratatui::text::Line;
use ratatui::widgets::{Block, Paragraph, StatefulWidget, Widget};
use tui_tree_widget::{Tree, TreeItem};

use super::super::app::App;
use super::super::state::{MapMode, Pane};
use crate::model::{EndpointKey, Pid, Socket, SocketKey};
use crate::text::escape_control;

pub const MAX_CHILDREN: usize = 200;

/// A tree row's identity: what it stands for, typed. Expansion and the
/// selection are kept by it, so they survive refreshes.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum TreeId {
    /// A process, or the sockets with no visible owner (`None`).
    Process(Option<Pid>),
    Endpoint(EndpointKey),
    Socket(SocketKey),
    /// A container or unit, by its label.
    Container(String),
    /// The "… N more" row.
    More,
}

fn process_id(p: Option<Pid>) -> TreeId {
    TreeId::Process(p)
}

fn process_label(app: &App, p: Option<Pid>, count: usize) -> String {
    match p {
        Some(p) => {
            let name = app.snapshot.process(p).map_or("?", |n| n.facts.name.as_str());
            format!("{} ({p}) · {count} sockets", escape_control(name))
        }
        None => format!("no visible owner · {count} sockets"),
    }
}

fn socket_label(s: &Socket) -> String {
    let remote = if s.raw.remote.ip().is_unspecified() { "*".to_string() } else { s.raw.remote.to_string() };
    format!("{} {} → {} {}", s.key().protocol, s.raw.local, remote, s.state())
}

/// Top-level groups: (id, label).
fn tops(app: &App) -> Vec<(TreeId, String)> {
    let t = &app.derived.tree;
    match app.ui.map_mode {
        MapMode::TreeByEndpoint => t
            .by_endpoint
            .iter()
            .map(|(e, procs)| {
                let n: u64 = procs.values().sum();
                let name = super::super::naming::endpoint_name(&app.snapshot, e).map_or(String::new(), |n| format!(" {n}"));
                (TreeId::Endpoint(*e), format!("{e}{name} {} · {n} connections · {} processes", crate::model::Zone::of(e.ip), procs.len()))
            })
            .collect(),
        MapMode::TreeByContainer => {
            let mut v: Vec<(TreeId, String)> = t
                .by_container
                .iter()
                .map(|(label, pids)| {
                    let sockets: usize = pids.iter().filter_map(|p| t.by_process.get(p)).map(Vec::len).sum();
                    (TreeId::Container(label.clone()), format!("{} · {} processes · {sockets} sockets", escape_control(label), pids.len()))
                })
                .collect();
            if !t.unowned.is_empty() {
                v.push((process_id(None), process_label(app, None, t.unowned.len())));
            }
            v
        }
        _ => {
            let mut v: Vec<(TreeId, String)> =
                t.by_process.iter().map(|(p, socks)| (process_id(Some(*p)), process_label(app, Some(*p), socks.len()))).collect();
            if !t.unowned.is_empty() {
                v.push((process_id(None), process_label(app, None, t.unowned.len())));
            }
            v
        }
    }
}

/// The sockets of a process node (`None`: the unowned).
fn socket_nodes(app: &App, process: Option<Pid>) -> (Vec<(TreeId, String, bool)>, usize) {
    let t = &app.derived.tree;
    let socks = match process {
        None => Some(&t.unowned),
        Some(p) => t.by_process.get(&p),
    };
    let Some(v) = socks else { return (Vec::new(), 0) };
    let nodes = v
        .iter()
        .take(MAX_CHILDREN)
        .map(|&i| {
            let sock = &app.snapshot.sockets[i as usize];
            (TreeId::Socket(sock.key()), socket_label(sock), !sock.raw.remote.ip().is_unspecified())
        })
        .collect();
    (nodes, v.len())
}

/// Children of the node at `path`: (id, label, has children).
fn children(app: &App, path: &[TreeId]) -> Vec<(TreeId, String, bool)> {
    let index = &app.derived.tree;
    let snap = &app.snapshot;
    let Some(last) = path.last() else { return Vec::new() };
    let (mut out, total) = match last {
        TreeId::Socket(key) => return endpoint_leaf(app, *key).map(|(id, label)| vec![(id, label, false)]).unwrap_or_default(),
        TreeId::Endpoint(e) => {
            let v: Vec<(TreeId, String, bool)> = index.by_endpoint.get(e).map_or_else(Vec::new, |procs| {
                procs
                    .iter()
                    .map(|(p, n)| {
                        (TreeId::Process(Some(*p)), format!("{} ({p}) ×{n}", escape_control(snap.process(*p).map_or("?", |x| x.facts.name.as_str()))), false)
                    })
                    .collect()
            });
            let n = v.len();
            (v, n)
        }
        TreeId::Container(label) => {
            let pids = index.by_container.get(label).map_or(&[][..], Vec::as_slice);
            let v: Vec<(TreeId, String, bool)> = pids
                .iter()
                .take(MAX_CHILDREN)
                .map(|p| (process_id(Some(*p)), process_label(app, Some(*p), index.by_process.get(p).map_or(0, Vec::len)), true))
                .collect();
            (v, pids.len())
        }
        TreeId::Process(p) => socket_nodes(app, *p),
        TreeId::More => (Vec::new(), 0),
    };
    if total > out.len() {
        out.push((TreeId::More, format!("… {} more (filter to narrow)", total - out.len()), false));
    }
    out
}

fn endpoint_leaf(app: &App, socket: SocketKey) -> Option<(TreeId, String)> {
    let s = app.snapshot.socket(socket)?;
    let key = s.endpoint();
    let e = app.snapshot.endpoints.get(&key);
    let extra = e.map_or(String::new(), |e| format!(" · {} connections · {} processes", e.connection_count, e.process_count));
    let name = super::super::naming::endpoint_name(&app.snapshot, &key).map_or(String::new(), |n| format!(" {n}"));
    Some((TreeId::Endpoint(key), format!("{key}{name} {}{extra}", s.zone)))
}

fn opened(app: &App) -> HashSet<Vec<TreeId>> {
    app.ui.tree.opened().clone()
}

/// Identifiers of the rows shown, top to bottom.
pub fn visible_ids(app: &App) -> Vec<Vec<TreeId>> {
    fn walk(app: &App, open: &HashSet<Vec<TreeId>>, path: &[TreeId], expandable: bool, out: &mut Vec<Vec<TreeId>>) {
        out.push(path.to_vec());
        if !(expandable && open.contains(path)) {
            return;
        }
        for (child, _, has_children) in children(app, path) {
            let mut p = path.to_vec();
            p.push(child);
            walk(app, open, &p, has_children, out);
        }
    }
    let open = opened(app);
    let mut ids = Vec::new();
    for (top, _) in tops(app) {
        walk(app, &open, &[top], true, &mut ids);
    }
    ids
}

/// The first row shown, so that the selection is visible.
pub fn scroll_offset(app: &App, ids: &[Vec<TreeId>]) -> usize {
    let height = usize::from(app.areas().map.height.saturating_sub(2)).max(1);
    let sel = ids.iter().position(|id| id.as_slice() == app.ui.tree.selected()).unwrap_or(0);
    sel.saturating_sub(height - 1)
}

/// The process a tree selection is about.
pub fn selected_process(app: &App) -> Option<Pid> {
    let sel = app.ui.tree.selected();
    if let Some(p) = sel.iter().rev().find_map(|id| match id {
        TreeId::Process(p) => *p,
        _ => None,
    }) {
        return Some(p);
    }
    let key = sel.iter().find_map(|id| match id {
        TreeId::Socket(k) => Some(*k),
        _ => None,
    })?;
    app.snapshot.socket(key)?.owner()
}

fn items(app: &App) -> Vec<TreeItem<'static, TreeId>> {
    fn node(app: &App, open: &HashSet<Vec<TreeId>>, path: &[TreeId], label: String, expandable: bool) -> TreeItem<'static, TreeId> {
        let id = path.last().cloned().unwrap_or(TreeId::More);
        if !expandable {
            return TreeItem::new_leaf(id, label);
        }
        let kids: Vec<TreeItem<'static, TreeId>> = if open.contains(path) {
            children(app, path)
                .into_iter()
                .map(|(child, text, has_children)| {
                    let mut p = path.to_vec();
                    p.push(child);
                    node(app, open, &p, text, has_children)
                })
                .collect()
        } else {
            // A placeholder so the node shows as expandable.
            vec![TreeItem::new_leaf(TreeId::More, "…")]
        };
        TreeItem::new(id.clone(), label.clone(), kids).unwrap_or_else(|_| TreeItem::new_leaf(id, label))
    }
    let open = opened(app);
    tops(app).into_iter().map(|(top, label)| node(app, &open, &[top], label, true)).collect()
}

pub fn render(app: &App, area: Rect, buf: &mut Buffer) {
    let focused = app.ui.pane == Pane::Map;
    let kind = match app.ui.map_mode {
        MapMode::TreeByEndpoint => "endpoint → processes",
        MapMode::TreeByContainer => "container → process → socket",
        _ => "process → sockets → endpoint",
    };
    let block = Block::bordered().title(format!(" tree · {kind} ")).border_style(if focused { app.theme.title() } else { app.theme.dim() });
    let items = items(app);
    if items.is_empty() {
        Paragraph::new(Line::from("no sockets in this view")).block(block).render(area, buf);
        return;
    }
    match Tree::new(&items) {
        Ok(tree) => {
            let tree = tree.block(block).highlight_style(if focused { app.theme.selected() } else { app.theme.selected().add_modifier(Modifier::DIM) });
            // The widget keeps scroll bookkeeping in its state: draw from a
            // fresh state with the same opened nodes and selection, so
            // rendering never changes the app.
            let mut state = tui_tree_widget::TreeState::default();
            for id in app.ui.tree.opened() {
                state.open(id.clone());
            }
            state.select(app.ui.tree.selected().to_vec());
            StatefulWidget::render(tree, area, buf, &mut state);
        }
        Err(e) => Paragraph::new(Line::from(format!("tree unavailable: {e}"))).block(block).render(area, buf),
    }
}
