//! The rule engine: runs inside each refresh (it is the snapshot builder's
//! [`Evaluator`]), so every consumer sees the same findings.
//!
//! For each rule: every socket (and, for beacon rules, every scored series
//! of connection starts) is checked against the per-item conditions; the
//! items that pass are grouped by what one finding is about (the scope),
//! aggregate conditions are checked per group, and one finding is made per
//! group, with a trace of the conditions and the values that matched.

use std::collections::{BTreeSet, HashMap};
use std::net::{IpAddr, SocketAddr};

use rustc_hash::FxHashMap;

use super::beacon::{BeaconStats, score};
use super::bounds::{aggregates_may_hold, window_of};
use super::candidates::{Matched, NO_OWNER, matches_all, prepare};
use super::ioc::IocSet;
use super::item::Item;
use super::load::{LoadedRule, RuleSet};
use super::reach::Reach;
use super::schema::Scope;
use crate::model::{EndpointKey, Evaluator, Finding, History, Pid, Protocol, Severity, Snapshot, Subject, TraceStep, Zone};
use crate::slots::{Dense, Slots};

/// A scored series of connection starts.
#[derive(Debug, Clone)]
pub struct Beacon {
    pub pid: Pid,
    pub remote: SocketAddr,
    pub protocol: Protocol,
    pub netns: Option<crate::model::NetNs>,
    pub stats: BeaconStats,
}

/// What the conditions can look up beyond the item itself.
pub struct Context<'a> {
    pub snapshot: &'a Snapshot,
    pub history: &'a History,
    pub ioc: &'a IocSet,
    /// The saved baseline new listeners are judged against, if any.
    pub baseline: Option<&'a crate::baseline::Baseline>,
    tags: std::cell::RefCell<FxHashMap<IpAddr, std::rc::Rc<BTreeSet<String>>>>,
    /// The last address asked about and its tags.
    last_tags: std::cell::RefCell<Option<(IpAddr, std::rc::Rc<BTreeSet<String>>)>>,
    /// Countries by address: thousands of sockets share a few remotes, and
    /// a country lookup is a search of the whole table.
    countries: std::cell::RefCell<FxHashMap<IpAddr, Option<&'static str>>>,
    /// Listeners by (protocol, port), and this host's own addresses, built
    /// when a rule first asks about local services.
    local: std::cell::OnceCell<LocalServices>,
    /// What the endpoint table allows (see [`Reach`]), taken when a rule
    /// first asks.
    reach: std::cell::OnceCell<Reach>,
}

/// What `remote_local_service_except` looks up.
#[derive(Debug, Default)]
struct LocalServices {
    listeners: FxHashMap<(Protocol, u16), Vec<crate::model::ListenerKey>>,
    addresses: rustc_hash::FxHashSet<IpAddr>,
}

impl std::fmt::Debug for Context<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Context").field("generation", &self.snapshot.generation).finish_non_exhaustive()
    }
}

impl<'a> Context<'a> {
    pub fn new(snapshot: &'a Snapshot, history: &'a History, ioc: &'a IocSet, baseline: Option<&'a crate::baseline::Baseline>) -> Self {
        Self {
            snapshot,
            history,
            ioc,
            baseline,
            tags: std::cell::RefCell::default(),
            last_tags: std::cell::RefCell::default(),
            countries: std::cell::RefCell::default(),
            local: std::cell::OnceCell::new(),
            reach: std::cell::OnceCell::new(),
        }
    }

    /// Whether some address of this refresh can carry `tag`: a list tags
    /// an address or prefix so, or an endpoint carries tags of its own.
    /// Asked before an address's tags are looked up: on a host whose lists
    /// tag nothing so (no `--ioc`, say), a tag condition costs nothing per
    /// socket and a rule that needs the tag is not walked.
    pub fn tag_possible(&self, tag: &str) -> bool {
        self.ioc.has_address_tag(tag) || self.reach().tagged
    }

    /// What the snapshot's endpoint table allows: one pass over the
    /// endpoints, once per refresh (see [`Context::knowing`]).
    pub fn reach(&self) -> &Reach {
        self.reach.get_or_init(|| Reach::of(self.snapshot.endpoints.values()))
    }

    /// This context, told what another context of the same refresh found
    /// of the endpoint table (a context holds caches that stay on its
    /// thread, so the second half of the rules makes its own).
    fn knowing(self, reach: Reach) -> Self {
        let _ = self.reach.set(reach);
        self
    }

