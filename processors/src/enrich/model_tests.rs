//! The assess stage scores with a published exploit-likelihood model and swaps it live.

use super::tests::{advisory, asset, finding};
use super::*;
use crate::events::*;
use crate::learn::{Feature, Ftrl, FtrlParams, EXPLOIT_MODEL};

/// A model that has learned `cvss_band=critical` means likely exploitation.
fn model(version: i64, weight_sign: f64) -> ModelSnapshot {
    let mut ftrl = Ftrl::new(FtrlParams { bits: 20, l1: 0.1, ..FtrlParams::default() });
    for i in 0..300 {
        let label = (i % 4 == 0) == (weight_sign > 0.0);
        ftrl.update(&[Feature::flag("cvss_band=critical")], label);
    }
    ftrl.snapshot(EXPLOIT_MODEL, version, 0)
}

fn exposure_after(p: &mut AssessProcessor, extra: Vec<Event>) -> Exposure {
    let mut out = Vec::new();
    for e in extra {
        p.process(e, &mut out).expect("valid");
    }
    let events = vec![
        Event::Advisory(advisory("CVE-2024-0001", &[])),
        Event::AssetTelemetry(asset("a1")),
        Event::Finding(finding("a1", "CVE-2024-0001", "trivy", FindingStatus::Open)),
    ];
    for e in events {
        p.process(e, &mut out).expect("valid");
    }
    match out.pop() {
        Some(Event::Exposure(x)) => x,
        other => panic!("expected an exposure, got {other:?}"),
    }
}

#[test]
fn exposures_carry_the_models_estimate_version_and_strongest_features() {
    let heuristic = exposure_after(&mut AssessProcessor::new(), vec![]);
    assert_eq!(heuristic.model_version, crate::score::MODEL_VERSION);

    let mut p = AssessProcessor::new();
    let e = exposure_after(&mut p, vec![Event::ModelSnapshot(model(2, -1.0))]);
    assert_eq!(e.model_version, "exploit_likelihood-v2");
    assert!(e.likelihood > 0.5, "the model's estimate replaces the heuristic: {}", e.likelihood);
    let factors: Vec<&str> = e.contributions.iter().map(|c| c.factor.as_str()).collect();
    assert!(factors.contains(&"exploit_model"), "{factors:?}");
    assert!(factors.contains(&"model:cvss_band=critical"), "{factors:?}");
}

#[test]
fn a_newer_model_is_swapped_in_and_an_older_one_ignored() {
    let mut p = AssessProcessor::new();
    let mut out = Vec::new();
    for s in [model(2, -1.0), model(3, 1.0), model(1, -1.0)] {
        p.process(Event::ModelSnapshot(s), &mut out).expect("valid");
    }
    let e = exposure_after(&mut p, vec![]);
    assert_eq!(e.model_version, "exploit_likelihood-v3");
    assert!(e.likelihood < 0.5, "version 3 learned the opposite: {}", e.likelihood);
}

#[test]
fn the_vendors_other_kev_entries_reach_the_model() {
    let mut ftrl = Ftrl::new(FtrlParams { bits: 20, l1: 0.1, ..FtrlParams::default() });
    for i in 0..300 {
        ftrl.update(&[Feature::flag("kev_vendor=1-2")], i % 4 != 0);
        ftrl.update(&[Feature::flag("kev_vendor=0")], i % 4 == 0);
    }
    let mut p = AssessProcessor::new()
        .with_exploit_model(&ftrl.snapshot(EXPLOIT_MODEL, 1, 0))
        .expect("model");
    let vendor_advisory = |id: &str| {
        let mut a = advisory(id, &[]);
        a.affected = vec![AffectedPackage {
            ecosystem: "vendor".into(),
            name: "acme:gateway".into(),
            ranges: vec![],
        }];
        Event::Advisory(a)
    };
    let mut out = Vec::new();
    for e in [
        vendor_advisory("CVE-2024-0001"),
        Event::AssetTelemetry(asset("a1")),
        Event::Finding(finding("a1", "CVE-2024-0001", "trivy", FindingStatus::Open)),
    ] {
        p.process(e, &mut out).expect("valid");
    }
    let before = match out.last() {
        Some(Event::Exposure(x)) => x.likelihood,
        other => panic!("{other:?}"),
    };
    // Another Acme CVE enters KEV; the exposure's next evaluation sees the vendor's history.
    let kev = ThreatSignal {
        cve_id: "CVE-2024-0002".into(),
        kev: Some(KevEntry {
            date_added: 19_700,
            due_date: None,
            ransomware_use: false,
            required_action: String::new(),
        }),
        epss: None,
        exploit: None,
        provenance: Provenance { feed: "kev".into(), feed_version: None, fetched_at: 1 },
    };
    p.process(vendor_advisory("CVE-2024-0002"), &mut out).expect("valid");
    p.process(Event::ThreatSignal(kev), &mut out).expect("valid");
    let mut later = finding("a1", "CVE-2024-0001", "trivy", FindingStatus::Open);
    later.last_seen += 86_400_000;
    out.clear();
    p.process(Event::Finding(later), &mut out).expect("valid");
    let after = match out.last() {
        Some(Event::Exposure(x)) => x.likelihood,
        other => panic!("{other:?}"),
    };
    assert!(before < 0.5 && after > 0.5, "{before} -> {after}");
}
