//! One state for the explorer and the MCP server (`--serve-mcp`): both read
//! the same collector's watch channel, so what a tool returns for a socket
//! is what the explorer shows for it at that generation. The collector
//! replays the demo host and is frozen so the generation holds still.

use std::sync::Arc;
use std::time::Duration;

use necromap::collect::ReplaySource;
use necromap::collector::{Collector, Command};
use necromap::mcp::tools_analysis::ExplainArgs;
use necromap::mcp::tools_connections::ListConnectionsArgs;
use necromap::mcp::tools_threats::AnalyzeIpArgs;
use necromap::mcp::{McpState, NecromapServer};
use necromap::rules::{Engine, IocSet, RuleSet};
use necromap::spec::{EMBEDDED_SPEC, Spec};
use necromap::tui::keymap::Action;
use necromap::tui::state::Pane;
use necromap::tui::{App, Options, views};
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use rmcp::handler::server::wrapper::Parameters;
use serde_json::json;

/// The rows of the explorer's connection list, as drawn.
fn list_rows(app: &App) -> Vec<String> {
    let mut t = Terminal::new(TestBackend::new(app.size.0, app.size.1)).expect("terminal");
    t.draw(|f| views::render(app, f.area(), f.buffer_mut())).expect("draw");
    let buf = t.backend().buffer().clone();
    let r = app.areas().list;
    (r.y..r.y + r.height).map(|y| (r.x..r.x + r.width).map(|x| buf[(x, y)].symbol().to_string()).collect()).collect()
}

/// The demo replayed by a real collector with the embedded rules, an MCP
/// server on its published state, and the generation held still once the
/// replay has moved on a few frames.
fn frozen_demo() -> (Arc<Spec>, Collector, NecromapServer) {
    let spec = Arc::new(Spec::embedded());
    let replay = ReplaySource::from_text(necromap::DEMO_SCENARIO, necromap::DEMO_NAME).expect("demo");
    let engine = Engine::new(RuleSet::embedded(), IocSet::new());
    let rules = Arc::new(engine.rules.clone());
    let collector = Collector::spawn(Box::new(replay), spec.clone(), Some(Duration::from_millis(100)), Some(Box::new(engine)));
    let server = NecromapServer::new(McpState::new(collector.published(), spec.clone(), EMBEDDED_SPEC.into(), rules));
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    while collector.latest().generation < 4 {
        assert!(std::time::Instant::now() < deadline, "the replay did not move on");
        std::thread::sleep(Duration::from_millis(20));
    }
    let (tx, rx) = tokio::sync::oneshot::channel();
    collector.commands().send(Command::Freeze(true, tx)).expect("freeze");
    assert!(rx.blocking_recv().expect("frozen"));
    (spec, collector, server)
}

#[test]
fn a_tool_and_the_explorer_agree_on_a_socket_at_one_generation() {
    let (spec, collector, server) = frozen_demo();

    // The explorer takes the latest snapshot as its event loop does.
    let mut app = App::new(spec, collector.latest(), collector.status().borrow().clone(), Options::default(), (320, 80));
    app.set_filter("pid:3401");
    app.apply(Action::NextPane);
    assert_eq!(app.ui.pane, Pane::List);
    let lines = list_rows(&app);

    let args: ListConnectionsArgs = serde_json::from_value(json!({ "pid": 3401 })).expect("args");
    let list = server.list_connections(Parameters(args)).expect("tool answer").0;
    assert_eq!(list.generation, app.snapshot.generation, "one generation for both");
    assert!(list.generation > 1, "the replay moved on before the freeze");
    assert!(!list.connections.is_empty());
    let args: ListConnectionsArgs = serde_json::from_value(json!({ "pid": 3401, "detail": "full" })).expect("args");
    let full_list = server.list_connections(Parameters(args)).expect("tool answer").0;
    for (c, full) in list.connections.iter().zip(&full_list.connections) {
        let (remote, local) = (c.remote.as_str(), c.local.as_str());
        let row =
            lines.iter().find(|l| l.contains(remote) && l.contains(local)).unwrap_or_else(|| panic!("the explorer lists {remote}:\n{}", lines.join("\n")));
        assert!(row.contains(c.process.as_deref().expect("owner")), "process of {remote}: {row}");
        assert!(row.contains(&c.state), "state of {remote}: {row}");
        // The list column is four letters wide ("crit").
        let severity: String = c.severity.expect("flagged").name().chars().take(4).collect();
        assert!(row.contains(&severity), "severity of {remote}: {row}");
        let age = c
            .age_ms
            .map(|ms| necromap::model::SocketAge { ms, bound: full.age_bound.as_deref().and_then(|b| b.parse().ok()).expect("a bound with every age") });
        assert!(row.contains(&format!(" {} ", necromap::tui::theme::age(age))), "age of {remote}: {row}");
    }
}

