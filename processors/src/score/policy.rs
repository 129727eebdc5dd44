//! Remediation policy: SLA days per SSVC decision and the KEV due-date rule. Invariant: a due date
//! is never later than a KEV entry's due date, and the policy version is recorded on every
//! exposure it shaped.

use crate::events::{KevEntry, SsvcDecision};

/// Version of the built-in policy.
pub const POLICY_VERSION: &str = "default-2026.1";

/// SLA days per decision, counted from the day the exposure was first seen.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Policy {
    pub version: String,
    pub act_days: i32,
    pub attend_days: i32,
    pub track_star_days: i32,
    pub track_days: i32,
}

impl Default for Policy {
    /// Act within 14 days (the BOD 22-01 KEV timeline), Attend 30, Track* 90, Track 180.
    fn default() -> Self {
        Policy {
            version: POLICY_VERSION.to_string(),
            act_days: 14,
            attend_days: 30,
            track_star_days: 90,
            track_days: 180,
        }
    }
}

impl Policy {
    /// Due day for an exposure first seen on `first_seen_day`.
    pub fn due_date(
        &self,
        decision: SsvcDecision,
        first_seen_day: i32,
        kev: Option<&KevEntry>,
    ) -> i32 {
        let sla = match decision {
            SsvcDecision::Act => self.act_days,
            SsvcDecision::Attend => self.attend_days,
            SsvcDecision::TrackStar => self.track_star_days,
            SsvcDecision::Track => self.track_days,
        };
        let by_sla = first_seen_day + sla;
        match kev.and_then(|k| k.due_date) {
            Some(kev_due) => by_sla.min(kev_due.max(first_seen_day)),
            None => by_sla,
        }
    }
}
