//! The snapshot: one refresh, immutable, shared as `Arc<Snapshot>` with
//! every consumer (TUI, MCP, store, exporters).

use std::collections::BTreeMap;

use super::SourceInfo;
use super::closed::ClosedSocket;
use super::finding::{Finding, Subject};
use super::graph::{NetGraph, NodeRef};
use super::health::{Health, StageTimings};
use super::index::{FactIndex, Facts};
use super::keys::{EndpointKey, ListenerKey, NetNs, Pid, SocketKey};
use super::namespace::NamespaceInfo;
use super::nodes::{ProcessNode, RemoteEndpointNode, ServiceListenerNode};
use super::order::SocketOrder;
use super::socket::Socket;
use crate::spare::Spare;

#[derive(Debug, Clone)]
pub struct Snapshot {
    /// Counts up from 1 with each published refresh.
    pub generation: u64,
    /// When the rows were read (Unix ms).
    pub taken_at_ms: i64,
    pub source: SourceInfo,
    /// Sorted by key.
    pub sockets: Vec<Socket>,
    pub processes: BTreeMap<Pid, ProcessNode>,
    pub endpoints: BTreeMap<EndpointKey, RemoteEndpointNode>,
    pub listeners: BTreeMap<ListenerKey, ServiceListenerNode>,
    pub graph: NetGraph,
    /// Filled by the rule engine before publishing; sorted by severity
    /// (highest first), then id. Set with [`Snapshot::set_findings`] so the
    /// index follows.
    pub findings: Vec<Finding>,
    /// What the findings say about each socket, process and endpoint.
    /// Rebuilt by [`Snapshot::set_findings`], [`Snapshot::retain_sockets`]
    /// and [`Snapshot::reindex`]; whoever changes `sockets` or `findings`
    /// directly calls `reindex`.
    pub index: FactIndex,
    /// The default list order and each process's sockets, rebuilt with
    /// the index.
    pub order: SocketOrder,
    pub health: Health,
    pub timings: StageTimings,
    /// The network namespaces in use (empty when the source does not
    /// look beyond its own).
    pub namespaces: Vec<NamespaceInfo>,
    /// Sockets that closed since the previous refresh, however short
    /// (empty for sources without kernel events).
    pub closed: Vec<ClosedSocket>,
    /// Names and DNS queries the collector saw for this refresh.
    pub names: super::NameFacts,
    /// What each process asked DNS for in the last minutes (processes
    /// whose queries could be attributed).
    pub dns_activity: BTreeMap<Pid, super::DnsActivity>,
    /// The Suricata alerts followed (`--eve`) as this refresh saw them;
    /// none when no alerts are followed. Set by the collector.
    pub alerts: Option<std::sync::Arc<super::AlertDigest>>,
    /// The logins followed (`--auth-log`, `--journal`) as this refresh saw
    /// them, each party tallied; none when no logins are followed.
    pub logins: Option<std::sync::Arc<super::LoginDigest>>,
    /// Alert-only parties: addresses the alerts or logins of the last day
    /// name that no socket reaches, most severe first (see
    /// [`super::parties`]). The graph holds them as endpoints without edges.
    pub parties: Vec<super::Party>,
    /// Where the socket table goes when the snapshot does: the builder's
    /// spare, so the next refresh writes into pages already mapped (see
    /// [`crate::spare`]). None for snapshots made any other way.
    pub(super) spare: Option<Spare<Socket>>,
}

impl Drop for Snapshot {
    fn drop(&mut self) {
        if let Some(spare) = self.spare.take() {
            spare.keep(std::mem::take(&mut self.sockets));
        }
    }
}

impl Snapshot {
    /// Find the alert-only parties of the digests and findings set on
    /// this snapshot and put them in its graph's slots (in the room
    /// `crowding` gives). Once per snapshot, after
    /// [`Snapshot::set_findings`] and the digests.
    pub fn place_parties(&mut self, crowding: super::graph_build::Crowding<'_>) {
        self.parties = super::parties(self.alerts.as_deref(), self.logins.as_deref(), &self.endpoints, &self.index, self.taken_at_ms);
        self.graph.add_parties(&self.parties, &self.endpoints, crowding);
    }

