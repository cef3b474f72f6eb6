//! (binary) The long-running pipeline the explorer and the MCP server
//! share: the collector with the rule engine (and the alert book when
//! `--eve` is given: each snapshot carries a digest of it), the store
//! writer following its snapshots, and the eve intake. Dropped in reverse: intake, writer (commits what is queued),
//! collector.

use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use anyhow::{Context, Result};
use necromap::baseline::Baseline;
use necromap::collector::Collector;
use necromap::intel::alerts::{AlertBook, AlertEvaluator};
use necromap::intel::intake::EveIntake;
use necromap::intel::tail::StartAt;
use necromap::logins::book::LoginBook;
use necromap::logins::evaluator::LoginEvaluator;
use necromap::model::Evaluator;
use necromap::posture::watch::{PostureEvaluator, PostureWatch};
use necromap::rules::RuleSet;
use necromap::spec::Spec;
use necromap::store::status::{StoreStatus, WithStoreHealth};
use necromap::store::writer::{OpenedStore, StoreWriter, WriterOptions};

use crate::cmd::cli::Cli;

#[derive(Debug)]
pub struct Pipeline {
    // Field order is drop order: intake first, collector last. The first
    // two are held for their lifetime only.
    _logins: Option<necromap::logins::intake::LoginIntake>,
    _posture: Option<PostureWatch>,
    _intake: Option<EveIntake>,
    _writer: Option<StoreWriter>,
    pub collector: Collector,
    pub rules: RuleSet,
    pub baseline: Option<Baseline>,
    pub store_path: Option<PathBuf>,
    /// The login rules the evaluator judges with.
    pub login_rules: Arc<necromap::logins::rules::LoginRules>,
}

/// The store file the flags ask for: none with `--no-store`, none for a
/// replay without `--db` (a demo must not mix into the host's history).
pub fn store_path(cli: &Cli) -> Result<Option<PathBuf>> {
    if cli.no_store {
        return Ok(None);
    }
    if let Some(p) = &cli.db {
        return Ok(Some(p.clone()));
    }
    if cli.demo || cli.replay.is_some() {
        return Ok(None);
    }
    Ok(Some(necromap::store::default_path()?))
}

pub fn start(cli: &Cli, spec: Arc<Spec>) -> Result<Pipeline> {
    start_with(cli, spec, crate::cmd::setup::open_source(cli)?)
}

/// [`start`] on a source the caller opened (the agent's, which may read only its own namespace).
pub fn start_with(cli: &Cli, spec: Arc<Spec>, source: Box<dyn necromap::collect::Source>) -> Result<Pipeline> {
    let engine = crate::cmd::setup::load_engine(cli)?;
    let (rules, baseline) = (engine.rules.clone(), engine.baseline.clone());
    let engine_ioc = engine.ioc.clone();
    let book = cli.eve.as_ref().map(|_| Arc::new(Mutex::new(AlertBook::default())));
    // Store trouble is shown in every snapshot's health, never printed
    // over the explorer.
    let status = StoreStatus::default();
    let judged = WithStoreHealth { inner: Box::new(engine), status: status.clone() };
    // MCP servers on the map: observed ones (from the store) and configured ones.
    let judged = necromap::agents::evaluator::AgentEvaluator::new(judged, store_path(cli).ok().flatten(), necromap::agents::evaluator::configured_servers());
    // The alert evaluator is outermost: the collector asks it for the
    // digest it publishes with each snapshot.
    let ioc = engine_ioc.clone();
    let evaluator: Box<dyn Evaluator> = match (&book, &cli.eve) {
        (Some(book), Some(path)) => Box::new(AlertEvaluator::new(judged, book.clone(), path.display().to_string())),
        _ => Box::new(judged),
    };
    // The login evaluator is outermost of all: it passes the alert digest on.
    let login_rules = super::setup::load_login_rules(cli)?;
    let login_source = crate::cmd::logins::source(cli);
    let login_book = login_source.as_ref().map(|_| Arc::new(Mutex::new(LoginBook::default())));
    let evaluator: Box<dyn Evaluator> = match (&login_book, &login_source) {
        (Some(b), Some(src)) => {
            let known = baseline.as_ref().map(|b| b.remote_endpoints.clone());
            Box::new(LoginEvaluator::new(evaluator, b.clone(), src.key(), ioc, known, login_rules.clone()))
        }
        _ => evaluator,
    };
    // Posture failures join the findings of the live host (never of a replay).
    let posture = if cli.demo || cli.replay.is_some() {
        None
    } else {
        Some(PostureWatch::spawn(necromap::posture::Options::live(None), necromap::posture::watch::EVERY).context("starting the posture checks")?)
    };
    let evaluator: Box<dyn Evaluator> = match &posture {
        Some(w) => Box::new(PostureEvaluator { inner: evaluator, latest: w.latest.clone() }),
        None => evaluator,
    };
    // The store is opened before the collector starts: its first snapshot
    // (and so the first MCP answer) already says when there is none.
    let mut store_path = match store_path(cli) {
        Ok(p) => p,
        Err(e) => {
            status.update(|s| s.unavailable = Some(necromap::text::error_chain(e.as_ref())));
            None
        }
    };
    let opened = match &store_path {
        Some(path) => {
            let options = WriterOptions {
                path: path.clone(),
                retention: cli.retention,
                trace_commits: std::env::var_os("NECROMAP_STORE_TRACE").is_some(),
                status: status.clone(),
            };
            match OpenedStore::open(options) {
                Ok(o) => Some(o),
                // Run without it, and say so in health and the banner.
                Err(e) => {
                    status.update(|s| s.unavailable = Some(necromap::text::error_chain(&e)));
                    None
                }
            }
        }
        None => None,
    };
    let collector = Collector::spawn(source, spec, cli.interval, Some(evaluator));
    let writer = match opened.map(|o| o.start(Some(collector.snapshots()))) {
        Some(Ok(w)) => Some(w),
        Some(Err(e)) => {
            status.update(|s| s.unavailable = Some(necromap::text::error_chain(&e)));
            None
        }
        None => None,
    };
    if writer.is_none() {
        store_path = None;
    }
    let intake = match (&cli.eve, &book) {
        (Some(path), Some(book)) => {
            // A missing path, a directory or a FIFO is a mistake to say at
            // once, not a follower that silently never reads.
            necromap::input::open(path, necromap::input::Kind::Followed).with_context(|| "--eve: the file to follow".to_string())?;
            let saved = match &store_path {
                Some(p) => necromap::store::query::reader_if_exists(p)?
                    .map(|conn| necromap::store::query::eve_offset(&conn, &path.display().to_string()))
                    .transpose()?
                    .flatten(),
                None => None,
            };
            let start = if cli.eve_from_start { StartAt::Beginning } else { StartAt::End };
            Some(
                EveIntake::spawn(path, start, saved, book.clone(), writer.as_ref().map(StoreWriter::sender), collector.snapshots())
                    .context("starting the eve intake")?,
            )
        }
        _ => None,
    };
    let logins = match (login_source, login_book) {
        (Some(src), Some(b)) => Some(crate::cmd::logins::start(cli, src, b, store_path.as_deref(), writer.as_ref().map(StoreWriter::sender))?),
        _ => None,
    };
    Ok(Pipeline { _logins: logins, _posture: posture, _intake: intake, _writer: writer, collector, rules, baseline, store_path, login_rules })
}
