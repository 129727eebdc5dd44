//! Runs one stage of the topology on Kafka: restore, join the group, process until shutdown.
//! Invariant: the stage joins its consumer group only after its state is restored, so it never
//! processes a new record against a state that lacks an older one.

use crate::codec::Codec;
use crate::error::Result;
use crate::kafka::config::KafkaConfig;
use crate::kafka::consumer::KafkaSource;
use crate::kafka::producer::KafkaSink;
use crate::kafka::restore::replay;
use crate::observe::metrics::Metrics;
use crate::runtime::offsets::OffsetTracker;
use crate::runtime::runner::{RunSummary, RunnerConfig, StageRunner};
use crate::runtime::stage::StagePlan;
use crate::spec::{StageSpec, TopologySpec};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::watch;

/// Everything one stage needs to run on Kafka.
#[derive(Clone)]
pub struct KafkaStage {
    pub spec: TopologySpec,
    pub stage: StageSpec,
    pub kafka: KafkaConfig,
    pub codec: Arc<Codec>,
    pub metrics: Arc<Metrics>,
    pub config: RunnerConfig,
}

/// Restores and runs the stage until `shutdown` turns true; calls `on_ready` once restored.
pub async fn run_stage(
    s: KafkaStage,
    shutdown: watch::Receiver<bool>,
    on_ready: impl FnOnce() + Send,
) -> Result<RunSummary> {
    let KafkaStage { spec, stage, kafka, codec, metrics, config } = s;
    let (spec, stage, kafka) = (&spec, &stage, &kafka);
    let mut plan = StagePlan::build(spec, stage)?;
    let tracker = OffsetTracker::new();
    let sink = Arc::new(KafkaSink::new(kafka, tracker.clone())?);
    let group = format!("{}.{}", spec.name, stage.name);
    let source = KafkaSource::new(
        kafka,
        &group,
        &plan.input_order,
        tracker.clone(),
        sink.producer(),
        metrics.stage(&stage.name),
    )?;
    let positions = committed_with_retry(&source).await?;
    let restored = replay(kafka, &positions, &mut plan, &codec).await?;
    tracing::info!(
        stage = %stage.name,
        records = restored.records,
        skipped = restored.skipped,
        elapsed_ms = restored.elapsed_ms as u64,
        "state restored from source topics"
    );
    source.subscribe()?;
    on_ready();
    let runner =
        StageRunner::new(plan, codec, source, sink, tracker, metrics.stage(&stage.name), config);
    runner.run(shutdown).await
}

/// The group's committed positions, retrying while the group coordinator is still being elected
/// or loaded (normal for a new group or a freshly started broker).
async fn committed_with_retry(source: &KafkaSource) -> Result<Vec<(Arc<str>, i32, i64)>> {
    let mut attempts = 0;
    loop {
        match source.committed_positions(Duration::from_secs(10)) {
            Ok(p) => return Ok(p),
            Err(e) if e.retryable() && attempts < 60 => {
                attempts += 1;
                tracing::debug!(error = %e, attempts, "committed offsets not available yet; retrying");
                tokio::time::sleep(Duration::from_millis(500)).await;
            }
            Err(e) => return Err(e),
        }
    }
}
