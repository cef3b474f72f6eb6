//! Rendered frames of the explorer, from the demo recording with fixture
//! findings (fixed, so rule changes do not move the frames), at 80×24, 120×40 and
//! 200×60: every mode and view as text, glows as styled buffers, and key
//! scripts driven through the real event loop.

use std::collections::BTreeSet;
use std::path::Path;
use std::sync::Arc;

use crossterm::event::{Event, KeyCode, KeyEvent, KeyModifiers, MouseButton, MouseEvent, MouseEventKind};
use necromap::collect::ReplaySource;
use necromap::collector::CollectorStatus;
use necromap::model::{EndpointKey, Finding, Pid, Severity, Snapshot, Subject};
use necromap::spec::Spec;
use necromap::tui::keymap::Action;
use necromap::tui::state::{MapMode, MapNode, Pane};
use necromap::tui::{App, Links, Options, run_app, views};
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use tokio::sync::watch;

const SIZES: [(u16, u16); 3] = [(80, 24), (120, 40), (200, 60)];

mod tui_common;
use tui_common::{app, demo, draw, key, status};

/// The named modes of the matrix, each a way to set the app up.
/// How a mode sets the app up.
type Setup = Box<dyn Fn(&mut App)>;

fn modes() -> Vec<(&'static str, Setup)> {
    let mut m: Vec<(&'static str, Setup)> = vec![
        ("host", Box::new(|_| {})),
        (
            "focus_shell",
            Box::new(|a: &mut App| {
                a.set_filter("pid:3401");
                a.ui.pane = Pane::List;
                a.apply(Action::Down);
                a.apply(Action::FocusProcess);
                a.set_filter("");
            }),
        ),
        ("filter_listen", Box::new(|a: &mut App| a.set_filter("state:listen"))),
        ("filter_ip", Box::new(|a: &mut App| a.set_filter("ip:203.0.113.0/24"))),
        ("legend", Box::new(|a: &mut App| drop(a.apply(Action::Legend)))),
        (
            // A group of processes when the map is crowded, else a process.
            "map_process_node",
            Box::new(|a: &mut App| {
                let nodes = a.graph_nodes();
                let group = nodes.iter().find(|n| matches!(n, MapNode::Processes(_)));
                let one = nodes.iter().find(|n| matches!(n, MapNode::Process(_)));
                a.ui.map_selected = group.or(one).cloned().expect("a process on the map");
            }),
        ),
        ("help", Box::new(|a: &mut App| drop(a.apply(Action::Help)))),
        ("events", Box::new(|a: &mut App| drop(a.apply(Action::Events)))),
        ("list_pane", Box::new(|a: &mut App| drop(a.apply(Action::NextPane)))),
        (
            "tree_process",
            Box::new(|a: &mut App| {
                a.apply(Action::Tree);
                a.apply(Action::Down);
                a.apply(Action::Right);
            }),
        ),
        (
            "tree_endpoint",
            Box::new(|a: &mut App| {
                a.apply(Action::Tree);
                a.apply(Action::Tree);
                a.apply(Action::Down);
                a.apply(Action::Right);
            }),
        ),
    ];
    for (i, name) in ["view_suspicious_only", "view_active_only", "view_local_only", "view_internet_only", "view_listeners_only", "view_cleanup_states"]
        .into_iter()
        .enumerate()
    {
        m.push((
            name,
            Box::new(move |a: &mut App| {
                for _ in 0..=i {
                    a.apply(Action::NextView);
                }
            }),
        ));
    }
    m
}

fn snapshot_names() -> BTreeSet<String> {
    let mut names = BTreeSet::new();
    for (w, h) in SIZES {
        for (mode, _) in modes() {
            names.insert(format!("{mode}_{w}x{h}"));
            names.insert(format!("ascii_{mode}_{w}x{h}"));
        }
    }
    for n in ["styled_glows_120x40", "styled_ascii_120x40", "tiny_60x20", "keys_filter_listen", "keys_bad_filter", "keys_focus_tree"] {
        names.insert(n.to_string());
    }
    for n in ["detail_scrolled", "evidence_first_socket", "evidence_first_process"] {
        names.insert(format!("{n}_80x24"));
        names.insert(format!("{n}_120x40"));
    }
    names.insert("keys_notice_new_critical".to_string());
    names
}

#[test]
fn every_mode_and_view_at_every_size() {
    for (w, h) in SIZES {
        for (mode, setup) in modes() {
            for plain in [false, true] {
                let mut a = app((w, h), plain);
                setup(&mut a);
                let name = if plain { format!("ascii_{mode}_{w}x{h}") } else { format!("{mode}_{w}x{h}") };
                insta::assert_snapshot!(name, draw(&a).backend());
            }
        }
    }
}

#[test]
fn glows_take_the_colour_and_icon_of_the_strongest_finding() {
    let rich = app((120, 40), false);
    let term = draw(&rich);
    insta::assert_debug_snapshot!("styled_glows_120x40", term.backend().buffer());
    let text = term.backend().to_string();
    assert!(text.contains("☠ 203.0.113.200:4444"), "the shell's endpoint has the skull of the critical finding");
    assert!(text.contains("🎃 search-1.offi…:9200"), "the leaking process's peer (named, the name cut, the port whole) has the pumpkin of the medium finding");
    let buf = term.backend().buffer();
    let (col, row) = find(&text, "☠ 203.0.113.200");
    assert_eq!(buf[(col, row)].fg, ratatui::style::Color::Red, "critical → red glow");
    let plain = app((120, 40), true);
    let term = draw(&plain);
    insta::assert_debug_snapshot!("styled_ascii_120x40", term.backend().buffer());
    assert!(term.backend().buffer().content().iter().all(|c| c.fg == ratatui::style::Color::Reset), "plain mode has no colour");
    assert!(term.backend().to_string().contains("X 203.0.113.200:4444"), "ASCII skull");
}

/// Cell position of `needle` in a rendered frame (rows of the Display form).
fn find(text: &str, needle: &str) -> (u16, u16) {
    for (y, line) in text.lines().enumerate() {
        let line = line.trim_matches('"');
        if let Some(byte) = line.find(needle) {
            let x = unicode_width::UnicodeWidthStr::width(&line[..byte]);
            return (x as u16, y as u16);
        }
    }
    panic!("`{needle}` not on screen:\n{text}");
}

#[test]
fn below_the_small_size_a_summary_replaces_the_map() {
    let a = app((60, 20), false);
    let t = draw(&a);
    let text = t.backend().to_string();
    assert!(text.contains("enlarge"), "{text}");
    insta::assert_snapshot!("tiny_60x20", t.backend());
}

async fn script(mut a: App, events: Vec<Event>) -> (App, Terminal<TestBackend>) {
    let mut t = Terminal::new(TestBackend::new(a.size.0, a.size.1)).expect("terminal");
    let (_stx, snapshots) = watch::channel(a.snapshot.clone());
    let (_ttx, status) = watch::channel(a.status.clone());
    let input = futures_util::stream::iter(events.into_iter().map(Ok));
    run_app(&mut t, &mut a, input, Links { snapshots, status, commands: None }).await.expect("loop");
    (a, t)
}

fn typed(text: &str) -> Vec<Event> {
    text.chars().map(|c| key(KeyCode::Char(c))).collect()
}

