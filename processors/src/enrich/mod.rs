//! The assess processor: joins findings with advisories, threat intel and assets (like
//! table-table joins), scores the result and emits exposures.
//!
//! Invariants:
//! - any arrival order of the same events ends in the same emitted state per exposure: a finding
//!   that arrives before its advisory or asset is held and emitted when both are known;
//! - an update to an advisory, a threat signal or an asset re-evaluates exactly the findings it
//!   touches, and an exposure is emitted only when its content changed;
//! - a finding reported fixed by every scanner, a decommissioned asset or a withdrawn advisory
//!   closes the exposure with an explicit `CLOSED` event.
//!
//! The exposure topic is a changelog of a table keyed by exposure id: the last event of an id is
//! its current state. The state of an id starts unknown, not closed, so a replay that sees a fix
//! before the join completes still emits the `CLOSED` state a consumer may need.

mod state;

use crate::error::ProcessError;
use crate::events::{
    Advisory, AssetTelemetry, Event, EventKind, Exposure, ExposureStatus, Finding, ThreatSignal,
};
use crate::ids::stable_id;
use crate::processor::Processor;
use crate::score::{score, Policy, ScoreInput, MODEL_VERSION};
use crate::validate::validate;
pub use state::FindingKey;
use state::{AssessState, FindingEntry, ThreatIntel};

const MS_PER_DAY: i64 = 86_400_000;

/// Enrich + score.
#[derive(Debug, Default)]
pub struct AssessProcessor {
    state: AssessState,
    policy: Policy,
}

impl AssessProcessor {
    /// A processor with an empty state and the default policy.
    pub fn new() -> Self {
        Self::default()
    }

    /// Open exposures currently emitted for `asset_id` (for interactive queries).
    pub fn open_exposures_of_asset(&self, asset_id: &str) -> Vec<&Exposure> {
        self.state.emitted_for_asset(asset_id)
    }

    fn on_finding(&mut self, f: Finding, out: &mut Vec<Event>) {
        let key = FindingKey::of(&f);
        if !self.state.findings.entry(key.clone()).or_default().report(f) {
            return; // a newer report from this scanner is already known
        }
        self.state.index_finding(&key);
        self.evaluate(&key, out);
    }

    fn on_advisory(&mut self, a: Advisory, out: &mut Vec<Event>) {
        if let Some(old) = self.state.advisories.get(&a.id) {
            if old.modified > a.modified {
                return; // an older version arriving late changes nothing
            }
        }
        let names: Vec<String> =
            std::iter::once(a.id.clone()).chain(a.aliases.iter().cloned()).collect();
        self.state.put_advisory(a);
        for key in self.state.findings_named(&names) {
            self.evaluate(&key, out);
        }
    }

    fn on_threat(&mut self, t: ThreatSignal, out: &mut Vec<Event>) {
        let intel = self.state.threats.entry(t.cve_id.clone()).or_default();
        intel.merge(t.clone());
        let names = self.state.names_of(&t.cve_id);
        for key in self.state.findings_named(&names) {
            self.evaluate(&key, out);
        }
    }

    fn on_asset(&mut self, a: AssetTelemetry, out: &mut Vec<Event>) {
        if let Some(old) = self.state.assets.get(&a.asset_id) {
            if old.last_seen > a.last_seen {
                return;
            }
        }
        let asset_id = a.asset_id.clone();
        self.state.assets.insert(asset_id.clone(), a);
        for key in self.state.findings_on_asset(&asset_id) {
            self.evaluate(&key, out);
        }
    }

    /// Recomputes the exposure a finding key belongs to and emits it if it changed.
    ///
    /// Scanners may report one vulnerability under different ids (a CVE and its GHSA alias):
    /// every finding key whose id names the same advisory, on the same asset and package, is one
    /// exposure, identified by the advisory's canonical id.
    fn evaluate(&mut self, key: &FindingKey, out: &mut Vec<Event>) {
        let Some(advisory) = self.state.advisory_named(&key.vulnerability_id) else {
            return; // held until the advisory arrives
        };
        let exposure_id =
            stable_id("exp", &[&key.asset_id, &advisory.id, &key.ecosystem, &key.package]);
        let group = self.state.group_of(key, advisory);
        let next = self.build(&group, advisory, exposure_id.clone());
        let Some(exposure) = next else { return };
        let changed =
            self.state.emitted.get(&exposure_id).is_none_or(|p| !same_content(&exposure, p));
        if changed {
            out.push(Event::Exposure(exposure.clone()));
            self.state.emitted.insert(exposure_id, exposure);
        }
    }

