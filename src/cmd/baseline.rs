//! `necromap baseline save|compare|list`.

use anyhow::{Context, Result, bail};
use necromap::baseline::Baseline;
use necromap::baseline::saved;

use super::pipeline;
use super::setup::load_spec;
use super::snapshot::one_snapshot;
use crate::cmd::cli::{BaselineAction, Cli, DiffFormat};

pub fn baseline_command(cli: &Cli, action: &BaselineAction) -> Result<()> {
    let store = pipeline::store_path(cli)?;
    let store = store.as_deref();
    match action {
        BaselineAction::Save { name, force } => {
            let name = name.as_deref().unwrap_or("default");
            if saved::exists(name, store) && !force {
                bail!("baseline `{name}` exists; add --force to replace it");
            }
            let snapshot = one_snapshot(cli, load_spec(cli)?, None)?;
            let baseline = Baseline::from_snapshot(name, &snapshot);
            let place = saved::save(&baseline, name, store)?;
            println!(
                "saved baseline `{name}` to {place}: {} processes, {} remote endpoints, {} remote names, {} listeners",
                baseline.processes.len(),
                baseline.remote_endpoints.len(),
                baseline.remote_names.len(),
                baseline.listeners.len()
            );
        }
        BaselineAction::Compare { name, format } => {
            let name = name.as_deref().unwrap_or("default");
            let baseline = saved::load(name, store)?;
            let snapshot = one_snapshot(cli, load_spec(cli)?, None)?;
            let diff = baseline.compare(&snapshot);
            match format {
                DiffFormat::Text => print!("{}", necromap::baseline::render_text(&baseline, &diff)),
                DiffFormat::Json => println!("{}", necromap::text::json_escape_unsafe(&serde_json::to_string_pretty(&diff)?)),
            }
            // For scripts: 1 when something is new (`--help` and the README say so).
            if !diff.is_empty() {
                std::io::Write::flush(&mut std::io::stdout())?;
                std::process::exit(1);
            }
        }
        BaselineAction::List => {
            // A store asked for by name must open: "no saved baselines"
            // would hide that it could not be read.
            if let (Some(db), Some(_)) = (store, &cli.db) {
                necromap::store::open_reader(db).context("baseline list: the store could not be opened")?;
            }
            let all = saved::list(store)?;
            if all.is_empty() {
                println!("no saved baselines (save one with `necromap baseline save`)");
            }
            for (name, place) in all {
                println!("  {name}  (in {place})");
            }
        }
    }
    Ok(())
}
