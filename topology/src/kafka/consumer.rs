//! The Kafka source of a stage: a consumer-group member for the partitioned inputs, plus
//! consumers of their own for the global inputs (read in full by every instance; the priority
//! ones first), and replays that rebuild state.
//!
//! Invariants:
//! - auto-commit and auto offset store are off; only positions the tracker released are
//!   committed, each through the consumer that owns the topic;
//! - on revocation the producer is flushed and the released positions are committed
//!   synchronously before the partitions go;
//! - every assignment becomes a [`PartitionChange`] whose replay covers each new partition up to
//!   the group's committed offset, so the runner rebuilds state before handling new records;
//! - global inputs start where this instance last committed them (its own group
//!   `<stage group>.global.<instance>`), after a replay up to there; a new instance starts them
//!   at the end of the topic after replaying everything.

use super::rebalance::{Ownership, QuietContext, StageContext};
use super::replay::Replay;
use crate::error::{Error, Result};
use crate::kafka::config::KafkaConfig;
use crate::kafka::producer::StageProducer;
use crate::observe::metrics::StageMetrics;
use crate::runtime::offsets::OffsetTracker;
use crate::runtime::record::{CommitOffset, InputRecord};
use crate::runtime::{PartitionChange, Source};
use rdkafka::consumer::{CommitMode, Consumer, StreamConsumer};
use rdkafka::message::{BorrowedMessage, Headers, Message};
use rdkafka::{Offset, TopicPartitionList};
use std::sync::{Arc, Mutex};
use std::time::Duration;

const TIMEOUT: Duration = Duration::from_secs(10);

/// Everything needed to build a [`KafkaSource`].
pub struct SourceSettings<'a> {
    pub kafka: &'a KafkaConfig,
    pub group: &'a str,
    pub instance: &'a str,
    pub partitioned: &'a [Arc<str>],
    pub global: &'a [Arc<str>],
    pub priority: &'a [Arc<str>],
    pub tracker: Arc<OffsetTracker>,
    pub producer: Arc<StageProducer>,
    pub metrics: StageMetrics,
}

/// Reads a stage's inputs from Kafka.
pub struct KafkaSource {
    kafka: KafkaConfig,
    group: StreamConsumer<StageContext>,
    priority: Option<StreamConsumer<QuietContext>>,
    global: Option<StreamConsumer<QuietContext>>,
    topics: Vec<Arc<str>>,
    priority_topics: Vec<Arc<str>>,
    global_topics: Vec<Arc<str>>,
    ownership: Arc<Mutex<Ownership>>,
    startup: Option<Vec<(Arc<str>, i32, i64)>>,
    replay: Option<Replay>,
}

impl KafkaSource {
    /// Creates the consumers, positions the global ones and joins the group.
    pub fn start(s: SourceSettings<'_>) -> Result<KafkaSource> {
        let ownership = Arc::new(Mutex::new(Ownership::default()));
        let mut topics: Vec<Arc<str>> = s.partitioned.to_vec();
        topics.extend(s.global.iter().cloned());
        let context = StageContext::new(
            s.tracker.clone(),
            s.producer,
            topics.clone(),
            s.metrics,
            ownership.clone(),
        );
        let group: StreamConsumer<StageContext> =
            s.kafka.consumer(s.group).create_with_context(context)?;
        let global_group = format!("{}.global.{}", s.group, s.instance);
        let (priority_topics, global_topics): (Vec<Arc<str>>, Vec<Arc<str>>) =
            s.global.iter().cloned().partition(|t| s.priority.contains(t));
        let mut startup = Vec::new();
        let priority = Self::global_consumer(
            s.kafka,
            &global_group,
            &priority_topics,
            &s.tracker,
            &mut startup,
        )?;
        let global = Self::global_consumer(
            s.kafka,
            &global_group,
            &global_topics,
            &s.tracker,
            &mut startup,
        )?;
        if !s.partitioned.is_empty() {
            let names: Vec<&str> = s.partitioned.iter().map(|t| t.as_ref()).collect();
            group.subscribe(&names)?;
        } else {
            ownership.lock().unwrap_or_else(|p| p.into_inner()).assigned_nothing();
        }
        Ok(KafkaSource {
            kafka: s.kafka.clone(),
            group,
            priority,
            global,
            topics,
            priority_topics,
            global_topics,
            ownership,
            startup: Some(startup),
            replay: None,
        })
    }

    /// A consumer assigned every partition of `topics` at this instance's position; the replay
    /// up to that position is appended to `startup`.
    fn global_consumer(
        kafka: &KafkaConfig,
        group: &str,
        topics: &[Arc<str>],
        tracker: &OffsetTracker,
        startup: &mut Vec<(Arc<str>, i32, i64)>,
    ) -> Result<Option<StreamConsumer<QuietContext>>> {
        if topics.is_empty() {
            return Ok(None);
        }
        let consumer: StreamConsumer<QuietContext> =
            kafka.consumer(group).create_with_context(QuietContext)?;
        let mut all = TopicPartitionList::new();
        for topic in topics {
            for p in partitions_of(&consumer, topic)? {
                all.add_partition(topic, p);
            }
        }
        let committed = consumer.committed_offsets(all, TIMEOUT)?;
        let mut assignment = TopicPartitionList::new();
        let mut first_time = TopicPartitionList::new();
        for e in committed.elements() {
            let topic = topics
                .iter()
                .find(|t| t.as_ref() == e.topic())
                .cloned()
                .unwrap_or_else(|| Arc::from(e.topic()));
            let position = match e.offset() {
                Offset::Offset(o) => o,
                _ => {
                    let end = consumer.fetch_watermarks(e.topic(), e.partition(), TIMEOUT)?.1;
                    first_time.add_partition_offset(
                        e.topic(),
                        e.partition(),
                        Offset::Offset(end),
                    )?;
                    end
                }
            };
            tracker.assign(&topic, e.partition());
            startup.push((topic.clone(), e.partition(), position));
            assignment.add_partition_offset(e.topic(), e.partition(), Offset::Offset(position))?;
        }
        consumer.assign(&assignment)?;
        if first_time.count() > 0 {
            // A new instance takes the tables as they are now: record that position, so a crash
            // before its first commit resumes here and still emits what later records change.
            consumer.commit(&first_time, CommitMode::Sync)?;
        }
        Ok(Some(consumer))
    }

