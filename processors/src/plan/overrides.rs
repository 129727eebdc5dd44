//! Operator overrides in force, and their effect on the exposures the planner holds.
//!
//! - `ACCEPT_RISK`: matching exposures are not planned until the override expires;
//! - `FALSE_POSITIVE`: matching exposures are not planned until the override is withdrawn (or
//!   expires, if it has an end);
//! - `FORCE_PATCH`: matching exposures are planned in the emergency lane, even if a policy
//!   exception or another override accepts them;
//! - `WITHDRAW` ends the override with the same id; `RESTORE_MODEL` is the learn stage's.
//!
//! Scope matches the exposure's canonical vulnerability id (as on exposures), its asset and its
//! package; a scope field left empty matches everything.
//!
//! Invariant: the effect on an exposure is a pure function of the overrides in force and the
//! exposure, stamped onto its [`ExposureRef`] whenever either changes, so the planner reads it
//! without looking overrides up and a restore rebuilds the same effect.

use super::campaign::{Campaigns, ExposureRef};
use crate::events::{OperatorOverride, OverrideAction};
use std::collections::BTreeMap;

/// The overrides by id.
#[derive(Debug, Default)]
pub struct Overrides {
    by_id: BTreeMap<String, OperatorOverride>,
}

/// What the overrides do to one exposure.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Effect {
    /// Not planned before this instant (ms); `i64::MAX` until withdrawn.
    pub held_until: Option<i64>,
    /// Planned in the emergency lane, never held.
    pub forced: bool,
}

impl Overrides {
    /// Records an override; true when the plan may change.
    pub fn record(&mut self, o: &OperatorOverride) -> bool {
        match o.action {
            OverrideAction::RestoreModel => false,
            OverrideAction::Withdraw => self.by_id.remove(&o.override_id).is_some(),
            _ => {
                self.by_id.insert(o.override_id.clone(), o.clone());
                true
            }
        }
    }

    /// The effect on the exposure `r` of `package` on `asset`.
    pub fn effect(&self, r: &ExposureRef, asset: &str, package: &str) -> Effect {
        let mut effect = Effect::default();
        for o in self.by_id.values().filter(|o| o.matches(&[&r.vulnerability_id], asset, package)) {
            match o.action {
                OverrideAction::ForcePatch => effect.forced = true,
                OverrideAction::AcceptRisk | OverrideAction::FalsePositive => {
                    let until = o.expires_at.unwrap_or(i64::MAX);
                    effect.held_until = Some(effect.held_until.map_or(until, |u| u.max(until)));
                }
                OverrideAction::RestoreModel | OverrideAction::Withdraw => {}
            }
        }
        if effect.forced {
            effect.held_until = None;
        }
        effect
    }

    /// Stamps the effect onto every exposure of `campaigns` (or only those of `only`).
    pub fn stamp(&self, campaigns: &mut Campaigns, only: Option<&[String]>) {
        campaigns.for_each_ref_mut(only, |package, asset, r| {
            r.effect = self.effect(r, asset, package);
        });
    }

    /// Number of overrides in force or waiting to expire.
    pub fn len(&self) -> usize {
        self.by_id.len()
    }

    /// True when there is none.
    pub fn is_empty(&self) -> bool {
        self.by_id.is_empty()
    }
}
