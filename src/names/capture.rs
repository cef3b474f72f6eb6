//! Passive DNS: a packet socket that sees every DNS answer arriving in
//! its network namespace, on every interface, without asking anything.
//! The kernel filters (classic BPF, below) so only packets from port 53
//! reach user space; each is parsed, attributed to the asking UDP socket
//! when `sock_diag` still finds it, and put in the cache.
//!
//! Needs `CAP_NET_RAW`; without it the socket cannot open and capture
//! reports why in health. Loopback shows each packet twice (out and in),
//! so identical packets within a second are counted once, before parsing.

use std::collections::HashMap;
use std::hash::{BuildHasher, Hash};
use std::io::Read;
use std::os::unix::fs::MetadataExt;
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

use socket2::{Domain, SockFilter, Socket, Type};

use super::diag::DiagLookup;
use super::packet::parse_packet;
use super::shared::{Shared, bump, lock, now_ms};

/// `ETH_P_ALL`: every protocol (the kernel wants it in network order).
const ETH_P_ALL: u16 = 0x0003;
/// Receive buffer asked for: about 4000 answers of burst.
const RECV_BUF: usize = 4 * 1024 * 1024;
/// How long a read waits before the thread looks at the stop flag.
const POLL: Duration = Duration::from_millis(100);
/// Window in which an identical answer is a loopback duplicate.
const DEDUP_MS: i64 = 1000;
/// Bytes kept of a packet: a UDP DNS answer fits in 64 KiB.
const SNAP: usize = 65_536;

// Classic BPF opcodes (linux/bpf_common.h).
const LD_B_ABS: u16 = 0x30;
const LD_H_ABS: u16 = 0x28;
const LD_H_IND: u16 = 0x48;
const LDX_B_MSH: u16 = 0xb1;
const ALU_RSH_K: u16 = 0x74;
const JEQ_K: u16 = 0x15;
const JSET_K: u16 = 0x45;
const RET_K: u16 = 0x06;

/// The filter as `(code, jt, jf, k)`: IPv4 or IPv6 (no extension
/// headers), UDP or TCP, source port 53. Cooked packets start at the IP
/// header, so the family is the first nibble. Jump offsets count from the
/// next instruction.
const PROGRAM: [(u16, u8, u8, u32); 19] = [
    (LD_B_ABS, 0, 0, 0),        // 0: A = packet[0]
    (ALU_RSH_K, 0, 0, 4),       // 1: A >>= 4 (IP version)
    (JEQ_K, 0, 8, 4),           // 2: IPv4 ? 3 : 11
    (LD_B_ABS, 0, 0, 9),        // 3: A = IPv4 protocol
    (JEQ_K, 1, 0, 17),          // 4: UDP ? 6 : 5
    (JEQ_K, 0, 12, 6),          // 5: TCP ? 6 : drop
    (LD_H_ABS, 0, 0, 6),        // 6: A = flags/fragment offset
    (JSET_K, 10, 0, 0x1fff),    // 7: a later fragment (no ports) ? drop : 8
    (LDX_B_MSH, 0, 0, 0),       // 8: X = 4 * (packet[0] & 0xf), the header length
    (LD_H_IND, 0, 0, 0),        // 9: A = source port, at X
    (JEQ_K, 6, 7, 53),          // 10: port 53 ? accept : drop
    (JEQ_K, 0, 6, 6),           // 11: IPv6 ? 12 : drop
    (LD_B_ABS, 0, 0, 6),        // 12: A = IPv6 next header
    (JEQ_K, 1, 0, 17),          // 13: UDP ? 15 : 14
    (JEQ_K, 0, 3, 6),           // 14: TCP ? 15 : drop
    (LD_H_ABS, 0, 0, 40),       // 15: A = source port, after the 40-byte header
    (JEQ_K, 0, 1, 53),          // 16: port 53 ? accept : drop
    (RET_K, 0, 0, SNAP as u32), // 17: accept, up to SNAP bytes
    (RET_K, 0, 0, 0),           // 18: drop
];

