//! The remote address's conditions are remembered per address, and the
//! remembered outcome is the one a fresh check gives.

use std::sync::Arc;

use super::*;
use crate::model::{History, Observation, Pid, ProcessFacts, Protocol, RawSocket, SnapshotBuilder, SocketKey, SocketState, SourceInfo, SourceKind};
use crate::rules::item::ProcessLookup;

fn sock(cookie: u64, remote: &str, owner: u32) -> RawSocket {
    RawSocket {
        key: SocketKey { protocol: Protocol::Tcp, cookie },
        state: SocketState::Established,
        local: format!("10.0.0.5:{}", 40_000 + cookie).parse().expect("local"),
        remote: remote.parse().expect("remote"),
        inode: 1_000 + cookie as u32,
        uid: 1000,
        owners: [Pid(owner)].into_iter().collect(),
        tcp: None,
        recv_queue: 0,
        send_queue: 0,
        netns: None,
    }
}

#[test]
fn a_remote_s_conditions_are_remembered_per_address_and_agree_with_a_fresh_check() {
    let m: Match = serde_yaml::from_str(
        "{ direction: outbound, remote_port_in: [443, 8443], remote_ip_in: [203.0.113.0/24], not: { remote_ip_in: [203.0.113.128/25] }, any_of: [ { process_name_in: [curl] }, { remote_ip_in: [203.0.113.0/28] } ] }",
    )
    .expect("match");
    let c = Conditions::compile(&m).expect("compiles");
    let levels: Vec<Level> = c.all.iter().map(Condition::level).collect();
    assert_eq!(c.remote.len(), 2, "remote_ip_in and the NOT of one are about the address: {levels:?}");
    assert_eq!(c.socket.0.len(), 3, "direction, the port, and the OR that mixes a process and an address");
    assert_eq!(c.socket.1, 2, "the field compare and the short list run before the remembered outcome");
    assert_eq!(c.past_bucket, (c.socket.0[1..].to_vec(), 1), "in an outbound bucket the direction is not asked again");
    assert!(!c.process_only());

    // Sockets of two processes to four places, each place met more than
    // once and not only in a row.
    let remotes = ["203.0.113.5:443", "203.0.113.200:443", "198.51.100.1:443", "203.0.113.40:8443", "203.0.113.5:80"];
    let obs = Observation {
        taken_at_ms: 1_000,
        sockets: (0..20).map(|i| sock(i, remotes[(i as usize * 3) % remotes.len()], if i % 2 == 0 { 10 } else { 20 })).collect(),
        processes: vec![
            ProcessFacts { pid: 10, name: "curl".into(), ..ProcessFacts::default() },
            ProcessFacts { pid: 20, name: "app".into(), ..ProcessFacts::default() },
        ],
        privileged: true,
        ..Observation::default()
    };
    let mut b = SnapshotBuilder::new(Arc::new(crate::spec::Spec::embedded()));
    let snap = b.build(obs, SourceInfo { kind: SourceKind::Replay, host: "t".into(), detail: String::new() }, None);
    let (history, ioc) = (History::new(), IocSet::new());
    let ctx = Context::new(&snap, &history, &ioc, None);
    let processes = ProcessLookup::of(&snap);
    let mut memo = Memo::default();
    let mut matched = Vec::new();
    for s in &snap.sockets {
        let item = Item::of_socket(&processes, s);
        let remembered = c.check(&item, &ctx, &mut memo);
        assert_eq!(remembered, c.holds(&item, &ctx), "socket {} to {}", s.key(), s.raw.remote);
        if remembered {
            matched.push((s.raw.remote.to_string(), s.owner().map(|p| p.0)));
        }
    }
    // Four addresses pass the cheap checks (203.0.113.5 on 443 and on 80
    // is one address): one outcome each.
    assert_eq!(memo.remote_outcomes.len(), 4, "one outcome per address");
    matched.sort();
    matched.dedup();
    // 203.0.113.5 is in the /24 and outside the /25: curl (any_of's first)
    // and app (the /28) both; 203.0.113.40 only for curl; .200 is excluded.
    assert_eq!(matched, [("203.0.113.40:8443".to_string(), Some(10)), ("203.0.113.5:443".to_string(), Some(10)), ("203.0.113.5:443".to_string(), Some(20))]);
}
