//! The hidden failure model: the probability that deploying a release of a product on an asset
//! fails. No policy sees it; the executor draws outcomes from it, and the learn stage can only
//! recover it from those outcomes. Every effect is a feature the patch-failure model also has
//! (`patchline_processors::learn::failure::features`), except the asset's own fragility, which
//! no model can see:
//!
//! | effect | log-odds |
//! |---|---|
//! | base rate (1%) | -4.6 |
//! | Windows asset (updates reboot) | +0.5 |
//! | major version change | +1.2 |
//! | production / staging (more moving parts than development and test) | +0.3 / +0.15 |
//! | the oldest OS version of its family (Debian 11, Ubuntu 20.04, RHEL 8.10, Windows 2019) | +0.4 |
//! | a fragile (OS family, product) cohort, 5% of the pairs | +2.3 |
//! | a bad release of a product (the fix is broken), 3% of the releases | +3.0 |
//! | the asset's fragility, normal with standard deviation 0.4, hidden | +N(0, 0.4) |
//!
//! Which cohorts and releases are bad is drawn from the seed. The overall failure rate of a run
//! comes out at a few percent, and the scorecard reports it as measured.
//!
//! Invariant: the probability is a pure function of the seed, the asset, the product and the two
//! versions, in `[MIN_P, MAX_P]`; the draw of an attempt is a pure function of the seed and the
//! attempt's identity, so every policy faces the same luck for the same deployment.

use crate::fleet::OS;
use crate::sim::rng::{hash_normal, hash_unit};
use patchline_processors::events::{AssetTelemetry, Environment};

/// Lowest probability of failure.
pub const MIN_P: f64 = 0.001;
/// Highest probability of failure.
pub const MAX_P: f64 = 0.95;
const BASE_LOGIT: f64 = -4.6;
const FRAGILE_COHORT_SHARE: f64 = 0.05;
const BAD_RELEASE_SHARE: f64 = 0.03;

fn sigmoid(x: f64) -> f64 {
    1.0 / (1.0 + (-x).exp())
}

/// The leading number of a version (`2` of `2.17.1`), as the patch-failure model reads it.
fn major(version: &str) -> Option<u64> {
    let digits: String = version.chars().take_while(char::is_ascii_digit).collect();
    digits.parse().ok()
}

/// Whether `os_version` is the oldest version of its family in the fleet's OS table.
fn oldest_os(os_family: &str, os_version: &str) -> bool {
    OS.iter().any(|((family, versions), _)| {
        *family == os_family && versions.first().is_some_and(|v| *v == os_version)
    })
}

/// Whether a release of a product is broken (for the report and tests).
pub fn bad_release(seed: u64, product: &str, version: &str) -> bool {
    hash_unit(seed, &["bad-release", product, version]) < BAD_RELEASE_SHARE
}

/// Whether an (OS family, product) cohort is fragile.
pub fn fragile_cohort(seed: u64, os_family: &str, product: &str) -> bool {
    hash_unit(seed, &["fragile-cohort", os_family, product]) < FRAGILE_COHORT_SHARE
}

/// Probability that upgrading `product` from `installed` to `target` fails on `asset`.
pub fn probability(
    seed: u64,
    asset: &AssetTelemetry,
    product: &str,
    installed: &str,
    target: &str,
) -> f64 {
    let mut logit = BASE_LOGIT;
    if asset.os_family == "windows" {
        logit += 0.5;
    }
    if major(installed) != major(target) {
        logit += 1.2;
    }
    logit += match asset.environment {
        Environment::Production => 0.3,
        Environment::Staging => 0.15,
        Environment::Development | Environment::Test => 0.0,
    };
    if oldest_os(&asset.os_family, &asset.os_version) {
        logit += 0.4;
    }
    if fragile_cohort(seed, &asset.os_family, product) {
        logit += 2.3;
    }
    if bad_release(seed, product, target) {
        logit += 3.0;
    }
    logit += 0.4 * hash_normal(seed, &["fragility", &asset.asset_id]);
    sigmoid(logit).clamp(MIN_P, MAX_P)
}

/// Whether attempt `attempt` (1-based) of this deployment fails, given its probability.
pub fn fails(seed: u64, asset: &str, product: &str, target: &str, attempt: u32, p: f64) -> bool {
    hash_unit(seed, &["attempt", asset, product, target, &attempt.to_string()]) < p
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sim::assets::FleetStream;

    #[test]
    fn effects_move_the_probability_the_documented_way() {
        let assets: Vec<_> = FleetStream::new(5, 400, 0, 0, 1).map(|s| s.telemetry).collect();
        let linux_dev = assets
            .iter()
            .find(|a| a.os_family == "debian" && a.environment == Environment::Development)
            .cloned()
            .expect("a debian development asset");
        let minor = probability(5, &linux_dev, "acme:tool", "3.1.0", "3.2.0");
        let major_change = probability(5, &linux_dev, "acme:tool", "3.1.0", "4.0.0");
        assert!(major_change > 2.0 * minor, "{minor} {major_change}");
        let mut prod = linux_dev.clone();
        prod.environment = Environment::Production;
        assert!(probability(5, &prod, "acme:tool", "3.1.0", "3.2.0") > minor);
        // The overall rate over many products and assets is a few percent.
        let mut total = 0.0;
        let mut n = 0.0;
        for (i, a) in assets.iter().enumerate() {
            let product = format!("vendor{}:product{}", i % 37, i % 11);
            total +=
                probability(5, a, &product, "1.2.0", if i % 6 == 0 { "2.0.0" } else { "1.3.0" });
            n += 1.0;
        }
        let rate = total / n;
        assert!((0.01..0.12).contains(&rate), "{rate}");
        let p = probability(5, &prod, "acme:tool", "3.1.0", "3.2.0");
        assert_eq!(fails(5, "a", "b", "c", 1, p), fails(5, "a", "b", "c", 1, p));
        assert!(!fails(5, "a", "b", "c", 1, 0.0) && fails(5, "a", "b", "c", 1, 1.0));
    }
}
