//! Typed internal events: one small struct per thing worth knowing, whose `emit` both logs it
//! (structured `tracing` fields) and updates its metric, in the style of Vector's internal events.
//!
//! Invariant: the log line and the metric of an event can never disagree, because both come from
//! the same `emit`; and an event is always counted under the stage of the [`StageMetrics`] it is
//! emitted with (events carry no stage of their own, `stage` is logged from
//! [`StageMetrics::name`]).

use super::metrics::StageMetrics;
use crate::dead_letter::DeadLetterReason;

/// An input record was dead-lettered. Warn log; increments
/// `patchline_records_dead_lettered_total{stage,topic,reason}`.
#[derive(Debug, Clone, Copy)]
pub struct RecordDeadLettered<'a> {
    /// Topic the record was read from.
    pub topic: &'a str,
    /// Partition it was read from.
    pub partition: i32,
    /// Offset it was read from.
    pub offset: i64,
    /// Why.
    pub reason: DeadLetterReason,
    /// The error text.
    pub error: &'a str,
}

impl RecordDeadLettered<'_> {
    /// Logs and counts the event.
    pub fn emit(&self, m: &StageMetrics) {
        tracing::warn!(
            stage = m.name(),
            topic = self.topic,
            partition = self.partition,
            offset = self.offset,
            reason = self.reason.label(),
            error = self.error,
            "record dead-lettered"
        );
        m.dead_lettered(self.topic, self.reason).inc();
    }
}

/// Input offsets were committed. Debug log; increments `patchline_commits_total{stage}`.
#[derive(Debug, Clone, Copy)]
pub struct OffsetsCommitted {
    /// Number of partitions whose offset was committed.
    pub partitions: usize,
}

impl OffsetsCommitted {
    /// Logs and counts the event.
    pub fn emit(&self, m: &StageMetrics) {
        tracing::debug!(stage = m.name(), partitions = self.partitions, "offsets committed");
        m.commits().inc();
    }
}

/// A stage started consuming. Info log.
#[derive(Debug, Clone, Copy)]
pub struct StageStarted<'a> {
    /// Input topics.
    pub inputs: &'a [String],
    /// Consumer group id (or the embedded bus name).
    pub group: &'a str,
}

impl StageStarted<'_> {
    /// Logs the event.
    pub fn emit(&self, m: &StageMetrics) {
        tracing::info!(
            stage = m.name(),
            inputs = ?self.inputs,
            group = self.group,
            "stage started"
        );
    }
}

/// A stage stopped. Info log with its totals (already counted record by record).
#[derive(Debug, Clone, Copy)]
pub struct StageStopped {
    /// Records read.
    pub records_in: u64,
    /// Records written.
    pub records_out: u64,
    /// Records dead-lettered.
    pub dead_lettered: u64,
}

impl StageStopped {
    /// Logs the event.
    pub fn emit(&self, m: &StageMetrics) {
        tracing::info!(
            stage = m.name(),
            records_in = self.records_in,
            records_out = self.records_out,
            dead_lettered = self.dead_lettered,
            "stage stopped"
        );
    }
}

/// Consumer lag of one input partition was measured. Trace log; sets
/// `patchline_consumer_lag{stage,topic,partition}`.
#[derive(Debug, Clone, Copy)]
pub struct ConsumerLagMeasured<'a> {
    /// Input topic.
    pub topic: &'a str,
    /// Partition.
    pub partition: i32,
    /// High watermark minus committed offset.
    pub lag: i64,
}

impl ConsumerLagMeasured<'_> {
    /// Logs the event and sets the gauge.
    pub fn emit(&self, m: &StageMetrics) {
        tracing::trace!(
            stage = m.name(),
            topic = self.topic,
            partition = self.partition,
            lag = self.lag,
            "consumer lag measured"
        );
        m.consumer_lag(self.topic, self.partition).set(self.lag);
    }
}

/// The size of a state store was measured. Trace log; sets
/// `patchline_state_entries{stage,store}`.
#[derive(Debug, Clone, Copy)]
pub struct StateSize<'a> {
    /// Store name.
    pub store: &'a str,
    /// Entries in the store.
    pub entries: i64,
}

impl StateSize<'_> {
    /// Logs the event and sets the gauge.
    pub fn emit(&self, m: &StageMetrics) {
        tracing::trace!(
            stage = m.name(),
            store = self.store,
            entries = self.entries,
            "state size measured"
        );
        m.state_entries(self.store).set(self.entries);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::observe::Metrics;

    #[test]
    fn events_update_their_metrics() {
        let metrics = Metrics::new().expect("metrics");
        let m = metrics.stage("assess");
        let dead = RecordDeadLettered {
            topic: "patchline.findings",
            partition: 1,
            offset: 42,
            reason: DeadLetterReason::Undecodable,
            error: "bad magic byte",
        };
        dead.emit(&m);
        dead.emit(&m);
        OffsetsCommitted { partitions: 3 }.emit(&m);
        ConsumerLagMeasured { topic: "patchline.findings", partition: 1, lag: 9 }.emit(&m);
        StateSize { store: "advisories", entries: 12 }.emit(&m);
        StageStarted { inputs: &["patchline.findings".to_owned()], group: "patchline.assess" }
            .emit(&m);
        StageStopped { records_in: 2, records_out: 0, dead_lettered: 2 }.emit(&m);

        assert_eq!(m.dead_lettered("patchline.findings", DeadLetterReason::Undecodable).get(), 2);
        assert_eq!(m.commits().get(), 1);
        assert_eq!(m.consumer_lag("patchline.findings", 1).get(), 9);
        assert_eq!(m.state_entries("advisories").get(), 12);
        assert!(metrics.render().contains(
            r#"patchline_consumer_lag{partition="1",stage="assess",topic="patchline.findings"} 9"#
        ));
    }
}
