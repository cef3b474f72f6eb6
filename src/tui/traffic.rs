//! Per-process traffic over time, for the sparkline in a process's detail:
//! a small bounded history of each process's rates, one sample per
//! snapshot. UI state (it lives in [`App`](super::App)), never in the
//! snapshot.

use std::collections::VecDeque;

use rustc_hash::FxHashMap;

use super::derived::Rates;
use crate::model::Pid;

/// Samples kept per process.
pub const SAMPLES: usize = 60;
/// Processes followed at most; beyond, newcomers wait for room.
pub const MAX_PROCESSES: usize = 4096;

/// Recent rates per process, oldest first.
#[derive(Debug, Clone, Default)]
pub struct TrafficHistory {
    by_pid: FxHashMap<Pid, VecDeque<Rates>>,
}

impl TrafficHistory {
    /// One snapshot's rates: every followed process gets a sample (0 when
    /// it sent nothing); a process starts being followed when it first
    /// moves bytes and is dropped when its whole window is quiet.
    pub fn push(&mut self, rates: &FxHashMap<Pid, Rates>) {
        for (pid, samples) in &mut self.by_pid {
            samples.push_back(rates.get(pid).copied().unwrap_or_default());
            while samples.len() > SAMPLES {
                samples.pop_front();
            }
        }
        self.by_pid.retain(|_, s| s.iter().any(|r| r.up + r.down > 0));
        for (pid, r) in rates {
            if r.up + r.down > 0 && self.by_pid.len() < MAX_PROCESSES {
                self.by_pid.entry(*pid).or_insert_with(|| VecDeque::from([*r]));
            }
        }
    }

    /// The samples of `pid`, oldest first.
    pub fn history_of(&self, pid: Pid) -> Option<&VecDeque<Rates>> {
        self.by_pid.get(&pid)
    }

    pub fn len(&self) -> usize {
        self.by_pid.len()
    }

    pub fn is_empty(&self) -> bool {
        self.by_pid.is_empty()
    }
}

/// A one-line sparkline of `values` (up + down), scaled to its largest:
/// block characters, or ASCII when `plain`.
pub fn sparkline(values: &[u64], plain: bool) -> String {
    const BLOCKS: [char; 8] = ['▁', '▂', '▃', '▄', '▅', '▆', '▇', '█'];
    const ASCII: [char; 8] = ['_', '.', '-', '~', '=', '+', '*', '#'];
    let max = values.iter().copied().max().unwrap_or(0).max(1);
    let set = if plain { ASCII } else { BLOCKS };
    values.iter().map(|&v| if v == 0 { ' ' } else { set[(v.saturating_mul(7) / max) as usize] }).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_history_is_bounded_and_forgets_quiet_processes() {
        let mut h = TrafficHistory::default();
        let busy = FxHashMap::from_iter([(Pid(1), Rates { up: 10, down: 5 }), (Pid(2), Rates::default())]);
        for _ in 0..SAMPLES + 10 {
            h.push(&busy);
        }
        assert_eq!(h.history_of(Pid(1)).map(VecDeque::len), Some(SAMPLES));
        assert!(h.history_of(Pid(2)).is_none(), "a process that never moved a byte is not followed");
        for _ in 0..SAMPLES {
            h.push(&FxHashMap::default());
        }
        assert!(h.is_empty(), "a whole quiet window forgets the process");
    }

    #[test]
    fn the_sparkline_scales_to_its_largest_value() {
        assert_eq!(sparkline(&[0, 1, 7, 14], false), " ▁▄█");
        assert_eq!(sparkline(&[0, 14], true), " #");
    }
}
