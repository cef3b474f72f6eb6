//! The fleet explorer's frame at 80×24 with hosts grouped by a label
//! (`necromap fleet --group-by role`): two hosts in two groups and the
//! host-to-host edge between them, each end tagged with its group.

use necromap::fleet::edges::{Edge, EdgeEnd};
use necromap::fleet::labels::GroupBy;
use necromap::fleet::query::HostRow;
use necromap::fleet::view::FleetMap;
use necromap::tui::fleet_view::FleetScreen;
use necromap::tui::theme::{Look, Theme};

fn host(id: &str, role: Option<&str>, worst: Option<i16>, sockets: i64) -> HostRow {
    HostRow {
        host_id: id.into(),
        name: id.into(),
        agent_version: "0.1.0".into(),
        last_seen_ms: 0,
        sockets,
        findings: i64::from(worst.is_some()),
        worst,
        outbox_depth: 0,
        dropped: 0,
        labels: role.map(|r| [("role".to_string(), r.to_string())].into()).unwrap_or_default(),
        subnet: Some("10.77.0.0/24".into()),
    }
}

fn end(host: &str, pid: i32, process: &str) -> EdgeEnd {
    EdgeEnd { host_id: host.into(), host: host.into(), pid: Some(pid), process: Some(process.into()) }
}

fn frame(screen: &FleetScreen, width: u16, height: u16) -> String {
    let area = ratatui::layout::Rect::new(0, 0, width, height);
    let mut buf = ratatui::buffer::Buffer::empty(area);
    screen.render(Theme { plain: true, glow: false, look: Look::default() }, area, &mut buf);
    (0..height).map(|y| (0..width).map(|x| buf[(x, y)].symbol().to_string()).collect::<String>().trim_end().to_string() + "\n").collect()
}

#[test]
fn hosts_grouped_by_role_with_their_edge() {
    // Listed out of order, and a host without the label: grouping sorts them.
    let map = FleetMap {
        hosts: vec![host("web-1", Some("web"), None, 12), host("db-1", Some("db"), Some(3), 4), host("lab-7", None, None, 2)],
        edges: vec![Edge {
            from: end("web-1", 812, "nginx"),
            to: end("db-1", 77, "postgres"),
            address: "10.77.0.2".into(),
            port: 5432,
            protocol: "tcp".into(),
            connections: 12,
            last_ms: 0,
        }],
        group_by: None,
    }
    .grouped(GroupBy::Label("role".into()));
    let names: Vec<&str> = map.hosts.iter().map(|h| h.name.as_str()).collect();
    assert_eq!(names, ["db-1", "web-1", "lab-7"], "by group, hosts without the label last");
    let screen = FleetScreen { map, ..FleetScreen::default() };
    let text = frame(&screen, 80, 24);
    assert!(text.contains("role=db (1)") && text.contains("role=web (1)") && text.contains("no role (1)"), "{text}");
    assert!(text.contains("[web] web-1 nginx"), "the edge's ends carry their groups:\n{text}");
    insta::assert_snapshot!("fleet_grouped_by_role_80x24", text);
}

/// web-1 drilled down: nginx with a fleet peer (db-1 postgres), an
/// outside peer and an accepted client from another fleet host; sshd
/// listening only; a finding and an alert with first and last seen.
fn drilled() -> FleetScreen {
    use necromap::fleet::drill::{HostEvent, HostMap, Peer, ProcessPeers};
    let peer = |direction: &str, address: &str, local_port: Option<u16>, sockets, host: Option<&str>, process: Option<&str>| Peer {
        direction: direction.into(),
        address: address.into(),
        local_port,
        protocol: "tcp".into(),
        sockets,
        host: host.map(Into::into),
        process: process.map(Into::into),
    };
    let drill = HostMap {
        host_id: "web-1".into(),
        name: "web-1".into(),
        processes: vec![
            ProcessPeers {
                pid: Some(812),
                name: "nginx".into(),
                user: Some("www-data".into()),
                listens: vec!["tcp/80".into(), "tcp/443".into()],
                peers: vec![
                    peer("outbound", "10.77.0.2:5432", None, 3, Some("db-1"), Some("postgres")),
                    peer("inbound", "10.77.0.9", Some(80), 2, Some("lb-1"), Some("haproxy")),
                    peer("outbound", "93.184.216.34:443", None, 1, None, None),
                ],
            },
            ProcessPeers { pid: Some(1), name: "sshd".into(), user: Some("root".into()), listens: vec!["tcp/22".into()], peers: vec![] },
        ],
        events: vec![
            HostEvent {
                kind: "finding",
                severity: 3,
                title: "Outbound to a new country".into(),
                subject: "process 812".into(),
                first_ms: 1_764_650_000_000,
                last_ms: 1_764_652_400_000,
                count: 1,
            },
            HostEvent {
                kind: "alert",
                severity: 2,
                title: "ET SCAN Nmap Scripting Engine User-Agent".into(),
                subject: "203.0.113.7".into(),
                first_ms: 1_764_640_000_000,
                last_ms: 1_764_651_000_000,
                count: 14,
            },
        ],
    };
    let map = FleetMap { hosts: vec![host("web-1", Some("web"), Some(3), 12), host("db-1", Some("db"), None, 4)], edges: vec![], group_by: None };
    FleetScreen { map, drill: Some(drill), ..FleetScreen::default() }
}

#[test]
fn a_host_drilled_down_shows_processes_peers_and_events_at_80x24() {
    let text = frame(&drilled(), 80, 24);
    assert!(text.contains("web-1: processes → peers (2 processes, 3 peers)"), "{text}");
    assert!(text.contains("nginx  pid 812  www-data  listens tcp/80 tcp/443"), "{text}");
    assert!(text.contains("→ db-1 postgres  10.77.0.2:5432/tcp  ×3"), "the fleet peer named by its host:\n{text}");
    assert!(text.contains("← lb-1 haproxy  from 10.77.0.9 on :80/tcp  ×2"), "{text}");
    assert!(text.contains("→ 93.184.216.34:443/tcp  ×1"), "{text}");
    assert!(text.contains("high     finding  Outbound to a new country · process 812"), "{text}");
    assert!(text.contains("first 12-02 04:33  last 12-02 05:13"), "first and last seen:\n{text}");
    assert!(text.contains("×14"), "an alert's count:\n{text}");
    assert!(text.contains("Esc back to the fleet"), "{text}");
    insta::assert_snapshot!("fleet_drill_80x24", text);
}

#[test]
fn a_host_drilled_down_at_120x40() {
    let text = frame(&drilled(), 120, 40);
    assert!(text.contains("ET SCAN Nmap Scripting Engine User-Agent · 203.0.113.7"), "{text}");
    assert!(text.contains("sshd  pid 1  root  listens tcp/22"), "{text}");
    insta::assert_snapshot!("fleet_drill_120x40", text);
}

#[test]
fn a_long_drill_down_says_how_much_more_and_keeps_its_events() {
    let mut screen = drilled();
    if let Some(d) = screen.drill.as_mut() {
        let many = d.processes[0].peers[2].clone();
        d.processes[0].peers.extend((0..40).map(|i| necromap::fleet::drill::Peer { address: format!("198.51.100.{i}:443"), ..many.clone() }));
    }
    let text = frame(&screen, 80, 24);
    assert!(text.contains("more lines"), "the map says what it left out:\n{text}");
    assert!(text.contains("recent events, last day (2)") && text.contains("×14"), "the events stay on screen:\n{text}");
}