    /// The listener on this host that `remote` reaches, if `remote` is a
    /// loopback or own address and something listens on its port there.
    pub fn local_listener(&self, protocol: Protocol, remote: SocketAddr) -> Option<&crate::model::ServiceListenerNode> {
        let local = self.local.get_or_init(|| {
            let mut l = LocalServices::default();
            for key in self.snapshot.listeners.keys() {
                l.listeners.entry((key.protocol, key.port)).or_default().push(*key);
            }
            l.addresses = self.snapshot.sockets.iter().map(|s| s.raw.local.ip()).filter(|ip| !ip.is_unspecified()).collect();
            l
        });
        let ip = crate::model::normalize_ip(remote.ip());
        if !ip.is_loopback() && !local.addresses.contains(&ip) {
            return None;
        }
        let keys = local.listeners.get(&(protocol, remote.port()))?;
        let key = keys.iter().find(|k| k.address == ip).or_else(|| keys.iter().find(|k| k.address.is_unspecified()))?;
        self.snapshot.listeners.get(key)
    }

    /// The country of a (public) address.
    pub fn country(&self, ip: IpAddr) -> Option<&'static str> {
        *self.countries.borrow_mut().entry(ip).or_insert_with(|| iptocc::country_code(ip))
    }

    /// IOC tags of an address plus the tags its endpoint already carries.
    pub fn tags(&self, ip: IpAddr) -> std::rc::Rc<BTreeSet<String>> {
        // Neighbouring sockets mostly share a remote.
        if let Some((last, t)) = &*self.last_tags.borrow()
            && *last == ip
        {
            return t.clone();
        }
        if let Some(t) = self.tags.borrow().get(&ip).cloned() {
            *self.last_tags.borrow_mut() = Some((ip, t.clone()));
            return t;
        }
        let mut t = self.ioc.tags(ip);
        if let Some(e) = self.snapshot.endpoints.get(&EndpointKey::host(ip)) {
            // Names on domain lists are `remote_name_tags_contains`, with
            // the name in the trace; an address's tags are its own.
            t.extend(e.tags.iter().cloned());
        }
        let t = std::rc::Rc::new(t);
        self.tags.borrow_mut().insert(ip, t.clone());
        *self.last_tags.borrow_mut() = Some((ip, t.clone()));
        t
    }
}

/// From how many sockets the rules run on two threads (below it a thread
/// costs more than it saves).
const PARALLEL_FROM_SOCKETS: usize = 5_000;

/// The engine: rules, IOC lists, and the first-seen time of each finding.
#[derive(Debug)]
pub struct Engine {
    pub rules: RuleSet,
    pub ioc: IocSet,
    /// What `listener_not_in_baseline` compares with.
    pub baseline: Option<crate::baseline::Baseline>,
    first_seen: HashMap<String, i64>,
    /// Memory lent for the next run's items (see [`Evaluator::lend_room`]).
    room: Vec<crate::model::RawSocket>,
    /// The last big run's tables (see [`Evaluator::leftovers`]).
    leftovers: Option<super::candidates::Leftovers>,
}

/// Group key for aggregates and for one finding.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum GroupKey {
    Socket(crate::model::SocketKey),
    Endpoint(EndpointKey),
    Process(Pid),
    ProcessEndpoint(Pid, EndpointKey),
}

/// How far from the host a zone is: loopback < private, link-local < public.
fn zone_rank(z: Zone) -> u8 {
    match z {
        Zone::Loopback => 0,
        Zone::Private | Zone::LinkLocal => 1,
        Zone::Public => 2,
    }
}

fn lower(s: Severity) -> Severity {
    match s {
        Severity::Critical => Severity::High,
        Severity::High => Severity::Medium,
        Severity::Medium => Severity::Low,
        Severity::Low | Severity::Info => Severity::Info,
    }
}

impl Engine {
    pub fn new(rules: RuleSet, ioc: IocSet) -> Self {
        Self { rules, ioc, baseline: None, first_seen: HashMap::new(), room: Vec::new(), leftovers: None }
    }

    /// Judge listeners against this baseline from now on.
    #[must_use]
    pub fn with_baseline(mut self, baseline: crate::baseline::Baseline) -> Self {
        self.baseline = Some(baseline);
        self
    }

