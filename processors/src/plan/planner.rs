//! One planning pass over a set of campaigns at planning instant `t`, judging timeouts at
//! `clock`: roll back failed assets, halt campaigns whose wave failed, then let each running
//! campaign take late joiners into its open wave or open its next wave.
//!
//! Invariants:
//! - campaigns are served in the order given (priority order), so under a shared cap the most
//!   urgent campaign gets capacity first;
//! - every command is recorded in the log and counted in the ledger the moment it is issued, so
//!   later decisions of the same pass see it (the ledger is built from the log by the pass's
//!   first decision that may issue; passes that cannot issue never build it);
//! - each command's slot is its asset's maintenance window, or for the emergency lane an
//!   emergency slot when the window is too far away ([`super::emergency`]);
//! - a halted campaign issues nothing but rollbacks until it is resumed;
//! - a wave opens only after the previous wave of its campaign passed and soaked (or after a
//!   resume, which retries the halted wave's ring), and a first wave drawn from production
//!   waits for the settle time (a non-production canary is safe whichever asset arrives first;
//!   a production one is chosen once the campaign's production assets are known).

use super::campaign::{Campaign, Campaigns, Member};
use super::commands::{build, rationale, remediation_name, Draft, Issuer};
use super::constraints::{LazyLedger, Ledger, Span};
use super::emergency::{describe_planned, plan_slot, Planned};
use super::fleet::{AssetInfo, Fleet};
use super::log::{CampaignLog, Log, Result_, WaveLog};
use super::policy::PlanPolicy;
use super::predict::{FailurePredictor, PatchContext};
use super::predictions::Predictions;
use super::promotion::{epoch_start, evaluate, passed_waves, Verdict};
use super::recovery;
use super::rings::{capacity, order_key, ring_for, tier, tier_name};
use crate::events::{CommandAction, DeploymentCommand, Ring};
use crate::sign::ring_symbol;
use std::collections::{BTreeMap, BTreeSet, HashMap};

/// What a pass reads.
#[derive(Debug, Clone, Copy)]
pub struct Ctx<'a> {
    pub policy: &'a PlanPolicy,
    pub predictor: &'a dyn FailurePredictor,
    pub fleet: &'a Fleet,
    pub campaigns: &'a Campaigns,
    pub issuer: Issuer<'a>,
}

/// A planning pass over `scope` (campaign ids in priority order).
pub fn pass(
    ctx: &Ctx<'_>,
    log: &mut Log,
    predictions: &mut Predictions,
    scope: &[String],
    t: i64,
    clock: i64,
    out: &mut Vec<DeploymentCommand>,
) {
    let mut scratch = Scratch { ledger: LazyLedger::default(), predictions };
    for id in scope {
        recovery::rollbacks(ctx, log, &mut scratch.ledger, id, t, clock, out);
    }
    for id in scope {
        if !recovery::halted(ctx, log, id, t, clock, out) {
            advance(ctx, log, &mut scratch, id, t, clock, out);
        }
    }
}

/// What a pass carries besides the log: its ledger and the kept predictions.
struct Scratch<'a> {
    ledger: LazyLedger,
    predictions: &'a mut Predictions,
}

pub(super) fn issue(log: &mut Log, c: DeploymentCommand, out: &mut Vec<DeploymentCommand>) {
    log.record(&c);
    out.push(c);
}

/// Late joiners into the open wave, or the next wave once the last one passed and soaked.
fn advance(
    ctx: &Ctx<'_>,
    log: &mut Log,
    scratch: &mut Scratch<'_>,
    id: &str,
    t: i64,
    clock: i64,
    out: &mut Vec<DeploymentCommand>,
) {
    let Some(campaign) = ctx.campaigns.get(id) else { return };
    let emergency = campaign.emergency();
    let lane = ctx.policy.lane(emergency);
    let empty = CampaignLog::default();
    let clog = log.campaigns.get(id).unwrap_or(&empty);
    let epoch = epoch_start(log, clog, t, ctx.policy);
    let last = clog.waves.iter().next_back().map(|(n, w)| (*n, w.clone()));
    let prev_size = |n: i32| clog.waves.get(&(n - 1)).map_or(0, |w| w.deploys.len());
    let wave = match &last {
        None => Wave::open(1, 0, passed_waves(log, clog, clock, ctx.policy), true, emergency),
        Some((n, w)) if w.opened_at < epoch => {
            let passed = passed_waves(log, clog, clock, ctx.policy);
            Wave::open(n + 1, w.deploys.len(), passed, false, emergency)
        }
        Some((n, w)) => {
            let gate = evaluate(log, w, clock, ctx.policy);
            match gate.verdict {
                Verdict::Running if !gate.reported && t < w.opened_at + lane.settle_ms() => {
                    Wave::join(*n, w.clone(), prev_size(*n), emergency)
                }
                Verdict::Passed { at } if t >= at.saturating_add(lane.soak_ms()) => Wave::open(
                    n + 1,
                    w.deploys.len(),
                    passed_waves(log, clog, clock, ctx.policy),
                    false,
                    emergency,
                ),
                _ => return,
            }
        }
    };
    if let Some(open) = &wave.joining {
        // A wave is never larger than its capacity at the lowest predicted failure: a full
        // wave takes nobody, so skip predicting for every member.
        let most = capacity(wave.ring, 0.0, wave.previous, campaign.members.len(), ctx.policy);
        if open.deploys.len() >= most {
            return;
        }
    }
    let candidates = pending(ctx, log, scratch.predictions, campaign, epoch, t, clock);
    fill(ctx, log, &mut scratch.ledger, campaign, wave, candidates, t, clock, out);
}

