//! Exposure: a finding joined with its advisory, threat intel and asset, then scored. Keyed by
//! `asset_id`. Invariant: `exposure_id` depends only on (asset, vulnerability, package), so every
//! re-emission of the same exposure carries the same id and a replay is idempotent.

use super::{Criticality, Environment};
use serde::{Deserialize, Serialize};

/// An enriched, scored exposure of one asset to one vulnerability through one package.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Exposure {
    /// Deterministic id: hash of asset, canonical vulnerability id, ecosystem and package name.
    pub exposure_id: String,
    /// Asset exposed.
    pub asset_id: String,
    /// Canonical vulnerability id (the advisory's id).
    pub vulnerability_id: String,
    /// Other ids of the vulnerability.
    #[serde(default)]
    pub aliases: Vec<String>,
    /// Package ecosystem.
    pub ecosystem: String,
    /// Package name.
    pub package: String,
    /// Installed version.
    pub installed_version: String,
    /// Version that fixes it, when known.
    #[serde(default)]
    pub fixed_version: Option<String>,
    /// Scanners that report it, sorted.
    pub sources: Vec<String>,
    /// Open, or closed with `close_reason`.
    pub status: ExposureStatus,
    /// Why it closed: `fixed`, `asset_decommissioned`, `advisory_withdrawn`, `not_affected`.
    #[serde(default)]
    pub close_reason: Option<String>,
    /// Risk, 0 to 1000.
    pub risk: f32,
    /// Probability of exploitation, 0 to 1.
    pub likelihood: f32,
    /// Impact from asset context, 0 to 1.
    pub impact: f32,
    /// Per-factor contributions to the risk: why this rank.
    pub contributions: Vec<Contribution>,
    /// CISA SSVC coordinator decision.
    pub ssvc_decision: SsvcDecision,
    /// Remediation due date (days since epoch).
    pub due_date: i32,
    /// Processing lane.
    pub lane: Lane,
    /// In CISA KEV.
    pub kev: bool,
    /// EPSS score, when known.
    #[serde(default)]
    pub epss: Option<f32>,
    /// CVSS base score, when known.
    #[serde(default)]
    pub cvss: Option<f32>,
    /// Asset environment.
    pub environment: Environment,
    /// Asset criticality.
    pub criticality: Criticality,
    /// Asset reachable from the internet.
    pub internet_exposed: bool,
    /// Asset business service.
    #[serde(default)]
    pub business_service: Option<String>,
    /// Asset HA group.
    #[serde(default)]
    pub ha_group: Option<String>,
    /// Version of the model that produced `likelihood`.
    pub model_version: String,
    /// Version of the policy that produced `ssvc_decision` and `due_date`.
    pub policy_version: String,
    /// Event time of the newest input that shaped this exposure.
    pub updated_at: i64,
    /// Policy exception (risk acceptance, false positive) that applies, if any.
    #[serde(default)]
    pub exception_id: Option<String>,
    /// The exception's end (days since epoch): the exposure is accepted (not planned) until
    /// then, and its SLA clock restarts on that day.
    #[serde(default)]
    pub accepted_until: Option<i32>,
}

/// One factor's contribution to the risk.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Contribution {
    /// Factor name, e.g. `kev`, `epss`, `cvss`, `internet_exposed`.
    pub factor: String,
    /// Points of risk it adds (may be negative).
    pub points: f32,
}

/// Exposure status.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum ExposureStatus {
    Open,
    Closed,
}

/// CISA SSVC coordinator decision.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum SsvcDecision {
    Track,
    TrackStar,
    Attend,
    Act,
}

/// Processing lane.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Lane {
    /// Known exploited or SSVC Act: compressed waits, still canary first.
    Emergency,
    /// Everything else.
    Standard,
}
