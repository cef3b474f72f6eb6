//! Names for the containers `cgroup` found, from the runtimes' own files:
//! Docker's `config.v2.json`, Podman's storage list, and the kubelet's log
//! directories. Cheap and never fatal: each container is looked up once
//! (hits and misses are cached by id), reads are bounded, and whatever
//! cannot be read simply stays unnamed.
//!
//! The file system root is a parameter so tests can lay out fake runtime
//! files in a temporary directory.

use std::collections::HashMap;
use std::fs;
use std::io::Read;
use std::path::{Path, PathBuf};

use serde::Deserialize;

use super::cgroup::clean;
use crate::model::{Container, Runtime};

/// Largest runtime file read (config.v2.json is a few KiB; a storage list
/// of a thousand containers about 500 KiB).
pub const MAX_FILE: u64 = 1024 * 1024;
/// Directory entries looked at per listing.
const MAX_ENTRIES: usize = 10_000;

/// What the runtime files say about one container.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
struct Names {
    name: Option<String>,
    pod_name: Option<String>,
    pod_namespace: Option<String>,
}

/// Container names, cached per container id (or pod uid when there is no
/// id).
#[derive(Debug)]
pub struct ContainerNames {
    root: PathBuf,
    cache: HashMap<String, Names>,
}

impl ContainerNames {
    /// Look the runtimes' files up under `root` (`/` on a live host).
    pub fn new(root: impl Into<PathBuf>) -> Self {
        Self { root: root.into(), cache: HashMap::new() }
    }

    /// Fill in what the runtimes' files say about `c`. Fields already set
    /// (LXC and nspawn names come from the cgroup path) are kept.
    pub fn fill(&mut self, c: &mut Container) {
        let Some(key) = cache_key(c) else { return };
        let names = if let Some(n) = self.cache.get(&key) {
            n.clone()
        } else {
            let n = self.look_up(c);
            self.cache.insert(key, n.clone());
            n
        };
        c.name = c.name.take().or(names.name);
        c.pod_name = c.pod_name.take().or(names.pod_name);
        c.pod_namespace = c.pod_namespace.take().or(names.pod_namespace);
    }

