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
