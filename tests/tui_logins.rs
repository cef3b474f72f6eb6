//! Logins in the explorer: the demo host with the auth.log fixture's
//! parties (brute force then success from 203.0.113.45, near misses, a
//! hostile user name) moved to the demo's time. The endpoint detail of the
//! attacker shows its counts by kind, the users it tried and the accept
//! that followed its failures; the events pane lists the raw login events
//! beside the findings, escaped. Frames at 120×40 and 80×24.

use std::path::Path;
use std::sync::{Arc, Mutex};

use crossterm::event::KeyCode;
use necromap::intel::tail::StartAt;
use necromap::logins::book::LoginBook;
use necromap::logins::detect::{Context, findings};
use necromap::logins::intake::FileReader;
use necromap::logins::rules::LoginRules;
use necromap::model::{EndpointKey, Snapshot};
use necromap::rules::ioc::IocSet;
use necromap::tui::state::{MapMode, MapNode, Pane};
use necromap::tui::{App, Options};

mod tui_common;
use tui_common::{demo, draw, key, status};

const AUTH_LOG: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/auth/auth.log");
/// 2026-11-01T12:10:00Z: fifteen minutes after the fixture starts.
const FIXTURE_NOW: i64 = 1_793_535_000_000;
const ATTACKER: &str = "203.0.113.45";

/// The demo host with the fixture's logins (shifted to its time) and their findings.
fn with_logins() -> Arc<Snapshot> {
    let mut s = Arc::unwrap_or_clone(demo());
    let read = Mutex::new(LoginBook::default());
    FileReader::new(Path::new(AUTH_LOG), StartAt::Beginning, None).take(&read, FIXTURE_NOW);
    let read = read.lock().expect("book").digest(0, "auth.log", FIXTURE_NOW);
    let shift = s.taken_at_ms - FIXTURE_NOW;
    let mut book = LoginBook::default();
    for p in read.parties.values() {
        for e in &p.events {
            book.add(necromap::model::LoginEvent { at_ms: e.at_ms + shift, ..e.clone() });
        }
    }
    let digest = book.digest(s.generation, "tests/fixtures/auth/auth.log", s.taken_at_ms);
    let found = findings(&digest, &Context { snapshot: &s, ioc: &IocSet::default(), baseline: None, rules: LoginRules::embedded() });
    let mut all = s.findings.clone();
    all.extend(found);
    s.set_findings(all);
    s.logins = Some(Arc::new(digest));
    let spec = necromap::spec::Spec::embedded();
    s.place_parties(necromap::model::graph_build::Crowding::large(&spec));
    Arc::new(s)
}

fn app(size: (u16, u16)) -> App {
    App::new(Arc::new(necromap::spec::Spec::embedded()), with_logins(), status(), Options::default(), size)
}

fn attacker() -> EndpointKey {
    EndpointKey::host(ATTACKER.parse().expect("ip"))
}

#[test]
fn the_endpoint_detail_shows_a_brute_forcing_partys_logins() {
    for (w, h) in [(120, 40), (80, 24)] {
        let mut a = app((w, h));
        a.ui.pane = Pane::Map;
        a.ui.map_mode = MapMode::Graph;
        a.ui.map_selected = MapNode::Endpoint(attacker());
        let (title, lines) = necromap::tui::views::detail::content(&a, 200);
        let text: Vec<String> = lines.iter().map(ToString::to_string).collect();
        let text = text.join("\n");
        assert!(title.contains(ATTACKER), "{title}");
        assert!(text.contains("CRITICAL Login accepted after a burst of failures"), "{text}");
        assert!(text.contains("login 1h failed 12 · invalid 10 · accepted 1 · preauth 10 · too many 4 · pam 2"), "{text}");
        assert!(text.contains("users    admin, oracle, pi, root, test, ubuntu"), "{text}");
        assert!(text.contains("root (password) after 12 failures in 10 min, 12 in the hour"), "{text}");
        // The findings lead; the login facts close the detail: scrolled to its end.
        a.ui.detail_scroll = necromap::tui::views::detail::max_scroll(&a, a.areas().detail);
        let screen = draw(&a).backend().to_string();
        assert!(screen.contains("login 1d failed 12"), "{screen}");
        insta::assert_snapshot!(format!("endpoint_detail_brute_force_{w}x{h}"), draw(&a).backend());
    }
}