#[tokio::test]
async fn typing_a_filter_narrows_the_list() {
    let mut events = vec![key(KeyCode::Char('/'))];
    events.extend(typed("state:listen"));
    events.push(key(KeyCode::Enter));
    let (a, t) = script(app((120, 40), false), events).await;
    assert_eq!(a.ui.filter_text, "state:listen");
    assert!(!a.derived.rows.is_empty());
    assert!(a.derived.rows.iter().all(|&r| a.snapshot.sockets[r as usize].state().name() == "LISTEN"));
    insta::assert_snapshot!("keys_filter_listen", t.backend());
}

#[tokio::test]
async fn a_bad_filter_shows_its_error_inline_and_keeps_the_old_one() {
    let mut events = vec![key(KeyCode::Char('/'))];
    events.extend(typed("port:htttp"));
    events.push(key(KeyCode::Enter));
    let (a, t) = script(app((120, 40), false), events).await;
    assert!(a.ui.filter_text.is_empty());
    assert_eq!(a.derived.rows.len(), a.snapshot.sockets.len());
    let text = t.backend().to_string();
    assert!(text.contains("`port:htttp`: expected a port 0-65535 or a service name"), "{text}");
    insta::assert_snapshot!("keys_bad_filter", t.backend());
}

#[tokio::test]
async fn p_focuses_the_selected_process_and_t_opens_the_tree() {
    // Select the shell's socket in the list, focus it, then show the tree.
    let mut events = vec![key(KeyCode::Char('/'))];
    events.extend(typed("proc:bash"));
    events.extend([key(KeyCode::Enter), key(KeyCode::Tab), key(KeyCode::Char('p'))]);
    let (a, _) = script(app((120, 40), false), events).await;
    assert_eq!(a.ui.focus, Some(Pid(3401)));
    assert_eq!(a.derived.map.endpoints.len(), 1, "the map shows only the shell's peer");
    let (a, t) = script(a, vec![key(KeyCode::Char('t')), key(KeyCode::Down), key(KeyCode::Right)]).await;
    assert_eq!(a.ui.map_mode, MapMode::TreeByProcess);
    assert!(t.backend().to_string().contains("bash (3401)"));
    insta::assert_snapshot!("keys_focus_tree", t.backend());
    // p again returns to the host.
    let (a, _) = script(a, vec![key(KeyCode::Tab), key(KeyCode::Char('p'))]).await;
    assert_eq!(a.ui.focus, None);
}

#[tokio::test]
async fn help_opens_and_esc_closes_it_before_quitting() {
    let (a, t) = script(app((120, 40), false), vec![key(KeyCode::Char('?'))]).await;
    assert!(a.ui.help);
    let text = t.backend().to_string();
    for b in necromap::tui::keymap::BINDINGS {
        assert!(text.contains(b.keys), "help lists {}", b.keys);
    }
    let (a, _) = script(a, vec![key(KeyCode::Esc)]).await;
    assert!(!a.ui.help && !a.quit);
    let (a, _) = script(a, vec![key(KeyCode::Char('q'))]).await;
    assert!(a.quit);
}

#[tokio::test]
async fn mouse_clicks_select_rows_and_nodes() {
    let a = app((120, 40), false);
    let list = a.areas().list;
    let click = |x, y| Event::Mouse(MouseEvent { kind: MouseEventKind::Down(MouseButton::Left), column: x, row: y, modifiers: KeyModifiers::NONE });
    // Third data row: border + header + 2.
    let (a, _) = script(a, vec![click(list.x + 3, list.y + 4)]).await;
    assert_eq!(a.ui.pane, Pane::List);
    assert_eq!(a.selected_row(), Some(2));
    // Click on a node's label in the map.
    let placed = views::graph::place(&a, views::graph::inner(a.areas().map));
    let target = placed.nodes.iter().find(|n| matches!(n.node, MapNode::Endpoint(_))).expect("an endpoint node").clone();
    let (a, _) = script(a, vec![click(target.label_x + 1, target.label_y)]).await;
    assert_eq!(a.ui.pane, Pane::Map);
    assert_eq!(a.ui.map_selected, target.node);
}

#[tokio::test]
async fn the_selection_survives_a_refresh() {
    let mut a = app((120, 40), false);
    a.apply(Action::NextPane);
    a.apply(Action::Down);
    a.apply(Action::Down);
    let chosen = a.ui.list_selected.expect("selected");
    let mut t = Terminal::new(TestBackend::new(120, 40)).expect("terminal");
    let (stx, snapshots) = watch::channel(a.snapshot.clone());
    let (_ttx, status) = watch::channel(a.status.clone());
    // A new generation arrives with the same sockets in another order.
    let mut next = (*demo()).clone();
    next.generation += 1;
    next.findings.reverse();
    next.reindex();
    stx.send(Arc::new(next)).expect("send");
    let input = futures_util::stream::iter(vec![Ok(Event::FocusGained)]);
    run_app(&mut t, &mut a, input, Links { snapshots, status, commands: None }).await.expect("loop");
    assert_eq!(a.ui.list_selected, Some(chosen));
}

#[test]
fn every_snapshot_file_is_referenced_and_none_is_pending() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/snapshots");
    let mut on_disk = BTreeSet::new();
    for entry in std::fs::read_dir(&dir).expect("snapshots dir") {
        let name = entry.expect("entry").file_name().to_string_lossy().into_owned();
        assert!(!name.ends_with(".snap.new") && !name.ends_with(".pending-snap"), "pending snapshot {name}: review it with cargo insta review");
        if let Some(n) = name.strip_prefix("tui_frames__").and_then(|n| n.strip_suffix(".snap")) {
            on_disk.insert(n.to_string());
        }
    }
    let expected = snapshot_names();
    let unreferenced: Vec<_> = on_disk.difference(&expected).collect();
    assert!(unreferenced.is_empty(), "unreferenced snapshots: {unreferenced:?}");
}

#[tokio::test]
async fn tree_expansion_survives_a_refresh() {
    let mut a = app((120, 40), false);
    a.apply(Action::Tree);
    a.apply(Action::Down);
    a.apply(Action::Right);
    let opened = a.ui.tree.opened().clone();
    assert_eq!(opened.len(), 1);
    let mut next = (*demo()).clone();
    next.generation += 1;
    a.set_snapshot(Arc::new(next));
    assert_eq!(a.ui.tree.opened(), &opened);
    let text = draw(&a).backend().to_string();
    assert!(text.contains("▼"), "the opened node is still open after the refresh");
}

#[test]
fn freeze_and_interval_keys_ask_the_collector() {
    use necromap::tui::app::Effect;
    use std::time::Duration;
    let mut a = app((120, 40), false);
    assert_eq!(a.apply(Action::Freeze), vec![Effect::Freeze(true)]);
    a.set_status(CollectorStatus { interval_ms: 3000, frozen: true, ..CollectorStatus::default() });
    assert_eq!(a.apply(Action::Freeze), vec![Effect::Freeze(false)]);
    assert!(draw(&a).backend().to_string().contains("FROZEN"));
    assert_eq!(a.apply(Action::Faster), vec![Effect::SetInterval(Duration::from_millis(1500))]);
    assert_eq!(a.apply(Action::Slower), vec![Effect::SetInterval(Duration::from_secs(6))]);
}

