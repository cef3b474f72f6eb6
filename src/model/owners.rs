//! The processes holding a socket: almost always none or one, so they are
//! kept inline. A `Vec<Pid>` cost every socket 24 bytes plus a heap block,
//! and every refresh an allocation and a free per socket.

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use super::keys::Pid;

/// A socket's owners, in pid order; reads as a slice of pids.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct Owners(Repr);

#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
enum Repr {
    #[default]
    None,
    One([Pid; 1]),
    /// Two or more (after a fork, or a socket passed between processes).
    /// Boxed so the rare case costs one word inline, not three.
    #[allow(clippy::box_collection)]
    Many(Box<Vec<Pid>>),
}

impl Owners {
    /// A socket with one owner.
    pub const fn one(pid: Pid) -> Self {
        Self(Repr::One([pid]))
    }

    /// Whether no visible process holds the socket.
    pub const fn is_empty(&self) -> bool {
        matches!(self.0, Repr::None)
    }

    /// Heap bytes held beyond the value itself.
    pub fn heap_bytes(&self) -> usize {
        match &self.0 {
            Repr::Many(v) => std::mem::size_of::<Vec<Pid>>() + v.capacity() * std::mem::size_of::<Pid>(),
            _ => 0,
        }
    }
}

impl std::ops::Deref for Owners {
    type Target = [Pid];

    fn deref(&self) -> &[Pid] {
        match &self.0 {
            Repr::None => &[],
            Repr::One(p) => p,
            Repr::Many(v) => v,
        }
    }
}

impl PartialEq<Vec<Pid>> for Owners {
    fn eq(&self, other: &Vec<Pid>) -> bool {
        self[..] == other[..]
    }
}

impl From<Vec<Pid>> for Owners {
    fn from(v: Vec<Pid>) -> Self {
        match v.as_slice() {
            [] => Self(Repr::None),
            [p] => Self::one(*p),
            _ => Self(Repr::Many(Box::new(v))),
        }
    }
}

impl FromIterator<Pid> for Owners {
    fn from_iter<I: IntoIterator<Item = Pid>>(iter: I) -> Self {
        let mut it = iter.into_iter();
        let Some(first) = it.next() else { return Self(Repr::None) };
        let Some(second) = it.next() else { return Self::one(first) };
        let mut v = vec![first, second];
        v.extend(it);
        Self(Repr::Many(Box::new(v)))
    }
}

impl<'a> IntoIterator for &'a Owners {
    type Item = &'a Pid;
    type IntoIter = std::slice::Iter<'a, Pid>;

    fn into_iter(self) -> Self::IntoIter {
        self.iter()
    }
}

impl Serialize for Owners {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_seq(self.iter())
    }
}

impl<'de> Deserialize<'de> for Owners {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        Vec::<Pid>::deserialize(deserializer).map(Self::from)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn none_one_and_many_read_as_slices_and_round_trip_as_lists() {
        let none = Owners::default();
        let one: Owners = vec![Pid(7)].into();
        let many: Owners = [Pid(3), Pid(9), Pid(12)].into_iter().collect();
        assert!(none.is_empty() && none.iter().next().is_none());
        assert_eq!((&one[..], one.heap_bytes()), (&[Pid(7)][..], 0), "one owner lives inline");
        assert_eq!(&many[..], &[Pid(3), Pid(9), Pid(12)]);
        assert!(many.contains(&Pid(9)) && !many.contains(&Pid(4)));
        for o in [none, one, many] {
            let json = serde_json::to_string(&o).expect("serialize");
            assert_eq!(json, serde_json::to_string(&o.to_vec()).expect("as a list"), "the same JSON as a list of pids");
            assert_eq!(serde_json::from_str::<Owners>(&json).expect("deserialize"), o);
        }
        assert!(std::mem::size_of::<Owners>() <= 16, "no bigger than two words");
    }
}
