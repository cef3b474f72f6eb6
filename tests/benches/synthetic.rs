//! A synthetic busy host for benchmarks: no sockets are opened, the
//! snapshot is built from made-up kernel rows through the real builder.

// Shared by several benchmarks, each using part of it.
#![allow(dead_code)]

use std::sync::Arc;

use necromap::collect::{Observation, SourceInfo, SourceKind};
use necromap::model::{Evaluator, Owners, Pid, ProcessFacts, Protocol, RawSocket, Snapshot, SnapshotBuilder, SocketKey, SocketState, TcpCounters};
use necromap::spec::Spec;

/// A busy host: 8 processes, `n` sockets to 2,000 public endpoints and a
/// loopback service, with listeners and a spread of states.
pub fn busy_snapshot(n: usize) -> Snapshot {
    busy_snapshot_with(n, None)
}

/// The same, with rules (or any evaluator) run over it.
pub fn busy_snapshot_with(n: usize, evaluator: Option<&mut dyn Evaluator>) -> Snapshot {
    let spec = Arc::new(Spec::embedded());
    SnapshotBuilder::new(spec).build(busy_observation(n), info(), evaluator)
}

/// Where the synthetic host's snapshots say they come from.
pub fn info() -> SourceInfo {
    SourceInfo { kind: SourceKind::Replay, host: "busy".into(), detail: "synthetic".into() }
}

/// The busy host's kernel rows and processes, before any building.
pub fn busy_observation(n: usize) -> Observation {
    let mut obs = Observation { taken_at_ms: 1_000_000, privileged: true, ..Observation::default() };
    let states =
        [SocketState::Established, SocketState::Established, SocketState::Established, SocketState::TimeWait, SocketState::CloseWait, SocketState::SynSent];
    for pid in 1..=8u32 {
        obs.processes.push(ProcessFacts {
            pid: 100 + pid,
            ppid: 1,
            name: format!("worker{pid}"),
            cmdline: format!("/usr/bin/worker --id {pid}"),
            exe: Some("/usr/bin/worker".into()),
            uid: 1000,
            ..ProcessFacts::default()
        });
        obs.sockets.push(RawSocket {
            key: SocketKey { protocol: Protocol::Tcp, cookie: u64::from(pid) },
            state: SocketState::Listen,
            local: ([0, 0, 0, 0], 8000 + pid as u16).into(),
            remote: ([0, 0, 0, 0], 0).into(),
            inode: pid,
            uid: 1000,
            owners: Owners::one(Pid(100 + pid)),
            tcp: None,
            recv_queue: 0,
            send_queue: 0,
            netns: None,
        });
    }
    for i in 0..n {
        let endpoint = i % 2_000;
        let remote = if i % 10 == 0 { ([127, 0, 0, 1], 5432) } else { ([198, 51, (endpoint / 250) as u8, (endpoint % 250) as u8], 443) };
        let state = states[i % states.len()];
        obs.sockets.push(RawSocket {
            key: SocketKey { protocol: Protocol::Tcp, cookie: 1_000 + i as u64 },
            state,
            local: ([10, 0, 0, 5], 20_000 + (i % 40_000) as u16).into(),
            remote: remote.into(),
            inode: if state == SocketState::TimeWait { 0 } else { 1_000 + i as u32 },
            uid: 1000,
            owners: if state == SocketState::TimeWait { Owners::default() } else { Owners::one(Pid(101 + (i % 8) as u32)) },
            tcp: Some(TcpCounters { bytes_acked: i as u64, bytes_received: 2 * i as u64, rtt_us: 100, min_rtt_us: None }),
            recv_queue: 0,
            send_queue: 0,
            netns: None,
        });
    }
    obs
}

/// The live refresh benchmark's load without a kernel: `n` loopback
/// sockets, half of them connections out of and half accepted by holder
/// processes (8,000 connections each) on their own 127.0.0.1 listeners,
/// all established, as `--bench refresh` holds them.
pub fn loopback_observation(n: usize) -> Observation {
    loopback_rows(n, false)
}

