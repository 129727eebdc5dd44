//! The scorecard of a run, measured on the world's ground truth, the same way for every policy.
//!
//! - An exposure counts once a scan reported it; its clock starts at its first sighting, or at
//!   the start of the run for the backlog. It stops when a deployment fixed it; an exposure
//!   still open at the end counts up to the end (so a policy cannot gain by leaving it open).
//! - **MTTP KEV**: mean days from the later of that start and the instant its CVE joined KEV
//!   (the start, for entries older than the run) to the fix, over exposures whose CVE is in KEV
//!   by the end and that were still open when it joined.
//! - **MTTP critical**: the same from the start of its clock, over exposures with CVSS >= 9.0.
//! - **Exposure-days**: the sum of the days exposures were open while their CVE was in KEV;
//!   **open exposure-days**: the sum over every exposure, exploited or not.
//! - **Window reference**: the same mean if every KEV exposure were fixed by the shortest
//!   deployment (one hour) in the first maintenance-window slot after its clock starts. Only a
//!   deployment already running, one that fixed it through another CVE of the same product, or
//!   an emergency change outside the window can beat it, so it is close to the best a policy
//!   that always waits for maintenance windows can do in this world.
//! - **Deployments outside windows**: deployments that started outside the asset's maintenance
//!   window (patchline's emergency changes; the price of beating the window reference).
//! - **Success rate**: succeeded deployments over deployments run or timed out (cancelled ones
//!   never ran and are left out; rollbacks and `RESUMED` are not deployments).
//! - **Rollbacks**: `ROLLBACK` commands issued.
//! - **Learning curve**: per cycle (a simulated week, by `finished_at`), the AUC and log-loss of
//!   the commands' `predicted_failure` against whether the deployment failed, and the log-loss
//!   of the hidden model itself on the same deployments (the best any model could do); and the
//!   calibration: the mean predicted probability against the observed failure rate.
//!
//! Invariant: every number is a pure function of the run; days are `f64` days of 86,400 s.

use super::run::Run;
use super::world::{World, DAY_MS};
use patchline_processors::plan::windows::next_slot;
use patchline_processors::plan::PlanPolicy;
use serde::Serialize;

/// KEV entries are published at this hour (UTC) of their `dateAdded`, as in the world.
const KEV_HOUR_MS: i64 = 17 * 3_600_000;
/// The shortest deployment the executor runs (45 minutes of work and a 15-minute check).
const SHORTEST_DEPLOY_MS: i64 = 3_600_000;
/// CVSS from which an exposure is critical.
pub const CRITICAL_CVSS: f32 = 9.0;

/// One policy's line of the scorecard.
#[derive(Debug, Clone, Serialize)]
pub struct Scorecard {
    pub name: String,
    pub mttp_kev_days: f64,
    pub mttp_critical_days: f64,
    pub exposure_days: f64,
    pub success_rate: f64,
    pub rollbacks: usize,
    pub open_exposure_days: f64,
    pub kev_exposures: usize,
    pub kev_open_at_end: usize,
    /// MTTP over the KEV exposures whose KEV clock started after the start of the run.
    pub mttp_kev_arriving_days: f64,
    pub kev_arriving: usize,
    pub critical_exposures: usize,
    pub deployments: usize,
    pub deployments_failed: usize,
    pub pauses: usize,
    /// Deployments that started outside the asset's maintenance window.
    pub deployments_outside_window: usize,
    pub commands_rejected: usize,
}

/// One cycle of the learning curve.
#[derive(Debug, Clone, Serialize)]
pub struct Cycle {
    pub cycle: usize,
    pub deployments: usize,
    pub failures: usize,
    pub failure_auc: Option<f64>,
    pub log_loss: Option<f64>,
    pub generating_log_loss: Option<f64>,
    /// Calibration: the mean predicted failure probability and the observed failure rate.
    pub mean_predicted: Option<f64>,
    pub observed_rate: Option<f64>,
}

/// When the KEV clock of a CVE starts, if it joined KEV before the end.
pub fn kev_at(world: &World, cve: u32) -> Option<i64> {
    let day = i64::from(world.catalog.cves[cve as usize].kev_day?);
    let at = if day * DAY_MS < world.start { world.start } else { day * DAY_MS + KEV_HOUR_MS };
    (at < world.end).then_some(at)
}

