//! A rule's match, compiled once at load into a list of conditions (see
//! `condition`), and how the list is run: socket conditions cheapest first,
//! the conditions about the remote address once per address (names, lists,
//! tags and country are the same for the thousands of sockets to one
//! place), and the process conditions once per pid (a regex over a command
//! line runs once per process, not once per socket). A trace lists the
//! steps in the order the keys appear in the schema, whatever order they
//! ran in.

use std::net::IpAddr;

use super::condition::{CompileError, Condition, Level, Walked, compile};
use super::engine::Context;
use super::ioc::IocSet;
use super::item::Item;
use super::schema::Match;
use crate::model::{NetNs, TraceStep};
use crate::slots::Slots;

/// Outcomes of a rule's conditions within one refresh: the process
/// conditions by the process's place in the snapshot's process table (see
/// [`Item::process_ix`]: an array read per socket, not a hash lookup), and
/// the remote address's conditions by the address as the socket has it
/// and its namespace (numbered in [`Slots`]: a process's sockets to one
/// place lie together and are numbered without a lookup).
#[derive(Debug, Default)]
pub struct Memo {
    processes: Vec<Outcome>,
    remotes: Slots<Remote>,
    /// By the remote's number.
    remote_outcomes: Vec<bool>,
}

/// A remote address and the namespace it is seen from.
type Remote = (IpAddr, Option<NetNs>);

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
        if i >= self.processes.len() {
            self.processes.resize(i + 1, Outcome::Unknown);
        }
        match self.processes[i] {
            Outcome::Holds => true,
            Outcome::Fails => false,
            Outcome::Unknown => {
                let holds = judge();
                self.processes[i] = if holds { Outcome::Holds } else { Outcome::Fails };
                holds
            }
        }
    }

    /// The remembered outcome for `remote`, or `judge`'s, remembered.
    fn remote_or(&mut self, remote: Remote, judge: impl FnOnce() -> bool) -> bool {
        let (slot, new) = self.remotes.of(remote);
        if new {
            self.remote_outcomes.push(judge());
        }
        self.remote_outcomes[slot]
    }
}

