//! The constraints every command is checked against when it is issued, across all campaigns:
//! one command per asset at a time, a concurrency cap per business service, never all live
//! members of an HA group at once (nor in one wave), and a global blast radius (a share of the
//! fleet changing at once).
//!
//! A command's *span* is the time in which it may run or still await its result:
//! `[not_before, not_after + outcome grace)` (a shadow command: `[not_before, not_before +
//! shadow runtime)`), cut short by its outcome; a failed `DEPLOY` keeps its span open until its
//! `ROLLBACK` is issued, which then takes its place. The service, HA-group and blast-radius caps
//! count the commands whose spans overlap the new command's span, so a command issued today for
//! next Saturday's window takes capacity on Saturday, not today. The asset itself is counted
//! from issue: an asset holds at most one unresolved command.
//!
//! Invariant: [`Ledger::admits`] is true only if issuing one more `DEPLOY` with that span keeps
//! every count within its cap; the overlap count is at least the number of commands running at
//! any instant of the span, so no instant ever exceeds a cap; a `ROLLBACK`'s span lies within
//! its failed `DEPLOY`'s, so rollbacks never push a count over a cap.

use super::fleet::{AssetInfo, Fleet};
use super::log::{Issued, Log, Result_};
use super::policy::PlanPolicy;
use super::windows::Slot;
use crate::events::{CommandAction, HealthStatus};
use std::collections::{BTreeMap, BTreeSet, HashMap};

/// Why an asset cannot get a command now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Blocked {
    /// The asset has a command in flight (or a failed one awaiting rollback).
    AssetBusy,
    /// The asset reports itself down.
    AssetDown,
    /// Its business service is at its cap during the slot.
    Service(String),
    /// One more would take the HA group's last healthy member during the slot.
    HaGroup(String),
    /// The fleet-wide cap is reached during the slot.
    BlastRadius,
}

/// A half-open interval `[from, until)` of milliseconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Span {
    pub from: i64,
    pub until: i64,
}

impl Span {
    /// The span of a command planned into `slot` in a lane with this outcome grace.
    pub fn of_slot(slot: Slot, grace_ms: i64) -> Span {
        Span { from: slot.start, until: slot.end.saturating_add(grace_ms) }
    }
}

/// Spans counted with multiplicity, ordered by start.
#[derive(Debug, Default)]
struct Spans(BTreeMap<Span, usize>);

impl Spans {
    fn add(&mut self, s: Span) {
        *self.0.entry(s).or_default() += 1;
    }
    fn remove(&mut self, s: Span) {
        if let Some(n) = self.0.get_mut(&s) {
            *n -= 1;
            if *n == 0 {
                self.0.remove(&s);
            }
        }
    }
    /// Spans overlapping `s`, counting no further than `stop`.
    fn overlapping(&self, s: Span, stop: usize) -> usize {
        let mut n = 0;
        let end = Span { from: s.until, until: i64::MIN };
        for (span, k) in self.0.range(..end) {
            if span.until > s.from {
                n += k;
                if n >= stop {
                    break;
                }
            }
        }
        n
    }
}

/// What one command holds.
#[derive(Debug, Clone)]
struct Load {
    asset: String,
    span: Span,
    service: Option<String>,
    ha: Option<String>,
}

/// Counts of what is issued and not resolved, by span.
#[derive(Debug, Default)]
pub struct Ledger {
    busy: BTreeMap<String, BTreeSet<String>>,
    loads: HashMap<String, Load>,
    fleet: Spans,
    services: HashMap<String, Spans>,
    ha: HashMap<String, Spans>,
    blast_cap: usize,
}

/// A command's load at `clock`: in flight, or a failed deploy awaiting its rollback.
pub fn is_busy(log: &Log, id: &str, clock: i64, policy: &PlanPolicy) -> bool {
    let Some(c) = log.commands.get(id) else { return false };
    busy_span(log, c, clock, policy).is_some()
}

