//! Promotion, halts, rollbacks, resumes, timeouts, shadow mode, the decision log and replays.

use super::*;
use crate::sign::{verify_command, SignError, Signer};

/// dev, test, staging and four production assets of increasing criticality.
fn fleet() -> Vec<AssetTelemetry> {
    use Criticality::*;
    use Environment::*;
    vec![
        asset("dev-1", Development, Low),
        asset("tst-1", Test, Medium),
        asset("stg-1", Staging, Medium),
        asset("prd-1", Production, Low),
        asset("prd-2", Production, Medium),
        asset("prd-3", Production, High),
        asset("prd-4", Production, Critical),
    ]
}

fn start(p: &mut PlanProcessor, fleet: &[AssetTelemetry]) -> Vec<DeploymentCommand> {
    let mut events: Vec<Event> = fleet.iter().cloned().map(Event::AssetTelemetry).collect();
    events.extend(fleet.iter().map(|a| Event::Exposure(exposure(a, "CVE-2026-1", OPENSSL, 500.0))));
    feed(p, events)
}

fn succeed(p: &mut PlanProcessor, cs: &[DeploymentCommand], at: i64) -> Vec<DeploymentCommand> {
    feed(p, cs.iter().map(|c| outcome(c, OutcomeStatus::Succeeded, at)).collect())
}

#[test]
fn a_passing_canary_promotes_ring_by_ring() {
    let mut p = PlanProcessor::new().with_policy(roomy());
    let canary = start(&mut p, &fleet());
    assert_eq!(targets(&canary, CommandAction::Deploy), ["dev-1"], "10% of 7, non-production");
    assert_eq!((canary[0].wave, canary[0].ring), (1, Ring::Canary));
    assert!(canary[0].plan_reason.contains("CANARY wave 1"), "{}", canary[0].plan_reason);
    assert_eq!(canary[0].rationale[0].vulnerability_id, "CVE-2026-1");
    assert!((canary[0].predicted_failure - 0.07).abs() < 1e-6, "major upgrade of an OS package");
    assert!(succeed(&mut p, &canary, T0 + 30 * MINUTE).is_empty(), "soak first");
    assert!(tick(&mut p, T0 + 2 * HOUR).is_empty(), "soak lasts two hours after the pass");
    let pilot = tick(&mut p, T0 + 3 * HOUR);
    assert_eq!(targets(&pilot, CommandAction::Deploy), ["tst-1"]);
    assert_eq!((pilot[0].wave, pilot[0].ring), (2, Ring::Pilot));
    succeed(&mut p, &pilot, T0 + 3 * HOUR + 30 * MINUTE);
    let staging = tick(&mut p, T0 + 6 * HOUR);
    assert_eq!(targets(&staging, CommandAction::Deploy), ["stg-1"]);
    assert_eq!((staging[0].wave, staging[0].ring), (3, Ring::Broad));
    succeed(&mut p, &staging, T0 + 6 * HOUR + 30 * MINUTE);
    let broad = tick(&mut p, T0 + 9 * HOUR);
    assert_eq!(targets(&broad, CommandAction::Deploy), ["prd-1", "prd-2"], "lowest criticality");
    succeed(&mut p, &broad, T0 + 9 * HOUR + 30 * MINUTE);
    let last = tick(&mut p, T0 + 12 * HOUR);
    assert_eq!(targets(&last, CommandAction::Deploy), ["prd-3", "prd-4"]);
    assert!(last.iter().all(|c| c.wave == 5 && c.ring == Ring::Broad));
    succeed(&mut p, &last, T0 + 12 * HOUR + 30 * MINUTE);
    assert!(tick(&mut p, T0 + 20 * HOUR).is_empty(), "every asset is done");
}

