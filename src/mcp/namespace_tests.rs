//! `list_connections` and `list_processes` filter by namespace and
//! container, and findings name a namespace other than necromap's own: the
//! tools called on a host with a container's namespace.

use std::sync::Arc;

use rmcp::handler::server::wrapper::Parameters;

use super::dto::FindingItem;
use super::{McpState, NecromapServer};
use crate::collector::Published;
use crate::model::two_namespaces::{CONTAINER_ID, CONTAINER_NS, snapshot};
use crate::model::{Finding, Snapshot, Subject};

fn server(s: Snapshot) -> NecromapServer {
    let (_tx, published) = tokio::sync::watch::channel(Arc::new(Published::of(Arc::new(s))));
    let spec = Arc::new(crate::spec::Spec::embedded());
    NecromapServer::new(McpState::new(published, spec, Arc::from(""), Arc::new(crate::rules::RuleSet::empty())))
}

fn connections(server: &NecromapServer, args: serde_json::Value) -> Vec<String> {
    let a = serde_json::from_value(args).expect("args");
    let list = server.list_connections(Parameters(a)).expect("answer").0;
    assert_eq!(list.total, list.connections.len());
    let mut ids: Vec<String> =
        list.connections.iter().map(|c| format!("{}:{}", c.local.rsplit(':').next().unwrap_or_default(), c.namespace.as_deref().unwrap_or("host"))).collect();
    ids.sort();
    ids
}

fn processes(server: &NecromapServer, args: serde_json::Value) -> Vec<u32> {
    let a = serde_json::from_value(args).expect("args");
    let list = server.list_processes(Parameters(a)).expect("answer").0;
    list.processes.iter().map(|p| p.process.pid).collect()
}

#[test]
fn list_connections_filters_by_namespace_and_container() {
    let s = server(snapshot(None));
    assert_eq!(connections(&s, serde_json::json!({})).len(), 5);
    let container = ["40001:web-ns", "40002:web-ns", "4444:web-ns"];
    assert_eq!(connections(&s, serde_json::json!({ "namespace": "web" })), container);
    assert_eq!(connections(&s, serde_json::json!({ "namespace": CONTAINER_NS.0.to_string() })), container);
    assert_eq!(connections(&s, serde_json::json!({ "namespace": "host" })), ["40000:host", "8080:host"]);
    assert_eq!(connections(&s, serde_json::json!({ "container": CONTAINER_ID })), container);
    assert_eq!(connections(&s, serde_json::json!({ "container": "web" })), container, "by the container's name");
    assert!(connections(&s, serde_json::json!({ "namespace": "host", "container": "web" })).is_empty(), "both must hold");
}

#[test]
fn list_processes_filters_by_namespace_and_container() {
    let s = server(snapshot(None));
    assert_eq!(processes(&s, serde_json::json!({})), [10, 20]);
    assert_eq!(processes(&s, serde_json::json!({ "namespace": "web-ns" })), [20]);
    assert_eq!(processes(&s, serde_json::json!({ "namespace": "host" })), [10]);
    assert_eq!(processes(&s, serde_json::json!({ "container": CONTAINER_ID })), [20]);
    assert!(processes(&s, serde_json::json!({ "container": "nothing-like-it" })).is_empty());
}

#[test]
fn findings_name_a_namespace_only_when_it_is_not_necromaps_own() {
    let s = snapshot(None);
    let about = |pid: u32, netns| Finding { netns, ..Finding::bare("r", crate::model::Severity::Low, Subject::Process { pid: crate::model::Pid(pid) }) };
    let item = FindingItem::new(&s, &about(20, Some(CONTAINER_NS)), super::dto::Detail::Full);
    assert_eq!((item.namespace.as_deref(), item.netns), (Some("web-ns"), Some(CONTAINER_NS.0)));
    let item = FindingItem::new(&s, &about(20, Some(CONTAINER_NS)), super::dto::Detail::Brief);
    assert_eq!((item.namespace.as_deref(), item.netns), (Some("web-ns"), None), "the inode is for full answers");
    let item = FindingItem::new(&s, &about(10, None), super::dto::Detail::Brief);
    assert_eq!((item.namespace.as_deref(), item.netns), (None, None));
    let mut json = serde_json::to_value(&item).expect("json");
    super::compact::prune(&mut json);
    assert!(json.get("namespace").is_none() && json.get("netns").is_none(), "left out for the host's own: {json}");
}
