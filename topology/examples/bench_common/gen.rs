//! Deterministic workload for the benchmarks (own splitmix64, no external randomness).
//!
//! - Assets `asset-0000000000`.. with host names, OS, environment, criticality, a business
//!   service among 20, an owner team, an HA group on 40% and a maintenance window on 60%.
//! - A vocabulary of 20,000 CVE ids (`CVE-2014-1000`..) and 2,000 packages across seven
//!   ecosystems (Debian, npm, PyPI, Go, Maven, Red Hat, Alpine) with ecosystem-style versions.
//!   Each CVE affects one package; every installed version is below the package's fix, so every
//!   finding opens an exposure once its advisory and asset are known.
//! - `findings_per_asset` distinct CVEs per asset; `dual_percent` of those (asset, CVE,
//!   package) triples are reported by two scanners (two `Finding` records), the rest by one.
//! - One small `Advisory` per CVE (CVSS, one CWE, a one-line summary).
//!
//! Everything is generated on demand from the asset index, so no input is held in memory.

use patchline_processors::events::{
    Advisory, AssetTelemetry, Criticality, Cvss, Environment, Finding, FindingStatus, Health,
    HealthStatus, MaintenanceWindow, Package, Provenance,
};

/// Number of CVE ids in the vocabulary.
pub const CVES: usize = 20_000;
/// Number of packages in the vocabulary.
pub const PACKAGES: usize = 2_000;
/// 2025-03-01T00:00:00Z in milliseconds.
const NOW_MS: i64 = 1_740_787_200_000;
const DAY_MS: i64 = 86_400_000;

/// splitmix64.
pub struct SplitMix64(u64);

impl SplitMix64 {
    pub fn new(seed: u64) -> SplitMix64 {
        SplitMix64(seed)
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in `0..n` (n > 0).
    pub fn below(&mut self, n: usize) -> usize {
        ((self.next_u64() as u128 * n as u128) >> 64) as usize
    }

    /// True with probability `percent`/100.
    pub fn chance(&mut self, percent: usize) -> bool {
        self.below(100) < percent
    }

    fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        items[self.below(items.len())]
    }
}

const WORDS: [&str; 48] = [
    "xml", "ssl", "curl", "zlib", "yaml", "json", "http", "proto", "crypto", "image", "font",
    "sql", "ldap", "kerberos", "ssh", "tar", "gzip", "regex", "glob", "path", "auth", "token",
    "jwt", "oauth", "socket", "stream", "buffer", "parser", "lexer", "template", "markdown",
    "mime", "mail", "dns", "net", "cache", "queue", "log", "trace", "config", "cli", "shell",
    "archive", "codec", "media", "pdf", "svg", "web",
];
const ECOSYSTEMS: [&str; 7] = ["Debian", "npm", "PyPI", "Go", "Maven", "Red Hat", "Alpine"];
const SERVICES: [&str; 20] = [
    "payments",
    "checkout",
    "search",
    "catalog",
    "identity",
    "billing",
    "shipping",
    "inventory",
    "notifications",
    "analytics",
    "reporting",
    "crm",
    "erp",
    "hr-portal",
    "data-lake",
    "cdn-edge",
    "api-gateway",
    "mobile-backend",
    "support-desk",
    "internal-wiki",
];
const TEAMS: [&str; 12] = [
    "platform",
    "sre",
    "payments-eng",
    "commerce",
    "identity-eng",
    "data-eng",
    "corp-it",
    "edge",
    "mobile",
    "backoffice",
    "security-eng",
    "ml-infra",
];
const ROLES: [&str; 8] = ["web", "api", "db", "cache", "worker", "batch", "k8s-node", "gw"];
const SITES: [&str; 6] = ["fra1", "ams2", "iad3", "sfo1", "sin1", "lhr2"];
const OS: [(&str, &str); 6] = [
    ("debian", "12.5"),
    ("ubuntu", "22.04"),
    ("rhel", "9.3"),
    ("alpine", "3.19"),
    ("windows", "2022"),
    ("amzn", "2023"),
];
const ZONES: [&str; 8] = [
    "Europe/Berlin",
    "Europe/London",
    "America/New_York",
    "America/Los_Angeles",
    "Asia/Singapore",
    "Asia/Tokyo",
    "Australia/Sydney",
    "UTC",
];
const SCANNERS: [&str; 3] = ["trivy", "grype", "inspector"];

