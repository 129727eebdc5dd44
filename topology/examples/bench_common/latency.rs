//! Latency measurement of `bench_latency`: an open-loop generator that sends probe records at a
//! fixed rate and notes when each left, a receiver thread that notes when each probe's result
//! arrived on the output topics, and percentiles.
//!
//! Both clocks are one `Instant` base in this process, so a latency is receive time minus send
//! time of the same probe, with no clock skew. The generator sends on the runtime's producer
//! settings with `linger.ms=1`, and the receiver is a plain consumer from the topics' end; both
//! are the same for the pass-through and the pipeline, so what they add cancels in a difference.

use super::kafka::{err, Res};
use patchline_topology::kafka::config::KafkaConfig;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::error::{KafkaError, RDKafkaErrorCode};
use rdkafka::message::Message;
use rdkafka::producer::{BaseProducer, BaseRecord, Producer};
use rdkafka::{Offset, TopicPartitionList};
use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering::Relaxed};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Send and receive times of every probe, in nanoseconds after `base` (0: not yet).
pub struct Probes {
    pub base: Instant,
    pub sent: Vec<AtomicU64>,
    pub received: Vec<AtomicU64>,
    /// Set by a receiver when it reads a [`READY_KEY`] record: it is fetching.
    pub ready: AtomicBool,
}

/// Key of the marker record that tells a new receiver is fetching (a fresh consumer reads
/// nothing for about half a second after its assignment; probes sent meanwhile would wait).
pub const READY_KEY: &[u8] = b"bench-receiver-ready";

impl Probes {
    pub fn new(n: usize) -> Arc<Probes> {
        Arc::new(Probes {
            base: Instant::now(),
            sent: (0..n).map(|_| AtomicU64::new(0)).collect(),
            received: (0..n).map(|_| AtomicU64::new(0)).collect(),
            ready: AtomicBool::new(false),
        })
    }

    fn now(&self) -> u64 {
        self.base.elapsed().as_nanos() as u64
    }

    /// Latencies in milliseconds of probes `range` that arrived, and how many did not.
    pub fn latencies(&self, range: std::ops::Range<usize>) -> (Vec<f64>, usize) {
        let mut out = Vec::with_capacity(range.len());
        let mut missing = 0;
        for i in range {
            let (s, r) = (self.sent[i].load(Relaxed), self.received[i].load(Relaxed));
            if s == 0 || r == 0 {
                missing += 1;
            } else {
                out.push(r.saturating_sub(s) as f64 / 1e6);
            }
        }
        (out, missing)
    }

    /// Probes of `range` that arrived.
    pub fn arrived(&self, range: std::ops::Range<usize>) -> usize {
        range.filter(|&i| self.received[i].load(Relaxed) != 0).count()
    }

