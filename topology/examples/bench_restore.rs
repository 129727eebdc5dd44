//! Benchmark: time to restore the assess state from a findings topic, per million keys, as a
//! ratio to a plain read of the same topic; and restored heap as a ratio to the raw payload.
//! Needs a real Kafka broker: `PATCHLINE_KAFKA_BROKERS` (default 127.0.0.1:9092);
//! `PATCHLINE_BENCH_KAFKA_PROPERTIES=k=v,k=v` adds librdkafka properties to every client.
//!
//! How it is measured:
//! - A fresh topic (the bundled topology's findings topic under a unique prefix, 3 partitions)
//!   gets K finding records (`--keys`, default 1,000,000): distinct (asset, CVE, package) keys,
//!   `--findings` per asset (default 3), one scanner each, Avro values from `Codec::bundled()`,
//!   keyed by asset id, `partitioner=murmur2_random`, lz4, large batches. Not timed.
//! - (a) plain read: a `BaseConsumer` with the same client settings as the replay, assigned
//!   every partition from its low watermark, polls to the high watermark and only adds up key
//!   and payload lengths.
//! - (b) restore, the runtime's own path: `Replay::start` over (topic, partition, high
//!   watermark), `Replay::next` per record, `runner::restore_record` (decode + `Processor::
//!   restore`) into the fresh processor of a `StagePlan` built from the bundled topology's
//!   `assess` stage.
//! - (c) the same restore into a processor that already holds the advisories of every CVE and
//!   every asset (loaded untimed), so each finding builds its exposure: the worst case when the
//!   asset partitions are replayed before the findings.
//! - Both clocks start before the consumer is created. One untimed plain read warms the broker
//!   first; then `--runs` rounds (default 3), each measuring a, b and c in a rotating order.
//!   Reported: seconds per million keys (median, min-max), and the median of the per-round
//!   ratios b/a and c/a. Restored heap = live requested bytes (counting allocator) added by the
//!   restore, divided by the raw payload (sum of the record values, i.e. Avro with framing).
//! - The topic is deleted at the end, also after a failure.
//!
//! Output: one line per measurement and a final JSON line starting with `{"bench":"restore"`.

mod bench_common;

use bench_common::gen::{Workload, CVES};
use bench_common::topic::{produce, watermarks};
use bench_common::{heap_now, mib, set_counting, CountingAlloc, Flags, Spread};
use patchline_processors::events::{Event, EventKind};
use patchline_topology::codec::{Codec, Format};
use patchline_topology::kafka::config::KafkaConfig;
use patchline_topology::kafka::rebalance::QuietContext;
use patchline_topology::kafka::replay::Replay;
use patchline_topology::runtime::runner::restore_record;
use patchline_topology::runtime::stage::StagePlan;
use patchline_topology::spec::{StageSpec, TopologySpec};
use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, TopicReplication};
use rdkafka::client::DefaultClientContext;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::error::KafkaError;
use rdkafka::{Message, Offset, TopicPartitionList};
use std::sync::Arc;
use std::time::{Duration, Instant};

#[global_allocator]
static ALLOC: CountingAlloc = CountingAlloc;

type Res<T> = Result<T, String>;

fn err(context: &str) -> impl Fn(KafkaError) -> String + '_ {
    move |e| format!("{context}: {e}")
}

/// Everything the rounds share.
struct Bench {
    kafka: KafkaConfig,
    spec: TopologySpec,
    stage: StageSpec,
    topic: Arc<str>,
    codec: Codec,
    workload: Workload,
    keys: usize,
    assets: usize,
    /// High watermark per partition.
    high: Vec<i64>,
}

/// One timed read.
struct Read {
    secs: f64,
    records: u64,
    heap: i64,
    open_exposures: usize,
}

fn main() {
    let flags = Flags::parse();
    let brokers =
        std::env::var("PATCHLINE_KAFKA_BROKERS").unwrap_or_else(|_| "127.0.0.1:9092".into());
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("a tokio runtime can be built");
    if let Err(e) = runtime.block_on(run(&flags, &brokers)) {
        eprintln!("bench_restore failed: {e}");
        std::process::exit(1);
    }
}

