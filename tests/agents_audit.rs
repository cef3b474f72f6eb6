//! `necromap mcp-audit` over client configs in a temporary HOME: every
//! client's file found, each server with where it is defined and what it
//! runs, the static findings (plain-text secret in env, a program in /tmp,
//! unpinned npx/uvx), a poisoned tool once the observer has seen the
//! server, secrets never printed, and hostile names escaped.

mod agents_common;

use std::path::Path;
use std::process::Command;

use agents_common::{BIN, Session, server_command};
use serde_json::{Value, json};

fn write(home: &Path, rel: &str, text: &str) {
    let path = home.join(rel);
    std::fs::create_dir_all(path.parent().expect("parent")).expect("dir");
    std::fs::write(path, text).expect("write");
}

fn configs(home: &Path, poisoned: &[String]) {
    let desktop = json!({"mcpServers": {
        "github": {"command": "npx", "args": ["-y", "@modelcontextprotocol/server-github"], "env": {"GITHUB_PERSONAL_ACCESS_TOKEN": "ghp_abcdefghijklmnopqrstuvwxyz0123456789"}},
        "pinned": {"command": "npx", "args": ["-y", "@modelcontextprotocol/server-filesystem@2025.8.21", "/home/u/project"], "env": {"TOKEN_REF": "${env:TOKEN}"}}
    }});
    write(home, ".config/Claude/claude_desktop_config.json", &desktop.to_string());
    let cursor = json!({"mcpServers": {"helper": {"command": "/tmp/x/helper-server", "args": []}, "calc": {"command": poisoned[0], "args": poisoned[1..]}}});
    write(home, ".cursor/mcp.json", &cursor.to_string());
    write(
        home,
        ".config/Code/User/settings.json",
        "{\n  // the editor's settings\n  \"editor.fontSize\": 13,\n  \"mcp\": { \"servers\": { \"fetch\": { \"command\": \"uvx\", \"args\": [\"mcp-server-fetch\"], }, }, },\n}\n",
    );
    write(home, ".codeium/windsurf/mcp_config.json", r#"{"mcpServers": {"remote": {"serverUrl": "https://mcp.example.com/sse"}}}"#);
    write(
        home,
        ".config/zed/settings.json",
        "{ \"context_servers\": { \"evil\u{202e}name\": { \"command\": { \"path\": \"/usr/bin/node\", \"args\": [\"s.js\"] } } } }",
    );
    write(home, ".claude.json", r#"{"projects": {"/home/u/p": {"mcpServers": {"sqlite": {"command": "uvx", "args": ["mcp-server-sqlite==0.6.2"]}}}}}"#);
}

fn audit(home: &Path, db: &Path, format: &str) -> String {
    let out = Command::new(BIN).arg("--db").arg(db).args(["mcp-audit", "--home"]).arg(home).args(["--format", format]).output().expect("run mcp-audit");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).expect("utf-8")
}

fn findings(server: &Value) -> Vec<String> {
    server["findings"].as_array().into_iter().flatten().filter_map(|f| f["rule"].as_str().map(str::to_owned)).collect()
}

#[test]
fn configs_in_a_temporary_home_are_audited() {
    let tmp = tempfile::tempdir().expect("tmp");
    let home = tmp.path().join("home");
    let db = tmp.path().join("events.db");
    let poisoned = server_command("poisoned");
    configs(&home, &poisoned);
    // The observer sees the poisoned server once (the same command line as configured).
    let mut s = Session::start("poisoned", &home, &db);
    s.ask("tools/list", json!({}));
    assert!(s.finish().success());

    let raw = audit(&home, &db, "json");
    let doc: Value = serde_json::from_str(&raw).expect("JSON");
    let servers = doc["servers"].as_array().expect("servers");
    let by_name = |n: &str| servers.iter().find(|s| s["name"].as_str().is_some_and(|x| x.starts_with(n))).unwrap_or_else(|| panic!("no {n}: {doc}"));
    assert_eq!(servers.len(), 8, "{doc}");
    assert_eq!(doc["files"].as_array().map(Vec::len), Some(6), "{doc}");
    let github = by_name("github");
    assert_eq!((github["client"].as_str(), github["at"].as_str()), (Some("claude_desktop"), Some("mcpServers.github")));
    assert_eq!(findings(github), ["mcp_plaintext_secret_in_env", "mcp_unpinned_package"]);
    assert_eq!(findings(by_name("pinned")), Vec::<String>::new(), "a pinned package with a referenced secret is quiet");
    assert_eq!(findings(by_name("helper")), ["mcp_server_from_temp_path"]);
    assert_eq!(findings(by_name("fetch")), ["mcp_unpinned_package"], "VS Code settings with comments and trailing commas");
    assert_eq!(findings(by_name("sqlite")), Vec::<String>::new());
    assert_eq!(by_name("sqlite")["at"], "projects[/home/u/p].mcpServers.sqlite");
    assert_eq!(by_name("remote")["url"], "https://mcp.example.com/sse");
    assert_eq!(by_name("evil")["command"], "/usr/bin/node");
    let calc = by_name("calc");
    assert_eq!(calc["spec_version"], 1, "{calc}");
    assert_eq!(calc["tools"], json!(["add"]));
    // The test server runs from this checkout: a clone under /tmp is a
    // program run from a temporary path too, and is told so.
    let in_temp = poisoned.iter().take(3).any(|w| ["/tmp/", "/var/tmp/", "/dev/shm/"].iter().any(|t| w.starts_with(t)));
    let mut expected = vec!["mcp_hidden_instructions"];
    if in_temp {
        expected.insert(0, "mcp_server_from_temp_path");
    }
    assert_eq!(findings(calc), expected);
    assert!(doc["rules"]["mcp_hidden_instructions"]["explanation_ko"].as_str().is_some_and(|t| !t.is_empty()));

    let text = audit(&home, &db, "text");
    let total = 5 + usize::from(in_temp);
    assert!(text.starts_with(&format!("8 MCP servers configured in 6 files; {total} findings")), "{text}");
    assert!(text.contains("github  [Claude Desktop]") && text.contains("runs: npx -y @modelcontextprotocol/server-github"), "{text}");
    assert!(text.contains("high     mcp_plaintext_secret_in_env: env GITHUB_PERSONAL_ACCESS_TOKEN holds a literal value (40 characters, not shown)"), "{text}");
    assert!(text.contains("observed; tool list version 1: add"), "{text}");
    assert!(text.contains("evil\\u{202e}name"), "a bidi control in a name is escaped: {text}");
    for out in [&text, &raw] {
        assert!(!out.contains("ghp_abcdefghijklmnop"), "the secret is never printed");
        assert!(!out.contains('\u{202e}'));
    }
}

#[test]
fn an_empty_home_has_nothing_to_audit() {
    let tmp = tempfile::tempdir().expect("tmp");
    let text = audit(tmp.path(), &tmp.path().join("none.db"), "text");
    assert_eq!(text.trim(), "0 MCP servers configured in 0 files; 0 findings");
    assert!(!tmp.path().join("none.db").exists(), "the audit creates no store");
}