/// The span of an unresolved command at `clock`, `None` once it is resolved.
fn busy_span(log: &Log, c: &Issued, clock: i64, policy: &PlanPolicy) -> Option<Span> {
    let grace = policy.lane(c.emergency).grace_ms();
    match log.result(c, clock, grace, policy.shadow_runtime_ms()) {
        None if c.shadow => Some(Span {
            from: c.not_before,
            until: c.not_before.saturating_add(policy.shadow_runtime_ms()),
        }),
        None => Some(Span { from: c.not_before, until: c.not_after.saturating_add(grace) }),
        Some(Result_::Failed { rollback: true, .. })
            if c.action == CommandAction::Deploy && !log.rolled_back.contains(&c.id) =>
        {
            Some(Span { from: c.not_before, until: i64::MAX })
        }
        Some(_) => None,
    }
}

/// The ledger of one planning pass, built on first use: most passes issue nothing and never
/// need it.
#[derive(Debug, Default)]
pub struct LazyLedger(Option<Ledger>);

impl LazyLedger {
    /// The ledger at `clock`; on first use it drops resolved commands from `log.unresolved`
    /// and builds the ledger from the rest. Later calls return the same ledger, with what the
    /// pass added since.
    pub fn get(
        &mut self,
        log: &mut Log,
        fleet: &Fleet,
        clock: i64,
        policy: &PlanPolicy,
    ) -> &mut Ledger {
        self.0.get_or_insert_with(|| {
            prune(log, clock, policy);
            Ledger::build(log, fleet, clock, policy)
        })
    }
}

/// Drops the commands resolved at `clock` from `log.unresolved`.
pub fn prune(log: &mut Log, clock: i64, policy: &PlanPolicy) {
    let unresolved = std::mem::take(&mut log.unresolved);
    log.unresolved = unresolved.into_iter().filter(|id| is_busy(log, id, clock, policy)).collect();
}

impl Ledger {
    /// What is unresolved at `clock`, from the decision log.
    pub fn build(log: &Log, fleet: &Fleet, clock: i64, policy: &PlanPolicy) -> Ledger {
        let mut ledger =
            Ledger { blast_cap: policy.blast_radius.limit(fleet.live()), ..Ledger::default() };
        for id in &log.unresolved {
            let Some(c) = log.commands.get(id) else { continue };
            let Some(span) = busy_span(log, c, clock, policy) else { continue };
            if let Some(asset) = c.asset.as_ref() {
                // A decommissioned asset is gone: nothing runs on it any more.
                if fleet.get(asset).is_some_and(|a| a.decommissioned) {
                    continue;
                }
                ledger.add(id, asset, fleet.get(asset), span);
            }
        }
        ledger
    }

    fn add(&mut self, id: &str, asset: &str, info: Option<&AssetInfo>, span: Span) {
        self.busy.entry(asset.to_string()).or_default().insert(id.to_string());
        self.fleet.add(span);
        let service = info.and_then(|i| i.business_service.clone());
        let ha = info.and_then(|i| i.ha_group.clone());
        if let Some(s) = &service {
            self.services.entry(s.clone()).or_default().add(span);
        }
        if let Some(g) = &ha {
            self.ha.entry(g.clone()).or_default().add(span);
        }
        self.loads.insert(id.to_string(), Load { asset: asset.to_string(), span, service, ha });
    }

    fn remove(&mut self, id: &str) -> Option<Load> {
        let load = self.loads.remove(id)?;
        if let Some(ids) = self.busy.get_mut(&load.asset) {
            ids.remove(id);
        }
        self.fleet.remove(load.span);
        if let Some(s) = load.service.as_ref().and_then(|s| self.services.get_mut(s)) {
            s.remove(load.span);
        }
        if let Some(g) = load.ha.as_ref().and_then(|g| self.ha.get_mut(g)) {
            g.remove(load.span);
        }
        Some(load)
    }

    /// Whether the asset holds no unresolved command (the cheap first check).
    pub fn free(&self, asset: &str) -> bool {
        self.busy.get(asset).is_none_or(|ids| ids.is_empty())
    }