    /// Forget every container not in `live`: the cache stays as large as
    /// the set of containers with live socket owners.
    pub fn retain<'a>(&mut self, live: impl IntoIterator<Item = &'a Container>) {
        // Hosts without containers pay nothing per refresh.
        if self.cache.is_empty() {
            return;
        }
        let keys: std::collections::HashSet<String> = live.into_iter().filter_map(cache_key).collect();
        self.cache.retain(|k, _| keys.contains(k));
    }

    /// How many containers are cached (for tests).
    pub fn cached(&self) -> usize {
        self.cache.len()
    }

    fn look_up(&self, c: &Container) -> Names {
        let mut out = Names::default();
        let has_id = c.full_id.len() == 64 && c.full_id.bytes().all(|b| b.is_ascii_hexdigit());
        if has_id && matches!(c.runtime, Runtime::Docker | Runtime::Kubernetes | Runtime::Other) {
            out.name = self.docker_name(&c.full_id);
        }
        if has_id && out.name.is_none() && matches!(c.runtime, Runtime::Podman | Runtime::Other) {
            out.name = self.podman_name(&c.full_id);
        }
        let kube = c.pod_uid.is_some() || matches!(c.runtime, Runtime::Kubernetes | Runtime::Containerd | Runtime::CriO);
        if kube {
            let from_log = if has_id { self.kubelet_container_log(&c.full_id) } else { None };
            match from_log {
                // The kubelet's name beats dockershim's `k8s_<container>_<pod>_…`.
                Some(n) => {
                    out.name = n.name.or(out.name);
                    out.pod_name = n.pod_name;
                    out.pod_namespace = n.pod_namespace;
                }
                None => {
                    if let Some(n) = c.pod_uid.as_deref().and_then(|uid| self.kubelet_pod_dir(uid)) {
                        out.name = n.name.or(out.name);
                        out.pod_name = n.pod_name;
                        out.pod_namespace = n.pod_namespace;
                    }
                }
            }
        }
        out
    }

    /// `Name` in Docker's `config.v2.json`, without its leading `/`.
    fn docker_name(&self, full_id: &str) -> Option<String> {
        #[derive(Deserialize)]
        struct Config {
            #[serde(rename = "Name")]
            name: Option<String>,
        }
        let raw = read_bounded(&self.root.join("var/lib/docker/containers").join(full_id).join("config.v2.json"))?;
        let config: Config = serde_json::from_slice(&raw).ok()?;
        let name = config.name?;
        let name = name.strip_prefix('/').unwrap_or(&name);
        (!name.is_empty()).then(|| clean(name))
    }

    /// The first name of the container in Podman's (containers/storage)
    /// list of containers, rootful storage only.
    fn podman_name(&self, full_id: &str) -> Option<String> {
        #[derive(Deserialize)]
        struct Stored {
            id: String,
            #[serde(default)]
            names: Vec<String>,
        }
        let raw = read_bounded(&self.root.join("var/lib/containers/storage/overlay-containers/containers.json"))?;
        let list: Vec<Stored> = serde_json::from_slice(&raw).ok()?;
        let found = list.into_iter().find(|s| s.id.eq_ignore_ascii_case(full_id))?;
        found.names.first().filter(|n| !n.is_empty()).map(|n| clean(n))
    }

    /// The kubelet's link `/var/log/containers/<pod>_<namespace>_<container>-<id>.log`
    /// names the container, its pod and namespace exactly.
    fn kubelet_container_log(&self, full_id: &str) -> Option<Names> {
        let suffix = format!("-{full_id}.log");
        list_dir(&self.root.join("var/log/containers")).into_iter().find_map(|file| {
            let stem = file.strip_suffix(&suffix)?;
            let (pod, rest) = stem.split_once('_')?;
            let (namespace, container) = rest.split_once('_')?;
            (!pod.is_empty() && !namespace.is_empty() && !container.is_empty() && !container.contains('_')).then(|| Names {
                name: Some(clean(container)),
                pod_name: Some(clean(pod)),
                pod_namespace: Some(clean(namespace)),
            })
        })
    }

    /// The kubelet's pod log directory `/var/log/pods/<namespace>_<pod>_<uid>/`:
    /// the pod's names, and the container's when the pod has only one.
    fn kubelet_pod_dir(&self, uid: &str) -> Option<Names> {
        let pods = self.root.join("var/log/pods");
        let dir = list_dir(&pods).into_iter().find(|d| d.rsplit_once('_').is_some_and(|(_, u)| u.eq_ignore_ascii_case(uid)))?;
        let (rest, _) = dir.rsplit_once('_')?;
        let (namespace, pod) = rest.split_once('_')?;
        if namespace.is_empty() || pod.is_empty() {
            return None;
        }
        let containers = list_dir(&pods.join(&dir));
        let name = match containers.as_slice() {
            [only] => Some(clean(only)),
            _ => None,
        };
        Some(Names { name, pod_name: Some(clean(pod)), pod_namespace: Some(clean(namespace)) })
    }
}

/// The key a container is cached under; none for containers whose names
/// come from the cgroup path, and for rootless ones (their files live in
/// the user's home, and the user chose the cgroup name: looking it up in
/// the system runtimes' files would let them borrow another container's
/// name).
fn cache_key(c: &Container) -> Option<String> {
    if c.rootless || matches!(c.runtime, Runtime::Lxc | Runtime::Nspawn | Runtime::Libvirt) {
        return None;
    }
    if !c.full_id.is_empty() {
        return Some(c.full_id.clone());
    }
    c.pod_uid.as_ref().map(|u| format!("pod:{u}"))
}

/// A regular file's contents, if it is at most `MAX_FILE` bytes.
fn read_bounded(path: &Path) -> Option<Vec<u8>> {
    let file = fs::File::open(path).ok()?;
    if !file.metadata().ok()?.is_file() {
        return None;
    }
    let mut out = Vec::new();
    file.take(MAX_FILE + 1).read_to_end(&mut out).ok()?;
    (out.len() as u64 <= MAX_FILE).then_some(out)
}

/// Names in a directory (UTF-8 ones only), at most `MAX_ENTRIES`.
fn list_dir(path: &Path) -> Vec<String> {
    let Ok(entries) = fs::read_dir(path) else { return Vec::new() };
    entries.filter_map(Result::ok).take(MAX_ENTRIES).filter_map(|e| e.file_name().into_string().ok()).collect()
}

#[cfg(test)]
#[path = "container_names_tests.rs"]
mod tests;
