//! Property test: over random fleets (environments, criticality, services, HA groups, windows in
//! several time zones), remediations, freezes, executor behaviour (success, failure, silence)
//! and operator resumes, no command the planner issues ever breaks a constraint. An oracle
//! re-derives, independently of the planner's data structures, what is in flight when each
//! command is issued and which of it overlaps the new command's slot; emergency-lane commands
//! may run outside the window only within the policy's daily emergency period.

use super::*;
use proptest::prelude::*;
use std::collections::{BTreeMap, HashMap, HashSet};

/// Zones without daylight saving, with their offset in minutes (as in the window tests).
const ZONES: [(&str, i64); 4] =
    [("UTC", 0), ("Asia/Tokyo", 540), ("Asia/Kolkata", 330), ("America/Phoenix", -420)];
const PACKAGES: [(&str, &str, &str); 3] = [
    ("Debian", "openssl", "3.0.2"),
    ("Ubuntu", "linux-image-generic", "6.8.0-50"),
    ("npm", "express", "4.21.2"),
];

#[derive(Debug, Clone)]
struct Spec {
    env: u8,
    crit: u8,
    service: u8,
    ha: u8,
    window: Option<(usize, Vec<i32>, i32, i32)>,
    needs: [bool; 3],
}

fn spec() -> impl Strategy<Value = Spec> {
    let window = proptest::option::weighted(
        0.7,
        (0..ZONES.len(), proptest::collection::vec(1i32..=7, 1..4), 0i32..1440, 60i32..600),
    );
    (0u8..4, 0u8..4, 0u8..4, 0u8..6, window, any::<[bool; 3]>()).prop_map(
        |(env, crit, service, ha, window, needs)| Spec { env, crit, service, ha, window, needs },
    )
}

fn telemetry(i: usize, s: &Spec) -> AssetTelemetry {
    let env = [
        Environment::Development,
        Environment::Test,
        Environment::Staging,
        Environment::Production,
    ];
    let crit = [Criticality::Low, Criticality::Medium, Criticality::High, Criticality::Critical];
    let mut a = asset(&format!("a{i:02}"), env[s.env as usize], crit[s.crit as usize]);
    a.business_service = (s.service < 3).then(|| format!("svc-{}", s.service));
    a.ha_group = (s.ha < 3).then(|| format!("ha-{}", s.ha));
    a.maintenance_window = s.window.as_ref().map(|(z, days, start, len)| MaintenanceWindow {
        time_zone: ZONES[*z].0.into(),
        days: days.clone(),
        start_minute: *start,
        duration_minutes: *len,
    });
    a
}

/// Is `x` inside the weekly window (fixed offset arithmetic; 1970-01-01 was a Thursday)?
fn inside(w: &MaintenanceWindow, x: i64) -> bool {
    let offset = ZONES.iter().find(|(z, _)| *z == w.time_zone).map_or(0, |(_, o)| *o);
    let local = x.div_euclid(MINUTE) + offset;
    let mow = (local.div_euclid(1440) + 3).rem_euclid(7) * 1440 + local.rem_euclid(1440);
    w.days.iter().any(|d| {
        let start = i64::from(d - 1) * 1440 + i64::from(w.start_minute);
        (mow - start).rem_euclid(7 * 1440) < i64::from(w.duration_minutes)
    })
}

/// The oracle's view of the world.
#[derive(Default)]
struct Oracle {
    fleet: HashMap<String, AssetTelemetry>,
    issued: Vec<DeploymentCommand>,
    reported: HashMap<String, OutcomeStatus>,
    rolled_back: HashSet<String>,
    resumed: HashMap<String, i64>,
    waves: BTreeMap<(String, i32), Vec<String>>,
    rings: HashMap<String, Vec<Ring>>,
}

