use super::*;

/// Build one reply message as the kernel would.
struct Msg {
    family: u8,
    state: u8,
    sport: u16,
    dport: u16,
    src: [u8; 16],
    dst: [u8; 16],
    cookie: u64,
    uid: u32,
    inode: u32,
    tcp_info: Option<Vec<u8>>,
}

impl Msg {
    fn v4(state: u8, src: [u8; 4], sport: u16, dst: [u8; 4], dport: u16) -> Self {
        let mut s = [0u8; 16];
        s[..4].copy_from_slice(&src);
        let mut d = [0u8; 16];
        d[..4].copy_from_slice(&dst);
        Self { family: AF_INET, state, sport, dport, src: s, dst: d, cookie: 0x1122_3344_5566_7788, uid: 1000, inode: 4242, tcp_info: None }
    }

    fn bytes(&self, seq: u32) -> Vec<u8> {
        let mut body = vec![self.family, self.state, 0, 0];
        body.extend_from_slice(&self.sport.to_be_bytes());
        body.extend_from_slice(&self.dport.to_be_bytes());
        body.extend_from_slice(&self.src);
        body.extend_from_slice(&self.dst);
        body.extend_from_slice(&0u32.to_ne_bytes()); // if
        body.extend_from_slice(&(self.cookie as u32).to_ne_bytes());
        body.extend_from_slice(&((self.cookie >> 32) as u32).to_ne_bytes());
        body.extend_from_slice(&0u32.to_ne_bytes()); // expires
        body.extend_from_slice(&3u32.to_ne_bytes()); // rqueue
        body.extend_from_slice(&5u32.to_ne_bytes()); // wqueue
        body.extend_from_slice(&self.uid.to_ne_bytes());
        body.extend_from_slice(&self.inode.to_ne_bytes());
        if let Some(info) = &self.tcp_info {
            let alen = (4 + info.len()) as u16;
            body.extend_from_slice(&alen.to_ne_bytes());
            body.extend_from_slice(&2u16.to_ne_bytes());
            body.extend_from_slice(info);
            while body.len() % 4 != 0 {
                body.push(0);
            }
        }
        frame(20, seq, &body)
    }
}

fn frame(kind: u16, seq: u32, body: &[u8]) -> Vec<u8> {
    let mut b = Vec::new();
    b.extend_from_slice(&((16 + body.len()) as u32).to_ne_bytes());
    b.extend_from_slice(&kind.to_ne_bytes());
    b.extend_from_slice(&2u16.to_ne_bytes()); // NLM_F_MULTI
    b.extend_from_slice(&seq.to_ne_bytes());
    b.extend_from_slice(&0u32.to_ne_bytes());
    b.extend_from_slice(body);
    b
}

fn tcp_info(len: usize, rtt: u32, acked: u64, received: u64) -> Vec<u8> {
    let mut info = vec![0u8; len];
    if len >= 72 {
        info[68..72].copy_from_slice(&rtt.to_ne_bytes());
    }
    if len >= 136 {
        info[120..128].copy_from_slice(&acked.to_ne_bytes());
        info[128..136].copy_from_slice(&received.to_ne_bytes());
    }
    if len >= 152 {
        // No round-trip sample yet, as the kernel says it.
        info[148..152].copy_from_slice(&u32::MAX.to_ne_bytes());
    }
    info
}

