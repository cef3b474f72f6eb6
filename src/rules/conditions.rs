//! Every match key, checked against one item (a socket, or a scored series
//! of connection starts). Each condition that holds adds a trace step with
//! the value that made it hold; traces are built only when asked for, so
//! the common "does not match" path allocates nothing. Process conditions
//! are memoised per pid (a regex over a command line runs once per process,
//! not once per socket).

use std::net::SocketAddr;

use rustc_hash::FxHashMap;

use super::engine::{Beacon, Context};
use super::load::Compiled;
use super::schema::{Match, MatchDirection, ShellIo};
use crate::model::{Direction, Pid, ProcessNode, Protocol, Socket, TraceStep, Zone, listener_zone};
use crate::text::{bounded, escape_control, excerpt};

/// What one check looks at.
#[derive(Debug, Clone, Copy)]
pub struct Item<'a> {
    pub socket: Option<&'a Socket>,
    pub pid: Option<Pid>,
    pub process: Option<&'a ProcessNode>,
    pub remote: Option<SocketAddr>,
    pub protocol: Protocol,
    pub direction: Direction,
    pub beacon: Option<&'a Beacon>,
    /// The namespace the connection lives in (none: the observer's).
    pub netns: Option<crate::model::NetNs>,
}

impl<'a> Item<'a> {
    /// A socket of the snapshot.
    pub fn of_socket(snapshot: &'a crate::model::Snapshot, sock: &'a Socket) -> Self {
        let pid = sock.owner();
        let remote = (!sock.raw.remote.ip().is_unspecified()).then_some(sock.raw.remote);
        Self {
            socket: Some(sock),
            pid,
            process: pid.and_then(|p| snapshot.process(p)),
            remote,
            protocol: sock.key().protocol,
            direction: sock.direction,
            beacon: None,
            netns: sock.raw.netns,
        }
    }

    /// A scored series of connection starts (no socket open right now).
    pub fn of_beacon(snapshot: &'a crate::model::Snapshot, b: &'a Beacon) -> Self {
        Self {
            socket: None,
            pid: Some(b.pid),
            process: snapshot.process(b.pid),
            remote: Some(b.remote),
            protocol: b.protocol,
            direction: Direction::Outbound,
            beacon: Some(b),
            netns: b.netns,
        }
    }

    /// A process with recent connection attempts but no socket open now:
    /// stands for its history in process rules (scans, churn, failures).
    pub fn of_history(snapshot: &'a crate::model::Snapshot, pid: Pid, series: &crate::model::SeriesKey) -> Self {
        Self {
            socket: None,
            pid: Some(pid),
            process: snapshot.process(pid),
            remote: Some(series.remote),
            protocol: series.protocol,
            direction: Direction::Outbound,
            beacon: None,
            netns: series.netns,
        }
    }

    /// A process whose DNS queries were attributed but that holds no
    /// socket now: stands for its resolution in process rules.
    pub fn of_dns(snapshot: &'a crate::model::Snapshot, pid: Pid) -> Self {
        Self {
            socket: None,
            pid: Some(pid),
            process: snapshot.process(pid),
            remote: None,
            protocol: Protocol::Udp,
            direction: Direction::Outbound,
            beacon: None,
            netns: None,
        }
    }

    /// The remote endpoint, as seen from the item's namespace.
    pub fn endpoint(&self) -> Option<crate::model::EndpointKey> {
        self.remote.map(|r| crate::model::EndpointKey::of(r.ip(), self.netns))
    }
}

/// The process an item is about, as a trace names it: `curl (pid 42)`.
fn who(item: &Item<'_>) -> String {
    match (item.process, item.pid) {
        (Some(p), _) => format!("{} (pid {})", crate::text::bounded(&p.facts.name, 64), p.facts.pid),
        (None, Some(pid)) => format!("pid {pid}"),
        (None, None) => "an unknown process".into(),
    }
}

/// Ports of common services (besides everything below 1024).
const COMMON_SERVICE_PORTS: &[u16] = &[1433, 1521, 2049, 3306, 3389, 5432, 5672, 5900, 6379, 6443, 8080, 8443, 9092, 9200, 11211, 27017];
const COMMON_UDP_PORTS: &[u16] = &[53, 67, 68, 69, 123, 137, 138, 161, 162, 443, 500, 514, 1900, 4500, 5353, 5355];
const COMMON_PRIVILEGED_PORTS: &[u16] = &[21, 22, 25, 53, 80, 110, 111, 123, 143, 443, 465, 587, 631, 993, 995];

