//! Every match key as a compiled condition: what the key means (`eval`,
//! which says whether it holds and, when tracing, the step with the value
//! that made it hold), what it costs and whether it depends on the process
//! only. Adding a key is a field in `schema::Match`, a variant here, and
//! its arm in `compile`, `eval`, `level` and `cost`: all in this file.

use super::regex_list::RegexList;

use super::conditions::Conditions;
use super::engine::Context;
use super::ioc::IocSet;
use super::item::Item;
use super::schema::{Match, MatchDirection, ShellIo};
use super::values::{
    COMMON_PRIVILEGED_PORTS, COMMON_SERVICE_PORTS, COMMON_UDP_PORTS, list, name_matches, names_match, regex_value, service_port, shell_io_name, shown, who,
};
use crate::model::{Direction, NameSource, Protocol, SocketState, TraceStep, Zone, label_entropy, listener_zone, longest_label};
use crate::text::{bounded, escape_control};

/// A refusal at load: (key, text to find its line, what was expected).
pub type CompileError = (String, String, String);

/// Shortest first label whose entropy counts (short labels cannot score high).
const ENTROPY_MIN_LABEL: usize = 12;
/// The entropy of `name`'s first label, when that label is long enough
/// to count: what `remote_name_entropy_gte` compares, and what the
/// endpoint table's bound takes the best of (see `reach`).
pub(super) fn scored_entropy(name: &str) -> Option<f64> {
    name.split('.').next().is_some_and(|l| l.len() >= ENTROPY_MIN_LABEL).then(|| label_entropy(name))
}

/// Slack between passive DNS starting and a socket's first sighting before
/// "nobody resolved it" is believed.
const RESOLVE_SLACK_MS: i64 = 2_000;

/// What a condition's outcome depends on: the socket, only the remote
/// address (checked once per address and namespace per rule and refresh),
/// or only the process (checked once per pid).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Level {
    Socket,
    Endpoint,
    Process,
}

/// Which items a rule's walk hands its conditions, as far as
/// [`Condition::never`] needs to know.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Walked {
    /// Any item: sockets of any direction, beacons, stand-ins.
    AnyItem,
    /// Outbound sockets only, without stand-ins: each one's remote port
    /// is a port its endpoint was reached on.
    OutboundSockets,
}

/// One match key with its value compiled.
#[derive(Debug, Clone)]
pub enum Condition {
    // Names of the remote endpoint.
    RemoteNameTagsContains(String),
    RemoteResolved(bool),
    RemoteNameEntropyGte(f64),
    RemoteNameLabelGte(u64),
    // State, protocol and family.
    State(SocketState),
    StateIn(Vec<SocketState>),
    Protocol(Protocol),
    RemoteIpVersion(u8),
    Direction(Direction),
    // Ports.
    LocalPortGte(u16),
    LocalPortLte(u16),
    RemotePortGte(u16),
    RemotePortLte(u16),
    RemotePortIn(Vec<u16>),
    LocalPortIn(Vec<u16>),
    ExcludeWellKnownPorts,
    ExcludeCommonUdpPorts,
    ExcludeCommonPrivilegedPorts,
    ExcludePorts(Vec<u16>),
    // Addresses.
    /// Each entry tagged with its own text.
    RemoteIpIn(IocSet),
    ExcludePrivateIps,
    ZoneIn(Vec<Zone>),
    LocalZoneIn(Vec<Zone>),
    // Time and volume.
    DurationGteSec(u64),
    DurationLteSec(u64),
    BytesSentGte(u64),
    BytesReceivedGte(u64),
    // Geography and reputation.
    RemoteCountryIn(Vec<String>),
    RemoteCountryNotIn(Vec<String>),
    RemoteTagsContains(String),
    RemoteTagsContainsAny(Vec<String>),
    // Baseline, local services, beacon.
    RemoteNotInBaseline(bool),
    ListenerNotInBaseline(bool),
    RemoteLocalServiceExcept(Vec<String>),
    BeaconScoreGte(f64),
    // Process.
    ProcessNameIn(Vec<String>),
    ProcessNameNotIn(Vec<String>),
    ExePathPrefixIn(Vec<String>),
    ExeRegexAny(RegexList),
    CwdPrefixIn(Vec<String>),
    ExeDeleted(bool),
    ExeMemfd(bool),
    CmdlineRegexAny(RegexList),
    ParentCmdlineRegexAny(RegexList),
    SensitiveFileOpen(bool),
    ProcessNotInBaseline(bool),
    ParentNameIn(Vec<String>),
    AncestorNameIn(Vec<String>),
    StdioIsSocket(bool),
    UidIn(Vec<u32>),
    HasTty(bool),
    ShellIo(ShellIo),
    DnsNamesUnderParentGte(u64),
    // NOT and OR. `per_process`: every condition inside is about the
    // process only; `per_endpoint`: about the remote address only.
    Not {
        inner: Box<Conditions>,
        per_process: bool,
        per_endpoint: bool,
    },
    AnyOf {
        alternatives: Vec<Conditions>,
        per_process: bool,
        per_endpoint: bool,
    },
}

/// Compile a list of regular expressions given under `key`. Command-line
/// patterns ignore case (`EXEC:` is `exec:` to socat); paths do not.
fn regexes(key: &str, patterns: &[String], ignore_case: bool) -> Result<RegexList, CompileError> {
    RegexList::compile(patterns, ignore_case).map_err(|(i, e)| {
        let p = patterns.get(i).map_or("", String::as_str);
        (key.to_string(), p.chars().take(20).collect::<String>(), format!("a valid regular expression: {e}"))
    })
}

