//! The assess processor: joins findings with advisories, threat intel and assets (like
//! table-table joins), scores the result and emits exposures.
//!
//! Invariants:
//! - any arrival order of the same events ends in the same state per exposure: a finding that
//!   arrives before its advisory or asset is held and emitted when both are known;
//! - an update to an advisory, a threat signal or an asset re-evaluates exactly the exposures it
//!   touches, and an exposure is emitted only when its content changed;
//! - a finding reported fixed by every scanner, a decommissioned asset, a withdrawn advisory or
//!   an installed version at or above the fix closes the exposure with an explicit `CLOSED`
//!   event.
//!
//! The exposure topic is a changelog of a table keyed by exposure id: the last event of an id is
//! its current state. The state of an id starts unknown, not closed, so a replay that sees a fix
//! before the join completes still emits the `CLOSED` state a consumer may need.

mod build;
mod intern;
mod likelihood;
mod state;

use crate::error::ProcessError;
use crate::events::{
    Advisory, AssetTelemetry, Event, EventKind, Exposure, ExposureStatus, Finding, FindingStatus,
    ModelSnapshot, ThreatSignal,
};
use crate::learn::EXPLOIT_MODEL;
use crate::processor::{ModelGauge, Processor, Query};
use crate::score::Policy;
use crate::validate::validate;
use build::{build, content_hash, merge_reports, Group};
use intern::Id;
use likelihood::Likelihood;
use state::{AssessState, AssetRow, FindingRow, Mark, Report, NONE};

/// Enrich + score.
#[derive(Debug, Default)]
pub struct AssessProcessor {
    state: AssessState,
    policy: Policy,
    likelihood: Likelihood,
    restoring: bool,
}

impl AssessProcessor {
    /// A processor with an empty state and the default policy.
    pub fn new() -> Self {
        Self::default()
    }

    /// A processor whose tables are presized for about `assets` assets.
    pub fn with_capacity(assets: usize) -> Self {
        AssessProcessor {
            state: AssessState::with_capacity(assets),
            policy: Policy::default(),
            likelihood: Likelihood::default(),
            restoring: false,
        }
    }

    /// The same processor deciding under `policy`.
    pub fn with_policy(mut self, policy: Policy) -> Self {
        self.policy = policy;
        self
    }

    /// Scores with `snapshot` (the exploit-likelihood model) until a newer one arrives on the
    /// models topic.
    pub fn with_exploit_model(mut self, snapshot: &ModelSnapshot) -> Result<Self, ProcessError> {
        self.likelihood.offer(snapshot).map_err(ProcessError::Contract)?;
        Ok(self)
    }

    /// Open exposures of an asset, rebuilt from the state, sorted by id.
    pub fn open_exposures_of_asset(&self, asset_id: &str) -> Vec<Exposure> {
        let Some(asset) = self.state.assets.get(asset_id) else { return Vec::new() };
        let Some(slot) = self.state.slots.get(asset as usize) else { return Vec::new() };
        let mut triples: Vec<(Id, Id, Id)> = Vec::new();
        for f in &slot.findings {
            let t = (asset, self.state.canonical_of(f.vuln), f.pkg);
            if t.1 != NONE && !triples.contains(&t) {
                triples.push(t);
            }
        }
        self.open_exposures(&triples)
    }

    /// Open exposures of a vulnerability (by any of its names) across the assets held here.
    pub fn open_exposures_of_vulnerability(&self, name: &str) -> Vec<Exposure> {
        let Some(id) = self.state.vulns.get(name) else { return Vec::new() };
        self.open_exposures(&self.state.affected_by(&self.state.names_of(id)))
    }

    fn open_exposures(&self, triples: &[(Id, Id, Id)]) -> Vec<Exposure> {
        let mut out: Vec<Exposure> = triples
            .iter()
            .filter_map(|&t| self.exposure(t))
            .filter(|e| e.status == ExposureStatus::Open)
            .collect();
        out.sort_by(|a, b| a.exposure_id.cmp(&b.exposure_id));
        out
    }

