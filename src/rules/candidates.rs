//! Which items each rule looks at, and the items that pass its conditions.
//!
//! Sockets are indexed once per refresh by (direction, state, zone), by
//! owner and by remote address, so a rule visits only the sockets its
//! top-level conditions allow. Rules that walk the (direction, state, zone)
//! buckets and ask only about the socket and its remote are checked while
//! each socket's item is made (see `early`); the others that need a check
//! per socket share one pass over the buckets: each socket is loaded once
//! and checked against every rule that wants its bucket while it is in
//! cache (a pass per rule over 100k sockets was bound by memory, not by
//! the checks).

use std::net::IpAddr;

use super::condition::Walked;
use super::conditions::Memo;
use super::early::{EarlyChecks, EarlyRows};
use super::engine::{Beacon, Context};
use super::item::{Item, ProcessLookup};
use super::load::LoadedRule;
use super::schema::{Match, MatchDirection, Scope};
use crate::model::{Direction, Pid, SocketState, Zone};
use crate::slots::{Dense, Slots};

/// Socket indices grouped by a key, in key order. Grouped in a hash map and
/// sorted once: a tree map paid a search per socket.
type Index<K> = Vec<(K, Vec<u32>)>;

/// (direction, state, zone) of a socket.
pub(super) type Bucket = (Direction, SocketState, Zone);

/// Rows grouped by key as they come: each row's group is numbered once
/// (by [`Slots`], or by [`Dense`] where the key is a small number
/// already), and each group's list is allocated once at its final size: at
/// 100k sockets, lists grown by doubling were a fifth of the rules stage,
/// most of it the kernel handing out fresh pages.
struct Grouper<K> {
    /// Each group's key and row count.
    groups: Vec<(K, u32)>,
    /// Each row's group, [`Grouper::NONE`] for a row without a key.
    rows: Vec<u32>,
}

impl<K: Ord + Copy> Grouper<K> {
    const NONE: u32 = u32::MAX;

    fn with_rows(rows: usize) -> Self {
        Self { groups: Vec::new(), rows: Vec::with_capacity(rows) }
    }

    /// The next row's key, numbered by `number` (its group's number, and
    /// whether the group is new).
    fn add(&mut self, key: Option<K>, number: impl FnOnce(K) -> (usize, bool)) {
        let Some(k) = key else {
            self.rows.push(Self::NONE);
            return;
        };
        let (slot, new) = number(k);
        if new {
            self.groups.push((k, 0));
        }
        self.groups[slot].1 += 1;
        self.rows.push(slot as u32);
    }

    /// The groups in key order, each with its rows in row order, and each
    /// row's group as numbered when met ([`Grouper::NONE`] for none).
    fn finish(self) -> (Index<K>, Vec<u32>) {
        let mut lists: Vec<Vec<u32>> = self.groups.iter().map(|&(_, n)| Vec::with_capacity(n as usize)).collect();
        for (i, &slot) in self.rows.iter().enumerate() {
            if let Some(list) = lists.get_mut(slot as usize) {
                list.push(i as u32);
            }
        }
        let mut out: Index<K> = self.groups.into_iter().map(|(k, _)| k).zip(lists).collect();
        out.sort_unstable_by_key(|(k, _)| *k);
        (out, self.rows)
    }
}

/// How many bucket codes there are.
pub(super) const BUCKET_CODES: usize = 3 * SocketState::ALL.len() * Zone::ALL.len();

/// A bucket's code: below [`BUCKET_CODES`].
pub(super) fn bucket_code((d, st, z): Bucket) -> usize {
    (d as usize * SocketState::ALL.len() + st as usize) * Zone::ALL.len() + z as usize
}

/// Every bucket there can be.
pub(super) fn all_buckets() -> impl Iterator<Item = Bucket> {
    [Direction::Listen, Direction::Inbound, Direction::Outbound]
        .into_iter()
        .flat_map(|d| SocketState::ALL.into_iter().flat_map(move |st| Zone::ALL.into_iter().map(move |z| (d, st, z))))
}

