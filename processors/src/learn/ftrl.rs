//! FTRL-Proximal logistic regression over hashed sparse features, after McMahan et al.,
//! "Ad Click Prediction: a View from the Trenches" (KDD 2013), Algorithm 1.
//!
//! Invariant: the state is, per slot `i`, the pair `(z_i, n_i)` of the paper, and the weight is a
//! pure function of it: `w_i = 0` when `|z_i| <= l1`, else
//! `w_i = -(z_i - sign(z_i) l1) / ((beta + sqrt(n_i)) / alpha + l2)`. An update touches only the
//! slots of the example's features (plus the intercept, which has its own `(z, n)` and no L1/L2),
//! so L1 leaves exact zeros on features that do not earn their weight. Features that hash to the
//! same slot are summed before predicting or updating, so a collision is one coordinate, not two
//! updates of one coordinate from a stale weight.

use super::{hash, log_loss, sigmoid, Feature};
use crate::events::{ModelMetrics, ModelSnapshot};

/// Hyperparameters of FTRL-Proximal: per-coordinate learning rate `alpha / (beta + sqrt(n))`,
/// L1 and L2 strengths, and the width of the hashed space.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct FtrlParams {
    pub alpha: f64,
    pub beta: f64,
    pub l1: f64,
    pub l2: f64,
    /// The feature space has `2^bits` slots (1..=30).
    pub bits: u32,
}

impl Default for FtrlParams {
    /// `alpha = 0.1, beta = 1, l1 = 1, l2 = 1` over `2^20` slots: the orders of magnitude the
    /// paper reports as working well; callers choose their own on validation data.
    fn default() -> Self {
        FtrlParams { alpha: 0.1, beta: 1.0, l1: 1.0, l2: 1.0, bits: 20 }
    }
}

/// A snapshot could not be loaded.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum SnapshotError {
    #[error("snapshot has {indices} indices but {weights} weights")]
    Lengths { indices: usize, weights: usize },
    #[error("snapshot hash_bits {0} is outside 1..=30")]
    Bits(i32),
    #[error("snapshot index {index} is outside the 2^{bits} space or not increasing")]
    Index { index: i32, bits: u32 },
}

/// Features hashed to slots: `(slot, summed value)`, sorted by slot, no zero values.
pub type Hashed = Vec<(u32, f32)>;

/// Hashes `features` to a `2^bits`-wide space: `(slot, summed value)` sorted by slot, without
/// zero, infinite or `NaN` values.
pub fn hash_features(features: &[Feature], bits: u32) -> Hashed {
    let mut slots: Hashed = features
        .iter()
        .filter(|f| f.value != 0.0 && f.value.is_finite())
        .map(|f| (hash::slot(&f.name, bits), f.value))
        .collect();
    slots.sort_by_key(|&(slot, _)| slot);
    let mut merged: Hashed = Vec::with_capacity(slots.len());
    for (slot, value) in slots {
        match merged.last_mut() {
            Some(last) if last.0 == slot => last.1 += value,
            _ => merged.push((slot, value)),
        }
    }
    merged.retain(|&(_, v)| v != 0.0);
    merged
}

/// An FTRL-Proximal logistic regression model.
#[derive(Debug, Clone, PartialEq)]
pub struct Ftrl {
    params: FtrlParams,
    z: Vec<f64>,
    n: Vec<f64>,
    bias_z: f64,
    bias_n: f64,
    examples: i64,
    loss_sum: f64,
}

impl Ftrl {
    /// A model with every weight zero (so every prediction is 0.5).
    pub fn new(params: FtrlParams) -> Ftrl {
        let bits = params.bits.clamp(1, 30);
        let width = 1usize << bits;
        Ftrl {
            params: FtrlParams { bits, ..params },
            z: vec![0.0; width],
            n: vec![0.0; width],
            bias_z: 0.0,
            bias_n: 0.0,
            examples: 0,
            loss_sum: 0.0,
        }
    }

    /// The hyperparameters.
    pub fn params(&self) -> FtrlParams {
        self.params
    }

    /// Hashes `features` to slots, summing collisions, sorted by slot.
    pub fn hash(&self, features: &[Feature]) -> Hashed {
        hash_features(features, self.params.bits)
    }

    /// Weight of slot `i` from its `(z, n)`.
    fn slot_weight(&self, i: usize) -> f64 {
        let (z, n) = (self.z[i], self.n[i]);
        let p = &self.params;
        if z.abs() <= p.l1 {
            return 0.0;
        }
        -(z - z.signum() * p.l1) / ((p.beta + n.sqrt()) / p.alpha + p.l2)
    }

    /// The intercept (not regularized).
    pub fn bias(&self) -> f64 {
        -self.bias_z / ((self.params.beta + self.bias_n.sqrt()) / self.params.alpha)
    }

    /// Weight of the slot `name` hashes to.
    pub fn weight(&self, name: &str) -> f64 {
        self.slot_weight(hash::slot(name, self.params.bits) as usize)
    }

