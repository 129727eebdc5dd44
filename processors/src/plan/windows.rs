//! When a command may run on an asset: inside one occurrence of the asset's weekly maintenance
//! window, in its IANA time zone, and outside every change freeze.
//!
//! Invariant: a [`Slot`] returned by [`next_slot`] starts at or after the planning instant, lies
//! within a single window occurrence (or, for an asset without a window, within the unwindowed
//! slot length of its start), overlaps no freeze, and is at least `min_slot_minutes` long.
//!
//! Local times are resolved like cron does across daylight-saving changes: a start time that
//! falls in the spring-forward gap moves to the first valid local time after it; a start time
//! that occurs twice in the autumn takes the first occurrence. A window lasts its duration in
//! real (UTC) time.

use super::policy::{Freeze, PlanPolicy};
use crate::events::MaintenanceWindow;
use chrono::{Datelike, Days, LocalResult, NaiveDate, NaiveDateTime, TimeZone};
use chrono_tz::Tz;

const MINUTE_MS: i64 = 60_000;
const DAY_MS: i64 = 86_400_000;

/// An interval `[start, end)` in milliseconds since the epoch (UTC).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Slot {
    pub start: i64,
    pub end: i64,
}

/// Why an asset cannot be scheduled.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NoSlot {
    /// The maintenance window is not usable (unknown time zone, no days, bad minutes).
    InvalidWindow(String),
    /// No usable slot within the policy's horizon (freezes, short windows).
    BeyondHorizon,
}

/// A checked weekly window.
#[derive(Debug, Clone)]
pub struct Weekly {
    tz: Tz,
    days: [bool; 8],
    start_minute: u32,
    duration_ms: i64,
}

impl Weekly {
    /// Checks a window: a known IANA zone, days in 1..=7, a start within the day and a duration
    /// of one minute to one week.
    pub fn parse(w: &MaintenanceWindow) -> Result<Weekly, NoSlot> {
        let bad = |why: String| Err(NoSlot::InvalidWindow(why));
        let tz: Tz = match w.time_zone.parse() {
            Ok(tz) => tz,
            Err(_) => return bad(format!("unknown time zone {}", w.time_zone)),
        };
        let mut days = [false; 8];
        for d in &w.days {
            match usize::try_from(*d) {
                Ok(i @ 1..=7) => days[i] = true,
                _ => return bad(format!("day {d} is not 1 (Monday) to 7 (Sunday)")),
            }
        }
        if !days.contains(&true) {
            return bad("no days".into());
        }
        let Ok(start_minute @ 0..1440) = u32::try_from(w.start_minute) else {
            return bad(format!("start minute {} is not within a day", w.start_minute));
        };
        if !(1..=7 * 1440).contains(&w.duration_minutes) {
            return bad(format!(
                "duration {} minutes is not 1 minute to 1 week",
                w.duration_minutes
            ));
        }
        Ok(Weekly {
            tz,
            days,
            start_minute,
            duration_ms: i64::from(w.duration_minutes) * MINUTE_MS,
        })
    }

    /// The time zone.
    pub fn tz(&self) -> Tz {
        self.tz
    }

    /// The UTC instant of the window's start on local date `date`.
    fn start_on(&self, date: NaiveDate) -> Option<i64> {
        let midnight = date.and_hms_opt(0, 0, 0)?;
        let mut local: NaiveDateTime =
            midnight.checked_add_signed(chrono::Duration::minutes(i64::from(self.start_minute)))?;
        // A start in a spring-forward gap moves forward until it exists (gaps are < 2 hours).
        for _ in 0..8 {
            match self.tz.from_local_datetime(&local) {
                LocalResult::Single(t) => return Some(t.timestamp_millis()),
                LocalResult::Ambiguous(first, _) => return Some(first.timestamp_millis()),
                LocalResult::None => {
                    local = local.checked_add_signed(chrono::Duration::minutes(15))?;
                }
            }
        }
        None
    }

