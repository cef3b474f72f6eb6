//! Crowding: when there are more endpoints than the map may draw, fold them
//! as the spec's grouping strategies say — by subnet, by ASN (when an ASN
//! database is configured), by country — and finally fold what is left into
//! "+N more". Pure: the graph builder uses it with the large size class,
//! the TUI again with the terminal's own class.

use std::collections::BTreeMap;
use std::net::IpAddr;

use super::keys::EndpointKey;
use super::nodes::{EndpointGroupNode, GroupStrategy, GroupZone};
use crate::spec::GroupingRule;
use crate::terms::Zone;

/// What grouping needs to know about one endpoint.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EndpointInfo<'a> {
    pub key: EndpointKey,
    pub zone: Zone,
    pub country: Option<&'a str>,
    pub connections: u64,
}

/// One drawn node: an endpoint alone, or a group of them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Slot {
    Single(EndpointKey),
    Group { group: EndpointGroupNode, members: Vec<EndpointKey> },
}

impl Slot {
    fn connections(&self, conns: &BTreeMap<EndpointKey, u64>) -> u64 {
        match self {
            Self::Single(k) => conns.get(k).copied().unwrap_or(0),
            Self::Group { group, .. } => group.connection_count,
        }
    }
    fn sort_label(&self) -> String {
        match self {
            Self::Single(k) => k.to_string(),
            Self::Group { group, .. } => group.label.clone(),
        }
    }
}

/// The outcome: slots to draw, and notes (a strategy skipped, and why).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Grouping {
    pub slots: Vec<Slot>,
    pub notes: Vec<String>,
}

/// The prefix of `ip` of length `bits`, as a network label (`a.b.c.0/24`).
pub fn subnet_label(ip: IpAddr, prefix_v4: u8, prefix_v6: u8) -> String {
    match ip {
        IpAddr::V4(a) => {
            let bits = u32::from(prefix_v4.min(32));
            let mask = if bits == 0 { 0 } else { u32::MAX << (32 - bits) };
            format!("{}/{}", std::net::Ipv4Addr::from(u32::from(a) & mask), bits)
        }
        IpAddr::V6(a) => {
            let bits = u32::from(prefix_v6.min(128));
            let mask = if bits == 0 { 0 } else { u128::MAX << (128 - bits) };
            format!("{}/{}", std::net::Ipv6Addr::from(u128::from(a) & mask), bits)
        }
    }
}

fn group_zone<'a>(members: impl Iterator<Item = &'a Zone>) -> GroupZone {
    let mut zone = None;
    for z in members {
        match zone {
            None => zone = Some(*z),
            Some(prev) if prev != *z => return GroupZone::Mixed,
            Some(_) => {}
        }
    }
    zone.map_or(GroupZone::Mixed, GroupZone::from)
}

fn make_group(label: String, strategy: GroupStrategy, members: Vec<EndpointKey>, info: &BTreeMap<EndpointKey, EndpointInfo<'_>>) -> Slot {
    let zone = group_zone(members.iter().filter_map(|m| info.get(m).map(|i| &i.zone)));
    let connection_count = members.iter().filter_map(|m| info.get(m)).map(|i| i.connections).sum();
    let group = EndpointGroupNode {
        label,
        strategy,
        zone,
        members: members.iter().map(ToString::to_string).collect(),
        member_count: members.len() as u64,
        connection_count,
    };
    Slot::Group { group, members }
}

