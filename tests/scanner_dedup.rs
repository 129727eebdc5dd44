//! De-duplication across scanners on a real case: Trivy and Grype scans of the same image
//! (Tejas-project/multi-scanner-project, `my-app:latest`), parsed by `src/feeds/{trivy,grype}.rs`
//! and fed through the assess processor.
//!
//! Invariant checked: a vulnerability that both scanners report on one package of one asset is
//! exactly one exposure, whose `sources` name both scanners, and the exposures are exactly the
//! union of what the two scanners report, keyed by (canonical vulnerability, ecosystem, package).
//!
//! The scan files declare no license: they are read in place from `../shared/data` (present in CI
//! too) and never copied into the repository.
//!
//! The root crate is a binary, so the parsers are included here by path. Their only dependency on
//! the rest of `src/feeds` is `FeedError`, stood in for below. Their own unit tests come along and
//! run here a second time, which is harmless.

#[path = "../src/feeds/grype.rs"]
mod grype;
#[path = "../src/feeds/trivy.rs"]
mod trivy;

use patchline_processors::events::{
    Advisory, AssetTelemetry, Event, Exposure, ExposureStatus, Finding, Provenance,
};
use patchline_processors::{fixtures, versions, AssessProcessor, Processor};
use std::collections::{BTreeMap, BTreeSet};
use std::io::Read;

