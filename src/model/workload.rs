//! What a process runs as, seen from its cgroup: the container (and
//! Kubernetes pod) it belongs to, or the systemd unit and slice that
//! started it. Filled by `collect::cgroup`; every string in here came from
//! a cgroup path or a runtime's files and is already bounded and escaped.

use std::fmt;

use serde::{Deserialize, Serialize};

/// Container, unit and slice of one process. All empty for a process in the
/// root cgroup, on a host without systemd, or when /proc/<pid>/cgroup could
/// not be read.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Workload {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub container: Option<Container>,
    /// The innermost systemd unit (`nginx.service`, `session-3.scope`),
    /// not counting the scope that *is* the container (`docker-<id>.scope`),
    /// whose identity is in `container` instead.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unit: Option<String>,
    /// The innermost systemd slice (`system.slice`, `user-1000.slice`,
    /// `kubepods-burstable-pod<uid>.slice`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub slice: Option<String>,
}

impl Workload {
    /// Nothing known: the field is left out of JSON, so recordings of
    /// processes outside containers and units do not grow.
    pub fn is_empty(&self) -> bool {
        self.container.is_none() && self.unit.is_none() && self.slice.is_none()
    }

    /// A short name for display: the container's label, else the unit.
    /// Slices alone say little about a process, so they give no label.
    pub fn label(&self) -> Option<String> {
        self.container.as_ref().map(Container::label).or_else(|| self.unit.clone())
    }
}

/// The container a process runs in.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Container {
    pub runtime: Runtime,
    /// What `docker ps` shows: the first 12 hex digits of the id. For
    /// runtimes that name rather than number their containers (LXC,
    /// systemd-nspawn, libvirt) the name. Empty when only the pod is known.
    pub id: String,
    /// The full id (64 hex digits) or name.
    pub full_id: String,
    /// The runtime's name for the container, from its files on disk.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Kubernetes pod uid, with dashes (`kubepods` cgroups spell it with
    /// underscores under the systemd driver).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pod_uid: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pod_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pod_namespace: Option<String>,
    /// The container's cgroup sits in a user's delegated subtree
    /// (`user@<uid>.service`): a rootless runtime — or a user imitating
    /// one, since that user may create any cgroup names there. Names are
    /// not looked up in the system runtimes' files for these.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub rootless: bool,
}

impl Container {
    /// For display: `namespace/pod/container` for pods whose names are
    /// known, else the container's name, else `runtime:shortid`.
    pub fn label(&self) -> String {
        let ident = || if self.id.is_empty() { self.runtime.to_string() } else { format!("{}:{}", self.runtime, self.id) };
        match (&self.pod_name, &self.name) {
            (Some(pod), name) => {
                let who = name.clone().unwrap_or_else(|| if self.id.is_empty() { "?".to_string() } else { self.id.clone() });
                match &self.pod_namespace {
                    Some(ns) => format!("{ns}/{pod}/{who}"),
                    None => format!("{pod}/{who}"),
                }
            }
            (None, Some(name)) => name.clone(),
            (None, None) => match (&self.pod_uid, self.id.is_empty()) {
                (Some(uid), true) => format!("pod:{uid}"),
                _ => ident(),
            },
        }
    }
}

/// Which runtime made the container, as far as the cgroup path tells.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Runtime {
    Docker,
    /// containerd directly (CRI `cri-containerd-<id>.scope`, nerdctl, ctr).
    Containerd,
    #[serde(rename = "crio")]
    CriO,
    Podman,
    Lxc,
    /// A systemd-nspawn container registered with machined.
    Nspawn,
    /// A libvirt/QEMU virtual machine registered with machined: not a
    /// container, but a guest all the same.
    Libvirt,
    /// A Kubernetes pod whose path does not name the runtime (the
    /// `cgroupfs` driver: `/kubepods/burstable/pod<uid>/<id>`).
    Kubernetes,
    /// A container id in a path that names no runtime we know.
    #[default]
    Other,
}

impl Runtime {
    pub fn name(self) -> &'static str {
        match self {
            Self::Docker => "docker",
            Self::Containerd => "containerd",
            Self::CriO => "crio",
            Self::Podman => "podman",
            Self::Lxc => "lxc",
            Self::Nspawn => "nspawn",
            Self::Libvirt => "libvirt",
            Self::Kubernetes => "kubernetes",
            Self::Other => "other",
        }
    }
}

impl fmt::Display for Runtime {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn docker() -> Container {
        Container { runtime: Runtime::Docker, id: "0123456789ab".into(), full_id: format!("0123456789ab{}", "c".repeat(52)), ..Container::default() }
    }

    #[test]
    fn labels() {
        assert_eq!(docker().label(), "docker:0123456789ab");
        assert_eq!(Container { name: Some("web".into()), ..docker() }.label(), "web");
        let pod = Container {
            runtime: Runtime::Containerd,
            name: Some("nginx".into()),
            pod_uid: Some("u".into()),
            pod_name: Some("web-7d9f".into()),
            pod_namespace: Some("prod".into()),
            ..docker()
        };
        assert_eq!(pod.label(), "prod/web-7d9f/nginx");
        assert_eq!(Container { name: None, ..pod.clone() }.label(), "prod/web-7d9f/0123456789ab");
        let bare_pod = Container { runtime: Runtime::Kubernetes, pod_uid: Some("1f2e".into()), ..Container::default() };
        assert_eq!(bare_pod.label(), "pod:1f2e");
        let w = Workload { container: None, unit: Some("nginx.service".into()), slice: Some("system.slice".into()) };
        assert_eq!(w.label().as_deref(), Some("nginx.service"));
        assert_eq!(Workload { container: Some(docker()), ..w }.label().as_deref(), Some("docker:0123456789ab"));
        assert_eq!(Workload::default().label(), None);
    }

    #[test]
    fn json_is_snake_case_and_skips_what_is_unknown() {
        let w = Workload { container: Some(docker()), unit: None, slice: Some("system.slice".into()) };
        let v = serde_json::to_value(&w).expect("serialises");
        assert_eq!(v["container"]["runtime"], "docker");
        assert!(v.get("unit").is_none());
        assert!(v["container"].get("name").is_none());
        assert_eq!(serde_json::to_value(Runtime::CriO).expect("runtime"), "crio");
        assert_eq!(serde_json::to_value(Runtime::Kubernetes).expect("runtime"), "kubernetes");
        let back: Workload = serde_json::from_value(v).expect("round trip");
        assert_eq!(back, w);
        assert!(Workload::default().is_empty());
    }

    #[test]
    fn process_nodes_carry_the_workload_and_old_recordings_still_load() {
        use crate::model::{ProcessFacts, ProcessNode};
        let facts =
            ProcessFacts { pid: 7, name: "nginx".into(), workload: Workload { container: Some(docker()), ..Workload::default() }, ..ProcessFacts::default() };
        let node = ProcessNode { facts: facts.clone(), ..ProcessNode::default() };
        let v = serde_json::to_value(&node).expect("serialises");
        assert_eq!(v["workload"]["container"]["id"], "0123456789ab");
        let back: ProcessNode = serde_json::from_value(v).expect("loads");
        assert_eq!(back.facts.workload, facts.workload);
        // Without a workload there is no key; without the key, an empty one.
        let plain = serde_json::to_value(ProcessFacts { pid: 7, ..ProcessFacts::default() }).expect("serialises");
        assert!(plain.get("workload").is_none());
        let old: ProcessFacts = serde_json::from_value(plain).expect("old facts load");
        assert!(old.workload.is_empty());
    }
}