/// The port that names the service: the local one for listeners and
/// accepted connections, the remote one for connections made here.
fn service_port(item: &Item<'_>) -> Option<u16> {
    match item.direction {
        Direction::Listen | Direction::Inbound => item.socket.map(|s| s.raw.local.port()),
        Direction::Outbound => item.remote.map(|r| r.port()),
    }
}

/// `name` matches `pattern`, where `*` stands for any run of characters
/// (`python*`, `[*]`, `*-server`).
pub fn name_matches(name: &str, pattern: &str) -> bool {
    let mut parts = pattern.split('*');
    let first = parts.next().unwrap_or("");
    let Some(mut rest) = name.strip_prefix(first) else { return false };
    let parts: Vec<&str> = parts.collect();
    let Some((last, middle)) = parts.split_last() else { return rest.is_empty() };
    for part in middle {
        match rest.find(part) {
            Some(at) => rest = &rest[at + part.len()..],
            None => return false,
        }
    }
    rest.len() >= last.len() && rest.ends_with(last)
}

fn names_match(names: &[&str], patterns: &[String]) -> Option<String> {
    names.iter().find(|n| patterns.iter().any(|p| name_matches(n, p))).map(|n| (*n).to_string())
}

/// Push a trace step when tracing, after checking the condition.
macro_rules! cond {
    ($trace:expr, $ok:expr, $condition:expr, $value:expr) => {{
        if !$ok {
            return false;
        }
        if let Some(t) = $trace.as_deref_mut() {
            t.push(TraceStep { condition: $condition, value: $value });
        }
    }};
}
pub(super) use cond;

fn list<T: std::fmt::Display>(v: &[T]) -> String {
    v.iter().map(ToString::to_string).collect::<Vec<_>>().join(", ")
}

/// The first regex that matches `text`, with where.
fn first_match<'r>(regexes: &'r [regex::Regex], text: &str) -> Option<(&'r regex::Regex, std::ops::Range<usize>)> {
    regexes.iter().find_map(|re| re.find(text).map(|m| (re, m.range())))
}

/// "`…text around the match…` matches /re/", escaped and bounded.
fn regex_value(text: &str, hit: Option<(&regex::Regex, std::ops::Range<usize>)>) -> String {
    match hit {
        Some((re, range)) => format!("`{}` matches /{}/", escape_control(&excerpt(text, range, 120)), re.as_str()),
        None => format!("`{}`", escape_control(&bounded(text, 120))),
    }
}

/// Check every condition of `m` on `item`. `memo` caches the process part
/// per pid when not tracing.
pub fn check(m: &Match, c: &Compiled, item: &Item<'_>, ctx: &Context<'_>, mut trace: Option<&mut Vec<TraceStep>>, memo: &mut FxHashMap<Pid, bool>) -> bool {
    if (!c.socket_free || trace.is_some()) && !socket_part(m, c, item, ctx, trace.as_deref_mut()) {
        return false;
    }
    // The process part (and a process-only any_of) is the same for every
    // socket of a process: remember it per pid when not tracing.
    let per_process = |item: &Item<'_>| process_part(m, c, item, ctx, None) && (!c.any_of_per_process || any_of_holds(m, c, item, ctx));
    let process_ok = match (trace.is_some(), item.pid) {
        (false, Some(pid)) => *memo.entry(pid).or_insert_with(|| per_process(item)),
        _ => process_part(m, c, item, ctx, trace.as_deref_mut()),
    };
    if !process_ok {
        return false;
    }
    if let (Some(nm), Some(nc)) = (&m.not, &c.not)
        && !c.not_per_process
    {
        let excluded = check(nm, nc, item, ctx, None, &mut FxHashMap::default());
        cond!(trace, !excluded, "not".into(), "no exception applies".into());
    }
    if c.any_of_per_process && trace.is_none() && item.pid.is_some() {
        return true;
    }
    if let Some(subs) = &m.any_of {
        let hit = subs.iter().zip(&c.any_of).position(|(sm, sc)| check(sm, sc, item, ctx, None, &mut FxHashMap::default()));
        let Some(i) = hit else { return false };
        if let Some(t) = trace {
            t.push(TraceStep { condition: format!("any_of[{i}]"), value: "this alternative matched:".into() });
            check(&subs[i], &c.any_of[i], item, ctx, Some(t), &mut FxHashMap::default());
        }
    }
    true
}

