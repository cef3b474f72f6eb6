//! Reverse lookups: a PTR query for an address nobody named, made on a
//! thread of its own so the caller never waits. Requests are queued
//! without blocking (a full queue drops and counts), de-duplicated,
//! rate-limited (a token bucket), and an address that gave nothing is not
//! asked again for five minutes (the cache's negative entries).
//!
//! Answers are trusted only if they come from the server asked, carry the
//! id we chose and repeat our question; anything else is counted and
//! ignored (an off-path spoofer must guess a 16-bit id and a port).

use std::collections::{HashMap, HashSet, VecDeque};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, UdpSocket};
use std::path::Path;
use std::sync::Arc;
use std::sync::mpsc::{Receiver, RecvTimeoutError, TryRecvError};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use hickory_proto::op::{Message, MessageType, Query, ResponseCode};
use hickory_proto::rr::{Name, RData, RecordType};

use super::answer::clean_name;
use super::cache::NameSource;
use super::shared::{Shared, bump, now_ms};

/// Requests waiting for the thread; more are dropped.
pub const QUEUE: usize = 4096;
/// How long an answer is waited for before the address counts as unnamed.
const TIMEOUT: Duration = Duration::from_secs(3);
/// Most queries in flight at once.
const MAX_PENDING: usize = 256;
/// How long one socket read waits.
const POLL: Duration = Duration::from_millis(20);

/// Whether `ip` is one the network at large can name: not loopback,
/// link-local, private (RFC 1918, ULA, CGNAT), multicast or unspecified.
/// Asking about those leaks the local network to an outside resolver and
/// rarely gets an answer.
pub fn is_private(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => {
            let o = v4.octets();
            v4.is_loopback()
                || v4.is_link_local()
                || v4.is_private()
                || v4.is_unspecified()
                || v4.is_multicast()
                || v4.is_broadcast()
                || (o[0] == 100 && (o[1] & 0xc0) == 64)
        }
        IpAddr::V6(v6) => {
            if let Some(v4) = v6.to_ipv4_mapped() {
                return is_private(IpAddr::V4(v4));
            }
            let s = v6.segments();
            v6.is_loopback() || v6.is_unspecified() || v6.is_multicast() || (s[0] & 0xfe00) == 0xfc00 || (s[0] & 0xffc0) == 0xfe80
        }
    }
}

/// The first `nameserver` of resolv.conf text, on port 53.
pub fn nameserver(text: &str) -> Option<SocketAddr> {
    text.lines().find_map(|line| {
        let mut f = line.split_whitespace();
        (f.next()? == "nameserver").then_some(())?;
        let addr = f.next()?;
        // A scoped IPv6 address (fe80::1%eth0) cannot be named without its scope.
        addr.parse::<IpAddr>().ok().map(|ip| SocketAddr::new(ip, 53))
    })
}

/// The system's resolver from `/etc/resolv.conf`.
pub fn system_server() -> Option<SocketAddr> {
    super::file::read_small(Path::new("/etc/resolv.conf")).ok().and_then(|t| nameserver(&t))
}

/// A PTR query for `ip` with id `id`.
pub fn ptr_query(ip: IpAddr, id: u16) -> Option<(Name, Vec<u8>)> {
    let name = Name::from(ip);
    let mut m = Message::new(id, MessageType::Query, hickory_proto::op::OpCode::Query);
    m.metadata.recursion_desired = true;
    m.add_query(Query::query(name.clone(), RecordType::PTR));
    Some((name, m.to_vec().ok()?))
}

/// What a reply to one of our queries said.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PtrReply {
    /// Names with their TTL.
    Names(Vec<(String, u32)>),
    /// NXDOMAIN, an empty answer or a server error: no name for now.
    Negative,
}

/// The reply in `bytes`, if it answers query `id` for `qname`.
pub fn parse_ptr_reply(bytes: &[u8], id: u16, qname: &Name) -> Option<PtrReply> {
    let m = Message::from_vec(bytes).ok()?;
    if m.metadata.id != id || m.metadata.message_type != MessageType::Response {
        return None;
    }
    let [q] = m.queries.as_slice() else { return None };
    if q.query_type != RecordType::PTR || q.name != *qname {
        return None;
    }
    if m.metadata.response_code != ResponseCode::NoError {
        return Some(PtrReply::Negative);
    }
    let names: Vec<(String, u32)> = m
        .answers
        .iter()
        .filter_map(|r| match &r.data {
            RData::PTR(p) => clean_name(&p.0).map(|n| (n, r.ttl)),
            _ => None,
        })
        .take(super::cache::NAMES_PER_ADDR)
        .collect();
    Some(if names.is_empty() { PtrReply::Negative } else { PtrReply::Names(names) })
}

/// A query in flight.
#[derive(Debug)]
struct Pending {
    ip: IpAddr,
    name: Name,
    sent: Instant,
}

/// Tokens for `rate` queries a second, with a burst of one second's worth.
#[derive(Debug)]
struct Bucket {
    rate: f64,
    tokens: f64,
    at: Instant,
}

