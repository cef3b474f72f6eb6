//! Lines captured from `instances/…/trace_pipe` on Linux 6.18 (loopback
//! connects from a Python client whose threads renamed themselves).

use super::*;
use proptest::prelude::*;

fn transition(line: &str) -> Transition {
    match parse_line(line) {
        Some(TraceLine::Transition(t)) => t,
        other => panic!("not a transition: {other:?} from {line}"),
    }
}

fn addr(s: &str) -> SocketAddr {
    s.parse().expect("test address")
}

#[test]
fn ipv6_connect_with_spaces_and_dash_in_comm() {
    let t = transition(
        "        my-app 2-1434    [001] .....  6233.221820: inet_sock_set_state: family=AF_INET6 protocol=IPPROTO_TCP sport=0 dport=46679 saddr=0.0.0.0 daddr=0.0.0.0 saddrv6=::1 daddrv6=::1 oldstate=TCP_CLOSE newstate=TCP_SYN_SENT",
    );
    assert_eq!(t.comm, "my-app 2");
    assert_eq!(t.tid, 1434);
    assert_eq!(t.tgid, None);
    assert_eq!(t.ts_us, Some(6_233_221_820));
    assert_eq!(t.local, addr("[::1]:0"));
    assert_eq!(t.remote, addr("[::1]:46679"));
    assert_eq!((t.old, t.new), (CLOSE, SYN_SENT));
}

#[test]
fn ipv4_refused_connect_leaves_syn_sent_with_its_port() {
    let t = transition(
        "        my-app 2-1434    [001] .N...  6233.236662: inet_sock_set_state: family=AF_INET protocol=IPPROTO_TCP sport=60188 dport=1 saddr=127.0.0.1 daddr=127.0.0.1 saddrv6=::ffff:127.0.0.1 daddrv6=::ffff:127.0.0.1 oldstate=TCP_SYN_SENT newstate=TCP_CLOSE",
    );
    assert_eq!(t.local, addr("127.0.0.1:60188"));
    assert_eq!(t.remote, addr("127.0.0.1:1"));
    assert_eq!((t.old, t.new), (SYN_SENT, CLOSE));
}

#[test]
fn ipv4_established() {
    let t = transition(
        "         python3-26298   [001] .....  6002.740655: inet_sock_set_state: family=AF_INET protocol=IPPROTO_TCP sport=45684 dport=49925 saddr=127.0.0.1 daddr=127.0.0.1 saddrv6=::ffff:127.0.0.1 daddrv6=::ffff:127.0.0.1 oldstate=TCP_SYN_SENT newstate=TCP_ESTABLISHED",
    );
    assert_eq!((t.comm.as_str(), t.tid), ("python3", 26298));
    assert_eq!(t.local, addr("127.0.0.1:45684"));
    assert_eq!(t.new, ESTABLISHED);
}

#[test]
fn v4_mapped_connect_from_an_ipv6_socket_keeps_the_mapped_form() {
    let t = transition(
        "        my-app 2-1434    [001] .....  6233.236511: inet_sock_set_state: family=AF_INET6 protocol=IPPROTO_TCP sport=0 dport=43395 saddr=127.0.0.1 daddr=127.0.0.1 saddrv6=::ffff:127.0.0.1 daddrv6=::ffff:127.0.0.1 oldstate=TCP_CLOSE newstate=TCP_SYN_SENT",
    );
    assert_eq!(t.remote, addr("[::ffff:127.0.0.1]:43395"));
}

#[test]
fn unknown_comm_from_the_name_cache() {
    let t = transition(
        "           <...>-26082   [001] .....  5963.752105: inet_sock_set_state: family=AF_INET protocol=IPPROTO_TCP sport=0 dport=1 saddr=127.0.0.1 daddr=127.0.0.1 saddrv6=::ffff:127.0.0.1 daddrv6=::ffff:127.0.0.1 oldstate=TCP_CLOSE newstate=TCP_SYN_SENT",
    );
    assert_eq!((t.comm.as_str(), t.tid), (UNKNOWN_COMM, 26082));
}

