//! One Unix socket's peer, by inode: a targeted `unix_diag` request (not a
//! dump) asking for `UNIX_DIAG_PEER`. Used only for the few shells whose
//! stdin or stdout is a Unix socket (`socat … EXEC:`, a socketpair), to
//! learn which process holds the other end.
//!
//! ```text
//! unix_diag_req (24)   family u8 | protocol u8 | pad u16 | states u32
//!                      | ino u32 | show u32 | cookie [2]u32 (~0: any)
//! unix_diag_msg (16)   family u8 | type u8 | state u8 | pad u8 | ino u32 | cookie [2]u32
//! rtattr*              UNIX_DIAG_PEER (2): peer inode u32
//! ```

use super::message::{NLM_F_REQUEST, NLMSG_ERROR, NLMSG_HDR_LEN, ParseError, SOCK_DIAG_BY_FAMILY};

pub const AF_UNIX: u8 = 1;
const UDIAG_SHOW_PEER: u32 = 0x04;
const UNIX_DIAG_PEER: u16 = 2;
const UNIX_DIAG_MSG_LEN: usize = 16;
/// `INET_DIAG_NOCOOKIE`: the request names the socket by inode alone.
const NO_COOKIE: u32 = u32::MAX;

/// A request for the peer of the Unix socket with this inode.
pub fn unix_peer_request(seq: u32, inode: u32) -> Vec<u8> {
    let body_len = 24;
    let len = (NLMSG_HDR_LEN + body_len) as u32;
    let mut b = Vec::with_capacity(len as usize);
    b.extend_from_slice(&len.to_ne_bytes());
    b.extend_from_slice(&SOCK_DIAG_BY_FAMILY.to_ne_bytes());
    b.extend_from_slice(&NLM_F_REQUEST.to_ne_bytes());
    b.extend_from_slice(&seq.to_ne_bytes());
    b.extend_from_slice(&0u32.to_ne_bytes());
    b.extend_from_slice(&[AF_UNIX, 0, 0, 0]);
    b.extend_from_slice(&u32::MAX.to_ne_bytes()); // every state
    b.extend_from_slice(&inode.to_ne_bytes());
    b.extend_from_slice(&UDIAG_SHOW_PEER.to_ne_bytes());
    b.extend_from_slice(&NO_COOKIE.to_ne_bytes());
    b.extend_from_slice(&NO_COOKIE.to_ne_bytes());
    b
}

fn u16_at(b: &[u8], at: usize) -> u16 {
    u16::from_ne_bytes([b[at], b[at + 1]])
}
fn u32_at(b: &[u8], at: usize) -> u32 {
    u32::from_ne_bytes([b[at], b[at + 1], b[at + 2], b[at + 3]])
}

/// What the reply to [`unix_peer_request`] says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PeerReply {
    /// The socket exists; its peer inode when it has one.
    Found(Option<u32>),
    /// The kernel knows no Unix socket with that inode (closed meanwhile).
    NotFound,
    /// A reply to another request (stale): keep reading.
    Other,
}

