use std::fs;
use std::path::Path;

use super::*;
use crate::collect::cgroup::parse_cgroup;

const ID: &str = "4f3c1a9b8e7d6c5b4a39281706f5e4d3c2b1a09f8e7d6c5b4a3928170f6e5d4c";
const ID2: &str = "9e8d7c6b5a4938271605f4e3d2c1b0a99e8d7c6b5a4938271605f4e3d2c1b0a9";
const UID: &str = "0b7c1c2e-5f3a-4d1e-9c8b-7a6f5e4d3c2b";

fn write(root: &Path, rel: &str, body: &[u8]) {
    let path = root.join(rel);
    fs::create_dir_all(path.parent().expect("has a parent")).expect("mkdir");
    fs::write(path, body).expect("write");
}

fn container(line: &str) -> Container {
    parse_cgroup(line).container.expect("a container")
}

#[test]
fn docker_names_come_from_config_v2_and_are_cached() {
    let tmp = tempfile::tempdir().expect("tempdir");
    write(tmp.path(), &format!("var/lib/docker/containers/{ID}/config.v2.json"), br#"{"ID":"x","Name":"/web-1","Config":{"Env":["A=b"]}}"#);
    let mut names = ContainerNames::new(tmp.path());
    let mut c = container(&format!("0::/system.slice/docker-{ID}.scope\n"));
    names.fill(&mut c);
    assert_eq!(c.name.as_deref(), Some("web-1"));
    assert_eq!(c.label(), "web-1");
    // Cached: a later change on disk is not re-read for the same id.
    fs::remove_dir_all(tmp.path().join("var")).expect("rm");
    let mut again = container(&format!("0::/docker/{ID}\n"));
    names.fill(&mut again);
    assert_eq!(again.name.as_deref(), Some("web-1"));
    assert_eq!(names.cached(), 1);
    // Misses are cached too, and the cache follows the live containers.
    let mut other = container(&format!("0::/docker/{ID2}\n"));
    names.fill(&mut other);
    assert_eq!(other.name, None);
    assert_eq!(names.cached(), 2);
    names.retain([&other]);
    assert_eq!(names.cached(), 1);
}

#[test]
fn bad_runtime_files_leave_the_container_unnamed() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let dir = format!("var/lib/docker/containers/{ID}/config.v2.json");
    for body in [&b"not json"[..], br#"{"Name":5}"#, br#"{"Name":"/"}"#, br"{}"] {
        write(tmp.path(), &dir, body);
        let mut c = container(&format!("0::/docker/{ID}\n"));
        ContainerNames::new(tmp.path()).fill(&mut c);
        assert_eq!(c.name, None, "{}", String::from_utf8_lossy(body));
    }
    // Over 1 MiB: not read at all.
    let big = format!(r#"{{"Name":"/big","Pad":"{}"}}"#, "x".repeat(MAX_FILE as usize));
    write(tmp.path(), &dir, big.as_bytes());
    let mut c = container(&format!("0::/docker/{ID}\n"));
    ContainerNames::new(tmp.path()).fill(&mut c);
    assert_eq!(c.name, None);
    // A directory where the file should be.
    fs::remove_file(tmp.path().join(&dir)).expect("rm");
    fs::create_dir(tmp.path().join(&dir)).expect("mkdir");
    ContainerNames::new(tmp.path()).fill(&mut c);
    assert_eq!(c.name, None);
    // Control characters in a name are escaped.
    write(tmp.path(), &format!("var/lib/docker/containers/{ID2}/config.v2.json"), b"{\"Name\":\"/x\\u001b]0;pwn\\u0007\"}");
    let mut c = container(&format!("0::/docker/{ID2}\n"));
    ContainerNames::new(tmp.path()).fill(&mut c);
    assert_eq!(c.name.as_deref(), Some("x\\x1b]0;pwn\\x07"));
}

#[test]
fn rootless_containers_are_not_looked_up_in_the_system_files() {
    let tmp = tempfile::tempdir().expect("tempdir");
    write(tmp.path(), &format!("var/lib/docker/containers/{ID}/config.v2.json"), br#"{"Name":"/prod-db"}"#);
    let mut c = container(&format!("0::/user.slice/user-1000.slice/user@1000.service/user.slice/docker-{ID}.scope\n"));
    assert!(c.rootless);
    let mut names = ContainerNames::new(tmp.path());
    names.fill(&mut c);
    assert_eq!(c.name, None);
    assert_eq!(names.cached(), 0);
}

#[test]
fn podman_names_come_from_the_storage_list() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let list = format!(r#"[{{"id":"{ID2}","names":["other"]}},{{"id":"{ID}","names":["api","api-alias"],"image":"i","layer":"l"}}]"#);
    write(tmp.path(), "var/lib/containers/storage/overlay-containers/containers.json", list.as_bytes());
    let mut c = container(&format!("0::/machine.slice/libpod-{ID}.scope\n"));
    ContainerNames::new(tmp.path()).fill(&mut c);
    assert_eq!(c.name.as_deref(), Some("api"));
}

#[test]
fn kubernetes_names_come_from_the_kubelet_logs() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let root = tmp.path();
    // Exact: the per-container log link names container, pod and namespace.
    write(root, &format!("var/log/containers/web-7d9f5c-x2x9q_prod_nginx-{ID}.log"), b"");
    write(root, &format!("var/log/containers/web-7d9f5c-x2x9q_prod_sidecar-{ID2}.log"), b"");
    let uid_sd = UID.replace('-', "_");
    let mut c = container(&format!("0::/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod{uid_sd}.slice/cri-containerd-{ID}.scope\n"));
    let mut names = ContainerNames::new(root);
    names.fill(&mut c);
    assert_eq!((c.pod_namespace.as_deref(), c.pod_name.as_deref(), c.name.as_deref()), (Some("prod"), Some("web-7d9f5c-x2x9q"), Some("nginx")));
    assert_eq!(c.label(), "prod/web-7d9f5c-x2x9q/nginx");

    // By pod uid: the pod directory, and the container when it is the only one.
    let tmp = tempfile::tempdir().expect("tempdir");
    let root = tmp.path();
    write(root, &format!("var/log/pods/kube-system_coredns-5d78c9869d-abcde_{UID}/coredns/0.log"), b"");
    write(root, "var/log/pods/default_other_11111111-2222-3333-4444-555555555555/app/0.log", b"");
    let mut c = container(&format!("0::/kubepods/burstable/pod{UID}/{ID}\n"));
    ContainerNames::new(root).fill(&mut c);
    assert_eq!(c.label(), "kube-system/coredns-5d78c9869d-abcde/coredns");
    write(root, &format!("var/log/pods/kube-system_coredns-5d78c9869d-abcde_{UID}/sidecar/0.log"), b"");
    let mut c = container(&format!("0::/kubepods/burstable/pod{UID}/{ID}\n"));
    ContainerNames::new(root).fill(&mut c);
    assert_eq!((c.pod_name.as_deref(), c.name.as_deref()), (Some("coredns-5d78c9869d-abcde"), None));
    assert_eq!(c.label(), format!("kube-system/coredns-5d78c9869d-abcde/{}", &ID[..12]));
    // A process in the pod's own cgroup: pod names only.
    let mut c = container(&format!("0::/kubepods/burstable/pod{UID}\n"));
    ContainerNames::new(root).fill(&mut c);
    assert_eq!(c.label(), "kube-system/coredns-5d78c9869d-abcde/?");
}

#[test]
fn names_from_the_cgroup_path_are_kept_and_nothing_is_read_for_them() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let mut names = ContainerNames::new(tmp.path());
    let mut c = container("0::/lxc.payload.web01\n");
    names.fill(&mut c);
    assert_eq!(c.name.as_deref(), Some("web01"));
    assert_eq!(names.cached(), 0);
}
