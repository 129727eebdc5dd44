//! The Kafka side of a simulation in lockstep: the topics' ends, whether every stage has caught
//! up with them, the simulator's producer and its reader of the commands topic.
//!
//! **Quiescence.** The pipeline has settled when, for every stage and every partition of every
//! input it reads, the offset the stage committed equals the partition's high watermark. The
//! committed offsets are read first and the high watermarks second. Both only grow, so equality
//! means no record arrived in between, and each stage had processed every record then in its
//! inputs. A stage commits an offset only after every output of the records before it was
//! acknowledged (see `patchline_topology::runtime::offsets`), so those outputs were already in
//! the watermarks and were processed in turn. Punctuation outputs are not covered by commits:
//! the external clock covers them, because a stage reports an instant handled only once its
//! outputs are acknowledged. A check whose committed offsets are still below a watermark seen
//! before (or below the end of what the simulator produced) skips the watermark requests: the
//! stage is behind either way.
//!
//! Invariant: a check never reports a settled pipeline while a record in any stage input is
//! unprocessed or an output of a processed record is undelivered; every Kafka call is bounded
//! by [`TIMEOUT`].

use crate::error::{CliError, Result};
use patchline_processors::events::{DeploymentCommand, Event, EventKind};
use patchline_topology::codec::{Codec, Format};
use patchline_topology::kafka::KafkaConfig;
use patchline_topology::spec::TopologySpec;
use rdkafka::consumer::{BaseConsumer, Consumer, StreamConsumer};
use rdkafka::error::KafkaError;
use rdkafka::message::Message;
use rdkafka::producer::{DeliveryFuture, FutureProducer, FutureRecord};
use rdkafka::types::RDKafkaErrorCode;
use rdkafka::{Offset, TopicPartitionList};
use std::collections::{BTreeMap, VecDeque};
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Bound of every Kafka request, and of waiting for topics to appear.
pub const TIMEOUT: Duration = Duration::from_secs(30);
/// Most records the simulator's producer has unacknowledged at once.
const WINDOW: usize = 10_000;

/// A partition of a topic.
pub type Part = (String, i32);
/// The high watermark of each partition.
pub type Ends = BTreeMap<Part, i64>;

/// A Kafka client error as the CLI reports it.
pub fn kafka_error(e: KafkaError) -> CliError {
    CliError::Runtime(e.into())
}

/// A probe's consumer config: no statistics (nobody reads them).
fn quiet(mut config: rdkafka::ClientConfig) -> rdkafka::ClientConfig {
    config.set("statistics.interval.ms", "0");
    config
}

/// A consumer that only asks for one group's committed offsets (it never joins the group).
struct GroupProbe {
    consumer: BaseConsumer,
    parts: Vec<Part>,
}

/// Reads the offsets the quiescence check compares.
pub struct Probe {
    groups: Vec<GroupProbe>,
    /// Every partition some stage reads.
    inputs: Vec<Part>,
    /// Lower bounds of the high watermarks: the latest seen or produced.
    known: Mutex<Ends>,
    ends: BaseConsumer,
    /// Partitions of every topic of the topology.
    topics: BTreeMap<String, Vec<i32>>,
}

impl Probe {
    /// Waits until every topic of `spec` is visible, then prepares one probe per consumer group
    /// of its stages: `<topology>.<stage>` for the partitioned inputs and
    /// `<topology>.<stage>.global.<instance>` for the global ones. Blocking.
    pub fn open(kafka: &KafkaConfig, spec: &TopologySpec, instance: &str) -> Result<Probe> {
        let ends: BaseConsumer = quiet(kafka.consumer(&format!("{}.sim-probe", spec.name)))
            .create()
            .map_err(kafka_error)?;
        let mut topics = BTreeMap::new();
        let deadline = Instant::now() + TIMEOUT;
        for t in &spec.topics {
            // A topic just created may lack metadata or leaders for a moment.
            loop {
                let found = ends.fetch_metadata(Some(&t.name), TIMEOUT).map(|m| {
                    let t = m.topics().iter().find(|m| m.error().is_none()).map(|m| {
                        let ps = m.partitions();
                        let led = ps.iter().all(|p| p.error().is_none() && p.leader() >= 0);
                        (led, ps.iter().map(|p| p.id()).collect::<Vec<i32>>())
                    });
                    t.filter(|(led, ps)| *led && !ps.is_empty()).map(|(_, ps)| ps)
                });
                match found {
                    Ok(Some(ps)) => {
                        topics.insert(t.name.clone(), ps);
                        break;
                    }
                    Err(e) if Instant::now() > deadline => return Err(kafka_error(e)),
                    _ if Instant::now() > deadline => {
                        return Err(CliError::Config(format!("topic {} has no leader", t.name)))
                    }
                    _ => std::thread::sleep(Duration::from_millis(100)),
                }
            }
        }
        let mut groups = Vec::new();
        for stage in &spec.stages {
            let group = format!("{}.{}", spec.name, stage.name);
            let (global, partitioned): (Vec<&String>, Vec<&String>) =
                stage.inputs.iter().partition(|i| stage.global_inputs.contains(i));
            for (group, inputs) in
                [(format!("{group}.global.{instance}"), global), (group, partitioned)]
            {
                let parts: Vec<Part> = inputs
                    .iter()
                    .flat_map(|t| {
                        let ps = topics.get(t.as_str()).cloned().unwrap_or_default();
                        ps.into_iter().map(|p| (t.to_string(), p))
                    })
                    .collect();
                if parts.is_empty() {
                    continue;
                }
                let consumer = quiet(kafka.consumer(&group)).create().map_err(kafka_error)?;
                groups.push(GroupProbe { consumer, parts });
            }
        }
        let mut inputs: Vec<Part> = groups.iter().flat_map(|g| g.parts.clone()).collect();
        inputs.sort();
        inputs.dedup();
        Ok(Probe { groups, inputs, known: Mutex::new(Ends::new()), ends, topics })
    }

