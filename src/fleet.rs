//! Deterministic synthetic fleet and scanner findings for the demo.
//!
//! Invariant: output depends only on the arguments. The same `(assets, seed, now_ms)` always
//! gives the same fleet, and the same inputs to [`findings`] the same findings, byte for byte, on
//! every platform: randomness comes from a local splitmix64 stream, never the clock or the OS.
//! Every finding names an asset of the given fleet and an advisory with a `vendor` product.
//!
//! Shape of the fleet: environments are allotted by quota (15% development, 10% test, 15%
//! staging, 60% production, each within one asset) and shuffled; a quarter of the assets
//! (rounded) are internet exposed, chosen mostly from the production web tier of customer-facing
//! services; production nodes of one service and tier form HA groups of 2 or 3.

use crate::sim::rng::SplitMix64;
use patchline_processors::events::{
    Advisory, AssetTelemetry, Criticality, Environment, Finding, FindingStatus, Health,
    HealthStatus, MaintenanceWindow, Package,
};
use std::collections::{BTreeMap, HashSet};

const MINUTE_MS: i64 = 60_000;
const DAY_MS: i64 = 24 * 60 * MINUTE_MS;
/// Share of the fleet that is internet exposed.
const EXPOSED_SHARE: f64 = 0.25;
/// Probability that a finding is also reported by the other scanner.
const BOTH_SCANNERS: f64 = 0.2;
/// Mixed into the seed of [`findings`] so it does not replay the fleet's stream.
const FINDINGS_STREAM: u64 = 0x5EED_F1D1_0000_0001;
const SCANNERS: [&str; 2] = ["trivy", "grype"];

/// Business service: (name, owning team, customer-facing), weight in the fleet.
pub(crate) type Service = (&'static str, &'static str, bool);
pub(crate) const SERVICES: [(Service, u32); 5] = [
    (("payments", "team-payments", true), 20),
    (("web-shop", "team-storefront", true), 30),
    (("identity", "team-iam", true), 15),
    (("data-platform", "team-data", false), 20),
    (("internal-tools", "team-it-ops", false), 15),
];
pub(crate) const TIERS: [(&str, u32); 4] = [("web", 35), ("app", 30), ("db", 15), ("batch", 20)];
/// Environment, its share of the fleet in percent, and its host-name prefix.
pub(crate) const ENVIRONMENTS: [(Environment, u32, &str); 4] = [
    (Environment::Development, 15, "dev"),
    (Environment::Test, 10, "tst"),
    (Environment::Staging, 15, "stg"),
    (Environment::Production, 60, "prd"),
];
pub(crate) const OS: [((&str, &[&str]), u32); 4] = [
    (("debian", &["11", "12"]), 30),
    (("ubuntu", &["20.04", "22.04", "24.04"]), 30),
    (("rhel", &["8.10", "9.4"]), 25),
    (("windows", &["2019", "2022"]), 15),
];
pub(crate) const TIME_ZONES: [(&str, u32); 4] =
    [("Europe/Berlin", 40), ("America/New_York", 30), ("Asia/Tokyo", 15), ("UTC", 15)];
/// Maintenance windows: (days 1 = Monday, start minute, duration minutes).
const PRODUCTION_WINDOWS: [(&[i32], i32, i32); 4] =
    [(&[2], 120, 180), (&[4], 120, 180), (&[6], 60, 240), (&[7], 60, 240)];
const STAGING_WINDOWS: [(&[i32], i32, i32); 2] = [(&[2, 4], 1200, 180), (&[3], 1080, 240)];
const WEEKDAY_EVENINGS: (&[i32], i32, i32) = (&[1, 2, 3, 4, 5], 1080, 300);

pub(crate) fn criticality(
    env: Environment,
    handles_money: bool,
    rng: &mut SplitMix64,
) -> Criticality {
    use Criticality::{Critical, High, Low, Medium};
    let [low, medium, high, critical] = match env {
        Environment::Production => [5, 25, 40, 30],
        Environment::Staging => [20, 50, 25, 5],
        Environment::Test => [50, 40, 10, 0],
        Environment::Development => [70, 30, 0, 0],
    };
    let level = *rng.pick(&[(Low, low), (Medium, medium), (High, high), (Critical, critical)]);
    match env {
        Environment::Production if handles_money => level.max(High),
        _ => level,
    }
}