/// Refusals about how keys combine.
fn validate(m: &Match, top: bool) -> Result<(), CompileError> {
    if !top && m.has_aggregates() {
        return Err((
            "any_of".into(),
            "any_of".into(),
            "no aggregate keys (connection_count_gte, rate_per_minute_gte, distinct_*) inside any_of or not".into(),
        ));
    }
    if m.window_sec.is_some()
        && m.distinct_remote_ports_gte.is_none()
        && m.distinct_remote_hosts_gte.is_none()
        && m.rate_per_minute_gte.is_none()
        && m.failed_attempts_gte.is_none()
    {
        return Err((
            "window_sec".into(),
            "window_sec".into(),
            "window_sec goes with distinct_remote_ports_gte, distinct_remote_hosts_gte, rate_per_minute_gte or failed_attempts_gte".into(),
        ));
    }
    Ok(())
}

/// The conditions of one match (`top`: a rule's own, where aggregates are
/// allowed), in the order a trace lists them. Aggregate keys are checked
/// per group by the engine and are not conditions.
#[allow(clippy::too_many_lines)]
pub fn compile(m: &Match, top: bool) -> Result<Vec<Condition>, CompileError> {
    use Condition as C;
    validate(m, top)?;
    let mut out = Vec::new();
    let mut add = |c: Option<Condition>| out.extend(c);
    let flag = |v: Option<bool>, c: Condition| (v == Some(true)).then_some(c);
    add(m.remote_name_tags_contains.clone().map(C::RemoteNameTagsContains));
    add(m.remote_resolved.map(C::RemoteResolved));
    add(m.remote_name_entropy_gte.map(C::RemoteNameEntropyGte));
    add(m.remote_name_label_gte.map(C::RemoteNameLabelGte));
    add(m.state.map(C::State));
    add(m.state_in.clone().map(C::StateIn));
    add(m.protocol.map(C::Protocol));
    if let Some(v) = m.remote_ip_version {
        if v != 4 && v != 6 {
            return Err(("remote_ip_version".into(), "remote_ip_version".into(), format!("{v}: expected 4 or 6")));
        }
        add(Some(C::RemoteIpVersion(v)));
    }
    add(m.direction.map(|d| {
        C::Direction(match d {
            MatchDirection::Outbound => Direction::Outbound,
            MatchDirection::Inbound => Direction::Inbound,
            MatchDirection::Listen => Direction::Listen,
        })
    }));
    add(m.local_port_gte.map(C::LocalPortGte));
    add(m.local_port_lte.map(C::LocalPortLte));
    add(m.remote_port_gte.map(C::RemotePortGte));
    add(m.remote_port_lte.map(C::RemotePortLte));
    add(m.remote_port_in.clone().map(C::RemotePortIn));
    add(m.local_port_in.clone().map(C::LocalPortIn));
    add(flag(m.exclude_well_known_ports, C::ExcludeWellKnownPorts));
    add(flag(m.exclude_common_udp_ports, C::ExcludeCommonUdpPorts));
    add(flag(m.exclude_common_privileged_ports, C::ExcludeCommonPrivilegedPorts));
    add(m.exclude_ports.clone().map(C::ExcludePorts));
    if let Some(nets) = &m.remote_ip_in {
        let mut set = IocSet::new();
        for net in nets {
            let (ip, len) = super::ioc::parse_cidr(net)
                .ok_or_else(|| ("remote_ip_in".to_string(), net.clone(), format!("`{net}`: expected an address or CIDR such as 203.0.113.0/24")))?;
            set.insert(ip, len, net);
        }
        add(Some(C::RemoteIpIn(set)));
    }
    add(flag(m.exclude_private_ips, C::ExcludePrivateIps));
    add(m.zone_in.clone().map(C::ZoneIn));
    add(m.local_zone_in.clone().map(C::LocalZoneIn));
    add(m.duration_gte_sec.map(C::DurationGteSec));
    add(m.duration_lte_sec.map(C::DurationLteSec));
    add(m.bytes_sent_gte.map(C::BytesSentGte));
    add(m.bytes_received_gte.map(C::BytesReceivedGte));
    add(m.remote_country_in.clone().map(C::RemoteCountryIn));
    add(m.remote_country_not_in.clone().map(C::RemoteCountryNotIn));
    add(m.remote_tags_contains.clone().map(C::RemoteTagsContains));
    add(m.remote_tags_contains_any.clone().map(C::RemoteTagsContainsAny));
    add(m.remote_not_in_baseline.map(C::RemoteNotInBaseline));
    add(m.listener_not_in_baseline.map(C::ListenerNotInBaseline));
    add(m.remote_local_service_except.clone().map(C::RemoteLocalServiceExcept));
    add(m.beacon_score_gte.map(C::BeaconScoreGte));
    add(m.process_name_in.clone().map(C::ProcessNameIn));
    add(m.process_name_not_in.clone().map(C::ProcessNameNotIn));
    add(m.exe_path_prefix_in.clone().map(C::ExePathPrefixIn));
    if let Some(p) = &m.exe_regex_any {
        add(Some(C::ExeRegexAny(regexes("exe_regex_any", p, false)?)));
    }
    add(m.cwd_prefix_in.clone().map(C::CwdPrefixIn));
    add(m.exe_deleted.map(C::ExeDeleted));
    add(m.exe_memfd.map(C::ExeMemfd));
    if let Some(p) = &m.cmdline_regex_any {
        add(Some(C::CmdlineRegexAny(regexes("cmdline_regex_any", p, true)?)));
    }
    if let Some(p) = &m.parent_cmdline_regex_any {
        add(Some(C::ParentCmdlineRegexAny(regexes("parent_cmdline_regex_any", p, true)?)));
    }
    add(m.sensitive_file_open.map(C::SensitiveFileOpen));
    add(m.process_not_in_baseline.map(C::ProcessNotInBaseline));
    add(m.parent_name_in.clone().map(C::ParentNameIn));
    add(m.ancestor_name_in.clone().map(C::AncestorNameIn));
    add(m.stdio_is_socket.map(C::StdioIsSocket));
    add(m.uid_in.clone().map(C::UidIn));
    add(m.has_tty.map(C::HasTty));
    add(m.shell_io.map(C::ShellIo));
    add(m.dns_names_under_parent_gte.map(C::DnsNamesUnderParentGte));
    match &m.not {
        Some(n) if n.is_empty() => return Err(("not".into(), "not".into(), "a condition to exclude (an empty not excludes everything)".into())),
        Some(n) => {
            let inner = Conditions::of(compile(n, false)?);
            let per_endpoint = inner.all_at(Level::Endpoint);
            add(Some(C::Not { inner: Box::new(inner), per_process: n.is_process_only_deep(), per_endpoint }));
        }
        None => {}
    }
    if let Some(subs) = &m.any_of {
        let mut alternatives = Vec::new();
        for sub in subs {
            if sub.is_empty() {
                return Err(("any_of".into(), "any_of".into(), "no empty alternative (it would match everything)".into()));
            }
            alternatives.push(Conditions::of(compile(sub, false)?));
        }
        let per_process = subs.iter().all(|sub| sub.is_process_only() && sub.any_of.is_none());
        let per_endpoint = alternatives.iter().all(|a| a.all_at(Level::Endpoint));
        add(Some(C::AnyOf { alternatives, per_process, per_endpoint }));
    }
    Ok(out)
}

