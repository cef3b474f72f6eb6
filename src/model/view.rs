//! Views: the spec's named filters over sockets (`default`,
//! `suspicious_only`, `listeners_only`, …), applied to a snapshot.

use super::finding::{Finding, Subject};
use super::snapshot::Snapshot;
use super::socket::Socket;
use crate::spec::ViewFilter;
use crate::terms::Severity;

/// Whether a finding concerns this socket: about the socket itself, its
/// owner, or its remote endpoint.
pub fn finding_about_socket(finding: &Finding, socket: &Socket) -> bool {
    match finding.subject {
        Subject::Socket { socket: key, .. } => key == socket.key(),
        Subject::Process { pid } => socket.raw.owners.contains(&pid),
        Subject::Endpoint { endpoint } => endpoint == socket.endpoint(),
        Subject::Host => false,
    }
}

/// The highest severity of the findings about this socket, its owner or its
/// remote endpoint (from the snapshot's fact index).
pub fn socket_severity(snapshot: &Snapshot, socket: &Socket) -> Option<Severity> {
    snapshot.socket_facts(socket).map(|f| f.severity)
}

/// Tags on this socket: its findings' tags and its endpoint's tags.
pub fn socket_tags<'a>(snapshot: &'a Snapshot, socket: &'a Socket) -> impl Iterator<Item = &'a str> {
    let endpoint = socket.endpoint();
    let from_findings = snapshot.socket_facts(socket).into_iter().flat_map(|f| f.tags.iter().map(String::as_str));
    let from_endpoint = snapshot.endpoints.get(&endpoint).into_iter().flat_map(|e| e.tags.iter().map(String::as_str));
    from_findings.chain(from_endpoint)
}

/// Whether a socket passes a view's filter (every filter given must pass).
pub fn passes(filter: &ViewFilter, snapshot: &Snapshot, socket: &Socket) -> bool {
    let state = socket.state();
    if !filter.states_in.is_empty() && !filter.states_in.contains(&state) {
        return false;
    }
    if filter.states_out.contains(&state) {
        return false;
    }
    if !filter.zones_in.is_empty() && !filter.zones_in.contains(&socket.zone) {
        return false;
    }
    if let Some(min) = filter.min_connections {
        let count = snapshot.endpoints.get(&socket.endpoint()).map_or(0, |e| e.connection_count);
        if count < min as u64 {
            return false;
        }
    }
    if let Some(min) = filter.min_severity
        && socket_severity(snapshot, socket).is_none_or(|s| s < min)
    {
        return false;
    }
    if !filter.tags_in.is_empty() || !filter.tags_out.is_empty() {
        let tags: Vec<&str> = socket_tags(snapshot, socket).collect();
        if !filter.tags_in.is_empty() && !filter.tags_in.iter().any(|t| tags.contains(&t.as_str())) {
            return false;
        }
        if filter.tags_out.iter().any(|t| tags.contains(&t.as_str())) {
            return false;
        }
    }
    true
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::collect::ReplaySource;
    use crate::model::{Finding, Pid, SocketState, Zone};
    use crate::spec::Spec;

    fn demo() -> Snapshot {
        let mut src = ReplaySource::from_text(crate::DEMO_SCENARIO, "demo").expect("demo");
        src.build_through(Arc::new(Spec::embedded()), None, None).0.expect("frames")
    }

    fn count(s: &Snapshot, view: &str) -> usize {
        let spec = Spec::embedded();
        let filter = &spec.views[view].filter;
        s.sockets.iter().filter(|x| passes(filter, s, x)).count()
    }

    #[test]
    fn the_spec_views_filter_the_demo_host() {
        let s = demo();
        assert_eq!(count(&s, "default"), s.sockets.len());
        let listeners = s.sockets.iter().filter(|x| x.state().is_listening()).count();
        assert_eq!(count(&s, "listeners_only"), listeners);
        let cleanup = s.sockets.iter().filter(|x| matches!(x.state(), SocketState::CloseWait | SocketState::TimeWait)).count();
        assert_eq!(count(&s, "cleanup_states"), cleanup);
        let public = s.sockets.iter().filter(|x| x.zone == Zone::Public).count();
        assert_eq!(count(&s, "internet_only"), public);
        assert_eq!(count(&s, "suspicious_only"), 0, "no findings without rules");
    }

    #[test]
    fn severity_and_tag_filters_use_findings() {
        let mut s = demo();
        let shell = s.sockets.iter().find(|x| x.raw.remote.port() == 4444).expect("shell socket").clone();
        s.findings.push(Finding { tags: vec!["c2".into()], ..Finding::bare("reverse_shell_stdio", Severity::Critical, Subject::Process { pid: Pid(3401) }) });
        s.reindex();
        assert_eq!(count(&s, "suspicious_only"), 1);
        assert_eq!(socket_severity(&s, &shell), Some(Severity::Critical));
        let by_tag = ViewFilter { tags_in: vec!["c2".into()], ..ViewFilter::default() };
        assert_eq!(s.sockets.iter().filter(|x| passes(&by_tag, &s, x)).count(), 1);
        let without = ViewFilter { tags_out: vec!["c2".into()], ..ViewFilter::default() };
        assert_eq!(s.sockets.iter().filter(|x| passes(&without, &s, x)).count(), s.sockets.len() - 1);
        let busy = ViewFilter { min_connections: Some(30), ..ViewFilter::default() };
        assert!(
            s.sockets
                .iter()
                .filter(|x| passes(&busy, &s, x))
                .all(|x| x.raw.remote.ip().to_string() == "127.0.0.1" || x.raw.remote.ip().to_string() == "10.0.0.20")
        );
    }
}