fn any_of_holds(m: &Match, c: &Compiled, item: &Item<'_>, ctx: &Context<'_>) -> bool {
    m.any_of.as_ref().is_none_or(|subs| subs.iter().zip(&c.any_of).any(|(sm, sc)| check(sm, sc, item, ctx, None, &mut FxHashMap::default())))
}

#[allow(clippy::too_many_lines, clippy::cognitive_complexity)]
fn socket_part(m: &Match, c: &Compiled, item: &Item<'_>, ctx: &Context<'_>, mut trace: Option<&mut Vec<TraceStep>>) -> bool {
    if !super::name_conditions::remote_names(m, item, ctx, trace.as_deref_mut()) {
        return false;
    }
    let sock = item.socket;
    if let Some(st) = m.state {
        let actual = sock.map(Socket::state);
        cond!(trace, actual == Some(st), format!("state: {st}"), format!("state {st}"));
    }
    if let Some(states) = &m.state_in {
        let actual = sock.map(Socket::state);
        cond!(
            trace,
            actual.is_some_and(|a| states.contains(&a)),
            format!("state_in: [{}]", list(states)),
            format!("state {}", actual.map_or("?", |a| a.name()))
        );
    }
    if let Some(p) = m.protocol {
        cond!(trace, item.protocol == p, format!("protocol: {p}"), format!("protocol {}", item.protocol));
    }
    if let Some(v) = m.remote_ip_version {
        let actual = item.remote.map(|r| if r.is_ipv4() { 4 } else { 6 });
        cond!(
            trace,
            actual == Some(v),
            format!("remote_ip_version: {v}"),
            format!("remote {} is IPv{v}", item.remote.map_or_else(String::new, |r| r.ip().to_string()))
        );
    }
    if let Some(d) = m.direction {
        let want = match d {
            MatchDirection::Outbound => Direction::Outbound,
            MatchDirection::Inbound => Direction::Inbound,
            MatchDirection::Listen => Direction::Listen,
        };
        cond!(trace, item.direction == want, format!("direction: {want}"), format!("direction {}", item.direction));
    }
    let local_port = sock.map(|s| s.raw.local.port());
    let remote_port = item.remote.map(|r| r.port());
    if let Some(v) = m.local_port_gte {
        cond!(trace, local_port.is_some_and(|p| p >= v), format!("local_port_gte: {v}"), format!("local_port {} ≥ {v}", local_port.unwrap_or(0)));
    }
    if let Some(v) = m.local_port_lte {
        cond!(trace, local_port.is_some_and(|p| p <= v), format!("local_port_lte: {v}"), format!("local_port {} ≤ {v}", local_port.unwrap_or(0)));
    }
    if let Some(v) = m.remote_port_gte {
        cond!(trace, remote_port.is_some_and(|p| p >= v), format!("remote_port_gte: {v}"), format!("remote_port {} ≥ {v}", remote_port.unwrap_or(0)));
    }
    if let Some(v) = m.remote_port_lte {
        cond!(trace, remote_port.is_some_and(|p| p <= v), format!("remote_port_lte: {v}"), format!("remote_port {} ≤ {v}", remote_port.unwrap_or(0)));
    }
    if let Some(v) = &m.remote_port_in {
        cond!(
            trace,
            remote_port.is_some_and(|p| v.contains(&p)),
            format!("remote_port_in: [{}]", list(v)),
            format!("remote_port {}", remote_port.unwrap_or(0))
        );
    }
    if let Some(v) = &m.local_port_in {
        cond!(trace, local_port.is_some_and(|p| v.contains(&p)), format!("local_port_in: [{}]", list(v)), format!("local_port {}", local_port.unwrap_or(0)));
    }
    let svc = service_port(item);
    if m.exclude_well_known_ports == Some(true) {
        cond!(
            trace,
            svc.is_some_and(|p| p >= 1024 && !COMMON_SERVICE_PORTS.contains(&p)),
            "exclude_well_known_ports: true".into(),
            format!("port {} is not a well-known service port", svc.unwrap_or(0))
        );
    }
    if m.exclude_common_udp_ports == Some(true) {
        cond!(
            trace,
            svc.is_some_and(|p| !COMMON_UDP_PORTS.contains(&p)),
            "exclude_common_udp_ports: true".into(),
            format!("port {} is not a common UDP service", svc.unwrap_or(0))
        );
    }
    if m.exclude_common_privileged_ports == Some(true) {
        cond!(
            trace,
            svc.is_some_and(|p| !COMMON_PRIVILEGED_PORTS.contains(&p)),
            "exclude_common_privileged_ports: true".into(),
            format!("port {} is not a common privileged service", svc.unwrap_or(0))
        );
    }
    if let Some(v) = &m.exclude_ports {
        cond!(trace, svc.is_some_and(|p| !v.contains(&p)), format!("exclude_ports: [{}]", list(v)), format!("port {} not excluded", svc.unwrap_or(0)));
    }
    let remote_ip = item.remote.map(|r| r.ip());
    if m.remote_ip_in.is_some() {
        let hit = remote_ip.and_then(|ip| c.networks.tags(ip).into_iter().next());
        cond!(
            trace,
            hit.is_some(),
            "remote_ip_in".into(),
            format!("remote {} in {}", remote_ip.map_or_else(String::new, |i| i.to_string()), hit.unwrap_or_default())
        );
    }
    // The snapshot already classified the remote: reuse it.
    let zone = match sock {
        Some(s) if s.direction != Direction::Listen => Some(s.zone),
        _ => remote_ip.map(Zone::of),
    };
    if m.exclude_private_ips == Some(true) {
        cond!(
            trace,
            zone == Some(Zone::Public),
            "exclude_private_ips: true".into(),
            format!("remote {} is public", remote_ip.map_or_else(String::new, |i| i.to_string()))
        );
    }
    if let Some(zones) = &m.zone_in {
        let z = if item.direction == Direction::Listen { sock.map(|s| s.zone) } else { zone };
        cond!(trace, z.is_some_and(|z| zones.contains(&z)), format!("zone_in: [{}]", list(zones)), format!("zone {}", z.map_or("?", Zone::name)));
    }
    if let Some(zones) = &m.local_zone_in {
        let z = sock.map(|s| listener_zone(s.raw.local.ip()));
        cond!(
            trace,
            z.is_some_and(|z| zones.contains(&z)),
            format!("local_zone_in: [{}]", list(zones)),
            format!("bound to {} ({})", sock.map_or_else(String::new, |s| s.raw.local.ip().to_string()), z.map_or("?", Zone::name))
        );
    }
    let age = sock.and_then(|s| s.age);
    if let Some(v) = m.duration_gte_sec {
        cond!(trace, age.is_some_and(|a| a.open_at_least(v)), format!("duration_gte_sec: {v}"), crate::model::SocketAge::trace(age));
    }
    if let Some(v) = m.duration_lte_sec {
        cond!(trace, age.is_some_and(|a| a.open_at_most(v)), format!("duration_lte_sec: {v}"), crate::model::SocketAge::trace(age));
    }
    let counters = sock.and_then(|s| s.raw.tcp);
    if let Some(v) = m.bytes_sent_gte {
        cond!(
            trace,
            counters.is_some_and(|t| t.bytes_acked >= v),
            format!("bytes_sent_gte: {v}"),
            format!("{} bytes sent", counters.map_or(0, |t| t.bytes_acked))
        );
    }
    if let Some(v) = m.bytes_received_gte {
        cond!(
            trace,
            counters.is_some_and(|t| t.bytes_received >= v),
            format!("bytes_received_gte: {v}"),
            format!("{} bytes received", counters.map_or(0, |t| t.bytes_received))
        );
    }
    let country = if m.remote_country_in.is_some() || m.remote_country_not_in.is_some() {
        remote_ip.filter(|_| zone == Some(Zone::Public)).and_then(iptocc::country_code)
    } else {
        None
    };
    if let Some(v) = &m.remote_country_in {
        cond!(
            trace,
            country.is_some_and(|c| v.iter().any(|x| x.eq_ignore_ascii_case(c))),
            format!("remote_country_in: [{}]", list(v)),
            format!("country {}", country.unwrap_or("?"))
        );
    }
    if let Some(v) = &m.remote_country_not_in {
        cond!(
            trace,
            country.is_some_and(|c| !v.iter().any(|x| x.eq_ignore_ascii_case(c))),
            format!("remote_country_not_in: [{}]", list(v)),
            format!("country {}", country.unwrap_or("?"))
        );
    }
    if let Some(tag) = &m.remote_tags_contains {
        let tags = remote_ip.map(|ip| ctx.tags(ip));
        cond!(
            trace,
            tags.as_ref().is_some_and(|t| t.contains(tag)),
            format!("remote_tags_contains: {tag}"),
            format!("remote {} tagged {tag}", remote_ip.map_or_else(String::new, |i| i.to_string()))
        );
    }
    if let Some(wanted) = &m.remote_tags_contains_any {
        let tags = remote_ip.map(|ip| ctx.tags(ip));
        let hit = tags.as_ref().and_then(|t| wanted.iter().find(|w| t.contains(*w)).cloned());
        cond!(
            trace,
            hit.is_some(),
            format!("remote_tags_contains_any: [{}]", list(wanted)),
            format!("remote {} tagged {}", remote_ip.map_or_else(String::new, |i| i.to_string()), hit.unwrap_or_default())
        );
    }
    if let Some(v) = m.remote_not_in_baseline {
        let remote = item.remote.map(|r| crate::model::normalize_ip(r.ip())).filter(|ip| !ip.is_loopback());
        let (holds, value) = match (ctx.baseline, remote) {
            (None, _) => (false, "no baseline loaded".to_string()),
            (_, None) => (false, "no remote (or loopback)".to_string()),
            (Some(b), Some(ip)) => {
                let known = b.remote_endpoints.contains(&ip.to_string());
                (known != v, format!("remote {ip} {} baseline `{}`", if known { "is in" } else { "is not in" }, escape_control(&b.name)))
            }
        };
        cond!(trace, holds, format!("remote_not_in_baseline: {v}"), value);
    }
    if let Some(v) = m.listener_not_in_baseline {
        let key = sock.filter(|s| s.direction == Direction::Listen).map(|s| crate::baseline::listener_key(s, item.process.map(|p| p.facts.name.as_str())));
        let (holds, value) = match (ctx.baseline, &key) {
            (None, _) => (false, "no baseline loaded".to_string()),
            (_, None) => (false, "not a listener".to_string()),
            (Some(b), Some(k)) => {
                let known = b.listeners.contains(k);
                (known != v, format!("listener {} {} baseline `{}`", escape_control(k), if known { "is in" } else { "is not in" }, escape_control(&b.name)))
            }
        };
        cond!(trace, holds, format!("listener_not_in_baseline: {v}"), value);
    }
    if let Some(except) = &m.remote_local_service_except {
        let service = item.remote.and_then(|r| ctx.local_listener(item.protocol, r));
        let owner = service.and_then(|l| {
            l.pid.map(|p| (p, ctx.snapshot.process(Pid(p)).map_or_else(|| l.process_name.clone().unwrap_or_default(), |n| n.facts.name.clone())))
        });
        let hit = owner.as_ref().filter(|(_, name)| !except.iter().any(|e| name_matches(name, e)));
        cond!(
            trace,
            hit.is_some(),
            format!("remote_local_service_except: [{}]", list(except)),
            match (item.remote, &owner) {
                (Some(r), Some((pid, name))) => format!("remote {r} is a listener of {} ({pid}) on this host", escape_control(name)),
                (Some(r), None) => format!("remote {r} is no listener of this host with a visible owner"),
                (None, _) => "no remote".into(),
            }
        );
    }
    if let Some(min) = m.beacon_score_gte {
        let b = item.beacon.map(|b| b.stats);
        cond!(
            trace,
            b.is_some_and(|s| s.score >= min),
            format!("beacon_score_gte: {min}"),
            b.map_or_else(String::new, |s| format!(
                "score {:.2} over {} starts by {}, median interval {:.0} s, MAD {:.1} s",
                s.score,
                s.starts,
                who(item),
                s.median_interval_s,
                s.mad_s
            ))
        );
    }
    true
}

