//! What the MCP server costs a model, in bytes, on the demo host
//! (`--mcp --demo --no-store`, replayed to its last frame): measured on the
//! wire, over raw JSON-RPC on stdio, and failing past issue 16's limits.
//!
//! A tool answer carries its structured content twice (as JSON and as the
//! text block beside it); a model reads one of them, so sizes are those of
//! the text block, which must be the compact JSON of the structured
//! content. `tools/list` is measured whole.

use std::io::{BufRead, BufReader, Write};
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

const BIN: &str = env!("CARGO_BIN_EXE_necromap");

/// The limits (bytes).
const TOOLS_LIST_MAX: usize = 25 * 1024;
const TOOL_SCHEMAS_MAX: usize = 3 * 1024;
const ROW_AVERAGE_MAX: usize = 250;
const EXPLAIN_MAX: usize = 4 * 1024;
const SUMMARY_MAX: usize = 2 * 1024;

struct Session {
    child: Child,
    input: ChildStdin,
    output: BufReader<ChildStdout>,
    next_id: u64,
}

impl Drop for Session {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Session {
    fn start(data: &std::path::Path) -> Self {
        let mut child = Command::new(BIN)
            .args(["--mcp", "--demo", "--no-store", "--interval", "100ms"])
            .env("XDG_DATA_HOME", data)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("spawn necromap --mcp");
        let input = child.stdin.take().expect("stdin");
        let output = BufReader::new(child.stdout.take().expect("stdout"));
        let mut me = Self { child, input, output, next_id: 0 };
        let (_, init) = me.ask("initialize", json!({ "protocolVersion": "2025-11-25", "capabilities": {}, "clientInfo": { "name": "sizes", "version": "1" } }));
        assert_eq!(init["protocolVersion"], "2025-11-25", "{init}");
        me.send(&json!({ "jsonrpc": "2.0", "method": "notifications/initialized" }));
        me
    }

    fn send(&mut self, message: &Value) {
        writeln!(self.input, "{message}").expect("write");
        self.input.flush().expect("flush");
    }

    /// One request: the whole answer line as sent, and its result.
    fn ask(&mut self, method: &str, params: Value) -> (String, Value) {
        self.next_id += 1;
        let id = self.next_id;
        let mut message = json!({ "jsonrpc": "2.0", "id": id, "method": method });
        message["params"] = params;
        self.send(&message);
        loop {
            let mut line = String::new();
            assert!(self.output.read_line(&mut line).expect("read") > 0, "the server closed stdout");
            let v: Value = serde_json::from_str(&line).expect("a JSON line");
            if v["id"] == id {
                assert!(v.get("error").is_none(), "{method}: {v}");
                return (line.trim_end().to_string(), v["result"].clone());
            }
        }
    }

    /// A tool's text block (checked to be the compact JSON of its
    /// structured content, which has no null or empty field) and that
    /// content.
    fn tool(&mut self, name: &str, arguments: Value) -> (String, Value) {
        let mut params = json!({ "name": name });
        params["arguments"] = arguments;
        let (_, result) = self.ask("tools/call", params);
        assert_ne!(result["isError"], true, "{name}: {result}");
        let structured = result["structuredContent"].clone();
        let text = result["content"][0]["text"].as_str().expect("a text block").to_string();
        assert_eq!(result["content"].as_array().map(Vec::len), Some(1), "{name}: one text block");
        assert_eq!(text, serde_json::to_string(&structured).expect("json"), "{name}: the text block is the compact JSON of the structured content");
        assert_no_empty(name, &structured);
        (text, structured)
    }

