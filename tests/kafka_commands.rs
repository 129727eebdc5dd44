//! Signed deployment commands on real Apache Kafka: `patchline run` signs with a key generated
//! here at run time (handed over by `PATCHLINE_SIGNING_KEY_FILE`, never stored in the repo) and
//! logs the public key it signs with. Every command on the commands topic verifies with that
//! published key; a tampered copy does not. Outcomes drive the plan: a passing canary promotes
//! the pilot, a failing pilot gets a `ROLLBACK` and halts the campaign with a `PAUSE`, and an
//! operator's `RESUMED` retries it.

mod support;

use patchline_processors::events::*;
use patchline_processors::sign::{verify_command, PublicKey, SignError, Signer};
use patchline_topology::codec::{Codec, Format};
use std::path::Path;
use std::process::{Child, Command};
use std::time::{Duration, SystemTime, UNIX_EPOCH};
use support::*;

fn now_ms() -> i64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_millis() as i64).unwrap_or(0)
}

fn advisory(id: &str, now: i64) -> Event {
    Event::Advisory(Advisory {
        id: id.into(),
        aliases: vec![],
        published: Some(now - 86_400_000),
        modified: now - 86_400_000,
        withdrawn: None,
        summary: "heap overflow".into(),
        cvss: Some(Cvss { version: "3.1".into(), base_score: 8.1, vector: None }),
        cwes: vec![],
        affected: vec![],
        exploit_refs: vec![],
        ssvc: None,
        provenance: Provenance { feed: "cve".into(), feed_version: None, fetched_at: now },
    })
}

fn asset(id: &str, env: Environment, crit: Criticality, now: i64) -> Event {
    Event::AssetTelemetry(AssetTelemetry {
        asset_id: id.into(),
        hostname: id.into(),
        os_family: "debian".into(),
        os_version: "12".into(),
        environment: env,
        criticality: crit,
        internet_exposed: false,
        business_service: Some("payments".into()),
        owner: None,
        ha_group: None,
        // Production is patched in a daily window in New York time; the rest any time.
        maintenance_window: (env == Environment::Production).then(|| MaintenanceWindow {
            time_zone: "America/New_York".into(),
            days: vec![1, 2, 3, 4, 5, 6, 7],
            start_minute: 0,
            duration_minutes: 1440,
        }),
        health: Health { status: HealthStatus::Healthy, cpu_load: None, error_rate: None },
        decommissioned: false,
        last_seen: now,
    })
}

fn finding(asset: &str, now: i64) -> Event {
    Event::Finding(Finding {
        asset_id: asset.into(),
        scanner: "trivy".into(),
        scan_id: "scan-1".into(),
        vulnerability_id: "CVE-2026-4242".into(),
        package: Package {
            ecosystem: "Debian".into(),
            name: "libexpat1".into(),
            installed_version: "2.5.0-1".into(),
            fixed_version: Some("2.5.0-1+deb12u2".into()),
        },
        status: FindingStatus::Open,
        first_seen: now,
        last_seen: now,
    })
}

fn outcome(c: &DeploymentCommand, status: OutcomeStatus, at: i64) -> Event {
    Event::DeploymentOutcome(DeploymentOutcome {
        command_id: c.command_id.clone(),
        asset_id: c.target_assets.first().cloned().unwrap_or_else(|| "operator:test".into()),
        status,
        started_at: at - 1_000,
        finished_at: at,
        reboot: false,
        health_before: None,
        health_after: None,
        error: (status == OutcomeStatus::Failed).then(|| "service did not come back".into()),
        executor: if status == OutcomeStatus::Resumed { "operator" } else { "awx" }.into(),
    })
}

fn commands(codec: &Codec, topic: &str) -> Vec<(Vec<u8>, DeploymentCommand)> {
    read_topic(topic)
        .into_iter()
        .map(|r| match codec.decode(EventKind::DeploymentCommand, Format::Avro, &r.value) {
            Ok(Event::DeploymentCommand(c)) => (r.value, c),
            other => panic!("undecodable command: {other:?}"),
        })
        .collect()
}

fn spawn(args: &[&str], key_file: &Path, policy: &Path, log: &Path) -> Child {
    let env = [
        ("PATCHLINE_SIGNING_KEY_FILE", key_file.as_os_str()),
        ("PATCHLINE_PLAN_POLICY_FILE", policy.as_os_str()),
    ];
    spawn_patchline_env(args, &env, log)
}

