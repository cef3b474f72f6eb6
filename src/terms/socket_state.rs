//! Transport protocols and socket states, as the kernel names them.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// Transport protocol.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Protocol {
    Tcp,
    Udp,
}

impl fmt::Display for Protocol {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Tcp => "tcp",
            Self::Udp => "udp",
        })
    }
}

impl FromStr for Protocol {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.to_ascii_lowercase().as_str() {
            "tcp" => Ok(Self::Tcp),
            "udp" => Ok(Self::Udp),
            _ => Err(format!("protocol `{s}`: expected tcp or udp")),
        }
    }
}

/// Every state a socket can be in: the kernel's TCP states, plus `Udp`
/// (a UDP socket connected to one peer) and `Unconn` (UDP, bound, no peer).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum SocketState {
    Established,
    SynSent,
    SynRecv,
    NewSynRecv,
    #[serde(rename = "FIN_WAIT1")]
    FinWait1,
    #[serde(rename = "FIN_WAIT2")]
    FinWait2,
    TimeWait,
    Close,
    CloseWait,
    LastAck,
    Listen,
    Closing,
    BoundInactive,
    Udp,
    Unconn,
}

impl SocketState {
    /// Every state, in the kernel's order then UDP's.
    pub const ALL: [Self; 15] = [
        Self::Established,
        Self::SynSent,
        Self::SynRecv,
        Self::FinWait1,
        Self::FinWait2,
        Self::TimeWait,
        Self::Close,
        Self::CloseWait,
        Self::LastAck,
        Self::Listen,
        Self::Closing,
        Self::NewSynRecv,
        Self::BoundInactive,
        Self::Udp,
        Self::Unconn,
    ];

    /// The state as the kernel numbers TCP states (`include/net/tcp_states.h`).
    /// UDP sockets report 1 (connected) or 7 (unconnected); the caller says
    /// which protocol the number came from.
    pub fn from_kernel(protocol: Protocol, code: u8) -> Option<Self> {
        if protocol == Protocol::Udp {
            return match code {
                1 => Some(Self::Udp),
                7 => Some(Self::Unconn),
                _ => None,
            };
        }
        Some(match code {
            1 => Self::Established,
            2 => Self::SynSent,
            3 => Self::SynRecv,
            4 => Self::FinWait1,
            5 => Self::FinWait2,
            6 => Self::TimeWait,
            7 => Self::Close,
            8 => Self::CloseWait,
            9 => Self::LastAck,
            10 => Self::Listen,
            11 => Self::Closing,
            12 => Self::NewSynRecv,
            13 => Self::BoundInactive,
            _ => return None,
        })
    }

    /// The name used in the spec, the filter language and every output.
    pub fn name(self) -> &'static str {
        match self {
            Self::Established => "ESTABLISHED",
            Self::SynSent => "SYN_SENT",
            Self::SynRecv => "SYN_RECV",
            Self::NewSynRecv => "NEW_SYN_RECV",
            Self::FinWait1 => "FIN_WAIT1",
            Self::FinWait2 => "FIN_WAIT2",
            Self::TimeWait => "TIME_WAIT",
            Self::Close => "CLOSE",
            Self::CloseWait => "CLOSE_WAIT",
            Self::LastAck => "LAST_ACK",
            Self::Listen => "LISTEN",
            Self::Closing => "CLOSING",
            Self::BoundInactive => "BOUND_INACTIVE",
            Self::Udp => "UDP",
            Self::Unconn => "UNCONN",
        }
    }

    /// The protocol this state belongs to.
    pub fn protocol(self) -> Protocol {
        match self {
            Self::Udp | Self::Unconn => Protocol::Udp,
            _ => Protocol::Tcp,
        }
    }

    /// A socket that accepts peers rather than talking to one.
    pub fn is_listening(self) -> bool {
        matches!(self, Self::Listen | Self::Unconn)
    }
}

impl fmt::Display for SocketState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for SocketState {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let upper = s.to_ascii_uppercase().replace('-', "_");
        Self::ALL.into_iter().find(|st| st.name() == upper).ok_or_else(|| {
            let names: Vec<_> = Self::ALL.iter().map(|s| s.name()).collect();
            format!("state `{s}`: expected one of {}", names.join(", "))
        })
    }
}