#[test]
fn record_tgid_column_with_brackets_in_comm() {
    let t = transition(
        "       wrk-[7] x-1646    (   1562) [000] .....  6234.877065: inet_sock_set_state: family=AF_INET6 protocol=IPPROTO_TCP sport=0 dport=58595 saddr=0.0.0.0 daddr=0.0.0.0 saddrv6=::1 daddrv6=::1 oldstate=TCP_CLOSE newstate=TCP_SYN_SENT",
    );
    assert_eq!((t.comm.as_str(), t.tid, t.tgid), ("wrk-[7] x", 1646, Some(1562)));
    let unresolved = transition(
        "           <...>-26456   (-------) [001] .....  6006.860283: inet_sock_set_state: family=AF_INET protocol=IPPROTO_TCP sport=0 dport=53627 saddr=127.0.0.1 daddr=127.0.0.1 saddrv6=::ffff:127.0.0.1 daddrv6=::ffff:127.0.0.1 oldstate=TCP_CLOSE newstate=TCP_SYN_SENT",
    );
    assert_eq!((unresolved.tid, unresolved.tgid), (26456, None));
}

#[test]
fn without_irq_flags_column() {
    let t = transition(
        "       wrk-[7] x-1850    [000]   6236.504530: inet_sock_set_state: family=AF_INET6 protocol=IPPROTO_TCP sport=0 dport=40265 saddr=0.0.0.0 daddr=0.0.0.0 saddrv6=::1 daddrv6=::1 oldstate=TCP_CLOSE newstate=TCP_SYN_SENT",
    );
    assert_eq!((t.comm.as_str(), t.tid, t.ts_us), ("wrk-[7] x", 1850, Some(6_236_504_530)));
}

#[test]
fn lost_events_line() {
    assert_eq!(parse_line("CPU:1 [LOST 4242 EVENTS]"), Some(TraceLine::Lost(4242)));
    assert_eq!(parse_line("CPU:0 [LOST 7 EVENTS]\n"), Some(TraceLine::Lost(7)));
}

#[test]
fn other_formats_and_events_are_refused() {
    // latency-format: no cpu column; we switch it off in our instance.
    assert_eq!(
        parse_line(
            "my-app 2-1872      0..... 747822us : inet_sock_set_state: family=AF_INET6 protocol=IPPROTO_TCP sport=0 dport=36211 saddr=0.0.0.0 daddr=0.0.0.0 saddrv6=::1 daddrv6=::1 oldstate=TCP_CLOSE newstate=TCP_SYN_SENT"
        ),
        None
    );
    // MPTCP and SCTP share the event; only TCP is ours.
    assert_eq!(
        parse_line(
            "  x-1 [000] ..... 1.000001: inet_sock_set_state: family=AF_INET protocol=IPPROTO_MPTCP sport=0 dport=1 saddr=127.0.0.1 daddr=127.0.0.1 saddrv6=::ffff:127.0.0.1 daddrv6=::ffff:127.0.0.1 oldstate=TCP_CLOSE newstate=TCP_SYN_SENT"
        ),
        None
    );
    assert_eq!(parse_line("  x-1 [000] ..... 1.000001: sched_switch: prev_comm=a"), None);
    assert_eq!(parse_line(""), None);
    assert_eq!(parse_line("-1 [000] 1.0: inet_sock_set_state: family=AF_INET"), None);
}

proptest! {
    #[test]
    fn never_panics(s in ".{0,300}") {
        let _ = parse_line(&s);
    }

    #[test]
    fn never_panics_near_the_real_shape(
        comm in "[ -~\\[\\]()\u{e9}]{0,20}",
        tail in "[ -~]{0,200}",
    ) {
        let _ = parse_line(&format!("{comm}-12 [001] ..... 1.5: inet_sock_set_state: {tail}"));
        let _ = parse_line(&format!("{comm}-12 ({comm}) [1{comm}]: inet_sock_set_state: {tail}"));
    }

    #[test]
    fn any_comm_round_trips(comm in "[!-~][ -~]{0,14}", tid in 1u32..4_194_304) {
        let line = format!("{comm:>16}-{tid:<7} [001] .....  6233.221820: inet_sock_set_state: family=AF_INET protocol=IPPROTO_TCP sport=0 dport=80 saddr=10.0.0.1 daddr=10.0.0.2 saddrv6=::ffff:10.0.0.1 daddrv6=::ffff:10.0.0.2 oldstate=TCP_CLOSE newstate=TCP_SYN_SENT");
        let t = transition(&line);
        prop_assert_eq!(t.comm, comm.trim_start());
        prop_assert_eq!(t.tid, tid);
    }
}
