//! The filter language: the explorer's `/` and the `filter` argument of
//! MCP's list tools (one grammar, the same errors):
//!
//! ```text
//! proc:nginx state:established port:443 zone:public sev>=medium tag:beacon pid:123
//! proto:udp dir:in lport:22 rport:4444 !state:listen  203.0.113
//! ns:host ns:4026532301 ns:web container:nginx container:3f2a9c
//! host:github port:https rport:ssh
//! ```
//!
//! `host:` matches part of the remote's name or address; a port key takes a
//! number or a service name (`https`, from `/etc/services`).
//!
//! Addresses (see [`address`]): `ip:` (alias `addr:`) takes an address, a
//! network or an endpoint, matched against the local **or** remote
//! address; the same may be written bare:
//!
//! ```text
//! ip:203.0.113.0/24 ip:2001:db8::/32 addr:10.0.0.5 10.0.0.5 2001:db8::1
//! 198.51.100.0/24 [2001:db8::1] [2001:db8::1]:443 10.0.0.5:443 2001:db8
//! ```
//!
//! Severity: `sev:` is equality, `sev>=` a floor; both take `info`, `low`,
//! `med`/`medium`, `high`, `crit`/`critical` (the header's short forms).
//!
//! Terms are `ANDed`. `!` negates a term. A word without a key is free text,
//! matched (case-insensitively) against the process name, command line,
//! both addresses and the remote's name. Errors carry the offending term so the UI can show them
//! inline.

pub mod address;

pub use address::{AddressTerm, Network};

use crate::model::{Direction, Protocol, Severity, Snapshot, Socket, SocketState, Zone};

/// One condition.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Term {
    Process(String),
    Pid(u32),
    State(SocketState),
    Port(u16),
    LocalPort(u16),
    RemotePort(u16),
    /// A port given by service name (`port:https`): its TCP and UDP ports,
    /// which can differ.
    NamedPort {
        side: PortSide,
        name: String,
        tcp: Option<u16>,
        udp: Option<u16>,
    },
    /// Part of the remote's name (any of its names) or address, lower case.
    Host(String),
    /// An address, network or endpoint on either side of the socket
    /// (`ip:`, `addr:` or a bare address).
    Address(AddressTerm),
    Zone(Zone),
    Protocol(Protocol),
    Direction(Direction),
    SeverityAtLeast(Severity),
    SeverityIs(Severity),
    Tag(String),
    /// A network namespace: `host`, its inode (`4026532301`, `net:…`),
    /// or part of its name.
    Namespace(String),
    /// The owner's container or unit: part of its id, name, pod, unit or slice.
    Container(String),
    Text(String),
}

/// Which port a port term looks at.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PortSide {
    Either,
    Local,
    Remote,
}

/// A parsed filter: terms, each possibly negated.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Filter {
    pub terms: Vec<(bool, Term)>,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("`{term}`: {message}")]
pub struct FilterError {
    pub term: String,
    pub message: String,
}

const KEYS: &str = "proc, pid, state, port, lport, rport, host, ip, addr, zone, proto, dir, sev, tag, ns, container";

/// The severities `sev:` and `sev>=` accept, for errors.
const SEVERITIES: &str = "info, low, med (medium), high or crit (critical)";

fn err(term: &str, message: impl Into<String>) -> FilterError {
    FilterError { term: term.to_string(), message: message.into() }
}

fn number<T: std::str::FromStr>(term: &str, v: &str, what: &str) -> Result<T, FilterError> {
    v.parse().map_err(|_| err(term, format!("expected {what}")))
}

impl Filter {
    pub fn parse(text: &str) -> Result<Self, FilterError> {
        let mut terms = Vec::new();
        for raw in text.split_whitespace() {
            let (negated, word) = match raw.strip_prefix('!') {
                Some(rest) if !rest.is_empty() => (true, rest),
                _ => (false, raw),
            };
            terms.push((negated, parse_term(raw, word)?));
        }
        Ok(Self { terms })
    }

    pub fn is_empty(&self) -> bool {
        self.terms.is_empty()
    }

