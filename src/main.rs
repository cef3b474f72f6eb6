//! necromap's entry point: parse arguments, pick the source, run the mode.

mod cli;
mod pipeline;
mod respond_cmd;
mod serve;

use std::io::Write;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use clap::Parser;

use cli::{BaselineAction, Cli, Command, DiffFormat, Format, RulesAction, SpecAction};
use necromap::baseline::Baseline;
use necromap::baseline::files::BaselineError;
use necromap::baseline::saved;
use necromap::collect::record::{RecordingHeader, RecordingSink, RecordingWriter};
use necromap::collect::{LiveOptions, ReplaySource, Source, SourceKind, open_live_with};
use necromap::export::{csv::write_csv, summary_text, write_dot, write_json};
use necromap::model::{Snapshot, SnapshotBuilder};
use necromap::rules::{Engine, IocSet, RuleSet};
use necromap::spec::{EMBEDDED_SPEC, Spec};

fn main() {
    raise_fd_limit();
    if let Err(e) = run(&Cli::parse()) {
        // A closed pipe (`necromap snapshot | head`) is the reader's choice, not an error.
        if e.chain().any(|c| c.downcast_ref::<std::io::Error>().is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)) {
            return;
        }
        eprintln!("necromap: {}", necromap::text::error_chain(e.as_ref()));
        std::process::exit(1);
    }
}

/// Raise the soft open-file limit to the hard limit: reading /proc, the
/// namespaces' sockets and serving MCP all take descriptors, and the
/// common soft limit of 1,024 is far below what the hard limit allows.
fn raise_fd_limit() {
    use rustix::process::{Resource, getrlimit, setrlimit};
    let mut limit = getrlimit(Resource::Nofile);
    if limit.current != limit.maximum {
        limit.current = limit.maximum;
        let _ = setrlimit(Resource::Nofile, limit);
    }
}

fn load_spec(cli: &Cli) -> Result<Arc<Spec>> {
    Ok(Arc::new(match &cli.spec {
        Some(path) => Spec::from_file(path)?,
        None => Spec::embedded(),
    }))
}

/// The rule engine the flags ask for: built-in packs (and/or `--rules DIR`)
/// with the `--ioc` lists.
fn load_ioc(cli: &Cli) -> Result<IocSet> {
    let mut ioc = IocSet::new();
    for spec in &cli.ioc {
        let (tag, path) = match spec.split_once('=') {
            Some((t, p)) if !t.contains('/') => (Some(t), p),
            _ => (None, spec.as_str()),
        };
        ioc.load_file(std::path::Path::new(path), tag)?;
    }
    Ok(ioc)
}

fn load_engine(cli: &Cli) -> Result<Engine> {
    let rules = RuleSet::load(cli.rules.as_deref(), cli.rules_replace)?;
    let engine = Engine::new(rules, load_ioc(cli)?);
    Ok(match load_baseline(cli)? {
        Some(b) => engine.with_baseline(b),
        None => engine,
    })
}

/// The baseline `--baseline` names; without the flag, the one saved as
/// `default` when there is one (in the event store, else as a file). An
/// unreadable default is reported and skipped (only the new-listener rule
/// needs it); a named one must load.
fn load_baseline(cli: &Cli) -> Result<Option<Baseline>> {
    let store = pipeline::store_path(cli).ok().flatten();
    match &cli.baseline {
        Some(name) => Ok(Some(saved::load(name, store.as_deref()).with_context(|| format!("--baseline {name}"))?)),
        None => match saved::load("default", store.as_deref()) {
            Ok(b) => Ok(Some(b)),
            Err(BaselineError::Missing { .. } | BaselineError::NoDataDir) => Ok(None),
            Err(e) => {
                eprintln!("necromap: warning: default baseline not used: {}", necromap::text::error_chain(&e));
                Ok(None)
            }
        },
    }
}