impl Oracle {
    fn needs_rollback(&self, c: &DeploymentCommand, clock: i64, p: &PlanPolicy) -> Option<bool> {
        match self.reported.get(&c.command_id) {
            Some(OutcomeStatus::Succeeded) | Some(OutcomeStatus::RolledBack) => Some(false),
            Some(_) => Some(true),
            None if clock >= c.not_after + p.lane(c.emergency).grace_ms() => Some(true),
            None => None,
        }
    }

    fn busy(&self, clock: i64, p: &PlanPolicy) -> Vec<&DeploymentCommand> {
        self.issued
            .iter()
            .filter(|c| c.action != CommandAction::Pause)
            .filter(|c| match self.needs_rollback(c, clock, p) {
                None => true,
                Some(true) => {
                    c.action == CommandAction::Deploy && !self.rolled_back.contains(&c.command_id)
                }
                Some(false) => false,
            })
            .collect()
    }

    /// The interval a busy command holds: until its timeout, or open while it awaits a rollback.
    fn held(&self, c: &DeploymentCommand, clock: i64, p: &PlanPolicy) -> (i64, i64) {
        let end = match self.needs_rollback(c, clock, p) {
            Some(true) => i64::MAX,
            _ => c.not_after + p.lane(c.emergency).grace_ms(),
        };
        (c.not_before, end)
    }

    /// Busy commands on assets matching `f` whose held interval overlaps `new`'s.
    fn count(
        &self,
        busy: &[&DeploymentCommand],
        new: &DeploymentCommand,
        clock: i64,
        p: &PlanPolicy,
        f: impl Fn(&AssetTelemetry) -> bool,
    ) -> usize {
        let (from, until) = (new.not_before, new.not_after + p.lane(new.emergency).grace_ms());
        busy.iter()
            .filter(|c| self.fleet.get(&c.target_assets[0]).is_some_and(&f))
            .filter(|c| {
                let (s, e) = self.held(c, clock, p);
                s < until && e > from
            })
            .count()
    }

    /// Checks one new command issued while `clock` judged timeouts, then records it.
    fn check(&mut self, c: DeploymentCommand, clock: i64, p: &PlanPolicy) -> Result<(), String> {
        let halted = self.issued.iter().any(|x| {
            x.action == CommandAction::Pause
                && x.campaign_id == c.campaign_id
                && self.resumed.get(&x.command_id).is_none_or(|r| *r > c.issued_at)
        });
        if c.action != CommandAction::Pause {
            let asset = &c.target_assets[0];
            let a = &self.fleet[asset];
            if c.not_before < c.issued_at || c.not_after - c.not_before < p.min_slot_ms() {
                return Err(format!("bad slot {c:?}"));
            }
            let mut x = c.not_before;
            while x < c.not_after {
                if let Some(w) = a.maintenance_window.as_ref().filter(|w| !inside(w, x)) {
                    let e = &p.emergency_changes;
                    let night = MaintenanceWindow {
                        time_zone: w.time_zone.clone(),
                        days: (1..=7).collect(),
                        start_minute: e.start_minute,
                        duration_minutes: e.duration_minutes,
                    };
                    if !(c.emergency && e.enabled && inside(&night, x)) {
                        return Err(format!("outside window at {x}: {c:?}"));
                    }
                }
                if p.freezes.iter().any(|f| x >= f.start_ms && x < f.end_ms) {
                    return Err(format!("in a freeze at {x}: {c:?}"));
                }
                x = (x + 15 * MINUTE).min(c.not_after - 1).max(x + 1);
            }
            let busy = self.busy(clock, p);
            let on_asset: Vec<&&DeploymentCommand> =
                busy.iter().filter(|b| &b.target_assets[0] == asset).collect();
            if c.action == CommandAction::Rollback {
                let of = c.rollback_of.clone().unwrap_or_default();
                if on_asset.iter().any(|b| b.command_id != of) {
                    return Err(format!("rollback while another command is in flight: {c:?}"));
                }
                self.rolled_back.insert(of);
            } else {
                if halted {
                    return Err(format!("deploy in a halted campaign: {c:?}"));
                }
                if !on_asset.is_empty() {
                    return Err(format!("two commands in flight on {asset}"));
                }
                let live = self.fleet.len();
                let n = self.count(&busy, &c, clock, p, |_| true);
                if n + 1 > p.blast_radius.limit(live) {
                    return Err(format!("blast radius: {} overlapping of {live}", n + 1));
                }
                if let Some(s) = &a.business_service {
                    let size = self
                        .fleet
                        .values()
                        .filter(|x| x.business_service.as_ref() == Some(s))
                        .count();
                    let n =
                        self.count(&busy, &c, clock, p, |x| x.business_service.as_ref() == Some(s));
                    if n + 1 > p.service_cap.limit(size) {
                        return Err(format!("service {s}: {} in flight", n + 1));
                    }
                }
                if let Some(g) = &a.ha_group {
                    let size =
                        self.fleet.values().filter(|x| x.ha_group.as_ref() == Some(g)).count();
                    let n = self.count(&busy, &c, clock, p, |x| x.ha_group.as_ref() == Some(g));
                    let wave = self.waves.entry((c.campaign_id.clone(), c.wave)).or_default();
                    let in_wave =
                        wave.iter().filter(|m| self.fleet[*m].ha_group.as_ref() == Some(g)).count();
                    if size >= 2 && (n + 1 >= size || in_wave + 1 >= size) {
                        return Err(format!(
                            "HA group {g} of {size}: {n} in flight, {in_wave} in wave"
                        ));
                    }
                }
                self.gate(&c, p)?;
                let wave = self.waves.entry((c.campaign_id.clone(), c.wave)).or_default();
                wave.push(asset.clone());
                if c.ring == Ring::Canary && wave.len() > p.canary.max_assets {
                    return Err(format!("canary of {}", wave.len()));
                }
            }
        }
        self.issued.push(c);
        Ok(())
    }