    fn intern(&self, topic: &str) -> Arc<str> {
        self.topics
            .iter()
            .find(|t| t.as_ref() == topic)
            .cloned()
            .unwrap_or_else(|| Arc::from(topic))
    }

    fn record(&self, m: &BorrowedMessage<'_>) -> InputRecord {
        to_record(self.intern(m.topic()), m)
    }
}

/// Partition ids of a topic; an error names the missing topic.
fn partitions_of<C: rdkafka::consumer::ConsumerContext>(
    consumer: &impl Consumer<C>,
    topic: &str,
) -> Result<Vec<i32>> {
    let metadata = consumer.fetch_metadata(Some(topic), TIMEOUT)?;
    let mut ids = Vec::new();
    for t in metadata.topics() {
        if let Some(e) = t.error() {
            return Err(Error::Config(format!(
                "topic {topic}: {e:?}; run `patchline topics create`"
            )));
        }
        ids.extend(t.partitions().iter().map(|p| p.id()));
    }
    Ok(ids)
}

/// An owned copy of a message.
pub fn to_record(topic: Arc<str>, m: &BorrowedMessage<'_>) -> InputRecord {
    let headers = m
        .headers()
        .map(|h| h.iter().map(|x| (x.key.to_string(), x.value.map(<[u8]>::to_vec))).collect())
        .unwrap_or_default();
    InputRecord {
        topic,
        partition: m.partition(),
        offset: m.offset(),
        key: m.key().map(<[u8]>::to_vec),
        value: m.payload().map(<[u8]>::to_vec),
        headers,
        timestamp: m.timestamp().to_millis(),
    }
}

async fn recv_from(
    consumer: &Option<StreamConsumer<QuietContext>>,
) -> rdkafka::error::KafkaResult<BorrowedMessage<'_>> {
    match consumer {
        Some(c) => c.recv().await,
        None => std::future::pending().await,
    }
}

fn commit_to<C: rdkafka::consumer::ConsumerContext>(
    consumer: &impl Consumer<C>,
    offsets: &[&CommitOffset],
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

impl Source for KafkaSource {
    async fn next(&mut self) -> Result<Option<InputRecord>> {
        // Until the group assigned this instance its partitions, read only the group: a global
        // record (a KEV addition) must meet the restored findings it re-scores.
        while !self.ownership.lock().unwrap_or_else(|p| p.into_inner()).assigned_once() {
            tokio::select! {
                m = self.group.recv() => return Ok(Some(self.record(&m?))),
                _ = tokio::time::sleep(Duration::from_millis(50)) => {}
            }
        }
        // Priority global inputs first, then the other global inputs, then the partitioned ones.
        let record = tokio::select! {
            biased;
            m = recv_from(&self.priority) => self.record(&m?),
            m = recv_from(&self.global) => self.record(&m?),
            m = self.group.recv() => self.record(&m?),
        };
        Ok(Some(record))
    }

    fn commit(&mut self, offsets: &[CommitOffset], sync: bool) -> Result<()> {
        let mode = if sync { CommitMode::Sync } else { CommitMode::Async };
        let of = |topics: &[Arc<str>]| {
            offsets.iter().filter(|o| topics.contains(&o.topic)).collect::<Vec<_>>()
        };
        let grouped: Vec<&CommitOffset> = offsets
            .iter()
            .filter(|o| {
                !self.priority_topics.contains(&o.topic) && !self.global_topics.contains(&o.topic)
            })
            .collect();
        commit_to(&self.group, &grouped, mode)?;
        if let Some(c) = &self.priority {
            commit_to(c, &of(&self.priority_topics), mode)?;
        }
        if let Some(c) = &self.global {
            commit_to(c, &of(&self.global_topics), mode)?;
        }
        Ok(())
    }

    fn take_partition_change(&mut self) -> Result<Option<PartitionChange>> {
        let pending = self.ownership.lock().unwrap_or_else(|p| p.into_inner()).take();
        let startup = self.startup.take();
        let Some(super::rebalance::OwnershipChange { owned, added }) = pending else {
            return Ok(startup.map(|restore| PartitionChange {
                owned: Default::default(),
                restore,
                assigned: false,
            }));
        };
        let mut restore = startup.unwrap_or_default();
        if !added.is_empty() {
            let mut tpl = TopicPartitionList::new();
            for (topic, p) in &added {
                tpl.add_partition(topic, *p);
            }
            for e in self.group.committed_offsets(tpl, TIMEOUT)?.elements() {
                if let Offset::Offset(o) = e.offset() {
                    restore.push((self.intern(e.topic()), e.partition(), o));
                }
            }
        }
        Ok(Some(PartitionChange { owned, restore, assigned: true }))
    }

    fn start_replay(&mut self, parts: &[(Arc<str>, i32, i64)]) -> Result<()> {
        self.replay = Replay::start(&self.kafka, parts)?;
        Ok(())
    }

    async fn next_replay(&mut self) -> Result<Option<InputRecord>> {
        let Some(replay) = self.replay.as_mut() else { return Ok(None) };
        let next = replay.next().await?;
        if next.is_none() {
            self.replay = None;
        }
        Ok(next)
    }
}
