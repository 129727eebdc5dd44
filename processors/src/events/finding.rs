//! Finding: one scanner's report that a vulnerability is present on an asset. Keyed by `asset_id`.

use serde::{Deserialize, Serialize};

/// A scanner finding.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Finding {
    /// Asset the finding is on.
    pub asset_id: String,
    /// Scanner that reported it, e.g. `trivy`, `grype`, `inspector`.
    pub scanner: String,
    /// Scan run id.
    pub scan_id: String,
    /// Vulnerability id as the scanner reports it (CVE, GHSA, OSV id).
    pub vulnerability_id: String,
    /// The vulnerable package or product.
    pub package: Package,
    /// Open, or fixed when a later scan no longer sees it.
    pub status: FindingStatus,
    /// First time a scan saw it.
    pub first_seen: i64,
    /// Last time a scan saw it.
    pub last_seen: i64,
}

/// A package or product as installed on an asset.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Package {
    /// Ecosystem: `Go`, `PyPI`, `npm`, `Debian`, `RPM`, or `vendor`.
    pub ecosystem: String,
    /// Package name.
    pub name: String,
    /// Installed version.
    pub installed_version: String,
    /// Version that fixes the vulnerability, as the scanner reports it.
    #[serde(default)]
    pub fixed_version: Option<String>,
}

/// Finding status.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum FindingStatus {
    Open,
    Fixed,
}
