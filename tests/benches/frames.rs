//! Frame benchmark: one frame of each explorer view drawn from a
//! 100k-socket snapshot, at 120×40 and 200×60, into ratatui's test backend.
//! Also times the per-refresh work (deriving rows, map and tree), which runs
//! once per snapshot, not per frame.
//!
//! ```text
//! cargo bench --bench frames            # 100k sockets
//! cargo bench --bench frames -- 10000   # another size
//! ```

use std::sync::Arc;
use std::time::Instant;

use necromap::collector::CollectorStatus;
use necromap::spec::Spec;

#[path = "synthetic.rs"]
mod synthetic;
use necromap::tui::keymap::Action;
use necromap::tui::{App, Options, views};
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use synthetic::busy_snapshot;

/// How a view is set up before its frames are timed.
type Setup = fn(&mut App);

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn frame_ms(app: &App, term: &mut Terminal<TestBackend>) -> f64 {
    let samples: Vec<f64> = (0..30)
        .map(|_| {
            let t = Instant::now();
            term.draw(|f| views::render(app, f.area(), f.buffer_mut())).expect("draw");
            t.elapsed().as_secs_f64() * 1000.0
        })
        .collect();
    median(samples)
}

fn main() {
    let n: usize = std::env::args().skip(1).find(|a| !a.starts_with('-')).and_then(|a| a.parse().ok()).unwrap_or(100_000);
    let snapshot = Arc::new(busy_snapshot(n));
    println!(
        "explorer frame benchmark · {} sockets · {} endpoints · medians of 30 frames (target ≤ 16 ms)\n",
        snapshot.sockets.len(),
        snapshot.endpoints.len()
    );
    println!("{:<22} {:>10} {:>10}", "view", "120×40", "200×60");
    let status = CollectorStatus { interval_ms: 1000, ..CollectorStatus::default() };
    let views: [(&str, Setup); 8] = [
        ("graph (host)", |_| {}),
        ("graph (focused)", |a| {
            a.ui.pane = necromap::tui::state::Pane::List;
            a.apply(Action::FocusProcess);
        }),
        ("list (pane)", |a| drop(a.apply(Action::NextPane))),
        ("tree by process", |a| {
            a.apply(Action::Tree);
            a.apply(Action::Down);
            a.apply(Action::Right);
        }),
        ("tree by endpoint", |a| {
            a.apply(Action::Tree);
            a.apply(Action::Tree);
            a.apply(Action::Down);
            a.apply(Action::Right);
        }),
        ("filter active", |a| a.set_filter("state:established port:443")),
        ("view cleanup_states", |a| {
            for _ in 0..6 {
                a.apply(Action::NextView);
            }
        }),
        ("help", |a| drop(a.apply(Action::Help))),
    ];
    for (name, setup) in views {
        let mut cells = Vec::new();
        for (w, h) in [(120u16, 40u16), (200, 60)] {
            let mut app = App::new(Arc::new(Spec::embedded()), snapshot.clone(), status.clone(), Options::default(), (w, h));
            setup(&mut app);
            let mut term = Terminal::new(TestBackend::new(w, h)).expect("terminal");
            cells.push(frame_ms(&app, &mut term));
        }
        println!("{:<22} {:>8.2}ms {:>8.2}ms", name, cells[0], cells[1]);
    }
    let mut app = App::new(Arc::new(Spec::embedded()), snapshot.clone(), status, Options::default(), (200, 60));
    let derive: Vec<f64> = (0..10)
        .map(|_| {
            let t = Instant::now();
            app.set_snapshot(snapshot.clone());
            t.elapsed().as_secs_f64() * 1000.0
        })
        .collect();
    println!("\nper refresh (not per frame): derive rows, map and tree: {:.1} ms", median(derive));
}
