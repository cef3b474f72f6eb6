//! The model: keys, sockets, zones, the graph's node and edge types, the
//! snapshot, History, grouping, and the builder that makes a snapshot from
//! an observation.

mod age;
mod alert;
mod baseline;
mod build;
mod closed;
mod dns_history;
mod dump_runs;
mod endpoint_table;
mod finding;
mod graph;
pub mod graph_build;
pub mod grouping;
mod health;
mod history;
mod index;
mod key_order;
mod keys;
mod login;
mod names;
mod namespace;
mod nodes;
mod observation;
mod order;
mod owners;
pub mod parties;
mod port_set;
mod shell_link;
mod snapshot;
mod socket;
mod socket_rows;
mod tally;
#[cfg(test)]
pub(crate) mod two_namespaces;
pub mod view;
mod workload;

pub use crate::terms::{Protocol, Severity, SocketState, Zone, normalize_addr, normalize_ip};
pub use age::{AgeBound, SocketAge};
pub use alert::{Alert, AlertDigest, AlertDirection, FlowSummary, PartyAlerts};
pub use baseline::{Baseline, KeyError, KeySet, ListenerEntry, ProcessEntry};
pub use build::{Evaluator, SnapshotBuilder, listener_zone};
pub use closed::{ClosedSocket, DestroyedSocket, OwnerSource};
pub use dns_history::{DNS_WINDOW_MS, DnsActivity, DnsHistory};
pub use finding::{Finding, Highlight, Subject, TraceStep};
pub use graph::{EdgeKind, GraphEdge, NetGraph, NodeRef};
pub use health::{Health, HealthLevel, HealthMessage, HealthTopic, StageTimings, UnownedCounts};
pub use history::{ConnectionStart, History, SeriesKey};
pub use index::{FactIndex, Facts};
pub use keys::{EndpointKey, ListenerKey, NetNs, Pid, SocketKey};
pub use login::{AcceptedAfterFailures, BURST_MS, DAY_MS, HOUR_MS, LoginDigest, LoginEvent, LoginKind, LoginTally, PartyLogins, failure_times};
pub use names::{DnsQuery, NameFacts, NameSource, ObservedName, label_entropy, longest_label, parent_domain};
pub use namespace::{NamespaceInfo, NamespaceStatus};
pub use nodes::{ConnectionEdge, EndpointGroupNode, GroupStrategy, GroupZone, ProcessFacts, ProcessNode, RemoteEndpointNode, ServiceListenerNode};
pub use observation::{Observation, OwnerScanStats, SourceInfo, SourceKind};
pub use order::SocketOrder;
pub use owners::Owners;
pub use parties::{PARTY_WINDOW_MS, Party, parties};
pub use port_set::PortSet;
pub use shell_link::{Conduit, Hop, ShellLink};
pub use snapshot::Snapshot;
pub use socket::{Direction, RawSocket, Socket, TcpCounters};
pub use workload::{Container, Runtime, Workload};
