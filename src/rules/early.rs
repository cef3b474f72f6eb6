//! Rules checked while each socket's item is made: a rule that walks the
//! (direction, state, zone) buckets and asks only about the socket and its
//! remote is checked against a socket the moment its item is written,
//! while the item is in cache. Checked afterwards, in the shared pass over
//! the buckets, each item was read back from memory (at 100k sockets the
//! items are ten megabytes; the first read of each was most of a check's
//! cost, and the two halves of the rules each read them again).
//!
//! The sockets that pass come out in the order the bucket pass gives: by
//! bucket in key order, then by row. Rules about the process are left to
//! the bucket pass, which first asks whether any owner passes at all (see
//! `candidates`): the owners are not known until every item is made.

use super::candidates::{BUCKET_CODES, Bucket, Walk, all_buckets, bucket_code, plan};
use super::conditions::Memo;
use super::engine::Context;
use super::item::Item;
use super::load::LoadedRule;

/// The rules to check while items are made, and what passed so far.
pub struct EarlyChecks<'r> {
    rules: Vec<&'r LoadedRule>,
    memos: Vec<Memo>,
    /// Per bucket code, the places in `rules` of those whose filter allows
    /// the bucket.
    by_code: Vec<Vec<usize>>,
    /// Per rule, the sockets that passed: their bucket and row.
    passed: Vec<Vec<(Bucket, u32)>>,
}

/// Per early rule (by id), the rows of the sockets that passed its
/// conditions, in the bucket pass's order.
#[derive(Debug, Default)]
pub struct EarlyRows<'r> {
    rows: Vec<(&'r str, Vec<u32>)>,
}

impl EarlyRows<'_> {
    /// The rows `rule` passed, if it was checked early.
    pub fn of(&self, rule: &LoadedRule) -> Option<&[u32]> {
        self.rows.iter().find(|(id, _)| *id == rule.rule.id).map(|(_, rows)| rows.as_slice())
    }
}

impl<'r> EarlyChecks<'r> {
    /// Which of `rules` are checked early on this refresh: those that run
    /// (see [`plan`]), walk the buckets, need a check per socket (not
    /// decided by the bucket alone) and ask nothing about the process.
    pub fn of(rules: &[&'r LoadedRule], ctx: &Context<'_>) -> Self {
        let mut early = Self { rules: Vec::new(), memos: Vec::new(), by_code: vec![Vec::new(); BUCKET_CODES], passed: Vec::new() };
        for &rule in rules {
            let Some(Walk::Buckets(filter)) = plan(rule, ctx) else { continue };
            if rule.compiled.bucket_only() || rule.compiled.asks_about_process() {
                continue;
            }
            let at = early.rules.len();
            for bucket in all_buckets() {
                if filter.allows(bucket) {
                    early.by_code[bucket_code(bucket)].push(at);
                }
            }
            early.rules.push(rule);
            early.memos.push(Memo::default());
            early.passed.push(Vec::new());
        }
        early
    }

    /// Check the socket at `row`, in `bucket`, against the early rules
    /// its bucket allows.
    #[inline]
    pub fn check(&mut self, bucket: Bucket, row: u32, item: &Item<'_>, ctx: &Context<'_>) {
        for &r in &self.by_code[bucket_code(bucket)] {
            if self.rules[r].compiled.check_in_bucket(item, ctx, &mut self.memos[r]) {
                self.passed[r].push((bucket, row));
            }
        }
    }

    /// Each early rule's rows, by bucket in key order, then by row (the
    /// rows were met in order: a stable sort by bucket keeps it).
    pub fn finish(self) -> EarlyRows<'r> {
        let rows = self
            .rules
            .into_iter()
            .zip(self.passed)
            .map(|(rule, mut passed)| {
                passed.sort_by_key(|&(bucket, _)| bucket);
                (rule.rule.id.as_str(), passed.into_iter().map(|(_, row)| row).collect())
            })
            .collect();
        EarlyRows { rows }
    }
}