#[test]
fn a_failing_canary_halts_rolls_back_and_waits_for_the_operator() {
    let mut policy = roomy();
    policy.canary.max_share = 0.5;
    let mut p = PlanProcessor::new().with_policy(policy);
    let canary = start(&mut p, &fleet());
    assert_eq!(targets(&canary, CommandAction::Deploy), ["dev-1", "tst-1"]);
    tick(&mut p, T0 + 10 * MINUTE);
    let failed = &canary[0];
    let after = feed(&mut p, vec![outcome(failed, OutcomeStatus::Failed, T0 + 20 * MINUTE)]);
    assert_eq!(targets(&after, CommandAction::Rollback), ["dev-1"]);
    let rollback = after.iter().find(|c| c.action == CommandAction::Rollback).expect("rollback");
    assert_eq!(rollback.rollback_of.as_deref(), Some(failed.command_id.as_str()));
    let pause = after.iter().find(|c| c.action == CommandAction::Pause).expect("pause");
    assert_eq!(pause.target_assets, ["tst-1"], "the canary still in flight must not start");
    assert!(pause.plan_reason.contains(&pause.command_id), "{}", pause.plan_reason);
    // The other canary succeeds; the campaign stays halted however long we wait, except for
    // the timeout of the rollback itself.
    succeed(&mut p, &canary[1..], T0 + 30 * MINUTE);
    succeed(&mut p, std::slice::from_ref(rollback), T0 + 40 * MINUTE);
    for h in [3, 10, 48, 24 * 30] {
        assert!(tick(&mut p, T0 + h * HOUR).is_empty(), "halted at +{h}h");
    }
    // The operator resumes: the failed canary is retried (a new attempt, a new id), still a
    // canary since no wave passed.
    let resumed = feed(&mut p, vec![outcome(pause, OutcomeStatus::Resumed, T0 + 31 * DAY)]);
    assert!(resumed.is_empty(), "the resume takes effect at its own time");
    let retry = tick(&mut p, T0 + 31 * DAY + MINUTE);
    assert_eq!(targets(&retry, CommandAction::Deploy), ["dev-1"]);
    assert_eq!((retry[0].wave, retry[0].ring), (2, Ring::Canary));
    assert_ne!(retry[0].command_id, failed.command_id);
    assert!(retry[0].plan_reason.contains("retry 2"), "{}", retry[0].plan_reason);
    // It passes: the pilot follows.
    succeed(&mut p, &retry, T0 + 31 * DAY + HOUR);
    let pilot = tick(&mut p, T0 + 31 * DAY + 4 * HOUR);
    assert_eq!(pilot.first().map(|c| c.ring), Some(Ring::Pilot));
}

#[test]
fn outcomes_that_never_arrive_time_out_as_failures() {
    let mut p = PlanProcessor::new().with_policy(roomy());
    let canary = start(&mut p, &fleet());
    let c = &canary[0];
    // The window of an asset without one is four hours; the grace four more.
    assert_eq!(c.not_after - c.not_before, 4 * HOUR);
    assert!(tick(&mut p, c.not_after + 4 * HOUR - 1).is_empty());
    let timed_out = tick(&mut p, c.not_after + 4 * HOUR);
    assert_eq!(targets(&timed_out, CommandAction::Rollback), ["dev-1"]);
    assert_eq!(timed_out.iter().filter(|c| c.action == CommandAction::Pause).count(), 1);
    assert!(tick(&mut p, c.not_after + 5 * HOUR).is_empty(), "one pause per halt");
}

#[test]
fn the_emergency_lane_shortens_waits_but_keeps_the_canary() {
    let mut p = PlanProcessor::new().with_policy(roomy());
    let mut events: Vec<Event> = fleet().into_iter().map(Event::AssetTelemetry).collect();
    for a in fleet() {
        let mut e = exposure(&a, "CVE-2026-9", OPENSSL, 950.0);
        e.kev = true;
        e.lane = Lane::Emergency;
        e.ssvc_decision = SsvcDecision::Act;
        events.push(Event::Exposure(e));
    }
    let canary = feed(&mut p, events);
    assert_eq!(targets(&canary, CommandAction::Deploy), ["dev-1"], "never skips the canary");
    assert!(canary[0].emergency);
    succeed(&mut p, &canary, T0 + 10 * MINUTE);
    assert!(tick(&mut p, T0 + 20 * MINUTE).is_empty());
    let pilot = tick(&mut p, T0 + 26 * MINUTE);
    assert_eq!(targets(&pilot, CommandAction::Deploy), ["tst-1"], "15 minutes of soak");
}

