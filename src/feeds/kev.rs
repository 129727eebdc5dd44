//! CISA Known Exploited Vulnerabilities catalog (JSON feed) to [`ThreatSignal`]s.
//!
//! Invariant: one signal per catalog entry, in catalog order, each carrying `kev: Some(..)` and
//! nothing else, with provenance `cisa-kev` at the catalog's `catalogVersion`. Fields the catalog
//! adds over time (and the ones patchline does not use, such as `notes`) are accepted and ignored;
//! a missing or invalid `cveID` or `dateAdded` is an error naming the entry.

use super::{days_from_ymd, FeedError};
use patchline_processors::events::{KevEntry, Provenance, ThreatSignal};
use serde::Deserialize;

/// Feed name in [`Provenance::feed`].
pub const FEED: &str = "cisa-kev";

/// The catalog as CISA publishes it; unknown fields are accepted (foreign format).
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Catalog {
    catalog_version: String,
    vulnerabilities: Vec<CatalogEntry>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct CatalogEntry {
    #[serde(rename = "cveID")]
    cve_id: String,
    date_added: String,
    #[serde(default)]
    due_date: Option<String>,
    #[serde(default)]
    known_ransomware_campaign_use: Option<String>,
    #[serde(default)]
    required_action: Option<String>,
}

/// Parses a KEV catalog JSON document fetched at `fetched_at_ms`.
pub fn parse_catalog(json: &str, fetched_at_ms: i64) -> Result<Vec<ThreatSignal>, FeedError> {
    let catalog: Catalog =
        serde_json::from_str(json).map_err(|source| FeedError::Json { feed: FEED, source })?;
    let version = catalog.catalog_version.trim().to_string();
    catalog
        .vulnerabilities
        .into_iter()
        .enumerate()
        .map(|(index, entry)| to_signal(index, entry, &version, fetched_at_ms))
        .collect()
}

fn to_signal(
    index: usize,
    entry: CatalogEntry,
    version: &str,
    fetched_at: i64,
) -> Result<ThreatSignal, FeedError> {
    let bad = |message: String| {
        FeedError::malformed(FEED, 0, format!("vulnerabilities[{index}]: {message}"))
    };
    let cve_id = entry.cve_id.trim().to_string();
    if cve_id.is_empty() {
        return Err(bad("empty cveID".into()));
    }
    let date_added = days_from_ymd(&entry.date_added)
        .ok_or_else(|| bad(format!("{cve_id}: invalid dateAdded {:?}", entry.date_added)))?;
    let due_date = match entry.due_date.as_deref().map(str::trim) {
        None | Some("") => None,
        Some(text) => Some(
            days_from_ymd(text)
                .ok_or_else(|| bad(format!("{cve_id}: invalid dueDate {text:?}")))?,
        ),
    };
    let ransomware_use =
        entry.known_ransomware_campaign_use.as_deref().map(str::trim) == Some("Known");
    Ok(ThreatSignal {
        cve_id,
        kev: Some(KevEntry {
            date_added,
            due_date,
            ransomware_use,
            required_action: entry.required_action.unwrap_or_default().trim().to_string(),
        }),
        epss: None,
        exploit: None,
        provenance: Provenance {
            feed: FEED.to_string(),
            feed_version: Some(version.to_string()),
            fetched_at,
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const SAMPLE: &str = r#"{
      "title": "CISA Catalog of Known Exploited Vulnerabilities",
      "catalogVersion": "2025.08.25",
      "dateReleased": "2025-08-25T17:01:04.9853Z",
      "count": 2,
      "vulnerabilities": [
        {"cveID": "CVE-2024-37079", "vendorProject": "Broadcom", "product": "VMware vCenter Server",
         "vulnerabilityName": "x", "dateAdded": "2026-01-23", "shortDescription": "y",
         "requiredAction": "Apply mitigations per vendor instructions.", "dueDate": "2026-02-13",
         "knownRansomwareCampaignUse": "Known", "notes": "https://example.invalid", "cwes": ["CWE-787"]},
        {"cveID": "CVE-2021-44228", "dateAdded": "2021-12-10", "dueDate": "",
         "knownRansomwareCampaignUse": "Unknown", "someFutureField": {"nested": true}}
      ]
    }"#;

    #[test]
    fn parses_entries_with_extra_fields() {
        let signals = parse_catalog(SAMPLE, 42).unwrap();
        assert_eq!(signals.len(), 2);
        let first = &signals[0];
        assert_eq!(first.cve_id, "CVE-2024-37079");
        let kev = first.kev.as_ref().unwrap();
        assert_eq!(kev.date_added, days_from_ymd("2026-01-23").unwrap());
        assert_eq!(kev.due_date, days_from_ymd("2026-02-13"));
        assert!(kev.ransomware_use);
        assert_eq!(kev.required_action, "Apply mitigations per vendor instructions.");
        assert!(first.epss.is_none() && first.exploit.is_none());
        assert_eq!(first.provenance.feed, "cisa-kev");
        assert_eq!(first.provenance.feed_version.as_deref(), Some("2025.08.25"));
        assert_eq!(first.provenance.fetched_at, 42);

        let second = signals[1].kev.as_ref().unwrap();
        assert_eq!(second.due_date, None);
        assert!(!second.ransomware_use);
        assert_eq!(second.required_action, "");
    }

    #[test]
    fn invalid_documents_are_errors() {
        assert!(matches!(parse_catalog("{", 0), Err(FeedError::Json { .. })));
        assert!(matches!(parse_catalog(r#"{"title":"x"}"#, 0), Err(FeedError::Json { .. })));
        let bad_date = r#"{"catalogVersion":"1","vulnerabilities":[{"cveID":"CVE-1","dateAdded":"2024-02-30"}]}"#;
        let err = parse_catalog(bad_date, 0).unwrap_err().to_string();
        assert!(err.contains("vulnerabilities[0]: CVE-1: invalid dateAdded"), "{err}");
        let empty_id =
            r#"{"catalogVersion":"1","vulnerabilities":[{"cveID":" ","dateAdded":"2024-02-01"}]}"#;
        assert!(parse_catalog(empty_id, 0).is_err());
    }

    #[test]
    fn parses_the_bundled_demo_catalog() {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/data/demo/kev.json");
        let text = super::super::open_text(path).unwrap();
        let signals = parse_catalog(&text, 0).unwrap();
        let entry_lines = text.lines().filter(|l| l.contains("\"cveID\"")).count();
        assert_eq!(signals.len(), entry_lines);
        let count: serde_json::Value = serde_json::from_str(&text).unwrap();
        assert_eq!(count["count"].as_u64(), Some(signals.len() as u64));
        assert!(signals
            .iter()
            .all(|s| s.provenance.feed_version.as_deref() == Some("derived-asof-2026.01.30")));
        assert!(signals.iter().any(|s| s.kev.as_ref().is_some_and(|k| k.ransomware_use)));
    }
}
