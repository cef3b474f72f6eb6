//! Deriving off the key path: the same key scripts give the same rows,
//! map and screen whether the explorer derives on its loop or on its
//! thread (forced here with `background_from: 0` on the small demo host),
//! and a snapshot derived on the thread is shown with its own rows.

use std::sync::Arc;
use std::time::Duration;

use crossterm::event::{Event, KeyCode};
use necromap::model::Snapshot;
use necromap::spec::Spec;
use necromap::tui::{App, Options};

mod tui_common;
use tui_common::{demo, draw, key, script, status};

fn app_with(background_from: usize, size: (u16, u16)) -> App {
    App::new(Arc::new(Spec::embedded()), demo(), status(), Options { background_from, ..Options::default() }, size)
}

fn selection_on_screen(a: &App) -> bool {
    let height = usize::from(a.areas().list.height.saturating_sub(3)).max(1);
    a.selected_row().is_some_and(|i| i >= a.ui.list_offset && i < a.ui.list_offset + height)
}

fn chars(s: &str) -> Vec<Event> {
    s.chars().map(|c| key(KeyCode::Char(c))).collect()
}

/// Sorts, views, a filter, focus and the tree: every key that derives.
fn scripts() -> Vec<Vec<Event>> {
    let mut filtered = chars("/");
    filtered.extend(chars("port:443"));
    filtered.push(key(KeyCode::Enter));
    filtered.extend(chars("jj"));
    vec![chars("s"), chars("ssS"), chars("v"), chars("vvj"), filtered, chars("p"), chars("tj"), chars("sjjvsk")]
}

#[tokio::test]
async fn the_thread_derives_what_the_loop_derives() {
    for size in [(120, 40), (80, 24)] {
        for keys in scripts() {
            let here = script(app_with(usize::MAX, size), keys.clone()).await;
            let there = script(app_with(0, size), keys.clone()).await;
            assert!(!there.deriving(), "the loop waited for the last derivation before it stopped");
            assert!(!there.derive_timings.ms.is_empty(), "the thread derived ({} keys)", keys.len());
            assert!(here.derive_timings.ms.is_empty(), "the loop derived itself");
            assert_eq!(here.derived.rows, there.derived.rows, "{size:?} {keys:?}: the same rows");
            assert_eq!(here.derived.map, there.derived.map, "{size:?} {keys:?}: the same map");
            assert_eq!(here.ui.list_selected, there.ui.list_selected, "{size:?} {keys:?}: the same selection");
            // How far the list scrolled depends on the steps between (the
            // thread skips those a newer key made stale); the selection is
            // on screen either way, and one derivation gives one screen.
            assert!(selection_on_screen(&there), "{size:?} {keys:?}: the selection is on screen");
            if keys.len() == 1 {
                assert_eq!(draw(&here).backend().to_string(), draw(&there).backend().to_string(), "{size:?} {keys:?}: the same screen");
            }
        }
    }
}

#[tokio::test]
async fn a_snapshot_derived_on_the_thread_is_shown_with_its_own_rows() {
    let mut a = app_with(0, (120, 40));
    let first = a.snapshot.clone();
    // The next refresh: fewer sockets (the last few closed), a new generation.
    let mut next: Snapshot = (*first).clone();
    next.generation = first.generation + 1;
    let keep = next.sockets.len() - 3;
    let spec = Spec::embedded();
    let mut i = 0;
    next.retain_sockets(&spec, |_| {
        i += 1;
        i <= keep
    });
    let next = Arc::new(next);
    let mut answers = a.derive_in_background().expect("thread");
    a.set_snapshot(next.clone());
    // Until the answer comes, the old snapshot is shown with its own rows.
    assert!(a.deriving());
    assert!(!draw(&a).backend().to_string().contains("updating…"), "a refresh goes unsaid");
    // A key asks too: now the banner says so.
    let _ = a.on_event(&key(KeyCode::Char('s')));
    assert!(draw(&a).backend().to_string().contains("updating…"), "a key's derivation is said");
    assert_eq!(a.snapshot.generation, first.generation);
    assert_eq!(a.derived.rows.len(), first.sockets.len());
    // The refresh's answer is dropped (a newer request is out), the key's is shown.
    let mut answers_seen = 0;
    while a.deriving() {
        let answer = tokio::time::timeout(Duration::from_secs(30), answers.recv()).await.expect("answered in time").expect("an answer");
        a.take_derived(answer);
        answers_seen += 1;
    }
    assert!((1..=2).contains(&answers_seen), "{answers_seen} answers");
    assert_eq!(a.snapshot.generation, next.generation, "the new snapshot is shown");
    assert_eq!(a.derived.rows.len(), next.sockets.len(), "its rows are its own");
    assert!(a.derived.rows.iter().all(|&r| (r as usize) < next.sockets.len()), "no row points past its sockets");
    assert!(!a.deriving());
    assert!(!draw(&a).backend().to_string().contains("updating…"));
    assert_eq!(a.derive_timings.ms.len(), 1);
}
