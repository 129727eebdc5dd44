//! State of the assess processor, kept compact: every id is interned to a dense `u32`, the asset
//! table is a vector indexed by asset id, each asset's findings and emitted marks live inline in
//! its slot, and the only hash maps are keyed by integers with a fast hasher.
//!
//! Invariants:
//! - `canonical[name]` is the canonical id of the vulnerability a name belongs to: the CVE id
//!   among the names of its advisories when there is one, else the advisory's own id;
//! - every (asset, reported vulnerability) pair present in a slot's findings is listed in
//!   `by_vuln[reported vulnerability]`, and `drop_asset` removes both sides together;
//! - advisories and threat intel are global (every instance holds all of them); assets, findings
//!   and marks are partitioned by asset and can be dropped per asset (`drop_asset`).

use super::intern::{Id, Interner};
use crate::events::{
    Advisory, Criticality, Environment, Epss, ExploitSighting, KevEntry, ThreatSignal,
};
use rustc_hash::FxHashMap;

/// "No id".
pub const NONE: Id = Id::MAX;

/// The compact asset row.
#[derive(Debug, Clone, Copy)]
pub struct AssetRow {
    pub environment: Environment,
    pub criticality: Criticality,
    pub internet_exposed: bool,
    pub decommissioned: bool,
    pub business_service: Id,
    pub ha_group: Id,
    pub last_seen: i64,
}

/// One scanner's newest report of a finding.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Report {
    pub scanner: Id,
    pub open: bool,
    pub first_seen: i64,
    pub last_seen: i64,
    pub installed: Id,
    pub fixed: Id,
}

/// A finding on an asset: a vulnerability as reported, in a package, with each scanner's report.
#[derive(Debug, Clone)]
pub struct FindingRow {
    pub vuln: Id,
    pub pkg: Id,
    pub reports: Vec<Report>,
}

/// What was last emitted for one exposure (canonical vulnerability, package) of an asset.
#[derive(Debug, Clone, Copy)]
pub struct Mark {
    pub vuln: Id,
    pub pkg: Id,
    pub hash: u64,
    pub updated_at: i64,
    pub open: bool,
}

/// Everything partitioned under one asset.
#[derive(Debug, Clone, Default)]
pub struct AssetSlot {
    pub row: Option<AssetRow>,
    pub findings: Vec<FindingRow>,
    pub marks: Vec<Mark>,
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
    pub assets: Interner,
    pub vulns: Interner,
    pub pkgs: Interner,
    pub strings: Interner,
    pub slots: Vec<AssetSlot>,
    /// Vulnerability name id -> canonical vulnerability id (NONE when no advisory names it).
    pub canonical: Vec<Id>,
    /// Canonical id -> the advisories describing it (one per advisory id, from any feed).
    pub advisories: FxHashMap<Id, Vec<Advisory>>,
    /// Canonical id -> every name that maps to it.
    pub names: FxHashMap<Id, Vec<Id>>,
    /// Vulnerability name id -> merged threat intel.
    pub threats: FxHashMap<Id, ThreatIntel>,
    /// Reported vulnerability id -> assets with a finding under that id.
    pub by_vuln: FxHashMap<Id, Vec<Id>>,
}

/// Separator between ecosystem and package name in the package interner.
const PKG_SEP: char = '\u{1f}';

/// The interned form of a package: ecosystem, separator, name.
pub fn pkg_key(ecosystem: &str, name: &str) -> String {
    let mut key = String::with_capacity(ecosystem.len() + name.len() + 1);
    key.push_str(ecosystem);
    key.push(PKG_SEP);
    key.push_str(name);
    key
}

impl AssessState {
    /// A state presized for about `assets` assets.
    pub fn with_capacity(assets: usize) -> AssessState {
        AssessState {
            assets: Interner::with_capacity(assets, 12),
            slots: Vec::with_capacity(assets),
            ..AssessState::default()
        }
    }

    /// The slot of an asset, created when new.
    pub fn slot_mut(&mut self, asset: &str) -> (Id, &mut AssetSlot) {
        let id = self.assets.intern(asset);
        if self.slots.len() <= id as usize {
            self.slots.resize_with(id as usize + 1, AssetSlot::default);
        }
        (id, &mut self.slots[id as usize])
    }

    /// Interns a vulnerability name.
    pub fn vuln_id(&mut self, name: &str) -> Id {
        let id = self.vulns.intern(name);
        if self.canonical.len() <= id as usize {
            self.canonical.resize(id as usize + 1, NONE);
        }
        id
    }

    /// The canonical id of a vulnerability name id.
    pub fn canonical_of(&self, name: Id) -> Id {
        self.canonical.get(name as usize).copied().unwrap_or(NONE)
    }

