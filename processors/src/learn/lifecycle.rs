//! The life of one online model: a challenger that learns from every training example, a
//! champion that is published, and the gate between them.
//!
//! - Every example goes one way, decided by a hash of its key: one in
//!   [`LifecycleParams::holdout_every`] is held out into a bounded reservoir of recent validation
//!   examples, the others train the challenger. Before training, both models predict it, which
//!   gives the progressive-validation log-loss and the champion's calibration on live data.
//! - At each [`Lifecycle::gate`], once enough new examples arrived, champion and challenger are
//!   both scored on the whole reservoir. The challenger is promoted only if its log-loss there is
//!   not worse than the champion's (plus a small tolerance); otherwise the interval is rejected:
//!   the challenger returns to its state at the previous gate and the interval's held-out
//!   examples leave the reservoir, so nothing of that interval stays.
//! - A promotion moves each published weight at most [`LifecycleParams::max_step`] towards the
//!   challenger: one burst of outcomes cannot swing the model further than that per interval,
//!   even if it passes the gate.
//!
//! Invariants: versions only grow; the champion is always one of the published snapshots (or
//! the initial one); the lifecycle is deterministic in its inputs (no clock, no randomness).

use super::ftrl::{Ftrl, FtrlParams};
use super::hash::fnv1a64;
use super::{log_loss, Hashed};
use crate::events::{ModelMetrics, ModelSnapshot};
use std::collections::{BTreeMap, VecDeque};

/// How a model is validated, gated and published.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LifecycleParams {
    /// One example in this many (by key hash) is held out for validation.
    pub holdout_every: u64,
    /// Held-out examples kept (the most recent).
    pub reservoir: usize,
    /// New examples needed before a gate is considered.
    pub min_examples: usize,
    /// Largest change of one published weight per promotion.
    pub max_step: f32,
    /// The challenger may be this much worse (mean log-loss) and still be promoted, so two
    /// equally good models do not block each other on rounding.
    pub tolerance: f64,
}

impl Default for LifecycleParams {
    /// One in 5 held out, the last 2,000 kept, a gate after 50 new examples, weights move by at
    /// most 0.5 in log-odds per promotion, a tolerance of 0.001 nats.
    fn default() -> Self {
        LifecycleParams {
            holdout_every: 5,
            reservoir: 2_000,
            min_examples: 50,
            max_step: 0.5,
            tolerance: 1e-3,
        }
    }
}

/// What a gate decided.
#[derive(Debug, Clone, PartialEq)]
pub enum Gate {
    /// Not enough new examples since the last gate.
    Wait,
    /// The challenger was promoted: publish this snapshot.
    Promoted(ModelSnapshot),
    /// The challenger was worse on the reservoir; its interval was dropped.
    Rejected { challenger_loss: f64, champion_loss: f64 },
}

/// Running numbers of a lifecycle, for metrics.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Stats {
    pub examples: i64,
    pub held_out: i64,
    pub promotions: i64,
    pub rejections: i64,
    /// Progressive log-loss of the challenger (mean over all examples).
    pub progressive_log_loss: f64,
    /// Champion's mean predicted probability and observed rate since the last gate
    /// (calibration: they should be close; drift: they move apart).
    pub interval_predicted: f64,
    pub interval_observed: f64,
    /// Reservoir log-loss of the champion and challenger at the last gate.
    pub champion_loss: f64,
    pub challenger_loss: f64,
}

/// Champion, challenger, reservoir and published history of one model.
#[derive(Debug, Clone)]
pub struct Lifecycle {
    name: String,
    params: LifecycleParams,
    ftrl: FtrlParams,
    champion: Ftrl,
    champion_version: i64,
    challenger: Ftrl,
    /// The challenger as it was at the last gate: a rejected interval rolls back to it.
    checkpoint: Ftrl,
    /// Held-out examples added since the last gate (dropped with a rejected interval).
    interval_held_out: usize,
    reservoir: VecDeque<(Hashed, bool)>,
    history: BTreeMap<i64, ModelSnapshot>,
    new_examples: usize,
    stats: Stats,
    loss_sum: f64,
    interval: (f64, f64, usize),
}