    /// The current exposure of (asset, canonical vulnerability, package).
    fn exposure(&self, (asset, canonical, pkg): (Id, Id, Id)) -> Option<Exposure> {
        let slot = self.state.slots.get(asset as usize)?;
        let reports = merge_reports(
            slot.findings
                .iter()
                .filter(|f| f.pkg == pkg && self.state.canonical_of(f.vuln) == canonical)
                .flat_map(|f| f.reports.iter()),
        );
        let previous = slot.marks.iter().find(|m| m.vuln == canonical && m.pkg == pkg);
        let group = Group {
            asset,
            canonical,
            pkg,
            reports: &reports,
            previous_updated_at: previous.map_or(0, |m| m.updated_at),
        };
        build(&self.state, &self.policy, &self.likelihood, &group)
    }

    /// Recomputes one exposure and emits it if its content changed. While restoring, nothing is
    /// evaluated: the tables fill, no mark is set, and the first evaluation after the restore
    /// emits (an idempotent re-emit at worst).
    fn evaluate(&mut self, triple: (Id, Id, Id), out: &mut Vec<Event>) {
        if self.restoring {
            return;
        }
        let Some(exposure) = self.exposure(triple) else { return };
        let hash = content_hash(&exposure);
        let (asset, vuln, pkg) = triple;
        let slot = &mut self.state.slots[asset as usize];
        let open = exposure.status == ExposureStatus::Open;
        let mark = Mark { vuln, pkg, hash, updated_at: exposure.updated_at, open };
        match slot.marks.iter_mut().find(|m| m.vuln == vuln && m.pkg == pkg) {
            Some(m) if m.hash == hash => return,
            Some(m) => *m = mark,
            None => push_small(&mut slot.marks, mark),
        }
        out.push(Event::Exposure(exposure));
    }

    fn evaluate_all(&mut self, triples: Vec<(Id, Id, Id)>, out: &mut Vec<Event>) {
        for t in triples {
            self.evaluate(t, out);
        }
    }

    fn on_finding(&mut self, f: Finding, out: &mut Vec<Event>) {
        let vuln = self.state.vuln_id(&f.vulnerability_id);
        let pkg = self.state.pkg_id(&f.package.ecosystem, &f.package.name);
        let report = Report {
            scanner: self.state.strings.intern(&f.scanner),
            open: f.status == FindingStatus::Open,
            first_seen: f.first_seen,
            last_seen: f.last_seen,
            installed: self.state.strings.intern(&f.package.installed_version),
            fixed: self.state.opt_string(f.package.fixed_version.as_deref()),
        };
        let (asset, slot) = self.state.slot_mut(&f.asset_id);
        let row = match slot.findings.iter_mut().position(|r| r.vuln == vuln && r.pkg == pkg) {
            Some(i) => &mut slot.findings[i],
            None => {
                push_small(&mut slot.findings, FindingRow { vuln, pkg, reports: Vec::new() });
                let last = slot.findings.len() - 1;
                &mut slot.findings[last]
            }
        };
        match row.reports.iter_mut().find(|r| r.scanner == report.scanner) {
            Some(old) if old.last_seen > report.last_seen => return, // stale report
            Some(old) => *old = report,
            None => push_small(&mut row.reports, report),
        }
        self.state.index(vuln, asset);
        let canonical = self.state.canonical_of(vuln);
        if canonical != NONE {
            self.evaluate((asset, canonical, pkg), out);
        }
    }

    fn on_advisory(&mut self, a: Advisory, out: &mut Vec<Event>) {
        // The vendor is keyed by the record's own id: a CVE record's id is the canonical id
        // estimates are made for, and KEV signals name the same CVE id.
        let own = self.state.vuln_id(&a.id);
        self.likelihood.note_vendor(own, &a);
        let (_, names) = self.state.put_advisory(a);
        let touched = self.state.affected_by(&names);
        self.evaluate_all(touched, out);
    }

    fn on_threat(&mut self, t: ThreatSignal, out: &mut Vec<Event>) {
        let name = self.state.vuln_id(&t.cve_id);
        if t.kev.is_some() {
            self.likelihood.note_kev(name);
        }
        self.state.threats.entry(name).or_default().merge(t);
        let touched = self.state.affected_by(&self.state.names_of(name));
        self.evaluate_all(touched, out);
    }