#[test]
fn requests_have_the_kernel_layout() {
    let legacy = legacy_tcp_request(7, ALL_STATES);
    assert_eq!(legacy.len(), 16 + 60);
    assert_eq!(u32::from_ne_bytes(legacy[0..4].try_into().expect("4")), 76);
    assert_eq!(u16::from_ne_bytes([legacy[4], legacy[5]]), TCPDIAG_GETSOCK);
    assert_eq!(u16::from_ne_bytes([legacy[6], legacy[7]]), NLM_F_REQUEST | NLM_F_DUMP);
    assert_eq!(legacy[19], 2, "ext asks for INET_DIAG_INFO");
    let v2 = family_request(9, AF_INET6, IPPROTO_UDP, ALL_STATES);
    assert_eq!(v2.len(), 16 + 56);
    assert_eq!(&v2[16..20], &[AF_INET6, IPPROTO_UDP, 0, 0]);
    assert_eq!(u32::from_ne_bytes(v2[20..24].try_into().expect("4")), 0xffff_ffff);
    // The probe is the legacy request asking for no state: states sit
    // after the 4-byte head and the 48-byte socket id.
    let probe = tcp_probe_request(3);
    assert_eq!(probe.len(), legacy.len());
    assert_eq!(u32::from_ne_bytes(probe[16 + 52..16 + 56].try_into().expect("4")), 0);
    assert_eq!(u32::from_ne_bytes(legacy[16 + 52..16 + 56].try_into().expect("4")), 0xffff_ffff);
    let hashed = legacy_tcp_request(7, HASHED_TCP_STATES);
    assert_eq!(u32::from_ne_bytes(hashed[16 + 52..16 + 56].try_into().expect("4")), 0xffff_dbff, "no listening (10) or bound-only (13) state");
    let v2 = family_request(9, AF_INET, IPPROTO_TCP, HASHED_TCP_STATES);
    assert_eq!(u32::from_ne_bytes(v2[20..24].try_into().expect("4")), 0xffff_dbff);
}

#[test]
fn parses_an_ipv4_socket_with_tcp_info() {
    let mut m = Msg::v4(1, [127, 0, 0, 1], 40000, [127, 0, 0, 2], 8080);
    m.tcp_info = Some(tcp_info(232, 1500, 1_000_000, 2_000));
    let mut buf = m.bytes(1);
    buf.extend(frame(NLMSG_DONE, 1, &0i32.to_ne_bytes()));
    let mut out = Vec::new();
    assert_eq!(parse_dump(&buf, 1, Protocol::Tcp, &mut out), Ok(Progress::Done));
    assert_eq!(out.len(), 1);
    let s = &out[0];
    assert_eq!(s.state, SocketState::Established);
    assert_eq!(s.local.to_string(), "127.0.0.1:40000");
    assert_eq!(s.remote.to_string(), "127.0.0.2:8080");
    assert_eq!(s.key.cookie, 0x1122_3344_5566_7788);
    assert_eq!((s.uid, s.inode, s.recv_queue, s.send_queue), (1000, 4242, 3, 5));
    assert_eq!(s.tcp, Some(TcpCounters { bytes_acked: 1_000_000, bytes_received: 2_000, rtt_us: 1500, min_rtt_us: None }));
}

#[test]
fn short_tcp_info_from_old_kernels_keeps_rtt_and_drops_counters() {
    let mut m = Msg::v4(1, [10, 0, 0, 1], 1, [10, 0, 0, 2], 2);
    m.tcp_info = Some(tcp_info(104, 900, 5, 5));
    let mut out = Vec::new();
    assert_eq!(parse_dump(&m.bytes(1), 1, Protocol::Tcp, &mut out), Ok(Progress::More));
    assert_eq!(out[0].tcp, Some(TcpCounters { bytes_acked: 0, bytes_received: 0, rtt_us: 900, min_rtt_us: None }));
    let mut tiny = Msg::v4(1, [10, 0, 0, 1], 1, [10, 0, 0, 2], 2);
    tiny.tcp_info = Some(vec![0; 8]);
    out.clear();
    parse_dump(&tiny.bytes(1), 1, Protocol::Tcp, &mut out).expect("parses");
    assert_eq!(out[0].tcp, None);
}

#[test]
fn ipv6_and_v4_mapped_addresses_are_parsed_and_normalised() {
    let mut m = Msg::v4(10, [0; 4], 22, [0; 4], 0);
    m.family = AF_INET6;
    m.src = "::ffff:192.0.2.7".parse::<Ipv6Addr>().expect("v6").octets();
    m.dst = "2001:db8::9".parse::<Ipv6Addr>().expect("v6").octets();
    let mut out = Vec::new();
    parse_dump(&m.bytes(4), 4, Protocol::Tcp, &mut out).expect("parses");
    assert_eq!(out[0].state, SocketState::Listen);
    assert_eq!(out[0].local.to_string(), "192.0.2.7:22");
    assert_eq!(out[0].remote.to_string(), "[2001:db8::9]:0");
}

