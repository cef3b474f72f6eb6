//! Rows for fleet tests: a host identity, a socket row and its opening.

use necromap::fleet::batch::{EventKind, SocketEvent, SocketRow};
use necromap::fleet::ship::HostIdentity;
use necromap::model::{Direction, Protocol, SocketState};

/// A host named `name` with id `id-NAME` and no labels.
pub fn host(name: &str) -> HostIdentity {
    HostIdentity { id: format!("id-{name}"), name: name.into(), agent_version: "test".into(), labels: std::collections::BTreeMap::new() }
}

/// A TCP socket of `pid` (`comm`): listening, or established otherwise.
pub fn row(id: &str, direction: Direction, local: &str, remote: &str, pid: u32, comm: &str) -> SocketRow {
    SocketRow {
        id: id.into(),
        protocol: Protocol::Tcp,
        state: if direction == Direction::Listen { SocketState::Listen } else { SocketState::Established },
        direction,
        local: local.parse().expect("addr"),
        remote: remote.parse().expect("addr"),
        pid: Some(pid),
        comm: Some(comm.into()),
        exe: None,
        uid: 0,
        netns: None,
    }
}

/// `socket` opened at `at_ms`.
pub fn opened(at_ms: i64, socket: SocketRow) -> SocketEvent {
    SocketEvent { at_ms, kind: EventKind::Opened, socket, bytes_sent: None, bytes_received: None }
}

/// A client of `pg`'s database, migrated to the current schema; with
/// `partitions`, today's and the next days' partitions made too.
pub async fn migrated(pg: &super::pg::Pg, partitions: bool) -> tokio_postgres::Client {
    let url = necromap::fleet::conn::parse(&pg.url(), &|_| None).expect("url");
    let mut c = necromap::fleet::conn::connect(&url).await.expect("connect");
    necromap::fleet::migrate::migrate(&mut c).await.expect("migrate");
    if partitions {
        necromap::fleet::partitions::ensure(&mut c, std::time::SystemTime::now()).await.expect("partitions");
    }
    c
}