#[test]
fn the_events_pane_lists_findings_newest_first_and_enter_jumps_to_the_subject() {
    let mut a = app((120, 40), false);
    a.on_event(&key(KeyCode::Char('e')));
    assert_eq!(a.ui.events, Some(0));
    let rows = views::events::rows(&a.snapshot);
    assert!(rows.windows(2).all(|w| w[0].at_ms() >= w[1].at_ms()));
    let screen = format!("{:?}", draw(&a).backend());
    assert!(screen.contains("events · "), "{screen}");
    // Select the first endpoint event and jump to it.
    let target = rows.iter().position(|f| matches!(f.subject(), Subject::Endpoint { .. })).expect("an endpoint event");
    let Subject::Endpoint { endpoint } = rows[target].subject() else { unreachable!() };
    for _ in 0..target {
        a.on_event(&key(KeyCode::Down));
    }
    a.on_event(&key(KeyCode::Enter));
    assert_eq!(a.ui.events, None, "Enter closes the pane");
    // On the map when the endpoint is a node; else its first socket in the list.
    let on_map = a.ui.pane == Pane::Map && a.ui.map_selected == MapNode::Endpoint(endpoint);
    let in_list = a.ui.pane == Pane::List && a.ui.list_selected.and_then(|k| a.snapshot.socket(k)).is_some_and(|x| x.raw.remote.ip() == endpoint.ip);
    let nowhere = !a.snapshot.sockets.iter().any(|x| x.raw.remote.ip() == endpoint.ip);
    assert!(on_map || in_list || nowhere, "jumped to {endpoint:?}: pane {:?}, map {:?}, list {:?}", a.ui.pane, a.ui.map_selected, a.ui.list_selected);
    // A process event selects the process node.
    a.on_event(&key(KeyCode::Char('e')));
    let rows = views::events::rows(&a.snapshot);
    let target = rows.iter().position(|f| matches!(f.subject(), Subject::Process { .. })).expect("a process event");
    let Subject::Process { pid } = rows[target].subject() else { unreachable!() };
    for _ in 0..target {
        a.on_event(&key(KeyCode::Down));
    }
    a.on_event(&key(KeyCode::Enter));
    let on_map = a.ui.pane == Pane::Map && a.ui.map_selected == MapNode::Process(pid);
    let in_list = a.ui.pane == Pane::List && a.ui.list_selected.and_then(|k| a.snapshot.socket(k)).is_some_and(|x| x.raw.owners.contains(&pid));
    assert!(on_map || in_list, "jumped to {pid}: pane {:?}, map {:?}", a.ui.pane, a.ui.map_selected);
    // Esc closes without moving.
    let before = (a.ui.pane, a.ui.map_selected.clone(), a.ui.list_selected);
    a.on_event(&key(KeyCode::Char('e')));
    a.on_event(&key(KeyCode::Esc));
    assert_eq!(a.ui.events, None);
    assert_eq!((a.ui.pane, a.ui.map_selected.clone(), a.ui.list_selected), before);
}

#[tokio::test]
async fn the_container_tree_groups_processes_under_their_container_and_the_filter_finds_them() {
    // Put the demo's nginx into a Docker container and its shell into a unit.
    let mut s = (*demo()).clone();
    let nginx = s.processes.values().find(|p| p.facts.name == "nginx").map(|p| p.facts.pid()).expect("nginx in the demo");
    let container = necromap::model::Container {
        runtime: necromap::model::Runtime::Docker,
        id: "3f2a9c1b7d4e".into(),
        full_id: "3f2a9c1b7d4e".repeat(5) + "0a1b",
        name: Some("web".into()),
        ..Default::default()
    };
    if let Some(p) = s.processes.get_mut(&nginx) {
        p.facts.workload.container = Some(container);
    }
    let s = Arc::new(s);
    let a = App::new(Arc::new(Spec::embedded()), s.clone(), status(), Options::default(), (120, 40));
    let (a, t) = script(a, vec![key(KeyCode::Char('t')), key(KeyCode::Char('t')), key(KeyCode::Char('t')), key(KeyCode::Right)]).await;
    assert_eq!(a.ui.map_mode, MapMode::TreeByContainer);
    let text = t.backend().to_string();
    assert!(text.contains("container → process → socket"), "{text}");
    assert!(text.contains("web · 1 processes"), "the container, named from the runtime: {text}");
    assert!(text.contains("host · "), "processes in no container: {text}");
    // Close host, open the container: its process is listed under it.
    let (_, t) = script(a, vec![key(KeyCode::Home), key(KeyCode::Left), key(KeyCode::Down), key(KeyCode::Right)]).await;
    let text = t.backend().to_string();
    let web = text.lines().position(|l| l.contains("web · 1 processes")).expect("container row");
    assert!(text.lines().nth(web + 1).is_some_and(|l| l.contains(&format!("nginx ({nginx})"))), "{text}");
    // The list filter: container:web keeps only nginx's sockets.
    let a = App::new(Arc::new(Spec::embedded()), s.clone(), status(), Options::default(), (120, 40));
    let mut events = vec![key(KeyCode::Char('/'))];
    events.extend(typed("container:web"));
    events.push(key(KeyCode::Enter));
    let (a, _) = script(a, events).await;
    let owners: BTreeSet<Option<Pid>> = a.derived.rows.iter().map(|&i| s.sockets[i as usize].owner()).collect();
    assert_eq!(owners, BTreeSet::from([Some(nginx)]), "only nginx's sockets");
}

#[test]
fn a_failing_store_is_named_in_the_banner_at_80_columns() {
    use necromap::model::{HealthMessage, HealthTopic};
    let mut a = app((80, 24), false);
    assert!(!draw(&a).backend().to_string().contains("STORE"), "no flag while the store is well");
    let mut s = (*a.snapshot).clone();
    s.health.messages.push(HealthMessage::error("event store failing for 12 s: disk full; 300 rows wait for a retry, 0 dropped").about(HealthTopic::Store));
    a.snapshot = Arc::new(s);
    let text = draw(&a).backend().to_string();
    let banner = text.lines().next().unwrap_or_default();
    assert!(banner.contains("⚠ STORE FAILING"), "{banner}");
}

#[test]
fn c1_del_and_bidi_controls_never_reach_the_screen_raw() {
    let mut a = app((120, 40), false);
    let mut s = (*a.snapshot).clone();
    for p in s.processes.values_mut() {
        p.facts.name = "evil\u{9b}31m\u{202e}fdp".into();
        p.facts.cmdline = "nc \u{85}\u{7f}\u{2066} -e /bin/sh".into();
    }
    a.snapshot = Arc::new(s);
    let text = draw(&a).backend().to_string();
    let raw = |c: char| matches!(c, '\u{7f}' | '\u{80}'..='\u{9f}' | '\u{61c}' | '\u{200e}' | '\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}');
    assert!(text.contains("evil"), "the hostile name is on screen");
    assert!(!text.chars().any(raw), "{text}");
}

/// The demo with names for two endpoints, as passive DNS and PTR give them
/// on a live host: the reverse shell's peer (asked for by the shell) and
/// one HTTPS server.
fn named_demo() -> Arc<Snapshot> {
    let mut s = (*demo()).clone();
    let mut name = |ip: &str, names: &[&str], source: necromap::model::NameSource, asked_by: Option<u32>| {
        let e = s.endpoints.get_mut(&EndpointKey::host(ip.parse().expect("ip"))).expect("endpoint in the demo");
        e.names = names.iter().map(ToString::to_string).collect();
        e.hostname = e.names.first().cloned();
        e.name_source = Some(source);
        e.asked_by = asked_by;
    };
    name("203.0.113.200", &["c2.evil.test", "old.evil.test"], necromap::model::NameSource::DnsAnswer, Some(3401));
    name("203.0.113.41", &["api.github.com", "github.com"], necromap::model::NameSource::Ptr, None);
    Arc::new(s)
}

