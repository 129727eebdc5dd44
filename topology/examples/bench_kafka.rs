//! Benchmark G1, Kafka efficiency: events per second of the assess stage running on Kafka
//! (decode, join, score, emit, commit) as a ratio to a plain rdkafka consume-then-produce
//! pass-through of the same records, on the same broker with the same client settings. Also G1b
//! (exactly-once overhead): patchline has no transactional mode, so it reports `n/a`.
//! Needs a real broker: `PATCHLINE_KAFKA_BROKERS`; `PATCHLINE_BENCH_KAFKA_PROPERTIES=k=v,...`
//! adds librdkafka properties to every client alike.
//!
//! How it is measured:
//! - Topics: the bundled topology under a unique prefix (`kafka::admin::create_topics`), plus a
//!   3-partition output topic for the pass-through. Untimed, the advisories topic gets the
//!   workload's 20,000 advisories and the assets and findings topics the corpus: `--assets`
//!   assets (default 100,000) with `--findings` findings each (default 3, half of them from two
//!   scanners), keyed by asset id with Kafka's partitioner.
//! - processor: `kafka::run::run_stage` on the bundled `assess` stage (a fresh consumer group and
//!   instance id per run, default `RunnerConfig`: 10,000 outputs in flight, commit every
//!   second). It restores the advisories (global table) first, then reads assets and findings
//!   and writes exposures and changelog records. Its `records_in` counters are polled every
//!   millisecond; once they reach the corpus size the stage is told to stop, and it drains (every
//!   output acknowledged) and commits synchronously before `run_stage` returns.
//! - pass-through: `bench_common::kafka::pass_through` over the same two input topics, forwarding
//!   every record to the output topic; stops after the corpus size, flushes, commits.
//! - Both rates are corpus records / (end - first record read), so the processor's start-up
//!   (group join, advisory restore) is left out of both; the totals with start-up are printed.
//! - `--runs` rounds (default 3) after one untimed warm-up of each, the two in rotating order.
//!   G1 = median of the per-round ratios processor rate / pass-through rate.
//! - Profile, same run: the share of the processor's wall time spent inside the runner's
//!   record handling (`patchline_processing_seconds` sum), the process's CPU seconds per run
//!   (`/proc/self/stat`, every thread: events per CPU-second), and the in-memory runner alone
//!   (no bus, `bench_common::mem`) on the same records.
//!
//! Output: one line per run, a JSON line starting with `{"bench":"kafka"`, and the summary
//! lines `G1 kafka_efficiency=` and `G1b eos_ratio=n/a`.

mod bench_common;

use bench_common::gen::{Workload, CVES};
use bench_common::kafka::{self as bk, err, Res, Stop};
use bench_common::mem::{corpus, loaded_plan, run_runner};
use bench_common::{load_average, process_cpu_secs, Flags, Spread};
use patchline_processors::events::{Event, EventKind};
use patchline_topology::codec::Codec;
use patchline_topology::kafka::admin::create_topics;
use patchline_topology::kafka::config::KafkaConfig;
use patchline_topology::kafka::run::{run_stage, KafkaStage};
use patchline_topology::observe::metrics::Metrics;
use patchline_topology::runtime::runner::RunnerConfig;
use patchline_topology::runtime::stage::ProcessorOptions;
use patchline_topology::spec::{StageSpec, TopologySpec};
use std::sync::Arc;
use std::time::{Duration, Instant};

struct Bench {
    kafka: KafkaConfig,
    spec: TopologySpec,
    stage: StageSpec,
    codec: Arc<Codec>,
    inputs: Vec<String>,
    output: String,
    records: u64,
}

/// One timed run: seconds from the first record to the end, seconds in total, and for the
/// processor the seconds spent handling records.
struct Run {
    secs: f64,
    total: f64,
    handling: f64,
    /// CPU seconds of this process (every thread) during the run.
    cpu: f64,
}

fn main() {
    let flags = Flags::parse();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("a tokio runtime can be built");
    if let Err(e) = runtime.block_on(run(&flags)) {
        eprintln!("bench_kafka failed: {e}");
        std::process::exit(1);
    }
}

async fn run(flags: &Flags) -> Res<()> {
    let kafka = bk::config()?;
    let prefix = bk::unique_prefix("kafka");
    let spec = TopologySpec::default_topology().map_err(|e| e.to_string())?.with_prefix(&prefix);
    let stage = spec.stages.iter().find(|s| s.processor == "assess").cloned();
    let stage = stage.ok_or("the bundled topology has no assess stage")?;
    create_topics(&kafka.client(), &spec).await.map_err(|e| e.to_string())?;
    let output = format!("{prefix}bench.passthrough");
    bk::create(&kafka, &[(output.clone(), 3)]).await?;
    let mut topics: Vec<String> = spec.topics.iter().map(|t| t.name.clone()).collect();
    topics.push(output.clone());
    println!(
        "bench_kafka: broker {}, prefix {prefix}, properties {:?}",
        kafka.brokers, kafka.properties
    );
    let result = bench(flags, kafka.clone(), spec, stage, output).await;
    bk::delete(&kafka, &topics).await;
    result
}

