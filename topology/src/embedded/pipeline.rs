//! Runs a whole topology on the embedded bus. Invariant: stages run in topology order and the
//! pass repeats until no stage reads a new record, so every record produced anywhere in the DAG
//! has been consumed by every stage that reads its topic before `run_until_idle` returns.

use super::bus::Bus;
use super::source::{EmbeddedSink, EmbeddedSource};
use crate::codec::Codec;
use crate::error::Result;
use crate::observe::metrics::Metrics;
use crate::runtime::offsets::OffsetTracker;
use crate::runtime::runner::{RunSummary, RunnerConfig, StageRunner};
use crate::runtime::stage::{ProcessorOptions, StagePlan};
use crate::spec::TopologySpec;
use patchline_processors::Processor;
use std::collections::BTreeMap;
use std::sync::Arc;
use tokio::sync::watch;

/// A topology running on an embedded bus, with each stage's processor kept between passes.
pub struct EmbeddedPipeline {
    spec: TopologySpec,
    bus: Arc<Bus>,
    codec: Arc<Codec>,
    metrics: Arc<Metrics>,
    stages: Vec<Option<StagePlan>>,
    clock: Arc<dyn Fn() -> i64 + Send + Sync>,
}

impl EmbeddedPipeline {
    /// A pipeline over a fresh bus holding the topology's topics. `clock` stamps output records.
    pub fn new(
        spec: TopologySpec,
        codec: Arc<Codec>,
        metrics: Arc<Metrics>,
        clock: Arc<dyn Fn() -> i64 + Send + Sync>,
    ) -> Result<EmbeddedPipeline> {
        Self::new_with(spec, codec, metrics, clock, &ProcessorOptions::default())
    }

    /// Like [`EmbeddedPipeline::new`], with processor options (policies, signing key, shadow).
    pub fn new_with(
        spec: TopologySpec,
        codec: Arc<Codec>,
        metrics: Arc<Metrics>,
        clock: Arc<dyn Fn() -> i64 + Send + Sync>,
        options: &ProcessorOptions,
    ) -> Result<EmbeddedPipeline> {
        let bus = Bus::new(&spec);
        let stages = spec
            .stages
            .iter()
            .map(|s| StagePlan::build_with(&spec, s, options).map(Some))
            .collect::<Result<Vec<_>>>()?;
        Ok(EmbeddedPipeline { spec, bus, codec, metrics, stages, clock })
    }

    /// The bus, to produce inputs and read outputs.
    pub fn bus(&self) -> &Arc<Bus> {
        &self.bus
    }

    /// The codec of the pipeline.
    pub fn codec(&self) -> &Arc<Codec> {
        &self.codec
    }

    /// The processor of a stage, for queries.
    pub fn processor(&self, stage: &str) -> Option<&dyn Processor> {
        self.spec
            .stages
            .iter()
            .position(|s| s.name == stage)
            .and_then(|i| self.stages.get(i))
            .and_then(|s| s.as_ref())
            .map(|p| p.processor.as_ref())
    }

    /// Runs every stage's punctuator at `now_ms` and appends what they emit to the bus; returns
    /// how many records were emitted. Call [`EmbeddedPipeline::run_until_idle`] after it.
    pub fn punctuate(&mut self, now_ms: i64) -> Result<usize> {
        let mut emitted = 0;
        for plan in self.stages.iter_mut().flatten() {
            let mut out = Vec::new();
            plan.processor.punctuate(now_ms, &mut out);
            for event in out {
                let Some(topic) = plan.outputs.get(&event.kind()) else {
                    return Err(crate::Error::Config(format!(
                        "stage {} emitted {} without an output topic",
                        plan.name,
                        event.kind().name()
                    )));
                };
                self.bus.produce(
                    topic,
                    event.key().as_bytes(),
                    self.codec.encode(&event)?,
                    now_ms,
                )?;
                emitted += 1;
            }
        }
        Ok(emitted)
    }

    /// Runs every stage until the whole DAG is idle; returns the totals per stage.
    pub async fn run_until_idle(&mut self) -> Result<BTreeMap<String, RunSummary>> {
        let mut totals: BTreeMap<String, RunSummary> = BTreeMap::new();
        let (_keep, shutdown) = watch::channel(false);
        loop {
            let mut consumed = 0;
            for i in 0..self.stages.len() {
                let Some(plan) = self.stages[i].take() else { continue };
                let name = plan.name.clone();
                let group = format!("{}.{}", self.spec.name, name);
                let tracker = OffsetTracker::new();
                let source = EmbeddedSource::new(
                    self.bus.clone(),
                    &group,
                    &plan.input_order,
                    &plan.priority_inputs,
                    &tracker,
                    true,
                )?;
                let clock = self.clock.clone();
                let sink = Arc::new(EmbeddedSink::new(
                    self.bus.clone(),
                    tracker.clone(),
                    Box::new(move || clock()),
                ));
                let runner = StageRunner::new(
                    plan,
                    self.codec.clone(),
                    source,
                    sink,
                    tracker,
                    self.metrics.stage(&name),
                    // Time-driven work runs on the caller's clock only (`punctuate`), so a run
                    // over the same records is the same whatever the wall clock says.
                    RunnerConfig {
                        punctuate_interval: std::time::Duration::from_secs(365 * 86_400),
                        ..RunnerConfig::default()
                    },
                );
                let (summary, plan) = runner.run_returning_plan(shutdown.clone()).await?;
                self.stages[i] = Some(plan);
                consumed += summary.records_in;
                let t = totals.entry(name).or_default();
                t.records_in += summary.records_in;
                t.processed += summary.processed;
                t.dead_lettered += summary.dead_lettered;
                t.records_out += summary.records_out;
            }
            if consumed == 0 {
                return Ok(totals);
            }
        }
    }
}