/// Socket items, built once per refresh, indexed by (direction, state,
/// zone) so a rule only visits the sockets its top-level conditions allow.
pub struct Prepared<'a> {
    items: Vec<Item<'a>>,
    buckets: Index<Bucket>,
    /// Sockets per owner, for rules that only ask about the process.
    by_pid: Index<Pid>,
    /// A socket without an owner, if any (what process conditions say of
    /// every such socket).
    unowned: Option<u32>,
    /// Each socket's owner as a number (one per pid, [`NO_OWNER`] for
    /// none), by row: what a process rule groups by without reading the
    /// item (see [`Matched::owners`]).
    owners: Vec<u32>,
    /// The remote addresses of listening sockets, which the snapshot's
    /// endpoint table leaves out (none, as the kernel reports them).
    listener_remotes: Vec<IpAddr>,
    beacon_items: Vec<Item<'a>>,
    /// Processes with attempts in the last five minutes and no socket now.
    history_items: Vec<Item<'a>>,
    /// Processes with attributed DNS queries and no socket now.
    dns_items: Vec<Item<'a>>,
    /// Every process of the snapshot that holds no socket now (as any of
    /// its owners), for process rules that ask only about the process (a
    /// masquerade needs no socket).
    process_items: Vec<Item<'a>>,
    /// The sockets that passed the rules checked while the items were
    /// made (see `early`).
    early: EarlyRows<'a>,
}

/// An item's memory once the item is done with: the same size and
/// alignment, borrowing nothing, so the items' table can outlive the
/// snapshot they pointed into without being copied.
type Blank = [usize; std::mem::size_of::<Item<'static>>() / std::mem::size_of::<usize>()];

/// A refresh's tables once the rules ran, with nothing borrowed from the
/// snapshot: to be let go elsewhere (see [`crate::model::Evaluator::leftovers`]).
#[derive(Debug)]
#[allow(dead_code, reason = "held only to be dropped")]
pub struct Leftovers {
    items: Vec<Blank>,
    buckets: Index<Bucket>,
    by_pid: Index<Pid>,
    owners: Vec<u32>,
    listener_remotes: Vec<IpAddr>,
}

/// No owner, in [`Prepared`]'s and [`Matched`]'s owner numbers.
pub const NO_OWNER: u32 = Grouper::<Pid>::NONE;

/// The items that pass a rule's conditions, in a stable order, and the
/// owner number of each socket among them (the sockets come first; the
/// list is shorter than the items when stand-ins follow). Fifty thousand
/// outbound sockets pass a scan rule's direction: grouping them by owner
/// reads a list of numbers instead of fifty thousand items.
#[derive(Debug, Default)]
pub struct Matched<'p, 'a> {
    pub items: Vec<&'p Item<'a>>,
    pub owners: Vec<u32>,
}

/// The longest window a history item stands for (rules' `window_sec` up
/// to this see processes that hold no socket now).
pub(super) const HISTORY_ITEM_WINDOW_MS: i64 = 300_000;

/// The items and indexes of a refresh; the items are written into `room`
/// (lent memory whose pages are mapped already) when it is large enough.
/// Those of `rules` that ask only about a socket of their buckets are
/// checked as each item is made (see `early`).
pub fn prepare<'a>(ctx: &Context<'a>, beacons: &'a [Beacon], room: Vec<crate::model::RawSocket>, rules: &[&'a LoadedRule]) -> Prepared<'a> {
    let s = ctx.snapshot;
    let processes = ProcessLookup::of(s);
    // One pass: each socket's item, and its place in the three indexes.
    let n = s.sockets.len();
    let mut items: Vec<Item<'a>> = crate::spare::reuse(room);
    // Room beyond the items goes back now (the rows were twice their size).
    items.shrink_to(n);
    items.reserve(n);
    let (mut buckets, mut by_pid) = (Grouper::with_rows(n), Grouper::with_rows(n));
    let (mut bucket_slots, mut pid_slots) = (Dense::default(), Dense::default());
    // Owners without a node in the process table (a process gone between
    // the dump and the process scan): numbered after the table's places.
    let mut unlisted: Slots<Pid> = Slots::new();
    let places = s.processes.len();
    let mut listener_remotes = Vec::new();
    let mut early = EarlyChecks::of(rules, ctx);
    for (row, sock) in s.sockets.iter().enumerate() {
        let item = Item::of_socket(&processes, sock);
        let bucket = item.state.zip(item.zone).map(|(state, zone)| (item.direction, state, zone));
        if let Some(b) = bucket {
            early.check(b, row as u32, &item, ctx);
        }
        buckets.add(bucket, |b| bucket_slots.of(bucket_code(b)));
        by_pid.add(item.pid, |pid| pid_slots.of(item.process_ix.map_or_else(|| places + unlisted.of(pid).0, |ix| ix as usize)));
        if item.direction == Direction::Listen
            && let Some(r) = item.remote
        {
            listener_remotes.push(r.ip());
        }
        items.push(item);
    }
    let ((buckets, _), (by_pid, owners)): ((Index<Bucket>, _), (Index<Pid>, _)) = (buckets.finish(), by_pid.finish());
    let holds_socket = |pid: Pid| by_pid.binary_search_by_key(&pid, |(p, _)| *p).is_ok();
    let beacon_items = beacons.iter().map(|b| Item::of_beacon(s, b)).collect();
    let history_items = ctx
        .history
        .recent_processes(s.taken_at_ms, HISTORY_ITEM_WINDOW_MS)
        .into_iter()
        .filter(|(pid, _)| !holds_socket(Pid(*pid)))
        .map(|(pid, series)| Item::of_history(s, Pid(pid), series))
        .collect();
    let dns_items = s.dns_activity.keys().filter(|pid| !holds_socket(**pid)).map(|&pid| Item::of_dns(s, pid)).collect();
    // Any owner counts here, not only the first: a shell's children share
    // its sockets (inherited stdio) and are judged through them. A node's
    // socket count is over all of its sockets' owners.
    let process_items = s.processes.iter().filter(|(_, node)| node.socket_count == 0).map(|(&pid, _)| Item::of_process(s, pid)).collect();
    let unowned = owners.iter().position(|&o| o == NO_OWNER).map(|row| row as u32);
    let early = early.finish();
    Prepared { items, buckets, by_pid, unowned, owners, listener_remotes, beacon_items, history_items, dns_items, process_items, early }
}

