//! The simulated world: the fleet, what is installed on it, the ground truth of which asset is
//! exposed to which CVE, and the scanners, advisory feed and KEV feed that report on it.
//!
//! - **Calendar.** Real dates: the run covers `days` days ending with `end_day` (UTC). Advisories
//!   published before the start are known at the start, later ones arrive at their publication
//!   instant. KEV entries added before the first day are known at the start; entries added
//!   during the run arrive at 17:00 UTC of their `dateAdded`: exploitation arrives on the real
//!   KEV dates. EPSS is never fed (the bundled scores are dated after the run).
//! - **Exposures.** Every asset has 8 to 32 findings (20 on average), CVEs drawn by prevalence
//!   among those its OS can run (see [`super::catalog`]). Of each product it has, it runs the
//!   release just before the earliest fix it lacks. A CVE published during the run is latent
//!   until then; an asset that joins during the run brings its findings with it.
//! - **Scans.** At the start every present asset is scanned; afterwards each asset is scanned
//!   once a day at its own minute by its scanner(s) (Trivy, Grype or both), and a scan reports
//!   what changed: a newly visible vulnerability (`OPEN`), a new installed version of one still
//!   open, or one now fixed (`FIXED`, once). A vulnerability known before the start is reported
//!   with a `first_seen` of up to 120 days earlier (a backlog), never before its publication.
//!
//! Invariant: an exposure is fixed at most once, at the instant a deployment upgraded its
//! product to its fixing release or later, and only a scan after that instant reports it fixed;
//! events of one call are ordered advisories, threats, assets, findings, each in a fixed order.

use super::assets::{FleetStream, SimAsset};
use super::catalog::Catalog;
use super::rng::SplitMix64;
use patchline_processors::events::{Event, Finding, FindingStatus, Package};
use std::collections::HashMap;
use std::sync::Arc;

pub const MINUTE_MS: i64 = 60_000;
pub const DAY_MS: i64 = 86_400_000;
/// The simulation's time step: the feeds, the scanners, the executor and the policy act once per
/// step (the pipeline punctuates every few steps, see [`super::run::PUNCTUATE_EVERY`]).
pub const STEP_MS: i64 = 15 * MINUTE_MS;
/// Assets that join during the run, as a share of the initial fleet.
pub const ARRIVING_SHARE: f64 = 0.02;
/// Fewest findings of an asset; it has up to `FINDINGS_MIN + FINDINGS_SPREAD - 1`.
const FINDINGS_MIN: usize = 8;
const FINDINGS_SPREAD: usize = 25;
/// How far back the backlog's first sightings go.
const BACKLOG_MS: i64 = 120 * DAY_MS;
/// KEV entries are published at this hour (UTC) of their `dateAdded`.
const KEV_HOUR_MS: i64 = 17 * 60 * MINUTE_MS;

/// One asset's exposure to one CVE: the ground truth the scorecard measures.
#[derive(Debug, Clone)]
pub struct Exposure {
    pub asset: u32,
    pub cve: u32,
    /// For a CVE known before the start: the backlog's first sighting.
    backdated: Option<i64>,
    /// When a scan first reported it (as reported), once it did.
    pub first_seen: Option<i64>,
    /// When a deployment fixed it.
    pub fixed_at: Option<i64>,
    fixed_reported: bool,
    reported_release: u32,
}

/// The world of one run.
pub struct World {
    pub catalog: Arc<Catalog>,
    pub start: i64,
    pub end: i64,
    pub assets: Vec<SimAsset>,
    pub exposures: Vec<Exposure>,
    by_asset: Vec<Vec<u32>>,
    installed: HashMap<(u32, u32), u32>,
    index: HashMap<String, u32>,
    scan_buckets: Vec<Vec<u32>>,
    /// (instant, advisory index), by instant.
    advisories: Vec<(i64, usize)>,
    next_advisory: usize,
    /// (instant, KEV entry index), by instant.
    threats: Vec<(i64, usize)>,
    next_threat: usize,
    next_arrival: usize,
}