impl Bucket {
    fn new(rate: u32) -> Self {
        let rate = f64::from(rate.max(1));
        Self { rate, tokens: rate, at: Instant::now() }
    }

    fn take(&mut self) -> bool {
        let now = Instant::now();
        self.tokens = (self.tokens + now.duration_since(self.at).as_secs_f64() * self.rate).min(self.rate);
        self.at = now;
        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            true
        } else {
            false
        }
    }
}

/// Start the lookup thread for `server`, fed by `rx`.
pub(crate) fn spawn(shared: Arc<Shared>, rx: Receiver<IpAddr>, server: SocketAddr, rate: u32) -> Result<JoinHandle<()>, String> {
    let local: SocketAddr = if server.is_ipv4() { (Ipv4Addr::UNSPECIFIED, 0).into() } else { (Ipv6Addr::UNSPECIFIED, 0).into() };
    let socket = UdpSocket::bind(local).map_err(|e| format!("cannot open a UDP socket: {e}"))?;
    // Connected: the kernel delivers only the server's datagrams, and the
    // socket shows with its peer, not as a UDP listener on a high port
    // (which necromap's own rules would flag).
    socket.connect(server).map_err(|e| format!("cannot reach the DNS server {server}: {e}"))?;
    socket.set_read_timeout(Some(POLL)).map_err(|e| format!("cannot set a read timeout: {e}"))?;
    let worker = Worker {
        shared,
        rx,
        socket,
        server,
        bucket: Bucket::new(rate),
        queued: VecDeque::new(),
        busy: HashSet::new(),
        pending: HashMap::new(),
        buf: vec![0; 4096],
    };
    std::thread::Builder::new().name("names-reverse".into()).spawn(move || worker.run()).map_err(|e| format!("cannot start the reverse-lookup thread: {e}"))
}

/// The lookup thread's state.
#[derive(Debug)]
struct Worker {
    shared: Arc<Shared>,
    rx: Receiver<IpAddr>,
    socket: UdpSocket,
    server: SocketAddr,
    bucket: Bucket,
    queued: VecDeque<IpAddr>,
    /// Addresses queued or in flight (de-duplication).
    busy: HashSet<IpAddr>,
    pending: HashMap<u16, Pending>,
    buf: Vec<u8>,
}

impl Worker {
    fn run(mut self) {
        while !self.shared.stopping() {
            if !self.take_requests() {
                return;
            }
            self.send_some();
            if self.pending.is_empty() {
                continue;
            }
            self.receive();
            self.expire();
        }
    }

    /// Move requests from the channel to the queue; waits a little when
    /// idle. `false` once every sender is gone.
    fn take_requests(&mut self) -> bool {
        if self.pending.is_empty() && self.queued.is_empty() {
            match self.rx.recv_timeout(Duration::from_millis(100)) {
                Ok(ip) => self.enqueue(ip),
                Err(RecvTimeoutError::Timeout) => return true,
                Err(RecvTimeoutError::Disconnected) => return false,
            }
        }
        loop {
            match self.rx.try_recv() {
                Ok(ip) => self.enqueue(ip),
                Err(TryRecvError::Empty) => return true,
                Err(TryRecvError::Disconnected) => return false,
            }
        }
    }

    fn enqueue(&mut self, ip: IpAddr) {
        let now = now_ms();
        let known = {
            let cache = self.shared.cache();
            cache.lookup(ip, now).is_some() || cache.is_negative(ip, now)
        };
        if !known && self.queued.len() < QUEUE && self.busy.insert(ip) {
            self.queued.push_back(ip);
        }
    }

    fn send_some(&mut self) {
        while self.pending.len() < MAX_PENDING && !self.queued.is_empty() && self.bucket.take() {
            let Some(ip) = self.queued.pop_front() else { return };
            let mut id = rand_id();
            while self.pending.contains_key(&id) {
                id = id.wrapping_add(1);
            }
            let Some((name, bytes)) = ptr_query(ip, id) else {
                self.busy.remove(&ip);
                continue;
            };
            if self.socket.send(&bytes).is_ok() {
                bump(&self.shared.counters.ptr_sent);
                self.pending.insert(id, Pending { ip, name, sent: Instant::now() });
            } else {
                self.busy.remove(&ip);
            }
        }
    }

    fn receive(&mut self) {
        let Ok((n, from)) = self.socket.recv_from(&mut self.buf) else { return };
        let c = &self.shared.counters;
        let bytes = &self.buf[..n.min(self.buf.len())];
        let Some(id) = bytes.get(..2).map(|b| u16::from_be_bytes([b[0], b[1]])) else { return };
        let reply = if from == self.server { self.pending.get(&id).and_then(|p| parse_ptr_reply(bytes, id, &p.name)) } else { None };
        let (Some(reply), Some(p)) = (reply, self.pending.get(&id)) else {
            bump(&c.ptr_rejected);
            return;
        };
        let ip = p.ip;
        self.pending.remove(&id);
        self.busy.remove(&ip);
        let now = now_ms();
        let mut cache = self.shared.cache();
        match reply {
            PtrReply::Names(names) => {
                bump(&c.ptr_answered);
                // Reversed, so the first name of the answer ends up first.
                for (name, ttl) in names.iter().rev() {
                    cache.insert_name(ip, name, NameSource::Ptr, *ttl, None, now);
                }
            }
            PtrReply::Negative => {
                bump(&c.ptr_negative);
                cache.insert_negative(ip, now);
            }
        }
    }