#[test]
fn a_production_only_campaign_settles_then_starts_with_its_least_critical_asset() {
    let fleet: Vec<_> = fleet().into_iter().filter(|a| a.asset_id.starts_with("prd")).collect();
    let mut p = PlanProcessor::new().with_policy(roomy());
    assert!(start(&mut p, &fleet).is_empty(), "the canary is chosen once the campaign settled");
    assert!(tick(&mut p, T0 + 9 * MINUTE).is_empty());
    let canary = tick(&mut p, T0 + 10 * MINUTE);
    assert_eq!(targets(&canary, CommandAction::Deploy), ["prd-1"]);
}

#[test]
fn ha_groups_and_assets_are_never_overcommitted() {
    use Criticality::*;
    let mut fleet: Vec<_> = (1..=8)
        .map(|i| {
            asset(&format!("prd-{i}"), Environment::Production, if i < 4 { Low } else { High })
        })
        .collect();
    for a in &mut fleet[1..3] {
        a.ha_group = Some("db".into());
    }
    let mut p = PlanProcessor::new().with_policy(roomy());
    start(&mut p, &fleet);
    let canary = tick(&mut p, T0 + 10 * MINUTE);
    assert_eq!(targets(&canary, CommandAction::Deploy).len(), 1);
    let first = canary[0].target_assets[0].clone();
    // A second campaign on the same asset waits until the first command is done.
    let nginx =
        feed(&mut p, vec![Event::Exposure(exposure(&fleet[0], "CVE-2026-2", NGINX, 900.0))]);
    assert!(nginx
        .iter()
        .all(|c| c.target_assets[0] != first || c.campaign_id == canary[0].campaign_id));
    succeed(&mut p, &canary, T0 + 20 * MINUTE);
    let pilot = tick(&mut p, T0 + 3 * HOUR);
    let openssl: Vec<_> =
        pilot.iter().filter(|c| c.campaign_id == canary[0].campaign_id).cloned().collect();
    let in_db =
        openssl.iter().filter(|c| ["prd-2", "prd-3"].contains(&c.target_assets[0].as_str()));
    assert!(
        in_db.count() <= 1,
        "never both members of the HA group: {:?}",
        targets(&openssl, CommandAction::Deploy)
    );
}

#[test]
fn replays_issue_byte_identical_commands() {
    let signer = Signer::from_seed(&[9; 32]);
    let run = |restore_first: bool| -> Vec<u8> {
        let mut p = PlanProcessor::new().with_policy(roomy()).with_signer(signer.clone());
        let mut all = start(&mut p, &fleet());
        all.extend(tick(&mut p, T0 + MINUTE));
        let canary = all.clone();
        all.extend(feed(&mut p, vec![outcome(&canary[0], OutcomeStatus::Succeeded, T0 + HOUR)]));
        if restore_first {
            // A restarted planner: inputs restored without planning, the decision log read back.
            let mut q = PlanProcessor::new().with_policy(roomy()).with_signer(signer.clone());
            let mut inputs: Vec<Event> = fleet().into_iter().map(Event::AssetTelemetry).collect();
            inputs.extend(
                fleet().iter().map(|a| Event::Exposure(exposure(a, "CVE-2026-1", OPENSSL, 500.0))),
            );
            inputs.push(outcome(&canary[0], OutcomeStatus::Succeeded, T0 + HOUR));
            for e in inputs {
                q.restore(e).expect("restore");
            }
            for c in &all {
                q.process(Event::DeploymentCommand(c.clone()), &mut Vec::new()).expect("log");
            }
            q.punctuate(T0 + MINUTE, &mut Vec::new());
            p = q;
        }
        all.extend(tick(&mut p, T0 + 4 * HOUR));
        all.extend(feed(
            &mut p,
            vec![outcome(&all[all.len() - 1], OutcomeStatus::Failed, T0 + 5 * HOUR)],
        ));
        all.extend(tick(&mut p, T0 + 20 * HOUR));
        serde_json::to_vec(&all).expect("json")
    };
    let first = run(false);
    assert_eq!(first, run(false), "same inputs, same bytes");
    assert_eq!(first, run(true), "a restart from the decision log issues the same commands");
    let cs: Vec<DeploymentCommand> = serde_json::from_slice(&first).expect("parse");
    assert!(cs.iter().any(|c| c.action == CommandAction::Rollback));
    for c in &cs {
        assert_eq!(verify_command(c, &signer.public_key(), c.not_before), Ok(()), "{c:?}");
    }
}

