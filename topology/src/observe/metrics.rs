//! Prometheus metrics of the runtime, kept in a registry of their own (never the global one), plus
//! the liveness and readiness flags served by the admin HTTP server.
//!
//! Invariant: every metric family is registered exactly once, in [`Metrics::new`], under the
//! `patchline_` prefix and with a fixed label set; handles returned by [`StageMetrics`] always
//! carry the stage label of the [`StageMetrics`] they came from.
//!
//! Intended use on the hot path: resolve label values once and keep the handle. A stage calls
//! [`Metrics::stage`] at start, then e.g. `let in_findings = stage.records_in("findings")` once per
//! input topic, and calls `in_findings.inc()` per record. Resolving a handle hashes the label
//! values and takes a read lock; incrementing a cached handle is one atomic add.

use crate::error::{Error, Result};
use prometheus::{
    GaugeVec, Histogram, HistogramOpts, HistogramVec, IntCounter, IntCounterVec, IntGauge,
    IntGaugeVec, Opts, Registry, TextEncoder,
};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

/// Content type of [`Metrics::render`] (Prometheus text exposition format 0.0.4).
pub const CONTENT_TYPE: &str = prometheus::TEXT_FORMAT;

/// Buckets of `patchline_processing_seconds`: 10 µs to 1 s, 1-2.5-5 steps.
pub const PROCESSING_BUCKETS: [f64; 16] = [
    0.000_01, 0.000_025, 0.000_05, 0.000_1, 0.000_25, 0.000_5, 0.001, 0.002_5, 0.005, 0.01, 0.025,
    0.05, 0.1, 0.25, 0.5, 1.0,
];

/// All metrics of one process and its health flags.
#[derive(Debug)]
pub struct Metrics {
    registry: Registry,
    records_in: IntCounterVec,
    records_out: IntCounterVec,
    dead_lettered: IntCounterVec,
    processing: HistogramVec,
    consumer_lag: IntGaugeVec,
    state_entries: IntGaugeVec,
    models: GaugeVec,
    commits: IntCounterVec,
    live: AtomicBool,
    ready: AtomicBool,
    not_ready_reason: Mutex<String>,
}

fn metric_err(e: prometheus::Error) -> Error {
    Error::Config(format!("metrics: {e}"))
}

fn counter_vec(
    registry: &Registry,
    name: &str,
    help: &str,
    labels: &[&str],
) -> Result<IntCounterVec> {
    let vec = IntCounterVec::new(Opts::new(name, help), labels).map_err(metric_err)?;
    registry.register(Box::new(vec.clone())).map_err(metric_err)?;
    Ok(vec)
}

fn gauge_vec(registry: &Registry, name: &str, help: &str, labels: &[&str]) -> Result<IntGaugeVec> {
    let vec = IntGaugeVec::new(Opts::new(name, help), labels).map_err(metric_err)?;
    registry.register(Box::new(vec.clone())).map_err(metric_err)?;
    Ok(vec)
}

impl Metrics {
    /// Creates the registry and registers every metric family. The process starts live and not
    /// ready (reason `starting`).
    ///
    /// Fails only on a programming error (an invalid or duplicate metric name); the error is
    /// [`Error::Config`].
    pub fn new() -> Result<Arc<Metrics>> {
        let registry = Registry::new();
        let records_in = counter_vec(
            &registry,
            "patchline_records_in_total",
            "Records read from an input topic by a stage.",
            &["stage", "topic"],
        )?;
        let records_out = counter_vec(
            &registry,
            "patchline_records_out_total",
            "Records written to an output topic by a stage.",
            &["stage", "topic"],
        )?;
        let dead_lettered = counter_vec(
            &registry,
            "patchline_records_dead_lettered_total",
            "Input records a stage could not process, by reason.",
            &["stage", "topic", "reason"],
        )?;
        let processing = HistogramVec::new(
            HistogramOpts::new(
                "patchline_processing_seconds",
                "Time to process one input record, decode to encoded outputs.",
            )
            .buckets(PROCESSING_BUCKETS.to_vec()),
            &["stage"],
        )
        .map_err(metric_err)?;
        registry.register(Box::new(processing.clone())).map_err(metric_err)?;
        let consumer_lag = gauge_vec(
            &registry,
            "patchline_consumer_lag",
            "High watermark minus committed offset of an input partition.",
            &["stage", "topic", "partition"],
        )?;
        let state_entries = gauge_vec(
            &registry,
            "patchline_state_entries",
            "Entries in a state store of a stage.",
            &["stage", "store"],
        )?;
        let models = GaugeVec::new(
            Opts::new(
                "patchline_model",
                "Numbers of an online model: version, examples, promotions, rejections, \
                 log-loss, and calibration (predicted vs observed rate) and drift since the last gate.",
            ),
            &["stage", "model", "metric"],
        )
        .map_err(metric_err)?;
        registry.register(Box::new(models.clone())).map_err(metric_err)?;
        let commits = counter_vec(
            &registry,
            "patchline_commits_total",
            "Offset commits of a stage.",
            &["stage"],
        )?;
        Ok(Arc::new(Metrics {
            registry,
            records_in,
            records_out,
            dead_lettered,
            processing,
            consumer_lag,
            state_entries,
            models,
            commits,
            live: AtomicBool::new(true),
            ready: AtomicBool::new(false),
            not_ready_reason: Mutex::new("starting".to_owned()),
        }))
    }

