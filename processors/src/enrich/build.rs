//! Builds one exposure from the tables: the finding reports of a group (every reported name of
//! one vulnerability, on one asset and package), the merged advisories, the threat intel and the
//! asset row; then scores it.
//!
//! Invariants: the result depends only on table contents, never on arrival order; the content
//! hash covers every field but `updated_at`, so equal hashes mean nothing a reader cares about
//! changed.

use super::intern::Id;
use super::likelihood::Likelihood;
use super::state::{AssessState, Report, ThreatIntel};
use crate::events::{Advisory, Cvss, Exposure, ExposureStatus, Ssvc, VersionRange};
use crate::ids::stable_id;
use crate::score::{score, Policy, ScoreInput, Subject};
use crate::versions;
use std::hash::{Hash, Hasher};

const MS_PER_DAY: i64 = 86_400_000;

/// A merged view of the advisories of one vulnerability (CVE record, OSV entries, ...).
pub struct AdvisoryView<'a> {
    pub canonical_name: &'a str,
    pub records: &'a [Advisory],
}

impl<'a> AdvisoryView<'a> {
    /// The canonical record, else the first.
    pub fn primary(&self) -> Option<&'a Advisory> {
        self.records.iter().find(|r| r.id == self.canonical_name).or(self.records.first())
    }

    /// CVSS from the canonical record, else from any record.
    pub fn cvss(&self) -> Option<&'a Cvss> {
        self.primary()
            .and_then(|p| p.cvss.as_ref())
            .or_else(|| self.records.iter().find_map(|r| r.cvss.as_ref()))
    }

    /// SSVC decision points from any record.
    pub fn ssvc(&self) -> Option<&'a Ssvc> {
        self.records.iter().find_map(|r| r.ssvc.as_ref())
    }

    fn has_exploit_ref(&self) -> bool {
        self.records.iter().any(|r| !r.exploit_refs.is_empty())
    }

    /// Withdrawn when every record is withdrawn.
    pub fn withdrawn(&self) -> bool {
        !self.records.is_empty() && self.records.iter().all(|r| r.withdrawn.is_some())
    }

    fn modified(&self) -> i64 {
        self.records.iter().map(|r| r.modified).max().unwrap_or(0)
    }

    /// Version ranges the advisories give for this package, if any advisory names it.
    pub fn ranges(&self, ecosystem: &str, package: &str) -> Option<Vec<VersionRange>> {
        let mut found = false;
        let mut ranges = Vec::new();
        for p in self.records.iter().flat_map(|r| r.affected.iter()) {
            if p.name == package && same_ecosystem(&p.ecosystem, ecosystem) {
                found = true;
                ranges.extend(p.ranges.iter().cloned());
            }
        }
        found.then_some(ranges)
    }
}

/// OSV ecosystems may carry a release suffix (`Debian:12`); compare the family.
fn same_ecosystem(a: &str, b: &str) -> bool {
    let family = |s: &str| s.split(':').next().unwrap_or(s).to_ascii_lowercase();
    family(a) == family(b)
}

/// True when the installed version is at or above the scanner's fixed version. Scanners may list
/// one fix per release line (`"2.3.2, 2.2.5"`); the installed version then counts as fixed only
/// when it is at or above every one of them (never closing an exposure that may be open), and
/// an unparseable version never closes one either.
fn fixed_by(ecosystem: &str, installed: &str, fixed: &str) -> bool {
    let mut fixes = fixed.split(',').map(str::trim).filter(|f| !f.is_empty()).peekable();
    fixes.peek().is_some()
        && fixes.all(|f| versions::is_fixed_by(ecosystem, installed, f) == Some(true))
}

/// Newest report per scanner across the group.
pub fn merge_reports<'a>(reports: impl Iterator<Item = &'a Report>) -> Vec<Report> {
    let mut merged: Vec<Report> = Vec::new();
    for r in reports {
        match merged.iter_mut().find(|m| m.scanner == r.scanner) {
            Some(m) if m.last_seen <= r.last_seen => *m = *r,
            Some(_) => {}
            None => merged.push(*r),
        }
    }
    merged
}

/// Everything `build` needs for one exposure.
pub struct Group<'a> {
    pub asset: Id,
    pub canonical: Id,
    pub pkg: Id,
    pub reports: &'a [Report],
    pub previous_updated_at: i64,
}