    /// Score every series with enough starts.
    pub fn beacons(history: &History) -> Vec<Beacon> {
        history
            .series()
            .filter(|(_, starts)| starts.len() >= 5)
            .filter_map(|(key, starts)| {
                let times: Vec<i64> = starts.iter().map(|s| s.at_ms).collect();
                let stats = score(&times)?;
                let pid = Pid(starts.back().map_or(0, |s| s.pid));
                Some(Beacon { pid, remote: key.remote, protocol: key.protocol, netns: key.netns, stats })
            })
            .collect()
    }

    /// Evaluate every rule. Pure except for first-seen bookkeeping.
    pub fn run(&mut self, snapshot: &Snapshot, history: &History) -> Vec<Finding> {
        let parallel = snapshot.sockets.len() >= PARALLEL_FROM_SOCKETS && std::thread::available_parallelism().is_ok_and(|n| n.get() > 1);
        self.run_on(snapshot, history, parallel)
    }

    /// `run`, with the rules split over two threads or not.
    fn run_on(&mut self, snapshot: &Snapshot, history: &History, parallel: bool) -> Vec<Finding> {
        let (ioc, baseline, set) = (&self.ioc, self.baseline.as_ref(), &self.rules);
        let ctx = Context::new(snapshot, history, ioc, baseline);
        let beacons = Self::beacons(history);
        let rules: Vec<&LoadedRule> = set.rules.iter().collect();
        let prepared = prepare(&ctx, &beacons, std::mem::take(&mut self.room), &rules);
        let now = snapshot.taken_at_ms;
        let waiting = prepared.sockets_in(crate::model::SocketState::SynSent);
        let judge = |rules: &[&LoadedRule], ctx: &Context<'_>| {
            let mut out = Vec::new();
            let may_hold = |rule: &LoadedRule, most: usize| aggregates_may_hold(rule, ctx, most, waiting, now);
            for (rule, matched) in rules.iter().zip(matches_all(rules, &prepared, ctx, may_hold)) {
                if aggregates_may_hold(rule, ctx, matched.items.len(), waiting, now) {
                    evaluate_rule(rule, ctx, &matched, set, now, &mut out);
                }
            }
            out
        };
        let mut out = if parallel {
            // Two halves of the rules on two threads, each with its own
            // lookup caches; the prepared items are shared. Findings are
            // sorted by the snapshot, so the halves' order does not matter.
            let half = |parity: usize| -> Vec<&LoadedRule> { rules.iter().copied().skip(parity).step_by(2).collect() };
            let (even, odd) = (half(0), half(1));
            let reach = ctx.reach();
            let beside = || Context::new(snapshot, history, ioc, baseline).knowing(reach.clone());
            let (odd, mut out) = crate::both::both(|| judge(&odd, &beside()), || judge(&even, &ctx));
            out.extend(odd);
            out
        } else {
            judge(&rules, &ctx)
        };
        // On a big host the tables are let go by the builder off the
        // refresh's path; else here (small tables cost less to drop than
        // to hand over).
        if parallel {
            self.leftovers = Some(prepared.into_leftovers());
        }
        drop_superseded(&self.rules, &mut out);
        for f in &mut out {
            let first = *self.first_seen.entry(f.id.clone()).or_insert(now);
            f.first_seen_ms = first;
            f.last_seen_ms = now;
        }
        let live: BTreeSet<&str> = out.iter().map(|f| f.id.as_str()).collect();
        self.first_seen.retain(|id, _| live.contains(id.as_str()));
        out
    }
}

impl Evaluator for Engine {
    fn evaluate(&mut self, snapshot: &Snapshot, history: &History) -> Vec<Finding> {
        self.run(snapshot, history)
    }

    fn lend_room(&mut self, room: Vec<crate::model::RawSocket>) {
        self.room = room;
    }

    fn leftovers(&mut self) -> Option<crate::drop_beside::Garbage> {
        self.leftovers.take().map(|tables| Box::new(tables) as crate::drop_beside::Garbage)
    }
}

fn group_of(scope: Scope, item: &Item<'_>) -> Option<GroupKey> {
    match scope {
        Scope::Connection => match (item.socket, item.pid, item.remote) {
            (Some(s), _, _) => Some(GroupKey::Socket(s.key())),
            (None, Some(p), Some(_)) => Some(GroupKey::ProcessEndpoint(p, item.endpoint()?)),
            _ => None,
        },
        Scope::Endpoint => item.endpoint().map(GroupKey::Endpoint),
        Scope::Process => item.pid.map(GroupKey::Process),
    }
}