/// Stand-in for `feeds::FeedError` with the variants the two parsers build.
#[derive(Debug, thiserror::Error)]
pub enum FeedError {
    /// The report is not valid JSON or does not have the expected shape.
    #[error("{feed}: invalid JSON: {source}")]
    Json {
        feed: &'static str,
        #[source]
        source: serde_json::Error,
    },
    /// A record of the report is malformed.
    #[error("{feed}, line {line}: {message}")]
    Malformed { feed: &'static str, line: usize, message: String },
}

impl FeedError {
    fn malformed(feed: &'static str, line: usize, message: impl Into<String>) -> Self {
        FeedError::Malformed { feed, line, message: message.into() }
    }
}

/// A gzipped scan report of the shared data folder, as text.
fn read_gz(file: &str) -> String {
    let path = format!("{}/../shared/data/scanner/real_world/{file}", env!("CARGO_MANIFEST_DIR"));
    let gz = std::fs::read(&path).unwrap_or_else(|e| panic!("cannot read {path}: {e}"));
    let mut text = String::new();
    flate2::read::GzDecoder::new(gz.as_slice())
        .read_to_string(&mut text)
        .unwrap_or_else(|e| panic!("cannot gunzip {path}: {e}"));
    text
}

fn asset(asset_id: &str) -> AssetTelemetry {
    AssetTelemetry {
        hostname: String::new(),
        internet_exposed: false,
        business_service: None,
        ..fixtures::asset(asset_id, 1)
    }
}

fn advisory(id: String, aliases: BTreeSet<String>) -> Advisory {
    let provenance = Provenance { feed: "test".into(), feed_version: None, fetched_at: 1 };
    Advisory {
        id,
        aliases: aliases.into_iter().collect(),
        published: None,
        modified: 1,
        withdrawn: None,
        summary: String::new(),
        cvss: None,
        cwes: Vec::new(),
        affected: Vec::new(),
        exploit_refs: Vec::new(),
        ssvc: None,
        provenance,
    }
}

/// Trivy and Grype scans of one image (Tejas-project/multi-scanner-project, no license: read
/// in place, never copied) fed through the assess processor: a vulnerability both scanners
/// report on one package is one exposure with both sources.
///
/// Expected counts are derived from the findings, not from the processor. The assess processor
/// may close (or skip) a finding whose installed version is at or above the fix its scanner
/// names; the test first checks that no finding of this pair is in that case (both scanners
/// compare versions themselves), so every exposure is expected open and counted.
#[test]
fn trivy_and_grype_findings_of_one_image_share_exposures() {
    let read =
        |tool: &str| read_gz(&format!("multi-scanner-project_my-app_{tool}-results.json.gz"));
    let (trivy_text, grype_text) = (read("trivy"), read("grype"));
    let from_trivy = trivy::parse_report(&trivy_text, "my-app", "trivy-1", 1_000).unwrap();
    let from_grype = grype::parse_report(&grype_text, "my-app", "grype-1", 1_000).unwrap();
    // Trivy may list one fix per release line ("2.3.2, 2.2.5"): a finding counts as reaching its
    // fix when any listed version says so, which over-counts, never under-counts.
    let reached_fix = |f: &&Finding| {
        f.package.fixed_version.as_deref().is_some_and(|fixed| {
            fixed.split(',').any(|v| {
                let (ecosystem, installed) = (&f.package.ecosystem, &f.package.installed_version);
                versions::is_fixed_by(ecosystem, installed, v.trim()) == Some(true)
            })
        })
    };
    let at_fix: Vec<&Finding> = from_trivy.iter().chain(&from_grype).filter(reached_fix).collect();
    assert!(at_fix.is_empty(), "findings at or above their fix: {at_fix:?}");

    // Canonical id: the CVE a GHSA id aliases when Grype names one, else the id itself. The
    // advisory of a CVE lists the GHSA ids that alias it, as an OSV or GHSA feed would.
    let related = grype::parse_aliases(&grype_text).unwrap();
    let canonical = |id: &str| -> String {
        let cve = related.get(id).and_then(|r| r.iter().find(|a| a.starts_with("CVE-")));
        if id.starts_with("CVE-") {
            id.to_string()
        } else {
            cve.cloned().unwrap_or(id.into())
        }
    };
    let mut advisories: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for f in from_trivy.iter().chain(&from_grype) {
        let id = canonical(&f.vulnerability_id);
        let aliases = advisories.entry(id.clone()).or_default();
        if id != f.vulnerability_id {
            aliases.insert(f.vulnerability_id.clone());
        }
    }

    let mut assess = AssessProcessor::new();
    let mut out = Vec::new();
    assess.process(Event::AssetTelemetry(asset("my-app")), &mut out).unwrap();
    for (id, aliases) in advisories {
        assess.process(Event::Advisory(advisory(id, aliases)), &mut out).unwrap();
    }
    for f in from_trivy.iter().chain(&from_grype) {
        assess.process(Event::Finding(f.clone()), &mut out).unwrap();
    }
    let mut exposures: BTreeMap<String, Exposure> = BTreeMap::new();
    for event in out {
        if let Event::Exposure(e) = event {
            exposures.insert(e.exposure_id.clone(), e); // the last state of an id wins
        }
    }

    type Key = (String, String, String);
    let key = |f: &Finding| -> Key {
        (canonical(&f.vulnerability_id), f.package.ecosystem.clone(), f.package.name.clone())
    };
    let t: BTreeSet<Key> = from_trivy.iter().map(key).collect();
    let g: BTreeSet<Key> = from_grype.iter().map(key).collect();
    let overlap: Vec<&Key> = t.intersection(&g).collect();
    let mut by_key: BTreeMap<Key, Vec<&Exposure>> = BTreeMap::new();
    for e in exposures.values() {
        let k = (e.vulnerability_id.clone(), e.ecosystem.clone(), e.package.clone());
        by_key.entry(k).or_default().push(e);
    }
    eprintln!(
        "trivy findings {}, grype findings {}, overlap {}, exposures {}",
        from_trivy.len(),
        from_grype.len(),
        overlap.len(),
        exposures.len()
    );
    for k in &overlap {
        let found = by_key.get(*k).map_or(&[][..], Vec::as_slice);
        assert_eq!(found.len(), 1, "{k:?}");
        assert_eq!(found[0].sources, ["grype", "trivy"], "{k:?}");
    }
    assert_eq!(exposures.len(), t.union(&g).count());
    assert!(exposures.values().all(|e| e.status == ExposureStatus::Open));
    // Pinned on this pair: Trivy's findings are a subset of Grype's once `Flask` (Trivy) and
    // `flask` (Grype) are one PyPI name and Grype's GHSA ids resolve to Trivy's CVEs.
    assert_eq!((from_trivy.len(), from_grype.len(), overlap.len()), (54, 160, 54));
    assert_eq!(exposures.len(), 160);
}
