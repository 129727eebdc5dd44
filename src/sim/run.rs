//! One simulated run of one policy over a freshly built world: the closed loop, step by step.
//!
//! Each step of [`STEP_MS`] (15 simulated minutes): the executor finishes what is due (a success
//! upgrades the world), the world emits its feeds and scans, and then
//! - **patchline** (with or without the `learn` stage): the events and outcomes are produced to
//!   the topology's topics on the embedded bus and the pipeline runs until idle (each input
//!   triggers the planning it touches); once per simulated hour ([`PUNCTUATE_EVERY`] steps)
//!   every stage punctuates first, at the step's instant; then the executor receives the new
//!   commands from the commands topic. With [`Transport::Kafka`] the same loop runs against a
//!   Kafka broker in lockstep (see [`super::kafka`]); what both share is in [`super::pipeline`];
//! - **CVSS-FIFO**: the baseline reads the same events and outcomes and hands its commands to the
//!   same executor.
//!
//! Every policy gets the same world (fleet, findings, windows, feeds), the same executor and
//! hidden failure model, the same signing key and the same caps. At the start, one forged
//! `DEPLOY` (signed with another key) is put before the executor, which must reject it; on the
//! bus it goes to the commands topic, where the plan stage dead-letters it too.
//!
//! Invariant: a run is a pure function of its configuration and policy: time is the simulated
//! clock, randomness comes from the seed, and every collection that is iterated to produce
//! output is ordered.

use super::catalog::Catalog;
use super::executor::{Executor, Stats};
use super::fifo::Fifo;
use super::kafka::{kafka_loop, KafkaTarget};
use super::pipeline::{forged, setup, Bookkeeping, COMMANDS};
use super::rng::SplitMix64;
use super::world::{World, DAY_MS, STEP_MS};
use super::SimConfig;
use crate::error::{CliError, Result};
use patchline_processors::events::{Event, EventKind};
use patchline_processors::plan::PlanPolicy;
use patchline_processors::sign::Signer;
use patchline_topology::codec::{Codec, Format};
use patchline_topology::embedded::EmbeddedPipeline;
use patchline_topology::observe::metrics::Metrics;
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Steps between punctuations of the pipeline (one simulated hour).
pub const PUNCTUATE_EVERY: i64 = 4;

/// The policies a run can follow.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Policy {
    /// The default topology.
    Patchline,
    /// The default topology without its `learn` stage: the plan stage keeps its prior.
    NoLearning,
    /// The CVSS-FIFO baseline.
    CvssFifo,
}

impl Policy {
    /// Name in reports.
    pub fn name(self) -> &'static str {
        match self {
            Policy::Patchline => "patchline",
            Policy::NoLearning => "patchline-no-learning",
            Policy::CvssFifo => "cvss-fifo",
        }
    }
}

/// Commands a run issued, by action.
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize)]
pub struct Issued {
    pub deploy: usize,
    pub rollback: usize,
    pub pause: usize,
}

/// What a run leaves for the scorecard.
pub struct Run {
    pub policy: Policy,
    pub world: World,
    pub stats: Stats,
    pub records: Vec<super::executor::Record>,
    pub issued: Issued,
    /// Records per input topic (patchline) or events handed over (FIFO).
    pub events: BTreeMap<String, usize>,
    pub dead_letters: usize,
    /// Whether the topology had a `learn` stage.
    pub learn_stage: bool,
    /// Model versions seen on commands, in order of first appearance.
    pub model_versions: Vec<String>,
    pub wall: Duration,
    /// Wall time of the simulated steps alone, without setting up the transport.
    pub loop_wall: Duration,
}

/// Progress of a run, once per simulated day.
#[derive(Debug, Clone)]
pub struct Progress {
    pub policy: Policy,
    pub day: i64,
    pub days: i64,
    pub instant: i64,
    pub commands: usize,
    pub open_kev: usize,
    /// Commands the executor holds (scheduled or running).
    pub in_flight: usize,
}

/// The key every policy of a simulation signs with, derived from the seed: a simulation key,
/// never a real one.
pub fn signer(seed: u64) -> Signer {
    let mut rng = SplitMix64(seed ^ 0x51C4_0000_0000_0003);
    let mut bytes = [0u8; 32];
    for chunk in bytes.chunks_mut(8) {
        chunk.copy_from_slice(&rng.next_u64().to_le_bytes());
    }
    Signer::from_seed(&bytes)
}

/// Where the patchline pipeline of a run carries its topics.
#[derive(Debug, Clone, Default)]
pub enum Transport {
    /// The in-process embedded bus.
    #[default]
    Embedded,
    /// A Kafka broker, through the Kafka runtime of `patchline run` (see [`super::kafka`]).
    Kafka(KafkaTarget),
}

/// Runs `policy` over the world of `cfg` on the embedded bus, reporting progress once per
/// simulated day.
pub async fn run(
    cfg: &SimConfig,
    catalog: Arc<Catalog>,
    policy: Policy,
    progress: &mut dyn FnMut(&Progress),
) -> Result<Run> {
    run_on(cfg, catalog, policy, &Transport::Embedded, progress).await
}

