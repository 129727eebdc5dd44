//! Benchmark: heap bytes the assess processor holds per tracked asset and per open exposure,
//! as a ratio to the raw Avro payload of the records that produced them. No Kafka.
//!
//! How it is measured:
//! - A counting `#[global_allocator]` (see `bench_common`) tracks live *requested* heap bytes.
//! - A deterministic workload (`bench_common::gen`): N assets (`--assets`, default 1,000,000),
//!   F distinct (CVE, package) findings per asset (`--findings`, default 3), half of them
//!   reported by two scanners, over 20,000 CVEs and 2,000 packages; one advisory per CVE.
//! - Raw payload: the sum of `Codec::bundled().encode(&event)` lengths (Confluent framing +
//!   Avro body, i.e. what the topic holds per record), for asset records and finding records
//!   separately. Computed in a first pass, before any measurement, so codec caches do not count.
//! - Each run: heap before `AssessProcessor::with_capacity(N)`, then advisories, then every
//!   asset, then every finding, through `Processor::process` (outputs counted and dropped at
//!   once). Events are generated one asset at a time and dropped, so inputs are not held.
//! - heap per tracked asset = (heap of the presized empty processor + growth while loading
//!   assets) / assets; its ratio is to the raw bytes per asset record.
//! - heap per open exposure = growth while loading findings / open exposures (`state_sizes()`
//!   "open_exposures"); its ratio is to the raw bytes of the finding records that produced those
//!   exposures (1.5 records per exposure by default), i.e. growth / raw finding bytes.
//! - `--runs` (default 3) repetitions in one process; medians with min-max. The heap numbers
//!   are deterministic (equal every run); load times vary with the machine.
//!
//! Output: one line per measurement, live bytes by allocation size class for each phase (to see
//! which structure holds the bytes), and a final JSON line starting with `{"bench":"state"`.

mod bench_common;

use bench_common::gen::{Workload, CVES};
use bench_common::{class_growth, classes, heap_now, heap_peak, mib, reset_peak, rss_bytes};
use bench_common::{CountingAlloc, Flags, Spread};
use patchline_processors::events::Event;
use patchline_processors::{AssessProcessor, Processor};
use patchline_topology::codec::Codec;
use std::time::Instant;

#[global_allocator]
static ALLOC: CountingAlloc = CountingAlloc;

/// Raw Avro bytes of the workload.
struct Raw {
    advisory_bytes: u64,
    asset_bytes: u64,
    finding_bytes: u64,
    finding_records: u64,
}

