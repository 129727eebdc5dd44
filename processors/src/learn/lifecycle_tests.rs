use super::*;
use crate::learn::{hash_features, sigmoid, Feature};

/// A deterministic world: three cohorts with hidden failure rates 2%, 10% and 40%.
struct World {
    state: u64,
}

impl World {
    fn next(&mut self) -> u64 {
        self.state = self.state.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.state;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    fn uniform(&mut self) -> f64 {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64
    }

    /// An example: features, the true probability, the drawn label.
    fn example(&mut self) -> (Hashed, f64, bool) {
        let cohort = self.next() % 3;
        let reboot = self.next().is_multiple_of(4);
        let logit = [-3.9, -2.2, -0.4][cohort as usize] + if reboot { 0.8 } else { 0.0 };
        let p = sigmoid(logit);
        let mut f = vec![Feature::flag(format!("cohort={cohort}"))];
        if reboot {
            f.push(Feature::flag("reboot=yes"));
        }
        (hash_features(&f, 12), p, self.uniform() < p)
    }
}

fn lifecycle() -> Lifecycle {
    let ftrl = FtrlParams { alpha: 0.1, beta: 1.0, l1: 0.1, l2: 1.0, bits: 12 };
    Lifecycle::new("patch_failure", ftrl, LifecycleParams::default())
}

/// Feeds `n` examples from the world, with labels flipped when `poison` is set.
fn feed(life: &mut Lifecycle, world: &mut World, from: usize, n: usize, poison: bool) {
    for i in from..from + n {
        let (x, _, y) = world.example();
        life.observe(&format!("cmd-{i}"), x, y != poison);
    }
}

#[test]
fn clean_intervals_are_promoted_and_improve_the_champion() {
    let mut world = World { state: 7 };
    let mut life = lifecycle();
    let mut losses = Vec::new();
    for interval in 0..6 {
        feed(&mut life, &mut world, interval * 500, 500, false);
        match life.gate(interval as i64) {
            Gate::Promoted(s) => {
                assert_eq!(s.version, interval as i64 + 1);
                assert_eq!(s.indices.len(), s.weights.len());
            }
            other => panic!("interval {interval}: {other:?}"),
        }
        losses.push(life.stats().champion_loss);
    }
    assert_eq!(life.versions(), (1..=6).collect::<Vec<_>>());
    // The champion's held-out loss (measured before each promotion) falls as it learns.
    assert!(losses[5] < losses[0], "{losses:?}");
    // And it ranks the cohorts correctly.
    let p =
        |c: u32| life.predict_champion(&hash_features(&[Feature::flag(format!("cohort={c}"))], 12));
    assert!(p(0) < p(1) && p(1) < p(2), "{} {} {}", p(0), p(1), p(2));
}

#[test]
fn a_poisoned_burst_is_rejected_and_the_champion_stays() {
    let mut world = World { state: 11 };
    let mut life = lifecycle();
    for interval in 0..5 {
        feed(&mut life, &mut world, interval * 500, 500, false);
        assert!(matches!(life.gate(interval as i64), Gate::Promoted(_)));
    }
    let before = life.version();
    let probe = hash_features(&[Feature::flag("cohort=2")], 12);
    let p_before = life.predict_champion(&probe);
    // A burst of 400 outcomes whose labels are all flipped (successes reported as failures and
    // failures as successes).
    feed(&mut life, &mut world, 10_000, 400, true);
    match life.gate(100) {
        Gate::Rejected { challenger_loss, champion_loss } => {
            assert!(challenger_loss > champion_loss, "{challenger_loss} {champion_loss}")
        }
        other => panic!("the poisoned interval passed the gate: {other:?}"),
    }
    assert_eq!(life.version(), before);
    assert_eq!(life.predict_champion(&probe), p_before);
    assert_eq!(life.stats().rejections, 1);
    // Clean data afterwards is learned and promoted again.
    feed(&mut life, &mut world, 20_000, 500, false);
    assert!(matches!(life.gate(200), Gate::Promoted(_)));
    assert_eq!(life.version(), before + 1);
}

#[test]
fn a_promotion_moves_each_weight_by_at_most_the_step() {
    let mut world = World { state: 3 };
    let mut life = lifecycle();
    feed(&mut life, &mut world, 0, 3_000, false);
    let Gate::Promoted(first) = life.gate(1) else { panic!("first gate") };
    for w in first.weights.iter().chain([&first.bias]) {
        assert!(w.abs() <= 0.5 + 1e-6, "{w}: from zero, one step is at most 0.5");
    }
    feed(&mut life, &mut world, 3_000, 500, false);
    let Gate::Promoted(second) = life.gate(2) else { panic!("second gate") };
    let weight = |s: &ModelSnapshot, slot: i32| {
        s.indices.iter().position(|&i| i == slot).map_or(0.0, |k| s.weights[k])
    };
    for &slot in first.indices.iter().chain(&second.indices) {
        let (a, b) = (weight(&first, slot), weight(&second, slot));
        assert!((b - a).abs() <= 0.5 + 1e-6, "slot {slot}: {a} -> {b}");
    }
}

#[test]
fn an_earlier_version_is_restored_under_a_new_number() {
    let mut world = World { state: 5 };
    let mut life = lifecycle();
    let mut published = Vec::new();
    for interval in 0..3 {
        feed(&mut life, &mut world, interval * 500, 500, false);
        let Gate::Promoted(s) = life.gate(interval as i64) else { panic!("gate") };
        published.push(s);
    }
    let restored = life.restore(1, 99).expect("version 1 is known");
    assert_eq!(restored.version, 4);
    assert_eq!(
        (restored.indices.clone(), restored.weights.clone()),
        (published[0].indices.clone(), published[0].weights.clone())
    );
    assert_eq!(life.version(), 4);
    assert!(life.restore(42, 100).is_none());
    // A fresh lifecycle that reads the published history adopts the newest.
    let mut replica = lifecycle();
    for s in published.iter().chain([&restored]) {
        replica.published(s);
    }
    assert_eq!(replica.version(), 4);
    assert_eq!(replica.versions(), vec![1, 2, 3, 4]);
}
