//! `necromap mcp-audit`: configured MCP servers and their static findings,
//! as text or JSON. Every string from a config file or a server is bounded
//! and escaped before it is printed.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::Path;

use anyhow::{Context, Result};

use super::cli::{Cli, DiffFormat};
use necromap::agents::audit::{Audited, audit as judge};
use necromap::agents::config::discover;
use necromap::text::{bounded, escape_control};

fn show(s: &str, max: usize) -> String {
    escape_control(&bounded(s, max))
}

pub fn audit(cli: &Cli, home: Option<&Path>, project: Option<&Path>, format: DiffFormat) -> Result<()> {
    let home = match home {
        Some(h) => h.to_path_buf(),
        None => std::env::var_os("HOME").map(std::path::PathBuf::from).context("no home directory: set HOME or give --home DIR")?,
    };
    let found = discover(&home, project);
    let files = found.files.clone();
    let unreadable = found.unreadable.clone();
    // The store is only read, and only when it exists.
    let store_path = if cli.no_store { None } else { cli.db.clone().or_else(|| necromap::store::default_path().ok()) };
    let store = store_path.filter(|p| p.is_file()).and_then(|p| necromap::store::open_reader(&p).ok());
    let servers = judge(found, store.as_ref());
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    match format {
        DiffFormat::Json => {
            let mut rules = BTreeMap::new();
            for f in servers.iter().flat_map(|s| &s.findings) {
                rules.insert(
                    f.rule.id(),
                    serde_json::json!({"name": f.rule.name(), "explanation": f.rule.explanation(), "explanation_ko": f.rule.explanation_ko()}),
                );
            }
            let doc = serde_json::json!({"home": home, "files": files, "unreadable": unreadable, "servers": servers, "rules": rules});
            let text = serde_json::to_string_pretty(&doc)?;
            writeln!(out, "{}", necromap::text::json_escape_unsafe(&text))?;
        }
        DiffFormat::Text => write_text(&mut out, &servers, files.len(), &unreadable)?,
    }
    Ok(())
}

fn write_text(out: &mut impl Write, servers: &[Audited], files: usize, unreadable: &[necromap::agents::config::Unreadable]) -> Result<()> {
    let findings: usize = servers.iter().map(|s| s.findings.len()).sum();
    writeln!(out, "{} MCP servers configured in {files} files; {findings} findings", servers.len())?;
    for u in unreadable {
        writeln!(out, "  cannot read {}: {}", show(&u.file.to_string_lossy(), 300), show(&u.reason, 300))?;
    }
    for a in servers {
        let s = &a.server;
        writeln!(out)?;
        writeln!(out, "{}  [{}]  {} at {}", show(&s.name, 100), s.client.name(), show(&s.file.to_string_lossy(), 300), show(&s.at, 200))?;
        match &s.url {
            Some(url) if s.command.is_empty() => writeln!(out, "  url: {}", show(url, 300))?,
            _ => writeln!(out, "  runs: {}", show(&s.effective().join(" "), 400))?,
        }
        let observed = match (a.observed, a.spec_version) {
            (_, Some(v)) => format!("observed; tool list version {v}: {}", show(&a.tools.join(", "), 400)),
            (true, None) => "wrapped by necromap mcp-observe; no tool list stored yet".into(),
            (false, None) => "not observed (wrap it with necromap mcp-observe to record its tools and calls)".into(),
        };
        writeln!(out, "  {observed}")?;
        if !s.env.is_empty() {
            let names: Vec<&str> = s.env.keys().map(String::as_str).collect();
            writeln!(out, "  env: {}", show(&names.join(", "), 300))?;
        }
        for f in &a.findings {
            let tool = f.tool.as_deref().map(|t| format!(" [{}]", show(t, 100))).unwrap_or_default();
            writeln!(out, "  {:<8} {}{tool}: {}", f.severity.name(), f.rule.id(), show(&f.evidence, 300))?;
        }
    }
    Ok(())
}
