//! necromap's entry point: parse arguments, pick the source, run the mode.

mod cmd;

use cmd::baseline::baseline_command;
use cmd::explore::{explore, mcp};
use cmd::rules::rules_command;
use cmd::setup::{load_spec, redirect_log};
use cmd::snapshot::{one_snapshot_and_spec, record};
use cmd::spec::spec_command;

use std::io::Write;

use anyhow::{Context, Result, bail};
use clap::Parser;

use cmd::cli::{Cli, Command, ConfigAction, Format};
use necromap::export::{csv::write_csv, summary_text, write_dot, write_json};

fn main() {
    // Before anything large is allocated (parsing the arguments is small): see necromap::memory.
    let cli = Cli::parse();
    // A one-shot command builds one snapshot and exits: the memory it
    // frees is never needed again, so glibc's own moving threshold (which
    // reuses freed blocks instead of mapping fresh, zeroed pages) serves it
    // better. Everything that refreshes keeps the fixed one.
    if !cli.one_shot() {
        necromap::memory::return_large_blocks();
    }
    raise_fd_limit();
    if let Err(e) = run(cli) {
        // A closed pipe (`necromap snapshot | head`) is the reader's choice, not an error.
        if e.chain().any(|c| c.downcast_ref::<std::io::Error>().is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)) {
            return;
        }
        eprintln!("necromap: {}", necromap::text::error_text(e.as_ref()));
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

fn run(mut cli: Cli) -> Result<()> {
    // The generated documents need no settings (a broken config file must not hide them).
    match &cli.command {
        Some(Command::Completions { shell }) => return cmd::docs::completions(*shell),
        Some(Command::Man) => return cmd::docs::man(),
        _ => {}
    }
    // The observer relays before anything else is read: a broken config
    // file must not stop an assistant's server.
    if let Some(Command::McpObserve { http, listen, command }) = &cli.command {
        if let (Some(url), Some(listen)) = (http, listen) {
            return cmd::observe::observe_http(&cli, url, *listen);
        }
        std::process::exit(cmd::observe::observe(&cli, command)?);
    }
    let config = cmd::settings::resolve(&mut cli)?;
    let cli = &cli;
    redirect_log(cli)?;
    // A wrong --eve is said at once, whatever the command (a one-shot
    // command does not follow alerts, but a typo should not pass silently).
    if let Some(path) = &cli.eve {
        necromap::input::open(path, necromap::input::Kind::Followed).context("--eve: the file to follow")?;
    }
    if let Some(path) = &cli.auth_log {
        necromap::input::open(path, necromap::input::Kind::Followed).context("--auth-log: the file to follow")?;
    }
    // A wrong --login-rules is said at once too, whatever the command.
    if cli.login_rules.is_some() {
        cmd::setup::load_login_rules(cli)?;
    }
    if cli.mcp {
        if cli.command.is_some() {
            bail!("--mcp runs the server on its own: drop the subcommand");
        }
        if cli.fleet.is_some() {
            return cmd::fleet::mcp(cli, &config);
        }
        return mcp(cli);
    }
    if cli.web.is_some() && cli.command.is_some() {
        bail!("--web serves the live host (or a replay) on its own or beside the explorer: drop the subcommand");
    }
    match &cli.command {
        Some(Command::Spec { action }) => return spec_command(action),
        Some(Command::Posture { root, policy, format }) => return cmd::posture::posture(root, policy.as_deref(), *format),
        Some(Command::Rules { action }) => return rules_command(cli, action),
        Some(Command::Baseline { action }) => return baseline_command(cli, action),
        Some(Command::Respond { execute, yes, allow, timeout, max }) => {
            return cmd::respond::respond(cli, &cmd::respond::RespondArgs { execute: *execute, yes: *yes, allow, timeout: *timeout, max: *max });
        }
        Some(Command::Record { out, duration }) => return record(cli, out, *duration),
        Some(Command::Agent { host_name, netns, outbox, labels }) => {
            return cmd::agent::agent(cli, &config, &cmd::agent::AgentArgs { host_name: host_name.as_deref(), netns: *netns, outbox: *outbox, labels });
        }
        Some(Command::Fleet { group_by }) => return cmd::fleet::explore(cli, &config, group_by.as_deref()),
        Some(Command::McpAudit { home, project, format }) => return cmd::audit::audit(cli, home.as_deref(), project.as_deref(), *format),
        Some(Command::Config { action: ConfigAction::Print }) => {
            let default_store = necromap::store::default_path().ok();
            std::io::stdout().lock().write_all(config.render(default_store.as_deref()).as_bytes())?;
            return Ok(());
        }
        None => return explore(cli, &config),
        _ => {}
    }
    let frame = match &cli.command {
        Some(Command::Snapshot { frame, .. }) => *frame,
        _ => None,
    };
    let (mut snapshot, spec) = one_snapshot_and_spec(cli, frame)?;
    let view = match &cli.view {
        Some(name) => Some(spec.views.get(name).cloned().with_context(|| {
            let names: Vec<&str> = spec.views.keys().map(String::as_str).collect();
            format!("--view {name}: no such view; the spec has {}", names.join(", "))
        })?),
        None => None,
    };
    if let Some(v) = view {
        let keep: Vec<bool> = snapshot.sockets.iter().map(|s| necromap::model::view::passes(&v.filter, &snapshot, s)).collect();
        let mut flags = keep.into_iter();
        snapshot.retain_sockets(&spec, |_| flags.next().unwrap_or(false));
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
    // The process ends here: the kernel takes the memory back at once,
    // without a free per socket, process and string first.
    std::mem::forget(snapshot);
    Ok(())
}
