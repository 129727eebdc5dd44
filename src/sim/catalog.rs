//! The simulated world's software catalog, built from the bundled real data: every CVE row of
//! `data/demo/cves.csv` that names a vendor product becomes a vulnerability of that product, and
//! the CISA KEV catalog (`data/demo/kev.json`) says when each was added.
//!
//! - **Products and releases.** A product is the advisory's `vendor:product` name (ecosystem
//!   `vendor`, as the CVE feed names it). Its CVEs, sorted by publication, are fixed by a train of
//!   releases, one per month with a CVE; a release bumps the major version with probability
//!   [`MAJOR_BUMP`], else the minor. Version strings are synthetic (`M.m.p`), compared by the
//!   generic scheme.
//! - **Platforms.** Microsoft products run on Windows assets, Linux distribution and kernel
//!   products on Linux assets, everything else on either. Appliance firmware and mobile products
//!   of the sample are treated as installed software: a simplification of the sample's mix.
//! - **Prevalence.** The sample is stratified (all 241 KEV CVEs, 300 of the 32,524 others), so
//!   each CVE is weighted by the inverse of its inclusion probability (1 for KEV, 32,524 / 300
//!   for the others), which restores the population's rarity of known-exploited
//!   vulnerabilities, times a log-normal popularity of its product drawn from the seed. The
//!   weights decide only how often a CVE is found in the fleet; no policy sees them.
//!
//! Invariant: the catalog depends only on the bundled data and the seed; release numbers of a
//! product increase with the publication of the CVEs they fix, so upgrading to the fix of one CVE
//! also fixes every earlier one of the same product.

use crate::error::Result;
use crate::feeds::{cve_table, kev};
use crate::sim::rng::{hash_normal, SplitMix64};
use patchline_processors::events::{Advisory, ThreatSignal};
use std::collections::{BTreeMap, HashMap};

/// The bundled CVE sample.
pub const CVES: &str = include_str!("../../data/demo/cves.csv");
/// The bundled KEV catalog.
pub const KEV: &str = include_str!("../../data/demo/kev.json");
/// The bundled EPSS scores (the snapshot demo only: the simulation never feeds them, their date
/// is after the simulated weeks and they would leak exploitation).
pub const EPSS: &str = include_str!("../../data/demo/epss.csv");

/// Probability that a release changes the major version.
pub const MAJOR_BUMP: f64 = 0.15;
/// Inverse inclusion probability of a non-KEV CVE in the sample (32,524 candidates, 300 drawn).
pub const NON_KEV_WEIGHT: f64 = 32_524.0 / 300.0;
/// Standard deviation of the log-normal product popularity.
pub const POPULARITY_SIGMA: f64 = 1.0;

/// Where a product runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Platform {
    Windows,
    Linux,
    Any,
}

impl Platform {
    /// Whether an asset of `os_family` can run a product of this platform.
    pub fn runs_on(self, os_family: &str) -> bool {
        match self {
            Platform::Any => true,
            Platform::Windows => os_family == "windows",
            Platform::Linux => os_family != "windows",
        }
    }
}

/// A product and its release train.
#[derive(Debug, Clone)]
pub struct Product {
    /// `vendor:product`, lower-cased, as the advisory names it.
    pub name: String,
    pub platform: Platform,
    /// Version strings; index 0 is the release before the first fix.
    pub versions: Vec<String>,
}

impl Product {
    /// Release index of a version string.
    pub fn release_of(&self, version: &str) -> Option<u32> {
        self.versions.iter().position(|v| v == version).map(|i| i as u32)
    }
}

/// A CVE of the catalog that affects a product.
#[derive(Debug, Clone)]
pub struct Cve {
    pub id: String,
    pub product: u32,
    /// The release that fixes it (>= 1).
    pub release: u32,
    pub cvss: Option<f32>,
    /// Publication instant (ms); `i64::MIN` when the row has none.
    pub published: i64,
    /// Day CISA added it to KEV, if it is in the bundled catalog.
    pub kev_day: Option<i32>,
    /// How often it is found in the fleet, relative to the others.
    pub weight: f64,
}

