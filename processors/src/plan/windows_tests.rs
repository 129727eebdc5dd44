//! Slots stay inside maintenance windows (checked minute by minute against an independent
//! fixed-offset oracle), outside freezes, and follow the daylight-saving rules of the module doc.

use super::*;
use proptest::prelude::*;

fn utc(y: i32, m: u32, d: u32, h: u32, min: u32) -> i64 {
    chrono::NaiveDate::from_ymd_opt(y, m, d)
        .and_then(|d| d.and_hms_opt(h, min, 0))
        .map(|t| t.and_utc().timestamp_millis())
        .unwrap_or(0)
}

fn window(tz: &str, days: &[i32], start_minute: i32, duration_minutes: i32) -> MaintenanceWindow {
    MaintenanceWindow { time_zone: tz.into(), days: days.to_vec(), start_minute, duration_minutes }
}

#[test]
fn the_next_occurrence_in_local_time() {
    let p = PlanPolicy::default();
    // Thursday 2026-01-29 12:00 UTC; window Tuesdays 02:00 Berlin (CET, UTC+1) for 3 hours.
    let w = window("Europe/Berlin", &[2], 120, 180);
    let s = next_slot(Some(&w), utc(2026, 1, 29, 12, 0), &p).expect("slot");
    assert_eq!(s, Slot { start: utc(2026, 2, 3, 1, 0), end: utc(2026, 2, 3, 4, 0) });
    assert!(describe(Some(&w), s).contains("Tue 2026-02-03 02:00 to 05:00 Europe/Berlin"));
    // Planning inside an open window uses its rest.
    let inside = next_slot(Some(&w), utc(2026, 2, 3, 2, 0), &p).expect("slot");
    assert_eq!(inside, Slot { start: utc(2026, 2, 3, 2, 0), end: utc(2026, 2, 3, 4, 0) });
    // Less than 30 minutes left: the week after.
    let late = next_slot(Some(&w), utc(2026, 2, 3, 3, 45), &p).expect("slot");
    assert_eq!(late.start, utc(2026, 2, 10, 1, 0));
}

#[test]
fn daylight_saving_gaps_and_repeats() {
    let p = PlanPolicy::default();
    // 2026-03-29: Berlin jumps from 02:00 CET to 03:00 CEST; 02:30 does not exist.
    let spring = window("Europe/Berlin", &[7], 150, 60);
    let s = next_slot(Some(&spring), utc(2026, 3, 28, 0, 0), &p).expect("slot");
    assert_eq!(s.start, utc(2026, 3, 29, 1, 0), "moved to 03:00 CEST");
    assert_eq!(s.end - s.start, 60 * MINUTE_MS);
    // 2026-10-25: 02:30 happens twice; the first (CEST, 00:30 UTC) is taken.
    let autumn = window("Europe/Berlin", &[7], 150, 60);
    let a = next_slot(Some(&autumn), utc(2026, 10, 24, 0, 0), &p).expect("slot");
    assert_eq!(a.start, utc(2026, 10, 25, 0, 30));
    // New York: a Sunday 01:30 window on the autumn change is also the first 01:30 (EDT).
    let ny = window("America/New_York", &[7], 90, 120);
    let n = next_slot(Some(&ny), utc(2026, 10, 31, 0, 0), &p).expect("slot");
    assert_eq!(n.start, utc(2026, 11, 1, 5, 30));
}