/// One package of the vocabulary.
pub struct Pkg {
    pub ecosystem: &'static str,
    pub name: String,
    /// Versions found installed (all below `fixed`).
    pub installed: [String; 3],
    pub fixed: String,
}

fn version(ecosystem: &str, (a, b, c): (usize, usize, usize), r: usize) -> String {
    match ecosystem {
        "Debian" => format!("{a}.{b}.{c}-{r}+deb12u1"),
        "Go" => format!("v{a}.{b}.{c}"),
        "Red Hat" => format!("{a}.{b}.{c}-{r}.el9_3"),
        "Alpine" => format!("{a}.{b}.{c}-r{r}"),
        _ => format!("{a}.{b}.{c}"),
    }
}

fn package(j: usize, rng: &mut SplitMix64) -> Pkg {
    let ecosystem = ECOSYSTEMS[j % ECOSYSTEMS.len()];
    let k = j / ECOSYSTEMS.len();
    let (w1, w2) = (WORDS[k % WORDS.len()], WORDS[(k / WORDS.len()) % WORDS.len()]);
    let name = match ecosystem {
        "Debian" => format!("lib{w1}-{w2}"),
        "npm" if k.is_multiple_of(2) => format!("@{w2}/{w1}"),
        "npm" => format!("{w1}-{w2}"),
        "PyPI" => format!("py{w1}-{w2}"),
        "Go" => format!("github.com/{w2}/{w1}"),
        "Maven" => format!("org.{w2}:{w1}-core"),
        "Red Hat" => format!("{w1}-{w2}-libs"),
        _ => format!("{w1}-{w2}"),
    };
    let (a, b, c) = (rng.below(5), rng.below(30), rng.below(20));
    let r = 1 + rng.below(9);
    Pkg {
        ecosystem,
        name,
        installed: [0, 1, 2].map(|d| version(ecosystem, (a, b, c + d), r)),
        fixed: version(ecosystem, (a, b, c + 3), r),
    }
}

/// The workload: vocabularies plus the shape of the findings.
pub struct Workload {
    seed: u64,
    findings_per_asset: usize,
    dual_percent: usize,
    pub cves: Vec<String>,
    pub packages: Vec<Pkg>,
}

impl Workload {
    /// A workload; `findings_per_asset` is capped at 1,000 (CVEs are drawn without repeats).
    pub fn new(seed: u64, findings_per_asset: usize, dual_percent: usize) -> Workload {
        let mut rng = SplitMix64::new(seed);
        let cves = (0..CVES).map(|i| format!("CVE-{}-{}", 2014 + i % 12, 1000 + (i / 12) * 23));
        Workload {
            seed,
            findings_per_asset: findings_per_asset.min(1_000),
            dual_percent,
            cves: cves.collect(),
            packages: (0..PACKAGES).map(|j| package(j, &mut rng)).collect(),
        }
    }

    fn rng_for(&self, stream: u64, i: usize) -> SplitMix64 {
        let mut mix = SplitMix64::new(self.seed ^ stream.wrapping_mul(0xD6E8_FEB8_6659_FD93));
        SplitMix64::new(mix.next_u64() ^ (i as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15))
    }

    /// The package a CVE affects.
    pub fn package_of(&self, cve: usize) -> &Pkg {
        &self.packages[(cve.wrapping_mul(7919) + cve / 3) % PACKAGES]
    }

    /// The advisory of CVE `c`.
    pub fn advisory(&self, c: usize) -> Advisory {
        let mut rng = self.rng_for(1, c);
        let pkg = self.package_of(c);
        let published = NOW_MS - (1 + rng.below(3_000)) as i64 * DAY_MS;
        Advisory {
            id: self.cves[c].clone(),
            aliases: Vec::new(),
            published: Some(published),
            modified: published + rng.below(200) as i64 * DAY_MS,
            withdrawn: None,
            summary: format!("Out-of-bounds write in {} before {}", pkg.name, pkg.fixed),
            cvss: Some(Cvss {
                version: "3.1".into(),
                base_score: (20 + rng.below(81)) as f32 / 10.0,
                vector: Some("CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H".into()),
            }),
            cwes: vec![["CWE-787", "CWE-79", "CWE-20", "CWE-502"][rng.below(4)].into()],
            affected: Vec::new(),
            exploit_refs: Vec::new(),
            ssvc: None,
            provenance: Provenance { feed: "cve".into(), feed_version: None, fetched_at: NOW_MS },
        }
    }

