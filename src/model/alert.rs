//! A Suricata alert as necromap keeps it: attributed to the remote party it
//! concerns. Read from eve.json by the intake, folded onto the map, kept in
//! the event store.

use std::net::IpAddr;

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
