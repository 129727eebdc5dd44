//! What a patchline run shares whatever bus carries its topics (the embedded bus in
//! [`super::run`], a Kafka broker in [`super::kafka`]): the topology and processor options, the
//! step's inputs, the forged command, the hand-over of commands to the executor and the
//! bookkeeping of what was issued.
//!
//! Invariant: both transports build the same stages with the same options, feed them the same
//! inputs in the same order at each step, and hand the executor the commands read back from the
//! commands topic in one order ((`issued_at`, `command_id`)), so the transport is the only
//! difference between them.

use super::executor::{Executor, Stats};
use super::run::{Issued, Policy, Progress, Run};
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
use patchline_topology::runtime::stage::ProcessorOptions;
use patchline_topology::spec::TopologySpec;
use std::collections::BTreeMap;
use std::time::Duration;

/// Topic names of the default topology.
pub const FINDINGS: &str = "patchline.findings";
pub const ASSETS: &str = "patchline.assets";
pub const ADVISORIES: &str = "patchline.advisories";
pub const THREATS: &str = "patchline.threats";
pub const OUTCOMES: &str = "patchline.outcomes";
pub const COMMANDS: &str = "patchline.commands";

/// The (unprefixed) topic an input event goes to.
pub fn topic_of(event: &Event) -> &'static str {
    match event.kind() {
        EventKind::Advisory => ADVISORIES,
        EventKind::ThreatSignal => THREATS,
        EventKind::AssetTelemetry => ASSETS,
        EventKind::DeploymentOutcome => OUTCOMES,
        EventKind::DeploymentCommand => COMMANDS,
        _ => FINDINGS,
    }
}

/// The policy a forged command carries: never counted as issued.
const FORGED_POLICY: &str = "forged";

/// A `DEPLOY` for the first asset signed with a key nobody published.
pub fn forged(world: &World) -> Option<DeploymentCommand> {
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
        policy_version: FORGED_POLICY.into(),
        model_version: FORGED_POLICY.into(),
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

/// The topology of `policy` (the default one, without `learn` for [`Policy::NoLearning`]) and
/// the processor options of every patchline run: the simulation's key, live commands, the
/// default plan policy and the neutral exploit model as of `start`.
pub fn setup(policy: Policy, key: Signer, start: i64) -> Result<(TopologySpec, ProcessorOptions)> {
    let mut spec = TopologySpec::default_topology()?;
    if policy == Policy::NoLearning {
        spec.stages.retain(|s| s.name != "learn");
    }
    for topic in [FINDINGS, ASSETS, ADVISORIES, THREATS, OUTCOMES, COMMANDS] {
        spec.topic(topic)?;
    }
    let options = ProcessorOptions {
        signing_key: Some(key),
        shadow: Some(false),
        plan_policy: Some(PlanPolicy::default()),
        exploit_model: Some(neutral_exploit_model(start)),
        ..ProcessorOptions::default()
    };
    Ok((spec, options))
}

/// What a run has counted so far.
pub struct Bookkeeping {
    pub run: Run,
    pub commands: usize,
}

impl Bookkeeping {
    /// An empty record of `policy` over `world`.
    pub fn new(policy: Policy, world: World) -> Bookkeeping {
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
            loop_wall: Duration::ZERO,
        };
        Bookkeeping { run, commands: 0 }
    }

    /// Counts a command the policy issued.
    pub fn command(&mut self, c: &DeploymentCommand) {
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

    /// The inputs of `step` at instant `t`: at step 0 the world's initial state and the forged
    /// command; afterwards the executor's outcomes due by `t` (a success upgrades the world
    /// first), then the world's feeds and scans. Each is counted under its topic.
    pub fn step_inputs(&mut self, executor: &mut Executor, step: i64, t: i64) -> Vec<Event> {
        let world = &mut self.run.world;
        let events = if step == 0 {
            let mut initial = world.initial();
            initial.extend(forged(world).map(Event::DeploymentCommand));
            initial
        } else {
            let outcomes = executor.complete(world, t);
            let mut events = world.step(t);
            events.extend(outcomes.into_iter().map(Event::DeploymentOutcome));
            events
        };
        for e in &events {
            *self.run.events.entry(topic_of(e).to_string()).or_default() += 1;
        }
        events
    }

    /// Hands the commands read back from the commands topic to the executor, in order of
    /// (`issued_at`, `command_id`); all but the forged one count as issued.
    pub fn hand_over(
        &mut self,
        executor: &mut Executor,
        mut fresh: Vec<DeploymentCommand>,
        t: i64,
    ) {
        fresh.sort_by(|a, b| (a.issued_at, &a.command_id).cmp(&(b.issued_at, &b.command_id)));
        for c in fresh {
            if c.policy_version != FORGED_POLICY {
                self.command(&c);
            }
            executor.receive(&self.run.world, c, t);
        }
    }

    /// Progress as of `step` (instant `t`).
    pub fn report(&self, ex: &Executor, step: i64, t: i64, cfg: &SimConfig) -> Progress {
        let w = &self.run.world;
        let open_kev = w
            .exposures
            .iter()
            .filter(|x| x.first_seen.is_some() && x.fixed_at.is_none())
            .filter(|x| {
                w.catalog.cves[x.cve as usize].kev_day.is_some_and(|d| i64::from(d) * DAY_MS <= t)
            })
            .count();
        Progress {
            policy: self.run.policy,
            in_flight: ex.pending(),
            day: step * STEP_MS / DAY_MS,
            days: cfg.days,
            instant: t,
            commands: self.commands,
            open_kev,
        }
    }
}
