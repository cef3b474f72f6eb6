//! Shared by the agents tests: an observed test server (`tests/agents/server.py`)
//! driven over raw JSON-RPC, killed and reaped on drop.

// Each test binary uses part of it; helpers take `json!` values by value for short call sites.
#![allow(dead_code, clippy::needless_pass_by_value)]

use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, ChildStdout, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

pub const BIN: &str = env!("CARGO_BIN_EXE_necromap");

pub fn server_script() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/agents/server.py")
}

/// The server's command line, as a client config would give it.
pub fn server_command(mode: &str) -> Vec<String> {
    vec!["python3".into(), server_script().to_string_lossy().into_owned(), mode.into()]
}

pub struct Session {
    child: Child,
    input: Option<ChildStdin>,
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
    /// `necromap --db DB mcp-observe -- python3 server.py MODE`, with HOME set.
    pub fn start(mode: &str, home: &Path, db: &Path) -> Self {
        let mut child = Command::new(BIN)
            .arg("--db")
            .arg(db)
            .args(["mcp-observe", "--"])
            .args(server_command(mode))
            .env("HOME", home)
            .env("XDG_CONFIG_HOME", home.join(".config"))
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("spawn necromap mcp-observe");
        let input = child.stdin.take();
        let output = BufReader::new(child.stdout.take().expect("stdout"));
        let mut me = Self { child, input, output, next_id: 0 };
        let init = me.ask("initialize", json!({"protocolVersion": "2025-06-18", "capabilities": {}, "clientInfo": {"name": "test", "version": "1"}}));
        assert_eq!(init["serverInfo"]["name"], format!("test-{mode}"), "{init}");
        me.send(&json!({"jsonrpc": "2.0", "method": "notifications/initialized"}));
        me
    }

    pub fn send(&mut self, message: &Value) {
        let input = self.input.as_mut().expect("stdin open");
        writeln!(input, "{message}").expect("write");
        input.flush().expect("flush");
    }

    pub fn ask(&mut self, method: &str, params: Value) -> Value {
        self.next_id += 1;
        let id = self.next_id;
        self.send(&json!({"jsonrpc": "2.0", "id": id, "method": method, "params": params}));
        let mut line = String::new();
        assert!(self.output.read_line(&mut line).expect("read") > 0, "the observer closed stdout");
        let v: Value = serde_json::from_str(&line).expect("a JSON line");
        assert_eq!(v["id"], id, "{v}");
        v["result"].clone()
    }

    pub fn call(&mut self, tool: &str, arguments: Value) -> Value {
        self.ask("tools/call", json!({"name": tool, "arguments": arguments}))
    }

    /// Close stdin and wait (at most 20 s) for the observer to exit.
    pub fn finish(mut self) -> ExitStatus {
        self.input = None;
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            if let Some(status) = self.child.try_wait().expect("wait") {
                return status;
            }
            assert!(Instant::now() < deadline, "the observer did not exit after stdin closed");
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

/// (rule id, tool) of every stored MCP finding.
pub fn stored_rules(db: &Path) -> Vec<(String, Option<String>)> {
    let conn = necromap::store::open_reader(db).expect("open store");
    let mut out: Vec<(String, Option<String>)> =
        necromap::agents::query::findings(&conn, "", 0, 1000).expect("findings").into_iter().map(|f| (f.rule.id().to_string(), f.tool)).collect();
    out.sort();
    out
}

pub fn has(rules: &[(String, Option<String>)], rule: &str, tool: Option<&str>) -> bool {
    rules.iter().any(|(r, t)| r == rule && t.as_deref() == tool)
}

/// A temporary HOME under `tmp` holding a fake SSH key (`.ssh/id_rsa`),
/// what the victim server is asked to read.
pub fn fake_home(tmp: &Path) -> PathBuf {
    let home = tmp.join("home");
    std::fs::create_dir_all(home.join(".ssh")).expect("home");
    std::fs::write(home.join(".ssh/id_rsa"), "-----BEGIN OPENSSH PRIVATE KEY-----\nFAKE\n").expect("key");
    home
}
