use super::*;
use crate::sim::catalog::Catalog;
use crate::sim::run::signer;
use crate::sim::world::{DAY_MS, STEP_MS};
use patchline_processors::events::{Remediation, Ring};
use patchline_processors::sign::{sign_command, Signer};
use std::sync::Arc;

fn world() -> World {
    let catalog = Arc::new(Catalog::bundled(3).expect("catalog"));
    let mut w = World::new(catalog, 30, 14, 20_020, 3);
    w.initial();
    w
}

/// A signed `DEPLOY` fixing the first exposure, in `[from, to]`.
fn deploy(w: &World, id: &str, from: i64, to: i64, key: &Signer) -> DeploymentCommand {
    let x = &w.exposures[0];
    let mut c = DeploymentCommand {
        command_id: id.into(),
        action: CommandAction::Deploy,
        campaign_id: "cmp-1".into(),
        wave: 1,
        ring: Ring::Canary,
        remediation: Remediation {
            ecosystem: "vendor".into(),
            package: w.catalog.product_of(x.cve).name.clone(),
            target_version: Some(w.catalog.fixed_version(x.cve).to_string()),
            kb: None,
        },
        target_assets: vec![w.assets[x.asset as usize].telemetry.asset_id.clone()],
        not_before: from,
        not_after: to,
        deadline: to,
        rationale: Vec::new(),
        predicted_failure: 0.02,
        issued_at: w.start,
        policy_version: "test".into(),
        model_version: "test".into(),
        signature: None,
        plan_reason: String::new(),
        emergency: false,
        shadow: false,
        rollback_of: None,
    };
    sign_command(&mut c, key);
    c
}

#[test]
fn only_verified_commands_run_and_each_gets_one_outcome() {
    let mut w = world();
    let key = signer(3);
    let mut ex = Executor::new(key.public_key(), 3);
    let t = w.start;
    let forged = deploy(&w, "forged", t, t + DAY_MS, &Signer::from_seed(&[9; 32]));
    let mut unsigned = deploy(&w, "unsigned", t, t + DAY_MS, &key);
    unsigned.signature = None;
    let mut tampered = deploy(&w, "tampered", t, t + DAY_MS, &key);
    tampered.not_after += 1;
    let good = deploy(&w, "good", t + STEP_MS, t + DAY_MS, &key);
    for c in [forged, unsigned, tampered, good.clone(), good] {
        ex.receive(&w, c, t);
    }
    assert_eq!((ex.stats.received, ex.stats.rejected), (4, 3), "duplicates are dropped");
    assert_eq!(ex.pending(), 1);
    let outcomes = ex.complete(&mut w, t + STEP_MS);
    assert!(outcomes.is_empty(), "it has not finished yet");
    let outcomes = ex.complete(&mut w, t + DAY_MS);
    assert_eq!(outcomes.len(), 1);
    let o = &outcomes[0];
    assert_eq!(o.command_id, "good");
    assert!(o.started_at >= t + STEP_MS && o.started_at <= t + DAY_MS);
    let fixed = w.exposures[0].fixed_at;
    match o.status {
        OutcomeStatus::Succeeded => assert_eq!(fixed, Some(o.finished_at)),
        OutcomeStatus::Failed => assert_eq!(fixed, None),
        other => panic!("unexpected {other:?}"),
    }
    assert_eq!(ex.records.len(), 1);
}

#[test]
fn late_commands_time_out_and_a_pause_cancels_and_is_resumed() {
    let mut w = world();
    let key = signer(3);
    let mut ex = Executor::new(key.public_key(), 3);
    let t = w.start;
    // The asset is busy with the first job, so the second cannot start in its short window.
    ex.receive(&w, deploy(&w, "first", t, t + DAY_MS, &key), t);
    ex.receive(&w, deploy(&w, "second", t, t + 60_000, &key), t);
    ex.receive(&w, deploy(&w, "later", t + DAY_MS, t + 2 * DAY_MS, &key), t);
    let mut pause = deploy(&w, "pause", t, t + 30 * DAY_MS, &key);
    pause.action = CommandAction::Pause;
    pause.emergency = true;
    sign_command(&mut pause, &key);
    ex.receive(&w, pause, t + STEP_MS);
    let outcomes = ex.complete(&mut w, t + 3 * DAY_MS);
    let status = |id: &str| outcomes.iter().find(|o| o.command_id == id).map(|o| o.status);
    assert_eq!(status("second"), Some(OutcomeStatus::TimedOut));
    assert_eq!(status("later"), Some(OutcomeStatus::TimedOut), "cancelled by the pause");
    assert!(matches!(status("first"), Some(OutcomeStatus::Succeeded | OutcomeStatus::Failed)));
    let resumed = outcomes.iter().find(|o| o.status == OutcomeStatus::Resumed).expect("resume");
    assert_eq!(resumed.command_id, "pause");
    assert_eq!(resumed.finished_at, t + STEP_MS + RESUME_EMERGENCY_MS);
    assert_eq!((ex.stats.cancelled, ex.stats.timed_out, ex.stats.resumes), (1, 1, 1));
    assert!(outcomes.windows(2).all(|p| p[0].finished_at <= p[1].finished_at));
}
