//! The settings in force: the config file and `NECROMAP_*` variables
//! (library `config`), then the flags on top; the result is written back
//! into the flags every command reads, so each command sees one set of
//! values whatever layer they came from.

use anyhow::Result;
use necromap::config::{Config, Icons, Origin};

use crate::cmd::cli::Cli;

/// Load the layers, put the flags over them, and write the effective values into `cli`.
pub fn resolve(cli: &mut Cli) -> Result<Config> {
    let mut config = Config::load(cli.config.as_deref(), &|name| std::env::var(name).ok())?;
    flags_over(&mut config, cli);
    write_back(&config, cli);
    Ok(config)
}

fn flags_over(config: &mut Config, cli: &Cli) {
    if let Some(d) = cli.interval {
        config.interval.set(Some(d), Origin::Flag("--interval"));
    }
    if let Some(v) = &cli.view {
        config.view.set(Some(v.clone()), Origin::Flag("--view"));
    }
    if let Some(t) = cli.theme {
        config.theme.set(t, Origin::Flag("--theme"));
    }
    if cli.ascii {
        config.icons.set(Icons::Ascii, Origin::Flag("--ascii"));
    }
    if cli.no_resolve {
        config.resolve.set(false, Origin::Flag("--no-resolve"));
    } else if cli.resolve {
        config.resolve.set(true, Origin::Flag("--resolve"));
    }
    if cli.no_bell {
        config.bell.set(false, Origin::Flag("--no-bell"));
    }
    if let Some(db) = &cli.db {
        config.store_path.set(Some(db.clone()), Origin::Flag("--db"));
    }
    if let Some(f) = &cli.fleet {
        config.fleet.set(Some(f.clone()), Origin::Flag("--fleet"));
    }
    if let Some(r) = cli.retention {
        config.retention.set(r, Origin::Flag("--retention"));
    }
    if let Some(Some(addr)) = cli.serve_mcp {
        config.mcp_address.set(addr, Origin::Flag("--serve-mcp"));
    } else if let Some(Some(addr)) = cli.web {
        config.mcp_address.set(addr, Origin::Flag("--web"));
    } else if let Some(Some(addr)) = cli.http {
        config.mcp_address.set(addr, Origin::Flag("--http"));
    }
}

fn write_back(config: &Config, cli: &mut Cli) {
    cli.interval = config.interval.value;
    // A configured view is where the explorer starts; `--view` also
    // filters `snapshot` and `summary`, a file setting does not.
    if cli.command.is_none() {
        cli.view.clone_from(&config.view.value);
    }
    cli.no_resolve = !config.resolve.value;
    // A replay keeps no store unless --db says so (a configured store is the live host's).
    if cli.db.is_none() && !(cli.demo || cli.replay.is_some()) {
        cli.db.clone_from(&config.store_path.value);
    }
    cli.retention = Some(config.retention.value);
    let addr = config.mcp_address.value;
    cli.serve_mcp = cli.serve_mcp.map(|a| Some(a.unwrap_or(addr)));
    cli.http = cli.http.map(|a| Some(a.unwrap_or(addr)));
    cli.web = cli.web.map(|a| Some(a.unwrap_or(addr)));
}
