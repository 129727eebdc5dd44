//! The bus: topics of partitions of records, plus committed offsets per consumer group.
//! Invariant: appends to a partition are serialized and assign dense offsets; readers never see
//! a partially written record.

use super::partitioner::partition_for;
use crate::error::{Error, Result};
use crate::runtime::record::InputRecord;
use crate::spec::TopologySpec;
use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};
use tokio::sync::Notify;

/// A stored record.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredRecord {
    pub key: Option<Vec<u8>>,
    pub value: Option<Vec<u8>>,
    pub headers: Vec<(String, Option<Vec<u8>>)>,
    pub timestamp: i64,
}

struct Topic {
    name: Arc<str>,
    partitions: Vec<Mutex<Vec<StoredRecord>>>,
}

/// Committed positions by (group, topic, partition).
type GroupOffsets = HashMap<(String, Arc<str>, i32), i64>;

/// The in-process bus.
pub struct Bus {
    topics: HashMap<String, Topic>,
    committed: Mutex<GroupOffsets>,
    appended: Notify,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

impl Bus {
    /// A bus with the topics of a topology.
    pub fn new(spec: &TopologySpec) -> Arc<Bus> {
        let topics = spec
            .topics
            .iter()
            .map(|t| {
                let partitions = (0..t.partitions.max(1)).map(|_| Mutex::new(Vec::new())).collect();
                (t.name.clone(), Topic { name: Arc::from(t.name.as_str()), partitions })
            })
            .collect();
        Arc::new(Bus { topics, committed: Mutex::new(HashMap::new()), appended: Notify::new() })
    }

    fn topic(&self, name: &str) -> Result<&Topic> {
        self.topics
            .get(name)
            .ok_or_else(|| Error::Config(format!("embedded bus has no topic {name}")))
    }

    /// The interned name of a topic.
    pub fn topic_name(&self, name: &str) -> Result<Arc<str>> {
        Ok(self.topic(name)?.name.clone())
    }

    /// Partition count of a topic.
    pub fn partitions(&self, topic: &str) -> Result<i32> {
        Ok(self.topic(topic)?.partitions.len() as i32)
    }

    /// Appends a keyed record; returns its partition and offset.
    pub fn produce(
        &self,
        topic: &str,
        key: &[u8],
        value: Vec<u8>,
        timestamp: i64,
    ) -> Result<(i32, i64)> {
        self.produce_to(topic, None, key, value, timestamp)
    }

    /// Appends a record to `partition`, or to the key's partition when `None`.
    pub fn produce_to(
        &self,
        topic: &str,
        partition: Option<i32>,
        key: &[u8],
        value: Vec<u8>,
        timestamp: i64,
    ) -> Result<(i32, i64)> {
        let t = self.topic(topic)?;
        let count = t.partitions.len() as i32;
        let partition = match partition {
            Some(p) if (0..count).contains(&p) => p,
            Some(p) => return Err(Error::Config(format!("topic {topic} has no partition {p}"))),
            None => partition_for(key, count),
        };
        let mut log = lock(&t.partitions[partition as usize]);
        log.push(StoredRecord {
            key: Some(key.to_vec()),
            value: Some(value),
            headers: Vec::new(),
            timestamp,
        });
        let offset = log.len() as i64 - 1;
        drop(log);
        self.appended.notify_waiters();
        Ok((partition, offset))
    }

    /// Up to `max` records of a partition from `from`.
    pub fn read(
        &self,
        topic: &str,
        partition: i32,
        from: i64,
        max: usize,
    ) -> Result<Vec<InputRecord>> {
        let t = self.topic(topic)?;
        let log =
            lock(t.partitions.get(partition as usize).ok_or_else(|| {
                Error::Config(format!("topic {topic} has no partition {partition}"))
            })?);
        let start = from.max(0) as usize;
        Ok(log
            .iter()
            .enumerate()
            .skip(start)
            .take(max)
            .map(|(offset, r)| InputRecord {
                topic: t.name.clone(),
                partition,
                offset: offset as i64,
                key: r.key.clone(),
                value: r.value.clone(),
                headers: r.headers.clone(),
                timestamp: Some(r.timestamp),
            })
            .collect())
    }

    /// Every record of a topic, partition by partition.
    pub fn read_all(&self, topic: &str) -> Result<Vec<InputRecord>> {
        let mut all = Vec::new();
        for p in 0..self.partitions(topic)? {
            all.extend(self.read(topic, p, 0, usize::MAX)?);
        }
        Ok(all)
    }

    /// The next offset to be written in a partition.
    pub fn end_offset(&self, topic: &str, partition: i32) -> Result<i64> {
        let t = self.topic(topic)?;
        Ok(t.partitions.get(partition as usize).map_or(0, |p| lock(p).len() as i64))
    }

    /// The committed position of a group on a partition (0 when none).
    pub fn committed(&self, group: &str, topic: &Arc<str>, partition: i32) -> i64 {
        lock(&self.committed)
            .get(&(group.to_string(), topic.clone(), partition))
            .copied()
            .unwrap_or(0)
    }

    /// Commits a group's position.
    pub fn commit(&self, group: &str, topic: &Arc<str>, partition: i32, next_offset: i64) {
        lock(&self.committed).insert((group.to_string(), topic.clone(), partition), next_offset);
    }

    /// Waits until something is appended (or a short timeout passes).
    pub async fn wait_for_append(&self) {
        let notified = self.appended.notified();
        let _ = tokio::time::timeout(std::time::Duration::from_millis(100), notified).await;
    }
}