fn named_app(size: (u16, u16)) -> App {
    App::new(Arc::new(Spec::embedded()), named_demo(), status(), Options::default(), size)
}

#[test]
fn a_named_endpoint_shows_its_name_in_the_list_the_map_and_the_inspector() {
    // 120×40: the list's remote column and the map label use the name.
    let mut a = named_app((120, 40));
    let text = draw(&a).backend().to_string();
    let list_row = text.lines().find(|l| l.contains("bash (3401)") && l.contains("tcp")).expect("the shell's row");
    assert!(list_row.contains("c2.evil.test:4444"), "name:port in the list: {text}");
    assert!(!list_row.contains("203.0.113.200"), "the name replaces the address in the list: {list_row}");
    assert!(text.contains("☠ c2.evil.test:4444"), "the map labels the endpoint by name: {text}");
    assert!(text.contains("● api.github.com:443"), "{text}");
    // (At 120×40 the busy map may keep only its icon; at 200×60 every label fits.)
    let wide = draw(&named_app((200, 60))).backend().to_string();
    assert!(wide.contains("● 203.0.113.66:50050"), "unnamed endpoints keep their address: {wide}");
    // The inspector keeps the address, with every name and its source.
    a.apply(Action::NextPane);
    let text = draw(&a).backend().to_string();
    assert!(text.contains("remote   203.0.113.200:4444"), "{text}");
    assert!(text.contains("names    c2.evil.test, old.evil.test"), "{text}");
    assert!(text.contains("(dns-answer, asked by pid 3401)"), "{text}");
    // 80×24: no room for the remote column; the focused map and the inspector name it.
    let mut a = named_app((80, 24));
    a.set_filter("pid:3401");
    a.ui.pane = Pane::List;
    a.apply(Action::Down);
    a.apply(Action::FocusProcess);
    a.set_filter("");
    let text = draw(&a).backend().to_string();
    let map_line = text.lines().find(|l| l.contains('☠')).expect("the shell's peer on the map");
    assert!(map_line.contains("☠ c2.evi…:4444"), "the map at 80×24 labels it by name, cut to fit with the port whole: {text}");
    // The list has the whole width at 80 columns: the remote is named there;
    // the inspector leads with the evidence and has the address further down.
    let mut a = named_app((80, 24));
    a.apply(Action::NextPane);
    let text = draw(&a).backend().to_string();
    assert!(text.contains("c2.evil.test:4444"), "{text}");
    assert!(text.contains("▲ CRITICAL"), "{text}");
    a.apply(Action::NextPane);
    let mut seen = String::new();
    for _ in 0..40 {
        seen.push_str(&draw(&a).backend().to_string());
        a.apply(Action::Down);
    }
    assert!(seen.contains("remote   203.0.113.200:4444"), "{seen}");
    assert!(seen.contains("names    c2.evil.test"), "{seen}");
}

#[test]
fn host_and_service_port_filters_select_the_right_rows() {
    let s = named_demo();
    let rows_for = |filter: &str| {
        let mut a = named_app((120, 40));
        a.set_filter(filter);
        assert!(a.ui.filter_error.is_none(), "{filter}: {:?}", a.ui.filter_error);
        a.derived.rows.iter().map(|&r| s.sockets[r as usize].raw.remote.ip().to_string()).collect::<BTreeSet<_>>()
    };
    assert_eq!(rows_for("host:EVIL"), BTreeSet::from(["203.0.113.200".to_string()]), "case-insensitive, any name");
    assert_eq!(rows_for("host:old.evil"), BTreeSet::from(["203.0.113.200".to_string()]), "older names match too");
    assert_eq!(rows_for("host:github"), BTreeSet::from(["203.0.113.41".to_string()]));
    assert_eq!(rows_for("host:203.0.113.41"), BTreeSet::from(["203.0.113.41".to_string()]), "the address matches too");
    assert!(rows_for("host:nowhere.test").is_empty());
    let https = rows_for("port:https");
    assert!(https.contains("203.0.113.41"), "{https:?}");
    assert_eq!(https, rows_for("port:443"), "a service name is its port");
    assert_eq!(rows_for("rport:https state:established"), rows_for("rport:443 state:established"));
    let mut a = named_app((120, 40));
    a.set_filter("port:nosuchservice");
    let e = a.ui.filter_error.clone().expect("an unknown service is an error");
    assert!(e.contains("`nosuchservice` is neither"), "{e}");
}

#[test]
fn hostile_names_are_escaped_and_bounded_on_screen() {
    let mut s = (*named_demo()).clone();
    let e = s.endpoints.get_mut(&EndpointKey::host("203.0.113.200".parse().expect("ip"))).expect("endpoint");
    let evil = format!("x\u{1b}]0;pwn\u{7}\u{202e}{}.test", "a".repeat(200));
    e.names = vec![evil.clone()];
    e.hostname = Some(evil);
    let mut a = App::new(Arc::new(Spec::embedded()), Arc::new(s), status(), Options::default(), (120, 40));
    for pane in [false, true] {
        if pane {
            a.apply(Action::NextPane);
        }
        let text = draw(&a).backend().to_string();
        assert!(!text.chars().any(|c| c == '\u{1b}' || c == '\u{7}' || c == '\u{202e}'), "{text}");
        assert!(text.contains("x\\x1b]0;pwn"), "shown escaped: {text}");
        assert!(!text.contains(&"a".repeat(100)), "bounded: {text}");
    }
}

/// Every frame of a scenario, built in order by one builder (as the live
/// collector would hand them to the explorer).
fn frames_of(scenario: &str) -> Vec<Arc<Snapshot>> {
    use necromap::collect::Source;
    let spec = Arc::new(Spec::embedded());
    let mut src = ReplaySource::from_text(scenario, "scenario").expect("scenario");
    let info = src.info();
    let mut builder = necromap::model::SnapshotBuilder::new(spec);
    let mut out = Vec::new();
    while let Ok(obs) = src.collect() {
        let mut s = builder.build(obs, info.clone(), None);
        s.timings = necromap::model::StageTimings::default();
        out.push(Arc::new(s));
    }
    out
}

/// A small host over two refreshes: 198.51.100.7 goes away, 192.0.2.50
/// arrives, everything else stays.
const TWO_REFRESHES: &str = r#"
host: crypt-02
interval_ms: 2000
frames: 2
processes:
  - { pid: 610, ppid: 1, name: sshd, exe: /usr/sbin/sshd, uid: 0, started_s: -86400 }
  - { pid: 812, ppid: 1, name: nginx, exe: /usr/sbin/nginx, uid: 33, started_s: -86400 }
  - { pid: 900, ppid: 1, name: firefox, exe: /usr/bin/firefox, uid: 1000, started_s: -600 }