fn days(ms: i64) -> f64 {
    ms as f64 / DAY_MS as f64
}

fn mean(xs: &[f64]) -> f64 {
    if xs.is_empty() {
        0.0
    } else {
        xs.iter().sum::<f64>() / xs.len() as f64
    }
}

/// The scorecard line of a run.
pub fn scorecard(run: &Run) -> Scorecard {
    let w = &run.world;
    let (mut kev, mut critical, mut open_days) = (Vec::new(), Vec::new(), 0.0);
    let mut arriving = Vec::new();
    let mut kev_open_at_end = 0;
    for x in &w.exposures {
        let Some(seen) = x.first_seen else { continue };
        let from = seen.max(w.start);
        let to = x.fixed_at.unwrap_or(w.end).min(w.end);
        if to <= from {
            continue;
        }
        open_days += days(to - from);
        let cve = &w.catalog.cves[x.cve as usize];
        if cve.cvss.is_some_and(|c| c >= CRITICAL_CVSS) {
            critical.push(days(to - from));
        }
        if let Some(k) = kev_at(w, x.cve) {
            let from = from.max(k);
            if to > from {
                kev.push(days(to - from));
                if k > w.start {
                    arriving.push(days(to - from));
                }
                if x.fixed_at.is_none() {
                    kev_open_at_end += 1;
                }
            }
        }
    }
    let s = &run.stats;
    let attempted = s.deploys_run + s.timed_out;
    Scorecard {
        name: run.policy.name().to_string(),
        mttp_kev_days: mean(&kev),
        mttp_critical_days: mean(&critical),
        exposure_days: kev.iter().sum(),
        success_rate: if attempted == 0 {
            0.0
        } else {
            s.deploys_succeeded as f64 / attempted as f64
        },
        rollbacks: run.issued.rollback,
        open_exposure_days: open_days,
        kev_exposures: kev.len(),
        kev_open_at_end,
        mttp_kev_arriving_days: mean(&arriving),
        kev_arriving: arriving.len(),
        critical_exposures: critical.len(),
        deployments: s.deploys_run,
        deployments_failed: s.deploys_failed,
        pauses: run.issued.pause,
        deployments_outside_window: s.deploys_outside_window,
        commands_rejected: s.rejected,
    }
}

/// The window reference of MTTP KEV in this world (see the module docs), in days.
pub fn mttp_kev_window(world: &World) -> f64 {
    let policy = PlanPolicy::default();
    let mut floors = Vec::new();
    for x in &world.exposures {
        let (Some(seen), Some(k)) = (x.first_seen, kev_at(world, x.cve)) else { continue };
        let from = seen.max(world.start).max(k);
        let window = world.assets[x.asset as usize].telemetry.maintenance_window.as_ref();
        let Ok(slot) = next_slot(window, from, &policy) else { continue };
        floors.push(days((slot.start + SHORTEST_DEPLOY_MS).min(world.end) - from));
    }
    mean(&floors)
}

/// Area under the ROC curve of `scores` for `labels` (ties count half); `None` without both
/// classes.
pub fn auc(pairs: &[(f64, bool)]) -> Option<f64> {
    let positives = pairs.iter().filter(|p| p.1).count();
    let negatives = pairs.len() - positives;
    if positives == 0 || negatives == 0 {
        return None;
    }
    let mut sorted: Vec<(f64, bool)> = pairs.to_vec();
    sorted.sort_by(|a, b| a.0.total_cmp(&b.0));
    // Sum of the (average) ranks of the positives: Mann-Whitney U.
    let mut rank_sum = 0.0;
    let mut i = 0;
    while i < sorted.len() {
        let mut j = i;
        while j < sorted.len() && sorted[j].0 == sorted[i].0 {
            j += 1;
        }
        let average = (i + 1 + j) as f64 / 2.0;
        rank_sum += average * sorted[i..j].iter().filter(|p| p.1).count() as f64;
        i = j;
    }
    let p = positives as f64;
    Some((rank_sum - p * (p + 1.0) / 2.0) / (p * negatives as f64))
}