    /// An empty snapshot (before the first refresh).
    pub fn empty(source: SourceInfo) -> Self {
        Self {
            generation: 0,
            taken_at_ms: 0,
            source,
            sockets: Vec::new(),
            processes: BTreeMap::new(),
            endpoints: BTreeMap::new(),
            listeners: BTreeMap::new(),
            graph: NetGraph::new(),
            findings: Vec::new(),
            index: FactIndex::default(),
            order: SocketOrder::default(),
            health: Health::default(),
            timings: StageTimings::default(),
            namespaces: Vec::new(),
            closed: Vec::new(),
            names: super::NameFacts::default(),
            dns_activity: BTreeMap::new(),
            alerts: None,
            logins: None,
            parties: Vec::new(),
            spare: None,
        }
    }

    pub fn socket(&self, key: SocketKey) -> Option<&Socket> {
        self.sockets.binary_search_by_key(&key, Socket::key).ok().map(|i| &self.sockets[i])
    }

    /// Replace the findings: sorted by severity (highest first), then id,
    /// and indexed.
    pub fn set_findings(&mut self, mut findings: Vec<Finding>) {
        findings.sort_by(|a, b| b.severity.cmp(&a.severity).then_with(|| a.id.cmp(&b.id)));
        self.findings = findings;
        self.reindex();
    }

    /// Keep only the sockets `keep` accepts, then index and draw the map
    /// again (the graph's edges hold socket positions).
    pub fn retain_sockets(&mut self, spec: &crate::spec::Spec, keep: impl FnMut(&Socket) -> bool) {
        self.sockets.retain(keep);
        self.reindex();
        self.graph = super::graph_build::build_graph(&self.sockets, None, &self.endpoints, super::graph_build::Crowding::large(spec));
    }

    /// Rebuild the fact index from `sockets` and `findings` as they are.
    pub fn reindex(&mut self) {
        self.index = FactIndex::build(&self.sockets, &self.findings);
        self.order = SocketOrder::build(self.sockets.len(), &self.index);
    }

