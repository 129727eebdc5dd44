//! A published model, ready to predict: the sparse weights of a [`ModelSnapshot`] behind a
//! read-only lookup. Stages that only predict (assess, plan) hold one of these and swap it for a
//! newer one when the learn stage publishes it; they never train.
//!
//! Invariant: a [`LinearModel`] is immutable once built and predicts exactly what the
//! [`Ftrl`](super::Ftrl) that produced the snapshot predicted (same slots, same weights, same
//! intercept), so the learn stage and every reader agree on every probability.

use super::ftrl::SnapshotError;
use super::{hash_features, sigmoid, Feature, Hashed};
use crate::events::ModelSnapshot;
use rustc_hash::FxHashMap;

/// One feature's share of a prediction: its name and its term `w * x` in the log-odds.
#[derive(Debug, Clone, PartialEq)]
pub struct Term {
    pub name: String,
    pub logit: f32,
}

/// Immutable weights of one model version.
#[derive(Debug, Clone, PartialEq)]
pub struct LinearModel {
    model: String,
    version: i64,
    bits: u32,
    bias: f32,
    weights: FxHashMap<u32, f32>,
}

impl LinearModel {
    /// Loads a snapshot, checking its shape (lengths, width, increasing slots).
    pub fn from_snapshot(s: &ModelSnapshot) -> Result<LinearModel, SnapshotError> {
        if s.indices.len() != s.weights.len() {
            return Err(SnapshotError::Lengths {
                indices: s.indices.len(),
                weights: s.weights.len(),
            });
        }
        let bits = u32::try_from(s.hash_bits)
            .ok()
            .filter(|b| (1..=30).contains(b))
            .ok_or(SnapshotError::Bits(s.hash_bits))?;
        let mut weights = FxHashMap::default();
        weights.reserve(s.indices.len());
        let mut previous: Option<u32> = None;
        for (&index, &w) in s.indices.iter().zip(&s.weights) {
            let slot = u32::try_from(index)
                .ok()
                .filter(|&i| (i >> bits) == 0 && previous.is_none_or(|p| i > p))
                .ok_or(SnapshotError::Index { index, bits })?;
            previous = Some(slot);
            weights.insert(slot, w);
        }
        Ok(LinearModel { model: s.model.clone(), version: s.version, bits, bias: s.bias, weights })
    }

    /// Model name, e.g. `exploit_likelihood`.
    pub fn model(&self) -> &str {
        &self.model
    }

    /// Version number of the snapshot.
    pub fn version(&self) -> i64 {
        self.version
    }

    /// `name-vN`, as recorded on exposures and commands.
    pub fn label(&self) -> String {
        format!("{}-v{}", self.model, self.version)
    }

    /// Width of the hashed space in bits.
    pub fn bits(&self) -> u32 {
        self.bits
    }

    /// Hashes `features` into this model's space.
    pub fn hash(&self, features: &[Feature]) -> Hashed {
        hash_features(features, self.bits)
    }

    /// Log-odds of a hashed example.
    pub fn logit_hashed(&self, x: &[(u32, f32)]) -> f64 {
        f64::from(self.bias)
            + x.iter()
                .map(|&(i, v)| {
                    f64::from(v) * f64::from(self.weights.get(&i).copied().unwrap_or(0.0))
                })
                .sum::<f64>()
    }

    /// Probability of the positive label.
    pub fn predict(&self, features: &[Feature]) -> f64 {
        sigmoid(self.logit_hashed(&self.hash(features)))
    }

    /// Probability and the `top` largest terms by magnitude (the features that moved this
    /// prediction most), largest first; ties keep feature order.
    pub fn explain(&self, features: &[Feature], top: usize) -> (f64, Vec<Term>) {
        let mut logit = f64::from(self.bias);
        let mut terms: Vec<Term> = Vec::new();
        for f in features.iter().filter(|f| f.value.is_finite()) {
            let slot = super::hash::slot(&f.name, self.bits);
            let w = self.weights.get(&slot).copied().unwrap_or(0.0);
            let t = w * f.value;
            logit += f64::from(t);
            if t != 0.0 {
                terms.push(Term { name: f.name.clone(), logit: t });
            }
        }
        terms.sort_by(|a, b| b.logit.abs().total_cmp(&a.logit.abs()));
        terms.truncate(top);
        (sigmoid(logit), terms)
    }

    /// Number of non-zero weights.
    pub fn len(&self) -> usize {
        self.weights.len()
    }

    /// True when every weight is zero (only the intercept predicts).
    pub fn is_empty(&self) -> bool {
        self.weights.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::learn::{Ftrl, FtrlParams};

    #[test]
    fn a_loaded_snapshot_predicts_what_the_learner_predicted() {
        let mut ftrl = Ftrl::new(FtrlParams { bits: 12, l1: 0.1, ..FtrlParams::default() });
        let pos = [Feature::flag("vendor=ivanti"), Feature::real("cvss", 0.9)];
        let neg = [Feature::flag("vendor=other"), Feature::real("cvss", 0.3)];
        for _ in 0..50 {
            ftrl.update(&pos, true);
            ftrl.update(&neg, false);
        }
        let model = LinearModel::from_snapshot(&ftrl.snapshot("exploit_likelihood", 3, 0))
            .expect("valid snapshot");
        for x in [&pos[..], &neg[..]] {
            assert!((model.predict(x) - ftrl.predict(x)).abs() < 1e-5);
        }
        assert_eq!(model.label(), "exploit_likelihood-v3");
        let (p, terms) = model.explain(&pos, 1);
        assert!(p > 0.5);
        assert_eq!(terms.len(), 1);
    }

    #[test]
    fn malformed_snapshots_are_refused() {
        let mut s = Ftrl::new(FtrlParams { bits: 4, ..FtrlParams::default() }).snapshot("m", 1, 0);
        s.indices = vec![3, 2];
        s.weights = vec![0.1, 0.2];
        assert!(LinearModel::from_snapshot(&s).is_err(), "not increasing");
        s.indices = vec![1, 99];
        assert!(LinearModel::from_snapshot(&s).is_err(), "outside the space");
        s.indices = vec![1];
        assert!(LinearModel::from_snapshot(&s).is_err(), "lengths differ");
    }
}
