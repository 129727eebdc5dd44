//! The closed loop on real Apache Kafka: deployment outcomes change the patch-failure model while
//! two `patchline run` instances run, the learn stage publishes gated snapshots to the models
//! topic, and both instances' planners hot-swap to each new version without a restart. Outcomes
//! of a command nobody signed teach nothing.

mod support;

use patchline_processors::events::*;
use patchline_processors::fixtures;
use patchline_processors::learn::failure::FAILURE_MODEL;
use patchline_processors::sign::{sign_command, Signer};
use patchline_topology::codec::{Codec, Format};
use std::time::{Duration, SystemTime, UNIX_EPOCH};
use support::*;

fn now_ms() -> i64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_millis() as i64).unwrap_or(0)
}

fn snapshots(codec: &Codec, topic: &str) -> Vec<ModelSnapshot> {
    read_topic(topic)
        .into_iter()
        .filter_map(|r| match codec.decode(EventKind::ModelSnapshot, Format::Avro, &r.value) {
            Ok(Event::ModelSnapshot(s)) if s.model == FAILURE_MODEL => Some(s),
            _ => None,
        })
        .collect()
}

/// The patch-failure version an instance's plan stage reports on /metrics.
fn plan_version(port: u16) -> Option<i64> {
    let (_, body) = http_get(port, "/metrics")?;
    body.lines()
        .find(|l| {
            l.starts_with("patchline_model{")
                && l.contains("stage=\"plan\"")
                && l.contains("model=\"patch_failure\"")
                && l.contains("metric=\"version\"")
        })
        .and_then(|l| l.rsplit(' ').next())
        .and_then(|v| v.parse::<f64>().ok())
        .map(|v| v as i64)
}

fn command(id: &str, targets: &[String], now: i64, signer: Option<&Signer>) -> DeploymentCommand {
    let mut c = DeploymentCommand {
        command_id: id.into(),
        campaign_id: format!("cmp-{id}"),
        target_assets: targets.to_vec(),
        not_before: now - 60_000,
        not_after: now + 86_400_000,
        deadline: now + 86_400_000,
        issued_at: now - 60_000,
        ..fixtures::command()
    };
    if let Some(s) = signer {
        sign_command(&mut c, s);
    }
    c
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn outcomes_retrain_the_failure_model_and_both_instances_hot_swap() {
    let world = Scenario::new(
        "learning",
        "commit_interval_ms = 200\nlearn_interval_ms = 1000\nlearn_min_examples = 20\n",
    )
    .await;
    let t = |s: &str| world.topic(s);
    let dir = &world.dir;
    let seed = fresh_seed();
    let signer = Signer::from_seed(&seed);
    let key_file = dir.join("signing.key");
    write_secret(&key_file, &seed_hex(&seed));

    let codec = Codec::bundled().expect("codec");
    let p = producer();
    let send = |topic: String, e: Event| {
        let p = p.clone();
        let value = codec.encode(&e).expect("encode");
        async move { produce(&p, &topic, e.key().as_bytes(), &value).await }
    };
    let now = now_ms();
    let rhel: Vec<String> = (0..60).map(|i| format!("rhel-{i}")).collect();
    let debian: Vec<String> = (0..60).map(|i| format!("debian-{i}")).collect();
    for id in &rhel {
        let a = AssetTelemetry { os_family: "rhel".into(), ..fixtures::asset(id, now) };
        send(t("assets"), Event::AssetTelemetry(a)).await;
    }
    for id in &debian {
        send(t("assets"), Event::AssetTelemetry(fixtures::asset(id, now))).await;
    }
    let on_rhel = command("cmd-rhel", &rhel, now, Some(&signer));
    let on_debian = command("cmd-debian", &debian, now, Some(&signer));
    let forged = command("cmd-forged", &debian, now, None);
    for c in [&on_rhel, &on_debian, &forged] {
        send(t("commands"), Event::DeploymentCommand(c.clone())).await;
    }

    let ports = [free_port(), free_port()];
    let mut runs = Vec::new();
    for (i, port) in ports.iter().enumerate() {
        let instance = format!("learner-{i}");
        let args = world.run_args(&format!("127.0.0.1:{port}"), &["--instance-id", &instance]);
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let env = [("PATCHLINE_SIGNING_KEY_FILE", key_file.as_os_str())];
        runs.push(spawn_patchline_env(&args, &env, &dir.join(format!("run-{i}.log"))));
    }
    let ready = eventually(Duration::from_secs(60), || {
        ports.iter().all(|&p| http_get(p, "/readyz").is_some_and(|(s, _)| s == 200))
    })
    .await;
    assert!(ready, "both instances ready; see {}", dir.display());
    tokio::time::sleep(Duration::from_secs(2)).await; // the global tables are read

    // First batch: the patch fails on a third of the RHEL hosts, never on Debian. Outcomes of
    // the forged (unsigned) command all claim failure.
    let report = |c: &DeploymentCommand, asset: &str, failed: bool| {
        let status = if failed { OutcomeStatus::Failed } else { OutcomeStatus::Succeeded };
        Event::DeploymentOutcome(fixtures::outcome(&c.command_id, asset, status))
    };
    for (i, a) in rhel.iter().enumerate() {
        send(t("outcomes"), report(&on_rhel, a, i % 3 == 0)).await;
    }
    for a in &debian {
        send(t("outcomes"), report(&on_debian, a, false)).await;
        send(t("outcomes"), report(&forged, a, true)).await;
    }
    let first = eventually(Duration::from_secs(90), || !snapshots(&codec, &t("models")).is_empty());
    assert!(first.await, "no patch_failure snapshot on {}; see {}", t("models"), dir.display());
    let v1 = snapshots(&codec, &t("models")).last().cloned().expect("a snapshot");
    assert!(!v1.weights.is_empty(), "outcomes moved the weights");
    assert_eq!(v1.metrics.examples, 120, "the forged command's outcomes are not examples");
    let swapped = eventually(Duration::from_secs(60), || {
        ports.iter().all(|&p| plan_version(p).is_some_and(|v| v >= v1.version))
    });
    assert!(swapped.await, "both planners load version {}; see {}", v1.version, dir.display());

    // Second batch, while running: a new command on Debian that fails everywhere.
    let broken = command("cmd-debian-2", &debian, now, Some(&signer));
    send(t("commands"), Event::DeploymentCommand(broken.clone())).await;
    tokio::time::sleep(Duration::from_secs(1)).await;
    for a in &debian {
        send(t("outcomes"), report(&broken, a, true)).await;
    }
    let newer = eventually(Duration::from_secs(90), || {
        snapshots(&codec, &t("models")).iter().any(|s| s.version > v1.version)
    });
    assert!(newer.await, "a newer version after more outcomes; see {}", dir.display());
    let v2 = snapshots(&codec, &t("models")).last().cloned().expect("a snapshot");
    assert_ne!((&v2.indices, &v2.weights), (&v1.indices, &v1.weights), "the weights changed");
    let swapped = eventually(Duration::from_secs(60), || {
        ports.iter().all(|&p| plan_version(p).is_some_and(|v| v >= v2.version))
    });
    assert!(swapped.await, "both planners load version {}; see {}", v2.version, dir.display());
    for mut run in runs {
        signal(&run, "TERM");
        let _ = run.wait();
    }
}
