//! Property: any snapshot renders at any size from 1×1 to 300×100 in every
//! map mode without a panic.

use std::sync::Arc;

use necromap::collect::{Observation, SourceInfo, SourceKind};
use necromap::collector::CollectorStatus;
use necromap::model::{GroupZone, Pid, ProcessFacts, Protocol, RawSocket, SnapshotBuilder, SocketKey, SocketState, TcpCounters};
use necromap::spec::Spec;
use necromap::tui::keymap::Action;
use necromap::tui::state::MapNode;
use necromap::tui::{App, Options, views};
use proptest::prelude::*;
use ratatui::Terminal;
use ratatui::backend::TestBackend;

/// state, owner, local ip, local port, remote ip, remote port, protocol, has counters.
type Row = (u8, u8, [u8; 4], u16, [u8; 4], u16, u8, bool);

fn arb_socket() -> impl Strategy<Value = Row> {
    (0u8..15, 0u8..6, any::<[u8; 4]>(), any::<u16>(), any::<[u8; 4]>(), any::<u16>(), 0u8..4, any::<bool>())
}

fn observation(rows: &[Row]) -> Observation {
    let mut obs = Observation { taken_at_ms: 1_000, privileged: true, ..Observation::default() };
    for (i, &(state, owner, l, lp, r, rp, proto, tcp)) in rows.iter().enumerate() {
        let state = SocketState::ALL[usize::from(state)];
        let protocol = if proto == 0 { Protocol::Udp } else { Protocol::Tcp };
        let state = if state.protocol() == protocol {
            state
        } else if protocol == Protocol::Udp {
            SocketState::Udp
        } else {
            SocketState::Established
        };
        obs.sockets.push(RawSocket {
            key: SocketKey { protocol, cookie: i as u64 },
            state,
            local: (l, lp).into(),
            remote: (r, rp).into(),
            inode: i as u32 + 1,
            uid: 0,
            owners: if owner == 0 { vec![].into() } else { vec![Pid(u32::from(owner))].into() },
            tcp: tcp.then_some(TcpCounters { bytes_acked: 1, bytes_received: 2, rtt_us: 3, min_rtt_us: None }),
            recv_queue: 0,
            send_queue: 0,
            netns: None,
        });
    }
    for pid in 1..6u32 {
        obs.processes.push(ProcessFacts { pid, name: format!("p{pid}\u{1b}[31m"), cmdline: "x\u{7}".into(), ..ProcessFacts::default() });
    }
    obs
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]
    #[test]
    fn renders_anything_at_any_size(rows in proptest::collection::vec(arb_socket(), 0..60), w in 1u16..300, h in 1u16..100, mode in 0usize..3, view in 0usize..7, help in any::<bool>()) {
        let spec = Arc::new(Spec::embedded());
        let info = SourceInfo { kind: SourceKind::Replay, host: "h\u{1b}]0;x".into(), detail: String::new() };
        let snap = Arc::new(SnapshotBuilder::new(spec.clone()).build(observation(&rows), info, None));
        let mut app = App::new(spec, snap, CollectorStatus::default(), Options::default(), (w, h));
        for _ in 0..mode { app.apply(Action::Tree); }
        for _ in 0..view { app.apply(Action::NextView); }
        if help { app.apply(Action::Help); }
        for a in [Action::Down, Action::Right, Action::NextPane, Action::Down, Action::FocusProcess] {
            app.apply(a);
        }
        let mut t = Terminal::new(TestBackend::new(w, h)).expect("terminal");
        t.draw(|f| views::render(&app, f.area(), f.buffer_mut())).expect("draw");
        // Host strings never reach the terminal raw.
        let escape = '\u{1b}';
        let raw_escape = t.backend().buffer().content().iter().any(|c| c.symbol().contains(escape));
        prop_assert!(!raw_escape);
    }
}

/// The zone (ring) of every map entry.
fn zones(app: &App) -> std::collections::HashMap<MapNode, Option<GroupZone>> {
    app.derived.map.listeners.iter().chain(&app.derived.map.endpoints).map(|e| (e.node.clone(), e.zone)).collect()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]
    /// Two refreshes of one host, some sockets gone and some new: every map
    /// node in both keeps its ring and angle, and its cell (and its
    /// label's, when the label text kept its width and the notes line did
    /// not change, and no other label took its cell) unless a zone appeared
    /// for the first time (which moves the ring radii).
    #[test]
    fn map_nodes_keep_their_place_across_a_refresh(
        common in proptest::collection::vec(arb_socket(), 0..30),
        first in proptest::collection::vec(arb_socket(), 0..10),
        second in proptest::collection::vec(arb_socket(), 0..10),
        w in 60u16..220,
        h in 20u16..70,
    ) {
        let spec = Arc::new(Spec::embedded());
        let info = SourceInfo { kind: SourceKind::Replay, host: "h".into(), detail: String::new() };
        let mut builder = SnapshotBuilder::new(spec.clone());
        let a: Vec<Row> = common.iter().chain(&first).copied().collect();
        let b: Vec<Row> = common.iter().chain(&second).copied().collect();
        let s1 = Arc::new(builder.build(observation(&a), info.clone(), None));
        let mut obs = observation(&b);
        obs.taken_at_ms += 1000;
        let s2 = Arc::new(builder.build(obs, info, None));
        let mut app = App::new(spec, s1, CollectorStatus::default(), Options::default(), (w, h));
        let inner = views::graph::inner(app.areas().map);
        let before = views::graph::place(&app, inner);
        let slots: Vec<_> = before.nodes.iter().map(|n| app.map_memory.get(&n.node).cloned()).collect();
        let rings = app.map_memory.rings();
        let notes = (app.derived.map.notes.clone(), app.derived.map.more_listeners);
        let zone_before = zones(&app);
        app.set_snapshot(s2);
        let zone_after = zones(&app);
        let same_notes = notes == (app.derived.map.notes.clone(), app.derived.map.more_listeners);
        let after = views::graph::place(&app, inner);
        let same_rings = rings == app.map_memory.rings();
        for (p, slot) in before.nodes.iter().zip(slots) {
            let Some(n) = after.nodes.iter().find(|n| n.node == p.node) else { continue };
            // A group whose members changed zone (public only → mixed) moves
            // to that zone's ring: it is not the same place any more.
            if zone_before.get(&p.node) != zone_after.get(&n.node) {
                continue;
            }
            let (old, new) = (slot.expect("remembered"), app.map_memory.get(&n.node).cloned().expect("remembered"));
            prop_assert_eq!((old.ring, old.angle.to_bits()), (new.ring, new.angle.to_bits()), "{:?}", n.node);
            if same_rings {
                prop_assert_eq!((p.x, p.y), (n.x, n.y), "{:?} moved", n.node);
                // A label keeps its cell unless an older node's label took
                // it (the older one's text may have grown: `×2` → `×12`).
                if p.label_width == n.label_width && same_notes && (p.label_x, p.label_y) != (n.label_x, n.label_y) {
                    let taken = after.nodes.iter().any(|o| {
                        o.node != n.node && o.label_y == p.label_y && !(p.label_x + p.label_width < o.label_x || o.label_x + o.label_width < p.label_x)
                    });
                    prop_assert!(taken, "label of {:?} moved at {}x{} though its cell was free", n.node, w, h);
                }
            }
        }
        prop_assert!(app.map_memory.len() <= necromap::tui::placement::MAX_SLOTS);
    }
}