/// A compiled match.
#[derive(Debug, Clone)]
pub struct Conditions {
    /// In trace order.
    all: Vec<Condition>,
    /// Indices into `all` of the socket conditions, cheapest first, and how
    /// many of them are cheaper than a remembered outcome (a field compare
    /// or a short list): they run before the remote's conditions.
    socket: (Vec<usize>, usize),
    /// The same without those a (direction, state, zone) bucket decides:
    /// for the sockets of a bucket the rule's filter allows.
    past_bucket: (Vec<usize>, usize),
    /// Indices into `all` of the remote address's conditions, cheapest first.
    remote: Vec<usize>,
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
        let (socket, remote, process) = (at(Level::Socket), at(Level::Endpoint), at(Level::Process));
        let with_cheap = |idx: Vec<usize>| {
            let cheap = idx.iter().take_while(|&&i| all[i].cost() <= 1).count();
            (idx, cheap)
        };
        let decided = Self::bucket_decides(&all);
        let past_bucket = with_cheap(socket.iter().copied().filter(|&i| !decided(&all[i])).collect());
        let socket = with_cheap(socket);
        Self { all, socket, past_bucket, remote, process }
    }

    /// Which top-level conditions the (direction, state, zone) bucket a
    /// socket is in decides: its direction, zone, and state (unless a
    /// `state` and a `state_in` are both asked: the filter allows either).
    fn bucket_decides(all: &[Condition]) -> impl Fn(&Condition) -> bool + use<> {
        let states = all.iter().filter(|c| matches!(c, Condition::State(_) | Condition::StateIn(_))).count();
        move |c| match c {
            Condition::Direction(_) | Condition::ZoneIn(_) => true,
            Condition::State(_) | Condition::StateIn(_) => states == 1,
            _ => false,
        }
    }

    /// Whether every condition is at `level` (for a NOT or an OR made of
    /// them, which is then at that level too).
    pub(super) fn all_at(&self, level: Level) -> bool {
        self.all.iter().all(|c| c.level() == level)
    }

    /// Whether every condition is about the process only (the outcome is
    /// the same for every socket of a process).
    pub fn process_only(&self) -> bool {
        self.socket.0.is_empty() && self.remote.is_empty()
    }

    /// Whether every condition is about the socket's direction, state or
    /// zone: the (direction, state, zone) bucket a rule walks then decides
    /// them (see `candidates`), and every socket of an allowed bucket
    /// passes without a check.
    pub fn bucket_only(&self) -> bool {
        self.all.iter().all(Self::bucket_decides(&self.all))
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
        self.socket.0.iter().chain(&self.remote).chain(&self.process).all(|&i| self.all[i].eval(item, ctx, None))
    }

    /// Whether any condition is about the process.
    pub fn asks_about_process(&self) -> bool {
        !self.process.is_empty()
    }

    /// Whether the process conditions hold for `item`'s process
    /// (remembered per process in `memo`, as [`Conditions::check`] does);
    /// true when there are none.
    pub fn process_holds(&self, item: &Item<'_>, ctx: &Context<'_>, memo: &mut Memo) -> bool {
        match item.process_ix {
            Some(ix) => memo.get_or(ix, || self.process_now(item, ctx)),
            None => self.process_now(item, ctx),
        }
    }

    /// Whether the process conditions hold for `item`, asked now.
    fn process_now(&self, item: &Item<'_>, ctx: &Context<'_>) -> bool {
        self.process.iter().all(|&i| self.all[i].eval(item, ctx, None))
    }

    /// Whether every condition holds, with the process conditions
    /// remembered per pid in `memo`.
    pub fn check(&self, item: &Item<'_>, ctx: &Context<'_>, memo: &mut Memo) -> bool {
        self.check_with(&self.socket, item, ctx, memo)
    }

    /// [`Conditions::check`] for a socket of a bucket the rule's filter
    /// allows: what the bucket decides is not asked again.
    pub fn check_in_bucket(&self, item: &Item<'_>, ctx: &Context<'_>, memo: &mut Memo) -> bool {
        self.check_with(&self.past_bucket, item, ctx, memo)
    }

    fn check_with(&self, socket: &(Vec<usize>, usize), item: &Item<'_>, ctx: &Context<'_>, memo: &mut Memo) -> bool {
        // A remembered process outcome costs less than any socket check, so
        // it goes first; a socket whose owner has no node (or no owner) is
        // not remembered and its process goes last.
        match item.process_ix {
            _ if self.process.is_empty() => self.socket_holds(socket, item, ctx, memo),
            Some(_) => self.process_holds(item, ctx, memo) && self.socket_holds(socket, item, ctx, memo),
            None => self.socket_holds(socket, item, ctx, memo) && self.process_now(item, ctx),
        }
    }

    /// The socket's and its remote's conditions: the cheap socket ones,
    /// the remote's (remembered per address), then the rest.
    fn socket_holds(&self, (socket, cheap): &(Vec<usize>, usize), item: &Item<'_>, ctx: &Context<'_>, memo: &mut Memo) -> bool {
        let run = |idx: &[usize]| idx.iter().all(|&i| self.all[i].eval(item, ctx, None));
        let (cheap, dear) = socket.split_at(*cheap);
        run(cheap)
            && (self.remote.is_empty()
                || match item.remote {
                    Some(r) => memo.remote_or((r.ip(), item.netns), || run(&self.remote)),
                    None => run(&self.remote),
                })
            && run(dear)
    }

    /// Whether some condition cannot hold for any item of this refresh
    /// that `walked` allows (no names seen, no endpoint reached on the
    /// port): the rule's walk is skipped.
    pub fn never(&self, ctx: &Context<'_>, walked: Walked) -> bool {
        self.all.iter().any(|c| c.never(ctx, walked))
    }

    /// Whether every condition holds, pushing the step of each (in trace
    /// order) onto `trace` until one does not.
    pub fn trace(&self, item: &Item<'_>, ctx: &Context<'_>, trace: &mut Vec<TraceStep>) -> bool {
        self.all.iter().all(|c| c.eval(item, ctx, Some(&mut *trace)))
    }
}

#[cfg(test)]
#[path = "conditions_tests.rs"]
mod tests;