    /// The endpoints at `ip`, in every namespace that reaches it.
    pub fn endpoints_at(&self, ip: std::net::IpAddr) -> impl Iterator<Item = EndpointKey> + '_ {
        let ip = crate::terms::normalize_ip(ip);
        let from = EndpointKey { ip, netns: None };
        let to = EndpointKey { ip, netns: Some(NetNs(u32::MAX)) };
        self.endpoints.range(from..=to).map(|(k, _)| *k)
    }

    /// Positions in `sockets` of the sockets connected with `ip` (inbound or
    /// outbound, any namespace), read off the map's graph; with `pid`, only
    /// those it owns. In socket order.
    pub fn sockets_with(&self, ip: std::net::IpAddr, pid: Option<Pid>) -> Vec<usize> {
        let mut out: Vec<usize> = Vec::new();
        for key in self.endpoints_at(ip) {
            let node = NodeRef::Endpoint(key);
            for (_, e) in self.graph.edges_into(node).chain(self.graph.edges_from(node)) {
                let owned =
                    e.sockets.iter().map(|&i| i as usize).filter(|&i| pid.is_none_or(|p| self.sockets.get(i).is_some_and(|s| s.raw.owners.contains(&p))));
                out.extend(owned);
            }
        }
        out.sort_unstable();
        out
    }

    /// About how many heap bytes the socket table holds (each socket and
    /// its owner list).
    pub fn socket_table_bytes(&self) -> usize {
        self.sockets.capacity() * std::mem::size_of::<Socket>() + self.sockets.iter().map(|s| s.raw.owners.heap_bytes()).sum::<usize>()
    }

    /// What the findings say about this socket (found by key).
    pub fn socket_facts(&self, socket: &Socket) -> Option<&Facts> {
        let i = self.sockets.binary_search_by_key(&socket.key(), Socket::key).ok()?;
        self.index.socket(i)
    }

    /// The worst finding of a set of facts.
    pub fn worst_finding(&self, facts: &Facts) -> Option<&Finding> {
        self.findings.get(facts.worst)
    }

    /// The remote address a finding's subject concerns: the endpoint, or a
    /// socket's remote (none for a listener or a process).
    pub fn subject_remote(&self, subject: Subject) -> Option<std::net::IpAddr> {
        match subject {
            Subject::Endpoint { endpoint } => Some(crate::terms::normalize_ip(endpoint.ip)),
            Subject::Socket { socket, .. } => self.socket(socket).map(|x| crate::terms::normalize_ip(x.raw.remote.ip())).filter(|ip| !ip.is_unspecified()),
            Subject::Process { .. } | Subject::Host => None,
        }
    }

    /// The namespace a key names (none: the observer's own), if known.
    pub fn namespace(&self, ns: Option<NetNs>) -> Option<&NamespaceInfo> {
        match ns {
            None => self.namespaces.iter().find(|n| n.key().is_none()),
            Some(ns) => self.namespaces.iter().find(|n| n.inode == ns.0),
        }
    }

    /// The name a socket's remote endpoint is known by, when one was seen.
    pub fn remote_name(&self, socket: &Socket) -> Option<&str> {
        self.endpoints.get(&socket.endpoint()).and_then(|e| e.hostname.as_deref())
    }

    /// The inode of a namespace key: the observer's own is looked up (none
    /// when the source does not say, e.g. recordings made before
    /// namespaces were read).
    pub fn namespace_inode(&self, ns: Option<NetNs>) -> Option<u32> {
        ns.map(|n| n.0).or_else(|| self.namespace(None).map(|n| n.inode))
    }

    /// The namespace a finding is about, as every export writes it: its
    /// inode and readable name; none for an endpoint outside loopback,
    /// which every namespace shares.
    pub fn finding_namespace(&self, f: &Finding) -> Option<(Option<u32>, String)> {
        f.subject.in_one_namespace().then(|| (self.namespace_inode(f.netns), self.namespace_name(f.netns)))
    }

    /// A readable name for a namespace key: `host` for the observer's own.
    pub fn namespace_name(&self, ns: Option<NetNs>) -> String {
        self.namespace_label(ns).into_owned()
    }

    /// [`Self::namespace_name`], borrowed where it can be.
    pub fn namespace_label(&self, ns: Option<NetNs>) -> std::borrow::Cow<'_, str> {
        match (ns, self.namespace(ns)) {
            (_, Some(n)) => n.name.as_str().into(),
            (None, None) => "host".into(),
            (Some(ns), None) => ns.to_string().into(),
        }
    }

    /// Whether namespace `ns` is the one `want` names: `host`, an inode
    /// (`4026532301` or `net:4026532301`), or part of its name
    /// (case-insensitive). The filter language and the MCP tools share it.
    pub fn namespace_matches(&self, ns: Option<NetNs>, want: &str) -> bool {
        let want = want.trim().to_lowercase();
        match want.parse::<NetNs>() {
            Ok(w) => ns == Some(w) || (ns.is_none() && self.namespace(None).is_some_and(|n| n.inode == w.0)),
            Err(_) => self.namespace_name(ns).to_lowercase().contains(want.as_str()),
        }
    }

    /// The container or unit label of a socket's owner, if known.
    pub fn workload_label(&self, socket: &super::socket::Socket) -> Option<String> {
        self.process(socket.owner()?)?.facts.workload.label()
    }

    /// Whether a process's workload is the one `want` names: part of its
    /// container label, id, name, pod, unit or slice (case-insensitive).
    pub fn workload_matches(workload: &super::workload::Workload, want: &str) -> bool {
        let want = want.trim().to_lowercase();
        let hit = |s: &str| s.to_lowercase().contains(want.as_str());
        workload.container.as_ref().is_some_and(|c| {
            hit(&c.label())
                || hit(&c.full_id)
                || c.name.as_deref().is_some_and(hit)
                || c.pod_name.as_deref().is_some_and(hit)
                || c.pod_uid.as_deref().is_some_and(hit)
        }) || workload.unit.as_deref().is_some_and(hit)
            || workload.slice.as_deref().is_some_and(hit)
    }

    /// A socket-owning process.
    pub fn process(&self, pid: Pid) -> Option<&ProcessNode> {
        self.processes.get(&pid)
    }

    /// Count of sockets per state name, for summaries.
    pub fn state_counts(&self) -> BTreeMap<&'static str, u64> {
        let mut m = BTreeMap::new();
        for s in &self.sockets {
            *m.entry(s.state().name()).or_insert(0) += 1;
        }
        m
    }
}
