//! The processor side of G3's KEV fan-out, without Kafka or codec: what the assess and plan
//! processors spend when a KEV addition hits 10,000 assets, and how the plan stage's cost per
//! exposure grows with the size of a campaign.
//!
//! Criterion part (`cargo bench -p patchline-processors --bench stages`):
//! - `plan/exposure_into_500_member_campaign`: `PlanProcessor::process` of one re-scored
//!   exposure of a campaign of 500 production assets (the standard lane, settle not elapsed, so
//!   nothing is issued: the cost of the planning pass alone).
//!
//! Fan-out part (printed after criterion's, `BENCH_ROUNDS` rounds, default 3): 10,000
//! production assets with one finding each of one CVE in 20 packages of 500 assets, as in
//! `bench_latency`. The assess processor holds them; the plan processor has planned their
//! exposures (standard lane, nothing issued); then the CVE's KEV addition. Timed: assess's
//! `process` of the KEV signal (re-scores every exposure), and the plan processor's `process` of
//! those 10,000 exposures in order (commands signed with Ed25519), with the instant of its
//! last command. Also the plan's cost per exposure while the campaigns fill, per 1,000, and
//! the time of one punctuation of a plan holding 1,000 to 4,000 one-asset campaigns with a
//! canary in flight (what the probes of `bench_latency` leave behind).

mod support;

use criterion::{criterion_group, Criterion};
use patchline_processors::events::{
    Advisory, AssetTelemetry, Criticality, Cvss, Environment, Event, Finding, FindingStatus,
    KevEntry, Package, Provenance, ThreatSignal,
};
use patchline_processors::plan::PlanPolicy;
use patchline_processors::sign::Signer;
use patchline_processors::{fixtures, AssessProcessor, PlanProcessor, Processor};
use std::hint::black_box;
use std::time::Instant;
use support::{env_usize, full_run, ratios_only, Spread};

const ASSETS: usize = 10_000;
const PACKAGES: usize = 20;
const MINUTE: i64 = 60_000;
const NOW: i64 = 1_767_225_600_000; // 2026-01-01

fn asset(i: usize) -> AssetTelemetry {
    AssetTelemetry {
        criticality: Criticality::Medium,
        internet_exposed: false,
        business_service: None,
        ..fixtures::asset(&format!("kev-asset-{i}"), NOW)
    }
}

fn finding(i: usize) -> Finding {
    Finding {
        asset_id: format!("kev-asset-{i}"),
        scanner: "trivy".into(),
        scan_id: "bench".into(),
        vulnerability_id: "CVE-2032-1000".into(),
        package: Package {
            ecosystem: "Debian".into(),
            name: format!("kevpkg{}", i / (ASSETS / PACKAGES)),
            installed_version: "1.0-1".into(),
            fixed_version: Some("1.0-2".into()),
        },
        status: FindingStatus::Open,
        first_seen: NOW,
        last_seen: NOW,
    }
}

fn advisory() -> Advisory {
    Advisory {
        id: "CVE-2032-1000".into(),
        aliases: Vec::new(),
        published: Some(NOW - 86_400_000),
        modified: NOW,
        withdrawn: None,
        summary: "Heap overflow".into(),
        cvss: Some(Cvss { version: "3.1".into(), base_score: 8.1, vector: None }),
        cwes: Vec::new(),
        affected: Vec::new(),
        exploit_refs: Vec::new(),
        ssvc: None,
        provenance: Provenance { feed: "cve".into(), feed_version: None, fetched_at: NOW },
    }
}

fn kev(at: i64) -> ThreatSignal {
    ThreatSignal {
        cve_id: "CVE-2032-1000".into(),
        kev: Some(KevEntry {
            date_added: (at / 86_400_000) as i32,
            due_date: None,
            ransomware_use: false,
            required_action: String::new(),
        }),
        epss: None,
        exploit: None,
        provenance: Provenance { feed: "kev".into(), feed_version: None, fetched_at: at },
    }
}

/// The assess processor holding the fleet; returns it and the exposures it emitted.
fn assess() -> (AssessProcessor, Vec<Event>) {
    let mut a = AssessProcessor::new();
    let mut out = Vec::new();
    a.process(Event::Advisory(advisory()), &mut out).expect("valid");
    for i in 0..ASSETS {
        a.process(Event::AssetTelemetry(asset(i)), &mut out).expect("valid");
        a.process(Event::Finding(finding(i)), &mut out).expect("valid");
    }
    (a, out)
}

/// A plan processor as the latency benchmark configures it (caps lifted, commands signed).
fn planner() -> PlanProcessor {
    let policy = "[blast_radius]\nshare = 1.0\nmin = 1\n[service_cap]\nshare = 1.0\nmin = 1\n";
    let mut p = PlanProcessor::new()
        .with_policy(PlanPolicy::from_toml(policy).expect("valid policy"))
        .with_signer(Signer::from_seed(&[7; 32]));
    let mut out = Vec::new();
    for i in 0..ASSETS {
        p.process(Event::AssetTelemetry(asset(i)), &mut out).expect("valid");
    }
    p
}

