//! `necromap mcp-observe -- COMMAND …`: the store to record in, then the
//! relay (`necromap::agents::observe`). Returns the exit code to leave with.
//! `necromap mcp-observe --http URL --listen ADDR`: the same store, the
//! HTTP relay (`necromap::agents::http_relay`) until INT or TERM.

use std::ffi::OsString;
use std::path::PathBuf;

use anyhow::Result;

use super::cli::Cli;

/// Where the observer records: `--db`, `NECROMAP_STORE`, else the default
/// store; none with `--no-store`.
fn store_path(cli: &Cli) -> Option<PathBuf> {
    if cli.no_store {
        return None;
    }
    cli.db.clone().or_else(|| std::env::var_os("NECROMAP_STORE").filter(|v| !v.is_empty()).map(PathBuf::from)).or_else(|| necromap::store::default_path().ok())
}

pub fn observe(cli: &Cli, command: &[OsString]) -> Result<i32> {
    let observed = necromap::agents::observe::observe(command, store_path(cli))?;
    let r = &observed.report;
    if !r.findings.is_empty() || r.malformed > 0 {
        eprintln!("necromap mcp-observe: {} calls, {} findings, {} malformed lines", r.calls, r.findings.len(), r.malformed);
    }
    Ok(observed.exit_code())
}

pub fn observe_http(cli: &Cli, url: &str, listen: std::net::SocketAddr) -> Result<()> {
    use necromap::agents::http_relay::{HttpObserveOptions, Upstream, observe_http};
    let upstream = Upstream::parse(url)?;
    let options = HttpObserveOptions { upstream: upstream.clone(), listen, store: store_path(cli) };
    let r = observe_http(&options, |bound| {
        eprintln!("necromap mcp-observe: relaying http://{bound}{} to {} (point the client at the first)", upstream.path, upstream.shown);
    })?;
    eprintln!("necromap mcp-observe: {} calls, {} findings, {} malformed messages", r.calls, r.findings.len(), r.malformed);
    Ok(())
}
