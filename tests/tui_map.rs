//! The map with processes, per-process traffic and the keys of issue 15
//! (legend, modal keys from one table, rebinding from the config, the
//! bell switch), on the demo host with fixture findings, through the real
//! event loop where keys are concerned.

use std::sync::Arc;

use crossterm::event::{Event, KeyCode, KeyEvent, KeyModifiers, MouseButton, MouseEvent, MouseEventKind};
use necromap::model::{EndpointKey, Finding, Pid, Severity};
use necromap::spec::Spec;
use necromap::tui::derived::process_rates;
use necromap::tui::keymap::{Action, Keymap};
use necromap::tui::state::{Column, MapNode, Pane};
use necromap::tui::views::graph;
use necromap::tui::{App, Options};

mod tui_common;
use tui_common::{app, demo, draw, key, script, status};

fn ep(ip: &str) -> EndpointKey {
    EndpointKey::host(ip.parse().expect("ip"))
}

#[test]
fn the_map_draws_processes_and_lines_to_what_they_reach() {
    let a = app((200, 60), false);
    let m = &a.derived.map;
    assert!(m.processes.iter().any(|e| e.node == MapNode::Process(Pid(3401))), "the shell is a node: {:?}", m.processes);
    // The shell's connection is a line from it to the C2 address.
    let shell_to_c2 = m.links.iter().find(|l| l.from == MapNode::Process(Pid(3401)) && l.to == MapNode::Endpoint(ep("203.0.113.200")));
    assert_eq!(shell_to_c2.map(|l| l.mark.map(|m| m.severity)), Some(Some(Severity::Critical)), "{:?}", m.links);
    // Every line ends at a node on the map (or the centre).
    let placed = graph::place(&a, graph::inner(a.areas().map));
    let on_map = |n: &MapNode| *n == MapNode::Host || placed.nodes.iter().any(|p| p.node == *n);
    assert!(m.links.iter().all(|l| on_map(&l.from) && on_map(&l.to)), "{:?}", m.links);
    // A process holds its listener: sshd → :22.
    assert!(m.links.iter().any(|l| matches!(l.from, MapNode::Process(Pid(610))) && matches!(&l.to, MapNode::Listener(k) if k.port == 22)));
    let text = draw(&a).backend().to_string();
    assert!(text.contains("☠ bash (3401)"), "the shell's label carries its finding's icon: {text}");
}

#[test]
fn a_crowded_map_groups_processes_and_every_process_is_drawn_once() {
    for size in [(80, 24), (120, 40)] {
        let a = app(size, false);
        let m = &a.derived.map;
        let room = a.spec.layout.max_neighbors.get(a.size_class()) / 2;
        assert!(m.processes.len() <= room.max(2), "{size:?}: {} process nodes for room {room}", m.processes.len());
        // Each process of the graph is in one node: its own or one group.
        let mut seen: Vec<Pid> = Vec::new();
        for e in &m.processes {
            match &e.node {
                MapNode::Process(p) => seen.push(*p),
                MapNode::Processes(label) => seen.extend(a.derived.process_group(label).expect("members")),
                other => panic!("{other:?} on the process ring"),
            }
        }
        let mut graph: Vec<Pid> =
            a.snapshot.graph.graph.node_weights().filter_map(|n| if let necromap::model::NodeRef::Process(p) = n { Some(*p) } else { None }).collect();
        graph.sort_unstable();
        seen.sort_unstable();
        assert_eq!(seen, graph, "{size:?}");
        // The processes with findings keep their own node.
        assert!(m.processes.iter().any(|e| e.node == MapNode::Process(Pid(3401))), "{size:?}");
        // A group's detail lists its members.
        let group = m.processes.iter().find(|e| matches!(e.node, MapNode::Processes(_))).expect("a group when crowded");
        let mut b = app(size, false);
        b.ui.map_selected = group.node.clone();
        let (title, lines) = necromap::tui::views::detail::content(&b, 200);
        let text: Vec<String> = lines.iter().map(ToString::to_string).collect();
        assert!(title.contains("processes"), "{title}");
        assert!(text.iter().any(|l| l.starts_with("group") && l.contains("processes")), "{text:?}");
        assert_eq!(text.iter().filter(|l| l.starts_with("member")).count(), group.members.min(40), "{text:?}");
    }
}

#[tokio::test]
async fn clicking_a_process_label_or_its_node_selects_it() {
    let a = app((120, 40), false);
    let placed = graph::place(&a, graph::inner(a.areas().map));
    for p in placed.nodes.iter().filter(|p| matches!(p.node, MapNode::Process(_) | MapNode::Processes(_))) {
        let click = |x, y| Event::Mouse(MouseEvent { kind: MouseEventKind::Down(MouseButton::Left), column: x, row: y, modifiers: KeyModifiers::NONE });
        // The label's last cell, then the node's own cell.
        let b = script(app((120, 40), false), vec![click(p.label_x + p.label_width - 1, p.label_y)]).await;
        assert_eq!(b.ui.map_selected, p.node, "label of {:?}", p.node);
        let b = script(app((120, 40), false), vec![click(p.x, p.y)]).await;
        assert_eq!(b.ui.map_selected, p.node, "node cell of {:?}", p.node);
    }
}