async fn run(flags: &Flags, brokers: &str) -> Res<()> {
    let mut kafka = KafkaConfig::new(brokers);
    // Extra librdkafka properties for every client (both reads alike), as `k=v,k=v`.
    let extra = std::env::var("PATCHLINE_BENCH_KAFKA_PROPERTIES").unwrap_or_default();
    for kv in extra.split(',').filter(|kv| !kv.trim().is_empty()) {
        let (k, v) = kv.split_once('=').ok_or(format!("not k=v: {kv}"))?;
        kafka.properties.insert(k.trim().to_string(), v.trim().to_string());
    }
    let millis = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis());
    let prefix = format!("bench-{}-{millis}.", std::process::id());
    let spec = TopologySpec::default_topology().map_err(|e| e.to_string())?.with_prefix(&prefix);
    let stage = spec.stages.iter().find(|s| s.processor == "assess").cloned();
    let stage = stage.ok_or("the bundled topology has no assess stage")?;
    let findings = spec.topics.iter().find(|t| t.event_kind() == Some(EventKind::Finding));
    let findings = findings.ok_or("the bundled topology has no findings topic")?;
    let (topic, partitions) = (findings.name.clone(), findings.partitions);
    let admin: AdminClient<DefaultClientContext> =
        kafka.client().create().map_err(err("admin client"))?;
    let new_topic = NewTopic::new(&topic, partitions, TopicReplication::Fixed(1));
    let created = admin.create_topics([&new_topic], &AdminOptions::new()).await;
    created
        .map_err(err("create topic"))?
        .into_iter()
        .try_for_each(|r| r.map(|_| ()).map_err(|(t, e)| format!("create topic {t}: {e}")))?;
    println!(
        "bench_restore: broker {brokers}, topic {topic} ({partitions} partitions), extra \
         properties {:?}",
        kafka.properties
    );
    let result = bench(flags, kafka, spec, stage, &topic).await;
    let deleted = admin.delete_topics(&[topic.as_str()], &AdminOptions::new()).await;
    match deleted.map_err(err("delete topic")).map(|r| r.into_iter().all(|x| x.is_ok())) {
        Ok(true) => println!("deleted topic {topic}"),
        Ok(false) => eprintln!("topic {topic} could not be deleted"),
        Err(e) => eprintln!("{e}"),
    }
    result
}

