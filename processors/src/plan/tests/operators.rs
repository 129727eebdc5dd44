//! Operator overrides (accept risk, false positive, force patch, withdraw) and learned
//! failure models acting on the plan.

use super::*;
use crate::learn::failure::{features, FAILURE_MODEL};
use crate::learn::{Ftrl, FtrlParams};

fn override_(id: &str, action: OverrideAction, vuln: &str, expires_at: Option<i64>) -> Event {
    Event::OperatorOverride(OperatorOverride {
        override_id: id.into(),
        action,
        vulnerability_id: Some(vuln.into()),
        asset_id: None,
        package: None,
        model: None,
        model_version: None,
        expires_at,
        approver: "secops-lead".into(),
        reason: "change board".into(),
        created_at: T0,
    })
}

fn one_asset() -> (AssetTelemetry, Event) {
    let a = asset("dev-1", Environment::Development, Criticality::Low);
    let e = Event::Exposure(exposure(&a, "CVE-2026-1", OPENSSL, 500.0));
    (a, e)
}

#[test]
fn accepted_risk_holds_the_plan_until_it_expires_and_a_withdrawal_releases_it() {
    let (a, e) = one_asset();
    let mut p = PlanProcessor::new();
    let accept = override_("ovr-1", OverrideAction::AcceptRisk, "CVE-2026-1", Some(T0 + 2 * DAY));
    assert!(feed(&mut p, vec![accept, Event::AssetTelemetry(a), e]).is_empty());
    assert!(tick(&mut p, T0 + DAY).is_empty(), "accepted");
    assert_eq!(targets(&tick(&mut p, T0 + 2 * DAY), CommandAction::Deploy), ["dev-1"]);

    let (a, e) = one_asset();
    let mut q = PlanProcessor::new();
    let fp = override_("ovr-2", OverrideAction::FalsePositive, "CVE-2026-1", None);
    assert!(feed(&mut q, vec![Event::AssetTelemetry(a), fp, e]).is_empty());
    assert!(tick(&mut q, T0 + 30 * DAY).is_empty(), "a false positive is never planned");
    let withdraw = override_("ovr-2", OverrideAction::Withdraw, "CVE-2026-1", None);
    assert_eq!(targets(&feed(&mut q, vec![withdraw]), CommandAction::Deploy), ["dev-1"]);
}

#[test]
fn a_forced_patch_beats_an_exception_and_takes_the_emergency_lane() {
    let a = asset("dev-1", Environment::Development, Criticality::Low);
    let mut e = exposure(&a, "CVE-2026-1", OPENSSL, 100.0);
    e.accepted_until = Some((T0 / DAY) as i32 + 30);
    let mut p = PlanProcessor::new();
    assert!(feed(&mut p, vec![Event::AssetTelemetry(a), Event::Exposure(e)]).is_empty());
    let force = override_("ovr-3", OverrideAction::ForcePatch, "CVE-2026-1", None);
    let issued = feed(&mut p, vec![force]);
    assert_eq!(targets(&issued, CommandAction::Deploy), ["dev-1"]);
    assert!(issued[0].emergency);
}

#[test]
fn a_published_failure_model_replaces_the_prior() {
    let (a, e) = one_asset();
    let mut ftrl = Ftrl::new(FtrlParams { bits: 16, l1: 0.1, ..FtrlParams::default() });
    let ctx = PatchContext {
        ecosystem: OPENSSL.0,
        package: OPENSSL.1,
        installed_version: "3.0.1",
        target_version: Some(OPENSSL.2),
        os_family: "debian",
        os_version: "12",
        environment: Environment::Development,
    };
    for _ in 0..300 {
        ftrl.update(&features(&ctx), true); // this patch always failed here
    }
    let mut p = PlanProcessor::new();
    let model = Event::ModelSnapshot(ftrl.snapshot(FAILURE_MODEL, 3, T0));
    let issued = feed(&mut p, vec![model, Event::AssetTelemetry(a), e]);
    assert_eq!(issued[0].model_version, "patch_failure-v3");
    assert!((issued[0].predicted_failure - predict::MAX_P).abs() < 1e-6);
    // An older version read later (a replay of the models topic) does not win.
    let old = Event::ModelSnapshot(Ftrl::new(FtrlParams::default()).snapshot(FAILURE_MODEL, 2, T0));
    feed(&mut p, vec![old]);
    assert_eq!(p.failure_version, 3);
}
