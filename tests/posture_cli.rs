//! `necromap posture` against a crafted root: proc/sys values, proc/net
//! listeners with their owners' fd links, executables and working
//! directories, `/etc/passwd`, `sshd_config` and a policy file; and a bad
//! policy refused with its file and line. Everything lives in a
//! temporary directory removed at the end.

use std::os::unix::fs::{MetadataExt, PermissionsExt, symlink};
use std::path::Path;
use std::process::Command;

use serde_json::Value;

const BIN: &str = env!("CARGO_BIN_EXE_necromap");

fn put(root: &Path, rel: &str, text: &str) {
    let p = root.join(rel);
    std::fs::create_dir_all(p.parent().expect("parent")).expect("mkdir");
    std::fs::write(p, text).expect("write");
}

fn mode(root: &Path, rel: &str, m: u32) {
    std::fs::set_permissions(root.join(rel), std::fs::Permissions::from_mode(m)).expect("chmod");
}

/// A process `pid` named `comm` holding socket `inode`, running `exe` from `cwd`.
fn process(root: &Path, pid: u32, comm: &str, inode: u64, exe: &str, cwd: &str) {
    let dir = root.join(format!("proc/{pid}"));
    std::fs::create_dir_all(dir.join("fd")).expect("mkdir");
    std::fs::write(dir.join("comm"), format!("{comm}\n")).expect("comm");
    symlink(format!("socket:[{inode}]"), dir.join("fd/3")).expect("fd link");
    symlink("/dev/null", dir.join("fd/0")).expect("fd link");
    symlink(exe, dir.join("exe")).expect("exe link");
    symlink(cwd, dir.join("cwd")).expect("cwd link");
}

fn crafted_root(root: &Path) {
    for (name, v) in [
        ("net/ipv4/ip_forward", "0"),
        ("net/ipv4/conf/all/rp_filter", "1"),
        ("net/ipv4/conf/all/accept_redirects", "1"),
        ("net/ipv4/conf/default/accept_redirects", "0"),
        ("net/ipv4/conf/all/secure_redirects", "0"),
        ("net/ipv4/conf/all/accept_source_route", "0"),
        ("net/ipv4/conf/all/send_redirects", "0"),
        ("net/ipv4/tcp_syncookies", "1"),
        ("net/ipv4/conf/all/log_martians", "0"),
        ("net/ipv4/icmp_echo_ignore_broadcasts", "1"),
        ("net/ipv6/conf/all/forwarding", "1"),
        ("net/ipv6/conf/all/accept_redirects", "0"),
        ("net/ipv6/conf/default/accept_redirects", "0"),
        ("net/ipv6/conf/all/accept_source_route", "0"),
    ] {
        put(root, &format!("proc/sys/{name}"), &format!("{v}\n"));
    }
    // sshd as root on 0.0.0.0:22, a dev server as uid 1000 on [::]:8080, a
    // loopback-only database on 127.0.0.1:5432.
    put(
        root,
        "proc/net/tcp",
        "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode\n   0: 00000000:0016 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 7001 1\n   1: 0100007F:1538 00000000:0000 0A 00000000:00000000 00:00000000 00000000   999        0 7003 1\n",
    );
    put(
        root,
        "proc/net/tcp6",
        "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode\n   0: 00000000000000000000000000000000:1F90 00000000000000000000000000000000:0000 0A 00000000:00000000 00:00000000 00000000  1000        0 7002 1\n",
    );
    put(root, "usr/sbin/sshd", "#!/bin/true\n");
    mode(root, "usr/sbin/sshd", 0o755);
    put(root, "srv/dev/server", "#!/bin/true\n");
    mode(root, "srv/dev/server", 0o777);
    mode(root, "srv/dev", 0o777);
    process(root, 401, "sshd", 7001, "/usr/sbin/sshd", "/");
    process(root, 402, "server", 7002, "/srv/dev/server", "/srv/dev");
    process(root, 403, "postgres", 7003, "/usr/sbin/sshd", "/");
    put(root, "etc/passwd", "root:x:0:0:root:/root:/bin/bash\ndev:x:1000:1000::/home/dev:/bin/sh\npostgres:x:999:999::/var/lib/postgresql:/bin/sh\n");
    put(root, "etc/ssh/sshd_config", "Include /etc/ssh/sshd_config.d/*.conf\nPort 2222\nPasswordAuthentication no\n");
    put(root, "etc/ssh/sshd_config.d/50-cloud.conf", "PermitRootLogin yes\n");
    put(root, "proc/net/ip_tables_names", "filter\n");
}

fn check<'a>(report: &'a Value, id: &str) -> &'a Value {
    report["checks"].as_array().expect("checks").iter().find(|c| c["id"] == id).unwrap_or_else(|| panic!("no check {id}: {report:#}"))
}