/// Milliseconds of one punctuation of a plan processor holding `n` one-asset campaigns, each
/// with its canary in flight (what `bench_latency`'s probes leave behind).
fn punctuation_ms(n: usize) -> f64 {
    let mut plan = planner();
    let mut out = Vec::new();
    let (_, template) = assess();
    let Some(Event::Exposure(e)) = template.first().cloned() else { return f64::NAN };
    for i in 0..n {
        let id = format!("probe-asset-{i}");
        let a = AssetTelemetry { environment: Environment::Development, ..asset(0) };
        let a = AssetTelemetry { asset_id: id.clone(), hostname: id.clone(), ..a };
        plan.process(Event::AssetTelemetry(a), &mut out).expect("valid");
        let e = patchline_processors::events::Exposure {
            exposure_id: format!("exp-probe-{i}"),
            asset_id: id,
            package: format!("probe{i}"),
            environment: Environment::Development,
            ..e.clone()
        };
        plan.process(Event::Exposure(e), &mut out).expect("valid");
    }
    assert_eq!(out.len(), n, "every probe gets its canary");
    out.clear();
    let t = Instant::now();
    plan.punctuate(NOW + MINUTE, &mut out);
    t.elapsed().as_secs_f64() * 1e3
}

fn criterion_benches(c: &mut Criterion) {
    let (_, exposures) = assess();
    let mut plan = planner();
    let mut out = Vec::new();
    for e in &exposures[..500] {
        plan.process(e.clone(), &mut out).expect("valid");
    }
    let mut i = 0;
    c.bench_function("plan/exposure_into_500_member_campaign", |b| {
        b.iter(|| {
            out.clear();
            plan.process(exposures[i % 500].clone(), &mut out).expect("valid");
            i += 1;
            black_box(out.len())
        })
    });
}

criterion_group!(benches, criterion_benches);

fn main() {
    if !full_run() {
        let (_, exposures) = assess();
        assert!(!exposures.is_empty(), "the KEV re-scores the fleet");
        println!("smoke run (cargo test): assess re-scored {} exposures", exposures.len());
        return;
    }
    if !ratios_only() {
        benches();
        Criterion::default().configure_from_args().final_summary();
    }
    let rounds = env_usize("BENCH_ROUNDS", 3);
    let (mut assess_ms, mut plan_ms, mut last_ms, mut load_us) = (vec![], vec![], vec![], vec![]);
    for round in 0..rounds {
        let (mut a, exposures) = assess();
        let mut plan = planner();
        let mut out = Vec::new();
        let mut per_thousand = Vec::new();
        let t = Instant::now();
        for chunk in exposures.chunks(1_000) {
            let c = Instant::now();
            for e in chunk {
                plan.process(e.clone(), &mut out).expect("valid");
            }
            per_thousand.push(c.elapsed().as_secs_f64() * 1e3);
        }
        let load = t.elapsed().as_secs_f64();
        assert!(out.is_empty(), "the standard lane issues nothing before the settle time");
        let mut rescored = Vec::new();
        let t = Instant::now();
        a.process(Event::ThreatSignal(kev(NOW + 3 * MINUTE)), &mut rescored).expect("valid");
        let a_ms = t.elapsed().as_secs_f64() * 1e3;
        let (mut commands, mut last) = (0, 0.0);
        let t = Instant::now();
        for e in rescored.iter().cloned() {
            out.clear();
            plan.process(e, &mut out).expect("valid");
            if !out.is_empty() {
                commands += out.len();
                last = t.elapsed().as_secs_f64() * 1e3;
            }
        }
        let p_ms = t.elapsed().as_secs_f64() * 1e3;
        println!(
            "round {}: plan load of {} exposures {:.2}s (ms per 1,000: {}); KEV: assess \
             re-scored {} exposures in {a_ms:.1} ms; plan handled them in {p_ms:.1} ms, {commands} \
             commands, the last at {last:.1} ms",
            round + 1,
            exposures.len(),
            load,
            per_thousand.iter().map(|x| format!("{x:.0}")).collect::<Vec<_>>().join(" "),
            rescored.len()
        );
        assess_ms.push(a_ms);
        plan_ms.push(p_ms);
        last_ms.push(last);
        load_us.push(load * 1e6 / exposures.len() as f64);
    }
    for n in [1_000, 2_000, 4_000] {
        println!(
            "plan punctuation with {n} one-asset campaigns in flight: {:.1} ms",
            punctuation_ms(n)
        );
    }
    println!(
        "KEV fan-out over {ASSETS} assets, processors only: assess {} ms, plan {} ms (last \
         command at {} ms); plan load {} us per exposure",
        Spread::of(&assess_ms).show(1),
        Spread::of(&plan_ms).show(1),
        Spread::of(&last_ms).show(1),
        Spread::of(&load_us).show(1)
    );
}
