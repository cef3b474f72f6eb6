//! Explorer latency benchmark: the real app loop (`run_app`) driven by a
//! key script against a large synthetic snapshot, drawing into ratatui's
//! test backend. Keys arrive 40 ms apart (more than the loop's frame gap,
//! as a person types), so each key is handled and its frame drawn before
//! the loop asks for the next event; the time from handing a key to the
//! loop until it asks again is that key's key-press → frame-rendered time.
//!
//! Then the explorer's idle cost: the loop with no keys for 20 s while a
//! new snapshot arrives every second (the default interval), CPU time read
//! from /proc/self/stat. Snapshots are built beforehand, so this is the
//! explorer's share; collection is measured by the `refresh` benchmark.
//!
//! ```text
//! cargo bench --bench latency                 # 50k and 100k sockets, idle at 10k
//! cargo bench --bench latency -- 20000        # one other size
//! ```
//!
//! Targets (issue 15): key → frame p99 ≤ 16 ms at 50k sockets, every frame
//! ≤ 16 ms at 100k, idle ≤ 3% of a core at 10k.

use std::io;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crossterm::event::{Event, KeyCode, KeyEvent, KeyModifiers};
use futures_util::stream;
use necromap::collector::CollectorStatus;
use necromap::model::Snapshot;
use necromap::spec::Spec;
use necromap::tui::{App, Links, Options, run_app};
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use tokio::sync::watch;

#[path = "synthetic.rs"]
mod synthetic;
use synthetic::busy_snapshot;

/// Time between two keys of the script.
const KEY_GAP: Duration = Duration::from_millis(40);

fn press(code: KeyCode) -> Event {
    Event::Key(KeyEvent::new(code, KeyModifiers::NONE))
}

fn ctrl(c: char) -> Event {
    Event::Key(KeyEvent::new(KeyCode::Char(c), KeyModifiers::CONTROL))
}

/// What a person does in a minute: move about the map and the list, page,
/// jump, sort, change view, filter by address and by port, focus a
/// process, open the tree, the legend, the help and the events, and back.
fn script() -> Vec<Event> {
    let mut keys = Vec::new();
    let ch = |c: char| press(KeyCode::Char(c));
    keys.extend([ch('l'), ch('l'), ch('h'), ch('L'), ch('L'), KeyCode::Tab.into_event(), ch('j'), ch('j'), ch('j'), ch('k')]);
    keys.extend([KeyCode::PageDown.into_event(), KeyCode::PageDown.into_event(), ctrl('d'), ctrl('u'), ch('G'), ch('g'), ch('n'), ch('y')]);
    keys.extend([ch('d'), ch('j'), ch('j'), ch('G'), ch('g'), ch('d'), ch('s'), ch('s'), ch('S'), ch('v'), ch('v'), ch('v')]);
    keys.push(ch('/'));
    keys.extend("ip:198.51.100.0/24".chars().map(ch));
    keys.push(KeyCode::Enter.into_event());
    keys.extend([ch('j'), ch('j'), KeyCode::Esc.into_event(), ch('/')]);
    keys.extend("port:443".chars().map(ch));
    keys.extend([KeyCode::Enter.into_event(), ch('p'), ch('l'), ch('l'), KeyCode::Esc.into_event(), ch('t'), ch('j'), ch('l'), ch('j'), ch('t')]);
    keys.extend([ch('t'), ch('t'), ch('?'), ch('?'), ch('e'), ch('j'), ch('e'), KeyCode::Tab.into_event(), ch('j'), ch('k')]);
    keys
}

trait IntoEvent {
    fn into_event(self) -> Event;
}

impl IntoEvent for KeyCode {
    fn into_event(self) -> Event {
        press(self)
    }
}

/// How a key reads in the report.
fn label(e: &Event) -> String {
    match e {
        Event::Key(k) if k.modifiers.contains(KeyModifiers::CONTROL) => format!("Ctrl-{:?}", k.code),
        Event::Key(k) => match k.code {
            KeyCode::Char(c) => c.to_string(),
            other => format!("{other:?}"),
        },
        other => format!("{other:?}"),
    }
}