/// The filter for `attach_filter`.
pub fn dns_filter() -> Vec<SockFilter> {
    PROGRAM.iter().map(|&(code, jt, jf, k)| SockFilter::new(code, jt, jf, k)).collect()
}

/// Open the filtered packet socket.
pub fn open() -> std::io::Result<Socket> {
    let socket = Socket::new(Domain::PACKET, Type::DGRAM, Some(i32::from(ETH_P_ALL.to_be()).into()))?;
    socket.attach_filter(&dns_filter())?;
    // A smaller buffer than asked is still a working one.
    let _ = socket.set_recv_buffer_size(RECV_BUF);
    socket.set_read_timeout(Some(POLL))?;
    Ok(socket)
}

/// Answers seen within the last second, to drop the loopback echo.
#[derive(Debug, Default)]
pub struct Dedup {
    seen: HashMap<u64, i64>,
    hasher: std::collections::hash_map::RandomState,
    pruned_ms: i64,
}

impl Dedup {
    /// Whether `item` (a packet's bytes, an answer) was already seen within
    /// [`DEDUP_MS`] of `now_ms`; records it otherwise.
    pub fn is_duplicate<T: Hash + ?Sized>(&mut self, item: &T, now_ms: i64) -> bool {
        if now_ms - self.pruned_ms > DEDUP_MS {
            self.seen.retain(|_, &mut at| now_ms - at < DEDUP_MS);
            self.pruned_ms = now_ms;
        }
        let key = self.hasher.hash_one(item);
        match self.seen.get(&key) {
            Some(&at) if now_ms - at < DEDUP_MS => true,
            _ => {
                self.seen.insert(key, now_ms);
                false
            }
        }
    }

    pub fn len(&self) -> usize {
        self.seen.len()
    }

    pub fn is_empty(&self) -> bool {
        self.seen.is_empty()
    }
}

/// Start capture: opens the socket here (so failure is known at once) and
/// reads on a thread. `Err` is the reason capture is off.
pub(crate) fn spawn(shared: Arc<Shared>) -> Result<JoinHandle<()>, String> {
    let socket = open().map_err(|e| match e.raw_os_error() {
        Some(1) => format!("needs root or CAP_NET_RAW to read DNS answers ({e})"),
        _ => format!("cannot open a packet socket: {e}"),
    })?;
    let buf = socket.recv_buffer_size().unwrap_or(0);
    *lock(&shared.capture_status) = Some(Ok(format!("receive buffer {} KiB", buf / 1024)));
    std::thread::Builder::new().name("names-capture".into()).spawn(move || run(&socket, &shared)).map_err(|e| format!("cannot start the capture thread: {e}"))
}