#[test]
fn process_rates_are_the_sum_of_their_sockets_and_sort_the_list() {
    let a = app((200, 60), false);
    let s = &a.snapshot;
    let rates = process_rates(s);
    let java = Pid(1904);
    let up: u64 = s.sockets.iter().filter(|x| x.raw.owners.contains(&java)).filter_map(necromap::model::Socket::send_rate).sum();
    let down: u64 = s.sockets.iter().filter(|x| x.raw.owners.contains(&java)).filter_map(necromap::model::Socket::recv_rate).sum();
    assert!(up > 0 && down > 0, "the demo's java moves bytes");
    assert_eq!(rates.get(&java).map(|r| (r.up, r.down)), Some((up, down)));
    // Sorted by the owner's ↓/s, busiest first: the first row's owner has the most.
    let mut b = app((200, 60), false);
    while b.ui.sort.column != Column::ProcDown {
        b.apply(Action::NextSort);
    }
    let first = b.snapshot.sockets[b.derived.rows[0] as usize].owner().expect("owned");
    let most = rates.iter().max_by_key(|(_, r)| r.down).map(|(p, _)| *p).expect("rates");
    assert_eq!(rates[&first].down, rates[&most].down);
    let text = draw(&b).backend().to_string();
    assert!(text.contains("p↓/s▼"), "the sort column shows: {text}");
}

#[test]
fn the_process_detail_shows_its_rates_and_a_sparkline_across_refreshes() {
    let mut a = app((120, 40), false);
    a.ui.pane = Pane::Map;
    a.ui.map_selected = MapNode::Process(Pid(1904));
    // Two more refreshes: the history has three samples.
    for g in 1..=2 {
        let mut next = (*a.snapshot).clone();
        next.generation += g;
        a.set_snapshot(Arc::new(next));
    }
    assert_eq!(a.traffic.history_of(Pid(1904)).map(std::collections::VecDeque::len), Some(3));
    let (_, lines) = necromap::tui::views::detail::content(&a, 110);
    let text: Vec<String> = lines.iter().map(ToString::to_string).collect();
    assert!(text.iter().any(|l| l.starts_with("rate") && l.contains("↑") && l.contains("/s")), "{text:?}");
    let history = text.iter().find(|l| l.starts_with("history")).expect("a sparkline");
    assert!(history.contains("███") && history.contains("peak"), "{history}");
}

#[tokio::test]
async fn l_shows_the_legend_and_esc_closes_it_first() {
    let a = script(app((120, 40), false), vec![key(KeyCode::Char('L'))]).await;
    assert!(a.ui.legend);
    let text = draw(&a).backend().to_string();
    for want in ["legend", "◆ process", "◈ processes", "⚰ listener", "ESTABLISHED", "TIME_WAIT"] {
        assert!(text.contains(want), "{want}: {text}");
    }
    let a = script(a, vec![key(KeyCode::Esc)]).await;
    assert!(!a.ui.legend && !a.quit && a.ui.notice.is_none(), "Esc closes the legend, it does not ask to quit");
}

#[tokio::test]
async fn modal_keys_come_from_the_table() {
    // In the prompt q types, Ctrl-U clears, Ctrl-D deletes, Enter applies.
    let ctrl = |c| Event::Key(KeyEvent::new(KeyCode::Char(c), KeyModifiers::CONTROL));
    let mut keys = vec![key(KeyCode::Char('/')), key(KeyCode::Char('q')), ctrl('u')];
    keys.extend("xip:10.0.0.0/8".chars().map(|c| key(KeyCode::Char(c))));
    keys.extend([key(KeyCode::Home), ctrl('d'), key(KeyCode::Enter)]);
    let a = script(app((80, 24), false), keys).await;
    assert!(!a.quit);
    assert_eq!(a.ui.filter_text, "ip:10.0.0.0/8", "q typed, Ctrl-U cleared, Home and Ctrl-D took the x");
    // Esc at the top asks; another key keeps the explorer; Esc Esc quits.
    let a = script(app((80, 24), false), vec![key(KeyCode::Esc), key(KeyCode::Char('j'))]).await;
    assert!(!a.quit && a.ui.notice.is_none());
    let a = script(app((80, 24), false), vec![key(KeyCode::Esc), key(KeyCode::Esc)]).await;
    assert!(a.quit);
    // A focused detail: G goes to its bottom, Esc leaves it (no question).
    let a = script(app((80, 24), false), vec![key(KeyCode::Char('d')), key(KeyCode::Char('G')), key(KeyCode::Esc)]).await;
    assert!(!a.ui.detail_focus && !a.quit && a.ui.detail_scroll > 0);
    // The help scrolls when it does not fit (80×24), and lists every mode.
    let a = script(app((80, 24), false), vec![key(KeyCode::Char('?')), key(KeyCode::Char('j')), key(KeyCode::Char('j'))]).await;
    assert!(a.ui.help);
    assert_eq!(a.ui.help_scroll, 2);
    let big = script(app((200, 60), false), vec![key(KeyCode::Char('?'))]).await;
    let text = draw(&big).backend().to_string();
    for mode in necromap::tui::keymap::Mode::ALL {
        assert!(text.contains(&format!("{}:", mode.title())), "{mode:?}: {text}");
    }
    for row in &big.keymap.rows {
        assert!(text.contains(&row.keys), "help lists {}", row.keys);
    }
}

