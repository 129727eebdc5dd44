//! Where a command goes in time: the asset's next maintenance window, or, for the emergency lane
//! (KEV or SSVC ACT) when that window is too far away, an emergency change slot outside it.
//!
//! Invariant: a [`Planned`] slot satisfies every guarantee of [`next_slot`] (starts at or after
//! the planning instant, overlaps no freeze, at least `min_slot_minutes` long); it is outside the
//! maintenance window only for the emergency lane, only when the policy enables emergency
//! changes, only when the window's next slot opens more than `max_window_wait_hours` after the
//! planning instant (or there is none within the horizon), and then it lies within one daily
//! emergency period in the asset's time zone and starts before that window's slot.

use super::policy::PlanPolicy;
use super::windows::{describe, next_slot, NoSlot, Slot};
use crate::events::MaintenanceWindow;

/// Where a slot lies.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Placement {
    /// In the maintenance window (or the asset has none).
    Window,
    /// An emergency change outside the window; the window's next slot, if any within the
    /// horizon, starts at `next_window`.
    Emergency { next_window: Option<i64> },
}

/// A slot and where it lies.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Planned {
    pub slot: Slot,
    pub placement: Placement,
}

/// The slot of a command planned at `t` for an asset with `window`, in the given lane.
pub fn plan_slot(
    window: Option<&MaintenanceWindow>,
    t: i64,
    policy: &PlanPolicy,
    emergency: bool,
) -> Result<Planned, NoSlot> {
    let regular = next_slot(window, t, policy);
    let rules = &policy.emergency_changes;
    let in_window = |slot: Slot| Planned { slot, placement: Placement::Window };
    let Some(w) = window.filter(|_| emergency && rules.enabled) else {
        return regular.map(in_window);
    };
    if let Ok(slot) = regular {
        if slot.start - t <= rules.max_wait_ms() {
            return Ok(in_window(slot));
        }
    }
    let daily = MaintenanceWindow {
        time_zone: w.time_zone.clone(),
        days: (1..=7).collect(),
        start_minute: rules.start_minute,
        duration_minutes: rules.duration_minutes,
    };
    match (regular, next_slot(Some(&daily), t, policy)) {
        (Ok(r), Ok(u)) if u.start < r.start => {
            Ok(Planned { slot: u, placement: Placement::Emergency { next_window: Some(r.start) } })
        }
        (Err(NoSlot::BeyondHorizon), Ok(u)) => {
            Ok(Planned { slot: u, placement: Placement::Emergency { next_window: None } })
        }
        (regular, _) => regular.map(in_window),
    }
}

/// The slot in words, in the asset's local time, saying why an emergency change is outside the
/// window.
pub fn describe_planned(
    window: Option<&MaintenanceWindow>,
    planned: Planned,
    t: i64,
    policy: &PlanPolicy,
) -> String {
    let slot = describe(window, planned.slot);
    match planned.placement {
        Placement::Window => slot,
        Placement::Emergency { next_window } => {
            let wait = match next_window {
                Some(start) => {
                    format!("opens in {:.1} days", (start - t) as f64 / 86_400_000.0)
                }
                None => "is beyond the planning horizon".to_string(),
            };
            format!(
                "emergency slot {} (outside the maintenance window: its next slot {wait}, more \
                 than the {} h the policy allows the emergency lane to wait)",
                slot.trim_start_matches("window "),
                policy.emergency_changes.max_window_wait_hours
            )
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::time::days_from_ymd;

    const HOUR: i64 = 3_600_000;

    fn day(ymd: &str) -> i64 {
        i64::from(days_from_ymd(ymd).unwrap_or(0)) * 86_400_000
    }

    /// Saturdays 01:00-05:00 UTC.
    fn saturdays() -> MaintenanceWindow {
        MaintenanceWindow {
            time_zone: "UTC".into(),
            days: vec![6],
            start_minute: 60,
            duration_minutes: 240,
        }
    }

    #[test]
    fn the_emergency_lane_takes_tonights_slot_when_the_window_is_days_away() {
        let p = PlanPolicy::default();
        let t = day("2026-02-03") + 10 * HOUR; // Tuesday 10:00 UTC
        let w = saturdays();
        let standard = plan_slot(Some(&w), t, &p, false).expect("slot");
        assert_eq!(standard.slot.start, day("2026-02-07") + HOUR);
        assert_eq!(standard.placement, Placement::Window);
        let urgent = plan_slot(Some(&w), t, &p, true).expect("slot");
        assert_eq!(
            urgent.slot,
            Slot { start: day("2026-02-04"), end: day("2026-02-04") + 6 * HOUR }
        );
        assert_eq!(
            urgent.placement,
            Placement::Emergency { next_window: Some(day("2026-02-07") + HOUR) }
        );
        let text = describe_planned(Some(&w), urgent, t, &p);
        assert!(text.starts_with("emergency slot Wed 2026-02-04 00:00 to 06:00 UTC"), "{text}");
        assert!(text.contains("its next slot opens in 3.6 days"), "{text}");
    }

    #[test]
    fn a_window_within_the_allowed_wait_is_kept() {
        let p = PlanPolicy::default();
        let t = day("2026-02-06") + 10 * HOUR; // Friday 10:00, the window opens in 15 h
        let w = saturdays();
        let planned = plan_slot(Some(&w), t, &p, true).expect("slot");
        assert_eq!(planned.slot.start, day("2026-02-07") + HOUR);
        assert_eq!(planned.placement, Placement::Window);
    }

    #[test]
    fn emergency_changes_respect_the_switch_and_freezes() {
        let t = day("2026-02-03") + 10 * HOUR;
        let w = saturdays();
        let mut off = PlanPolicy::default();
        off.emergency_changes.enabled = false;
        let planned = plan_slot(Some(&w), t, &off, true).expect("slot");
        assert_eq!(planned.placement, Placement::Window);
        let frozen = PlanPolicy {
            freezes: vec![crate::plan::Freeze::new(
                day("2026-02-04"),
                day("2026-02-05"),
                "release",
            )],
            ..PlanPolicy::default()
        };
        let planned = plan_slot(Some(&w), t, &frozen, true).expect("slot");
        assert_eq!(planned.slot.start, day("2026-02-05"), "the next night after the freeze");
        let no_window = plan_slot(None, t, &PlanPolicy::default(), true).expect("slot");
        assert_eq!((no_window.slot.start, no_window.placement), (t, Placement::Window));
    }
}