    /// Records that the high watermarks are at least `ends`.
    pub fn note(&self, ends: &Ends) {
        let mut known = self.known.lock().unwrap_or_else(|p| p.into_inner());
        for (part, end) in ends {
            let at = known.entry(part.clone()).or_insert(0);
            *at = (*at).max(*end);
        }
    }

    /// The partitions of `topic`.
    pub fn partitions(&self, topic: &str) -> Vec<Part> {
        let ps = self.topics.get(topic).cloned().unwrap_or_default();
        ps.into_iter().map(|p| (topic.to_string(), p)).collect()
    }

    /// The high watermark of one partition. Blocking; transient errors (a leader not elected
    /// yet, on topics just created) are retried for up to [`TIMEOUT`].
    fn end(&self, (topic, p): &Part) -> Result<i64> {
        let deadline = Instant::now() + TIMEOUT;
        loop {
            match self.ends.fetch_watermarks(topic, *p, TIMEOUT) {
                Ok((_, high)) => return Ok(high),
                Err(e) if Instant::now() > deadline => return Err(kafka_error(e)),
                Err(_) => std::thread::sleep(Duration::from_millis(50)),
            }
        }
    }

    /// High watermarks of `parts`, asked all at once. Blocking.
    pub fn ends(&self, parts: &[Part]) -> Result<Ends> {
        std::thread::scope(|scope| {
            let asks: Vec<_> =
                parts.iter().map(|part| (part, scope.spawn(move || self.end(part)))).collect();
            let mut out = Ends::new();
            for (part, ask) in asks {
                let end = ask.join().map_err(|_| CliError::Config("watermark probe".into()))??;
                out.insert(part.clone(), end);
            }
            Ok(out)
        })
    }

    /// Fails unless every topic is empty: a simulation needs fresh topics. Blocking.
    pub fn require_empty(&self) -> Result<()> {
        let all: Vec<Part> = self.topics.keys().flat_map(|t| self.partitions(t)).collect();
        if let Some(((topic, _), _)) = self.ends(&all)?.into_iter().find(|(_, end)| *end > 0) {
            return Err(CliError::Config(format!(
                "topic {topic} already holds records: a simulation needs fresh topics (pick \
                 another --topic-prefix)"
            )));
        }
        Ok(())
    }

    /// One quiescence check (see the module docs): the ends of every stage input when every
    /// stage has committed them all, else `Err` with the sum of the committed offsets, which
    /// grows as long as the stages make progress. Blocking.
    pub fn settled(&self) -> Result<Result<Ends, i64>> {
        // Every committed offset is read before any watermark (the scope joins first).
        let committed: Vec<(Part, i64)> = std::thread::scope(|scope| {
            let asks: Vec<_> =
                self.groups.iter().map(|g| scope.spawn(move || g.committed())).collect();
            let mut all = Vec::new();
            for ask in asks {
                all.extend(ask.join().map_err(|_| CliError::Config("offset probe".into()))??);
            }
            Ok::<_, CliError>(all)
        })?;
        let progress = committed.iter().map(|(_, at)| at).sum();
        // Watermarks never shrink: below one already seen, a stage is still behind.
        let known = self.known.lock().unwrap_or_else(|p| p.into_inner()).clone();
        if committed.iter().any(|(part, at)| known.get(part).is_some_and(|end| at < end)) {
            return Ok(Err(progress));
        }
        let parts: Vec<Part> = self.inputs.clone();
        let ends = self.ends(&parts)?;
        self.note(&ends);
        let caught_up = committed.iter().all(|(part, at)| ends.get(part).is_none_or(|e| at >= e));
        Ok(if caught_up { Ok(ends) } else { Err(progress) })
    }
}

