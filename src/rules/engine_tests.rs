//! The engine run on one thread and on two gives the same findings.

use std::sync::Arc;

use super::*;
use crate::model::{Observation, Pid, ProcessFacts, RawSocket, SnapshotBuilder, SocketKey, SocketState, SourceInfo, SourceKind, TcpCounters};
use crate::rules::condition::Walked;
use crate::rules::{IocSet, RuleSet};

fn sock(cookie: u64, state: SocketState, remote: &str, owner: Option<u32>) -> RawSocket {
    RawSocket {
        key: SocketKey { protocol: Protocol::Tcp, cookie },
        state,
        local: format!("10.0.0.5:{}", 20_000 + cookie % 40_000).parse().expect("local"),
        remote: remote.parse().expect("remote"),
        inode: owner.map_or(0, |_| 1_000 + cookie as u32),
        uid: 1000,
        owners: owner.map(Pid).into_iter().collect(),
        tcp: Some(TcpCounters { bytes_acked: cookie, bytes_received: cookie, rtt_us: 100, min_rtt_us: None }),
        recv_queue: 0,
        send_queue: 0,
        netns: None,
    }
}

fn facts(pid: u32, name: &str, has_tty: bool) -> ProcessFacts {
    ProcessFacts { pid, ppid: 1, name: name.into(), cmdline: name.into(), exe: Some(format!("/usr/bin/{name}")), uid: 1000, has_tty, ..ProcessFacts::default() }
}

/// A busy host (thousands of sockets to many endpoints) with a handful of
/// things several rules find: a callback port, ssh on 443, a shell with a
/// public socket, piles of `CLOSE_WAIT` and `TIME_WAIT`.
fn busy_host(at_ms: i64) -> Observation {
    let mut obs = Observation { taken_at_ms: at_ms, privileged: true, ..Observation::default() };
    obs.processes = vec![facts(101, "worker", false), facts(102, "ssh", true), facts(103, "bash", true), facts(104, "app", false)];
    let states = [SocketState::Established, SocketState::Established, SocketState::TimeWait, SocketState::CloseWait];
    for i in 0..(PARALLEL_FROM_SOCKETS as u64 + 2_000) {
        let state = states[(i % 4) as usize];
        let owner = (state != SocketState::TimeWait).then_some(if state == SocketState::CloseWait { 104 } else { 101 });
        obs.sockets.push(sock(10 + i, state, &format!("198.51.100.{}:443", i % 200), owner));
    }
    obs.sockets.push(sock(1, SocketState::Established, "203.0.113.9:4444", Some(101)));
    obs.sockets.push(sock(2, SocketState::Established, "203.0.113.10:443", Some(102)));
    obs.sockets.push(sock(3, SocketState::Established, "203.0.113.11:8080", Some(103)));
    obs
}

/// `check` given the shipped rules, a context on the busy host's second
/// refresh and its prepared items.
fn on_busy_host(check: impl FnOnce(&RuleSet, &Context<'_>, &crate::rules::candidates::Prepared<'_>)) {
    let (builder, snapshot) = second_refresh();
    let set = RuleSet::embedded();
    let ioc = IocSet::new();
    let ctx = Context::new(&snapshot, builder.history(), &ioc, None);
    let rules: Vec<&LoadedRule> = set.rules.iter().collect();
    let prepared = crate::rules::candidates::prepare(&ctx, &[], Vec::new(), &rules);
    check(&set, &ctx, &prepared);
}

/// The busy host's second refresh (with history: rates, starts), and the
/// builder that holds its history.
fn second_refresh() -> (SnapshotBuilder, crate::model::Snapshot) {
    let spec = Arc::new(crate::spec::Spec::embedded());
    let mut builder = SnapshotBuilder::new(spec);
    let source = || SourceInfo { kind: SourceKind::Replay, host: "busy".into(), detail: "test".into() };
    builder.build(busy_host(1_000_000), source(), None);
    let snapshot = builder.build(busy_host(1_002_000), source(), None);
    (builder, snapshot)
}