    fn resource_text(&mut self, uri: &str) -> String {
        let (_, result) = self.ask("resources/read", json!({ "uri": uri }));
        result["contents"][0]["text"].as_str().expect("text").to_string()
    }
}

/// No object in `v` has a null or empty value.
fn assert_no_empty(what: &str, v: &Value) {
    match v {
        Value::Object(obj) => {
            for (k, x) in obj {
                let empty = match x {
                    Value::Null => true,
                    Value::String(s) => s.is_empty(),
                    Value::Array(a) => a.is_empty(),
                    Value::Object(o) => o.is_empty(),
                    _ => false,
                };
                assert!(!empty, "{what}: field `{k}` is {x}");
                assert_no_empty(what, x);
            }
        }
        Value::Array(items) => items.iter().for_each(|x| assert_no_empty(what, x)),
        _ => {}
    }
}

fn until_replay_ends(server: &mut Session) {
    let deadline = Instant::now() + Duration::from_secs(60);
    while server.tool("analyze_connections", json!({})).1["generation"] != 60 {
        assert!(Instant::now() < deadline, "the replay did not reach frame 60");
        std::thread::sleep(Duration::from_millis(200));
    }
}

#[test]
fn answers_and_schemas_fit_a_models_context() {
    let data = tempfile::tempdir().expect("tmp");
    let mut server = Session::start(data.path());
    until_replay_ends(&mut server);
    let mut report = Vec::new();

    // tools/list, whole, and each tool's schemas.
    let (line, tools) = server.ask("tools/list", json!({}));
    report.push(format!("tools/list {} B", line.len()));
    assert!(line.len() <= TOOLS_LIST_MAX, "tools/list is {} bytes, over {TOOLS_LIST_MAX}", line.len());
    for t in tools["tools"].as_array().expect("tools") {
        let name = t["name"].as_str().expect("name");
        let schemas = t["inputSchema"].to_string().len() + t.get("outputSchema").map_or(0, |o| o.to_string().len());
        assert!(schemas <= TOOL_SCHEMAS_MAX, "{name}: input and output schemas are {schemas} bytes, over {TOOL_SCHEMAS_MAX}");
        let text = format!("{}{}", t["inputSchema"], t["outputSchema"]);
        for needless in [r#""type":"null""#, r#""default":"""#, r#""required":[]"#, r#""format":"uint"#, r#""$schema""#] {
            assert!(!text.contains(needless), "{name}: its schemas carry {needless}");
        }
        if let Some(limit) = t["inputSchema"]["properties"].get("limit") {
            assert_eq!(limit["minimum"], 1, "{name}: limit 0 is refused, so the schema says minimum 1");
        }
        let description = t["description"].as_str().unwrap_or_default();
        assert!(description.len() <= 320, "{name}: one or two sentences, not {} bytes", description.len());
    }

    // A default page of list_connections.
    let (text, page) = server.tool("list_connections", json!({}));
    let rows = page["connections"].as_array().expect("rows").len();
    assert_eq!(rows, 100, "the default page");
    assert!(page["total"].as_u64().is_some_and(|t| t > 100) && page["next_offset"] == 100, "total and next_offset: {}", page["total"]);
    report.push(format!("list_connections {} B for {rows} rows, {} B/row", text.len(), text.len() / rows));
    assert!(text.len() / rows <= ROW_AVERAGE_MAX, "list_connections: {} bytes a row on average, over {ROW_AVERAGE_MAX}", text.len() / rows);

    // The reverse shell, explained.
    let (text, ex) = server.tool("explain_connection", json!({ "pid": 3401, "remote_address": "203.0.113.200" }));
    report.push(format!("explain_connection {} B", text.len()));
    assert!(text.len() <= EXPLAIN_MAX, "explain_connection of the reverse shell: {} bytes, over {EXPLAIN_MAX}", text.len());
    let rules = ex["rules"].as_object().expect("rule notes");
    assert_eq!(rules.len(), ex["findings"].as_array().map(Vec::len).unwrap_or_default(), "one note per rule: {ex}");
    assert_eq!(text.matches("someone else is typing into it").count(), 1, "an explanation is given once");
    let steps = ex["steps"].as_array().expect("steps");
    assert!(steps.iter().any(|s| s.as_str().is_some_and(|s| s.contains("/proc/3401/fd/0"))), "{ex}");
    assert!(ex["process"]["ancestors"].to_string().contains("nginx"), "the parent chain: {ex}");

    // Summaries first.
    let (text, summary) = server.tool("analyze_connections", json!({}));
    report.push(format!("analyze_connections {} B", text.len()));
    assert!(text.len() <= SUMMARY_MAX, "analyze_connections: {} bytes, over {SUMMARY_MAX}", text.len());
    assert!(summary["next"].as_str().is_some_and(|n| n.contains("explain_connection") && n.contains("get_suspicious_connections")), "{summary}");
    let dashboard = server.resource_text("dashboard://summary");
    report.push(format!("dashboard://summary {} B", dashboard.len()));
    assert!(dashboard.len() <= SUMMARY_MAX, "dashboard://summary: {} bytes, over {SUMMARY_MAX}", dashboard.len());
    assert!(dashboard.contains("explain_connection"), "{dashboard}");

    // Lists say where to go on.
    for (tool, args, list) in [
        ("list_processes", json!({ "limit": 3 }), "processes"),
        ("get_detection_rules", json!({ "limit": 3 }), "rules"),
        ("get_suspicious_connections", json!({ "limit": 1, "min_severity": "low" }), "connections"),
    ] {
        let (_, v) = server.tool(tool, args);
        let shown = v[list].as_array().map_or(0, Vec::len) as u64;
        assert!(shown > 0 && v["total"].as_u64() > Some(shown), "{tool}: a page and the total: {v}");
        assert!(v["next_offset"].is_u64(), "{tool}: the next offset: {v}");
    }

    // Resources: JSON without nulls.
    let rules = server.resource_text("necromap://rules");
    report.push(format!("necromap://rules {} B", rules.len()));
    assert!(!rules.contains(":null"), "necromap://rules carries nulls");
    let findings: Value = serde_json::from_str(&server.resource_text("necromap://findings")).expect("json");
    assert_no_empty("necromap://findings", &findings);
    assert!(findings["total"].as_u64().is_some_and(|t| t > 0), "{findings}");
    eprintln!("sizes on the demo host: {}", report.join(", "));
}
