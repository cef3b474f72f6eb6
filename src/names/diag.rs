//! Who asked: an exact `sock_diag` lookup of one UDP socket by its four
//! addresses (not a dump), giving its inode and uid. The kernel's UDP
//! lookup reads the request as an arriving packet: `src` is the remote end
//! (the server), `dst` the socket's own address (checked live: the other
//! order finds the server's socket when both are on this host). Wire format as in `collect::netlink::message` (that module is
//! private to the collector, and this needs only the one request).
//!
//! ```text
//! nlmsghdr (16)          len u32 | type u16 = 20 | flags u16 = REQUEST | seq u32 | pid u32
//! inet_diag_req_v2 (56)  family u8 | protocol u8 | ext u8 | pad u8 | states u32
//!                        id: sport be16 | dport be16 | src [16] | dst [16] | if u32 | cookie [2]u32
//! reply inet_diag_msg    ... uid u32 @64 | inode u32 @68 (after the 16-byte header)
//! ```

use std::net::{IpAddr, SocketAddr};
use std::os::fd::OwnedFd;

use rustix::net::netlink::{self, SocketAddrNetlink};
use rustix::net::{AddressFamily, RecvFlags, SendFlags, SocketFlags, SocketType, recv, sendto, socket_with};

use super::cache::Asker;

const NLMSG_HDR_LEN: usize = 16;
const NLMSG_ERROR: u16 = 2;
const SOCK_DIAG_BY_FAMILY: u16 = 20;
const NLM_F_REQUEST: u16 = 1;
const AF_INET: u8 = 2;
const AF_INET6: u8 = 10;
const IPPROTO_UDP: u8 = 17;
/// `INET_DIAG_NOCOOKIE`: match any socket, not one incarnation.
const NO_COOKIE: u32 = u32::MAX;

/// A `sock_diag` socket for exact lookups.
#[derive(Debug)]
pub struct DiagLookup {
    fd: OwnedFd,
    seq: u32,
    buf: Vec<u8>,
}

fn addr_bytes(ip: IpAddr) -> [u8; 16] {
    let mut out = [0u8; 16];
    match ip {
        IpAddr::V4(v4) => out[..4].copy_from_slice(&v4.octets()),
        IpAddr::V6(v6) => out = v6.octets(),
    }
    out
}

/// The request for the UDP socket with `src`/`dst` as the kernel reads them.
pub fn request(seq: u32, src: SocketAddr, dst: SocketAddr) -> Vec<u8> {
    let family = if src.is_ipv4() { AF_INET } else { AF_INET6 };
    let len = NLMSG_HDR_LEN + 56;
    let mut b = Vec::with_capacity(len);
    b.extend_from_slice(&(len as u32).to_ne_bytes());
    b.extend_from_slice(&SOCK_DIAG_BY_FAMILY.to_ne_bytes());
    b.extend_from_slice(&NLM_F_REQUEST.to_ne_bytes());
    b.extend_from_slice(&seq.to_ne_bytes());
    b.extend_from_slice(&0u32.to_ne_bytes());
    b.extend_from_slice(&[family, IPPROTO_UDP, 0, 0]);
    b.extend_from_slice(&u32::MAX.to_ne_bytes());
    b.extend_from_slice(&src.port().to_be_bytes());
    b.extend_from_slice(&dst.port().to_be_bytes());
    b.extend_from_slice(&addr_bytes(src.ip()));
    b.extend_from_slice(&addr_bytes(dst.ip()));
    b.extend_from_slice(&0u32.to_ne_bytes());
    b.extend_from_slice(&NO_COOKIE.to_ne_bytes());
    b.extend_from_slice(&NO_COOKIE.to_ne_bytes());
    b
}

fn u32_ne(b: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_ne_bytes(b.get(at..at + 4)?.try_into().ok()?))
}

