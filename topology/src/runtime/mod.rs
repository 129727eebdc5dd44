//! The stage runtime shared by every bus: a [`Source`] of input records, a [`Sink`] for output
//! records, the [`offsets::OffsetTracker`] between them, and the [`runner::StageRunner`] that
//! drives topic -> decode -> processor -> encode -> topic.
//!
//! Invariant: the runner is the same code on Kafka and on the embedded bus; only the source and
//! the sink differ, and both keep the at-least-once contract of the tracker.

pub mod offsets;
pub mod record;
pub mod runner;
pub mod stage;

use crate::error::Result;
use record::{AckToken, CommitOffset, InputRecord, OutputRecord};
use std::future::Future;
use std::time::Duration;

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
}

/// Where a stage writes to. A sink acknowledges every record it accepted exactly once, through
/// the tracker, with the token it was given.
pub trait Sink: Send + Sync {
    /// Queues a record for delivery.
    fn send(&self, record: OutputRecord, token: AckToken) -> Result<()>;

    /// Waits until every queued record is acknowledged, or the timeout passes.
    fn flush(&self, timeout: Duration) -> Result<()>;
}