pub(crate) fn maintenance_window(env: Environment, rng: &mut SplitMix64) -> MaintenanceWindow {
    let time_zone = rng.pick(&TIME_ZONES).to_string();
    let (days, start_minute, duration_minutes) = match env {
        Environment::Production => PRODUCTION_WINDOWS[rng.below(PRODUCTION_WINDOWS.len())],
        Environment::Staging => STAGING_WINDOWS[rng.below(STAGING_WINDOWS.len())],
        Environment::Test | Environment::Development => WEEKDAY_EVENINGS,
    };
    let days = days.to_vec();
    MaintenanceWindow { time_zone, days, start_minute, duration_minutes }
}

/// One asset drawn from the fleet's tables, before the choices that depend on the rest of the
/// fleet (internet exposure, HA group).
pub(crate) struct Drawn {
    pub asset: AssetTelemetry,
    /// `service-tier`, the pool its HA group is drawn from.
    pub role: String,
    /// How likely it is to face the internet: production web tiers of customer-facing services
    /// most, back ends never.
    pub propensity: f64,
}

/// Draws asset number `index` (0-based) of `environment` (host-name prefix `code`).
pub(crate) fn draw_asset(
    index: usize,
    environment: Environment,
    code: &str,
    rng: &mut SplitMix64,
    now_ms: i64,
) -> Drawn {
    let &(service, owner, customer_facing) = rng.pick(&SERVICES);
    let tier = *rng.pick(&TIERS);
    let &(os_family, versions) = rng.pick(&OS);
    let os_version = versions[rng.below(versions.len())].to_string();
    let propensity = match (environment, tier, customer_facing) {
        (Environment::Production, "web", true) => 3.0,
        (Environment::Staging, "web", true) => 1.5,
        (Environment::Production, "app", true) => 1.0,
        (_, "web", _) => 0.5,
        _ => 0.0,
    };
    let money = matches!(service, "payments" | "identity");
    let asset = AssetTelemetry {
        asset_id: format!("asset-{:05}", index + 1),
        hostname: format!("{code}-{service}-{tier}-{:04}", index + 1),
        os_family: os_family.to_string(),
        os_version,
        environment,
        criticality: criticality(environment, money, rng),
        internet_exposed: false,
        business_service: Some(service.to_string()),
        owner: Some(owner.to_string()),
        ha_group: None,
        maintenance_window: Some(maintenance_window(environment, rng)),
        health: Health {
            status: HealthStatus::Healthy,
            cpu_load: Some((0.05 + 0.6 * rng.unit()) as f32),
            error_rate: Some((0.005 * rng.unit()) as f32),
        },
        decommissioned: false,
        last_seen: now_ms - rng.ms_below(15 * MINUTE_MS),
    };
    Drawn { asset, role: format!("{service}-{tier}"), propensity }
}

/// A synthetic fleet of `assets` assets, last seen shortly before `now_ms`.
pub fn generate(assets: usize, seed: u64, now_ms: i64) -> Vec<AssetTelemetry> {
    let mut rng = SplitMix64(seed);
    // Slot i takes the environment whose cumulative share covers (i + 0.5) / n: exact quotas.
    let mut environments: Vec<(Environment, &str)> = (0..assets)
        .map(|i| {
            let at = (2 * i + 1) as f64 * 50.0 / assets as f64; // percent
            let mut cumulative = 0.0;
            let found = ENVIRONMENTS.iter().find(|(_, share, _)| {
                cumulative += f64::from(*share);
                at < cumulative
            });
            found.map_or((Environment::Production, "prd"), |&(env, _, code)| (env, code))
        })
        .collect();
    for i in (1..environments.len()).rev() {
        environments.swap(i, rng.below(i + 1));
    }

    let mut fleet = Vec::with_capacity(assets);
    let mut roles = Vec::with_capacity(assets);
    let mut exposure_rank = Vec::with_capacity(assets);
    for (index, &(environment, code)) in environments.iter().enumerate() {
        let drawn = draw_asset(index, environment, code, &mut rng, now_ms);
        exposure_rank.push((drawn.propensity + rng.unit(), index));
        roles.push(drawn.role);
        fleet.push(drawn.asset);
    }

    exposure_rank.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)));
    let exposed = (assets as f64 * EXPOSED_SHARE).round() as usize;
    for &(_, index) in exposure_rank.iter().take(exposed) {
        fleet[index].internet_exposed = true;
    }

    // HA groups: production nodes of one service and tier, in asset order, chunked into 2s and
    // 3s; a lone node stays ungrouped.
    let mut pools: BTreeMap<&str, Vec<usize>> = BTreeMap::new();
    for (index, asset) in fleet.iter().enumerate() {
        if asset.environment == Environment::Production {
            pools.entry(&roles[index]).or_default().push(index);
        }
    }
    for (role, members) in pools {
        let mut rest = members.as_slice();
        let mut group = 0;
        while rest.len() >= 2 {
            let mut size = 2 + rng.below(2);
            if rest.len() < size || rest.len() - size == 1 {
                size = 5 - size; // 2 <-> 3, so no single node is left over
            }
            let (chunk, tail) = rest.split_at(size.min(rest.len()));
            group += 1;
            for &index in chunk {
                fleet[index].ha_group = Some(format!("ha-{role}-{group}"));
            }
            rest = tail;
        }
    }
    fleet
}

