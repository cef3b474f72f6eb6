//! The list's rows: the sockets that pass the view and the filter, in
//! the order of the sort column.

use rustc_hash::FxHashMap;

use super::{Rates, severity_at};
use crate::model::{Pid, Snapshot, SocketState};
use crate::spec::Spec;
use crate::tui::state::{Column, Sort, UiState};

/// A row's sort key: plain integers, so sorting 100k rows is a sort of
/// tuples (a name becomes its rank among the names of the rows).
type SortKey = (u8, u128, u64);

/// Ranks of strings in their order.
fn ranks<K: std::hash::Hash + Eq + Copy>(named: impl IntoIterator<Item = (K, String)>) -> FxHashMap<K, u128> {
    let mut all: Vec<(String, K)> = named.into_iter().map(|(k, n)| (n, k)).collect();
    all.sort_unstable_by(|a, b| a.0.cmp(&b.0));
    let mut out = FxHashMap::default();
    let mut rank = 0u128;
    for (i, (name, k)) in all.iter().enumerate() {
        if i > 0 && all[i - 1].0 != *name {
            rank += 1;
        }
        out.insert(*k, rank);
    }
    out
}

/// `(unknown, key)` of each row for `column`: unknown ages, rates and
/// containers sort last whichever way.
fn sort_keys(snapshot: &Snapshot, rates: &FxHashMap<Pid, Rates>, rows: &[u32], column: Column) -> Vec<(bool, SortKey)> {
    let socket = |i: u32| &snapshot.sockets[i as usize];
    let owners = || {
        let mut pids: Vec<Option<Pid>> = rows.iter().map(|&i| socket(i).owner()).collect();
        pids.sort_unstable();
        pids.dedup();
        pids
    };
    let pid_key = |p: Option<Pid>| p.map_or(0, |p| u64::from(p.0) + 1);
    let addr = |a: std::net::SocketAddr| match a {
        std::net::SocketAddr::V4(v) => (0, u128::from(u32::from(*v.ip())), u64::from(v.port())),
        std::net::SocketAddr::V6(v) => (1, u128::from(*v.ip()), u64::from(v.port())),
    };
    match column {
        Column::Process => {
            let rank = ranks(owners().into_iter().map(|p| (p, p.and_then(|p| snapshot.process(p)).map_or(String::new(), |n| n.facts.name.clone()))));
            rows.iter().map(|&i| (false, (0, rank.get(&socket(i).owner()).copied().unwrap_or(0), pid_key(socket(i).owner())))).collect()
        }
        Column::Container => {
            let labels: FxHashMap<Option<Pid>, Option<String>> =
                owners().into_iter().map(|p| (p, p.and_then(|p| snapshot.process(p)).and_then(|n| n.facts.workload.label()))).collect();
            let rank = ranks(labels.iter().filter_map(|(p, l)| l.clone().map(|l| (*p, l))));
            rows.iter()
                .map(|&i| {
                    let o = socket(i).owner();
                    (labels.get(&o).is_none_or(Option::is_none), (0, rank.get(&o).copied().unwrap_or(0), 0))
                })
                .collect()
        }
        Column::State => {
            let mut states: Vec<SocketState> = rows.iter().map(|&i| socket(i).state()).collect();
            states.sort_unstable();
            states.dedup();
            let rank = ranks(states.into_iter().map(|st| (st, st.name().to_string())));
            rows.iter().map(|&i| (false, (0, rank.get(&socket(i).state()).copied().unwrap_or(0), 0))).collect()
        }
        _ => rows
            .iter()
            .map(|&i| {
                let x = socket(i);
                let owner = x.owner().and_then(|p| rates.get(&p));
                let opt = |v: Option<u64>| (v.is_none(), (0, u128::from(v.unwrap_or(0)), 0));
                match column {
                    Column::Proto => (false, (0, u128::from(x.key().protocol == crate::model::Protocol::Udp), 0)),
                    Column::Local => (false, addr(x.raw.local)),
                    Column::Remote => (false, addr(x.raw.remote)),
                    Column::Age => opt(x.age().map(|a| a.ms.max(0) as u64)),
                    Column::Up => opt(x.send_rate()),
                    Column::Down => opt(x.recv_rate()),
                    // Then by owner, so a process's sockets stay together.
                    Column::ProcUp => (owner.is_none(), (0, u128::from(owner.map_or(0, |r| r.up)), pid_key(x.owner()))),
                    Column::ProcDown => (owner.is_none(), (0, u128::from(owner.map_or(0, |r| r.down)), pid_key(x.owner()))),
                    _ => (false, (0, severity_at(snapshot, i).map_or(0, |s| s as u128 + 1), 0)),
                }
            })
            .collect(),
    }
}

/// The rows to show, in order.
pub(crate) fn rows(snapshot: &Snapshot, spec: &Spec, ui: &UiState, rates: &FxHashMap<Pid, Rates>) -> Vec<u32> {
    let view = spec.views.get_index(ui.view).map(|(_, v)| &v.filter);
    // Every socket in the default order: the snapshot has it already.
    let everything = ui.filter.is_empty() && view.is_none_or(|v| *v == crate::spec::ViewFilter::default());
    if everything && ui.sort == Sort::WORST_FIRST && snapshot.order.by_severity.len() == snapshot.sockets.len() {
        return snapshot.order.by_severity.clone();
    }
    let rows: Vec<u32> = snapshot
        .sockets
        .iter()
        .enumerate()
        .filter(|(i, s)| {
            if let Some(v) = view
                && !crate::model::view::passes(v, snapshot, s)
            {
                return false;
            }
            if ui.filter.is_empty() {
                return true;
            }
            let tags: Vec<&str> = crate::model::view::socket_tags(snapshot, s).collect();
            ui.filter.matches(snapshot, s, severity_at(snapshot, *i as u32), &tags)
        })
        .map(|(i, _)| i as u32)
        .collect();
    let Sort { column, descending } = ui.sort;
    let keys = sort_keys(snapshot, rates, &rows, column);
    let mut keyed: Vec<(bool, SortKey, u32)> = keys.into_iter().zip(rows).map(|((unknown, k), i)| (unknown, k, i)).collect();
    keyed.sort_unstable_by(|a, b| a.0.cmp(&b.0).then(if descending { b.1.cmp(&a.1) } else { a.1.cmp(&b.1) }).then(a.2.cmp(&b.2)));
    keyed.into_iter().map(|k| k.2).collect()
}