/// Run the loop over `keys` at `size`; returns each key with its latency
/// in ms, and how long each derivation done on the explorer's thread took
/// to reach the screen (ms; keys that re-derive a large snapshot).
fn drive(snapshot: &Arc<Snapshot>, size: (u16, u16), keys: Vec<Event>) -> (Vec<(String, f64)>, Vec<f64>) {
    let runtime = tokio::runtime::Builder::new_current_thread().enable_time().build().expect("runtime");
    let status = CollectorStatus { interval_ms: 1000, ..CollectorStatus::default() };
    let mut app = App::new(Arc::new(Spec::embedded()), snapshot.clone(), status.clone(), Options::default(), size);
    let mut terminal = Terminal::new(TestBackend::new(size.0, size.1)).expect("terminal");
    let samples = Arc::new(Mutex::new(Vec::new()));
    let recorded = samples.clone();
    // Each poll after the first: the loop handled the last key and drew.
    let input = Box::pin(stream::unfold((keys.into_iter(), None::<(String, Instant)>), move |(mut keys, handed)| {
        let recorded = recorded.clone();
        async move {
            if let Some((name, t)) = handed {
                recorded.lock().expect("samples").push((name, t.elapsed().as_secs_f64() * 1000.0));
            }
            tokio::time::sleep(KEY_GAP).await;
            let key = keys.next()?;
            let name = label(&key);
            Some((Ok::<Event, io::Error>(key), (keys, Some((name, Instant::now())))))
        }
    }));
    let (_snap_tx, snapshots) = watch::channel(snapshot.clone());
    let (_status_tx, status_rx) = watch::channel(status);
    runtime.block_on(run_app(&mut terminal, &mut app, input, Links { snapshots, status: status_rx, commands: None })).expect("the loop runs");
    (samples.lock().expect("samples").clone(), app.derive_timings.ms.iter().copied().collect())
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

/// CPU seconds this process has used (user + system).
fn cpu_seconds() -> f64 {
    let stat = std::fs::read_to_string("/proc/self/stat").expect("/proc/self/stat");
    // Fields after the command name (which may hold spaces) end at ')'.
    let rest = &stat[stat.rfind(')').expect("stat") + 2..];
    let f: Vec<&str> = rest.split_whitespace().collect();
    let ticks: f64 = f[11].parse::<f64>().expect("utime") + f[12].parse::<f64>().expect("stime");
    ticks / 100.0
}

/// The explorer idle for `secs` while a snapshot of `n` sockets arrives
/// every `interval`: its CPU use as a share of one core.
fn idle_cpu(n: usize, interval: Duration, secs: u64) -> f64 {
    let runtime = tokio::runtime::Builder::new_current_thread().enable_time().build().expect("runtime");
    // Two snapshots told apart by generation, so each arrival is news.
    let a = Arc::new(busy_snapshot(n));
    let mut b = (*a).clone();
    b.generation = a.generation + 1;
    let b = Arc::new(b);
    let status = CollectorStatus { interval_ms: interval.as_millis() as u64, ..CollectorStatus::default() };
    let mut app = App::new(Arc::new(Spec::embedded()), a.clone(), status.clone(), Options::default(), (120, 40));
    let mut terminal = Terminal::new(TestBackend::new(120, 40)).expect("terminal");
    let (snap_tx, snapshots) = watch::channel(a.clone());
    let (_status_tx, status_rx) = watch::channel(status);
    // No keys: the input ends after `secs`.
    let input = Box::pin(stream::unfold(false, move |done| async move {
        if done {
            return None;
        }
        tokio::time::sleep(Duration::from_secs(secs)).await;
        None::<(io::Result<Event>, bool)>
    }));
    let before = cpu_seconds();
    let wall = Instant::now();
    runtime.block_on(async {
        let feeder = async {
            let mut flip = false;
            loop {
                tokio::time::sleep(interval).await;
                flip = !flip;
                let _ = snap_tx.send(if flip { b.clone() } else { a.clone() });
            }
        };
        tokio::select! {
            r = run_app(&mut terminal, &mut app, input, Links { snapshots, status: status_rx, commands: None }) => r.expect("the loop runs"),
            () = feeder => {}
        }
    });
    (cpu_seconds() - before) / wall.elapsed().as_secs_f64()
}

fn report(n: usize, snapshot: &Arc<Snapshot>) -> (f64, f64) {
    let mut all = Vec::new();
    for size in [(120u16, 40u16), (200, 60)] {
        let keys = script();
        let count = keys.len();
        let (mut v, mut derived) = drive(snapshot, size, keys);
        assert_eq!(v.len(), count, "every key was answered");
        derived.sort_by(f64::total_cmp);
        v.sort_by(|a, b| a.1.total_cmp(&b.1));
        let ms: Vec<f64> = v.iter().map(|x| x.1).collect();
        all.extend(ms.iter().copied());
        let slowest: Vec<String> = v.iter().rev().take(5).map(|(k, t)| format!("{k} {t:.1}")).collect();
        println!(
            "{n:>7} sockets {:>3}×{:<3} {count:>3} keys   p50 {:>6.2} ms   p99 {:>6.2} ms   max {:>6.2} ms   slowest: {}",
            size.0,
            size.1,
            percentile(&ms, 0.5),
            percentile(&ms, 0.99),
            ms[ms.len() - 1],
            slowest.join(", ")
        );
        if !derived.is_empty() {
            println!(
                "{:>23} derived on the explorer's thread: {} times · key → result on screen p50 {:>6.2} ms · max {:>6.2} ms",
                "",
                derived.len(),
                percentile(&derived, 0.5),
                derived[derived.len() - 1]
            );
        }
    }
    all.sort_by(f64::total_cmp);
    (percentile(&all, 0.99), all[all.len() - 1])
}

fn main() {
    let one: Option<usize> = std::env::args().skip(1).find(|a| !a.starts_with('-')).and_then(|a| a.parse().ok());
    println!("explorer latency · key press → frame rendered, through the app loop (targets: p99 ≤ 16 ms at 50k, max ≤ 16 ms at 100k)\n");
    let sizes = one.map_or_else(|| vec![50_000, 100_000], |n| vec![n]);
    for n in sizes {
        let snapshot = Arc::new(busy_snapshot(n));
        let (p99, max) = report(n, &snapshot);
        println!("{n:>7} sockets overall: p99 {p99:.2} ms · worst {max:.2} ms\n");
    }
    if one.is_none() {
        let share = idle_cpu(10_000, Duration::from_secs(1), 20);
        println!("idle explorer at 10k sockets, a snapshot every 1 s, 20 s: {:.2}% of a core (target ≤ 3%)", share * 100.0);
    }
}