    /// The id of asset `i`.
    pub fn asset_id(i: usize) -> String {
        format!("asset-{i:010}")
    }

    /// The inventory record of asset `i`.
    pub fn asset(&self, i: usize) -> AssetTelemetry {
        let mut rng = self.rng_for(2, i);
        let (os_family, os_version) = OS[rng.below(OS.len())];
        let environment = match rng.below(100) {
            0..=49 => Environment::Production,
            50..=69 => Environment::Staging,
            70..=84 => Environment::Test,
            _ => Environment::Development,
        };
        let env_tag = ["dev", "test", "stg", "prod"][environment as usize];
        let service = SERVICES[rng.below(SERVICES.len())];
        let criticality =
            [Criticality::Low, Criticality::Medium, Criticality::High, Criticality::Critical]
                [rng.below(4)];
        let hostname = format!(
            "{}-{}-{:05}.{env_tag}.corp.example.com",
            rng.pick(&ROLES),
            rng.pick(&SITES),
            i % 100_000
        );
        let ha_group = rng.chance(40).then(|| format!("{service}-ha-{:04}", (i / 3) % 10_000));
        let maintenance_window = rng.chance(60).then(|| {
            let first = 1 + rng.below(7) as i32;
            let days = if rng.chance(50) { vec![first] } else { vec![first, first % 7 + 1] };
            MaintenanceWindow {
                time_zone: rng.pick(&ZONES).into(),
                days,
                start_minute: 60 * rng.below(24) as i32,
                duration_minutes: [60, 120, 240][rng.below(3)],
            }
        });
        let status = if rng.chance(95) { HealthStatus::Healthy } else { HealthStatus::Degraded };
        AssetTelemetry {
            asset_id: Self::asset_id(i),
            hostname,
            os_family: os_family.into(),
            os_version: os_version.into(),
            environment,
            criticality,
            internet_exposed: rng.chance(10),
            business_service: rng.chance(90).then(|| service.into()),
            owner: Some(format!("team-{}", rng.pick(&TEAMS))),
            ha_group,
            maintenance_window,
            health: Health {
                status,
                cpu_load: Some(rng.below(100) as f32 / 100.0),
                error_rate: rng.chance(50).then(|| rng.below(50) as f32 / 1000.0),
            },
            decommissioned: false,
            last_seen: NOW_MS - rng.below(3_600_000) as i64,
        }
    }

    /// The finding records of asset `i`: `findings_per_asset` distinct CVEs, each reported by
    /// one scanner or (with `dual_percent` probability) by two.
    pub fn findings(&self, i: usize) -> Vec<Finding> {
        let mut rng = self.rng_for(3, i);
        let mut chosen: Vec<usize> = Vec::with_capacity(self.findings_per_asset);
        while chosen.len() < self.findings_per_asset {
            let c = rng.below(CVES);
            if !chosen.contains(&c) {
                chosen.push(c);
            }
        }
        let asset_id = Self::asset_id(i);
        let mut out = Vec::with_capacity(chosen.len() * 2);
        for c in chosen {
            let pkg = self.package_of(c);
            let installed = pkg.installed[rng.below(3)].clone();
            let fixed = rng.chance(80).then(|| pkg.fixed.clone());
            let first_seen = NOW_MS - (1 + rng.below(180)) as i64 * DAY_MS;
            let scanners: Vec<&str> = if rng.chance(self.dual_percent) {
                SCANNERS[..2].to_vec()
            } else {
                vec![rng.pick(&SCANNERS)]
            };
            for scanner in scanners {
                out.push(Finding {
                    asset_id: asset_id.clone(),
                    scanner: scanner.into(),
                    scan_id: format!("{scanner}-20250301-{:08x}", rng.next_u64() as u32),
                    vulnerability_id: self.cves[c].clone(),
                    package: Package {
                        ecosystem: pkg.ecosystem.into(),
                        name: pkg.name.clone(),
                        installed_version: installed.clone(),
                        fixed_version: fixed.clone(),
                    },
                    status: FindingStatus::Open,
                    first_seen,
                    last_seen: NOW_MS - rng.below(86_400_000) as i64,
                });
            }
        }
        out
    }
}
