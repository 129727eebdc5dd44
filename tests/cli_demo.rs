//! `patchline demo` as a newcomer runs it. The closed loop prints a scorecard of three policies
//! over the same world, as JSON with the documented keys and as a self-contained HTML report; the
//! snapshot view prints exposures and deployment commands, the same ones on every run. Fleets are
//! small: these tests check structure and invariants, not the headline numbers.

use serde_json::Value;
use std::process::Command;

fn demo(args: &[&str]) -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_patchline"))
        .arg("demo")
        .args(args)
        .output()
        .expect("run demo");
    assert!(out.status.success(), "demo failed: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).expect("utf-8")
}

fn number(v: &Value, key: &str) -> f64 {
    v[key].as_f64().unwrap_or_else(|| panic!("{key} is not a number in {v}"))
}

#[test]
fn the_closed_loop_scores_three_policies_and_writes_a_self_contained_report() {
    let html = std::env::temp_dir().join(format!("patchline-demo-{}.html", std::process::id()));
    let text = demo(&[
        "--json",
        "--assets",
        "60",
        "--days",
        "14",
        "--seed",
        "5",
        "--html",
        html.to_str().expect("path"),
    ]);
    let doc: Value = serde_json::from_str(&text).expect("json");
    let policies = doc["policies"].as_array().expect("policies");
    let names: Vec<&str> = policies.iter().filter_map(|p| p["name"].as_str()).collect();
    assert_eq!(names, ["patchline", "patchline-no-learning", "cvss-fifo"]);
    for p in policies {
        for key in ["mttp_kev_days", "mttp_critical_days", "exposure_days", "open_exposure_days"] {
            assert!(number(p, key) >= 0.0, "{key} in {p}");
        }
        assert!((0.0..=1.0).contains(&number(p, "success_rate")), "{p}");
        assert!(p["rollbacks"].as_u64().is_some(), "{p}");
        assert!(p["deployments"].as_u64().unwrap_or(0) > 0, "every policy deploys: {p}");
        assert_eq!(p["commands_rejected"], 1, "the forged command is rejected: {p}");
    }
    let curve = doc["learning_curve"].as_array().expect("learning curve");
    assert_eq!(curve.len(), 2, "two simulated weeks");
    for (i, c) in curve.iter().enumerate() {
        assert_eq!(c["cycle"], i + 1);
        for key in ["failure_auc", "log_loss", "generating_log_loss"] {
            assert!(c[key].is_null() || c[key].as_f64().is_some(), "{key} in {c}");
        }
        assert!(c["failure_auc"].as_f64().is_none_or(|a| (0.0..=1.0).contains(&a)), "{c}");
    }
    // Every policy faced the same world and the same executor: each pipeline run dead-lettered
    // the forged command once, and no executor ran a command it could not verify.
    for run in doc["runs"].as_array().expect("runs") {
        let ex = &run["executor"];
        let verified = ex["received"].as_u64().unwrap_or(0) - ex["rejected"].as_u64().unwrap_or(0);
        let ran = ex["deploys_run"].as_u64().unwrap_or(0) + ex["rollbacks"].as_u64().unwrap_or(0);
        assert!(ran <= verified, "{run}");
        let pipeline = run["name"].as_str().is_some_and(|n| n.starts_with("patchline"));
        assert_eq!(run["dead_letters"], if pipeline { 1 } else { 0 }, "{run}");
    }
    assert!(number(&doc["world"], "exposures") > 0.0);
    assert!(doc["targets"]["met"].is_boolean());

    let page = std::fs::read_to_string(&html).expect("the HTML report");
    let _ = std::fs::remove_file(&html);
    assert!(page.starts_with("<!DOCTYPE html>") && page.trim_end().ends_with("</html>"));
    assert!(page.matches("<svg").count() >= 4, "charts are inline SVG");
    for external in ["<script", "src=", "href=", "http://", "https://", "@import"] {
        assert!(!page.contains(external), "no external asset or script: {external}");
    }
    assert!(page.contains("cvss-fifo") && page.contains("MTTP"));
}

#[test]
fn the_closed_loop_prints_a_side_by_side_table() {
    let text = demo(&["--assets", "40", "--days", "7", "--seed", "2"]);
    for line in ["MTTP KEV exposures", "KEV exposure-days", "deployment success rate", "Targets"] {
        assert!(text.contains(line), "{line}: {text}");
    }
    let header = text.lines().find(|l| l.contains("cvss-fifo")).expect("a header line");
    assert!(header.contains("patchline") && header.contains("patchline-no-learning"));
}

#[test]
fn the_snapshot_prints_exposures_commands_and_the_dead_letter() {
    let text = demo(&["--snapshot", "--limit", "5"]);
    assert!(text.contains("Top exposures"), "{text}");
    assert!(text.contains("Deploy wave"), "{text}");
    assert!(text.contains("KEV"), "{text}");
    assert!(text.contains("patchline.findings[") && text.contains("truncated"), "{text}");
}

#[test]
fn the_snapshot_json_is_deterministic_and_consistent() {
    let args = ["--snapshot", "--json", "--assets", "25", "--seed", "3"];
    let a = demo(&args);
    let b = demo(&args);
    assert_eq!(a, b, "same flags, same output");
    let doc: Value = serde_json::from_str(&a).expect("json");
    let exposures = doc["exposures"].as_array().expect("exposures");
    let commands = doc["commands"].as_array().expect("commands");
    assert!(!exposures.is_empty() && !commands.is_empty());
    assert_eq!(doc["dead_letters"], 1);
    // Every command's rationale names an open exposure the demo reported.
    let ids: std::collections::BTreeSet<&str> =
        exposures.iter().filter_map(|e| e["exposure_id"].as_str()).collect();
    for c in commands {
        for r in c["rationale"].as_array().expect("rationale") {
            assert!(ids.contains(r["exposure_id"].as_str().unwrap_or_default()), "{c}");
        }
    }
    // Risk is ranked high to low and stays in range.
    let risks: Vec<f64> = exposures.iter().filter_map(|e| e["risk"].as_f64()).collect();
    assert!(risks.windows(2).all(|w| w[0] >= w[1]));
    assert!(risks.iter().all(|r| (0.0..=1000.0).contains(r)));
}