/// `holds`; when tracing and it holds, its step too (built only then, so
/// the common "does not match" path allocates nothing).
#[inline]
fn pass(holds: bool, trace: Option<&mut Vec<TraceStep>>, step: impl FnOnce() -> (String, String)) -> bool {
    if holds && let Some(t) = trace {
        push_step(t, step);
    }
    holds
}

/// A step's text, built out of line: the formatting of some sixty keys
/// inlined into [`Condition::eval`] gave it a frame of hundreds of bytes,
/// set up for every check of every socket though only a trace uses it.
#[cold]
#[inline(never)]
fn push_step(trace: &mut Vec<TraceStep>, step: impl FnOnce() -> (String, String)) {
    let (condition, value) = step();
    trace.push(TraceStep { condition, value });
}

/// The remote's zone. The snapshot already classified a connection's
/// remote: reuse it.
fn remote_zone(item: &Item<'_>) -> Option<Zone> {
    match item.zone {
        Some(z) if item.direction != Direction::Listen => Some(z),
        _ => item.remote.map(|r| Zone::of(r.ip())),
    }
}

/// The remote's country, for public remotes.
fn country(item: &Item<'_>, ctx: &Context<'_>) -> Option<&'static str> {
    let ip = item.remote.map(|r| r.ip())?;
    (remote_zone(item) == Some(Zone::Public)).then(|| ctx.country(ip)).flatten()
}

fn remote_ip_text(item: &Item<'_>) -> String {
    item.remote.map_or_else(String::new, |r| r.ip().to_string())
}

/// The endpoint's names (none when nothing named it).
fn endpoint_names<'c>(item: &Item<'_>, ctx: &Context<'c>) -> (Option<&'c crate::model::RemoteEndpointNode>, &'c [String]) {
    let endpoint = item.endpoint().and_then(|k| ctx.snapshot.endpoints.get(&k));
    (endpoint, endpoint.map_or(&[], |e| e.names.as_slice()))
}

fn addr(item: &Item<'_>) -> String {
    item.remote.map_or_else(|| "?".to_string(), |r| r.ip().to_string())
}

