//! One simulated run of one policy over a freshly built world: the closed loop, step by step.
//!
//! Each step of [`STEP_MS`] (15 simulated minutes): the executor finishes what is due (a success
//! upgrades the world), the world emits its feeds and scans, and then
//! - **patchline** (with or without the `learn` stage): the events and outcomes are produced to
//!   the topology's topics on the embedded bus and the pipeline runs until idle (each input
//!   triggers the planning it touches); once per simulated hour ([`PUNCTUATE_EVERY`] steps)
//!   every stage punctuates first, at the step's instant; then the executor receives the new
//!   commands from the commands topic;
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
use super::rng::SplitMix64;
use super::world::{World, DAY_MS, STEP_MS};
use super::SimConfig;
use crate::error::Result;
use patchline_processors::events::{
    CommandAction, DeploymentCommand, Event, EventKind, ModelMetrics, ModelSnapshot, Remediation,
    Ring,
};
use patchline_processors::learn::EXPLOIT_MODEL;
use patchline_processors::plan::PlanPolicy;
use patchline_processors::sign::{sign_command, Signer};
use patchline_topology::codec::{Codec, Format};
use patchline_topology::embedded::EmbeddedPipeline;
use patchline_topology::observe::metrics::Metrics;
use patchline_topology::runtime::stage::ProcessorOptions;
use patchline_topology::spec::TopologySpec;
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

/// A `DEPLOY` for the first asset signed with a key nobody published.
fn forged(world: &World) -> Option<DeploymentCommand> {
    let x = world.exposures.first()?;
    let asset = &world.assets[x.asset as usize].telemetry;
    let product = world.catalog.product_of(x.cve);
    let mut c = DeploymentCommand {
        command_id: "cmd-forged-00000001".into(),
        action: CommandAction::Deploy,
        campaign_id: "cmp-forged".into(),
        wave: 1,
        ring: Ring::Broad,
        remediation: Remediation {
            ecosystem: "vendor".into(),
            package: product.name.clone(),
            target_version: Some(world.catalog.fixed_version(x.cve).to_string()),
            kb: None,
        },
        target_assets: vec![asset.asset_id.clone()],
        not_before: world.start,
        not_after: world.end,
        deadline: world.end,
        rationale: Vec::new(),
        predicted_failure: 0.01,
        issued_at: world.start,
        policy_version: "forged".into(),
        model_version: "forged".into(),
        signature: None,
        plan_reason: "forged: signed with a key the executor does not trust".into(),
        emergency: true,
        shadow: false,
        rollback_of: None,
    };
    sign_command(&mut c, &Signer::from_seed(&[0x66; 32]));
    Some(c)
}

/// Base rate of the neutral exploit model: the heuristic's probability without EPSS.
const NEUTRAL_EXPLOIT_P: f64 = 0.01;

/// An exploit-likelihood model that knows nothing but a base rate. The bundled model was trained
/// with the KEV catalog of 2026-01-30 as labels, after the simulated weeks: starting from it
/// would hand patchline knowledge of exploitation to come. The learn stage (when present) learns
/// from the KEV entries the run's feed delivers.
fn neutral_exploit_model(at: i64) -> ModelSnapshot {
    ModelSnapshot {
        model: EXPLOIT_MODEL.to_string(),
        version: 1,
        created_at: at,
        hash_bits: 20,
        bias: (NEUTRAL_EXPLOIT_P / (1.0 - NEUTRAL_EXPLOIT_P)).ln() as f32,
        indices: Vec::new(),
        weights: Vec::new(),
        metrics: ModelMetrics { examples: 0, log_loss: 0.0, auc: None },
    }
}

/// Topic names of the default topology.
const FINDINGS: &str = "patchline.findings";
const ASSETS: &str = "patchline.assets";
const ADVISORIES: &str = "patchline.advisories";
const THREATS: &str = "patchline.threats";
const OUTCOMES: &str = "patchline.outcomes";
const COMMANDS: &str = "patchline.commands";

fn topic_of(event: &Event) -> &'static str {
    match event.kind() {
        EventKind::Advisory => ADVISORIES,
        EventKind::ThreatSignal => THREATS,
        EventKind::AssetTelemetry => ASSETS,
        EventKind::DeploymentOutcome => OUTCOMES,
        EventKind::DeploymentCommand => COMMANDS,
        _ => FINDINGS,
    }
}

struct Bookkeeping {
    run: Run,
    commands: usize,
}

impl Bookkeeping {
    fn command(&mut self, c: &DeploymentCommand) {
        self.commands += 1;
        match c.action {
            CommandAction::Deploy => self.run.issued.deploy += 1,
            CommandAction::Rollback => self.run.issued.rollback += 1,
            CommandAction::Pause => self.run.issued.pause += 1,
        }
        if c.action == CommandAction::Deploy && !self.run.model_versions.contains(&c.model_version)
        {
            self.run.model_versions.push(c.model_version.clone());
        }
    }
}

