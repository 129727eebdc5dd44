//! `patchline simulate`: the fleet simulator as a load generator. The world (fleet, scanners,
//! advisory and KEV feeds) and the executor run in closed loop against one policy, by default
//! patchline on the embedded bus, and a summary says what flowed through the topics and what
//! came out (progress on stderr).
//!
//! With `--brokers HOST:PORT` (Kafka mode) the patchline pipeline runs on a real Kafka broker
//! instead, through the same Kafka runtime as `patchline run`: the topology's topics are created
//! under `--topic-prefix` (default `sim-<seed>-<unix ms>.`; they must hold no record), the stages
//! punctuate on the simulated clock, and the loop waits at every step until the pipeline has
//! settled (see [`crate::sim::kafka`]). The summary is the same, plus the wall time per simulated
//! day.
//!
//! With `--emit DIR` it writes the world's inputs (advisories, KEV, assets and their first
//! scans) as JSON-lines files instead, streaming, for fleets of any size (see
//! [`crate::sim::emit`]).
//!
//! Invariant: the same flags simulate the same world and, on the embedded bus, give the same
//! summary, apart from the wall-clock throughput figures. In Kafka mode the world and the
//! executor are the same, but the order in which the stages meet concurrent records is the
//! broker's, so the commands, and the scorecard with them, may differ from run to run.

use crate::error::{CliError, Result};
use crate::sim::catalog::Catalog;
use crate::sim::kafka::KafkaTarget;
use crate::sim::metrics::scorecard;
use crate::sim::run::{run_on, Policy, Progress, Transport};
use crate::sim::SimConfig;
use serde_json::json;
use std::io::Write;
use std::sync::Arc;

/// Options of `patchline simulate`.
#[derive(Debug, Clone)]
pub struct SimulateOptions {
    pub config: SimConfig,
    pub policy: String,
    pub json: bool,
    pub quiet: bool,
    /// Write the world's inputs to this folder instead of running the loop.
    pub emit: Option<std::path::PathBuf>,
    /// Kafka mode: the broker and topic prefix the pipeline runs on.
    pub kafka: Option<KafkaTarget>,
}

fn policy_named(name: &str) -> Result<Policy> {
    match name {
        "patchline" => Ok(Policy::Patchline),
        "no-learning" | "patchline-no-learning" => Ok(Policy::NoLearning),
        "cvss-fifo" | "fifo" => Ok(Policy::CvssFifo),
        other => Err(CliError::Config(format!(
            "--policy {other}: expected patchline, no-learning or cvss-fifo"
        ))),
    }
}

/// Runs the simulation and prints its summary.
pub async fn run_simulation(opts: SimulateOptions) -> Result<()> {
    let policy = policy_named(&opts.policy)?;
    if let (Some(_), Some(_)) = (&opts.emit, &opts.kafka) {
        return Err(CliError::Config(
            "--emit writes files and runs no pipeline: drop --brokers".into(),
        ));
    }
    if let Some(dir) = &opts.emit {
        let began = std::time::Instant::now();
        let emitted = crate::sim::emit::emit(&opts.config, dir)?;
        let lines: usize = emitted.files.values().sum();
        let seconds = began.elapsed().as_secs_f64().max(1e-9);
        let mut out = std::io::stdout().lock();
        if opts.json {
            let doc = json!({"dir": dir.display().to_string(), "files": emitted.files,
                "wall_seconds": seconds, "records_per_second": lines as f64 / seconds});
            writeln!(out, "{doc}")?;
        } else {
            for (topic, n) in &emitted.files {
                writeln!(out, "{}  {n} records", dir.join(format!("{topic}.jsonl")).display())?;
            }
            writeln!(
                out,
                "{lines} records in {seconds:.1} s; feed them with patchline run --feed TOPIC=FILE"
            )?;
        }
        return Ok(());
    }
    let catalog = Arc::new(Catalog::bundled(opts.config.seed)?);
    let quiet = opts.quiet;
    let mut progress = |p: &Progress| {
        if !quiet {
            crate::cmd::demo::progress_line(p);
        }
    };
    let transport = opts.kafka.clone().map_or(Transport::Embedded, Transport::Kafka);
    let r = run_on(&opts.config, catalog, policy, &transport, &mut progress).await?;
    let card = scorecard(&r);
    let records: usize = r.events.values().sum();
    let seconds = r.wall.as_secs_f64().max(1e-9);
    let world = &r.world;
    let per_day = r.loop_wall.as_secs_f64() / opts.config.days as f64;
    let mut doc = json!({
        "policy": policy.name(),
        "assets": world.assets.len(),
        "days": opts.config.days,
        "seed": opts.config.seed,
        "exposures": world.exposures.iter().filter(|x| x.first_seen.is_some()).count(),
        "records_produced": r.events,
        "commands_issued": r.issued,
        "executor": r.stats,
        "dead_letters": r.dead_letters,
        "learn_stage": r.learn_stage,
        "model_versions": r.model_versions,
        "scorecard": card,
        "wall_seconds": seconds,
        "records_per_second": records as f64 / seconds,
    });
    if let Some(k) = &opts.kafka {
        doc["kafka"] = json!({"brokers": k.kafka.brokers, "topic_prefix": k.prefix,
            "wall_seconds_per_day": per_day});
    }
    let mut out = std::io::stdout().lock();
    if opts.json {
        writeln!(out, "{doc}")?;
        return Ok(());
    }
    writeln!(
        out,
        "patchline simulate: {} over {} assets, {} days, seed {}",
        policy.name(),
        world.assets.len(),
        opts.config.days,
        opts.config.seed
    )?;
    for (topic, n) in &r.events {
        writeln!(out, "  produced to {topic:<24} {n:>9}")?;
    }
    let s = &r.stats;
    writeln!(
        out,
        "  commands issued: {} deploy, {} rollback, {} pause; executor: {} received, {} rejected, {} run, {} failed, {} cancelled, {} timed out, {} resumed",
        r.issued.deploy, r.issued.rollback, r.issued.pause, s.received, s.rejected, s.deploys_run,
        s.deploys_failed, s.cancelled, s.timed_out, s.resumes
    )?;
    writeln!(
        out,
        "  MTTP KEV {:.2} d, MTTP critical {:.2} d, KEV exposure-days {:.1}, success {:.1}%",
        card.mttp_kev_days,
        card.mttp_critical_days,
        card.exposure_days,
        100.0 * card.success_rate
    )?;
    writeln!(
        out,
        "  {records} records in {seconds:.1} s wall ({:.0} records/s), {} dead letter(s)",
        records as f64 / seconds,
        r.dead_letters
    )?;
    if let Some(k) = &opts.kafka {
        writeln!(
            out,
            "  on Kafka at {}, topics {}*: {per_day:.1} s wall per simulated day",
            k.kafka.brokers, k.prefix
        )?;
    }
    Ok(())
}