/// Mean log-loss of probabilities for labels; `None` when empty.
pub fn log_loss(pairs: &[(f64, bool)]) -> Option<f64> {
    if pairs.is_empty() {
        return None;
    }
    let total: f64 = pairs
        .iter()
        .map(|&(p, y)| {
            let p = p.clamp(1e-6, 1.0 - 1e-6);
            if y {
                -p.ln()
            } else {
                -(1.0 - p).ln()
            }
        })
        .sum();
    Some(total / pairs.len() as f64)
}

/// The learning curve of a run: one point per simulated week.
pub fn learning_curve(run: &Run) -> Vec<Cycle> {
    let w = &run.world;
    let cycles = ((w.end - w.start) as f64 / (7 * DAY_MS) as f64).ceil().max(1.0) as usize;
    (0..cycles)
        .map(|cycle| {
            let from = w.start + cycle as i64 * 7 * DAY_MS;
            let to = from + 7 * DAY_MS;
            let in_cycle: Vec<_> = run
                .records
                .iter()
                .filter(|r| r.finished_at >= from && r.finished_at < to)
                .collect();
            let predicted: Vec<(f64, bool)> =
                in_cycle.iter().map(|r| (f64::from(r.predicted), r.failed)).collect();
            let hidden: Vec<(f64, bool)> = in_cycle.iter().map(|r| (r.p_true, r.failed)).collect();
            Cycle {
                cycle: cycle + 1,
                deployments: in_cycle.len(),
                failures: in_cycle.iter().filter(|r| r.failed).count(),
                failure_auc: auc(&predicted),
                log_loss: log_loss(&predicted),
                generating_log_loss: log_loss(&hidden),
                mean_predicted: (!predicted.is_empty())
                    .then(|| predicted.iter().map(|p| p.0).sum::<f64>() / predicted.len() as f64),
                observed_rate: (!predicted.is_empty()).then(|| {
                    predicted.iter().filter(|p| p.1).count() as f64 / predicted.len() as f64
                }),
            }
        })
        .collect()
}

/// Open KEV exposures (known exploited, not fixed) at the end of each simulated day.
pub fn open_kev_by_day(run: &Run) -> Vec<usize> {
    let w = &run.world;
    let days = ((w.end - w.start) / DAY_MS).max(0) as usize;
    let mut delta = vec![0i64; days + 1];
    for x in &w.exposures {
        let (Some(seen), Some(k)) = (x.first_seen, kev_at(w, x.cve)) else { continue };
        let from = seen.max(w.start).max(k);
        let to = x.fixed_at.unwrap_or(w.end).min(w.end);
        if to <= from {
            continue;
        }
        // Open at the end of day d when from <= end(d) < to.
        let first = ((from - w.start) / DAY_MS) as usize;
        let last = ((to - w.start - 1) / DAY_MS) as usize; // the last day end before `to`
        let first = first.min(days);
        if last >= first {
            delta[first] += 1;
            delta[(last + 1).min(days)] -= 1;
        }
    }
    let mut open = 0i64;
    delta[..days]
        .iter()
        .map(|d| {
            open += d;
            open.max(0) as usize
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn auc_and_log_loss_match_hand_computed_values() {
        let perfect = [(0.1, false), (0.2, false), (0.8, true), (0.9, true)];
        assert_eq!(auc(&perfect), Some(1.0));
        let inverted = [(0.9, false), (0.1, true)];
        assert_eq!(auc(&inverted), Some(0.0));
        let ties = [(0.5, false), (0.5, true), (0.5, false)];
        assert_eq!(auc(&ties), Some(0.5));
        let mixed = [(0.1, false), (0.4, true), (0.35, false), (0.8, true)];
        assert_eq!(auc(&mixed), Some(1.0));
        let swapped = [(0.1, false), (0.3, true), (0.35, false), (0.8, true)];
        assert_eq!(auc(&swapped), Some(0.75));
        assert_eq!(auc(&[(0.2, false)]), None);
        let ll = log_loss(&[(0.5, true), (0.5, false)]).unwrap_or(0.0);
        assert!((ll - std::f64::consts::LN_2).abs() < 1e-12);
        assert_eq!(log_loss(&[]), None);
    }
}
