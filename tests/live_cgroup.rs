//! Container attribution on the live host: the test makes a cgroup shaped
//! like the scope Docker's systemd driver creates
//! (`system.slice/docker-<64 hex>.scope`), moves a child holding a loopback
//! socket into it, and checks that the live collector reports the child as
//! running in that Docker container. Needs root (CI runs as root).
//!
//! It uses the cgroup v2 hierarchy wherever it is mounted (`/sys/fs/cgroup`,
//! or `/sys/fs/cgroup/unified` on hybrid hosts), else the v1 `pids`
//! hierarchy. Only what the test created is removed, and it is removed even
//! when an assertion fails: a guard kills the child, moves any process left
//! back to where the test itself runs, and removes the directories.

mod common;

use std::fmt::Write;
use std::fs;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use common::{Reaped, bash, require};
use necromap::collect::{LinuxSource, Source};
use necromap::model::{Runtime, SnapshotBuilder};
use necromap::spec::Spec;

/// A writable cgroup hierarchy: where it is mounted, and the directory of
/// the cgroup this test process is in.
#[derive(Debug)]
struct Hierarchy {
    mount: PathBuf,
    home: PathBuf,
    v2: bool,
}

/// Undo mountinfo's octal escapes (`\040` for a space).
fn unescape_mountinfo(s: &str) -> String {
    let mut out = String::new();
    let mut rest = s;
    while let Some(at) = rest.find('\\') {
        out.push_str(&rest[..at]);
        let code = rest.get(at + 1..at + 4).and_then(|o| u8::from_str_radix(o, 8).ok());
        if let Some(b) = code {
            out.push(char::from(b));
            rest = &rest[at + 4..];
        } else {
            out.push('\\');
            rest = &rest[at + 1..];
        }
    }
    out.push_str(rest);
    out
}

/// The cgroup v2 mount, else the v1 `pids` one, from /proc/self/mountinfo,
/// with this process's cgroup in it from /proc/self/cgroup.
fn find_hierarchy() -> Hierarchy {
    let mountinfo = fs::read_to_string("/proc/self/mountinfo").expect("read /proc/self/mountinfo");
    // (mount root, mount point, v2) of each cgroup mount.
    let mut mounts = Vec::new();
    for line in mountinfo.lines() {
        let Some((left, right)) = line.split_once(" - ") else { continue };
        let left: Vec<&str> = left.split(' ').collect();
        let right: Vec<&str> = right.split(' ').collect();
        let (Some(root), Some(point), Some(fstype)) = (left.get(3), left.get(4), right.first()) else { continue };
        let options = right.get(2).copied().unwrap_or("");
        match *fstype {
            "cgroup2" => mounts.push((unescape_mountinfo(root), PathBuf::from(unescape_mountinfo(point)), true)),
            "cgroup" if options.split(',').any(|o| o == "pids") => mounts.push((unescape_mountinfo(root), PathBuf::from(unescape_mountinfo(point)), false)),
            _ => {}
        }
    }
    // NECROMAP_CGROUP_TEST_V1=1 takes the v1 path on a hybrid host, to try it.
    let want_v2 = std::env::var("NECROMAP_CGROUP_TEST_V1").is_err();
    let (root, mount, v2) = mounts
        .iter()
        .find(|m| m.2 == want_v2)
        .or_else(|| mounts.first())
        .cloned()
        .unwrap_or_else(|| panic!("no cgroup v2 mount and no cgroup v1 `pids` hierarchy in /proc/self/mountinfo: this test needs one of them mounted"));
    let own = fs::read_to_string("/proc/self/cgroup").expect("read /proc/self/cgroup");
    let path = own
        .lines()
        .find_map(|l| {
            let mut parts = l.splitn(3, ':');
            let (_, controllers, path) = (parts.next()?, parts.next()?, parts.next()?);
            let ours = if v2 { l.starts_with("0::") } else { controllers.split(',').any(|c| c == "pids") };
            ours.then(|| path.to_string())
        })
        .unwrap_or_else(|| panic!("/proc/self/cgroup has no line for the hierarchy mounted at {}:\n{own}", mount.display()));
    // The path is relative to our cgroup namespace; the mount may show only
    // a subtree of it.
    let relative = path
        .strip_prefix(root.trim_end_matches('/'))
        .unwrap_or_else(|| panic!("this process's cgroup {path} is outside the subtree {root} mounted at {}", mount.display()));
    let home = mount.join(relative.trim_start_matches('/'));
    assert!(home.join("cgroup.procs").is_file(), "no cgroup.procs in {}", home.display());
    Hierarchy { mount, home, v2 }
}

/// 64 random hex digits: a container id no real container has.
fn random_id() -> String {
    let mut bytes = [0u8; 32];
    let mut filled = 0;
    while filled < bytes.len() {
        filled += rustix::rand::getrandom(&mut bytes[filled..], rustix::rand::GetRandomFlags::empty()).expect("getrandom");
    }
    bytes.iter().fold(String::new(), |mut s, b| {
        let _ = write!(s, "{b:02x}");
        s
    })
}