/// Whether `rule` walks the buckets and its filter allows `item`'s.
#[cfg(test)]
pub fn walks_bucket_of(rule: &LoadedRule, item: &Item<'_>) -> bool {
    match (walk_of(rule), item.state.zip(item.zone)) {
        (Walk::Buckets(f), Some((state, zone))) => f.allows((item.direction, state, zone)),
        _ => false,
    }
}

impl<'a> Prepared<'a> {
    /// The tables, borrowing nothing: the items' table in its own memory
    /// (see [`crate::spare::reuse`]); the few items of beacons, history,
    /// DNS and idle processes are dropped here.
    pub fn into_leftovers(self) -> Leftovers {
        Leftovers {
            items: crate::spare::reuse(self.items),
            buckets: self.buckets,
            by_pid: self.by_pid,
            owners: self.owners,
            listener_remotes: self.listener_remotes,
        }
    }

    /// Whether the process conditions of `rule` hold for some socket's
    /// owner (each owner's first socket stands for all of its sockets, as
    /// an item's process is its first owner's), or for unowned sockets.
    fn some_owner_passes(&self, rule: &LoadedRule, ctx: &Context<'_>, memo: &mut Memo) -> bool {
        let mut rows = self.by_pid.iter().map(|(_, idx)| idx[0]).chain(self.unowned);
        rows.any(|row| rule.compiled.process_holds(&self.items[row as usize], ctx, memo))
    }

    /// The stand-ins a rule's walk is followed by: for process rules about
    /// history (rates, scans, failures) the processes that made attempts
    /// recently but hold no socket now, for DNS rules the processes that
    /// asked DNS.
    fn stand_ins(&self, rule: &LoadedRule) -> impl Iterator<Item = &Item<'a>> {
        let (history, dns) = stand_in_kinds(rule);
        self.history_items.iter().filter(move |_| history).chain(self.dns_items.iter().filter(move |_| dns))
    }

    /// The most items that can pass `rule` walked by `walk`: every socket
    /// of the buckets it allows and every stand-in (no bound for other
    /// walks).
    fn most_passing(&self, rule: &LoadedRule, walk: &Walk) -> usize {
        let Walk::Buckets(filter) = walk else { return usize::MAX };
        let sockets: usize = self.buckets.iter().filter(|(b, _)| filter.allows(*b)).map(|(_, idx)| idx.len()).sum();
        sockets + self.stand_ins(rule).count()
    }

    /// How many sockets of this refresh are in `state` (every bucket's
    /// sockets have the bucket's state).
    pub fn sockets_in(&self, state: SocketState) -> usize {
        self.buckets.iter().filter(|((_, st, _), _)| *st == state).map(|(_, idx)| idx.len()).sum()
    }
}

