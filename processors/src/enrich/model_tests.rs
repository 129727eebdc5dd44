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