/// The wave being filled.
struct Wave {
    number: i32,
    ring: Ring,
    previous: usize,
    first: bool,
    /// Members already in it (joining an open wave).
    joining: Option<WaveLog>,
    /// The campaign's lane, computed once per pass (it scans every exposure).
    emergency: bool,
}

impl Wave {
    fn open(number: i32, previous: usize, passed: usize, first: bool, emergency: bool) -> Wave {
        Wave { number, ring: ring_for(passed), previous, first, joining: None, emergency }
    }
    fn join(number: i32, w: WaveLog, previous: usize, emergency: bool) -> Wave {
        Wave { number, ring: w.ring, previous, first: false, joining: Some(w), emergency }
    }
}

/// A member that may get a `DEPLOY` now.
struct Candidate<'a> {
    asset: &'a str,
    member: &'a Member,
    info: &'a AssetInfo,
    attempt: usize,
    p: f32,
}

/// Members with something to plan, known telemetry, and no `DEPLOY` that succeeded, is running,
/// or failed in the current epoch (those wait for the halt to be resolved).
fn pending<'a>(
    ctx: &Ctx<'a>,
    log: &Log,
    predictions: &mut Predictions,
    campaign: &'a Campaign,
    epoch: i64,
    t: i64,
    clock: i64,
) -> Vec<Candidate<'a>> {
    let clog = log.campaigns.get(&campaign.id);
    let mut out = Vec::new();
    for (asset, member) in &campaign.members {
        let Some(top) = member.plannable(t).max_by(|a, b| a.risk.total_cmp(&b.risk)) else {
            continue;
        };
        let Some(info) = ctx.fleet.get(asset).filter(|i| !i.decommissioned) else { continue };
        let attempts = clog.and_then(|c| c.deploys.get(asset));
        if let Some(latest) = attempts.and_then(|a| a.last()).and_then(|d| log.commands.get(d)) {
            let grace = ctx.policy.lane(latest.emergency).grace_ms();
            let result = log.result(latest, clock, grace, ctx.policy.shadow_runtime_ms());
            let opened =
                clog.and_then(|c| c.waves.get(&latest.wave)).map_or(i64::MIN, |w| w.opened_at);
            if !(matches!(result, Some(Result_::Failed { .. })) && opened < epoch) {
                continue;
            }
        }
        let context = PatchContext {
            ecosystem: &campaign.remediation.ecosystem,
            package: &campaign.remediation.package,
            installed_version: &top.installed_version,
            target_version: campaign.remediation.target_version.as_deref(),
            os_family: &info.os_family,
            os_version: &info.os_version,
            environment: info.environment,
        };
        let p = predictions.get(ctx.predictor, &campaign.id, asset, &context);
        out.push(Candidate { asset, member, info, attempt: attempts.map_or(0, Vec::len) + 1, p });
    }
    out
}

