//! The Kafka source: a consumer-group member that reads a stage's inputs and commits only what
//! the offset tracker releases.
//!
//! Invariants: auto-commit and auto offset store are off; on revocation the producer is flushed
//! and the released positions are committed synchronously before the partitions go, so the next
//! owner resumes after every acknowledged output and before every unacknowledged one.

use crate::error::{Error, Result};
use crate::kafka::config::KafkaConfig;
use crate::kafka::producer::StageProducer;
use crate::observe::events::ConsumerLagMeasured;
use crate::observe::metrics::StageMetrics;
use crate::runtime::offsets::OffsetTracker;
use crate::runtime::record::{CommitOffset, InputRecord};
use crate::runtime::Source;
use rdkafka::consumer::{
    BaseConsumer, CommitMode, Consumer, ConsumerContext, Rebalance, StreamConsumer,
};
use rdkafka::message::{Headers, Message};
use rdkafka::producer::Producer;
use rdkafka::statistics::Statistics;
use rdkafka::{ClientContext, Offset, TopicPartitionList};
use std::sync::Arc;
use std::time::Duration;

/// Keeps the tracker in step with partition assignments, and reports consumer lag from
/// librdkafka's statistics (every `statistics.interval.ms`, default 5 s).
pub struct StageContext {
    tracker: Arc<OffsetTracker>,
    producer: Arc<StageProducer>,
    topics: Vec<Arc<str>>,
    metrics: StageMetrics,
}

impl StageContext {
    fn intern(&self, topic: &str) -> Arc<str> {
        self.topics
            .iter()
            .find(|t| t.as_ref() == topic)
            .cloned()
            .unwrap_or_else(|| Arc::from(topic))
    }
}

impl ClientContext for StageContext {
    fn stats(&self, statistics: Statistics) {
        for (name, topic) in &statistics.topics {
            for (id, p) in &topic.partitions {
                if *id >= 0 && p.consumer_lag >= 0 {
                    ConsumerLagMeasured { topic: name, partition: *id, lag: p.consumer_lag }
                        .emit(&self.metrics);
                }
            }
        }
    }
}

impl ConsumerContext for StageContext {
    fn pre_rebalance(&self, consumer: &BaseConsumer<Self>, rebalance: &Rebalance<'_>) {
        if let Rebalance::Revoke(tpl) = rebalance {
            if let Err(e) = self.producer.flush(Duration::from_secs(30)) {
                tracing::warn!(error = %e, "flush on revocation failed; uncommitted inputs will be replayed");
            }
            let offsets = self.tracker.take_committable();
            if let Err(e) = commit(consumer, &offsets, CommitMode::Sync) {
                tracing::warn!(error = %e, "commit on revocation failed; inputs will be replayed");
            }
            for elem in tpl.elements() {
                self.tracker.revoke(&self.intern(elem.topic()), elem.partition());
            }
            tracing::info!(partitions = tpl.count(), "partitions revoked");
        }
    }

    fn post_rebalance(&self, _consumer: &BaseConsumer<Self>, rebalance: &Rebalance<'_>) {
        if let Rebalance::Assign(tpl) = rebalance {
            for elem in tpl.elements() {
                self.tracker.assign(&self.intern(elem.topic()), elem.partition());
            }
            tracing::info!(partitions = tpl.count(), "partitions assigned");
        }
    }
}

fn commit<C: ConsumerContext>(
    consumer: &impl Consumer<C>,
    offsets: &[CommitOffset],
    mode: CommitMode,
) -> Result<()> {
    if offsets.is_empty() {
        return Ok(());
    }
    let mut tpl = TopicPartitionList::new();
    for o in offsets {
        tpl.add_partition_offset(&o.topic, o.partition, Offset::Offset(o.next_offset))?;
    }
    consumer.commit(&tpl, mode).map_err(Error::Kafka)
}

/// Reads a stage's inputs from Kafka as a member of `group`.
pub struct KafkaSource {
    consumer: StreamConsumer<StageContext>,
    topics: Vec<Arc<str>>,
}

impl KafkaSource {
    /// Creates the group member; call [`KafkaSource::subscribe`] after restoring state.
    pub fn new(
        config: &KafkaConfig,
        group: &str,
        topics: &[Arc<str>],
        tracker: Arc<OffsetTracker>,
        producer: Arc<StageProducer>,
        metrics: StageMetrics,
    ) -> Result<KafkaSource> {
        let context = StageContext { tracker, producer, topics: topics.to_vec(), metrics };
        let consumer: StreamConsumer<StageContext> =
            config.consumer(group).create_with_context(context)?;
        Ok(KafkaSource { consumer, topics: topics.to_vec() })
    }

    /// The group's committed position for each partition of the inputs (0 where none).
    pub fn committed_positions(&self, timeout: Duration) -> Result<Vec<(Arc<str>, i32, i64)>> {
        let mut tpl = TopicPartitionList::new();
        for topic in &self.topics {
            let metadata = self.consumer.fetch_metadata(Some(topic), timeout)?;
            for t in metadata.topics() {
                if let Some(e) = t.error() {
                    return Err(Error::Config(format!(
                        "topic {topic}: {e:?}; run `patchline topics create`"
                    )));
                }
                for p in t.partitions() {
                    tpl.add_partition(topic, p.id());
                }
            }
        }
        let committed = self.consumer.committed_offsets(tpl, timeout)?;
        Ok(committed
            .elements()
            .iter()
            .map(|e| {
                let next = match e.offset() {
                    Offset::Offset(o) => o,
                    _ => 0,
                };
                (self.context_topic(e.topic()), e.partition(), next)
            })
            .collect())
    }

    fn context_topic(&self, topic: &str) -> Arc<str> {
        self.consumer.context().intern(topic)
    }

    /// Joins the group.
    pub fn subscribe(&self) -> Result<()> {
        let names: Vec<&str> = self.topics.iter().map(|t| t.as_ref()).collect();
        self.consumer.subscribe(&names).map_err(Error::Kafka)
    }
}

impl Source for KafkaSource {
    async fn next(&mut self) -> Result<Option<InputRecord>> {
        let m = self.consumer.recv().await?;
        let headers = m
            .headers()
            .map(|h| h.iter().map(|x| (x.key.to_string(), x.value.map(<[u8]>::to_vec))).collect())
            .unwrap_or_default();
        Ok(Some(InputRecord {
            topic: self.context_topic(m.topic()),
            partition: m.partition(),
            offset: m.offset(),
            key: m.key().map(<[u8]>::to_vec),
            value: m.payload().map(<[u8]>::to_vec),
            headers,
            timestamp: m.timestamp().to_millis(),
        }))
    }

    fn commit(&mut self, offsets: &[CommitOffset], sync: bool) -> Result<()> {
        let mode = if sync { CommitMode::Sync } else { CommitMode::Async };
        commit(&self.consumer, offsets, mode)
    }
}