#[tokio::test]
async fn keys_rebound_in_the_config_drive_the_explorer_and_its_help() {
    let path = std::env::temp_dir().join(format!("necromap-keys-{}.toml", std::process::id()));
    std::fs::write(&path, "[keys]\nquit = \"x\"\nfilter = [\"f\", \"Ctrl-f\"]\n").expect("write");
    let config = necromap::config::Config::load(Some(&path), &|_| None).expect("loads");
    let _ = std::fs::remove_file(&path);
    let keymap = Keymap::with_overrides(&config.keys.value);
    let options = Options { keymap, ..Options::default() };
    let a = App::new(Arc::new(Spec::embedded()), demo(), status(), options.clone(), (80, 24));
    let a = script(a, vec![key(KeyCode::Char('q')), key(KeyCode::Char('f'))]).await;
    assert!(!a.quit, "q is no longer quit");
    assert!(a.ui.input.is_some(), "f opens the filter");
    let a = App::new(Arc::new(Spec::embedded()), demo(), status(), options, (80, 24));
    let status_text = draw(&a).backend().to_string();
    assert!(status_text.lines().last().is_some_and(|l| l.contains("x quit")), "{status_text}");
    let a = script(a, vec![key(KeyCode::Char('x'))]).await;
    assert!(a.quit);
}

#[test]
fn no_bell_keeps_the_terminal_quiet_but_still_tells() {
    let full = demo();
    let mut quiet = (*full).clone();
    let fewer: Vec<Finding> = quiet.findings.iter().filter(|f| f.severity < Severity::Critical).cloned().collect();
    quiet.set_findings(fewer);
    let mut next = (*full).clone();
    next.generation = quiet.generation + 1;
    let mut a = App::new(Arc::new(Spec::embedded()), Arc::new(quiet), status(), Options { bell: false, ..Options::default() }, (80, 24));
    a.set_snapshot(Arc::new(next));
    assert!(a.ui.notice.as_ref().is_some_and(|n| n.text.starts_with("NEW CRITICAL")));
    assert!(a.outbox.is_empty(), "no bell");
}

#[test]
fn every_column_sorts_both_ways_with_unknowns_last() {
    let mut a = app((200, 60), false);
    for _ in 0..Column::ALL.len() {
        a.apply(Action::NextSort);
        for descending in [false, true] {
            if a.ui.sort.descending != descending {
                a.apply(Action::ReverseSort);
            }
            let s = a.snapshot.clone();
            let rows: Vec<&necromap::model::Socket> = a.derived.rows.iter().map(|&r| &s.sockets[r as usize]).collect();
            assert_eq!(rows.len(), s.sockets.len());
            let name = |x: &necromap::model::Socket| x.owner().and_then(|p| s.process(p)).map_or(String::new(), |p| p.facts.name.clone());
            let ordered = |ok: &dyn Fn(&necromap::model::Socket, &necromap::model::Socket) -> bool| rows.windows(2).all(|w| ok(w[0], w[1]));
            let column = a.ui.sort.column;
            let sorted = match column {
                Column::Process => ordered(&|x, y| if descending { name(x) >= name(y) } else { name(x) <= name(y) }),
                Column::Remote => ordered(&|x, y| if descending { x.raw.remote >= y.raw.remote } else { x.raw.remote <= y.raw.remote }),
                Column::State => ordered(&|x, y| if descending { x.state().name() >= y.state().name() } else { x.state().name() <= y.state().name() }),
                Column::Up => {
                    // Known rates first, in order; unknown ones after.
                    let known: Vec<u64> = rows.iter().map_while(|x| x.send_rate()).collect();
                    rows[known.len()..].iter().all(|x| x.send_rate().is_none())
                        && known.windows(2).all(|w| if descending { w[0] >= w[1] } else { w[0] <= w[1] })
                }
                _ => true,
            };
            assert!(sorted, "{column:?} descending {descending}");
        }
    }
}
