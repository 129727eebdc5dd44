//! `patchline simulate`, the load generator: the closed loop against one policy on the embedded
//! bus reports what flowed and what came out, the same for the same seed; the executor runs only
//! commands it verified; `--emit` writes the world's inputs as files `run --feed` reads.

use serde_json::Value;
use std::process::{Command, Output};

fn simulate(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_patchline"))
        .arg("simulate")
        .args(args)
        .output()
        .expect("run simulate")
}

fn json(args: &[&str]) -> Value {
    let out = simulate(args);
    assert!(out.status.success(), "simulate failed: {}", String::from_utf8_lossy(&out.stderr));
    serde_json::from_slice(&out.stdout).expect("json")
}

/// The document without its wall-clock figures.
fn stable(mut v: Value) -> Value {
    if let Some(o) = v.as_object_mut() {
        o.remove("wall_seconds");
        o.remove("records_per_second");
    }
    v
}

#[test]
fn the_loop_is_deterministic_and_runs_only_verified_commands() {
    let args = ["--json", "--quiet", "--assets", "50", "--days", "7", "--seed", "9"];
    let a = json(&args);
    assert_eq!(stable(a.clone()), stable(json(&args)), "same seed, same simulation");
    assert_eq!(a["policy"], "patchline");
    let ex = &a["executor"];
    assert_eq!(ex["rejected"], 1, "the forged command, and only it: {ex}");
    let why = ex["rejections"][0].as_str().unwrap_or_default();
    assert!(why.contains("signed by key"), "{why}");
    assert_eq!(a["dead_letters"], 1, "the plan stage dead-letters the forged command too");
    let issued = &a["commands_issued"];
    assert!(issued["deploy"].as_u64().unwrap_or(0) > 0, "{issued}");
    let received = ex["received"].as_u64().unwrap_or(0);
    let all_issued: u64 =
        ["deploy", "rollback", "pause"].iter().filter_map(|k| issued[*k].as_u64()).sum();
    assert_eq!(received, all_issued + 1, "every signed command reached the executor once");
    let run = ex["deploys_run"].as_u64().unwrap_or(0);
    let ok = ex["deploys_succeeded"].as_u64().unwrap_or(0);
    let failed = ex["deploys_failed"].as_u64().unwrap_or(0);
    assert_eq!(run, ok + failed);
    let card = &a["scorecard"];
    assert!((0.0..=1.0).contains(&card["success_rate"].as_f64().unwrap_or(-1.0)), "{card}");
    for topic in ["patchline.findings", "patchline.assets", "patchline.advisories"] {
        assert!(a["records_produced"][topic].as_u64().unwrap_or(0) > 0, "{topic}");
    }
}

#[test]
fn the_baseline_runs_the_same_world_through_the_same_executor() {
    let args = ["--json", "--quiet", "--assets", "50", "--days", "7", "--seed", "9"];
    let fifo = json(&[&args[..], &["--policy", "cvss-fifo"]].concat());
    assert_eq!(fifo["policy"], "cvss-fifo");
    assert_eq!(fifo["executor"]["rejected"], 1);
    assert_eq!(fifo["dead_letters"], 0, "no pipeline, no dead letters");
    assert!(fifo["commands_issued"]["deploy"].as_u64().unwrap_or(0) > 0);
    assert_eq!(fifo["commands_issued"]["pause"], 0, "the baseline never halts");
    let ours = json(&args);
    assert_eq!(fifo["assets"], ours["assets"]);
    assert!(fifo["exposures"].is_u64());
}

#[test]
fn emit_writes_feed_files_for_any_fleet_size() {
    let dir = std::env::temp_dir().join(format!("patchline-sim-emit-{}", std::process::id()));
    let doc = json(&["--json", "--assets", "30", "--emit", dir.to_str().expect("path")]);
    for topic in
        ["patchline.assets", "patchline.findings", "patchline.advisories", "patchline.threats"]
    {
        let n = doc["files"][topic].as_u64().unwrap_or(0);
        let text = std::fs::read_to_string(dir.join(format!("{topic}.jsonl"))).expect(topic);
        assert_eq!(text.lines().count() as u64, n, "{topic}");
        assert!(n > 0, "{topic}");
        for line in text.lines() {
            serde_json::from_str::<Value>(line).expect("one JSON record per line");
        }
    }
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn bad_flags_are_refused() {
    let out = simulate(&["--policy", "round-robin", "--assets", "5"]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("--policy round-robin"));
    let out = simulate(&["--end", "2024-13-01", "--assets", "5"]);
    assert!(!out.status.success());
}
