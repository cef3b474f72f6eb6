//! A set of ports as 65,536 bits (8 KiB): a member test is one load and
//! no hash, for questions asked once per socket ("does anything listen on
//! this local port?", "was any endpoint reached on this port?").

/// Ports, one bit each.
#[derive(Clone)]
pub struct PortSet(Box<[u64; 1024]>);

impl Default for PortSet {
    fn default() -> Self {
        Self(Box::new([0; 1024]))
    }
}

impl PortSet {
    pub fn insert(&mut self, port: u16) {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_port_set_holds_exactly_what_was_put_in() {
        let mut s = PortSet::default();
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