#[test]
fn the_events_pane_lists_raw_login_events_escaped_beside_the_findings() {
    for (w, h) in [(120, 40), (80, 24)] {
        let mut a = app((w, h));
        a.on_event(&key(KeyCode::Char('e')));
        let rows = necromap::tui::views::events::rows(&a.snapshot);
        assert!(rows.windows(2).all(|r| r[0].at_ms() >= r[1].at_ms()), "newest first");
        let logins = rows.iter().filter(|r| matches!(r, necromap::tui::views::events::EventRow::Login(_))).count();
        assert!((40..=200).contains(&logins), "{logins} login rows");
        let screen = draw(&a).backend().to_string();
        assert!(screen.contains(" login    preauth - ← 192.0.2.66:"), "{screen}");
        let texts: Vec<String> = rows
            .iter()
            .filter_map(|r| match r {
                necromap::tui::views::events::EventRow::Login(e) => Some(necromap::tui::views::logins::event_text(e)),
                necromap::tui::views::events::EventRow::Finding(_) => None,
            })
            .collect();
        assert!(texts.iter().any(|t| t.starts_with(&format!("accepted root ← {ATTACKER}:")) && t.ends_with("· sshd[1100]")), "{texts:?}");
        insta::assert_snapshot!(format!("events_with_logins_{w}x{h}"), draw(&a).backend());
        // The hostile name is escaped wherever it shows.
        let hostile = rows.iter().find_map(|r| match r {
            necromap::tui::views::events::EventRow::Login(e) if e.remote.to_string() == "192.0.2.66" && e.user.is_some() => Some(*e),
            _ => None,
        });
        let text = necromap::tui::views::logins::event_text(hostile.expect("the hostile party's event"));
        assert!(text.contains("\\x1b]0;owned"), "{text}");
        assert!(!text.chars().any(necromap::text::is_unsafe), "{text}");
        // Enter on a login event jumps to its party.
        let first = rows.iter().position(|r| matches!(r, necromap::tui::views::events::EventRow::Login(_))).expect("a login row");
        let want = rows[first].subject();
        for _ in 0..first {
            a.on_event(&key(KeyCode::Down));
        }
        a.on_event(&key(KeyCode::Enter));
        assert_eq!(a.ui.events, None);
        assert!(matches!(want, necromap::model::Subject::Endpoint { .. }), "{want:?}");
    }
}

#[test]
fn a_party_without_a_socket_is_an_endpoint_of_the_map_and_enter_reaches_it() {
    let snapshot = with_logins();
    assert!(snapshot.sockets.iter().all(|x| x.raw.remote.ip().to_string() != ATTACKER), "the attacker holds no socket in the demo");
    assert!(snapshot.parties.iter().any(|p| p.endpoint == attacker()), "{:?}", snapshot.parties);
    assert_eq!(snapshot.parties[0].endpoint, attacker(), "the most severe party (critical: accepted after failures) comes first");
    assert_eq!(snapshot.graph.edges_of(necromap::model::NodeRef::Endpoint(attacker())).len(), 0, "a party has no edges: it holds no socket");
    for (w, h) in [(120, 40), (80, 24)] {
        let mut a = app((w, h));
        // On the map, drawn as itself (or in the parties' group when the
        // map has no room), marked with its worst finding.
        a.ui.pane = Pane::Map;
        a.ui.map_mode = MapMode::Graph;
        let entry = a.derived.map.endpoints.iter().find(|e| e.node == MapNode::Endpoint(attacker()));
        let entry = entry
            .unwrap_or_else(|| panic!("{w}x{h}: the attacker is not on the map: {:?}", a.derived.map.endpoints.iter().map(|e| &e.label).collect::<Vec<_>>()));
        assert_eq!(entry.label, format!("{ATTACKER} (login)"));
        assert_eq!(entry.sockets, 0);
        assert_eq!(entry.mark.map(|m| m.severity), Some(necromap::model::Severity::Critical));
        let screen = draw(&a).backend().to_string();
        // At 80 columns a label has 14: the address is cut as others are.
        let drawn = if w >= 120 { ATTACKER } else { "203.0.113.…" };
        assert!(screen.contains(drawn), "{w}x{h}: the party is drawn:\n{screen}");
        assert!(
            a.derived.map.endpoints.iter().any(|e| matches!(&e.node, MapNode::Group(l) if l.ends_with(" parties")) && e.members > 0),
            "{w}x{h}: the other parties fold into one node"
        );
        insta::assert_snapshot!(format!("map_with_a_login_party_{w}x{h}"), draw(&a).backend());

        // `n` walks the findings worst first: the critical party is among
        // the first stops though no row of the list holds it.
        let mut stops = Vec::new();
        for _ in 0..4 {
            a.on_event(&key(KeyCode::Char('n')));
            stops.push((a.ui.pane, a.ui.map_selected.clone(), a.ui.notice.as_ref().map(|n| n.text.clone()).unwrap_or_default()));
        }
        let party = stops.iter().find(|(pane, node, _)| *pane == Pane::Map && *node == MapNode::Endpoint(attacker()));
        let (_, _, said) = party.unwrap_or_else(|| panic!("{w}x{h}: n never selected the party: {stops:?}"));
        assert!(said.contains(&format!("CRITICAL · {ATTACKER} (no socket)")), "{said}");
        a.ui.pane = Pane::Map;

        // Enter on the attacker's newest login event selects its node.
        a.on_event(&key(KeyCode::Char('e')));
        let rows = necromap::tui::views::events::rows(&a.snapshot);
        let at = rows
            .iter()
            .position(|r| matches!(r, necromap::tui::views::events::EventRow::Login(e) if e.remote.to_string() == ATTACKER))
            .expect("a login row of the attacker");
        for _ in 0..at {
            a.on_event(&key(KeyCode::Down));
        }
        a.on_event(&key(KeyCode::Enter));
        assert_eq!(a.ui.pane, Pane::Map);
        assert_eq!(a.ui.map_selected, MapNode::Endpoint(attacker()), "{w}x{h}");
        let (title, _) = necromap::tui::views::detail::content(&a, 200);
        assert!(title.contains(ATTACKER), "{title}");
    }
}