    /// A new wave opens only after the previous one passed, or after a resume.
    fn gate(&mut self, c: &DeploymentCommand, p: &PlanPolicy) -> Result<(), String> {
        let rings = self.rings.entry(c.campaign_id.clone()).or_default();
        let opens = !self.waves.contains_key(&(c.campaign_id.clone(), c.wave))
            || self.waves[&(c.campaign_id.clone(), c.wave)].is_empty();
        if !opens {
            return Ok(());
        }
        if rings.is_empty() && (c.wave, c.ring) != (1, Ring::Canary) {
            return Err(format!("campaign starts without a canary: {c:?}"));
        }
        if rings.last().is_some_and(|r| *r > c.ring) {
            return Err(format!("ring goes back: {rings:?} then {:?}", c.ring));
        }
        rings.push(c.ring);
        if c.wave == 1 {
            return Ok(());
        }
        let previous =
            self.waves.get(&(c.campaign_id.clone(), c.wave - 1)).cloned().unwrap_or_default();
        let ok = previous
            .iter()
            .filter(|a| {
                self.issued.iter().any(|x| {
                    x.campaign_id == c.campaign_id
                        && x.wave == c.wave - 1
                        && x.action == CommandAction::Deploy
                        && &x.target_assets[0] == *a
                        && self.reported.get(&x.command_id) == Some(&OutcomeStatus::Succeeded)
                })
            })
            .count();
        let resumed = self.issued.iter().any(|x| {
            x.action == CommandAction::Pause
                && x.campaign_id == c.campaign_id
                && self.resumed.get(&x.command_id).is_some_and(|r| *r <= c.issued_at)
        });
        if ok < promotion::needed(previous.len(), p.success_threshold) && !resumed {
            return Err(format!("wave {} opened after {ok}/{} successes", c.wave, previous.len()));
        }
        Ok(())
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]
    #[test]
    fn no_plan_violates_a_constraint(
        specs in proptest::collection::vec(spec(), 4..24),
        emergency in any::<[bool; 3]>(),
        freezes in proptest::collection::vec((0i64..20, 1i64..72), 0..3),
        behaviour in proptest::collection::vec(0u8..100, 16),
        steps in proptest::collection::vec(30i64..720, 40),
        shares in (0usize..3, 0usize..3, any::<bool>(), any::<bool>()),
    ) {
        let mut policy = PlanPolicy::default();
        policy.blast_radius.share = [0.1, 0.2, 0.5][shares.0];
        policy.service_cap.share = [0.25, 0.5, 1.0][shares.1];
        policy.success_threshold = if shares.2 { 0.95 } else { 0.5 };
        policy.emergency_changes.enabled = shares.3;
        policy.freezes = freezes
            .iter()
            .map(|(day, hours)| Freeze::new(T0 + day * DAY, T0 + day * DAY + hours * HOUR, "f"))
            .collect();
        let mut p = PlanProcessor::new().with_policy(policy.clone());
        let mut oracle = Oracle::default();
        let fleet: Vec<AssetTelemetry> = specs.iter().enumerate().map(|(i, s)| telemetry(i, s)).collect();
        let mut inputs: Vec<Event> = Vec::new();
        for a in &fleet {
            oracle.fleet.insert(a.asset_id.clone(), a.clone());
            inputs.push(Event::AssetTelemetry(a.clone()));
        }
        for (i, a) in fleet.iter().enumerate() {
            for (k, pkg) in PACKAGES.iter().enumerate() {
                if specs[i].needs[k] {
                    let mut e = exposure(a, &format!("CVE-2026-{k}"), *pkg, 100.0 * (k + 1) as f32);
                    e.kev = emergency[k];
                    inputs.push(Event::Exposure(e));
                }
            }
        }
        let mut clock = i64::MIN;
        let mut pending: Vec<(i64, Event)> = Vec::new();
        let mut now = T0;
        let mut n = 0usize;
        let mut plan = |oracle: &mut Oracle, out: Vec<Event>, clock: i64,
                        pending: &mut Vec<(i64, Event)>| -> Result<(), TestCaseError> {
            for c in commands(out) {
                let roll = behaviour[n % behaviour.len()];
                n += 1;
                match c.action {
                    CommandAction::Deploy if roll < 70 => pending.push((c.not_before + 10 * MINUTE, outcome(&c, OutcomeStatus::Succeeded, c.not_before + 10 * MINUTE))),
                    CommandAction::Deploy if roll < 85 => pending.push((c.not_before + 5 * MINUTE, outcome(&c, OutcomeStatus::Failed, c.not_before + 5 * MINUTE))),
                    CommandAction::Rollback if roll < 80 => pending.push((c.not_before + 5 * MINUTE, outcome(&c, OutcomeStatus::Succeeded, c.not_before + 5 * MINUTE))),
                    CommandAction::Pause if roll < 50 => pending.push((c.issued_at + DAY, outcome(&c, OutcomeStatus::Resumed, c.issued_at + DAY))),
                    _ => {}
                }
                oracle.check(c, clock, &policy).map_err(TestCaseError::fail)?;
            }
            Ok(())
        };
        for e in inputs {
            let mut out = Vec::new();
            p.process(e, &mut out).expect("process");
            plan(&mut oracle, out, clock, &mut pending)?;
        }
        for step in &steps {
            now += step * MINUTE;
            pending.sort_by_key(|(at, _)| *at);
            while pending.first().is_some_and(|(at, _)| *at <= now) {
                let (_, e) = pending.remove(0);
                match &e {
                    Event::DeploymentOutcome(o) if o.status == OutcomeStatus::Resumed => {
                        oracle.resumed.insert(o.command_id.clone(), o.finished_at);
                    }
                    Event::DeploymentOutcome(o) => {
                        oracle.reported.insert(o.command_id.clone(), o.status);
                    }
                    _ => {}
                }
                let mut out = Vec::new();
                p.process(e, &mut out).expect("outcome");
                plan(&mut oracle, out, clock, &mut pending)?;
            }
            clock = now;
            let mut out = Vec::new();
            p.punctuate(now, &mut out);
            plan(&mut oracle, out, clock, &mut pending)?;
        }
    }
}
