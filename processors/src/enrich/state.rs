//! State of the assess processor: the advisory and threat tables, the asset table, the findings
//! and the exposures last emitted, with the secondary indexes that find the findings an update
//! touches. Invariant: every finding key in `findings` is in both indexes, and a key is never
//! dropped (a fixed finding stays as a tombstone so its closed state survives a replay).

use crate::events::{
    Advisory, AssetTelemetry, Epss, ExploitSighting, Exposure, Finding, FindingStatus, KevEntry,
    ThreatSignal,
};
use std::collections::{BTreeMap, BTreeSet, HashMap};

/// Identity of an exposure: asset, vulnerability id as reported, package.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct FindingKey {
    pub asset_id: String,
    pub vulnerability_id: String,
    pub ecosystem: String,
    pub package: String,
}

impl FindingKey {
    /// The key of a finding.
    pub fn of(f: &Finding) -> FindingKey {
        FindingKey {
            asset_id: f.asset_id.clone(),
            vulnerability_id: f.vulnerability_id.clone(),
            ecosystem: f.package.ecosystem.clone(),
            package: f.package.name.clone(),
        }
    }
}

/// The reports of one finding key (or of a group of keys naming one vulnerability): the newest
/// report per scanner, open or fixed. A fixed report stays, so a replay can rebuild the closed
/// state, and an older report arriving late never overrides a newer one.
#[derive(Debug, Default, Clone)]
pub struct FindingEntry {
    /// Newest report by scanner.
    pub reports: BTreeMap<String, Finding>,
    /// The first key of the group, set by [`AssessState::group_of`].
    pub key: Option<FindingKey>,
}

impl FindingEntry {
    /// Records a report unless the scanner already sent a newer one; true when it was taken.
    pub fn report(&mut self, f: Finding) -> bool {
        let newer = self.reports.get(&f.scanner).is_none_or(|old| old.last_seen <= f.last_seen);
        if newer {
            self.reports.insert(f.scanner.clone(), f);
        }
        newer
    }

    fn open(&self) -> impl Iterator<Item = &Finding> {
        self.reports.values().filter(|f| f.status == FindingStatus::Open)
    }

    /// Scanners that report it open, sorted.
    pub fn open_sources(&self) -> Vec<String> {
        self.open().map(|f| f.scanner.clone()).collect()
    }

    /// The most recently seen open report.
    pub fn latest_open(&self) -> Option<&Finding> {
        self.open().max_by(|a, b| a.last_seen.cmp(&b.last_seen).then(b.scanner.cmp(&a.scanner)))
    }

    /// The most recently seen report of any status.
    pub fn newest(&self) -> Option<&Finding> {
        self.reports
            .values()
            .max_by(|a, b| a.last_seen.cmp(&b.last_seen).then(b.scanner.cmp(&a.scanner)))
    }

    /// Earliest first sighting across scanners.
    pub fn first_seen(&self) -> i64 {
        self.reports.values().map(|f| f.first_seen).min().unwrap_or(0)
    }

    /// Latest sighting across scanners.
    pub fn last_seen(&self) -> i64 {
        self.reports.values().map(|f| f.last_seen).max().unwrap_or(0)
    }
}

/// Merged threat intelligence of one CVE.
#[derive(Debug, Default, Clone)]
pub struct ThreatIntel {
    pub kev: Option<KevEntry>,
    pub epss: Option<Epss>,
    pub exploit: Option<ExploitSighting>,
    pub updated_at: i64,
}

impl ThreatIntel {
    /// Merges a signal: KEV entries and exploit sightings stick; the newest EPSS score wins.
    pub fn merge(&mut self, t: ThreatSignal) {
        if t.kev.is_some() {
            self.kev = t.kev;
        }
        if let Some(e) = t.epss {
            if self.epss.as_ref().is_none_or(|old| old.score_date <= e.score_date) {
                self.epss = Some(e);
            }
        }
        if let Some(x) = t.exploit {
            let stronger = match &self.exploit {
                None => true,
                Some(old) => x.kind == crate::events::ExploitKind::Seen && old.kind != x.kind,
            };
            if stronger {
                self.exploit = Some(x);
            }
        }
        self.updated_at = self.updated_at.max(t.provenance.fetched_at);
    }
}