/// The asker in a reply to request `seq`: `Some(None)` for "no such
/// socket" (an error reply), `None` when the buffer holds neither.
pub fn parse_reply(buf: &[u8], seq: u32) -> Option<Option<Asker>> {
    let mut at = 0;
    while at + NLMSG_HDR_LEN <= buf.len() {
        let len = u32_ne(buf, at)? as usize;
        if len < NLMSG_HDR_LEN || at + len > buf.len() {
            return None;
        }
        let kind = u16::from_ne_bytes(buf.get(at + 4..at + 6)?.try_into().ok()?);
        if u32_ne(buf, at + 8)? == seq {
            if kind == NLMSG_ERROR {
                return Some(None);
            }
            if kind == SOCK_DIAG_BY_FAMILY {
                let msg = buf.get(at + NLMSG_HDR_LEN..at + len)?;
                return Some(Some(Asker { uid: u32_ne(msg, 64)?, inode: u32_ne(msg, 68)?, netns: None }));
            }
        }
        at += (len + 3) & !3;
    }
    None
}

impl DiagLookup {
    pub fn open() -> std::io::Result<Self> {
        let fd = socket_with(AddressFamily::NETLINK, SocketType::RAW, SocketFlags::CLOEXEC, Some(netlink::SOCK_DIAG))?;
        Ok(Self { fd, seq: 0, buf: vec![0; 8192] })
    }

    /// The UDP socket with local address `local` talking to `remote`.
    pub fn udp_socket(&mut self, local: SocketAddr, remote: SocketAddr) -> Option<Asker> {
        if local.is_ipv4() != remote.is_ipv4() {
            return None;
        }
        // The kernel matches `src` as the remote end. Never try the other
        // order: on one host it finds the peer socket (the DNS server's)
        // and would name the wrong asker.
        self.ask(remote, local)
    }

    fn ask(&mut self, src: SocketAddr, dst: SocketAddr) -> Option<Asker> {
        self.seq = self.seq.wrapping_add(1);
        let seq = self.seq;
        sendto(&self.fd, &request(seq, src, dst), SendFlags::empty(), &SocketAddrNetlink::new(0, 0)).ok()?;
        // Replies to this request come at once; a few reads cover stale ones.
        for _ in 0..4 {
            let (n, _) = recv(&self.fd, &mut self.buf[..], RecvFlags::empty()).ok()?;
            if let Some(found) = parse_reply(&self.buf[..n.min(self.buf.len())], seq) {
                return found;
            }
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn request_layout() {
        let r = request(9, "127.0.0.53:53".parse().expect("a"), "127.0.0.1:40000".parse().expect("a"));
        assert_eq!(r.len(), 72);
        assert_eq!(&r[16..18], &[AF_INET, IPPROTO_UDP]);
        assert_eq!(&r[24..26], &53u16.to_be_bytes());
        assert_eq!(&r[26..28], &40000u16.to_be_bytes());
        assert_eq!(&r[28..32], &[127, 0, 0, 53]);
        assert_eq!(&r[44..48], &[127, 0, 0, 1]);
        assert_eq!(&r[64..72], &[0xff; 8]);
    }

    #[test]
    fn reply_parsing_is_bounded() {
        assert_eq!(parse_reply(&[], 1), None);
        let mut b = vec![0u8; 16 + 72];
        b[0..4].copy_from_slice(&(88u32).to_ne_bytes());
        b[4..6].copy_from_slice(&SOCK_DIAG_BY_FAMILY.to_ne_bytes());
        b[8..12].copy_from_slice(&5u32.to_ne_bytes());
        b[16 + 64..16 + 68].copy_from_slice(&1000u32.to_ne_bytes());
        b[16 + 68..16 + 72].copy_from_slice(&4242u32.to_ne_bytes());
        assert_eq!(parse_reply(&b, 5), Some(Some(Asker { inode: 4242, uid: 1000, netns: None })));
        assert_eq!(parse_reply(&b, 6), None);
        assert_eq!(parse_reply(&b[..80], 5), None);
        b[4..6].copy_from_slice(&NLMSG_ERROR.to_ne_bytes());
        assert_eq!(parse_reply(&b, 5), Some(None));
    }
}
