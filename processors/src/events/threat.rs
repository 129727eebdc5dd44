//! Threat signal: exploitation intelligence about one CVE (CISA KEV, FIRST EPSS, exploit sightings).
//! Keyed by `cve_id`. Invariant: a signal carries at least one of `kev`, `epss`, `exploit`; the
//! enrich stage dead-letters an empty one.

use super::Provenance;
use serde::{Deserialize, Serialize};

/// Exploitation intelligence about one CVE.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ThreatSignal {
    /// The CVE id this signal is about.
    pub cve_id: String,
    /// CISA Known Exploited Vulnerabilities entry, when the CVE is in KEV.
    #[serde(default)]
    pub kev: Option<KevEntry>,
    /// EPSS score, when this signal carries one.
    #[serde(default)]
    pub epss: Option<Epss>,
    /// An exploit seen in the wild or published.
    #[serde(default)]
    pub exploit: Option<ExploitSighting>,
    /// Where this record came from.
    pub provenance: Provenance,
}

impl ThreatSignal {
    /// True when the signal carries no intelligence at all.
    pub fn is_empty(&self) -> bool {
        self.kev.is_none() && self.epss.is_none() && self.exploit.is_none()
    }
}

/// A CISA KEV catalog entry.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KevEntry {
    /// Day CISA added the CVE to the catalog (days since epoch).
    pub date_added: i32,
    /// Remediation due date for federal agencies (days since epoch).
    #[serde(default)]
    pub due_date: Option<i32>,
    /// Known use in ransomware campaigns.
    #[serde(default)]
    pub ransomware_use: bool,
    /// CISA's required action text.
    #[serde(default)]
    pub required_action: String,
}

/// A FIRST EPSS score.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Epss {
    /// Probability of exploitation activity in the next 30 days, 0 to 1.
    pub score: f32,
    /// Percentile of the score among all scored CVEs, 0 to 1.
    pub percentile: f32,
    /// EPSS model version, e.g. `v2025.03.14`; scores of different versions are not comparable.
    pub model_version: String,
    /// Day the score was computed (days since epoch).
    pub score_date: i32,
}

/// An exploit sighting.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExploitSighting {
    /// Whether exploitation was seen or code was published.
    pub kind: ExploitKind,
    /// When it was observed.
    pub observed_at: i64,
    /// Reference URL, when known.
    #[serde(default)]
    pub reference: Option<String>,
}

/// Kind of exploit sighting.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum ExploitKind {
    /// Exploitation observed in the wild.
    Seen,
    /// Exploit code published.
    Published,
}
