//! The demo's scorecard as text (a side-by-side table) and as JSON.
//!
//! Invariant: the text and the JSON show the same numbers, computed once by [`Summary::of`];
//! the JSON keeps the documented keys (`policies[]` with `name`, `mttp_kev_days`,
//! `mttp_critical_days`, `exposure_days`, `success_rate`, `rollbacks`; `learning_curve[]` with
//! `cycle`, `failure_auc`, `log_loss`) and only adds others.

use super::metrics::{
    learning_curve, mttp_kev_window, open_kev_by_day, scorecard, Cycle, Scorecard,
};
use super::run::{Policy, Run};
use super::world::DAY_MS;
use super::Comparison;
use crate::error::Result;
use crate::output::ymd;
use serde_json::json;
use std::io::Write;

/// Everything the reports show.
pub struct Summary {
    pub cards: Vec<Scorecard>,
    /// The learning curve of each run, in run order.
    pub curves: Vec<Vec<Cycle>>,
    /// Open KEV exposures at the end of each day, per run.
    pub open_kev: Vec<Vec<usize>>,
    pub targets: Targets,
}

/// The targets, measured.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Targets {
    /// 1 - patchline / CVSS-FIFO.
    pub mttp_kev_reduction: f64,
    pub exposure_days_reduction: f64,
    pub success_rate: f64,
    /// Mean AUC of the first and second half of the cycles of the learning run.
    pub auc_first_half: Option<f64>,
    pub auc_second_half: Option<f64>,
    pub met: bool,
}

fn half_means(curve: &[Cycle]) -> (Option<f64>, Option<f64>) {
    let values: Vec<f64> = curve.iter().filter_map(|c| c.failure_auc).collect();
    let mean = |xs: &[f64]| (!xs.is_empty()).then(|| xs.iter().sum::<f64>() / xs.len() as f64);
    let mid = values.len() / 2;
    (mean(&values[..mid]), mean(&values[mid..]))
}

fn reduction(ours: f64, theirs: f64) -> f64 {
    if theirs <= 0.0 {
        0.0
    } else {
        1.0 - ours / theirs
    }
}

impl Summary {
    /// Measures a comparison.
    pub fn of(c: &Comparison) -> Summary {
        let cards: Vec<Scorecard> = c.runs.iter().map(scorecard).collect();
        let curves: Vec<Vec<Cycle>> = c.runs.iter().map(learning_curve).collect();
        let open_kev = c.runs.iter().map(open_kev_by_day).collect();
        let find = |p: Policy| c.runs.iter().position(|r| r.policy == p);
        let (ours, fifo) = (find(Policy::Patchline), find(Policy::CvssFifo));
        let targets = match (ours, fifo) {
            (Some(o), Some(f)) => {
                let (a, b) = half_means(&curves[o]);
                let mttp = reduction(cards[o].mttp_kev_days, cards[f].mttp_kev_days);
                let days = reduction(cards[o].exposure_days, cards[f].exposure_days);
                let success = cards[o].success_rate;
                let rising = matches!((a, b), (Some(a), Some(b)) if b > a);
                Targets {
                    mttp_kev_reduction: mttp,
                    exposure_days_reduction: days,
                    success_rate: success,
                    auc_first_half: a,
                    auc_second_half: b,
                    met: mttp >= 0.7 && days >= 0.6 && success >= 0.95 && rising,
                }
            }
            _ => Targets {
                mttp_kev_reduction: 0.0,
                exposure_days_reduction: 0.0,
                success_rate: 0.0,
                auc_first_half: None,
                auc_second_half: None,
                met: false,
            },
        };
        Summary { cards, curves, open_kev, targets }
    }
}

fn run_json(r: &Run) -> serde_json::Value {
    json!({
        "name": r.policy.name(),
        "learn_stage": r.learn_stage,
        "model_versions": r.model_versions,
        "commands_issued": r.issued,
        "executor": r.stats,
        "records": r.events,
        "dead_letters": r.dead_letters,
        "wall_seconds": r.wall.as_secs_f64(),
    })
}

/// World facts shared by every run.
fn world_json(c: &Comparison) -> serde_json::Value {
    let Some(w) = c.runs.first().map(|r| &r.world) else { return json!({}) };
    let seen = w.exposures.iter().filter(|x| x.first_seen.is_some()).count();
    let arrivals = w.assets.iter().filter(|a| a.arrival > w.start).count();
    let kev_in_run = w
        .catalog
        .kev
        .iter()
        .filter_map(|s| s.kev.as_ref())
        .filter(|k| {
            let at = i64::from(k.date_added) * DAY_MS;
            at >= w.start && at < w.end
        })
        .count();
    json!({
        "start": ymd((w.start / DAY_MS) as i32),
        "end": ymd((w.end / DAY_MS - 1) as i32),
        "assets": w.assets.len() - arrivals,
        "assets_joining": arrivals,
        "exposures": seen,
        "kev_additions_during_run": kev_in_run,
        "mttp_kev_window_days": mttp_kev_window(w),
    })
}

/// The JSON document of `patchline demo --json`.
pub fn to_json(c: &Comparison, s: &Summary) -> serde_json::Value {
    let index = |p: Policy| c.runs.iter().position(|r| r.policy == p);
    let curve = |p: Policy| index(p).map_or(json!([]), |i| json!(s.curves[i]));
    json!({
        "config": {"assets": c.config.assets, "days": c.config.days, "seed": c.config.seed},
        "world": world_json(c),
        "policies": s.cards,
        "learning_curve": curve(Policy::Patchline),
        "learning_curve_without_learning": curve(Policy::NoLearning),
        "targets": s.targets,
        "runs": c.runs.iter().map(run_json).collect::<Vec<_>>(),
    })
}

