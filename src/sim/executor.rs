//! The simulated executor and operator, following `docs/EXECUTORS.md`.
//!
//! - Every command is checked with `verify_command` against the published key when it is
//!   received (not a shadow plan, signed by that key, unchanged, not expired); a command that
//!   fails is never run and is counted with its reason. Commands are deduplicated by id.
//! - `DEPLOY` and `ROLLBACK` start inside `[not_before, not_after]`, after the asset's previous
//!   job, a few minutes late (0 to 5, as a job queue would); one that cannot start by
//!   `not_after` reports `TIMED_OUT`. A deployment is an enterprise change of a vendor product:
//!   snapshot, pre-checks and the upgrade take 45 to 120 minutes, a reboot 15 more on Windows,
//!   then a 15-minute health check, so a production window holds about two; a rollback takes
//!   30 minutes and always succeeds.
//! - Whether a deployment fails is decided when it finishes, from the hidden failure model
//!   ([`super::failure`]) and the installed version at that moment; a success upgrades the
//!   product in the world, a failure leaves it unchanged. A product already at or above the
//!   target needs no change and succeeds.
//! - `PAUSE` cancels the campaign's commands on its targets that have not started (each reports
//!   `TIMED_OUT`, "cancelled"), and the operator, after investigating, sends `RESUMED` for the
//!   `PAUSE` 8 hours later in the emergency lane and 24 hours later otherwise.
//!
//! Invariant: a command runs at most once and only after it verified; each `DEPLOY` or
//! `ROLLBACK` that verified gets exactly one outcome; outcomes come out in order of their
//! `finished_at`, then command id.

use super::failure;
use super::rng::hash_unit;
use super::world::{World, MINUTE_MS};
use patchline_processors::events::{
    CommandAction, DeploymentCommand, DeploymentOutcome, HealthStatus, OutcomeStatus,
};
use patchline_processors::plan::windows::next_slot;
use patchline_processors::plan::PlanPolicy;
use patchline_processors::sign::{verify_command, PublicKey};
use std::collections::{BTreeMap, HashMap, HashSet};

/// Operator delay before resuming an emergency-lane campaign.
pub const RESUME_EMERGENCY_MS: i64 = 8 * 60 * MINUTE_MS;
/// Operator delay before resuming any other campaign.
pub const RESUME_STANDARD_MS: i64 = 24 * 60 * MINUTE_MS;
/// Name in every outcome's `executor`.
pub const EXECUTOR: &str = "sim-executor";

/// One executed deployment, for the scorecard and the learning curve.
#[derive(Debug, Clone, PartialEq)]
pub struct Record {
    pub finished_at: i64,
    /// What the command predicted.
    pub predicted: f32,
    /// The hidden model's probability.
    pub p_true: f64,
    pub failed: bool,
}

/// Counts of what the executor did.
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize)]
pub struct Stats {
    pub received: usize,
    pub rejected: usize,
    pub deploys_run: usize,
    pub deploys_succeeded: usize,
    pub deploys_failed: usize,
    /// Deployments that started outside the asset's maintenance window (emergency changes).
    pub deploys_outside_window: usize,
    pub timed_out: usize,
    pub cancelled: usize,
    pub rollbacks: usize,
    pub pauses: usize,
    pub resumes: usize,
    /// Why commands were rejected (first few).
    pub rejections: Vec<String>,
}

#[derive(Debug, Clone)]
struct Job {
    command: DeploymentCommand,
    asset: u32,
    start: i64,
    /// An outcome decided before the job ran (cancelled or timed out), with its error.
    forced: Option<(OutcomeStatus, String)>,
}

/// The executor of one run.
pub struct Executor {
    key: PublicKey,
    seed: u64,
    seen: HashSet<String>,
    jobs: BTreeMap<(i64, String), Job>,
    free_at: HashMap<u32, i64>,
    attempts: HashMap<(u32, u32, u32), u32>,
    resumes: BTreeMap<(i64, String), ()>,
    pub stats: Stats,
    pub records: Vec<Record>,
}

