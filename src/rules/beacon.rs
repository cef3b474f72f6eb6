//! Beacon score, re-implemented from the description in the design notes
//! (RITA-style): regular intervals, low dispersion and enough repetitions
//! over the series' span score high. Sizes are not recorded per start, so
//! the size terms are dropped and the rest renormalised. Polling misses
//! connections shorter than the refresh interval: the score is a lower
//! bound, recorded with the poll interval.

use serde::Serialize;

/// Interval statistics and the score of one series of connection starts.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct BeaconStats {
    pub starts: usize,
    pub median_interval_s: f64,
    pub mad_s: f64,
    pub skew_term: f64,
    pub dispersion_term: f64,
    pub count_term: f64,
    pub score: f64,
}

fn quantile(sorted: &[f64], q: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let pos = q * (sorted.len() - 1) as f64;
    let (lo, hi) = (pos.floor() as usize, pos.ceil() as usize);
    sorted[lo] + (sorted[hi] - sorted[lo]) * (pos - lo as f64)
}

fn median(v: &mut [f64]) -> f64 {
    v.sort_by(f64::total_cmp);
    quantile(v, 0.5)
}

/// Score a series of start times (Unix ms, ascending). `None` when there
/// are fewer than 5 starts, the span is under 3 median intervals, or fewer
/// than 70% of intervals lie within ±20% of the mean (the cheap pre-filter).
pub fn score(starts_ms: &[i64]) -> Option<BeaconStats> {
    if starts_ms.len() < 5 {
        return None;
    }
    // Whole seconds, as RITA does: sub-second jitter (and our polling)
    // would otherwise make the quartiles noise.
    let mut intervals: Vec<f64> = starts_ms.windows(2).map(|w| ((w[1] - w[0]) as f64 / 1000.0).round()).collect();
    let mean = intervals.iter().sum::<f64>() / intervals.len() as f64;
    if mean <= 0.0 {
        return None;
    }
    let near = intervals.iter().filter(|&&i| (i - mean).abs() <= 0.2 * mean).count();
    if (near as f64) < 0.7 * intervals.len() as f64 {
        return None;
    }
    intervals.sort_by(f64::total_cmp);
    let (q1, q2, q3) = (quantile(&intervals, 0.25), quantile(&intervals, 0.5), quantile(&intervals, 0.75));
    let span_s = (starts_ms[starts_ms.len() - 1] - starts_ms[0]) as f64 / 1000.0;
    if span_s < 3.0 * q2 {
        return None;
    }
    let bowley =
        if (q3 - q1).abs() < f64::EPSILON || (q2 - q1).abs() < f64::EPSILON || (q2 - q3).abs() < f64::EPSILON { 0.0 } else { (q1 + q3 - 2.0 * q2) / (q3 - q1) };
    let skew_term = 1.0 - bowley.abs();
    let mut deviations: Vec<f64> = intervals.iter().map(|i| (i - q2).abs()).collect();
    let mad = median(&mut deviations);
    let dispersion_term = (1.0 - mad / 30.0).max(0.0);
    let count_term = if span_s > 0.0 { (starts_ms.len() as f64 / (span_s / 10.0)).min(1.0) } else { 0.0 };
    let score = (skew_term + dispersion_term + count_term) / 3.0;
    Some(BeaconStats { starts: starts_ms.len(), median_interval_s: q2, mad_s: mad, skew_term, dispersion_term, count_term, score })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_regular_one_second_beacon_scores_near_one() {
        let starts: Vec<i64> = (0..10).map(|i| i * 1000 + [0, 40, -30, 20, -10, 30, 0, -20, 10, 0][i as usize]).collect();
        let s = score(&starts).expect("scored");
        assert!(s.score > 0.95, "{s:?}");
        assert_eq!(s.starts, 10);
        assert!((s.median_interval_s - 1.0).abs() < 0.1);
    }

    #[test]
    fn a_slow_beacon_loses_on_count_and_irregular_traffic_is_filtered() {
        let slow: Vec<i64> = (0..6).map(|i| i * 60_000).collect();
        let s = score(&slow).expect("scored");
        assert!((s.count_term - 6.0 / 30.0).abs() < 1e-9, "{s:?}");
        assert!(s.score < 0.85 && s.score > 0.7, "{s:?}");
        let irregular = [0, 1_000, 9_000, 9_500, 30_000, 31_000, 70_000];
        assert!(score(&irregular).is_none(), "pre-filter rejects it");
        assert!(score(&[0, 1000, 2000, 3000]).is_none(), "fewer than 5 starts");
    }

    #[test]
    fn skew_follows_bowley() {
        // Intervals 10, 10, 10, 10, 20, 30: skewed right.
        let starts = [0, 10_000, 20_000, 30_000, 40_000, 60_000, 90_000];
        // The pre-filter rejects it (mean 15 s, only 4 of 6 within ±3 s)...
        assert!(score(&starts).is_none());
        // ... a milder skew passes. Intervals 10,10,10,11,13,14,14: Q1 10,
        // Q2 11, Q3 13.5 → Bowley (10 + 13.5 − 22)/3.5 = 0.43.
        let starts = [0, 10_000, 20_000, 30_000, 41_000, 54_000, 68_000, 82_000];
        let s = score(&starts).expect("scored");
        assert!((s.skew_term - (1.0 - 1.5 / 3.5)).abs() < 1e-9, "{s:?}");
    }
}