/// The public key `patchline run` logged (`public_key=<hex>`).
fn published_key(log: &Path) -> Option<PublicKey> {
    let text = std::fs::read_to_string(log).ok()?;
    let hex = text.split("public_key=").nth(1)?.split_whitespace().next()?;
    PublicKey::from_text(hex.trim_matches('"')).ok()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn signed_commands_on_real_kafka_verify_with_the_published_key() {
    let world = Scenario::new("commands", "commit_interval_ms = 200\n").await;
    let t = |s: &str| world.topic(s);
    let dir = &world.dir;
    // No soak between waves, so the test sees every stage of the plan within seconds.
    let policy = dir.join("plan-policy.toml");
    std::fs::write(
        &policy,
        "[standard]\nsoak_minutes = 0\n[emergency]\nsoak_minutes = 0\n\
         [blast_radius]\nshare = 1.0\nmin = 1\n[service_cap]\nshare = 1.0\nmin = 1\n",
    )
    .expect("policy file");
    let seed = fresh_seed();
    let signer = Signer::from_seed(&seed);
    let key_file = dir.join("signing.key");
    write_secret(&key_file, &format!("{}\n", seed_hex(&seed)));

    let codec = Codec::bundled().expect("codec");
    let p = producer();
    let send = |topic: String, e: Event| {
        let p = p.clone();
        let value = codec.encode(&e).expect("encode");
        async move { produce(&p, &topic, e.key().as_bytes(), &value).await }
    };
    let now = now_ms();
    send(t("advisories"), advisory("CVE-2026-4242", now)).await;
    let fleet = [
        ("dev-1", Environment::Development, Criticality::Low),
        ("tst-1", Environment::Test, Criticality::Medium),
        ("stg-1", Environment::Staging, Criticality::Medium),
        ("prd-1", Environment::Production, Criticality::High),
        ("prd-2", Environment::Production, Criticality::Critical),
    ];
    for (id, env, crit) in fleet {
        send(t("assets"), asset(id, env, crit, now)).await;
    }
    for (id, _, _) in fleet {
        send(t("findings"), finding(id, now)).await;
    }

    let args = world.run_args(&format!("127.0.0.1:{}", free_port()), &[]);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let log = dir.join("run.log");
    let mut run = spawn(&args, &key_file, &policy, &log);
    let alive = |run: &mut Child| {
        assert!(run.try_wait().ok().flatten().is_none(), "patchline exited; see {}", log.display());
    };
    let wait_for = |n: usize, what: &str| {
        let topic = t("commands");
        let codec = &codec;
        let log = &log;
        let what = what.to_string();
        async move {
            let ok =
                eventually(Duration::from_secs(90), || commands(codec, &topic).len() >= n).await;
            assert!(ok, "no {what} on {topic}; see {}", log.display());
            commands(codec, &topic)
        }
    };

    // The canary: one development or test asset (whichever exposure came first), signed.
    let first = wait_for(1, "canary").await;
    alive(&mut run);
    let canary = first[0].1.clone();
    assert_eq!((canary.action, canary.ring, canary.wave), (CommandAction::Deploy, Ring::Canary, 1));
    let other = match canary.target_assets.as_slice() {
        [a] if a == "dev-1" => "tst-1",
        [a] if a == "tst-1" => "dev-1",
        targets => panic!("the canary must be non-production: {targets:?}"),
    };
    let key = published_key(&log).unwrap_or_else(|| panic!("no public key in {}", log.display()));
    assert_eq!(key, signer.public_key(), "the published key is the one generated here");

    // A passing canary promotes the pilot.
    send(t("outcomes"), outcome(&canary, OutcomeStatus::Succeeded, now_ms())).await;
    let second = wait_for(2, "pilot").await;
    let pilot = second[1].1.clone();
    assert_eq!((pilot.action, pilot.ring, pilot.wave), (CommandAction::Deploy, Ring::Pilot, 2));
    assert_eq!(pilot.target_assets, [other], "the other non-production asset");

    // A failing pilot is rolled back and halts the campaign.
    send(t("outcomes"), outcome(&pilot, OutcomeStatus::Failed, now_ms())).await;
    let halted = wait_for(4, "rollback and pause").await;
    let rollback = halted.iter().map(|(_, c)| c).find(|c| c.action == CommandAction::Rollback);
    let rollback = rollback.expect("a rollback").clone();
    assert_eq!(rollback.rollback_of.as_deref(), Some(pilot.command_id.as_str()));
    let pause = halted.iter().map(|(_, c)| c.clone()).find(|c| c.action == CommandAction::Pause);
    let pause = pause.expect("a pause");
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert_eq!(commands(&codec, &t("commands")).len(), 4, "halted: nothing more is issued");

    // The rollback is done and the operator resumes: the failed pilot asset is retried under a
    // new command id, in the same ring.
    send(t("outcomes"), outcome(&rollback, OutcomeStatus::Succeeded, now_ms())).await;
    send(t("outcomes"), outcome(&pause, OutcomeStatus::Resumed, now_ms())).await;
    let resumed = wait_for(5, "retry").await;
    alive(&mut run);
    signal(&run, "TERM");
    let status = run.wait().expect("wait");
    assert!(status.success(), "SIGTERM drains and exits 0, got {status}");
    let retry = &resumed[4].1;
    assert_eq!(
        (retry.action, retry.ring, retry.target_assets.as_slice()),
        (CommandAction::Deploy, Ring::Pilot, &[other.to_string()][..])
    );
    assert_ne!(retry.command_id, pilot.command_id);

    // Every command on the topic verifies with the published key; duplicates are identical;
    // a tampered copy, an expired check and an unsigned copy fail.
    let mut seen = std::collections::BTreeMap::new();
    for (bytes, c) in commands(&codec, &t("commands")) {
        assert_eq!(verify_command(&c, &key, now_ms()), Ok(()), "{c:?}");
        assert!(!c.shadow && !c.plan_reason.is_empty());
        if let Some(previous) = seen.insert(c.command_id.clone(), bytes.clone()) {
            assert_eq!(previous, bytes, "a duplicate of {} differs", c.command_id);
        }
        let mut tampered = c.clone();
        tampered.not_after += 86_400_000;
        assert!(matches!(verify_command(&tampered, &key, now_ms()), Err(SignError::Tampered(_))));
        assert!(matches!(
            verify_command(&c, &key, c.not_after + 1),
            Err(SignError::Expired { .. })
        ));
        let mut unsigned = c.clone();
        unsigned.signature = None;
        assert!(matches!(verify_command(&unsigned, &key, now_ms()), Err(SignError::Unsigned(_))));
    }
    assert_eq!(seen.len(), 5);
    assert!(read_topic(&t("plans")).is_empty(), "a live planner writes no shadow plans");
}

/// `patchline verify` (what an executor can shell out to) and `patchline public-key` (what an
/// operator publishes). Needs the `verify` and `public-key` subcommands wired in `src/main.rs`.
#[test]
fn patchline_verify_accepts_signed_and_rejects_tampered_commands() {
    let dir = scratch_dir(&unique_prefix("verify"));
    let seed = fresh_seed();
    let key_file = dir.join("signing.key");
    write_secret(&key_file, &seed_hex(&seed));
    let signer = Signer::from_seed(&seed);
    let now = now_ms();
    let mut plan = patchline_processors::PlanProcessor::new().with_signer(signer.clone());
    let mut out = Vec::new();
    use patchline_processors::Processor as _;
    for e in
        [asset("dev-1", Environment::Development, Criticality::Low, now), finding_exposure(now)]
    {
        plan.process(e, &mut out).expect("plan");
    }
    let lines: Vec<String> = out
        .iter()
        .filter_map(|e| match e {
            Event::DeploymentCommand(c) => serde_json::to_string(c).ok(),
            _ => None,
        })
        .collect();
    assert_eq!(lines.len(), 1, "one canary");
    let good = dir.join("commands.jsonl");
    std::fs::write(&good, lines.join("\n")).expect("write");
    let cli = |args: &[&str]| {
        Command::new(env!("CARGO_BIN_EXE_patchline"))
            .args(args)
            .env_remove("PATCHLINE_PUBLIC_KEY")
            .output()
            .expect("run patchline")
    };
    let published = cli(&["public-key", "--key-file", key_file.to_str().unwrap_or_default()]);
    let text = String::from_utf8_lossy(&published.stdout);
    assert!(published.status.success() && text.contains(&signer.public_key().to_hex()), "{text}");
    let hex = signer.public_key().to_hex();
    let ok = cli(&["verify", "--public-key", &hex, good.to_str().unwrap_or_default()]);
    assert!(ok.status.success(), "{}", String::from_utf8_lossy(&ok.stdout));
    assert!(String::from_utf8_lossy(&ok.stdout).starts_with("OK "));
    let tampered = dir.join("tampered.jsonl");
    std::fs::write(&tampered, lines[0].replace("dev-1", "prd-9")).expect("write");
    let bad = cli(&["verify", "--public-key", &hex, tampered.to_str().unwrap_or_default()]);
    assert!(!bad.status.success());
    assert!(String::from_utf8_lossy(&bad.stdout).contains("tampered"));
    let late = cli(&[
        "verify",
        "--public-key",
        &hex,
        "--now-ms",
        &(now + 400 * 86_400_000).to_string(),
        good.to_str().unwrap_or_default(),
    ]);
    assert!(!late.status.success(), "expired");
}

/// An open exposure of dev-1 to CVE-2026-4242, as the assess stage would emit it.
fn finding_exposure(now: i64) -> Event {
    Event::Exposure(Exposure {
        exposure_id: "exp-dev-1".into(),
        asset_id: "dev-1".into(),
        vulnerability_id: "CVE-2026-4242".into(),
        aliases: vec![],
        ecosystem: "Debian".into(),
        package: "libexpat1".into(),
        installed_version: "2.5.0-1".into(),
        fixed_version: Some("2.5.0-1+deb12u2".into()),
        sources: vec!["trivy".into()],
        status: ExposureStatus::Open,
        close_reason: None,
        risk: 640.0,
        likelihood: 0.2,
        impact: 0.6,
        contributions: vec![],
        ssvc_decision: SsvcDecision::Attend,
        due_date: (now / 86_400_000) as i32 + 30,
        lane: Lane::Standard,
        kev: false,
        epss: Some(0.2),
        cvss: Some(8.1),
        environment: Environment::Development,
        criticality: Criticality::Low,
        internet_exposed: false,
        business_service: Some("payments".into()),
        ha_group: None,
        model_version: "m".into(),
        policy_version: "p".into(),
        updated_at: now,
        exception_id: None,
        accepted_until: None,
    })
}