#[test]
fn udp_states_map_to_udp_and_unconn() {
    let mut buf = Msg::v4(7, [0, 0, 0, 0], 53, [0; 4], 0).bytes(1);
    buf.extend(Msg::v4(1, [127, 0, 0, 1], 5000, [127, 0, 0, 1], 53).bytes(1));
    let mut out = Vec::new();
    parse_dump(&buf, 1, Protocol::Udp, &mut out).expect("parses");
    assert_eq!(out.iter().map(|s| s.state).collect::<Vec<_>>(), vec![SocketState::Unconn, SocketState::Udp]);
    assert!(out.iter().all(|s| s.key.protocol == Protocol::Udp));
}

#[test]
fn kernel_error_message_is_reported_with_errno() {
    let mut body = (-1i32).to_ne_bytes().to_vec(); // -EPERM
    body.extend_from_slice(&[0u8; 16]);
    let err = parse_dump(&frame(NLMSG_ERROR, 3, &body), 3, Protocol::Tcp, &mut Vec::new()).expect_err("error");
    assert_eq!(err, ParseError::Kernel { errno: 1 });
    assert!(err.to_string().contains("refused"));
    // An error inside NLMSG_DONE counts too.
    let err = parse_dump(&frame(NLMSG_DONE, 3, &(-22i32).to_ne_bytes()), 3, Protocol::Tcp, &mut Vec::new()).expect_err("error");
    assert_eq!(err, ParseError::Kernel { errno: 22 });
    // errno 0 is an acknowledgement.
    assert_eq!(parse_dump(&frame(NLMSG_ERROR, 3, &0i32.to_ne_bytes()), 3, Protocol::Tcp, &mut Vec::new()), Ok(Progress::Done));
}

#[test]
fn truncated_messages_are_errors_not_panics() {
    let full = Msg::v4(1, [127, 0, 0, 1], 1, [127, 0, 0, 1], 2).bytes(1);
    for cut in 1..full.len() {
        let r = parse_dump(&full[..cut], 1, Protocol::Tcp, &mut Vec::new());
        assert!(matches!(r, Err(ParseError::Truncated { .. })), "cut at {cut}: {r:?}");
    }
    // A header whose length claims less than a header.
    let mut bad = full.clone();
    bad[0..4].copy_from_slice(&8u32.to_ne_bytes());
    assert!(matches!(parse_dump(&bad, 1, Protocol::Tcp, &mut Vec::new()), Err(ParseError::BadLength { len: 8, .. })));
    // A diag message shorter than inet_diag_msg.
    let short = frame(20, 1, &[2, 1, 0, 0]);
    assert!(matches!(parse_dump(&short, 1, Protocol::Tcp, &mut Vec::new()), Err(ParseError::Truncated { needed: 72, .. })));
    // An attribute running past its message.
    let mut m = Msg::v4(1, [127, 0, 0, 1], 1, [127, 0, 0, 1], 2);
    m.tcp_info = Some(vec![0; 16]);
    let mut b = m.bytes(1);
    let attr_at = 16 + 72;
    b[attr_at..attr_at + 2].copy_from_slice(&200u16.to_ne_bytes());
    assert!(matches!(parse_dump(&b, 1, Protocol::Tcp, &mut Vec::new()), Err(ParseError::Truncated { .. })));
}

#[test]
fn stale_sequence_numbers_and_unknown_families_are_skipped() {
    let mut buf = Msg::v4(1, [127, 0, 0, 1], 1, [127, 0, 0, 1], 2).bytes(99);
    let mut unix = Msg::v4(1, [0; 4], 0, [0; 4], 0);
    unix.family = 1;
    buf.extend(unix.bytes(5));
    buf.extend(frame(NLMSG_DONE, 99, &0i32.to_ne_bytes()));
    buf.extend(frame(NLMSG_DONE, 5, &0i32.to_ne_bytes()));
    let mut out = Vec::new();
    assert_eq!(parse_dump(&buf, 5, Protocol::Tcp, &mut out), Ok(Progress::Done));
    assert!(out.is_empty());
}

