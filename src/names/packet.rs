//! From a captured network-layer packet to a DNS answer: the IPv4 or IPv6
//! header, then UDP (or TCP carrying one whole length-prefixed DNS message)
//! from source port 53. Every header field is read with a bounds check;
//! fragments and IPv6 extension headers are skipped (DNS answers rarely
//! use them, and reassembly is not worth its risk here).
//!
//! ```text
//! IPv4  ver/ihl u8 | tos | total len be16 | id | flags/frag be16 | ttl | proto u8 @9 | csum | src @12 | dst @16
//! IPv6  ver u4 ... | payload len be16 @4 | next header u8 @6 | hop | src @8 (16) | dst @24 (16) | payload @40
//! UDP   sport be16 | dport be16 | len be16 | csum | payload @8
//! TCP   sport be16 | dport be16 | seq | ack | data offset u4 @12 (high nibble, in words)
//! ```

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

use super::answer::{DnsAnswer, parse_message};

const PROTO_TCP: u8 = 6;
const PROTO_UDP: u8 = 17;
const DNS_PORT: u16 = 53;

fn be16(b: &[u8], at: usize) -> Option<u16> {
    Some(u16::from_be_bytes([*b.get(at)?, *b.get(at + 1)?]))
}

fn octets<const N: usize>(b: &[u8], at: usize) -> Option<[u8; N]> {
    b.get(at..at + N)?.try_into().ok()
}

/// The network layer of a packet: addresses, transport protocol, payload.
struct Ip<'a> {
    src: IpAddr,
    dst: IpAddr,
    proto: u8,
    payload: &'a [u8],
}

fn ip(packet: &[u8]) -> Option<Ip<'_>> {
    match packet.first()? >> 4 {
        4 => {
            let ihl = usize::from(packet[0] & 0x0f) * 4;
            let total = usize::from(be16(packet, 2)?);
            if ihl < 20 || total < ihl || total > packet.len() {
                return None;
            }
            // More-fragments set or a fragment offset: not a whole datagram.
            if be16(packet, 6)? & 0x3fff != 0 {
                return None;
            }
            Some(Ip {
                src: IpAddr::V4(Ipv4Addr::from(octets::<4>(packet, 12)?)),
                dst: IpAddr::V4(Ipv4Addr::from(octets::<4>(packet, 16)?)),
                proto: *packet.get(9)?,
                payload: packet.get(ihl..total)?,
            })
        }
        6 => {
            let len = usize::from(be16(packet, 4)?);
            Some(Ip {
                src: IpAddr::V6(Ipv6Addr::from(octets::<16>(packet, 8)?)),
                dst: IpAddr::V6(Ipv6Addr::from(octets::<16>(packet, 24)?)),
                proto: *packet.get(6)?,
                payload: packet.get(40..40 + len)?,
            })
        }
        _ => None,
    }
}

/// The DNS message and ports of a UDP or TCP segment from port 53.
fn transport(proto: u8, seg: &[u8]) -> Option<(u16, u16, &[u8])> {
    let sport = be16(seg, 0)?;
    let dport = be16(seg, 2)?;
    if sport != DNS_PORT {
        return None;
    }
    match proto {
        PROTO_UDP => {
            let len = usize::from(be16(seg, 4)?);
            Some((sport, dport, seg.get(8..len)?))
        }
        PROTO_TCP => {
            let offset = usize::from(seg.get(12)? >> 4) * 4;
            if offset < 20 {
                return None;
            }
            let data = seg.get(offset..)?;
            // One whole DNS message behind its two-byte length, or nothing.
            let len = usize::from(be16(data, 0)?);
            if len == 0 || data.len() != len + 2 {
                return None;
            }
            Some((sport, dport, data.get(2..)?))
        }
        _ => None,
    }
}

