//! Rule-engine benchmark: the embedded packs run over the synthetic busy
//! host (no sockets opened), timing `Engine::evaluate` alone.
//!
//! ```text
//! cargo bench --bench rules                 # 10k and 100k sockets
//! cargo bench --bench rules -- 1000,10000   # chosen sizes
//! ```

use std::time::Instant;

use necromap::model::{Evaluator, History};
use necromap::rules::{Engine, IocSet, RuleSet};

#[path = "measure.rs"]
mod measure;
#[path = "synthetic.rs"]
mod synthetic;
use measure::{median, ms};

const ROUNDS: usize = 11;

fn main() {
    let sizes: Vec<usize> = std::env::args()
        .skip(1)
        .find(|a| !a.starts_with('-'))
        .map_or_else(|| vec![10_000, 100_000], |s| s.split(',').filter_map(|x| x.trim().parse().ok()).collect());
    let rules = RuleSet::embedded();
    println!("necromap rules benchmark · {} rules · medians of {ROUNDS} runs\n", rules.rules.len());
    println!("{:>8} | {:>9} {:>9} {:>9} | {:>8}", "sockets", "median ms", "min ms", "max ms", "findings");
    for n in sizes {
        // The snapshot without findings; the engine then runs over it the
        // way the builder runs it inside a refresh.
        let snapshot = synthetic::busy_snapshot(n);
        let history = History::new();
        let mut engine = Engine::new(rules.clone(), IocSet::new());
        let mut times = Vec::with_capacity(ROUNDS);
        let mut findings = 0;
        for _ in 0..ROUNDS {
            let t = Instant::now();
            let out = engine.evaluate(&snapshot, &history);
            times.push(ms(t));
            findings = out.len();
        }
        let (lo, hi) = times.iter().fold((f64::INFINITY, 0.0f64), |(lo, hi), t| (lo.min(*t), hi.max(*t)));
        println!("{n:>8} | {:>9.2} {lo:>9.2} {hi:>9.2} | {findings:>8}", median(times));
    }
}