impl Condition {
    /// Whether it holds for `item`; with `trace`, the step when it does.
    #[allow(clippy::too_many_lines, clippy::cognitive_complexity)]
    pub fn eval(&self, item: &Item<'_>, ctx: &Context<'_>, trace: Option<&mut Vec<TraceStep>>) -> bool {
        use Condition as C;
        let sock = item.socket;
        let local_port = || item.local_port;
        let remote_port = || item.remote.map(|r| r.port());
        let process = item.process.map(|p| &p.facts);
        // Cheap refusals before any name lookup (most sockets, most
        // refreshes): no name anywhere.
        let any_names = || !ctx.snapshot.names.names.is_empty();
        match self {
            C::RemoteNameTagsContains(tag) => {
                if !any_names() || !ctx.ioc.has_domains() {
                    return false;
                }
                let (_, names) = endpoint_names(item, ctx);
                let hit = names.iter().find(|n| ctx.ioc.domain_tags(n).contains(tag));
                pass(hit.is_some(), trace, || {
                    (
                        format!("remote_name_tags_contains: {tag}"),
                        format!("{} ({}) is on a domain list tagged {tag}", hit.map_or_else(String::new, |n| shown(n)), addr(item)),
                    )
                })
            }
            C::RemoteResolved(want) => {
                let s = ctx.snapshot;
                if (*want && !any_names()) || (!*want && s.names.passive_since_ms.is_none()) {
                    return false;
                }
                let (endpoint, names) = endpoint_names(item, ctx);
                let answered = endpoint.is_some_and(|e| e.name_source == Some(NameSource::DnsAnswer));
                // "Nobody resolved it" is believed only for a connection
                // first seen after passive DNS was already running.
                let since = s.names.passive_since_ms.unwrap_or(i64::MAX);
                let first_seen = sock.map_or(i64::MIN, |x| x.first_seen_ms);
                let believed = first_seen >= since.saturating_add(RESOLVE_SLACK_MS);
                let holds = if *want { answered } else { believed && !answered };
                pass(holds, trace, || {
                    let value = if *want {
                        format!("{} was named by a DNS answer: {}", addr(item), names.first().map_or_else(String::new, |n| shown(n)))
                    } else {
                        format!(
                            "no DNS answer on this host named {} (passive DNS on since {}, connection first seen {})",
                            addr(item),
                            crate::duration::utc(since),
                            crate::duration::utc(first_seen)
                        )
                    };
                    (format!("remote_resolved: {want}"), value)
                })
            }
            C::RemoteNameEntropyGte(min) => {
                if !any_names() {
                    return false;
                }
                let (_, names) = endpoint_names(item, ctx);
                let best = names.iter().filter_map(|n| scored_entropy(n).map(|e| (e, n))).max_by(|a, b| a.0.total_cmp(&b.0));
                pass(best.is_some_and(|(e, _)| e >= *min), trace, || {
                    (
                        format!("remote_name_entropy_gte: {min}"),
                        best.map_or_else(|| "no long first label".to_string(), |(e, n)| format!("{}: first label entropy {e:.2} bits per character", shown(n))),
                    )
                })
            }
            C::RemoteNameLabelGte(min) => {
                if !any_names() {
                    return false;
                }
                let (_, names) = endpoint_names(item, ctx);
                let best = names.iter().map(|n| (longest_label(n), n)).max_by_key(|x| x.0);
                pass(best.is_some_and(|(l, _)| l as u64 >= *min), trace, || {
                    (
                        format!("remote_name_label_gte: {min}"),
                        best.map_or_else(|| "no name".to_string(), |(l, n)| format!("{}: a label of {l} characters", shown(n))),
                    )
                })
            }
            C::State(st) => pass(item.state == Some(*st), trace, || (format!("state: {st}"), format!("state {st}"))),
            C::StateIn(states) => {
                let actual = item.state;
                pass(actual.is_some_and(|a| states.contains(&a)), trace, || {
                    (format!("state_in: [{}]", list(states)), format!("state {}", actual.map_or("?", |a| a.name())))
                })
            }
            C::Protocol(p) => pass(item.protocol == *p, trace, || (format!("protocol: {p}"), format!("protocol {}", item.protocol))),
            C::RemoteIpVersion(v) => {
                let actual = item.remote.map(|r| if r.is_ipv4() { 4 } else { 6 });
                pass(actual == Some(*v), trace, || (format!("remote_ip_version: {v}"), format!("remote {} is IPv{v}", remote_ip_text(item))))
            }
            C::Direction(want) => pass(item.direction == *want, trace, || (format!("direction: {want}"), format!("direction {}", item.direction))),
            C::LocalPortGte(v) => {
                let p = local_port();
                pass(p.is_some_and(|p| p >= *v), trace, || (format!("local_port_gte: {v}"), format!("local_port {} ≥ {v}", p.unwrap_or(0))))
            }
            C::LocalPortLte(v) => {
                let p = local_port();
                pass(p.is_some_and(|p| p <= *v), trace, || (format!("local_port_lte: {v}"), format!("local_port {} ≤ {v}", p.unwrap_or(0))))
            }
            C::RemotePortGte(v) => {
                let p = remote_port();
                pass(p.is_some_and(|p| p >= *v), trace, || (format!("remote_port_gte: {v}"), format!("remote_port {} ≥ {v}", p.unwrap_or(0))))
            }
            C::RemotePortLte(v) => {
                let p = remote_port();
                pass(p.is_some_and(|p| p <= *v), trace, || (format!("remote_port_lte: {v}"), format!("remote_port {} ≤ {v}", p.unwrap_or(0))))
            }
            C::RemotePortIn(v) => {
                let p = remote_port();
                pass(p.is_some_and(|p| v.contains(&p)), trace, || (format!("remote_port_in: [{}]", list(v)), format!("remote_port {}", p.unwrap_or(0))))
            }
            C::LocalPortIn(v) => {
                let p = local_port();
                pass(p.is_some_and(|p| v.contains(&p)), trace, || (format!("local_port_in: [{}]", list(v)), format!("local_port {}", p.unwrap_or(0))))
            }
            C::ExcludeWellKnownPorts => {
                let svc = service_port(item);
                pass(svc.is_some_and(|p| p >= 1024 && !COMMON_SERVICE_PORTS.contains(&p)), trace, || {
                    ("exclude_well_known_ports: true".into(), format!("port {} is not a well-known service port", svc.unwrap_or(0)))
                })
            }
            C::ExcludeCommonUdpPorts => {
                let svc = service_port(item);
                pass(svc.is_some_and(|p| !COMMON_UDP_PORTS.contains(&p)), trace, || {
                    ("exclude_common_udp_ports: true".into(), format!("port {} is not a common UDP service", svc.unwrap_or(0)))
                })
            }
            C::ExcludeCommonPrivilegedPorts => {
                let svc = service_port(item);
                pass(svc.is_some_and(|p| !COMMON_PRIVILEGED_PORTS.contains(&p)), trace, || {
                    ("exclude_common_privileged_ports: true".into(), format!("port {} is not a common privileged service", svc.unwrap_or(0)))
                })
            }
            C::ExcludePorts(v) => {
                let svc = service_port(item);
                pass(svc.is_some_and(|p| !v.contains(&p)), trace, || {
                    (format!("exclude_ports: [{}]", list(v)), format!("port {} not excluded", svc.unwrap_or(0)))
                })
            }
            C::RemoteIpIn(networks) => {
                let hit = item.remote.and_then(|r| networks.tags(r.ip()).into_iter().next());
                pass(hit.is_some(), trace, || ("remote_ip_in".into(), format!("remote {} in {}", remote_ip_text(item), hit.unwrap_or_default())))
            }
            C::ExcludePrivateIps => pass(remote_zone(item) == Some(Zone::Public), trace, || {
                ("exclude_private_ips: true".into(), format!("remote {} is public", remote_ip_text(item)))
            }),
            C::ZoneIn(zones) => {
                // A listener's zone is the one it is reachable from.
                let z = if item.direction == Direction::Listen { item.zone } else { remote_zone(item) };
                pass(z.is_some_and(|z| zones.contains(&z)), trace, || (format!("zone_in: [{}]", list(zones)), format!("zone {}", z.map_or("?", Zone::name))))
            }
            C::LocalZoneIn(zones) => {
                let z = sock.map(|s| listener_zone(s.raw.local.ip()));
                pass(z.is_some_and(|z| zones.contains(&z)), trace, || {
                    (
                        format!("local_zone_in: [{}]", list(zones)),
                        format!("bound to {} ({})", sock.map_or_else(String::new, |s| s.raw.local.ip().to_string()), z.map_or("?", Zone::name)),
                    )
                })
            }
            C::DurationGteSec(v) => {
                let age = item.age;
                pass(age.is_some_and(|a| a.open_at_least(*v)), trace, || (format!("duration_gte_sec: {v}"), crate::model::SocketAge::trace(age)))
            }
            C::DurationLteSec(v) => {
                let age = item.age;
                pass(age.is_some_and(|a| a.open_at_most(*v)), trace, || (format!("duration_lte_sec: {v}"), crate::model::SocketAge::trace(age)))
            }
            C::BytesSentGte(v) => {
                let sent = sock.and_then(|s| s.raw.tcp).map(|t| t.bytes_acked);
                pass(sent.is_some_and(|b| b >= *v), trace, || (format!("bytes_sent_gte: {v}"), format!("{} bytes sent", sent.unwrap_or(0))))
            }
            C::BytesReceivedGte(v) => {
                let received = sock.and_then(|s| s.raw.tcp).map(|t| t.bytes_received);
                pass(received.is_some_and(|b| b >= *v), trace, || (format!("bytes_received_gte: {v}"), format!("{} bytes received", received.unwrap_or(0))))
            }
            C::RemoteCountryIn(v) => {
                let c = country(item, ctx);
                pass(c.is_some_and(|c| v.iter().any(|x| x.eq_ignore_ascii_case(c))), trace, || {
                    (format!("remote_country_in: [{}]", list(v)), format!("country {}", c.unwrap_or("?")))
                })
            }
            C::RemoteCountryNotIn(v) => {
                let c = country(item, ctx);
                pass(c.is_some_and(|c| !v.iter().any(|x| x.eq_ignore_ascii_case(c))), trace, || {
                    (format!("remote_country_not_in: [{}]", list(v)), format!("country {}", c.unwrap_or("?")))
                })
            }
            C::RemoteTagsContains(tag) => {
                let tagged = ctx.tag_possible(tag) && item.remote.is_some_and(|r| ctx.tags(r.ip()).contains(tag));
                pass(tagged, trace, || (format!("remote_tags_contains: {tag}"), format!("remote {} tagged {tag}", remote_ip_text(item))))
            }
            C::RemoteTagsContainsAny(wanted) => {
                let tags = item.remote.filter(|_| wanted.iter().any(|w| ctx.tag_possible(w))).map(|r| ctx.tags(r.ip()));
                let hit = tags.as_ref().and_then(|t| wanted.iter().find(|w| t.contains(*w)));
                pass(hit.is_some(), trace, || {
                    (
                        format!("remote_tags_contains_any: [{}]", list(wanted)),
                        format!("remote {} tagged {}", remote_ip_text(item), hit.map_or("", String::as_str)),
                    )
                })
            }
            C::RemoteNotInBaseline(v) => {
                let remote = item.remote.map(|r| crate::model::normalize_ip(r.ip())).filter(|ip| !ip.is_loopback());
                let (holds, value) = match (ctx.baseline, remote) {
                    (None, _) => (false, "no baseline loaded".to_string()),
                    (_, None) => (false, "no remote (or loopback)".to_string()),
                    (Some(b), Some(ip)) => {
                        let known = b.remote_endpoints.contains(&ip.to_string());
                        (known != *v, format!("remote {ip} {} baseline `{}`", if known { "is in" } else { "is not in" }, escape_control(&b.name)))
                    }
                };
                pass(holds, trace, || (format!("remote_not_in_baseline: {v}"), value))
            }
            C::ListenerNotInBaseline(v) => {
                let key =
                    sock.filter(|s| s.direction == Direction::Listen).map(|s| crate::baseline::listener_key(s, item.process.map(|p| p.facts.name.as_str())));
                let (holds, value) = match (ctx.baseline, &key) {
                    (None, _) => (false, "no baseline loaded".to_string()),
                    (_, None) => (false, "not a listener".to_string()),
                    (Some(b), Some(k)) => {
                        let known = b.listeners.contains(k);
                        (
                            known != *v,
                            format!("listener {} {} baseline `{}`", escape_control(k), if known { "is in" } else { "is not in" }, escape_control(&b.name)),
                        )
                    }
                };
                pass(holds, trace, || (format!("listener_not_in_baseline: {v}"), value))
            }
            C::RemoteLocalServiceExcept(except) => {
                let service = item.remote.and_then(|r| ctx.local_listener(item.protocol, r));
                let owner = service.and_then(|l| {
                    l.pid.map(|p| {
                        (p, ctx.snapshot.process(crate::model::Pid(p)).map_or_else(|| l.process_name.clone().unwrap_or_default(), |n| n.facts.name.clone()))
                    })
                });
                let hit = owner.as_ref().filter(|(_, name)| !except.iter().any(|e| name_matches(name, e)));
                pass(hit.is_some(), trace, || {
                    (
                        format!("remote_local_service_except: [{}]", list(except)),
                        match (item.remote, &owner) {
                            (Some(r), Some((pid, name))) => format!("remote {r} is a listener of {} ({pid}) on this host", escape_control(name)),
                            (Some(r), None) => format!("remote {r} is no listener of this host with a visible owner"),
                            (None, _) => "no remote".into(),
                        },
                    )
                })
            }
            C::BeaconScoreGte(min) => {
                let b = item.beacon.map(|b| b.stats);
                pass(b.is_some_and(|s| s.score >= *min), trace, || {
                    (
                        format!("beacon_score_gte: {min}"),
                        b.map_or_else(String::new, |s| {
                            format!(
                                "score {:.2} over {} starts by {}, median interval {:.0} s, MAD {:.1} s",
                                s.score,
                                s.starts,
                                who(item),
                                s.median_interval_s,
                                s.mad_s
                            )
                        }),
                    )
                })
            }
            C::ProcessNameIn(v) => {
                let Some(f) = process else { return false };
                let exe_base = f.exe.as_deref().and_then(|e| e.rsplit('/').next()).unwrap_or("");
                let hit = names_match(&[f.name.as_str(), exe_base], v);
                pass(hit.is_some(), trace, || {
                    (format!("process_name_in: [{}]", list(v)), format!("process {} ({})", escape_control(hit.unwrap_or_default()), f.pid))
                })
            }
            C::ProcessNameNotIn(v) => {
                let Some(f) = process else { return false };
                let exe_base = f.exe.as_deref().and_then(|e| e.rsplit('/').next()).unwrap_or("");
                let holds = names_match(&[f.name.as_str(), exe_base], v).is_none();
                pass(holds, trace, || (format!("process_name_not_in: [{}]", list(v)), format!("process {}", escape_control(&f.name))))
            }
            C::ExePathPrefixIn(v) => {
                let Some(f) = process else { return false };
                let exe = f.exe.as_deref().unwrap_or("");
                pass(v.iter().any(|pre| exe.starts_with(pre.as_str())), trace, || {
                    (format!("exe_path_prefix_in: [{}]", list(v)), format!("exe {}", escape_control(exe)))
                })
            }
            C::ExeRegexAny(res) => {
                let Some(f) = process else { return false };
                let exe = f.exe.as_deref().unwrap_or("");
                let hit = f.exe.as_deref().and_then(|e| res.first_match(e));
                pass(hit.is_some(), trace, || ("exe_regex_any".into(), format!("exe {}", regex_value(exe, hit))))
            }
            C::CwdPrefixIn(v) => {
                let Some(f) = process else { return false };
                let cwd = f.cwd.as_deref().filter(|cwd| v.iter().any(|pre| cwd.starts_with(pre.as_str())));
                pass(cwd.is_some(), trace, || (format!("cwd_prefix_in: [{}]", list(v)), format!("cwd {}", escape_control(f.cwd.as_deref().unwrap_or("?")))))
            }
            C::ExeDeleted(v) => {
                let Some(f) = process else { return false };
                pass(f.exe_deleted == *v, trace, || {
                    (
                        format!("exe_deleted: {v}"),
                        format!("exe {} {}", escape_control(f.exe.as_deref().unwrap_or("?")), if f.exe_deleted { "(deleted)" } else { "present" }),
                    )
                })
            }
            C::ExeMemfd(v) => {
                let Some(f) = process else { return false };
                pass(f.exe_memfd == *v, trace, || (format!("exe_memfd: {v}"), format!("exe {}", escape_control(f.exe.as_deref().unwrap_or("?")))))
            }
            C::CmdlineRegexAny(res) => {
                let Some(f) = process else { return false };
                let hit = res.first_match(&f.cmdline);
                pass(hit.is_some(), trace, || ("cmdline_regex_any".into(), format!("cmdline {}", regex_value(&f.cmdline, hit))))
            }
            C::ParentCmdlineRegexAny(res) => {
                let Some(f) = process else { return false };
                let hit = res.first_match(&f.parent_cmdline);
                pass(hit.is_some(), trace, || {
                    ("parent_cmdline_regex_any".into(), format!("parent ({}) cmdline {}", f.ppid, regex_value(&f.parent_cmdline, hit)))
                })
            }
            C::SensitiveFileOpen(v) => {
                let Some(f) = process else { return false };
                pass(f.sensitive_files.is_empty() != *v, trace, || {
                    (
                        format!("sensitive_file_open: {v}"),
                        if f.sensitive_files.is_empty() {
                            "no sensitive file open".into()
                        } else {
                            format!("holds {}", f.sensitive_files.iter().map(|p| bounded(&escape_control(p), 120)).collect::<Vec<_>>().join(", "))
                        },
                    )
                })
            }
            C::ProcessNotInBaseline(v) => {
                let Some(f) = process else { return false };
                let key = crate::baseline::process_key(f.exe.as_deref(), &f.name, f.uid);
                let (holds, value) = match ctx.baseline {
                    None => (false, "no baseline loaded".to_string()),
                    Some(b) => {
                        let known = b.processes.contains(&key);
                        (
                            known != *v,
                            format!("process {} {} baseline `{}`", escape_control(&key), if known { "is in" } else { "is not in" }, escape_control(&b.name)),
                        )
                    }
                };
                pass(holds, trace, || (format!("process_not_in_baseline: {v}"), value))
            }
            C::ParentNameIn(v) => {
                let Some(f) = process else { return false };
                let parent = f.ancestors.first().map(String::as_str);
                pass(parent.is_some_and(|n| v.iter().any(|p| name_matches(n, p))), trace, || {
                    (format!("parent_name_in: [{}]", list(v)), format!("parent {}", escape_control(parent.unwrap_or("?"))))
                })
            }
            C::AncestorNameIn(v) => {
                let Some(f) = process else { return false };
                let hit = f.ancestors.iter().take(3).find(|n| v.iter().any(|p| name_matches(n, p)));
                pass(hit.is_some(), trace, || {
                    (
                        format!("ancestor_name_in: [{}]", list(v)),
                        format!("ancestor {} (chain {})", escape_control(hit.map_or("?", String::as_str)), escape_control(&f.ancestors.join(" ← "))),
                    )
                })
            }
            C::StdioIsSocket(v) => {
                let Some(f) = process else { return false };
                pass(f.stdio_sockets.is_empty() != *v, trace, || {
                    let fds: Vec<String> = f.stdio_sockets.iter().map(|fd| format!("fd {fd} → socket")).collect();
                    (format!("stdio_is_socket: {v}"), if fds.is_empty() { "no stdio socket".into() } else { fds.join(", ") })
                })
            }
            C::UidIn(v) => {
                let Some(f) = process else { return false };
                pass(v.contains(&f.uid), trace, || (format!("uid_in: [{}]", list(v)), format!("uid {}", f.uid)))
            }
            C::HasTty(v) => {
                let Some(f) = process else { return false };
                pass(f.has_tty == *v, trace, || (format!("has_tty: {v}"), format!("tty {}", if f.has_tty { "yes" } else { "none" })))
            }
            C::ShellIo(want) => {
                let Some(f) = process else { return false };
                let fits = |l: &&crate::model::ShellLink| match want {
                    ShellIo::Both => l.is_both(),
                    ShellIo::Input => !l.input.is_empty(),
                    ShellIo::Output => !l.output.is_empty(),
                    ShellIo::Any => true,
                };
                let hit = f.shell_links.iter().find(fits);
                pass(hit.is_some(), trace, || {
                    (
                        format!("shell_io: {}", shell_io_name(*want)),
                        hit.map_or_else(
                            || "no shell's input or output leads here".into(),
                            |l| bounded(&format!("{} ({}) `{}`: {}", escape_control(&l.name), l.pid, escape_control(&l.cmdline), l.describe()), 900),
                        ),
                    )
                })
            }
            C::DnsNamesUnderParentGte(min) => {
                let activity = item.pid.and_then(|p| ctx.snapshot.dns_activity.get(&p));
                pass(activity.is_some_and(|a| u64::from(a.top_parent_names) >= *min), trace, || {
                    (
                        format!("dns_names_under_parent_gte: {min}"),
                        activity.map_or_else(
                            || "no DNS queries attributed to the process".to_string(),
                            |a| {
                                format!(
                                    "{} distinct names under {} in 5 min (e.g. {}; {} queries)",
                                    a.top_parent_names,
                                    a.top_parent.as_deref().map_or_else(String::new, shown),
                                    a.example.as_deref().map_or_else(String::new, shown),
                                    a.queries
                                )
                            },
                        ),
                    )
                })
            }
            C::Not { inner, .. } => pass(!inner.holds(item, ctx), trace, || ("not".into(), "no exception applies".into())),
            C::AnyOf { alternatives, .. } => {
                let Some(i) = alternatives.iter().position(|a| a.holds(item, ctx)) else { return false };
                if let Some(t) = trace {
                    t.push(TraceStep { condition: format!("any_of[{i}]"), value: "this alternative matched:".into() });
                    alternatives[i].trace(item, ctx, t);
                }
                true
            }
        }
    }