#[test]
fn two_threads_find_what_one_finds() {
    let (builder, snapshot) = second_refresh();
    assert!(snapshot.sockets.len() >= PARALLEL_FROM_SOCKETS, "big enough for the parallel path");
    let run = |parallel: bool| {
        let mut engine = Engine::new(RuleSet::embedded(), IocSet::new());
        let mut found = engine.run_on(&snapshot, builder.history(), parallel);
        found.sort_by(|a, b| a.id.cmp(&b.id));
        found.into_iter().map(|f| (f.id, f.severity, f.trace.into_iter().map(|t| (t.condition, t.value)).collect::<Vec<_>>())).collect::<Vec<_>>()
    };
    let (one, two) = (run(false), run(true));
    let rules: BTreeSet<&str> = one.iter().filter_map(|(id, _, _)| id.split('@').next()).collect();
    assert!(rules.len() >= 4, "several rules fire, from both halves of the list: {rules:?}");
    assert_eq!(one, two, "the same findings, severities and traces on one thread and on two");
}

#[test]
fn lent_room_is_used_once_and_finds_what_fresh_memory_finds() {
    let (builder, snapshot) = second_refresh();
    let ids = |found: Vec<Finding>| found.into_iter().map(|f| (f.id, f.severity, f.trace.len())).collect::<BTreeSet<_>>();
    let fresh = ids(Engine::new(RuleSet::embedded(), IocSet::new()).run(&snapshot, builder.history()));
    let mut engine = Engine::new(RuleSet::embedded(), IocSet::new());
    // A table with rows in it: they are dropped, the memory kept.
    let rows: Vec<RawSocket> = (0..snapshot.sockets.len() as u64).map(|c| sock(c, SocketState::Established, "198.51.100.1:443", Some(1))).collect();
    engine.lend_room(rows);
    assert!(engine.room.capacity() >= snapshot.sockets.len());
    let lent = ids(engine.run(&snapshot, builder.history()));
    assert_eq!(engine.room.capacity(), 0, "the room went to this run's items");
    assert!(!fresh.is_empty());
    assert_eq!(lent, fresh, "the same findings in lent memory as in fresh");
}

#[test]
fn a_rule_decided_by_its_buckets_takes_exactly_the_sockets_its_conditions_pass() {
    use crate::rules::candidates::matches_all;
    on_busy_host(|set, ctx, prepared| {
        let rules: Vec<&LoadedRule> = set.rules.iter().filter(|r| r.compiled.bucket_only() && !r.rule.matcher.has_history_aggregates()).collect();
        assert!(rules.len() >= 2, "some shipped rules ask only for a direction, state or zone: {}", rules.len());
        for (rule, matched) in rules.iter().zip(matches_all(&rules, prepared, ctx, |_, _| true)) {
            let want: BTreeSet<SocketKey> =
                prepared.socket_items().iter().filter(|i| rule.compiled.holds(i, ctx)).filter_map(|i| i.socket.map(crate::model::Socket::key)).collect();
            let got: BTreeSet<SocketKey> = matched.items.iter().filter_map(|i| i.socket.map(crate::model::Socket::key)).collect();
            assert_eq!(got.len(), matched.items.len(), "{}: each socket once", rule.rule.id);
            assert!(!want.is_empty(), "{} matches some socket of the busy host", rule.rule.id);
            assert_eq!(got, want, "{}: the buckets taken whole are the sockets that pass", rule.rule.id);
        }
    });
}

#[test]
fn in_an_allowed_bucket_the_conditions_left_decide_as_all_of_them_do() {
    use crate::rules::candidates::walks_bucket_of;
    use crate::rules::conditions::Memo;
    on_busy_host(|set, ctx, prepared| {
        let (mut checked, mut held) = (0, 0);
        for rule in &set.rules {
            let mut memo = Memo::default();
            for item in prepared.socket_items().iter().filter(|i| walks_bucket_of(rule, i)) {
                let all = rule.compiled.holds(item, ctx);
                assert_eq!(rule.compiled.check_in_bucket(item, ctx, &mut memo), all, "{} on {:?}", rule.rule.id, item.socket.map(crate::model::Socket::key));
                checked += 1;
                held += usize::from(all);
            }
        }
        assert!(checked > 10_000 && held > 100, "many sockets checked ({checked}), some pass ({held})");
    });
}

