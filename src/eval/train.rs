//! Training patchline's exploit-likelihood model at an as-of day, from what was known that day.
//!
//! Invariant: every example, feature and label used here is known on the as-of day `D`. The
//! examples are the CVEs known at `D` (the same [`data::known_at`] set the test draws from, KEV
//! entries included), with their features as of `D` (EPSS from the same file the test uses, and
//! the vendor's KEV history from [`VendorPrior`], which never counts the CVE's own entry), and
//! the label "in KEV by `D`" from the catalog file. Hyperparameters and the "best" effort are
//! chosen on a fifth of those CVEs held out by hash, trained on the other four fifths; the final
//! model is trained on all of them. No label after `D` is read here.

use super::data::{self, EpssMap, Item, Record};
use super::metrics;
use super::prior::VendorPrior;
use patchline_processors::learn::{fnv1a64, hash_features, Ftrl, FtrlParams, Hashed};
use patchline_processors::score::features::{extract, CveFacts};
use std::collections::HashMap;

/// Passes over the training examples, each in a fresh deterministic order.
pub const PASSES: u32 = 3;
/// Width of the hashed feature space.
pub const HASH_BITS: u32 = 20;
/// One example in `HOLDOUT` (by hash of the CVE id) validates.
pub const HOLDOUT: u64 = 5;
/// The hyperparameter grid: `(alpha, l1)`; `beta = 1`, `l2 = 1`.
pub const GRID: [(f64, f64); 6] =
    [(0.05, 0.5), (0.05, 2.0), (0.05, 8.0), (0.2, 0.5), (0.2, 2.0), (0.2, 8.0)];

/// Features of `item` as of `day`: those of [`extract`] and the vendor's KEV history.
pub fn item_features(item: &Item<'_>, day: i32, prior: &VendorPrior) -> Hashed {
    let mut facts = item.record.map_or_else(CveFacts::default, |r| r.facts_at(day));
    facts.kev_vendor_others = prior.others(item.id, facts.vendor, day);
    hash_features(&extract(&facts, day, item.epss), HASH_BITS)
}

/// One training example.
#[derive(Debug, Clone)]
pub struct Example {
    pub x: Hashed,
    pub label: bool,
    /// Hash of the CVE id: splits, orders passes and breaks ranking ties.
    pub key: u64,
}

/// What training produced, for the report.
#[derive(Debug, Clone)]
pub struct Trained {
    /// The exploit-likelihood model: it scores the features of [`item_features`], which are those
    /// the online scorer extracts (the vendor's KEV history included).
    pub model: Ftrl,
    pub examples: usize,
    pub positives: usize,
    /// The examples carried EPSS features.
    pub with_epss: bool,
    /// Chosen hyperparameters.
    pub params: FtrlParams,
    /// Average precision on the held-out fifth of the model that chose them.
    pub validation_ap: Option<f64>,
    /// Positives in the held-out fifth.
    pub validation_positives: usize,
    /// Flagged share maximizing F1 on the held-out fifth.
    pub best_effort: Option<f64>,
}

/// SplitMix64 finalizer: a fixed bijective mix of 64 bits.
fn mix(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// A model trained with `params` on `examples`, `PASSES` times, each pass in its own order.
pub fn fit(examples: &[&Example], params: FtrlParams) -> Ftrl {
    let mut model = Ftrl::new(params);
    let mut order: Vec<usize> = (0..examples.len()).collect();
    for pass in 0..PASSES {
        let salt = mix(u64::from(pass) + 1);
        order.sort_by_key(|&i| (mix(examples[i].key ^ salt), i));
        for &i in &order {
            model.update_hashed(&examples[i].x, examples[i].label);
        }
    }
    model
}

/// Ranking of `examples` by `model`, and their labels.
fn ranked(model: &Ftrl, examples: &[&Example]) -> (Vec<usize>, Vec<bool>) {
    let scores: Vec<f64> = examples.iter().map(|e| model.logit_hashed(&e.x)).collect();
    let keys: Vec<u64> = examples.iter().map(|e| e.key).collect();
    let labels = examples.iter().map(|e| e.label).collect();
    (metrics::rank_keys(&keys, &scores), labels)
}

/// The training examples at `day`: every CVE known then, labelled "in KEV by `day`".
pub fn examples(
    records: &[Record],
    epss: Option<&EpssMap>,
    kev: &HashMap<String, i32>,
    prior: &VendorPrior,
    day: i32,
) -> Vec<Example> {
    data::known_at(records, epss, day)
        .into_iter()
        .map(|item| Example {
            x: item_features(&item, day, prior),
            label: kev.get(item.id).is_some_and(|&added| added <= day),
            key: fnv1a64(item.id.as_bytes()),
        })
        .collect()
}

/// Trains at as-of `day`, with the EPSS scores the test uses.
pub fn train(
    records: &[Record],
    epss: Option<&EpssMap>,
    kev: &HashMap<String, i32>,
    prior: &VendorPrior,
    day: i32,
) -> Trained {
    let examples = examples(records, epss, kev, prior, day);
    let all: Vec<&Example> = examples.iter().collect();
    let positives = all.iter().filter(|e| e.label).count();
    let (fit_set, validation): (Vec<&Example>, Vec<&Example>) =
        all.iter().partition(|e| !mix(e.key ^ 0xa5a5).is_multiple_of(HOLDOUT));
    let validation_positives = validation.iter().filter(|e| e.label).count();
    let mut best: Option<(f64, FtrlParams, Option<f64>)> = None;
    for &(alpha, l1) in &GRID {
        let params = FtrlParams { alpha, beta: 1.0, l1, l2: 1.0, bits: HASH_BITS };
        let model = fit(&fit_set, params);
        let (order, labels) = ranked(&model, &validation);
        let ap = metrics::average_precision(&order, &labels).unwrap_or(0.0);
        if best.as_ref().is_none_or(|(b, _, _)| ap > *b) {
            best = Some((ap, params, metrics::best_f1_effort(&order, &labels)));
        }
    }
    let (ap, params, best_effort) =
        best.unwrap_or((0.0, FtrlParams { bits: HASH_BITS, ..FtrlParams::default() }, None));
    Trained {
        model: fit(&all, params),
        examples: all.len(),
        positives,
        with_epss: epss.is_some(),
        params,
        validation_ap: (validation_positives > 0).then_some(ap),
        validation_positives,
        best_effort,
    }
}
