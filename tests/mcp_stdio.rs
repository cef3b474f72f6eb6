//! The MCP server over stdio, driven by rmcp's own client: the built binary
//! runs `--mcp --demo` as a child process. Every tool is called with good
//! arguments (checked against `necromap --demo snapshot` at the same frame)
//! and with bad ones (the server must answer each with a tool error and
//! keep serving). The child is shut down and reaped by `cancel()`.

use std::collections::BTreeSet;
use std::fmt::Write as _;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use rmcp::model::{CallToolRequestParams, CallToolResult, GetPromptRequestParams, ReadResourceRequestParams};
use rmcp::service::RunningService;
use rmcp::transport::{ConfigureCommandExt, TokioChildProcess};
use rmcp::{RoleClient, ServiceExt};
use serde_json::{Value, json};

const BIN: &str = env!("CARGO_BIN_EXE_necromap");

const TOOLS: [&str; 20] = [
    "analyze_connections",
    "analyze_ip",
    "analyze_spec_consistency",
    "audit_mcp_server",
    "check_posture",
    "compare_baseline",
    "explain_connection",
    "get_detection_rules",
    "get_mcp_calls",
    "get_network_map_schema",
    "get_recent_threats",
    "get_suspicious_connections",
    "get_threat_timeline",
    "list_connections",
    "list_mcp_servers",
    "list_processes",
    "propose_blocks",
    "suggest_investigation",
    "suggest_new_rule",
    "validate_rule_coverage",
];

type Client = RunningService<RoleClient, ()>;

/// The server on the demo host, replayed fast; the data directory is
/// private so no saved baseline of the developer leaks in.
async fn start(data: &std::path::Path) -> Client {
    let transport = TokioChildProcess::new(tokio::process::Command::new(BIN).configure(|c| {
        c.args(["--mcp", "--demo", "--interval", "100ms"]).env("XDG_DATA_HOME", data).stderr(Stdio::null());
    }))
    .expect("spawn necromap --mcp");
    tokio::time::timeout(Duration::from_secs(20), ().serve(transport)).await.expect("handshake in time").expect("handshake")
}

async fn call(client: &Client, tool: &str, args: Value) -> CallToolResult {
    let Value::Object(map) = args else { panic!("arguments must be an object") };
    let request = CallToolRequestParams::new(tool.to_string()).with_arguments(map);
    tokio::time::timeout(Duration::from_secs(20), client.call_tool(request)).await.expect("answer in time").expect("protocol-level answer")
}

/// The structured result of a call that must succeed.
async fn ok(client: &Client, tool: &str, args: Value) -> Value {
    let r = call(client, tool, args.clone()).await;
    assert_ne!(r.is_error, Some(true), "{tool} {args}: {:?}", r.content);
    r.structured_content.unwrap_or_else(|| panic!("{tool}: no structured content"))
}

/// The text of a call that must fail as a tool error.
async fn tool_error(client: &Client, tool: &str, args: Value) -> String {
    let r = call(client, tool, args.clone()).await;
    assert_eq!(r.is_error, Some(true), "{tool} {args} should be a tool error: {:?}", r.structured_content);
    r.content.iter().filter_map(|c| c.as_text().map(|t| t.text.clone())).collect::<Vec<_>>().join(" ")
}