impl Executor {
    /// An executor trusting `key`.
    pub fn new(key: PublicKey, seed: u64) -> Executor {
        Executor {
            key,
            seed,
            seen: HashSet::new(),
            jobs: BTreeMap::new(),
            free_at: HashMap::new(),
            attempts: HashMap::new(),
            resumes: BTreeMap::new(),
            stats: Stats::default(),
            records: Vec::new(),
        }
    }

    /// Jobs scheduled or running.
    pub fn pending(&self) -> usize {
        self.jobs.len()
    }

    /// Receives a command at `now`: verifies it, then schedules it.
    pub fn receive(&mut self, world: &World, c: DeploymentCommand, now: i64) {
        if !self.seen.insert(c.command_id.clone()) {
            return;
        }
        self.stats.received += 1;
        if let Err(e) = verify_command(&c, &self.key, now) {
            self.stats.rejected += 1;
            if self.stats.rejections.len() < 5 {
                self.stats.rejections.push(e.to_string());
            }
            return;
        }
        match c.action {
            CommandAction::Pause => self.pause(&c, now),
            CommandAction::Deploy | CommandAction::Rollback => {
                let target = c.target_assets.first().and_then(|a| world.asset_index(a));
                let Some(asset) = target else {
                    self.stats.rejected += 1;
                    self.stats.rejections.push(format!("{}: unknown target", c.command_id));
                    return;
                };
                self.schedule(world, c, asset, now);
            }
        }
    }

    fn schedule(&mut self, world: &World, c: DeploymentCommand, asset: u32, now: i64) {
        let lateness = (hash_unit(self.seed, &["queue", &c.command_id]) * 5.0) as i64;
        let free = self.free_at.get(&asset).copied().unwrap_or(i64::MIN);
        let start = c.not_before.max(now).max(free) + lateness * MINUTE_MS;
        let windows = world.assets[asset as usize].telemetry.os_family == "windows";
        let runtime = match c.action {
            CommandAction::Deploy => {
                let work = 45.0 + 75.0 * hash_unit(self.seed, &["runtime", &c.command_id]);
                (work as i64 + if windows { 15 } else { 0 } + 15) * MINUTE_MS
            }
            _ => 30 * MINUTE_MS,
        };
        let (start, finish, forced) = if start > c.not_after {
            let at = c.not_after.max(now);
            (at, at, Some((OutcomeStatus::TimedOut, "could not start in the window".into())))
        } else {
            (start, start + runtime, None)
        };
        if forced.is_none() {
            self.free_at.insert(asset, finish);
            if c.action == CommandAction::Deploy && !in_window(world, asset, start) {
                self.stats.deploys_outside_window += 1;
            }
        }
        let key = (finish, c.command_id.clone());
        self.jobs.insert(key, Job { command: c, asset, start, forced });
    }

    fn pause(&mut self, c: &DeploymentCommand, now: i64) {
        self.stats.pauses += 1;
        let targets: HashSet<&str> = c.target_assets.iter().map(String::as_str).collect();
        let cancel: Vec<(i64, String)> = self
            .jobs
            .iter()
            .filter(|(_, j)| {
                j.forced.is_none()
                    && j.start > now
                    && j.command.action == CommandAction::Deploy
                    && j.command.campaign_id == c.campaign_id
                    && j.command.target_assets.iter().any(|a| targets.contains(a.as_str()))
            })
            .map(|(k, _)| k.clone())
            .collect();
        for key in cancel {
            if let Some(mut job) = self.jobs.remove(&key) {
                let why = format!("cancelled: campaign paused by {}", c.command_id);
                job.forced = Some((OutcomeStatus::TimedOut, why));
                job.start = now;
                let asset = job.asset;
                self.jobs.insert((now, key.1), job);
                let last = self
                    .jobs
                    .iter()
                    .filter(|(_, j)| j.asset == asset && j.forced.is_none())
                    .map(|(k, _)| k.0)
                    .max();
                match last {
                    Some(f) => self.free_at.insert(asset, f),
                    None => self.free_at.remove(&asset),
                };
            }
        }
        let delay = if c.emergency { RESUME_EMERGENCY_MS } else { RESUME_STANDARD_MS };
        self.resumes.insert((now + delay, c.command_id.clone()), ());
    }