    /// Whether it cannot hold for any item of this refresh that `walked`
    /// allows: the same refusals `eval` starts with, and what the endpoint
    /// table bounds (see [`Context::reach`]), asked once per rule instead
    /// of once per socket.
    pub fn never(&self, ctx: &Context<'_>, walked: Walked) -> bool {
        use Condition as C;
        let s = ctx.snapshot;
        let no_names = s.names.names.is_empty();
        match self {
            C::RemoteNameTagsContains(_) => no_names || !ctx.ioc.has_domains(),
            C::RemoteResolved(want) => (*want && no_names) || (!*want && s.names.passive_since_ms.is_none()),
            // A name is an endpoint's (see `endpoint_names`): none scores
            // more than the table's best.
            C::RemoteNameEntropyGte(min) => no_names || ctx.reach().entropy < *min,
            C::RemoteNameLabelGte(min) => no_names || (ctx.reach().longest_label as u64) < *min,
            C::RemoteTagsContains(tag) => !ctx.tag_possible(tag),
            C::RemoteTagsContainsAny(wanted) => !wanted.iter().any(|w| ctx.tag_possible(w)),
            C::RemotePortIn(ports) => walked == Walked::OutboundSockets && !ports.iter().any(|&p| ctx.reach().ports.contains(p)),
            C::AnyOf { alternatives, .. } => alternatives.iter().all(|a| a.never(ctx, walked)),
            _ => false,
        }
    }