#[test]
fn freezes_and_bad_windows() {
    let mut p = PlanPolicy::default();
    let w = window("UTC", &[1, 2, 3, 4, 5], 60, 120);
    // A freeze over the whole first week pushes the slot past it.
    p.freezes = vec![Freeze::new(utc(2026, 1, 5, 0, 0), utc(2026, 1, 12, 0, 0), "release")];
    let s = next_slot(Some(&w), utc(2026, 1, 5, 0, 0), &p).expect("slot");
    assert_eq!(s.start, utc(2026, 1, 12, 1, 0));
    // A freeze starting mid-window cuts the slot short.
    p.freezes = vec![Freeze::new(utc(2026, 1, 5, 2, 0), utc(2026, 1, 5, 6, 0), "audit")];
    let cut = next_slot(Some(&w), utc(2026, 1, 5, 0, 0), &p).expect("slot");
    assert_eq!(cut, Slot { start: utc(2026, 1, 5, 1, 0), end: utc(2026, 1, 5, 2, 0) });
    // Without a window: the unwindowed length, after any freeze covering the instant.
    let free = next_slot(None, utc(2026, 1, 5, 3, 0), &p).expect("slot");
    assert_eq!(free.start, utc(2026, 1, 5, 6, 0));
    assert_eq!(free.end - free.start, p.unwindowed_slot_ms());
    // A freeze longer than the horizon leaves nothing.
    p.freezes = vec![Freeze::new(0, utc(2030, 1, 1, 0, 0), "forever")];
    assert_eq!(next_slot(None, utc(2026, 1, 5, 0, 0), &p), Err(NoSlot::BeyondHorizon));
    for bad in [
        window("Mars/Olympus", &[1], 0, 60),
        window("UTC", &[], 0, 60),
        window("UTC", &[8], 0, 60),
        window("UTC", &[1], 1440, 60),
        window("UTC", &[1], 0, 0),
    ] {
        assert!(matches!(next_slot(Some(&bad), 0, &p), Err(NoSlot::InvalidWindow(_))), "{bad:?}");
    }
}

/// Zones without daylight saving since long before 2020, with their UTC offset in minutes.
const FIXED_ZONES: [(&str, i64); 6] = [
    ("UTC", 0),
    ("Asia/Tokyo", 540),
    ("Asia/Kolkata", 330),
    ("Asia/Kathmandu", 345),
    ("America/Phoenix", -420),
    ("Etc/GMT+3", -180),
];

/// Independent oracle: is instant `x` inside the weekly window, computed with plain arithmetic
/// on the fixed offset (1970-01-01 was a Thursday)?
fn inside(w: &MaintenanceWindow, offset_min: i64, x: i64) -> bool {
    let local_min = x.div_euclid(MINUTE_MS) + offset_min;
    let day = local_min.div_euclid(1440);
    let minute_of_week = (day + 3).rem_euclid(7) * 1440 + local_min.rem_euclid(1440);
    w.days.iter().any(|d| {
        let start = i64::from(d - 1) * 1440 + i64::from(w.start_minute);
        (minute_of_week - start).rem_euclid(7 * 1440) < i64::from(w.duration_minutes)
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]
    #[test]
    fn slots_lie_in_windows_and_outside_freezes(
        zone in 0usize..FIXED_ZONES.len(),
        days in proptest::collection::btree_set(1i32..=7, 1..4),
        start_minute in 0i32..1440,
        duration in 30i32..600,
        t in utc(2024, 1, 1, 0, 0)..utc(2028, 1, 1, 0, 0),
        freezes in proptest::collection::vec((0i64..30 * 24 * 60, 60i64..5 * 24 * 60), 0..4),
    ) {
        let (tz, offset) = FIXED_ZONES[zone];
        let w = window(tz, &days.into_iter().collect::<Vec<_>>(), start_minute, duration);
        let p = PlanPolicy {
            freezes: freezes
                .iter()
                .map(|(at, len)| Freeze::new(t + at * MINUTE_MS, t + (at + len) * MINUTE_MS, "f"))
                .collect(),
            ..PlanPolicy::default()
        };
        // Freezes cover at most 20 of the 60 days of the horizon: a weekly window remains.
        let slot = next_slot(Some(&w), t, &p);
        prop_assert!(slot.is_ok(), "{slot:?}");
        if let Ok(s) = slot {
            prop_assert!(s.start >= t);
            prop_assert!(s.end - s.start >= p.min_slot_ms());
            let mut x = s.start;
            while x < s.end {
                prop_assert!(inside(&w, offset, x), "{x} outside {w:?}");
                prop_assert!(p.freezes.iter().all(|f| x < f.start_ms || x >= f.end_ms));
                x += MINUTE_MS;
            }
            prop_assert!(inside(&w, offset, s.end - 1));
        }
    }
}