/// The same with cookies in no order relative to the rows, as when
/// another program asked the kernel for them first: the rows are sorted,
/// not merged.
pub fn loopback_observation_shuffled(n: usize) -> Observation {
    loopback_rows(n, true)
}

fn loopback_rows(n: usize, shuffled: bool) -> Observation {
    const PER_HOLDER: usize = 8_000;
    let mut obs = Observation { taken_at_ms: 1_000_000, privileged: true, ..Observation::default() };
    let conns = n / 2;
    let holders = conns.div_ceil(PER_HOLDER).max(1);
    let mut cookie = 0u64;
    let mut next = || {
        cookie += 1;
        SocketKey { protocol: Protocol::Tcp, cookie }
    };
    for h in 0..holders {
        let pid = 200 + h as u32;
        let port = 40_000 + h as u16;
        obs.processes.push(ProcessFacts {
            pid,
            ppid: 1,
            name: "refresh".into(),
            cmdline: "/usr/bin/refresh --bench".into(),
            exe: Some("/usr/bin/refresh".into()),
            uid: 0,
            ..ProcessFacts::default()
        });
        let row = |key, state, local: ([u8; 4], u16), remote: ([u8; 4], u16), i: usize| RawSocket {
            key,
            state,
            local: local.into(),
            remote: remote.into(),
            inode: key.cookie as u32,
            uid: 0,
            owners: Owners::one(Pid(pid)),
            tcp: (state != SocketState::Listen).then_some(TcpCounters { bytes_acked: i as u64, bytes_received: i as u64, rtt_us: 20, min_rtt_us: None }),
            recv_queue: 0,
            send_queue: 0,
            netns: None,
        };
        obs.sockets.push(row(next(), SocketState::Listen, ([127, 0, 0, 1], port), ([0, 0, 0, 0], 0), 0));
        let here = conns / holders + usize::from(h < conns % holders);
        for i in 0..here {
            let ephemeral = 10_000 + ((h * PER_HOLDER + i) % 50_000) as u16;
            obs.sockets.push(row(next(), SocketState::Established, ([127, 0, 0, 1], ephemeral), ([127, 0, 0, 1], port), i));
            obs.sockets.push(row(next(), SocketState::Established, ([127, 0, 0, 1], port), ([127, 0, 0, 1], ephemeral), i));
        }
    }
    // The kernel dumps by hash bucket, not in creation order.
    let mut state = 0x9e37_79b9_7f4a_7c15u64;
    let mut random = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    for i in (1..obs.sockets.len()).rev() {
        obs.sockets.swap(i, (random() % (i as u64 + 1)) as usize);
    }
    if !shuffled {
        // Cookies as the kernel gives them to the collector's first dump,
        // in walk order, and as measured live at 100k: the dump's two
        // halves take them 2,048 at a time in turn; the first half's come
        // in ascending order, the second half's blocks in another (its
        // thread took them from other CPUs' batches), so the rows are one
        // run of half of them and runs of 2,048.
        let half = obs.sockets.len() / 2;
        let blocks = obs.sockets.len().div_ceil(2 * BLOCK) as u64;
        let mut second: Vec<u64> = (0..blocks).collect();
        for i in (1..second.len()).rev() {
            second.swap(i, (random() % (i as u64 + 1)) as usize);
        }
        for (at, row) in obs.sockets.iter_mut().enumerate() {
            let (within, block) = if at < half { (at, 2 * (at / BLOCK) as u64) } else { (at - half, 2 * second[(at - half) / BLOCK] + 1) };
            row.key.cookie = 1 + block * BLOCK as u64 + (within % BLOCK) as u64;
        }
    }
    obs
}

/// Cookies a dump half takes at a time, as measured live.
const BLOCK: usize = 2_048;