    /// Whether the outcome depends on the process only.
    pub fn level(&self) -> Level {
        use Condition as C;
        match self {
            C::ProcessNameIn(_)
            | C::ProcessNameNotIn(_)
            | C::ExePathPrefixIn(_)
            | C::ExeRegexAny(_)
            | C::CwdPrefixIn(_)
            | C::ExeDeleted(_)
            | C::ExeMemfd(_)
            | C::CmdlineRegexAny(_)
            | C::ParentCmdlineRegexAny(_)
            | C::SensitiveFileOpen(_)
            | C::ProcessNotInBaseline(_)
            | C::ParentNameIn(_)
            | C::AncestorNameIn(_)
            | C::StdioIsSocket(_)
            | C::UidIn(_)
            | C::HasTty(_)
            | C::ShellIo(_)
            | C::DnsNamesUnderParentGte(_)
            | C::Not { per_process: true, .. }
            | C::AnyOf { per_process: true, .. } => Level::Process,
            // The remote address (and, for names on loopback, its
            // namespace) decides these, whatever the socket.
            C::RemoteNameTagsContains(_)
            | C::RemoteNameEntropyGte(_)
            | C::RemoteNameLabelGte(_)
            | C::RemoteIpIn(_)
            | C::RemoteCountryIn(_)
            | C::RemoteCountryNotIn(_)
            | C::RemoteTagsContains(_)
            | C::RemoteTagsContainsAny(_)
            | C::Not { per_endpoint: true, .. }
            | C::AnyOf { per_endpoint: true, .. } => Level::Endpoint,
            _ => Level::Socket,
        }
    }

