use super::*;
use crate::events::*;
use proptest::prelude::*;

pub(crate) fn advisory(id: &str, aliases: &[&str]) -> Advisory {
    Advisory {
        id: id.into(),
        aliases: aliases.iter().map(|s| s.to_string()).collect(),
        published: Some(1_700_000_000_000),
        modified: 1_700_000_000_000,
        withdrawn: None,
        summary: "test".into(),
        cvss: Some(Cvss { version: "3.1".into(), base_score: 9.8, vector: None }),
        cwes: vec![],
        affected: vec![],
        exploit_refs: vec![],
        ssvc: None,
        provenance: Provenance { feed: "test".into(), feed_version: None, fetched_at: 1 },
    }
}

pub(crate) fn asset(id: &str) -> AssetTelemetry {
    crate::fixtures::asset(id, 1_700_000_000_000)
}

pub(crate) fn finding(asset: &str, vuln: &str, scanner: &str, status: FindingStatus) -> Finding {
    Finding {
        asset_id: asset.into(),
        scanner: scanner.into(),
        scan_id: "s1".into(),
        vulnerability_id: vuln.into(),
        package: Package {
            ecosystem: "Debian".into(),
            name: "openssl".into(),
            installed_version: "3.0.1".into(),
            fixed_version: Some("3.0.2".into()),
        },
        status,
        first_seen: 1_700_000_000_000,
        last_seen: 1_700_000_000_000,
    }
}

fn later(mut f: Finding) -> Finding {
    f.last_seen += 60_000;
    f
}

fn kev(cve: &str) -> ThreatSignal {
    ThreatSignal {
        cve_id: cve.into(),
        kev: Some(KevEntry {
            date_added: 19_700,
            due_date: Some(19_714),
            ransomware_use: false,
            required_action: "patch".into(),
        }),
        epss: None,
        exploit: None,
        provenance: Provenance {
            feed: "cisa-kev".into(),
            feed_version: None,
            fetched_at: 1_700_000_100_000,
        },
    }
}

fn run(p: &mut AssessProcessor, events: Vec<Event>) -> Vec<Exposure> {
    let mut out = Vec::new();
    for e in events {
        p.process(e, &mut out).expect("valid");
    }
    out.into_iter()
        .map(|e| match e {
            Event::Exposure(x) => x,
            other => panic!("unexpected {other:?}"),
        })
        .collect()
}

#[test]
fn finding_before_advisory_and_asset_is_held_then_emitted() {
    let mut p = AssessProcessor::new();
    let out = run(
        &mut p,
        vec![
            Event::Finding(finding("a1", "GHSA-1", "trivy", FindingStatus::Open)),
            Event::Advisory(advisory("CVE-2024-1", &["GHSA-1"])),
        ],
    );
    assert!(out.is_empty(), "no asset yet");
    let out = run(&mut p, vec![Event::AssetTelemetry(asset("a1"))]);
    assert_eq!(out.len(), 1);
    assert_eq!(out[0].vulnerability_id, "CVE-2024-1");
    assert_eq!(out[0].status, ExposureStatus::Open);
}

#[test]
fn kev_rescores_and_fix_closes() {
    let mut p = AssessProcessor::new();
    let first = run(
        &mut p,
        vec![
            Event::Advisory(advisory("CVE-2024-1", &[])),
            Event::AssetTelemetry(asset("a1")),
            Event::Finding(finding("a1", "CVE-2024-1", "trivy", FindingStatus::Open)),
            Event::Finding(finding("a1", "CVE-2024-1", "grype", FindingStatus::Open)),
        ],
    );
    assert_eq!(first.len(), 2, "second scanner adds a source");
    assert_eq!(first[1].sources, vec!["grype".to_string(), "trivy".to_string()]);
    let rescored = run(&mut p, vec![Event::ThreatSignal(kev("CVE-2024-1"))]);
    assert_eq!(rescored.len(), 1);
    assert!(rescored[0].kev && rescored[0].risk > first[1].risk);
    assert_eq!(rescored[0].exposure_id, first[0].exposure_id);
    let closed = run(
        &mut p,
        vec![
            Event::Finding(finding("a1", "CVE-2024-1", "trivy", FindingStatus::Fixed)),
            Event::Finding(finding("a1", "CVE-2024-1", "grype", FindingStatus::Fixed)),
        ],
    );
    assert_eq!(closed.len(), 2, "first fix drops a source, second closes");
    assert_eq!(closed[0].sources, vec!["grype".to_string()]);
    assert_eq!(closed.last().map(|e| e.status), Some(ExposureStatus::Closed));
    assert_eq!(closed.last().and_then(|e| e.close_reason.clone()).as_deref(), Some("fixed"));
    assert!(p.open_exposures_of_asset("a1").is_empty());
}