/// Everything the world draws from.
#[derive(Debug)]
pub struct Catalog {
    pub cves: Vec<Cve>,
    pub products: Vec<Product>,
    /// Every advisory of the sample (also those without a product), with its publication.
    pub advisories: Vec<Advisory>,
    /// Every KEV entry of the sample.
    pub kev: Vec<ThreatSignal>,
    by_product: HashMap<String, u32>,
    /// Cumulative weights of the CVEs a Windows (index 0) or Linux (1) asset can have.
    samplers: [Sampler; 2],
}

/// Weighted draws over a subset of CVEs.
#[derive(Debug, Default)]
struct Sampler {
    cves: Vec<u32>,
    cumulative: Vec<f64>,
}

impl Sampler {
    fn draw(&self, rng: &mut SplitMix64) -> Option<u32> {
        let total = *self.cumulative.last()?;
        let roll = rng.unit() * total;
        let at = self.cumulative.partition_point(|c| *c <= roll);
        self.cves.get(at.min(self.cves.len() - 1)).copied()
    }
}

fn platform_of(vendor: &str, product: &str) -> Platform {
    let (vendor, product) = (vendor.to_lowercase(), product.to_lowercase());
    if vendor.contains("microsoft") {
        Platform::Windows
    } else if ["linux", "red hat", "redhat", "canonical", "debian", "suse"]
        .iter()
        .any(|v| vendor.contains(v))
        || product.contains("linux")
    {
        Platform::Linux
    } else {
        Platform::Any
    }
}

fn month(ms: i64) -> i64 {
    if ms == i64::MIN {
        return i64::MIN;
    }
    let (y, m, _) = crate::feeds::time::ymd_from_days(ms.div_euclid(86_400_000) as i32);
    i64::from(y) * 12 + i64::from(m)
}

impl Catalog {
    /// The catalog of the bundled data for `seed`.
    pub fn bundled(seed: u64) -> Result<Catalog> {
        let rows = cve_table::parse_rows(CVES)?;
        let kev = kev::parse_catalog(KEV, 0)?;
        let kev_days: HashMap<&str, i32> = kev
            .iter()
            .filter_map(|s| Some((s.cve_id.as_str(), s.kev.as_ref()?.date_added)))
            .collect();
        let advisories: Vec<Advisory> = rows.iter().map(|r| r.to_advisory(0)).collect();
        // Group the product rows, each product's CVEs in publication order.
        let mut grouped: BTreeMap<String, (Platform, Vec<&cve_table::CveRow>)> = BTreeMap::new();
        for row in &rows {
            let (Some(name), Some(vendor), Some(product)) =
                (row.product_name(), row.vendor.as_deref(), row.product.as_deref())
            else {
                continue;
            };
            grouped
                .entry(name)
                .or_insert_with(|| (platform_of(vendor, product), Vec::new()))
                .1
                .push(row);
        }
        let mut rng = SplitMix64(seed ^ 0xCA7A_1006_0000_0001);
        let mut products = Vec::new();
        let mut cves = Vec::new();
        for (name, (platform, mut list)) in grouped {
            list.sort_by(|a, b| {
                (a.published.unwrap_or(i64::MIN), &a.cve_id)
                    .cmp(&(b.published.unwrap_or(i64::MIN), &b.cve_id))
            });
            let popularity = (POPULARITY_SIGMA * hash_normal(seed, &["popularity", &name])).exp();
            let (mut major, mut minor) = (1 + rng.below(12) as u32, rng.below(10) as u32);
            let mut versions = vec![format!("{major}.{minor}.{}", rng.below(10))];
            let mut last_month = None;
            for row in list {
                let published = row.published.unwrap_or(i64::MIN);
                if last_month != Some(month(published)) {
                    last_month = Some(month(published));
                    if rng.unit() < MAJOR_BUMP {
                        (major, minor) = (major + 1, 0);
                    } else {
                        minor += 1 + rng.below(2) as u32;
                    }
                    versions.push(format!("{major}.{minor}.{}", rng.below(10)));
                }
                let kev_day = kev_days.get(row.cve_id.as_str()).copied();
                let ipw = if kev_day.is_some() { 1.0 } else { NON_KEV_WEIGHT };
                cves.push(Cve {
                    id: row.cve_id.clone(),
                    product: products.len() as u32,
                    release: versions.len() as u32 - 1,
                    cvss: row.cvss_base_score,
                    published,
                    kev_day,
                    weight: ipw * popularity,
                });
            }
            products.push(Product { name, platform, versions });
        }
        let sampler = |os: &str| {
            let mut s = Sampler::default();
            let mut total = 0.0;
            for (i, c) in cves.iter().enumerate() {
                if products[c.product as usize].platform.runs_on(os) {
                    total += c.weight;
                    s.cves.push(i as u32);
                    s.cumulative.push(total);
                }
            }
            s
        };
        let samplers = [sampler("windows"), sampler("linux")];
        let by_product =
            products.iter().enumerate().map(|(i, p)| (p.name.clone(), i as u32)).collect();
        Ok(Catalog { cves, products, advisories, kev, by_product, samplers })
    }

