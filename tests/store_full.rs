//! A full disk (root): the store sits on a 4 MiB tmpfs the test mounts and
//! fills; commits fail, the rows wait, the status says since when and why,
//! and once space is freed every row is written. The tmpfs is unmounted
//! even when the test fails.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use necromap::store::status::StoreStatus;
use necromap::store::writer::{StoreWriter, WriterOptions};
use necromap::store::{Batch, EventKind, SocketEvent};

/// Unmounts the tmpfs when dropped.
struct Mounted(PathBuf);

impl Drop for Mounted {
    fn drop(&mut self) {
        let _ = std::process::Command::new("umount").arg(&self.0).status();
    }
}

fn events(n: usize, from: i64) -> Batch {
    let mut b = Batch::default();
    for i in 0..n {
        b.events.push(SocketEvent {
            at_ms: from + i as i64,
            kind: EventKind::Opened,
            socket_id: format!("tcp:{:016x}", from as usize + i),
            protocol: "tcp",
            state: "ESTABLISHED",
            direction: "outbound".into(),
            local_ip: "127.0.0.1".into(),
            local_port: 40_000,
            remote_ip: "127.0.0.2".into(),
            remote_port: 443,
            remote_name: None,
            pid: Some(1),
            comm: Some("filler-process-name-to-take-some-room".into()),
            exe: Some("/usr/bin/a-long-executable-path-to-take-some-room".into()),
            uid: 0,
            bytes_sent: None,
            bytes_received: None,
            duration_ms: None,
            netns: None,
            namespace: None,
        });
    }
    b
}

fn until(limit: Duration, mut ok: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + limit;
    while Instant::now() < deadline {
        if ok() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    false
}

fn fill(dir: &Path) -> PathBuf {
    use std::io::Write;
    let path = dir.join("filler");
    let mut f = std::fs::File::create(&path).expect("filler");
    let chunk = vec![0u8; 4096];
    while f.write_all(&chunk).is_ok() {}
    let _ = f.sync_all();
    path
}

#[test]
fn a_full_disk_keeps_rows_waiting_says_so_and_writes_them_once_space_is_back() {
    assert!(rustix::process::geteuid().is_root(), "this test mounts a small tmpfs: run it as root (CI does)");
    let dir = tempfile::tempdir().expect("tmp");
    let ok = std::process::Command::new("mount").args(["-t", "tmpfs", "-o", "size=4m", "tmpfs"]).arg(dir.path()).status().expect("mount");
    assert!(ok.success(), "mount tmpfs");
    let _mounted = Mounted(dir.path().to_path_buf());
    let db = dir.path().join("events.db");
    let status = StoreStatus::default();
    let writer = StoreWriter::spawn(WriterOptions { path: db.clone(), retention: None, trace_commits: false, status: status.clone() }, None).expect("open");
    let filler = fill(dir.path());
    let sender = writer.sender();
    for i in 0..20 {
        assert!(sender.send(events(100, i * 1_000)));
    }
    assert!(until(Duration::from_secs(20), || status.get().failing_since_ms.is_some()), "the failure is reported: {:?}", status.get());
    let state = status.get();
    assert!(state.waiting_rows > 0, "rows wait for a retry: {state:?}");
    assert!(state.health_line().is_some_and(|h| h.text.contains("failing")), "{state:?}");
    // Space comes back: every row is written at the next retry.
    std::fs::remove_file(&filler).expect("free space");
    assert!(
        until(Duration::from_secs(60), || {
            let s = status.get();
            s.failing_since_ms.is_none() && s.written_rows >= 2_000
        }),
        "written after the disk had room: {:?}",
        status.get()
    );
    assert_eq!(status.get().dropped_rows, 0);
    drop(writer);
    let conn = rusqlite::Connection::open(&db).expect("db");
    let n: i64 = conn.query_row("SELECT count(*) FROM socket_events", [], |r| r.get(0)).expect("count");
    assert_eq!(n, 2_000, "nothing lost");
}