async fn bench(
    flags: &Flags,
    kafka: KafkaConfig,
    spec: TopologySpec,
    stage: StageSpec,
    topic: &str,
) -> Res<()> {
    let codec = Codec::bundled().map_err(|e| e.to_string())?;
    let workload = Workload::new(flags.seed, flags.findings, 0);
    let keys = flags.keys;
    let assets = keys.div_ceil(flags.findings);
    let t = Instant::now();
    let (raw_values, raw_keys) = produce(&kafka, topic, &codec, &workload, keys)?;
    let high = watermarks(&kafka, topic)?;
    let stored: i64 = high.iter().sum();
    if stored != keys as i64 {
        return Err(format!("produced {keys} records but the topic holds {stored}"));
    }
    println!(
        "produced {keys} records over {assets} assets in {:.1}s: values {} ({:.1} B/record), \
         keys {}; per partition {high:?}",
        t.elapsed().as_secs_f64(),
        mib(raw_values as i64),
        raw_values as f64 / keys as f64,
        mib(raw_keys as i64)
    );
    let b =
        Bench { kafka, spec, stage, topic: Arc::from(topic), codec, workload, keys, assets, high };
    let warm = plain_read(&b)?;
    println!("warm-up plain read: {:.2}s", warm.secs);
    set_counting(false);
    let (mut a, mut r, mut c, mut parts) = (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    for round in 0..flags.runs {
        for step in 0..3 {
            match (round + step) % 3 {
                0 => a.push(plain_read(&b)?),
                1 => r.push(restore(&b, false, false).await?),
                _ => c.push(restore(&b, true, false).await?),
            }
        }
        parts.push(in_memory(&b)?);
        let last = |v: &[Read]| v.last().map_or(f64::NAN, |x| x.secs);
        println!(
            "round {}: plain {:.2}s, restore {:.2}s ({:.2}x), restore with assets {:.2}s ({:.2}x)",
            round + 1,
            last(&a),
            last(&r),
            last(&r) / last(&a),
            last(&c),
            last(&c) / last(&a)
        );
    }
    for (name, reads) in [("plain", &a), ("restore", &r), ("restore with assets", &c)] {
        if let Some(bad) = reads.iter().find(|x| x.records != keys as u64) {
            return Err(format!("{name} read {} records, expected {keys}", bad.records));
        }
    }
    let per_m =
        |v: &[Read]| Spread::of(&v.iter().map(|x| x.secs * 1e6 / keys as f64).collect::<Vec<_>>());
    let ratio = |v: &[Read]| {
        Spread::of(&v.iter().zip(&a).map(|(x, p)| x.secs / p.secs).collect::<Vec<_>>())
    };
    let (plain_s, restore_s, with_assets_s) = (per_m(&a), per_m(&r), per_m(&c));
    let (restore_ratio, with_assets_ratio) = (ratio(&r), ratio(&c));
    // Heap: one more restore of each kind with the allocator counting (not timed).
    let restored = restore(&b, false, true).await?.heap as f64;
    let with_assets = restore(&b, true, true).await?;
    let heap_ratio = restored / raw_values as f64;
    println!("plain read: {} s per million keys", plain_s.show(3));
    println!("restore: {} s per million keys", restore_s.show(3));
    println!("restore / plain read: {}", restore_ratio.show(3));
    let decode_s = Spread::of(&parts.iter().map(|x| x.0 * 1e6 / keys as f64).collect::<Vec<_>>());
    let apply_s = Spread::of(&parts.iter().map(|x| x.1 * 1e6 / keys as f64).collect::<Vec<_>>());
    println!(
        "in memory, no Kafka: codec decode {} s per million keys, Processor::restore {} s per \
         million keys",
        decode_s.show(3),
        apply_s.show(3)
    );
    println!(
        "restore with advisories and assets held: {} s per million keys",
        with_assets_s.show(3)
    );
    println!("restore with assets / plain read: {}", with_assets_ratio.show(3));
    println!(
        "restored heap: {} ({:.1} B per key; raw payload {:.1} B per key): {:.3}x raw payload",
        mib(restored as i64),
        restored / keys as f64,
        raw_values as f64 / keys as f64,
        heap_ratio
    );
    println!(
        "restore with assets: heap +{} ({:.1} B per key), {} open exposures",
        mib(with_assets.heap),
        with_assets.heap as f64 / keys as f64,
        with_assets.open_exposures
    );
    let json = serde_json::json!({
        "bench": "restore",
        "keys": keys,
        "rounds": flags.runs,
        "raw_value_bytes": raw_values,
        "raw_key_bytes": raw_keys,
        "plain_s_per_million": plain_s.json(),
        "restore_s_per_million": restore_s.json(),
        "restore_ratio": restore_ratio.json(),
        "restore_with_assets_s_per_million": with_assets_s.json(),
        "restore_with_assets_ratio": with_assets_ratio.json(),
        "restored_heap_bytes": restored,
        "restored_with_assets_heap_bytes": with_assets.heap,
        "restored_heap_ratio": heap_ratio,
        "decode_s_per_million": decode_s.json(),
        "apply_s_per_million": apply_s.json(),
    });
    println!("{json}");
    Ok(())
}

/// (a): every record to the high watermark, touching only key and payload lengths. The client
/// settings are the replay's (`kafka::replay`), and like it a `BaseConsumer` polled in a loop.
fn plain_read(b: &Bench) -> Res<Read> {
    let started = Instant::now();
    let mut c = b.kafka.client();
    c.set("group.id", format!("patchline-bench-plain-{}", std::process::id()))
        .set("enable.auto.commit", "false")
        .set("enable.partition.eof", "false")
        .set("auto.offset.reset", "earliest")
        .set("fetch.max.bytes", "67108864")
        .set("max.partition.fetch.bytes", "16777216");
    let consumer: BaseConsumer<QuietContext> =
        c.create_with_context(QuietContext).map_err(err("consumer"))?;
    let mut tpl = TopicPartitionList::new();
    let mut open = 0;
    for (p, &high) in b.high.iter().enumerate() {
        // As the replay does: the explicit low watermark, not the logical `Beginning` (whose
        // offset lookup librdkafka schedules with a delay of its own).
        let (low, _) = consumer
            .fetch_watermarks(&b.topic, p as i32, Duration::from_secs(10))
            .map_err(err("watermarks"))?;
        if high > low {
            tpl.add_partition_offset(&b.topic, p as i32, Offset::Offset(low))
                .map_err(err("assign"))?;
            open += 1;
        }
    }
    consumer.assign(&tpl).map_err(err("assign"))?;
    let (mut records, mut bytes) = (0u64, 0u64);
    let mut last = Instant::now();
    while open > 0 {
        let Some(m) = consumer.poll(Duration::from_millis(100)) else {
            if last.elapsed() > Duration::from_secs(30) {
                return Err(format!("plain read stalled after {records} records"));
            }
            continue;
        };
        let m = m.map_err(err("poll"))?;
        last = Instant::now();
        records += 1;
        bytes += (m.key_len() + m.payload_len()) as u64;
        if b.high.get(m.partition() as usize).is_some_and(|&h| m.offset() + 1 == h) {
            open -= 1;
        }
    }
    let secs = started.elapsed().as_secs_f64();
    std::hint::black_box(bytes);
    Ok(Read { secs, records, heap: 0, open_exposures: 0 })
}

/// (b) and (c): the runtime's restore path into the processor of a fresh stage plan.
async fn restore(b: &Bench, with_assets: bool, count_heap: bool) -> Res<Read> {
    set_counting(count_heap);
    let mut plan = StagePlan::build(&b.spec, &b.stage).map_err(|e| e.to_string())?;
    if with_assets {
        let w = &b.workload;
        let events = (0..CVES)
            .map(|c| Event::Advisory(w.advisory(c)))
            .chain((0..b.assets).map(|i| Event::AssetTelemetry(w.asset(i))));
        for e in events {
            plan.processor.restore(e).map_err(|e| e.to_string())?;
        }
    }
    let heap_before = heap_now();
    let started = Instant::now();
    let parts: Vec<(Arc<str>, i32, i64)> =
        b.high.iter().enumerate().map(|(p, &h)| (b.topic.clone(), p as i32, h)).collect();
    let replay = Replay::start(&b.kafka, &parts).map_err(|e| e.to_string())?;
    let mut replay = replay.ok_or("nothing to replay")?;
    let mut records = 0u64;
    while let Some(record) = replay.next().await.map_err(|e| e.to_string())? {
        records += 1;
        if !restore_record(&mut plan, &b.codec, &record).await {
            return Err(format!("record at offset {} did not restore", record.offset));
        }
    }
    let secs = started.elapsed().as_secs_f64();
    drop(replay);
    let heap = heap_now() - heap_before;
    set_counting(false);
    let sizes = plan.processor.state_sizes();
    let open_exposures = sizes.iter().find(|(n, _)| *n == "open_exposures").map_or(0, |x| x.1);
    let findings = sizes.iter().find(|(n, _)| *n == "findings").map_or(0, |x| x.1);
    if findings != b.keys {
        return Err(format!("restored {findings} findings, expected {}", b.keys));
    }
    Ok(Read { secs, records, heap, open_exposures })
}

/// The two CPU parts of a restore without Kafka: (seconds decoding, seconds in
/// `Processor::restore`) for the same records, encoded in batches of 10,000 beforehand (untimed).
fn in_memory(b: &Bench) -> Res<(f64, f64)> {
    let mut plan = StagePlan::build(&b.spec, &b.stage).map_err(|e| e.to_string())?;
    let (mut decode, mut apply, mut left) = (0.0, 0.0, b.keys);
    let mut batch: Vec<Vec<u8>> = Vec::with_capacity(10_000);
    let mut i = 0;
    while left > 0 {
        batch.clear();
        while batch.len() < 10_000 && left > 0 {
            for f in b.workload.findings(i).into_iter().take(left) {
                batch.push(b.codec.encode(&Event::Finding(f)).map_err(|e| e.to_string())?);
                left -= 1;
            }
            i += 1;
        }
        let t = Instant::now();
        let events: Vec<Event> = batch
            .iter()
            .map(|v| b.codec.decode(EventKind::Finding, Format::Avro, v))
            .collect::<Result<_, _>>()
            .map_err(|e| e.to_string())?;
        decode += t.elapsed().as_secs_f64();
        let t = Instant::now();
        for e in events {
            plan.processor.restore(e).map_err(|e| e.to_string())?;
        }
        apply += t.elapsed().as_secs_f64();
    }
    Ok((decode, apply))
}