/// Runs `policy` over the world of `cfg`, reporting progress once per simulated day.
pub async fn run(
    cfg: &SimConfig,
    catalog: Arc<Catalog>,
    policy: Policy,
    progress: &mut dyn FnMut(&Progress),
) -> Result<Run> {
    let began = Instant::now();
    let world = World::new(catalog, cfg.assets, cfg.days, cfg.end_day, cfg.seed);
    let key = signer(cfg.seed);
    let executor = Executor::new(key.public_key(), cfg.seed);
    let run = Run {
        policy,
        world,
        stats: Stats::default(),
        records: Vec::new(),
        issued: Issued::default(),
        events: BTreeMap::new(),
        dead_letters: 0,
        learn_stage: false,
        model_versions: Vec::new(),
        wall: Duration::ZERO,
    };
    let mut book = Bookkeeping { run, commands: 0 };
    let executor = match policy {
        Policy::CvssFifo => fifo_loop(cfg, &mut book, executor, key, progress)?,
        Policy::Patchline | Policy::NoLearning => {
            pipeline_loop(cfg, &mut book, executor, key, progress).await?
        }
    };
    let mut run = book.run;
    run.stats = executor.stats;
    run.records = executor.records;
    run.wall = began.elapsed();
    Ok(run)
}

fn report(book: &Bookkeeping, ex: &Executor, step: i64, t: i64, cfg: &SimConfig) -> Progress {
    let w = &book.run.world;
    let open_kev = w
        .exposures
        .iter()
        .filter(|x| x.first_seen.is_some() && x.fixed_at.is_none())
        .filter(|x| {
            w.catalog.cves[x.cve as usize].kev_day.is_some_and(|d| i64::from(d) * DAY_MS <= t)
        })
        .count();
    Progress {
        policy: book.run.policy,
        in_flight: ex.pending(),
        day: step * STEP_MS / DAY_MS,
        days: cfg.days,
        instant: t,
        commands: book.commands,
        open_kev,
    }
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
            progress(&report(book, &executor, step, t, cfg));
        }
    }
    Ok(executor)
}

async fn pipeline_loop(
    cfg: &SimConfig,
    book: &mut Bookkeeping,
    mut executor: Executor,
    key: Signer,
    progress: &mut dyn FnMut(&Progress),
) -> Result<Executor> {
    let policy = book.run.policy;
    let mut spec = TopologySpec::default_topology()?;
    if policy == Policy::NoLearning {
        spec.stages.retain(|s| s.name != "learn");
    }
    book.run.learn_stage = spec.stages.iter().any(|s| s.name == "learn");
    for topic in [FINDINGS, ASSETS, ADVISORIES, THREATS, OUTCOMES, COMMANDS] {
        spec.topic(topic)?;
    }
    let codec = Arc::new(Codec::bundled()?);
    let start = book.run.world.start;
    let clock = Arc::new(AtomicI64::new(start));
    let reader = clock.clone();
    let options = ProcessorOptions {
        signing_key: Some(key),
        shadow: Some(false),
        plan_policy: Some(PlanPolicy::default()),
        exploit_model: Some(neutral_exploit_model(start)),
        ..ProcessorOptions::default()
    };
    let mut pipeline = EmbeddedPipeline::new_with(
        spec.clone(),
        codec.clone(),
        Metrics::new()?,
        Arc::new(move || reader.load(Ordering::Relaxed)),
        &options,
    )?;
    let partitions = pipeline.bus().partitions(COMMANDS)?;
    let mut offsets = vec![0i64; partitions as usize];
    let mut initial = book.run.world.initial();
    initial.extend(forged(&book.run.world).map(Event::DeploymentCommand));
    let steps = cfg.days * DAY_MS / STEP_MS;
    for step in 0..=steps {
        let t = start + step * STEP_MS;
        clock.store(t, Ordering::Relaxed);
        let mut events = if step == 0 { std::mem::take(&mut initial) } else { Vec::new() };
        if step > 0 {
            let outcomes = executor.complete(&mut book.run.world, t);
            events.extend(book.run.world.step(t));
            events.extend(outcomes.into_iter().map(Event::DeploymentOutcome));
        }
        for e in &events {
            let topic = topic_of(e);
            *book.run.events.entry(topic.to_string()).or_default() += 1;
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
        fresh.sort_by(|a, b| (a.issued_at, &a.command_id).cmp(&(b.issued_at, &b.command_id)));
        for c in fresh {
            if c.policy_version != "forged" {
                book.command(&c);
            }
            executor.receive(&book.run.world, c, t);
        }
        if step > 0 && (step * STEP_MS) % DAY_MS == 0 {
            progress(&report(book, &executor, step, t, cfg));
        }
    }
    book.run.dead_letters = pipeline.bus().read_all(&spec.dead_letter_topic)?.len();
    Ok(executor)
}