#[cfg(test)]
impl Leftovers {
    /// Where the items' table lives, and its room.
    pub fn items_at(&self) -> (usize, usize) {
        (self.items.as_ptr() as usize, self.items.capacity())
    }
}

#[cfg(test)]
impl<'a> Prepared<'a> {
    /// Every socket's item, in socket order.
    pub fn socket_items(&self) -> &[Item<'a>] {
        &self.items
    }

    /// Whether `rule` was checked while the items were made.
    pub fn checked_early(&self, rule: &LoadedRule) -> bool {
        self.early.of(rule).is_some()
    }
}

/// Which (direction, state, zone) buckets a rule's top-level conditions
/// allow.
pub(super) struct BucketFilter {
    direction: Option<Direction>,
    states: Vec<SocketState>,
    zones: Option<Vec<Zone>>,
}

impl BucketFilter {
    fn of(m: &Match) -> Self {
        let direction = m.direction.map(|d| match d {
            MatchDirection::Outbound => Direction::Outbound,
            MatchDirection::Inbound => Direction::Inbound,
            MatchDirection::Listen => Direction::Listen,
        });
        let states = m.state.into_iter().chain(m.state_in.iter().flatten().copied()).collect();
        let zones = match (&m.zone_in, m.exclude_private_ips) {
            (Some(z), _) => Some(z.clone()),
            (None, Some(true)) => Some(vec![Zone::Public]),
            _ => None,
        };
        Self { direction, states, zones }
    }

    /// `zone_in` on a listener is the listener's own zone, which is the
    /// socket's zone too, so the bucket zone applies in every case.
    pub(super) fn allows(&self, (d, st, z): Bucket) -> bool {
        self.direction.is_none_or(|want| want == d)
            && (self.states.is_empty() || self.states.contains(&st))
            && self.zones.as_ref().is_none_or(|zs| zs.contains(&z))
    }
}

/// Where a rule's socket candidates come from.
pub(super) enum Walk {
    /// Scored series of connection starts.
    Beacons,
    /// The sockets of the processes that pass (only process conditions).
    Processes,
    /// The sockets of tagged or listed remote addresses.
    Remotes,
    /// The buckets the filter allows.
    Buckets(BucketFilter),
}

fn walk_of(rule: &LoadedRule) -> Walk {
    let m = &rule.rule.matcher;
    if m.beacon_score_gte.is_some() {
        Walk::Beacons
    } else if rule.compiled.process_only() && !m.has_aggregates() {
        Walk::Processes
    } else if m.remote_tags_contains.is_some() || m.remote_tags_contains_any.is_some() || m.remote_ip_in.is_some() {
        Walk::Remotes
    } else {
        Walk::Buckets(BucketFilter::of(m))
    }
}

/// Where `rule`'s candidates come from on this refresh; none when it
/// cannot match: a rule about the baseline without one, or one with a
/// condition no item its walk hands it can meet this refresh.
pub(super) fn plan(rule: &LoadedRule, ctx: &Context<'_>) -> Option<Walk> {
    if ctx.baseline.is_none() && rule.rule.matcher.needs_baseline() {
        return None;
    }
    let walk = walk_of(rule);
    let walked = match &walk {
        Walk::Buckets(f) if f.direction == Some(Direction::Outbound) && !has_stand_ins(rule) => Walked::OutboundSockets,
        _ => Walked::AnyItem,
    };
    (!rule.compiled.never(ctx, walked)).then_some(walk)
}

/// Which stand-ins follow `rule`'s walk (see [`Prepared::stand_ins`]):
/// (for process rules about history, the processes that made attempts
/// recently but hold no socket now; for DNS rules, those that asked DNS).
fn stand_in_kinds(rule: &LoadedRule) -> (bool, bool) {
    let m = &rule.rule.matcher;
    let history = rule.rule.scope == Scope::Process && m.has_history_aggregates() && m.beacon_score_gte.is_none();
    (history, m.dns_names_under_parent_gte.is_some())
}

fn has_stand_ins(rule: &LoadedRule) -> bool {
    let (history, dns) = stand_in_kinds(rule);
    history || dns
}