    /// Give up on queries unanswered for [`TIMEOUT`]: no name, for now.
    fn expire(&mut self) {
        let late: Vec<u16> = self.pending.iter().filter(|(_, p)| p.sent.elapsed() > TIMEOUT).map(|(&id, _)| id).collect();
        for id in late {
            if let Some(p) = self.pending.remove(&id) {
                self.busy.remove(&p.ip);
                bump(&self.shared.counters.ptr_negative);
                self.shared.cache().insert_negative(p.ip, now_ms());
            }
        }
    }
}

/// A query id from the kernel's random source (an off-path attacker must
/// guess it), falling back to the clock.
fn rand_id() -> u16 {
    let mut b = [0u8; 2];
    match rustix::rand::getrandom(&mut b, rustix::rand::GetRandomFlags::empty()) {
        Ok(2) => u16::from_ne_bytes(b),
        _ => now_ms() as u16,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use hickory_proto::op::OpCode;
    use hickory_proto::rr::Record;
    use hickory_proto::rr::rdata::PTR;
    use std::str::FromStr;

    #[test]
    fn private_addresses() {
        for a in [
            "127.0.0.1",
            "10.1.2.3",
            "172.16.0.1",
            "192.168.1.1",
            "169.254.1.1",
            "100.64.0.1",
            "100.127.255.255",
            "0.0.0.0",
            "::1",
            "::",
            "fe80::1",
            "fd00::1",
            "::ffff:10.0.0.1",
            "224.0.0.1",
        ] {
            assert!(is_private(a.parse().expect("ip")), "{a}");
        }
        for a in ["8.8.8.8", "100.128.0.1", "100.63.0.1", "2606:4700::1111", "::ffff:1.1.1.1"] {
            assert!(!is_private(a.parse().expect("ip")), "{a}");
        }
    }

    #[test]
    fn resolv_conf_first_nameserver() {
        assert_eq!(nameserver("# x\nsearch lan\nnameserver 127.0.0.53\nnameserver 8.8.8.8\n"), Some("127.0.0.53:53".parse().expect("a")));
        assert_eq!(nameserver("nameserver ::1\n"), Some("[::1]:53".parse().expect("a")));
        assert_eq!(nameserver("nameserver bogus\n"), None);
        assert_eq!(nameserver(""), None);
    }

    fn reply(id: u16, qname: &Name, rcode: ResponseCode, ptr: Option<&str>) -> Vec<u8> {
        let mut m = Message::error_msg(id, OpCode::Query, rcode);
        m.add_query(Query::query(qname.clone(), RecordType::PTR));
        if let Some(p) = ptr {
            m.add_answer(Record::from_rdata(qname.clone(), 600, RData::PTR(PTR(Name::from_str(p).expect("name")))));
        }
        m.to_vec().expect("encode")
    }

    #[test]
    fn replies_are_checked_before_being_trusted() {
        let ip: IpAddr = "192.0.2.7".parse().expect("ip");
        let (name, query) = ptr_query(ip, 77).expect("query");
        assert_eq!(name.to_ascii(), "7.2.0.192.in-addr.arpa.");
        assert_eq!(Message::from_vec(&query).expect("decode").queries[0].query_type, RecordType::PTR);
        let good = reply(77, &name, ResponseCode::NoError, Some("Host.Example."));
        assert_eq!(parse_ptr_reply(&good, 77, &name), Some(PtrReply::Names(vec![("host.example".into(), 600)])));
        assert_eq!(parse_ptr_reply(&good, 78, &name), None, "another id");
        let other = Name::from(IpAddr::from([192, 0, 2, 8]));
        assert_eq!(parse_ptr_reply(&reply(77, &other, ResponseCode::NoError, Some("x.")), 77, &name), None, "another question");
        assert_eq!(parse_ptr_reply(&reply(77, &name, ResponseCode::NXDomain, None), 77, &name), Some(PtrReply::Negative));
        assert_eq!(parse_ptr_reply(&reply(77, &name, ResponseCode::NoError, None), 77, &name), Some(PtrReply::Negative));
        assert_eq!(parse_ptr_reply(&query, 77, &name), None, "our own query echoed");
        assert_eq!(parse_ptr_reply(b"\x00\x4d", 77, &name), None);
    }

    #[test]
    fn bucket_limits_the_rate() {
        let mut b = Bucket::new(5);
        let taken = (0..100).filter(|_| b.take()).count();
        assert!((5..=6).contains(&taken), "{taken}");
    }
}
