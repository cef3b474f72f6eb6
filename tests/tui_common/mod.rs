//! The explorer's test fixture, shared by the `tui_*` tests: the demo
//! host after all its frames with fixed findings, and small helpers.

// Each test file uses part of it.
#![allow(dead_code)]

use std::sync::Arc;

use crossterm::event::{Event, KeyCode, KeyEvent, KeyModifiers};
use necromap::collect::ReplaySource;
use necromap::collector::CollectorStatus;
use necromap::model::{EndpointKey, Finding, Highlight, Pid, Severity, Snapshot, Subject, TraceStep};
use necromap::spec::{IconHint, Spec};
use necromap::tui::{App, Options, views};
use ratatui::Terminal;
use ratatui::backend::TestBackend;

#[allow(clippy::too_many_arguments)] // a fixture builder: one argument per field worth setting
pub fn finding(
    id: &str,
    name: &str,
    severity: Severity,
    subject: Subject,
    highlight: Highlight,
    icon: IconHint,
    tags: &[&str],
    trace: &[(&str, &str)],
) -> Finding {
    Finding {
        id: id.into(),
        rule_id: id.into(),
        rule_name: name.into(),
        severity,
        tags: tags.iter().map(ToString::to_string).collect(),
        subject,
        netns: None,
        highlight: Some(highlight),
        icon: Some(icon),
        trace: trace.iter().map(|(c, v)| TraceStep { condition: (*c).into(), value: (*v).into() }).collect(),
        explanation: format!("fixture explanation for {id}"),
        explanation_ko: String::new(),
        steps: vec![format!("ls -l /proc/{}/fd", 3401)],
        first_seen_ms: 0,
        last_seen_ms: 0,
    }
}

/// The demo host after all its frames, with fixture findings.
pub fn demo() -> Arc<Snapshot> {
    let mut src = ReplaySource::from_text(necromap::DEMO_SCENARIO, "demo").expect("demo");
    let mut s = src.build_through(Arc::new(Spec::embedded()), None, None).0.expect("frames");
    // Timings are measured, not replayed: fixed here so frames are stable.
    s.timings = necromap::model::StageTimings::default();
    let ep = |ip: &str| EndpointKey::host(ip.parse().expect("ip"));
    s.set_findings(vec![
        finding(
            "reverse_shell_stdio",
            "Reverse shell: stdio is a socket",
            Severity::Critical,
            Subject::Process { pid: Pid(3401) },
            Highlight::RedGlow,
            IconHint::Skull,
            &["c2", "reverse_shell"],
            &[("stdio_is_socket: true", "fd 0,1,2 → socket")],
        ),
        finding(
            "beacon_interval",
            "Beacon-like rhythm",
            Severity::High,
            Subject::Endpoint { endpoint: ep("198.51.100.77") },
            Highlight::OrangeGlow,
            IconHint::Ghost,
            &["beacon"],
            &[("beacon_score_gte: 0.85", "score 0.91")],
        ),
        finding(
            "close_wait_leak",
            "Excessive CLOSE_WAIT",
            Severity::Medium,
            Subject::Process { pid: Pid(1904) },
            Highlight::YellowGlow,
            IconHint::Pumpkin,
            &["resource_leak"],
            &[("state: CLOSE_WAIT", "48 sockets")],
        ),
    ]);
    Arc::new(s)
}

pub fn status() -> CollectorStatus {
    CollectorStatus { interval_ms: 3000, ..CollectorStatus::default() }
}

pub fn app(size: (u16, u16), plain: bool) -> App {
    App::new(Arc::new(Spec::embedded()), demo(), status(), Options { plain, ..Options::default() }, size)
}

pub fn draw(app: &App) -> Terminal<TestBackend> {
    let mut t = Terminal::new(TestBackend::new(app.size.0, app.size.1)).expect("terminal");
    t.draw(|f| views::render(app, f.area(), f.buffer_mut())).expect("draw");
    t
}

pub fn key(c: KeyCode) -> Event {
    Event::Key(KeyEvent::new(c, KeyModifiers::NONE))
}

/// Run the real event loop over `events`, then return the app as the
/// loop left it (the loop waits for what is being derived before it stops).
pub async fn script(mut a: App, events: Vec<Event>) -> App {
    let mut t = Terminal::new(TestBackend::new(a.size.0, a.size.1)).expect("terminal");
    let (_stx, snapshots) = tokio::sync::watch::channel(a.snapshot.clone());
    let (_ttx, status) = tokio::sync::watch::channel(a.status.clone());
    let input = futures_util::stream::iter(events.into_iter().map(Ok));
    necromap::tui::run_app(&mut t, &mut a, input, necromap::tui::Links { snapshots, status, commands: None }).await.expect("loop");
    a
}
