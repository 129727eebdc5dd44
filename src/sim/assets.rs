//! The simulated fleet, generated as a stream: asset `i` depends only on the seed and on the
//! assets before it, so a million assets are generated in one pass with memory for the open HA
//! groups only. It draws from the same tables as the demo fleet ([`crate::fleet`]): services,
//! tiers, OS mix, criticality, maintenance windows in several time zones.
//!
//! Differences from [`crate::fleet::generate`], which needs the whole fleet at once: the
//! environment is drawn with the fleet's shares (15% development, 10% test, 15% staging, 60%
//! production) instead of exact quotas; internet exposure is drawn from the asset's propensity
//! (mostly production web tiers of customer-facing services); production nodes of one
//! service-tier join that role's open HA group until it has its drawn size (2 or 3), so the last
//! group of a role may hold one node.
//!
//! Invariant: the same `(seed, index)` after the same prefix gives the same asset, byte for byte;
//! an asset's scanners and daily scan minute are fixed at generation.

use crate::fleet::{draw_asset, ENVIRONMENTS};
use crate::sim::rng::SplitMix64;
use patchline_processors::events::{AssetTelemetry, Environment};
use std::collections::HashMap;

/// Minutes in a day.
const DAY_MINUTES: u32 = 24 * 60;

/// One asset of the simulated fleet.
#[derive(Debug, Clone)]
pub struct SimAsset {
    pub telemetry: AssetTelemetry,
    /// When it joins the fleet (its first telemetry and scan).
    pub arrival: i64,
    /// The scanners that report it: `trivy`, `grype`, or both.
    pub scanners: &'static [&'static str],
    /// Minute of the UTC day of its daily scan.
    pub scan_minute: u32,
}

/// Probability that an asset with this propensity faces the internet.
fn exposed_probability(propensity: f64) -> f64 {
    match propensity {
        p if p >= 3.0 => 0.9,
        p if p >= 1.5 => 0.5,
        p if p >= 1.0 => 0.3,
        p if p > 0.0 => 0.1,
        _ => 0.0,
    }
}

/// Streams the fleet: `initial` assets present at `start`, then `arriving` more at even steps
/// until `end`.
pub struct FleetStream {
    rng: SplitMix64,
    next: usize,
    initial: usize,
    arriving: usize,
    start: i64,
    end: i64,
    /// role -> (group number, members so far, target size)
    open_groups: HashMap<String, (u32, u32, u32)>,
}

impl FleetStream {
    /// A fleet stream for `seed`.
    pub fn new(seed: u64, initial: usize, arriving: usize, start: i64, end: i64) -> FleetStream {
        FleetStream {
            rng: SplitMix64(seed ^ 0xF1EE_7000_0000_0001),
            next: 0,
            initial,
            arriving,
            start,
            end,
            open_groups: HashMap::new(),
        }
    }
}

impl Iterator for FleetStream {
    type Item = SimAsset;

    fn next(&mut self) -> Option<SimAsset> {
        let index = self.next;
        if index >= self.initial + self.arriving {
            return None;
        }
        self.next += 1;
        let envs: Vec<((Environment, &str), u32)> =
            ENVIRONMENTS.iter().map(|&(e, share, code)| ((e, code), share)).collect();
        let &(environment, code) = self.rng.pick(&envs);
        let arrival = if index < self.initial {
            self.start
        } else {
            let k = (index - self.initial + 1) as i64;
            self.start + k * (self.end - self.start) / (self.arriving as i64 + 1)
        };
        let drawn = draw_asset(index, environment, code, &mut self.rng, arrival);
        let mut telemetry = drawn.asset;
        telemetry.internet_exposed = self.rng.unit() < exposed_probability(drawn.propensity);
        if environment == Environment::Production {
            let rng = &mut self.rng;
            let group = self.open_groups.entry(drawn.role.clone()).or_insert((0, 0, 0));
            if group.1 >= group.2 {
                *group = (group.0 + 1, 0, 2 + rng.below(2) as u32);
            }
            group.1 += 1;
            telemetry.ha_group = Some(format!("ha-{}-{}", drawn.role, group.0));
        }
        let scanners: &'static [&'static str] = match self.rng.below(10) {
            0 | 1 => &["grype", "trivy"],
            n if n % 2 == 0 => &["trivy"],
            _ => &["grype"],
        };
        let scan_minute = self.rng.below(DAY_MINUTES as usize) as u32;
        Some(SimAsset { telemetry, arrival, scanners, scan_minute })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_stream_is_deterministic_and_shaped_like_the_demo_fleet() {
        let day = 86_400_000;
        let a: Vec<SimAsset> = FleetStream::new(3, 1000, 50, 0, 56 * day).collect();
        let b: Vec<SimAsset> = FleetStream::new(3, 1000, 50, 0, 56 * day).collect();
        assert_eq!(a.len(), 1050);
        assert!(a.iter().zip(&b).all(|(x, y)| x.telemetry == y.telemetry));
        let prod = a.iter().filter(|s| s.telemetry.environment == Environment::Production).count();
        assert!((520..680).contains(&prod), "{prod}");
        let exposed = a.iter().filter(|s| s.telemetry.internet_exposed).count();
        assert!((120..300).contains(&exposed), "{exposed}");
        let mut groups: HashMap<&str, usize> = HashMap::new();
        for s in &a {
            if let Some(g) = &s.telemetry.ha_group {
                *groups.entry(g).or_default() += 1;
            }
        }
        assert!(groups.values().all(|&n| (1..=3).contains(&n)));
        assert!(a[..1000].iter().all(|s| s.arrival == 0));
        assert!(a[1000..].windows(2).all(|w| w[0].arrival < w[1].arrival));
        assert!(a.iter().all(|s| s.arrival < 56 * day && s.scan_minute < DAY_MINUTES));
        let ids: std::collections::HashSet<_> = a.iter().map(|s| &s.telemetry.asset_id).collect();
        assert_eq!(ids.len(), 1050);
    }
}