/// A big run leaves its tables for the builder to let go, the items'
/// table in the memory the items were written into; handed once. A small
/// run lets its own go.
#[test]
fn a_big_run_leaves_its_tables_in_their_own_memory() {
    let (builder, snapshot) = second_refresh();
    let mut engine = Engine::new(RuleSet::embedded(), IocSet::new());
    let rows: Vec<RawSocket> = Vec::with_capacity(snapshot.sockets.len() * 2);
    let at = rows.as_ptr() as usize;
    engine.lend_room(rows);
    engine.run_on(&snapshot, builder.history(), true);
    let (items_at, room) = engine.leftovers.as_ref().expect("a parallel run leaves its tables").items_at();
    assert_eq!(items_at, at, "the items' own memory, not a copy");
    assert!(room >= snapshot.sockets.len(), "room for every socket's item: {room}");
    assert!(crate::model::Evaluator::leftovers(&mut engine).is_some());
    assert!(crate::model::Evaluator::leftovers(&mut engine).is_none(), "handed once");
    engine.run_on(&snapshot, builder.history(), false);
    assert!(crate::model::Evaluator::leftovers(&mut engine).is_none(), "a serial run lets its tables go itself");
}

/// The bounds read before grouping refuse a rule only when no group of
/// its items passes its aggregates: on the busy host's second refresh
/// (counts and rates pass), and judged an hour later, when its starts have
/// left every window.
#[test]
fn the_bounds_refuse_only_rules_no_group_passes() {
    use crate::rules::candidates::matches_all;
    on_busy_host(|set, ctx, prepared| {
        let waiting = prepared.sockets_in(SocketState::SynSent);
        let rules: Vec<&LoadedRule> = set.rules.iter().filter(|r| r.rule.matcher.has_aggregates()).collect();
        assert!(rules.len() >= 4, "shipped rules count, rate and fail: {}", rules.len());
        let (mut refused, mut found, mut skipped) = (0, 0, 0);
        for now in [ctx.snapshot.taken_at_ms, ctx.snapshot.taken_at_ms + 3_600_000] {
            // The walk itself asks the bounds too, before it hands a rule
            // its buckets whole: it finds what the walk without them finds.
            let bounded = matches_all(&rules, prepared, ctx, |rule, most| aggregates_may_hold(rule, ctx, most, waiting, now));
            for ((rule, matched), with_bounds) in rules.iter().zip(matches_all(&rules, prepared, ctx, |_, _| true)).zip(bounded) {
                let mut out = Vec::new();
                evaluate_rule(rule, ctx, &matched, set, now, &mut out);
                if !aggregates_may_hold(rule, ctx, matched.items.len(), waiting, now) {
                    assert!(out.is_empty(), "{} refused by its bounds at {now}, yet {} findings", rule.rule.id, out.len());
                    refused += 1;
                }
                let mut bounded_out = Vec::new();
                evaluate_rule(rule, ctx, &with_bounds, set, now, &mut bounded_out);
                let ids = |found: &[Finding]| found.iter().map(|f| f.id.clone()).collect::<Vec<_>>();
                assert_eq!(ids(&bounded_out), ids(&out), "{} at {now}: the same findings with the walk's bounds", rule.rule.id);
                skipped += usize::from(with_bounds.items.is_empty() && !matched.items.is_empty());
                found += out.len();
            }
        }
        assert!(refused > 0, "some rule is refused by its bounds");
        assert!(skipped > 0, "some rule is not walked for its bounds");
        assert!(found > 0, "some rule with aggregates finds something");
    });
}

/// A rule that asks about the process takes, from the buckets, exactly the
/// sockets whose conditions all hold: whether its walk is skipped (no
/// owner passes) or not.
#[test]
fn a_rule_about_the_process_takes_the_same_sockets_with_or_without_its_walk() {
    use crate::rules::candidates::{matches_all, walks_bucket_of};
    on_busy_host(|set, ctx, prepared| {
        let rules: Vec<&LoadedRule> = set.rules.iter().filter(|r| r.compiled.asks_about_process() && !r.rule.matcher.needs_baseline()).collect();
        let (mut empty, mut taken) = (0, 0);
        for (rule, matched) in rules.iter().zip(matches_all(&rules, prepared, ctx, |_, _| true)) {
            let walked: Vec<&Item<'_>> = prepared.socket_items().iter().filter(|i| walks_bucket_of(rule, i)).collect();
            if walked.is_empty() {
                continue;
            }
            let want: BTreeSet<SocketKey> =
                walked.iter().filter(|i| rule.compiled.holds(i, ctx)).filter_map(|i| i.socket.map(crate::model::Socket::key)).collect();
            let got: BTreeSet<SocketKey> =
                matched.items.iter().filter(|i| walks_bucket_of(rule, i)).filter_map(|i| i.socket.map(crate::model::Socket::key)).collect();
            assert_eq!(got, want, "{}", rule.rule.id);
            if want.is_empty() { empty += 1 } else { taken += 1 }
        }
        assert!(empty > 0 && taken > 0, "some rules about the process take nothing ({empty}), some take sockets ({taken})");
    });
}

