//! The MCP tools over what mcp-observe recorded: `list_mcp_servers`,
//! `get_mcp_calls` (flagged only) and `audit_mcp_server`, asked of
//! `necromap --mcp` over raw JSON-RPC on stdio.

// The helpers take `json!` values by value for short call sites.
#![allow(clippy::needless_pass_by_value)]

mod agents_common;

use std::io::{BufRead, BufReader, Write};
use std::process::{Command, Stdio};

use agents_common::{BIN, Session, fake_home};
use serde_json::{Value, json};

struct Mcp {
    child: std::process::Child,
    input: std::process::ChildStdin,
    output: BufReader<std::process::ChildStdout>,
    id: u64,
}

impl Drop for Mcp {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Mcp {
    /// `necromap --db DB ARGS… --mcp` with `envs`, initialized.
    fn start(db: &std::path::Path, args: &[&str], envs: &[(&str, &std::path::Path)]) -> Self {
        let mut command = Command::new(BIN);
        command.arg("--db").arg(db).args(args).stdin(Stdio::piped()).stdout(Stdio::piped()).stderr(Stdio::null());
        for (k, v) in envs {
            command.env(k, v);
        }
        let mut child = command.spawn().expect("spawn necromap --mcp");
        let input = child.stdin.take().expect("stdin");
        let output = BufReader::new(child.stdout.take().expect("stdout"));
        let mut m = Mcp { child, input, output, id: 0 };
        m.ask("initialize", json!({"protocolVersion": "2025-06-18", "capabilities": {}, "clientInfo": {"name": "t", "version": "1"}}));
        writeln!(m.input, "{}", json!({"jsonrpc": "2.0", "method": "notifications/initialized"})).expect("write");
        m
    }

    fn ask(&mut self, method: &str, params: Value) -> Value {
        self.id += 1;
        writeln!(self.input, "{}", json!({"jsonrpc": "2.0", "id": self.id, "method": method, "params": params})).expect("write");
        self.input.flush().expect("flush");
        loop {
            let mut line = String::new();
            assert!(self.output.read_line(&mut line).expect("read") > 0, "necromap closed stdout");
            let v: Value = serde_json::from_str(&line).expect("JSON");
            if v["id"] == self.id {
                return v["result"].clone();
            }
        }
    }

    fn tool(&mut self, name: &str, arguments: Value) -> Value {
        let r = self.ask("tools/call", json!({"name": name, "arguments": arguments}));
        assert_ne!(r["isError"], true, "{name}: {r}");
        r["structuredContent"].clone()
    }
}

#[test]
fn recorded_servers_calls_and_findings_are_served() {
    let tmp = tempfile::tempdir().expect("tmp");
    let home = fake_home(tmp.path());
    let db = tmp.path().join("events.db");
    let mut s = Session::start("victim", &home, &db);
    s.ask("tools/list", json!({}));
    s.call("read_file", json!({"path": home.join(".ssh/id_rsa")}));
    s.call("read_file", json!({"path": home.join("missing.txt")}));
    assert!(s.finish().success());

    let mut m = Mcp::start(&db, &["--mcp", "--demo", "--interval", "1s"], &[("XDG_DATA_HOME", tmp.path())]);

    let servers = m.tool("list_mcp_servers", json!({}));
    let list = servers["servers"].as_array().expect("servers");
    assert_eq!(list.len(), 1, "{servers}");
    assert_eq!((list[0]["name"].as_str(), list[0]["calls"].as_u64(), list[0]["running"].as_bool()), (Some("test-victim"), Some(2), Some(false)), "{servers}");
    assert_eq!(list[0]["worst"], "high");

    let flagged = m.tool("get_mcp_calls", json!({"server": "victim", "flagged": true}));
    let calls = flagged["calls"].as_array().expect("calls");
    assert_eq!(calls.len(), 1, "only the key read is flagged: {flagged}");
    assert!(calls[0]["arguments"].as_str().is_some_and(|a| a.contains("id_rsa")), "{flagged}");
    assert!(calls[0]["rules"].as_array().is_some_and(|r| r.contains(&json!("mcp_sensitive_file_argument"))), "{flagged}");
    let all = m.tool("get_mcp_calls", json!({"tool": "read_file"}));
    assert_eq!(all["calls"].as_array().map(Vec::len), Some(2));

    let audit = m.tool("audit_mcp_server", json!({"server": "victim", "lang": "ko"}));
    assert_eq!(audit["spec_version"], 1);
    assert_eq!(audit["tools"].as_array().map(Vec::len), Some(2), "{audit}");
    assert!(audit["findings"].as_array().is_some_and(|f| f.iter().any(|f| f["rule"] == "mcp_sensitive_file_result")), "{audit}");
    assert!(audit["explanations"]["mcp_sensitive_file_result"].as_str().is_some_and(|t| t.contains("비밀")), "{audit}");

    let missing = m.ask("tools/call", json!({"name": "audit_mcp_server", "arguments": {"server": "no-such-server"}}));
    assert_eq!(missing["isError"], true, "{missing}");
}

/// A stdio server holds no socket, so the map has no node for it: it is
/// listed by `list_mcp_servers` while it runs (0 sockets), and the host's
/// findings carry its `mcp_server` mark with its pid, name and tools.
#[test]
fn a_running_stdio_server_without_sockets_is_listed_and_marked_on_the_host() {
    let tmp = tempfile::tempdir().expect("tmp");
    let home = tmp.path().join("home");
    std::fs::create_dir_all(&home).expect("home");
    let db = tmp.path().join("events.db");
    let mut s = Session::start("benign", &home, &db);
    s.ask("tools/list", json!({}));
    let conn = necromap::store::open_reader(&db).expect("store");
    let pid = necromap::agents::query::servers(&conn).expect("servers")[0].pid.expect("pid");

    let mut m = Mcp::start(&db, &["--mcp", "--no-trace", "-n", "--interval", "1s"], &[("HOME", &home), ("XDG_DATA_HOME", tmp.path())]);
    let servers = m.tool("list_mcp_servers", json!({}));
    let list = servers["servers"].as_array().expect("servers");
    assert_eq!(list.len(), 1, "{servers}");
    assert_eq!((list[0]["pid"].as_u64(), list[0]["running"].as_bool(), list[0]["sockets"].as_u64()), (Some(u64::from(pid)), Some(true), Some(0)), "{servers}");

    let out = Command::new(BIN).arg("--db").arg(&db).args(["--no-trace", "-n", "snapshot", "--format", "json"]).env("HOME", &home).output().expect("snapshot");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let doc: Value = serde_json::from_slice(&out.stdout).expect("JSON");
    let findings = doc["findings"].as_array().expect("findings");
    let mark = findings
        .iter()
        .find(|f| f["rule_id"] == "mcp_server" && f["subject"]["kind"] == "host")
        .unwrap_or_else(|| panic!("no host mark for the socketless server: {findings:?}"));
    let trace = mark["trace"].to_string();
    assert!(
        trace.contains(&format!("pid {pid} · no network socket")) && trace.contains("test-benign") && trace.contains("list_directory, read_file"),
        "{trace}"
    );
    assert!(s.finish().success());
}
