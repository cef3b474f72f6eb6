//! Names for what talks: which name an address was reached by, and who
//! asked. Three sources, best first:
//!
//! - passive DNS ([`capture`]): the answers the host's programs receive,
//!   read off a packet socket (root), so an address is shown with the
//!   name the program asked for, not a PTR name that may say nothing;
//! - reverse lookups ([`reverse`]): PTR queries, rate-limited, for
//!   addresses nobody named;
//! - `/etc/hosts` ([`hosts`]).
//!
//! Everything from the network is bounded and escaped before it is kept.
//! [`Names`] is the handle the collector holds; `Names::off()` (`-n`)
//! starts nothing and sends nothing.

pub mod answer;
pub mod cache;
pub mod capture;
pub mod diag;
pub mod file;
pub mod hosts;
pub mod packet;
pub mod reverse;
pub mod services;
mod shared;

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::sync::mpsc::{SyncSender, TrySendError};
use std::thread::JoinHandle;

pub use answer::{AnswerRecord, DnsAnswer};
pub use cache::{Asker, NameCache, NameRecord, NameSource, QueryRecord};
pub use packet::parse_packet;
pub use services::{Proto, Services, service_of};
use shared::{Shared, bump, get, lock};

/// What to start.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NameOptions {
    /// Read DNS answers off the wire (needs root).
    pub passive: bool,
    /// Make PTR queries for unnamed addresses.
    pub reverse: bool,
    /// The server for PTR queries; the first of `/etc/resolv.conf` if unset.
    pub dns_server: Option<SocketAddr>,
    /// Also look up loopback, link-local and private addresses.
    pub ptr_private: bool,
    /// Addresses kept in the cache.
    pub cache_cap: usize,
    /// PTR queries per second at most.
    pub ptr_rate_per_s: u32,
    /// The hosts file; `None` for none.
    pub hosts_file: Option<PathBuf>,
}

impl Default for NameOptions {
    fn default() -> Self {
        Self {
            passive: true,
            reverse: true,
            dns_server: None,
            ptr_private: false,
            cache_cap: cache::DEFAULT_CAP,
            ptr_rate_per_s: 20,
            hosts_file: Some(PathBuf::from("/etc/hosts")),
        }
    }
}

/// Counters, for health, tests and the benchmark.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct NameStats {
    /// Packets the filter let through.
    pub packets: u64,
    /// DNS answers parsed and cached (loopback echoes not counted).
    pub answers: u64,
    /// Packets from port 53 that were not a usable answer (errors, no
    /// addresses, malformed, partial TCP).
    pub not_answers: u64,
    /// Loopback echoes dropped.
    pub duplicates: u64,
    pub asker_found: u64,
    pub asker_missing: u64,
    pub recv_errors: u64,
    /// `want` calls that queued a request, and those dropped (queue full).
    pub ptr_wanted: u64,
    pub ptr_dropped: u64,
    pub ptr_sent: u64,
    pub ptr_answered: u64,
    pub ptr_negative: u64,
    /// Replies ignored: wrong source, id or question.
    pub ptr_rejected: u64,
    /// Addresses in the cache, and evicted by its cap.
    pub cached: u64,
    pub evicted: u64,
}

/// The threads and the request channel; dropping it stops the threads.
#[derive(Debug)]
struct Inner {
    shared: Arc<Shared>,
    /// `false` for [`Names::off`].
    on: bool,
    want_tx: Option<SyncSender<IpAddr>>,
    ptr_private: bool,
    reverse_server: Option<Result<SocketAddr, String>>,
    passive: bool,
    threads: Vec<JoinHandle<()>>,
}

impl Drop for Inner {
    fn drop(&mut self) {
        self.shared.stop.store(true, Ordering::Relaxed);
        self.want_tx = None;
        for t in self.threads.drain(..) {
            let _ = t.join();
        }
    }
}

/// The names service; clones share it, and its threads stop when the last
/// clone is dropped.
#[derive(Debug, Clone)]
pub struct Names {
    inner: Arc<Inner>,
}

impl Names {
    /// Start what `options` asks for. Never fails: what could not start is
    /// said in [`health`](Self::health).
    pub fn start(options: NameOptions) -> Names {
        let NameOptions { passive, reverse, dns_server, ptr_private, cache_cap, ptr_rate_per_s, hosts_file } = options;
        let hosts: HashMap<IpAddr, Vec<String>> = match &hosts_file {
            Some(path) => hosts::load_hosts(path).map(|h| h.into_iter().collect()).unwrap_or_default(),
            None => HashMap::new(),
        };
        let shared = Arc::new(Shared::new(NameCache::new(cache_cap), hosts));
        let mut threads = Vec::new();
        if passive {
            match capture::spawn(Arc::clone(&shared)) {
                Ok(t) => threads.push(t),
                Err(reason) => *lock(&shared.capture_status) = Some(Err(reason)),
            }
        }
        let mut want_tx = None;
        let mut reverse_server = None;
        if reverse {
            let server = dns_server.or_else(reverse::system_server);
            reverse_server = Some(match server {
                None => Err("no nameserver in /etc/resolv.conf".to_string()),
                Some(server) => {
                    let (tx, rx) = std::sync::mpsc::sync_channel(reverse::QUEUE);
                    match reverse::spawn(Arc::clone(&shared), rx, server, ptr_rate_per_s) {
                        Ok(t) => {
                            threads.push(t);
                            want_tx = Some(tx);
                            Ok(server)
                        }
                        Err(reason) => Err(reason),
                    }
                }
            });
        }
        Names { inner: Arc::new(Inner { shared, on: true, want_tx, ptr_private, reverse_server, passive, threads }) }
    }