/// The rules checked while the items are made take the same sockets, in
/// the same order, with the same owners, as the shared pass over the
/// buckets gives them when nothing was checked early.
#[test]
fn rules_checked_early_take_what_the_bucket_pass_takes_in_its_order() {
    use crate::rules::candidates::{matches_all, prepare};
    let (builder, snapshot) = second_refresh();
    let set = RuleSet::embedded();
    let ioc = IocSet::new();
    let ctx = Context::new(&snapshot, builder.history(), &ioc, None);
    let rules: Vec<&LoadedRule> = set.rules.iter().collect();
    let (early, late) = (prepare(&ctx, &[], Vec::new(), &rules), prepare(&ctx, &[], Vec::new(), &[]));
    let taken = |m: &crate::rules::candidates::Matched<'_, '_>| {
        m.items.iter().map(|i| i.socket.map(crate::model::Socket::key)).zip(m.owners.iter().copied()).collect::<Vec<_>>()
    };
    let (mut checked_early, mut took) = (0, 0);
    for ((rule, a), b) in rules.iter().zip(matches_all(&rules, &early, &ctx, |_, _| true)).zip(matches_all(&rules, &late, &ctx, |_, _| true)) {
        assert_eq!(taken(&a), taken(&b), "{}", rule.rule.id);
        assert_eq!(a.items.len(), b.items.len(), "{}: the same stand-ins too", rule.rule.id);
        if early.checked_early(rule) {
            checked_early += 1;
            took += usize::from(!a.items.is_empty());
        }
    }
    assert!(checked_early >= 3, "several shipped rules are checked early: {checked_early}");
    assert!(took >= 1, "some rule checked early takes sockets on the busy host");
}

/// A tag no list and no endpoint carries cannot hold, and rules that need
/// it are not walked; a tag from a list, or an endpoint's own (a loaded
/// snapshot's), still finds its sockets.
#[test]
fn a_tag_is_looked_up_only_where_some_address_can_carry_it() {
    let (builder, mut snapshot) = second_refresh();
    let fired = |snapshot: &crate::model::Snapshot, ioc: IocSet, rule: &str| {
        Engine::new(RuleSet::embedded(), ioc).run(snapshot, builder.history()).iter().any(|f| f.rule_id == rule)
    };
    let set = RuleSet::embedded();
    let rule = |id: &str| set.rules.iter().find(|r| r.rule.id == id).expect("shipped rule");
    let none = IocSet::new();
    let ctx = Context::new(&snapshot, builder.history(), &none, None);
    assert!(!ctx.tag_possible("ioc") && !ctx.tag_possible("tor_exit"));
    assert!(rule("ioc_endpoint_outbound").compiled.never(&ctx, Walked::AnyItem), "no list: the IOC rule is not walked");
    assert!(!fired(&snapshot, IocSet::new(), "ioc_endpoint_outbound"));

    let mut listed = IocSet::new();
    listed.insert("203.0.113.9".parse().expect("ip"), 32, "ioc");
    let ctx = Context::new(&snapshot, builder.history(), &listed, None);
    assert!(ctx.tag_possible("ioc") && !ctx.tag_possible("tor_exit"));
    assert!(!rule("ioc_endpoint_outbound").compiled.never(&ctx, Walked::AnyItem));
    assert!(fired(&snapshot, listed, "ioc_endpoint_outbound"), "a listed address is found");

    let endpoint = crate::model::EndpointKey::host("203.0.113.10".parse().expect("ip"));
    snapshot.endpoints.get_mut(&endpoint).expect("the ssh socket's endpoint").tags.push("tor_exit".into());
    let ctx = Context::new(&snapshot, builder.history(), &none, None);
    assert!(ctx.tag_possible("tor_exit"), "an endpoint's own tag counts");
    assert!(fired(&snapshot, IocSet::new(), "tor_usage"), "an endpoint tagged so is found without a list");
}

