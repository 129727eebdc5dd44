//! Features of a CVE for the exploit-likelihood model, from what is known about it at a date.
//!
//! Invariant: [`extract`] is a pure function of the facts, the as-of day and the optional EPSS
//! score, and it never looks at exploitation evidence: no KEV membership or ransomware use, no SSVC
//! `exploitation` (set to `active` after exploitation was seen, so it would leak the label). Those
//! are the label or are derived from it. Names are stable strings (`cvss_av=N`, `vendor=ivanti`),
//! lower-cased where they come from free text, so hashed weights mean the same across runs.

use crate::events::{Advisory, Cvss, Epss, Ssvc, TechnicalImpact};
use crate::learn::Feature;

/// Most CWE ids taken from one record (records rarely list more).
const MAX_CWES: usize = 4;

/// What is known about one CVE, borrowed from an [`Advisory`] or a table row.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct CveFacts<'a> {
    /// CVSS score and vector, when scored.
    pub cvss: Option<&'a Cvss>,
    /// CWE ids such as `CWE-79`.
    pub cwes: &'a [String],
    /// Vendor of the affected product.
    pub vendor: Option<&'a str>,
    /// Affected product.
    pub product: Option<&'a str>,
    /// A public exploit or proof of concept is referenced.
    pub has_exploit_ref: bool,
    /// SSVC decision points; only `automatable` and `technical_impact` are read.
    pub ssvc: Option<&'a Ssvc>,
    /// Day of publication (days since the epoch).
    pub published_day: Option<i32>,
    /// How many *other* CVEs of the same vendor (by [`vendor_key`]) are in KEV: a fact about
    /// the vendor, never about this CVE's own exploitation. `None` when unknown.
    pub kev_vendor_others: Option<usize>,
}

impl<'a> CveFacts<'a> {
    /// The facts of an advisory: the first `vendor`-ecosystem affected entry (`vendor:product`)
    /// names vendor and product; any exploit reference sets `has_exploit_ref`.
    pub fn from_advisory(advisory: &'a Advisory) -> CveFacts<'a> {
        let named = advisory.affected.iter().find(|a| a.ecosystem == "vendor");
        let (vendor, product) = match named.map(|a| a.name.split_once(':')) {
            Some(Some((vendor, product))) => (Some(vendor), Some(product)),
            Some(None) => (None, named.map(|a| a.name.as_str())),
            None => (None, None),
        };
        CveFacts {
            cvss: advisory.cvss.as_ref(),
            cwes: &advisory.cwes,
            vendor,
            product,
            has_exploit_ref: !advisory.exploit_refs.is_empty(),
            ssvc: advisory.ssvc.as_ref(),
            published_day: advisory.published.map(|ms| ms.div_euclid(86_400_000) as i32),
            kev_vendor_others: None,
        }
    }
}

/// The matching key of a vendor name: its first word, lower-cased (`Apache Software Foundation`
/// and `Apache` both give `apache`). `None` for an empty name or `n/a`.
pub fn vendor_key(vendor: &str) -> Option<String> {
    let first = vendor.split_whitespace().next()?.to_lowercase();
    (first != "n/a").then_some(first)
}

/// Band of a count of the vendor's other KEV entries, on a rough log scale.
pub fn kev_vendor_band(count: usize) -> &'static str {
    match count {
        0 => "0",
        1..=2 => "1-2",
        3..=9 => "3-9",
        10..=29 => "10-29",
        _ => "30+",
    }
}

/// Lower-cased, trimmed, inner whitespace collapsed to one space.
fn normalize(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ").to_lowercase()
}

/// CVSS base-score band, as in the CVSS qualitative scale (none/low/medium/high/critical).
fn cvss_band(score: f32) -> &'static str {
    match score {
        s if s >= 9.0 => "critical",
        s if s >= 7.0 => "high",
        s if s >= 4.0 => "medium",
        s if s > 0.0 => "low",
        _ => "none",
    }
}

/// Metric/value pairs of a CVSS vector, under v3 names: 3.x vectors as written; 4.0 vectors map
/// `VC`/`VI`/`VA` to `C`/`I`/`A` and keep `AV`, `AC`, `AT`, `PR`, `UI` (4.0 has no `S`).
/// Other metrics and malformed parts are skipped.
pub fn vector_parts(vector: &str) -> Vec<(&'static str, String)> {
    let mut parts = vector.split('/');
    let prefix = parts.next().unwrap_or_default();
    let v4 = prefix.eq_ignore_ascii_case("CVSS:4.0");
    if !prefix.to_ascii_uppercase().starts_with("CVSS:3") && !v4 {
        return Vec::new(); // CVSS 2.0 vectors have other metrics
    }
    parts
        .filter_map(|part| {
            let (metric, value) = part.split_once(':')?;
            let name = match (metric.trim().to_ascii_uppercase().as_str(), v4) {
                ("AV", _) => "av",
                ("AC", _) => "ac",
                ("PR", _) => "pr",
                ("UI", _) => "ui",
                ("S", false) => "s",
                ("AT", true) => "at",
                ("C", false) | ("VC", true) => "c",
                ("I", false) | ("VI", true) => "i",
                ("A", false) | ("VA", true) => "a",
                _ => return None,
            };
            let value = value.trim().to_ascii_uppercase();
            (!value.is_empty()).then_some((name, value))
        })
        .collect()
}

