//! Prioritization metrics of the EPSS papers over one population: effort (share flagged),
//! coverage (recall), efficiency (precision), and average precision over a full ranking.
//!
//! Invariant: rankings are total and deterministic. Items sort by score, highest first; ties are
//! broken by the FNV-1a hash of the CVE id (then the input position), which is stable and unrelated to the
//! features, so no strategy gains from the order of the input. A metric whose denominator is zero
//! is `None`, never `NaN`.

/// Effort, coverage and efficiency of one flagged set, and the average precision of the ranking
/// the strategy is built on.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Metrics {
    /// Flagged items.
    pub flagged: usize,
    /// Flagged positives.
    pub hits: usize,
    /// Flagged share of the population.
    pub effort: Option<f64>,
    /// Share of the positives that are flagged (recall).
    pub coverage: Option<f64>,
    /// Share of the flagged that are positive (precision).
    pub efficiency: Option<f64>,
    /// Average precision of the underlying ranking.
    pub average_precision: Option<f64>,
}

fn ratio(num: usize, den: usize) -> Option<f64> {
    (den > 0).then(|| num as f64 / den as f64)
}

/// `NaN` ranks below every number.
fn score_key(score: f64) -> f64 {
    if score.is_nan() {
        f64::NEG_INFINITY
    } else {
        score
    }
}

/// Indices of `scores` in rank order: highest score first, ties by `keys[i]` (the FNV-1a hash
/// of the CVE id), then index. `NaN` scores rank last.
pub fn rank_keys(keys: &[u64], scores: &[f64]) -> Vec<usize> {
    let mut order: Vec<usize> = (0..scores.len()).collect();
    order.sort_by(|&a, &b| {
        score_key(scores[b])
            .total_cmp(&score_key(scores[a]))
            .then(keys[a].cmp(&keys[b]))
            .then(a.cmp(&b))
    });
    order
}

/// Ranking of items named `ids` by `scores`, ties broken by the FNV-1a hash of the id.
#[cfg(test)]
pub fn rank(ids: &[&str], scores: &[f64]) -> Vec<usize> {
    let keys: Vec<u64> =
        ids.iter().map(|id| patchline_processors::learn::fnv1a64(id.as_bytes())).collect();
    rank_keys(&keys, scores)
}

/// Average precision of a ranking: the mean, over the positives, of the precision at each
/// positive's rank. `None` without positives.
pub fn average_precision(order: &[usize], labels: &[bool]) -> Option<f64> {
    let positives = labels.iter().filter(|&&l| l).count();
    if positives == 0 {
        return None;
    }
    let mut hits = 0usize;
    let mut sum = 0.0;
    for (k, &i) in order.iter().enumerate() {
        if labels[i] {
            hits += 1;
            sum += hits as f64 / (k + 1) as f64;
        }
    }
    Some(sum / positives as f64)
}

/// Metrics of the set `flagged` (by item), with `ap` the average precision of the strategy's
/// ranking.
pub fn set_metrics(flagged: &[bool], labels: &[bool], ap: Option<f64>) -> Metrics {
    let positives = labels.iter().filter(|&&l| l).count();
    let count = flagged.iter().filter(|&&f| f).count();
    let hits = flagged.iter().zip(labels).filter(|&(&f, &l)| f && l).count();
    Metrics {
        flagged: count,
        hits,
        effort: ratio(count, labels.len()),
        coverage: ratio(hits, positives),
        efficiency: ratio(hits, count),
        average_precision: ap,
    }
}

/// Metrics of the top `k` of `order`.
pub fn top_k(order: &[usize], labels: &[bool], k: usize, ap: Option<f64>) -> Metrics {
    let mut flagged = vec![false; labels.len()];
    for &i in order.iter().take(k) {
        flagged[i] = true;
    }
    set_metrics(&flagged, labels, ap)
}

/// The flagged share `k / n` of the top `k` of a ranking that maximizes F1 (harmonic mean of
/// coverage and efficiency); the smallest such `k` on ties. `None` without positives.
pub fn best_f1_effort(order: &[usize], labels: &[bool]) -> Option<f64> {
    let positives = labels.iter().filter(|&&l| l).count();
    if positives == 0 || order.is_empty() {
        return None;
    }
    let (mut hits, mut best, mut best_k) = (0usize, -1.0f64, 1usize);
    for (k, &i) in order.iter().enumerate() {
        hits += usize::from(labels[i]);
        let f1 = 2.0 * hits as f64 / ((k + 1) as f64 + positives as f64);
        if f1 > best {
            (best, best_k) = (f1, k + 1);
        }
    }
    Some(best_k as f64 / order.len() as f64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hand_made_ranking() {
        // Ten items, positives at ranks 1, 3 and 6 of the ranking by score.
        let ids = ["a", "b", "c", "d", "e", "f", "g", "h", "i", "j"];
        let scores = [0.9, 0.8, 0.7, 0.6, 0.5, 0.4, 0.3, 0.2, 0.1, 0.0];
        let labels = [true, false, true, false, false, true, false, false, false, false];
        let order = rank(&ids, &scores);
        assert_eq!(order, (0..10).collect::<Vec<_>>());
        let ap = average_precision(&order, &labels).unwrap();
        assert!((ap - (1.0 + 2.0 / 3.0 + 3.0 / 6.0) / 3.0).abs() < 1e-12, "{ap}");
        let m = top_k(&order, &labels, 4, Some(ap));
        assert_eq!((m.flagged, m.hits), (4, 2));
        assert_eq!(m.effort, Some(0.4));
        assert_eq!(m.coverage, Some(2.0 / 3.0));
        assert_eq!(m.efficiency, Some(0.5));
        assert_eq!(m.average_precision, Some(ap));
        // F1 at k: 1 -> 0.5, 3 -> 2*2/6 = 0.667, 6 -> 2*3/9 = 0.667: the smallest k wins.
        assert_eq!(best_f1_effort(&order, &labels), Some(0.3));
    }

    #[test]
    fn ties_break_by_hash_not_by_input_order() {
        let ids = ["CVE-1", "CVE-2", "CVE-3"];
        let forward = rank(&ids, &[1.0, 1.0, 1.0]);
        let reversed_ids = ["CVE-3", "CVE-2", "CVE-1"];
        let backward = rank(&reversed_ids, &[1.0, 1.0, 1.0]);
        let names =
            |ids: &[&str], o: &[usize]| o.iter().map(|&i| ids[i].to_string()).collect::<Vec<_>>();
        assert_eq!(names(&ids, &forward), names(&reversed_ids, &backward));
        let with_nan = rank(&ids, &[f64::NAN, 0.5, -1.0]);
        assert_eq!(with_nan, vec![1, 2, 0]);
        assert_eq!(rank_keys(&[3, 2, 1], &[1.0, 1.0, 2.0]), vec![2, 1, 0]);
    }

    #[test]
    fn empty_denominators_are_none() {
        let m = set_metrics(&[false, false], &[false, false], None);
        assert_eq!((m.effort, m.coverage, m.efficiency), (Some(0.0), None, None));
        assert_eq!(average_precision(&[0, 1], &[false, false]), None);
        assert_eq!(best_f1_effort(&[0, 1], &[false, false]), None);
        let none = set_metrics(&[], &[], None);
        assert_eq!(none.effort, None);
    }

    #[test]
    fn threshold_set() {
        let m = set_metrics(&[true, true, false, false], &[true, false, true, false], Some(0.75));
        assert_eq!((m.effort, m.coverage, m.efficiency), (Some(0.5), Some(0.5), Some(0.5)));
    }
}