impl Lifecycle {
    /// A lifecycle starting from zero weights (version 0, unpublished).
    pub fn new(name: &str, ftrl: FtrlParams, params: LifecycleParams) -> Lifecycle {
        Lifecycle {
            name: name.to_string(),
            params,
            ftrl,
            champion: Ftrl::new(ftrl),
            champion_version: 0,
            challenger: Ftrl::new(ftrl),
            checkpoint: Ftrl::new(ftrl),
            interval_held_out: 0,
            reservoir: VecDeque::new(),
            history: BTreeMap::new(),
            new_examples: 0,
            stats: Stats::default(),
            loss_sum: 0.0,
            interval: (0.0, 0.0, 0),
        }
    }

    /// Model name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Version of the champion (0 before the first publication).
    pub fn version(&self) -> i64 {
        self.champion_version
    }

    /// Running numbers.
    pub fn stats(&self) -> Stats {
        self.stats
    }

    /// Width of the hashed space.
    pub fn bits(&self) -> u32 {
        self.ftrl.bits
    }

    /// Probability from the champion (what readers of the published model predict).
    pub fn predict_champion(&self, x: &Hashed) -> f64 {
        self.champion.predict_hashed(x)
    }

    /// One labelled example, keyed for the holdout split (e.g. `command_id/asset_id`).
    pub fn observe(&mut self, key: &str, x: Hashed, label: bool) {
        let champion_p = self.champion.predict_hashed(&x);
        self.stats.examples += 1;
        self.interval.0 += champion_p;
        self.interval.1 += if label { 1.0 } else { 0.0 };
        self.interval.2 += 1;
        self.new_examples += 1;
        if fnv1a64(key.as_bytes()).is_multiple_of(self.params.holdout_every.max(1)) {
            self.stats.held_out += 1;
            self.loss_sum += log_loss(self.challenger.predict_hashed(&x), label);
            self.reservoir.push_back((x, label));
            self.interval_held_out += 1;
            while self.reservoir.len() > self.params.reservoir {
                self.reservoir.pop_front();
            }
        } else {
            self.loss_sum += log_loss(self.challenger.update_hashed(&x, label), label);
        }
        self.stats.progressive_log_loss = self.loss_sum / self.stats.examples as f64;
        let n = self.interval.2 as f64;
        self.stats.interval_predicted = self.interval.0 / n;
        self.stats.interval_observed = self.interval.1 / n;
    }

    fn reservoir_loss(&self, model: &Ftrl) -> f64 {
        let n = self.reservoir.len().max(1) as f64;
        self.reservoir.iter().map(|(x, y)| log_loss(model.predict_hashed(x), *y)).sum::<f64>() / n
    }

    /// Decides whether the challenger replaces the champion; `now_ms` stamps a new snapshot.
    pub fn gate(&mut self, now_ms: i64) -> Gate {
        if self.new_examples < self.params.min_examples || self.reservoir.is_empty() {
            return Gate::Wait;
        }
        self.new_examples = 0;
        self.interval = (0.0, 0.0, 0);
        let champion_loss = self.reservoir_loss(&self.champion);
        let challenger_loss = self.reservoir_loss(&self.challenger);
        self.stats.champion_loss = champion_loss;
        self.stats.challenger_loss = challenger_loss;
        let held_out = std::mem::take(&mut self.interval_held_out).min(self.reservoir.len());
        if challenger_loss > champion_loss + self.params.tolerance {
            // Quarantine the whole interval: its training is undone, its held-out examples leave
            // the reservoir so they do not judge later intervals.
            self.stats.rejections += 1;
            self.challenger = self.checkpoint.clone();
            self.reservoir.truncate(self.reservoir.len() - held_out);
            return Gate::Rejected { challenger_loss, champion_loss };
        }
        let snapshot = self.bounded_step(now_ms);
        self.stats.promotions += 1;
        self.adopt(&snapshot);
        self.checkpoint = self.challenger.clone();
        Gate::Promoted(snapshot)
    }

