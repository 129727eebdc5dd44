//! Source and sink of a stage on the embedded bus. Invariants: the source serves priority
//! inputs first whenever they have records; the sink acknowledges a record as soon as it is
//! appended, which is when the bus has it durably (for the life of the process).

use super::bus::Bus;
use crate::error::Result;
use crate::runtime::offsets::OffsetTracker;
use crate::runtime::record::{AckToken, CommitOffset, InputRecord, OutputRecord};
use crate::runtime::{Sink, Source};
use std::collections::{HashMap, VecDeque};
use std::sync::Arc;
use std::time::Duration;

const BATCH: usize = 256;

/// Reads a stage's inputs as consumer group `group`.
pub struct EmbeddedSource {
    bus: Arc<Bus>,
    group: String,
    /// Input topics in read order with their partition counts; priority topics first.
    inputs: Vec<(Arc<str>, i32, bool)>,
    positions: HashMap<(Arc<str>, i32), i64>,
    buffer: VecDeque<InputRecord>,
    stop_when_idle: bool,
}

impl EmbeddedSource {
    /// A source over `inputs` (read order) of which `priority` are read first; resumes from the
    /// group's committed positions and registers every partition with the tracker.
    pub fn new(
        bus: Arc<Bus>,
        group: &str,
        inputs: &[Arc<str>],
        priority: &[Arc<str>],
        tracker: &OffsetTracker,
        stop_when_idle: bool,
    ) -> Result<EmbeddedSource> {
        let mut list = Vec::new();
        let mut positions = HashMap::new();
        for topic in inputs {
            let partitions = bus.partitions(topic)?;
            for p in 0..partitions {
                tracker.assign(topic, p);
                positions.insert((topic.clone(), p), bus.committed(group, topic, p));
            }
            list.push((topic.clone(), partitions, priority.contains(topic)));
        }
        Ok(EmbeddedSource {
            bus,
            group: group.to_string(),
            inputs: list,
            positions,
            buffer: VecDeque::new(),
            stop_when_idle,
        })
    }

    /// Fills the buffer from priority inputs if they have records, else from the others.
    fn fill(&mut self) -> Result<()> {
        for priority_pass in [true, false] {
            for (topic, partitions, is_priority) in &self.inputs {
                if *is_priority != priority_pass {
                    continue;
                }
                for p in 0..*partitions {
                    let pos = self.positions.get(&(topic.clone(), p)).copied().unwrap_or(0);
                    let records = self.bus.read(topic, p, pos, BATCH)?;
                    if let Some(last) = records.last() {
                        self.positions.insert((topic.clone(), p), last.offset + 1);
                    }
                    self.buffer.extend(records);
                }
            }
            if !self.buffer.is_empty() {
                return Ok(());
            }
        }
        Ok(())
    }
}

impl Source for EmbeddedSource {
    async fn next(&mut self) -> Result<Option<InputRecord>> {
        loop {
            if let Some(r) = self.buffer.pop_front() {
                return Ok(Some(r));
            }
            self.fill()?;
            if !self.buffer.is_empty() {
                continue;
            }
            if self.stop_when_idle {
                return Ok(None);
            }
            self.bus.wait_for_append().await;
        }
    }

    fn commit(&mut self, offsets: &[CommitOffset], _sync: bool) -> Result<()> {
        for o in offsets {
            self.bus.commit(&self.group, &o.topic, o.partition, o.next_offset);
        }
        Ok(())
    }

    fn lag(&self) -> Vec<(String, i32, i64)> {
        self.positions
            .iter()
            .map(|((t, p), pos)| {
                let end = self.bus.end_offset(t, *p).unwrap_or(*pos);
                (t.to_string(), *p, end - pos)
            })
            .collect()
    }
}

/// Appends a stage's outputs to the bus.
pub struct EmbeddedSink {
    bus: Arc<Bus>,
    tracker: Arc<OffsetTracker>,
    clock: Box<dyn Fn() -> i64 + Send + Sync>,
}

impl EmbeddedSink {
    /// A sink that stamps records with `clock()` milliseconds.
    pub fn new(
        bus: Arc<Bus>,
        tracker: Arc<OffsetTracker>,
        clock: Box<dyn Fn() -> i64 + Send + Sync>,
    ) -> Self {
        EmbeddedSink { bus, tracker, clock }
    }
}

impl Sink for EmbeddedSink {
    fn send(&self, record: OutputRecord, token: AckToken) -> Result<()> {
        let result = self.bus.produce_to(
            &record.topic,
            record.partition,
            &record.key,
            record.value,
            (self.clock)(),
        );
        self.tracker.ack(&token, result.as_ref().map(|_| ()).map_err(|e| e.to_string()));
        result.map(|_| ())
    }

    fn flush(&self, _timeout: Duration) -> Result<()> {
        Ok(())
    }
}
