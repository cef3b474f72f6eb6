//! One refresh (`snapshot`, `summary`) and recordings (`record`).

use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use necromap::collect::record::{RecordingHeader, RecordingSink, RecordingWriter};
use necromap::collect::{LiveOptions, SourceKind, open_live_with};
use necromap::model::{Snapshot, SnapshotBuilder};
use necromap::spec::Spec;

use super::setup::{load_engine, load_spec, name_options, open_source, replay_source};
use crate::cmd::cli::Cli;

/// One snapshot: a single live refresh, or a replay run up to `frame` (all
/// frames by default) so history is built as it was recorded.
pub fn one_snapshot(cli: &Cli, spec: Arc<Spec>, frame: Option<usize>) -> Result<Snapshot> {
    one_snapshot_with(cli, move || Ok(spec), frame).map(|(snapshot, _)| snapshot)
}

/// [`one_snapshot`] that reads the spec too (`--spec` or the embedded
/// one): a live one on the thread that loads the rules, beside the dump.
pub fn one_snapshot_and_spec(cli: &Cli, frame: Option<usize>) -> Result<(Snapshot, Arc<Spec>)> {
    one_snapshot_with(cli, || load_spec(cli), frame)
}

fn one_snapshot_with(cli: &Cli, spec: impl FnOnce() -> Result<Arc<Spec>> + Send, frame: Option<usize>) -> Result<(Snapshot, Arc<Spec>)> {
    if let Some(mut replay) = replay_source(cli)? {
        let spec = spec()?;
        let mut engine = load_engine(cli)?;
        let (last, n) = replay.build_through(spec.clone(), frame, Some(&mut engine));
        if let Some(f) = frame
            && n < f
        {
            bail!("--frame {f}: the recording has only {n} frames");
        }
        return Ok((last.context("the recording has no frames")?, spec));
    }
    if frame.is_some() {
        bail!("--frame needs --replay FILE or --demo");
    }
    // One refresh: nothing closes in between, so no connect tracing, and
    // no DNS answer or reverse lookup could arrive: names from /etc/hosts.
    let names = name_options(cli).map(|o| necromap::names::NameOptions { passive: false, reverse: false, ..o });
    // The spec, the rules (parsed, regexes compiled), the IOC lists, the
    // baseline and the assistants' configured MCP servers are read on a
    // thread of their own while the sockets are dumped: a one-shot pays
    // for its start-up and its refresh at once, not one after the other.
    let (judged, collected) = std::thread::scope(|scope| {
        let judged = scope.spawn(|| -> Result<_> {
            let spec = spec()?;
            let engine = load_engine(cli)?;
            // MCP servers on the map: observed ones (the store is only read) and configured ones.
            let store = crate::cmd::pipeline::store_path(cli).ok().flatten();
            let servers = necromap::agents::evaluator::configured_servers();
            Ok((spec, necromap::agents::evaluator::AgentEvaluator::new(engine, store, servers)))
        });
        let mut source = open_live_with(LiveOptions { trace_connects: false, names, own_namespace_only: false });
        let info = source.info();
        let collected = source.collect().context("collecting sockets").map(|obs| (obs, info));
        (judged.join(), collected)
    });
    let (spec, mut judged) = judged.map_err(|_| anyhow::anyhow!("loading the rules stopped unexpectedly"))??;
    let (obs, info) = collected?;
    Ok((SnapshotBuilder::new(spec.clone()).build(obs, info, Some(&mut judged)), spec))
}

pub fn record(cli: &Cli, out_path: &std::path::Path, duration: Option<Duration>) -> Result<()> {
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
    let mut progress = super::progress::Progress::new();
    let of = if replay { String::new() } else { format!(" of {}", necromap::tui::theme::duration(duration.as_millis() as i64)) };
    loop {
        let tick = Instant::now();
        match source.collect() {
            Ok(obs) => writer.frame(&obs)?,
            Err(necromap::collect::CollectError::Exhausted) => break,
            Err(e) => return Err(e).context("collecting sockets"),
        }
        frames += 1;
        let elapsed = necromap::tui::theme::duration(started.elapsed().as_millis() as i64);
        progress.show(&format!("necromap: recording to {}: {frames} frames, {elapsed}{of}", out_path.display()));
        if started.elapsed() + interval > duration {
            break;
        }
        if !replay {
            std::thread::sleep(interval.saturating_sub(tick.elapsed()));
        }
    }
    writer.into_inner().finish()?;
    progress.clear();
    eprintln!("necromap: recorded {frames} frames to {}", out_path.display());
    Ok(())
}
