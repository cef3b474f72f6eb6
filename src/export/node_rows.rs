//! The JSON rows of listeners, endpoints and findings: the model's node
//! (or finding) with the readable name of the network namespace it lives
//! in, which only the snapshot knows. Field names are a public contract.

use serde::Serialize;

use crate::model::{Finding, RemoteEndpointNode, ServiceListenerNode, Snapshot};

/// One listener in `snapshot --format json`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ListenerRow<'a> {
    #[serde(flatten)]
    pub node: &'a ServiceListenerNode,
    /// The readable name of the namespace it listens in (`netns`, absent
    /// for the observer's own): `host` for the observer's own.
    pub namespace: String,
}

impl<'a> ListenerRow<'a> {
    pub fn new(snapshot: &Snapshot, node: &'a ServiceListenerNode) -> Self {
        Self { node, namespace: snapshot.namespace_name(node.netns) }
    }
}

/// One remote endpoint in `snapshot --format json`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct EndpointRow<'a> {
    #[serde(flatten)]
    pub node: &'a RemoteEndpointNode,
    /// For a loopback address, the readable name of the namespace whose
    /// loopback it is (`host` for the observer's own); null for any other
    /// address, which is one endpoint for every namespace reaching it.
    pub namespace: Option<String>,
}

impl<'a> EndpointRow<'a> {
    pub fn new(snapshot: &Snapshot, node: &'a RemoteEndpointNode) -> Self {
        let namespace = crate::terms::normalize_ip(node.ip).is_loopback().then(|| snapshot.namespace_name(node.netns));
        Self { node, namespace }
    }
}

/// One finding in `snapshot --format json`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FindingDoc<'a> {
    #[serde(flatten)]
    pub finding: &'a Finding,
    /// The inode of the subject's network namespace (the observer's own
    /// included); null for an endpoint outside loopback or when the source
    /// does not say.
    pub netns: Option<u32>,
    /// Its readable name (`host` for the observer's own); null for an
    /// endpoint outside loopback.
    pub namespace: Option<String>,
}

impl<'a> FindingDoc<'a> {
    pub fn new(snapshot: &Snapshot, finding: &'a Finding) -> Self {
        let (netns, namespace) = snapshot.finding_namespace(finding).map_or((None, None), |(inode, name)| (inode, Some(name)));
        Self { finding, netns, namespace }
    }
}