/// The detail pane's text, as drawn.
fn detail_text(app: &App) -> String {
    let mut t = Terminal::new(TestBackend::new(app.size.0, app.size.1)).expect("terminal");
    t.draw(|f| views::render(app, f.area(), f.buffer_mut())).expect("draw");
    let buf = t.backend().buffer().clone();
    let r = app.areas().detail;
    (r.y..r.y + r.height).map(|y| (r.x..r.x + r.width).map(|x| buf[(x, y)].symbol().to_string()).collect::<String>()).collect::<Vec<_>>().join("\n")
}

#[test]
fn relationship_tools_and_the_explorer_read_one_graph() {
    let (spec, collector, server) = frozen_demo();
    let snapshot = collector.latest();

    // The reverse shell's remote party: every public address bash (3401) talks to.
    let args: ListConnectionsArgs = serde_json::from_value(json!({ "pid": 3401 })).expect("args");
    let list = server.list_connections(Parameters(args)).expect("tool answer").0;
    let remote = list.connections.iter().find(|c| c.zone == "public").expect("bash talks to a public address");
    let remote_address = remote.remote.rsplit_once(':').map(|(ip, _)| ip.trim_start_matches('[').trim_end_matches(']')).expect("address:port");
    let ip: std::net::IpAddr = remote_address.parse().expect("ip");

    // explain_connection by pid and address finds the socket through the graph.
    let args: ExplainArgs = serde_json::from_value(json!({ "pid": 3401, "remote_address": remote_address })).expect("args");
    let explained = server.explain_connection(Parameters(args)).expect("tool answer").0;
    assert_eq!(explained.generation, snapshot.generation);
    assert_eq!(explained.connection.id, remote.id);
    assert_eq!(explained.matching_sockets.unwrap_or(1), snapshot.sockets_with(ip, Some(necromap::model::Pid(3401))).len());

    // analyze_ip's talkers are the graph's talkers, and the explorer's
    // endpoint detail lists the same processes.
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
    let args: AnalyzeIpArgs = serde_json::from_value(json!({ "ip_address": remote_address })).expect("args");
    let analysis = rt.block_on(server.analyze_ip(Parameters(args))).expect("tool answer").0;
    assert_eq!(analysis.generation, snapshot.generation);
    let from_graph: Vec<(Option<u32>, u64)> =
        snapshot.endpoints_at(ip).flat_map(|k| snapshot.graph.talkers(k, &snapshot.sockets)).map(|(p, n)| (p.map(|p| p.0), n)).collect();
    let mut from_tool: Vec<(Option<u32>, u64)> = analysis.processes.iter().map(|p| (p.pid, p.open_sockets as u64)).collect();
    from_tool.sort_unstable();
    assert_eq!(from_tool, from_graph, "analyze_ip counts the graph's sockets per owner");
    assert!(from_tool.iter().any(|(p, _)| *p == Some(3401)));

    let mut app = App::new(spec, snapshot.clone(), collector.status().borrow().clone(), Options::default(), (200, 60));
    app.ui.pane = Pane::Map;
    app.ui.map_selected = necromap::tui::state::MapNode::Endpoint(necromap::model::EndpointKey::host(ip));
    let detail = detail_text(&app);
    for (pid, n) in &from_graph {
        let Some(pid) = pid else { continue };
        let name = &snapshot.process(necromap::model::Pid(*pid)).expect("owner").facts.name;
        assert!(detail.contains(&format!("{name} ({pid}) ×{n}")), "the explorer shows {name} ({pid}) ×{n}:\n{detail}");
    }
}