    /// Log-odds of a hashed example.
    pub fn logit_hashed(&self, x: &[(u32, f32)]) -> f64 {
        self.bias()
            + x.iter().map(|&(i, v)| f64::from(v) * self.slot_weight(i as usize)).sum::<f64>()
    }

    /// Probability of the positive label for a hashed example.
    pub fn predict_hashed(&self, x: &[(u32, f32)]) -> f64 {
        sigmoid(self.logit_hashed(x))
    }

    /// Probability of the positive label.
    pub fn predict(&self, features: &[Feature]) -> f64 {
        self.predict_hashed(&self.hash(features))
    }

    /// One FTRL-Proximal step on a hashed example; returns the prediction made before the step,
    /// which also feeds the progressive-validation log-loss.
    pub fn update_hashed(&mut self, x: &[(u32, f32)], label: bool) -> f64 {
        let weights: Vec<f64> = x.iter().map(|&(i, _)| self.slot_weight(i as usize)).collect();
        let bias = self.bias();
        let logit = bias + x.iter().zip(&weights).map(|(&(_, v), w)| f64::from(v) * w).sum::<f64>();
        let p = sigmoid(logit);
        let y = if label { 1.0 } else { 0.0 };
        let alpha = self.params.alpha;
        for (&(i, v), w) in x.iter().zip(&weights) {
            let i = i as usize;
            let g = (p - y) * f64::from(v);
            let sigma = ((self.n[i] + g * g).sqrt() - self.n[i].sqrt()) / alpha;
            self.z[i] += g - sigma * w;
            self.n[i] += g * g;
        }
        let g = p - y;
        let sigma = ((self.bias_n + g * g).sqrt() - self.bias_n.sqrt()) / alpha;
        self.bias_z += g - sigma * bias;
        self.bias_n += g * g;
        self.examples += 1;
        self.loss_sum += log_loss(p, label);
        p
    }

    /// One FTRL-Proximal step; returns the prediction made before the step.
    pub fn update(&mut self, features: &[Feature], label: bool) -> f64 {
        let x = self.hash(features);
        self.update_hashed(&x, label)
    }

    /// Examples seen by [`Ftrl::update`] since construction or import.
    pub fn examples(&self) -> i64 {
        self.examples
    }

    /// Mean log-loss of the predictions made before each update (progressive validation).
    pub fn progressive_log_loss(&self) -> f64 {
        if self.examples == 0 {
            0.0
        } else {
            self.loss_sum / self.examples as f64
        }
    }

    /// Non-zero weights as `(slot, weight)`, increasing by slot.
    pub fn nonzero_weights(&self) -> Vec<(u32, f64)> {
        (0..self.z.len())
            .filter(|&i| self.z[i].abs() > self.params.l1)
            .map(|i| (i as u32, self.slot_weight(i)))
            .filter(|&(_, w)| w != 0.0)
            .collect()
    }

    /// The weights as a [`ModelSnapshot`] (sparse, increasing slots), with training metrics.
    pub fn snapshot(&self, model: &str, version: i64, created_at: i64) -> ModelSnapshot {
        let (indices, weights) =
            self.nonzero_weights().into_iter().map(|(i, w)| (i as i32, w as f32)).unzip();
        ModelSnapshot {
            model: model.to_string(),
            version,
            created_at,
            hash_bits: self.params.bits as i32,
            bias: self.bias() as f32,
            indices,
            weights,
            metrics: ModelMetrics {
                examples: self.examples,
                log_loss: self.progressive_log_loss(),
                auc: None,
            },
        }
    }

    /// A model whose weights are those of `snapshot`, to predict with or to keep training
    /// (warm start). The snapshot's `hash_bits` replaces `params.bits`. Snapshots carry weights,
    /// not the per-coordinate sums of squared gradients, so every `n_i` restarts at 0 and `z_i` is
    /// set so that the weight formula returns the snapshot's weight exactly.
    pub fn from_snapshot(
        snapshot: &ModelSnapshot,
        params: FtrlParams,
    ) -> Result<Ftrl, SnapshotError> {
        if snapshot.indices.len() != snapshot.weights.len() {
            return Err(SnapshotError::Lengths {
                indices: snapshot.indices.len(),
                weights: snapshot.weights.len(),
            });
        }
        let bits = u32::try_from(snapshot.hash_bits)
            .ok()
            .filter(|b| (1..=30).contains(b))
            .ok_or(SnapshotError::Bits(snapshot.hash_bits))?;
        let mut model = Ftrl::new(FtrlParams { bits, ..params });
        let denominator = params.beta / params.alpha + params.l2;
        let mut previous: Option<usize> = None;
        for (&index, &weight) in snapshot.indices.iter().zip(&snapshot.weights) {
            let slot = usize::try_from(index)
                .ok()
                .filter(|&s| s < model.z.len() && previous.is_none_or(|p| s > p))
                .ok_or(SnapshotError::Index { index, bits })?;
            previous = Some(slot);
            let w = f64::from(weight);
            model.z[slot] = -w * denominator - w.signum() * params.l1;
        }
        model.bias_z = -f64::from(snapshot.bias) * params.beta / params.alpha;
        Ok(model)
    }
}
