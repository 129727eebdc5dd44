//! Tests of the plan processor: scenarios (promotion, halts, rollbacks, resumes, shadow mode,
//! the decision log, replays) and property tests of the constraints over random fleets.

mod operators;
mod properties;
mod scenarios;

use super::*;
use crate::events::*;

/// 2026-01-30 00:00 UTC, a Friday.
pub const T0: i64 = 1_769_731_200_000;
pub const MINUTE: i64 = 60_000;
pub const HOUR: i64 = 60 * MINUTE;
pub const DAY: i64 = 24 * HOUR;

pub const OPENSSL: (&str, &str, &str) = ("Debian", "openssl", "3.0.2");
pub const NGINX: (&str, &str, &str) = ("Debian", "nginx", "1.25.4");

pub fn asset(id: &str, environment: Environment, criticality: Criticality) -> AssetTelemetry {
    AssetTelemetry {
        environment,
        criticality,
        internet_exposed: false,
        business_service: None,
        ..crate::fixtures::asset(id, T0)
    }
}

pub fn exposure(a: &AssetTelemetry, vuln: &str, pkg: (&str, &str, &str), risk: f32) -> Exposure {
    Exposure {
        exposure_id: format!("exp-{}-{vuln}-{}", a.asset_id, pkg.1),
        asset_id: a.asset_id.clone(),
        vulnerability_id: vuln.into(),
        aliases: vec![],
        ecosystem: pkg.0.into(),
        package: pkg.1.into(),
        installed_version: "1.0.0".into(),
        fixed_version: Some(pkg.2.into()),
        sources: vec!["trivy".into()],
        status: ExposureStatus::Open,
        close_reason: None,
        risk,
        likelihood: 0.1,
        impact: 0.5,
        contributions: vec![],
        ssvc_decision: SsvcDecision::Attend,
        due_date: (T0 / DAY) as i32 + 30,
        lane: Lane::Standard,
        kev: false,
        epss: Some(0.1),
        cvss: Some(7.5),
        environment: a.environment,
        criticality: a.criticality,
        internet_exposed: false,
        business_service: a.business_service.clone(),
        ha_group: a.ha_group.clone(),
        model_version: "m1".into(),
        policy_version: "p1".into(),
        updated_at: T0,
        exception_id: None,
        accepted_until: None,
    }
}

pub fn outcome(c: &DeploymentCommand, status: OutcomeStatus, at: i64) -> Event {
    Event::DeploymentOutcome(DeploymentOutcome {
        command_id: c.command_id.clone(),
        asset_id: c.target_assets.first().cloned().unwrap_or_else(|| "operator".into()),
        status,
        started_at: at - MINUTE,
        finished_at: at,
        reboot: false,
        health_before: None,
        health_after: None,
        error: None,
        executor: "test".into(),
    })
}

/// A policy with room for small test fleets: half the fleet may be in flight.
pub fn roomy() -> PlanPolicy {
    let mut p = PlanPolicy::default();
    p.blast_radius.share = 0.5;
    p.service_cap.share = 1.0;
    p
}

/// Feeds events, returning the commands they produced.
pub fn feed(p: &mut PlanProcessor, events: Vec<Event>) -> Vec<DeploymentCommand> {
    let mut out = Vec::new();
    for e in events {
        p.process(e, &mut out).expect("process");
    }
    commands(out)
}

pub fn tick(p: &mut PlanProcessor, now: i64) -> Vec<DeploymentCommand> {
    let mut out = Vec::new();
    p.punctuate(now, &mut out);
    commands(out)
}

pub fn commands(events: Vec<Event>) -> Vec<DeploymentCommand> {
    events
        .into_iter()
        .filter_map(|e| match e {
            Event::DeploymentCommand(c) => Some(c),
            _ => None,
        })
        .collect()
}

pub fn targets(cs: &[DeploymentCommand], action: CommandAction) -> Vec<String> {
    let mut t: Vec<String> =
        cs.iter().filter(|c| c.action == action).flat_map(|c| c.target_assets.clone()).collect();
    t.sort();
    t
}