#[test]
fn shadow_mode_publishes_unsigned_plans_and_assumes_success() {
    let mut p = PlanProcessor::new()
        .with_policy(roomy())
        .with_signer(Signer::from_seed(&[1; 32]))
        .with_shadow(true);
    let canary = start(&mut p, &fleet());
    assert_eq!(targets(&canary, CommandAction::Deploy), ["dev-1"]);
    let c = &canary[0];
    assert!(c.shadow && c.signature.is_none() && c.command_id.starts_with("plan-"));
    let key = Signer::from_seed(&[1; 32]).public_key();
    assert!(matches!(verify_command(c, &key, T0), Err(SignError::Shadow(_))));
    // Nobody runs shadow plans: the canary counts as succeeded 30 minutes into its window.
    let pilot = tick(&mut p, c.not_before + 30 * MINUTE + 2 * HOUR);
    assert_eq!(targets(&pilot, CommandAction::Deploy), ["tst-1"]);
}

#[test]
fn the_decision_log_accepts_only_this_planners_commands() {
    let signer = Signer::from_seed(&[1; 32]);
    let mut live = PlanProcessor::new().with_policy(roomy()).with_signer(signer.clone());
    let canary = start(&mut live, &fleet());
    let mut forged = canary[0].clone();
    forged.target_assets = vec!["prd-4".into()];
    let mut q = PlanProcessor::new().with_signer(signer);
    assert!(matches!(
        q.process(Event::DeploymentCommand(forged), &mut Vec::new()),
        Err(ProcessError::Signature(SignError::Tampered(_)))
    ));
    let mut shadow = canary[0].clone();
    shadow.shadow = true;
    q.process(Event::DeploymentCommand(shadow), &mut Vec::new()).expect("ignored");
    assert!(q.log().commands.is_empty(), "a live planner ignores shadow plans");
    q.process(Event::DeploymentCommand(canary[0].clone()), &mut Vec::new()).expect("own");
    assert_eq!(q.log().commands.len(), 1);
}

#[test]
fn accepted_exposures_wait_until_their_exception_ends() {
    let a = asset("dev-1", Environment::Development, Criticality::Low);
    let mut e = exposure(&a, "CVE-2026-1", OPENSSL, 500.0);
    e.accepted_until = Some((T0 / DAY) as i32 + 2);
    let mut p = PlanProcessor::new();
    assert!(feed(&mut p, vec![Event::AssetTelemetry(a), Event::Exposure(e)]).is_empty());
    assert!(tick(&mut p, T0 + DAY).is_empty());
    assert_eq!(targets(&tick(&mut p, T0 + 2 * DAY), CommandAction::Deploy), ["dev-1"]);
}

#[test]
fn a_fix_confirmed_by_the_scanner_counts_as_success() {
    let mut p = PlanProcessor::new().with_policy(roomy());
    let canary = start(&mut p, &fleet());
    let mut closed = exposure(&fleet()[0], "CVE-2026-1", OPENSSL, 500.0);
    closed.status = ExposureStatus::Closed;
    closed.close_reason = Some("fixed".into());
    closed.updated_at = T0 + 40 * MINUTE;
    feed(&mut p, vec![Event::Exposure(closed)]);
    assert_eq!(p.outcome_of(&canary[0].command_id), Some(OutcomeStatus::Succeeded));
    assert_eq!(targets(&tick(&mut p, T0 + 3 * HOUR), CommandAction::Deploy), ["tst-1"]);
}

