//! Rings, tiers and wave sizes: canary, then pilot, then broad; non-production before
//! production; lower criticality before higher; a riskier patch gets smaller waves.
//!
//! Invariants:
//! - the ring of a wave depends only on how many earlier waves of its campaign passed their
//!   gate: none -> `CANARY`, one -> `PILOT`, more -> `BROAD`; so a campaign always starts with a
//!   canary, and a wave retried after a halt keeps its ring;
//! - a wave draws its members from one tier (development and test, then staging, then
//!   production), in increasing criticality;
//! - a wave's capacity is at least 1; for canary and pilot it is at most the ring's
//!   `max_assets` and its `max_share` of the campaign, and it never grows when the predicted
//!   failure probability grows.

use super::policy::{PlanPolicy, RingPolicy};
use crate::events::{Criticality, Environment, Ring};

/// Deployment tier of an environment: 0 development and test, 1 staging, 2 production.
pub fn tier(env: Environment) -> u8 {
    match env {
        Environment::Development | Environment::Test => 0,
        Environment::Staging => 1,
        Environment::Production => 2,
    }
}

/// Name of a tier, for reasons.
pub fn tier_name(tier: u8) -> &'static str {
    match tier {
        0 => "development/test",
        1 => "staging",
        _ => "production",
    }
}

/// The ring of the next wave of a campaign with `passed` waves behind it.
pub fn ring_for(passed: usize) -> Ring {
    match passed {
        0 => Ring::Canary,
        1 => Ring::Pilot,
        _ => Ring::Broad,
    }
}

fn ring_cap(r: &RingPolicy, p: f32, members: usize) -> usize {
    // The epsilon keeps 1.0 / 0.05 (0.05 as f32 is a hair above 0.05) at 20.
    let by_risk = (r.failure_budget / f64::from(p.max(1e-6)) + 1e-6).floor();
    let by_share = (r.max_share * members as f64).floor();
    (by_risk.min(by_share).min(r.max_assets as f64) as usize).max(1)
}

/// How many assets a wave of `ring` may hold for predicted failure probability `p`, in a
/// campaign of `members` assets, after a previous wave of `previous` assets.
pub fn capacity(ring: Ring, p: f32, previous: usize, members: usize, policy: &PlanPolicy) -> usize {
    match ring {
        Ring::Canary => ring_cap(&policy.canary, p, members),
        Ring::Pilot => ring_cap(&policy.pilot, p, members),
        Ring::Broad => {
            let grown = (previous as f64 * policy.broad_growth).ceil() as usize;
            grown.max(ring_cap(&policy.pilot, p, members)).max(1)
        }
    }
}

/// Sort key of a candidate within a tier: criticality, then a campaign-salted hash so the
/// canary is not always the same host across campaigns, then the id.
pub fn order_key(criticality: Criticality, salt: &str, asset: &str) -> (Criticality, String) {
    (criticality, crate::ids::stable_id("ord", &[salt, asset]))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn riskier_patches_get_smaller_waves() {
        let p = PlanPolicy::default();
        assert_eq!(capacity(Ring::Canary, 0.02, 0, 1000, &p), 5, "capped by max_assets");
        assert_eq!(capacity(Ring::Canary, 0.1, 0, 1000, &p), 2);
        assert_eq!(capacity(Ring::Canary, 0.5, 0, 1000, &p), 1, "never empty");
        assert_eq!(capacity(Ring::Canary, 0.02, 0, 30, &p), 3, "10% of the campaign");
        assert_eq!(capacity(Ring::Canary, 0.02, 0, 2, &p), 1);
        assert_eq!(capacity(Ring::Pilot, 0.05, 0, 1000, &p), 20);
        assert_eq!(capacity(Ring::Broad, 0.05, 30, 1000, &p), 60);
        assert_eq!(capacity(Ring::Broad, 0.05, 2, 1000, &p), 20, "at least a pilot");
        let mut last = usize::MAX;
        for i in 1..50 {
            let c = capacity(Ring::Canary, i as f32 / 100.0, 0, 1000, &p);
            assert!(c <= last && c >= 1);
            last = c;
        }
        assert_eq!(
            [ring_for(0), ring_for(1), ring_for(2), ring_for(9)],
            [Ring::Canary, Ring::Pilot, Ring::Broad, Ring::Broad]
        );
        assert!(tier(Environment::Test) < tier(Environment::Staging));
    }
}
