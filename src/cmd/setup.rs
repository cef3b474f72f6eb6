//! What every command loads from the flags: the spec, IOC lists, the rule
//! engine, the baseline, the source, names, and where the log goes.

use std::sync::Arc;

use anyhow::{Context, Result};
use necromap::baseline::Baseline;
use necromap::baseline::files::BaselineError;
use necromap::baseline::saved;
use necromap::collect::{LiveOptions, ReplaySource, Source, open_live_with};
use necromap::rules::{Engine, IocSet, RuleSet};
use necromap::spec::Spec;

use super::pipeline;
use crate::cmd::cli::Cli;

pub fn load_spec(cli: &Cli) -> Result<Arc<Spec>> {
    Ok(Arc::new(match &cli.spec {
        Some(path) => Spec::from_file(path)?,
        None => Spec::embedded(),
    }))
}

/// The IOC lists of `--ioc` (`TAG=FILE` or `FILE`).
pub fn load_ioc(cli: &Cli) -> Result<IocSet> {
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

/// The rule engine the flags ask for: built-in packs (and/or `--rules DIR`)
/// with the `--ioc` lists.
/// The login rules: `--login-rules FILE` (checked, with file and line
/// errors), else the shipped ones.
pub fn load_login_rules(cli: &Cli) -> Result<Arc<necromap::logins::rules::LoginRules>> {
    match &cli.login_rules {
        Some(path) => Ok(Arc::new(necromap::logins::rules::LoginRules::load(path).context("--login-rules: the login rule file")?)),
        None => Ok(necromap::logins::rules::LoginRules::shipped()),
    }
}

pub fn load_engine(cli: &Cli) -> Result<Engine> {
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
pub fn load_baseline(cli: &Cli) -> Result<Option<Baseline>> {
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

/// The replay the flags ask for, if any.
pub fn replay_source(cli: &Cli) -> Result<Option<ReplaySource>> {
    if cli.demo {
        return Ok(Some(ReplaySource::from_text(necromap::DEMO_SCENARIO, necromap::DEMO_NAME)?));
    }
    match &cli.replay {
        Some(path) => Ok(Some(ReplaySource::open(path)?)),
        None => Ok(None),
    }
}

/// The source the flags ask for: a replay, or the live host.
pub fn open_source(cli: &Cli) -> Result<Box<dyn Source>> {
    Ok(match replay_source(cli)? {
        Some(replay) => Box::new(replay),
        None => open_live_with(LiveOptions { trace_connects: !cli.no_trace, names: name_options(cli), own_namespace_only: false }),
    })
}

/// Names as the flags ask: none with `-n`.
pub fn name_options(cli: &Cli) -> Option<necromap::names::NameOptions> {
    (!cli.no_resolve).then(|| necromap::names::NameOptions {
        dns_server: cli.dns_server,
        ptr_private: cli.resolve_private,
        ..necromap::names::NameOptions::default()
    })
}

/// Send stderr to `--log FILE` (appending), so log lines never mix with an
/// MCP stream on stdout or with the explorer's screen.
pub fn redirect_log(cli: &Cli) -> Result<()> {
    if let Some(path) = &cli.log {
        let file = std::fs::OpenOptions::new().create(true).append(true).open(path).with_context(|| format!("--log {}", path.display()))?;
        rustix::stdio::dup2_stderr(&file).with_context(|| format!("--log {}: redirecting stderr", path.display()))?;
    }
    Ok(())
}