/// Wait until the replay reached its last frame (60) so answers are stable.
async fn until_replay_ends(client: &Client) {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let a = ok(client, "analyze_connections", json!({})).await;
        if a["generation"] == 60 {
            return;
        }
        assert!(Instant::now() < deadline, "the replay did not reach frame 60: {}", a["generation"]);
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// `necromap --demo snapshot --frame N` as JSON.
fn snapshot_at(frame: u64) -> Value {
    let out = Command::new(BIN)
        .args(["--demo", "snapshot", "--format", "json", "--frame", &frame.to_string()])
        .env("XDG_DATA_HOME", "/nonexistent")
        .output()
        .expect("snapshot");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    serde_json::from_slice(&out.stdout).expect("json")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_tool_is_listed_read_only_with_schemas() {
    let data = tempfile::tempdir().expect("tmp");
    let client = start(data.path()).await;
    let info = client.peer_info().expect("server info");
    assert_eq!(info.server_info.as_ref().map(|s| s.name.as_str()), Some("necromap"));
    let tools = client.list_all_tools().await.expect("tools");
    let names: BTreeSet<&str> = tools.iter().map(|t| t.name.as_ref()).collect();
    assert_eq!(names, TOOLS.into_iter().collect());
    for t in &tools {
        let a = t.annotations.as_ref().unwrap_or_else(|| panic!("{}: no annotations", t.name));
        assert_eq!(a.read_only_hint, Some(true), "{}", t.name);
        assert_eq!(a.open_world_hint, Some(false), "{}", t.name);
        assert_eq!(t.input_schema.get("additionalProperties"), Some(&Value::Bool(false)), "{}: unknown arguments must be refused", t.name);
        let out = t.output_schema.as_ref().unwrap_or_else(|| panic!("{}: no output schema", t.name));
        assert_eq!(out.get("type"), Some(&json!("object")), "{}", t.name);
        assert!(t.description.as_deref().is_some_and(|d| d.len() > 40), "{}: describe it", t.name);
    }
    client.cancel().await.expect("shutdown");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[allow(clippy::too_many_lines)] // one scenario: each tool in turn against the same replay
async fn every_tool_answers_from_the_replay() {
    let data = tempfile::tempdir().expect("tmp");
    let client = start(data.path()).await;
    until_replay_ends(&client).await;
    let truth = snapshot_at(60);

    // list_connections: the same sockets, owners and states as `snapshot`.
    let all = ok(&client, "list_connections", json!({ "limit": 10000 })).await;
    assert_eq!(all["generation"], 60);
    let sockets = truth["sockets"].as_array().expect("sockets");
    assert_eq!(all["total"].as_u64(), Some(sockets.len() as u64));
    // address:port, with IPv6 in brackets; no remote for a listener or an unconnected UDP socket.
    let endpoint = |ip: &Value, port: &Value| {
        let ip = ip.as_str().expect("address");
        if ip.contains(':') { format!("[{ip}]:{port}") } else { format!("{ip}:{port}") }
    };
    for (mine, theirs) in all["connections"].as_array().expect("list").iter().zip(sockets) {
        for field in ["id", "pid", "state"] {
            assert_eq!(mine[field], theirs[field], "{field} of {}", theirs["id"]);
        }
        assert_eq!(mine["local"].as_str(), Some(endpoint(&theirs["local_address"], &theirs["local_port"]).as_str()), "{mine}");
        if theirs["remote_port"] != 0 {
            assert_eq!(mine["remote"].as_str(), Some(endpoint(&theirs["remote_address"], &theirs["remote_port"]).as_str()), "{mine}");
        }
    }
    let full = ok(&client, "list_connections", json!({ "limit": 1, "detail": "full" })).await;
    assert!(full["connections"][0]["protocol"].is_string() && full["connections"][0]["uid"].is_u64(), "full adds fields: {full}");
    assert!(all["connections"][0].get("uid").is_none(), "brief leaves them out");
    let page = ok(&client, "list_connections", json!({ "limit": 5, "offset": 5, "state": "established" })).await;
    let established = sockets.iter().filter(|s| s["state"] == "ESTABLISHED").count();
    assert_eq!(page["total"].as_u64(), Some(established as u64));
    assert_eq!(page["connections"].as_array().expect("page").len(), 5);
    let shell = ok(&client, "list_connections", json!({ "pid": 3401 })).await;
    assert!(shell["connections"].as_array().expect("list").iter().all(|c| c["pid"] == 3401 && c["severity"] == "critical"), "{shell}");

    // list_processes
    let procs = ok(&client, "list_processes", json!({ "name": "bash", "with_connections": true })).await;
    assert!(
        procs["processes"].as_array().expect("list").iter().any(|p| p["pid"] == 3401 && p["connections"].as_array().is_some_and(|c| !c.is_empty())),
        "{procs}"
    );

    // get_suspicious_connections: the reverse shell, with its findings.
    let sus = ok(&client, "get_suspicious_connections", json!({ "min_severity": "critical" })).await;
    let flagged = sus["connections"].as_array().expect("list");
    assert!(!flagged.is_empty() && flagged.iter().all(|c| c["connection"]["severity"] == "critical"), "{sus}");
    assert!(sus["findings"].as_array().expect("findings").iter().any(|f| f["rule_id"] == "reverse_shell_stdio"));
    // The limit bounds findings too, the page's own first.
    let one = ok(&client, "get_suspicious_connections", json!({ "min_severity": "low", "limit": 1 })).await;
    let findings = one["findings"].as_array().expect("findings");
    assert_eq!(findings.len(), 1, "{one}");
    assert!(one["findings_total"].as_u64().is_some_and(|n| n > 1), "more exist than were returned: {one}");
    let first_ids = one["connections"][0]["finding_ids"].as_array().expect("ids");
    assert!(first_ids.contains(&findings[0]["id"]), "the returned finding is about the returned connection: {one}");
    assert_eq!(one["findings_next_offset"], 1, "{one}");
    let two = ok(&client, "get_suspicious_connections", json!({ "min_severity": "low", "limit": 1, "findings_offset": 1 })).await;
    assert_ne!(two["findings"][0]["id"], findings[0]["id"], "findings_offset pages on: {two}");

    // analyze_connections: counts agree with the snapshot's findings.
    let a = ok(&client, "analyze_connections", json!({ "limit": 10000 })).await;
    let by_sev: u64 = a["findings_by_severity"].as_object().expect("map").values().map(|v| v.as_array().map_or(0, |x| x.len() as u64)).sum();
    assert_eq!(by_sev, truth["findings"].as_array().expect("findings").len() as u64);
    assert_eq!(a["findings_total"], by_sev);
    let brief = ok(&client, "analyze_connections", json!({})).await;
    assert_eq!(brief["findings_listed"], 10, "ten ids by default: {brief}");
    assert_eq!(a["rules_loaded"], necromap::rules::RuleSet::embedded().rules.len());

    // explain_connection, in English and Korean, by pid+remote and by id.
    let ex = ok(&client, "explain_connection", json!({ "pid": 3401, "remote_address": "203.0.113.200" })).await;
    assert!(ex["verdict"].as_str().is_some_and(|v| v.starts_with("critical")), "{ex}");
    let f = ex["findings"].as_array().expect("findings").iter().find(|f| f["rule_id"] == "reverse_shell_stdio").cloned().expect("reverse shell");
    assert!(f["trace"].to_string().contains("fd 0 → socket"), "{f}");
    assert!(ex["steps"].to_string().contains("/proc/3401/fd/0"), "{ex}");
    assert!(ex["rules"]["reverse_shell_stdio"]["explanation"].as_str().is_some_and(|t| t.contains("typing into it")), "{ex}");
    let ko = ok(&client, "explain_connection", json!({ "socket_id": ex["connection"]["id"], "lang": "ko", "detail": "full" })).await;
    let korean = ko["rules"]["reverse_shell_stdio"]["explanation"].as_str().unwrap_or_default();
    assert!(korean.chars().any(|c| ('\u{AC00}'..='\u{D7A3}').contains(&c)), "{ko}");
    let f = ko["findings"].as_array().expect("findings").iter().find(|f| f["rule_id"] == "reverse_shell_stdio").cloned().expect("reverse shell");
    assert!(f["trace"].to_string().contains("stdio_is_socket") && f["steps"].to_string().contains("/proc/3401/fd/0"), "full names conditions: {f}");

    // suggest_investigation
    let inv = ok(&client, "suggest_investigation", json!({ "pid": 3401 })).await;
    assert_eq!(inv["process"]["name"], "bash");
    assert_eq!(inv["severity"], "critical");
    assert!(inv["steps"].to_string().contains("ls -l /proc/3401/exe"), "{inv}");

    // Rules and spec.
    let rules = ok(&client, "get_detection_rules", json!({ "tag": "reverse_shell", "lang": "ko", "detail": "full" })).await;
    assert!(rules["rules"].as_array().expect("rules").iter().all(|r| r["tags"].to_string().contains("reverse_shell")));
    assert!(rules["rules"][0]["match_criteria"].as_object().is_some_and(|m| !m.is_empty() && m.values().all(|v| !v.is_null())));
    let cov = ok(&client, "validate_rule_coverage", json!({})).await;
    assert_eq!(cov["coverage_percent"], 100.0);
    let cons = ok(&client, "analyze_spec_consistency", json!({})).await;
    assert_eq!(cons["consistent"], true, "{cons}");
    let schema = ok(&client, "get_network_map_schema", json!({})).await;
    assert!(schema["spec"]["node_types"]["process"]["fields"]["cmdline"].is_object());
    let draft = ok(&client, "suggest_new_rule", json!({ "pattern_description": "odd listener", "observed_connections": ["tcp:5ce00b0000000000"] })).await;
    assert!(draft["yaml"].as_str().is_some_and(|y| y.contains("31337")), "{draft}");

    // Baseline by lists: only the shell and its remote are known.
    let cmp = ok(&client, "compare_baseline", json!({ "baseline_pids": [3401], "baseline_remotes": ["203.0.113.200"] })).await;
    let new_pids: Vec<u64> = cmp["new_pids"].as_array().expect("pids").iter().filter_map(Value::as_u64).collect();
    assert!(!new_pids.contains(&3401) && new_pids.contains(&812), "{cmp}");
    let new_remotes: Vec<&str> = cmp["new_remote_endpoints"].as_array().expect("remotes").iter().filter_map(Value::as_str).collect();
    assert!(!new_remotes.contains(&"203.0.113.200") && !new_remotes.is_empty(), "{cmp}");

    // Threat tools, answering from memory and saying so.
    let ip = ok(&client, "analyze_ip", json!({ "ip_address": "203.0.113.200" })).await;
    assert!(ip["threat_score"].as_u64().is_some_and(|s| s >= 80), "{ip}");
    assert_eq!(ip["risk_level"], "critical");
    assert_eq!(ip["processes"][0]["pid"], 3401);
    assert!(ip["source"].as_str().is_some_and(|s| s.starts_with("in-memory")));
    let recent = ok(&client, "get_recent_threats", json!({ "severity": "high" })).await;
    assert!(recent["by_severity"].as_object().is_some_and(|m| m.keys().all(|k| k == "high" || k == "critical")), "{recent}");
    let tl = ok(&client, "get_threat_timeline", json!({ "source_ip": "203.0.113.200" })).await;
    let times: Vec<i64> = tl["events"].as_array().expect("events").iter().map(|e| e["time_ms"].as_i64().expect("time")).collect();
    assert!(!times.is_empty() && times.windows(2).all(|w| w[0] <= w[1]), "{tl}");
    assert!(tl["attack_phases"].to_string().contains("command_and_control"), "{tl}");

    client.cancel().await.expect("shutdown");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_arguments_are_tool_errors_and_the_server_keeps_serving() {
    let data = tempfile::tempdir().expect("tmp");
    let client = start(data.path()).await;
    for tool in TOOLS {
        let text = tool_error(&client, tool, json!({ "no_such_argument": 1 })).await;
        assert!(text.contains("unknown field"), "{tool}: {text}");
    }
    let wrong_types = [
        ("list_connections", json!({ "limit": "many" })),
        ("list_connections", json!({ "pid": -1 })),
        ("list_processes", json!({ "with_connections": "yes" })),
        ("get_suspicious_connections", json!({ "lang": "fr" })),
        ("explain_connection", json!({ "remote_port": 70000 })),
        ("suggest_investigation", json!({})),
        ("analyze_ip", json!({ "ip_address": 5 })),
        ("suggest_new_rule", json!({ "observed_connections": "tcp:1" })),
        ("compare_baseline", json!({ "baseline_pids": ["one"] })),
        ("get_threat_timeline", json!({ "hours": 1 })),
        ("propose_blocks", json!({ "allowlist": "10.0.0.0/8" })),
        ("check_posture", json!({ "min_status": 3 })),
    ];
    for (tool, args) in wrong_types {
        tool_error(&client, tool, args).await;
    }
    let out_of_range = [
        ("list_connections", json!({ "limit": 20000 }), "between 1 and 10000"),
        ("list_connections", json!({ "limit": 0 }), "between 1 and 10000"),
        ("list_processes", json!({ "limit": 10001 }), "between 1 and 10000"),
        ("get_detection_rules", json!({ "limit": 0 }), "between 1 and 10000"),
        ("get_recent_threats", json!({ "hours": 0 }), "hours must be"),
        ("list_connections", json!({ "state": "DANCING" }), "unknown state"),
        ("list_connections", json!({ "view": "nope" }), "unknown view"),
        ("list_connections", json!({ "pid": 999_999 }), "no process 999999"),
        ("get_suspicious_connections", json!({ "min_severity": "apocalyptic" }), "unknown severity"),
        ("explain_connection", json!({ "pid": 3401, "remote_address": "192.0.2.99" }), "no socket of pid 3401"),
        ("explain_connection", json!({ "socket_id": "tcp:zz" }), ""),
        ("explain_connection", json!({}), "give socket_id"),
        ("suggest_investigation", json!({ "pid": 999_999 }), "no process 999999"),
        ("analyze_ip", json!({ "ip_address": "not-an-ip" }), "not an IP address"),
        ("compare_baseline", json!({ "baseline": "never-saved" }), "no baseline `never-saved`"),
        ("compare_baseline", json!({ "baseline": "../../etc/passwd" }), "not a path"),
        ("suggest_new_rule", json!({ "pattern_description": "" }), "1 to 500"),
        ("propose_blocks", json!({ "timeout_minutes": 0 }), "between 1 and 10080"),
        ("propose_blocks", json!({ "allowlist": ["not-a-net"] }), "not an address or CIDR"),
        ("get_mcp_calls", json!({ "hours": 0 }), "hours must be"),
        ("list_mcp_servers", json!({ "limit": 0 }), "between 1 and 10000"),
        ("audit_mcp_server", json!({ "server": "x" }), "no event store"),
        ("check_posture", json!({ "policy_yaml": "allow:\n  - { prot: 22 }\n" }), "policy_yaml:2:"),
        ("check_posture", json!({ "policy_file": "/proc/self/status" }), "not a policy"),
        ("check_posture", json!({ "policy_file": "policy.yaml" }), "not an absolute path"),
    ];
    for (tool, args, expect) in out_of_range {
        let text = tool_error(&client, tool, args.clone()).await;
        assert!(text.contains(expect), "{tool} {args}: {text}");
    }
    // Still serving, with the same answers as before.
    let a = ok(&client, "list_connections", json!({ "limit": 1 })).await;
    assert_eq!(a["connections"].as_array().map(Vec::len), Some(1));
    client.cancel().await.expect("shutdown");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn resources_and_prompts() {
    let data = tempfile::tempdir().expect("tmp");
    let client = start(data.path()).await;
    let resources = client.list_all_resources().await.expect("resources");
    let uris: BTreeSet<&str> = resources.iter().map(|r| r.uri.as_str()).collect();
    assert_eq!(
        uris,
        ["dashboard://summary", "necromap://alerts/recent", "necromap://findings", "necromap://rules", "necromap://snapshot", "necromap://spec"]
            .into_iter()
            .collect()
    );
    let text = |r: &rmcp::model::ReadResourceResult| match &r.contents[0] {
        rmcp::model::ResourceContents::TextResourceContents { text, .. } => text.clone(),
        other => panic!("text expected: {other:?}"),
    };
    let read = |uri: &str| client.read_resource(ReadResourceRequestParams::new(uri.to_string()));
    let dash = text(&read("dashboard://summary").await.expect("dashboard"));
    assert!(dash.contains("host crypt-01") && dash.contains("top threat types"), "{dash}");
    let snap: Value = serde_json::from_str(&text(&read("necromap://snapshot").await.expect("snapshot"))).expect("json");
    assert_eq!(snap["format"], "necromap-snapshot");
    assert!(text(&read("necromap://spec").await.expect("spec")).contains("node_types:"));
    let rules: Value = serde_json::from_str(&text(&read("necromap://rules").await.expect("rules"))).expect("json");
    assert_eq!(rules.as_array().map(Vec::len), Some(necromap::rules::RuleSet::embedded().rules.len()));
    let missing = read("necromap://nope").await.expect_err("unknown resource");
    assert!(missing.to_string().contains("no resource necromap://nope"), "{missing}");

    let prompts = client.list_all_prompts().await.expect("prompts");
    let names: BTreeSet<&str> = prompts.iter().map(|p| p.name.as_str()).collect();
    assert_eq!(names, ["investigate_ip", "investigate_process", "triage_host"].into_iter().collect());
    let args = |k: &str, v: &str| serde_json::Map::from_iter([(k.to_string(), json!(v))]);
    let p = client.get_prompt(GetPromptRequestParams::new("investigate_ip").with_arguments(args("ip_address", "203.0.113.200"))).await.expect("prompt");
    let body = serde_json::to_string(&p.messages).expect("json");
    assert!(body.contains("analyze_ip") && body.contains("203.0.113.200"), "{body}");
    let bad = client.get_prompt(GetPromptRequestParams::new("investigate_ip").with_arguments(args("ip_address", "$(rm -rf /)"))).await;
    assert!(bad.is_err(), "a prompt argument that is not an address is refused");
    client.cancel().await.expect("shutdown");
}

#[test]
fn stdin_closed_before_the_handshake_is_a_quiet_exit() {
    let out = Command::new(BIN).args(["--mcp", "--demo"]).stdin(Stdio::null()).env("XDG_DATA_HOME", "/nonexistent").output().expect("run");
    assert!(out.status.success(), "stderr: {}", String::from_utf8_lossy(&out.stderr));
    assert!(out.stdout.is_empty(), "stdout carries only MCP messages: {:?}", String::from_utf8_lossy(&out.stdout));
}

#[test]
fn log_lines_go_to_the_log_file() {
    let dir = tempfile::tempdir().expect("tmp");
    let log = dir.path().join("necromap.log");
    let out = Command::new(BIN)
        .args(["--mcp", "--demo", "--log", log.to_str().expect("utf-8")])
        .stdin(Stdio::null())
        .env("XDG_DATA_HOME", "/nonexistent")
        .output()
        .expect("run");
    assert!(out.status.success());
    assert!(out.stdout.is_empty() && out.stderr.is_empty(), "{:?}", String::from_utf8_lossy(&out.stderr));
    assert!(std::fs::read_to_string(&log).expect("log").contains("ended before the handshake"));
}

/// Malformed lines written straight to the server's stdin get JSON-RPC
/// errors that say what was wrong (with the id when there is one), and the
/// server keeps serving.
#[test]
fn malformed_lines_get_errors_with_their_ids() {
    use std::io::{BufRead, BufReader, Write};
    let data = tempfile::tempdir().expect("tmp");
    let mut child = Command::new(BIN)
        .args(["--mcp", "--demo", "--no-store"])
        .env("XDG_DATA_HOME", data.path())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn");
    let mut stdin = child.stdin.take().expect("stdin");
    let lines = [
        r#"{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"t","version":"1"}}}"#,
        r#"{"jsonrpc":"2.0","method":"notifications/initialized"}"#,
        "hello, not json",
        r#"{"jsonrpc":"2.0","id":2,"method":"tools/list","params":[]}"#,
        r#"{"jsonrpc":"2.0","id":3,"method":"ping"}"#,
    ];
    for l in lines {
        writeln!(stdin, "{l}").expect("write");
    }
    drop(stdin);
    let answers: Vec<Value> = BufReader::new(child.stdout.take().expect("stdout"))
        .lines()
        .map_while(Result::ok)
        .map(|l| serde_json::from_str(&l).unwrap_or_else(|e| panic!("an answer that is not JSON: {l}: {e}")))
        .collect();
    let _ = child.wait();
    let by_id = |id: Value| answers.iter().find(|a| a["id"] == id).unwrap_or_else(|| panic!("no answer with id {id}: {answers:?}"));
    assert_eq!(by_id(json!(null))["error"]["code"], -32700);
    assert_eq!(by_id(json!(2))["error"]["code"], -32602);
    assert_eq!(by_id(json!(3))["result"], json!({}), "the server keeps serving");
}

/// The server refreshing every `interval`, with extra flags (stderr
/// dropped, data directory private).
async fn start_with(data: &std::path::Path, interval: &str, args: &[&std::ffi::OsStr]) -> Client {
    let transport = TokioChildProcess::new(tokio::process::Command::new(BIN).configure(|c| {
        c.args(["--mcp", "--demo", "--interval", interval]).args(args).env("XDG_DATA_HOME", data).stderr(Stdio::null());
    }))
    .expect("spawn necromap --mcp");
    tokio::time::timeout(Duration::from_secs(20), ().serve(transport)).await.expect("handshake in time").expect("handshake")
}

/// Alerting parties the eve test writes: the issue's 50,000, five times
/// what the alert book keeps, so the book forgets 40,000 on the way (in
/// about 1.5 s in a debug build since eviction is O(log n); 27 s before).
const PARTIES: usize = 50_000;
const KEPT: u64 = 10_000;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn many_alerting_parties_page_their_findings_in_small_answers() {
    let data = tempfile::tempdir().expect("tmp");
    let eve = data.path().join("eve.json");
    // One high-severity alert from each of 50,000 loopback parties, dated
    // like the demo replay so they all count as recent.
    let mut lines = String::with_capacity(PARTIES * 320);
    for i in 0..PARTIES {
        let ip = format!("127.{}.{}.{}", 1 + i / 65_536, i / 256 % 256, i % 256);
        writeln!(
            lines,
            r#"{{"timestamp":"2026-11-01T12:00:00.000000+0000","flow_id":{i},"event_type":"alert","src_ip":"{ip}","src_port":40000,"dest_ip":"127.0.0.1","dest_port":22,"proto":"TCP","direction":"to_server","flow":{{"src_ip":"{ip}","dest_ip":"127.0.0.1"}},"alert":{{"action":"allowed","gid":1,"signature_id":{i},"rev":1,"signature":"ET TEST party {i}","category":"Attempted Administrator Privilege Gain","severity":1}}}}"#
        )
        .expect("a string takes it");
    }
    std::fs::write(&eve, lines).expect("eve");
    let started = Instant::now();
    let client = start_with(data.path(), "100ms", &["--no-store".as_ref(), "--eve-from-start".as_ref(), "--eve".as_ref(), eve.as_os_str()]).await;
    let deadline = Instant::now() + Duration::from_secs(60);
    let (first, bytes) = loop {
        let r = call(&client, "get_suspicious_connections", json!({ "limit": 1 })).await;
        let bytes = serde_json::to_vec(&r).expect("json").len();
        let page = r.structured_content.clone().expect("structured");
        if page["findings_total"].as_u64().is_some_and(|n| n >= KEPT) {
            break (page, bytes);
        }
        assert!(Instant::now() < deadline, "the alerts did not reach the map: {page}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    eprintln!("{PARTIES} parties: findings_total {}, answer of {bytes} bytes after {:?}", first["findings_total"], started.elapsed());
    assert!(bytes < 64 * 1024, "answer of {bytes} bytes");
    let findings = first["findings"].as_array().expect("findings");
    assert_eq!(findings.len(), 1, "{first}");
    assert_eq!(first["findings_offset"], 0);
    assert_eq!(first["findings_next_offset"], 1, "{first}");
    // The next page is another finding of the same list (both pages read
    // from one snapshot: the intake may still be reading).
    let next = loop {
        let first = ok(&client, "get_suspicious_connections", json!({ "limit": 1 })).await;
        let next = ok(&client, "get_suspicious_connections", json!({ "limit": 1, "findings_offset": 1 })).await;
        if first["generation"] == next["generation"] {
            let other = next["findings"].as_array().expect("findings");
            assert_eq!(other.len(), 1, "{next}");
            assert_ne!(other[0]["id"], first["findings"][0]["id"], "the next offset pages on");
            break next;
        }
        assert!(Instant::now() < deadline, "no two answers from one snapshot");
    };
    assert_eq!(next["findings_next_offset"], 2);
    // The last page says no more.
    let total = first["findings_total"].as_u64().expect("total");
    let last = ok(&client, "get_suspicious_connections", json!({ "limit": 1, "findings_offset": total - 1 })).await;
    assert!(last.get("findings_next_offset").is_none(), "{last}");
    // The summary answers too, bounded by its limit with the totals.
    let r = call(&client, "analyze_connections", json!({ "limit": 5 })).await;
    assert_ne!(r.is_error, Some(true), "{:?}", r.content);
    let bytes = serde_json::to_vec(&r).expect("json").len();
    let a = r.structured_content.expect("structured");
    assert!(bytes < 64 * 1024, "analyze_connections answer of {bytes} bytes");
    assert_eq!(a["findings_listed"], 5, "{a}");
    assert!(a["findings_total"].as_u64().is_some_and(|n| n >= KEPT), "{a}");
    assert!(a["findings_count_by_severity"]["high"].as_u64().is_some_and(|n| n >= KEPT), "{a}");
    let r = call(&client, "analyze_connections", json!({})).await;
    assert_ne!(r.is_error, Some(true), "the default limit answers: {:?}", r.content);
    client.cancel().await.expect("shutdown");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_first_answer_says_the_store_is_unavailable() {
    let data = tempfile::tempdir().expect("tmp");
    // A slow refresh: the first call is answered from the first snapshot,
    // the one the collector builds as it starts.
    let client = start_with(data.path(), "30s", &["--db".as_ref(), "/proc/nonexistent/x.db".as_ref()]).await;
    // The very first call, with no wait.
    let first = ok(&client, "get_recent_threats", json!({})).await;
    let source = first["source"].as_str().expect("source");
    assert!(source.contains("event store unavailable") && source.contains("/proc/nonexistent"), "{first}");
    // The server keeps running without the store.
    let again = ok(&client, "list_connections", json!({ "limit": 1 })).await;
    assert!(again["total"].as_u64().is_some_and(|n| n > 0), "{again}");
    assert_eq!(again["generation"], first["generation"], "still the first snapshot");
    client.cancel().await.expect("shutdown");
}
