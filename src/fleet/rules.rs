//! Fleet rules: what only shows across hosts, evaluated in PostgreSQL
//! over the window's events.
//!
//! - `fleet.lateral_movement`: one process on one host opened connections
//!   to admin ports (ssh, rdp, winrm, smb, vnc, telnet) of at least N other
//!   fleet hosts in the window.
//! - `fleet.new_edge`: a host-to-host edge (source host, destination host,
//!   port) first seen in the window: not in the fleet baseline, which is
//!   every edge seen in the [`FleetRules::baseline`] before the window.
//! - `fleet.blast_radius`: a critical finding on a host that talks with
//!   other fleet hosts: they are in reach.
//! - `fleet.shared_ioc`: one IOC endpoint (a finding tagged `ioc`) seen
//!   from several hosts.

use std::time::{Duration, SystemTime};

use serde::Serialize;
use tokio_postgres::Client;

use super::FleetError;
use crate::terms::Severity;

/// Thresholds.
#[derive(Debug, Clone)]
pub struct FleetRules {
    /// Distinct fleet hosts on admin ports that make lateral movement.
    pub lateral_hosts: i64,
    pub admin_ports: Vec<i32>,
    /// How far before the window an edge counts as known.
    pub baseline: Duration,
    /// Hosts that must share an IOC endpoint.
    pub ioc_hosts: i64,
}

impl Default for FleetRules {
    fn default() -> Self {
        Self { lateral_hosts: 3, admin_ports: vec![22, 23, 135, 445, 3389, 5900, 5985, 5986], baseline: Duration::from_secs(7 * 86_400), ioc_hosts: 2 }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum FleetRule {
    LateralMovement,
    NewEdge,
    BlastRadius,
    SharedIoc,
}

impl FleetRule {
    pub fn id(self) -> &'static str {
        match self {
            Self::LateralMovement => "fleet.lateral_movement",
            Self::NewEdge => "fleet.new_edge",
            Self::BlastRadius => "fleet.blast_radius",
            Self::SharedIoc => "fleet.shared_ioc",
        }
    }

    pub fn severity(self) -> Severity {
        match self {
            Self::LateralMovement | Self::BlastRadius | Self::SharedIoc => Severity::High,
            Self::NewEdge => Severity::Medium,
        }
    }

    pub fn explanation(self) -> &'static str {
        match self {
            Self::LateralMovement => {
                "One process reached the admin ports of several fleet hosts in a short window: how an intruder spreads after the first host (ssh, RDP, SMB, WinRM). Check what the process is and whether it is a known management tool."
            }
            Self::NewEdge => {
                "Two fleet hosts started talking on a port they never used before: a new dependency, a misconfiguration, or a foothold moving sideways. Confirm someone expected it."
            }
            Self::BlastRadius => {
                "A host with a critical finding talks with other fleet hosts: if it is compromised, those are next. Look at them before they show findings of their own."
            }
            Self::SharedIoc => {
                "The same known-bad endpoint is reached from several fleet hosts: one campaign, not a single odd host. Block the endpoint and look for the common cause (an image, a package, a credential)."
            }
        }
    }

    pub fn explanation_ko(self) -> &'static str {
        match self {
            Self::LateralMovement => {
                "한 프로세스가 짧은 시간 안에 여러 호스트의 관리 포트(ssh, RDP, SMB, WinRM)에 접속했습니다. 첫 침투 뒤 내부로 확산할 때의 전형적인 모습입니다. 해당 프로세스가 알려진 관리 도구인지 확인하세요."
            }
            Self::NewEdge => {
                "두 호스트가 전에 쓰지 않던 포트로 통신을 시작했습니다. 새 의존성, 설정 오류, 또는 내부 이동일 수 있습니다. 예정된 변경인지 확인하세요."
            }
            Self::BlastRadius => {
                "심각한 탐지가 있는 호스트가 다른 호스트들과 통신합니다. 이 호스트가 침해되었다면 다음 대상은 그 호스트들입니다. 그들에 탐지가 생기기 전에 먼저 살펴보세요."
            }
            Self::SharedIoc => {
                "같은 악성 엔드포인트에 여러 호스트가 접속했습니다. 한 호스트의 문제가 아니라 하나의 캠페인입니다. 엔드포인트를 차단하고 공통 원인(이미지, 패키지, 자격 증명)을 찾으세요."
            }
        }
    }
}

/// One fleet finding.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FleetFinding {
    pub rule: FleetRule,
    pub rule_id: &'static str,
    pub severity: Severity,
    /// What it is about, in a few words (host and process, or endpoint).
    pub subject: String,
    /// The host it is about (names): the source of lateral movement or of
    /// a new edge, the critical host of a blast radius; none for a shared IOC.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub host: Option<String>,
    /// The hosts involved (names).
    pub hosts: Vec<String>,
    pub explanation: &'static str,
    pub explanation_ko: &'static str,
}

fn finding(rule: FleetRule, host: Option<String>, subject: String, hosts: Vec<String>) -> FleetFinding {
    FleetFinding {
        rule,
        rule_id: rule.id(),
        severity: rule.severity(),
        subject,
        host,
        hosts,
        explanation: rule.explanation(),
        explanation_ko: rule.explanation_ko(),
    }
}

impl FleetFinding {
    /// Whether it is about or involves one of `names`.
    pub fn touches(&self, names: &[String]) -> bool {
        self.host.as_ref().is_some_and(|h| names.contains(h)) || self.hosts.iter().any(|h| names.contains(h))
    }
}