    /// Rough cost of one check, for the evaluation order (cheapest first,
    /// so most items are refused by a field compare): 0 compares a field,
    /// 1 scans a short list, 2 looks something up, 3 formats a key or runs
    /// regexes or nested conditions.
    pub fn cost(&self) -> u8 {
        use Condition as C;
        match self {
            C::State(_)
            | C::Protocol(_)
            | C::RemoteIpVersion(_)
            | C::Direction(_)
            | C::LocalPortGte(_)
            | C::LocalPortLte(_)
            | C::RemotePortGte(_)
            | C::RemotePortLte(_)
            | C::ExcludePrivateIps
            | C::DurationGteSec(_)
            | C::DurationLteSec(_)
            | C::BeaconScoreGte(_)
            | C::ExeDeleted(_)
            | C::ExeMemfd(_)
            | C::SensitiveFileOpen(_)
            | C::StdioIsSocket(_)
            | C::HasTty(_) => 0,
            C::StateIn(_)
            | C::RemotePortIn(_)
            | C::LocalPortIn(_)
            | C::ExcludeWellKnownPorts
            | C::ExcludeCommonUdpPorts
            | C::ExcludeCommonPrivilegedPorts
            | C::ExcludePorts(_)
            | C::ZoneIn(_)
            | C::UidIn(_)
            | C::ProcessNameIn(_)
            | C::ProcessNameNotIn(_)
            | C::ExePathPrefixIn(_)
            | C::CwdPrefixIn(_)
            | C::ParentNameIn(_)
            | C::AncestorNameIn(_)
            | C::ShellIo(_) => 1,
            // These read the socket's own row, not the item: a cache miss
            // per socket in a pass over a big host, dearer than a
            // remembered outcome for the remote.
            C::BytesSentGte(_)
            | C::BytesReceivedGte(_)
            | C::LocalZoneIn(_)
            | C::RemoteNameTagsContains(_)
            | C::RemoteResolved(_)
            | C::RemoteNameEntropyGte(_)
            | C::RemoteNameLabelGte(_)
            | C::RemoteIpIn(_)
            | C::RemoteCountryIn(_)
            | C::RemoteCountryNotIn(_)
            | C::RemoteTagsContains(_)
            | C::RemoteTagsContainsAny(_)
            | C::RemoteLocalServiceExcept(_)
            | C::DnsNamesUnderParentGte(_) => 2,
            C::RemoteNotInBaseline(_)
            | C::ListenerNotInBaseline(_)
            | C::ProcessNotInBaseline(_)
            | C::ExeRegexAny(_)
            | C::CmdlineRegexAny(_)
            | C::ParentCmdlineRegexAny(_)
            | C::Not { .. }
            | C::AnyOf { .. } => 3,
        }
    }
}
