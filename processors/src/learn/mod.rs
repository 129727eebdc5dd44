//! Learning stage logic: online models whose weights the learn stage owns and publishes as
//! [`ModelSnapshot`](crate::events::ModelSnapshot)s.
//!
//! Invariant: learners are pure and deterministic. The same examples in the same order give the
//! same weights bit for bit; nothing reads the clock, the environment or a random source, and
//! features hash with a stable function of their names ([`hash::slot`]), so a snapshot means the
//! same thing in every process that loads it.

pub mod failure;
pub mod ftrl;
pub mod hash;
pub mod lifecycle;
pub mod linear;
pub mod stage;

pub use ftrl::{hash_features, Ftrl, FtrlParams, Hashed};
pub use hash::{fnv1a64, slot};
pub use linear::{LinearModel, Term};
pub use stage::{LearnProcessor, LearnSettings, EXPLOIT_MODEL};

/// One feature of an example: a name such as `vendor=ivanti` or `cvss_av=N` and a value
/// (1.0 for an indicator, the number itself for a real-valued feature such as `cvss`).
#[derive(Debug, Clone, PartialEq)]
pub struct Feature {
    /// Name, hashed to a slot.
    pub name: String,
    /// Value the weight multiplies.
    pub value: f32,
}

impl Feature {
    /// An indicator feature (value 1).
    pub fn flag(name: impl Into<String>) -> Feature {
        Feature { name: name.into(), value: 1.0 }
    }

    /// A real-valued feature.
    pub fn real(name: impl Into<String>, value: f32) -> Feature {
        Feature { name: name.into(), value }
    }
}

/// Logistic log-loss of predicting `p` for `label`, with `p` clamped away from 0 and 1.
pub fn log_loss(p: f64, label: bool) -> f64 {
    let p = p.clamp(1e-15, 1.0 - 1e-15);
    if label {
        -p.ln()
    } else {
        -(1.0 - p).ln()
    }
}

/// The logistic function, stable for large `|x|`.
pub fn sigmoid(x: f64) -> f64 {
    if x >= 0.0 {
        1.0 / (1.0 + (-x).exp())
    } else {
        let e = x.exp();
        e / (1.0 + e)
    }
}

#[cfg(test)]
mod tests;
