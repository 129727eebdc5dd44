//! Advisory: what is known about one vulnerability (CVE record, OSV entry, vendor bulletin).
//! Keyed by `id`. Invariant: `summary` is bounded by [`Advisory::MAX_SUMMARY_CHARS`].

use serde::{Deserialize, Serialize};

/// A vulnerability advisory from a feed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Advisory {
    /// Primary id: a CVE id when the feed knows one, else the feed's id (GHSA-, GO-, PYSEC-).
    pub id: String,
    /// Other ids for the same vulnerability (CVE, GHSA, OSV ids).
    #[serde(default)]
    pub aliases: Vec<String>,
    /// Publication instant, when the feed gives one.
    #[serde(default)]
    pub published: Option<i64>,
    /// Last modification instant; newer wins when two versions of an advisory meet.
    pub modified: i64,
    /// When set, the advisory was withdrawn at this instant: exposures on it close.
    #[serde(default)]
    pub withdrawn: Option<i64>,
    /// Short description, at most [`Advisory::MAX_SUMMARY_CHARS`] characters.
    #[serde(default)]
    pub summary: String,
    /// Severity as scored by the feed.
    #[serde(default)]
    pub cvss: Option<Cvss>,
    /// CWE ids, e.g. `CWE-79`.
    #[serde(default)]
    pub cwes: Vec<String>,
    /// Affected products or packages with version ranges.
    #[serde(default)]
    pub affected: Vec<AffectedPackage>,
    /// URLs of public exploits or proofs of concept.
    #[serde(default)]
    pub exploit_refs: Vec<String>,
    /// CISA SSVC decision points, when an enricher published them.
    #[serde(default)]
    pub ssvc: Option<Ssvc>,
    /// Where this record came from.
    pub provenance: Provenance,
}

impl Advisory {
    /// Upper bound on `summary`; longer texts are cut on a character boundary.
    pub const MAX_SUMMARY_CHARS: usize = 1024;

    /// Cuts `summary` to [`Advisory::MAX_SUMMARY_CHARS`] characters.
    pub fn bound_summary(text: &str) -> String {
        text.chars().take(Self::MAX_SUMMARY_CHARS).collect()
    }

    /// True when `id` names this advisory (its id or one of its aliases).
    pub fn is_named(&self, id: &str) -> bool {
        self.id == id || self.aliases.iter().any(|a| a == id)
    }
}

/// A CVSS score.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Cvss {
    /// CVSS version, e.g. `3.1`, `4.0`.
    pub version: String,
    /// Base score, 0.0 to 10.0.
    pub base_score: f32,
    /// Vector string, when known.
    #[serde(default)]
    pub vector: Option<String>,
}

/// One affected package or product.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AffectedPackage {
    /// Ecosystem: `Go`, `PyPI`, `npm`, `Debian`, `RPM`, or `vendor` for a CPE-style product.
    pub ecosystem: String,
    /// Package name, or `vendor:product` for products.
    pub name: String,
    /// Affected version ranges; empty means every version is affected.
    #[serde(default)]
    pub ranges: Vec<VersionRange>,
}

/// One affected range: `introduced <= v < fixed` (or `<= last_affected`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VersionRange {
    /// First affected version; none means from the beginning.
    #[serde(default)]
    pub introduced: Option<String>,
    /// First fixed version; none means no fix is known.
    #[serde(default)]
    pub fixed: Option<String>,
    /// Last affected version, when the feed gives that instead of `fixed`.
    #[serde(default)]
    pub last_affected: Option<String>,
}

/// CISA SSVC decision points.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Ssvc {
    /// State of exploitation.
    #[serde(default)]
    pub exploitation: Option<Exploitation>,
    /// Whether steps 1-4 of the kill chain can be automated.
    #[serde(default)]
    pub automatable: Option<bool>,
    /// Technical impact on the affected component.
    #[serde(default)]
    pub technical_impact: Option<TechnicalImpact>,
}

/// SSVC exploitation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Exploitation {
    None,
    Poc,
    Active,
}

/// SSVC technical impact.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum TechnicalImpact {
    Partial,
    Total,
}

/// Origin of a record: which feed, which version of it, and when it was fetched.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Provenance {
    /// Feed name, e.g. `cve`, `osv`, `cisa-kev`, `first-epss`.
    pub feed: String,
    /// Feed version or catalog version, when the feed has one.
    #[serde(default)]
    pub feed_version: Option<String>,
    /// When the record was fetched from the feed.
    pub fetched_at: i64,
}