/// Destroy events captured from Linux 6.18 (one datagram each, as received).
mod captured {
    pub const TCP4_SERVER_5_9_BYTES: &[u8] = include_bytes!("../../../tests/fixtures/sock_diag/tcp4_server_5_9_bytes.bin");
    pub const TCP4_REFUSED: &[u8] = include_bytes!("../../../tests/fixtures/sock_diag/tcp4_refused.bin");
    pub const TCP4_LINGER0_CLIENT: &[u8] = include_bytes!("../../../tests/fixtures/sock_diag/tcp4_linger0_client.bin");
    pub const TCP4_LISTENER: &[u8] = include_bytes!("../../../tests/fixtures/sock_diag/tcp4_listener.bin");
    pub const TCP6_MAPPED_SERVER: &[u8] = include_bytes!("../../../tests/fixtures/sock_diag/tcp6_mapped_server.bin");
    pub const UDP4_CONNECTED: &[u8] = include_bytes!("../../../tests/fixtures/sock_diag/udp4_connected.bin");
    pub const UDP6_UNCONNECTED: &[u8] = include_bytes!("../../../tests/fixtures/sock_diag/udp6_unconnected.bin");
}

fn one_event(datagram: &[u8]) -> RawSocket {
    let mut out = Vec::new();
    parse_events(datagram, &mut out).expect("parses");
    assert_eq!(out.len(), 1);
    out.remove(0)
}

#[test]
fn a_tcp_destroy_event_has_the_final_counters_and_no_owner() {
    let s = one_event(captured::TCP4_SERVER_5_9_BYTES);
    assert_eq!(s.key.protocol, Protocol::Tcp);
    assert_eq!(s.key.cookie, 232_709);
    assert_eq!(s.state, SocketState::Close, "destroyed TCP sockets are CLOSE");
    assert_eq!(s.local.to_string(), "127.0.0.1:41381");
    assert_eq!(s.remote.to_string(), "127.0.0.1:43782");
    // The kernel fills neither uid nor inode in events.
    assert_eq!((s.uid, s.inode), (0, 0));
    assert_eq!(s.tcp, Some(TcpCounters { bytes_acked: 10, bytes_received: 6, rtt_us: 13, min_rtt_us: Some(5) }));
}

#[test]
fn refused_and_abortive_closes_lose_counters_but_not_the_rtt_sample() {
    // connect() to a closed port: the kernel's disconnect zeroed the local
    // address and remote port; no round trip was ever measured.
    let refused = one_event(captured::TCP4_REFUSED);
    assert_eq!((refused.local.to_string().as_str(), refused.remote.to_string().as_str()), ("0.0.0.0:60278", "127.0.0.1:0"));
    assert_eq!(refused.tcp, Some(TcpCounters { bytes_acked: 0, bytes_received: 0, rtt_us: 0, min_rtt_us: None }));
    // SO_LINGER 0 after moving 5 and 9 bytes: the same reset, but the
    // minimum RTT of the handshake survives it.
    let aborted = one_event(captured::TCP4_LINGER0_CLIENT);
    assert_eq!(aborted.remote.port(), 0);
    assert_eq!(aborted.tcp, Some(TcpCounters { bytes_acked: 0, bytes_received: 0, rtt_us: 0, min_rtt_us: Some(8) }));
    // A closed listener is a destroyed socket too, with no peer.
    let listener = one_event(captured::TCP4_LISTENER);
    assert_eq!((listener.state, listener.remote.to_string().as_str()), (SocketState::Close, "0.0.0.0:0"));
    assert_eq!(listener.tcp.and_then(|t| t.min_rtt_us), None);
}

#[test]
fn ipv6_events_normalise_mapped_addresses() {
    let s = one_event(captured::TCP6_MAPPED_SERVER);
    assert_eq!(s.local.to_string(), "127.0.0.1:41097");
    assert_eq!(s.remote.to_string(), "127.0.0.1:47844");
    assert_eq!(s.tcp.map(|t| (t.bytes_acked, t.bytes_received, t.min_rtt_us)), Some((1, 1, Some(17))));
}

#[test]
fn udp_events_say_udp_in_their_protocol_attribute() {
    let connected = one_event(captured::UDP4_CONNECTED);
    assert_eq!((connected.key.protocol, connected.state), (Protocol::Udp, SocketState::Udp));
    assert_eq!(connected.remote.port(), 9);
    assert_eq!(connected.tcp, None);
    let unconnected = one_event(captured::UDP6_UNCONNECTED);
    assert_eq!((unconnected.key.protocol, unconnected.state), (Protocol::Udp, SocketState::Unconn));
    assert!(unconnected.local.is_ipv6());
}