    /// Index of a CVE by id (a scan of the catalog, for tests and diagnostics).
    #[cfg(test)]
    pub fn cve_index(&self, id: &str) -> Option<u32> {
        self.cves.iter().position(|c| c.id == id).map(|i| i as u32)
    }

    /// Index of a product by name.
    pub fn product_index(&self, name: &str) -> Option<u32> {
        self.by_product.get(name).copied()
    }

    /// A CVE an asset of `os_family` may have, drawn by prevalence.
    pub fn draw_cve(&self, os_family: &str, rng: &mut SplitMix64) -> Option<u32> {
        let sampler = if os_family == "windows" { &self.samplers[0] } else { &self.samplers[1] };
        sampler.draw(rng)
    }

    /// The product of a CVE.
    pub fn product_of(&self, cve: u32) -> &Product {
        &self.products[self.cves[cve as usize].product as usize]
    }

    /// The version that fixes a CVE.
    pub fn fixed_version(&self, cve: u32) -> &str {
        let c = &self.cves[cve as usize];
        &self.products[c.product as usize].versions[c.release as usize]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn releases_follow_publication_and_kev_is_rare_in_the_fleet() {
        let c = Catalog::bundled(7).expect("catalog");
        assert!(c.cves.len() > 500 && c.products.len() > 300, "{}", c.cves.len());
        assert_eq!(c.advisories.len(), 541);
        for cve in &c.cves {
            let p = &c.products[cve.product as usize];
            assert!(cve.release >= 1 && (cve.release as usize) < p.versions.len());
            assert_eq!(p.release_of(c.fixed_version(c.cve_index(&cve.id).unwrap_or(0))), {
                Some(c.cves[c.cve_index(&cve.id).unwrap_or(0) as usize].release)
            });
        }
        for a in &c.cves {
            for b in c.cves.iter().filter(|b| b.product == a.product) {
                if a.published < b.published {
                    assert!(a.release <= b.release, "{} {}", a.id, b.id);
                }
            }
        }
        let mut rng = SplitMix64(1);
        let draws: Vec<u32> = (0..20_000).filter_map(|_| c.draw_cve("debian", &mut rng)).collect();
        let kev = draws.iter().filter(|&&i| c.cves[i as usize].kev_day.is_some()).count();
        let share = kev as f64 / draws.len() as f64;
        assert!(share > 0.001 && share < 0.05, "KEV share of findings {share}");
        assert!(draws.iter().all(|&i| c.product_of(i).platform != Platform::Windows));
        let windows = (0..2_000).filter_map(|_| c.draw_cve("windows", &mut rng));
        assert!(windows.map(|i| c.product_of(i).platform).all(|p| p != Platform::Linux));
    }
}