/// For every rule, the items that pass its conditions, in a stable order:
/// its sockets (or beacons), for process-scope rules that ask only about
/// the process (and not the baseline) every process holding no socket,
/// then for process rules about history (rates, scans, failures) the
/// processes that made attempts recently but hold no socket now, then for
/// DNS rules the processes that asked DNS.
///
/// `may_hold` tells, from an upper bound on how many items pass a rule,
/// whether some group of them could pass its aggregates: a rule its
/// buckets decide is not handed fifty thousand sockets to refuse them.
pub fn matches_all<'p, 'a>(
    rules: &[&LoadedRule],
    p: &'p Prepared<'a>,
    ctx: &Context<'_>,
    may_hold: impl Fn(&LoadedRule, usize) -> bool,
) -> Vec<Matched<'p, 'a>> {
    let mut memos: Vec<Memo> = rules.iter().map(|_| Memo::default()).collect();
    let mut out: Vec<Matched<'p, 'a>> = rules.iter().map(|_| Matched::default()).collect();
    // A rule its buckets decide whose aggregates cannot hold for as many
    // items as could pass is not walked at all.
    let walks: Vec<Option<Walk>> = rules.iter().map(|r| plan(r, ctx).filter(|w| !r.compiled.bucket_only() || may_hold(r, p.most_passing(r, w)))).collect();
    // What the rules checked while the items were made passed.
    let early: Vec<Option<&[u32]>> = rules.iter().zip(&walks).map(|(r, w)| w.as_ref().and_then(|_| p.early.of(r))).collect();
    for (r, rows) in early.iter().enumerate() {
        if let Some(rows) = rows {
            out[r].items.extend(rows.iter().map(|&i| &p.items[i as usize]));
            out[r].owners.extend(rows.iter().map(|&i| p.owners[i as usize]));
        }
    }
    // A rule that asks about the process passes no socket of the buckets
    // when no owner of this refresh passes its process conditions (nor an
    // unowned socket): asked once per owner and remembered, as the pass
    // would, instead of once per socket (a miner rule's state lets every
    // established socket through to its process check).
    let no_owner_passes: Vec<bool> = rules
        .iter()
        .enumerate()
        .map(|(r, rule)| matches!(walks[r], Some(Walk::Buckets(_))) && rule.compiled.asks_about_process() && !p.some_owner_passes(rule, ctx, &mut memos[r]))
        .collect();
    // The shared pass over the buckets. A rule whose conditions are all
    // decided by the bucket takes the bucket whole (its aggregates do the
    // work: "ten ports from one process" asks only for outbound sockets),
    // unless its aggregates cannot hold for that many.
    let whole: Vec<bool> = rules.iter().map(|r| r.compiled.bucket_only()).collect();
    for (bucket, idx) in &p.buckets {
        let allowed = |r: usize| !no_owner_passes[r] && early[r].is_none() && matches!(&walks[r], Some(Walk::Buckets(f)) if f.allows(*bucket));
        for r in (0..rules.len()).filter(|&r| whole[r] && allowed(r)) {
            out[r].items.extend(idx.iter().map(|&i| &p.items[i as usize]));
            out[r].owners.extend(idx.iter().map(|&i| p.owners[i as usize]));
        }
        let active: Vec<usize> = (0..rules.len()).filter(|&r| !whole[r] && allowed(r)).collect();
        if active.is_empty() {
            continue;
        }
        for &i in idx {
            let item = &p.items[i as usize];
            for &r in &active {
                if rules[r].compiled.check_in_bucket(item, ctx, &mut memos[r]) {
                    out[r].items.push(item);
                    out[r].owners.push(p.owners[i as usize]);
                }
            }
        }
    }
    for (r, &rule) in rules.iter().enumerate() {
        let (memo, matched) = (&mut memos[r], &mut out[r]);
        // The candidates, and the owner numbers of the sockets among them
        // (which come first).
        let (candidates, owners): (Vec<&'p Item<'a>>, Vec<u32>) = match &walks[r] {
            None => continue,
            Some(Walk::Buckets(_)) => (Vec::new(), Vec::new()),
            Some(Walk::Beacons) => (p.beacon_items.iter().collect(), Vec::new()),
            Some(Walk::Processes) => {
                let (mut c, owners) = process_sockets(rule, p, ctx, memo);
                // The baseline lists networked processes: one holding no
                // socket is not judged against it.
                if rule.rule.scope == Scope::Process && !rule.rule.matcher.needs_baseline() {
                    c.extend(&p.process_items);
                }
                (c, owners)
            }
            Some(Walk::Remotes) => remote_sockets(rule, p, ctx),
        };
        let extra = p.stand_ins(rule);
        for (n, item) in candidates.into_iter().chain(extra).enumerate() {
            if rule.compiled.check(item, ctx, memo) {
                matched.items.push(item);
                matched.owners.extend(owners.get(n));
            }
        }
    }
    out
}