impl GroupProbe {
    /// The group's committed offset of each of its partitions (0 where it committed none).
    fn committed(&self) -> Result<Vec<(Part, i64)>> {
        let mut tpl = TopicPartitionList::new();
        for (t, p) in &self.parts {
            tpl.add_partition(t, *p);
        }
        let found = self.consumer.committed_offsets(tpl, TIMEOUT).map_err(kafka_error)?;
        Ok(found
            .elements()
            .iter()
            .map(|e| {
                let at = match e.offset() {
                    Offset::Offset(o) => o,
                    _ => 0,
                };
                ((e.topic().to_string(), e.partition()), at)
            })
            .collect())
    }
}

/// The simulator's producer: idempotent, murmur2-partitioned like the stages' own.
pub struct Feed {
    producer: FutureProducer,
    pending: VecDeque<(String, DeliveryFuture)>,
    /// The end of each partition after the records delivered so far.
    delivered: Ends,
}

impl Feed {
    /// A producer for `kafka`.
    pub fn new(kafka: &KafkaConfig) -> Result<Feed> {
        // Each step waits for its records: send them at once instead of lingering.
        let producer = kafka.producer().set("linger.ms", "0").create().map_err(kafka_error)?;
        Ok(Feed { producer, pending: VecDeque::new(), delivered: Ends::new() })
    }

    async fn settle_one(&mut self) -> Result<()> {
        if let Some((topic, f)) = self.pending.pop_front() {
            match f.await {
                Ok(Ok(d)) => {
                    let end = self.delivered.entry((topic, d.partition)).or_insert(0);
                    *end = (*end).max(d.offset + 1);
                }
                Ok(Err((e, _))) => return Err(kafka_error(e)),
                Err(_) => return Err(CliError::Config("the producer dropped a delivery".into())),
            }
        }
        Ok(())
    }

    /// Sends one record, keeping at most [`WINDOW`] unacknowledged.
    pub async fn send(&mut self, topic: &str, key: &[u8], value: &[u8]) -> Result<()> {
        if self.pending.len() >= WINDOW {
            self.settle_one().await?;
        }
        loop {
            let record = FutureRecord::to(topic).key(key).payload(value);
            match self.producer.send_result(record) {
                Ok(f) => {
                    self.pending.push_back((topic.to_string(), f));
                    return Ok(());
                }
                Err((KafkaError::MessageProduction(RDKafkaErrorCode::QueueFull), _))
                    if !self.pending.is_empty() =>
                {
                    self.settle_one().await?
                }
                Err((KafkaError::MessageProduction(RDKafkaErrorCode::QueueFull), _)) => {
                    tokio::time::sleep(Duration::from_millis(5)).await
                }
                Err((e, _)) => return Err(kafka_error(e)),
            }
        }
    }

    /// Waits until the broker acknowledged every record sent; returns the ends of the
    /// partitions written to so far.
    pub async fn flush(&mut self) -> Result<&Ends> {
        while !self.pending.is_empty() {
            self.settle_one().await?;
        }
        Ok(&self.delivered)
    }
}

/// Reads the commands topic from its start, up to the ends it is given.
pub struct CommandReader {
    consumer: StreamConsumer,
    topic: String,
    /// Next offset to read, per partition.
    next: BTreeMap<i32, i64>,
}

impl CommandReader {
    /// A reader of `parts` (the commands topic's partitions), from offset 0.
    pub fn new(kafka: &KafkaConfig, group: &str, topic: &str, parts: &[i32]) -> Result<Self> {
        let consumer: StreamConsumer = kafka.consumer(group).create().map_err(kafka_error)?;
        let mut tpl = TopicPartitionList::new();
        for p in parts {
            tpl.add_partition_offset(topic, *p, Offset::Beginning).map_err(kafka_error)?;
        }
        consumer.assign(&tpl).map_err(kafka_error)?;
        let next = parts.iter().map(|p| (*p, 0)).collect();
        Ok(CommandReader { consumer, topic: topic.to_string(), next })
    }

    /// The commands up to `ends` of the commands topic, in offset order per partition.
    pub async fn read_to(&mut self, ends: &Ends, codec: &Codec) -> Result<Vec<DeploymentCommand>> {
        let mut out = Vec::new();
        let topic = self.topic.clone();
        let end = |p: i32| ends.get(&(topic.clone(), p)).copied().unwrap_or(0);
        while self.next.iter().any(|(p, at)| *at < end(*p)) {
            let m = tokio::time::timeout(TIMEOUT, self.consumer.recv())
                .await
                .map_err(|_| CliError::Config("commands topic: no record within 30 s".into()))?
                .map_err(kafka_error)?;
            self.next.insert(m.partition(), m.offset() + 1);
            let bytes = m.payload().unwrap_or_default();
            if let Event::DeploymentCommand(c) =
                codec.decode(EventKind::DeploymentCommand, Format::Avro, bytes)?
            {
                out.push(c);
            }
        }
        Ok(out)
    }
}