/// The group aggregates are counted over: for connection scope, the
/// socket's (process, endpoint) pair.
fn aggregate_key(scope: Scope, item: &Item<'_>) -> Option<GroupKey> {
    match scope {
        Scope::Connection => match (item.pid, item.remote) {
            (Some(p), Some(_)) => Some(GroupKey::ProcessEndpoint(p, item.endpoint()?)),
            _ => group_of(scope, item),
        },
        _ => group_of(scope, item),
    }
}

/// A rule's groups, numbered in the order first met. A process group of
/// sockets is numbered by its owner number (see [`Matched::owners`]: a
/// list read, where the dump's order puts one owner's sockets in no runs
/// and a hash was paid per socket); other keys, and the stand-ins'
/// processes, by [`Slots`]. One process is never numbered both ways in
/// one rule: the stand-ins stand for processes that hold no socket now,
/// or come from a walk of their own (scored series).
struct GroupNumbers {
    owners: Dense,
    /// The group number of each owner `owners` numbered.
    of_owner: Vec<usize>,
    slots: Slots<GroupKey>,
    /// The group number of each key `slots` numbered.
    of_slot: Vec<usize>,
    count: usize,
}

impl GroupNumbers {
    fn new() -> Self {
        Self { owners: Dense::default(), of_owner: Vec::new(), slots: Slots::new(), of_slot: Vec::new(), count: 0 }
    }

    /// The group number of the process with owner number `owner`, and
    /// whether the group is new.
    fn of_owner(&mut self, owner: u32) -> (usize, bool) {
        let (n, new) = self.owners.of(owner as usize);
        Self::number(&mut self.of_owner, &mut self.count, n, new)
    }

    /// `key`'s group number, and whether the group is new.
    fn of(&mut self, key: GroupKey) -> (usize, bool) {
        let (n, new) = self.slots.of(key);
        Self::number(&mut self.of_slot, &mut self.count, n, new)
    }

    /// The group number of the `n`th key of a numbering (`numbers`), given
    /// the next one when new.
    fn number(numbers: &mut Vec<usize>, count: &mut usize, n: usize, new: bool) -> (usize, bool) {
        if new {
            numbers.push(*count);
            *count += 1;
        }
        (numbers[n], new)
    }
}

/// The items of one group: references, since most groups are refused by
/// their aggregates and copying each item would cost more than the check.
struct Group<'p, 'a> {
    items: Vec<&'p Item<'a>>,
}