/// Age band of a CVE `days` after publication.
fn age_band(days: i32) -> &'static str {
    match days {
        d if d < 0 => "future",
        0..=7 => "0-7d",
        8..=30 => "8-30d",
        31..=90 => "31-90d",
        91..=180 => "91-180d",
        181..=365 => "181-365d",
        366..=730 => "1-2y",
        _ => "2y+",
    }
}

/// EPSS score band on a log scale.
fn epss_band(score: f32) -> &'static str {
    match score {
        s if s >= 0.5 => ">=0.5",
        s if s >= 0.1 => "0.1-0.5",
        s if s >= 0.01 => "0.01-0.1",
        s if s >= 0.001 => "0.001-0.01",
        _ => "<0.001",
    }
}

/// Features of a CVE as of `as_of_day`, with its EPSS score when one is available (EPSS features
/// are simply absent otherwise). Indicators have value 1; `cvss`, `epss`, `epss_percentile` and
/// `epss_log` are real-valued and scaled to about [0, 1].
pub fn extract(facts: &CveFacts<'_>, as_of_day: i32, epss: Option<&Epss>) -> Vec<Feature> {
    let mut out = Vec::with_capacity(24);
    match facts.cvss {
        Some(cvss) => {
            out.push(Feature::flag(format!("cvss_band={}", cvss_band(cvss.base_score))));
            out.push(Feature::flag(format!("cvss_int={}", cvss.base_score.floor() as i32)));
            out.push(Feature::real("cvss", cvss.base_score / 10.0));
            let major = cvss.version.split('.').next().unwrap_or_default();
            out.push(Feature::flag(format!("cvss_version={major}")));
            for (metric, value) in cvss.vector.as_deref().map(vector_parts).unwrap_or_default() {
                out.push(Feature::flag(format!("cvss_{metric}={value}")));
            }
        }
        None => out.push(Feature::flag("cvss=missing")),
    }
    if facts.cwes.is_empty() {
        out.push(Feature::flag("cwe=missing"));
    }
    for cwe in facts.cwes.iter().take(MAX_CWES) {
        out.push(Feature::flag(format!("cwe={}", cwe.trim().to_ascii_uppercase())));
    }
    match facts.vendor.map(normalize).filter(|v| !v.is_empty() && v != "n/a") {
        Some(vendor) => {
            if let Some(product) = facts.product.map(normalize).filter(|p| !p.is_empty()) {
                out.push(Feature::flag(format!("product={vendor}:{product}")));
            }
            out.push(Feature::flag(format!("vendor={vendor}")));
        }
        None => out.push(Feature::flag("vendor=missing")),
    }
    if facts.has_exploit_ref {
        out.push(Feature::flag("exploit_ref=yes"));
    }
    if let Some(n) = facts.kev_vendor_others {
        out.push(Feature::flag(format!("kev_vendor={}", kev_vendor_band(n))));
    }
    let automatable = facts.ssvc.and_then(|s| s.automatable);
    let impact = facts.ssvc.and_then(|s| s.technical_impact);
    if automatable.is_none() && impact.is_none() {
        out.push(Feature::flag("ssvc=missing"));
    }
    if let Some(a) = automatable {
        out.push(Feature::flag(if a { "ssvc_automatable=yes" } else { "ssvc_automatable=no" }));
    }
    if let Some(t) = impact {
        out.push(Feature::flag(match t {
            TechnicalImpact::Total => "ssvc_impact=total",
            TechnicalImpact::Partial => "ssvc_impact=partial",
        }));
    }
    let age = facts.published_day.map_or("unknown", |p| age_band(as_of_day - p));
    out.push(Feature::flag(format!("age={age}")));
    if let Some(e) = epss {
        out.push(Feature::flag(format!("epss_band={}", epss_band(e.score))));
        out.push(Feature::real("epss", e.score));
        out.push(Feature::real("epss_percentile", e.percentile));
        // log10 of the score mapped from [1e-5, 1] to [0, 1].
        let log = (f64::from(e.score).max(1e-5).log10() + 5.0) / 5.0;
        out.push(Feature::real("epss_log", log as f32));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::events::{AffectedPackage, Exploitation, Provenance};

    fn names(features: &[Feature]) -> Vec<&str> {
        features.iter().map(|f| f.name.as_str()).collect()
    }

    fn advisory() -> Advisory {
        Advisory {
            id: "CVE-2024-21887".into(),
            aliases: vec![],
            published: Some(19_733 * 86_400_000 + 5),
            modified: 0,
            withdrawn: None,
            summary: String::new(),
            cvss: Some(Cvss {
                version: "3.1".into(),
                base_score: 9.1,
                vector: Some("CVSS:3.1/AV:N/AC:L/PR:H/UI:N/S:U/C:H/I:H/A:H".into()),
            }),
            cwes: vec!["CWE-77".into()],
            affected: vec![AffectedPackage {
                ecosystem: "vendor".into(),
                name: "ivanti:connect  secure".into(),
                ranges: vec![],
            }],
            exploit_refs: vec!["https://example.invalid/poc".into()],
            ssvc: Some(Ssvc {
                exploitation: Some(Exploitation::Active),
                automatable: Some(true),
                technical_impact: Some(TechnicalImpact::Total),
            }),
            provenance: Provenance { feed: "cve".into(), feed_version: None, fetched_at: 0 },
        }
    }

    #[test]
    fn features_of_an_advisory() {
        let a = advisory();
        let features = extract(&CveFacts::from_advisory(&a), 19_733 + 10, None);
        let n = names(&features);
        for expected in [
            "cvss_band=critical",
            "cvss_int=9",
            "cvss_version=3",
            "cvss_av=N",
            "cvss_pr=H",
            "cvss_s=U",
            "cvss_a=H",
            "cwe=CWE-77",
            "vendor=ivanti",
            "product=ivanti:connect secure",
            "exploit_ref=yes",
            "ssvc_automatable=yes",
            "ssvc_impact=total",
            "age=8-30d",
        ] {
            assert!(n.contains(&expected), "{expected} missing from {n:?}");
        }
        assert!(!n.iter().any(|f| f.contains("exploitation") || f.contains("kev")), "leakage");
        assert!(!n.iter().any(|f| f.starts_with("epss")), "no EPSS given");
        let cvss = features.iter().find(|f| f.name == "cvss").unwrap();
        assert!((cvss.value - 0.91).abs() < 1e-6);
    }

    #[test]
    fn missing_facts_and_epss() {
        let epss = Epss {
            score: 0.2,
            percentile: 0.95,
            model_version: "v2025.03.14".into(),
            score_date: 0,
        };
        let features = extract(&CveFacts::default(), 100, Some(&epss));
        let n = names(&features);
        for expected in
            ["cvss=missing", "cwe=missing", "vendor=missing", "ssvc=missing", "age=unknown"]
        {
            assert!(n.contains(&expected), "{expected} missing from {n:?}");
        }
        assert!(n.contains(&"epss_band=0.1-0.5"));
        let log = features.iter().find(|f| f.name == "epss_log").unwrap().value;
        assert!((log - (0.2f32.log10() + 5.0) / 5.0).abs() < 1e-6);
    }

    #[test]
    fn cvss_vectors_of_each_version() {
        let v4 = vector_parts("CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:L/VA:N/SC:N/SI:N/SA:N");
        assert_eq!(
            v4,
            [
                ("av", "N"),
                ("ac", "L"),
                ("at", "N"),
                ("pr", "N"),
                ("ui", "N"),
                ("c", "H"),
                ("i", "L"),
                ("a", "N")
            ]
            .map(|(m, v)| (m, v.to_string()))
        );
        assert_eq!(vector_parts("CVSS:3.0/AV:L/S:C").len(), 2);
        assert!(vector_parts("AV:L/AC:M/Au:N/C:C/I:N/A:C").is_empty(), "CVSS 2.0 is not parsed");
        assert!(vector_parts("CVSS:3.1/AV:/garbage").is_empty());
    }

    #[test]
    fn vendor_keys_and_kev_bands() {
        assert_eq!(vendor_key("Apache Software Foundation").as_deref(), Some("apache"));
        assert_eq!(vendor_key(" n/a "), None);
        assert_eq!([0, 2, 3, 29, 30].map(kev_vendor_band), ["0", "1-2", "3-9", "10-29", "30+"]);
        let facts = CveFacts { kev_vendor_others: Some(4), ..CveFacts::default() };
        assert!(names(&extract(&facts, 0, None)).contains(&"kev_vendor=3-9"));
    }

    #[test]
    fn age_bands() {
        assert_eq!(age_band(-1), "future");
        assert_eq!(age_band(0), "0-7d");
        assert_eq!(age_band(365), "181-365d");
        assert_eq!(age_band(731), "2y+");
    }
}