    /// The next version: the champion moved towards the challenger, each weight by at most
    /// `max_step`.
    fn bounded_step(&self, now_ms: i64) -> ModelSnapshot {
        let step = self.params.max_step;
        let sparse = |m: &Ftrl| -> BTreeMap<u32, f32> {
            m.nonzero_weights().into_iter().map(|(i, w)| (i, w as f32)).collect()
        };
        let (from, to) = (sparse(&self.champion), sparse(&self.challenger));
        let mut merged: BTreeMap<u32, f32> = BTreeMap::new();
        for &i in from.keys().chain(to.keys()) {
            let a = from.get(&i).copied().unwrap_or(0.0);
            let b = to.get(&i).copied().unwrap_or(0.0);
            merged.insert(i, a + (b - a).clamp(-step, step));
        }
        merged.retain(|_, w| *w != 0.0);
        let bias_from = self.champion.bias() as f32;
        let bias = bias_from + (self.challenger.bias() as f32 - bias_from).clamp(-step, step);
        let (indices, weights) = merged.into_iter().map(|(i, w)| (i as i32, w)).unzip();
        ModelSnapshot {
            model: self.name.clone(),
            version: self.next_version(),
            created_at: now_ms,
            hash_bits: self.ftrl.bits as i32,
            bias,
            indices,
            weights,
            metrics: ModelMetrics {
                examples: self.stats.examples,
                log_loss: self.stats.challenger_loss,
                auc: None,
            },
        }
    }

    fn next_version(&self) -> i64 {
        self.history.keys().next_back().copied().unwrap_or(self.champion_version).max(0) + 1
    }

    /// Makes `snapshot` the champion (a promotion, a restore, or a snapshot read back from the
    /// models topic after a restart). The challenger keeps learning from its own state when it
    /// was promoted, and restarts from the champion otherwise.
    fn adopt(&mut self, snapshot: &ModelSnapshot) {
        if let Ok(model) = Ftrl::from_snapshot(snapshot, self.ftrl) {
            self.champion = model;
            self.champion_version = snapshot.version;
            self.history.insert(snapshot.version, snapshot.clone());
        }
    }

    /// A published snapshot seen on the models topic: remembered in the history, and adopted as
    /// champion (and challenger) when it is newer than the current champion.
    pub fn published(&mut self, snapshot: &ModelSnapshot) {
        if snapshot.model != self.name || self.history.contains_key(&snapshot.version) {
            return;
        }
        if snapshot.version > self.champion_version {
            self.adopt(snapshot);
            self.challenger = self.champion.clone();
            self.checkpoint = self.champion.clone();
        } else {
            self.history.insert(snapshot.version, snapshot.clone());
        }
    }

    /// Republishes an earlier version's weights under a new version number (an operator's
    /// restore), or `None` when that version is unknown.
    pub fn restore(&mut self, version: i64, now_ms: i64) -> Option<ModelSnapshot> {
        let mut snapshot = self.history.get(&version)?.clone();
        snapshot.version = self.next_version();
        snapshot.created_at = now_ms;
        self.adopt(&snapshot);
        self.challenger = self.champion.clone();
        self.checkpoint = self.champion.clone();
        self.new_examples = 0;
        self.interval_held_out = 0;
        Some(snapshot)
    }

    /// Versions published so far.
    pub fn versions(&self) -> Vec<i64> {
        self.history.keys().copied().collect()
    }
}

#[cfg(test)]
#[path = "lifecycle_tests.rs"]
mod tests;