    /// Waits until every probe of `range` arrived or `timeout` passed; returns how many arrived.
    pub fn wait(&self, range: std::ops::Range<usize>, timeout: Duration) -> usize {
        let deadline = Instant::now() + timeout;
        loop {
            let n = self.arrived(range.clone());
            if n == range.len() || Instant::now() > deadline {
                return n;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

/// The generator's producer: the runtime's producer settings with `linger.ms=1`.
pub fn producer(kafka: &KafkaConfig) -> Res<BaseProducer> {
    let mut c = kafka.producer();
    c.set("linger.ms", "1");
    c.create().map_err(err("generator producer"))
}

/// Sends `records[i]` (key, value) for probe `first + i` at `rate` per second, open loop: each
/// record leaves at its scheduled time however late the earlier ones are.
pub fn generate(
    p: &BaseProducer,
    topic: &str,
    records: &[(Vec<u8>, Vec<u8>)],
    first: usize,
    rate: f64,
    probes: &Probes,
) -> Res<()> {
    let start = Instant::now();
    for (i, (key, value)) in records.iter().enumerate() {
        let due = start + Duration::from_secs_f64(i as f64 / rate);
        let now = Instant::now();
        if due > now + Duration::from_micros(500) {
            std::thread::sleep(due - now);
        }
        probes.sent[first + i].store(probes.now(), Relaxed);
        loop {
            match p.send(BaseRecord::to(topic).key(key).payload(value)) {
                Ok(()) => break,
                Err((KafkaError::MessageProduction(RDKafkaErrorCode::QueueFull), _)) => {
                    p.poll(Duration::from_millis(1));
                }
                Err((e, _)) => return Err(format!("generator: {e}")),
            }
        }
        if i % 256 == 0 {
            p.poll(Duration::ZERO);
        }
    }
    p.flush(Duration::from_secs(30)).map_err(err("generator flush"))
}

/// Writes marker records to `topic` until the receiver of `probes` has read one (10 s at most).
pub fn await_receiver(p: &BaseProducer, topic: &str, probes: &Probes) -> Res<()> {
    probes.ready.store(false, Relaxed);
    let deadline = Instant::now() + Duration::from_secs(10);
    while !probes.ready.load(Relaxed) {
        if Instant::now() > deadline {
            return Err(format!("the receiver of {topic} read no marker within 10 s"));
        }
        let _ = p.send(BaseRecord::to(topic).key(READY_KEY).payload(b"".as_slice()));
        p.flush(Duration::from_secs(5)).map_err(err("marker flush"))?;
        std::thread::sleep(Duration::from_millis(50));
    }
    Ok(())
}

/// Maps an output record's key to its probe.
pub type Lookup = Arc<HashMap<Vec<u8>, usize>>;

/// A thread that reads `topics` from their current end and notes the arrival of every record
/// whose key maps to a probe (the first arrival counts); stops when `stop` turns true.
pub fn receiver(
    kafka: &KafkaConfig,
    topics: &[String],
    lookup: Lookup,
    probes: Arc<Probes>,
    stop: Arc<AtomicBool>,
) -> Res<std::thread::JoinHandle<u64>> {
    let consumer = from_end(kafka, topics)?;
    Ok(std::thread::spawn(move || {
        let mut seen = 0u64;
        while !stop.load(Relaxed) {
            let Some(Ok(m)) = consumer.poll(Duration::from_millis(20)) else { continue };
            if m.key() == Some(READY_KEY) {
                probes.ready.store(true, Relaxed);
                continue;
            }
            let Some(&i) = m.key().and_then(|k| lookup.get(k)) else { continue };
            let _ = probes.received[i].compare_exchange(0, probes.now(), Relaxed, Relaxed);
            seen += 1;
        }
        seen
    }))
}

/// A thread that reads `topics` from their current end and notes, in nanoseconds after `base`,
/// the arrival of every record whose key is in `keys` (also the newest in the returned atomic);
/// returns them all when `stop` turns true.
pub fn arrivals(
    kafka: &KafkaConfig,
    topics: &[String],
    keys: std::collections::HashSet<Vec<u8>>,
    base: Instant,
    stop: Arc<AtomicBool>,
) -> Res<(std::thread::JoinHandle<Vec<u64>>, Arc<AtomicU64>)> {
    let consumer = from_end(kafka, topics)?;
    let latest = Arc::new(AtomicU64::new(0));
    let newest = latest.clone();
    let handle = std::thread::spawn(move || {
        let mut out = Vec::new();
        while !stop.load(Relaxed) {
            let Some(Ok(m)) = consumer.poll(Duration::from_millis(20)) else { continue };
            if m.key().is_some_and(|k| keys.contains(k)) {
                let t = base.elapsed().as_nanos() as u64;
                out.push(t);
                newest.store(t, Relaxed);
            }
        }
        out
    });
    Ok((handle, latest))
}

/// A consumer assigned every partition of `topics` at its current high watermark.
fn from_end(kafka: &KafkaConfig, topics: &[String]) -> Res<BaseConsumer> {
    let mut c = kafka.consumer(&format!("bench-receiver-{}", std::process::id()));
    c.set("fetch.wait.max.ms", "10");
    let consumer: BaseConsumer = c.create().map_err(err("receiver"))?;
    let mut tpl = TopicPartitionList::new();
    for t in topics {
        let metadata =
            consumer.fetch_metadata(Some(t), Duration::from_secs(10)).map_err(err("metadata"))?;
        for p in metadata.topics().iter().flat_map(|m| m.partitions()) {
            let (_, high) = consumer
                .fetch_watermarks(t, p.id(), Duration::from_secs(10))
                .map_err(err("watermarks"))?;
            tpl.add_partition_offset(t, p.id(), Offset::Offset(high)).map_err(err("assign"))?;
        }
    }
    consumer.assign(&tpl).map_err(err("assign"))?;
    Ok(consumer)
}

/// The `q` quantile (0..=1) of `v` (sorted here), nearest rank.
pub fn quantile(v: &mut [f64], q: f64) -> f64 {
    if v.is_empty() {
        return f64::NAN;
    }
    v.sort_by(f64::total_cmp);
    let rank = ((q * v.len() as f64).ceil() as usize).clamp(1, v.len());
    v[rank - 1]
}

/// `p50 / p99 / max` in milliseconds.
pub fn summary(v: &mut [f64]) -> (f64, f64, f64) {
    (quantile(v, 0.5), quantile(v, 0.99), quantile(v, 1.0))
}