#[allow(clippy::too_many_lines)]
/// Group the items that passed a rule's conditions, check the aggregates
/// per group and make the findings.
fn evaluate_rule(rule: &LoadedRule, ctx: &Context<'_>, matched: &Matched<'_, '_>, set: &RuleSet, now: i64, out: &mut Vec<Finding>) {
    let scope = rule.rule.scope;
    // Groups in the order first met.
    let mut groups: Vec<Group<'_, '_>> = Vec::new();
    let mut numbers = GroupNumbers::new();
    for (n, &item) in matched.items.iter().enumerate() {
        // A process group is found by the socket's owner number when it
        // has one, without reading the item (no number: no owner).
        let owner = if scope == Scope::Process { matched.owners.get(n).copied() } else { None };
        let (slot, new) = match owner {
            Some(NO_OWNER) => continue,
            Some(o) => numbers.of_owner(o),
            None => {
                let Some(key) = aggregate_key(scope, item) else { continue };
                numbers.of(key)
            }
        };
        if new {
            groups.push(Group { items: Vec::new() });
        }
        groups[slot].items.push(item);
    }
    for group in &groups {
        let mut agg_trace = Vec::new();
        if !aggregates_hold(rule, ctx, &group.items, now, &mut agg_trace) {
            continue;
        }
        // For connection scope one finding per socket; otherwise per group.
        let subjects: &[&Item<'_>] = if scope == Scope::Connection { &group.items } else { group.items.get(..1).unwrap_or_default() };
        for first in subjects {
            let Some(gk) = group_of(scope, first) else { continue };
            let mut trace = Vec::new();
            rule.compiled.trace(first, ctx, &mut trace);
            trace.extend(agg_trace.iter().cloned());
            let (subject, label) = match gk {
                GroupKey::Socket(k) => (Subject::Socket { socket: k, pid: first.pid }, k.to_string()),
                GroupKey::Endpoint(e) | GroupKey::ProcessEndpoint(_, e) => (Subject::Endpoint { endpoint: e }, e.to_string()),
                GroupKey::Process(p) => (Subject::Process { pid: p }, format!("pid:{p}")),
            };
            let netns = subject_netns(ctx, subject, first);
            let mut severity = rule.rule.severity;
            // A connection or endpoint finding is judged by its remote; a
            // process finding by the most public remote among the sockets
            // that matched (one public peer keeps the full severity).
            let remotes: Vec<IpAddr> = if scope == Scope::Process {
                group.items.iter().filter_map(|i| i.remote).map(|r| r.ip()).collect()
            } else {
                first.remote.map(|r| r.ip()).into_iter().collect()
            };
            if let Some((zone, ip)) = remotes.iter().map(|ip| (Zone::of(*ip), *ip)).max_by_key(|(z, _)| zone_rank(*z)) {
                let lowered = (zone == Zone::Loopback && rule.treatment.localhost_less_suspicious)
                    || (matches!(zone, Zone::Private | Zone::LinkLocal) && rule.treatment.rfc1918_less_suspicious);
                if lowered && severity > Severity::Info {
                    severity = lower(severity);
                    let who = if remotes.len() > 1 {
                        format!("every remote ({} sockets) is {zone} or closer, e.g. {ip}", remotes.len())
                    } else {
                        format!("remote {ip} is {zone}")
                    };
                    trace.push(TraceStep { condition: "private_ip_treatment".into(), value: format!("{who}: one step less suspicious") });
                }
            }
            let mut tags: Vec<String> = rule.rule.tags.clone();
            for t in &rule.rule.effects.add_tag {
                if !tags.contains(t) {
                    tags.push(t.clone());
                }
            }
            let steps = super::explain::steps(set, &tags, first);
            out.push(Finding {
                id: format!("{}@{label}", rule.rule.id),
                rule_id: rule.rule.id.clone(),
                rule_name: rule.rule.name.clone(),
                severity,
                tags,
                subject,
                netns,
                highlight: rule.highlight,
                icon: rule.rule.effects.icon_hint,
                trace,
                explanation: rule.rule.explanation.en.clone(),
                explanation_ko: rule.rule.explanation.ko.clone(),
                steps,
                first_seen_ms: now,
                last_seen_ms: now,
            });
        }
    }
}

/// The namespace a finding's subject lives in: the socket's, the
/// process's (its facts, else the item's), or the loopback endpoint's; none
/// for the observer's own and for endpoints outside loopback.
fn subject_netns(ctx: &Context<'_>, subject: Subject, item: &Item<'_>) -> Option<crate::model::NetNs> {
    match subject {
        Subject::Socket { .. } => item.socket.map_or(item.netns, |s| s.raw.netns),
        Subject::Process { pid } => ctx.snapshot.process(pid).map_or(item.netns, |p| p.facts.netns),
        Subject::Endpoint { endpoint } => endpoint.netns,
        Subject::Host => None,
    }
}

/// Remove findings of rules superseded by another rule's finding on the
/// same subject.
fn drop_superseded(set: &RuleSet, out: &mut Vec<Finding>) {
    let superseding: Vec<(&str, &[String])> =
        set.rules.iter().filter(|r| !r.rule.supersedes.is_empty()).map(|r| (r.rule.id.as_str(), r.rule.supersedes.as_slice())).collect();
    if superseding.is_empty() {
        return;
    }
    let fired: BTreeSet<(String, Subject)> = out.iter().map(|f| (f.rule_id.clone(), f.subject)).collect();
    out.retain(|f| !superseding.iter().any(|(by, weaker)| weaker.contains(&f.rule_id) && fired.contains(&((*by).to_string(), f.subject))));
}

/// How many connections `pid` started (any series) within `window_ms`
/// before `now`.
fn starts_of(history: &History, pid: Pid, now: i64, window_ms: i64) -> usize {
    history.series().map(|(_, starts)| starts.iter().filter(|s| s.pid == pid.0 && s.at_ms > now - window_ms).count()).sum()
}

/// The remotes `pid` started connections to within `window_ms` before
/// `now`: a series has one remote, so each series with such a start gives
/// its remote once (a process that opened fifty thousand connections to
/// one port gave fifty thousand entries to put in a set).
fn remotes_started_by(history: &History, pid: Pid, now: i64, window_ms: i64) -> impl Iterator<Item = SocketAddr> + '_ {
    history.series().filter(move |(_, starts)| starts.iter().rev().any(|s| s.pid == pid.0 && s.at_ms > now - window_ms)).map(|(k, _)| k.remote)
}