/// The DNS answer in a network-layer packet (as a `SOCK_DGRAM` packet
/// socket delivers it), or `None` for anything else.
pub fn parse_packet(ip_packet: &[u8]) -> Option<DnsAnswer> {
    let ip = ip(ip_packet)?;
    let (sport, dport, dns) = transport(ip.proto, ip.payload)?;
    parse_message(dns, SocketAddr::new(ip.dst, dport), SocketAddr::new(ip.src, sport))
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::names::answer::tests::cdn_answer;
    use proptest::prelude::*;

    /// An IPv4/UDP packet from 127.0.0.53:53 to 127.0.0.1:40000.
    pub fn udp4(dns: &[u8]) -> Vec<u8> {
        let total = (20 + 8 + dns.len()) as u16;
        let mut p = vec![0x45, 0];
        p.extend_from_slice(&total.to_be_bytes());
        p.extend_from_slice(&[0, 1, 0x40, 0, 64, PROTO_UDP, 0, 0, 127, 0, 0, 53, 127, 0, 0, 1]);
        p.extend_from_slice(&53u16.to_be_bytes());
        p.extend_from_slice(&40000u16.to_be_bytes());
        p.extend_from_slice(&((8 + dns.len()) as u16).to_be_bytes());
        p.extend_from_slice(&[0, 0]);
        p.extend_from_slice(dns);
        p
    }

    fn udp6(dns: &[u8]) -> Vec<u8> {
        let mut p = vec![0x60, 0, 0, 0];
        p.extend_from_slice(&((8 + dns.len()) as u16).to_be_bytes());
        p.extend_from_slice(&[PROTO_UDP, 64]);
        p.extend_from_slice(&Ipv6Addr::LOCALHOST.octets());
        p.extend_from_slice(&Ipv6Addr::LOCALHOST.octets());
        p.extend_from_slice(&53u16.to_be_bytes());
        p.extend_from_slice(&5353u16.to_be_bytes());
        p.extend_from_slice(&((8 + dns.len()) as u16).to_be_bytes());
        p.extend_from_slice(&[0, 0]);
        p.extend_from_slice(dns);
        p
    }

    fn tcp4(dns: &[u8]) -> Vec<u8> {
        let total = (20 + 20 + 2 + dns.len()) as u16;
        let mut p = vec![0x45, 0];
        p.extend_from_slice(&total.to_be_bytes());
        p.extend_from_slice(&[0, 1, 0x40, 0, 64, PROTO_TCP, 0, 0, 127, 0, 0, 53, 127, 0, 0, 1]);
        p.extend_from_slice(&53u16.to_be_bytes());
        p.extend_from_slice(&40001u16.to_be_bytes());
        p.extend_from_slice(&[0; 8]);
        p.extend_from_slice(&[5 << 4, 0x18, 0, 0, 0, 0, 0, 0]);
        p.extend_from_slice(&(dns.len() as u16).to_be_bytes());
        p.extend_from_slice(dns);
        p
    }

    #[test]
    fn udp_over_ipv4_and_ipv6() {
        let a = parse_packet(&udp4(&cdn_answer())).expect("v4");
        assert_eq!(a.client, "127.0.0.1:40000".parse().expect("addr"));
        assert_eq!(a.server, "127.0.0.53:53".parse().expect("addr"));
        assert_eq!(a.qname, "www.example.com");
        let a = parse_packet(&udp6(&cdn_answer())).expect("v6");
        assert_eq!(a.client, "[::1]:5353".parse().expect("addr"));
    }

    #[test]
    fn tcp_with_a_whole_message() {
        let a = parse_packet(&tcp4(&cdn_answer())).expect("tcp");
        assert_eq!(a.client.port(), 40001);
        // A segment holding only part of the message is skipped.
        let mut p = tcp4(&cdn_answer());
        p.truncate(p.len() - 3);
        let total = p.len() as u16;
        p[2..4].copy_from_slice(&total.to_be_bytes());
        assert!(parse_packet(&p).is_none());
    }

    #[test]
    fn other_ports_fragments_and_truncation_are_skipped() {
        let mut p = udp4(&cdn_answer());
        p[20..22].copy_from_slice(&54u16.to_be_bytes());
        assert!(parse_packet(&p).is_none(), "source port 54");
        let mut p = udp4(&cdn_answer());
        p[6] = 0x20;
        assert!(parse_packet(&p).is_none(), "more fragments");
        let p = udp4(&cdn_answer());
        assert!(parse_packet(&p[..p.len() - 1]).is_none(), "shorter than its total length");
        assert!(parse_packet(&[]).is_none());
        assert!(parse_packet(&[0x45]).is_none());
    }

    proptest! {
        #[test]
        fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..600)) {
            let _ = parse_packet(&bytes);
        }

        #[test]
        fn mutated_answers_never_panic(
            edits in proptest::collection::vec((any::<usize>(), any::<u8>()), 1..8),
            cut in any::<usize>(),
            v6 in any::<bool>(),
        ) {
            let dns = cdn_answer();
            let mut p = if v6 { udp6(&dns) } else { udp4(&dns) };
            let header = if v6 { 48 } else { 28 };
            for (at, byte) in edits {
                // Mostly in the DNS message, so the parser gets deep.
                let at = header + at % (p.len() - header);
                p[at] = byte;
            }
            let _ = parse_packet(&p);
            let cut = cut % (p.len() + 1);
            let _ = parse_packet(&p[..cut]);
            // Header fields too.
            let mut q = if v6 { udp6(&dns) } else { udp4(&dns) };
            let at = cut % header;
            q[at] = q[at].wrapping_add(1);
            let _ = parse_packet(&q);
        }
    }
}
