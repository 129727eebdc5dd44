//! Kafka helpers of the Kafka benchmarks (`bench_kafka`, `bench_latency`): the broker settings
//! from the environment, topics created and deleted by the benchmark, bulk production of a
//! corpus (never timed), and the plain consume-then-produce pass-through that the processor is
//! compared with.
//!
//! The pass-through uses the runtime's own client settings: its consumer is a group member built
//! from `KafkaConfig::consumer` (a `StreamConsumer`, like the stage's), its producer a
//! `ThreadedProducer` from `KafkaConfig::producer` (idempotent, acks=all, lz4, linger 5 ms, like
//! the stage's sink). It forwards every record's key and value unchanged, commits the positions
//! it has read every commit interval without waiting for deliveries, and at the end flushes the
//! producer and commits synchronously.

use patchline_topology::kafka::config::KafkaConfig;
use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, TopicReplication};
use rdkafka::client::DefaultClientContext;
use rdkafka::consumer::{CommitMode, Consumer, StreamConsumer};
use rdkafka::error::{KafkaError, RDKafkaErrorCode};
use rdkafka::message::Message;
use rdkafka::producer::ThreadedProducer;
use rdkafka::producer::{BaseProducer, BaseRecord, DeliveryResult, Producer, ProducerContext};
use rdkafka::{ClientContext, Offset, TopicPartitionList};
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::watch;

pub type Res<T> = Result<T, String>;

pub fn err(context: &str) -> impl Fn(KafkaError) -> String + '_ {
    move |e| format!("{context}: {e}")
}

/// `PATCHLINE_KAFKA_BROKERS` (default 127.0.0.1:9092) plus `PATCHLINE_BENCH_KAFKA_PROPERTIES`
/// (`k=v,k=v`), which every client of the benchmark gets alike.
pub fn config() -> Res<KafkaConfig> {
    let brokers =
        std::env::var("PATCHLINE_KAFKA_BROKERS").unwrap_or_else(|_| "127.0.0.1:9092".into());
    let mut kafka = KafkaConfig::new(&brokers);
    let extra = std::env::var("PATCHLINE_BENCH_KAFKA_PROPERTIES").unwrap_or_default();
    for kv in extra.split(',').filter(|kv| !kv.trim().is_empty()) {
        let (k, v) = kv.split_once('=').ok_or(format!("not k=v: {kv}"))?;
        kafka.properties.insert(k.trim().to_string(), v.trim().to_string());
    }
    Ok(kafka)
}

/// A topic prefix no other run uses.
pub fn unique_prefix(bench: &str) -> String {
    let millis = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis());
    format!("bench-{bench}-{}-{millis}.", std::process::id())
}

/// Creates plain topics (name, partitions).
pub async fn create(kafka: &KafkaConfig, topics: &[(String, i32)]) -> Res<()> {
    let admin: AdminClient<DefaultClientContext> =
        kafka.client().create().map_err(err("admin client"))?;
    let new: Vec<NewTopic<'_>> =
        topics.iter().map(|(t, p)| NewTopic::new(t, *p, TopicReplication::Fixed(1))).collect();
    let created = admin.create_topics(&new, &AdminOptions::new()).await;
    created
        .map_err(err("create topics"))?
        .into_iter()
        .try_for_each(|r| r.map(|_| ()).map_err(|(t, e)| format!("create topic {t}: {e}")))
}

/// Deletes topics, reporting (not failing on) what could not be deleted.
pub async fn delete(kafka: &KafkaConfig, topics: &[String]) {
    let Ok(admin) = kafka.client().create::<AdminClient<DefaultClientContext>>() else { return };
    let names: Vec<&str> = topics.iter().map(String::as_str).collect();
    match admin.delete_topics(&names, &AdminOptions::new()).await {
        Ok(r) if r.iter().all(|x| x.is_ok()) => println!("deleted {} topics", names.len()),
        Ok(_) | Err(_) => eprintln!("some of the topics {names:?} could not be deleted"),
    }
}

/// A producer for filling topics (large batches, lz4, murmur2 like the runtime's partitioner).
pub fn bulk_producer(kafka: &KafkaConfig) -> Res<BaseProducer> {
    let mut c = kafka.client();
    c.set("partitioner", "murmur2_random")
        .set("compression.type", "lz4")
        .set("linger.ms", "50")
        .set("batch.size", "1000000")
        .set("queue.buffering.max.messages", "1000000")
        .set("queue.buffering.max.kbytes", "1048576")
        .set("acks", "all");
    c.create().map_err(err("producer"))
}

