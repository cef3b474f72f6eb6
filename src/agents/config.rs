//! The MCP servers assistants are configured to run, read (never written)
//! from their configuration files under a home directory (Linux paths):
//!
//! | client | file | where the servers are |
//! |---|---|---|
//! | Claude Desktop | `~/.config/Claude/claude_desktop_config.json` | `mcpServers` |
//! | Claude Code | `~/.claude.json` | `mcpServers`, and `projects.<dir>.mcpServers` |
//! | Claude Code | `.mcp.json` (a project; `--project DIR`) | `mcpServers` |
//! | Cursor | `~/.cursor/mcp.json` | `mcpServers` |
//! | VS Code | `~/.config/Code/User/settings.json` | `mcp.servers` |
//! | VS Code | `~/.config/Code/User/mcp.json` | `servers` |
//! | Windsurf | `~/.codeium/windsurf/mcp_config.json` | `mcpServers` |
//! | Zed | `~/.config/zed/settings.json` | `context_servers` |

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Serialize;
use serde_json::Value;

/// Largest configuration file read.
const FILE_MAX: u64 = 8 << 20;
/// Most servers taken from one file.
const SERVERS_MAX: usize = 500;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Client {
    ClaudeDesktop,
    ClaudeCode,
    Cursor,
    VsCode,
    Windsurf,
    Zed,
}

impl Client {
    pub fn name(self) -> &'static str {
        match self {
            Self::ClaudeDesktop => "Claude Desktop",
            Self::ClaudeCode => "Claude Code",
            Self::Cursor => "Cursor",
            Self::VsCode => "VS Code",
            Self::Windsurf => "Windsurf",
            Self::Zed => "Zed",
        }
    }
}

/// How a file lists its servers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Layout {
    McpServers,
    ClaudeCodeHome,
    VsCodeSettings,
    VsCodeMcp,
    Zed,
}

/// The files looked at, relative to the home directory.
const FILES: &[(Client, &str, Layout)] = &[
    (Client::ClaudeDesktop, ".config/Claude/claude_desktop_config.json", Layout::McpServers),
    (Client::ClaudeCode, ".claude.json", Layout::ClaudeCodeHome),
    (Client::Cursor, ".cursor/mcp.json", Layout::McpServers),
    (Client::VsCode, ".config/Code/User/settings.json", Layout::VsCodeSettings),
    (Client::VsCode, ".config/Code/User/mcp.json", Layout::VsCodeMcp),
    (Client::Windsurf, ".codeium/windsurf/mcp_config.json", Layout::McpServers),
    (Client::Zed, ".config/zed/settings.json", Layout::Zed),
];

/// One configured server.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ConfiguredServer {
    pub client: Client,
    /// The file it is defined in, and where inside it (`mcpServers.NAME`).
    pub file: PathBuf,
    pub at: String,
    pub name: String,
    /// The program, or empty for a remote (URL) server.
    pub command: String,
    pub args: Vec<String>,
    /// Env names with their values (values never printed; the audit judges them).
    #[serde(skip)]
    pub env: BTreeMap<String, String>,
    pub url: Option<String>,
}

impl ConfiguredServer {
    /// The command line the server really runs: behind `necromap mcp-observe --`, the observed one.
    pub fn effective(&self) -> Vec<String> {
        let mut words: Vec<String> = std::iter::once(self.command.clone()).chain(self.args.iter().cloned()).collect();
        let observed = Path::new(&self.command).file_name().is_some_and(|n| n == "necromap") && self.args.first().is_some_and(|a| a == "mcp-observe");
        if observed && let Some(dash) = words.iter().position(|w| w == "--") {
            words = words.split_off(dash + 1);
        }
        words
    }

    /// Whether `necromap mcp-observe` wraps it.
    pub fn observed(&self) -> bool {
        self.effective().len() != self.args.len() + 1
    }
}

/// A file that could not be read or parsed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Unreadable {
    pub file: PathBuf,
    pub reason: String,
}

/// Everything found under one home (and optional project directory).
#[derive(Debug, Default, Serialize)]
pub struct Discovered {
    pub servers: Vec<ConfiguredServer>,
    /// Files that exist and were read.
    pub files: Vec<PathBuf>,
    pub unreadable: Vec<Unreadable>,
}

