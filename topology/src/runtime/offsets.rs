//! Offset tracking for at-least-once delivery.
//!
//! Invariant: the committable position of a partition never passes an input record that still
//! has an unacknowledged output. Each input registers how many outputs it produced; each
//! acknowledgement decrements that count; the position advances over the longest prefix of
//! inputs whose counts reached zero. A failed delivery poisons the tracker: nothing after it is
//! committed, and the runner stops so that a restart replays the input.

use super::record::{AckToken, CommitOffset};
use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex, MutexGuard};
use tokio::sync::Notify;

#[derive(Debug, Default)]
struct PartitionState {
    generation: u64,
    /// Input offset -> outputs not yet acknowledged.
    pending: BTreeMap<i64, u32>,
    /// Next offset after the highest input fully done, once any input is done.
    done_until: Option<i64>,
    /// Position last handed out by `take_committable`.
    committed: Option<i64>,
}

#[derive(Debug, Default)]
struct Inner {
    partitions: HashMap<(Arc<str>, i32), PartitionState>,
    in_flight: usize,
    failure: Option<String>,
}

/// Pseudo-topic of outputs produced by punctuation: acknowledged like any output (a failed
/// delivery still stops the stage) but never committed anywhere.
pub const PUNCTUATION: &str = "__punctuation";

/// Shared between the runner (which registers inputs) and the sinks (which acknowledge outputs).
#[derive(Debug, Default)]
pub struct OffsetTracker {
    inner: Mutex<Inner>,
    progress: Notify,
}

impl OffsetTracker {
    /// A new tracker behind an `Arc`.
    pub fn new() -> Arc<OffsetTracker> {
        Arc::new(OffsetTracker::default())
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        // A panic while holding this lock leaves plain counters behind; keep going with them.
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Starts tracking a partition (on assignment); returns its generation.
    pub fn assign(&self, topic: &Arc<str>, partition: i32) -> u64 {
        let mut inner = self.lock();
        let state = inner.partitions.entry((topic.clone(), partition)).or_default();
        state.generation += 1;
        state.pending.clear();
        state.done_until = None;
        state.committed = None;
        state.generation
    }

    /// Stops tracking a partition (on revocation); late acks for it are ignored.
    pub fn revoke(&self, topic: &Arc<str>, partition: i32) {
        let mut inner = self.lock();
        if let Some(state) = inner.partitions.get_mut(&(topic.clone(), partition)) {
            let dropped: usize = state.pending.values().map(|n| *n as usize).sum();
            state.generation += 1;
            state.pending.clear();
            state.done_until = None;
            inner.in_flight = inner.in_flight.saturating_sub(dropped);
        }
        self.progress.notify_waiters();
    }

    /// Registers an input that produced `outputs` records; returns the token for their acks.
    pub fn begin(&self, topic: &Arc<str>, partition: i32, offset: i64, outputs: u32) -> AckToken {
        let mut inner = self.lock();
        let state = inner.partitions.entry((topic.clone(), partition)).or_default();
        let generation = state.generation;
        state.pending.insert(offset, outputs);
        Self::advance(state);
        inner.in_flight += outputs as usize;
        AckToken { topic: topic.clone(), partition, offset, generation }
    }

    /// Acknowledges one output of the input named by `token`.
    pub fn ack(&self, token: &AckToken, result: Result<(), String>) {
        let mut inner = self.lock();
        if let Err(e) = result {
            inner.failure.get_or_insert(format!(
                "delivery of an output of {}[{}]@{} failed: {e}",
                token.topic, token.partition, token.offset
            ));
        }
        let key = (token.topic.clone(), token.partition);
        let mut released = false;
        if let Some(state) = inner.partitions.get_mut(&key) {
            if state.generation == token.generation {
                if let Some(n) = state.pending.get_mut(&token.offset) {
                    *n = n.saturating_sub(1);
                    released = true;
                }
                Self::advance(state);
            }
        }
        if released {
            inner.in_flight = inner.in_flight.saturating_sub(1);
        }
        drop(inner);
        self.progress.notify_waiters();
    }

    fn advance(state: &mut PartitionState) {
        while let Some((&offset, &n)) = state.pending.first_key_value() {
            if n > 0 {
                break;
            }
            state.pending.pop_first();
            state.done_until = Some(offset + 1);
        }
    }

    /// Positions that moved since the last call. Empty after a delivery failure.
    pub fn take_committable(&self) -> Vec<CommitOffset> {
        let mut inner = self.lock();
        if inner.failure.is_some() {
            return Vec::new();
        }
        let mut out = Vec::new();
        for ((topic, partition), state) in inner.partitions.iter_mut() {
            if topic.as_ref() == PUNCTUATION {
                continue;
            }
            if let Some(next) = state.done_until {
                if state.committed != Some(next) {
                    state.committed = Some(next);
                    out.push(CommitOffset {
                        topic: topic.clone(),
                        partition: *partition,
                        next_offset: next,
                    });
                }
            }
        }
        out.sort_by(|a, b| (&a.topic, a.partition).cmp(&(&b.topic, b.partition)));
        out
    }

    /// Outputs sent and not yet acknowledged.
    pub fn in_flight(&self) -> usize {
        self.lock().in_flight
    }

    /// The first delivery failure, if any.
    pub fn failure(&self) -> Option<String> {
        self.lock().failure.clone()
    }

    /// Waits until an acknowledgement arrives (or a short timeout passes).
    pub async fn wait_progress(&self) {
        let notified = self.progress.notified();
        let _ = tokio::time::timeout(std::time::Duration::from_millis(50), notified).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn commit_waits_for_every_output_of_earlier_inputs() {
        let t = OffsetTracker::new();
        let topic: Arc<str> = Arc::from("in");
        t.assign(&topic, 0);
        let a = t.begin(&topic, 0, 10, 2);
        let b = t.begin(&topic, 0, 11, 1);
        let _none = t.begin(&topic, 0, 12, 0);
        t.ack(&b, Ok(()));
        assert!(t.take_committable().is_empty(), "offset 10 still has two outputs in flight");
        t.ack(&a, Ok(()));
        assert!(t.take_committable().is_empty(), "one output of 10 left");
        t.ack(&a, Ok(()));
        let c = t.take_committable();
        assert_eq!(c.len(), 1);
        assert_eq!(c[0].next_offset, 13);
        assert_eq!(t.in_flight(), 0);
    }

    #[test]
    fn failure_blocks_commits_and_revoked_acks_are_ignored() {
        let t = OffsetTracker::new();
        let topic: Arc<str> = Arc::from("in");
        t.assign(&topic, 0);
        let a = t.begin(&topic, 0, 0, 1);
        t.revoke(&topic, 0);
        t.ack(&a, Ok(()));
        assert!(t.take_committable().is_empty());
        t.assign(&topic, 0);
        let b = t.begin(&topic, 0, 5, 1);
        t.ack(&b, Err("broker down".into()));
        assert!(t.take_committable().is_empty());
        assert!(t.failure().is_some());
    }
}
