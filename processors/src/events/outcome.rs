//! Deployment outcome: what an executor reports after running a command, or what an operator
//! reports to lift a halt. Keyed by `asset_id`. Invariant: an outcome names the command it is
//! about by `command_id`; `RESUMED` is only meaningful for a `PAUSE` command (the operator lifted
//! the halt), every other status for a `DEPLOY` or `ROLLBACK`.

use super::HealthStatus;
use serde::{Deserialize, Serialize};

/// Result of one command on one asset.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DeploymentOutcome {
    /// Command that was run.
    pub command_id: String,
    /// Asset it ran on.
    pub asset_id: String,
    /// Result.
    pub status: OutcomeStatus,
    /// When execution started.
    pub started_at: i64,
    /// When execution finished.
    pub finished_at: i64,
    /// Whether the asset rebooted.
    #[serde(default)]
    pub reboot: bool,
    /// Health before execution.
    #[serde(default)]
    pub health_before: Option<HealthStatus>,
    /// Health after execution.
    #[serde(default)]
    pub health_after: Option<HealthStatus>,
    /// Error text on failure.
    #[serde(default)]
    pub error: Option<String>,
    /// Executor that ran the command, e.g. `awx`, `ssm`.
    #[serde(default)]
    pub executor: String,
}

/// Outcome status.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum OutcomeStatus {
    /// The command ran and the asset is healthy.
    Succeeded,
    /// The command failed; the asset may be half-changed (the planner issues a `ROLLBACK`).
    Failed,
    /// The executor already reverted the change itself (no `ROLLBACK` is issued).
    RolledBack,
    /// The executor could not run the command within its window.
    TimedOut,
    /// Operator event on a `PAUSE` command: the halt is lifted and the campaign resumes.
    Resumed,
}
