//! Rendering events for people and pipes: JSON lines and short text lines. Invariant: JSON output
//! uses the same field names as the Avro contracts, so it can be fed back as a JSON input topic.

use patchline_processors::events::{DeploymentCommand, Event, Exposure};

/// The event as a JSON value with its contract field names.
pub fn to_json(event: &Event) -> serde_json::Value {
    let v = match event {
        Event::Advisory(x) => serde_json::to_value(x),
        Event::ThreatSignal(x) => serde_json::to_value(x),
        Event::Finding(x) => serde_json::to_value(x),
        Event::AssetTelemetry(x) => serde_json::to_value(x),
        Event::Exposure(x) => serde_json::to_value(x),
        Event::DeploymentCommand(x) => serde_json::to_value(x),
        Event::DeploymentOutcome(x) => serde_json::to_value(x),
        Event::ModelSnapshot(x) => serde_json::to_value(x),
        Event::OperatorOverride(x) => serde_json::to_value(x),
    };
    v.unwrap_or(serde_json::Value::Null)
}

/// A day number as `YYYY-MM-DD`.
pub fn ymd(days: i32) -> String {
    let (y, m, d) = crate::feeds::time::ymd_from_days(days);
    format!("{y:04}-{m:02}-{d:02}")
}

/// An instant in milliseconds as `YYYY-MM-DD HH:MM` UTC.
pub fn ymd_hm(ms: i64) -> String {
    let days = ms.div_euclid(86_400_000);
    let minutes = ms.rem_euclid(86_400_000) / 60_000;
    format!("{} {:02}:{:02}", ymd(days as i32), minutes / 60, minutes % 60)
}

/// One line per exposure: risk, decision, due date, asset, vulnerability, why.
pub fn exposure_line(e: &Exposure) -> String {
    let top: Vec<String> = {
        let mut c = e.contributions.clone();
        c.sort_by(|a, b| b.points.total_cmp(&a.points));
        c.iter().take(3).map(|c| format!("{} {:+.0}", c.factor, c.points)).collect()
    };
    format!(
        "{:>6.1}  {:<10} due {}  {:<10} {:<16} {}:{} {}  [{}]{}",
        e.risk,
        format!("{:?}", e.ssvc_decision),
        ymd(e.due_date),
        e.asset_id,
        e.vulnerability_id,
        e.ecosystem,
        e.package,
        e.installed_version,
        top.join(", "),
        if e.kev { "  KEV" } else { "" }
    )
}

/// One line per command: ring and wave, targets, window, remediation, reason.
pub fn command_line(c: &DeploymentCommand) -> String {
    let reason = c.rationale.first().map(|r| r.reason.as_str()).unwrap_or("");
    format!(
        "{:?} wave {} {:?}  {}  window {} .. {}  {}:{}{}  because {}",
        c.action,
        c.wave,
        c.ring,
        c.target_assets.join(","),
        ymd_hm(c.not_before),
        ymd_hm(c.not_after),
        c.remediation.ecosystem,
        c.remediation.package,
        c.remediation.target_version.as_deref().map(|v| format!("@{v}")).unwrap_or_default(),
        reason
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_render() {
        assert_eq!(ymd(0), "1970-01-01");
        assert_eq!(ymd(19_723), "2024-01-01");
        assert_eq!(ymd_hm(86_400_000 + 90 * 60_000), "1970-01-02 01:30");
    }
}
