//! The stage runner: topic -> decode -> processor -> encode -> topic, with dead letters,
//! backpressure and at-least-once commits.
//!
//! Invariants:
//! - every input record ends as processed (its outputs, possibly none) or dead-lettered, never
//!   both and never neither: records in = processed + dead-lettered;
//! - an input's offset is committed only after each of its outputs (or its dead letter) is
//!   acknowledged by the bus (see [`super::offsets`]);
//! - at most `max_in_flight` outputs are unacknowledged at any time (backpressure);
//! - punctuation follows the configured [`PunctuationClock`]: the wall clock by default, or an
//!   [`ExternalClock`] its owner advances (see [`clock`]).

pub mod clock;
mod process;

pub use clock::{ExternalClock, PunctuationClock};
pub use process::restore_record;

use super::offsets::OffsetTracker;
use super::query::QueryRequest;
use super::record::InputRecord;
use super::stage::StagePlan;
use super::{Sink, Source};
use crate::codec::Codec;
use crate::error::{Error, Result};
use crate::observe::events::{OffsetsCommitted, StageStopped, StateSize};
use crate::observe::metrics::StageMetrics;
use patchline_processors::events::Event;
use prometheus::IntCounter;
use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::{mpsc, watch};

/// Tuning of a runner. Defaults: 10,000 outputs in flight, commit every second, punctuate every
/// second of wall-clock time.
#[derive(Debug, Clone)]
pub struct RunnerConfig {
    pub max_in_flight: usize,
    pub commit_interval: Duration,
    pub flush_timeout: Duration,
    /// How often the processor's punctuator runs, in the time of `clock`. Default: 1 s.
    pub punctuate_interval: Duration,
    /// The time punctuation follows. Default: the wall clock.
    pub clock: PunctuationClock,
}

impl Default for RunnerConfig {
    fn default() -> Self {
        RunnerConfig {
            max_in_flight: 10_000,
            commit_interval: Duration::from_secs(1),
            flush_timeout: Duration::from_secs(30),
            punctuate_interval: Duration::from_secs(1),
            clock: PunctuationClock::Wall,
        }
    }
}

/// Totals of one run.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RunSummary {
    pub records_in: u64,
    pub processed: u64,
    pub dead_lettered: u64,
    pub records_out: u64,
}

/// Drives one stage.
pub struct StageRunner<S: Source, K: Sink> {
    plan: StagePlan,
    codec: Arc<Codec>,
    source: S,
    sink: Arc<K>,
    tracker: Arc<OffsetTracker>,
    metrics: StageMetrics,
    config: RunnerConfig,
    counters: HashMap<(Arc<str>, bool), IntCounter>,
    summary: RunSummary,
    scratch: Vec<Event>,
    on_ready: Option<Box<dyn FnOnce() + Send>>,
    queries: Option<mpsc::Receiver<QueryRequest>>,
    punctuations: i64,
}

impl<S: Source, K: Sink> StageRunner<S, K> {
    /// A runner over a source and a sink that share `tracker`.
    pub fn new(
        plan: StagePlan,
        codec: Arc<Codec>,
        source: S,
        sink: Arc<K>,
        tracker: Arc<OffsetTracker>,
        metrics: StageMetrics,
        config: RunnerConfig,
    ) -> Self {
        StageRunner {
            plan,
            codec,
            source,
            sink,
            tracker,
            metrics,
            config,
            counters: HashMap::new(),
            summary: RunSummary::default(),
            scratch: Vec::new(),
            on_ready: None,
            queries: None,
            punctuations: 0,
        }
    }

    /// Serves interactive queries arriving on `queries`, between records.
    pub fn serve_queries(mut self, queries: mpsc::Receiver<QueryRequest>) -> Self {
        self.queries = Some(queries);
        self
    }

    /// Calls `ready` once the stage has restored its state and owns its first partitions.
    pub fn on_ready(mut self, ready: impl FnOnce() + Send + 'static) -> Self {
        self.on_ready = Some(Box::new(ready));
        self
    }

    /// Applies an ownership change: drops the state of partitions no longer owned (and of those
    /// about to be rebuilt), then replays the partitions to rebuild. Emits nothing.
    async fn apply_partition_changes(&mut self) -> Result<()> {
        let Some(change) = self.source.take_partition_change()? else { return Ok(()) };
        let started = Instant::now();
        let rebuilt: std::collections::BTreeSet<i32> = change
            .restore
            .iter()
            .filter(|(t, _, _)| !self.plan.global_inputs.contains(t))
            .map(|(_, p, _)| *p)
            .collect();
        let partitions = self.plan.partitioned_partitions;
        let owned = change.owned.clone();
        let in_partitions = move |key: &str, set: &std::collections::BTreeSet<i32>| {
            set.contains(&crate::embedded::partition_for(key.as_bytes(), partitions))
        };
        self.plan.processor.retain_partitioned(&|key: &str| {
            in_partitions(key, &owned) && !in_partitions(key, &rebuilt)
        });
        // An input with a changelog restores from its changelog, read to its end; the others
        // replay the input up to the committed offset.
        let mut from_changelog = false;
        let replay: Vec<(Arc<str>, i32, i64)> = change
            .restore
            .iter()
            .map(|(topic, p, until)| match self.plan.changelogs.get(topic) {
                Some(changelog) => {
                    from_changelog = true;
                    (changelog.clone(), *p, i64::MAX)
                }
                None => (topic.clone(), *p, *until),
            })
            .collect();
        self.source.start_replay(&replay)?;
        let (mut applied, mut skipped) = (0u64, 0u64);
        while let Some(record) = self.source.next_replay().await? {
            if restore_record(&mut self.plan, &self.codec, &record).await {
                applied += 1;
            } else {
                skipped += 1;
            }
        }
        if from_changelog {
            // The changelog may hold effects of inputs whose outputs were never delivered:
            // forget what was emitted, so reprocessing them emits again.
            self.plan.processor.forget_emitted(&|key: &str| in_partitions(key, &rebuilt));
        }
        tracing::info!(
            stage = %self.plan.name,
            owned = ?change.owned,
            from_changelog,
            replayed = applied,
            skipped,
            elapsed_ms = started.elapsed().as_millis() as u64,
            "partitions restored"
        );
        if change.assigned {
            if let Some(ready) = self.on_ready.take() {
                ready();
            }
        }
        Ok(())
    }