fn topic_of(spec: &TopologySpec, stage: &StageSpec, kind: EventKind) -> Res<String> {
    stage
        .inputs
        .iter()
        .find(|n| spec.topic(n).ok().and_then(|t| t.event_kind()) == Some(kind))
        .cloned()
        .ok_or_else(|| format!("the assess stage has no {} input", kind.name()))
}

async fn bench(
    flags: &Flags,
    kafka: KafkaConfig,
    spec: TopologySpec,
    stage: StageSpec,
    output: String,
) -> Res<()> {
    let assets = flags.assets_or(100_000);
    let codec = Arc::new(Codec::bundled().map_err(|e| e.to_string())?);
    let w = Workload::new(flags.seed, flags.findings, 50);
    let (advisories, assets_topic, findings_topic) = (
        topic_of(&spec, &stage, EventKind::Advisory)?,
        topic_of(&spec, &stage, EventKind::AssetTelemetry)?,
        topic_of(&spec, &stage, EventKind::Finding)?,
    );
    let t = Instant::now();
    let producer = bk::bulk_producer(&kafka)?;
    let encode = |e: &Event| codec.encode(e).map_err(|e| e.to_string());
    for c in 0..CVES {
        let e = Event::Advisory(w.advisory(c));
        bk::send(&producer, &advisories, e.key().as_bytes(), &encode(&e)?)?;
    }
    let records = corpus(&spec, &stage, &codec, &w, assets, 3);
    for r in &records {
        let value = r.value.as_deref().unwrap_or_default();
        bk::send(&producer, &r.topic, r.key.as_deref().unwrap_or_default(), value)?;
    }
    rdkafka::producer::Producer::flush(&producer, Duration::from_secs(300))
        .map_err(err("flush"))?;
    let bytes: usize = records.iter().map(|r| r.value.as_ref().map_or(0, Vec::len)).sum();
    println!(
        "produced {} advisories and {} records ({assets} assets; {:.1} B of Avro each) in {:.1}s",
        CVES,
        records.len(),
        bytes as f64 / records.len() as f64,
        t.elapsed().as_secs_f64()
    );
    let b = Bench {
        kafka,
        spec,
        stage,
        codec,
        inputs: vec![assets_topic, findings_topic],
        output,
        records: records.len() as u64,
    };
    let warm = (processor(&b, "warm").await?, pass(&b, "warm").await?);
    println!("warm-up: processor {:.2}s, pass-through {:.2}s", warm.0.secs, warm.1.secs);
    let (mut procs, mut passes) = (Vec::new(), Vec::new());
    for round in 0..flags.runs {
        for step in 0..2 {
            if (round + step) % 2 == 0 {
                procs.push(processor(&b, &format!("r{round}")).await?);
            } else {
                passes.push(pass(&b, &format!("r{round}")).await?);
            }
        }
        let (p, q) = (&procs[round], &passes[round]);
        let rate = |r: &Run| b.records as f64 / r.secs;
        println!(
            "round {}: processor {:.0} events/s ({:.2}s, {:.2}s with start-up, {:.0}% of it \
             handling records), pass-through {:.0} events/s ({:.2}s, {:.2}s with start-up): \
             {:.3}; load {:.2}",
            round + 1,
            rate(p),
            p.secs,
            p.total,
            100.0 * p.handling / p.secs,
            rate(q),
            q.secs,
            q.total,
            q.secs / p.secs,
            load_average()
        );
    }
    let rates =
        |v: &[Run]| Spread::of(&v.iter().map(|r| b.records as f64 / r.secs).collect::<Vec<_>>());
    let ratio =
        Spread::of(&procs.iter().zip(&passes).map(|(p, q)| q.secs / p.secs).collect::<Vec<_>>());
    let handling = Spread::of(&procs.iter().map(|p| p.handling / p.secs).collect::<Vec<_>>());
    let per_cpu_s =
        |v: &[Run]| Spread::of(&v.iter().map(|r| b.records as f64 / r.cpu).collect::<Vec<_>>());
    let (proc_cpu, pass_cpu) = (per_cpu_s(&procs), per_cpu_s(&passes));
    // The runner alone, same records, no bus: what the stage thread must do per event.
    let plan = loaded_plan(&b.spec, &b.stage, &w);
    let metrics = Metrics::new().map_err(|e| e.to_string())?;
    let t = Instant::now();
    let (_, outputs) = run_runner(plan, b.codec.clone(), records, &metrics).await;
    let mem_secs = t.elapsed().as_secs_f64();
    let per_cpu = b.records as f64 / mem_secs;
    println!("processor: {} events/s", rates(&procs).show(0));
    println!("pass-through: {} events/s", rates(&passes).show(0));
    println!("processor / pass-through: {}", ratio.show(3));
    println!(
        "profile: the processor spent {} of its wall time handling records (decode, process, \
         encode, hand to the producer); the runner alone without a bus takes {:.0} ns/event \
         ({:.0} events per second of wall time, {:.2} outputs per event), the pass-through {:.0} \
         ns/event of wall time",
        handling.show(3),
        mem_secs * 1e9 / b.records as f64,
        per_cpu,
        outputs as f64 / b.records as f64,
        1e9 / rates(&passes).median
    );
    println!(
        "events per CPU-second of this process (all its threads, start-up included; the broker \
         not counted): processor {}, pass-through {}",
        proc_cpu.show(0),
        pass_cpu.show(0)
    );
    println!("G1b: no exactly-once (transactional) mode exists in patchline: n/a");
    let json = serde_json::json!({
        "bench": "kafka",
        "records": b.records,
        "rounds": flags.runs,
        "processor_events_per_s": rates(&procs).json(),
        "passthrough_events_per_s": rates(&passes).json(),
        "kafka_efficiency": ratio.json(),
        "handling_share": handling.json(),
        "runner_alone_events_per_cpu_s": per_cpu,
        "processor_events_per_cpu_s": proc_cpu.json(),
        "passthrough_events_per_cpu_s": pass_cpu.json(),
        "eos_ratio": null,
    });
    println!("{json}");
    println!("G1 kafka_efficiency={:.3}", ratio.median);
    println!("G1b eos_ratio=n/a");
    Ok(())
}

