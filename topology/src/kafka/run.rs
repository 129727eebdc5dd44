//! Runs one stage of the topology on Kafka: position the global inputs, join the group, restore
//! the state of every partition it is given, process until shutdown. Invariant: the runner
//! restores a partition's state before it handles any new record of it (see the runner's
//! partition changes), so no record is processed against a state that lacks an older one.

use crate::codec::Codec;
use crate::error::Result;
use crate::kafka::config::KafkaConfig;
use crate::kafka::consumer::{KafkaSource, SourceSettings};
use crate::kafka::producer::KafkaSink;
use crate::observe::metrics::Metrics;
use crate::runtime::offsets::OffsetTracker;
use crate::runtime::query::QueryRequest;
use crate::runtime::runner::{RunSummary, RunnerConfig, StageRunner};
use crate::runtime::stage::{ProcessorOptions, StagePlan};
use crate::spec::{StageSpec, TopologySpec};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{mpsc, watch};

/// Everything one stage needs to run on Kafka.
#[derive(Clone)]
pub struct KafkaStage {
    pub spec: TopologySpec,
    pub stage: StageSpec,
    pub kafka: KafkaConfig,
    pub codec: Arc<Codec>,
    pub metrics: Arc<Metrics>,
    pub config: RunnerConfig,
    /// Stable id of this instance; names the consumer group of its global inputs.
    pub instance: String,
    /// Processor settings (policy).
    pub options: ProcessorOptions,
}

/// Runs the stage until `shutdown` turns true, answering `queries` between records; calls
/// `on_ready` once its state is restored.
pub async fn run_stage(
    s: KafkaStage,
    shutdown: watch::Receiver<bool>,
    queries: mpsc::Receiver<QueryRequest>,
    on_ready: impl FnOnce() + Send + 'static,
) -> Result<RunSummary> {
    let plan = StagePlan::build_with(&s.spec, &s.stage, &s.options)?;
    let tracker = OffsetTracker::new();
    let sink = Arc::new(KafkaSink::new(&s.kafka, tracker.clone())?);
    let group = format!("{}.{}", s.spec.name, s.stage.name);
    let partitioned: Vec<Arc<str>> =
        plan.input_order.iter().filter(|t| !plan.global_inputs.contains(t)).cloned().collect();
    let metrics = s.metrics.stage(&s.stage.name);
    let source = with_retry(|| {
        KafkaSource::start(SourceSettings {
            kafka: &s.kafka,
            group: &group,
            instance: &s.instance,
            partitioned: &partitioned,
            global: &plan.global_inputs,
            priority: &plan.priority_inputs,
            tracker: tracker.clone(),
            producer: sink.producer(),
            metrics: metrics.clone(),
        })
    })
    .await?;
    StageRunner::new(plan, s.codec, source, sink, tracker, metrics, s.config)
        .on_ready(on_ready)
        .serve_queries(queries)
        .run(shutdown)
        .await
}

/// Retries `f` while it fails with a retryable error, e.g. while the group coordinator is being
/// elected (normal for a new group or a freshly started broker).
async fn with_retry<T>(mut f: impl FnMut() -> Result<T>) -> Result<T> {
    let mut attempts = 0;
    loop {
        match f() {
            Ok(v) => return Ok(v),
            Err(e) if e.retryable() && attempts < 60 => {
                attempts += 1;
                tracing::debug!(error = %e, attempts, "Kafka not ready yet; retrying");
                tokio::time::sleep(Duration::from_millis(500)).await;
            }
            Err(e) => return Err(e),
        }
    }
}