/// Builds the exposure of a group, or `None` while its asset or advisory is unknown.
pub fn build(
    state: &AssessState,
    policy: &Policy,
    likelihood: &Likelihood,
    g: &Group<'_>,
) -> Option<Exposure> {
    let row = state.slots.get(g.asset as usize)?.row?;
    let canonical_name = state.vulns.name(g.canonical);
    let advisory = AdvisoryView { canonical_name, records: state.advisories.get(&g.canonical)? };
    let newest = |open_only: bool| {
        g.reports
            .iter()
            .filter(|r| r.open || !open_only)
            .max_by_key(|r| (r.last_seen, std::cmp::Reverse(r.scanner)))
    };
    let report = newest(true).or_else(|| newest(false))?;
    let (ecosystem, package) = state.pkg_name(g.pkg);
    let installed = state.strings.name(report.installed);
    let fixed = state.string(report.fixed);
    let fixed_by_report = fixed.is_some_and(|f| fixed_by(ecosystem, installed, f));
    let outside_ranges = advisory
        .ranges(ecosystem, package)
        .is_some_and(|r| versions::is_affected(ecosystem, installed, &r) == Some(false));
    let close_reason = if newest(true).is_none() {
        Some("fixed")
    } else if row.decommissioned {
        Some("asset_decommissioned")
    } else if advisory.withdrawn() {
        Some("advisory_withdrawn")
    } else if fixed_by_report || outside_ranges {
        Some("not_affected")
    } else {
        None
    };
    let empty = ThreatIntel::default();
    let intel = state.intel_for(g.canonical).unwrap_or(&empty);
    let first_seen = g.reports.iter().map(|r| r.first_seen).min().unwrap_or(0);
    let updated_at = [
        g.reports.iter().map(|r| r.last_seen).max().unwrap_or(0),
        advisory.modified(),
        row.last_seen,
        intel.updated_at,
        g.previous_updated_at,
    ]
    .into_iter()
    .max()
    .unwrap_or(0);
    let asset_id = state.assets.name(g.asset);
    let business_service = state.string(row.business_service);
    let mut names: Vec<&str> = vec![canonical_name];
    names.extend(state.names.get(&g.canonical).into_iter().flatten().map(|&n| state.vulns.name(n)));
    let day = updated_at.div_euclid(MS_PER_DAY) as i32;
    let subject = Subject { vulnerability_names: &names, asset: asset_id, business_service };
    let exception = policy.exception_for(&subject, day);
    let (controls, _) = policy.context.controls_for(&subject);
    let estimate = likelihood.estimate(g.canonical, advisory.primary(), intel.epss.as_ref(), day);
    let s = score(
        &ScoreInput {
            cvss: advisory.cvss().map(|c| c.base_score),
            has_exploit_ref: advisory.has_exploit_ref(),
            ssvc_automatable: advisory.ssvc().and_then(|s| s.automatable),
            ssvc_technical_impact: advisory.ssvc().and_then(|s| s.technical_impact),
            kev: intel.kev.as_ref(),
            epss: intel.epss.as_ref(),
            exploit: intel.exploit.as_ref(),
            model: estimate.as_deref(),
            environment: row.environment,
            criticality: row.criticality,
            internet_exposed: row.internet_exposed,
            first_seen_day: first_seen.div_euclid(MS_PER_DAY) as i32,
            business_service,
            exception,
            day,
            service_weight: policy.context.service_weight(business_service),
            controls,
        },
        policy,
    );
    let open_scanners: Vec<&Report> = g.reports.iter().filter(|r| r.open).collect();
    let listed: Vec<&Report> =
        if open_scanners.is_empty() { g.reports.iter().collect() } else { open_scanners };
    let mut sources: Vec<String> =
        listed.iter().map(|r| state.strings.name(r.scanner).to_string()).collect();
    sources.sort();
    let mut aliases: Vec<String> = state
        .names
        .get(&g.canonical)
        .into_iter()
        .flatten()
        .filter(|&&n| n != g.canonical)
        .map(|&n| state.vulns.name(n).to_string())
        .collect();
    aliases.sort();
    let fixed_version = fixed.map(str::to_string).or_else(|| {
        advisory.ranges(ecosystem, package).and_then(|r| r.iter().find_map(|x| x.fixed.clone()))
    });
    Some(Exposure {
        exposure_id: stable_id("exp", &[asset_id, canonical_name, ecosystem, package]),
        asset_id: asset_id.to_string(),
        vulnerability_id: canonical_name.to_string(),
        aliases,
        ecosystem: ecosystem.to_string(),
        package: package.to_string(),
        installed_version: installed.to_string(),
        fixed_version,
        sources,
        status: if close_reason.is_some() { ExposureStatus::Closed } else { ExposureStatus::Open },
        close_reason: close_reason.map(str::to_string),
        risk: s.risk,
        likelihood: s.likelihood,
        impact: s.impact,
        contributions: s.contributions,
        ssvc_decision: s.ssvc_decision,
        due_date: s.due_date,
        lane: s.lane,
        kev: intel.kev.is_some(),
        epss: intel.epss.as_ref().map(|e| e.score),
        cvss: advisory.cvss().map(|c| c.base_score),
        environment: row.environment,
        criticality: row.criticality,
        internet_exposed: row.internet_exposed,
        business_service: business_service.map(str::to_string),
        ha_group: state.string(row.ha_group).map(str::to_string),
        model_version: likelihood.version().to_string(),
        policy_version: policy.version.clone(),
        updated_at,
        exception_id: s.exception.as_ref().map(|(id, _)| id.clone()),
        accepted_until: s.exception.as_ref().map(|(_, until)| *until),
    })
}

/// A hash of everything but `updated_at`.
pub fn content_hash(e: &Exposure) -> u64 {
    let mut h = rustc_hash::FxHasher::default();
    (&e.exposure_id, &e.vulnerability_id, &e.aliases, &e.installed_version, &e.fixed_version)
        .hash(&mut h);
    (&e.sources, e.status, &e.close_reason, e.ssvc_decision, e.due_date, e.lane, e.kev)
        .hash(&mut h);
    for x in [e.risk, e.likelihood, e.impact, e.epss.unwrap_or(-1.0), e.cvss.unwrap_or(-1.0)] {
        x.to_bits().hash(&mut h);
    }
    for c in &e.contributions {
        (&c.factor, c.points.to_bits()).hash(&mut h);
    }
    (e.environment, e.criticality, e.internet_exposed, &e.business_service, &e.ha_group)
        .hash(&mut h);
    (&e.model_version, &e.policy_version, &e.exception_id, e.accepted_until).hash(&mut h);
    h.finish()
}
