//! The live Linux source: netlink dumps of every network namespace, the
//! kernel's destroy events for sockets that closed between refreshes, the
//! connect tracepoint (root) for who made them, the cached owner map and
//! process facts.

use std::time::Instant;

use rustc_hash::FxHashSet;

use super::closing::Closing;
use super::netlink::{DestroyListener, DiagSocket, EventPump, PumpStats, SplitDump};
use super::netns::{Activity, NamespaceSet, Sightings};
use super::owners::OwnerCache;
use super::owners::ProcFs;
use super::probe::{LiveProbe, ProbeMemo};
use super::procfs::{FactsCache, RealProcFs};
use super::trace::{ConnectTracer, TraceStats};
use super::{CollectError, Observation, Source, SourceInfo, SourceKind, host_name, now_ms};
use crate::model::{HealthMessage, NetNs, RawSocket, StageTimings};

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
    /// Destroy events of every entered namespace; none when the kernel
    /// refused (then only polling sees connections).
    pump: Option<EventPump>,
    /// Why there is no pump.
    pump_error: Option<String>,
    /// The connect tracepoint (root); none otherwise, with the reason.
    tracer: Option<ConnectTracer>,
    tracer_note: String,
    closing: Closing,
    last_pump: PumpStats,
    last_trace: TraceStats,
    /// Refreshes collected so far.
    collects: u64,
    /// Names of remote addresses; none with `-n`.
    naming: Option<super::naming::Naming>,
    /// Rows of the last refresh: the next dump's vector is sized from it,
    /// so it is allocated once instead of doubling (each doubling held the
    /// old and the new block at once: a third more memory at the peak).
    last_rows: usize,
    /// How the next refresh dumps this namespace: whole, or (a big table
    /// on two cores) in two halves on two sockets and threads.
    split: SplitDump,
}

/// What the live source turns on besides dumps.
#[derive(Debug, Clone)]
pub struct LiveOptions {
    /// Name the process behind connections too short for a refresh through
    /// the kernel's connect tracepoint (root only; creates a tracing
    /// instance of necromap's own, removed on exit).
    pub trace_connects: bool,
    /// Names for remote addresses (passive DNS, reverse lookups,
    /// `/etc/hosts`); None: no names, nothing sent (`-n`).
    pub names: Option<crate::names::NameOptions>,
    /// Read only the namespace necromap runs in (`agent --netns self`):
    /// what a per-container or per-namespace agent wants.
    pub own_namespace_only: bool,
}

impl Default for LiveOptions {
    fn default() -> Self {
        Self { trace_connects: true, names: Some(crate::names::NameOptions::default()), own_namespace_only: false }
    }
}

impl LinuxSource {
    /// Open netlink and /proc, and check that a dump works.
    pub fn open() -> Result<Self, String> {
        Self::open_with(LiveOptions::default())
    }

    /// [`Self::open`] with options.
    pub fn open_with(options: LiveOptions) -> Result<Self, String> {
        let mut diag = DiagSocket::open().map_err(|e| e.to_string())?;
        diag.probe().map_err(|e| e.to_string())?;
        let proc_fs = RealProcFs::open().map_err(|e| format!("cannot open /proc: {e}"))?;
        let facts = FactsCache::new(&proc_fs);
        let namespaces = NamespaceSet::new(&proc_fs)?.only_own(options.own_namespace_only);
        let (pump, pump_error) = match EventPump::start().and_then(|p| DestroyListener::open().map(|l| (p, l)).map_err(std::io::Error::other)) {
            Ok((pump, listener)) => {
                pump.add(u64::from(namespaces.own()), listener);
                (Some(pump), None)
            }
            Err(e) => (None, Some(format!("socket destroy events unavailable ({e}): connections shorter than a refresh are missed"))),
        };
        let privileged = rustix::process::geteuid().is_root();
        let (tracer, tracer_note) = if !options.trace_connects {
            (None, "connect tracing off: connections shorter than a refresh show no process".to_string())
        } else if !privileged {
            (None, "connect tracing needs root: connections shorter than a refresh show no process (owner unknown: too short)".to_string())
        } else {
            match ConnectTracer::start() {
                Ok(t) => {
                    let note = format!("{}; removed on exit", t.describe());
                    (Some(t), note)
                }
                Err(e) => (None, format!("{e}: connections shorter than a refresh show no process")),
            }
        };
        Ok(Self {
            diag,
            proc_fs,
            owners: OwnerCache::new(),
            facts,
            probe: ProbeMemo::default(),
            host: host_name(),
            privileged,
            namespaces,
            pump,
            pump_error,
            tracer,
            tracer_note,
            closing: Closing::new(),
            last_pump: PumpStats::default(),
            last_trace: TraceStats::default(),
            collects: 0,
            naming: options.names.map(|o| super::naming::Naming::new(crate::names::Names::start(o))),
            last_rows: 0,
            split: SplitDump::default(),
        })
    }
}