    /// The exposure of a group of finding keys, open or closed, or `None` while the asset is
    /// unknown.
    fn build(
        &self,
        group: &FindingEntry,
        advisory: &Advisory,
        exposure_id: String,
    ) -> Option<Exposure> {
        let key = group.key.as_ref()?;
        let asset = self.state.assets.get(&key.asset_id)?;
        let previous = self.state.emitted.get(&exposure_id);
        let close_reason = match group.latest_open() {
            None => Some("fixed"),
            Some(_) if asset.decommissioned => Some("asset_decommissioned"),
            Some(_) if advisory.withdrawn.is_some() => Some("advisory_withdrawn"),
            Some(_) => None,
        };
        let empty = ThreatIntel::default();
        let intel = self.state.intel_for(advisory).unwrap_or(&empty);
        let s = score(
            &ScoreInput {
                cvss: advisory.cvss.as_ref().map(|c| c.base_score),
                has_exploit_ref: !advisory.exploit_refs.is_empty(),
                ssvc_automatable: advisory.ssvc.as_ref().and_then(|s| s.automatable),
                ssvc_technical_impact: advisory.ssvc.as_ref().and_then(|s| s.technical_impact),
                kev: intel.kev.as_ref(),
                epss: intel.epss.as_ref(),
                exploit: intel.exploit.as_ref(),
                environment: asset.environment,
                criticality: asset.criticality,
                internet_exposed: asset.internet_exposed,
                first_seen_day: group.first_seen().div_euclid(MS_PER_DAY) as i32,
            },
            &self.policy,
        );
        let updated_at = [
            group.last_seen(),
            advisory.modified,
            asset.last_seen,
            intel.updated_at,
            previous.map_or(0, |p| p.updated_at),
        ]
        .into_iter()
        .max()
        .unwrap_or(0);
        let report = group.latest_open().or(group.newest())?;
        let open_sources = group.open_sources();
        let sources = match (open_sources.is_empty(), previous) {
            (false, _) => open_sources,
            (true, Some(p)) => p.sources.clone(),
            (true, None) => group.reports.keys().cloned().collect(),
        };
        let installed_version = report.package.installed_version.clone();
        let fixed_version = report.package.fixed_version.clone();
        let fixed_version = fixed_version.or_else(|| advisory_fixed_version(advisory, key));
        Some(Exposure {
            exposure_id,
            asset_id: key.asset_id.clone(),
            vulnerability_id: advisory.id.clone(),
            aliases: advisory.aliases.clone(),
            ecosystem: key.ecosystem.clone(),
            package: key.package.clone(),
            installed_version,
            fixed_version,
            sources,
            status: if close_reason.is_some() {
                ExposureStatus::Closed
            } else {
                ExposureStatus::Open
            },
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
            cvss: advisory.cvss.as_ref().map(|c| c.base_score),
            environment: asset.environment,
            criticality: asset.criticality,
            internet_exposed: asset.internet_exposed,
            business_service: asset.business_service.clone(),
            ha_group: asset.ha_group.clone(),
            model_version: MODEL_VERSION.to_string(),
            policy_version: self.policy.version.clone(),
            updated_at,
        })
    }
}

/// The first fixed version the advisory names for this package, when the scanner gave none.
fn advisory_fixed_version(advisory: &Advisory, key: &FindingKey) -> Option<String> {
    advisory
        .affected
        .iter()
        .filter(|p| p.name == key.package)
        .flat_map(|p| p.ranges.iter())
        .find_map(|r| r.fixed.clone())
}

/// Equal apart from `updated_at`: an exposure is re-emitted only when something a reader cares
/// about changed.
fn same_content(a: &Exposure, b: &Exposure) -> bool {
    let mut a = a.clone();
    a.updated_at = b.updated_at;
    &a == b
}

impl Processor for AssessProcessor {
    fn name(&self) -> &'static str {
        "assess"
    }

    fn output_kinds(&self) -> &'static [EventKind] {
        &[EventKind::Exposure]
    }

    fn process(&mut self, event: Event, out: &mut Vec<Event>) -> Result<(), ProcessError> {
        validate(&event)?;
        match event {
            Event::Finding(f) => self.on_finding(f, out),
            Event::Advisory(a) => self.on_advisory(a, out),
            Event::ThreatSignal(t) => self.on_threat(t, out),
            Event::AssetTelemetry(a) => self.on_asset(a, out),
            other => {
                return Err(ProcessError::Unsupported { processor: "assess", kind: other.kind() })
            }
        }
        Ok(())
    }

    fn state_sizes(&self) -> Vec<(&'static str, usize)> {
        self.state.sizes()
    }
}

#[cfg(test)]
mod tests;