/// Read every known configuration file under `home`, and `.mcp.json` in `project`.
pub fn discover(home: &Path, project: Option<&Path>) -> Discovered {
    let mut found = Discovered::default();
    let mut files: Vec<(Client, PathBuf, Layout)> = FILES.iter().map(|(c, rel, l)| (*c, home.join(rel), *l)).collect();
    if let Some(dir) = project {
        files.push((Client::ClaudeCode, dir.join(".mcp.json"), Layout::McpServers));
    }
    for (client, path, layout) in files {
        let text = match read(&path) {
            Ok(Some(t)) => t,
            Ok(None) => continue,
            Err(reason) => {
                found.unreadable.push(Unreadable { file: path, reason });
                continue;
            }
        };
        let value: Value = match serde_json::from_str(&super::jsonc::strip(&text)) {
            Ok(v) => v,
            Err(e) => {
                found.unreadable.push(Unreadable { file: path, reason: format!("not JSON: {e}") });
                continue;
            }
        };
        found.files.push(path.clone());
        let mut add = |at: &str, servers: Option<&Value>| {
            let Some(map) = servers.and_then(Value::as_object) else { return };
            for (name, s) in map.iter().take(SERVERS_MAX) {
                if let Some(server) = parse_server(client, &path, &format!("{at}.{name}"), name, s, layout == Layout::Zed) {
                    found.servers.push(server);
                }
            }
        };
        match layout {
            Layout::McpServers => add("mcpServers", value.get("mcpServers")),
            Layout::ClaudeCodeHome => {
                add("mcpServers", value.get("mcpServers"));
                for (dir, p) in value.get("projects").and_then(Value::as_object).into_iter().flatten().take(SERVERS_MAX) {
                    add(&format!("projects[{dir}].mcpServers"), p.get("mcpServers"));
                }
            }
            Layout::VsCodeSettings => add("mcp.servers", value.get("mcp").and_then(|m| m.get("servers"))),
            Layout::VsCodeMcp => add("servers", value.get("servers")),
            Layout::Zed => add("context_servers", value.get("context_servers")),
        }
    }
    found
}

/// A file's text; none when it does not exist.
fn read(path: &Path) -> Result<Option<String>, String> {
    let meta = match std::fs::metadata(path) {
        Ok(m) => m,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(e.to_string()),
    };
    if !meta.is_file() {
        return Err("not a regular file".into());
    }
    if meta.len() > FILE_MAX {
        return Err(format!("{} bytes, over the {} MiB read", meta.len(), FILE_MAX >> 20));
    }
    std::fs::read_to_string(path).map(Some).map_err(|e| e.to_string())
}

fn strings(v: Option<&Value>) -> Vec<String> {
    v.and_then(Value::as_array).into_iter().flatten().filter_map(Value::as_str).take(1000).map(str::to_owned).collect()
}

fn parse_server(client: Client, file: &Path, at: &str, name: &str, s: &Value, zed: bool) -> Option<ConfiguredServer> {
    // Zed: `"command": {"path", "args", "env"}` (older) or flat (newer).
    let (cmd, holder) = match s.get("command") {
        Some(Value::Object(c)) if zed => (c.get("path").and_then(Value::as_str).unwrap_or(""), Value::Object(c.clone())),
        Some(Value::String(c)) => (c.as_str(), s.clone()),
        _ => ("", s.clone()),
    };
    let url = s.get("url").or_else(|| s.get("serverUrl")).and_then(Value::as_str).map(str::to_owned);
    if cmd.is_empty() && url.is_none() {
        return None;
    }
    let env = holder
        .get("env")
        .and_then(Value::as_object)
        .into_iter()
        .flatten()
        .take(1000)
        .map(|(k, v)| (k.clone(), v.as_str().map_or_else(|| v.to_string(), str::to_owned)))
        .collect();
    Some(ConfiguredServer {
        client,
        file: file.to_path_buf(),
        at: at.to_owned(),
        name: name.to_owned(),
        command: cmd.to_owned(),
        args: strings(holder.get("args")),
        env,
        url,
    })
}
