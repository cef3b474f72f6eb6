//! What the snapshot's endpoint table allows a condition to find, taken in
//! one pass over the endpoints per refresh: whether any endpoint carries
//! tags of its own, the ports outbound sockets reached, and the most
//! generated-looking of the endpoints' names. A rule with a condition that
//! none of it can satisfy is not walked (see [`super::condition::Condition::never`]):
//! on a host without Tor nobody asks each of 50k outbound sockets whether
//! it goes to a Tor port, and where no name looks generated nobody works
//! out the entropy of each socket's remote names.

use crate::model::{RemoteEndpointNode, label_entropy, longest_label};

/// Ports as a set of 65,536 bits (8 KiB): a member test is one load.
#[derive(Clone)]
pub struct PortSet(Box<[u64; 1024]>);

impl PortSet {
    fn new() -> Self {
        Self(Box::new([0; 1024]))
    }

    fn insert(&mut self, port: u16) {
        self.0[usize::from(port >> 6)] |= 1 << (port & 63);
    }

    pub fn contains(&self, port: u16) -> bool {
        self.0[usize::from(port >> 6)] & (1 << (port & 63)) != 0
    }
}

impl std::fmt::Debug for PortSet {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let count: u32 = self.0.iter().map(|w| w.count_ones()).sum();
        write!(f, "PortSet({count} ports)")
    }
}

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
    /// The highest first-label entropy among the endpoints' names whose
    /// first label is long enough to count (`min_label` bytes); minus
    /// infinity when none is.
    pub entropy: f64,
    /// The longest label among the endpoints' names (0 without names).
    pub longest_label: usize,
}

impl Reach {
    /// One pass over `endpoints`; first labels shorter than `min_label`
    /// do not count for the entropy, as in the condition.
    pub fn of<'e>(endpoints: impl IntoIterator<Item = &'e RemoteEndpointNode>, min_label: usize) -> Self {
        let mut reach = Self { tagged: false, ports: PortSet::new(), entropy: f64::NEG_INFINITY, longest_label: 0 };
        for e in endpoints {
            reach.tagged |= !e.tags.is_empty();
            for &p in &e.ports {
                reach.ports.insert(p);
            }
            for name in &e.names {
                reach.longest_label = reach.longest_label.max(longest_label(name));
                if name.split('.').next().is_some_and(|l| l.len() >= min_label) {
                    reach.entropy = reach.entropy.max(label_entropy(name));
                }
            }
        }
        reach
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_port_set_holds_exactly_what_was_put_in() {
        let mut s = PortSet::new();
        for p in [0, 1, 63, 64, 9050, 65_535] {
            s.insert(p);
        }
        for p in [0, 1, 63, 64, 9050, 65_535] {
            assert!(s.contains(p), "{p}");
        }
        for p in [2, 62, 65, 9049, 9051, 65_534] {
            assert!(!s.contains(p), "{p}");
        }
    }
}
