//! The plan policy: health gates, waits per lane, wave sizes, concurrency caps, freeze periods.
//! Policy is data (TOML, every key optional), like the scoring policy.
//!
//! Invariant: a [`PlanPolicy`] returned by [`PlanPolicy::from_toml`] (or `default()`) is usable
//! as is: thresholds and shares lie in `(0, 1]`, every wait and size is positive, and every
//! freeze period is a non-empty UTC interval `[start_ms, end_ms)`.

use crate::error::ProcessError;
use crate::time::days_from_ymd;
use serde::Deserialize;
use std::collections::BTreeMap;

const MINUTE_MS: i64 = 60_000;
const DAY_MS: i64 = 86_400_000;

/// Waits of one lane. The emergency lane (SSVC ACT or KEV) uses shorter ones; nothing else about
/// a plan changes with the lane.
#[derive(Debug, Clone, PartialEq)]
pub struct LanePolicy {
    /// A campaign with only production assets opens its canary this long after its first
    /// exposure, so the canary is chosen from the whole campaign rather than the first arrival;
    /// an open wave also takes late members of its tier for this long.
    pub settle_minutes: i64,
    /// A wave that passed its gate bakes this long before the next wave opens.
    pub soak_minutes: i64,
    /// A command without an outcome this long after its window closed counts as failed.
    pub outcome_grace_minutes: i64,
}

impl Default for LanePolicy {
    fn default() -> Self {
        LanePolicy { settle_minutes: 10, soak_minutes: 120, outcome_grace_minutes: 240 }
    }
}

/// A lane as written in TOML: unset keys keep the lane's own defaults.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct LaneSpec {
    settle_minutes: Option<i64>,
    soak_minutes: Option<i64>,
    outcome_grace_minutes: Option<i64>,
}

impl LaneSpec {
    fn over(self, d: LanePolicy) -> LanePolicy {
        LanePolicy {
            settle_minutes: self.settle_minutes.unwrap_or(d.settle_minutes),
            soak_minutes: self.soak_minutes.unwrap_or(d.soak_minutes),
            outcome_grace_minutes: self.outcome_grace_minutes.unwrap_or(d.outcome_grace_minutes),
        }
    }
}

fn standard_lane<'de, D: serde::Deserializer<'de>>(d: D) -> Result<LanePolicy, D::Error> {
    Ok(LaneSpec::deserialize(d)?.over(LanePolicy::default()))
}

fn emergency_lane<'de, D: serde::Deserializer<'de>>(d: D) -> Result<LanePolicy, D::Error> {
    Ok(LaneSpec::deserialize(d)?.over(LanePolicy::emergency()))
}

impl LanePolicy {
    fn emergency() -> Self {
        LanePolicy { settle_minutes: 1, soak_minutes: 15, outcome_grace_minutes: 60 }
    }
    pub fn settle_ms(&self) -> i64 {
        self.settle_minutes * MINUTE_MS
    }
    pub fn soak_ms(&self) -> i64 {
        self.soak_minutes * MINUTE_MS
    }
    pub fn grace_ms(&self) -> i64 {
        self.outcome_grace_minutes * MINUTE_MS
    }
}

/// Size limits of a ring's waves.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RingPolicy {
    /// Never more assets than this in one wave of the ring.
    pub max_assets: usize,
    /// Expected failures a wave may risk: the wave holds at most `failure_budget / p` assets
    /// for a predicted failure probability `p` (at least one), so a riskier patch gets a
    /// smaller wave.
    pub failure_budget: f64,
    /// Never more than this share of the campaign's assets in one wave of the ring (at least
    /// one asset), so a small campaign still starts with a small canary.
    pub max_share: f64,
}

/// A cap on assets in flight: `max(min, floor(share * population))`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Cap {
    pub share: f64,
    pub min: usize,
}

impl Cap {
    /// The cap for a population.
    pub fn limit(&self, population: usize) -> usize {
        ((self.share * population as f64).floor() as usize).max(self.min)
    }
}

/// Emergency changes: when the emergency lane (KEV or SSVC ACT) may deploy outside an asset's
/// maintenance window. If the asset's next window opens more than `max_window_wait_hours` after
/// planning, the command takes the asset's next daily emergency slot instead (`start_minute`
/// local time in the window's time zone, `duration_minutes` long), unless the window comes
/// first. Freezes, caps, waves and gates apply as to any command. Defaults: on, 24 hours,
/// 00:00 to 06:00 local.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct EmergencyChanges {
    pub enabled: bool,
    pub max_window_wait_hours: i64,
    pub start_minute: i32,
    pub duration_minutes: i32,
}

impl Default for EmergencyChanges {
    fn default() -> Self {
        EmergencyChanges {
            enabled: true,
            max_window_wait_hours: 24,
            start_minute: 0,
            duration_minutes: 360,
        }
    }
}

impl EmergencyChanges {
    pub fn max_wait_ms(&self) -> i64 {
        self.max_window_wait_hours * 60 * MINUTE_MS
    }
}