    /// Whether socket `i` of the snapshot passes, its severity and tags
    /// read from the snapshot's fact index (for callers that hold none).
    pub fn matches_socket(&self, snapshot: &Snapshot, i: usize) -> bool {
        let Some(socket) = snapshot.sockets.get(i) else { return false };
        if self.is_empty() {
            return true;
        }
        let tags: Vec<&str> = crate::model::view::socket_tags(snapshot, socket).collect();
        self.matches(snapshot, socket, snapshot.index.socket(i).map(|f| f.severity), &tags)
    }

    /// Whether a socket passes. `severity` is the socket's highest finding
    /// severity, `tags` its tags (both computed by the caller once).
    pub fn matches(&self, snapshot: &Snapshot, socket: &Socket, severity: Option<Severity>, tags: &[&str]) -> bool {
        self.terms.iter().all(|(negated, term)| term_matches(term, snapshot, socket, severity, tags) != *negated)
    }
}

/// A severity, the header's short forms (`crit`, `med`) included.
fn severity(raw: &str, value: &str) -> Result<Severity, FilterError> {
    match value.to_ascii_lowercase().as_str() {
        "crit" => Ok(Severity::Critical),
        "med" => Ok(Severity::Medium),
        v => v.parse().map_err(|_: String| err(raw, format!("severity `{value}`: expected {SEVERITIES}"))),
    }
}

fn parse_term(raw: &str, word: &str) -> Result<Term, FilterError> {
    if let Some(v) = word.strip_prefix("sev>=").or_else(|| word.strip_prefix("severity>=")) {
        return severity(raw, v).map(Term::SeverityAtLeast);
    }
    // Before key:value, since an IPv6 address holds colons.
    if let Some(parsed) = address::looks_like(word) {
        return parsed.map(Term::Address).map_err(|e| err(raw, e));
    }
    let Some((key, value)) = word.split_once(':') else {
        if word.contains(">=") || word.contains("<=") {
            return Err(err(raw, "only sev>= compares; other keys take key:value"));
        }
        return Ok(Term::Text(word.to_lowercase()));
    };
    if value.is_empty() {
        return Err(err(raw, "missing a value after `:`"));
    }
    Ok(match key.to_ascii_lowercase().as_str() {
        "proc" | "process" => Term::Process(value.to_lowercase()),
        "pid" => Term::Pid(number(raw, value, "a process id")?),
        "state" => Term::State(value.parse().map_err(|e: String| err(raw, e))?),
        "port" => port_term(raw, value, PortSide::Either, Term::Port)?,
        "lport" => port_term(raw, value, PortSide::Local, Term::LocalPort)?,
        "rport" => port_term(raw, value, PortSide::Remote, Term::RemotePort)?,
        "host" => Term::Host(value.to_lowercase()),
        "ip" | "addr" | "address" => Term::Address(address::parse(value).map_err(|e| err(raw, e))?),
        "zone" => Term::Zone(value.parse().map_err(|e: String| err(raw, e))?),
        "proto" | "protocol" => Term::Protocol(value.parse().map_err(|e: String| err(raw, e))?),
        "dir" | "direction" => Term::Direction(match value.to_ascii_lowercase().as_str() {
            "in" | "inbound" => Direction::Inbound,
            "out" | "outbound" => Direction::Outbound,
            "listen" | "listener" => Direction::Listen,
            _ => return Err(err(raw, "expected in, out or listen")),
        }),
        "sev" | "severity" => Term::SeverityIs(severity(raw, value)?),
        "tag" => Term::Tag(value.to_string()),
        "ns" | "netns" | "namespace" => Term::Namespace(value.to_lowercase()),
        "container" | "ct" | "unit" => Term::Container(value.to_lowercase()),
        other => return Err(err(raw, format!("unknown key `{other}`: use {KEYS}, or plain text"))),
    })
}

/// A port term from a number, or from a service name known to the system.
fn port_term(raw: &str, value: &str, side: PortSide, numeric: fn(u16) -> Term) -> Result<Term, FilterError> {
    if value.bytes().all(|b| b.is_ascii_digit()) {
        return number(raw, value, "a port 0-65535").map(numeric);
    }
    let services = crate::names::Services::system();
    let (tcp, udp) = (services.port(value, Protocol::Tcp), services.port(value, Protocol::Udp));
    if tcp.is_none() && udp.is_none() {
        return Err(err(raw, format!("expected a port 0-65535 or a service name; `{value}` is neither")));
    }
    Ok(Term::NamedPort { side, name: value.to_ascii_lowercase(), tcp, udp })
}

