//! The stage runtime shared by every bus: a [`Source`] of input records, a [`Sink`] for output
//! records, the [`offsets::OffsetTracker`] between them, and the [`runner::StageRunner`] that
//! drives topic -> decode -> processor -> encode -> topic.
//!
//! Invariant: the runner is the same code on Kafka and on the embedded bus; only the source and
//! the sink differ, and both keep the at-least-once contract of the tracker.

pub mod offsets;
pub mod query;
pub mod record;
pub mod runner;
pub mod stage;

use crate::error::Result;
use record::{AckToken, CommitOffset, InputRecord, OutputRecord};
use std::collections::BTreeSet;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

/// A change of what this instance owns (a Kafka rebalance, or the first assignment).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PartitionChange {
    /// Partition numbers of the partitioned inputs now owned (equal across co-partitioned
    /// inputs).
    pub owned: BTreeSet<i32>,
    /// Partitions whose state must be rebuilt, each up to (excluding) the given offset.
    pub restore: Vec<(Arc<str>, i32, i64)>,
    /// True once the group has assigned this instance its partitions (the stage is ready after
    /// restoring them); false for the start-up replay of global inputs alone.
    pub assigned: bool,
}

/// Where a stage reads from.
pub trait Source: Send {
    /// The next input record; `Ok(None)` when the source is finished (idle embedded source).
    fn next(&mut self) -> impl Future<Output = Result<Option<InputRecord>>> + Send;

    /// Commits positions; `sync` waits for the broker (used on shutdown and revocation).
    fn commit(&mut self, offsets: &[CommitOffset], sync: bool) -> Result<()>;

    /// Lag per (topic, partition) when the bus knows it.
    fn lag(&self) -> Vec<(String, i32, i64)> {
        Vec::new()
    }

    /// The ownership change since the last call, if any. Sources that never rebalance return
    /// `None` (the embedded bus: one instance owns everything).
    fn take_partition_change(&mut self) -> Result<Option<PartitionChange>> {
        Ok(None)
    }

    /// Starts replaying `parts` (each from its beginning up to the given offset).
    fn start_replay(&mut self, parts: &[(Arc<str>, i32, i64)]) -> Result<()> {
        let _ = parts;
        Ok(())
    }

    /// The next record of the replay; `Ok(None)` when it is complete.
    fn next_replay(&mut self) -> impl Future<Output = Result<Option<InputRecord>>> + Send {
        async { Ok(None) }
    }
}

/// Where a stage writes to. A sink acknowledges every record it accepted exactly once, through
/// the tracker, with the token it was given.
pub trait Sink: Send + Sync {
    /// Queues a record for delivery.
    fn send(&self, record: OutputRecord, token: AckToken) -> Result<()>;

    /// Waits until every queued record is acknowledged, or the timeout passes.
    fn flush(&self, timeout: Duration) -> Result<()>;
}