#[test]
fn empty_ids_are_contract_violations() {
    let mut p = AssessProcessor::new();
    let err = p
        .process(
            Event::Finding(finding("", "CVE-1", "trivy", FindingStatus::Open)),
            &mut Vec::new(),
        )
        .expect_err("empty asset id");
    assert!(matches!(err, ProcessError::Contract(_)));
}

/// The open exposures after all events, keyed by id, as the final table state.
fn final_state(events: &[Event]) -> Vec<Exposure> {
    let mut p = AssessProcessor::new();
    let out = run(&mut p, events.to_vec());
    let mut last: std::collections::BTreeMap<String, Exposure> = Default::default();
    for mut e in out {
        e.updated_at = 0;
        last.insert(e.exposure_id.clone(), e);
    }
    last.into_values().collect()
}

proptest! {
    #[test]
    fn any_arrival_order_gives_the_same_exposures(seed in any::<u64>()) {
        let mut events = vec![
            Event::Advisory(advisory("CVE-2024-1", &["GHSA-1"])),
            Event::Advisory(advisory("CVE-2024-2", &[])),
            Event::AssetTelemetry(asset("a1")),
            Event::AssetTelemetry(asset("a2")),
            Event::ThreatSignal(kev("CVE-2024-2")),
            Event::Finding(finding("a1", "GHSA-1", "trivy", FindingStatus::Open)),
            Event::Finding(finding("a1", "CVE-2024-1", "grype", FindingStatus::Open)),
            Event::Finding(finding("a2", "CVE-2024-2", "trivy", FindingStatus::Open)),
            Event::Finding(finding("a1", "CVE-2024-2", "trivy", FindingStatus::Open)),
            Event::Finding(later(finding("a2", "CVE-2024-2", "trivy", FindingStatus::Fixed))),
        ];
        let reference = final_state(&events);
        // Fisher-Yates with a small LCG so the permutation depends only on the seed.
        let mut s = seed;
        for i in (1..events.len()).rev() {
            s = s.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            let j = (s >> 33) as usize % (i + 1);
            events.swap(i, j);
        }
        prop_assert_eq!(final_state(&events), reference);
    }
}

#[test]
fn a_fix_seen_before_the_join_completes_still_emits_the_closed_state() {
    // A replay may see the fix before the advisory: consumers that saw the exposure open before
    // the replay still need its CLOSED state.
    let mut p = AssessProcessor::new();
    let mut fixed = finding("a1", "CVE-2024-1", "trivy", FindingStatus::Fixed);
    fixed.last_seen += 1;
    let out = run(
        &mut p,
        vec![
            Event::Finding(finding("a1", "CVE-2024-1", "trivy", FindingStatus::Open)),
            Event::Finding(fixed),
            Event::AssetTelemetry(asset("a1")),
            Event::Advisory(advisory("CVE-2024-1", &[])),
        ],
    );
    assert_eq!(out.len(), 1, "{out:?}");
    assert_eq!(out[0].status, ExposureStatus::Closed);
    assert_eq!(out[0].close_reason.as_deref(), Some("fixed"));
}

#[test]
fn versions_decide_exposure_and_an_advisory_update_re_emits() {
    let mut p = AssessProcessor::new();
    let mut f = finding("a1", "GHSA-xxxx", "trivy", FindingStatus::Open);
    f.package = Package {
        ecosystem: "PyPI".into(),
        name: "jinja2".into(),
        installed_version: "3.1.3".into(),
        fixed_version: None,
    };
    let mut adv = advisory("GHSA-xxxx", &["CVE-2024-22195"]);
    adv.affected = vec![AffectedPackage {
        ecosystem: "PyPI".into(),
        name: "jinja2".into(),
        ranges: vec![VersionRange {
            introduced: Some("0".into()),
            fixed: Some("3.1.3".into()),
            last_affected: None,
        }],
    }];
    let out = run(
        &mut p,
        vec![
            Event::AssetTelemetry(asset("a1")),
            Event::Finding(f.clone()),
            Event::Advisory(adv.clone()),
        ],
    );
    assert_eq!(out.len(), 1);
    assert_eq!(out[0].vulnerability_id, "CVE-2024-22195", "the CVE alias is the canonical id");
    assert_eq!(out[0].status, ExposureStatus::Closed, "3.1.3 is the fixed version: not affected");
    assert_eq!(out[0].close_reason.as_deref(), Some("not_affected"));
    // A corrected advisory moves the fix to 3.1.4: the same exposure re-opens.
    adv.modified += 1;
    adv.affected[0].ranges[0].fixed = Some("3.1.4".into());
    let out = run(&mut p, vec![Event::Advisory(adv)]);
    assert_eq!(out.len(), 1);
    assert_eq!(out[0].status, ExposureStatus::Open);
    assert_eq!(out[0].fixed_version.as_deref(), Some("3.1.4"));
    // The scanner reports an upgrade past the fix: closed again.
    f.package.installed_version = "3.1.4".into();
    f.package.fixed_version = Some("3.1.4".into());
    f.last_seen += 1;
    let out = run(&mut p, vec![Event::Finding(f)]);
    assert_eq!(out.last().map(|e| e.status), Some(ExposureStatus::Closed));
}

