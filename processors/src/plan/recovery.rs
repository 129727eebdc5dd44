//! Recovery from failures: a `ROLLBACK` for every failed `DEPLOY`, and a `PAUSE` that halts a
//! campaign whose wave failed its gate.
//!
//! Invariants: at most one `ROLLBACK` per `DEPLOY` (its id derives from the `DEPLOY`'s), issued
//! only into a window of the asset and only when nothing else is in flight on it (the failed
//! `DEPLOY`'s load moves to it, so no cap is exceeded); a `RolledBack` outcome (the executor
//! reverted by itself) needs none. At most one `PAUSE` per halt: a halted campaign issues no
//! second one until it is resumed and fails again.

use super::campaign::Campaign;
use super::commands::{build, rationale, remediation_name, Draft};
use super::constraints::LazyLedger;
use super::constraints::Span;
use super::emergency::{describe_planned, plan_slot};
use super::log::{Log, Result_};
use super::planner::{issue, Ctx};
use super::promotion::{epoch_start, failed_wave, halt};
use super::windows::Slot;
use crate::events::{CommandAction, DeploymentCommand, Ring};
use crate::sign::ring_symbol;

/// Issues a `ROLLBACK` for every failed `DEPLOY` of the campaign that lacks one.
pub(super) fn rollbacks(
    ctx: &Ctx<'_>,
    log: &mut Log,
    ledger: &mut LazyLedger,
    id: &str,
    t: i64,
    clock: i64,
    out: &mut Vec<DeploymentCommand>,
) {
    let Some(clog) = log.campaigns.get(id) else { return };
    let mut todo = Vec::new();
    for (asset, deploys) in &clog.deploys {
        let open = |d: &&String| log.unresolved.contains(*d) && !log.rolled_back.contains(*d);
        for d in deploys.iter().filter(open) {
            let Some(c) = log.commands.get(d) else { continue };
            let grace = ctx.policy.lane(c.emergency).grace_ms();
            if let Some(Result_::Failed { rollback: true, status, at }) =
                log.result(c, clock, grace, ctx.policy.shadow_runtime_ms())
            {
                todo.push((asset.clone(), c.clone(), status, at));
            }
        }
    }
    let Some(remediation) = clog.remediation.clone() else { return };
    if todo.is_empty() {
        return;
    }
    let ledger = ledger.get(log, ctx.fleet, clock, ctx.policy);
    for (asset, deploy, status, at) in todo {
        let Some(info) = ctx.fleet.get(&asset).filter(|i| !i.decommissioned) else { continue };
        if !ledger.only(&asset, &deploy.id) {
            continue;
        }
        let Ok(planned) = plan_slot(info.window.as_ref(), t, ctx.policy, deploy.emergency) else {
            continue;
        };
        let slot = planned.slot;
        let rid = ctx.issuer.rollback_id(id, &asset, &deploy.id);
        let member = ctx.campaigns.get(id).and_then(|c| c.members.get(&asset));
        let (rationale, _) = rationale(&asset, member, t, slot.end);
        let reason = format!(
            "roll back {} ({status:?} at {}): revert {} on {asset}; {}",
            deploy.id,
            utc(at),
            remediation_name(&remediation),
            describe_planned(info.window.as_ref(), planned, t, ctx.policy)
        );
        let cmd = build(
            &ctx.issuer,
            Draft {
                id: rid.clone(),
                action: CommandAction::Rollback,
                campaign: id,
                remediation: &remediation,
                wave: deploy.wave,
                ring: deploy.ring,
                targets: vec![asset.clone()],
                slot,
                deadline: slot.end,
                rationale,
                predicted_failure: deploy.predicted_failure,
                issued_at: t,
                plan_reason: reason,
                emergency: deploy.emergency,
                rollback_of: Some(deploy.id.clone()),
            },
        );
        let span = Span::of_slot(slot, ctx.policy.lane(deploy.emergency).grace_ms());
        ledger.swap(&asset, &deploy.id, &rid, span);
        issue(log, cmd, out);
    }
}

/// True when the campaign is halted; issues its `PAUSE` when a wave of the current epoch failed.
pub(super) fn halted(
    ctx: &Ctx<'_>,
    log: &mut Log,
    id: &str,
    t: i64,
    clock: i64,
    out: &mut Vec<DeploymentCommand>,
) -> bool {
    let Some(clog) = log.campaigns.get(id) else { return false };
    if halt(log, clog, t, ctx.policy).is_some() {
        return true;
    }
    let epoch = epoch_start(log, clog, t, ctx.policy);
    let Some((wave, gate)) = failed_wave(log, clog, epoch, clock, ctx.policy) else { return false };
    let Some(remediation) = clog.remediation.clone() else { return false };
    let in_flight: Vec<String> = clog
        .waves
        .values()
        .flat_map(|w| &w.deploys)
        .filter(|(_, d)| {
            log.commands.get(*d).is_some_and(|c| {
                let grace = ctx.policy.lane(c.emergency).grace_ms();
                log.result(c, clock, grace, ctx.policy.shadow_runtime_ms()).is_none()
            })
        })
        .map(|(a, _)| a.clone())
        .collect();
    let pid = ctx.issuer.pause_id(id, clog.pauses.len() + 1);
    let ring = clog.waves.get(&wave).map_or(Ring::Canary, |w| w.ring);
    let failed: Vec<String> = gate.failed.iter().map(|(a, s)| format!("{a} {s:?}")).collect();
    let campaign = ctx.campaigns.get(id);
    let auto = ctx
        .policy
        .auto_resume_after_minutes
        .map_or(String::new(), |m| format!(" The policy resumes it by itself after {m} minutes."));
    let reason = format!(
        "halted {}: wave {wave} ({}) has {} failures in {} (it needed {} successes): {}. \
         Do not start this campaign's commands that have not started{}. To resume, report \
         outcome RESUMED for command {pid}.{auto}",
        remediation_name(&remediation),
        ring_symbol(ring),
        gate.failed.len(),
        gate.size,
        gate.needed,
        failed.join(", "),
        if in_flight.is_empty() { String::new() } else { format!(" ({})", in_flight.join(", ")) },
    );
    let valid = Slot { start: t, end: t.saturating_add(ctx.policy.pause_valid_ms()) };
    let deadline = campaign.map_or(valid.end, |c| i64::from(c.earliest_due()) * 86_400_000);
    let cmd = build(
        &ctx.issuer,
        Draft {
            id: pid,
            action: CommandAction::Pause,
            campaign: id,
            remediation: &remediation,
            wave,
            ring,
            targets: in_flight,
            slot: valid,
            deadline,
            rationale: Vec::new(),
            predicted_failure: 0.0,
            issued_at: t,
            plan_reason: reason,
            emergency: campaign.is_some_and(Campaign::emergency),
            rollback_of: None,
        },
    );
    issue(log, cmd, out);
    true
}

/// `2026-02-03 01:00 UTC`.
fn utc(ms: i64) -> String {
    chrono::DateTime::from_timestamp_millis(ms)
        .map(|t| t.format("%Y-%m-%d %H:%M UTC").to_string())
        .unwrap_or_default()
}
