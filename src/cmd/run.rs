//! `patchline run`: the pipeline on Kafka (when brokers are configured) or on the embedded bus.
//!
//! Invariants: on Kafka, each stage runs in its own task and `/readyz` turns true only after
//! every stage restored its state; SIGINT or SIGTERM stops reading, drains in-flight outputs and
//! commits before exit. On the embedded bus, JSON-lines feed files go in and the outputs come out
//! as JSON lines on stdout.

use crate::config::Settings;
use crate::error::{CliError, Result};
use crate::output::to_json;
use patchline_processors::learn::LearnSettings;
use patchline_processors::plan::PlanPolicy;
use patchline_processors::score::Policy;
use patchline_processors::sign::Signer;
use patchline_topology::codec::{Codec, Format};
use patchline_topology::embedded::EmbeddedPipeline;
use patchline_topology::kafka::run::{run_stage, KafkaStage};
use patchline_topology::observe::{http, metrics::Metrics, query_router};
use patchline_topology::runtime::query::query_channel;
use patchline_topology::runtime::runner::RunnerConfig;
use patchline_topology::runtime::stage::ProcessorOptions;
use patchline_topology::spec::TopologySpec;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::watch;

/// Loads the topology named in the settings, or the bundled one.
pub fn load_topology(settings: &Settings) -> Result<TopologySpec> {
    match &settings.topology {
        Some(path) => Ok(TopologySpec::parse(&std::fs::read_to_string(path)?)?),
        None => Ok(TopologySpec::default_topology()?),
    }
}

/// Processor options from the settings: the remediation policy, and the plan stage's signing
/// key, shadow mode and plan policy.
pub fn processor_options(settings: &Settings) -> Result<ProcessorOptions> {
    let read = |path: &std::path::Path| std::fs::read_to_string(path);
    let signing_key = match &settings.signing_key_file {
        Some(path) => Some(
            Signer::from_text(&read(path)?)
                .map_err(|e| CliError::Config(format!("signing key {}: {e}", path.display())))?,
        ),
        None => None,
    };
    let plan_policy = match &settings.plan_policy {
        Some(path) => Some(
            PlanPolicy::from_toml(&read(path)?)
                .map_err(|e| CliError::Config(format!("plan policy {}: {e}", path.display())))?,
        ),
        None => None,
    };
    let policy = match &settings.policy {
        Some(path) => Some(
            Policy::from_toml(&read(path)?)
                .map_err(|e| CliError::Config(format!("policy {}: {e}", path.display())))?,
        ),
        None => None,
    };
    let mut learn = LearnSettings::default();
    if let Some(ms) = settings.learn_interval_ms {
        learn.interval_ms = ms.max(1);
    }
    if let Some(n) = settings.learn_min_examples {
        learn.failure.1.min_examples = n;
        learn.exploit.1.min_examples = n;
    }
    Ok(ProcessorOptions {
        signing_key,
        shadow: settings.shadow,
        plan_policy,
        policy,
        learn: Some(learn),
        ..ProcessorOptions::default()
    })
}

/// Builds the codec: registry-backed when a registry is configured.
pub async fn codec_for(settings: &Settings, spec: &TopologySpec) -> Result<Arc<Codec>> {
    Ok(Arc::new(match &settings.schema_registry {
        Some(url) => {
            let topics: Vec<(String, String)> =
                spec.topics.iter().map(|t| (t.name.clone(), t.kind.clone())).collect();
            Codec::with_registry(url, &topics).await?
        }
        None => Codec::bundled()?,
    }))
}

/// Resolves when SIGINT or SIGTERM arrives.
async fn termination() {
    let ctrl_c = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut term =
            match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                Ok(s) => s,
                Err(_) => {
                    let _ = ctrl_c.await;
                    return;
                }
            };
        tokio::select! {
            _ = ctrl_c => {}
            _ = term.recv() => {}
        }
    }
    #[cfg(not(unix))]
    {
        let _ = ctrl_c.await;
    }
}

