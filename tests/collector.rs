//! The collector task: publishes snapshots over watch, obeys commands, never
//! blocks readers, stops when dropped.

use std::sync::Arc;
use std::time::{Duration, Instant};

use necromap::collect::ReplaySource;
use necromap::collector::{Collector, Command, MIN_INTERVAL};
use necromap::spec::Spec;
use tokio::sync::oneshot;

const SCENARIO: &str = r#"
host: t
start_ms: 0
interval_ms: 1000
frames: 5
processes: [ { pid: 1, name: a } ]
sockets: [ { pid: 1, local: "127.0.0.1:9", remote: "127.0.0.1:10", state: ESTABLISHED } ]
"#;

fn collector(interval: Duration) -> Collector {
    let src = ReplaySource::from_text(SCENARIO, "t.yaml").expect("scenario");
    Collector::spawn(Box::new(src), Arc::new(Spec::embedded()), Some(interval), None)
}

fn wait_for(what: &str, mut ok: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(5);
    while !ok() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(10));
    }
}

#[test]
fn publishes_every_frame_then_reports_the_end() {
    let c = collector(MIN_INTERVAL);
    assert_eq!(c.latest().generation, 1, "the first snapshot is there at once");
    let status = c.status();
    wait_for("the replay to finish", || status.borrow().finished);
    assert_eq!(c.latest().generation, 5);
    assert_eq!(c.latest().sockets.len(), 1);
}

#[test]
fn freeze_refresh_now_and_interval_commands() {
    let c = collector(Duration::from_secs(3600));
    let tx = c.commands();
    let (r, rx) = oneshot::channel();
    tx.send(Command::Freeze(true, r)).expect("send");
    assert!(rx.blocking_recv().expect("reply"));
    assert!(c.status().borrow().frozen);
    // Frozen: refresh-now still refreshes.
    assert_eq!(c.refresh_blocking(), Some(2));
    assert_eq!(c.latest().generation, 2);
    let (r, rx) = oneshot::channel();
    tx.send(Command::SetInterval(Duration::from_millis(1), r)).expect("send");
    assert_eq!(rx.blocking_recv().expect("reply"), MIN_INTERVAL, "clamped");
    assert_eq!(c.status().borrow().interval_ms, 100);
    std::thread::sleep(Duration::from_millis(350));
    assert_eq!(c.latest().generation, 2, "frozen: no periodic refresh");
    let (r, rx) = oneshot::channel();
    tx.send(Command::Freeze(false, r)).expect("send");
    assert!(!rx.blocking_recv().expect("reply"));
    let snaps = c.snapshots();
    wait_for("periodic refreshes to resume", || snaps.borrow().generation >= 4);
}

#[test]
fn a_reader_holding_a_snapshot_does_not_block_the_collector() {
    let c = collector(MIN_INTERVAL);
    let held = c.latest();
    let snaps = c.snapshots();
    let _borrowed_arc = snaps.borrow().clone();
    wait_for("newer snapshots", || c.latest().generation > held.generation + 2);
    assert_eq!(held.generation, 1, "a held snapshot never changes");
}

#[tokio::test]
async fn async_consumers_see_changes() {
    let c = collector(MIN_INTERVAL);
    let mut rx = c.snapshots();
    let first = rx.borrow_and_update().generation;
    tokio::time::timeout(Duration::from_secs(5), rx.changed()).await.expect("in time").expect("sender alive");
    assert!(rx.borrow().generation > first);
}

#[test]
fn dropping_the_collector_stops_its_thread() {
    let c = collector(MIN_INTERVAL);
    let tx = c.commands();
    drop(c);
    let (r, _rx) = oneshot::channel();
    assert!(tx.send(Command::RefreshNow(r)).is_err(), "the thread is gone: its receiver closed");
}