    /// Finishes every job and operator action due by `t`; returns their outcomes.
    pub fn complete(&mut self, world: &mut World, t: i64) -> Vec<DeploymentOutcome> {
        let mut out = Vec::new();
        while let Some(entry) = self.jobs.first_entry() {
            if entry.key().0 > t {
                break;
            }
            let finish = entry.key().0;
            let job = entry.remove();
            out.push(self.finish(world, job, finish));
        }
        while let Some(entry) = self.resumes.first_entry() {
            if entry.key().0 > t {
                break;
            }
            let (at, pause) = entry.key().clone();
            entry.remove();
            self.stats.resumes += 1;
            out.push(DeploymentOutcome {
                command_id: pause,
                asset_id: "operator:sim".to_string(),
                status: OutcomeStatus::Resumed,
                started_at: at,
                finished_at: at,
                reboot: false,
                health_before: None,
                health_after: None,
                error: None,
                executor: "operator".to_string(),
            });
        }
        out.sort_by(|a, b| (a.finished_at, &a.command_id).cmp(&(b.finished_at, &b.command_id)));
        out
    }

    fn finish(&mut self, world: &mut World, job: Job, finish: i64) -> DeploymentOutcome {
        let c = &job.command;
        let asset = &world.assets[job.asset as usize].telemetry;
        let windows = asset.os_family == "windows";
        let mut outcome = DeploymentOutcome {
            command_id: c.command_id.clone(),
            asset_id: asset.asset_id.clone(),
            status: OutcomeStatus::Succeeded,
            started_at: job.start,
            finished_at: finish,
            reboot: false,
            health_before: Some(HealthStatus::Healthy),
            health_after: Some(HealthStatus::Healthy),
            error: None,
            executor: EXECUTOR.to_string(),
        };
        if let Some((status, error)) = job.forced {
            if error.starts_with("cancelled") {
                self.stats.cancelled += 1;
            } else {
                self.stats.timed_out += 1;
            }
            outcome.status = status;
            outcome.error = Some(error);
            outcome.health_after = outcome.health_before;
            return outcome;
        }
        if c.action == CommandAction::Rollback {
            self.stats.rollbacks += 1;
            return outcome;
        }
        self.stats.deploys_run += 1;
        outcome.reboot = windows;
        let catalog = world.catalog.clone();
        let product = catalog.product_index(&c.remediation.package);
        let target = c.remediation.target_version.as_deref().unwrap_or_default();
        let plan = product.and_then(|p| {
            let release = catalog.products[p as usize].release_of(target)?;
            let installed = world.installed(job.asset, p)?;
            (installed < release).then_some((p, installed, release))
        });
        let (p_true, failed) = match plan {
            None => (failure::MIN_P, false), // nothing to change: already there
            Some((p, installed, release)) => {
                let product = &catalog.products[p as usize];
                let from = &product.versions[installed as usize];
                let p_true = failure::probability(self.seed, asset, &product.name, from, target);
                let n = self.attempts.entry((job.asset, p, release)).or_insert(0);
                *n += 1;
                let failed =
                    failure::fails(self.seed, &asset.asset_id, &product.name, target, *n, p_true);
                if !failed {
                    world.upgrade(job.asset, p, release, finish);
                }
                (p_true, failed)
            }
        };
        self.records.push(Record {
            finished_at: finish,
            predicted: c.predicted_failure,
            p_true,
            failed,
        });
        if failed {
            self.stats.deploys_failed += 1;
            outcome.status = OutcomeStatus::Failed;
            outcome.health_after = Some(HealthStatus::Degraded);
            outcome.error = Some(format!("{target}: post-install health check failed"));
        } else {
            self.stats.deploys_succeeded += 1;
        }
        outcome
    }
}

/// Whether `at` lies inside an occurrence of the asset's maintenance window (an asset without
/// one is always inside).
fn in_window(world: &World, asset: u32, at: i64) -> bool {
    let policy = PlanPolicy { min_slot_minutes: 1, freezes: Vec::new(), ..PlanPolicy::default() };
    let window = world.assets[asset as usize].telemetry.maintenance_window.as_ref();
    next_slot(window, at, &policy).is_ok_and(|slot| slot.start <= at)
}

#[cfg(test)]
mod tests;
