use std::fmt::Write;

use proptest::prelude::*;

use super::*;

const ID: &str = "4f3c1a9b8e7d6c5b4a39281706f5e4d3c2b1a09f8e7d6c5b4a3928170f6e5d4c";
const ID2: &str = "9e8d7c6b5a4938271605f4e3d2c1b0a99e8d7c6b5a4938271605f4e3d2c1b0a9";
const UID: &str = "0b7c1c2e-5f3a-4d1e-9c8b-7a6f5e4d3c2b";

/// What a case expects: runtime, short id, pod uid, unit, slice.
#[derive(Debug, PartialEq, Eq)]
struct Want {
    runtime: Option<Runtime>,
    id: &'static str,
    name: Option<&'static str>,
    pod_uid: Option<&'static str>,
    rootless: bool,
    unit: Option<String>,
    slice: Option<String>,
}

const NONE: Want = Want { runtime: None, id: "", name: None, pod_uid: None, rootless: false, unit: None, slice: None };

/// Runtime, short id, name, pod uid, rootless, unit, slice.
type Summary = (Option<Runtime>, String, Option<String>, Option<String>, bool, Option<String>, Option<String>);

fn got(w: &Workload) -> Summary {
    let c = w.container.as_ref();
    (
        c.map(|c| c.runtime),
        c.map(|c| c.id.clone()).unwrap_or_default(),
        c.and_then(|c| c.name.clone()),
        c.and_then(|c| c.pod_uid.clone()),
        c.is_some_and(|c| c.rootless),
        w.unit.clone(),
        w.slice.clone(),
    )
}

fn check(text: &str, want: &Want) {
    let w = parse_cgroup(text);
    let expected = (
        want.runtime,
        want.id.to_string(),
        want.name.map(str::to_string),
        want.pod_uid.map(str::to_string),
        want.rootless,
        want.unit.clone(),
        want.slice.clone(),
    );
    assert_eq!(got(&w), expected, "parsing {text:?}");
    if let Some(c) = &w.container
        && c.name.is_none()
        && !c.id.is_empty()
    {
        assert_eq!(c.full_id.len(), 64, "{text:?}");
        assert!(c.full_id.starts_with(&c.id), "{text:?}");
    }
}

#[test]
fn docker_and_kubernetes() {
    let short = &ID[..12];
    let uid_sd = UID.replace('-', "_");
    let cases: Vec<(String, Want)> = vec![
        // Docker, cgroupfs driver (v1 hybrid, every hierarchy) and systemd driver (v2).
        (
            format!("12:pids:/docker/{ID}\n11:memory:/docker/{ID}\n1:name=systemd:/docker/{ID}\n0::/\n"),
            Want { runtime: Some(Runtime::Docker), id: short, ..NONE },
        ),
        (format!("0::/system.slice/docker-{ID}.scope\n"), Want { runtime: Some(Runtime::Docker), id: short, slice: Some("system.slice".into()), ..NONE }),
        // Rootless Docker under the user's manager.
        (
            format!("0::/user.slice/user-1000.slice/user@1000.service/user.slice/docker-{ID}.scope\n"),
            Want {
                runtime: Some(Runtime::Docker),
                id: short,
                rootless: true,
                unit: Some("user@1000.service".into()),
                slice: Some("user.slice".into()),
                ..NONE
            },
        ),
        // Kubernetes, systemd driver: containerd, CRI-O, dockershim.
        (
            format!("0::/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod{uid_sd}.slice/cri-containerd-{ID}.scope\n"),
            Want { runtime: Some(Runtime::Containerd), id: short, pod_uid: Some(UID), slice: Some(format!("kubepods-burstable-pod{uid_sd}.slice")), ..NONE },
        ),
        (
            format!("0::/kubepods.slice/kubepods-pod{uid_sd}.slice/crio-{ID}.scope\n"),
            Want { runtime: Some(Runtime::CriO), id: short, pod_uid: Some(UID), slice: Some(format!("kubepods-pod{uid_sd}.slice")), ..NONE },
        ),
        // CRI-O's monitor is not the container; the pod is still known.
        (
            format!("0::/kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod{uid_sd}.slice/crio-conmon-{ID}.scope\n"),
            Want {
                runtime: Some(Runtime::Kubernetes),
                pod_uid: Some(UID),
                unit: Some(format!("crio-conmon-{ID}.scope")),
                slice: Some(format!("kubepods-besteffort-pod{uid_sd}.slice")),
                ..NONE
            },
        ),
        // Kubernetes, cgroupfs driver: the runtime is not named.
        (
            format!("11:memory:/kubepods/burstable/pod{UID}/{ID}\n1:name=systemd:/kubepods/burstable/pod{UID}/{ID}\n"),
            Want { runtime: Some(Runtime::Kubernetes), id: short, pod_uid: Some(UID), ..NONE },
        ),
        (format!("0::/kubepods/pod{UID}/crio-{ID}\n"), Want { runtime: Some(Runtime::CriO), id: short, pod_uid: Some(UID), ..NONE }),
        // A static pod: its uid is a 32-digit hash.
        (
            format!("0::/kubepods/besteffort/pod5d8d7b1e2d6a4b9c8f1e0a2b3c4d5e6f/{ID}\n"),
            Want { runtime: Some(Runtime::Kubernetes), id: short, pod_uid: Some("5d8d7b1e2d6a4b9c8f1e0a2b3c4d5e6f"), ..NONE },
        ),
    ];
    for (text, want) in &cases {
        check(text, want);
    }
}