/// Runs the stages on Kafka until a termination signal.
pub async fn run_kafka(settings: Settings) -> Result<()> {
    let kafka = settings.kafka.clone().ok_or_else(|| CliError::Config("no brokers".into()))?;
    let spec = load_topology(&settings)?;
    let codec = codec_for(&settings, &spec).await?;
    let options = processor_options(&settings)?;
    let metrics = Metrics::new()?;
    metrics.set_not_ready("restoring state");
    let (stop_tx, stop_rx) = watch::channel(false);
    let stages: Vec<_> = spec
        .stages
        .iter()
        .filter(|s| settings.stages.is_empty() || settings.stages.contains(&s.name))
        .cloned()
        .collect();
    if stages.is_empty() {
        return Err(CliError::Config("no stage selected".into()));
    }
    let pending = Arc::new(AtomicUsize::new(stages.len()));
    let config = RunnerConfig {
        max_in_flight: settings.max_in_flight,
        commit_interval: Duration::from_millis(settings.commit_interval_ms),
        ..RunnerConfig::default()
    };
    let mut handles = Vec::new();
    let mut receivers = Vec::new();
    for stage in &stages {
        let (handle, rx) = query_channel();
        handles.push((stage.name.clone(), handle));
        receivers.push(rx);
    }
    let mut admin_stop = stop_rx.clone();
    let router = http::router(metrics.clone()).merge(query_router(handles));
    let addr = http::serve(settings.admin_addr, router, async move {
        let _ = admin_stop.wait_for(|s| *s).await;
    })
    .await?;
    tracing::info!(%addr, "admin HTTP listening (/metrics, /healthz, /readyz, /assets/{{id}}/exposures, /vulnerabilities/{{id}}/exposures)");
    let mut tasks = Vec::new();
    for (stage, queries) in stages.into_iter().zip(receivers) {
        let name = stage.name.clone();
        let job = KafkaStage {
            spec: spec.clone(),
            stage,
            kafka: kafka.clone(),
            codec: codec.clone(),
            metrics: metrics.clone(),
            config: config.clone(),
            instance: settings.instance_id.clone(),
            options: options.clone(),
        };
        let stop = stop_rx.clone();
        let pending = pending.clone();
        let ready_metrics = metrics.clone();
        tasks.push(tokio::spawn(async move {
            let on_ready = move || {
                if pending.fetch_sub(1, Ordering::SeqCst) == 1 {
                    ready_metrics.set_ready();
                }
            };
            (name, run_stage(job, stop, queries, on_ready).await)
        }));
    }
    let stopper = tokio::spawn(async move {
        termination().await;
        tracing::info!("termination signal: draining in-flight work");
        let _ = stop_tx.send(true);
    });
    let mut failure = None;
    for t in tasks {
        match t.await {
            Ok((name, Ok(summary))) => tracing::info!(stage = %name, ?summary, "stage finished"),
            Ok((name, Err(e))) => {
                tracing::error!(stage = %name, error = %e, "stage failed");
                failure.get_or_insert(CliError::Runtime(e));
            }
            Err(e) => {
                failure.get_or_insert(CliError::Config(format!("stage task: {e}")));
            }
        }
    }
    stopper.abort();
    metrics.set_live(false);
    match failure {
        Some(e) => Err(e),
        None => Ok(()),
    }
}

/// Runs the topology once on the embedded bus over JSON-lines feeds (`topic=FILE`), printing
/// every output record as a JSON line `{"topic", "event"}`.
pub async fn run_embedded(settings: Settings, feeds: &[String]) -> Result<()> {
    let spec = load_topology(&settings)?;
    let codec = codec_for(&settings, &spec).await?;
    let metrics = Metrics::new()?;
    let options = processor_options(&settings)?;
    let mut pipeline =
        EmbeddedPipeline::new_with(spec.clone(), codec.clone(), metrics, Arc::new(|| 0), &options)?;
    for feed in feeds {
        let (topic, path) = feed
            .split_once('=')
            .ok_or_else(|| CliError::Config(format!("--feed {feed}: expected TOPIC=FILE")))?;
        let kind = spec
            .topic(topic)?
            .event_kind()
            .ok_or_else(|| CliError::Config(format!("--feed {topic}: not an event topic")))?;
        for (n, line) in std::fs::read_to_string(path)?.lines().enumerate() {
            if line.trim().is_empty() {
                continue;
            }
            let event = codec
                .decode(kind, Format::Json, line.as_bytes())
                .map_err(|e| CliError::Config(format!("{path}:{}: {e}", n + 1)))?;
            pipeline.bus().produce(topic, event.key().as_bytes(), codec.encode(&event)?, 0)?;
        }
    }
    let totals = pipeline.run_until_idle().await?;
    let inputs: Vec<&str> =
        feeds.iter().filter_map(|f| f.split_once('=').map(|(t, _)| t)).collect();
    for topic in &spec.topics {
        if inputs.contains(&topic.name.as_str()) {
            continue;
        }
        let Some(kind) = topic.event_kind() else { continue };
        for record in pipeline.bus().read_all(&topic.name)? {
            let event =
                codec.decode(kind, Format::Avro, record.value.as_deref().unwrap_or_default())?;
            println!("{}", serde_json::json!({"topic": topic.name, "event": to_json(&event)}));
        }
    }
    for (stage, t) in totals {
        tracing::info!(%stage, records_in = t.records_in, records_out = t.records_out, dead_lettered = t.dead_lettered, "stage totals");
    }
    Ok(())
}