/// A random world: `n` events drawn from a small vocabulary so that joins, aliases, fixes,
/// decommissions, withdrawals and threat updates collide often.
fn random_events(seed: u64, n: usize) -> Vec<Event> {
    let mut s = seed | 1;
    let mut next = move |m: u64| {
        s ^= s << 13;
        s ^= s >> 7;
        s ^= s << 17;
        s % m
    };
    let mut events = Vec::new();
    for i in 0..n {
        let t = 1_700_000_000_000 + (i as i64) * 1_000;
        let asset_id = format!("a{}", next(4));
        let cve = format!("CVE-2024-{}", next(3));
        match next(7) {
            0 => {
                let mut a = advisory(&cve, &[&format!("GHSA-{}", &cve[9..])]);
                a.modified = t;
                if next(5) == 0 {
                    a.withdrawn = Some(t);
                }
                events.push(Event::Advisory(a));
            }
            1 => {
                let mut a = asset(&asset_id);
                a.last_seen = t;
                a.decommissioned = next(6) == 0;
                a.internet_exposed = next(2) == 0;
                events.push(Event::AssetTelemetry(a));
            }
            2 => {
                let mut k = kev(&cve);
                k.provenance.fetched_at = t;
                events.push(Event::ThreatSignal(k));
            }
            _ => {
                let id = if next(2) == 0 { cve.clone() } else { format!("GHSA-{}", &cve[9..]) };
                let scanner = if next(2) == 0 { "trivy" } else { "grype" };
                let status = if next(4) == 0 { FindingStatus::Fixed } else { FindingStatus::Open };
                let mut f = finding(&asset_id, &id, scanner, status);
                f.last_seen = t;
                events.push(Event::Finding(f));
            }
        }
    }
    events
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]
    #[test]
    fn random_worlds_end_in_the_same_state_whatever_the_order(seed in any::<u64>(), shuffle in any::<u64>(), n in 1usize..60) {
        let events = random_events(seed, n);
        let reference = final_state(&events);
        let mut shuffled = events.clone();
        let mut s = shuffle;
        for i in (1..shuffled.len()).rev() {
            s = s.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            let j = (s >> 33) as usize % (i + 1);
            shuffled.swap(i, j);
        }
        prop_assert_eq!(final_state(&shuffled), reference);
    }
}

#[test]
fn a_policy_exception_accepts_the_exposure_until_it_expires() {
    use crate::score::{Policy, DEFAULT_POLICY};
    use crate::time::days_from_ymd;
    let text = format!(
        "{DEFAULT_POLICY}\n[[exceptions]]\nid = \"EXC-42\"\nkind = \"RISK_ACCEPTED\"\nvulnerability = \"CVE-2024-1\"\nasset = \"a1\"\napprover = \"ciso@example.com\"\nreason = \"isolated VLAN\"\ngranted = \"2023-01-01\"\nexpires = \"2023-12-01\"\n"
    );
    let mut p = AssessProcessor::new().with_policy(Policy::from_toml(&text).expect("policy"));
    // 1_700_000_000_000 ms is 2023-11-14: the exception is active.
    let out = run(
        &mut p,
        vec![
            Event::Advisory(advisory("CVE-2024-1", &[])),
            Event::AssetTelemetry(asset("a1")),
            Event::Finding(finding("a1", "CVE-2024-1", "trivy", FindingStatus::Open)),
            Event::ThreatSignal(kev("CVE-2024-1")),
        ],
    );
    let e = out.last().expect("exposure");
    assert_eq!(e.exception_id.as_deref(), Some("EXC-42"));
    let expires = days_from_ymd("2023-12-01").expect("date");
    assert_eq!(e.accepted_until, Some(expires));
    assert_eq!(e.lane, Lane::Standard, "accepted exposures leave the emergency lane");
    assert!(e.due_date >= expires, "the clock restarts at expiry: {}", e.due_date);
    // After expiry (a later scan), it is back in the emergency lane (and planned again: the
    // planner skips exposures accepted at its clock, see plan::campaign).
    let mut later = finding("a1", "CVE-2024-1", "trivy", FindingStatus::Open);
    later.last_seen = 1_702_000_000_000; // 2023-12-08
    let out = run(&mut p, vec![Event::Finding(later)]);
    let e = out.last().expect("re-evaluated");
    assert_eq!(e.lane, Lane::Emergency);
    assert_eq!(e.exception_id.as_deref(), Some("EXC-42"), "the expired exception stays on record");
}
