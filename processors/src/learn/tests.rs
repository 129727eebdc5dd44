//! Tests of the FTRL-Proximal learner against known results: recovery of a generating logistic
//! model, exact L1 zeros, a hand-computed step, determinism and snapshot round trips.
//! Invariant: every test is deterministic (its own seeded PRNG), so a failure reproduces.

use super::*;
use crate::events::ModelSnapshot;

/// SplitMix64 (Steele, Lea, Flood 2014): a small PRNG for reproducible synthetic data.
struct SplitMix(u64);

impl SplitMix {
    fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// Uniform in [0, 1).
    fn unit(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }
}

/// The generator: an intercept and named weights; `noise` extra features carry weight 0.
const BIAS: f64 = -1.0;
const TRUE: [(&str, f64); 4] = [("a", 1.5), ("b", -2.0), ("c", 0.8), ("r", 1.2)];

/// `count` examples from the generating model: binary `a`, `b`, `c` and `noise0..`, real `r` in
/// [-1, 1]. Returns the examples and the generator's own probability for each.
fn sample(rng: &mut SplitMix, count: usize, noise: usize) -> Vec<(Vec<Feature>, bool, f64)> {
    (0..count)
        .map(|_| {
            let mut features = Vec::new();
            let mut logit = BIAS;
            for &(name, w) in &TRUE {
                let value = if name == "r" {
                    rng.unit() * 2.0 - 1.0
                } else {
                    f64::from(u8::from(rng.unit() < 0.5))
                };
                if value != 0.0 {
                    features.push(Feature::real(name, value as f32));
                    logit += w * f64::from(value as f32);
                }
            }
            for k in 0..noise {
                if rng.unit() < 0.5 {
                    features.push(Feature::flag(format!("noise{k}")));
                }
            }
            let p = sigmoid(logit);
            (features, rng.unit() < p, p)
        })
        .collect()
}

fn mean_loss(
    examples: &[(Vec<Feature>, bool, f64)],
    predict: impl Fn(&[Feature], f64) -> f64,
) -> f64 {
    examples.iter().map(|(f, y, p)| log_loss(predict(f, *p), *y)).sum::<f64>()
        / examples.len() as f64
}

#[test]
fn recovers_the_generating_weights_and_log_loss() {
    let mut rng = SplitMix(42);
    let train = sample(&mut rng, 40_000, 1);
    let test = sample(&mut rng, 20_000, 1);
    let params = FtrlParams { alpha: 0.5, beta: 1.0, l1: 0.0, l2: 0.0, bits: 16 };
    let mut model = Ftrl::new(params);
    for _ in 0..3 {
        for (features, label, _) in &train {
            model.update(features, *label);
        }
    }
    for &(name, w) in &TRUE {
        assert!((model.weight(name) - w).abs() < 0.15, "{name}: {} vs {w}", model.weight(name));
    }
    assert!(model.weight("noise0").abs() < 0.1);
    assert!((model.bias() - BIAS).abs() < 0.15, "bias {}", model.bias());
    let learned = mean_loss(&test, |f, _| model.predict(f));
    let generator = mean_loss(&test, |_, p| p);
    assert!((learned - generator).abs() < 0.005, "learned {learned} vs generator {generator}");
    assert!(model.progressive_log_loss() < generator + 0.02);
}

#[test]
fn l1_zeroes_irrelevant_features_exactly() {
    let mut rng = SplitMix(7);
    let train = sample(&mut rng, 10_000, 6);
    let mut model = Ftrl::new(FtrlParams { alpha: 0.5, beta: 1.0, l1: 150.0, l2: 0.0, bits: 16 });
    for (features, label, _) in &train {
        model.update(features, *label);
    }
    for k in 0..6 {
        assert_eq!(model.weight(&format!("noise{k}")), 0.0, "noise{k}");
    }
    for &(name, w) in &TRUE {
        let learned = model.weight(name);
        assert!(learned != 0.0 && learned.signum() == w.signum(), "{name}: {learned}");
    }
    let slots: Vec<u32> = model.nonzero_weights().iter().map(|&(s, _)| s).collect();
    assert_eq!(slots.len(), TRUE.len());
}