/// A change freeze: no command may run in `[start_ms, end_ms)` (UTC).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(try_from = "FreezeSpec")]
pub struct Freeze {
    pub start_ms: i64,
    pub end_ms: i64,
    pub reason: String,
}

impl Freeze {
    /// A freeze over `[start_ms, end_ms)`.
    pub fn new(start_ms: i64, end_ms: i64, reason: &str) -> Freeze {
        Freeze { start_ms, end_ms, reason: reason.to_string() }
    }
}

/// A freeze as written in TOML: `from` and `to` are UTC dates (`to` included) or instants in
/// milliseconds since the epoch written as integers (`to` excluded).
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct FreezeSpec {
    from: toml::Value,
    to: toml::Value,
    #[serde(default)]
    reason: String,
}

impl TryFrom<FreezeSpec> for Freeze {
    type Error = String;
    fn try_from(s: FreezeSpec) -> Result<Freeze, String> {
        let at = |v: &toml::Value, end: bool| match v {
            toml::Value::Integer(ms) => Ok(*ms),
            toml::Value::String(d) => days_from_ymd(d)
                .map(|day| (i64::from(day) + i64::from(end)) * DAY_MS)
                .ok_or_else(|| format!("freeze: bad date {d}")),
            other => Err(format!("freeze: expected a date or milliseconds, got {other}")),
        };
        let f =
            Freeze { start_ms: at(&s.from, false)?, end_ms: at(&s.to, true)?, reason: s.reason };
        if f.end_ms <= f.start_ms {
            return Err(format!("freeze {}: ends before it starts", f.reason));
        }
        Ok(f)
    }
}

/// The whole plan policy. Defaults are the values below; a TOML file may set any subset.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct PlanPolicy {
    /// Written into every command's `policy_version`.
    pub version: String,
    /// Share of a wave that must succeed for the wave to pass (0.95: one failure in a wave of
    /// fewer than 20 halts the campaign).
    pub success_threshold: f64,
    /// Waits of the standard lane: settle 10 min, soak 2 h, outcome grace 4 h.
    #[serde(deserialize_with = "standard_lane")]
    pub standard: LanePolicy,
    /// Waits of the emergency lane (SSVC ACT or KEV): settle 1 min, soak 15 min, grace 1 h.
    #[serde(deserialize_with = "emergency_lane")]
    pub emergency: LanePolicy,
    /// When the emergency lane may deploy outside maintenance windows (on by default: after
    /// a 24-hour wait, 00:00 to 06:00 local).
    pub emergency_changes: EmergencyChanges,
    /// Canary waves: up to 5 assets and 10% of the campaign, risking 0.25 expected failures.
    pub canary: RingPolicy,
    /// Pilot waves: up to 25 assets and 25% of the campaign, risking 1 expected failure.
    pub pilot: RingPolicy,
    /// Each broad wave may be this many times the previous wave (and at least the pilot size).
    pub broad_growth: f64,
    /// Global blast radius: deployment commands in flight across the fleet.
    pub blast_radius: Cap,
    /// Commands in flight per business service, as a share of the service's assets.
    pub service_cap: Cap,
    /// Per-service caps that replace `service_cap` (service name -> assets in flight).
    pub service_overrides: BTreeMap<String, usize>,
    /// Change freezes.
    pub freezes: Vec<Freeze>,
    /// A window with less time left than this is skipped for the next one.
    pub min_slot_minutes: i64,
    /// Assets without a maintenance window get a slot this long from the planning instant.
    pub unwindowed_slot_minutes: i64,
    /// How far ahead to look for a window; an asset with none in that time is not scheduled.
    pub horizon_days: i64,
    /// A `PAUSE` command stays valid this long.
    pub pause_valid_days: i64,
    /// Resume a halted campaign by itself after this long; `None` (the default): only an
    /// operator's `RESUMED` outcome resumes it.
    pub auto_resume_after_minutes: Option<i64>,
    /// Shadow mode: a shadow command is assumed to succeed this long after its window opens.
    pub shadow_assumed_runtime_minutes: i64,
}

impl Default for PlanPolicy {
    fn default() -> Self {
        PlanPolicy {
            version: "plan-v1".into(),
            success_threshold: 0.95,
            standard: LanePolicy::default(),
            emergency: LanePolicy::emergency(),
            emergency_changes: EmergencyChanges::default(),
            canary: RingPolicy { max_assets: 5, failure_budget: 0.25, max_share: 0.1 },
            pilot: RingPolicy { max_assets: 25, failure_budget: 1.0, max_share: 0.25 },
            broad_growth: 2.0,
            blast_radius: Cap { share: 0.2, min: 1 },
            service_cap: Cap { share: 0.25, min: 1 },
            service_overrides: BTreeMap::new(),
            freezes: Vec::new(),
            min_slot_minutes: 30,
            unwindowed_slot_minutes: 240,
            horizon_days: 60,
            pause_valid_days: 30,
            auto_resume_after_minutes: None,
            shadow_assumed_runtime_minutes: 30,
        }
    }
}

