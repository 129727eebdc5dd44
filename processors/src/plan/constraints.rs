//! The constraints every command is checked against when it is issued, across all campaigns:
//! one command in flight per asset, a concurrency cap per business service, never all live
//! members of an HA group at once (nor in one wave), and a global blast radius (a share of the
//! fleet in flight).
//!
//! Invariant: [`Ledger::admits`] is true only if issuing one more `DEPLOY` to the asset keeps
//! every count within its cap; a command counts from the moment it is issued until its outcome
//! arrives or it times out, and a failed `DEPLOY` keeps counting until its `ROLLBACK` is issued
//! (the `ROLLBACK` then takes its place), so rollbacks never push a count over a cap.

use super::fleet::{AssetInfo, Fleet};
use super::log::{Log, Result_};
use super::policy::PlanPolicy;
use crate::events::{CommandAction, HealthStatus};
use std::collections::{BTreeMap, BTreeSet, HashMap};

/// Why an asset cannot get a command now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Blocked {
    /// The asset has a command in flight (or a failed one awaiting rollback).
    AssetBusy,
    /// The asset reports itself down.
    AssetDown,
    /// Its business service is at its cap.
    Service(String),
    /// One more would take the HA group's last healthy member.
    HaGroup(String),
    /// The fleet-wide cap is reached.
    BlastRadius,
}

/// Counts of what is in flight at one instant.
#[derive(Debug, Default)]
pub struct Ledger {
    busy: BTreeMap<String, BTreeSet<String>>,
    services: HashMap<String, usize>,
    ha: HashMap<String, usize>,
    total: usize,
    blast_cap: usize,
}

/// A command's load at `clock`: in flight, or a failed deploy awaiting its rollback.
pub fn is_busy(log: &Log, id: &str, clock: i64, policy: &PlanPolicy) -> bool {
    let Some(c) = log.commands.get(id) else { return false };
    let grace = policy.lane(c.emergency).grace_ms();
    match log.result(c, clock, grace, policy.shadow_runtime_ms()) {
        None => true,
        Some(Result_::Failed { rollback: true, .. }) => {
            c.action == CommandAction::Deploy && !log.rolled_back.contains(id)
        }
        Some(_) => false,
    }
}

impl Ledger {
    /// What is in flight at `clock`, from the decision log.
    pub fn build(log: &Log, fleet: &Fleet, clock: i64, policy: &PlanPolicy) -> Ledger {
        let mut ledger =
            Ledger { blast_cap: policy.blast_radius.limit(fleet.live()), ..Ledger::default() };
        for id in &log.unresolved {
            if !is_busy(log, id, clock, policy) {
                continue;
            }
            if let Some(asset) = log.commands.get(id).and_then(|c| c.asset.as_ref()) {
                // A decommissioned asset is gone: nothing runs on it any more.
                if fleet.get(asset).is_some_and(|a| a.decommissioned) {
                    continue;
                }
                ledger.add(id, asset, fleet.get(asset));
            }
        }
        ledger
    }

    fn add(&mut self, id: &str, asset: &str, info: Option<&AssetInfo>) {
        self.busy.entry(asset.to_string()).or_default().insert(id.to_string());
        self.total += 1;
        if let Some(info) = info {
            if let Some(s) = &info.business_service {
                *self.services.entry(s.clone()).or_default() += 1;
            }
            if let Some(g) = &info.ha_group {
                *self.ha.entry(g.clone()).or_default() += 1;
            }
        }
    }

    /// Whether one more `DEPLOY` to `asset` fits. `in_wave` counts the members of each HA group
    /// already in the wave being built.
    pub fn admits(
        &self,
        asset: &str,
        info: &AssetInfo,
        fleet: &Fleet,
        policy: &PlanPolicy,
        in_wave: &HashMap<String, usize>,
    ) -> Result<(), Blocked> {
        if self.busy.get(asset).is_some_and(|ids| !ids.is_empty()) {
            return Err(Blocked::AssetBusy);
        }
        if info.health == HealthStatus::Down {
            return Err(Blocked::AssetDown);
        }
        if let Some(g) = &info.ha_group {
            let size = fleet.ha_size(g);
            let now = self.ha.get(g).copied().unwrap_or(0);
            let wave = in_wave.get(g).copied().unwrap_or(0);
            if size >= 2 && (now + 1 > size - 1 || wave + 1 > size - 1) {
                return Err(Blocked::HaGroup(g.clone()));
            }
        }
        if let Some(s) = &info.business_service {
            let cap = policy
                .service_overrides
                .get(s)
                .copied()
                .unwrap_or_else(|| policy.service_cap.limit(fleet.service_size(s)));
            if self.services.get(s).copied().unwrap_or(0) + 1 > cap {
                return Err(Blocked::Service(s.clone()));
            }
        }
        if self.total + 1 > self.blast_cap {
            return Err(Blocked::BlastRadius);
        }
        Ok(())
    }

    /// Counts a newly issued `DEPLOY`.
    pub fn take(&mut self, id: &str, asset: &str, info: Option<&AssetInfo>) {
        self.add(id, asset, info);
    }

    /// True when the only load on `asset` is `deploy` (so its `ROLLBACK` may be issued).
    pub fn only(&self, asset: &str, deploy: &str) -> bool {
        self.busy.get(asset).is_none_or(|ids| ids.iter().all(|id| id == deploy))
    }

    /// Moves the load of a failed `deploy` to its `rollback`: the counts stay the same.
    pub fn swap(&mut self, asset: &str, deploy: &str, rollback: &str) {
        let ids = self.busy.entry(asset.to_string()).or_default();
        if ids.remove(deploy) {
            ids.insert(rollback.to_string());
        }
    }

    /// Commands in flight and the fleet-wide cap, for reasons.
    pub fn fleet_load(&self) -> (usize, usize) {
        (self.total, self.blast_cap)
    }

    /// Commands in flight in a service.
    pub fn service_load(&self, service: &str) -> usize {
        self.services.get(service).copied().unwrap_or(0)
    }
}