    /// Handles for one stage; call once per stage and keep it.
    pub fn stage(&self, stage: &str) -> StageMetrics {
        StageMetrics {
            stage: stage.to_owned(),
            records_in: self.records_in.clone(),
            records_out: self.records_out.clone(),
            dead_lettered: self.dead_lettered.clone(),
            consumer_lag: self.consumer_lag.clone(),
            state_entries: self.state_entries.clone(),
            models: self.models.clone(),
            processing: self.processing.with_label_values(&[stage]),
            commits: self.commits.with_label_values(&[stage]),
        }
    }

    /// The registry, for collectors added by later code.
    pub fn registry(&self) -> &Registry {
        &self.registry
    }

    /// Every metric in the text exposition format ([`CONTENT_TYPE`]).
    pub fn render(&self) -> String {
        let mut buf = String::new();
        if let Err(e) = TextEncoder::new().encode_utf8(&self.registry.gather(), &mut buf) {
            tracing::error!(error = %e, "cannot encode metrics");
        }
        buf
    }

    /// Marks the process live (`true`) or dead (`false`, `/healthz` answers 503).
    pub fn set_live(&self, live: bool) {
        self.live.store(live, Ordering::SeqCst);
    }

    /// Whether the process is live.
    pub fn is_live(&self) -> bool {
        self.live.load(Ordering::SeqCst)
    }

    /// Marks the process ready to serve (`/readyz` answers 200).
    pub fn set_ready(&self) {
        self.ready.store(true, Ordering::SeqCst);
    }

    /// Marks the process not ready, with the reason `/readyz` reports.
    pub fn set_not_ready(&self, reason: &str) {
        let mut guard =
            self.not_ready_reason.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        reason.clone_into(&mut guard);
        self.ready.store(false, Ordering::SeqCst);
    }

    /// Whether the process is ready.
    pub fn is_ready(&self) -> bool {
        self.ready.load(Ordering::SeqCst)
    }

    /// `Ok(())` when ready, else the reason given to [`Metrics::set_not_ready`].
    pub fn readiness(&self) -> std::result::Result<(), String> {
        if self.is_ready() {
            return Ok(());
        }
        let guard = self.not_ready_reason.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        Err(guard.clone())
    }
}

/// The metrics of one stage: cheap to clone, label values resolved on demand.
///
/// The `processing` histogram and the commit counter are resolved once at creation; the methods
/// taking a topic, store or partition resolve a handle per call, so callers on the hot path keep
/// what they return.
#[derive(Debug, Clone)]
pub struct StageMetrics {
    stage: String,
    records_in: IntCounterVec,
    records_out: IntCounterVec,
    dead_lettered: IntCounterVec,
    consumer_lag: IntGaugeVec,
    state_entries: IntGaugeVec,
    models: GaugeVec,
    processing: Histogram,
    commits: IntCounter,
}

impl StageMetrics {
    /// The stage name (the `stage` label).
    pub fn name(&self) -> &str {
        &self.stage
    }

    /// `patchline_records_in_total{stage,topic}`.
    pub fn records_in(&self, topic: &str) -> IntCounter {
        self.records_in.with_label_values(&[self.stage.as_str(), topic])
    }