    /// Interns a package.
    pub fn pkg_id(&mut self, ecosystem: &str, name: &str) -> Id {
        self.pkgs.intern(&pkg_key(ecosystem, name))
    }

    /// The (ecosystem, name) of a package id.
    pub fn pkg_name(&self, pkg: Id) -> (&str, &str) {
        self.pkgs.name(pkg).split_once(PKG_SEP).unwrap_or(("", ""))
    }

    /// Interns an optional string; `None` and "" are [`NONE`].
    pub fn opt_string(&mut self, s: Option<&str>) -> Id {
        match s {
            Some(s) if !s.is_empty() => self.strings.intern(s),
            _ => NONE,
        }
    }

    /// The text of an interned optional string.
    pub fn string(&self, id: Id) -> Option<&str> {
        (id != NONE).then(|| self.strings.name(id))
    }

    /// Stores an advisory; returns the canonical id and every name of the vulnerability.
    pub fn put_advisory(&mut self, a: Advisory) -> (Id, Vec<Id>) {
        let cve = std::iter::once(&a.id).chain(a.aliases.iter()).find(|n| n.starts_with("CVE-"));
        let canonical_name = cve.unwrap_or(&a.id).clone();
        let canonical = self.vuln_id(&canonical_name);
        let mut ids = vec![canonical];
        for n in std::iter::once(&a.id).chain(a.aliases.iter()) {
            let id = self.vuln_id(n);
            if !ids.contains(&id) {
                ids.push(id);
            }
        }
        for &id in &ids {
            if self.canonical[id as usize] == NONE {
                self.canonical[id as usize] = canonical;
            }
            let names = self.names.entry(canonical).or_default();
            if !names.contains(&id) {
                names.push(id);
            }
        }
        let records = self.advisories.entry(canonical).or_default();
        match records.iter_mut().find(|r| r.id == a.id) {
            Some(r) if r.modified <= a.modified => *r = a,
            Some(_) => {}
            None => records.push(a),
        }
        let names = self.names.get(&canonical).cloned().unwrap_or_default();
        (canonical, names)
    }

    /// Every name id of the vulnerability that `name` belongs to.
    pub fn names_of(&self, name: Id) -> Vec<Id> {
        match self.canonical_of(name) {
            NONE => vec![name],
            c => self.names.get(&c).cloned().unwrap_or_else(|| vec![name]),
        }
    }

    /// Threat intel for a canonical vulnerability, looked up under each of its names.
    pub fn intel_for(&self, canonical: Id) -> Option<&ThreatIntel> {
        self.names
            .get(&canonical)
            .into_iter()
            .flatten()
            .chain(std::iter::once(&canonical))
            .find_map(|n| self.threats.get(n))
    }

    /// Records that `asset` has a finding reported under `vuln`.
    pub fn index(&mut self, vuln: Id, asset: Id) {
        let assets = self.by_vuln.entry(vuln).or_default();
        if !assets.contains(&asset) {
            assets.push(asset);
        }
    }

    /// (asset, canonical, package) triples touched by the names `names`, in first-seen order.
    pub fn affected_by(&self, names: &[Id]) -> Vec<(Id, Id, Id)> {
        let mut out = Vec::new();
        for &name in names {
            for &asset in self.by_vuln.get(&name).into_iter().flatten() {
                let Some(slot) = self.slots.get(asset as usize) else { continue };
                for f in slot.findings.iter().filter(|f| f.vuln == name) {
                    let triple = (asset, self.canonical_of(f.vuln), f.pkg);
                    if triple.1 != NONE && !out.contains(&triple) {
                        out.push(triple);
                    }
                }
            }
        }
        out
    }

    /// Drops everything partitioned under an asset (its row, findings and marks).
    pub fn drop_asset(&mut self, asset: Id) {
        let Some(slot) = self.slots.get_mut(asset as usize) else { return };
        let slot = std::mem::take(slot);
        for f in &slot.findings {
            if let Some(list) = self.by_vuln.get_mut(&f.vuln) {
                list.retain(|a| *a != asset);
                if list.is_empty() {
                    self.by_vuln.remove(&f.vuln);
                }
            }
        }
    }

    /// Entries per store.
    pub fn sizes(&self) -> Vec<(&'static str, usize)> {
        let (mut findings, mut open) = (0, 0);
        for s in &self.slots {
            findings += s.findings.len();
            open += s.marks.iter().filter(|m| m.open).count();
        }
        vec![
            ("advisories", self.advisories.len()),
            ("threats", self.threats.len()),
            ("assets", self.slots.iter().filter(|s| s.row.is_some()).count()),
            ("findings", findings),
            ("open_exposures", open),
        ]
    }
}
