//! Restores a stage's state by replaying its input topics up to the group's committed positions
//! (the "rebuild from source topics" strategy; it needs no compacted changelog topic).
//!
//! Invariant: every input record before a committed position is applied to the state exactly
//! once and emits nothing; records at or after it are left to the group consumer, which
//! processes and emits them normally.

use crate::codec::Codec;
use crate::error::Result;
use crate::kafka::config::KafkaConfig;
use crate::runtime::record::InputRecord;
use crate::runtime::runner::restore_record;
use crate::runtime::stage::StagePlan;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::message::Message;
use rdkafka::{Offset, TopicPartitionList};
use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Totals of a restore.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RestoreSummary {
    pub records: u64,
    pub skipped: u64,
    pub elapsed_ms: u128,
}

/// Replays `[0, position)` of every partition in `positions` into the stage's processor.
pub async fn replay(
    config: &KafkaConfig,
    positions: &[(Arc<str>, i32, i64)],
    plan: &mut StagePlan,
    codec: &Codec,
) -> Result<RestoreSummary> {
    let started = Instant::now();
    let mut summary = RestoreSummary::default();
    let mut targets: HashMap<(String, i32), i64> = HashMap::new();
    let mut tpl = TopicPartitionList::new();
    for (topic, partition, position) in positions {
        if *position > 0 {
            targets.insert((topic.to_string(), *partition), *position);
            tpl.add_partition_offset(topic, *partition, Offset::Beginning)?;
        }
    }
    if targets.is_empty() {
        return Ok(summary);
    }
    let mut c = config.client();
    c.set("group.id", format!("patchline-restore-{}", std::process::id()));
    c.set("enable.auto.commit", "false");
    c.set("enable.partition.eof", "false");
    let consumer: BaseConsumer = c.create()?;
    consumer.assign(&tpl)?;
    let interned: HashMap<String, Arc<str>> =
        positions.iter().map(|(t, _, _)| (t.to_string(), t.clone())).collect();
    while !targets.is_empty() {
        let Some(message) = consumer.poll(Duration::from_millis(500)) else { continue };
        let m = message?;
        let key = (m.topic().to_string(), m.partition());
        let Some(&target) = targets.get(&key) else { continue };
        if m.offset() >= target {
            targets.remove(&key);
            continue;
        }
        let record = InputRecord {
            topic: interned.get(m.topic()).cloned().unwrap_or_else(|| Arc::from(m.topic())),
            partition: m.partition(),
            offset: m.offset(),
            key: m.key().map(<[u8]>::to_vec),
            value: m.payload().map(<[u8]>::to_vec),
            headers: Vec::new(),
            timestamp: m.timestamp().to_millis(),
        };
        drop(m);
        if restore_record(plan, codec, &record).await {
            summary.records += 1;
        } else {
            summary.skipped += 1;
        }
        if record.offset + 1 >= target {
            targets.remove(&key);
        }
    }
    summary.elapsed_ms = started.elapsed().as_millis();
    Ok(summary)
}