impl LinuxSource {
    /// Dump this namespace's sockets: the first refresh beside reading
    /// every process's fds, later ones in two halves when the last was big.
    fn dump_own(&mut self, sockets: &mut Vec<RawSocket>) -> Result<(), CollectError> {
        if self.collects == 0 {
            // The first refresh reads every process's fds: beside the dump,
            // on another core (a one-shot `snapshot` is mostly this).
            let (owners, fs, diag) = (&mut self.owners, &mut self.proc_fs, &mut self.diag);
            let ((), dumped) = crate::both::both(|| owners.prime(fs), || diag.dump_all(sockets));
            dumped?;
        } else {
            self.split.dump(&mut self.diag, sockets)?;
        }
        Ok(())
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
        let mut sockets = Vec::with_capacity((self.last_rows + self.last_rows / 16).max(1024));
        self.dump_own(&mut sockets)?;
        self.split.plan(&sockets);
        let own_sockets = sockets.len() as u32;
        let seen = Sightings::scan(&mut self.proc_fs);
        // Sockets that closed since the last refresh, and where: namespaces
        // with activity are read again; quiet ones may keep their rows.
        let (events, pump_stats) = self.pump.as_ref().map(EventPump::take).unwrap_or_default();
        let (connects, trace_stats) = self.tracer.as_ref().map(ConnectTracer::take).unwrap_or_default();
        let mut activity = Activity::default();
        for (ns, d) in &events {
            activity.namespaces.insert(u32::try_from(*ns).unwrap_or(0));
            activity.closed.insert(d.key.cookie);
        }
        activity.namespaces.extend(connects.iter().filter_map(|c| c.net_ns).filter_map(|n| u32::try_from(n).ok()));
        // Lost events may be closes in any namespace: read them all again.
        activity.events_lost = pump_stats.lost_since(&self.last_pump) > 0;
        let mut ns_dump = self.namespaces.dump(&self.proc_fs, &seen, own_sockets, &activity, taken_at_ms, &mut sockets);
        if let Some(pump) = &self.pump {
            for ns in &ns_dump.gone {
                pump.remove(u64::from(ns.0));
            }
            for (ns, fd) in std::mem::take(&mut ns_dump.new) {
                match super::netns::within(fd, DestroyListener::open).and_then(|l| l.map_err(|e| e.to_string())) {
                    Ok(listener) => pump.add(u64::from(ns.0), listener),
                    Err(e) => ns_dump.health.push(HealthMessage::warn(format!("no destroy events from namespace {ns}: {e}"))),
                }
            }
        }
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
        // Sockets that closed since the last refresh, with their owners.
        let closed = self.closing.attribute(events, connects, self.tracer.is_some(), &sockets, self.namespaces.own(), taken_at_ms);
        // Processes behind closed sockets get facts too (when still alive):
        // a beacon or a scanner holds no socket between its attempts.
        let holders_now: FxHashSet<u32> = owner_set.clone();
        owner_set.extend(closed.iter().filter_map(|c| c.pid).map(|p| p.0));
        // So do processes named like kernel threads that hold fds or run an
        // executable, socket or not: kernel threads do neither.
        owner_set.extend(self.owners.masquerading(&mut self.proc_fs));
        let mut owner_pids: Vec<u32> = owner_set.into_iter().collect();
        owner_pids.sort_unstable();
        timings.owners_ms = ms_since(t);

        let t = Instant::now();
        let holders = holders_now;
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
        self.name_namespaces(&mut namespaces, &seen, &processes);
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
        self.collects += 1;
        health.extend(self.event_health(&pump_stats, &trace_stats));
        let names = self.names(&sockets, &closed, taken_at_ms, &mut health);
        self.last_rows = sockets.len();
        self.last_pump = pump_stats;
        self.last_trace = trace_stats;
        Ok(Observation {
            taken_at_ms,
            sockets,
            processes,
            owner_scan,
            privileged: self.privileged,
            viewer_uid: Some(rustix::process::getuid().as_raw()),
            health,
            namespaces,
            closed,
            names,
            timings,
        })
    }
}

