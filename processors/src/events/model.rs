//! Model snapshot: a versioned set of weights. Keyed by `model`. Invariant: `indices` and
//! `weights` have the same length; `indices` are strictly increasing slots of a
//! `2^hash_bits`-wide hashed feature space.

use serde::{Deserialize, Serialize};

/// Weights of one model at one version.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ModelSnapshot {
    /// Model name, e.g. `exploit_likelihood`, `patch_failure`.
    pub model: String,
    /// Monotonic version.
    pub version: i64,
    /// When the snapshot was taken.
    pub created_at: i64,
    /// Width of the hashed feature space, in bits.
    pub hash_bits: i32,
    /// Intercept.
    pub bias: f32,
    /// Non-zero weight slots, increasing.
    pub indices: Vec<i32>,
    /// Weights at those slots.
    pub weights: Vec<f32>,
    /// Training metrics at snapshot time.
    pub metrics: ModelMetrics,
}

/// Training metrics of a snapshot.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ModelMetrics {
    /// Examples seen.
    pub examples: i64,
    /// Progressive-validation log-loss.
    pub log_loss: f64,
    /// Area under the ROC curve, when computed.
    #[serde(default)]
    pub auc: Option<f64>,
}