/// The CVEs `asset` is exposed to, drawn by prevalence among those its OS can run (distinct,
/// 8 to 32), each with the backlog's first sighting when it joins at `start` and the CVE is
/// older.
pub fn draw_exposures(
    catalog: &Catalog,
    asset: &SimAsset,
    start: i64,
    rng: &mut SplitMix64,
) -> Vec<(u32, Option<i64>)> {
    let count = FINDINGS_MIN + rng.below(FINDINGS_SPREAD);
    let mut drawn: Vec<u32> = Vec::with_capacity(count);
    for _ in 0..count * 4 {
        if drawn.len() == count {
            break;
        }
        match catalog.draw_cve(&asset.telemetry.os_family, rng) {
            Some(c) if !drawn.contains(&c) => drawn.push(c),
            _ => {}
        }
    }
    drawn
        .into_iter()
        .map(|cve| {
            let c = &catalog.cves[cve as usize];
            let backdated = (asset.arrival == start && c.published < start)
                .then(|| (start - rng.ms_below(BACKLOG_MS)).max(c.published));
            (cve, backdated)
        })
        .collect()
}

/// The seed of the exposure stream of a world (shared with [`super::emit`]).
pub fn exposure_stream(seed: u64) -> SplitMix64 {
    SplitMix64(seed ^ 0xF1D1_0000_5EED_0002)
}

impl World {
    /// The world of `assets` assets over `days` days ending with day `end_day` (days since the
    /// epoch), for `seed`.
    pub fn new(catalog: Arc<Catalog>, assets: usize, days: i64, end_day: i64, seed: u64) -> World {
        let end = (end_day + 1) * DAY_MS;
        let start = end - days * DAY_MS;
        let arriving = (assets as f64 * ARRIVING_SHARE).round() as usize;
        let mut rng = exposure_stream(seed);
        let mut world = World {
            catalog: catalog.clone(),
            start,
            end,
            assets: Vec::with_capacity(assets + arriving),
            exposures: Vec::new(),
            by_asset: Vec::with_capacity(assets + arriving),
            installed: HashMap::new(),
            index: HashMap::new(),
            scan_buckets: vec![Vec::new(); (DAY_MS / STEP_MS) as usize],
            advisories: Vec::new(),
            next_advisory: 0,
            threats: Vec::new(),
            next_threat: 0,
            next_arrival: 0,
        };
        for asset in FleetStream::new(seed, assets, arriving, start, end) {
            world.add_asset(asset, &mut rng);
        }
        world.advisories = catalog
            .advisories
            .iter()
            .enumerate()
            .map(|(i, a)| (a.published.unwrap_or(start).max(start), i))
            .collect();
        world.advisories.sort();
        let start_day = start.div_euclid(DAY_MS);
        world.threats = catalog
            .kev
            .iter()
            .enumerate()
            .filter_map(|(i, s)| {
                let day = i64::from(s.kev.as_ref()?.date_added);
                let at = if day < start_day { start } else { day * DAY_MS + KEV_HOUR_MS };
                (at < end).then_some((at, i))
            })
            .collect();
        world.threats.sort();
        world
    }

    fn add_asset(&mut self, asset: SimAsset, rng: &mut SplitMix64) {
        let id = self.assets.len() as u32;
        let drawn = draw_exposures(&self.catalog, &asset, self.start, rng);
        let mut list = Vec::with_capacity(drawn.len());
        for (cve, backdated) in drawn {
            let c = &self.catalog.cves[cve as usize];
            let slot = self.installed.entry((id, c.product)).or_insert(u32::MAX);
            *slot = (*slot).min(c.release - 1);
            list.push(self.exposures.len() as u32);
            self.exposures.push(Exposure {
                asset: id,
                cve,
                backdated,
                first_seen: None,
                fixed_at: None,
                fixed_reported: false,
                reported_release: 0,
            });
        }
        let buckets = self.scan_buckets.len();
        let bucket = (i64::from(asset.scan_minute) * MINUTE_MS / STEP_MS) as usize;
        self.scan_buckets[bucket % buckets].push(id);
        self.index.insert(asset.telemetry.asset_id.clone(), id);
        self.by_asset.push(list);
        self.assets.push(asset);
    }

    /// Index of an asset by id.
    pub fn asset_index(&self, asset_id: &str) -> Option<u32> {
        self.index.get(asset_id).copied()
    }

    /// The release of `product` installed on `asset` (none when it does not run it).
    pub fn installed(&self, asset: u32, product: u32) -> Option<u32> {
        self.installed.get(&(asset, product)).copied()
    }

    /// Upgrades `product` on `asset` to `release` at `at` (never downgrades); fixes the
    /// exposures that release fixes. Returns how many it fixed.
    pub fn upgrade(&mut self, asset: u32, product: u32, release: u32, at: i64) -> usize {
        let Some(slot) = self.installed.get_mut(&(asset, product)) else { return 0 };
        if *slot >= release {
            return 0;
        }
        *slot = release;
        let mut fixed = 0;
        for &e in &self.by_asset[asset as usize] {
            let x = &mut self.exposures[e as usize];
            let c = &self.catalog.cves[x.cve as usize];
            if c.product == product && c.release <= release && x.fixed_at.is_none() {
                x.fixed_at = Some(at);
                fixed += 1;
            }
        }
        fixed
    }