#[test]
fn one_step_matches_the_formula_by_hand() {
    let params = FtrlParams { alpha: 0.1, beta: 1.0, l1: 0.1, l2: 1.0, bits: 12 };
    let mut model = Ftrl::new(params);
    let p = model.update(&[Feature::flag("a"), Feature::real("b", 2.0)], true);
    assert_eq!(p, 0.5);
    // g = p - y = -0.5 per unit of x; n = g^2; sigma = |g| / alpha; z = g - sigma * 0 = g.
    // a: z = -0.5, n = 0.25: w = (0.5 - 0.1) / ((1 + 0.5) / 0.1 + 1) = 0.4 / 16.
    assert!((model.weight("a") - 0.025).abs() < 1e-12, "{}", model.weight("a"));
    // b: g = -1, z = -1, n = 1: w = (1 - 0.1) / ((1 + 1) / 0.1 + 1) = 0.9 / 21.
    assert!((model.weight("b") - 0.9 / 21.0).abs() < 1e-12, "{}", model.weight("b"));
    // Intercept, unregularized: z = -0.5, n = 0.25: w = 0.5 / ((1 + 0.5) / 0.1) = 1 / 30.
    assert!((model.bias() - 1.0 / 30.0).abs() < 1e-12, "{}", model.bias());
    let logit = 1.0 / 30.0 + 0.025 + 2.0 * 0.9 / 21.0;
    assert!(
        (model.predict(&[Feature::flag("a"), Feature::real("b", 2.0)]) - sigmoid(logit)).abs()
            < 1e-12
    );
    assert_eq!(model.examples(), 1);
    assert!((model.progressive_log_loss() - 2f64.ln()).abs() < 1e-12);
}

#[test]
fn colliding_features_are_one_coordinate() {
    let model = Ftrl::new(FtrlParams { bits: 1, ..FtrlParams::default() });
    let x = model.hash(&[Feature::flag("a"), Feature::flag("b"), Feature::flag("c")]);
    assert!(x.len() <= 2);
    assert_eq!(x.iter().map(|&(_, v)| v).sum::<f32>(), 3.0);
}

#[test]
fn training_is_deterministic_and_snapshots_round_trip() {
    let train = sample(&mut SplitMix(3), 5_000, 3);
    let params = FtrlParams { alpha: 0.2, beta: 1.0, l1: 1.0, l2: 1.0, bits: 14 };
    let run = || {
        let mut model = Ftrl::new(params);
        for (features, label, _) in &train {
            model.update(features, *label);
        }
        model
    };
    let (first, second) = (run(), run());
    assert_eq!(first, second);
    let snapshot = first.snapshot("exploit_likelihood", 3, 1_000);
    assert_eq!(snapshot, second.snapshot("exploit_likelihood", 3, 1_000));
    assert_eq!(snapshot.hash_bits, 14);
    assert_eq!(snapshot.indices.len(), snapshot.weights.len());
    assert!(snapshot.indices.windows(2).all(|w| w[0] < w[1]));
    assert_eq!(snapshot.metrics.examples, 5_000);

    let loaded = Ftrl::from_snapshot(&snapshot, params).unwrap();
    for (features, _, _) in train.iter().take(200) {
        assert!((loaded.predict(features) - first.predict(features)).abs() < 1e-5);
    }
    assert_eq!(loaded.snapshot("exploit_likelihood", 3, 1_000).weights, snapshot.weights);
}

#[test]
fn malformed_snapshots_are_rejected() {
    let good = Ftrl::new(FtrlParams { bits: 4, ..FtrlParams::default() }).snapshot("m", 1, 0);
    let params = FtrlParams::default();
    let lengths = ModelSnapshot { indices: vec![1], ..good.clone() };
    assert!(matches!(
        Ftrl::from_snapshot(&lengths, params),
        Err(ftrl::SnapshotError::Lengths { .. })
    ));
    let bits = ModelSnapshot { hash_bits: 31, ..good.clone() };
    assert!(Ftrl::from_snapshot(&bits, params).is_err());
    let order = ModelSnapshot { indices: vec![3, 2], weights: vec![0.1, 0.2], ..good.clone() };
    assert!(Ftrl::from_snapshot(&order, params).is_err());
    let range = ModelSnapshot { indices: vec![16], weights: vec![0.1], ..good };
    assert!(Ftrl::from_snapshot(&range, params).is_err());
}
