//! The explorer and the MCP server modes.

use std::io::Write;

use anyhow::{Context, Result, bail};
use necromap::export::summary_text;

use super::setup::load_spec;
use super::snapshot::one_snapshot;
use super::{pipeline, serve};
use crate::cmd::cli::Cli;

/// The interactive explorer over a live collector. Without a terminal
/// (output piped), prints the summary instead.
pub fn explore(cli: &Cli, config: &necromap::config::Config) -> Result<()> {
    use std::io::IsTerminal;
    let spec = load_spec(cli)?;
    let served = served_at(cli)?;
    if !std::io::stdout().is_terminal() {
        if let (Some(addr), Some(_)) = (served, cli.web) {
            let pipeline = pipeline::start(cli, spec.clone())?;
            let state = serve::state(cli, spec, &pipeline)?;
            return serve::web_headless(cli, state, addr);
        }
        if cli.serve_mcp.is_some() {
            bail!("--serve-mcp runs beside the explorer, which needs a terminal; for a headless server use --mcp --http ADDR");
        }
        let snapshot = one_snapshot(cli, spec, None)?;
        std::io::stdout().lock().write_all(summary_text(&snapshot, 10).as_bytes())?;
        return Ok(());
    }
    let initial_view = match &cli.view {
        Some(name) => Some(spec.views.get_index_of(name).with_context(|| {
            let names: Vec<&str> = spec.views.keys().map(String::as_str).collect();
            format!("view `{name}` ({}): no such view; the spec has {}", config.view.origin, names.join(", "))
        })?),
        None => None,
    };
    let pipeline = pipeline::start(cli, spec.clone())?;
    let state = serve::state(cli, spec.clone(), &pipeline)?;
    // The MCP endpoint, when asked for, runs beside the explorer on the same snapshots.
    let beside = match served {
        Some(addr) => Some(serve::beside_tui(state, cli, addr)?),
        None => None,
    };
    let plain = cli.ascii || std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty());
    let mcp_note = beside.as_ref().map(|b| b.note.clone());
    necromap::tui::explore(
        &pipeline.collector,
        spec,
        necromap::tui::Options {
            plain,
            initial_view,
            mcp_note,
            look: super::look::of(config),
            bell: config.bell.value,
            keymap: necromap::tui::keymap::Keymap::with_overrides(&config.keys.value),
            ..necromap::tui::Options::default()
        },
    )?;
    drop(beside);
    drop(pipeline);
    Ok(())
}

/// Where `--serve-mcp` and `--web` serve: one port for both (MCP at
/// `/mcp`, the web view at `/`).
fn served_at(cli: &Cli) -> Result<Option<std::net::SocketAddr>> {
    match (cli.serve_mcp.flatten(), cli.web.flatten()) {
        (Some(a), Some(b)) if a != b => bail!("--serve-mcp {a} and --web {b}: one port serves both MCP and the web view; give the address once"),
        (a, b) => Ok(a.or(b)),
    }
}

/// `--mcp`: the server alone, over stdio or HTTP, on a live collector.
pub fn mcp(cli: &Cli) -> Result<()> {
    let spec = load_spec(cli)?;
    let pipeline = pipeline::start(cli, spec.clone())?;
    let state = serve::state(cli, spec, &pipeline)?;
    serve::headless(cli, state)
}
