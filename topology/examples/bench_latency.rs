//! Benchmark G3, latency on Kafka: advisory-to-command p99 of the whole pipeline (every stage
//! of the bundled topology, as `patchline run` wires them) against a plain pass-through's p99
//! at the same load, and the time from a KEV addition that hits 10,000 assets to its last
//! command. Needs a real broker: `PATCHLINE_KAFKA_BROKERS`.
//!
//! How it is measured (all in one process, one `Instant` clock; see `bench_common::latency`):
//! - Peak: the pass-through (`bench_common::kafka::pass_through`) drains a backlog of 200,000
//!   probe advisories; its rate P is the peak. The load of the runs is P/2 (`--rate` overrides).
//! - Pass-through runs: an open-loop generator sends `--probes` advisories (default 5,000; more
//!   make every punctuation of the plan stage longer, see BENCHMARKS.md) at the load; one hop
//!   (in -> out) or two hops (in -> mid -> out, as many Kafka hops as advisory -> assess ->
//!   exposures -> plan -> commands); latency = arrival on the last topic - send. 50 unmeasured
//!   probes first make sure the groups have joined, and marker records that the receiver has
//!   started reading.
//! - Pipeline runs: `run_stage` of every bundled stage (assess, plan, learn) in this process
//!   (default runner settings, commands signed with a key drawn from /dev/urandom, plan caps
//!   lifted to the whole fleet so no cap delays a probe). Each probe is a new CVE's advisory
//!   whose finding on a development asset was loaded before the stages started: one exposure,
//!   one new campaign, one canary `DEPLOY`; latency = arrival of that command on the commands
//!   topic - send.
//! - Pipeline peak: a backlog of 1,000 probes sent at once; the load the pipeline sustains. At
//!   P/2 the pipeline gets 1,000 probes per run (it drains no more within the 120 s a run waits).
//! - `--runs` rounds (default 3), each running pass-through (1 hop, 2 hops) and pipeline at P/2,
//!   then pass-through (2 hops) and pipeline at half the pipeline's own peak, in rotating order.
//!   G3 p99 difference = median over rounds of (pipeline p99 - 2-hop pass-through p99) at P/2.
//! - KEV fan-out, `--kev` times (default 3), before the probes (`bench_common::kev`): 10,000
//!   production assets with one finding each of a fresh CVE in 20 packages of 500 assets,
//!   exposures already planned (standard lane: nothing issued yet), then the KEV addition.
//!   Reported: send -> the plan stage has handled all 10,000 re-scored exposures, and send ->
//!   the last command of those campaigns.
//!
//! Output: per-run lines, a JSON line starting with `{"bench":"latency"`, and the summary lines
//! `G3 p99_over_passthrough_ms=` and `G3 kev_fanout_last_command_ms=`.

mod bench_common;

use bench_common::kafka::{self as bk, Res, Stop};
use bench_common::kev::{kev_runs, Lab};
use bench_common::latency::{self as lat, Probes};
use bench_common::probes::{self as pr, campaign_of, probe_cve, probe_package};
use bench_common::{load_average, Flags, Spread};
use patchline_processors::events::{Environment, Event, EventKind};
use patchline_processors::plan::PlanPolicy;
use patchline_processors::sign::Signer;
use patchline_topology::codec::Codec;
use patchline_topology::kafka::admin::create_topics;
use patchline_topology::kafka::config::KafkaConfig;
use patchline_topology::kafka::run::{run_stage, KafkaStage};
use patchline_topology::observe::metrics::Metrics;
use patchline_topology::runtime::runner::RunnerConfig;
use patchline_topology::runtime::stage::ProcessorOptions;
use patchline_topology::spec::TopologySpec;
use prometheus::IntCounter;
use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering::Relaxed};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Probes of the pipeline's peak measurement.
const PEAK_BACKLOG: usize = 1_000;
/// Records of the pass-through's peak measurement.
const PEAK_RECORDS: usize = 200_000;
/// Probes of one pipeline run at the pass-through's half peak (it cannot drain more in time).
const PIPELINE_AT_HALF_PEAK: usize = 1_000;
/// Warm-up probes of the pipeline.
const WARM: usize = 200;

