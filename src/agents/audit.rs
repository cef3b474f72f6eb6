//! `necromap mcp-audit`: the configured servers and what a static look
//! finds in them (plain-text secrets in `env`, programs in temporary
//! directories, `npx`/`uvx` packages without a version) and, when the
//! observer has seen the server, in its tools (poisoned descriptions,
//! changes since first seen).

use std::path::Path;

use serde::Serialize;

use super::catalog::{AgentFinding, AgentRule};
use super::config::{ConfiguredServer, Discovered};
use super::detect;
use super::observe::server_key;
use super::redact::{is_secret_key, looks_secret};

/// One configured server, judged.
#[derive(Debug, Serialize)]
pub struct Audited {
    #[serde(flatten)]
    pub server: ConfiguredServer,
    /// Whether `necromap mcp-observe` wraps it.
    pub observed: bool,
    /// The tool-list version the store holds for it, if observed.
    pub spec_version: Option<i64>,
    pub tools: Vec<String>,
    pub findings: Vec<AgentFinding>,
}

/// Judge every discovered server; `store`: a store to read observed specs from.
pub fn audit(found: Discovered, store: Option<&rusqlite::Connection>) -> Vec<Audited> {
    found
        .servers
        .into_iter()
        .map(|server| {
            let mut findings = static_findings(&server);
            let mut spec_version = None;
            let mut tools = Vec::new();
            let key = server_key(&server.effective());
            if let Some(Ok(Some((version, latest, first)))) = store.map(|c| super::query::specs(c, &key)) {
                spec_version = Some(version);
                tools = latest.iter().map(|t| t.name.clone()).collect();
                findings.extend(detect::spec_findings(&latest));
                findings.extend(detect::rugpull::changed(&first, &latest));
            }
            Audited { observed: server.observed(), server, spec_version, tools, findings }
        })
        .collect()
}

/// A value that refers to a secret kept elsewhere rather than holding it.
fn is_reference(v: &str) -> bool {
    let v = v.trim();
    v.is_empty()
        || v.starts_with('$')
        || v.starts_with("op://")
        || v.starts_with("{{")
        || v.contains("${")
        || v.starts_with('<')
        || v.eq_ignore_ascii_case("changeme")
}

pub fn static_findings(s: &ConfiguredServer) -> Vec<AgentFinding> {
    let mut out = Vec::new();
    let tool = None;
    for (k, v) in &s.env {
        if (is_secret_key(k) || looks_secret(v)) && !is_reference(v) {
            out.push(AgentFinding::new(
                AgentRule::PlaintextSecretInEnv,
                tool,
                &format!("env {k} holds a literal value ({} characters, not shown)", v.chars().count()),
            ));
        }
    }
    let words = s.effective();
    let temp = |w: &String| ["/tmp/", "/var/tmp/", "/dev/shm/"].iter().any(|t| w.starts_with(t));
    if let Some(w) = words.iter().take(3).find(|w| temp(w)) {
        out.push(AgentFinding::new(AgentRule::ServerFromTempPath, tool, &format!("runs {}", crate::text::bounded(w, 200))));
    }
    if let Some(pkg) = unpinned(&words) {
        out.push(AgentFinding::new(AgentRule::UnpinnedPackage, tool, &format!("{} {pkg}", words.first().map_or("", |w| base(w)))));
    }
    out
}

fn base(w: &str) -> &str {
    Path::new(w).file_name().and_then(|n| n.to_str()).unwrap_or(w)
}

/// The package an `npx`/`bunx`/`pnpx`/`uvx` line runs, when it names no version.
pub fn unpinned(words: &[String]) -> Option<String> {
    let runner = base(words.first()?);
    let (python, rest) = match runner {
        "npx" | "bunx" | "pnpx" => (false, &words[1..]),
        "uvx" => (true, &words[1..]),
        "pnpm" | "npm" | "bun" | "yarn" if words.get(1).is_some_and(|w| matches!(w.as_str(), "dlx" | "exec" | "x")) => (false, &words[2..]),
        "uv" if words.get(1).is_some_and(|w| w == "tool") && words.get(2).is_some_and(|w| w == "run") => (true, &words[3..]),
        _ => return None,
    };
    let mut it = rest.iter();
    let mut package = None;
    while let Some(w) = it.next() {
        if let Some(p) = w.strip_prefix("--package=").or_else(|| w.strip_prefix("--from=")) {
            package = Some(p.to_owned());
            break;
        }
        if matches!(w.as_str(), "-p" | "--package" | "--from") {
            package = it.next().cloned();
            break;
        }
        if w.starts_with('-') {
            continue;
        }
        package = Some(w.clone());
        break;
    }
    let package = package?;
    if package.starts_with(['.', '/', '~']) || package.contains("://") {
        return None;
    }
    let pinned = if python {
        package.contains("==") || package.contains('@')
    } else {
        package.rfind('@').is_some_and(|at| at > 0 && !package[at + 1..].is_empty() && package[at + 1..] != *"latest")
    };
    (!pinned).then_some(package)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn words(s: &str) -> Vec<String> {
        s.split(' ').map(str::to_owned).collect()
    }

    #[test]
    fn unpinned_packages() {
        assert_eq!(unpinned(&words("npx -y @modelcontextprotocol/server-filesystem /home/u")).as_deref(), Some("@modelcontextprotocol/server-filesystem"));
        assert_eq!(unpinned(&words("npx -y @modelcontextprotocol/server-filesystem@2025.8.21 /x")), None);
        assert_eq!(unpinned(&words("npx mcp-remote@latest")).as_deref(), Some("mcp-remote@latest"));
        assert_eq!(unpinned(&words("uvx mcp-server-fetch")).as_deref(), Some("mcp-server-fetch"));
        assert_eq!(unpinned(&words("uvx mcp-server-fetch==2025.4.7")), None);
        assert_eq!(unpinned(&words("uvx --from git+https://x/y mcp")), None);
        assert_eq!(unpinned(&words("/usr/bin/node server.js")), None);
    }

    #[test]
    fn references_are_not_secrets() {
        for v in ["${GITHUB_TOKEN}", "$TOKEN", "op://vault/item", ""] {
            assert!(is_reference(v), "{v}");
        }
        assert!(!is_reference("ghp_abcdefghijklmnopqrstuvwxyz0123456789"));
    }
}
