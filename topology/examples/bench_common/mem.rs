//! In-memory bus parts for the CPU benchmarks (`bench_pipeline`, and the CPU profile of
//! `bench_kafka`): a [`Source`] over a vector of records and a [`Sink`] that acknowledges every
//! output at once and drops it, so the runtime's own runner (`runtime::runner::StageRunner`,
//! shared by Kafka and the embedded bus) runs with no bus cost at all; and the encoded corpus
//! of the shared workload.

use super::gen::{Workload, CVES};
use patchline_processors::events::{Event, EventKind};
use patchline_topology::codec::Codec;
use patchline_topology::embedded::partition_for;
use patchline_topology::error::Result;
use patchline_topology::observe::metrics::Metrics;
use patchline_topology::runtime::offsets::OffsetTracker;
use patchline_topology::runtime::record::{AckToken, CommitOffset, InputRecord, OutputRecord};
use patchline_topology::runtime::runner::{RunSummary, RunnerConfig, StageRunner};
use patchline_topology::runtime::stage::StagePlan;
use patchline_topology::runtime::{Sink, Source};
use patchline_topology::spec::{StageSpec, TopologySpec};
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::sync::Arc;
use std::time::Duration;

/// Hands out the records of a vector, then reports the source finished.
pub struct VecSource(std::vec::IntoIter<InputRecord>);

impl VecSource {
    pub fn new(records: Vec<InputRecord>) -> VecSource {
        VecSource(records.into_iter())
    }
}

impl Source for VecSource {
    async fn next(&mut self) -> Result<Option<InputRecord>> {
        Ok(self.0.next())
    }

    fn commit(&mut self, _offsets: &[CommitOffset], _sync: bool) -> Result<()> {
        Ok(())
    }
}

/// Acknowledges every output as soon as it is sent and keeps only counts.
pub struct NullSink {
    tracker: Arc<OffsetTracker>,
    pub records: AtomicU64,
    pub bytes: AtomicU64,
}

impl NullSink {
    pub fn new(tracker: Arc<OffsetTracker>) -> NullSink {
        NullSink { tracker, records: AtomicU64::new(0), bytes: AtomicU64::new(0) }
    }
}

impl Sink for NullSink {
    fn send(&self, record: OutputRecord, token: AckToken) -> Result<()> {
        self.records.fetch_add(1, Relaxed);
        self.bytes.fetch_add((record.key.len() + record.value.len()) as u64, Relaxed);
        self.tracker.ack(&token, Ok(()));
        Ok(())
    }

    fn flush(&self, _timeout: Duration) -> Result<()> {
        Ok(())
    }
}

/// The bundled topology and its assess stage.
pub fn assess_stage() -> std::result::Result<(TopologySpec, StageSpec), String> {
    let spec = TopologySpec::default_topology().map_err(|e| e.to_string())?;
    let stage = spec.stages.iter().find(|s| s.processor == "assess").cloned();
    Ok((spec.clone(), stage.ok_or("the bundled topology has no assess stage")?))
}

/// A fresh assess stage plan holding every advisory of the workload (loaded untimed, as the
/// global table is before the partitioned inputs flow).
pub fn loaded_plan(spec: &TopologySpec, stage: &StageSpec, w: &Workload) -> StagePlan {
    let mut plan = StagePlan::build(spec, stage).expect("the bundled assess stage builds");
    let mut out = Vec::new();
    for c in 0..CVES {
        out.clear();
        plan.processor.process(Event::Advisory(w.advisory(c)), &mut out).expect("valid advisory");
    }
    plan
}

/// The partitioned input of `assets` assets as the runtime receives it: per asset its inventory
/// record, then its finding records, on the bundled topic names, with the partition of the key
/// among `partitions` and dense offsets per (topic, partition).
pub fn corpus(
    spec: &TopologySpec,
    stage: &StageSpec,
    codec: &Codec,
    w: &Workload,
    assets: usize,
    partitions: i32,
) -> Vec<InputRecord> {
    let topic = |kind: EventKind| -> Arc<str> {
        let input = stage
            .inputs
            .iter()
            .find(|n| spec.topic(n).ok().and_then(|t| t.event_kind()) == Some(kind));
        Arc::from(input.map_or("", |n| n.as_str()))
    };
    let (assets_topic, findings_topic) =
        (topic(EventKind::AssetTelemetry), topic(EventKind::Finding));
    let mut offsets = std::collections::HashMap::new();
    let mut out = Vec::with_capacity(assets * 6);
    let mut push = |topic: &Arc<str>, event: Event| {
        let key = event.key().as_bytes().to_vec();
        let partition = partition_for(&key, partitions);
        let offset = offsets.entry((topic.clone(), partition)).or_insert(0i64);
        out.push(InputRecord {
            topic: topic.clone(),
            partition,
            offset: *offset,
            key: Some(key),
            value: Some(codec.encode(&event).expect("the bundled codec encodes every event")),
            headers: Vec::new(),
            timestamp: None,
        });
        *offset += 1;
    };
    for i in 0..assets {
        push(&assets_topic, Event::AssetTelemetry(w.asset(i)));
        for f in w.findings(i) {
            push(&findings_topic, Event::Finding(f));
        }
    }
    out
}

/// Runs the runtime's stage runner over `records` into a [`NullSink`] on the current thread's
/// runtime; returns the run's totals and the outputs sent.
pub async fn run_runner(
    plan: StagePlan,
    codec: Arc<Codec>,
    records: Vec<InputRecord>,
    metrics: &Metrics,
) -> (RunSummary, u64) {
    let tracker = OffsetTracker::new();
    let sink = Arc::new(NullSink::new(tracker.clone()));
    let name = plan.name.clone();
    let runner = StageRunner::new(
        plan,
        codec,
        VecSource::new(records),
        sink.clone(),
        tracker,
        metrics.stage(&name),
        RunnerConfig::default(),
    );
    let (_keep, shutdown) = tokio::sync::watch::channel(false);
    let summary = runner.run(shutdown).await.expect("an in-memory run cannot fail");
    (summary, sink.records.load(Relaxed))
}

/// Nanoseconds this thread has spent on a CPU (Linux `/proc/thread-self/schedstat`), 0 when
/// unknown.
pub fn thread_cpu_ns() -> u64 {
    std::fs::read_to_string("/proc/thread-self/schedstat")
        .ok()
        .and_then(|s| s.split_whitespace().next().and_then(|v| v.parse().ok()))
        .unwrap_or(0)
}
