//! Replays partitions from their beginning up to a position, to rebuild state (from a changelog,
//! or from the inputs themselves when compacted topics are not allowed).
//!
//! Reading and applying overlap: a thread of its own polls the log and hands batches of records
//! over a bounded channel (two batches ahead at most), while the stage decodes and applies the
//! previous batch. On two cores a rebuild then costs about the larger of the two, not their sum.
//!
//! Invariants: every record before its partition's target is returned exactly once, in
//! partition order, and nothing at or after it; partitions whose retained log starts at or after
//! the target are skipped; dropping the replay stops the thread.

use super::consumer::to_record;
use super::rebalance::QuietContext;
use crate::error::{Error, Result};
use crate::kafka::config::KafkaConfig;
use crate::runtime::record::InputRecord;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::message::Message;
use rdkafka::{Offset, TopicPartitionList};
use std::collections::VecDeque;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::mpsc;

/// Records handed over at once.
const BATCH: usize = 2048;
/// Batches buffered between the reading thread and the stage.
const AHEAD: usize = 2;
/// A partition quiet this long has no more records before its target (compaction gaps,
/// transaction markers): it is done once its position passed the target.
const QUIET: Duration = Duration::from_secs(3);

/// One partition to read, up to (excluding) `until`.
struct Target {
    topic: Arc<str>,
    partition: i32,
    until: i64,
}

/// A replay in progress.
pub struct Replay {
    batches: mpsc::Receiver<Result<Vec<InputRecord>>>,
    current: VecDeque<InputRecord>,
}

impl Replay {
    /// Starts replaying `parts` (`until = i64::MAX` reads to the end); `None` when there is
    /// nothing to replay.
    pub fn start(kafka: &KafkaConfig, parts: &[(Arc<str>, i32, i64)]) -> Result<Option<Replay>> {
        let mut c = kafka.client();
        c.set("group.id", format!("patchline-replay-{}", std::process::id()));
        c.set("enable.auto.commit", "false");
        c.set("enable.partition.eof", "false");
        c.set("auto.offset.reset", "earliest");
        c.set("fetch.max.bytes", "67108864");
        c.set("max.partition.fetch.bytes", "16777216");
        let consumer: BaseConsumer<QuietContext> = c.create_with_context(QuietContext)?;
        let mut tpl = TopicPartitionList::new();
        let mut targets = Vec::new();
        for (topic, partition, until) in parts {
            if *until <= 0 {
                continue;
            }
            let (low, high) =
                consumer.fetch_watermarks(topic, *partition, Duration::from_secs(10))?;
            let until = (*until).min(high);
            if low >= until {
                continue;
            }
            tpl.add_partition_offset(topic, *partition, Offset::Offset(low))?;
            targets.push(Target { topic: topic.clone(), partition: *partition, until });
        }
        if targets.is_empty() {
            return Ok(None);
        }
        consumer.assign(&tpl)?;
        let (tx, rx) = mpsc::channel(AHEAD);
        std::thread::Builder::new()
            .name("patchline-replay".into())
            .spawn(move || read(consumer, targets, tx))
            .map_err(Error::Io)?;
        Ok(Some(Replay { batches: rx, current: VecDeque::new() }))
    }

    /// The next record to replay, or `None` when every partition reached its target.
    pub async fn next(&mut self) -> Result<Option<InputRecord>> {
        loop {
            if let Some(r) = self.current.pop_front() {
                return Ok(Some(r));
            }
            match self.batches.recv().await {
                Some(batch) => self.current = batch?.into(),
                None => return Ok(None),
            }
        }
    }
}

/// The reading thread: polls until every target is reached, sending batches; stops early when
/// the stage drops the replay.
fn read(
    consumer: BaseConsumer<QuietContext>,
    mut targets: Vec<Target>,
    tx: mpsc::Sender<Result<Vec<InputRecord>>>,
) {
    let mut batch = Vec::with_capacity(BATCH);
    let mut last_record = Instant::now();
    while !targets.is_empty() {
        match consumer.poll(Duration::from_millis(100)) {
            Some(Ok(m)) => {
                last_record = Instant::now();
                let Some(i) = targets
                    .iter()
                    .position(|t| t.partition == m.partition() && t.topic.as_ref() == m.topic())
                else {
                    continue;
                };
                if m.offset() < targets[i].until {
                    batch.push(to_record(targets[i].topic.clone(), &m));
                }
                if m.offset() + 1 >= targets[i].until {
                    targets.swap_remove(i);
                }
            }
            Some(Err(e)) => {
                let _ = tx.blocking_send(Err(Error::Kafka(e)));
                return;
            }
            None if last_record.elapsed() >= QUIET => {
                if let Err(e) = drop_reached(&consumer, &mut targets) {
                    let _ = tx.blocking_send(Err(e));
                    return;
                }
                last_record = Instant::now();
            }
            None => {}
        }
        if batch.len() >= BATCH || (targets.is_empty() && !batch.is_empty()) {
            let full = std::mem::replace(&mut batch, Vec::with_capacity(BATCH));
            if tx.blocking_send(Ok(full)).is_err() {
                return; // the stage dropped the replay
            }
        }
    }
    if !batch.is_empty() {
        let _ = tx.blocking_send(Ok(batch));
    }
}

/// Removes the targets whose position already passed their end.
fn drop_reached(consumer: &BaseConsumer<QuietContext>, targets: &mut Vec<Target>) -> Result<()> {
    let position = consumer.position()?;
    targets.retain(|t| {
        let passed = position.elements().iter().any(|e| {
            e.topic() == t.topic.as_ref()
                && e.partition() == t.partition
                && matches!(e.offset(), Offset::Offset(o) if o >= t.until)
        });
        !passed
    });
    Ok(())
}
