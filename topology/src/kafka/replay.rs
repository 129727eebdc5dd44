//! Replays partitions from their beginning up to a position, to rebuild state ("rebuild from
//! source topics": no compacted changelog topic needed).
//!
//! Invariant: every record before its partition's target is returned exactly once and nothing
//! at or after it; partitions whose retained log starts at or after the target are skipped.

use super::consumer::to_record;
use super::rebalance::QuietContext;
use crate::error::Result;
use crate::kafka::config::KafkaConfig;
use crate::runtime::record::InputRecord;
use rdkafka::consumer::{Consumer, StreamConsumer};
use rdkafka::message::Message;
use rdkafka::{Offset, TopicPartitionList};
use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

/// A replay in progress.
pub struct Replay {
    consumer: StreamConsumer<QuietContext>,
    targets: HashMap<(Arc<str>, i32), i64>,
}

impl Replay {
    /// Starts replaying `parts`; `None` when there is nothing to replay.
    pub fn start(kafka: &KafkaConfig, parts: &[(Arc<str>, i32, i64)]) -> Result<Option<Replay>> {
        let mut c = kafka.client();
        c.set("group.id", format!("patchline-replay-{}", std::process::id()));
        c.set("enable.auto.commit", "false");
        c.set("enable.partition.eof", "false");
        c.set("auto.offset.reset", "earliest");
        let consumer: StreamConsumer<QuietContext> = c.create_with_context(QuietContext)?;
        let mut tpl = TopicPartitionList::new();
        let mut targets = HashMap::new();
        for (topic, partition, until) in parts {
            if *until <= 0 {
                continue;
            }
            let (low, high) =
                consumer.fetch_watermarks(topic, *partition, Duration::from_secs(10))?;
            // `i64::MAX` means "to the end": a changelog is read to its high watermark.
            let until = (*until).min(high);
            if low >= until {
                continue;
            }
            tpl.add_partition_offset(topic, *partition, Offset::Offset(low))?;
            targets.insert((topic.clone(), *partition), until);
        }
        if targets.is_empty() {
            return Ok(None);
        }
        consumer.assign(&tpl)?;
        Ok(Some(Replay { consumer, targets }))
    }

    /// The next record to replay, or `None` when every partition reached its target.
    pub async fn next(&mut self) -> Result<Option<InputRecord>> {
        while !self.targets.is_empty() {
            let m = match tokio::time::timeout(Duration::from_secs(3), self.consumer.recv()).await {
                Ok(m) => m?,
                Err(_) => {
                    // Quiet: a partition whose last offsets before the target hold no record
                    // (compaction, transaction markers) is done once its position passed them.
                    self.drop_reached()?;
                    continue;
                }
            };
            let Some((topic, target)) = self
                .targets
                .iter()
                .find(|((t, p), _)| t.as_ref() == m.topic() && *p == m.partition())
                .map(|((t, _), target)| (t.clone(), *target))
            else {
                continue;
            };
            let key = (topic.clone(), m.partition());
            if m.offset() + 1 >= target {
                self.targets.remove(&key);
            }
            if m.offset() < target {
                return Ok(Some(to_record(topic, &m)));
            }
        }
        Ok(None)
    }

    fn drop_reached(&mut self) -> Result<()> {
        let position = self.consumer.position()?;
        for e in position.elements() {
            if let Offset::Offset(o) = e.offset() {
                let reached: Vec<(Arc<str>, i32)> = self
                    .targets
                    .iter()
                    .filter(|((t, p), target)| {
                        t.as_ref() == e.topic() && *p == e.partition() && o >= **target
                    })
                    .map(|(k, _)| k.clone())
                    .collect();
                for k in reached {
                    self.targets.remove(&k);
                }
            }
        }
        Ok(())
    }
}
