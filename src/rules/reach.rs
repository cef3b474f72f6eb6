//! What the snapshot's endpoint table allows a condition to find, taken in
//! one pass over the endpoints per refresh: whether any endpoint carries
//! tags of its own, the ports outbound sockets reached, and the most
//! generated-looking of the endpoints' names. A rule with a condition that
//! none of it can satisfy is not walked (see [`super::condition::Condition::never`]):
//! on a host without Tor nobody asks each of 50k outbound sockets whether
//! it goes to a Tor port, and where no name looks generated nobody works
//! out the entropy of each socket's remote names.

use super::condition::scored_entropy;
use crate::model::{PortSet, RemoteEndpointNode, longest_label};

/// The endpoint table's upper bounds for one refresh.
#[derive(Debug, Clone)]
pub struct Reach {
    /// Whether some endpoint carries tags of its own (a loaded snapshot's;
    /// the builder's endpoints carry none).
    pub tagged: bool,
    /// Every port an endpoint was reached on: for an outbound socket, its
    /// remote port (an inbound socket's remote port is an ephemeral one
    /// the table does not keep, so this bounds outbound sockets only).
    pub ports: PortSet,
    /// The highest entropy among the endpoints' names that score one (see
    /// [`scored_entropy`]); minus infinity when none does.
    pub entropy: f64,
    /// The longest label among the endpoints' names (0 without names).
    pub longest_label: usize,
}

impl Reach {
    /// One pass over `endpoints`.
    pub fn of<'e>(endpoints: impl IntoIterator<Item = &'e RemoteEndpointNode>) -> Self {
        let mut reach = Self { tagged: false, ports: PortSet::default(), entropy: f64::NEG_INFINITY, longest_label: 0 };
        for e in endpoints {
            reach.tagged |= !e.tags.is_empty();
            for &p in &e.ports {
                reach.ports.insert(p);
            }
            for name in &e.names {
                reach.longest_label = reach.longest_label.max(longest_label(name));
                if let Some(e) = scored_entropy(name) {
                    reach.entropy = reach.entropy.max(e);
                }
            }
        }
        reach
    }
}