    /// Whether one more `DEPLOY` to `asset` with `span` fits. `in_wave` counts the members of
    /// each HA group already in the wave being built.
    pub fn admits(
        &self,
        asset: &str,
        info: &AssetInfo,
        span: Span,
        fleet: &Fleet,
        policy: &PlanPolicy,
        in_wave: &HashMap<String, usize>,
    ) -> Result<(), Blocked> {
        if !self.free(asset) {
            return Err(Blocked::AssetBusy);
        }
        if info.health == HealthStatus::Down {
            return Err(Blocked::AssetDown);
        }
        if let Some(g) = &info.ha_group {
            let size = fleet.ha_size(g);
            let wave = in_wave.get(g).copied().unwrap_or(0);
            if size >= 2 {
                let now = self.ha.get(g).map_or(0, |s| s.overlapping(span, size));
                if now + 1 > size - 1 || wave + 1 > size - 1 {
                    return Err(Blocked::HaGroup(g.clone()));
                }
            }
        }
        if let Some(s) = &info.business_service {
            let cap = policy
                .service_overrides
                .get(s)
                .copied()
                .unwrap_or_else(|| policy.service_cap.limit(fleet.service_size(s)));
            if self.service_load(s, span) + 1 > cap {
                return Err(Blocked::Service(s.clone()));
            }
        }
        if self.fleet.overlapping(span, self.blast_cap) + 1 > self.blast_cap {
            return Err(Blocked::BlastRadius);
        }
        Ok(())
    }

    /// Counts a newly issued `DEPLOY`.
    pub fn take(&mut self, id: &str, asset: &str, info: Option<&AssetInfo>, span: Span) {
        self.add(id, asset, info, span);
    }

    /// True when the only load on `asset` is `deploy` (so its `ROLLBACK` may be issued).
    pub fn only(&self, asset: &str, deploy: &str) -> bool {
        self.busy.get(asset).is_none_or(|ids| ids.iter().all(|id| id == deploy))
    }

    /// Moves the load of a failed `deploy` to its `rollback`, whose span lies within the
    /// deploy's (it starts later and the deploy's stays open until now): no count grows.
    pub fn swap(&mut self, asset: &str, deploy: &str, rollback: &str, span: Span) {
        let Some(load) = self.remove(deploy) else { return };
        let span = Span { from: span.from.max(load.span.from), until: span.until };
        self.busy.entry(asset.to_string()).or_default().insert(rollback.to_string());
        self.fleet.add(span);
        if let Some(s) = &load.service {
            self.services.entry(s.clone()).or_default().add(span);
        }
        if let Some(g) = &load.ha {
            self.ha.entry(g.clone()).or_default().add(span);
        }
        self.loads.insert(rollback.to_string(), Load { span, ..load });
    }

    /// Commands whose spans overlap `span`, and the fleet-wide cap, for reasons.
    pub fn fleet_load(&self, span: Span) -> (usize, usize) {
        (self.fleet.overlapping(span, usize::MAX), self.blast_cap)
    }

    /// Commands of a service whose spans overlap `span`.
    pub fn service_load(&self, service: &str, span: Span) -> usize {
        self.services.get(service).map_or(0, |s| s.overlapping(span, usize::MAX))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spans_count_only_what_overlaps() {
        let mut s = Spans::default();
        let at = |from, until| Span { from, until };
        s.add(at(0, 10));
        s.add(at(0, 10));
        s.add(at(10, 20));
        s.add(at(5, i64::MAX));
        assert_eq!(s.overlapping(at(10, 11), usize::MAX), 2);
        assert_eq!(s.overlapping(at(9, 10), usize::MAX), 3);
        assert_eq!(s.overlapping(at(20, 30), usize::MAX), 1);
        assert_eq!(s.overlapping(at(0, 5), usize::MAX), 2);
        assert_eq!(s.overlapping(at(0, 100), 2), 2, "stops at the limit");
        s.remove(at(0, 10));
        assert_eq!(s.overlapping(at(0, 5), usize::MAX), 1);
        s.remove(at(0, 10));
        s.remove(at(0, 10));
        assert_eq!(s.overlapping(at(0, 5), usize::MAX), 0);
    }
}
