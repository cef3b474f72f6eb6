//! What each process asked DNS for over the last minutes, for the rules
//! that look at resolution: how many distinct names under one parent domain
//! (tunnelling, DGA), how many queries. Kept by the builder across
//! refreshes, bounded per process and in processes; summed once per
//! snapshot into [`DnsActivity`].

use std::collections::{BTreeMap, VecDeque};

use rustc_hash::{FxHashMap, FxHashSet};
use serde::{Deserialize, Serialize};

use super::{DnsQuery, Pid, parent_domain};

/// How far back the counts look.
pub const DNS_WINDOW_MS: i64 = 5 * 60 * 1000;
/// Queries kept per process, and processes kept.
const PER_PROCESS: usize = 5_000;
const PROCESSES: usize = 10_000;

/// One process's resolution in the window.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct DnsActivity {
    pub queries: u32,
    pub distinct_names: u32,
    /// The parent domain with the most distinct names under it, and how many.
    pub top_parent: Option<String>,
    pub top_parent_names: u32,
    /// One name under that parent, for the trace.
    pub example: Option<String>,
}

/// The queries of the window, per process.
#[derive(Debug, Default)]
pub struct DnsHistory {
    by_pid: FxHashMap<u32, VecDeque<(i64, String)>>,
}

impl DnsHistory {
    /// Add this refresh's queries (those with a known process) and forget
    /// what fell out of the window.
    pub fn record(&mut self, queries: &[DnsQuery], now_ms: i64) {
        for q in queries {
            let Some(pid) = q.pid else { continue };
            if self.by_pid.len() >= PROCESSES && !self.by_pid.contains_key(&pid) {
                continue;
            }
            let list = self.by_pid.entry(pid).or_default();
            if list.len() >= PER_PROCESS {
                list.pop_front();
            }
            list.push_back((q.at_ms, q.name.clone()));
        }
        let horizon = now_ms - DNS_WINDOW_MS;
        self.by_pid.retain(|_, list| {
            while list.front().is_some_and(|(t, _)| *t < horizon) {
                list.pop_front();
            }
            !list.is_empty()
        });
    }

    /// Each process's activity in the window.
    pub fn activity(&self) -> BTreeMap<Pid, DnsActivity> {
        self.by_pid
            .iter()
            .map(|(&pid, list)| {
                let distinct: FxHashSet<&str> = list.iter().map(|(_, n)| n.as_str()).collect();
                let mut parents: FxHashMap<&str, (u32, &str)> = FxHashMap::default();
                for name in &distinct {
                    if let Some(p) = parent_domain(name) {
                        let e = parents.entry(p).or_insert((0, name));
                        e.0 += 1;
                    }
                }
                let top = parents.into_iter().max_by(|a, b| a.1.0.cmp(&b.1.0).then_with(|| b.0.cmp(a.0)));
                let activity = DnsActivity {
                    queries: u32::try_from(list.len()).unwrap_or(u32::MAX),
                    distinct_names: u32::try_from(distinct.len()).unwrap_or(u32::MAX),
                    top_parent: top.map(|(p, _)| p.to_string()),
                    top_parent_names: top.map_or(0, |(_, (n, _))| n),
                    example: top.map(|(_, (_, e))| e.to_string()),
                };
                (Pid(pid), activity)
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn q(pid: u32, at_ms: i64, name: &str) -> DnsQuery {
        DnsQuery { at_ms, name: name.into(), addrs: Vec::new(), pid: Some(pid), uid: None }
    }

    #[test]
    fn distinct_names_under_one_parent_in_the_window() {
        let mut h = DnsHistory::default();
        let mut batch: Vec<DnsQuery> = (0..30).map(|i| q(7, 1_000, &format!("x{i}.t.example.test"))).collect();
        batch.push(q(7, 1_000, "x0.t.example.test"));
        batch.push(q(7, 1_000, "www.example.org"));
        batch.push(q(8, 1_000, "api.github.com"));
        h.record(&batch, 1_000);
        let a = h.activity();
        let seven = &a[&Pid(7)];
        assert_eq!((seven.queries, seven.distinct_names), (32, 31));
        assert_eq!((seven.top_parent.as_deref(), seven.top_parent_names), (Some("t.example.test"), 30));
        assert_eq!(a[&Pid(8)].top_parent_names, 1);
        // Out of the window: forgotten.
        h.record(&[], 1_000 + DNS_WINDOW_MS + 1);
        assert!(h.activity().is_empty());
    }
}