fn baseline_command(cli: &Cli, action: &BaselineAction) -> Result<()> {
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
        }
        BaselineAction::List => {
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

/// The replay the flags ask for, if any.
fn replay_source(cli: &Cli) -> Result<Option<ReplaySource>> {
    if cli.demo {
        return Ok(Some(ReplaySource::from_text(necromap::DEMO_SCENARIO, necromap::DEMO_NAME)?));
    }
    match &cli.replay {
        Some(path) => Ok(Some(ReplaySource::open(path)?)),
        None => Ok(None),
    }
}

/// The source the flags ask for: a replay, or the live host.
fn open_source(cli: &Cli) -> Result<Box<dyn Source>> {
    Ok(match replay_source(cli)? {
        Some(replay) => Box::new(replay),
        None => open_live_with(LiveOptions { trace_connects: !cli.no_trace, names: name_options(cli) }),
    })
}

/// Names as the flags ask: none with `-n`.
fn name_options(cli: &Cli) -> Option<necromap::names::NameOptions> {
    (!cli.no_resolve).then(|| necromap::names::NameOptions {
        dns_server: cli.dns_server,
        ptr_private: cli.resolve_private,
        ..necromap::names::NameOptions::default()
    })
}

/// Send stderr to `--log FILE` (appending), so log lines never mix with an
/// MCP stream on stdout or with the explorer's screen.
fn redirect_log(cli: &Cli) -> Result<()> {
    if let Some(path) = &cli.log {
        let file = std::fs::OpenOptions::new().create(true).append(true).open(path).with_context(|| format!("--log {}", path.display()))?;
        rustix::stdio::dup2_stderr(&file).with_context(|| format!("--log {}: redirecting stderr", path.display()))?;
    }
    Ok(())
}

fn run(cli: &Cli) -> Result<()> {
    redirect_log(cli)?;
    // A wrong --eve is said at once, whatever the command (a one-shot
    // command does not follow alerts, but a typo should not pass silently).
    if let Some(path) = &cli.eve {
        necromap::input::open(path, necromap::input::Kind::Followed).context("--eve: the file to follow")?;
    }
    if cli.mcp {
        if cli.command.is_some() {
            bail!("--mcp runs the server on its own: drop the subcommand");
        }
        return mcp(cli);
    }
    match &cli.command {
        Some(Command::Spec { action }) => return spec_command(action),
        Some(Command::Rules { action }) => return rules_command(cli, action),
        Some(Command::Baseline { action }) => return baseline_command(cli, action),
        Some(Command::Respond { execute, yes, allow, timeout, max }) => {
            return respond_cmd::respond(cli, &respond_cmd::RespondArgs { execute: *execute, yes: *yes, allow, timeout: *timeout, max: *max });
        }
        Some(Command::Record { out, duration }) => return record(cli, out, *duration),
        None => return explore(cli),
        _ => {}
    }
    let spec = load_spec(cli)?;
    let view = match &cli.view {
        Some(name) => Some(spec.views.get(name).cloned().with_context(|| {
            let names: Vec<&str> = spec.views.keys().map(String::as_str).collect();
            format!("--view {name}: no such view; the spec has {}", names.join(", "))
        })?),
        None => None,
    };
    let frame = match &cli.command {
        Some(Command::Snapshot { frame, .. }) => *frame,
        _ => None,
    };
    let mut snapshot = one_snapshot(cli, spec.clone(), frame)?;
    if let Some(v) = view {
        let keep: Vec<bool> = snapshot.sockets.iter().map(|s| necromap::model::view::passes(&v.filter, &snapshot, s)).collect();
        let mut flags = keep.into_iter();
        snapshot.retain_sockets(|_| flags.next().unwrap_or(false));
    }
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    match &cli.command {
        Some(Command::Snapshot { format: Format::Json, pretty, .. }) => write_json(&snapshot, &mut out, *pretty)?,
        Some(Command::Snapshot { format: Format::Dot, .. }) => write_dot(&snapshot, &spec, &mut out)?,
        Some(Command::Snapshot { format: Format::Csv, table, .. }) => {
            write_csv(&snapshot, *table, &mut out)?;
            for m in &snapshot.health.messages {
                eprintln!("necromap: {:?}: {}", m.level, necromap::text::escape_control(&m.text));
            }
        }
        Some(Command::Summary { top }) => out.write_all(summary_text(&snapshot, *top).as_bytes())?,
        _ => out.write_all(summary_text(&snapshot, 10).as_bytes())?,
    }
    Ok(())
}

/// The interactive explorer over a live collector. Without a terminal
/// (output piped), prints the summary instead.
fn explore(cli: &Cli) -> Result<()> {
    use std::io::IsTerminal;
    let spec = load_spec(cli)?;
    if !std::io::stdout().is_terminal() {
        if cli.serve_mcp.is_some() {
            bail!("--serve-mcp runs beside the explorer, which needs a terminal; for a headless server use --mcp --http ADDR");
        }
        let snapshot = one_snapshot(cli, spec, None)?;
        std::io::stdout().lock().write_all(summary_text(&snapshot, 10).as_bytes())?;
        return Ok(());
    }
    let initial_view = match &cli.view {
        Some(name) => Some(spec.views.get_index_of(name).with_context(|| format!("--view {name}: no such view"))?),
        None => None,
    };
    let pipeline = pipeline::start(cli, spec.clone())?;
    let state = serve::state(cli, spec.clone(), &pipeline)?;
    // The MCP endpoint, when asked for, runs beside the explorer on the same snapshots.
    let beside = match cli.serve_mcp {
        Some(addr) => Some(serve::beside_tui(state, cli, addr)?),
        None => None,
    };
    let plain = cli.ascii || std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty());
    let mcp_note = beside.as_ref().map(|b| b.note.clone());
    necromap::tui::explore(&pipeline.collector, spec, necromap::tui::Options { plain, initial_view, mcp_note })?;
    drop(beside);
    drop(pipeline);
    Ok(())
}

/// `--mcp`: the server alone, over stdio or HTTP, on a live collector.
fn mcp(cli: &Cli) -> Result<()> {
    let spec = load_spec(cli)?;
    let pipeline = pipeline::start(cli, spec.clone())?;
    let state = serve::state(cli, spec, &pipeline)?;
    serve::headless(cli, state)
}

