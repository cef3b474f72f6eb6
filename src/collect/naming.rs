//! Names for the live source: each refresh, the names the names service
//! knows for the remote addresses in view, reverse lookups asked for the
//! others (off the refresh path), and the DNS queries answered since the
//! last refresh, with the asking process when its socket is known.

use std::net::IpAddr;

use rustc_hash::FxHashSet;

use super::owners::OwnerCache;
use crate::model::{ClosedSocket, DnsQuery, NameFacts, ObservedName, RawSocket};
use crate::names::{Asker, Names};

/// The names service and what this source has taken from it.
#[derive(Debug)]
pub struct Naming {
    names: Names,
    /// Since when answers have been read (first refresh that saw the
    /// capture running).
    passive_since_ms: Option<i64>,
    /// Queries up to this time (Unix ms) were handed over already.
    queries_until_ms: i64,
}

impl Naming {
    pub fn new(names: Names) -> Self {
        Self { names, passive_since_ms: None, queries_until_ms: 0 }
    }

    pub fn names(&self) -> &Names {
        &self.names
    }

    /// The names of this refresh's remote addresses and the queries since
    /// the last refresh.
    pub fn observe(&mut self, sockets: &[RawSocket], closed: &[ClosedSocket], owners: &OwnerCache, now_ms: i64) -> NameFacts {
        if self.names.passive_running() {
            self.passive_since_ms.get_or_insert(now_ms);
        } else {
            self.passive_since_ms = None;
        }
        let remotes: FxHashSet<IpAddr> = sockets
            .iter()
            .filter(|s| !s.state.is_listening())
            .map(|s| s.remote.ip())
            .chain(closed.iter().map(|c| c.socket.remote.ip()))
            .filter(|ip| !ip.is_unspecified())
            .collect();
        let pid_of = |asker: Option<Asker>| asker.and_then(|a| owners.owners(a.inode).first().map(|p| p.0));
        let remotes: Vec<IpAddr> = remotes.into_iter().collect();
        let mut names = Vec::new();
        let mut unnamed = Vec::new();
        for (ip, found) in remotes.iter().zip(self.names.lookup_all(&remotes, now_ms)) {
            match found {
                Some(r) => names.push(ObservedName { ip: *ip, asked_by: pid_of(r.asker), names: r.names, source: r.source, seen_ms: r.seen_ms }),
                None => unnamed.push(*ip),
            }
        }
        self.names.want_unnamed(&unnamed);
        names.sort_by_key(|n| n.ip);
        let queries = self
            .names
            // Queries of the same millisecond as the last one handed over
            // and read after it are missed: rare, and only counts suffer.
            .queries_since(self.queries_until_ms.saturating_add(1))
            .into_iter()
            .map(|q| DnsQuery { at_ms: q.at_ms, pid: pid_of(q.asker), uid: q.asker.map(|a| a.uid), name: q.qname, addrs: q.addrs })
            .collect::<Vec<_>>();
        if let Some(last) = queries.iter().map(|q| q.at_ms).max() {
            self.queries_until_ms = last;
        }
        NameFacts { passive_since_ms: self.passive_since_ms, names, queries, numeric: false }
    }
}
