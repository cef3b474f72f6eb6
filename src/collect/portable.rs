//! The portable fallback: netstat2 for sockets and owners, sysinfo for
//! process facts. Slower, and without byte counters or socket cookies; used
//! when netlink `sock_diag` is refused or on other systems.

use std::time::Instant;

use netstat2::{AddressFamilyFlags, ProtocolFlags, ProtocolSocketInfo, TcpState, get_sockets_info};
use sysinfo::{Pid as SysPid, ProcessRefreshKind, ProcessesToUpdate, System, UpdateKind, Users};

use super::{CollectError, Observation, Source, SourceInfo, SourceKind, host_name, now_ms};
use crate::model::{HealthMessage, Pid, ProcessFacts, Protocol, RawSocket, SocketKey, SocketState, StageTimings, normalize_addr};

#[derive(Debug)]
pub struct PortableSource {
    reason: String,
    system: Option<System>,
    users: Option<Users>,
    host: String,
}

impl PortableSource {
    pub fn new(reason: String) -> Self {
        Self { reason, system: System::new().ok(), users: Users::new_with_refreshed_list().ok(), host: host_name() }
    }
}

fn state_of(s: TcpState) -> SocketState {
    match s {
        TcpState::Listen => SocketState::Listen,
        TcpState::SynSent => SocketState::SynSent,
        TcpState::SynReceived => SocketState::SynRecv,
        TcpState::Established => SocketState::Established,
        TcpState::FinWait1 => SocketState::FinWait1,
        TcpState::FinWait2 => SocketState::FinWait2,
        TcpState::CloseWait => SocketState::CloseWait,
        TcpState::Closing => SocketState::Closing,
        TcpState::LastAck => SocketState::LastAck,
        TcpState::TimeWait => SocketState::TimeWait,
        TcpState::Closed | TcpState::DeleteTcb | TcpState::Unknown => SocketState::Close,
    }
}

impl Source for PortableSource {
    fn info(&self) -> SourceInfo {
        SourceInfo { kind: SourceKind::Portable, host: self.host.clone(), detail: self.reason.clone() }
    }

    fn collect(&mut self) -> Result<Observation, CollectError> {
        let mut timings = StageTimings::default();
        let taken_at_ms = now_ms();
        let t = Instant::now();
        let rows = get_sockets_info(AddressFamilyFlags::IPV4 | AddressFamilyFlags::IPV6, ProtocolFlags::TCP | ProtocolFlags::UDP)
            .map_err(|e| CollectError::Portable(e.to_string()))?;
        let mut sockets = Vec::with_capacity(rows.len());
        let mut pids: Vec<u32> = Vec::new();
        for row in rows {
            let (protocol, local, remote, state) = match &row.protocol_socket_info {
                ProtocolSocketInfo::Tcp(t) => (Protocol::Tcp, (t.local_addr, t.local_port), (t.remote_addr, t.remote_port), state_of(t.state)),
                ProtocolSocketInfo::Udp(u) => (Protocol::Udp, (u.local_addr, u.local_port), (std::net::IpAddr::from([0u8; 4]), 0), SocketState::Unconn),
            };
            let local = normalize_addr(local.into());
            let remote = normalize_addr(remote.into());
            let inode = 0;
            pids.extend(row.associated_pids.iter().copied());
            sockets.push(RawSocket {
                key: SocketKey::derived(protocol, local, remote, inode),
                state,
                local,
                remote,
                inode,
                uid: u32::MAX,
                owners: row.associated_pids.iter().map(|&p| Pid(p)).collect(),
                tcp: None,
                recv_queue: 0,
                send_queue: 0,
                netns: None,
            });
        }
        timings.dump_ms = t.elapsed().as_secs_f64() * 1000.0;
        pids.sort_unstable();
        pids.dedup();

        let t = Instant::now();
        let sys_pids: Vec<SysPid> = pids.iter().map(|&p| SysPid::from_u32(p)).collect();
        let kind = ProcessRefreshKind::nothing()
            .with_cmd(UpdateKind::OnlyIfNotSet)
            .with_exe(UpdateKind::OnlyIfNotSet)
            .with_cwd(UpdateKind::OnlyIfNotSet)
            .with_user(UpdateKind::OnlyIfNotSet);
        let mut processes = Vec::with_capacity(pids.len());
        let Some(system) = self.system.as_mut() else {
            return Err(CollectError::Portable("sysinfo cannot read processes on this system".into()));
        };
        system.refresh_processes_specifics(ProcessesToUpdate::Some(&sys_pids), true, kind);
        for pid in pids {
            let Some(p) = system.process(SysPid::from_u32(pid)) else { continue };
            let uid = p.user_id().map_or(u32::MAX, |u| **u);
            let cmdline = p.cmd().iter().map(|a| a.to_string_lossy()).collect::<Vec<_>>().join(" ");
            processes.push(ProcessFacts {
                pid,
                ppid: p.parent().map_or(0, SysPid::as_u32),
                ancestors: {
                    let mut names = Vec::new();
                    let mut cur = p.parent();
                    while let Some(pp) = cur.and_then(|x| system.process(x)) {
                        if names.len() == 3 {
                            break;
                        }
                        names.push(pp.name().to_string_lossy().into_owned());
                        cur = pp.parent();
                    }
                    names
                },
                name: p.name().to_string_lossy().into_owned(),
                cmdline: super::procfs::join_cmdline(cmdline.as_bytes()),
                parent_cmdline: p
                    .parent()
                    .and_then(|pp| system.process(pp))
                    .map(|pp| super::procfs::join_cmdline(pp.cmd().iter().map(|a| a.to_string_lossy()).collect::<Vec<_>>().join(" ").as_bytes()))
                    .unwrap_or_default(),
                exe: p.exe().map(|e| e.display().to_string()),
                exe_deleted: false,
                exe_memfd: false,
                cwd: p.cwd().map(|c| c.display().to_string()),
                uid,
                user: self.users.as_ref().and_then(|list| list.iter().find(|u| **u.id() == uid)).map(|u| u.name().to_string()),
                start_time_ms: (p.start_time() as i64) * 1000,
                stdio_sockets: Vec::new(),
                has_tty: false,
                sensitive_files: Vec::new(),
                shell_links: Vec::new(),
                netns: None,
                // The portable path reads no /proc files of its own.
                workload: crate::model::Workload::default(),
            });
        }
        timings.facts_ms = t.elapsed().as_secs_f64() * 1000.0;
        let health = vec![HealthMessage::warn(self.reason.clone())];
        let privileged = rustix::process::geteuid().is_root();
        let viewer_uid = Some(rustix::process::getuid().as_raw());
        Ok(Observation { taken_at_ms, sockets, processes, privileged, viewer_uid, health, timings, ..Observation::default() })
    }
}