fn term_matches(term: &Term, snapshot: &Snapshot, s: &Socket, severity: Option<Severity>, tags: &[&str]) -> bool {
    let owner = || s.owner().and_then(|p| snapshot.process(p));
    match term {
        Term::Process(name) => owner().is_some_and(|p| p.facts.name.to_lowercase().contains(name.as_str())),
        Term::Pid(pid) => s.raw.owners.iter().any(|p| p.0 == *pid),
        Term::State(state) => s.state() == *state,
        Term::Port(port) => s.raw.local.port() == *port || s.raw.remote.port() == *port,
        Term::LocalPort(port) => s.raw.local.port() == *port,
        Term::RemotePort(port) => s.raw.remote.port() == *port,
        Term::NamedPort { side, tcp, udp, .. } => {
            let want = if s.key().protocol == Protocol::Udp { *udp } else { *tcp };
            want.is_some_and(|port| match side {
                PortSide::Either => s.raw.local.port() == port || s.raw.remote.port() == port,
                PortSide::Local => s.raw.local.port() == port,
                PortSide::Remote => s.raw.remote.port() == port,
            })
        }
        Term::Host(text) => {
            let t = text.as_str();
            !s.raw.remote.ip().is_unspecified()
                && (s.raw.remote.ip().to_string().contains(t)
                    || snapshot.endpoints.get(&s.endpoint()).is_some_and(|e| e.names.iter().chain(e.hostname.as_ref()).any(|n| n.to_lowercase().contains(t))))
        }
        Term::Address(a) => a.matches(s.raw.local, s.raw.remote),
        Term::Zone(zone) => s.zone == *zone,
        Term::Protocol(p) => s.key().protocol == *p,
        Term::Direction(d) => s.direction == *d,
        Term::SeverityAtLeast(min) => severity.is_some_and(|v| v >= *min),
        Term::SeverityIs(v) => severity == Some(*v),
        Term::Tag(t) => tags.contains(&t.as_str()),
        Term::Namespace(want) => snapshot.namespace_matches(s.raw.netns, want),
        Term::Container(want) => owner().is_some_and(|p| Snapshot::workload_matches(&p.facts.workload, want)),
        Term::Text(text) => {
            let t = text.as_str();
            s.raw.local.to_string().contains(t)
                || s.raw.remote.to_string().contains(t)
                || snapshot.remote_name(s).is_some_and(|n| n.to_lowercase().contains(t))
                || owner().is_some_and(|p| p.facts.name.to_lowercase().contains(t) || p.facts.cmdline.to_lowercase().contains(t))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_documented_example() {
        let f = Filter::parse("proc:nginx state:established port:443 zone:public sev>=medium tag:beacon pid:123").expect("parses");
        assert_eq!(
            f.terms,
            vec![
                (false, Term::Process("nginx".into())),
                (false, Term::State(SocketState::Established)),
                (false, Term::Port(443)),
                (false, Term::Zone(Zone::Public)),
                (false, Term::SeverityAtLeast(Severity::Medium)),
                (false, Term::Tag("beacon".into())),
                (false, Term::Pid(123)),
            ]
        );
    }

    #[test]
    fn negation_free_text_and_aliases() {
        let f = Filter::parse("!state:listen 203.0.113 dir:in proto:UDP").expect("parses");
        assert_eq!(f.terms[0], (true, Term::State(SocketState::Listen)));
        assert_eq!(f.terms[1], (false, Term::Text("203.0.113".into())));
        assert_eq!(f.terms[2], (false, Term::Direction(Direction::Inbound)));
        assert_eq!(f.terms[3], (false, Term::Protocol(Protocol::Udp)));
        assert!(Filter::parse("   ").expect("empty").is_empty());
        let f = Filter::parse("ns:host netns:4026532301").expect("parses");
        assert_eq!(f.terms[0], (false, Term::Namespace("host".into())));
        assert_eq!(f.terms[1], (false, Term::Namespace("4026532301".into())));
    }

    #[test]
    fn ns_and_container_select_the_rows_of_that_namespace() {
        let s = crate::model::two_namespaces::snapshot(None);
        let cookies = |text: &str| -> Vec<u64> {
            let f = Filter::parse(text).expect("parses");
            let mut c: Vec<u64> = (0..s.sockets.len()).filter(|&i| f.matches_socket(&s, i)).map(|i| s.sockets[i].key().cookie).collect();
            c.sort_unstable();
            c
        };
        assert_eq!(cookies("ns:web"), [2, 3, 4], "part of the name");
        assert_eq!(cookies("ns:4026532301"), [2, 3, 4], "the inode");
        assert_eq!(cookies("ns:net:4026532301"), [2, 3, 4]);
        assert_eq!(cookies("ns:host"), [1, 5]);
        assert_eq!(cookies("ns:4026531840"), [1, 5], "the observer's own inode names the host");
        assert_eq!(cookies("!ns:host"), [2, 3, 4]);
        assert_eq!(cookies("ns:web state:listen"), [4]);
        assert_eq!(cookies("container:0123456789ab"), [2, 3, 4]);
        assert!(cookies("ns:nowhere").is_empty());
    }

    #[test]
    fn errors_name_the_term_and_what_was_expected() {
        let e = Filter::parse("state:established port:htttp").expect_err("bad");
        assert_eq!(e.term, "port:htttp");
        assert!(e.message.contains("or a service name") && e.message.contains("`htttp` is neither"), "{}", e.message);
        let e = Filter::parse("port:99999").expect_err("bad");
        assert!(e.message.contains("a port 0-65535"), "{}", e.message);
        let e = Filter::parse("colour:red").expect_err("bad");
        assert!(e.message.contains("unknown key `colour`"), "{}", e.message);
        let e = Filter::parse("state:").expect_err("bad");
        assert!(e.message.contains("missing a value"));
        let e = Filter::parse("sev>=urgent").expect_err("bad");
        assert_eq!(e.message, "severity `urgent`: expected info, low, med (medium), high or crit (critical)");
        let e = Filter::parse("state:listning").expect_err("bad");
        assert!(e.message.contains("LISTEN"));
        assert!(Filter::parse("port>=80").is_err());
    }

    #[test]
    fn port_takes_a_service_name_and_host_a_name_or_address() {
        let f = Filter::parse("port:https rport:SSH host:GitHub").expect("parses");
        assert!(matches!(&f.terms[0].1, Term::NamedPort { side: PortSide::Either, tcp: Some(443), .. }), "{:?}", f.terms[0]);
        assert!(matches!(&f.terms[1].1, Term::NamedPort { side: PortSide::Remote, tcp: Some(22), .. }), "{:?}", f.terms[1]);
        assert_eq!(f.terms[2].1, Term::Host("github".into()));
        assert_eq!(Filter::parse("port:443").expect("parses").terms[0].1, Term::Port(443), "numbers stay numbers");
        assert!(Filter::parse("host:").is_err());
    }

    fn term(text: &str) -> Term {
        let f = Filter::parse(text).unwrap_or_else(|e| panic!("{text}: {e}"));
        assert_eq!(f.terms.len(), 1, "{text}");
        f.terms[0].1.clone()
    }

    fn address(text: &str) -> String {
        match term(text) {
            Term::Address(a) => format!("{}{}", a.network, a.port.map(|p| format!(" port {p}")).unwrap_or_default()),
            other => panic!("{text}: {other:?}"),
        }
    }

    #[test]
    fn ip_and_addr_take_addresses_networks_and_endpoints() {
        assert_eq!(address("ip:203.0.113.0/24"), "203.0.113.0/24");
        assert_eq!(address("ip:2001:db8::/32"), "2001:db8::/32");
        assert_eq!(address("ip:10.0.0.5"), "10.0.0.5");
        assert_eq!(address("addr:10.0.0.5"), "10.0.0.5", "addr: is ip:");
        assert_eq!(address("IP:[2001:db8::1]:443"), "2001:db8::1 port 443");
        assert_eq!(address("ip:2001:db8"), "2001:db8::/32");
    }

    #[test]
    fn bare_addresses_networks_and_brackets_are_address_terms() {
        assert_eq!(address("10.0.0.5"), "10.0.0.5");
        assert_eq!(address("2001:db8::1"), "2001:db8::1");
        assert_eq!(address("198.51.100.0/24"), "198.51.100.0/24");
        assert_eq!(address("2001:db8::/32"), "2001:db8::/32");
        assert_eq!(address("[2001:db8::1]"), "2001:db8::1");
        assert_eq!(address("[2001:db8::1]:443"), "2001:db8::1 port 443");
        assert_eq!(address("10.0.0.5:443"), "10.0.0.5 port 443");
        assert_eq!(address("2001:db8"), "2001:db8::/32", "was `unknown key '2001'`");
        assert!(Filter::parse("!10.0.0.5").expect("parses").terms[0].0, "negated");
        assert_eq!(term("203.0.113"), Term::Text("203.0.113".into()), "a partial IPv4 address stays text");
    }

    #[test]
    fn bad_addresses_name_the_term_and_what_was_expected() {
        let e = Filter::parse("proc:ssh ip:banana").expect_err("bad");
        assert_eq!(e.term, "ip:banana");
        assert!(e.message.contains("expected an address, a network or an endpoint") && e.message.contains("203.0.113.0/24"), "{}", e.message);
        let e = Filter::parse("10.0.0.0/33").expect_err("bad");
        assert_eq!((e.term.as_str(), e.message.as_str()), ("10.0.0.0/33", "prefix length /33 is over 32, the most for IPv4"));
        let e = Filter::parse("[2001:db8::1").expect_err("bad");
        assert!(e.message.contains("[address]:port"), "{}", e.message);
        let e = Filter::parse("addr:").expect_err("bad");
        assert!(e.message.contains("missing a value"));
        let e = Filter::parse("colour:red").expect_err("bad");
        assert!(e.message.contains("ip, addr"), "the key list names ip: {}", e.message);
    }

    #[test]
    fn ip_selects_sockets_by_either_address() {
        let s = crate::model::two_namespaces::snapshot(None);
        let count = |text: &str| {
            let f = Filter::parse(text).expect("parses");
            (0..s.sockets.len()).filter(|&i| f.matches_socket(&s, i)).count()
        };
        let remote = s.sockets.iter().map(|x| x.raw.remote).find(|r| !r.ip().is_unspecified()).expect("a connected socket");
        let local = s.sockets.iter().map(|x| x.raw.local).find(|l| !l.ip().is_unspecified() && l.ip() != remote.ip()).expect("a bound address");
        let by = |a: std::net::SocketAddr| s.sockets.iter().filter(|x| x.raw.local.ip() == a.ip() || x.raw.remote.ip() == a.ip()).count();
        assert_eq!(count(&format!("ip:{}", remote.ip())), by(remote), "remote {remote}");
        assert_eq!(count(&format!("addr:{}", local.ip())), by(local), "local {local}");
        assert!(by(remote) > 0 && by(local) > 0);
        assert_eq!(count(&format!("!ip:{}", remote.ip())), s.sockets.len() - by(remote));
        assert_eq!(count("ip:0.0.0.0/0") + count("ip:::/0"), s.sockets.len(), "every socket is in one family");
    }

    #[test]
    fn sev_takes_the_short_and_long_names() {
        for (text, want) in [
            ("sev:crit", Severity::Critical),
            ("sev:critical", Severity::Critical),
            ("sev:CRIT", Severity::Critical),
            ("sev:high", Severity::High),
            ("sev:med", Severity::Medium),
            ("sev:medium", Severity::Medium),
            ("sev:low", Severity::Low),
            ("severity:info", Severity::Info),
        ] {
            assert_eq!(term(text), Term::SeverityIs(want), "{text}");
        }
        assert_eq!(term("sev>=crit"), Term::SeverityAtLeast(Severity::Critical));
        assert_eq!(term("sev>=med"), Term::SeverityAtLeast(Severity::Medium));
        let e = Filter::parse("sev:severe").expect_err("bad");
        assert_eq!(e.term, "sev:severe");
        assert_eq!(e.message, "severity `severe`: expected info, low, med (medium), high or crit (critical)");
    }
}