/// The assess stage on Kafka over the whole corpus, with a fresh group.
async fn processor(b: &Bench, tag: &str) -> Res<Run> {
    let mut spec = b.spec.clone();
    spec.name = format!("{}-{tag}", spec.name);
    let metrics = Metrics::new().map_err(|e| e.to_string())?;
    let stage_metrics = metrics.stage(&b.stage.name);
    let counters: Vec<_> = b.inputs.iter().map(|t| stage_metrics.records_in(t)).collect();
    let job = KafkaStage {
        spec,
        stage: b.stage.clone(),
        kafka: b.kafka.clone(),
        codec: b.codec.clone(),
        metrics: metrics.clone(),
        config: RunnerConfig::default(),
        instance: format!("bench-{tag}"),
        options: ProcessorOptions::default(),
    };
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let (_queries, queries_rx) = tokio::sync::mpsc::channel(1);
    let (started, cpu) = (Instant::now(), process_cpu_secs());
    let task = tokio::spawn(run_stage(job, stop_rx, queries_rx, || {}));
    let mut first = None;
    loop {
        let seen: u64 = counters.iter().map(|c| c.get()).sum();
        if seen > 0 && first.is_none() {
            first = Some(Instant::now());
        }
        if seen >= b.records {
            break;
        }
        if task.is_finished() || started.elapsed() > Duration::from_secs(1_800) {
            return Err(format!("the stage stopped or stalled after {seen} records"));
        }
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
    let _ = stop_tx.send(true);
    let summary = task.await.map_err(|e| e.to_string())?.map_err(|e| e.to_string())?;
    let end = Instant::now();
    if summary.dead_lettered > 0 {
        return Err(format!("{} records were dead-lettered", summary.dead_lettered));
    }
    let first = first.unwrap_or(started);
    Ok(Run {
        secs: (end - first).as_secs_f64(),
        total: (end - started).as_secs_f64(),
        handling: stage_metrics.processing_seconds().get_sample_sum(),
        cpu: process_cpu_secs() - cpu,
    })
}

/// The pass-through over the same inputs, with a fresh group.
async fn pass(b: &Bench, tag: &str) -> Res<Run> {
    let group = format!("{}-passthrough-{tag}", b.spec.name);
    let (started, cpu) = (Instant::now(), process_cpu_secs());
    let commit = RunnerConfig::default().commit_interval;
    let p =
        bk::pass_through(&b.kafka, &group, &b.inputs, &b.output, Stop::After(b.records), commit)
            .await?;
    let first = p.first.unwrap_or(started);
    Ok(Run {
        secs: (p.end - first).as_secs_f64(),
        total: (p.end - started).as_secs_f64(),
        handling: 0.0,
        cpu: process_cpu_secs() - cpu,
    })
}
