//! Asset telemetry: inventory and health of one asset. Keyed by `asset_id`; newest `last_seen` wins.

use serde::{Deserialize, Serialize};

/// Inventory and health of one asset.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AssetTelemetry {
    /// Stable asset id.
    pub asset_id: String,
    /// Host name.
    #[serde(default)]
    pub hostname: String,
    /// OS family, e.g. `debian`, `rhel`, `windows`.
    #[serde(default)]
    pub os_family: String,
    /// OS version.
    #[serde(default)]
    pub os_version: String,
    /// Deployment environment.
    pub environment: Environment,
    /// Business criticality.
    pub criticality: Criticality,
    /// Reachable from the internet.
    #[serde(default)]
    pub internet_exposed: bool,
    /// Business service the asset serves.
    #[serde(default)]
    pub business_service: Option<String>,
    /// Owning team.
    #[serde(default)]
    pub owner: Option<String>,
    /// High-availability group; members are never patched in the same wave.
    #[serde(default)]
    pub ha_group: Option<String>,
    /// Weekly maintenance window.
    #[serde(default)]
    pub maintenance_window: Option<MaintenanceWindow>,
    /// Health signals.
    pub health: Health,
    /// True once the asset is decommissioned: its exposures close.
    #[serde(default)]
    pub decommissioned: bool,
    /// Last time the asset reported.
    pub last_seen: i64,
}

/// Deployment environment.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Environment {
    Development,
    Test,
    Staging,
    Production,
}

/// Business criticality.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Criticality {
    Low,
    Medium,
    High,
    Critical,
}

/// A weekly maintenance window in the asset's local time zone.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MaintenanceWindow {
    /// IANA time zone, e.g. `Europe/Berlin`.
    pub time_zone: String,
    /// Days of the week, 1 = Monday to 7 = Sunday.
    pub days: Vec<i32>,
    /// Start, minutes after local midnight.
    pub start_minute: i32,
    /// Length in minutes.
    pub duration_minutes: i32,
}

/// Health signals of an asset.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Health {
    /// Overall status.
    pub status: HealthStatus,
    /// CPU load, 0 to 1, when reported.
    #[serde(default)]
    pub cpu_load: Option<f32>,
    /// Application error rate, 0 to 1, when reported.
    #[serde(default)]
    pub error_rate: Option<f32>,
}

/// Health status.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum HealthStatus {
    Healthy,
    Degraded,
    Down,
    Unknown,
}