sockets:
  - { pid: 610, local: "0.0.0.0:22", state: LISTEN }
  - { pid: 610, local: "[::]:22", state: LISTEN }
  - { pid: 812, local: "0.0.0.0:443", state: LISTEN }
  - { pid: 610, local: "10.0.0.5:22", remote: "10.0.0.14:50522", state: ESTABLISHED }
  - { pid: 812, local: "10.0.0.5:443", remote: "203.0.113.9:40000", state: ESTABLISHED }
  - { pid: 900, local: "10.0.0.5:50001", remote: "198.51.100.7:443", state: ESTABLISHED, until_s: 1 }
  - { pid: 900, local: "10.0.0.5:50002", remote: "198.51.100.23:443", state: ESTABLISHED }
  - { pid: 900, local: "10.0.0.5:50003", remote: "203.0.113.41:443", state: ESTABLISHED }
  - { pid: 900, local: "10.0.0.5:50004", remote: "192.0.2.50:443", state: ESTABLISHED, from_s: 1 }
  - { pid: 900, local: "10.0.0.5:50005", remote: "10.0.0.20:9200", state: ESTABLISHED }
"#;

/// What the screen shows from column `x` of row `y` on.
fn screen_from(text: &str, x: u16, y: u16) -> String {
    let line = text.lines().nth(usize::from(y)).unwrap_or_default().trim_matches('"');
    let mut w = 0;
    let mut out = String::new();
    for c in line.chars() {
        if w >= usize::from(x) {
            out.push(c);
        }
        w += unicode_width::UnicodeWidthChar::width(c).unwrap_or(0);
    }
    out
}

/// The map's nodes with their label and its cell, each checked on screen.
fn map_labels(a: &App) -> std::collections::BTreeMap<MapNode, (String, u16, u16)> {
    let placed = views::graph::place(a, views::graph::inner(a.areas().map));
    let text = draw(a).backend().to_string();
    placed
        .nodes
        .iter()
        .map(|n| {
            // Wide icons leave a hidden cell in the Display form: compare
            // from the label's second character on.
            let tail: String = n.text.chars().skip(1).collect();
            let shown = screen_from(&text, n.label_x + 1, n.label_y);
            assert!(shown.trim_start().starts_with(tail.trim_start()), "`{}` drawn at ({}, {}): `{shown}`\n{text}", n.text, n.label_x, n.label_y);
            (n.node.clone(), (n.text.clone(), n.label_x, n.label_y))
        })
        .collect()
}

#[test]
fn nodes_present_in_both_refreshes_stay_where_they_were() {
    let frames = frames_of(TWO_REFRESHES);
    assert_eq!(frames.len(), 2);
    let ep = |ip: &str| MapNode::Endpoint(EndpointKey::host(ip.parse().expect("ip")));
    for size in [(120, 40), (80, 24)] {
        let mut a = App::new(Arc::new(Spec::embedded()), frames[0].clone(), status(), Options::default(), size);
        let before = map_labels(&a);
        a.set_snapshot(frames[1].clone());
        let after = map_labels(&a);
        assert!(before.contains_key(&ep("198.51.100.7")) && !after.contains_key(&ep("198.51.100.7")), "{size:?}: one endpoint left: {before:?} → {after:?}");
        assert!(!before.contains_key(&ep("192.0.2.50")) && after.contains_key(&ep("192.0.2.50")), "{size:?}: one endpoint arrived: {before:?} → {after:?}");
        let kept: Vec<_> = before.keys().filter(|k| after.contains_key(*k)).collect();
        assert!(kept.len() >= 7, "{size:?}: {kept:?}");
        for k in kept {
            assert_eq!(before[k], after[k], "{size:?}: {k:?} moved");
        }
    }
}

#[test]
fn the_demo_replay_keeps_every_node_in_place() {
    // All 60 refreshes of the demo, one after another, at two sizes: a
    // node on the map in two successive refreshes has the same cell, and
    // its label the same cell unless its text changed width.
    let frames = frames_of(necromap::DEMO_SCENARIO);
    for size in [(120, 40), (80, 24)] {
        let mut a = App::new(Arc::new(Spec::embedded()), frames[0].clone(), status(), Options::default(), size);
        let inner = views::graph::inner(a.areas().map);
        let mut prev = views::graph::place(&a, inner);
        let (mut compared, mut kept_labels) = (0, 0);
        for f in &frames[1..] {
            a.set_snapshot(f.clone());
            let now = views::graph::place(&a, inner);
            for n in &now.nodes {
                let Some(p) = prev.nodes.iter().find(|p| p.node == n.node) else { continue };
                compared += 1;
                assert_eq!((p.x, p.y), (n.x, n.y), "{size:?} gen {}: {:?} moved", f.generation, n.node);
                if p.label_width == n.label_width {
                    assert_eq!((p.label_x, p.label_y), (n.label_x, n.label_y), "{size:?} gen {}: label `{}` moved", f.generation, n.text);
                    kept_labels += 1;
                }
            }
            prev = now;
        }
        assert!(compared > 200, "{size:?}: compared {compared}");
        eprintln!("{size:?}: {compared} node pairs compared, {kept_labels} labels of unchanged width all kept their cell");
        assert!(a.map_memory.len() <= necromap::tui::placement::MAX_SLOTS);
    }
}

#[test]
fn the_two_ssh_listeners_are_told_apart() {
    // 0.0.0.0:22 and [::]:22: `:22` and `:22 v6`.
    let a = app((120, 40), false);
    let placed = views::graph::place(&a, views::graph::inner(a.areas().map));
    let ssh: Vec<&str> = placed.nodes.iter().filter(|n| matches!(&n.node, MapNode::Listener(l) if l.port == 22)).map(|n| n.text.as_str()).collect();
    assert_eq!(ssh.len(), 2, "{ssh:?}");
    assert_ne!(ssh[0], ssh[1], "two listeners on port 22 read differently");
    let text = draw(&a).backend().to_string();
    assert!(text.contains("⚰ :22 v6"), "{text}");
    assert!(text.contains("⚰ :22 "), "{text}");
}

#[test]
fn a_cut_group_label_still_reads_as_a_group() {
    use necromap::model::{GroupZone, SocketState};
    use necromap::tui::derived::MapEntry;
    let group = MapEntry {
        node: MapNode::Group("203.0.113.0/24".into()),
        zone: Some(GroupZone::Public),
        label: "203.0.113.0/24".into(),
        members: 5,
        sockets: 9,
        state: SocketState::Established,
        mark: None,
    };
    let t = |max| views::graph::label_text("☠", &group, max);
    assert_eq!(t(40), "☠ 203.0.113.0/24 (5) ×9");
    assert_eq!(t(21), "☠ 203.0.113.0/24 (5)");
    assert_eq!(t(16), "☠ 203.0.113.0/24");
    assert_eq!(t(14), "☠ 203.0.11…/24");
    assert_eq!(t(8), "☠ 20…/24");
    // On the demo at 80×24 the public group is cut and keeps its prefix.
    let a = app((80, 24), false);
    let placed = views::graph::place(&a, views::graph::inner(a.areas().map));
    let groups: Vec<&str> = placed.nodes.iter().filter(|n| matches!(&n.node, MapNode::Group(g) if g.contains('/'))).map(|n| n.text.as_str()).collect();
    assert!(!groups.is_empty());
    for g in &groups {
        assert!(g.contains("/24") || g.contains("/64") || g.chars().count() <= 2, "a group keeps its prefix length: `{g}` in {groups:?}");
    }
    let text = draw(&a).backend().to_string();
    assert!(text.contains("…/24"), "a cut group on screen: {text}");
    assert!(!text.contains("203.0.113.0…"), "{text}");
}

