//! A plan for a small fleet, as `docs/EXECUTORS.md` shows it: eight assets in three time zones,
//! one remediation fixing two vulnerabilities (one in CISA KEV), a change freeze, an HA pair.
//! A simulated executor runs each command 20 minutes into its window and reports success; the
//! punctuator runs every 15 minutes. Prints the waves as a Markdown table, the reason of each
//! command, and one signed command and one outcome as JSON.
//!
//! Invariant: the output depends only on this file (fixed clock, fixed example key), so the
//! documentation can quote it verbatim. The key is derived from a published seed: it is an
//! example, never a key to sign real commands with.
//!
//! Run: `cargo run -p patchline-processors --example plan_small_fleet`

use patchline_processors::events::*;
use patchline_processors::plan::{Freeze, PlanPolicy};
use patchline_processors::sign::{verify_command, Signer};
use patchline_processors::{PlanProcessor, Processor};

/// Monday 2026-02-02 09:00 UTC.
const T0: i64 = 1_770_022_800_000;
const MINUTE: i64 = 60_000;
const DAY: i64 = 1_440 * MINUTE;

fn asset(
    id: &str,
    env: Environment,
    crit: Criticality,
    tz: &str,
    days: &[i32],
    start: i32,
) -> AssetTelemetry {
    AssetTelemetry {
        asset_id: id.into(),
        hostname: id.into(),
        os_family: "debian".into(),
        os_version: "12".into(),
        environment: env,
        criticality: crit,
        internet_exposed: id.starts_with("web"),
        business_service: Some("payments".into()),
        owner: Some("team-payments".into()),
        ha_group: id.starts_with("db").then(|| "payments-db".into()),
        maintenance_window: Some(MaintenanceWindow {
            time_zone: tz.into(),
            days: days.to_vec(),
            start_minute: start,
            duration_minutes: 180,
        }),
        health: Health { status: HealthStatus::Healthy, cpu_load: None, error_rate: None },
        decommissioned: false,
        last_seen: T0,
    }
}

fn exposure(a: &AssetTelemetry, cve: &str, kev: bool, risk: f32) -> Exposure {
    Exposure {
        exposure_id: format!("exp-{}-{cve}", a.asset_id),
        asset_id: a.asset_id.clone(),
        vulnerability_id: cve.into(),
        aliases: vec![],
        ecosystem: "Debian".into(),
        package: "openssl".into(),
        installed_version: "3.0.13-1~deb12u1".into(),
        fixed_version: Some("3.0.15-1~deb12u1".into()),
        sources: vec!["trivy".into()],
        status: ExposureStatus::Open,
        close_reason: None,
        risk,
        likelihood: if kev { 0.9 } else { 0.2 },
        impact: 0.7,
        contributions: vec![],
        ssvc_decision: if kev { SsvcDecision::Act } else { SsvcDecision::Attend },
        due_date: ((T0 / DAY) + if kev { 14 } else { 30 }) as i32,
        lane: if kev { Lane::Emergency } else { Lane::Standard },
        kev,
        epss: Some(if kev { 0.94 } else { 0.12 }),
        cvss: Some(if kev { 9.8 } else { 7.5 }),
        environment: a.environment,
        criticality: a.criticality,
        internet_exposed: a.internet_exposed,
        business_service: a.business_service.clone(),
        ha_group: a.ha_group.clone(),
        model_version: "exploit-likelihood@1".into(),
        policy_version: "policy-2026.01".into(),
        updated_at: T0,
        exception_id: None,
        accepted_until: None,
    }
}

