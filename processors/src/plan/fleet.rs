//! The fleet as the planner sees it: the newest telemetry of every asset (a global table: every
//! instance reads all of it), with the sizes of HA groups and business services.
//!
//! Invariant: `live` equals the number of assets that are not decommissioned, and each entry of
//! `ha_sizes` / `service_sizes` equals the number of live assets in that group / service; an
//! older report of an asset (by `last_seen`) never replaces a newer one.

use crate::events::{AssetTelemetry, Criticality, Environment, HealthStatus, MaintenanceWindow};
use std::collections::HashMap;

/// What the planner keeps of an asset.
#[derive(Debug, Clone, PartialEq)]
pub struct AssetInfo {
    pub environment: Environment,
    pub criticality: Criticality,
    pub os_family: String,
    pub os_version: String,
    pub business_service: Option<String>,
    pub ha_group: Option<String>,
    pub window: Option<MaintenanceWindow>,
    pub health: HealthStatus,
    pub decommissioned: bool,
    pub last_seen: i64,
}

impl AssetInfo {
    fn of(a: &AssetTelemetry) -> AssetInfo {
        AssetInfo {
            environment: a.environment,
            criticality: a.criticality,
            os_family: a.os_family.clone(),
            os_version: a.os_version.clone(),
            business_service: a.business_service.clone().filter(|s| !s.is_empty()),
            ha_group: a.ha_group.clone().filter(|g| !g.is_empty()),
            window: a.maintenance_window.clone(),
            health: a.health.status,
            decommissioned: a.decommissioned,
            last_seen: a.last_seen,
        }
    }
}

/// The asset table.
#[derive(Debug, Default)]
pub struct Fleet {
    assets: HashMap<String, AssetInfo>,
    ha_sizes: HashMap<String, usize>,
    service_sizes: HashMap<String, usize>,
    live: usize,
}

impl Fleet {
    /// Applies a telemetry report; returns false when it is older than what is known.
    pub fn upsert(&mut self, a: &AssetTelemetry) -> bool {
        if self.assets.get(&a.asset_id).is_some_and(|old| old.last_seen > a.last_seen) {
            return false;
        }
        let info = AssetInfo::of(a);
        if let Some(old) = self.assets.insert(a.asset_id.clone(), info.clone()) {
            self.count(&old, false);
        }
        self.count(&info, true);
        true
    }

    fn count(&mut self, info: &AssetInfo, add: bool) {
        if info.decommissioned {
            return;
        }
        let step = |n: &mut usize| {
            if add {
                *n += 1;
            } else {
                *n = n.saturating_sub(1);
            }
        };
        step(&mut self.live);
        if let Some(g) = &info.ha_group {
            step(self.ha_sizes.entry(g.clone()).or_default());
        }
        if let Some(s) = &info.business_service {
            step(self.service_sizes.entry(s.clone()).or_default());
        }
    }

    /// An asset's newest telemetry.
    pub fn get(&self, asset: &str) -> Option<&AssetInfo> {
        self.assets.get(asset)
    }

    /// Assets that are not decommissioned: the population of the blast-radius cap.
    pub fn live(&self) -> usize {
        self.live
    }

    /// Live members of an HA group.
    pub fn ha_size(&self, group: &str) -> usize {
        self.ha_sizes.get(group).copied().unwrap_or(0)
    }

    /// Live assets of a business service.
    pub fn service_size(&self, service: &str) -> usize {
        self.service_sizes.get(service).copied().unwrap_or(0)
    }

    /// Number of assets known.
    pub fn len(&self) -> usize {
        self.assets.len()
    }

    /// True when no asset is known.
    pub fn is_empty(&self) -> bool {
        self.assets.is_empty()
    }
}