fn ctrl(c: char) -> Event {
    Event::Key(KeyEvent::new(KeyCode::Char(c), KeyModifiers::CONTROL))
}

#[tokio::test]
async fn a_filter_selects_its_first_match_and_scrolls_it_into_view() {
    for filter in ["sev>=high", "sev>=medium"] {
        // In the list, at its last row (scrolled down), then the filter.
        let mut events = vec![key(KeyCode::Tab), key(KeyCode::End), key(KeyCode::Char('/'))];
        events.extend(typed(filter));
        events.push(key(KeyCode::Enter));
        let (a, t) = script(app((120, 40), false), events).await;
        assert_eq!(a.ui.filter_text, filter);
        assert!(!a.derived.rows.is_empty());
        let row = a.selected_row().expect("a selection");
        assert_eq!((row, a.ui.list_offset), (0, 0), "{filter}: the first match, at the top of the list");
        let socket = a.derived.rows[row] as usize;
        assert_eq!(a.snapshot.index.socket(socket).map(|f| f.severity), Some(Severity::Critical), "{filter}");
        assert_eq!(a.snapshot.sockets[socket].owner(), Some(Pid(3401)), "{filter}: the reverse shell");
        let text = t.backend().to_string();
        assert!(text.contains("3401"), "{filter}: the critical row is on screen:\n{text}");
        if filter == "sev>=medium" {
            assert!(a.derived.rows.len() > 2, "several matches: {}", a.derived.rows.len());
        }
    }
}

#[tokio::test]
async fn the_prompt_edits_with_readline_keys_and_recalls_the_history() {
    let mut events = vec![key(KeyCode::Char('/'))];
    events.extend(typed("proc:sshd state:listen"));
    // Ctrl-W drops `state:listen`, Ctrl-A then `!` negates the first term.
    events.extend([ctrl('w'), ctrl('a'), key(KeyCode::Char('!')), ctrl('e'), key(KeyCode::Backspace)]);
    events.push(key(KeyCode::Enter));
    let (a, _) = script(app((120, 40), false), events).await;
    assert_eq!(a.ui.filter_text, "!proc:sshd", "ctrl-w, ctrl-a, ctrl-e and backspace edit; they never type letters");
    assert!(a.ui.filter_error.is_none(), "{:?}", a.ui.filter_error);

    // Ctrl-U clears, ↑ brings back the last filter, ← and Delete edit in it.
    let mut events = vec![key(KeyCode::Char('/'))];
    events.extend(typed("sev:crit"));
    events.push(key(KeyCode::Enter));
    events.extend([key(KeyCode::Char('/')), ctrl('u')]);
    events.extend(typed("10.0.0.5"));
    events.extend([key(KeyCode::Up), key(KeyCode::Home), key(KeyCode::Delete), key(KeyCode::Delete), key(KeyCode::Delete)]);
    events.extend(typed("sev"));
    let (a, t) = script(app((120, 40), false), events).await;
    assert_eq!(a.ui.filter_text, "sev:crit");
    let prompt = a.ui.input.as_ref().expect("the prompt is open");
    assert_eq!((prompt.text(), prompt.cursor()), ("sev:crit", 3));
    // The cursor is drawn: the cell after `/ sev` is reversed.
    let buf = t.backend().buffer();
    let y = a.size.1 - 1;
    let line: String = (0..a.size.0).map(|x| buf[(x, y)].symbol().to_string()).collect();
    assert!(line.starts_with("/ sev:crit Enter applies"), "{line}");
    assert!(buf[(5, y)].modifier.contains(ratatui::style::Modifier::REVERSED), "the cursor on `:`");
    assert!(!buf[(4, y)].modifier.contains(ratatui::style::Modifier::REVERSED));
}

#[test]
fn an_ip_filter_finds_the_sockets_of_an_address_on_either_side() {
    let mut a = app((120, 40), false);
    // The reverse shell's remote, 203.0.113.0/24 in the demo.
    let shell = a.snapshot.sockets.iter().find(|s| s.owner() == Some(Pid(3401)) && !s.raw.remote.ip().is_unspecified()).expect("the shell's socket");
    let (remote, endpoint) = (shell.raw.remote.ip(), shell.raw.remote);
    let net = format!("ip:{}/24", remote.to_string().rsplit_once('.').map_or("", |(n, _)| n).to_string() + ".0");
    a.set_filter(&net);
    let in_net = a.derived.rows.clone();
    for filter in [format!("ip:{remote}"), format!("{remote}"), format!("addr:{remote}"), endpoint.to_string()] {
        a.set_filter(&filter);
        assert!(a.ui.filter_error.is_none(), "{filter}: {:?}", a.ui.filter_error);
        assert!(!a.derived.rows.is_empty(), "{filter}");
        assert!(
            a.derived.rows.iter().all(|&r| {
                let s = &a.snapshot.sockets[r as usize];
                s.raw.remote.ip() == remote || s.raw.local.ip() == remote
            }),
            "{filter}"
        );
        assert!(a.derived.rows.iter().all(|r| in_net.contains(r)), "{filter} within {net}");
    }
    a.set_filter("2001:db8");
    assert!(a.ui.filter_error.is_none(), "a partial IPv6 address is a network: {:?}", a.ui.filter_error);
    a.set_filter("sev:severe");
    let e = a.ui.filter_error.clone().expect("an error");
    assert!(e.contains("info, low, med (medium), high or crit (critical)"), "{e}");
}

fn mouse(kind: MouseEventKind, x: u16, y: u16) -> Event {
    Event::Mouse(MouseEvent { kind, column: x, row: y, modifiers: KeyModifiers::NONE })
}

/// The rows of a rendered frame that fall inside `area`, as plain text.
fn area_text(t: &Terminal<TestBackend>, area: ratatui::layout::Rect) -> String {
    let buf = t.backend().buffer();
    let mut out = String::new();
    for y in area.y..area.y + area.height {
        for x in area.x..area.x + area.width {
            out.push_str(buf[(x, y)].symbol());
        }
        out.push('\n');
    }
    out
}

#[tokio::test]
async fn tab_focuses_the_detail_and_keys_and_the_wheel_scroll_it() {
    for size in [(80, 24), (120, 40)] {
        let (a, t) = script(app(size, false), vec![key(KeyCode::Tab), key(KeyCode::Tab)]).await;
        assert_eq!((a.ui.pane, a.ui.detail_focus), (Pane::List, true), "map → list → detail");
        assert_eq!(a.ui.detail_scroll, 0);
        let detail = area_text(&t, a.areas().detail);
        assert!(detail.contains("↓ 1-"), "a scroll indicator: {detail}");
        let (a, t) = script(a, vec![key(KeyCode::Down), key(KeyCode::Char('j')), key(KeyCode::Down)]).await;
        assert_eq!(a.ui.detail_scroll, 3, "{size:?}");
        assert_eq!(a.selected_row(), Some(0), "the list selection stays");
        let detail = area_text(&t, a.areas().detail);
        assert!(detail.contains("↑↓ 4-"), "{detail}");
        insta::assert_snapshot!(format!("detail_scrolled_{}x{}", size.0, size.1), t.backend());
        let (a, t) = script(a, vec![key(KeyCode::End)]).await;
        let max = views::detail::max_scroll(&a, a.areas().detail);
        assert_eq!(a.ui.detail_scroll, max);
        assert!(area_text(&t, a.areas().detail).contains("↑ "), "at the bottom only up is left");
        let (a, _) = script(a, vec![key(KeyCode::PageUp), key(KeyCode::Home)]).await;
        assert_eq!(a.ui.detail_scroll, 0);
        // The wheel over the detail scrolls it, whatever has the focus.
        let d = a.areas().detail;
        let (a, _) = script(a, vec![key(KeyCode::Tab), mouse(MouseEventKind::ScrollDown, d.x + 2, d.y + 2)]).await;
        assert_eq!((a.ui.pane, a.ui.detail_focus), (Pane::Map, false));
        assert_eq!(a.ui.detail_scroll, 3.min(views::detail::max_scroll(&a, d)));
        let (a, _) = script(a, vec![mouse(MouseEventKind::ScrollUp, d.x + 2, d.y + 2)]).await;
        assert_eq!(a.ui.detail_scroll, 0);
        // `d` focuses the detail of the map's selection; again leaves it.
        let (a, _) = script(a, vec![key(KeyCode::Char('d'))]).await;
        assert!(a.ui.detail_focus && a.ui.pane == Pane::Map);
        let (a, _) = script(a, vec![key(KeyCode::Char('d'))]).await;
        assert!(!a.ui.detail_focus);
    }
}