#[test]
fn posture_of_a_crafted_root_with_a_policy() {
    let dir = tempfile::tempdir().expect("tmp");
    let root = dir.path().join("root");
    crafted_root(&root);
    let policy = dir.path().join("policy.yaml");
    std::fs::write(&policy, "allow:\n  - { port: 22, process: sshd, user: root }\ndeny:\n  - { port: 8080 }\n").expect("policy");
    let out = Command::new(BIN).args(["posture", "--format", "json", "--root"]).arg(&root).arg("--policy").arg(&policy).output().expect("run");
    assert_eq!(out.status.code(), Some(1), "a failed check exits 1: {}", String::from_utf8_lossy(&out.stderr));
    let r: Value = serde_json::from_slice(&out.stdout).expect("json");
    assert_eq!(check(&r, "sysctl:net.ipv4.conf.all.accept_redirects")["status"], "fail");
    assert!(check(&r, "sysctl:net.ipv4.conf.all.accept_redirects")["fix"].as_str().is_some_and(|f| f.contains("sysctl -w")));
    assert_eq!(check(&r, "sysctl:net.ipv4.tcp_syncookies")["status"], "pass");
    assert_eq!(check(&r, "sysctl:net.ipv4.conf.all.log_martians")["status"], "warn");
    assert_eq!(check(&r, "sysctl:net.ipv6.conf.all.forwarding")["status"], "warn");
    // Listeners against the policy.
    assert_eq!(check(&r, "listener_exposed:tcp:0.0.0.0:22")["status"], "pass", "allowed");
    let dev = check(&r, "listener_exposed:tcp:[::]:8080");
    assert_eq!(dev["status"], "fail", "denied: {dev}");
    assert!(dev["evidence"].as_str().is_some_and(|e| e.contains("server (pid 402, uid 1000)")));
    assert!(!r["checks"].to_string().contains("listener_exposed:tcp:127.0.0.1:5432"), "loopback is not exposed");
    assert_eq!(check(&r, "listener_root_public:tcp:0.0.0.0:22")["status"], "pass", "root sshd allowed by the policy");
    // The dev server's executable is writable by anyone, in a world-writable directory.
    let exe = check(&r, "listener_exe_writable:tcp:[::]:8080");
    assert_eq!(exe["status"], "fail");
    assert!(exe["evidence"].as_str().is_some_and(|e| e.contains("writable by everyone")), "{exe}");
    assert_eq!(check(&r, "listener_world_writable_dir:tcp:[::]:8080:executable")["status"], "fail");
    assert_eq!(check(&r, "listener_world_writable_dir:tcp:[::]:8080:working directory")["status"], "warn");
    // sshd's executable is fine when root owns it (CI runs as root).
    let owned_by_root = std::fs::metadata(root.join("usr/sbin/sshd")).expect("meta").uid() == 0;
    assert_eq!(check(&r, "listener_exe_writable:tcp:0.0.0.0:22")["status"], if owned_by_root { "pass" } else { "fail" });
    // sshd_config: the included file's value wins, with where it was set.
    let root_login = check(&r, "sshd:permit_root_login");
    assert_eq!(root_login["status"], "fail");
    assert!(root_login["evidence"].as_str().is_some_and(|e| e.contains("/etc/ssh/sshd_config.d/50-cloud.conf:1")), "{root_login}");
    assert_eq!(check(&r, "sshd:password_authentication")["status"], "pass");
    assert!(check(&r, "sshd:port")["evidence"].as_str().is_some_and(|e| e.contains("2222 at /etc/ssh/sshd_config:2")));
    // No commands under a crafted root: the firewall cannot be told.
    let fw = check(&r, "firewall:present");
    assert_eq!(fw["status"], "warn");
    assert!(fw["evidence"].as_str().is_some_and(|e| e.contains("filter")), "{fw}");
    assert_eq!(r["fail"].as_u64(), Some(r["checks"].as_array().expect("checks").iter().filter(|c| c["status"] == "fail").count() as u64));

    // Text: failures first, each with its fix.
    let out = Command::new(BIN).args(["posture", "--root"]).arg(&root).output().expect("run");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.starts_with("posture of "), "{text}");
    assert!(text.lines().nth(1).is_some_and(|l| l.starts_with("fail")), "{text}");
    assert!(text.contains("      fix: "), "{text}");
    assert!(text.contains("no --policy given"), "without a policy every public listener warns: {text}");
}

#[test]
fn a_bad_policy_is_refused_with_file_and_line_and_nothing_else_runs() {
    let dir = tempfile::tempdir().expect("tmp");
    let bad = dir.path().join("bad.yaml");
    std::fs::write(&bad, "allow:\n  - { port: 22, process: sshd }\n  - { prot: 80 }\n").expect("policy");
    let out = Command::new(BIN).args(["posture", "--root"]).arg(dir.path()).arg("--policy").arg(&bad).output().expect("run");
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains(&format!("{}:3:", bad.display())) && err.contains("prot"), "{err}");
    assert!(out.stdout.is_empty(), "no report with a bad policy");
    std::fs::write(&bad, "deny:\n  - {}\n").expect("policy");
    let out = Command::new(BIN).args(["posture", "--root"]).arg(dir.path()).arg("--policy").arg(&bad).output().expect("run");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains(&format!("{}:2: deny[0]: an entry needs at least one of port, process, user", bad.display())), "{err}");
    let out = Command::new(BIN).args(["posture", "--root"]).arg(dir.path().join("missing")).output().expect("run");
    assert!(String::from_utf8_lossy(&out.stderr).contains("not a directory"));
}
