//! The decision log: every command the planner issued (read back from the commands topic after a
//! restart) and every outcome reported for them.
//!
//! Invariant: the log is a pure function of the set of commands and outcomes it was given, not of
//! their order: commands are indexed by id (a second copy changes nothing), per-asset attempts
//! are kept in `(issued_at, id)` order, and of several outcomes of one command the real one with
//! the latest `finished_at` wins over any earlier one and over the scanner's "fixed" evidence.

use crate::events::{
    CommandAction, DeploymentCommand, DeploymentOutcome, OutcomeStatus, Remediation, Ring,
};
use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};

/// A command as the planner remembers it.
#[derive(Debug, Clone, PartialEq)]
pub struct Issued {
    pub id: String,
    pub action: CommandAction,
    pub campaign: String,
    pub wave: i32,
    pub ring: Ring,
    /// The target of a `DEPLOY` or `ROLLBACK`; none for a `PAUSE`.
    pub asset: Option<String>,
    pub issued_at: i64,
    pub not_before: i64,
    pub not_after: i64,
    pub emergency: bool,
    pub shadow: bool,
    pub predicted_failure: f32,
    pub rollback_of: Option<String>,
}

/// The `DEPLOY` commands of one wave.
#[derive(Debug, Clone, PartialEq)]
pub struct WaveLog {
    pub ring: Ring,
    /// Earliest `issued_at` of its commands.
    pub opened_at: i64,
    /// Asset -> `DEPLOY` command id.
    pub deploys: BTreeMap<String, String>,
}

/// A halt.
#[derive(Debug, Clone, PartialEq)]
pub struct PauseLog {
    pub id: String,
    pub issued_at: i64,
    pub wave: i32,
}

/// What was issued for one campaign.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct CampaignLog {
    pub remediation: Option<Remediation>,
    pub waves: BTreeMap<i32, WaveLog>,
    /// Asset -> its `DEPLOY` command ids, oldest attempt first.
    pub deploys: BTreeMap<String, Vec<String>>,
    /// `DEPLOY` id -> the `ROLLBACK` that reverts it.
    pub rollbacks: HashMap<String, String>,
    /// Halts, oldest first.
    pub pauses: Vec<PauseLog>,
}

/// A reported result.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Reported {
    pub status: OutcomeStatus,
    pub at: i64,
    /// False for the scanner's evidence (the exposure closed as fixed), which any real outcome
    /// replaces.
    pub real: bool,
}

/// The result of a command as the gates see it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Result_ {
    Succeeded {
        at: i64,
    },
    /// Failed, rolled back by the executor, or no outcome in time. `rollback`: whether the
    /// planner must issue a `ROLLBACK` (not when the executor already rolled back).
    Failed {
        at: i64,
        rollback: bool,
        status: OutcomeStatus,
    },
}

/// The whole log.
#[derive(Debug, Default)]
pub struct Log {
    pub commands: HashMap<String, Issued>,
    pub campaigns: BTreeMap<String, CampaignLog>,
    pub outcomes: HashMap<String, Reported>,
    /// `PAUSE` id -> earliest operator resume and the record key it came with.
    pub resumes: HashMap<String, (i64, String)>,
    /// `DEPLOY`/`ROLLBACK` ids that may be in flight or await a rollback.
    pub unresolved: BTreeSet<String>,
    /// `DEPLOY` ids a `ROLLBACK` was issued for.
    pub rolled_back: HashSet<String>,
}

