//! The live Linux source: netlink dump, cached owner map, process facts.

use std::time::Instant;

use rustc_hash::FxHashSet;

use super::netlink::DiagSocket;
use super::netns::{NamespaceSet, Sightings};
use super::owners::OwnerCache;
use super::owners::ProcFs;
use super::probe::{LiveProbe, ProbeMemo};
use super::procfs::{FactsCache, RealProcFs};
use super::{CollectError, Observation, Source, SourceInfo, SourceKind, host_name, now_ms};
use crate::model::{HealthMessage, NetNs, StageTimings};

#[derive(Debug)]
pub struct LinuxSource {
    diag: DiagSocket,
    proc_fs: RealProcFs,
    owners: OwnerCache,
    facts: FactsCache,
    probe: ProbeMemo,
    host: String,
    privileged: bool,
    namespaces: NamespaceSet,
}

impl LinuxSource {
    /// Open netlink and /proc, and check that a dump works.
    pub fn open() -> Result<Self, String> {
        let mut diag = DiagSocket::open().map_err(|e| e.to_string())?;
        diag.dump_all(&mut Vec::new()).map_err(|e| e.to_string())?;
        let proc_fs = RealProcFs::open().map_err(|e| format!("cannot open /proc: {e}"))?;
        let facts = FactsCache::new(&proc_fs);
        let namespaces = NamespaceSet::new(&proc_fs)?;
        Ok(Self {
            diag,
            proc_fs,
            owners: OwnerCache::new(),
            facts,
            probe: ProbeMemo::default(),
            host: host_name(),
            privileged: rustix::process::geteuid().is_root(),
            namespaces,
        })
    }
}

fn ms_since(t: Instant) -> f64 {
    t.elapsed().as_secs_f64() * 1000.0
}

impl Source for LinuxSource {
    fn info(&self) -> SourceInfo {
        SourceInfo { kind: SourceKind::Netlink, host: self.host.clone(), detail: "netlink sock_diag with tcp_info; owners from /proc/*/fd (cached)".into() }
    }

    fn collect(&mut self) -> Result<Observation, CollectError> {
        let mut timings = StageTimings::default();
        let taken_at_ms = now_ms();

        let t = Instant::now();
        let mut sockets = Vec::with_capacity(1024);
        self.diag.dump_all(&mut sockets)?;
        let own_sockets = sockets.len() as u32;
        let seen = Sightings::scan(&mut self.proc_fs);
        let ns_dump = self.namespaces.dump(&self.proc_fs, &seen, own_sockets, &mut sockets);
        timings.dump_ms = ms_since(t);

        let t = Instant::now();
        let live: FxHashSet<u32> = sockets.iter().map(|s| s.inode).filter(|&i| i != 0).collect();
        let owner_scan = self.owners.refresh(&mut self.proc_fs, &live);
        let mut owner_set: FxHashSet<u32> = FxHashSet::default();
        for s in &mut sockets {
            if s.inode != 0 {
                s.owners = self.owners.owners(s.inode);
                owner_set.extend(s.owners.iter().map(|p| p.0));
            }
        }
        let mut owner_pids: Vec<u32> = owner_set.into_iter().collect();
        owner_pids.sort_unstable();
        timings.owners_ms = ms_since(t);

        let t = Instant::now();
        let holders: FxHashSet<u32> = owner_pids.iter().copied().collect();
        self.probe.failures = 0;
        let mut probe = LiveProbe { fs: &self.proc_fs, diag: &mut self.diag, owners: &self.owners, memo: &mut self.probe };
        let links = super::plumbing::shell_links(&self.owners, &live, &holders, &mut probe);
        self.probe.rotate();
        timings.plumbing_ms = ms_since(t);
        let mut processes = self.facts.facts(&self.proc_fs, &self.owners, &owner_pids, &live, &links);
        let own = self.namespaces.own();
        for p in &mut processes {
            p.netns = seen.pid_netns.get(&p.pid).copied().filter(|&i| i != own).map(NetNs);
        }
        let mut namespaces = ns_dump.namespaces;
        // An unnamed namespace is called after the container its socket
        // owners run in, else after its first process.
        for n in namespaces.iter_mut().filter(|n| n.name.starts_with("pid ")) {
            let container =
                processes.iter().filter(|p| p.netns == Some(NetNs(n.inode))).find_map(|p| p.workload.container.as_ref().map(crate::model::Container::label));
            if let Some(label) = container {
                n.name = label;
            } else if let Some(comm) = seen.by_inode.get(&n.inode).and_then(|s| s.first_pid).and_then(|p| self.proc_fs.comm(p)) {
                n.name = format!("{} ({})", n.name, crate::text::bounded(&comm, 32));
            }
        }
        timings.facts_ms = ms_since(t);

        let mut health = ns_dump.health;
        if self.probe.failures > 0 {
            health.push(HealthMessage::warn(format!(
                "{} Unix socket peer lookups failed: shells plumbed through socketpairs may be missed",
                self.probe.failures
            )));
        }
        if owner_scan.denied > 0 && !self.privileged {
            health.push(HealthMessage::info(format!(
                "{} processes belong to other users and their sockets show no owner — run as root to see them",
                owner_scan.denied
            )));
        }
        Ok(Observation { taken_at_ms, sockets, processes, owner_scan, privileged: self.privileged, health, namespaces, timings })
    }
}
