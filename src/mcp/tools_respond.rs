//! `propose_blocks`: which remote parties Suricata's alerts make block
//! candidates, as nftables commands with a timeout. Read-only: it returns
//! commands; `necromap respond --execute` is the only way to run them.

// Field docs here are JSON Schema descriptions read by models: plain words,
// not rustdoc markup.
#![allow(clippy::doc_markdown)]

use std::time::Duration;

use rmcp::handler::server::wrapper::Parameters;
use rmcp::schemars::{self, JsonSchema};
use rmcp::{Json, tool, tool_router};
use serde::{Deserialize, Serialize};

use super::dto::{portable_schema, safe};
use super::{McpState, NecromapServer};
use crate::intel::alerts::WINDOW_MS;
use crate::intel::respond::{Safeguards, nft_setup, propose};
use crate::model::AlertDigest;

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(transform = portable_schema)]
pub struct ProposeArgs {
    /// How long a block would last, in minutes (1 to 10080).
    #[serde(default = "sixty")]
    #[schemars(range(min = 1, max = 10080))]
    pub timeout_minutes: u32,
    /// Networks never to propose (CIDR or address), on top of loopback, link-local, this host, its gateway and resolvers.
    #[serde(default)]
    pub allowlist: Vec<String>,
}

fn sixty() -> u32 {
    60
}

#[derive(Debug, Serialize, JsonSchema)]
#[schemars(transform = portable_schema)]
pub struct ProposedBlock {
    pub remote_address: String,
    /// The window that made it a candidate.
    pub reason: String,
    /// The nftables command that would block it (not run).
    pub command: String,
}

#[derive(Debug, Serialize, JsonSchema)]
#[schemars(transform = portable_schema)]
pub struct RefusedBlock {
    pub remote_address: String,
    /// Why it must not be blocked.
    pub why: String,
}

#[derive(Debug, Serialize, JsonSchema)]
#[schemars(transform = portable_schema)]
pub struct BlockProposals {
    pub generation: u64,
    /// The alert window, in seconds: ≥ 5 alerts, weighted score ≥ 20, or ≥ 3 signatures make a candidate.
    pub window_s: u64,
    pub proposals: Vec<ProposedBlock>,
    pub refused: Vec<RefusedBlock>,
    /// One-time nftables setup the commands need.
    pub setup: Vec<String>,
    /// Where the alerts came from, and how to act.
    pub note: String,
}

#[tool_router(router = respond_router, vis = "pub(super)")]
impl NecromapServer {
    #[tool(
        description = "Use when Suricata alerts or failed logins point at attackers: proposes nftables blocks with a timeout for remote parties whose alerts in the last 300 s reach the block window, or that brute-force logins (never loopback, this host, its gateway, resolvers or the allowlist). Nothing is run.",
        annotations(title = "Propose blocks", read_only_hint = true, open_world_hint = false)
    )]
    pub async fn propose_blocks(&self, Parameters(a): Parameters<ProposeArgs>) -> Result<Json<BlockProposals>, String> {
        let state = self.state.clone();
        super::off_reactor(move || propose_blocks_blocking(&state, &a)).await
    }
}

type Split = crate::logins::respond::Split;

/// Add brute-forcing login parties (live digest, else the store) to the
/// alert proposals; an address proposed for both gets both reasons.
fn with_logins(
    state: &McpState,
    s: &crate::model::Snapshot,
    guards: &Safeguards,
    timeout: Duration,
    proposals: Vec<crate::intel::respond::Proposal>,
    refused: Vec<(std::net::IpAddr, String)>,
) -> Result<Split, String> {
    use crate::logins::respond as lr;
    let th = state.login_rules.thresholds;
    let found = match (&s.logins, &state.store) {
        (Some(d), _) => lr::digest_candidates(d, s.taken_at_ms, th),
        (None, Some(path)) => {
            let conn = crate::store::open_reader(path).map_err(|e| safe(&e.to_string(), 300))?;
            let events = crate::store::query::logins_since(&conn, s.taken_at_ms - th.brute_window_ms, None, 100_000).map_err(|e| safe(&e.to_string(), 300))?;
            lr::stored_candidates(events, s.taken_at_ms, th)
        }
        (None, None) => Vec::new(),
    };
    Ok(lr::join((proposals, refused), lr::propose(&found, guards, timeout, th)))
}

/// The body of `propose_blocks`, run off the reactor (it reads the event store).
fn propose_blocks_blocking(state: &McpState, a: &ProposeArgs) -> Result<Json<BlockProposals>, String> {
    if a.timeout_minutes == 0 || a.timeout_minutes > 7 * 24 * 60 {
        return Err(format!("timeout_minutes must be between 1 and 10080; got {}", a.timeout_minutes));
    }
    let mut allow = Vec::new();
    for net in &a.allowlist {
        allow.push(crate::rules::ioc::parse_cidr(net.trim()).ok_or_else(|| format!("allowlist: `{}` is not an address or CIDR", safe(net, 60)))?);
    }
    let s = state.snapshot();
    let now = s.taken_at_ms;
    let guards = Safeguards::of_host(&s, allow);
    let timeout = Duration::from_secs(u64::from(a.timeout_minutes) * 60);
    // The live alerts are the digest this snapshot was published with.
    let ((proposals, refused), source) = match (&s.alerts, &state.store) {
        (Some(live), _) => (propose(live, now, &guards, timeout), "the alerts followed live (--eve)"),
        (None, Some(path)) => {
            let conn = crate::store::open_reader(path).map_err(|e| safe(&e.to_string(), 300))?;
            let stored = crate::intel::alerts::stored_digest(&conn, now - WINDOW_MS).map_err(|e| safe(&e.to_string(), 300))?;
            (propose(&stored, now, &guards, timeout), "the alerts in the event store")
        }
        (None, None) => (propose(&AlertDigest::default(), now, &guards, timeout), "no alerts: start necromap with --eve FILE"),
    };
    // Brute-forcing login parties, under the same safeguards.
    let (proposals, refused) = with_logins(state, &s, &guards, timeout, proposals, refused)?;
    Ok(Json(BlockProposals {
        generation: s.generation,
        window_s: (WINDOW_MS / 1000) as u64,
        proposals: proposals
            .iter()
            .map(|p| ProposedBlock { remote_address: p.remote.to_string(), reason: p.reason.clone(), command: p.command_line() })
            .collect(),
        refused: refused.iter().map(|(ip, why)| RefusedBlock { remote_address: ip.to_string(), why: why.clone() }).collect(),
        setup: nft_setup(),
        note: format!(
            "From {source}. These are proposals only: nothing was run. A person can run them with `necromap respond --execute` (root, asks to confirm, rate-limited, logged)."
        ),
    }))
}