fn main() {
    let flags = Flags::parse_with(&["probes", "rate", "kev"]);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("a tokio runtime can be built");
    if let Err(e) = runtime.block_on(run(&flags)) {
        eprintln!("bench_latency failed: {e}");
        std::process::exit(1);
    }
}

async fn run(flags: &Flags) -> Res<()> {
    let kafka = bk::config()?;
    let prefix = bk::unique_prefix("latency");
    let spec = TopologySpec::default_topology().map_err(|e| e.to_string())?.with_prefix(&prefix);
    create_topics(&kafka.client(), &spec).await.map_err(|e| e.to_string())?;
    let extra: Vec<(String, i32)> =
        ["peak", "peak-out"].iter().map(|t| (format!("{prefix}bench.pt-{t}"), 1)).collect();
    bk::create(&kafka, &extra).await?;
    let mut topics: Vec<String> = spec.topics.iter().map(|t| t.name.clone()).collect();
    topics.extend(extra.into_iter().map(|t| t.0));
    let result = bench(flags, &kafka, spec, prefix, &mut topics).await;
    bk::delete(&kafka, &topics).await;
    result
}

async fn bench(
    flags: &Flags,
    kafka: &KafkaConfig,
    spec: TopologySpec,
    prefix: String,
    topics: &mut Vec<String>,
) -> Res<()> {
    let probes_per_run = flags.get("probes", 5_000) as usize;
    let rounds = flags.runs;
    let codec = Arc::new(Codec::bundled().map_err(|e| e.to_string())?);
    // Probe indices: the pipeline's first (their assets and findings are loaded up front).
    let pipeline_probes = WARM + PEAK_BACKLOG + rounds * 2 * probes_per_run;
    let total = pipeline_probes + rounds * 3 * (probes_per_run + 50);
    let now = pr::now_ms();
    let mut lookup = HashMap::new();
    let mut payloads = Vec::with_capacity(total);
    for i in 0..total {
        let cve = probe_cve(i);
        let value =
            codec.encode(&Event::Advisory(pr::advisory(&cve, now))).map_err(|e| e.to_string())?;
        lookup.insert(cve.clone().into_bytes(), i);
        if i < pipeline_probes {
            lookup.insert(campaign_of(&probe_package(i)).into_bytes(), i);
        }
        payloads.push((cve.into_bytes(), value));
    }
    let (assets, findings) =
        (pr::topic(&spec, EventKind::AssetTelemetry)?, pr::topic(&spec, EventKind::Finding)?);
    let advisories = pr::topic(&spec, EventKind::Advisory)?;
    let bulk = bk::bulk_producer(kafka)?;
    let t = Instant::now();
    let send = |topic: &str, e: Event| -> Res<()> {
        let value = codec.encode(&e).map_err(|e| e.to_string())?;
        bk::send(&bulk, topic, e.key().as_bytes(), &value)
    };
    for i in 0..pipeline_probes {
        let id = format!("probe-asset-{i}");
        send(&assets, Event::AssetTelemetry(pr::asset(&id, Environment::Development, now)))?;
        send(&findings, Event::Finding(pr::finding(&id, &probe_cve(i), &probe_package(i), now)))?;
    }
    rdkafka::producer::Producer::flush(&bulk, Duration::from_secs(300))
        .map_err(bk::err("flush"))?;
    println!(
        "bench_latency: loaded {pipeline_probes} probe assets and findings in {:.1}s; load \
         average {:.2}",
        t.elapsed().as_secs_f64(),
        load_average()
    );
    // The pipeline: both stages, as `patchline run` runs them.
    let metrics = Metrics::new().map_err(|e| e.to_string())?;
    let exposures = pr::topic(&spec, EventKind::Exposure)?;
    let exposures_in_plan = metrics.stage("plan").records_in(&exposures);
    let assess_in: Vec<IntCounter> =
        [&assets, &findings].iter().map(|t| metrics.stage("assess").records_in(t)).collect();
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let seed = {
        use std::io::Read as _;
        let mut s = [0u8; 32];
        std::fs::File::open("/dev/urandom")
            .and_then(|mut f| f.read_exact(&mut s))
            .map_err(|e| format!("/dev/urandom: {e}"))?;
        s
    };
    let policy = "[blast_radius]\nshare = 1.0\nmin = 1\n[service_cap]\nshare = 1.0\nmin = 1\n";
    let options = ProcessorOptions {
        policy: None,
        plan_policy: Some(PlanPolicy::from_toml(policy).map_err(|e| e.to_string())?),
        signing_key: Some(Signer::from_seed(&seed)),
        shadow: Some(false),
        ..ProcessorOptions::default()
    };
    let mut tasks = Vec::new();
    let mut keep = Vec::new();
    for stage in spec.stages.clone() {
        let job = KafkaStage {
            spec: spec.clone(),
            stage,
            kafka: kafka.clone(),
            codec: codec.clone(),
            metrics: metrics.clone(),
            config: RunnerConfig::default(),
            instance: "bench".into(),
            options: options.clone(),
        };
        let (queries, rx) = tokio::sync::mpsc::channel(1);
        keep.push(queries);
        tasks.push(tokio::spawn(run_stage(job, stop_rx.clone(), rx, || {})));
    }
    let loaded = (2 * pipeline_probes) as u64;
    let t = Instant::now();
    while assess_in.iter().map(IntCounter::get).sum::<u64>() < loaded {
        if t.elapsed() > Duration::from_secs(900) || tasks.iter().any(|t| t.is_finished()) {
            return Err("the pipeline did not take in the loaded records".into());
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    println!("pipeline up and loaded in {:.1}s", t.elapsed().as_secs_f64());
    let mut lab = Lab {
        kafka: kafka.clone(),
        prefix,
        codec,
        probes: Probes::new(total),
        lookup: Arc::new(lookup),
        payloads,
        advisories,
        commands: pr::topic(&spec, EventKind::DeploymentCommand)?,
        assets,
        findings,
        exposures_in_plan,
        next: 0,
        next_pass: pipeline_probes,
        topics: Vec::new(),
    };
    let (rate, kev) = (flags.get("rate", 0) as f64, flags.get("kev", 3) as usize);
    let result = measure(&mut lab, probes_per_run, rounds, rate, kev).await;
    topics.append(&mut lab.topics);
    let _ = stop_tx.send(true);
    for t in tasks {
        match t.await {
            Ok(Ok(summary)) => println!("stage finished: {summary:?}"),
            Ok(Err(e)) => println!("stage failed during the run: {e}"),
            Err(e) => println!("stage task failed: {e}"),
        }
    }
    result
}

async fn measure(lab: &mut Lab, per_run: usize, rounds: usize, rate: f64, kev: usize) -> Res<()> {
    // The KEV fan-out first, while the plan stage has no other command in flight (its cost per
    // exposure grows with the commands in flight, see BENCHMARKS.md).
    let kev = kev_runs(lab, kev).await?;
    let warm = lab.take(WARM);
    let (_, lost) = pipeline_run(lab, warm, 200.0).await?;
    println!("pipeline warm-up: {} of {WARM} probes got their command", WARM - lost);
    let backlog = lab.take(PEAK_BACKLOG);
    let (lat, lost) = pipeline_run(lab, backlog.clone(), 1e9).await?;
    if lost > 0 {
        return Err(format!("{lost} of the {PEAK_BACKLOG} peak probes got no command"));
    }
    let pipe_peak = backlog.len() as f64 / (lat.iter().copied().fold(0.0, f64::max) / 1e3);
    let peak = pass_peak(lab).await?;
    let load = if rate > 0.0 { rate } else { peak / 2.0 };
    let low = (pipe_peak / 2.0).min(load);
    println!(
        "pass-through peak {peak:.0} events/s, pipeline peak {pipe_peak:.0} probes/s; load \
         {load:.0}/s (half the pass-through's peak), low load {low:.0}/s (half the pipeline's \
         peak)"
    );
    let names = [
        "pass 1 hop @P/2",
        "pass 2 hops @P/2",
        "pipeline @P/2",
        "pass 2 hops @low",
        "pipeline @low",
    ];
    let mut p99: Vec<Vec<f64>> = vec![Vec::new(); names.len()];
    for round in 0..rounds {
        for step in 0..names.len() {
            let v = (round + step) % names.len();
            let r = if v < 3 { load } else { low };
            // At low load, at most 10 s of probes (at least 200).
            let n = match v {
                2 => per_run.min(PIPELINE_AT_HALF_PEAK),
                0 | 1 => per_run,
                _ => per_run.min(((r * 10.0) as usize).max(100)),
            };
            let (mut l, missing) = match v {
                0 => pass_run(lab, 1, r, n).await?,
                1 | 3 => pass_run(lab, 2, r, n).await?,
                _ => {
                    let range = lab.take(n);
                    pipeline_run(lab, range, r).await?
                }
            };
            let (p50, q99, max) = lat::summary(&mut l);
            println!(
                "round {} {}: {:.0}/s, p50 {p50:.2} ms, p99 {q99:.2} ms, max {max:.2} ms, \
                 {missing} lost; load {:.2}",
                round + 1,
                names[v],
                r,
                load_average()
            );
            p99[v].push(q99);
        }
    }
    let diff = |a: usize, b: usize| {
        Spread::of(&p99[a].iter().zip(&p99[b]).map(|(x, y)| x - y).collect::<Vec<_>>())
    };
    for (v, name) in names.iter().enumerate() {
        println!("{name}: p99 {} ms", Spread::of(&p99[v]).show(2));
    }
    let (over2, over1, over_low) = (diff(2, 1), diff(2, 0), diff(4, 3));
    println!("pipeline p99 - 2-hop pass-through p99 at P/2: {} ms", over2.show(2));
    println!("pipeline p99 - 1-hop pass-through p99 at P/2: {} ms", over1.show(2));
    println!("pipeline p99 - 2-hop pass-through p99 at low load: {} ms", over_low.show(2));
    let json = serde_json::json!({
        "bench": "latency",
        "passthrough_peak": peak, "pipeline_peak": pipe_peak, "load": load, "low_load": low,
        "p99_over_two_hop_ms": over2.json(), "p99_over_one_hop_ms": over1.json(),
        "p99_over_two_hop_low_load_ms": over_low.json(),
        "kev_last_command_ms": kev.0.json(), "kev_exposures_planned_ms": kev.1.json(),
    });
    println!("{json}");
    println!("G3 p99_over_passthrough_ms={:.2}", over2.median);
    println!("G3 kev_fanout_last_command_ms={:.1}", kev.0.median);
    Ok(())
}

/// Sends probes `range` at `rate` and collects their latencies (ms) until all arrived or 120 s.
async fn collect(
    lab: &Lab,
    topic: &str,
    outputs: &[String],
    range: std::ops::Range<usize>,
    rate: f64,
) -> Res<(Vec<f64>, usize)> {
    let stop = Arc::new(AtomicBool::new(false));
    let rx =
        lat::receiver(&lab.kafka, outputs, lab.lookup.clone(), lab.probes.clone(), stop.clone())?;
    let (kafka, probes, topic) = (lab.kafka.clone(), lab.probes.clone(), topic.to_string());
    let records = lab.payloads[range.clone()].to_vec();
    let first = range.start;
    let marker = outputs[0].clone();
    let sent = tokio::task::spawn_blocking(move || {
        let p = lat::producer(&kafka)?;
        lat::await_receiver(&p, &marker, &probes)?;
        lat::generate(&p, &topic, &records, first, rate, &probes)
    });
    sent.await.map_err(|e| e.to_string())??;
    let probes = lab.probes.clone();
    let r = range.clone();
    tokio::task::spawn_blocking(move || probes.wait(r, Duration::from_secs(120)))
        .await
        .map_err(|e| e.to_string())?;
    stop.store(true, Relaxed);
    let _ = rx.join();
    Ok(lab.probes.latencies(range))
}

async fn pipeline_run(
    lab: &mut Lab,
    range: std::ops::Range<usize>,
    rate: f64,
) -> Res<(Vec<f64>, usize)> {
    let (advisories, commands) = (lab.advisories.clone(), vec![lab.commands.clone()]);
    collect(lab, &advisories, &commands, range, rate).await
}

/// The pass-through chain of `hops` hops at `rate` over topics of its own (so no group reads an
/// earlier run's records), 50 unmeasured probes first.
async fn pass_run(lab: &mut Lab, hops: usize, rate: f64, n: usize) -> Res<(Vec<f64>, usize)> {
    let run = lab.next_pass;
    let names: Vec<String> =
        (0..=hops).map(|h| format!("{}bench.pt-{run}-{h}", lab.prefix)).collect();
    bk::create(&lab.kafka, &names.iter().map(|t| (t.clone(), 1)).collect::<Vec<_>>()).await?;
    lab.topics.extend(names.iter().cloned());
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let mut tasks = Vec::new();
    for h in 0..hops {
        let (kafka, stop) = (lab.kafka.clone(), Stop::Signal(stop_rx.clone()));
        let (from, to) = (names[h].clone(), names[h + 1].clone());
        let group = format!("{}pt-{run}-{h}", lab.prefix);
        let interval = RunnerConfig::default().commit_interval;
        tasks.push(tokio::spawn(async move {
            bk::pass_through(&kafka, &group, &[from], &to, stop, interval).await
        }));
    }
    let (input, output) = (names[0].clone(), vec![names[hops].clone()]);
    let warm = lab.take_pass(50);
    let (_, lost) = collect(lab, &input, &output, warm, 1_000.0).await?;
    if lost > 0 {
        return Err(format!("the pass-through lost {lost} warm-up probes"));
    }
    let range = lab.take_pass(n);
    let result = collect(lab, &input, &output, range, rate).await;
    let _ = stop_tx.send(true);
    for task in tasks {
        task.await.map_err(|e| e.to_string())??;
    }
    result
}

/// The pass-through's rate over a backlog of 50,000 probe-shaped records.
async fn pass_peak(lab: &mut Lab) -> Res<f64> {
    let topic = format!("{}bench.pt-peak", lab.prefix);
    let bulk = bk::bulk_producer(&lab.kafka)?;
    for (key, value) in lab.payloads.iter().cycle().take(PEAK_RECORDS) {
        bk::send(&bulk, &topic, key, value)?;
    }
    rdkafka::producer::Producer::flush(&bulk, Duration::from_secs(60)).map_err(bk::err("flush"))?;
    let out = format!("{}bench.pt-peak-out", lab.prefix);
    let group = format!("{}pt-peak", lab.prefix);
    let interval = RunnerConfig::default().commit_interval;
    let p = bk::pass_through(
        &lab.kafka,
        &group,
        &[topic],
        &out,
        Stop::After(PEAK_RECORDS as u64),
        interval,
    )
    .await?;
    let first = p.first.ok_or("the peak pass-through read nothing")?;
    Ok(p.records as f64 / (p.end - first).as_secs_f64())
}