#[tokio::test]
async fn a_new_selection_shows_its_detail_from_the_top() {
    let (a, _) = script(app((80, 24), false), vec![key(KeyCode::Tab), key(KeyCode::Tab), key(KeyCode::Down), key(KeyCode::Down)]).await;
    assert_eq!(a.ui.detail_scroll, 2);
    // Leave the detail, next row: the detail starts at its top again.
    let (a, _) = script(a, vec![key(KeyCode::Char('d')), key(KeyCode::Down)]).await;
    assert_eq!((a.ui.pane, a.ui.detail_focus, a.selected_row()), (Pane::List, false, Some(1)));
    assert_eq!(a.ui.detail_scroll, 0);
}

#[tokio::test]
async fn the_evidence_comes_first_at_80x24_and_120x40() {
    for size in [(80, 24), (120, 40)] {
        // The reverse shell's socket, selected in the list.
        let (a, t) = script(app(size, false), vec![key(KeyCode::Tab)]).await;
        let detail = area_text(&t, a.areas().detail);
        let crit = detail.find("▲ CRITICAL").unwrap_or_else(|| panic!("{size:?}: severity on screen: {detail}"));
        assert!(detail.contains("Reverse shell"), "{size:?}: rule name: {detail}");
        assert!(detail.contains("stdio_is_socket"), "{size:?}: trace: {detail}");
        assert!(detail.find("state    ESTABLISHED").is_none_or(|i| i > crit), "{size:?}: evidence before the facts: {detail}");
        insta::assert_snapshot!(format!("evidence_first_socket_{}x{}", size.0, size.1), t.backend());
        // The process itself, focused from the list.
        let (a, t) = script(a, vec![key(KeyCode::Char('p')), key(KeyCode::Tab), key(KeyCode::Tab)]).await;
        assert_eq!(a.ui.focus, Some(Pid(3401)));
        assert_eq!(views::detail::target(&a), views::detail::Target::Process(Pid(3401)));
        let detail = area_text(&t, a.areas().detail);
        assert!(detail.contains("▲ CRITICAL") && detail.contains("stdio_is_socket"), "{size:?}: {detail}");
        assert!(detail.find("process  bash").is_none_or(|i| Some(i) > detail.find("▲ CRITICAL")), "{size:?}: {detail}");
        insta::assert_snapshot!(format!("evidence_first_process_{}x{}", size.0, size.1), t.backend());
    }
}

#[test]
fn the_list_keeps_process_remote_state_and_severity_from_80_columns() {
    for size in [(80, 24), (120, 40), (200, 60)] {
        let mut a = app(size, false);
        a.set_filter("proc:kworkerd");
        let t = draw(&a);
        let list = area_text(&t, a.areas().list);
        for title in ["process", "remote", "state", "sev"] {
            assert!(list.contains(title), "{size:?}: `{title}` column: {list}");
        }
        assert!(list.contains("kworkerd (3317)"), "{size:?}: the whole pid: {list}");
        // The sort column is always shown, even one of the least useful.
        for _ in 0..8 {
            a.apply(Action::NextSort);
            let list = area_text(&draw(&a), a.areas().list);
            let header = list.lines().nth(1).unwrap_or_default().to_string();
            let title = a.ui.sort.column.title();
            assert!(header.contains(&format!("{title}▼")), "{size:?}: sorted by {title}: {header}");
            assert!(header.contains("process") && header.contains("remote"), "{size:?}: {header}");
        }
    }
    // Extra columns come with width.
    let wide = area_text(&draw(&app((120, 40), false)), app((120, 40), false).areas().list);
    assert!(wide.contains("local") && wide.contains("age") && wide.contains("↑/s"), "{wide}");
}

/// The status line (the last row) of a frame.
fn status_line(t: &Terminal<TestBackend>) -> String {
    let buf = t.backend().buffer();
    let y = buf.area.height - 1;
    (0..buf.area.width).map(|x| buf[(x, y)].symbol().to_string()).collect()
}

#[tokio::test]
async fn g_and_shift_g_go_to_the_top_and_bottom_and_ctrl_d_u_move_half_a_page() {
    let (a, _) = script(app((80, 24), false), vec![key(KeyCode::Tab), key(KeyCode::Char('G'))]).await;
    assert_eq!(a.selected_row(), Some(a.derived.rows.len() - 1), "G: last row");
    let (a, _) = script(a, vec![key(KeyCode::Char('g'))]).await;
    assert_eq!(a.selected_row(), Some(0), "g: first row");
    let page = usize::from(a.areas().list.height - 3);
    let (a, _) = script(a, vec![ctrl('d')]).await;
    assert_eq!(a.selected_row(), Some(page / 2), "Ctrl-D: half a page down");
    let (a, _) = script(a, vec![ctrl('d'), ctrl('u')]).await;
    assert_eq!(a.selected_row(), Some(page / 2));
    let (a, _) = script(a, vec![ctrl('u')]).await;
    assert_eq!(a.selected_row(), Some(0));
    // In a focused detail they scroll it.
    let (a, _) = script(a, vec![key(KeyCode::Tab), key(KeyCode::Char('G'))]).await;
    assert!(a.ui.detail_focus);
    assert_eq!(a.ui.detail_scroll, views::detail::max_scroll(&a, a.areas().detail));
    let (a, _) = script(a, vec![key(KeyCode::Char('g'))]).await;
    assert_eq!(a.ui.detail_scroll, 0);
    let (a, _) = script(a, vec![ctrl('d')]).await;
    assert_eq!(a.ui.detail_scroll, (usize::from(a.areas().detail.height - 2) / 2).min(views::detail::max_scroll(&a, a.areas().detail)));
    assert_eq!(a.selected_row(), Some(0), "the list did not move");
}