#[allow(clippy::too_many_lines)]
fn process_part(m: &Match, c: &Compiled, item: &Item<'_>, ctx: &Context<'_>, mut trace: Option<&mut Vec<TraceStep>>) -> bool {
    if !process_keys(m, c, item, ctx, trace.as_deref_mut()) || !super::name_conditions::process_dns(m, item, ctx, trace.as_deref_mut()) {
        return false;
    }
    // `not` about the process only, last so the trace reads in order.
    if let (Some(nm), Some(nc)) = (&m.not, &c.not)
        && c.not_per_process
    {
        let excluded = check(nm, nc, item, ctx, None, &mut FxHashMap::default());
        cond!(trace, !excluded, "not".into(), "no exception applies".into());
    }
    true
}

#[allow(clippy::too_many_lines)]
fn process_keys(m: &Match, c: &Compiled, item: &Item<'_>, ctx: &Context<'_>, mut trace: Option<&mut Vec<TraceStep>>) -> bool {
    let needs_process = m.process_name_in.is_some()
        || m.exe_regex_any.is_some()
        || m.shell_io.is_some()
        || m.process_name_not_in.is_some()
        || m.exe_path_prefix_in.is_some()
        || m.cwd_prefix_in.is_some()
        || m.exe_deleted.is_some()
        || m.exe_memfd.is_some()
        || m.cmdline_regex_any.is_some()
        || m.parent_cmdline_regex_any.is_some()
        || m.sensitive_file_open.is_some()
        || m.process_not_in_baseline.is_some()
        || m.parent_name_in.is_some()
        || m.ancestor_name_in.is_some()
        || m.stdio_is_socket.is_some()
        || m.uid_in.is_some()
        || m.has_tty.is_some();
    if !needs_process {
        return true;
    }
    let Some(process) = item.process else { return false };
    let f = &process.facts;
    let exe_base = f.exe.as_deref().and_then(|e| e.rsplit('/').next()).unwrap_or("");
    let names = [f.name.as_str(), exe_base];
    if let Some(v) = &m.process_name_in {
        let hit = names_match(&names, v);
        cond!(trace, hit.is_some(), format!("process_name_in: [{}]", list(v)), format!("process {} ({})", escape_control(&hit.unwrap_or_default()), f.pid));
    }
    if let Some(v) = &m.process_name_not_in {
        cond!(trace, names_match(&names, v).is_none(), format!("process_name_not_in: [{}]", list(v)), format!("process {}", escape_control(&f.name)));
    }
    if let Some(v) = &m.exe_path_prefix_in {
        let exe = f.exe.as_deref().unwrap_or("");
        cond!(trace, v.iter().any(|pre| exe.starts_with(pre.as_str())), format!("exe_path_prefix_in: [{}]", list(v)), format!("exe {}", escape_control(exe)));
    }
    if m.exe_regex_any.is_some() {
        let exe = f.exe.as_deref().unwrap_or("");
        let hit = f.exe.as_deref().and_then(|e| first_match(&c.exe_regexes, e));
        cond!(trace, hit.is_some(), "exe_regex_any".into(), format!("exe {}", regex_value(exe, hit)));
    }
    if let Some(v) = &m.cwd_prefix_in {
        let cwd = f.cwd.as_deref().filter(|cwd| v.iter().any(|pre| cwd.starts_with(pre.as_str())));
        cond!(trace, cwd.is_some(), format!("cwd_prefix_in: [{}]", list(v)), format!("cwd {}", escape_control(f.cwd.as_deref().unwrap_or("?"))));
    }
    if let Some(v) = m.exe_deleted {
        cond!(
            trace,
            f.exe_deleted == v,
            format!("exe_deleted: {v}"),
            format!("exe {} {}", escape_control(f.exe.as_deref().unwrap_or("?")), if f.exe_deleted { "(deleted)" } else { "present" })
        );
    }
    if let Some(v) = m.exe_memfd {
        cond!(trace, f.exe_memfd == v, format!("exe_memfd: {v}"), format!("exe {}", escape_control(f.exe.as_deref().unwrap_or("?"))));
    }
    if m.cmdline_regex_any.is_some() {
        let hit = first_match(&c.regexes, &f.cmdline);
        cond!(trace, hit.is_some(), "cmdline_regex_any".into(), format!("cmdline {}", regex_value(&f.cmdline, hit)));
    }
    if m.parent_cmdline_regex_any.is_some() {
        let hit = first_match(&c.parent_regexes, &f.parent_cmdline);
        cond!(trace, hit.is_some(), "parent_cmdline_regex_any".into(), format!("parent ({}) cmdline {}", f.ppid, regex_value(&f.parent_cmdline, hit)));
    }
    if let Some(v) = m.sensitive_file_open {
        cond!(
            trace,
            f.sensitive_files.is_empty() != v,
            format!("sensitive_file_open: {v}"),
            if f.sensitive_files.is_empty() {
                "no sensitive file open".into()
            } else {
                format!("holds {}", f.sensitive_files.iter().map(|p| bounded(&escape_control(p), 120)).collect::<Vec<_>>().join(", "))
            }
        );
    }
    if let Some(v) = m.process_not_in_baseline {
        let key = crate::baseline::process_key(f.exe.as_deref(), &f.name, f.uid);
        let (holds, value) = match ctx.baseline {
            None => (false, "no baseline loaded".to_string()),
            Some(b) => {
                let known = b.processes.contains(&key);
                (known != v, format!("process {} {} baseline `{}`", escape_control(&key), if known { "is in" } else { "is not in" }, escape_control(&b.name)))
            }
        };
        cond!(trace, holds, format!("process_not_in_baseline: {v}"), value);
    }
    if let Some(v) = &m.parent_name_in {
        let parent = f.ancestors.first().map(String::as_str);
        cond!(
            trace,
            parent.is_some_and(|n| v.iter().any(|p| name_matches(n, p))),
            format!("parent_name_in: [{}]", list(v)),
            format!("parent {}", escape_control(parent.unwrap_or("?")))
        );
    }
    if let Some(v) = &m.ancestor_name_in {
        let hit = f.ancestors.iter().take(3).find(|n| v.iter().any(|p| name_matches(n, p)));
        cond!(
            trace,
            hit.is_some(),
            format!("ancestor_name_in: [{}]", list(v)),
            format!("ancestor {} (chain {})", escape_control(hit.map_or("?", String::as_str)), escape_control(&f.ancestors.join(" ← ")))
        );
    }
    if let Some(v) = m.stdio_is_socket {
        let fds: Vec<String> = f.stdio_sockets.iter().map(|fd| format!("fd {fd} → socket")).collect();
        cond!(trace, f.stdio_sockets.is_empty() != v, format!("stdio_is_socket: {v}"), if fds.is_empty() { "no stdio socket".into() } else { fds.join(", ") });
    }
    if let Some(v) = &m.uid_in {
        cond!(trace, v.contains(&f.uid), format!("uid_in: [{}]", list(v)), format!("uid {}", f.uid));
    }
    if let Some(v) = m.has_tty {
        cond!(trace, f.has_tty == v, format!("has_tty: {v}"), format!("tty {}", if f.has_tty { "yes" } else { "none" }));
    }
    if let Some(want) = m.shell_io {
        let fits = |l: &&crate::model::ShellLink| match want {
            ShellIo::Both => l.is_both(),
            ShellIo::Input => !l.input.is_empty(),
            ShellIo::Output => !l.output.is_empty(),
            ShellIo::Any => true,
        };
        let hit = f.shell_links.iter().find(fits);
        cond!(
            trace,
            hit.is_some(),
            format!("shell_io: {}", shell_io_name(want)),
            hit.map_or_else(
                || "no shell's input or output leads here".into(),
                |l| bounded(&format!("{} ({}) `{}`: {}", escape_control(&l.name), l.pid, escape_control(&l.cmdline), l.describe()), 900)
            )
        );
    }
    true
}

fn shell_io_name(v: ShellIo) -> &'static str {
    match v {
        ShellIo::Both => "both",
        ShellIo::Input => "input",
        ShellIo::Output => "output",
        ShellIo::Any => "any",
    }
}