/// Parse one reply buffer for the request with `seq`.
pub fn parse_peer_reply(buf: &[u8], seq: u32) -> Result<PeerReply, ParseError> {
    if buf.len() < NLMSG_HDR_LEN {
        return Err(ParseError::Truncated { offset: 0, needed: NLMSG_HDR_LEN, available: buf.len() });
    }
    let len = u32_at(buf, 0) as usize;
    if len < NLMSG_HDR_LEN {
        return Err(ParseError::BadLength { offset: 0, len });
    }
    if len > buf.len() {
        return Err(ParseError::Truncated { offset: 0, needed: len, available: buf.len() });
    }
    if u32_at(buf, 8) != seq {
        return Ok(PeerReply::Other);
    }
    let p = &buf[NLMSG_HDR_LEN..len];
    if u16_at(buf, 4) == NLMSG_ERROR {
        if p.len() < 4 {
            return Err(ParseError::Truncated { offset: NLMSG_HDR_LEN, needed: 4, available: p.len() });
        }
        let code = u32_at(p, 0) as i32;
        return match -code {
            0 => Ok(PeerReply::Found(None)),
            2 => Ok(PeerReply::NotFound), // ENOENT
            errno => Err(ParseError::Kernel { errno }),
        };
    }
    if p.len() < UNIX_DIAG_MSG_LEN {
        return Err(ParseError::Truncated { offset: NLMSG_HDR_LEN, needed: UNIX_DIAG_MSG_LEN, available: p.len() });
    }
    let mut a = UNIX_DIAG_MSG_LEN;
    while a + 4 <= p.len() {
        let alen = u16_at(p, a) as usize;
        let kind = u16_at(p, a + 2);
        if alen < 4 || a + alen > p.len() {
            return Err(ParseError::Truncated { offset: NLMSG_HDR_LEN + a, needed: alen.max(4), available: p.len() - a });
        }
        if kind == UNIX_DIAG_PEER && alen >= 8 {
            let peer = u32_at(p, a + 4);
            return Ok(PeerReply::Found((peer != 0).then_some(peer)));
        }
        a += (alen + 3) & !3;
    }
    Ok(PeerReply::Found(None))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reply(seq: u32, kind: u16, payload: &[u8]) -> Vec<u8> {
        let len = (NLMSG_HDR_LEN + payload.len()) as u32;
        let mut b = Vec::new();
        b.extend_from_slice(&len.to_ne_bytes());
        b.extend_from_slice(&kind.to_ne_bytes());
        b.extend_from_slice(&0u16.to_ne_bytes());
        b.extend_from_slice(&seq.to_ne_bytes());
        b.extend_from_slice(&0u32.to_ne_bytes());
        b.extend_from_slice(payload);
        b
    }

    fn msg_with_peer(peer: Option<u32>) -> Vec<u8> {
        let mut p = vec![AF_UNIX, 1, 1, 0];
        p.extend_from_slice(&777u32.to_ne_bytes());
        p.extend_from_slice(&[0u8; 8]);
        // A name attribute first (UNIX_DIAG_NAME, 5 bytes of payload, padded).
        p.extend_from_slice(&9u16.to_ne_bytes());
        p.extend_from_slice(&0u16.to_ne_bytes());
        p.extend_from_slice(b"/x\0\0\0\0\0\0");
        if let Some(peer) = peer {
            p.extend_from_slice(&8u16.to_ne_bytes());
            p.extend_from_slice(&UNIX_DIAG_PEER.to_ne_bytes());
            p.extend_from_slice(&peer.to_ne_bytes());
        }
        p
    }

    #[test]
    fn request_names_the_inode_and_asks_for_the_peer() {
        let r = unix_peer_request(9, 0x1234);
        assert_eq!(r.len(), 40);
        assert_eq!(u32_at(&r, 0), 40);
        assert_eq!(u16_at(&r, 4), SOCK_DIAG_BY_FAMILY);
        assert_eq!(u16_at(&r, 6), NLM_F_REQUEST, "a lookup, not a dump");
        assert_eq!(r[16], AF_UNIX);
        assert_eq!(u32_at(&r, 24), 0x1234);
        assert_eq!(u32_at(&r, 28), UDIAG_SHOW_PEER);
    }

    #[test]
    fn replies_give_the_peer_or_say_why_not() {
        assert_eq!(parse_peer_reply(&reply(3, SOCK_DIAG_BY_FAMILY, &msg_with_peer(Some(4242))), 3), Ok(PeerReply::Found(Some(4242))));
        assert_eq!(parse_peer_reply(&reply(3, SOCK_DIAG_BY_FAMILY, &msg_with_peer(None)), 3), Ok(PeerReply::Found(None)));
        assert_eq!(parse_peer_reply(&reply(2, SOCK_DIAG_BY_FAMILY, &msg_with_peer(Some(1))), 3), Ok(PeerReply::Other));
        assert_eq!(parse_peer_reply(&reply(3, NLMSG_ERROR, &(-2i32).to_ne_bytes()), 3), Ok(PeerReply::NotFound));
        assert_eq!(parse_peer_reply(&reply(3, NLMSG_ERROR, &(-1i32).to_ne_bytes()), 3), Err(ParseError::Kernel { errno: 1 }));
        let mut cut = reply(3, SOCK_DIAG_BY_FAMILY, &msg_with_peer(Some(4242)));
        cut.truncate(cut.len() - 2);
        assert!(parse_peer_reply(&cut, 3).is_err(), "a cut reply is an error, not a guess");
        assert!(parse_peer_reply(&[0u8; 8], 3).is_err());
    }
}