    /// Everything known at the start: advisories, KEV entries, assets and their first scan.
    pub fn initial(&mut self) -> Vec<Event> {
        let t = self.start;
        let mut out = self.feeds_until(t);
        let mut scanned = Vec::new();
        while self.next_arrival < self.assets.len() && self.assets[self.next_arrival].arrival <= t {
            out.push(Event::AssetTelemetry(self.assets[self.next_arrival].telemetry.clone()));
            scanned.push(self.next_arrival as u32);
            self.next_arrival += 1;
        }
        for a in scanned {
            self.scan(a, t, &mut out);
        }
        out
    }

    /// The events of the step that ends at `t`.
    pub fn step(&mut self, t: i64) -> Vec<Event> {
        let mut out = self.feeds_until(t);
        let mut scanned = Vec::new();
        while self.next_arrival < self.assets.len() && self.assets[self.next_arrival].arrival <= t {
            out.push(Event::AssetTelemetry(self.assets[self.next_arrival].telemetry.clone()));
            scanned.push(self.next_arrival as u32);
            self.next_arrival += 1;
        }
        let bucket = ((t - STEP_MS).rem_euclid(DAY_MS) / STEP_MS) as usize;
        let due: Vec<u32> = self.scan_buckets[bucket]
            .iter()
            .copied()
            .filter(|&a| self.assets[a as usize].arrival < t - STEP_MS / 2)
            .collect();
        scanned.extend(due);
        scanned.sort_unstable();
        scanned.dedup();
        for a in scanned {
            self.scan(a, t, &mut out);
        }
        out
    }

    fn feeds_until(&mut self, t: i64) -> Vec<Event> {
        let mut out = Vec::new();
        while let Some(&(at, i)) = self.advisories.get(self.next_advisory) {
            if at > t {
                break;
            }
            let mut a = self.catalog.advisories[i].clone();
            a.provenance.fetched_at = at;
            out.push(Event::Advisory(a));
            self.next_advisory += 1;
        }
        while let Some(&(at, i)) = self.threats.get(self.next_threat) {
            if at > t {
                break;
            }
            let mut s = self.catalog.kev[i].clone();
            s.provenance.fetched_at = at;
            out.push(Event::ThreatSignal(s));
            self.next_threat += 1;
        }
        out
    }

    /// One scan of `asset` at `t`: what changed since its last scan.
    fn scan(&mut self, asset: u32, t: i64, out: &mut Vec<Event>) {
        let catalog = self.catalog.clone();
        let a = &self.assets[asset as usize];
        for &e in &self.by_asset[asset as usize] {
            let x = &mut self.exposures[e as usize];
            let c = &catalog.cves[x.cve as usize];
            let installed = self.installed.get(&(asset, c.product)).copied().unwrap_or(0);
            let status = match (x.first_seen, x.fixed_at) {
                (None, Some(_)) => continue, // fixed before it was ever published: never seen
                (None, None) if c.published <= t => {
                    x.first_seen = Some(x.backdated.unwrap_or(t));
                    FindingStatus::Open
                }
                (Some(_), None) if installed != x.reported_release => FindingStatus::Open,
                (Some(_), Some(_)) if !x.fixed_reported => {
                    x.fixed_reported = true;
                    FindingStatus::Fixed
                }
                _ => continue,
            };
            x.reported_release = installed;
            let product = &catalog.products[c.product as usize];
            let package = Package {
                ecosystem: "vendor".to_string(),
                name: product.name.clone(),
                installed_version: product.versions[installed as usize].clone(),
                fixed_version: Some(product.versions[c.release as usize].clone()),
            };
            for scanner in a.scanners {
                out.push(Event::Finding(Finding {
                    asset_id: a.telemetry.asset_id.clone(),
                    scanner: (*scanner).to_string(),
                    scan_id: format!("{scanner}-{}-{}", a.telemetry.asset_id, t / 1000),
                    vulnerability_id: c.id.clone(),
                    package: package.clone(),
                    status,
                    first_seen: x.first_seen.unwrap_or(t),
                    last_seen: t,
                }));
            }
        }
    }
}

#[cfg(test)]
mod tests;
