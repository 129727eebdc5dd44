//! Rendering of an evaluation [`Report`]: one JSON object, or a readable table.
//!
//! Invariant: the JSON object has exactly the keys `as_of`, `horizon_days`, `population`,
//! `positives` and `strategies`, each strategy exactly `name`, `effort`, `coverage`, `efficiency`
//! and `average_precision`. Every strategy is listed on every run, in the same order; a strategy
//! that is unavailable (EPSS without an EPSS file) or undefined (no positives) has `null` values.

use super::{Report, CVSS7};
use crate::feeds::time::ymd_from_days;
use serde_json::{json, Value};
use std::fmt::Write;

/// `YYYY-MM-DD` of a day count.
pub fn date(day: i32) -> String {
    let (y, m, d) = ymd_from_days(day);
    format!("{y:04}-{m:02}-{d:02}")
}

/// The report as one JSON object.
pub fn to_json(report: &Report) -> Value {
    let strategies: Vec<Value> = report
        .strategies
        .iter()
        .map(|s| {
            let m = s.metrics;
            json!({
                "name": s.name,
                "effort": m.and_then(|m| m.effort),
                "coverage": m.and_then(|m| m.coverage),
                "efficiency": m.and_then(|m| m.efficiency),
                "average_precision": m.and_then(|m| m.average_precision),
            })
        })
        .collect();
    json!({
        "as_of": date(report.as_of),
        "horizon_days": report.horizon_days,
        "population": report.population,
        "positives": report.positives,
        "strategies": strategies,
    })
}

fn percent(x: Option<f64>) -> String {
    x.map_or("-".into(), |x| format!("{:.2}%", 100.0 * x))
}

/// The report as text: the split, the training, then one row per strategy.
pub fn to_text(report: &Report) -> String {
    let mut out = String::new();
    let t = &report.training;
    let first = date(report.as_of + 1);
    let last = date(report.as_of + report.horizon_days);
    let _ = writeln!(
        out,
        "patchline eval: as of {}, horizon {} days (labels: KEV additions {first}..{last})",
        date(report.as_of),
        report.horizon_days
    );
    let _ = writeln!(
        out,
        "population  {} CVEs known at the as-of day and not in KEV then ({} from the CVE table, {} only in EPSS)",
        report.population, report.from_table, report.epss_only
    );
    let _ = writeln!(
        out,
        "positives   {} of the {} KEV additions in the window ({} were not known at the as-of day); {} KEV entries by the as-of day",
        report.positives,
        report.kev_in_window,
        report.kev_in_window.saturating_sub(report.positives),
        report.kev_at_as_of
    );
    match report.epss_day {
        Some(day) => {
            let names: Vec<String> = report
                .epss_files
                .iter()
                .filter_map(|p| p.file_name().map(|n| n.to_string_lossy().into_owned()))
                .collect();
            let _ = writeln!(out, "EPSS        {} ({})", date(day), names.join(", "));
        }
        None => {
            let _ = writeln!(
                out,
                "EPSS        no file dated on or before the as-of day: EPSS strategies unavailable, the model runs without EPSS"
            );
        }
    }
    let _ = writeln!(
        out,
        "model       FTRL-Proximal on {} CVEs known at the as-of day, {} of them in KEV by then{}; alpha {}, l1 {}",
        t.examples,
        t.positives,
        if t.with_epss { ", with EPSS" } else { ", without EPSS" },
        t.params.alpha,
        t.params.l1
    );
    let _ = writeln!(
        out,
        "validation  held-out fifth: AP {} over {} positives; best-F1 effort {}",
        t.validation_ap.map_or("-".into(), |ap| format!("{ap:.4}")),
        t.validation_positives,
        percent(t.best_effort)
    );
    let _ = writeln!(out);
    let baseline = report
        .strategies
        .iter()
        .find(|s| s.name == CVSS7)
        .and_then(|s| s.metrics)
        .and_then(|m| m.efficiency);
    let _ = writeln!(
        out,
        "{:<30} {:>8} {:>8} {:>9} {:>10} {:>8} {:>10}",
        "strategy", "flagged", "effort", "coverage", "efficiency", "AP", "vs cvss>=7"
    );
    for s in &report.strategies {
        let Some(m) = s.metrics else {
            let _ = writeln!(out, "{:<30} {:>8}", s.name, "unavailable");
            continue;
        };
        let ratio = match (m.efficiency, baseline) {
            (Some(e), Some(b)) if b > 0.0 => format!("{:.1}x", e / b),
            _ => "-".into(),
        };
        let _ = writeln!(
            out,
            "{:<30} {:>8} {:>8} {:>9} {:>10} {:>8} {:>10}",
            s.name,
            m.flagged,
            percent(m.effort),
            percent(m.coverage),
            percent(m.efficiency),
            m.average_precision.map_or("-".into(), |ap| format!("{ap:.4}")),
            ratio
        );
    }
    let _ = writeln!(
        out,
        "\n{} is patchline's ranking cut at the number of CVEs {} flags; AP of threshold rows is that of their score's ranking.",
        report.strategies.get(5).map_or("", |s| s.name.as_str()),
        report.reference
    );
    out
}
