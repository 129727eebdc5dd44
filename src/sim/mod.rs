//! The fleet simulator: a world of assets, software, scanners, advisory and KEV feeds, an
//! executor with hidden failure probabilities and an operator, run in closed loop against
//! patchline (on the embedded bus) or a baseline, with a scorecard of the outcome.
//!
//! - [`catalog`]: products, releases and prevalence from the bundled real CVE and KEV data;
//! - [`assets`]: the fleet, generated as a stream; [`world`]: ground truth, feeds and scans;
//! - [`failure`]: the hidden failure model; [`executor`]: commands in, verified, outcomes out;
//! - [`fifo`]: the CVSS-FIFO baseline; [`run`]: one policy's closed loop; [`emit`]: the
//!   world's inputs as files, streamed, for any fleet size;
//! - [`pipeline`]: what the loops on either bus share; [`kafka`] and [`lockstep`]: the loop
//!   with the pipeline on a Kafka broker, in lockstep with the simulated clock (the same world,
//!   but the broker orders concurrent records, so its commands may vary from run to run);
//! - [`metrics`]: the scorecard and learning curve; [`report`] and [`html`]: how they are shown.
//!
//! Invariant: a simulation is a pure function of its [`SimConfig`]: the same flags give the same
//! scorecard on every machine, and every policy of one simulation faces the same world.

pub mod assets;
pub mod catalog;
pub mod emit;
pub mod executor;
pub mod failure;
pub mod fifo;
pub mod html;
pub mod kafka;
pub mod lockstep;
pub mod metrics;
pub mod pipeline;
pub mod report;
pub mod rng;
pub mod run;
pub mod world;

use crate::error::{CliError, Result};
use std::sync::Arc;

/// The day the simulated weeks end by default: 2024-10-24, the snapshot day of the bundled CVE
/// records. Both feeds are complete up to it (41 KEV additions and 65 CVE publications fall in
/// the eight weeks before), while the later KEV entries refer to CVEs whose records the snapshot
/// no longer follows (the bundled data's as-of day, 2026-01-30, has one KEV addition and no new
/// CVE in the eight weeks before it).
pub const DEFAULT_END: &str = "2024-10-24";

/// What to simulate.
#[derive(Debug, Clone)]
pub struct SimConfig {
    /// Assets present at the start (2% more join during the run).
    pub assets: usize,
    /// Simulated days.
    pub days: i64,
    pub seed: u64,
    /// The last simulated day (days since the epoch).
    pub end_day: i64,
}

impl SimConfig {
    /// Checks the flags and resolves the end date.
    pub fn new(assets: usize, days: i64, seed: u64, end: &str) -> Result<SimConfig> {
        let end_day = crate::feeds::days_from_ymd(end)
            .ok_or_else(|| CliError::Config(format!("--end {end}: expected YYYY-MM-DD")))?;
        if assets == 0 || days <= 0 {
            return Err(CliError::Config("--assets and --days must be positive".into()));
        }
        Ok(SimConfig { assets, days, seed, end_day: i64::from(end_day) })
    }
}

/// The three runs of the demo, in scorecard order.
pub struct Comparison {
    pub config: SimConfig,
    pub runs: Vec<run::Run>,
}

/// Runs patchline, patchline without learning and CVSS-FIFO over the same world.
pub async fn compare(
    config: &SimConfig,
    progress: &mut dyn FnMut(&run::Progress),
) -> Result<Comparison> {
    let catalog = Arc::new(catalog::Catalog::bundled(config.seed)?);
    let mut runs = Vec::new();
    for policy in [run::Policy::Patchline, run::Policy::NoLearning, run::Policy::CvssFifo] {
        runs.push(run::run(config, catalog.clone(), policy, progress).await?);
    }
    Ok(Comparison { config: config.clone(), runs })
}
