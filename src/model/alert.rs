//! A Suricata alert as necromap keeps it: attributed to the remote party it
//! concerns. Read from eve.json by the intake, folded onto the map, kept in
//! the event store.
//!
//! [`AlertDigest`] is what one refresh publishes of the alerts followed: the
//! recent alerts per party as they were when the snapshot was built. Each
//! party's record is an `Arc`, so a digest shares the parties that did not
//! change with the one before it.

use std::collections::{BTreeMap, VecDeque};
use std::net::IpAddr;
use std::sync::Arc;

/// Which way the alerting packet went, as Suricata says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AlertDirection {
    ToServer,
    ToClient,
}

impl AlertDirection {
    pub fn name(self) -> &'static str {
        match self {
            Self::ToServer => "to_server",
            Self::ToClient => "to_client",
        }
    }
}

/// One Suricata alert, attributed to its remote party.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Alert {
    pub at_ms: i64,
    /// The remote party the alert concerns.
    pub remote: IpAddr,
    /// This host's side, when one of the two is local.
    pub local: Option<IpAddr>,
    pub src_ip: IpAddr,
    pub src_port: Option<u16>,
    pub dest_ip: IpAddr,
    pub dest_port: Option<u16>,
    pub proto: String,
    pub direction: Option<AlertDirection>,
    pub flow_id: Option<u64>,
    pub signature_id: u64,
    /// Bounded; escaped where it is shown.
    pub signature: String,
    pub category: String,
    /// Suricata severity: 1 (highest) to 3 (4 and up are read as 3).
    pub severity: u8,
    pub action: Option<String>,
}

/// Suricata flow records about one party.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct FlowSummary {
    pub flows: u64,
    pub bytes_toserver: u64,
    pub bytes_toclient: u64,
    pub last_ms: i64,
}

/// One party's recent alerts (oldest first) and its flow records. The
/// queue is an `Arc` of its own, so a flow record alone does not copy it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PartyAlerts {
    pub alerts: Arc<VecDeque<Alert>>,
    pub flows: Option<FlowSummary>,
}

impl PartyAlerts {
    /// When the party was last heard from (0: never).
    pub fn last_ms(&self) -> i64 {
        self.alerts.back().map_or(0, |a| a.at_ms)
    }
}

/// The alerts followed, as one refresh saw them.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AlertDigest {
    /// The generation of the snapshot this digest was published with.
    pub generation: u64,
    pub parties: BTreeMap<IpAddr, Arc<PartyAlerts>>,
    /// eve.json lines read, alerts kept, lines that did not parse.
    pub lines: u64,
    pub alerts: u64,
    pub malformed: u64,
}

impl AlertDigest {
    /// Alerts about `ip` since `since_ms`, oldest first.
    pub fn about(&self, ip: IpAddr, since_ms: i64) -> impl Iterator<Item = &Alert> {
        self.parties.get(&ip).into_iter().flat_map(|p| p.alerts.iter()).filter(move |a| a.at_ms >= since_ms)
    }

    /// Parties with alerts since `since_ms`.
    pub fn parties_since(&self, since_ms: i64) -> impl Iterator<Item = IpAddr> + '_ {
        self.parties.iter().filter(move |(_, p)| p.alerts.back().is_some_and(|a| a.at_ms >= since_ms)).map(|(ip, _)| *ip)
    }

    /// Flow records about `ip`, if any (kept for parties with alerts).
    pub fn flows_of(&self, ip: IpAddr) -> Option<FlowSummary> {
        self.parties.get(&ip).and_then(|p| p.flows)
    }
}
