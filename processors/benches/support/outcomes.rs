//! A world of deployment outcomes whose failure probabilities are known, for the learning
//! benchmark (G6). Everything is drawn from one seed with an own splitmix64.
//!
//! - Assets: OS family (Debian, Ubuntu, RHEL, Alpine, Windows) with two or three versions each
//!   (the first is the oldest), environment (15% development, 10% test, 15% staging, 60%
//!   production), and a hidden fragility `N(0, fragility_sd)` that no model can see.
//! - Packages in seven ecosystems, each with a train of releases; a release bumps the major
//!   version with probability 0.15. A `DEPLOY` command installs release `r` of a package (the
//!   asset had release `r - 1`) on `per_command` random assets.
//! - The generating model (the effects of the fleet simulator's documented hidden table,
//!   `src/sim/failure.rs`, drawn here independently): log-odds -4.18, +0.6 on Windows, +1.3 for a
//!   major version change, +0.4 production / +0.2 staging, +0.4 on the oldest OS version of the
//!   family, +2.2 for a fragile (OS family, package) cohort (8% of pairs), +2.8 for a bad release
//!   (4% of releases), plus the asset's hidden fragility; the probability is clamped to
//!   `[MIN_P, MAX_P]` like every failure prediction. Every effect but the fragility is a feature
//!   of `learn::failure::features`.

use patchline_processors::events::{
    AssetTelemetry, CommandAction, Criticality, DeploymentCommand, DeploymentOutcome, Environment,
    Event, Exposure, ExposureStatus, Lane, OutcomeStatus, Remediation, Ring, SsvcDecision,
};
use patchline_processors::learn::sigmoid;
use patchline_processors::plan::predict::{MAX_P, MIN_P};
use patchline_processors::plan::PatchContext;

/// splitmix64.
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng(seed)
    }
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    /// Uniform in `[0, 1)`.
    pub fn unit(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }
    pub fn below(&mut self, n: usize) -> usize {
        ((self.next_u64() as u128 * n as u128) >> 64) as usize
    }
    /// Standard normal (Box-Muller).
    pub fn normal(&mut self) -> f64 {
        let u = self.unit().max(1e-12);
        let v = self.unit();
        (-2.0 * u.ln()).sqrt() * (std::f64::consts::TAU * v).cos()
    }
}

const OS: [(&str, &[&str]); 5] = [
    ("debian", &["11", "12"]),
    ("ubuntu", &["20.04", "22.04", "24.04"]),
    ("rhel", &["8.10", "9.4"]),
    ("alpine", &["3.18", "3.19", "3.20"]),
    ("windows", &["2019", "2022"]),
];
const ECOSYSTEMS: [&str; 7] = ["Debian", "RPM", "Alpine", "npm", "PyPI", "Maven", "Go"];

pub struct Asset {
    pub id: String,
    pub os: usize,
    pub version: usize,
    pub environment: Environment,
    pub fragility: f64,
}

pub struct Release {
    pub command_id: String,
    pub package: usize,
    pub installed: String,
    pub target: String,
    pub bad: bool,
}

/// One labelled deployment: the command (release) and asset, the generating probability and
/// the drawn outcome.
#[derive(Clone, Copy)]
pub struct Draw {
    pub release: usize,
    pub asset: usize,
    pub p: f64,
    pub failed: bool,
}

pub struct World {
    pub assets: Vec<Asset>,
    pub packages: Vec<(String, String)>,
    pub releases: Vec<Release>,
    fragile: Vec<bool>,
}

impl World {
    /// `assets` assets, `packages` packages with `releases` releases each.
    pub fn new(seed: u64, assets: usize, packages: usize, releases: usize, sd: f64) -> World {
        let mut rng = Rng::new(seed);
        let assets = (0..assets)
            .map(|i| {
                let os = rng.below(OS.len());
                let environment = match rng.below(100) {
                    0..=14 => Environment::Development,
                    15..=24 => Environment::Test,
                    25..=39 => Environment::Staging,
                    _ => Environment::Production,
                };
                let version = rng.below(OS[os].1.len());
                Asset {
                    id: format!("a-{i:06}"),
                    os,
                    version,
                    environment,
                    fragility: sd * rng.normal(),
                }
            })
            .collect();
        let packages: Vec<(String, String)> = (0..packages)
            .map(|k| (ECOSYSTEMS[k % ECOSYSTEMS.len()].to_string(), format!("pkg{k}")))
            .collect();
        let fragile = (0..packages.len() * OS.len()).map(|_| rng.unit() < 0.08).collect();
        // Releases go out in time order: round `r` releases every package's next version.
        let mut state: Vec<(usize, usize)> =
            packages.iter().map(|_| (1 + rng.below(3), rng.below(10))).collect();
        let mut all = Vec::new();
        for r in 0..releases {
            for (k, (major, minor)) in state.iter_mut().enumerate() {
                let installed = format!("{major}.{minor}.0");
                if rng.unit() < 0.15 {
                    (*major, *minor) = (*major + 1, 0);
                } else {
                    *minor += 1;
                }
                all.push(Release {
                    command_id: format!("cmd-{k}-{r}"),
                    package: k,
                    installed,
                    target: format!("{major}.{minor}.0"),
                    bad: rng.unit() < 0.04,
                });
            }
        }
        World { assets, packages, releases: all, fragile }
    }