/// A reduction as words: `45% lower`, or `14% higher` for a negative one.
fn change(reduction: f64) -> String {
    if reduction >= 0.0 {
        format!("{:.0}% lower", 100.0 * reduction)
    } else {
        format!("{:.0}% higher", -100.0 * reduction)
    }
}

/// The side-by-side table of `patchline demo`.
pub fn write_text(out: &mut impl Write, c: &Comparison, s: &Summary) -> Result<()> {
    let w = world_json(c);
    writeln!(
        out,
        "patchline demo: closed loop over {} simulated days ({} to {}), {} assets (+{} joining), seed {}",
        c.config.days, w["start"].as_str().unwrap_or(""), w["end"].as_str().unwrap_or(""),
        w["assets"], w["assets_joining"], c.config.seed
    )?;
    writeln!(
        out,
        "world: {} exposures found over the run, {} KEV additions during it; the same fleet, findings, windows, executor and hidden failure model for every policy",
        w["exposures"], w["kev_additions_during_run"]
    )?;
    writeln!(
        out,
        "reference: waiting for the asset's next maintenance window, then the shortest deployment, averages {:.2} days over these KEV exposures\n",
        w["mttp_kev_window_days"].as_f64().unwrap_or(0.0)
    )?;
    let mut line = |label: &str, f: &dyn Fn(&Scorecard) -> String| -> Result<()> {
        write!(out, "  {label:<34}")?;
        for card in &s.cards {
            write!(out, "{:>24}", f(card))?;
        }
        writeln!(out)?;
        Ok(())
    };
    line("", &|c| c.name.clone())?;
    line("MTTP KEV exposures (days)", &|c| format!("{:.2}", c.mttp_kev_days))?;
    line("  of KEV added during the run", &|c| {
        format!("{:.2} ({})", c.mttp_kev_arriving_days, c.kev_arriving)
    })?;
    line("MTTP critical, CVSS >= 9 (days)", &|c| format!("{:.2}", c.mttp_critical_days))?;
    line("KEV exposure-days", &|c| format!("{:.1}", c.exposure_days))?;
    line("open exposure-days (all)", &|c| format!("{:.0}", c.open_exposure_days))?;
    line("deployment success rate", &|c| format!("{:.1}%", 100.0 * c.success_rate))?;
    line("deployments run / failed", &|c| format!("{} / {}", c.deployments, c.deployments_failed))?;
    line("rollbacks / pauses", &|c| format!("{} / {}", c.rollbacks, c.pauses))?;
    line("deployments outside windows", &|c| c.deployments_outside_window.to_string())?;
    line("KEV exposures / open at the end", &|c| {
        format!("{} / {}", c.kev_exposures, c.kev_open_at_end)
    })?;
    line("commands rejected by the executor", &|c| c.commands_rejected.to_string())?;
    if let Some(i) = c.runs.iter().position(|r| r.policy == Policy::Patchline) {
        writeln!(
            out,
            "\nLearning curve of patchline (predicted failure vs outcome, per simulated week):"
        )?;
        writeln!(
            out,
            "  cycle  deployments  failures    AUC   log-loss   hidden model's log-loss   \
             predicted / observed   AUC without learning"
        )?;
        let prior = c.runs.iter().position(|r| r.policy == Policy::NoLearning);
        for (k, cy) in s.curves[i].iter().enumerate() {
            let f = |x: Option<f64>| x.map_or("-".to_string(), |v| format!("{v:.3}"));
            let without = prior.and_then(|p| s.curves[p].get(k)).and_then(|c| c.failure_auc);
            writeln!(
                out,
                "  {:>5}  {:>11}  {:>8}  {:>5}  {:>9}  {:>24}  {:>20}  {:>21}",
                cy.cycle,
                cy.deployments,
                cy.failures,
                f(cy.failure_auc),
                f(cy.log_loss),
                f(cy.generating_log_loss),
                format!("{} / {}", f(cy.mean_predicted), f(cy.observed_rate)),
                f(without)
            )?;
        }
        let r = &c.runs[i];
        let versions = match r.model_versions.as_slice() {
            [] => "none".to_string(),
            [one] => one.clone(),
            [first, .., last] => format!("{} ({first} to {last})", r.model_versions.len()),
        };
        writeln!(
            out,
            "  learn stage in the topology: {}; model versions on commands: {versions}",
            if r.learn_stage { "yes" } else { "no" },
        )?;
    }
    let t = &s.targets;
    let f = |x: Option<f64>| x.map_or("-".to_string(), |v| format!("{v:.3}"));
    writeln!(
        out,
        "\nTargets (patchline vs CVSS-FIFO): MTTP KEV {} (target 70% lower), KEV exposure-days {} (target 60% lower), success {:.1}% (target 95%), AUC first half {} -> second half {} (target: rising): {}",
        change(t.mttp_kev_reduction),
        change(t.exposure_days_reduction),
        100.0 * t.success_rate,
        f(t.auc_first_half),
        f(t.auc_second_half),
        if t.met { "all met" } else { "NOT all met" }
    )?;
    Ok(())
}