fn aggregates_hold(rule: &LoadedRule, ctx: &Context<'_>, items: &[&Item<'_>], now: i64, trace: &mut Vec<TraceStep>) -> bool {
    let m = &rule.rule.matcher;
    let window_ms = window_of(rule);
    let pid = items.first().and_then(|i| i.pid);
    let host = items.first().and_then(|i| i.endpoint());
    if let Some(min) = m.connection_count_gte {
        let n = items.len() as u64;
        if n < min {
            return false;
        }
        trace.push(TraceStep { condition: format!("connection_count_gte: {min}"), value: format!("{n} connections") });
    }
    let started = || pid.into_iter().flat_map(|p| remotes_started_by(ctx.history, p, now, window_ms));
    if let Some(min) = m.distinct_remote_ports_gte {
        // Ports per remote host, open now or started within the window; the
        // busiest host counts.
        // Hash sets: a busy process has thousands of sockets, mostly to the
        // same few ports.
        // A run of sockets to one (address, port) is added once.
        let mut by_host: FxHashMap<IpAddr, rustc_hash::FxHashSet<u16>> = FxHashMap::default();
        let mut last = None;
        for r in items.iter().filter_map(|i| i.remote) {
            if last != Some(r) {
                by_host.entry(r.ip()).or_default().insert(r.port());
                last = Some(r);
            }
        }
        for r in started() {
            if rule.rule.scope == Scope::Process || Some(r.ip()) == host.map(|h| h.ip) {
                by_host.entry(r.ip()).or_default().insert(r.port());
            }
        }
        // Ties go to the highest address (as the last of an ordered walk).
        let (n, busiest) = by_host.iter().map(|(h, p)| (p.len() as u64, *h)).max().unwrap_or((0, IpAddr::from([0, 0, 0, 0])));
        if n < min {
            return false;
        }
        trace.push(TraceStep {
            condition: format!("distinct_remote_ports_gte: {min} (window {} s)", window_ms / 1000),
            value: format!("{n} ports on {busiest}"),
        });
    }
    if let Some(min) = m.distinct_remote_hosts_gte {
        let mut hosts: BTreeSet<IpAddr> = items.iter().filter_map(|i| i.remote).map(|r| r.ip()).collect();
        hosts.extend(started().map(|r| r.ip()));
        let n = hosts.len() as u64;
        if n < min {
            return false;
        }
        trace.push(TraceStep { condition: format!("distinct_remote_hosts_gte: {min} (window {} s)", window_ms / 1000), value: format!("{n} hosts") });
    }
    if let Some(min) = m.failed_attempts_gte {
        // The item's copy of the state: the socket itself is out of cache by now.
        let waiting = items.iter().filter(|i| i.state == Some(crate::model::SocketState::SynSent)).count();
        let failed = pid.map_or(0, |p| ctx.history.failed_within(p.0, now, window_ms));
        let n = (waiting + failed) as u64;
        if n < min {
            return false;
        }
        trace.push(TraceStep {
            condition: format!("failed_attempts_gte: {min} (window {} s)", window_ms / 1000),
            value: format!("{failed} attempts failed, {waiting} waiting for an answer"),
        });
    }
    if let Some(min) = m.rate_per_minute_gte {
        let count = match rule.rule.scope {
            Scope::Process => pid.map_or(0, |p| starts_of(ctx.history, p, now, window_ms)) as f64,
            _ => host.map_or(0.0, |h| ctx.history.endpoint_starts_within(h, now, window_ms) as f64),
        };
        let per_minute = count * 60_000.0 / window_ms as f64;
        if per_minute < min {
            return false;
        }
        trace.push(TraceStep { condition: format!("rate_per_minute_gte: {min}"), value: format!("{per_minute:.1} new connections per minute") });
    }
    true
}

#[cfg(test)]
#[path = "engine_tests.rs"]
mod tests;