#[test]
fn only_the_owner_of_the_partition_plans() {
    let signer = Signer::from_seed(&[2; 32]);
    let mut owner = PlanProcessor::new().with_policy(roomy()).with_signer(signer.clone());
    let canary = start(&mut owner, &fleet());
    // Another instance reads the global tables (assets, the decision log) but no exposure or
    // outcome: it must issue nothing, not even rollbacks of commands it sees time out.
    let mut standby = PlanProcessor::new().with_policy(roomy()).with_signer(signer);
    let mut globals: Vec<Event> = fleet().into_iter().map(Event::AssetTelemetry).collect();
    globals.extend(canary.iter().cloned().map(Event::DeploymentCommand));
    assert!(feed(&mut standby, globals).is_empty());
    assert!(tick(&mut standby, T0 + 30 * DAY).is_empty());
    // The owner loses the partition: it stops planning too.
    owner.retain_partitioned(&|_| false);
    assert!(tick(&mut owner, T0 + 30 * DAY).is_empty());
    assert_eq!(owner.campaigns().len(), 0);
}

#[test]
fn a_kev_campaign_takes_an_emergency_slot_while_a_standard_one_waits_for_its_window() {
    // T0 is Friday 2026-01-30 00:00 UTC; both assets patch on Wednesdays 01:00-05:00 UTC.
    let wednesdays = MaintenanceWindow {
        time_zone: "UTC".into(),
        days: vec![3],
        start_minute: 60,
        duration_minutes: 240,
    };
    let mut urgent = asset("prd-1", Environment::Production, Criticality::Low);
    urgent.maintenance_window = Some(wednesdays.clone());
    let mut routine = asset("prd-2", Environment::Production, Criticality::Low);
    routine.maintenance_window = Some(wednesdays);
    let mut kev = exposure(&urgent, "CVE-2026-9", OPENSSL, 950.0);
    kev.kev = true;
    kev.lane = Lane::Emergency;
    let events = vec![
        Event::AssetTelemetry(urgent.clone()),
        Event::AssetTelemetry(routine.clone()),
        Event::Exposure(kev),
        Event::Exposure(exposure(&routine, "CVE-2026-2", NGINX, 300.0)),
    ];
    let mut p = PlanProcessor::new().with_policy(roomy());
    assert!(feed(&mut p, events).is_empty(), "production canaries settle first");
    let issued = tick(&mut p, T0 + 10 * MINUTE);
    let by_asset = |id: &str| issued.iter().find(|c| c.target_assets[0] == id).cloned();
    let c = by_asset("prd-1").expect("the KEV canary");
    assert_eq!(c.not_before, T0 + 10 * MINUTE, "tonight's emergency slot, 00:00-06:00 UTC");
    assert_eq!(c.not_after, T0 + 6 * HOUR);
    assert!(c.plan_reason.contains("emergency slot") && c.plan_reason.contains("5.0 days"));
    let c = by_asset("prd-2").expect("the standard canary");
    assert_eq!(c.not_before, T0 + 5 * DAY + HOUR, "Wednesday's window");
    assert!(!c.plan_reason.contains("emergency slot"));

    let mut off = roomy();
    off.emergency_changes.enabled = false;
    let mut p = PlanProcessor::new().with_policy(off);
    let mut kev = exposure(&urgent, "CVE-2026-9", OPENSSL, 950.0);
    kev.kev = true;
    kev.lane = Lane::Emergency;
    feed(&mut p, vec![Event::AssetTelemetry(urgent), Event::Exposure(kev)]);
    let issued = tick(&mut p, T0 + 10 * MINUTE);
    assert_eq!(issued[0].not_before, T0 + 5 * DAY + HOUR, "switched off: the window");
}