/// What one run measured.
struct Run {
    create: i64,
    advisories: i64,
    assets_growth: i64,
    findings_growth: i64,
    peak_over_base: i64,
    rss_growth: i64,
    open_exposures: usize,
    assets_tracked: usize,
    finding_rows: usize,
    outputs: usize,
    secs: [f64; 3],
    breakdown: Vec<(&'static str, Vec<String>)>,
}

fn raw_sizes(codec: &Codec, w: &Workload, assets: usize) -> Raw {
    let size = |e: Event| codec.encode(&e).expect("bundled codec encodes every event").len() as u64;
    let mut raw = Raw { advisory_bytes: 0, asset_bytes: 0, finding_bytes: 0, finding_records: 0 };
    for c in 0..CVES {
        raw.advisory_bytes += size(Event::Advisory(w.advisory(c)));
    }
    for i in 0..assets {
        raw.asset_bytes += size(Event::AssetTelemetry(w.asset(i)));
        for f in w.findings(i) {
            raw.finding_bytes += size(Event::Finding(f));
            raw.finding_records += 1;
        }
    }
    raw
}

/// Processes one event; returns how many outputs it produced (dropped here).
fn feed(p: &mut AssessProcessor, event: Event) -> usize {
    let mut out = Vec::new();
    p.process(event, &mut out).expect("the generated event passes validation");
    out.len()
}

fn size_of(sizes: &[(&'static str, usize)], name: &str) -> usize {
    sizes.iter().find(|(n, _)| *n == name).map_or(0, |(_, v)| *v)
}

fn load(w: &Workload, assets: usize) -> Run {
    let (base, rss0) = (heap_now(), rss_bytes());
    reset_peak();
    let c0 = classes();
    let mut p = AssessProcessor::with_capacity(assets);
    let (h_create, c_create) = (heap_now(), classes());
    let mut outputs = 0;
    let t = Instant::now();
    for c in 0..CVES {
        outputs += feed(&mut p, Event::Advisory(w.advisory(c)));
    }
    let (h_adv, c_adv, s_adv) = (heap_now(), classes(), t.elapsed().as_secs_f64());
    let t = Instant::now();
    for i in 0..assets {
        outputs += feed(&mut p, Event::AssetTelemetry(w.asset(i)));
    }
    let (h_assets, c_assets, s_assets) = (heap_now(), classes(), t.elapsed().as_secs_f64());
    let t = Instant::now();
    for i in 0..assets {
        for f in w.findings(i) {
            outputs += feed(&mut p, Event::Finding(f));
        }
    }
    let (h_find, c_find, s_find) = (heap_now(), classes(), t.elapsed().as_secs_f64());
    let (peak, rss) = (heap_peak(), rss_bytes());
    let sizes = p.state_sizes();
    let run = Run {
        create: h_create - base,
        advisories: h_adv - h_create,
        assets_growth: h_assets - h_adv,
        findings_growth: h_find - h_assets,
        peak_over_base: peak - base,
        rss_growth: rss - rss0,
        open_exposures: size_of(&sizes, "open_exposures"),
        assets_tracked: size_of(&sizes, "assets"),
        finding_rows: size_of(&sizes, "findings"),
        outputs,
        secs: [s_adv, s_assets, s_find],
        breakdown: Vec::new(),
    };
    drop(sizes);
    drop(p);
    let leaked = heap_now() - base;
    if leaked != 0 {
        println!("note: {leaked} bytes still live after dropping the processor");
    }
    Run {
        breakdown: vec![
            ("presized empty processor", class_growth(&c0, &c_create, 4)),
            ("assets", class_growth(&c_adv, &c_assets, 4)),
            ("findings", class_growth(&c_assets, &c_find, 6)),
        ],
        ..run
    }
}

fn main() {
    let flags = Flags::parse();
    let n = flags.assets;
    let codec = Codec::bundled().expect("the bundled schemas load");
    let w = Workload::new(flags.seed, flags.findings, 50);
    println!(
        "bench_state: {n} assets, {} findings per asset (50% dual-scanner), {} CVEs, {} runs",
        flags.findings, CVES, flags.runs
    );
    let t = Instant::now();
    let raw = raw_sizes(&codec, &w, n);
    drop(codec);
    println!(
        "raw avro: assets {} ({:.1} B/record), findings {} in {} records ({:.1} B/record), \
         advisories {} [{:.1}s]",
        mib(raw.asset_bytes as i64),
        raw.asset_bytes as f64 / n as f64,
        mib(raw.finding_bytes as i64),
        raw.finding_records,
        raw.finding_bytes as f64 / raw.finding_records as f64,
        mib(raw.advisory_bytes as i64),
        t.elapsed().as_secs_f64()
    );
    let mut runs = Vec::new();
    for r in 0..flags.runs {
        let run = load(&w, n);
        println!(
            "run {}: create {} advisories {} assets +{} findings +{} | peak {} rss +{} | \
             {} assets, {} finding rows, {} open exposures, {} outputs | load s: adv {:.2} \
             assets {:.2} findings {:.2}",
            r + 1,
            mib(run.create),
            mib(run.advisories),
            mib(run.assets_growth),
            mib(run.findings_growth),
            mib(run.peak_over_base),
            mib(run.rss_growth),
            run.assets_tracked,
            run.finding_rows,
            run.open_exposures,
            run.outputs,
            run.secs[0],
            run.secs[1],
            run.secs[2]
        );
        if r == 0 {
            for (phase, rows) in &run.breakdown {
                println!("  live bytes by allocation size, {phase}:");
                for row in rows {
                    println!("    {row}");
                }
            }
        }
        runs.push(run);
    }
    let pick = |f: &dyn Fn(&Run) -> f64| Spread::of(&runs.iter().map(f).collect::<Vec<_>>());
    let raw_per_asset = raw.asset_bytes as f64 / n as f64;
    let per_asset = pick(&|r| (r.create + r.assets_growth) as f64 / r.assets_tracked as f64);
    let asset_ratio =
        pick(&|r| (r.create + r.assets_growth) as f64 / r.assets_tracked as f64 / raw_per_asset);
    let per_exposure = pick(&|r| r.findings_growth as f64 / r.open_exposures as f64);
    let raw_per_exposure =
        pick(&|r| raw.finding_bytes as f64 / r.open_exposures.max(1) as f64).median;
    let exposure_ratio = pick(&|r| r.findings_growth as f64 / raw.finding_bytes as f64);
    let total_ratio = pick(&|r| {
        (r.create + r.assets_growth + r.findings_growth) as f64
            / (raw.asset_bytes + raw.finding_bytes) as f64
    });
    let secs = |i: usize| pick(&|r| r.secs[i]);
    let rate = |i: usize, events: f64| pick(&|r| events / r.secs[i] / 1e3);
    println!(
        "heap per tracked asset: {} B (raw avro {raw_per_asset:.1} B/asset record)",
        per_asset.show(1)
    );
    println!("heap per asset / raw payload per asset: {}", asset_ratio.show(3));
    println!(
        "heap per open exposure: {} B (raw avro {raw_per_exposure:.1} B of finding records per \
         exposure, {:.2} records per exposure)",
        per_exposure.show(1),
        raw.finding_records as f64 / runs[0].open_exposures.max(1) as f64
    );
    println!("heap per exposure / raw payload per exposure: {}", exposure_ratio.show(3));
    println!("heap (assets + findings) / raw (assets + findings): {}", total_ratio.show(3));
    println!(
        "load: assets {} s ({} k/s), findings {} s ({} k records/s)",
        secs(1).show(2),
        rate(1, n as f64).show(1),
        secs(2).show(2),
        rate(2, raw.finding_records as f64).show(1)
    );
    let json = serde_json::json!({
        "bench": "state",
        "assets": n,
        "findings_per_asset": flags.findings,
        "runs": flags.runs,
        "raw_asset_bytes": raw.asset_bytes,
        "raw_finding_bytes": raw.finding_bytes,
        "finding_records": raw.finding_records,
        "open_exposures": runs[0].open_exposures,
        "heap_create_bytes": runs[0].create,
        "heap_advisories_bytes": runs[0].advisories,
        "heap_assets_growth_bytes": runs[0].assets_growth,
        "heap_findings_growth_bytes": runs[0].findings_growth,
        "heap_per_asset": per_asset.json(),
        "heap_per_asset_ratio": asset_ratio.json(),
        "heap_per_exposure": per_exposure.json(),
        "heap_per_exposure_ratio": exposure_ratio.json(),
        "heap_total_ratio": total_ratio.json(),
        "load_assets_s": secs(1).json(),
        "load_findings_s": secs(2).json(),
    });
    println!("{json}");
}