/// Fills `wave` from the lowest tier that has a schedulable candidate.
#[allow(clippy::too_many_arguments)]
fn fill(
    ctx: &Ctx<'_>,
    log: &mut Log,
    ledger: &mut LazyLedger,
    campaign: &Campaign,
    wave: Wave,
    candidates: Vec<Candidate<'_>>,
    t: i64,
    clock: i64,
    out: &mut Vec<DeploymentCommand>,
) {
    let lane = ctx.policy.lane(wave.emergency);
    let mut tiers: BTreeMap<u8, Vec<Candidate<'_>>> = BTreeMap::new();
    for c in candidates {
        tiers.entry(tier(c.info.environment)).or_default().push(c);
    }
    let fixed_tier = wave.joining.as_ref().and_then(|w| {
        w.deploys.keys().next().and_then(|a| ctx.fleet.get(a)).map(|i| tier(i.environment))
    });
    let mut in_wave: HashMap<String, usize> = HashMap::new();
    let mut size = 0;
    for a in wave.joining.iter().flat_map(|w| w.deploys.keys()) {
        size += 1;
        if let Some(g) = ctx.fleet.get(a).and_then(|i| i.ha_group.clone()) {
            *in_wave.entry(g).or_default() += 1;
        }
    }
    for (tier_no, mut group) in tiers {
        if fixed_tier.is_some_and(|f| f != tier_no) {
            continue;
        }
        if wave.first && tier_no == 2 && t < campaign.first_seen.saturating_add(lane.settle_ms()) {
            return; // a production canary is chosen from the whole campaign, not the first arrival
        }
        let p = group.iter().map(|c| c.p).fold(0.0f32, f32::max);
        let cap = capacity(wave.ring, p, wave.previous, campaign.members.len(), ctx.policy);
        if size >= cap {
            return;
        }
        group.sort_by_cached_key(|c| order_key(c.info.criticality, &campaign.id, c.asset));
        let ledger = ledger.get(log, ctx.fleet, clock, ctx.policy);
        let mut blocked = false;
        let mut issued = 0;
        for c in &group {
            if size >= cap {
                break;
            }
            if !ledger.free(c.asset) {
                blocked = true;
                continue;
            }
            let window = c.info.window.as_ref();
            let Ok(planned) = plan_slot(window, t, ctx.policy, wave.emergency) else {
                continue;
            };
            let span = Span::of_slot(planned.slot, lane.grace_ms());
            if ledger.admits(c.asset, c.info, span, ctx.fleet, ctx.policy, &in_wave).is_err() {
                blocked = true;
                continue;
            }
            let cmd = deploy(ctx, campaign, &wave, c, planned, cap, p, ledger, t);
            ledger.take(&cmd.command_id, c.asset, Some(c.info), span);
            if let Some(g) = &c.info.ha_group {
                *in_wave.entry(g.clone()).or_default() += 1;
            }
            size += 1;
            issued += 1;
            issue(log, cmd, out);
        }
        if issued > 0 || blocked || fixed_tier.is_some() {
            return; // keep ring order: wait for this tier rather than skip it
        }
    }
}

/// The `DEPLOY` of one candidate.
#[allow(clippy::too_many_arguments)]
fn deploy(
    ctx: &Ctx<'_>,
    campaign: &Campaign,
    wave: &Wave,
    c: &Candidate<'_>,
    planned: Planned,
    cap: usize,
    p: f32,
    ledger: &Ledger,
    t: i64,
) -> DeploymentCommand {
    let slot = planned.slot;
    let span = Span::of_slot(slot, ctx.policy.lane(wave.emergency).grace_ms());
    let (rationale, deadline) = rationale(c.asset, Some(c.member), t, slot.end);
    let vulns: BTreeSet<&str> = campaign
        .members
        .values()
        .flat_map(|m| m.exposures.values().map(|e| e.vulnerability_id.as_str()))
        .collect();
    let ring_policy =
        if wave.ring == Ring::Canary { &ctx.policy.canary } else { &ctx.policy.pilot };
    let sizing = match wave.ring {
        Ring::Broad => format!("{}x the previous wave, at least a pilot", ctx.policy.broad_growth),
        _ => format!(
            "{} budget {} expected failures, at most {}",
            ring_symbol(wave.ring).to_lowercase(),
            ring_policy.failure_budget,
            ring_policy.max_assets
        ),
    };
    let (fleet_now, fleet_cap) = ledger.fleet_load(span);
    let service =
        c.info.business_service.as_ref().map_or(String::new(), |s| {
            format!(", service {s} {}", ledger.service_load(s, span) + 1)
        });
    let lane = if wave.emergency { " (emergency lane: KEV or SSVC ACT)" } else { "" };
    let attempt =
        if c.attempt > 1 { format!(" (retry {} after resume)", c.attempt) } else { String::new() };
    let plan_reason = format!(
        "{} wave {} of {}{lane}: {} assets, {} vulnerabilities, max risk {:.1}. The wave takes \
         up to {cap} {} assets (predicted failure {p:.3}, {sizing}), lowest criticality first{attempt}. \
         {}. Overlapping its slot, with this command: fleet {}/{fleet_cap}{service}",
        ring_symbol(wave.ring),
        wave.number,
        remediation_name(&campaign.remediation),
        campaign.members.len(),
        vulns.len(),
        campaign.max_risk(),
        tier_name(tier(c.info.environment)),
        describe_planned(c.info.window.as_ref(), planned, t, ctx.policy),
        fleet_now + 1,
    );
    build(
        &ctx.issuer,
        Draft {
            id: ctx.issuer.deploy_id(&campaign.id, c.asset, c.attempt),
            action: CommandAction::Deploy,
            campaign: &campaign.id,
            remediation: &campaign.remediation,
            wave: wave.number,
            ring: wave.ring,
            targets: vec![c.asset.to_string()],
            slot,
            deadline,
            rationale,
            predicted_failure: c.p,
            issued_at: t,
            plan_reason,
            emergency: wave.emergency,
            rollback_of: None,
        },
    )
}