/// The bucket an endpoint falls in under one strategy, if any.
type BucketFn = Box<dyn Fn(&EndpointInfo<'_>) -> Option<String>>;

/// Fold `endpoints` into at most `max` slots.
pub fn group_endpoints(endpoints: &[EndpointInfo<'_>], rules: &[GroupingRule], max: usize) -> Grouping {
    let info: BTreeMap<EndpointKey, EndpointInfo<'_>> = endpoints.iter().map(|e| (e.key, *e)).collect();
    let conns: BTreeMap<EndpointKey, u64> = endpoints.iter().map(|e| (e.key, e.connections)).collect();
    let mut singles: Vec<EndpointKey> = info.keys().copied().collect();
    let mut groups: Vec<Slot> = Vec::new();
    let mut notes = Vec::new();
    let max = max.max(1);
    let count = |singles: &Vec<EndpointKey>, groups: &Vec<Slot>| singles.len() + groups.len();

    for rule in rules {
        if count(&singles, &groups) <= max {
            break;
        }
        let (strategy, min_members, bucket_of): (GroupStrategy, usize, BucketFn) = match *rule {
            GroupingRule::Ip { .. } => continue,
            GroupingRule::Subnet { prefix_v4, prefix_v6, min_members } => {
                (GroupStrategy::Subnet, min_members, Box::new(move |e| Some(subnet_label(e.key.ip, prefix_v4, prefix_v6))))
            }
            GroupingRule::Asn { .. } => {
                notes.push("grouping by ASN skipped: no ASN database is configured".to_string());
                continue;
            }
            GroupingRule::Country { min_members } => (GroupStrategy::Country, min_members, Box::new(|e| e.country.map(|c| format!("country {c}")))),
        };
        let mut buckets: BTreeMap<String, Vec<EndpointKey>> = BTreeMap::new();
        for key in &singles {
            if let Some(b) = info.get(key).and_then(&bucket_of) {
                buckets.entry(b).or_default().push(*key);
            }
        }
        let mut ordered: Vec<(String, Vec<EndpointKey>)> = buckets.into_iter().filter(|(_, m)| m.len() >= min_members.max(2)).collect();
        ordered.sort_by(|a, b| b.1.len().cmp(&a.1.len()).then_with(|| a.0.cmp(&b.0)));
        for (label, members) in ordered {
            if count(&singles, &groups) <= max {
                break;
            }
            singles.retain(|k| !members.contains(k));
            groups.push(make_group(label, strategy, members, &info));
        }
    }

    let mut slots: Vec<Slot> = singles.into_iter().map(Slot::Single).chain(groups).collect();
    if slots.len() > max {
        slots.sort_by(|a, b| b.connections(&conns).cmp(&a.connections(&conns)).then_with(|| a.sort_label().cmp(&b.sort_label())));
        let rest = slots.split_off(max - 1);
        let members: Vec<EndpointKey> = rest
            .into_iter()
            .flat_map(|s| match s {
                Slot::Single(k) => vec![k],
                Slot::Group { members, .. } => members,
            })
            .collect();
        let label = format!("+{} more", members.len());
        slots.push(make_group(label, GroupStrategy::Overflow, members, &info));
    }
    slots.sort_by_key(Slot::sort_label);
    Grouping { slots, notes }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ep(ip: &str, country: Option<&'static str>, connections: u64) -> EndpointInfo<'static> {
        let ip: IpAddr = ip.parse().expect("ip");
        EndpointInfo { key: EndpointKey::host(ip), zone: Zone::of(ip), country, connections }
    }

    fn rules() -> Vec<GroupingRule> {
        vec![
            GroupingRule::Ip { min_members: 1 },
            GroupingRule::Subnet { prefix_v4: 24, prefix_v6: 64, min_members: 2 },
            GroupingRule::Asn { min_members: 2 },
            GroupingRule::Country { min_members: 2 },
        ]
    }

    #[test]
    fn nothing_is_folded_when_it_fits() {
        let eps = [ep("203.0.113.1", None, 1), ep("203.0.113.2", None, 1)];
        let g = group_endpoints(&eps, &rules(), 8);
        assert_eq!(g.slots.len(), 2);
        assert!(g.slots.iter().all(|s| matches!(s, Slot::Single(_))));
        assert!(g.notes.is_empty());
    }

    #[test]
    fn subnets_fold_first_then_countries_then_overflow() {
        let mut eps = vec![];
        for i in 1..=5 {
            eps.push(ep(&format!("203.0.113.{i}"), Some("AU"), 1));
        }
        eps.push(ep("198.51.100.1", Some("DE"), 9));
        eps.push(ep("192.0.2.1", Some("DE"), 1));
        eps.push(ep("2001:db8::1", Some("NL"), 1));
        // 8 endpoints, room for 4: the /24 of five folds (8 → 4).
        let g = group_endpoints(&eps, &rules(), 4);
        assert_eq!(g.slots.len(), 4);
        let group = g.slots.iter().find_map(|s| match s {
            Slot::Group { group, .. } => Some(group),
            Slot::Single(_) => None,
        });
        let group = group.expect("a group");
        assert_eq!(group.label, "203.0.113.0/24");
        assert_eq!(group.strategy, GroupStrategy::Subnet);
        assert_eq!(group.member_count, 5);
        assert_eq!(group.zone, GroupZone::Public);
        assert!(g.notes.is_empty(), "subnets sufficed: the ASN strategy was never reached");
        // Room for 3: the two DE addresses fold by country too.
        let g = group_endpoints(&eps, &rules(), 3);
        let labels: Vec<String> = g.slots.iter().map(Slot::sort_label).collect();
        assert_eq!(labels, vec!["2001:db8::1", "203.0.113.0/24", "country DE"]);
        assert_eq!(g.notes, vec!["grouping by ASN skipped: no ASN database is configured".to_string()]);
        // Room for 2: the busiest stays, the rest become "+N more".
        let g = group_endpoints(&eps, &rules(), 2);
        let labels: Vec<String> = g.slots.iter().map(Slot::sort_label).collect();
        assert_eq!(labels, vec!["+6 more", "country DE"]);
    }

    #[test]
    fn subnet_labels_mask_the_host_bits() {
        assert_eq!(subnet_label("203.0.113.77".parse().expect("ip"), 24, 64), "203.0.113.0/24");
        assert_eq!(subnet_label("2001:db8:1:2:3::9".parse().expect("ip"), 24, 64), "2001:db8:1:2::/64");
        assert_eq!(subnet_label("10.9.8.7".parse().expect("ip"), 0, 0), "0.0.0.0/0");
    }
}
