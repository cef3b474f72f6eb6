//! What conditions compare against and how a trace shows a value: name
//! patterns, the common-port lists, regex hits and bounded text.

use super::item::Item;
use super::schema::ShellIo;
use crate::model::Direction;
use crate::text::{bounded, escape_control, excerpt};

/// Ports of common services (besides everything below 1024).
pub const COMMON_SERVICE_PORTS: &[u16] = &[1433, 1521, 2049, 3306, 3389, 5432, 5672, 5900, 6379, 6443, 8080, 8443, 9092, 9200, 11211, 27017];
pub const COMMON_UDP_PORTS: &[u16] = &[53, 67, 68, 69, 123, 137, 138, 161, 162, 443, 500, 514, 1900, 4500, 5353, 5355];
pub const COMMON_PRIVILEGED_PORTS: &[u16] = &[21, 22, 25, 53, 80, 110, 111, 123, 143, 443, 465, 587, 631, 993, 995];

/// The process an item is about, as a trace names it: `curl (pid 42)`.
pub fn who(item: &Item<'_>) -> String {
    match (item.process, item.pid) {
        (Some(p), _) => format!("{} (pid {})", bounded(&p.facts.name, 64), p.facts.pid),
        (None, Some(pid)) => format!("pid {pid}"),
        (None, None) => "an unknown process".into(),
    }
}

/// The port that names the service: the local one for listeners and
/// accepted connections, the remote one for connections made here.
pub fn service_port(item: &Item<'_>) -> Option<u16> {
    match item.direction {
        Direction::Listen | Direction::Inbound => item.local_port,
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

/// The first of `names` that matches one of `patterns`.
pub fn names_match<'n>(names: &[&'n str], patterns: &[String]) -> Option<&'n str> {
    names.iter().find(|n| patterns.iter().any(|p| name_matches(n, p))).copied()
}

/// `a, b, c`: a list as a rule wrote it.
pub fn list<T: std::fmt::Display>(v: &[T]) -> String {
    v.iter().map(ToString::to_string).collect::<Vec<_>>().join(", ")
}

/// "`…text around the match…` matches /re/", escaped and bounded.
pub fn regex_value(text: &str, hit: Option<(&regex::Regex, std::ops::Range<usize>)>) -> String {
    match hit {
        Some((re, range)) => format!("`{}` matches /{}/", escape_control(&excerpt(text, range, 120)), re.as_str()),
        None => format!("`{}`", escape_control(&bounded(text, 120))),
    }
}

/// A name from the outside world, escaped and bounded for a trace.
pub fn shown(name: &str) -> String {
    bounded(&escape_control(name), 120)
}

pub fn shell_io_name(v: ShellIo) -> &'static str {
    match v {
        ShellIo::Both => "both",
        ShellIo::Input => "input",
        ShellIo::Output => "output",
        ShellIo::Any => "any",
    }
}