/// The busy host's second refresh with `extra` sockets and names added to
/// both refreshes.
fn busy_with(extra: &[RawSocket], names: &[(&str, &str)]) -> (SnapshotBuilder, crate::model::Snapshot) {
    let spec = Arc::new(crate::spec::Spec::embedded());
    let mut builder = SnapshotBuilder::new(spec);
    let source = || SourceInfo { kind: SourceKind::Replay, host: "busy".into(), detail: "test".into() };
    let obs = |at: i64| {
        let mut o = busy_host(at);
        o.sockets.extend(extra.iter().cloned());
        o.names.names = names
            .iter()
            .map(|(ip, name)| crate::model::ObservedName {
                ip: ip.parse().expect("ip"),
                names: vec![(*name).to_string()],
                source: crate::model::NameSource::DnsAnswer,
                asked_by: None,
                seen_ms: at,
            })
            .collect();
        o
    };
    builder.build(obs(1_000_000), source(), None);
    let snapshot = builder.build(obs(1_002_000), source(), None);
    (builder, snapshot)
}

/// A rule asking for a remote port no outbound socket reached, or for a
/// name no endpoint's name scores, is not walked; one socket reaching the
/// port, or one name that scores, brings it back and it fires. Whatever
/// the bound skips passes no socket of the rule's buckets.
#[test]
fn the_endpoint_table_bounds_remote_ports_and_names() {
    let set = RuleSet::embedded();
    let rule = |id: &str| set.rules.iter().find(|r| r.rule.id == id).expect("shipped rule");
    let ioc = IocSet::new();
    let run = |(builder, snapshot): &(SnapshotBuilder, crate::model::Snapshot)| -> (BTreeSet<String>, BTreeSet<String>) {
        let ctx = Context::new(snapshot, builder.history(), &ioc, None);
        let skipped: BTreeSet<String> = set.rules.iter().filter(|r| crate::rules::candidates::plan(r, &ctx).is_none()).map(|r| r.rule.id.clone()).collect();
        // Sound: a skipped bucket rule passes none of its buckets' sockets.
        let rules: Vec<&LoadedRule> = set.rules.iter().collect();
        let prepared = crate::rules::candidates::prepare(&ctx, &[], Vec::new(), &[]);
        for r in rules.iter().filter(|r| skipped.contains(&r.rule.id)) {
            let passing = prepared.socket_items().iter().filter(|i| crate::rules::candidates::walks_bucket_of(r, i) && r.compiled.holds(i, &ctx)).count();
            assert_eq!(passing, 0, "{} was skipped but {passing} sockets pass it", r.rule.id);
        }
        let fired = Engine::new(RuleSet::embedded(), IocSet::new()).run(snapshot, builder.history()).into_iter().map(|f| f.rule_id).collect();
        (skipped, fired)
    };
    // Names on the host, none generated-looking; no Tor port reached.
    let plain = busy_with(&[], &[("198.51.100.7", "downloads.example.org")]);
    let (skipped, fired) = run(&plain);
    assert!(skipped.contains("tor_usage") && skipped.contains("dga_like_name"), "{skipped:?}");
    assert!(!fired.contains("tor_usage") && !fired.contains("dga_like_name"));
    let ctx = Context::new(&plain.1, plain.0.history(), &ioc, None);
    assert!(!rule("tor_usage").compiled.never(&ctx, Walked::AnyItem), "only outbound sockets are bounded by the endpoints' ports");

    let tor = sock(5, SocketState::Established, "203.0.113.12:9001", Some(101));
    let generated = [("198.51.100.7", "downloads.example.org"), ("198.51.100.8", "xj4k9qz2mw7vb1pq.example.org")];
    let (skipped, fired) = run(&busy_with(&[tor], &generated));
    assert!(!skipped.contains("tor_usage") && !skipped.contains("dga_like_name"), "{skipped:?}");
    assert!(fired.contains("tor_usage"), "the socket to a relay port is found");
    assert!(fired.contains("dga_like_name"), "the generated-looking name is found");

    // A label of 40 characters is the other alternative.
    let long = format!("{}.example.org", "a".repeat(40));
    let (skipped, fired) = run(&busy_with(&[], &[("198.51.100.9", long.as_str())]));
    assert!(!skipped.contains("dga_like_name") && fired.contains("dga_like_name"));
}