#[test]
fn podman_containerd_lxc_and_machines() {
    let short = &ID[..12];
    let cases: Vec<(String, Want)> = vec![
        // Podman: the container, its conmon, a pod, rootless with a split cgroup, cgroupfs.
        (format!("0::/machine.slice/libpod-{ID}.scope\n"), Want { runtime: Some(Runtime::Podman), id: short, slice: Some("machine.slice".into()), ..NONE }),
        (
            format!("0::/machine.slice/libpod-conmon-{ID}.scope\n"),
            Want { unit: Some(format!("libpod-conmon-{ID}.scope")), slice: Some("machine.slice".into()), ..NONE },
        ),
        (
            format!("0::/machine.slice/machine-libpod_pod_{ID2}.slice/libpod-{ID}.scope/container\n"),
            Want { runtime: Some(Runtime::Podman), id: short, slice: Some(format!("machine-libpod_pod_{ID2}.slice")), ..NONE },
        ),
        (
            format!("0::/user.slice/user-1000.slice/user@1000.service/user.slice/libpod-{ID}.scope/container\n"),
            Want {
                runtime: Some(Runtime::Podman),
                id: short,
                rootless: true,
                unit: Some("user@1000.service".into()),
                slice: Some("user.slice".into()),
                ..NONE
            },
        ),
        (format!("3:pids:/libpod_parent/libpod-{ID}\n"), Want { runtime: Some(Runtime::Podman), id: short, ..NONE }),
        (format!("3:pids:/libpod_parent/{ID}\n"), Want { runtime: Some(Runtime::Podman), id: short, ..NONE }),
        // containerd without Kubernetes.
        (format!("0::/system.slice/nerdctl-{ID}.scope\n"), Want { runtime: Some(Runtime::Containerd), id: short, slice: Some("system.slice".into()), ..NONE }),
        (format!("0::/default/{ID}\n"), Want { runtime: Some(Runtime::Other), id: short, ..NONE }),
        // LXC 1.x/2.x, 3.x, 4+/LXD (with its monitor, which is not the container).
        ("5:pids:/lxc/web01\n".into(), Want { runtime: Some(Runtime::Lxc), id: "web01", name: Some("web01"), ..NONE }),
        ("0::/lxc.payload/web01\n".into(), Want { runtime: Some(Runtime::Lxc), id: "web01", name: Some("web01"), ..NONE }),
        (
            "0::/lxc.payload.web01/system.slice/nginx.service\n".into(),
            Want {
                runtime: Some(Runtime::Lxc),
                id: "web01",
                name: Some("web01"),
                unit: Some("nginx.service".into()),
                slice: Some("system.slice".into()),
                ..NONE
            },
        ),
        ("0::/lxc.monitor.web01\n".into(), NONE),
        // systemd-nspawn, libvirt guests registered with machined.
        (
            "0::/machine.slice/machine-debian\\x2dbuild.scope/payload/system.slice/sshd.service\n".into(),
            Want {
                runtime: Some(Runtime::Nspawn),
                id: "debian-build",
                name: Some("debian-build"),
                unit: Some("sshd.service".into()),
                slice: Some("system.slice".into()),
                ..NONE
            },
        ),
        (
            "0::/machine.slice/systemd-nspawn@arch.service/payload\n".into(),
            Want { runtime: Some(Runtime::Nspawn), id: "arch", name: Some("arch"), slice: Some("machine.slice".into()), ..NONE },
        ),
        (
            "0::/machine.slice/systemd-nspawn@arch.service/supervisor\n".into(),
            Want { unit: Some("systemd-nspawn@arch.service".into()), slice: Some("machine.slice".into()), ..NONE },
        ),
        (
            "0::/machine.slice/machine-qemu\\x2d3\\x2dwin11.scope/libvirt/emulator\n".into(),
            Want { runtime: Some(Runtime::Libvirt), id: "win11", name: Some("win11"), slice: Some("machine.slice".into()), ..NONE },
        ),
    ];
    for (text, want) in &cases {
        check(text, want);
    }
}