/// The cgroups the test made and the child in them; dropping it cleans up.
#[derive(Debug)]
struct Scope {
    /// Outermost first.
    created: Vec<PathBuf>,
    home: PathBuf,
    child: Option<Reaped>,
}

impl Scope {
    fn mkdir(&mut self, dir: &Path) {
        match fs::create_dir(dir) {
            Ok(()) => self.created.push(dir.to_path_buf()),
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
            Err(e) => panic!("cannot create cgroup {}: {e}", dir.display()),
        }
    }
}

/// Move every process listed in `dir/cgroup.procs` to `home`.
fn move_out(dir: &Path, home: &Path) {
    let Ok(procs) = fs::read_to_string(dir.join("cgroup.procs")) else { return };
    for pid in procs.split_whitespace() {
        if let Err(e) = fs::write(home.join("cgroup.procs"), pid) {
            eprintln!("cannot move pid {pid} back to {}: {e}", home.display());
        }
    }
}

impl Drop for Scope {
    fn drop(&mut self) {
        // Killed and reaped: gone from the cgroup once this returns.
        drop(self.child.take());
        for dir in self.created.iter().rev() {
            let deadline = Instant::now() + Duration::from_secs(5);
            loop {
                move_out(dir, &self.home);
                match fs::remove_dir(dir) {
                    Ok(()) => break,
                    Err(e) if e.kind() == std::io::ErrorKind::NotFound => break,
                    Err(e) if Instant::now() >= deadline => {
                        eprintln!("cannot remove cgroup {}: {e} (processes: {:?})", dir.display(), fs::read_to_string(dir.join("cgroup.procs")));
                        break;
                    }
                    Err(_) => std::thread::sleep(Duration::from_millis(20)),
                }
            }
        }
    }
}

#[test]
fn a_process_in_a_docker_scope_is_attributed_to_that_container() {
    assert!(rustix::process::geteuid().is_root(), "this test creates cgroups and moves a process into one, which needs root (CI runs as root)");
    require("bash");
    let h = find_hierarchy();
    eprintln!("cgroup hierarchy: {h:?}");
    let id = random_id();
    let slice = h.mount.join("system.slice");
    let scope_dir = slice.join(format!("docker-{id}.scope"));
    let mut scope = Scope { created: Vec::new(), home: h.home.clone(), child: None };
    scope.mkdir(&slice);
    scope.mkdir(&scope_dir);
    assert_eq!(scope.created.last(), Some(&scope_dir), "a random id cannot exist already");

    // The child connects to our listener and then becomes `sleep`, keeping
    // the socket: a socket owner the collector reads facts for.
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = listener.local_addr().expect("addr").port().to_string();
    let child = bash(r#"exec 3<>"/dev/tcp/127.0.0.1/$1" && exec sleep 60"#, &["necromap-cgroup-test", &port]);
    let pid = child.pid();
    scope.child = Some(child);
    fs::write(scope_dir.join("cgroup.procs"), pid.0.to_string())
        .unwrap_or_else(|e| panic!("cannot move pid {} into {} (cgroup v2: {}): {e}", pid.0, scope_dir.display(), h.v2));
    let cgroup = fs::read_to_string(format!("/proc/{}/cgroup", pid.0)).expect("the child's cgroup file");
    assert!(cgroup.contains(&format!("/system.slice/docker-{id}.scope")), "{cgroup}");

    // The source is opened after the move: facts are read once per process.
    let mut source = LinuxSource::open().expect("netlink");
    let mut builder = SnapshotBuilder::new(Arc::new(Spec::embedded()));
    let deadline = Instant::now() + Duration::from_secs(10);
    let node = loop {
        let obs = source.collect().expect("collect");
        let snap = builder.build(obs, source.info(), None);
        if let Some(p) = snap.process(pid) {
            break p.clone();
        }
        assert!(Instant::now() < deadline, "pid {} never showed up as a socket owner", pid.0);
        std::thread::sleep(Duration::from_millis(100));
    };

    let container = node.facts.workload.container.as_ref().unwrap_or_else(|| panic!("no container for {cgroup}: {:?}", node.facts.workload));
    assert_eq!(container.runtime, Runtime::Docker);
    assert_eq!(container.id, id[..12]);
    assert_eq!(container.full_id, id);
    assert_eq!(container.name, None, "no /var/lib/docker entry exists for a random id");
    assert!(!container.rootless);
    assert_eq!(node.facts.workload.unit, None, "the container's own scope is not reported as a unit");
    assert_eq!(node.facts.workload.slice.as_deref(), Some("system.slice"));
    assert_eq!(container.label(), format!("docker:{}", &id[..12]));

    // The process node carries it into JSON.
    let json = serde_json::to_value(&node).expect("serialises");
    assert_eq!(json["workload"]["container"]["runtime"], "docker", "{json}");
    assert_eq!(json["workload"]["container"]["id"], id[..12], "{json}");
    drop(listener);
}