    /// Occurrences `(start, end)` that end after `from`, in start order, up to `until`.
    fn occurrences(&self, from: i64, until: i64) -> impl Iterator<Item = (i64, i64)> + '_ {
        let first = self
            .tz
            .timestamp_millis_opt(from)
            .single()
            .map(|t| t.date_naive())
            .and_then(|d| d.checked_sub_days(Days::new(8)));
        let days = ((until - from).max(0) / DAY_MS + 10) as u64;
        (0..days)
            .filter_map(move |i| first.and_then(|d| d.checked_add_days(Days::new(i))))
            .filter(|d| self.days[d.weekday().number_from_monday() as usize])
            .filter_map(|d| self.start_on(d))
            .map(|s| (s, s + self.duration_ms))
            .filter(move |(s, e)| *e > from && *s <= until)
    }
}

/// The first slot at or after `t` for an asset with `window` (none: always open).
pub fn next_slot(
    window: Option<&MaintenanceWindow>,
    t: i64,
    policy: &PlanPolicy,
) -> Result<Slot, NoSlot> {
    let until = t + policy.horizon_ms();
    let min = policy.min_slot_ms();
    let mut not_before = t;
    match window {
        None => {
            for _ in 0..1000 {
                // A freeze covering the instant moves the whole slot after it.
                while let Some(f) = policy
                    .freezes
                    .iter()
                    .find(|f| f.start_ms <= not_before && not_before < f.end_ms)
                {
                    not_before = f.end_ms;
                }
                if not_before > until {
                    break;
                }
                let end = not_before + policy.unwindowed_slot_ms();
                match clip(not_before, end, min, &policy.freezes) {
                    Ok(slot) => return Ok(slot),
                    Err(next) => not_before = next,
                }
            }
            Err(NoSlot::BeyondHorizon)
        }
        Some(w) => {
            let weekly = Weekly::parse(w)?;
            for (start, end) in weekly.occurrences(t, until) {
                let from = start.max(not_before);
                if from >= end {
                    continue;
                }
                match clip(from, end, min, &policy.freezes) {
                    Ok(slot) if slot.start <= until => return Ok(slot),
                    Ok(_) => break,
                    Err(next) => not_before = not_before.max(next),
                }
            }
            Err(NoSlot::BeyondHorizon)
        }
    }
}

/// The first part of `[from, end)` at least `min` long that overlaps no freeze; otherwise the
/// instant from which to look again.
fn clip(mut from: i64, end: i64, min: i64, freezes: &[Freeze]) -> Result<Slot, i64> {
    loop {
        if end - from < min {
            return Err(from);
        }
        let blocking = freezes
            .iter()
            .filter(|f| f.start_ms < end && f.end_ms > from)
            .min_by_key(|f| (f.start_ms, f.end_ms));
        match blocking {
            None => return Ok(Slot { start: from, end }),
            Some(f) if f.start_ms - from >= min => {
                return Ok(Slot { start: from, end: f.start_ms })
            }
            Some(f) => from = f.end_ms,
        }
    }
}

/// A slot in the asset's local time, e.g. `Tue 2026-02-03 02:00-05:00 Europe/Berlin`.
pub fn describe(window: Option<&MaintenanceWindow>, slot: Slot) -> String {
    let utc = |ms: i64| {
        chrono::DateTime::from_timestamp_millis(ms)
            .map(|t| t.format("%Y-%m-%d %H:%M").to_string())
            .unwrap_or_default()
    };
    match window.and_then(|w| Weekly::parse(w).ok()) {
        Some(weekly) => {
            let tz = weekly.tz();
            let local = |ms: i64, f: &str| {
                tz.timestamp_millis_opt(ms).single().map(|t| t.format(f).to_string())
            };
            format!(
                "window {} to {} {} ({} UTC)",
                local(slot.start, "%a %Y-%m-%d %H:%M").unwrap_or_default(),
                local(slot.end, "%H:%M").unwrap_or_default(),
                tz.name(),
                utc(slot.start)
            )
        }
        None => format!("no maintenance window: {} to {} UTC", utc(slot.start), utc(slot.end)),
    }
}

#[cfg(test)]
#[path = "windows_tests.rs"]
mod tests;