/// `per_asset` distinct findings on every asset (fewer when fewer advisories qualify), drawn from
/// the advisories that name a `vendor` product. Scanners alternate between trivy and grype; about
/// a fifth of the findings are reported again by the other scanner (same package and version), as
/// a real multi-scanner fleet would, so the pipeline has duplicates to merge. Findings are ordered
/// by asset, then as drawn.
pub fn findings(
    assets: &[AssetTelemetry],
    advisories: &[Advisory],
    per_asset: usize,
    seed: u64,
    now_ms: i64,
) -> Vec<Finding> {
    let mut seen = HashSet::new();
    let candidates: Vec<(&str, &str)> = advisories
        .iter()
        .filter_map(|a| {
            let product = a.affected.iter().find(|p| p.ecosystem == "vendor")?;
            seen.insert(a.id.as_str()).then_some((a.id.as_str(), product.name.as_str()))
        })
        .collect();
    let take = per_asset.min(candidates.len());
    let mut rng = SplitMix64(seed ^ FINDINGS_STREAM);
    let mut order: Vec<usize> = (0..candidates.len()).collect();
    let mut out = Vec::with_capacity(assets.len() * take * 6 / 5);
    let mut turn = 0;
    for asset in assets {
        // Partial Fisher-Yates: the first `take` slots become a uniform sample without repeats.
        for slot in 0..take {
            let pick = slot + rng.below(order.len() - slot);
            order.swap(slot, pick);
        }
        for &candidate in &order[..take] {
            let (vulnerability_id, name) = candidates[candidate];
            let (major, minor, patch) = (1 + rng.below(9), rng.below(20), rng.below(10));
            let package = Package {
                ecosystem: "vendor".to_string(),
                name: name.to_string(),
                installed_version: format!("{major}.{minor}.{patch}"),
                fixed_version: None,
            };
            turn += 1;
            let both = rng.unit() < BOTH_SCANNERS;
            let scanners = if both { &SCANNERS[..] } else { &SCANNERS[turn % 2..turn % 2 + 1] };
            for scanner in scanners {
                let first_seen = now_ms - rng.ms_below(30 * DAY_MS);
                let last_seen = (now_ms - rng.ms_below(DAY_MS / 4)).max(first_seen);
                out.push(Finding {
                    asset_id: asset.asset_id.clone(),
                    scanner: scanner.to_string(),
                    scan_id: format!("{scanner}-{}-{}", asset.asset_id, now_ms.div_euclid(1000)),
                    vulnerability_id: vulnerability_id.to_string(),
                    package: package.clone(),
                    status: FindingStatus::Open,
                    first_seen,
                    last_seen,
                });
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;
    use Environment::{Development, Production};

    const NOW: i64 = 1_769_731_200_000; // 2026-01-30T00:00:00Z

    fn advisories(ids: std::ops::Range<usize>, ecosystem: &str) -> Vec<Advisory> {
        let json = |id: String| {
            let affected = format!(r#"[{{"ecosystem":"{ecosystem}","name":"acme:{id}"}}]"#);
            let provenance = r#"{"feed":"cve","fetched_at":0}"#;
            format!(
                r#"{{"id":"{id}","modified":0,"affected":{affected},"provenance":{provenance}}}"#
            )
        };
        let parse = |text: String| serde_json::from_str(&text).unwrap();
        ids.map(|i| parse(json(format!("CVE-2024-{i:04}")))).collect()
    }

    fn count<T>(items: &[T], predicate: impl Fn(&T) -> bool) -> usize {
        items.iter().filter(|item| predicate(item)).count()
    }

    #[test]
    fn fleet_is_deterministic_and_realistic() {
        assert_eq!(generate(300, 7, NOW), generate(300, 7, NOW));
        assert_ne!(generate(300, 7, NOW), generate(300, 8, NOW));
        assert_eq!(generate(1, 7, NOW)[0].environment, Production);
        let fleet = generate(1000, 42, NOW);
        let counts = ENVIRONMENTS.map(|(env, _, _)| count(&fleet, |a| a.environment == env));
        assert_eq!(counts, [150, 100, 150, 600]);
        assert_eq!(count(&fleet, |a| a.internet_exposed), 250);
        let prod_web =
            |a: &AssetTelemetry| a.hostname.starts_with("prd-") && a.hostname.contains("-web-");
        assert!(count(&fleet, |a| a.internet_exposed && prod_web(a)) >= 175);
        let high =
            count(&fleet, |a| a.environment == Production && a.criticality >= Criticality::High);
        assert!(high >= 360, "production is mostly high or critical: {high}");
        assert_eq!(
            count(&fleet, |a| a.environment == Development && a.criticality >= Criticality::High),
            0
        );
        for os in ["debian", "ubuntu", "rhel", "windows"] {
            assert!(count(&fleet, |a| a.os_family == os) > 100, "{os}");
        }
        let ids: HashSet<_> = fleet.iter().map(|a| &a.asset_id).collect();
        assert_eq!(ids.len(), 1000);
        let zones: HashSet<_> = TIME_ZONES.iter().map(|t| t.0).collect();
        let valid = |w: &MaintenanceWindow| {
            zones.contains(w.time_zone.as_str())
                && !w.days.is_empty()
                && w.days.iter().all(|d| (1..=7).contains(d))
                && w.start_minute >= 0
                && w.start_minute + w.duration_minutes <= 24 * 60
        };
        assert!(fleet.iter().all(|a| a.maintenance_window.as_ref().is_some_and(valid)));
        assert!(fleet.iter().all(|a| a.last_seen <= NOW && a.last_seen > NOW - 15 * MINUTE_MS));
    }

    #[test]
    fn ha_groups_hold_two_or_three_production_nodes_of_one_service() {
        let fleet = generate(500, 3, NOW);
        let mut groups: HashMap<&str, Vec<&AssetTelemetry>> = HashMap::new();
        for asset in &fleet {
            if let Some(group) = &asset.ha_group {
                groups.entry(group).or_default().push(asset);
            }
        }
        for members in groups.values() {
            assert!((2..=3).contains(&members.len()));
            let service = &members[0].business_service;
            assert!(members
                .iter()
                .all(|a| a.environment == Production && &a.business_service == service));
        }
        let grouped = count(&fleet, |a| a.ha_group.is_some());
        assert!(grouped * 10 >= count(&fleet, |a| a.environment == Production) * 9);
    }

    #[test]
    fn findings_reference_fleet_assets_and_vendor_advisories() {
        let fleet = generate(100, 5, NOW);
        let mut list = advisories(0..40, "vendor");
        list.extend(advisories(40..50, "Go")); // no vendor product: never drawn
        list.extend(advisories(0..5, "vendor")); // repeated ids: drawn once
        let found = findings(&fleet, &list, 8, 9, NOW);
        assert_eq!(found, findings(&fleet, &list, 8, 9, NOW));
        assert_ne!(found, findings(&fleet, &list, 8, 10, NOW));
        let assets: HashSet<_> = fleet.iter().map(|a| a.asset_id.as_str()).collect();
        for f in &found {
            assert!(assets.contains(f.asset_id.as_str()) && f.package.ecosystem == "vendor");
            assert_eq!(f.package.name, format!("acme:{}", f.vulnerability_id));
            assert!(f.package.fixed_version.is_none() && f.status == FindingStatus::Open);
            assert!(f.first_seen <= f.last_seen && f.last_seen <= NOW);
        }
        let pairs: HashSet<_> = found.iter().map(|f| (&f.asset_id, &f.vulnerability_id)).collect();
        assert_eq!(pairs.len(), 100 * 8, "8 distinct vulnerabilities per asset");
        let reports: HashSet<_> =
            found.iter().map(|f| (&f.asset_id, &f.vulnerability_id, &f.scanner)).collect();
        assert_eq!(reports.len(), found.len(), "a scanner reports a finding once");
        let both = found.len() - pairs.len();
        assert!((80..240).contains(&both), "about a fifth are reported by both: {both}");
        let trivy = count(&found, |f| f.scanner == "trivy");
        assert!(trivy * 3 > found.len() && trivy * 3 < found.len() * 2);

        assert!(findings(&fleet, &advisories(0..5, "Go"), 5, 1, NOW).is_empty());
        assert!(findings(&fleet, &list, 0, 1, NOW).is_empty());
        let few = findings(&fleet[..10], &advisories(0..3, "vendor"), 5, 1, NOW);
        let pairs: HashSet<_> = few.iter().map(|f| (&f.asset_id, &f.vulnerability_id)).collect();
        assert_eq!(pairs.len(), 30, "capped at the 3 qualifying advisories");
    }
}
