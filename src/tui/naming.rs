//! Names on screen: the remote endpoint's best name in place of its
//! address, the service name beside a port, and the `names` line of the
//! inspector. Names are attacker-controlled (anyone can answer a DNS query
//! or own a PTR zone): every one here is escaped and bounded before it is
//! returned.

use std::fmt::Write;
use std::net::SocketAddr;

use crate::model::{EndpointKey, RemoteEndpointNode, Snapshot, Socket};
use crate::text::{bounded, escape_control};

/// Longest name shown in a list cell or a map label (characters).
pub const NAME_WIDTH: usize = 32;

/// An endpoint's best name, escaped and bounded; None when it has none.
pub fn endpoint_name(snapshot: &Snapshot, key: &EndpointKey) -> Option<String> {
    let name = snapshot.endpoints.get(key)?.hostname.as_deref()?;
    (!name.is_empty()).then(|| bounded(&escape_control(name), NAME_WIDTH))
}

/// `name:port` for an address with a name, the address itself otherwise
/// (`[v6]:port` keeps its brackets), `*` for an unconnected socket.
pub fn remote_text(snapshot: &Snapshot, sock: &Socket) -> String {
    let remote = sock.raw.remote;
    if remote.ip().is_unspecified() {
        return "*".to_string();
    }
    match endpoint_name(snapshot, &sock.endpoint()) {
        Some(name) => format!("{name}:{}", remote.port()),
        None => remote.to_string(),
    }
}

/// The remote cell in `width` characters: `name:port/service` when it
/// fits, else without the service, else the name shortened so the port
/// stays whole (a cut port reads as another port).
pub fn remote_cell(snapshot: &Snapshot, sock: &Socket, service: Option<&str>, width: usize) -> String {
    let remote = sock.raw.remote;
    let Some(name) = (!remote.ip().is_unspecified()).then(|| endpoint_name(snapshot, &sock.endpoint())).flatten() else {
        return with_service(remote_text(snapshot, sock), service, width);
    };
    let port = format!(":{}", remote.port());
    let text = format!("{name}{port}");
    if text.chars().count() <= width {
        return with_service(text, service, width);
    }
    let room = width.saturating_sub(port.chars().count()).max(2);
    format!("{}{port}", bounded(&name, room))
}

/// The service name of the socket's service port, escaped (`None` when
/// numeric or unknown).
pub fn service(snapshot: &Snapshot, sock: &Socket) -> Option<String> {
    crate::names::service_of(snapshot, sock).map(|s| bounded(&escape_control(s), 16))
}

/// Whether the service port is the remote one (outbound) or the local one.
pub fn service_is_remote(sock: &Socket) -> bool {
    sock.direction == crate::model::Direction::Outbound
}

/// `text/service` when that fits in `width`, else `text`.
pub fn with_service(text: String, service: Option<&str>, width: usize) -> String {
    match service {
        Some(s) if text.chars().count() + 1 + s.chars().count() <= width => format!("{text}/{s}"),
        _ => text,
    }
}

/// `api.github.com, github.com (dns-answer, asked by pid 123)`: every name
/// of an endpoint, most recent first, with where the first came from.
/// None when the endpoint has no name.
pub fn names_line(node: &RemoteEndpointNode) -> Option<String> {
    let mut names: Vec<&str> = node.names.iter().map(String::as_str).collect();
    if names.is_empty()
        && let Some(h) = node.hostname.as_deref()
    {
        names.push(h);
    }
    if names.is_empty() {
        return None;
    }
    let shown: Vec<String> = names.iter().take(6).map(|n| bounded(&escape_control(n), 64)).collect();
    let mut text = shown.join(", ");
    if names.len() > shown.len() {
        let _ = write!(text, " +{} more", names.len() - shown.len());
    }
    let mut how = Vec::new();
    if let Some(src) = node.name_source {
        how.push(src.name().to_string());
    }
    if let Some(pid) = node.asked_by {
        how.push(format!("asked by pid {pid}"));
    }
    if !how.is_empty() {
        let _ = write!(text, " ({})", how.join(", "));
    }
    Some(text)
}

/// An address with its port, and the service name beside it: `203.0.113.41:443 (https)`.
pub fn addr_with_service(addr: SocketAddr, service: Option<&str>) -> String {
    match service {
        Some(s) => format!("{addr} ({s})"),
        None => addr.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{NameSource, Zone};

    fn node(names: &[&str]) -> RemoteEndpointNode {
        RemoteEndpointNode {
            ip: "203.0.113.9".parse().expect("ip"),
            netns: None,
            zone: Zone::Public,
            ports: vec![443],
            hostname: names.first().map(ToString::to_string),
            names: names.iter().map(ToString::to_string).collect(),
            name_source: Some(NameSource::DnsAnswer),
            asked_by: Some(123),
            country: None,
            tags: Vec::new(),
            connection_count: 1,
            process_count: 1,
            new_per_minute: 0.0,
            bytes_sent: 0,
            bytes_received: 0,
        }
    }

    #[test]
    fn names_line_says_where_the_name_came_from_and_escapes() {
        assert_eq!(names_line(&node(&["api.github.com", "github.com"])).as_deref(), Some("api.github.com, github.com (dns-answer, asked by pid 123)"));
        assert_eq!(names_line(&node(&[])), None);
        let evil = names_line(&node(&["a\u{1b}]0;x\u{7}\u{202e}.com"])).expect("named");
        assert!(!evil.chars().any(crate::text::is_unsafe), "{evil}");
        let long = "x".repeat(300);
        assert!(names_line(&node(&[&long])).expect("named").chars().count() < 100);
        assert_eq!(with_service("10.0.0.5:443".into(), Some("https"), 21), "10.0.0.5:443/https");
        assert_eq!(with_service("198.51.100.77:443".into(), Some("https"), 21), "198.51.100.77:443");
        assert_eq!(with_service("x:1".into(), None, 21), "x:1");
    }
}