/// Runs `policy` over the world of `cfg` with its pipeline on `transport`.
pub async fn run_on(
    cfg: &SimConfig,
    catalog: Arc<Catalog>,
    policy: Policy,
    transport: &Transport,
    progress: &mut dyn FnMut(&Progress),
) -> Result<Run> {
    let began = Instant::now();
    let world = World::new(catalog, cfg.assets, cfg.days, cfg.end_day, cfg.seed);
    let key = signer(cfg.seed);
    let executor = Executor::new(key.public_key(), cfg.seed);
    let mut book = Bookkeeping::new(policy, world);
    let executor = match (policy, transport) {
        (Policy::CvssFifo, Transport::Embedded) => {
            fifo_loop(cfg, &mut book, executor, key, progress)?
        }
        (Policy::CvssFifo, Transport::Kafka(_)) => {
            return Err(CliError::Config(
                "the cvss-fifo baseline has no pipeline to run on Kafka; drop --brokers".into(),
            ))
        }
        (_, Transport::Embedded) => pipeline_loop(cfg, &mut book, executor, key, progress).await?,
        (_, Transport::Kafka(target)) => {
            kafka_loop(cfg, &mut book, executor, key, target, progress).await?
        }
    };
    let mut run = book.run;
    run.stats = executor.stats;
    run.records = executor.records;
    run.wall = began.elapsed();
    Ok(run)
}

fn fifo_loop(
    cfg: &SimConfig,
    book: &mut Bookkeeping,
    mut executor: Executor,
    key: Signer,
    progress: &mut dyn FnMut(&Progress),
) -> Result<Executor> {
    let mut fifo = Fifo::new(key, PlanPolicy::default());
    let start = book.run.world.start;
    let events = book.run.world.initial();
    *book.run.events.entry("events".into()).or_default() += events.len();
    fifo.observe(&book.run.world, &events);
    if let Some(c) = forged(&book.run.world) {
        executor.receive(&book.run.world, c, start);
    }
    let steps = cfg.days * DAY_MS / STEP_MS;
    let began = Instant::now();
    for step in 0..=steps {
        let t = start + step * STEP_MS;
        if step > 0 {
            let outcomes = executor.complete(&mut book.run.world, t);
            let events = book.run.world.step(t);
            *book.run.events.entry("events".into()).or_default() += events.len();
            *book.run.events.entry("outcomes".into()).or_default() += outcomes.len();
            fifo.observe(&book.run.world, &events);
            fifo.outcomes(&book.run.world, &outcomes);
        }
        for c in fifo.plan(&book.run.world, t) {
            book.command(&c);
            executor.receive(&book.run.world, c, t);
        }
        if step > 0 && (step * STEP_MS) % DAY_MS == 0 {
            progress(&book.report(&executor, step, t, cfg));
        }
    }
    book.run.loop_wall = began.elapsed();
    Ok(executor)
}

async fn pipeline_loop(
    cfg: &SimConfig,
    book: &mut Bookkeeping,
    mut executor: Executor,
    key: Signer,
    progress: &mut dyn FnMut(&Progress),
) -> Result<Executor> {
    let start = book.run.world.start;
    let (spec, options) = setup(book.run.policy, key, start)?;
    book.run.learn_stage = spec.stages.iter().any(|s| s.name == "learn");
    let codec = Arc::new(Codec::bundled()?);
    let clock = Arc::new(AtomicI64::new(start));
    let reader = clock.clone();
    let mut pipeline = EmbeddedPipeline::new_with(
        spec.clone(),
        codec.clone(),
        Metrics::new()?,
        Arc::new(move || reader.load(Ordering::Relaxed)),
        &options,
    )?;
    let partitions = pipeline.bus().partitions(COMMANDS)?;
    let mut offsets = vec![0i64; partitions as usize];
    let steps = cfg.days * DAY_MS / STEP_MS;
    let began = Instant::now();
    for step in 0..=steps {
        let t = start + step * STEP_MS;
        clock.store(t, Ordering::Relaxed);
        for e in &book.step_inputs(&mut executor, step, t) {
            let topic = super::pipeline::topic_of(e);
            pipeline.bus().produce(topic, e.key().as_bytes(), codec.encode(e)?, t)?;
        }
        if step % PUNCTUATE_EVERY == 0 {
            pipeline.punctuate(t)?;
        }
        pipeline.run_until_idle().await?;
        let mut fresh = Vec::new();
        for (p, offset) in offsets.iter_mut().enumerate() {
            for r in pipeline.bus().read(COMMANDS, p as i32, *offset, usize::MAX)? {
                *offset = r.offset + 1;
                let bytes = r.value.as_deref().unwrap_or_default();
                if let Event::DeploymentCommand(c) =
                    codec.decode(EventKind::DeploymentCommand, Format::Avro, bytes)?
                {
                    fresh.push(c);
                }
            }
        }
        book.hand_over(&mut executor, fresh, t);
        if step > 0 && (step * STEP_MS) % DAY_MS == 0 {
            progress(&book.report(&executor, step, t, cfg));
        }
    }
    book.run.loop_wall = began.elapsed();
    book.run.dead_letters = pipeline.bus().read_all(&spec.dead_letter_topic)?.len();
    Ok(executor)
}
