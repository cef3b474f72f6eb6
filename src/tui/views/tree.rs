//! The tree: process → sockets → endpoint, or endpoint → processes (who
//! else talks to this address?). Expansion is kept by identifier, so it
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
use crate::model::{EndpointKey, Pid, Socket};
use crate::text::escape_control;

pub const MAX_CHILDREN: usize = 200;
const MORE: &str = "more";

fn process_id(p: Option<Pid>) -> String {
    p.map_or_else(|| "p:-".to_string(), |p| format!("p:{p}"))
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

/// Top-level groups: (id, owner or endpoint, socket indices or pid counts).
fn tops(app: &App) -> Vec<(String, String)> {
    let t = &app.derived.tree;
    if app.ui.map_mode == MapMode::TreeByEndpoint {
        t.by_endpoint
            .iter()
            .map(|(e, procs)| {
                let n: u64 = procs.values().sum();
                (format!("e:{e}"), format!("{e} {} · {n} connections · {} processes", crate::model::Zone::of(e.ip), procs.len()))
            })
            .collect()
    } else {
        let mut v: Vec<(String, String)> = t.by_process.iter().map(|(p, socks)| (process_id(Some(*p)), process_label(app, Some(*p), socks.len()))).collect();
        if !t.unowned.is_empty() {
            v.push((process_id(None), process_label(app, None, t.unowned.len())));
        }
        v
    }
}

/// Children of a top-level node: (id, label, has children).
fn children(app: &App, top: &str) -> Vec<(String, String, bool)> {
    let t = &app.derived.tree;
    let s = &app.snapshot;
    let mut out: Vec<(String, String, bool)> = if app.ui.map_mode == MapMode::TreeByEndpoint {
        let Some(e) = top.strip_prefix("e:").and_then(|x| x.parse::<EndpointKey>().ok()) else { return Vec::new() };
        t.by_endpoint.get(&e).map_or_else(Vec::new, |procs| {
            procs
                .iter()
                .map(|(p, n)| (format!("p:{p}"), format!("{} ({p}) ×{n}", escape_control(s.process(*p).map_or("?", |x| x.facts.name.as_str()))), false))
                .collect()
        })
    } else {
        let socks = match top.strip_prefix("p:") {
            Some("-") => Some(&t.unowned),
            Some(p) => p.parse().ok().and_then(|p| t.by_process.get(&Pid(p))),
            None => None,
        };
        socks.map_or_else(Vec::new, |v| {
            v.iter()
                .take(MAX_CHILDREN)
                .map(|&i| {
                    let sock = &s.sockets[i as usize];
                    (format!("s:{}", sock.key()), socket_label(sock), !sock.raw.remote.ip().is_unspecified())
                })
                .collect()
        })
    };
    let total = match app.ui.map_mode {
        MapMode::TreeByEndpoint => out.len(),
        _ => top
            .strip_prefix("p:")
            .map_or(0, |p| if p == "-" { t.unowned.len() } else { p.parse().ok().and_then(|p| t.by_process.get(&Pid(p))).map_or(0, Vec::len) }),
    };
    if total > out.len() {
        out.push((MORE.into(), format!("… {} more (filter to narrow)", total - out.len()), false));
    }
    out
}

fn endpoint_leaf(app: &App, socket_id: &str) -> Option<(String, String)> {
    let key = socket_id.strip_prefix("s:")?.parse().ok()?;
    let s = app.snapshot.socket(key)?;
    let key = s.endpoint();
    let e = app.snapshot.endpoints.get(&key);
    let extra = e.map_or(String::new(), |e| format!(" · {} connections · {} processes", e.connection_count, e.process_count));
    Some((format!("e:{key}"), format!("{key} {}{extra}", s.zone)))
}

fn opened(app: &App) -> HashSet<Vec<String>> {
    app.ui.tree.opened().clone()
}

/// Identifiers of the rows shown, top to bottom.
pub fn visible_ids(app: &App) -> Vec<Vec<String>> {
    let open = opened(app);
    let mut ids = Vec::new();
    for (top, _) in tops(app) {
        let path = vec![top.clone()];
        let is_open = open.contains(&path);
        ids.push(path);
        if !is_open {
            continue;
        }
        for (child, _, has_leaf) in children(app, &top) {
            let cpath = vec![top.clone(), child.clone()];
            let child_open = open.contains(&cpath);
            ids.push(cpath);
            if has_leaf
                && child_open
                && let Some((leaf, _)) = endpoint_leaf(app, &child)
            {
                ids.push(vec![top.clone(), child, leaf]);
            }
        }
    }
    ids
}

/// The first row shown, so that the selection is visible.
pub fn scroll_offset(app: &App, ids: &[Vec<String>]) -> usize {
    let height = usize::from(app.areas().map.height.saturating_sub(2)).max(1);
    let sel = ids.iter().position(|id| id.as_slice() == app.ui.tree.selected()).unwrap_or(0);
    sel.saturating_sub(height - 1)
}

/// The process a tree selection is about.
pub fn selected_process(app: &App) -> Option<Pid> {
    let sel = app.ui.tree.selected();
    if let Some(p) = sel.iter().rev().find_map(|id| id.strip_prefix("p:")).and_then(|p| p.parse().ok()) {
        return Some(Pid(p));
    }
    let key = sel.iter().find_map(|id| id.strip_prefix("s:"))?.parse().ok()?;
    app.snapshot.socket(key)?.owner()
}

fn items(app: &App) -> Vec<TreeItem<'static, String>> {
    let open = opened(app);
    tops(app)
        .into_iter()
        .map(|(top, label)| {
            let kids: Vec<TreeItem<'static, String>> = if open.contains(&vec![top.clone()]) {
                children(app, &top)
                    .into_iter()
                    .map(|(id, text, has_leaf)| {
                        let leaf = if has_leaf { endpoint_leaf(app, &id) } else { None };
                        match leaf {
                            Some((lid, ltext)) => {
                                TreeItem::new(id.clone(), text.clone(), vec![TreeItem::new_leaf(lid, ltext)]).unwrap_or_else(|_| TreeItem::new_leaf(id, text))
                            }
                            None => TreeItem::new_leaf(id, text),
                        }
                    })
                    .collect()
            } else {
                // A placeholder so the node shows as expandable.
                vec![TreeItem::new_leaf("…".to_string(), "…")]
            };
            TreeItem::new(top.clone(), label.clone(), kids).unwrap_or_else(|_| TreeItem::new_leaf(top, label))
        })
        .collect()
}

pub fn render(app: &App, area: Rect, buf: &mut Buffer) {
    let focused = app.ui.pane == Pane::Map;
    let kind = if app.ui.map_mode == MapMode::TreeByEndpoint { "endpoint → processes" } else { "process → sockets → endpoint" };
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