    /// The processor, for interactive queries and tests.
    pub fn processor(&self) -> &dyn patchline_processors::Processor {
        self.plan.processor.as_ref()
    }

    fn counter(&mut self, topic: &Arc<str>, out: bool) -> IntCounter {
        let metrics = &self.metrics;
        self.counters
            .entry((topic.clone(), out))
            .or_insert_with(|| {
                if out {
                    metrics.records_out(topic)
                } else {
                    metrics.records_in(topic)
                }
            })
            .clone()
    }

    /// Applies an input that was processed before a restart, to rebuild state. Emits nothing;
    /// records that do not decode or validate are skipped (they were dead-lettered the first time).
    pub async fn restore(&mut self, record: &InputRecord) -> bool {
        restore_record(&mut self.plan, &self.codec, record).await
    }

    /// Runs until the source finishes or `shutdown` turns true, then drains and commits.
    pub async fn run(self, shutdown: watch::Receiver<bool>) -> Result<RunSummary> {
        self.run_returning_plan(shutdown).await.map(|(summary, _)| summary)
    }

    /// Like [`StageRunner::run`], and hands the stage (with its processor state) back.
    pub async fn run_returning_plan(
        mut self,
        mut shutdown: watch::Receiver<bool>,
    ) -> Result<(RunSummary, StagePlan)> {
        let mut commit_timer = tokio::time::interval(self.config.commit_interval);
        commit_timer.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        // The first punctuation comes one interval after the start, not at once: a stage that
        // runs for less than an interval (the embedded bus) is punctuated only by its caller.
        let mut punctuate_timer = tokio::time::interval_at(
            tokio::time::Instant::now() + self.config.punctuate_interval,
            self.config.punctuate_interval,
        );
        punctuate_timer.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        // With an external clock the timer never punctuates: the clock's instants do.
        let mut external = self.config.clock.subscribe();
        let wall = external.is_none();
        loop {
            if let Some(failure) = self.tracker.failure() {
                return Err(Error::Closed(failure));
            }
            self.apply_partition_changes().await?;
            if self.tracker.in_flight() >= self.config.max_in_flight {
                // Backpressure: read nothing until acknowledgements free room.
                self.tracker.wait_progress().await;
                continue;
            }
            tokio::select! {
                biased;
                changed = shutdown.changed() => {
                    if changed.is_err() || *shutdown.borrow() {
                        break;
                    }
                }
                Some(request) = next_query(&mut self.queries) => {
                    let answer = self.plan.processor.query(&request.query);
                    let _ = request.reply.send(answer);
                }
                _ = commit_timer.tick() => self.commit(false)?,
                _ = punctuate_timer.tick(), if wall => {
                    let now = std::time::SystemTime::now()
                        .duration_since(std::time::UNIX_EPOCH)
                        .map_or(0, |d| d.as_millis() as i64);
                    self.punctuate(now)?;
                }
                t = clock::next_instant(&mut external) => {
                    if let Some(sub) = external.as_mut() {
                        self.external_instant(t, sub).await?;
                    }
                }
                next = self.source.next() => match next? {
                    Some(record) => {
                        // A rebalance happens inside `next`: restore before handling.
                        self.apply_partition_changes().await?;
                        self.handle(record).await?
                    }
                    None => break,
                },
            }
        }
        self.drain()?;
        StageStopped {
            records_in: self.summary.records_in,
            records_out: self.summary.records_out,
            dead_lettered: self.summary.dead_lettered,
        }
        .emit(&self.metrics);
        Ok((self.summary, self.plan))
    }

    /// Waits for every output to be acknowledged, then commits synchronously.
    fn drain(&mut self) -> Result<()> {
        self.sink.flush(self.config.flush_timeout)?;
        if let Some(failure) = self.tracker.failure() {
            return Err(Error::Closed(failure));
        }
        self.commit(true)
    }

    fn commit(&mut self, sync: bool) -> Result<()> {
        let offsets = self.tracker.take_committable();
        if !offsets.is_empty() {
            self.source.commit(&offsets, sync)?;
            OffsetsCommitted { partitions: offsets.len() }.emit(&self.metrics);
        }
        for (store, entries) in self.plan.processor.state_sizes() {
            StateSize { store, entries: entries as i64 }.emit(&self.metrics);
        }
        for g in self.plan.processor.model_gauges() {
            self.metrics.set_model(&g.model, g.metric, g.value);
        }
        Ok(())
    }
}

/// The next query, or never when the stage serves none.
async fn next_query(queries: &mut Option<mpsc::Receiver<QueryRequest>>) -> Option<QueryRequest> {
    match queries {
        Some(rx) => rx.recv().await,
        None => std::future::pending().await,
    }
}