/// One snapshot: a single live refresh, or a replay run up to `frame` (all
/// frames by default) so history is built as it was recorded.
fn one_snapshot(cli: &Cli, spec: Arc<Spec>, frame: Option<usize>) -> Result<Snapshot> {
    let mut engine = load_engine(cli)?;
    if let Some(mut replay) = replay_source(cli)? {
        let (last, n) = replay.build_through(spec, frame, Some(&mut engine));
        if let Some(f) = frame
            && n < f
        {
            bail!("--frame {f}: the recording has only {n} frames");
        }
        return last.context("the recording has no frames");
    }
    if frame.is_some() {
        bail!("--frame needs --replay FILE or --demo");
    }
    // One refresh: nothing closes in between, so no connect tracing, and
    // no DNS answer or reverse lookup could arrive: names from /etc/hosts.
    let names = name_options(cli).map(|o| necromap::names::NameOptions { passive: false, reverse: false, ..o });
    let mut source = open_live_with(LiveOptions { trace_connects: false, names });
    let info = source.info();
    let obs = source.collect().context("collecting sockets")?;
    Ok(SnapshotBuilder::new(spec).build(obs, info, Some(&mut engine)))
}

fn record(cli: &Cli, out_path: &std::path::Path, duration: Option<Duration>) -> Result<()> {
    let mut source = open_source(cli)?;
    let info = source.info();
    let replay = info.kind == SourceKind::Replay;
    let interval = cli.interval.or_else(|| source.suggested_interval_ms().map(Duration::from_millis)).unwrap_or(Duration::from_secs(1));
    let duration = duration.unwrap_or(if replay { Duration::MAX } else { Duration::from_secs(60) });
    let sink = RecordingSink::create(out_path).with_context(|| format!("cannot create {}", out_path.display()))?;
    let note = if replay { info.detail.clone() } else { String::new() };
    let header = RecordingHeader::new(info.host.clone(), interval.as_millis() as u64, info.kind, note);
    let mut writer = RecordingWriter::new(sink, &header)?;
    let started = Instant::now();
    let mut frames = 0u64;
    loop {
        let tick = Instant::now();
        match source.collect() {
            Ok(obs) => writer.frame(&obs)?,
            Err(necromap::collect::CollectError::Exhausted) => break,
            Err(e) => return Err(e).context("collecting sockets"),
        }
        frames += 1;
        if started.elapsed() + interval > duration {
            break;
        }
        if !replay {
            std::thread::sleep(interval.saturating_sub(tick.elapsed()));
        }
    }
    writer.into_inner().finish()?;
    eprintln!("necromap: recorded {frames} frames to {}", out_path.display());
    Ok(())
}

fn rules_command(cli: &Cli, action: &RulesAction) -> Result<()> {
    match action {
        RulesAction::Check { dir } => {
            let dir = dir.as_deref().or(cli.rules.as_deref());
            let set = RuleSet::load(dir, cli.rules_replace)?;
            let report = necromap::rules::lint::check(&set);
            print!("{}", necromap::rules::lint::render(&set, &report));
            if report.has_errors() {
                std::process::exit(1);
            }
        }
        RulesAction::Suggest { description, from_socket } => {
            let draft = match from_socket {
                Some(id) => {
                    let key: necromap::model::SocketKey = id.parse().map_err(anyhow::Error::msg)?;
                    let snapshot = one_snapshot(cli, load_spec(cli)?, None)?;
                    let socket = snapshot
                        .socket(key)
                        .with_context(|| format!("--from-socket {id}: no such socket in this snapshot (ids come from `necromap snapshot`)"))?;
                    necromap::rules::suggest::suggest(description, Some((socket, &snapshot)))?
                }
                None => necromap::rules::suggest::suggest(description, None)?,
            };
            print!("{draft}");
        }
        RulesAction::Score { manifests } => {
            let manifests = manifests.iter().map(|p| necromap::rules::corpus::Manifest::load(p)).collect::<Result<Vec<_>, _>>()?;
            // The corpora come from other hosts: no saved baseline of this one.
            let rules = RuleSet::load(cli.rules.as_deref(), cli.rules_replace)?;
            let ioc = load_ioc(cli)?;
            let card = necromap::rules::corpus::score(&manifests, &load_spec(cli)?, &|| Engine::new(rules.clone(), ioc.clone()))?;
            print!("{}", card.render());
            if !card.passed() {
                std::process::exit(1);
            }
        }
    }
    Ok(())
}

fn spec_command(action: &SpecAction) -> Result<()> {
    match action {
        SpecAction::Print => print!("{EMBEDDED_SPEC}"),
        SpecAction::Check { file } => {
            let spec = match file {
                Some(path) => Spec::from_file(path)?,
                None => Spec::embedded(),
            };
            println!(
                "ok: {} node types, {} edge types, {} states, {} views",
                spec.node_types.iter().count(),
                spec.edge_types.iter().count(),
                spec.states.len(),
                spec.views.len()
            );
        }
    }
    Ok(())
}