impl PlanPolicy {
    /// Parses and checks a policy file.
    pub fn from_toml(text: &str) -> Result<PlanPolicy, ProcessError> {
        let p: PlanPolicy = toml::from_str(text)
            .map_err(|e| ProcessError::Contract(format!("plan policy: {e}")))?;
        p.check()?;
        Ok(p)
    }

    /// Checks the ranges the planner relies on.
    pub fn check(&self) -> Result<(), ProcessError> {
        let bad = |what: &str| Err(ProcessError::Contract(format!("plan policy: {what}")));
        let unit = |x: f64| x > 0.0 && x <= 1.0;
        if !unit(self.success_threshold) || !unit(self.blast_radius.share) {
            return bad("success_threshold and blast_radius.share must be in (0, 1]");
        }
        if !unit(self.service_cap.share) {
            return bad("service_cap.share must be in (0, 1]");
        }
        for r in [&self.canary, &self.pilot] {
            if r.max_assets == 0 || r.failure_budget <= 0.0 || !unit(r.max_share) {
                return bad(
                    "ring max_assets and failure_budget must be positive, max_share in (0, 1]",
                );
            }
        }
        for l in [&self.standard, &self.emergency] {
            if l.settle_minutes < 0 || l.soak_minutes < 0 || l.outcome_grace_minutes <= 0 {
                return bad("lane waits must not be negative and the grace must be positive");
            }
        }
        let e = &self.emergency_changes;
        if e.max_window_wait_hours < 0
            || !(0..1440).contains(&e.start_minute)
            || !(1..=1440).contains(&e.duration_minutes)
            || i64::from(e.duration_minutes) < self.min_slot_minutes
        {
            return bad("emergency_changes: wait >= 0, start within the day, 1 to 1440 minutes \
                 and at least min_slot_minutes");
        }
        if self.broad_growth < 1.0 {
            return bad("broad_growth must be at least 1");
        }
        if self.min_slot_minutes <= 0 || self.unwindowed_slot_minutes < self.min_slot_minutes {
            return bad("min_slot_minutes must be positive and at most unwindowed_slot_minutes");
        }
        if self.horizon_days <= 0 || self.pause_valid_days <= 0 {
            return bad("horizon_days and pause_valid_days must be positive");
        }
        if self.freezes.iter().any(|f| f.end_ms <= f.start_ms) {
            return bad("a freeze ends before it starts");
        }
        Ok(())
    }

    /// The waits of a lane.
    pub fn lane(&self, emergency: bool) -> &LanePolicy {
        if emergency {
            &self.emergency
        } else {
            &self.standard
        }
    }

    pub fn min_slot_ms(&self) -> i64 {
        self.min_slot_minutes * MINUTE_MS
    }
    pub fn unwindowed_slot_ms(&self) -> i64 {
        self.unwindowed_slot_minutes * MINUTE_MS
    }
    pub fn horizon_ms(&self) -> i64 {
        self.horizon_days * DAY_MS
    }
    pub fn pause_valid_ms(&self) -> i64 {
        self.pause_valid_days * DAY_MS
    }
    pub fn shadow_runtime_ms(&self) -> i64 {
        self.shadow_assumed_runtime_minutes * MINUTE_MS
    }
    pub fn auto_resume_ms(&self) -> Option<i64> {
        self.auto_resume_after_minutes.map(|m| m * MINUTE_MS)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_valid_and_a_file_may_set_any_subset() {
        PlanPolicy::default().check().expect("defaults");
        let p = PlanPolicy::from_toml(
            "success_threshold = 1.0\n[emergency]\nsoak_minutes = 5\n\
             [[freezes]]\nfrom = \"2026-12-20\"\nto = \"2027-01-02\"\nreason = \"year end\"\n\
             [[freezes]]\nfrom = 1000\nto = 2000\n[service_overrides]\npayments = 1\n",
        )
        .expect("valid");
        assert_eq!(p.emergency.soak_minutes, 5);
        assert_eq!(p.emergency.settle_minutes, 1, "unset keys keep the lane's own defaults");
        assert_eq!(p.standard, LanePolicy::default());
        assert_eq!(
            p.freezes[0].start_ms,
            i64::from(days_from_ymd("2026-12-20").unwrap_or(0)) * DAY_MS
        );
        assert_eq!(
            p.freezes[0].end_ms,
            i64::from(days_from_ymd("2027-01-03").unwrap_or(0)) * DAY_MS
        );
        assert_eq!(p.freezes[1], Freeze::new(1000, 2000, ""));
        assert_eq!(p.service_overrides.get("payments"), Some(&1));
        assert!(PlanPolicy::from_toml("success_threshold = 0.0").is_err());
        assert!(PlanPolicy::from_toml("[[freezes]]\nfrom = 5\nto = 5").is_err());
        assert!(PlanPolicy::from_toml("unknown = 1").is_err());
    }

    #[test]
    fn caps_never_drop_below_their_minimum() {
        let c = Cap { share: 0.2, min: 1 };
        assert_eq!(c.limit(0), 1);
        assert_eq!(c.limit(4), 1);
        assert_eq!(c.limit(10), 2);
        assert_eq!(c.limit(1001), 200);
    }
}
