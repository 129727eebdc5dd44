//! Calendar arithmetic for feed timestamps and policy dates, without a date library.
//!
//! Invariant: conversions use the proleptic Gregorian calendar in UTC and are exact inverses:
//! `days_from_ymd(format(ymd_from_days(d))) == Some(d)` for every representable day. Parsers are
//! strict: a string that is not a valid calendar date or time of day yields `None`, never a
//! clamped or rolled-over value.

/// Milliseconds in one day.
pub const MS_PER_DAY: i64 = 86_400_000;

/// Days from 1970-01-01 to the given civil date (which is assumed valid).
fn days_from_civil(year: i64, month: u32, day: u32) -> i64 {
    // Count years from March so the leap day is the last day of the (shifted) year.
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let year_of_era = y.rem_euclid(400);
    let shifted_month = i64::from((month + 9) % 12); // March = 0 .. February = 11
    let day_of_year = (153 * shifted_month + 2) / 5 + i64::from(day) - 1;
    let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    // 719_468 days separate 0000-03-01 from 1970-01-01.
    era * 146_097 + day_of_era - 719_468
}

/// Civil date `(year, month, day)` of a day count since 1970-01-01.
pub fn ymd_from_days(days: i32) -> (i32, u32, u32) {
    let z = i64::from(days) + 719_468;
    let era = z.div_euclid(146_097);
    let day_of_era = z.rem_euclid(146_097);
    let year_of_era =
        (day_of_era - day_of_era / 1460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let shifted_month = (5 * day_of_year + 2) / 153;
    let day = day_of_year - (153 * shifted_month + 2) / 5 + 1;
    let month = if shifted_month < 10 { shifted_month + 3 } else { shifted_month - 9 };
    let year = era * 400 + year_of_era + i64::from(month <= 2);
    // In range by construction: |year| < 2^31 / 365 and month, day are small.
    (year as i32, month as u32, day as u32)
}

fn is_leap(year: i64) -> bool {
    (year % 4 == 0 && year % 100 != 0) || year % 400 == 0
}

fn days_in_month(year: i64, month: u32) -> u32 {
    match month {
        2 if is_leap(year) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Parses exactly `width` ASCII digits.
fn digits(s: &str, width: usize) -> Option<u32> {
    if s.len() != width || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.parse().ok()
}

/// Days since the epoch of a `YYYY-MM-DD` date, e.g. `days_from_ymd("1970-01-02") == Some(1)`.
pub fn days_from_ymd(text: &str) -> Option<i32> {
    let text = text.trim();
    let (year, rest) = text.split_once('-')?;
    let (month, day) = rest.split_once('-')?;
    let year = i64::from(digits(year, 4)?);
    let month = digits(month, 2)?;
    let day = digits(day, 2)?;
    if !(1..=12).contains(&month) || day == 0 || day > days_in_month(year, month) {
        return None;
    }
    i32::try_from(days_from_civil(year, month, day)).ok()
}

/// Milliseconds since the epoch of an ISO 8601 instant such as `2024-01-31T12:00:00`,
/// `2024-01-31T12:00:00Z`, `2024-01-31T12:00:00.123456Z` or `2024-01-31T14:00:00+02:00`.
///
/// A bare date (`2024-01-31`) is midnight. Without a zone designator the time is read as UTC,
/// which is what the CVE and KEV feeds mean. A space may replace the `T`. Fractions beyond
/// milliseconds are truncated.
pub fn ms_from_iso8601(text: &str) -> Option<i64> {
    let text = text.trim();
    let (date, time) = match text.split_once(['T', 't', ' ']) {
        Some((date, time)) => (date, Some(time)),
        None => (text, None),
    };
    let day_ms = i64::from(days_from_ymd(date)?) * MS_PER_DAY;
    let Some(time) = time else {
        return Some(day_ms);
    };

    // Split off the zone designator: `Z`, `+HH:MM`, `-HH:MM`, `+HHMM`, `+HH`, or nothing.
    let (clock, offset_ms) = if let Some(clock) = time.strip_suffix(['Z', 'z']) {
        (clock, 0)
    } else if let Some(pos) = time.rfind(['+', '-']) {
        let (clock, zone) = time.split_at(pos);
        let sign = if zone.starts_with('-') { -1 } else { 1 };
        let zone = zone[1..].replace(':', "");
        let (hours, minutes) = match zone.len() {
            2 => (digits(&zone, 2)?, 0),
            4 => (digits(&zone[..2], 2)?, digits(&zone[2..], 2)?),
            _ => return None,
        };
        if hours > 23 || minutes > 59 {
            return None;
        }
        (clock, sign * (i64::from(hours) * 3_600_000 + i64::from(minutes) * 60_000))
    } else {
        (time, 0)
    };

    let (hms, fraction) = match clock.split_once(['.', ',']) {
        Some((hms, fraction)) => (hms, Some(fraction)),
        None => (clock, None),
    };
    let mut parts = hms.split(':');
    let hour = digits(parts.next()?, 2)?;
    let minute = digits(parts.next()?, 2)?;
    let second = match parts.next() {
        Some(s) => digits(s, 2)?,
        None => 0,
    };
    if parts.next().is_some() || hour > 23 || minute > 59 || second > 60 {
        return None;
    }
    let millis = match fraction {
        None => 0,
        Some(f) if f.is_empty() || !f.bytes().all(|b| b.is_ascii_digit()) => return None,
        Some(f) => {
            let first3: String = f.chars().chain(std::iter::repeat('0')).take(3).collect();
            i64::from(digits(&first3, 3)?)
        }
    };
    let clock_ms =
        (i64::from(hour) * 3600 + i64::from(minute) * 60 + i64::from(second)) * 1000 + millis;
    Some(day_ms + clock_ms - offset_ms)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_dates() {
        assert_eq!(days_from_ymd("1970-01-01"), Some(0));
        assert_eq!(days_from_ymd("1970-01-02"), Some(1));
        assert_eq!(days_from_ymd("1969-12-31"), Some(-1));
        assert_eq!(days_from_ymd("2000-03-01"), Some(11_017));
        assert_eq!(days_from_ymd("2024-01-31"), Some(19_753));
        assert_eq!(days_from_ymd("2026-01-30"), Some(20_483));
        assert_eq!(days_from_ymd(" 2024-02-29 "), Some(19_782));
    }

    #[test]
    fn invalid_dates_are_rejected() {
        for bad in [
            "",
            "2024",
            "2024-1-31",
            "2024-13-01",
            "2024-00-10",
            "2023-02-29",
            "1900-02-29",
            "2024-04-31",
            "24-01-31",
            "2024/01/31",
            "2024-01-3x",
            "2024-01-31T00:00:00",
        ] {
            assert_eq!(days_from_ymd(bad), None, "{bad}");
        }
        assert_eq!(days_from_ymd("2000-02-29"), Some(11_016));
    }

    #[test]
    fn days_round_trip_through_civil_dates() {
        for days in (-800_000..800_000).step_by(997).chain(-2..3) {
            let (y, m, d) = ymd_from_days(days);
            let text = format!("{y:04}-{m:02}-{d:02}");
            if (0..=9999).contains(&y) {
                assert_eq!(days_from_ymd(&text), Some(days), "{text}");
            }
        }
        assert_eq!(ymd_from_days(0), (1970, 1, 1));
        assert_eq!(ymd_from_days(19_782), (2024, 2, 29));
        assert_eq!(ymd_from_days(-1), (1969, 12, 31));
    }

    #[test]
    fn instants_with_and_without_zone_and_fraction() {
        let noon = 19_753 * MS_PER_DAY + 12 * 3_600_000;
        assert_eq!(ms_from_iso8601("2024-01-31T12:00:00"), Some(noon));
        assert_eq!(ms_from_iso8601("2024-01-31T12:00:00Z"), Some(noon));
        assert_eq!(ms_from_iso8601("2024-01-31 12:00:00"), Some(noon));
        assert_eq!(ms_from_iso8601("2024-01-31T12:00"), Some(noon));
        assert_eq!(ms_from_iso8601("2024-01-31T12:00:00.5Z"), Some(noon + 500));
        assert_eq!(ms_from_iso8601("2024-01-31T12:00:00.123456Z"), Some(noon + 123));
        assert_eq!(ms_from_iso8601("2024-01-31T14:00:00+02:00"), Some(noon));
        assert_eq!(ms_from_iso8601("2024-01-31T07:00:00-0500"), Some(noon));
        assert_eq!(ms_from_iso8601("2024-01-31"), Some(19_753 * MS_PER_DAY));
        assert_eq!(ms_from_iso8601("1970-01-01T00:00:00Z"), Some(0));
        assert_eq!(
            ms_from_iso8601("2026-08-21T17:46:43.6019Z"),
            Some(20_686 * MS_PER_DAY + 64_003_601)
        );
    }

    #[test]
    fn invalid_instants_are_rejected() {
        for bad in [
            "",
            "2024-01-31T",
            "2024-01-31T25:00:00",
            "2024-01-31T12:60:00",
            "2024-01-31T12:00:00.Z",
            "2024-01-31T12:00:00+2",
            "2024-01-31T12:00:00+24:00",
            "2024-02-30T00:00:00",
            "2024-01-31T1:00:00",
            "2024-01-31T12:00:00:00",
            "yesterday",
        ] {
            assert_eq!(ms_from_iso8601(bad), None, "{bad}");
        }
    }
}
