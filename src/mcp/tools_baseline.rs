//! `compare_baseline`: what is new on the host, against a saved baseline or
//! against lists the client gives.

// Field docs here are JSON Schema descriptions read by models: plain words,
// not rustdoc markup.
#![allow(clippy::doc_markdown)]

use std::collections::BTreeSet;

use rmcp::handler::server::wrapper::Parameters;
use rmcp::schemars::{self, JsonSchema};
use rmcp::{Json, tool, tool_router};
use serde::{Deserialize, Serialize};

use super::NecromapServer;
use super::dto::{portable_schema, safe};
use crate::baseline::{Baseline, files, saved};
use crate::model::Zone;

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(transform = portable_schema)]
pub struct CompareArgs {
    /// Name of a saved baseline (`necromap baseline save NAME`). Empty: the one necromap was started with, else `default`.
    #[serde(default)]
    pub baseline: String,
    /// Instead of a saved baseline: process ids considered known. Processes with sockets not listed are new.
    #[serde(default)]
    pub baseline_pids: Vec<u32>,
    /// Instead of a saved baseline: remote IP addresses considered known. Remote endpoints not listed are new.
    #[serde(default)]
    pub baseline_remotes: Vec<String>,
}

#[derive(Debug, Serialize, JsonSchema)]
#[schemars(transform = portable_schema)]
pub struct BaselineComparison {
    pub generation: u64,
    /// The saved baseline compared with, or "given lists".
    pub baseline: String,
    /// When the saved baseline was taken (Unix ms); null for given lists.
    pub baseline_taken_at_ms: Option<i64>,
    /// Process ids with sockets now that were not given (given lists only).
    pub new_pids: Vec<u32>,
    /// Processes (`exe uid N`) not in the saved baseline.
    pub new_processes: Vec<String>,
    /// Remote IP addresses not known before (loopback left out).
    pub new_remote_endpoints: Vec<String>,
    /// Listener keys `port/proto/uid/comm` not in the saved baseline.
    pub new_listeners: Vec<String>,
}

#[tool_router(router = baseline_router, vis = "pub(super)")]
impl NecromapServer {
    #[tool(
        description = "Use to see what is new on the host: processes, remote endpoints and listeners not in a saved baseline (by name), or not in lists of known pids and remote addresses given here.",
        annotations(title = "Compare with a baseline", read_only_hint = true, open_world_hint = false)
    )]
    pub fn compare_baseline(&self, Parameters(a): Parameters<CompareArgs>) -> Result<Json<BaselineComparison>, String> {
        let s = self.state.snapshot();
        if !a.baseline_pids.is_empty() || !a.baseline_remotes.is_empty() {
            if !a.baseline.trim().is_empty() {
                return Err("give either a saved baseline name or lists (baseline_pids, baseline_remotes), not both".into());
            }
            let known_pids: BTreeSet<u32> = a.baseline_pids.iter().copied().collect();
            let mut known_remotes = BTreeSet::new();
            for r in &a.baseline_remotes {
                let ip: std::net::IpAddr = r.trim().parse().map_err(|_| format!("baseline_remotes: `{}` is not an IP address", safe(r, 60)))?;
                known_remotes.insert(crate::model::normalize_ip(ip));
            }
            return Ok(Json(BaselineComparison {
                generation: s.generation,
                baseline: "given lists".into(),
                baseline_taken_at_ms: None,
                new_pids: s.processes.keys().map(|p| p.0).filter(|p| !known_pids.is_empty() && !known_pids.contains(p)).collect(),
                new_processes: Vec::new(),
                new_remote_endpoints: s
                    .endpoints
                    .values()
                    .filter(|e| e.zone != Zone::Loopback && !known_remotes.is_empty() && !known_remotes.contains(&e.ip))
                    .map(|e| e.ip.to_string())
                    .collect(),
                new_listeners: Vec::new(),
            }));
        }
        // The loaded baseline is shared, not copied per call.
        let loaded: std::sync::Arc<Baseline> = match (a.baseline.trim(), &self.state.baseline) {
            ("", Some(b)) => b.clone(),
            (name, _) => {
                let name = if name.is_empty() { "default" } else { name };
                if files::is_path(name) {
                    return Err("baseline: give a saved name, not a path".into());
                }
                std::sync::Arc::new(saved::load(name, self.state.store.as_deref()).map_err(|e| safe(&e.to_string(), 300))?)
            }
        };
        let diff = loaded.compare(&s);
        Ok(Json(BaselineComparison {
            generation: s.generation,
            baseline: safe(&loaded.name, 64),
            baseline_taken_at_ms: Some(loaded.taken_at_ms),
            new_pids: Vec::new(),
            new_processes: diff.new_processes.iter().map(|x| safe(x, 256)).collect(),
            new_remote_endpoints: diff.new_remote_endpoints,
            new_listeners: diff.new_listeners.iter().map(|x| safe(x, 256)).collect(),
        }))
    }
}