impl Log {
    /// Records an issued command; false when it was already known.
    pub fn record(&mut self, c: &DeploymentCommand) -> bool {
        if self.commands.contains_key(&c.command_id) {
            return false;
        }
        let issued = Issued {
            id: c.command_id.clone(),
            action: c.action,
            campaign: c.campaign_id.clone(),
            wave: c.wave,
            ring: c.ring,
            asset: (c.action != CommandAction::Pause)
                .then(|| c.target_assets.first().cloned())
                .flatten(),
            issued_at: c.issued_at,
            not_before: c.not_before,
            not_after: c.not_after,
            emergency: c.emergency,
            shadow: c.shadow,
            predicted_failure: c.predicted_failure,
            rollback_of: c.rollback_of.clone(),
        };
        let log = self.campaigns.entry(c.campaign_id.clone()).or_default();
        log.remediation.get_or_insert_with(|| c.remediation.clone());
        match (c.action, &issued.asset) {
            (CommandAction::Deploy, Some(asset)) => {
                let wave = log.waves.entry(c.wave).or_insert_with(|| WaveLog {
                    ring: c.ring,
                    opened_at: c.issued_at,
                    deploys: BTreeMap::new(),
                });
                wave.opened_at = wave.opened_at.min(c.issued_at);
                wave.deploys.insert(asset.clone(), c.command_id.clone());
                let attempts = log.deploys.entry(asset.clone()).or_default();
                attempts.push(c.command_id.clone());
                let commands = &self.commands;
                attempts.sort_by_key(|id| {
                    (commands.get(id).map_or(c.issued_at, |x| x.issued_at), id.clone())
                });
                if !self.rolled_back.contains(&c.command_id) {
                    self.unresolved.insert(c.command_id.clone());
                }
            }
            (CommandAction::Rollback, Some(_)) => {
                if let Some(deploy) = &c.rollback_of {
                    log.rollbacks.insert(deploy.clone(), c.command_id.clone());
                    self.rolled_back.insert(deploy.clone());
                    self.unresolved.remove(deploy);
                }
                self.unresolved.insert(c.command_id.clone());
            }
            (CommandAction::Pause, _) => {
                log.pauses.push(PauseLog {
                    id: c.command_id.clone(),
                    issued_at: c.issued_at,
                    wave: c.wave,
                });
                log.pauses.sort_by(|a, b| (a.issued_at, &a.id).cmp(&(b.issued_at, &b.id)));
            }
            _ => {}
        }
        self.commands.insert(c.command_id.clone(), issued);
        true
    }

    /// Records an outcome reported by an executor (or an operator's `RESUMED`).
    pub fn report(&mut self, o: &DeploymentOutcome) {
        if o.status == OutcomeStatus::Resumed {
            let entry = self
                .resumes
                .entry(o.command_id.clone())
                .or_insert_with(|| (o.finished_at, o.asset_id.clone()));
            if o.finished_at < entry.0 {
                *entry = (o.finished_at, o.asset_id.clone());
            }
            return;
        }
        self.put(&o.command_id, Reported { status: o.status, at: o.finished_at, real: true });
    }

    /// Records the scanner's evidence that the newest `DEPLOY` of `asset` in `campaign` worked:
    /// the asset's last exposure of the campaign closed as fixed at `at`.
    pub fn report_fixed(&mut self, campaign: &str, asset: &str, at: i64) {
        let newest = self
            .campaigns
            .get(campaign)
            .and_then(|c| c.deploys.get(asset))
            .and_then(|ids| ids.last())
            .cloned();
        if let Some(id) = newest {
            self.put(&id, Reported { status: OutcomeStatus::Succeeded, at, real: false });
        }
    }

    fn put(&mut self, id: &str, r: Reported) {
        let replace = match self.outcomes.get(id) {
            None => true,
            Some(old) if old.real != r.real => r.real,
            Some(old) => (r.at, rank(r.status)) > (old.at, rank(old.status)),
        };
        if replace {
            self.outcomes.insert(id.to_string(), r);
            if self.commands.contains_key(id) && !self.rolled_back.contains(id) {
                self.unresolved.insert(id.to_string());
            }
        }
    }

    /// The result of command `c` judged at `clock` (the punctuator's time): its outcome, or a
    /// failure once `grace_ms` passed after its window closed. A shadow command, which nobody
    /// runs, is taken as succeeded `shadow_runtime_ms` after its window opens.
    pub fn result(
        &self,
        c: &Issued,
        clock: i64,
        grace_ms: i64,
        shadow_runtime_ms: i64,
    ) -> Option<Result_> {
        if let Some(r) = self.outcomes.get(&c.id) {
            return match r.status {
                OutcomeStatus::Succeeded => Some(Result_::Succeeded { at: r.at }),
                OutcomeStatus::RolledBack => {
                    Some(Result_::Failed { at: r.at, rollback: false, status: r.status })
                }
                OutcomeStatus::Failed | OutcomeStatus::TimedOut => {
                    Some(Result_::Failed { at: r.at, rollback: true, status: r.status })
                }
                OutcomeStatus::Resumed => None,
            };
        }
        if c.shadow {
            let done = c.not_before.saturating_add(shadow_runtime_ms);
            return (clock >= done).then_some(Result_::Succeeded { at: done });
        }
        let timeout = c.not_after.saturating_add(grace_ms);
        (clock >= timeout).then_some(Result_::Failed {
            at: timeout,
            rollback: true,
            status: OutcomeStatus::TimedOut,
        })
    }
}

/// Tie-break between outcomes at the same instant: the worse one wins.
fn rank(s: OutcomeStatus) -> u8 {
    match s {
        OutcomeStatus::Resumed => 0,
        OutcomeStatus::Succeeded => 1,
        OutcomeStatus::RolledBack => 2,
        OutcomeStatus::TimedOut => 3,
        OutcomeStatus::Failed => 4,
    }
}