/// Every fleet rule over the last `window`.
pub async fn evaluate(client: &Client, rules: &FleetRules, window: Duration) -> Result<Vec<FleetFinding>, FleetError> {
    let now = SystemTime::now();
    let since = now.checked_sub(window).unwrap_or(std::time::UNIX_EPOCH);
    let known_since = since.checked_sub(rules.baseline).unwrap_or(std::time::UNIX_EPOCH);
    let mut out = Vec::new();
    // Edges by the destination's address (each host's addresses).
    let lateral = client
        .query(
            "SELECT h.name, e.pid, coalesce(e.comm, '?'), array_agg(DISTINCT d.name ORDER BY d.name)
               FROM socket_events e JOIN host_addresses a ON a.ip = e.remote_ip AND a.host_id <> e.host_id
               JOIN hosts h ON h.host_id = e.host_id JOIN hosts d ON d.host_id = a.host_id
              WHERE e.kind = 'opened' AND e.direction = 'outbound' AND e.at >= $1 AND e.remote_port = ANY($2)
              GROUP BY 1, 2, 3 HAVING count(DISTINCT a.host_id) >= $3",
            &[&since, &rules.admin_ports, &rules.lateral_hosts],
        )
        .await?;
    for r in lateral {
        let (host, pid, comm, to): (String, Option<i32>, String, Vec<String>) = (r.get(0), r.get(1), r.get(2), r.get(3));
        let pid = pid.map_or_else(|| "?".into(), |p| p.to_string());
        out.push(finding(
            FleetRule::LateralMovement,
            Some(host.clone()),
            format!("{comm} (pid {pid}) on {host} reached {} hosts on admin ports", to.len()),
            to,
        ));
    }
    let new_edges = client
        .query(
            "WITH edges AS (
                SELECT e.host_id AS src, a.host_id AS dst, e.remote_port AS port, min(e.at) AS first
                  FROM socket_events e JOIN host_addresses a ON a.ip = e.remote_ip AND a.host_id <> e.host_id
                 WHERE e.kind = 'opened' AND e.direction = 'outbound' AND e.at >= $2
                 GROUP BY 1, 2, 3)
             SELECT s.name, d.name, x.port FROM edges x JOIN hosts s ON s.host_id = x.src JOIN hosts d ON d.host_id = x.dst
              WHERE x.first >= $1 AND EXISTS (SELECT 1 FROM socket_events o WHERE o.at < $1 AND o.at >= $2)
              ORDER BY 1, 2, 3 LIMIT 1000",
            &[&since, &known_since],
        )
        .await?;
    for r in new_edges {
        let (src, dst, port): (String, String, i32) = (r.get(0), r.get(1), r.get(2));
        out.push(finding(FleetRule::NewEdge, Some(src.clone()), format!("{src} → {dst}:{port}"), vec![src, dst]));
    }
    let blast = client
        .query(
            "WITH critical AS (SELECT DISTINCT f.host_id FROM findings f WHERE f.severity >= 4 AND f.last_seen >= $1),
                  peers AS (
                    SELECT e.host_id AS h, a.host_id AS p FROM socket_events e JOIN host_addresses a ON a.ip = e.remote_ip AND a.host_id <> e.host_id
                     WHERE e.at >= $1 AND e.kind = 'opened'
                    UNION
                    SELECT a.host_id, e.host_id FROM socket_events e JOIN host_addresses a ON a.ip = e.remote_ip AND a.host_id <> e.host_id
                     WHERE e.at >= $1 AND e.kind = 'opened')
             SELECT h.name, array_agg(DISTINCT p2.name ORDER BY p2.name)
               FROM critical c JOIN peers x ON x.h = c.host_id JOIN hosts h ON h.host_id = c.host_id JOIN hosts p2 ON p2.host_id = x.p
              GROUP BY 1",
            &[&since],
        )
        .await?;
    for r in blast {
        let (host, peers): (String, Vec<String>) = (r.get(0), r.get(1));
        out.push(finding(FleetRule::BlastRadius, Some(host.clone()), format!("critical finding on {host}; {} fleet peers in reach", peers.len()), peers));
    }
    let shared = client
        .query(
            "SELECT host(f.endpoint), array_agg(DISTINCT h.name ORDER BY h.name)
               FROM findings f JOIN hosts h ON h.host_id = f.host_id
              WHERE f.endpoint IS NOT NULL AND 'ioc' = ANY(f.tags) AND f.last_seen >= $1
              GROUP BY f.endpoint HAVING count(DISTINCT f.host_id) >= $2",
            &[&since, &rules.ioc_hosts],
        )
        .await?;
    for r in shared {
        let (endpoint, hosts): (String, Vec<String>) = (r.get(0), r.get(1));
        out.push(finding(FleetRule::SharedIoc, None, format!("{endpoint} reached from {} hosts", hosts.len()), hosts));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::FleetRule;

    #[test]
    fn every_rule_explains_itself_in_both_languages() {
        for r in [FleetRule::LateralMovement, FleetRule::NewEdge, FleetRule::BlastRadius, FleetRule::SharedIoc] {
            assert!(r.id().starts_with("fleet."));
            assert!(r.explanation().len() > 40, "{}", r.id());
            assert!(r.explanation_ko().chars().any(|c| ('\u{AC00}'..='\u{D7A3}').contains(&c)), "{} has Korean text", r.id());
        }
    }
}
