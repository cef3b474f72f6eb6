//! The fleet map's model: hosts with their worst severity and the
//! host-to-host edges, loaded from PostgreSQL once; a text rendering for
//! pipes. The explorer draws the same model (`tui::fleet_view`).

use std::fmt::Write as _;
use std::time::Duration;

use tokio_postgres::Client;

use super::FleetError;
use super::edges::{Edge, EdgeFilter, fleet_edges};
use super::labels::GroupBy;
use super::query::{HostRow, list_hosts};
use crate::terms::Severity;

/// What the fleet explorer shows.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FleetMap {
    /// In group order when grouped (see [`FleetMap::grouped`]).
    pub hosts: Vec<HostRow>,
    pub edges: Vec<Edge>,
    /// What hosts are grouped by, if anything.
    pub group_by: Option<GroupBy>,
}

impl FleetMap {
    /// The map with its hosts grouped by `by`: sorted by group, then name;
    /// hosts without the label (or an address) last.
    #[must_use]
    pub fn grouped(mut self, by: GroupBy) -> Self {
        self.hosts.sort_by_cached_key(|h| {
            let g = by.group_of(h);
            (g.is_none(), g, h.name.clone(), h.host_id.clone())
        });
        self.group_by = Some(by);
        self
    }

    /// The group of `host` as headed: `role=web`, or `no role`; none when not grouped.
    pub fn group_label(&self, host: &HostRow) -> Option<String> {
        let by = self.group_by.as_ref()?;
        Some(by.group_of(host).map_or_else(|| format!("no {}", by.name()), |g| format!("{}={g}", by.name())))
    }

    /// The group (its value) of the host with this id, when grouped and it has one.
    pub fn group_of_id(&self, host_id: &str) -> Option<String> {
        let by = self.group_by.as_ref()?;
        self.hosts.iter().find(|h| h.host_id == host_id).and_then(|h| by.group_of(h))
    }

    /// The worst severity of a host's findings, if any.
    pub fn worst(host: &HostRow) -> Option<Severity> {
        host.worst.map(|w| crate::store::severity_of_rank(i64::from(w)))
    }
}

/// Hosts (findings of the last day) and edges (the last hour).
pub async fn load(client: &Client) -> Result<FleetMap, FleetError> {
    let hosts = list_hosts(client, Duration::from_secs(86_400)).await?;
    let edges = fleet_edges(client, &EdgeFilter { hosts: Vec::new(), port: None, window: Duration::from_secs(3600), limit: 500 }).await?;
    Ok(FleetMap { hosts, edges, group_by: None })
}

fn clean(s: &str) -> String {
    crate::text::escape_control(&crate::text::bounded(s, 64))
}

/// The map as text: hosts with worst severity, then edges with both processes.
pub fn render_text(map: &FleetMap) -> String {
    let mut out = format!("fleet: {} hosts, {} host-to-host edges (last hour)\n\nhosts\n", map.hosts.len(), map.edges.len());
    let mut group = None;
    for h in &map.hosts {
        let g = map.group_label(h);
        if g.is_some() && g != group {
            let _ = writeln!(out, " {}", clean(g.as_deref().unwrap_or_default()));
            group = g;
        }
        let worst = FleetMap::worst(h).map_or("-", Severity::name);
        let _ = writeln!(out, "  {:<24} worst {:<8} {:>5} sockets {:>4} findings", clean(&h.name), worst, h.sockets, h.findings);
    }
    out.push_str("\nedges\n");
    for e in &map.edges {
        let _ = writeln!(
            out,
            "  {} {} → {}:{} {} ({}) ×{}",
            clean(&e.from.host),
            clean(e.from.process.as_deref().unwrap_or("?")),
            clean(&e.to.host),
            e.port,
            clean(e.to.process.as_deref().unwrap_or("?")),
            e.protocol,
            e.connections
        );
    }
    out
}