/// Only the sockets of processes that pass, when nothing else is asked,
/// with their owner numbers.
fn process_sockets<'p, 'a>(rule: &LoadedRule, p: &'p Prepared<'a>, ctx: &Context<'_>, memo: &mut Memo) -> (Vec<&'p Item<'a>>, Vec<u32>) {
    let (mut out, mut owners) = (Vec::new(), Vec::new());
    for (_, idx) in &p.by_pid {
        let first = &p.items[idx[0] as usize];
        if rule.compiled.check(first, ctx, memo) {
            out.extend(idx.iter().map(|&i| &p.items[i as usize]));
            owners.extend(idx.iter().map(|&i| p.owners[i as usize]));
        }
    }
    (out, owners)
}

/// Only the sockets of tagged or listed addresses, when the rule needs one.
/// The addresses are the snapshot's endpoints (and listeners' remotes, if
/// any), each checked once; the sockets are looked for only when one of
/// them is wanted, so an untagged host pays nothing per socket.
fn remote_sockets<'p, 'a>(rule: &LoadedRule, p: &'p Prepared<'a>, ctx: &Context<'_>) -> (Vec<&'p Item<'a>>, Vec<u32>) {
    let m = &rule.rule.matcher;
    let wanted: Vec<&str> = m.remote_tags_contains.iter().map(String::as_str).chain(m.remote_tags_contains_any.iter().flatten().map(String::as_str)).collect();
    let ips = ctx.snapshot.endpoints.keys().map(|e| e.ip).chain(p.listener_remotes.iter().copied());
    let chosen: rustc_hash::FxHashSet<IpAddr> = ips
        .filter(|ip| {
            let listed = rule.compiled.networks().is_none_or(|n| !n.tags(*ip).is_empty());
            listed
                && (wanted.is_empty() || {
                    let t = ctx.tags(*ip);
                    wanted.iter().any(|w| t.contains(*w))
                })
        })
        .collect();
    if chosen.is_empty() {
        return (Vec::new(), Vec::new());
    }
    p.items.iter().zip(&p.owners).filter(|(i, _)| i.remote.is_some_and(|r| chosen.contains(&r.ip()))).map(|(i, &owner)| (i, owner)).unzip()
}

#[cfg(test)]
mod tests {
    use super::{Grouper, bucket_code};
    use crate::model::{Direction, SocketState, Zone};

    /// Every bucket has its own code, below the bound the list is sized
    /// by.
    #[test]
    fn buckets_have_distinct_small_codes_numbered_as_met() {
        let mut codes = std::collections::BTreeSet::new();
        for d in [Direction::Listen, Direction::Inbound, Direction::Outbound] {
            for st in SocketState::ALL {
                for z in Zone::ALL {
                    let c = bucket_code((d, st, z));
                    assert!(c < 3 * SocketState::ALL.len() * Zone::ALL.len());
                    assert!(codes.insert(c), "{d:?} {st:?} {z:?}");
                }
            }
        }
    }

    /// Rows in key order of their groups, each group's rows in row order,
    /// rows without a key in none; runs and returns to an earlier key both
    /// land in the same group, and each list has exactly its room.
    #[test]
    fn rows_are_grouped_by_key_in_order() {
        let keys = [Some('b'), Some('b'), None, Some('a'), Some('b'), Some('c'), Some('a'), None, Some('a')];
        let mut g = Grouper::with_rows(keys.len());
        let mut slots = crate::slots::Slots::new();
        for k in keys {
            g.add(k, |k| slots.of(k));
        }
        let (index, numbers) = g.finish();
        let got: Vec<(char, Vec<u32>)> = index.iter().map(|(k, rows)| (*k, rows.clone())).collect();
        assert_eq!(got, vec![('a', vec![3, 6, 8]), ('b', vec![0, 1, 4]), ('c', vec![5])]);
        assert!(index.iter().all(|(_, rows)| rows.capacity() == rows.len()));
        // Each row's group as numbered when met: b first, then a, then c.
        let none = Grouper::<char>::NONE;
        assert_eq!(numbers, vec![0, 0, none, 1, 0, 2, 1, none, 1]);
        let nothing: Grouper<u8> = Grouper::with_rows(0);
        assert!(nothing.finish().0.is_empty());
    }
}