    /// `patchline_records_out_total{stage,topic}`.
    pub fn records_out(&self, topic: &str) -> IntCounter {
        self.records_out.with_label_values(&[self.stage.as_str(), topic])
    }

    /// `patchline_records_dead_lettered_total{stage,topic,reason}`.
    pub fn dead_lettered(
        &self,
        topic: &str,
        reason: crate::dead_letter::DeadLetterReason,
    ) -> IntCounter {
        self.dead_lettered.with_label_values(&[self.stage.as_str(), topic, reason.label()])
    }

    /// `patchline_processing_seconds{stage}`; time a record with `start_timer()` or
    /// `observe(secs)`.
    pub fn processing_seconds(&self) -> &Histogram {
        &self.processing
    }

    /// `patchline_commits_total{stage}`.
    pub fn commits(&self) -> &IntCounter {
        &self.commits
    }

    /// `patchline_consumer_lag{stage,topic,partition}`.
    pub fn consumer_lag(&self, topic: &str, partition: i32) -> IntGauge {
        let partition = partition.to_string();
        self.consumer_lag.with_label_values(&[self.stage.as_str(), topic, partition.as_str()])
    }

    /// `patchline_state_entries{stage,store}`.
    pub fn state_entries(&self, store: &str) -> IntGauge {
        self.state_entries.with_label_values(&[self.stage.as_str(), store])
    }

    /// Sets `patchline_model{stage,model,metric}`.
    pub fn set_model(&self, model: &str, metric: &str, value: f64) {
        self.models.with_label_values(&[self.stage.as_str(), model, metric]).set(value);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dead_letter::DeadLetterReason;

    #[test]
    fn counters_increment_and_render() {
        let metrics = Metrics::new().expect("metrics");
        let stage = metrics.stage("assess");
        let findings = stage.records_in("patchline.findings");
        findings.inc();
        findings.inc();
        stage.records_out("patchline.exposures").inc_by(3);
        stage.dead_lettered("patchline.findings", DeadLetterReason::TooLarge).inc();
        stage.commits().inc();
        stage.processing_seconds().observe(0.000_02);
        stage.consumer_lag("patchline.findings", 2).set(17);
        stage.state_entries("assets").set(5);
        assert_eq!(findings.get(), 2);

        let text = metrics.render();
        for line in [
            r#"patchline_records_in_total{stage="assess",topic="patchline.findings"} 2"#,
            r#"patchline_records_out_total{stage="assess",topic="patchline.exposures"} 3"#,
            r#"patchline_records_dead_lettered_total{reason="too_large",stage="assess",topic="patchline.findings"} 1"#,
            r#"patchline_commits_total{stage="assess"} 1"#,
            r#"patchline_processing_seconds_bucket{stage="assess",le="0.000025"} 1"#,
            r#"patchline_processing_seconds_bucket{stage="assess",le="0.00001"} 0"#,
            r#"patchline_processing_seconds_count{stage="assess"} 1"#,
            r#"patchline_consumer_lag{partition="2",stage="assess",topic="patchline.findings"} 17"#,
            r#"patchline_state_entries{stage="assess",store="assets"} 5"#,
        ] {
            assert!(text.contains(line), "missing {line} in\n{text}");
        }
    }

    #[test]
    fn handles_of_the_same_labels_share_the_value() {
        let metrics = Metrics::new().expect("metrics");
        let a = metrics.stage("plan");
        let b = metrics.stage("plan");
        a.records_in("t").inc();
        b.records_in("t").inc();
        assert_eq!(a.records_in("t").get(), 2);
        assert_eq!(metrics.stage("assess").records_in("t").get(), 0);
    }

    #[test]
    fn registries_are_independent() {
        let one = Metrics::new().expect("metrics");
        let two = Metrics::new().expect("metrics");
        one.stage("s").commits().inc();
        assert_eq!(two.stage("s").commits().get(), 0);
    }

    #[test]
    fn readiness_flag_and_reason() {
        let metrics = Metrics::new().expect("metrics");
        assert!(metrics.is_live());
        assert_eq!(metrics.readiness(), Err("starting".to_owned()));
        metrics.set_ready();
        assert_eq!(metrics.readiness(), Ok(()));
        metrics.set_not_ready("rebalancing");
        assert_eq!(metrics.readiness(), Err("rebalancing".to_owned()));
    }
}
