//! Benchmark G2, processing to codec, without Kafka: what the assess stage costs per input event
//! next to decoding that event alone, and how the same work scales from one stage instance to
//! two.
//!
//! How it is measured:
//! - Corpus: the shared workload (`bench_common::gen`), `--assets` assets (default 100,000),
//!   per asset its inventory record then its finding records (`--findings` per asset, default 3,
//!   half of them from two scanners): about 5.5 records per asset, encoded once with
//!   `Codec::bundled()` as the runtime receives them (`InputRecord`s on the bundled topics).
//!   Every assess processor first holds the 20,000 advisories (loaded untimed, the global table).
//! - decode only: `Codec::decode` of every record (the same call the runner makes).
//! - pipeline: the runtime's own `StageRunner` (the runner shared by Kafka and the embedded bus:
//!   decode, `Processor::process` with its join and scoring, encode of every exposure and
//!   changelog record, offset tracking, metrics) over an in-memory source and a sink that
//!   acknowledges at once and drops the bytes, on a current-thread tokio runtime.
//! - breakdown: the same records in batches of 10,000, timing decode, `process` and the encoding
//!   of the outputs separately; the rest of the pipeline time is the runner's own.
//! - 1 vs 2 threads: the records split by Kafka's partitioner over 2 partitions. One instance
//!   on one thread runs both partitions; two instances (each its own codec, metrics and
//!   processor with the advisories, as two processes would have) run one partition each on two
//!   threads started together. Scaling = one thread's wall time / two threads' wall time (the
//!   later thread's end). Each thread's own CPU time is read from `/proc/thread-self/schedstat`,
//!   so a shortfall can be told apart from a machine that did not give the second core.
//! - `--runs` rounds (default 5) of the four measurements in rotating order; medians of the
//!   per-round ratios with min-max.
//!
//! Output: one line per round and measurement, a final JSON line starting with
//! `{"bench":"pipeline"`, and the summary lines `G2 pipeline_to_decode=` and
//! `G2 thread_scaling=`.

mod bench_common;

use bench_common::gen::Workload;
use bench_common::mem::{assess_stage, corpus, loaded_plan, run_runner, thread_cpu_ns};
use bench_common::{load_average, Flags, Spread};
use patchline_processors::events::{Event, EventKind};
use patchline_topology::codec::{Codec, Format};
use patchline_topology::observe::metrics::Metrics;
use patchline_topology::runtime::record::InputRecord;
use patchline_topology::spec::{StageSpec, TopologySpec};
use std::collections::HashMap;
use std::hint::black_box;
use std::sync::{Arc, Barrier};
use std::time::Instant;

struct Setup {
    spec: TopologySpec,
    stage: StageSpec,
    workload: Workload,
    records: Vec<InputRecord>,
    kinds: HashMap<Arc<str>, EventKind>,
}

fn current_thread() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a current-thread tokio runtime can be built")
}

fn decode_only(s: &Setup, codec: &Codec) -> f64 {
    let t = Instant::now();
    for r in &s.records {
        let value = r.value.as_deref().unwrap_or_default();
        black_box(codec.decode(s.kinds[&r.topic], Format::Avro, value).expect("decodes"));
    }
    t.elapsed().as_secs_f64()
}

/// (decode, process, encode) seconds over the records in batches of 10,000, and outputs.
fn breakdown(s: &Setup, codec: &Codec) -> ([f64; 3], usize) {
    let mut plan = loaded_plan(&s.spec, &s.stage, &s.workload);
    let (mut secs, mut outputs) = ([0.0; 3], 0);
    let mut out = Vec::new();
    for batch in s.records.chunks(10_000) {
        let t = Instant::now();
        let events: Vec<Event> = batch
            .iter()
            .map(|r| {
                let value = r.value.as_deref().unwrap_or_default();
                codec.decode(s.kinds[&r.topic], Format::Avro, value).expect("decodes")
            })
            .collect();
        secs[0] += t.elapsed().as_secs_f64();
        out.clear();
        let t = Instant::now();
        for e in events {
            plan.processor.process(e, &mut out).expect("valid event");
        }
        secs[1] += t.elapsed().as_secs_f64();
        let t = Instant::now();
        for e in &out {
            black_box(codec.encode(e).expect("encodes"));
        }
        secs[2] += t.elapsed().as_secs_f64();
        outputs += out.len();
    }
    (secs, outputs)
}