/// All tables of the assess processor.
#[derive(Debug, Default)]
pub struct AssessState {
    pub advisories: HashMap<String, Advisory>,
    /// Alias or id -> canonical advisory id.
    pub names: HashMap<String, String>,
    pub threats: HashMap<String, ThreatIntel>,
    pub assets: HashMap<String, AssetTelemetry>,
    pub findings: HashMap<FindingKey, FindingEntry>,
    /// The last exposure emitted per exposure id, open or closed.
    pub emitted: HashMap<String, Exposure>,
    by_vulnerability: HashMap<String, BTreeSet<FindingKey>>,
    by_asset: HashMap<String, BTreeSet<FindingKey>>,
}

impl AssessState {
    /// Stores an advisory and indexes its names.
    pub fn put_advisory(&mut self, a: Advisory) {
        self.names.insert(a.id.clone(), a.id.clone());
        for alias in &a.aliases {
            self.names.entry(alias.clone()).or_insert_with(|| a.id.clone());
        }
        self.advisories.insert(a.id.clone(), a);
    }

    /// The advisory that `id` names (directly or as an alias).
    pub fn advisory_named(&self, id: &str) -> Option<&Advisory> {
        self.names.get(id).and_then(|canonical| self.advisories.get(canonical))
    }

    /// Every name of the vulnerability `id`: the advisory's id and aliases, or just `id`.
    pub fn names_of(&self, id: &str) -> Vec<String> {
        match self.advisory_named(id) {
            Some(a) => std::iter::once(a.id.clone()).chain(a.aliases.iter().cloned()).collect(),
            None => vec![id.to_string()],
        }
    }

    /// Threat intel for an advisory, looked up by each CVE name it has.
    pub fn intel_for(&self, a: &Advisory) -> Option<&ThreatIntel> {
        std::iter::once(&a.id).chain(a.aliases.iter()).find_map(|n| self.threats.get(n))
    }

    /// Adds a key to the secondary indexes.
    pub fn index_finding(&mut self, key: &FindingKey) {
        self.by_vulnerability.entry(key.vulnerability_id.clone()).or_default().insert(key.clone());
        self.by_asset.entry(key.asset_id.clone()).or_default().insert(key.clone());
    }

    /// Merges the reports of every finding key on `key`'s asset and package whose vulnerability
    /// id names `advisory`. For one scanner, the most recent report wins.
    pub fn group_of(&self, key: &FindingKey, advisory: &Advisory) -> FindingEntry {
        let names: Vec<String> =
            std::iter::once(advisory.id.clone()).chain(advisory.aliases.iter().cloned()).collect();
        let mut group = FindingEntry { reports: BTreeMap::new(), key: Some(key.clone()) };
        for k in self.findings_named(&names) {
            if k.asset_id != key.asset_id
                || k.ecosystem != key.ecosystem
                || k.package != key.package
            {
                continue;
            }
            let Some(entry) = self.findings.get(&k) else { continue };
            for f in entry.reports.values() {
                group.report(f.clone());
            }
        }
        group
    }

    /// Finding keys reported under any of `names`, sorted.
    pub fn findings_named(&self, names: &[String]) -> Vec<FindingKey> {
        let mut keys = BTreeSet::new();
        for n in names {
            if let Some(set) = self.by_vulnerability.get(n) {
                keys.extend(set.iter().cloned());
            }
        }
        keys.into_iter().collect()
    }

    /// Finding keys on an asset, sorted.
    pub fn findings_on_asset(&self, asset_id: &str) -> Vec<FindingKey> {
        self.by_asset.get(asset_id).map(|s| s.iter().cloned().collect()).unwrap_or_default()
    }

    /// Open exposures emitted for an asset, sorted by id. A scan of all open exposures: fine for
    /// queries, not for the hot path.
    pub fn emitted_for_asset(&self, asset_id: &str) -> Vec<&Exposure> {
        let mut v: Vec<&Exposure> = self
            .emitted
            .values()
            .filter(|e| e.asset_id == asset_id && e.status == crate::events::ExposureStatus::Open)
            .collect();
        v.sort_by(|a, b| a.exposure_id.cmp(&b.exposure_id));
        v
    }

    /// Entries per store.
    pub fn sizes(&self) -> Vec<(&'static str, usize)> {
        vec![
            ("advisories", self.advisories.len()),
            ("threats", self.threats.len()),
            ("assets", self.assets.len()),
            ("findings", self.findings.len()),
            ("exposures", self.emitted.len()),
        ]
    }
}
