//! A rule's match, compiled once at load into a list of conditions (see
//! `condition`), and how the list is run: socket conditions cheapest first,
//! then the process conditions once per pid (a regex over a command line
//! runs once per process, not once per socket). A trace lists the steps in
//! the order the keys appear in the schema, whatever order they ran in.

use super::condition::{CompileError, Condition, Level, compile};
use super::engine::Context;
use super::ioc::IocSet;
use super::item::Item;
use super::schema::Match;
use crate::model::TraceStep;

/// Outcomes of a rule's process conditions per process, within one
/// refresh, by the process's place in the snapshot's process table (see
/// [`Item::process_ix`]): an array read per socket, not a hash lookup.
#[derive(Debug, Default)]
pub struct Memo(Vec<Outcome>);

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Outcome {
    Unknown,
    Fails,
    Holds,
}

impl Memo {
    /// The remembered outcome of process `ix`, or `judge`'s, remembered.
    fn get_or(&mut self, ix: u32, judge: impl FnOnce() -> bool) -> bool {
        let i = ix as usize;
        if i >= self.0.len() {
            self.0.resize(i + 1, Outcome::Unknown);
        }
        match self.0[i] {
            Outcome::Holds => true,
            Outcome::Fails => false,
            Outcome::Unknown => {
                let holds = judge();
                self.0[i] = if holds { Outcome::Holds } else { Outcome::Fails };
                holds
            }
        }
    }
}

/// A compiled match.
#[derive(Debug, Clone)]
pub struct Conditions {
    /// In trace order.
    all: Vec<Condition>,
    /// Indices into `all` of the socket conditions, cheapest first.
    socket: Vec<usize>,
    /// Indices into `all` of the process conditions, cheapest first.
    process: Vec<usize>,
}

impl Conditions {
    /// Compile a rule's match.
    pub fn compile(m: &Match) -> Result<Self, CompileError> {
        Ok(Self::of(compile(m, true)?))
    }

    /// Order a list of conditions for running.
    pub(super) fn of(all: Vec<Condition>) -> Self {
        let at = |level: Level| {
            let mut idx: Vec<usize> = (0..all.len()).filter(|&i| all[i].level() == level).collect();
            // Stable: equal costs keep the schema order.
            idx.sort_by_key(|&i| all[i].cost());
            idx
        };
        let (socket, process) = (at(Level::Socket), at(Level::Process));
        Self { all, socket, process }
    }

    /// Whether every condition is about the process only (the outcome is
    /// the same for every socket of a process).
    pub fn process_only(&self) -> bool {
        self.socket.is_empty()
    }

    /// The networks of `remote_ip_in`, if asked.
    pub fn networks(&self) -> Option<&IocSet> {
        self.all.iter().find_map(|c| match c {
            Condition::RemoteIpIn(n) => Some(n),
            _ => None,
        })
    }

    /// Whether every condition holds (nothing remembered).
    pub fn holds(&self, item: &Item<'_>, ctx: &Context<'_>) -> bool {
        self.socket.iter().chain(&self.process).all(|&i| self.all[i].eval(item, ctx, None))
    }

    /// Whether every condition holds, with the process conditions
    /// remembered per pid in `memo`.
    pub fn check(&self, item: &Item<'_>, ctx: &Context<'_>, memo: &mut Memo) -> bool {
        let process = || self.process.iter().all(|&i| self.all[i].eval(item, ctx, None));
        // A remembered process outcome costs less than any socket check, so
        // it goes first; a socket whose owner has no node (or no owner) is
        // not remembered and its process goes last.
        match item.process_ix {
            _ if self.process.is_empty() => self.socket_holds(item, ctx),
            Some(ix) => memo.get_or(ix, process) && self.socket_holds(item, ctx),
            None => self.socket_holds(item, ctx) && process(),
        }
    }

    fn socket_holds(&self, item: &Item<'_>, ctx: &Context<'_>) -> bool {
        self.socket.iter().all(|&i| self.all[i].eval(item, ctx, None))
    }

    /// Whether some condition cannot hold for any item of this refresh
    /// (no names seen, no baseline loaded): the rule's walk is skipped.
    pub fn never(&self, ctx: &Context<'_>) -> bool {
        self.all.iter().any(|c| c.never(ctx))
    }

    /// Whether every condition holds, pushing the step of each (in trace
    /// order) onto `trace` until one does not.
    pub fn trace(&self, item: &Item<'_>, ctx: &Context<'_>, trace: &mut Vec<TraceStep>) -> bool {
        self.all.iter().all(|c| c.eval(item, ctx, Some(&mut *trace)))
    }
}
