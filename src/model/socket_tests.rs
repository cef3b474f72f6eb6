//! The compact socket: what goes in through the constructors comes back
//! out of the accessors unchanged, in 200 bytes.

use std::net::{IpAddr, SocketAddr};

use super::*;
use crate::model::AgeBound;

fn raw(local: &str, netns: Option<NetNs>) -> RawSocket {
    RawSocket {
        key: SocketKey { protocol: Protocol::Tcp, cookie: 7 },
        state: SocketState::Established,
        local: local.parse().expect("local"),
        remote: "203.0.113.9:51000".parse::<SocketAddr>().expect("remote"),
        inode: 1,
        uid: 0,
        owners: Owners::one(Pid(10)),
        tcp: None,
        recv_queue: 0,
        send_queue: 0,
        netns,
    }
}

fn listener(address: &str, port: u16, netns: Option<NetNs>) -> ListenerKey {
    ListenerKey { protocol: Protocol::Tcp, address: address.parse::<IpAddr>().expect("ip"), port, netns }
}

/// Every pass of a refresh reads the whole socket table: a field that
/// makes the socket larger costs every one of them.
#[test]
fn a_socket_stays_at_two_hundred_bytes() {
    assert!(std::mem::size_of::<Socket>() <= 200, "{} bytes", std::mem::size_of::<Socket>());
}

/// The listener an inbound socket was accepted by comes back as it was
/// found: bound to the socket's address, to 0.0.0.0 or to ::, in the
/// socket's namespace.
#[test]
fn the_listener_comes_back_as_it_was_found() {
    let ns = Some(NetNs(4_026_532_000));
    for (local, bound) in [
        ("10.0.0.5:443", "10.0.0.5"),
        ("10.0.0.5:443", "0.0.0.0"),
        ("[2001:db8::5]:443", "::"),
        ("[::ffff:10.0.0.5]:443", "::"),
        ("[::ffff:10.0.0.5]:443", "::ffff:10.0.0.5"),
    ] {
        for netns in [None, ns] {
            let l = listener(bound, 443, netns);
            let s = Socket::new(raw(local, netns), Direction::Inbound, Zone::Public, 1_000).with_listener(Some(l));
            assert_eq!(s.listener(), Some(l), "{local} accepted by {bound}");
        }
    }
    let outbound = Socket::new(raw("10.0.0.5:40000", None), Direction::Outbound, Zone::Public, 1_000).with_listener(None);
    assert_eq!(outbound.listener(), None);
}

/// An age and rates are kept, and so is their absence.
#[test]
fn age_and_rates_are_kept_and_so_is_their_absence() {
    let s = Socket::new(raw("10.0.0.5:40000", None), Direction::Outbound, Zone::Public, 1_000);
    assert_eq!((s.age(), s.send_rate(), s.recv_rate()), (None, None, None));
    let age = SocketAge { ms: 0, bound: AgeBound::AtMost };
    let s = s.with_age(Some(age)).with_rates(Some((0, 12_345_678_901)));
    assert_eq!((s.age(), s.send_rate(), s.recv_rate()), (Some(age), Some(0), Some(12_345_678_901)));
    let s = s.with_age(None).with_rates(None);
    assert_eq!((s.age(), s.send_rate(), s.recv_rate()), (None, None, None));
    assert_eq!(s.first_seen_ms, 1_000);
}
