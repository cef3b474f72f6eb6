//! (binary) `necromap respond`: block proposals from the stored alerts
//! and the stored logins of brute-forcing parties (the login rules'
//! brute-force threshold and window), run only with `--execute`, as root, after a confirmation unless
//! `--yes`; at most `--max` per run and 30 per hour (counted in the store);
//! every proposal, execution, refusal and failure logged in the store.

use std::io::{BufRead, Write};
use std::time::Duration;

use anyhow::{Context, Result, bail};
use necromap::intel::alerts::WINDOW_MS;
use necromap::intel::respond::{Proposal, Safeguards, nft_setup, propose};
use necromap::store::{Batch, ResponseKind, ResponseRow};

use crate::cmd::cli::Cli;

/// Blocks executed per rolling hour, at most.
const PER_HOUR: usize = 30;

pub struct RespondArgs<'a> {
    pub execute: bool,
    pub yes: bool,
    pub allow: &'a [String],
    pub timeout: Duration,
    pub max: usize,
}

fn row(kind: ResponseKind, p: &Proposal, outcome: Option<String>) -> ResponseRow {
    ResponseRow { at_ms: necromap::collect::now_ms(), kind, remote_ip: p.remote.to_string(), command: p.command_line(), reason: p.reason.clone(), outcome }
}

pub fn respond(cli: &Cli, a: &RespondArgs<'_>) -> Result<()> {
    let db = crate::cmd::pipeline::store_path(cli)?.context("respond reads the alerts in the event store: give --db FILE (or drop --no-store)")?;
    let mut conn = necromap::store::open(&db)?;
    let now = necromap::collect::now_ms();
    let alerts = necromap::intel::alerts::stored_digest(&conn, now - WINDOW_MS)?;
    let mut allow = Vec::new();
    for net in a.allow {
        allow.push(necromap::rules::ioc::parse_cidr(net.trim()).with_context(|| format!("--allow {net}: expected an address or CIDR such as 192.0.2.0/24"))?);
    }
    // This host's own addresses come from a live refresh (never a replay).
    let mut source = necromap::collect::open_live_with(necromap::collect::LiveOptions { trace_connects: false, names: None, own_namespace_only: false });
    let info = source.info();
    let obs = source.collect().context("reading this host's sockets")?;
    let snapshot = necromap::model::SnapshotBuilder::new(crate::load_spec(cli)?).build(obs, info, None);
    let guards = Safeguards::of_host(&snapshot, allow);
    // Brute-forcing parties: failed logins in the rule's window ending now.
    let th = super::setup::load_login_rules(cli)?.thresholds;
    let logins = necromap::store::query::logins_since(&conn, now - th.brute_window_ms, None, 100_000)?;
    let brute = necromap::logins::respond::stored_candidates(logins, now, th);
    let by_logins = necromap::logins::respond::propose(&brute, &guards, a.timeout, th);
    let (proposals, refused) = necromap::logins::respond::join(propose(&alerts, now, &guards, a.timeout), by_logins);
    for (ip, why) in &refused {
        println!("never blocked: {ip} ({why})");
    }
    if proposals.is_empty() {
        println!("no block candidates in the last 300 s of stored alerts or the last {} s of stored logins", th.brute_window_ms / 1000);
        return Ok(());
    }
    println!(
        "proposed ({} from {} alert parties and {} brute-forcing login parties):",
        proposals.len(),
        necromap::intel::window::candidates(&alerts, now).len(),
        brute.len()
    );
    for p in &proposals {
        println!("  {}    # {}", p.command_line(), p.reason);
    }
    let mut log = Batch { responses: proposals.iter().map(|p| row(ResponseKind::Proposed, p, None)).collect(), ..Batch::default() };
    if !a.execute {
        println!("nothing was run; `necromap respond --execute` runs these (as root). One-time setup:");
        for line in nft_setup() {
            println!("  {line}");
        }
        necromap::store::write(&mut conn, &log)?;
        return Ok(());
    }
    if !rustix::process::geteuid().is_root() {
        necromap::store::write(&mut conn, &log)?;
        bail!("--execute needs root (nft changes the firewall); nothing was run");
    }
    let hour_ago = now - 3_600_000;
    let done_this_hour = necromap::store::query::executed_since(&conn, hour_ago)?;
    let room = PER_HOUR.saturating_sub(usize::try_from(done_this_hour).unwrap_or(PER_HOUR)).min(a.max);
    if !a.yes {
        print!("run {} of them now? [y/N] ", room.min(proposals.len()));
        std::io::stdout().flush()?;
        let mut answer = String::new();
        std::io::stdin().lock().read_line(&mut answer)?;
        if !matches!(answer.trim(), "y" | "Y" | "yes") {
            necromap::store::write(&mut conn, &log)?;
            println!("nothing was run");
            return Ok(());
        }
    }
    let program = std::env::var_os("NECROMAP_NFT").unwrap_or_else(|| "nft".into());
    for (i, p) in proposals.iter().enumerate() {
        if i >= room {
            println!("not run (cap: {} per run, {PER_HOUR} per hour): {}", a.max, p.remote);
            log.responses.push(row(ResponseKind::Refused, p, Some("rate limit or cap".into())));
            continue;
        }
        let out = std::process::Command::new(&program).args(&p.command[1..]).output();
        match out {
            Ok(o) if o.status.success() => {
                println!("blocked {} for {}s", p.remote, a.timeout.as_secs());
                log.responses.push(row(ResponseKind::Executed, p, Some("ok".into())));
            }
            Ok(o) => {
                let err = necromap::text::bounded(&necromap::text::escape_control(String::from_utf8_lossy(&o.stderr).trim()), 300);
                eprintln!("necromap: {} failed: {err}", p.command_line());
                log.responses.push(row(ResponseKind::Failed, p, Some(err)));
            }
            Err(e) => {
                eprintln!("necromap: cannot run {}: {e}", program.to_string_lossy());
                log.responses.push(row(ResponseKind::Failed, p, Some(e.to_string())));
            }
        }
    }
    necromap::store::write(&mut conn, &log)?;
    Ok(())
}
