//! `patchline simulate --brokers` on real Apache Kafka: the fleet simulator's closed loop with
//! the pipeline running through the Kafka runtime, in lockstep with the simulated clock.
//!
//! A small world (40 assets, 2 days) runs under a topic prefix of its own. The executor runs
//! the signed commands the stages put on the commands topic, rejects the forged one (which the
//! plan stage dead-letters too), and its outcomes flow back: the plan stage processes every one
//! (its outcomes changelog holds one record per outcome) and promotes campaigns past their
//! first wave, which takes passing outcomes. Every command on the topic reached the executor
//! exactly once. Topics that already hold records are refused.
//!
//! Kafka mode does not give the embedded bus's deployments for the same seed, so the test does
//! not assert equality. The world (feeds, fleet, failure model) is the same, but the planner
//! plans greedily as records arrive, under fleet-wide caps. On the embedded bus the stages run
//! one after the other in a fixed read order. On Kafka they run concurrently, the three findings
//! partitions reach `assess` interleaved as the broker returns their batches, and assets reach
//! `plan` directly while exposures take the `assess` hop. So already the initial backlog reaches
//! the planner in another order, and its first commands fill the caps with other campaigns (the
//! order can also differ between two Kafka runs). The test asserts instead that both modes
//! face the same world and that the Kafka run deploys about as much (within 25%; measured runs
//! differ by up to 6%).

mod support;

use patchline_processors::events::{CommandAction, Event, EventKind};
use patchline_topology::codec::{Codec, Format};
use serde_json::Value;
use std::process::Command;
use support::*;

const WORLD: [&str; 8] = ["--assets", "40", "--days", "2", "--seed", "11", "--json", "--quiet"];

fn simulate(extra: &[&str]) -> Value {
    let out = Command::new(env!("CARGO_BIN_EXE_patchline"))
        .arg("simulate")
        .args(WORLD)
        .args(extra)
        .output()
        .expect("run patchline simulate");
    assert!(
        out.status.success(),
        "simulate {extra:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("one JSON document")
}

fn count(v: &Value) -> u64 {
    v.as_u64().unwrap_or_else(|| panic!("not a count: {v}"))
}

#[tokio::test]
async fn the_closed_loop_runs_on_kafka_in_lockstep() {
    let s = Scenario::new("kafka-simulate", "").await;
    let kafka = simulate(&["--brokers", &brokers(), "--topic-prefix", &s.prefix]);
    let embedded = simulate(&[]);

    assert_eq!(kafka["kafka"]["topic_prefix"], s.prefix.as_str());
    assert!(kafka["kafka"]["wall_seconds_per_day"].as_f64().unwrap_or(0.0) > 0.0, "{kafka}");
    assert_eq!(kafka["learn_stage"], true);

    // The executor: the forged command and only it is rejected; everything else it received
    // was issued by the pipeline, and the plan stage dead-lettered the forgery.
    let ex = &kafka["executor"];
    assert_eq!(ex["rejected"], 1, "{ex}");
    let why = ex["rejections"][0].as_str().unwrap_or_default();
    assert!(why.contains("cmd-forged") && why.contains("signed by key"), "{why}");
    assert_eq!(kafka["dead_letters"], 1, "the plan stage dead-letters the forged command");
    let issued = &kafka["commands_issued"];
    let deploys = count(&issued["deploy"]);
    assert!(deploys > 0, "{issued}");
    let all_issued = deploys + count(&issued["rollback"]) + count(&issued["pause"]);
    assert_eq!(count(&ex["received"]), all_issued + 1, "every command reached the executor once");
    assert!(count(&ex["deploys_run"]) > 0, "{ex}");
    let card = &kafka["scorecard"];
    assert!((0.0..=1.0).contains(&card["success_rate"].as_f64().unwrap_or(-1.0)), "{card}");

    // The commands topic holds exactly what the executor received, and campaigns went past
    // their first wave: their gates saw the outcomes.
    let codec = Codec::bundled().expect("codec");
    let commands: Vec<_> = read_topic(&s.topic("commands"))
        .iter()
        .map(|r| match codec.decode(EventKind::DeploymentCommand, Format::Avro, &r.value) {
            Ok(Event::DeploymentCommand(c)) => c,
            other => panic!("not a command: {other:?}"),
        })
        .collect();
    assert_eq!(commands.len() as u64, count(&ex["received"]), "no command lost or repeated");
    let promoted = commands.iter().filter(|c| c.action == CommandAction::Deploy && c.wave > 1);
    assert!(promoted.count() > 0, "no campaign was promoted past its first wave");

    // Outcomes flowed back, and the plan stage processed each of them.
    let outcomes = count(&kafka["records_produced"]["patchline.outcomes"]);
    assert!(outcomes > 0, "{kafka}");
    assert_eq!(read_topic(&s.topic("outcomes")).len() as u64, outcomes);
    let planned = read_topic(&s.topic("plan.outcomes-changelog")).len() as u64;
    assert_eq!(planned, outcomes, "the plan stage stored every outcome");

    // The same world as on the embedded bus, and about as many deployments (see the module
    // docs for why not the same ones).
    assert_eq!(kafka["assets"], embedded["assets"]);
    for topic in ["patchline.advisories", "patchline.threats", "patchline.assets"] {
        assert_eq!(
            kafka["records_produced"][topic], embedded["records_produced"][topic],
            "{topic}"
        );
    }
    let theirs = count(&embedded["commands_issued"]["deploy"]) as f64;
    let ratio = deploys as f64 / theirs;
    assert!((0.75..=1.25).contains(&ratio), "Kafka {deploys} deploys, embedded {theirs}");

    // A second run over the same topics would meet the first one's records: refused.
    let again = Command::new(env!("CARGO_BIN_EXE_patchline"))
        .arg("simulate")
        .args(WORLD)
        .args(["--brokers", &brokers(), "--topic-prefix", &s.prefix])
        .output()
        .expect("run patchline simulate");
    assert!(!again.status.success());
    assert!(String::from_utf8_lossy(&again.stderr).contains("already holds records"));
}

#[test]
fn kafka_mode_refuses_what_it_cannot_run() {
    let out = Command::new(env!("CARGO_BIN_EXE_patchline"))
        .args(["simulate", "--brokers", &brokers(), "--policy", "cvss-fifo", "--assets", "5"])
        .output()
        .expect("run patchline simulate");
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("cvss-fifo"));
}
