//! `necromap agent --fleet URL`: the live pipeline (collector, rules, eve
//! intake, local store) with the fleet shipper following its snapshots,
//! headless, until Ctrl-C or SIGTERM. The shipper's state changes are
//! logged on stderr (or `--log`).

use anyhow::{Context, Result, bail};
use necromap::collect::{LiveOptions, open_live_with};
use necromap::fleet::ship::HostIdentity;
use necromap::fleet::shipper::{ShipStatus, Shipper, ShipperOptions, machine_id};

use super::cli::{Cli, NetnsScope};
use super::{pipeline, setup};

/// The fleet URL in force: `--fleet`, else the config file's `fleet`.
pub fn fleet_url(config: &necromap::config::Config) -> Result<necromap::fleet::conn::FleetUrl> {
    let Some(text) = &config.fleet.value else {
        bail!("no fleet database: give --fleet postgres://USER@HOST:PORT/DB, or `fleet = \"postgres://…\"` in the config file");
    };
    necromap::fleet::conn::parse(text, &|k| std::env::var(k).ok()).with_context(|| format!("the fleet URL ({})", config.fleet.origin))
}

#[derive(Debug)]
pub struct AgentArgs<'a> {
    pub host_name: Option<&'a str>,
    pub netns: NetnsScope,
    pub outbox: usize,
    pub labels: &'a [String],
}

pub fn agent(cli: &Cli, config: &necromap::config::Config, args: &AgentArgs<'_>) -> Result<()> {
    let url = fleet_url(config)?;
    let Some(store) = pipeline::store_path(cli)? else {
        bail!("the agent keeps its outbox in the event store: drop --no-store (or give --db FILE with --replay)");
    };
    let labels = necromap::fleet::labels::parse_labels(args.labels).map_err(anyhow::Error::msg)?;
    let host = match args.host_name {
        Some(name) => {
            let name = name.trim();
            if name.is_empty() || name.len() > 128 || name.chars().any(char::is_control) {
                bail!("--host-name: 1 to 128 printable characters");
            }
            HostIdentity { id: name.to_string(), name: name.to_string(), agent_version: env!("CARGO_PKG_VERSION").into(), labels }
        }
        None => HostIdentity { id: machine_id()?, name: necromap::collect::host_name(), agent_version: env!("CARGO_PKG_VERSION").into(), labels },
    };
    let spec = setup::load_spec(cli)?;
    let source = match setup::replay_source(cli)? {
        Some(replay) => Box::new(replay) as Box<dyn necromap::collect::Source>,
        None => {
            open_live_with(LiveOptions { trace_connects: !cli.no_trace, names: setup::name_options(cli), own_namespace_only: args.netns == NetnsScope::Own })
        }
    };
    let pipeline = pipeline::start_with(cli, spec, source)?;
    let options = ShipperOptions { url: url.clone(), host: host.clone(), store: store.clone(), capacity: args.outbox, retention: cli.retention };
    let shipper = Shipper::start(options, pipeline.collector.snapshots()).with_context(|| format!("the outbox in {}", store.display()))?;
    eprintln!(
        "necromap: agent {} (id {}) shipping to {}; outbox in {}",
        necromap::text::escape_control(&host.name),
        necromap::text::escape_control(&host.id),
        url.display,
        store.display()
    );
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().context("starting the agent's runtime")?;
    rt.block_on(watch(shipper.status()));
    drop(shipper);
    drop(pipeline);
    Ok(())
}

/// Log the shipper's state when it changes (connected, an error, a drop),
/// until a signal.
async fn watch(mut status: tokio::sync::watch::Receiver<ShipStatus>) {
    let mut said = (false, None::<String>, 0u64);
    let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()).ok();
    loop {
        let now = {
            let s = status.borrow_and_update();
            (s.connected, s.last_error.clone(), s.dropped)
        };
        if now != said {
            eprintln!("necromap: {}", necromap::text::escape_control(&status.borrow().line()));
            said = now;
        }
        let term_recv = async {
            match term.as_mut() {
                Some(t) => {
                    t.recv().await;
                }
                None => std::future::pending().await,
            }
        };
        tokio::select! {
            _ = tokio::signal::ctrl_c() => return,
            () = term_recv => return,
            changed = status.changed() => if changed.is_err() { return },
        }
    }
}
