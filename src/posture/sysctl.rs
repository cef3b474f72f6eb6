//! Network sysctls, read under `<root>/proc/sys`: each has the value a
//! host that is not a router should have, and what a wrong value means.

use super::{Area, Check, Options, Status, read_small};
use crate::model::Severity;

/// One sysctl: its name, the values that pass, the status otherwise, and
/// how much a failure matters.
struct Want {
    name: &'static str,
    good: &'static [&'static str],
    otherwise: Status,
    severity: Severity,
    why: &'static str,
    set: &'static str,
}

// Redirects are accepted by the kernel's default on every host, so a
// failure is a low finding in the explorer (not a medium one on every
// ordinary machine); `necromap posture` still says fail.
const WANTS: &[Want] = &[
    Want {
        name: "net.ipv4.ip_forward",
        good: &["0"],
        otherwise: Status::Warn,
        severity: Severity::Low,
        why: "this host forwards IPv4 packets between interfaces (expected on routers and container hosts)",
        set: "0",
    },
    Want {
        name: "net.ipv4.conf.all.rp_filter",
        good: &["1", "2"],
        otherwise: Status::Warn,
        severity: Severity::Low,
        why: "packets with spoofed source addresses are not filtered",
        set: "1",
    },
    Want {
        name: "net.ipv4.conf.all.accept_redirects",
        good: &["0"],
        otherwise: Status::Fail,
        severity: Severity::Low,
        why: "ICMP redirects can rewrite this host's routes",
        set: "0",
    },
    Want {
        name: "net.ipv4.conf.default.accept_redirects",
        good: &["0"],
        otherwise: Status::Fail,
        severity: Severity::Low,
        why: "new interfaces accept ICMP redirects",
        set: "0",
    },
    Want {
        name: "net.ipv4.conf.all.secure_redirects",
        good: &["0"],
        otherwise: Status::Warn,
        severity: Severity::Low,
        why: "redirects from the listed gateways are accepted",
        set: "0",
    },
    Want {
        name: "net.ipv4.conf.all.accept_source_route",
        good: &["0"],
        otherwise: Status::Fail,
        severity: Severity::Medium,
        why: "source-routed packets can steer traffic around filters",
        set: "0",
    },
    Want {
        name: "net.ipv4.conf.all.send_redirects",
        good: &["0"],
        otherwise: Status::Warn,
        severity: Severity::Low,
        why: "this host sends ICMP redirects (only routers should)",
        set: "0",
    },
    Want {
        name: "net.ipv4.tcp_syncookies",
        good: &["1"],
        otherwise: Status::Fail,
        severity: Severity::Medium,
        why: "a SYN flood can fill the listen queues",
        set: "1",
    },
    Want {
        name: "net.ipv4.conf.all.log_martians",
        good: &["1"],
        otherwise: Status::Warn,
        severity: Severity::Low,
        why: "packets with impossible addresses are dropped without a log line",
        set: "1",
    },
    Want {
        name: "net.ipv4.icmp_echo_ignore_broadcasts",
        good: &["1"],
        otherwise: Status::Warn,
        severity: Severity::Low,
        why: "broadcast pings are answered (smurf amplification)",
        set: "1",
    },
    Want {
        name: "net.ipv6.conf.all.forwarding",
        good: &["0"],
        otherwise: Status::Warn,
        severity: Severity::Low,
        why: "this host forwards IPv6 packets (expected on routers and container hosts)",
        set: "0",
    },
    Want {
        name: "net.ipv6.conf.all.accept_redirects",
        good: &["0"],
        otherwise: Status::Fail,
        severity: Severity::Low,
        why: "ICMPv6 redirects can rewrite this host's routes",
        set: "0",
    },
    Want {
        name: "net.ipv6.conf.default.accept_redirects",
        good: &["0"],
        otherwise: Status::Fail,
        severity: Severity::Low,
        why: "new interfaces accept ICMPv6 redirects",
        set: "0",
    },
    Want {
        name: "net.ipv6.conf.all.accept_source_route",
        good: &["0"],
        otherwise: Status::Fail,
        severity: Severity::Medium,
        why: "source-routed IPv6 packets are accepted",
        set: "0",
    },
];

/// The file of a sysctl under the root.
fn file_of(opts: &Options, name: &str) -> std::path::PathBuf {
    opts.path(&format!("proc/sys/{}", name.replace('.', "/")))
}

pub fn checks(opts: &Options) -> Vec<Check> {
    let ipv6 = opts.path("proc/sys/net/ipv6").is_dir();
    WANTS
        .iter()
        .filter(|w| ipv6 || !w.name.starts_with("net.ipv6"))
        .map(|w| {
            let id = format!("sysctl:{}", w.name);
            let file = file_of(opts, w.name);
            match read_small(&file) {
                None => Check::new(
                    id,
                    Area::Sysctl,
                    Status::Warn,
                    w.name,
                    format!("{} could not be read", file.display()),
                    "run on the host itself (not in a restricted container) to read it",
                ),
                Some(v) if w.good.contains(&v.as_str()) => Check::new(id, Area::Sysctl, Status::Pass, w.name, format!("{} = {v}", w.name), ""),
                Some(v) => Check::new(
                    id,
                    Area::Sysctl,
                    w.otherwise,
                    w.name,
                    format!("{} = {v}: {}", w.name, w.why),
                    format!("sysctl -w {}={} and add `{} = {}` to /etc/sysctl.d/90-hardening.conf", w.name, w.set, w.name, w.set),
                )
                .severity(w.severity),
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_are_judged_and_unreadable_ones_warn() {
        let dir = tempfile::tempdir().expect("tmp");
        let put = |name: &str, v: &str| {
            let p = dir.path().join("proc/sys").join(name.replace('.', "/"));
            std::fs::create_dir_all(p.parent().expect("parent")).expect("mkdir");
            std::fs::write(p, format!("{v}\n")).expect("write");
        };
        put("net.ipv4.ip_forward", "1");
        put("net.ipv4.tcp_syncookies", "0");
        put("net.ipv4.conf.all.rp_filter", "2");
        let opts = Options { root: dir.path().to_path_buf(), policy: None, run_commands: false };
        let c = checks(&opts);
        let get = |n: &str| c.iter().find(|x| x.id == format!("sysctl:{n}")).expect("check");
        assert_eq!(get("net.ipv4.ip_forward").status, Status::Warn);
        assert_eq!(get("net.ipv4.tcp_syncookies").status, Status::Fail);
        assert!(get("net.ipv4.tcp_syncookies").fix.contains("sysctl -w net.ipv4.tcp_syncookies=1"));
        assert_eq!(get("net.ipv4.conf.all.rp_filter").status, Status::Pass);
        assert_eq!(get("net.ipv4.conf.all.log_martians").status, Status::Warn, "missing: cannot tell");
        assert!(!c.iter().any(|x| x.id.contains("ipv6")), "no IPv6 tree, no IPv6 checks");
    }
}
