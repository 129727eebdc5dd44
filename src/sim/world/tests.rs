use super::*;
use crate::sim::catalog::Catalog;
use std::collections::HashSet;

const END_DAY: i64 = 20_020; // 2024-10-24

fn world(assets: usize, days: i64) -> World {
    let catalog = Arc::new(Catalog::bundled(11).expect("catalog"));
    World::new(catalog, assets, days, END_DAY, 11)
}

fn findings(events: &[Event]) -> Vec<&Finding> {
    events
        .iter()
        .filter_map(|e| match e {
            Event::Finding(f) => Some(f),
            _ => None,
        })
        .collect()
}

#[test]
fn the_start_reports_the_backlog_and_the_same_seed_the_same_world() {
    let mut a = world(60, 28);
    let mut b = world(60, 28);
    let (ea, eb) = (a.initial(), b.initial());
    assert_eq!(ea, eb);
    assert_eq!(a.start, (END_DAY + 1 - 28) * DAY_MS);
    let kinds: HashSet<_> = ea.iter().map(|e| e.kind()).collect();
    assert_eq!(kinds.len(), 4, "advisories, threats, assets, findings");
    let ids: HashSet<&str> = a.assets.iter().map(|s| s.telemetry.asset_id.as_str()).collect();
    for f in findings(&ea) {
        assert!(ids.contains(f.asset_id.as_str()));
        assert_eq!(f.status, FindingStatus::Open);
        assert!(f.first_seen <= a.start && f.first_seen >= a.start - BACKLOG_MS);
        let cve = a.catalog.cve_index(&f.vulnerability_id).expect("a catalog CVE");
        assert!(a.catalog.cves[cve as usize].published <= a.start);
        assert_eq!(f.package.fixed_version.as_deref(), Some(a.catalog.fixed_version(cve)));
    }
    // No advisory or KEV entry from after the start is known at the start.
    for e in &ea {
        match e {
            Event::Advisory(x) => assert!(x.published.unwrap_or(0) <= a.start),
            Event::ThreatSignal(s) => {
                let day = s.kev.as_ref().map_or(0, |k| i64::from(k.date_added));
                assert!(day * DAY_MS < a.start);
            }
            _ => {}
        }
    }
}

#[test]
fn a_fix_is_reported_once_by_the_next_scan_and_later_feeds_arrive_on_their_day() {
    let mut w = world(40, 56);
    w.initial();
    let x = w.exposures.iter().find(|x| x.first_seen.is_some()).cloned().expect("an exposure");
    let product = w.catalog.cves[x.cve as usize].product;
    let release = w.catalog.cves[x.cve as usize].release;
    assert!(w.upgrade(x.asset, product, release, w.start + 1) >= 1);
    assert_eq!(w.upgrade(x.asset, product, release, w.start + 2), 0, "never twice");
    let asset_id = w.assets[x.asset as usize].telemetry.asset_id.clone();
    let cve_id = w.catalog.cves[x.cve as usize].id.clone();
    let mut fixed_reports = 0;
    let mut kev_days = Vec::new();
    let mut published = Vec::new();
    for step in 1..=(56 * DAY_MS / STEP_MS) {
        let t = w.start + step * STEP_MS;
        for e in w.step(t) {
            match e {
                Event::Finding(f) if f.asset_id == asset_id && f.vulnerability_id == cve_id => {
                    assert_eq!(f.status, FindingStatus::Fixed);
                    assert!(t - w.start <= DAY_MS + STEP_MS, "reported by the next daily scan");
                    fixed_reports += 1;
                }
                Event::Finding(f) => {
                    let cve = w.catalog.cve_index(&f.vulnerability_id).expect("cve");
                    assert!(w.catalog.cves[cve as usize].published <= t);
                }
                Event::ThreatSignal(s) => kev_days.push((s.kev.map(|k| k.date_added), t)),
                Event::Advisory(a) => published.push((a.published, t)),
                _ => {}
            }
        }
    }
    let scanners = w.assets[x.asset as usize].scanners.len();
    assert_eq!(fixed_reports, scanners, "once per scanner");
    assert!(!kev_days.is_empty() && !published.is_empty());
    for (day, t) in kev_days {
        let day = i64::from(day.unwrap_or(0));
        assert!(t >= day * DAY_MS + KEV_HOUR_MS && t < day * DAY_MS + KEV_HOUR_MS + STEP_MS);
    }
    for (at, t) in published {
        let at = at.unwrap_or(0);
        assert!(t >= at && t < at + STEP_MS);
    }
}
