//! The consumer context of a stage: it keeps the offset tracker and the ownership record in step
//! with the group's rebalances, commits on revocation, and reports consumer lag.
//!
//! Invariant: the ownership record always holds the partition numbers currently assigned and
//! the partitions assigned since the runner last looked; callbacks only record, the runner acts.

use crate::kafka::producer::StageProducer;
use crate::observe::events::ConsumerLagMeasured;
use crate::observe::metrics::StageMetrics;
use crate::runtime::offsets::OffsetTracker;
use rdkafka::consumer::{BaseConsumer, CommitMode, Consumer, ConsumerContext, Rebalance};
use rdkafka::producer::Producer;
use rdkafka::statistics::Statistics;
use rdkafka::{ClientContext, Offset, TopicPartitionList};
use std::collections::BTreeSet;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// What the group has given this instance.
#[derive(Debug, Default)]
pub struct Ownership {
    owned: BTreeSet<(String, i32)>,
    added: Vec<(String, i32)>,
    changed: bool,
    assigned_once: bool,
}

impl Ownership {
    /// Marks the (empty) assignment of a stage without partitioned inputs.
    pub fn assigned_nothing(&mut self) {
        self.changed = true;
        self.assigned_once = true;
    }

    /// True once the group has assigned partitions (possibly none) at least once.
    pub fn assigned_once(&self) -> bool {
        self.assigned_once
    }

    /// The owned partition numbers and the partitions added since the last call, if anything
    /// changed.
    pub fn take(&mut self) -> Option<OwnershipChange> {
        if !self.changed {
            return None;
        }
        self.changed = false;
        let owned = self.owned.iter().map(|(_, p)| *p).collect();
        Some(OwnershipChange { owned, added: std::mem::take(&mut self.added) })
    }
}

/// What changed in the ownership since it was last taken.
#[derive(Debug)]
pub struct OwnershipChange {
    /// Partition numbers now owned.
    pub owned: BTreeSet<i32>,
    /// (topic, partition) pairs newly assigned.
    pub added: Vec<(String, i32)>,
}

/// Consumer context of the stage's group member.
pub struct StageContext {
    tracker: Arc<OffsetTracker>,
    producer: Arc<StageProducer>,
    topics: Vec<Arc<str>>,
    metrics: StageMetrics,
    ownership: Arc<Mutex<Ownership>>,
}

impl StageContext {
    /// A context sharing `ownership` with the source.
    pub fn new(
        tracker: Arc<OffsetTracker>,
        producer: Arc<StageProducer>,
        topics: Vec<Arc<str>>,
        metrics: StageMetrics,
        ownership: Arc<Mutex<Ownership>>,
    ) -> StageContext {
        StageContext { tracker, producer, topics, metrics, ownership }
    }

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
            let mut commit = TopicPartitionList::new();
            for o in offsets.iter().filter(|o| tpl.find_partition(&o.topic, o.partition).is_some())
            {
                let _ = commit.add_partition_offset(
                    &o.topic,
                    o.partition,
                    Offset::Offset(o.next_offset),
                );
            }
            if commit.count() > 0 {
                if let Err(e) = consumer.commit(&commit, CommitMode::Sync) {
                    tracing::warn!(error = %e, "commit on revocation failed; inputs will be replayed");
                }
            }
            let mut own = self.ownership.lock().unwrap_or_else(|p| p.into_inner());
            for elem in tpl.elements() {
                self.tracker.revoke(&self.intern(elem.topic()), elem.partition());
                own.owned.remove(&(elem.topic().to_string(), elem.partition()));
                own.added.retain(|(t, p)| !(t == elem.topic() && *p == elem.partition()));
            }
            own.changed = true;
            tracing::info!(partitions = tpl.count(), "partitions revoked");
        }
    }

    fn post_rebalance(&self, _consumer: &BaseConsumer<Self>, rebalance: &Rebalance<'_>) {
        if let Rebalance::Assign(tpl) = rebalance {
            let mut own = self.ownership.lock().unwrap_or_else(|p| p.into_inner());
            for elem in tpl.elements() {
                self.tracker.assign(&self.intern(elem.topic()), elem.partition());
                let key = (elem.topic().to_string(), elem.partition());
                if own.owned.insert(key.clone()) {
                    own.added.push(key);
                }
            }
            own.changed = true;
            own.assigned_once = true;
            tracing::info!(partitions = tpl.count(), "partitions assigned");
        }
    }
}

/// Context of the clients that report nothing themselves (global consumers, replays, the
/// producer's statistics are not needed): statistics are dropped instead of logged.
pub struct QuietContext;

impl ClientContext for QuietContext {
    fn stats(&self, _statistics: Statistics) {}
}

impl ConsumerContext for QuietContext {}