/// One instance on this thread over every record: (wall seconds, CPU seconds, outputs).
fn one_thread(s: &Setup) -> (f64, f64, u64) {
    let plan = loaded_plan(&s.spec, &s.stage, &s.workload);
    let codec = Arc::new(Codec::bundled().expect("the bundled schemas load"));
    let metrics = Metrics::new().expect("metrics");
    let records = s.records.clone();
    let rt = current_thread();
    let cpu = thread_cpu_ns();
    let t = Instant::now();
    let (summary, outputs) = rt.block_on(run_runner(plan, codec, records, &metrics));
    let wall = t.elapsed().as_secs_f64();
    assert_eq!(summary.processed as usize, s.records.len(), "every record is processed");
    (wall, (thread_cpu_ns() - cpu) as f64 / 1e9, outputs)
}

/// Two instances, one partition each, on two threads: (wall seconds, CPU seconds per thread).
fn two_threads(s: &Setup) -> (f64, [f64; 2]) {
    let start = Arc::new(Barrier::new(3));
    let handles: Vec<_> = (0..2)
        .map(|p| {
            let plan = loaded_plan(&s.spec, &s.stage, &s.workload);
            let records: Vec<InputRecord> =
                s.records.iter().filter(|r| r.partition == p).cloned().collect();
            let start = start.clone();
            std::thread::spawn(move || {
                let codec = Arc::new(Codec::bundled().expect("the bundled schemas load"));
                let metrics = Metrics::new().expect("metrics");
                let rt = current_thread();
                let n = records.len();
                start.wait();
                let cpu = thread_cpu_ns();
                let (summary, _) = rt.block_on(run_runner(plan, codec, records, &metrics));
                assert_eq!(summary.processed as usize, n, "every record is processed");
                (Instant::now(), (thread_cpu_ns() - cpu) as f64 / 1e9)
            })
        })
        .collect();
    start.wait();
    let t0 = Instant::now();
    let ends: Vec<(Instant, f64)> =
        handles.into_iter().map(|h| h.join().expect("a pipeline thread")).collect();
    let end = ends.iter().map(|e| e.0).max().unwrap_or(t0);
    ((end - t0).as_secs_f64(), [ends[0].1, ends[1].1])
}

