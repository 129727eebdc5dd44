//! `patchline demo` as a newcomer runs it: it prints exposures and deployment commands, the
//! same ones on every run, and its JSON output is well-formed.

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

#[test]
fn demo_prints_exposures_commands_and_the_dead_letter() {
    let text = demo(&["--limit", "5"]);
    assert!(text.contains("Top exposures"), "{text}");
    assert!(text.contains("Deploy wave"), "{text}");
    assert!(text.contains("KEV"), "{text}");
    assert!(text.contains("patchline.findings[") && text.contains("truncated"), "{text}");
}

#[test]
fn demo_json_is_deterministic_and_consistent() {
    let a = demo(&["--json", "--assets", "25", "--seed", "3"]);
    let b = demo(&["--json", "--assets", "25", "--seed", "3"]);
    assert_eq!(a, b, "same flags, same output");
    let doc: serde_json::Value = serde_json::from_str(&a).expect("json");
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