#[test]
fn event_datagrams_may_hold_several_messages_and_skip_what_they_cannot_name() {
    let mut buf = captured::UDP4_CONNECTED.to_vec();
    buf.extend_from_slice(captured::TCP4_SERVER_5_9_BYTES);
    // Without INET_DIAG_PROTOCOL an event names no protocol: skipped.
    buf.extend(Msg::v4(1, [127, 0, 0, 1], 1, [127, 0, 0, 1], 2).bytes(0));
    // A protocol other than TCP or UDP (here SCTP): skipped.
    let mut sctp = captured::UDP4_CONNECTED.to_vec();
    let protocol_at = 16 + 72 + 4;
    assert_eq!(sctp[protocol_at], IPPROTO_UDP);
    sctp[protocol_at] = 132;
    buf.extend(sctp);
    buf.extend(frame(NLMSG_NOOP, 0, &[]));
    let mut out = Vec::new();
    parse_events(&buf, &mut out).expect("parses");
    assert_eq!(out.iter().map(|s| s.key.protocol).collect::<Vec<_>>(), vec![Protocol::Udp, Protocol::Tcp]);
}

#[test]
fn truncated_events_are_errors_not_panics() {
    let full = captured::TCP4_SERVER_5_9_BYTES;
    for cut in 1..full.len() {
        let r = parse_events(&full[..cut], &mut Vec::new());
        assert!(matches!(r, Err(ParseError::Truncated { .. })), "cut at {cut}: {r:?}");
    }
}

#[test]
fn dumps_read_the_minimum_rtt_and_know_when_there_is_none() {
    let mut info = tcp_info(232, 1500, 10, 20);
    let mut m = Msg::v4(1, [127, 0, 0, 1], 1, [127, 0, 0, 1], 2);
    m.tcp_info = Some(info.clone());
    let mut out = Vec::new();
    parse_dump(&m.bytes(1), 1, Protocol::Tcp, &mut out).expect("parses");
    assert_eq!(out[0].tcp.and_then(|t| t.min_rtt_us), None, "~0 means no sample");
    info[148..152].copy_from_slice(&42u32.to_ne_bytes());
    m.tcp_info = Some(info);
    out.clear();
    parse_dump(&m.bytes(1), 1, Protocol::Tcp, &mut out).expect("parses");
    assert_eq!(out[0].tcp.and_then(|t| t.min_rtt_us), Some(42));
}

#[test]
fn errno_i32_min_does_not_overflow() {
    let err = parse_dump(&frame(NLMSG_ERROR, 3, &i32::MIN.to_ne_bytes()), 3, Protocol::Tcp, &mut Vec::new()).expect_err("error");
    assert_eq!(err, ParseError::Kernel { errno: i32::MAX });
    let _ = err.to_string();
    let err = parse_dump(&frame(NLMSG_DONE, 3, &i32::MIN.to_ne_bytes()), 3, Protocol::Tcp, &mut Vec::new()).expect_err("error");
    assert_eq!(err, ParseError::Kernel { errno: i32::MAX });
}

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig::with_cases(512))]
    #[test]
    fn arbitrary_bytes_never_panic_the_parsers(bytes in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..512), seq in 0u32..4) {
        let _ = parse_dump(&bytes, seq, Protocol::Tcp, &mut Vec::new());
        let _ = parse_events(&bytes, &mut Vec::new());
        let _ = parse_inet_msg(&bytes, Some(Protocol::Udp), 0);
    }

    #[test]
    fn framed_arbitrary_bodies_never_panic(kind in 0u16..24, body in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..256)) {
        let _ = parse_dump(&frame(kind, 1, &body), 1, Protocol::Tcp, &mut Vec::new());
        let _ = parse_events(&frame(kind, 1, &body), &mut Vec::new());
    }
}

/// The state numbers the requests leave out are the ones the parser reads
/// as listening and bound-only.
#[test]
fn the_states_left_out_are_listening_and_bound_only() {
    use crate::model::{Protocol, SocketState};
    let state = |code: u32| SocketState::from_kernel(Protocol::Tcp, u8::try_from(code).expect("a small number"));
    assert_eq!(state(TCP_LISTEN), Some(SocketState::Listen));
    assert_eq!(state(TCP_BOUND_INACTIVE), Some(SocketState::BoundInactive));
}
