//! The exploit-likelihood model the assess stage scores with, and a per-vulnerability cache of
//! its estimates.
//!
//! Invariant: an estimate is a pure function of the model version, the vulnerability's primary
//! advisory (its `modified` time stands for its content), its EPSS score, the day (ages move
//! daily) and its vendor's other KEV entries; the cache key covers all five, so a hit is always
//! what a fresh estimate would be. (Exposures pick up a vendor's new KEV entry when they are
//! next evaluated, not at once.) A
//! newer model replaces the older one and empties the cache; an older or equal version (a
//! replay of the models topic) is ignored.

use super::intern::Id;
use crate::events::{Advisory, Epss, ModelSnapshot};
use crate::learn::{LinearModel, EXPLOIT_MODEL};
use crate::score::features::{extract, CveFacts};
use crate::score::{Estimate, VendorKev, MODEL_VERSION};
use rustc_hash::FxHashMap;
use std::cell::RefCell;
use std::sync::Arc;

/// Cached estimates beyond this many are dropped all at once (a day's worth of churn).
const MAX_CACHED: usize = 1 << 20;
/// Terms kept per estimate (the scorer shows the strongest three).
const TERMS: usize = 3;

#[derive(Debug, Default)]
pub struct Likelihood {
    model: Option<Arc<LinearModel>>,
    label: Option<String>,
    cache: RefCell<FxHashMap<Id, (u64, Arc<Estimate>)>>,
    /// KEV entries per vendor, for the `kev_vendor` feature.
    vendor_kev: VendorKev<Id>,
}

impl Likelihood {
    /// Loads `snapshot` if it is the exploit model and newer than the one in use; true if so.
    pub fn offer(&mut self, snapshot: &ModelSnapshot) -> Result<bool, String> {
        if snapshot.model != EXPLOIT_MODEL
            || self.model.as_ref().is_some_and(|m| m.version() >= snapshot.version)
        {
            return Ok(false);
        }
        let model = LinearModel::from_snapshot(snapshot).map_err(|e| e.to_string())?;
        self.label = Some(model.label());
        self.model = Some(Arc::new(model));
        self.cache.borrow_mut().clear();
        Ok(true)
    }

    /// The vendor an advisory of vulnerability `id` names.
    pub fn note_vendor(&mut self, id: Id, advisory: &Advisory) {
        self.vendor_kev.set_vendor(&id, CveFacts::from_advisory(advisory).vendor);
    }

    /// Vulnerability `id` is in KEV.
    pub fn note_kev(&mut self, id: Id) {
        self.vendor_kev.set_kev(&id);
    }

    /// Version number of the model in use (0: none, the heuristic).
    pub fn version_number(&self) -> i64 {
        self.model.as_ref().map_or(0, |m| m.version())
    }

    /// The version recorded on exposures: the model's label, or the heuristic's.
    pub fn version(&self) -> &str {
        self.label.as_deref().unwrap_or(MODEL_VERSION)
    }

    /// The estimate for vulnerability `id` described by `advisory`, or `None` without a model.
    pub fn estimate(
        &self,
        id: Id,
        advisory: Option<&Advisory>,
        epss: Option<&Epss>,
        day: i32,
    ) -> Option<Arc<Estimate>> {
        let model = self.model.as_ref()?;
        let others = self.vendor_kev.others(&id);
        let key = {
            let modified = advisory.map_or(0, |a| a.modified) as u64;
            let score = epss.map_or(u32::MAX, |e| e.score.to_bits());
            let vendor = others.map_or(u64::MAX, |n| n as u64);
            modified.rotate_left(17)
                ^ (u64::from(score) << 20)
                ^ (day as u32 as u64)
                ^ vendor.rotate_left(43)
        };
        if let Some((k, e)) = self.cache.borrow().get(&id) {
            if *k == key {
                return Some(e.clone());
            }
        }
        let mut facts = advisory.map_or_else(CveFacts::default, CveFacts::from_advisory);
        facts.kev_vendor_others = others;
        let (p, terms) = model.explain(&extract(&facts, day, epss), TERMS);
        let estimate = Arc::new(Estimate { p: p as f32, terms });
        let mut cache = self.cache.borrow_mut();
        if cache.len() >= MAX_CACHED {
            cache.clear();
        }
        cache.insert(id, (key, estimate.clone()));
        Some(estimate)
    }
}
