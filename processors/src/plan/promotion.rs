//! Health-gated promotion, like an Argo Rollouts analysis: a wave passes when enough of it
//! succeeded, fails once the success threshold can no longer be reached, and a failed wave halts
//! its campaign until an operator (a `RESUMED` outcome on the `PAUSE`) or the policy
//! (`auto_resume_after_minutes`) resumes it.
//!
//! Invariants:
//! - a wave of `n` members needs `ceil(threshold * n)` successes; it passes at the instant of
//!   the success that reached them, and fails at the instant of the failure that made them
//!   unreachable; both instants are event times, so the verdict does not depend on when it is
//!   computed, only on what was reported and on the clock that judges timeouts;
//! - a campaign is halted while one of its `PAUSE`s has no resume; failures that happened
//!   before the latest resume no longer count (the operator accepted them), so a resumed
//!   campaign never halts again for the same failure.

use super::log::{CampaignLog, Log, PauseLog, Result_, WaveLog};
use super::policy::PlanPolicy;
use crate::events::OutcomeStatus;

/// The verdict on one wave.
#[derive(Debug, Clone, PartialEq)]
pub struct Gate {
    pub size: usize,
    pub needed: usize,
    pub succeeded: usize,
    /// Failed members with how they failed.
    pub failed: Vec<(String, OutcomeStatus)>,
    /// Any member reported (no late joiners once results come in).
    pub reported: bool,
    pub verdict: Verdict,
}

/// Whether a wave passed, failed or is still running.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    Running,
    Passed { at: i64 },
    Failed { at: i64 },
}

/// Judges `wave` with results as of `clock`.
pub fn evaluate(log: &Log, wave: &WaveLog, clock: i64, policy: &PlanPolicy) -> Gate {
    let mut successes = Vec::new();
    let mut failures = Vec::new();
    let mut failed = Vec::new();
    for (asset, id) in &wave.deploys {
        let Some(c) = log.commands.get(id) else { continue };
        let grace = policy.lane(c.emergency).grace_ms();
        match log.result(c, clock, grace, policy.shadow_runtime_ms()) {
            Some(Result_::Succeeded { at }) => successes.push(at),
            Some(Result_::Failed { at, status, .. }) => {
                failures.push(at);
                failed.push((asset.clone(), status));
            }
            None => {}
        }
    }
    successes.sort_unstable();
    failures.sort_unstable();
    let size = wave.deploys.len();
    let needed = needed(size, policy.success_threshold);
    let allowed = size - needed;
    let verdict = if failures.len() > allowed {
        Verdict::Failed { at: failures[allowed] }
    } else if successes.len() >= needed && needed > 0 {
        Verdict::Passed { at: successes[needed - 1] }
    } else {
        Verdict::Running
    };
    let reported = !successes.is_empty() || !failures.is_empty();
    Gate { size, needed, succeeded: successes.len(), failed, reported, verdict }
}

/// Successes a wave of `size` needs (at least one for a non-empty wave).
pub fn needed(size: usize, threshold: f64) -> usize {
    if size == 0 {
        return 0;
    }
    ((threshold * size as f64 - 1e-9).ceil() as usize).clamp(1, size)
}

/// When a halt is lifted: the operator's `RESUMED` or the policy's automatic resume, whichever
/// comes first, never before the halt itself.
pub fn resumed_at(log: &Log, pause: &PauseLog, policy: &PlanPolicy) -> Option<i64> {
    let operator = log.resumes.get(&pause.id).map(|(at, _)| *at);
    let auto = policy.auto_resume_ms().map(|d| pause.issued_at.saturating_add(d));
    let at = match (operator, auto) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    };
    at.map(|at| at.max(pause.issued_at))
}

/// The halt in force at `t`, if any.
pub fn halt<'a>(
    log: &Log,
    c: &'a CampaignLog,
    t: i64,
    policy: &PlanPolicy,
) -> Option<&'a PauseLog> {
    c.pauses.iter().find(|p| resumed_at(log, p, policy).is_none_or(|r| r > t))
}

/// Start of the current epoch: the latest resume at or before `t` (`i64::MIN` if none). Waves
/// opened before it belong to a halt the operator resolved.
pub fn epoch_start(log: &Log, c: &CampaignLog, t: i64, policy: &PlanPolicy) -> i64 {
    c.pauses
        .iter()
        .filter_map(|p| resumed_at(log, p, policy))
        .filter(|r| *r <= t)
        .max()
        .unwrap_or(i64::MIN)
}

/// The first wave of the current epoch that failed, with its gate.
pub fn failed_wave(
    log: &Log,
    c: &CampaignLog,
    epoch: i64,
    clock: i64,
    policy: &PlanPolicy,
) -> Option<(i32, Gate)> {
    c.waves
        .iter()
        .filter(|(_, w)| w.opened_at >= epoch)
        .map(|(n, w)| (*n, evaluate(log, w, clock, policy)))
        .find(|(_, g)| matches!(g.verdict, Verdict::Failed { .. }))
}

/// Waves of the campaign that passed (in any epoch), judged at `clock`.
pub fn passed_waves(log: &Log, c: &CampaignLog, clock: i64, policy: &PlanPolicy) -> usize {
    c.waves
        .values()
        .filter(|w| matches!(evaluate(log, w, clock, policy).verdict, Verdict::Passed { .. }))
        .count()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn thresholds() {
        assert_eq!(needed(1, 0.95), 1);
        assert_eq!(needed(19, 0.95), 19);
        assert_eq!(needed(20, 0.95), 19);
        assert_eq!(needed(40, 0.95), 38);
        assert_eq!(needed(10, 0.5), 5);
        assert_eq!(needed(3, 1.0), 3);
        assert_eq!(needed(0, 0.95), 0);
    }
}