#[test]
fn units_slices_nesting_and_nothing() {
    let short = &ID[..12];
    let cases: Vec<(String, Want)> = vec![
        // systemd units on the host, v2 and hybrid.
        ("0::/system.slice/nginx.service\n".into(), Want { unit: Some("nginx.service".into()), slice: Some("system.slice".into()), ..NONE }),
        (
            "0::/user.slice/user-1000.slice/session-3.scope\n".into(),
            Want { unit: Some("session-3.scope".into()), slice: Some("user-1000.slice".into()), ..NONE },
        ),
        (
            "0::/user.slice/user-1000.slice/user@1000.service/app.slice/app-gnome-firefox-2211.scope\n".into(),
            Want { unit: Some("app-gnome-firefox-2211.scope".into()), slice: Some("app.slice".into()), ..NONE },
        ),
        ("0::/init.scope\n".into(), Want { unit: Some("init.scope".into()), ..NONE }),
        ("0::/system.slice\n".into(), Want { slice: Some("system.slice".into()), ..NONE }),
        (
            "12:pids:/system.slice/ssh.service\n4:memory:/system.slice/ssh.service\n1:name=systemd:/system.slice/ssh.service\n0::/system.slice/ssh.service\n"
                .into(),
            Want { unit: Some("ssh.service".into()), slice: Some("system.slice".into()), ..NONE },
        ),
        // A container inside a container: the outer one (made by the host) counts.
        (
            format!("0::/system.slice/docker-{ID}.scope/kubepods/burstable/pod{UID}/{ID2}\n"),
            Want { runtime: Some(Runtime::Docker), id: short, slice: Some("system.slice".into()), ..NONE },
        ),
        (format!("0::/docker/{ID}/docker/{ID2}\n"), Want { runtime: Some(Runtime::Docker), id: short, ..NONE }),
        // Nothing to say: root cgroups, a sandbox's own v1 group, empty input.
        ("0::/\n".into(), NONE),
        ("9:name=systemd:/\n4:memory:/process_api/5fb726e8c9bdec1ab1c4e27f90aab77b\n0::/\n".into(), NONE),
        (String::new(), NONE),
    ];
    for (text, want) in &cases {
        check(text, want);
    }
}

#[test]
fn the_line_naming_a_container_wins_over_the_systemd_lines() {
    // Hybrid host: systemd sees a service, a v1 controller the container.
    let text = format!("4:memory:/docker/{ID}\n1:name=systemd:/system.slice/foo.service\n0::/system.slice/foo.service\n");
    let w = parse_cgroup(&text);
    assert_eq!(w.container.as_ref().map(|c| c.runtime), Some(Runtime::Docker));
    // v2 is preferred to name=systemd when neither names a container.
    let w = parse_cgroup("1:name=systemd:/system.slice/old.service\n0::/system.slice/new.service\n");
    assert_eq!(w.unit.as_deref(), Some("new.service"));
    let w = parse_cgroup("3:cpu:/system.slice/a.service\n1:name=systemd:/system.slice/b.service\n");
    assert_eq!(w.unit.as_deref(), Some("b.service"));
}

