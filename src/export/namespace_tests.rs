//! Every exported socket, listener, endpoint, process and finding names its
//! network namespace: a host with a container's namespace, with findings
//! the rule engine made on both sides.

use super::csv::{CsvTable, write_csv};
use super::{FindingRow, write_json};
use crate::model::two_namespaces::{CONTAINER_NS, HOST_INODE, snapshot};
use crate::model::{Snapshot, Subject};
use crate::rules::{Engine, IocSet, RuleSet};

/// A connection rule on the container's loopback port, a process rule and
/// an endpoint rule on the address both namespaces reach.
const PACK: &str = "version: 1
rules:
  - { id: loop_port, name: Loopback port, severity: low, scope: connection, match: { remote_port_in: [4444] } }
  - { id: web_proc, name: Web client, severity: low, scope: process, match: { remote_port_in: [443] } }
  - { id: web_peer, name: Web peer, severity: low, scope: endpoint, match: { remote_port_in: [443] } }
";

fn flagged() -> Snapshot {
    let mut set = RuleSet::empty();
    set.add_text(PACK, "ns.yaml").unwrap_or_else(|e| panic!("{e}"));
    let mut engine = Engine::new(set, IocSet::new());
    snapshot(Some(&mut engine))
}

fn finding<'a>(s: &'a Snapshot, id: &str) -> &'a crate::model::Finding {
    s.findings.iter().find(|f| f.id.starts_with(id)).unwrap_or_else(|| panic!("no {id} finding in {:?}", s.findings.iter().map(|f| &f.id).collect::<Vec<_>>()))
}

#[test]
fn the_engine_gives_each_finding_its_subjects_namespace() {
    let s = flagged();
    let on_socket = finding(&s, "loop_port@");
    assert!(matches!(on_socket.subject, Subject::Socket { .. }));
    assert_eq!(on_socket.netns, Some(CONTAINER_NS), "the socket's namespace");
    let agent = finding(&s, "web_proc@pid:20");
    assert_eq!(agent.netns, Some(CONTAINER_NS), "the process's namespace");
    assert_eq!(finding(&s, "web_proc@pid:10").netns, None, "the host's own");
    let peer = finding(&s, "web_peer@");
    assert_eq!(peer.netns, None);
    assert_eq!(s.finding_namespace(peer), None, "an address outside loopback is every namespace's");
    assert_eq!(s.finding_namespace(on_socket), Some((Some(CONTAINER_NS.0), "web-ns".to_string())));
    assert_eq!(s.finding_namespace(finding(&s, "web_proc@pid:10")), Some((Some(HOST_INODE), "host".to_string())));
}

#[test]
fn csv_and_json_findings_carry_inode_and_name() {
    let s = flagged();
    let row = FindingRow::new(&s, finding(&s, "loop_port@"));
    assert_eq!((row.netns, row.namespace.as_deref()), (Some(CONTAINER_NS.0), Some("web-ns")));
    let mut out = Vec::new();
    write_csv(&s, CsvTable::Findings, &mut out).expect("csv");
    let text = String::from_utf8(out).expect("utf8");
    assert!(text.lines().next().expect("header").ends_with(",evidence,explanation,netns,namespace"), "{text}");
    assert!(text.lines().any(|l| l.starts_with("loop_port@") && l.ends_with(",4026532301,web-ns")), "{text}");
    assert!(text.lines().any(|l| l.starts_with("web_proc@pid:10,") && l.ends_with(",4026531840,host")), "{text}");
    assert!(text.lines().any(|l| l.starts_with("web_peer@") && l.ends_with(",,")), "{text}");

    let json = json(&s);
    let by_id = |id: &str| json["findings"].as_array().expect("findings").iter().find(|f| f["id"].as_str().is_some_and(|x| x.starts_with(id))).cloned();
    let f = by_id("loop_port@").expect("finding");
    assert_eq!((f["netns"].as_u64(), f["namespace"].as_str()), (Some(u64::from(CONTAINER_NS.0)), Some("web-ns")));
    let f = by_id("web_peer@").expect("finding");
    assert!(f["netns"].is_null() && f["namespace"].is_null(), "{f}");
}

fn json(s: &Snapshot) -> serde_json::Value {
    let mut out = Vec::new();
    write_json(s, &mut out, false).expect("json");
    serde_json::from_slice(&out).expect("valid json")
}

#[test]
fn json_listeners_endpoints_and_processes_carry_the_namespace_name() {
    let json = json(&snapshot(None));
    let listener = |port: u64| json["listeners"].as_array().expect("listeners").iter().find(|l| l["port"].as_u64() == Some(port)).cloned().expect("listener");
    let l = listener(4444);
    assert_eq!((l["netns"].as_u64(), l["namespace"].as_str()), (Some(u64::from(CONTAINER_NS.0)), Some("web-ns")));
    assert_eq!(listener(8080)["namespace"].as_str(), Some("host"));
    let endpoint = |ip: &str| json["endpoints"].as_array().expect("endpoints").iter().find(|e| e["ip"].as_str() == Some(ip)).cloned().expect("endpoint");
    let lo = endpoint("127.0.0.1");
    assert_eq!((lo["netns"].as_u64(), lo["namespace"].as_str()), (Some(u64::from(CONTAINER_NS.0)), Some("web-ns")), "the container's loopback");
    assert!(endpoint("203.0.113.9")["namespace"].is_null(), "an address outside loopback is every namespace's");
    let process = |pid: u64| json["processes"].as_array().expect("processes").iter().find(|p| p["pid"].as_u64() == Some(pid)).cloned().expect("process");
    let agent = process(20);
    assert_eq!((agent["netns"].as_u64(), agent["namespace"].as_str()), (Some(u64::from(CONTAINER_NS.0)), Some("web-ns")));
    assert_eq!(process(10)["namespace"].as_str(), Some("host"));
}