fn main() {
    let flags = Flags::parse_with(&[]);
    let assets = flags.assets_or(100_000);
    let (spec, stage) = assess_stage().expect("the bundled topology");
    let codec = Codec::bundled().expect("the bundled schemas load");
    let workload = Workload::new(flags.seed, flags.findings, 50);
    let t = Instant::now();
    let records = corpus(&spec, &stage, &codec, &workload, assets, 2);
    let plan = loaded_plan(&spec, &stage, &workload);
    let kinds: HashMap<Arc<str>, EventKind> =
        plan.inputs.iter().map(|(t, r)| (t.clone(), r.kind)).collect();
    drop(plan);
    let n = records.len() as f64;
    let bytes: usize = records.iter().map(|r| r.value.as_ref().map_or(0, Vec::len)).sum();
    let split = records.iter().filter(|r| r.partition == 0).count();
    println!(
        "bench_pipeline: {assets} assets, {} records ({:.1} B of Avro each; partition 0 holds \
         {split}, partition 1 {}), {} rounds, load average {:.2}, built in {:.1}s",
        records.len(),
        bytes as f64 / n,
        records.len() - split,
        flags.runs,
        load_average(),
        t.elapsed().as_secs_f64()
    );
    let s = Setup { spec, stage, workload, records, kinds };
    let (mut decode, mut pipe, mut two) = (vec![], vec![], vec![]);
    let (mut parts, mut cpu1, mut cpu2) = (vec![], vec![], vec![]);
    let mut outputs = (0, 0);
    for round in 0..flags.runs {
        for step in 0..4 {
            match (round + step) % 4 {
                0 => decode.push(decode_only(&s, &codec)),
                1 => {
                    let (secs, out) = breakdown(&s, &codec);
                    parts.push(secs);
                    outputs.0 = out;
                }
                2 => {
                    let (wall, cpu, out) = one_thread(&s);
                    pipe.push(wall);
                    cpu1.push(cpu);
                    outputs.1 = out;
                }
                _ => {
                    let (wall, cpu) = two_threads(&s);
                    two.push(wall);
                    cpu2.push(cpu);
                }
            }
        }
        let ns = |secs: f64| secs * 1e9 / n;
        let p = parts[round];
        println!(
            "round {}: decode only {:.0} ns/event; pipeline {:.0} ns/event ({:.2}x decode; CPU \
             {:.2}s of {:.2}s); breakdown decode {:.0} + process {:.0} + encode {:.0} ns/event; \
             2 threads {:.2}s (CPU {:.2}s + {:.2}s): {:.2}x one thread; load {:.2}",
            round + 1,
            ns(decode[round]),
            ns(pipe[round]),
            pipe[round] / decode[round],
            cpu1[round],
            pipe[round],
            ns(p[0]),
            ns(p[1]),
            ns(p[2]),
            two[round],
            cpu2[round][0],
            cpu2[round][1],
            pipe[round] / two[round],
            load_average()
        );
    }
    let per = |v: &[f64]| Spread::of(&v.iter().map(|x| x * 1e9 / n).collect::<Vec<_>>());
    let ratio =
        |a: &[f64], b: &[f64]| Spread::of(&a.iter().zip(b).map(|(x, y)| x / y).collect::<Vec<_>>());
    let to_decode = ratio(&pipe, &decode);
    let scaling = ratio(&pipe, &two);
    let part = |i: usize| per(&parts.iter().map(|p| p[i]).collect::<Vec<_>>());
    let runner: Vec<f64> = pipe.iter().zip(&parts).map(|(w, p)| w - p[0] - p[1] - p[2]).collect();
    let cpu_eff = ratio(&cpu1, &cpu2.iter().map(|c| c[0] + c[1]).collect::<Vec<_>>());
    println!("decode only: {} ns/event", per(&decode).show(0));
    println!("pipeline (assess stage runner, no bus): {} ns/event", per(&pipe).show(0));
    println!("pipeline / decode only: {}", to_decode.show(3));
    println!(
        "breakdown: decode {} + process {} + encode outputs {} + runner (the rest) {} ns/event; \
         {:.2} outputs per record (exposures and changelog records: {} from the runner)",
        part(0).show(0),
        part(1).show(0),
        part(2).show(0),
        per(&runner).show(0),
        outputs.1 as f64 / n,
        outputs.1
    );
    println!("2 threads / 1 thread throughput: {}", scaling.show(3));
    println!(
        "CPU seconds, one thread / both threads together: {} (1.0: the split costs no extra CPU)",
        cpu_eff.show(3)
    );
    let json = serde_json::json!({
        "bench": "pipeline",
        "assets": assets,
        "records": s.records.len(),
        "rounds": flags.runs,
        "decode_ns": per(&decode).json(),
        "pipeline_ns": per(&pipe).json(),
        "breakdown_ns": { "decode": part(0).json(), "process": part(1).json(),
            "encode": part(2).json(), "runner": per(&runner).json() },
        "pipeline_to_decode": to_decode.json(),
        "thread_scaling": scaling.json(),
        "cpu_one_over_two": cpu_eff.json(),
    });
    println!("{json}");
    println!("G2 pipeline_to_decode={:.3}", to_decode.median);
    println!("G2 thread_scaling={:.3}", scaling.median);
}