#[test]
fn hostile_input_stays_bounded_inert_and_never_builds_a_path() {
    // Control characters in a unit name are escaped.
    let w = parse_cgroup("0::/system.slice/evil\u{1b}]0;owned\u{7}.service\n");
    assert_eq!(w.unit.as_deref(), Some("evil\\x1b]0;owned\\x07.service"));
    // Escaped bytes in a machine name are only unescaped when printable.
    let w = parse_cgroup("0::/machine.slice/machine-a\\x1bb\\x2dc.scope\n");
    assert_eq!(w.container.as_ref().and_then(|c| c.name.as_deref()), Some("a\\x1bb-c"));
    // Over-long segments cannot be cgroup names and are skipped.
    let long = "a".repeat(300);
    let w = parse_cgroup(&format!("0::/system.slice/{long}.service\n"));
    assert_eq!(w.unit, None);
    assert_eq!(w.slice.as_deref(), Some("system.slice"));
    let w = parse_cgroup(&format!("0::/lxc/{}\n", "x".repeat(254)));
    let name = w.container.and_then(|c| c.name).expect("lxc name");
    assert_eq!(name.chars().count(), NAME_MAX_CHARS);
    assert!(name.ends_with('…'));
    // A huge line and a huge number of lines: no panic, bounded work.
    let huge = format!("0::/{}\n", "s.slice/".repeat(200_000));
    assert_eq!(parse_cgroup(&huge).slice.as_deref(), Some("s.slice"));
    let many = "0::/system.slice/x.service\n".repeat(100_000);
    assert_eq!(parse_cgroup(&many).unit.as_deref(), Some("x.service"));
    // `..`, `.` and empty segments are ignored; ids must be exactly hex.
    let w = parse_cgroup(&format!("0::/../../docker/./{ID}//\n"));
    assert_eq!(w.container.map(|c| c.full_id), Some(ID.to_string()));
    for bad in [format!("docker-../../{}", &ID[6..]), format!("docker-{}g", &ID[1..]), format!("docker-{ID}0"), "docker-..".to_string()] {
        let w = parse_cgroup(&format!("0::/system.slice/{bad}.scope\n"));
        assert!(w.container.is_none(), "{bad}");
    }
    // An uppercase id is normalised, so paths built from it are canonical.
    let w = parse_cgroup(&format!("0::/docker/{}\n", ID.to_ascii_uppercase()));
    assert_eq!(w.container.map(|c| c.full_id), Some(ID.to_string()));
    // Pod uids with anything but hex, `-` and `_` are not pods.
    let w = parse_cgroup(&format!("0::/kubepods/burstable/pod../{ID}\n"));
    assert_eq!(w.container.and_then(|c| c.pod_uid), None);
    // Malformed lines.
    for junk in ["garbage", "0:", "x::/docker/a", "0::relative/docker.service", ":::", "0::/\u{0}\u{0}", "\u{feff}0::/a.service"] {
        let _ = parse_cgroup(junk);
    }
    assert!(parse_cgroup("x::/system.slice/a.service").is_empty());
    assert!(parse_cgroup("0::system.slice/a.service").is_empty());
}

#[test]
fn unit_names_unescape_printable_bytes_only() {
    assert_eq!(unescape_unit("a\\x2db"), "a-b");
    assert_eq!(unescape_unit("a\\x2"), "a\\x2");
    assert_eq!(unescape_unit("a\\x0ab"), "a\\x0ab");
    assert_eq!(unescape_unit("\\x\\x41"), "\\xA");
    assert_eq!(unescape_unit("ü\\xzz"), "ü\\xzz");
}

proptest! {
    #[test]
    fn never_panics_on_anything(text in ".{0,600}") {
        let w = parse_cgroup(&text);
        for s in [w.unit, w.slice].into_iter().flatten() {
            prop_assert!(!s.chars().any(char::is_control));
            prop_assert!(s.chars().count() <= NAME_MAX_CHARS);
        }
    }

    #[test]
    fn never_panics_on_cgroup_shaped_lines(
        lines in proptest::collection::vec(
            (0u8..14, "(|pids|memory|name=systemd|cpu,cpuacct)", proptest::collection::vec(
                "(docker|kubepods|lxc|lxc.payload|libpod_parent|system.slice|\\.\\.|[a-f0-9]{64}|docker-[a-f0-9]{64}\\.scope|machine-[a-z\\\\x0-9]{0,12}\\.scope|pod[a-f0-9_-]{0,40}|kubepods-[a-z]{0,10}-pod[a-f0-9_]{0,36}\\.slice|systemd-nspawn@[^/]{0,8}\\.service|supervisor|[^/\\n]{0,20})",
                0..10,
            )),
            0..14,
        )
    ) {
        let text = lines.iter().fold(String::new(), |mut t, (n, c, segs)| {
            let _ = writeln!(t, "{n}:{c}:/{}", segs.join("/"));
            t
        });
        let w = parse_cgroup(&text);
        if let Some(c) = w.container {
            prop_assert!(c.id.chars().count() <= NAME_MAX_CHARS);
            prop_assert!(!c.full_id.chars().any(char::is_control));
            if c.name.is_none() && !c.full_id.is_empty() {
                prop_assert!(c.full_id.len() == 64 && c.full_id.bytes().all(|b| b.is_ascii_hexdigit()));
            }
        }
    }
}