    /// Names off (`-n`): no thread, no packet sent, no name returned.
    pub fn off() -> Names {
        let shared = Arc::new(Shared::new(NameCache::new(1), HashMap::new()));
        Names { inner: Arc::new(Inner { shared, on: false, want_tx: None, ptr_private: false, reverse_server: None, passive: false, threads: Vec::new() }) }
    }

    /// The names of `ip` at `now_ms`: cached DNS and PTR names, else `/etc/hosts`.
    pub fn lookup(&self, ip: IpAddr, now_ms: i64) -> Option<NameRecord> {
        self.lookup_all(&[ip], now_ms).pop().flatten()
    }

    /// [`lookup`](Self::lookup) for many addresses under one hold of the
    /// cache (a refresh names every remote address at once).
    pub fn lookup_all(&self, ips: &[IpAddr], now_ms: i64) -> Vec<Option<NameRecord>> {
        if !self.inner.on {
            return vec![None; ips.len()];
        }
        let shared = &self.inner.shared;
        let mut cache = shared.cache();
        ips.iter()
            .map(|ip| {
                cache
                    .lookup_used(*ip, now_ms)
                    .or_else(|| shared.hosts.get(ip).map(|names| NameRecord { names: names.clone(), source: NameSource::Hosts, asker: None, seen_ms: 0 }))
            })
            .collect()
    }

    /// Ask for PTR lookups of addresses a refresh found without a name
    /// (so no second cache lookup), in order, until the queue is full: the
    /// rest are counted as dropped at once and asked again by a later
    /// refresh. Never blocks; the refresh pays for the queued ones only.
    pub fn want_unnamed(&self, ips: &[IpAddr]) {
        let Some(tx) = &self.inner.want_tx else { return };
        let c = &self.inner.shared.counters;
        let mut askable = ips.iter().filter(|ip| self.inner.ptr_private || !reverse::is_private(**ip));
        for ip in askable.by_ref() {
            match tx.try_send(*ip) {
                Ok(()) => bump(&c.ptr_wanted),
                Err(TrySendError::Full(_) | TrySendError::Disconnected(_)) => {
                    c.ptr_dropped.fetch_add(1 + askable.count() as u64, std::sync::atomic::Ordering::Relaxed);
                    return;
                }
            }
        }
    }

    /// Ask for a PTR lookup of `ip` if reverse lookups are on, it may be
    /// asked about, and it has no name yet. Never blocks.
    pub fn want(&self, ip: IpAddr) {
        let shared = &self.inner.shared;
        if self.inner.want_tx.is_some() && shared.cache().lookup(ip, shared::now_ms()).is_none() {
            self.want_unnamed(&[ip]);
        }
    }

    /// Answered queries since `since_ms`, oldest first.
    pub fn queries_since(&self, since_ms: i64) -> Vec<QueryRecord> {
        if !self.inner.on {
            return Vec::new();
        }
        self.inner.shared.cache().queries_since(since_ms)
    }

    /// Record an answer as if it had been captured (tests, benchmarks, replay).
    pub fn insert_answer(&self, answer: &DnsAnswer, asker: Option<Asker>, now_ms: i64) {
        if self.inner.on {
            self.inner.shared.cache().insert_answer(answer, asker, now_ms);
        }
    }

    pub fn stats(&self) -> NameStats {
        let s = &self.inner.shared;
        let c = &s.counters;
        let (cached, evicted) = {
            let cache = s.cache();
            (cache.len() as u64, cache.evicted())
        };
        NameStats {
            packets: get(&c.packets),
            answers: get(&c.answers),
            not_answers: get(&c.not_answers),
            duplicates: get(&c.duplicates),
            asker_found: get(&c.asker_found),
            asker_missing: get(&c.asker_missing),
            recv_errors: get(&c.recv_errors),
            ptr_wanted: get(&c.ptr_wanted),
            ptr_dropped: get(&c.ptr_dropped),
            ptr_sent: get(&c.ptr_sent),
            ptr_answered: get(&c.ptr_answered),
            ptr_negative: get(&c.ptr_negative),
            ptr_rejected: get(&c.ptr_rejected),
            cached,
            evicted,
        }
    }

    /// Whether DNS answers are being read off the wire now.
    pub fn passive_running(&self) -> bool {
        self.inner.on && self.inner.passive && matches!(lock(&self.inner.shared.capture_status).as_ref(), Some(Ok(_)))
    }

    /// One line per part, for the health panel.
    pub fn health(&self) -> Vec<String> {
        if !self.inner.on {
            return vec!["names off (-n)".to_string()];
        }
        let st = self.stats();
        let mut out = Vec::new();
        if !self.inner.passive && self.inner.reverse_server.is_none() {
            return vec!["names from /etc/hosts only (no DNS answers read, no reverse lookups)".to_string()];
        }
        if self.inner.passive {
            match lock(&self.inner.shared.capture_status).as_ref() {
                Some(Err(reason)) => out.push(format!("passive DNS off: {reason}")),
                Some(Ok(detail)) => out.push(format!(
                    "passive DNS: reading answers on all interfaces ({} answers, {} names cached, askers found for {}; {detail})",
                    st.answers, st.cached, st.asker_found
                )),
                None => out.push("passive DNS: starting".to_string()),
            }
        } else {
            out.push("passive DNS off: not asked for".to_string());
        }
        match &self.inner.reverse_server {
            Some(Ok(server)) => out.push(format!(
                "reverse lookups: via {server}, {} sent, {} answered, {} negative, {} dropped",
                st.ptr_sent, st.ptr_answered, st.ptr_negative, st.ptr_dropped
            )),
            Some(Err(reason)) => out.push(format!("reverse lookups off: {reason}")),
            None => out.push("reverse lookups off: not asked for".to_string()),
        }
        out
    }
}