/// Sends one record, waiting while the local queue is full.
pub fn send(p: &BaseProducer, topic: &str, key: &[u8], value: &[u8]) -> Res<()> {
    loop {
        match p.send(BaseRecord::to(topic).key(key).payload(value)) {
            Ok(()) => return Ok(()),
            Err((KafkaError::MessageProduction(RDKafkaErrorCode::QueueFull), _)) => {
                p.poll(Duration::from_millis(10));
            }
            Err((e, _)) => return Err(format!("produce to {topic}: {e}")),
        }
    }
}

/// Counts delivery reports of the pass-through's producer.
#[derive(Default)]
pub struct Deliveries {
    pub ok: AtomicU64,
    pub failed: AtomicU64,
}

pub struct CountingContext(pub Arc<Deliveries>);

impl ClientContext for CountingContext {}

impl ProducerContext for CountingContext {
    type DeliveryOpaque = ();
    fn delivery(&self, result: &DeliveryResult<'_>, _: ()) {
        let counter = if result.is_ok() { &self.0.ok } else { &self.0.failed };
        counter.fetch_add(1, Relaxed);
    }
}

/// When a pass-through stops: after `n` records, or when the signal turns true.
pub enum Stop {
    After(u64),
    Signal(watch::Receiver<bool>),
}

/// What one pass-through run did.
pub struct Passed {
    pub records: u64,
    pub first: Option<Instant>,
    /// After the final flush and synchronous commit.
    pub end: Instant,
}

/// Forwards every record of `inputs` to `output` as consumer group `group` until `stop`.
pub async fn pass_through(
    kafka: &KafkaConfig,
    group: &str,
    inputs: &[String],
    output: &str,
    stop: Stop,
    commit_interval: Duration,
) -> Res<Passed> {
    let consumer: StreamConsumer = kafka.consumer(group).create().map_err(err("consumer"))?;
    let names: Vec<&str> = inputs.iter().map(String::as_str).collect();
    consumer.subscribe(&names).map_err(err("subscribe"))?;
    let deliveries = Arc::new(Deliveries::default());
    let producer: ThreadedProducer<CountingContext> = kafka
        .producer()
        .create_with_context(CountingContext(deliveries.clone()))
        .map_err(err("producer"))?;
    let (limit, mut signal) = match stop {
        Stop::After(n) => (n, None),
        Stop::Signal(rx) => (u64::MAX, Some(rx)),
    };
    let mut positions: HashMap<(String, i32), i64> = HashMap::new();
    let (mut records, mut first) = (0u64, None);
    let mut tick = tokio::time::interval(commit_interval);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let commit = |positions: &HashMap<(String, i32), i64>, mode| -> Res<()> {
        let mut tpl = TopicPartitionList::new();
        for ((t, p), o) in positions {
            tpl.add_partition_offset(t, *p, Offset::Offset(*o)).map_err(err("commit"))?;
        }
        if tpl.count() == 0 {
            return Ok(());
        }
        consumer.commit(&tpl, mode).map_err(err("commit"))
    };
    while records < limit {
        tokio::select! {
            biased;
            changed = wait(&mut signal) => if changed { break },
            _ = tick.tick() => commit(&positions, CommitMode::Async)?,
            m = consumer.recv() => {
                let m = m.map_err(err("consume"))?;
                first.get_or_insert_with(Instant::now);
                let key = m.key().unwrap_or_default();
                let value = m.payload().unwrap_or_default();
                loop {
                    match producer.send(BaseRecord::to(output).key(key).payload(value)) {
                        Ok(()) => break,
                        Err((KafkaError::MessageProduction(RDKafkaErrorCode::QueueFull), _)) => {
                            producer.poll(Duration::from_millis(10));
                        }
                        Err((e, _)) => return Err(format!("pass-through produce: {e}")),
                    }
                }
                positions.insert((m.topic().to_string(), m.partition()), m.offset() + 1);
                records += 1;
            }
        }
    }
    producer.flush(Duration::from_secs(60)).map_err(err("flush"))?;
    commit(&positions, CommitMode::Sync)?;
    let end = Instant::now();
    if deliveries.failed.load(Relaxed) > 0 {
        return Err(format!("{} pass-through deliveries failed", deliveries.failed.load(Relaxed)));
    }
    Ok(Passed { records, first, end })
}

/// True once the signal turns true (or its sender is gone); pending forever without a signal.
async fn wait(signal: &mut Option<watch::Receiver<bool>>) -> bool {
    match signal {
        Some(rx) => {
            let _ = rx.wait_for(|v| *v).await;
            true
        }
        None => std::future::pending().await,
    }
}
