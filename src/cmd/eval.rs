//! `patchline eval`: parses the flags, runs the time-split backtest and prints the report.
//!
//! Invariant: this file holds no evaluation logic; it converts flags to [`EvalOptions`] (rejecting
//! an invalid date before any file is read) and prints exactly one report to stdout.

use crate::error::{CliError, Result};
use crate::eval::{self, report, EvalOptions};
use crate::feeds::days_from_ymd;
use std::path::PathBuf;

/// Runs the evaluation and prints it, as JSON when `json` is set.
pub fn run(
    data: PathBuf,
    kev_labels: PathBuf,
    as_of: &str,
    horizon: i32,
    save_model: Option<PathBuf>,
    json: bool,
) -> Result<()> {
    let as_of = days_from_ymd(as_of)
        .ok_or_else(|| CliError::Config(format!("--as-of {as_of:?} is not a YYYY-MM-DD date")))?;
    let report = eval::run(&EvalOptions { data, kev_labels, as_of, horizon_days: horizon })?;
    if let Some(path) = save_model {
        // Version 1, stamped at the as-of day: the first weights readers load.
        let snapshot = report.training.model.snapshot(
            patchline_processors::learn::EXPLOIT_MODEL,
            1,
            i64::from(as_of) * 86_400_000,
        );
        let text = serde_json::to_string(&snapshot)
            .map_err(|e| CliError::Eval(format!("cannot encode the model: {e}")))?;
        std::fs::write(&path, text + "\n")
            .map_err(|e| CliError::Eval(format!("{}: {e}", path.display())))?;
    }
    if json {
        let text = serde_json::to_string_pretty(&report::to_json(&report))
            .map_err(|e| CliError::Eval(format!("cannot encode the report: {e}")))?;
        println!("{text}");
    } else {
        print!("{}", report::to_text(&report));
    }
    Ok(())
}