#[tokio::test]
async fn every_toggle_says_what_it_did_in_the_status_line() {
    let cases: [(char, &str); 7] = [
        ('w', "glow off"),
        ('a', "animations on"),
        (' ', "frozen"),
        ('s', "sort by process ▼"),
        ('S', "sort by sev ▲"),
        ('v', "view suspicious_only"),
        ('t', "map: tree by process"),
    ];
    for (c, says) in cases {
        let (a, t) = script(app((120, 40), false), vec![key(KeyCode::Char(c))]).await;
        let line = status_line(&t);
        assert!(line.starts_with(says), "`{c}` says `{says}`: {line}");
        assert!(a.ui.notice.is_some());
        // The next key clears it.
        let (a, t) = script(a, vec![key(KeyCode::Char('j'))]).await;
        assert!(a.ui.notice.is_none(), "{c}");
        assert!(status_line(&t).starts_with("q quit"), "{}", status_line(&t));
    }
    let (a, t) = script(app((120, 40), false), vec![key(KeyCode::Char('w')), key(KeyCode::Char('w'))]).await;
    assert!(a.theme.glow && status_line(&t).starts_with("glow on"));
    // `e` is in the hints.
    assert!(status_line(&draw(&app((120, 40), false))).contains("e events"));
}

#[tokio::test]
async fn n_selects_the_next_finding_worst_first() {
    let (a, t) = script(app((80, 24), false), vec![key(KeyCode::Char('n'))]).await;
    assert_eq!(a.ui.pane, Pane::List);
    let sock = |a: &App| a.ui.list_selected.and_then(|k| a.snapshot.socket(k)).cloned().expect("a socket");
    assert_eq!(sock(&a).owner(), Some(Pid(3401)), "the critical first");
    let line = status_line(&t);
    assert!(line.contains("CRITICAL · bash (3401)"), "{line}");
    let first = a.ui.list_selected;
    let (a, t) = script(a, vec![key(KeyCode::Char('n'))]).await;
    assert_ne!(a.ui.list_selected, first);
    assert!(status_line(&t).starts_with("finding 2/"), "{}", status_line(&t));
    let marks = |a: &App| necromap::tui::derived::mark_at(&a.snapshot, a.derived.rows[a.selected_row().expect("row")]).expect("a finding").severity;
    let second = marks(&a);
    assert!(second <= Severity::Critical);
    // Round the whole list and back to the first.
    let total = a.derived.rows.iter().filter(|&&r| necromap::tui::derived::mark_at(&a.snapshot, r).is_some_and(|m| m.severity > Severity::Info)).count();
    let mut a = a;
    let mut last = Severity::Critical;
    for _ in 2..total {
        a.on_event(&key(KeyCode::Char('n')));
        assert!(marks(&a) <= last, "worst first");
        last = marks(&a);
    }
    a.on_event(&key(KeyCode::Char('n')));
    assert_eq!(a.ui.list_selected, first, "after the last, the first again");
}

#[tokio::test]
async fn esc_steps_back_one_level_and_asks_before_quitting() {
    // Help, then the detail focus, then a focused process, then a filter.
    let mut a = app((120, 40), false);
    a.set_filter("pid:3401");
    let (a, _) = script(a, vec![key(KeyCode::Tab), key(KeyCode::Char('p')), key(KeyCode::Tab), key(KeyCode::Char('?'))]).await;
    assert!(a.ui.help && a.ui.detail_focus && a.ui.focus == Some(Pid(3401)));
    let (a, _) = script(a, vec![key(KeyCode::Esc)]).await;
    assert!(!a.ui.help && a.ui.detail_focus);
    let (a, _) = script(a, vec![key(KeyCode::Esc)]).await;
    assert!(!a.ui.detail_focus && a.ui.focus.is_some());
    let (a, t) = script(a, vec![key(KeyCode::Esc)]).await;
    assert_eq!(a.ui.focus, None, "back to the host");
    assert!(status_line(&t).starts_with("map: the host"));
    let (a, t) = script(a, vec![key(KeyCode::Esc)]).await;
    assert!(a.ui.filter_text.is_empty() && status_line(&t).starts_with("filter cleared"));
    // The top: ask, then quit on the second Esc.
    let (a, t) = script(a, vec![key(KeyCode::Esc)]).await;
    assert!(!a.quit);
    assert!(status_line(&t).starts_with("press Esc again or q to quit"), "{}", status_line(&t));
    let (a, _) = script(a, vec![key(KeyCode::Esc)]).await;
    assert!(a.quit);
    // Another key in between cancels the question.
    let (a, _) = script(app((120, 40), false), vec![key(KeyCode::Esc), key(KeyCode::Char('j')), key(KeyCode::Esc)]).await;
    assert!(!a.quit && a.ui.notice.as_ref().is_some_and(|n| n.kind == necromap::tui::state::NoticeKind::ConfirmQuit));
    let (a, _) = script(app((120, 40), false), vec![key(KeyCode::Char('q'))]).await;
    assert!(a.quit, "q quits at once");
}

#[test]
fn a_new_critical_finding_is_announced_with_the_bell() {
    let full = demo();
    let mut quiet = (*full).clone();
    let fewer: Vec<Finding> = quiet.findings.iter().filter(|f| f.severity < Severity::Critical).cloned().collect();
    quiet.set_findings(fewer);
    let mut a = App::new(Arc::new(Spec::embedded()), Arc::new(quiet.clone()), status(), Options::default(), (80, 24));
    assert!(a.ui.notice.is_none() && a.outbox.is_empty(), "nothing is new in the first snapshot");
    let mut next = (*full).clone();
    next.generation = quiet.generation + 1;
    a.set_snapshot(Arc::new(next.clone()));
    let notice = a.ui.notice.clone().expect("a notice");
    assert!(notice.text.starts_with("NEW CRITICAL: Reverse shell: stdio is a socket · bash (3401)"), "{}", notice.text);
    assert_eq!(a.outbox, vec![necromap::tui::outgoing::Outgoing::Bell]);
    let t = draw(&a);
    assert!(status_line(&t).starts_with("NEW CRITICAL"), "{}", status_line(&t));
    insta::assert_snapshot!("keys_notice_new_critical", t.backend());
    // The same findings again: nothing new. Without the bell: the notice only.
    a.outbox.clear();
    next.generation += 1;
    a.set_snapshot(Arc::new(next.clone()));
    assert!(a.outbox.is_empty());
    let mut b = App::new(Arc::new(Spec::embedded()), Arc::new(quiet), status(), Options::default(), (80, 24));
    b.bell = false;
    b.set_snapshot(Arc::new(next));
    assert!(b.ui.notice.is_some() && b.outbox.is_empty());
}

#[tokio::test]
async fn y_copies_the_selected_address_with_osc_52() {
    let mut a = app((80, 24), false);
    a.apply(Action::NextPane);
    let mut t = Terminal::new(TestBackend::new(80, 24)).expect("terminal");
    let (_stx, snapshots) = watch::channel(a.snapshot.clone());
    let (_ttx, status) = watch::channel(a.status.clone());
    let input = futures_util::stream::iter(vec![Ok(key(KeyCode::Char('y')))]);
    let mut out: Vec<u8> = Vec::new();
    necromap::tui::run_app_to(&mut t, &mut a, input, Links { snapshots, status, commands: None }, &mut out).await.expect("loop");
    assert_eq!(out, b"\x1b]52;c;MjAzLjAuMTEzLjIwMDo0NDQ0\x07", "203.0.113.200:4444 in base64");
    assert!(status_line(&t).starts_with("copied 203.0.113.200:4444"), "{}", status_line(&t));
    // A process: its pid.
    a.apply(Action::FocusProcess);
    a.apply(Action::NextPane);
    a.apply(Action::NextPane);
    assert_eq!(a.selected_value().as_deref(), Some("3401"));
}