    fn on_asset(&mut self, a: AssetTelemetry, out: &mut Vec<Event>) {
        let row = AssetRow {
            environment: a.environment,
            criticality: a.criticality,
            internet_exposed: a.internet_exposed,
            decommissioned: a.decommissioned,
            business_service: self.state.opt_string(a.business_service.as_deref()),
            ha_group: self.state.opt_string(a.ha_group.as_deref()),
            last_seen: a.last_seen,
        };
        let (asset, slot) = self.state.slot_mut(&a.asset_id);
        if slot.row.is_some_and(|old| old.last_seen > row.last_seen) {
            return; // an older inventory record arriving late changes nothing
        }
        slot.row = Some(row);
        let mut triples = Vec::new();
        for f in &slot.findings {
            triples.push((f.vuln, f.pkg));
        }
        let triples: Vec<(Id, Id, Id)> = triples
            .into_iter()
            .map(|(v, p)| (asset, self.state.canonical_of(v), p))
            .filter(|t| t.1 != NONE)
            .fold(Vec::new(), |mut acc, t| {
                if !acc.contains(&t) {
                    acc.push(t);
                }
                acc
            });
        self.evaluate_all(triples, out);
    }
}

/// Pushes onto a short vector growing it one slot at a time (most lists here hold one to three
/// entries; the default growth reserves four), then geometrically once it is longer.
fn push_small<T>(v: &mut Vec<T>, x: T) {
    if v.len() < 8 {
        v.reserve_exact(1);
    }
    v.push(x);
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
            Event::ModelSnapshot(s) => {
                // A newer exploit model scores every exposure evaluated from now on; exposures
                // are re-scored as their inputs change, not all at once.
                self.likelihood.offer(&s).map_err(ProcessError::Contract)?;
            }
            other => {
                return Err(ProcessError::Unsupported { processor: "assess", kind: other.kind() })
            }
        }
        Ok(())
    }

    fn query(&self, query: &Query) -> Option<Vec<Event>> {
        let exposures = match query {
            Query::AssetExposures(asset) => self.open_exposures_of_asset(asset),
            Query::VulnerabilityExposures(id) => self.open_exposures_of_vulnerability(id),
        };
        Some(exposures.into_iter().map(Event::Exposure).collect())
    }

    fn model_gauges(&self) -> Vec<ModelGauge> {
        let version = self.likelihood.version_number() as f64;
        vec![ModelGauge { model: EXPLOIT_MODEL.into(), metric: "version", value: version }]
    }

    fn restore(&mut self, event: Event) -> Result<(), ProcessError> {
        self.restoring = true;
        let result = self.process(event, &mut Vec::new());
        self.restoring = false;
        result
    }

    fn changelog_key(&self, event: &Event) -> Option<String> {
        let s = &self.state;
        match event {
            Event::Finding(f) => {
                let slot = s.slots.get(s.assets.get(&f.asset_id)? as usize)?;
                let vuln = s.vulns.get(&f.vulnerability_id)?;
                let pkg = s.pkgs.get(&state::pkg_key(&f.package.ecosystem, &f.package.name))?;
                let scanner = s.strings.get(&f.scanner)?;
                let row = slot.findings.iter().find(|r| r.vuln == vuln && r.pkg == pkg)?;
                let report = row.reports.iter().find(|r| r.scanner == scanner)?;
                let current = report.last_seen == f.last_seen
                    && report.open == (f.status == FindingStatus::Open);
                current.then(|| {
                    [
                        &f.asset_id,
                        &f.vulnerability_id,
                        &f.package.ecosystem,
                        &f.package.name,
                        &f.scanner,
                    ]
                    .map(|x| x.as_str())
                    .join("\u{1f}")
                })
            }
            Event::AssetTelemetry(a) => {
                let slot = s.slots.get(s.assets.get(&a.asset_id)? as usize)?;
                (slot.row?.last_seen == a.last_seen).then(|| a.asset_id.clone())
            }
            _ => None,
        }
    }

    fn forget_emitted(&mut self, which: &dyn Fn(&str) -> bool) {
        for asset in 0..self.state.slots.len() as Id {
            if which(self.state.assets.name(asset)) {
                self.state.slots[asset as usize].marks.clear();
            }
        }
    }

    fn retain_partitioned(&mut self, keep: &dyn Fn(&str) -> bool) {
        for asset in 0..self.state.slots.len() as Id {
            if !keep(self.state.assets.name(asset)) {
                self.state.drop_asset(asset);
            }
        }
    }

    fn state_sizes(&self) -> Vec<(&'static str, usize)> {
        self.state.sizes()
    }
}

#[cfg(test)]
mod model_tests;
#[cfg(test)]
mod tests;