impl LinuxSource {
    /// An unnamed namespace is called after the container its socket
    /// owners run in, else after its first process.
    fn name_namespaces(&mut self, namespaces: &mut [crate::model::NamespaceInfo], seen: &Sightings, processes: &[crate::model::ProcessFacts]) {
        let unnamed = |n: &crate::model::NamespaceInfo| n.key().is_some() && seen.by_inode.get(&n.inode).is_some_and(|s| s.bound_name.is_none());
        for n in namespaces.iter_mut().filter(|n| unnamed(n)) {
            let container =
                processes.iter().filter(|p| p.netns == Some(NetNs(n.inode))).find_map(|p| p.workload.container.as_ref().map(crate::model::Container::label));
            if let Some(label) = container {
                n.name = label;
            } else if let Some(comm) = seen.by_inode.get(&n.inode).and_then(|s| s.first_pid).and_then(|p| self.proc_fs.comm(p)) {
                n.name = format!("{} ({})", n.name, crate::text::bounded(&comm, 32));
            }
        }
    }

    /// The names of this refresh's remote addresses, and the names
    /// service's health lines; numeric with `-n`.
    fn names(
        &mut self,
        sockets: &[crate::model::RawSocket],
        closed: &[crate::model::ClosedSocket],
        now_ms: i64,
        health: &mut Vec<HealthMessage>,
    ) -> crate::model::NameFacts {
        match &mut self.naming {
            Some(naming) => {
                health.extend(naming.names().health().into_iter().map(HealthMessage::info));
                naming.observe(sockets, closed, &self.owners, now_ms)
            }
            None => crate::model::NameFacts { numeric: true, ..crate::model::NameFacts::default() },
        }
    }

    /// What the event sources say this refresh: always one line about
    /// short connections, and warnings when events were lost since the
    /// previous refresh (the dump that follows is the resync).
    fn event_health(&self, pump: &PumpStats, trace: &TraceStats) -> Vec<HealthMessage> {
        let mut out = Vec::new();
        let c = &self.closing.stats;
        match (&self.pump, &self.pump_error) {
            // Nothing can have closed "since the last refresh" at the first.
            (Some(_), _) if self.collects <= 1 => {}
            (Some(_), _) => out.push(HealthMessage::info(format!(
                "short connections: {} closed sockets from kernel events ({} owners from refreshes, {} from the connect tracepoint, {} from their listener, {} owner unknown: too short); {}",
                pump.received, c.from_dump, c.from_trace, c.from_listener, c.unknown, self.tracer_note
            ))),
            (None, Some(e)) => out.push(HealthMessage::warn(e.clone())),
            (None, None) => {}
        }
        if pump.lost_since(&self.last_pump) > 0 {
            let overruns = pump.kernel_overruns.saturating_sub(self.last_pump.kernel_overruns);
            let dropped = pump.dropped_queue_full.saturating_sub(self.last_pump.dropped_queue_full);
            out.push(HealthMessage::warn(format!(
                "destroy events were lost since the last refresh ({overruns} kernel buffer overruns, {dropped} dropped from a full queue): some short connections are missing; this refresh re-reads every namespace to resynchronise"
            )));
        }
        let lost = trace.kernel_lost.saturating_sub(self.last_trace.kernel_lost) + trace.dropped_queue_full.saturating_sub(self.last_trace.dropped_queue_full);
        if lost > 0 {
            out.push(HealthMessage::warn(format!("the connect tracepoint lost {lost} records since the last refresh: some short connections show no process")));
        }
        out
    }
}