    /// The context the learn stage builds for a release on an asset.
    pub fn context(&self, release: usize, asset: usize) -> PatchContext<'_> {
        let r = &self.releases[release];
        let a = &self.assets[asset];
        let (eco, pkg) = &self.packages[r.package];
        PatchContext {
            ecosystem: eco,
            package: pkg,
            installed_version: &r.installed,
            target_version: Some(&r.target),
            os_family: OS[a.os].0,
            os_version: OS[a.os].1[a.version],
            environment: a.environment,
        }
    }

    /// The generating probability of a failure.
    pub fn probability(&self, release: usize, asset: usize) -> f64 {
        self.probability_if(release, asset, self.releases[release].bad)
    }

    /// The probability of a failure if the release were bad (`bad`) or not, all else as
    /// generated: what an oracle that knows every effect but the release's quality predicts.
    pub fn probability_if(&self, release: usize, asset: usize, bad: bool) -> f64 {
        let r = &self.releases[release];
        let a = &self.assets[asset];
        let major = |v: &str| v.split('.').next().map(str::to_string);
        let mut logit = -4.18 + a.fragility;
        logit += if OS[a.os].0 == "windows" { 0.6 } else { 0.0 };
        logit += if major(&r.installed) != major(&r.target) { 1.3 } else { 0.0 };
        logit += match a.environment {
            Environment::Production => 0.4,
            Environment::Staging => 0.2,
            _ => 0.0,
        };
        logit += if a.version == 0 { 0.4 } else { 0.0 };
        logit += if self.fragile[r.package * OS.len() + a.os] { 2.2 } else { 0.0 };
        logit += if bad { 2.8 } else { 0.0 };
        sigmoid(logit).clamp(f64::from(MIN_P), f64::from(MAX_P))
    }

    /// The deployments of `releases` (a range of release indices) to `per_command` assets each,
    /// in arrival order: the outcomes of up to 8 open commands interleave.
    pub fn draws(&self, rng: &mut Rng, releases: std::ops::Range<usize>, per: usize) -> Vec<Draw> {
        let mut queues: Vec<Vec<Draw>> = Vec::new();
        let mut out = Vec::new();
        let mut next = releases.start;
        loop {
            while queues.len() < 8 && next < releases.end {
                let mut chosen: Vec<usize> = Vec::with_capacity(per);
                while chosen.len() < per.min(self.assets.len()) {
                    let a = rng.below(self.assets.len());
                    if !chosen.contains(&a) {
                        chosen.push(a);
                    }
                }
                let q = chosen
                    .into_iter()
                    .map(|asset| {
                        let p = self.probability(next, asset);
                        Draw { release: next, asset, p, failed: rng.unit() < p }
                    })
                    .collect();
                queues.push(q);
                next += 1;
            }
            if queues.is_empty() {
                return out;
            }
            let q = rng.below(queues.len());
            if let Some(d) = queues[q].pop() {
                out.push(d);
            }
            if queues[q].is_empty() {
                queues.swap_remove(q);
            }
        }
    }

    pub fn asset_event(&self, i: usize) -> Event {
        let a = &self.assets[i];
        Event::AssetTelemetry(AssetTelemetry {
            os_family: OS[a.os].0.into(),
            os_version: OS[a.os].1[a.version].into(),
            environment: a.environment,
            criticality: Criticality::Medium,
            internet_exposed: false,
            business_service: None,
            ..patchline_processors::fixtures::asset(&a.id, 0)
        })
    }

    /// The exposure that tells the learn stage which version the asset has installed.
    pub fn exposure_event(&self, release: usize, asset: usize) -> Event {
        let r = &self.releases[release];
        let (eco, pkg) = &self.packages[r.package];
        let a = &self.assets[asset];
        Event::Exposure(Exposure {
            exposure_id: format!("exp-{release}-{asset}"),
            asset_id: a.id.clone(),
            vulnerability_id: format!("CVE-2026-{release}"),
            aliases: Vec::new(),
            ecosystem: eco.clone(),
            package: pkg.clone(),
            installed_version: r.installed.clone(),
            fixed_version: Some(r.target.clone()),
            sources: vec!["trivy".into()],
            status: ExposureStatus::Open,
            close_reason: None,
            risk: 500.0,
            likelihood: 0.1,
            impact: 0.5,
            contributions: Vec::new(),
            ssvc_decision: SsvcDecision::Track,
            due_date: 0,
            lane: Lane::Standard,
            kev: false,
            epss: None,
            cvss: None,
            environment: a.environment,
            criticality: Criticality::Medium,
            internet_exposed: false,
            business_service: None,
            ha_group: None,
            model_version: "bench".into(),
            policy_version: "bench".into(),
            updated_at: 0,
            exception_id: None,
            accepted_until: None,
        })
    }

    /// The `DEPLOY` of a release to `targets`.
    pub fn command_event(&self, release: usize, targets: Vec<String>) -> Event {
        let r = &self.releases[release];
        let (eco, pkg) = &self.packages[r.package];
        Event::DeploymentCommand(DeploymentCommand {
            command_id: r.command_id.clone(),
            action: CommandAction::Deploy,
            campaign_id: format!("cmp-{}", r.package),
            wave: 1,
            ring: Ring::Broad,
            remediation: Remediation {
                ecosystem: eco.clone(),
                package: pkg.clone(),
                target_version: Some(r.target.clone()),
                kb: None,
            },
            target_assets: targets,
            not_before: 0,
            not_after: i64::MAX / 4,
            deadline: i64::MAX / 4,
            rationale: Vec::new(),
            predicted_failure: 0.02,
            issued_at: 0,
            policy_version: "bench".into(),
            model_version: "bench".into(),
            signature: None,
            plan_reason: String::new(),
            emergency: false,
            shadow: false,
            rollback_of: None,
        })
    }

    pub fn outcome_event(&self, d: &Draw) -> Event {
        Event::DeploymentOutcome(DeploymentOutcome {
            command_id: self.releases[d.release].command_id.clone(),
            asset_id: self.assets[d.asset].id.clone(),
            status: if d.failed { OutcomeStatus::Failed } else { OutcomeStatus::Succeeded },
            started_at: 0,
            finished_at: 0,
            reboot: false,
            health_before: None,
            health_after: None,
            error: None,
            executor: "bench".into(),
        })
    }

    /// The exposures (installed versions) and the command of one release, targeting `assets`.
    fn release_events(&self, release: usize, assets: &[usize], out: &mut Vec<Event>) {
        for &a in assets {
            out.push(self.exposure_event(release, a));
        }
        let ids = assets.iter().map(|&a| self.assets[a].id.clone()).collect();
        out.push(self.command_event(release, ids));
    }

    /// Every event of `draws` in arrival order: a release's exposures and command just before
    /// its first outcome (a later release of the same package then overwrites the installed
    /// version, after the earlier one's outcomes, as long as there are more than 8 packages).
    pub fn stream(&self, draws: &[Draw]) -> Vec<Event> {
        let mut targets: std::collections::BTreeMap<usize, Vec<usize>> = Default::default();
        for d in draws {
            targets.entry(d.release).or_default().push(d.asset);
        }
        let mut out = Vec::with_capacity(draws.len() * 3);
        for d in draws {
            if let Some(assets) = targets.remove(&d.release) {
                self.release_events(d.release, &assets, &mut out);
            }
            out.push(self.outcome_event(d));
        }
        out
    }

    /// The events that must precede `draws`, all up front (for timing the outcomes alone;
    /// `draws` must not hold two releases of one package).
    pub fn setup_events(&self, draws: &[Draw]) -> Vec<Event> {
        let mut targets: std::collections::BTreeMap<usize, Vec<usize>> = Default::default();
        for d in draws {
            targets.entry(d.release).or_default().push(d.asset);
        }
        let mut out = Vec::new();
        for (release, assets) in targets {
            self.release_events(release, &assets, &mut out);
        }
        out
    }
}