fn run(socket: &Socket, shared: &Shared) {
    let netns = std::fs::metadata("/proc/thread-self/ns/net").ok().map(|m| m.ino() as u32);
    let mut diag = DiagLookup::open().ok();
    let mut dedup = Dedup::default();
    let mut buf = vec![0u8; SNAP];
    let c = &shared.counters;
    while !shared.stopping() {
        let n = match (&*socket).read(&mut buf) {
            Ok(n) => n,
            Err(e) if matches!(e.kind(), std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut | std::io::ErrorKind::Interrupted) => continue,
            Err(_) => {
                bump(&c.recv_errors);
                std::thread::sleep(POLL);
                continue;
            }
        };
        bump(&c.packets);
        let packet = &buf[..n.min(buf.len())];
        let now = now_ms();
        // The loopback echo is byte for byte the same packet: drop it
        // before paying for the parse.
        if dedup.is_duplicate(packet, now) {
            bump(&c.duplicates);
            continue;
        }
        let Some(answer) = parse_packet(packet) else {
            bump(&c.not_answers);
            continue;
        };
        bump(&c.answers);
        let asker = diag.as_mut().and_then(|d| d.udp_socket(answer.client, answer.server)).map(|a| super::cache::Asker { netns, ..a });
        bump(if asker.is_some() { &c.asker_found } else { &c.asker_missing });
        shared.cache().insert_answer(&answer, asker, now);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::names::answer::tests::cdn_answer;
    use crate::names::packet::tests::udp4;

    #[test]
    fn identical_packets_within_a_second_count_once() {
        let a = udp4(&cdn_answer());
        let mut d = Dedup::default();
        assert!(!d.is_duplicate(a.as_slice(), 10_000));
        assert!(d.is_duplicate(a.as_slice(), 10_500), "the loopback echo");
        let mut other = a.clone();
        // Another DNS id: another query's answer.
        other[28] ^= 1;
        assert!(!d.is_duplicate(other.as_slice(), 10_600), "a new query is not a duplicate");
        assert!(!d.is_duplicate(a.as_slice(), 11_001), "the same packet a second later is new");
        // Pruning keeps only the last second.
        assert!(!d.is_duplicate(other.as_slice(), 12_100));
        assert_eq!(d.len(), 1);
    }

    /// A classic BPF interpreter for the opcodes [`PROGRAM`] uses: what
    /// the kernel would return for `packet` (0 = drop).
    fn run_filter(packet: &[u8]) -> u32 {
        let byte = |at: usize| packet.get(at).map(|&b| u32::from(b));
        let half = |at: usize| Some((byte(at)? << 8) | byte(at + 1)?);
        let (mut a, mut x, mut pc) = (0u32, 0u32, 0usize);
        loop {
            let (code, jt, jf, k) = PROGRAM[pc];
            pc += 1;
            let loaded = match code {
                LD_B_ABS => byte(k as usize),
                LD_H_ABS => half(k as usize),
                LD_H_IND => half((x + k) as usize),
                _ => Some(a),
            };
            // An out-of-bounds load ends the program with 0, as in the kernel.
            let Some(loaded) = loaded else { return 0 };
            match code {
                LD_B_ABS | LD_H_ABS | LD_H_IND => a = loaded,
                LDX_B_MSH => x = 4 * (byte(k as usize).unwrap_or(0) & 0xf),
                ALU_RSH_K => a >>= k,
                JEQ_K => pc += usize::from(if a == k { jt } else { jf }),
                JSET_K => pc += usize::from(if a & k != 0 { jt } else { jf }),
                RET_K => return k,
                _ => panic!("opcode {code:#x} not in the interpreter"),
            }
        }
    }

    #[test]
    fn filter_keeps_dns_answers_only() {
        let answer = udp4(&cdn_answer());
        assert_eq!(run_filter(&answer), SNAP as u32);
        let mut other = answer.clone();
        other[20..22].copy_from_slice(&54u16.to_be_bytes());
        assert_eq!(run_filter(&other), 0, "source port 54");
        let mut query = answer.clone();
        query[20..22].copy_from_slice(&40000u16.to_be_bytes());
        query[22..24].copy_from_slice(&53u16.to_be_bytes());
        assert_eq!(run_filter(&query), 0, "a query to port 53");
        let mut icmp = answer.clone();
        icmp[9] = 1;
        assert_eq!(run_filter(&icmp), 0);
        let mut options = answer.clone();
        // IHL 6: the ports are read 4 bytes later (here: zeros, so dropped).
        options[0] = 0x46;
        assert_eq!(run_filter(&options), 0);
        let mut later_fragment = answer.clone();
        later_fragment[7] = 1;
        assert_eq!(run_filter(&later_fragment), 0);
        // IPv6, UDP from port 53.
        let mut v6 = vec![0x60, 0, 0, 0, 0, 8, 17, 64];
        v6.extend_from_slice(&[0; 32]);
        v6.extend_from_slice(&[0, 53, 0x9c, 0x40, 0, 8, 0, 0]);
        assert_eq!(run_filter(&v6), SNAP as u32);
        v6[6] = 58;
        assert_eq!(run_filter(&v6), 0, "ICMPv6");
        assert_eq!(run_filter(&[]), 0);
    }
}