fn main() {
    use Criticality::*;
    use Environment::*;
    let weekdays = [1, 2, 3, 4, 5];
    let fleet = vec![
        asset("dev-api-1", Development, Low, "Europe/Berlin", &weekdays, 600),
        asset("test-api-1", Test, Medium, "Europe/Berlin", &weekdays, 600),
        asset("stg-api-1", Staging, Medium, "America/New_York", &weekdays, 1_200),
        asset("app-1", Production, Medium, "Europe/Berlin", &[2, 4], 120),
        asset("web-1", Production, High, "America/New_York", &[2, 3, 4], 60),
        asset("web-2", Production, High, "Asia/Tokyo", &[3, 4, 5], 120),
        asset("db-1", Production, Critical, "Europe/Berlin", &[6, 7], 60),
        asset("db-2", Production, Critical, "Europe/Berlin", &[6, 7], 60),
    ];
    let mut policy = PlanPolicy {
        // Quarter close: no change from Thursday 00:00 to Saturday 00:00 UTC.
        freezes: vec![Freeze::new(
            T0 + 3 * DAY - 540 * MINUTE,
            T0 + 5 * DAY - 540 * MINUTE,
            "quarter close",
        )],
        ..PlanPolicy::default()
    };
    policy.blast_radius.share = 0.25;
    policy.service_cap.share = 0.5;
    let signer = Signer::from_seed(&[7; 32]);
    let mut plan = PlanProcessor::new().with_policy(policy).with_signer(signer.clone());
    let mut events: Vec<Event> = fleet.iter().cloned().map(Event::AssetTelemetry).collect();
    for a in &fleet {
        events.push(Event::Exposure(exposure(a, "CVE-2026-11111", true, 880.0)));
        events.push(Event::Exposure(exposure(a, "CVE-2026-22222", false, 430.0)));
    }
    let mut issued: Vec<DeploymentCommand> = Vec::new();
    let mut outcomes: Vec<(i64, DeploymentOutcome)> = Vec::new();
    let take = |out: Vec<Event>,
                issued: &mut Vec<DeploymentCommand>,
                outcomes: &mut Vec<(i64, DeploymentOutcome)>| {
        for e in out {
            if let Event::DeploymentCommand(c) = e {
                let ran = c.not_before + 20 * MINUTE;
                outcomes.push((
                    ran,
                    DeploymentOutcome {
                        command_id: c.command_id.clone(),
                        asset_id: c.target_assets[0].clone(),
                        status: OutcomeStatus::Succeeded,
                        started_at: c.not_before + 5 * MINUTE,
                        finished_at: ran,
                        reboot: false,
                        health_before: Some(HealthStatus::Healthy),
                        health_after: Some(HealthStatus::Healthy),
                        error: None,
                        executor: "awx".into(),
                    },
                ));
                issued.push(c);
            }
        }
    };
    for e in events {
        let mut out = Vec::new();
        if let Err(err) = plan.process(e, &mut out) {
            eprintln!("rejected: {err}");
        }
        take(out, &mut issued, &mut outcomes);
    }
    let mut now = T0;
    while now < T0 + 14 * DAY {
        now += 15 * MINUTE;
        outcomes.sort_by_key(|(at, _)| *at);
        while outcomes.first().is_some_and(|(at, _)| *at <= now) {
            let (_, o) = outcomes.remove(0);
            let mut out = Vec::new();
            if let Err(err) = plan.process(Event::DeploymentOutcome(o), &mut out) {
                eprintln!("rejected: {err}");
            }
            take(out, &mut issued, &mut outcomes);
        }
        let mut out = Vec::new();
        plan.punctuate(now, &mut out);
        take(out, &mut issued, &mut outcomes);
    }
    println!("| wave | ring | asset | environment | issued (UTC) | window (asset's local time) | p(fail) |");
    println!("|---|---|---|---|---|---|---|");
    for c in &issued {
        let a = fleet.iter().find(|a| a.asset_id == c.target_assets[0]);
        let env = a.map(|a| format!("{:?} {:?}", a.environment, a.criticality).to_lowercase());
        let window = c
            .plan_reason
            .split(". ")
            .find(|s| s.starts_with("window") || s.starts_with("emergency slot"))
            .unwrap_or("");
        println!(
            "| {} | {:?} | {} | {} | {} | {} | {:.3} |",
            c.wave,
            c.ring,
            c.target_assets.join(","),
            env.unwrap_or_default(),
            utc(c.issued_at),
            window.trim_start_matches("window ").split(" (outside").next().unwrap_or(""),
            c.predicted_failure
        );
    }
    println!("\nReasons:\n");
    for c in &issued {
        println!("- `{}` {}: {}", &c.command_id[..12], c.target_assets.join(","), c.plan_reason);
    }
    if let Some(c) = issued.first() {
        let ok = verify_command(c, &signer.public_key(), c.not_before).is_ok();
        println!(
            "\nFirst command (verifies: {ok}), public key {}:\n",
            signer.public_key().to_hex()
        );
        println!("{}", serde_json::to_string_pretty(c).unwrap_or_default());
    }
}

fn utc(ms: i64) -> String {
    chrono::DateTime::from_timestamp_millis(ms)
        .map(|t| t.format("%a %m-%d %H:%M").to_string())
        .unwrap_or_default()
}
