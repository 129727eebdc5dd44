//! The CVSS-FIFO baseline: the usual practice, a queue of open findings ordered by CVSS (highest
//! first), then first seen, then id; no canary, no waves, no exploitation intelligence.
//!
//! It reads the same scanner findings and advisories the pipeline gets (the CVSS of a finding is
//! its advisory's), straight from the world's events rather than through the assess stage: the
//! same information, without the scoring. Whenever an asset's maintenance window is open and the
//! asset is idle, its top finding is deployed (upgrade to the finding's fixed version), highest
//! CVSS first across the fleet, within the caps of the default plan policy that patchline
//! obeys: one command in flight per asset, a cap per business service (25% of its assets),
//! never every member of an HA group at once, and the blast radius (20% of the fleet in flight).
//! Commands are signed with the same key and go through the same executor. A failed deployment
//! gets a `ROLLBACK` in the asset's next window and is retried a day later; a success removes
//! every finding of the asset that the new version fixes.
//!
//! Invariant: a command counts against the caps from its issue until its outcome, and a failed
//! `DEPLOY` until its `ROLLBACK` is issued (which then counts instead), as in the plan stage.

use super::world::{World, DAY_MS};
use patchline_processors::events::{
    CommandAction, DeploymentCommand, DeploymentOutcome, Event, FindingStatus, OutcomeStatus,
    Rationale, Remediation, Ring,
};
use patchline_processors::plan::windows::{next_slot, Slot};
use patchline_processors::plan::PlanPolicy;
use patchline_processors::sign::{sign_command, Signer};
use patchline_processors::versions::{compare, Scheme};
use std::cmp::Ordering;
use std::collections::{BTreeMap, HashMap};

/// A failed finding waits this long before it is tried again.
pub const RETRY_AFTER_MS: i64 = DAY_MS;

#[derive(Debug, Clone)]
struct Item {
    product: String,
    fixed: String,
    cvss: f32,
    first_seen: i64,
    retry_after: i64,
}

#[derive(Debug, Clone)]
struct Flight {
    asset: u32,
    vuln: String,
    action: CommandAction,
    failed: bool,
}

/// The baseline scheduler.
pub struct Fifo {
    signer: Signer,
    policy: PlanPolicy,
    cvss: HashMap<String, f32>,
    /// asset -> vulnerability -> item
    items: BTreeMap<u32, BTreeMap<String, Item>>,
    flights: BTreeMap<String, Flight>,
    busy: HashMap<u32, String>,
    services: HashMap<String, usize>,
    ha: HashMap<String, usize>,
    ha_sizes: HashMap<String, usize>,
    service_sizes: HashMap<String, usize>,
    total: usize,
    live: usize,
    slots: HashMap<u32, Slot>,
    issued: usize,
}

impl Fifo {
    /// A scheduler signing with `signer`, obeying the caps of `policy`.
    pub fn new(signer: Signer, policy: PlanPolicy) -> Fifo {
        Fifo {
            signer,
            policy,
            cvss: HashMap::new(),
            items: BTreeMap::new(),
            flights: BTreeMap::new(),
            busy: HashMap::new(),
            services: HashMap::new(),
            ha: HashMap::new(),
            ha_sizes: HashMap::new(),
            service_sizes: HashMap::new(),
            total: 0,
            live: 0,
            slots: HashMap::new(),
            issued: 0,
        }
    }

    /// Reads the world's events: advisories (CVSS), assets (cap populations), findings.
    pub fn observe(&mut self, world: &World, events: &[Event]) {
        for e in events {
            match e {
                Event::Advisory(a) => {
                    if let Some(c) = &a.cvss {
                        self.cvss.insert(a.id.clone(), c.base_score);
                    }
                }
                Event::AssetTelemetry(a) => {
                    self.live += 1;
                    if let Some(g) = &a.ha_group {
                        *self.ha_sizes.entry(g.clone()).or_default() += 1;
                    }
                    if let Some(s) = &a.business_service {
                        *self.service_sizes.entry(s.clone()).or_default() += 1;
                    }
                }
                Event::Finding(f) => {
                    let Some(asset) = world.asset_index(&f.asset_id) else { continue };
                    let queue = self.items.entry(asset).or_default();
                    if f.status == FindingStatus::Fixed {
                        queue.remove(&f.vulnerability_id);
                        continue;
                    }
                    let cvss = self.cvss.get(&f.vulnerability_id).copied().unwrap_or(0.0);
                    let item = queue.entry(f.vulnerability_id.clone()).or_insert(Item {
                        product: f.package.name.clone(),
                        fixed: f.package.fixed_version.clone().unwrap_or_default(),
                        cvss,
                        first_seen: f.first_seen,
                        retry_after: i64::MIN,
                    });
                    item.first_seen = item.first_seen.min(f.first_seen);
                }
                _ => {}
            }
        }
    }

    /// Reads the executor's outcomes.
    pub fn outcomes(&mut self, world: &World, outcomes: &[DeploymentOutcome]) {
        for o in outcomes {
            let Some(flight) = self.flights.get_mut(&o.command_id) else { continue };
            let asset = flight.asset;
            let ok = o.status == OutcomeStatus::Succeeded;
            if flight.action == CommandAction::Deploy && !ok {
                if let Some(item) = self.items.get_mut(&asset).and_then(|q| q.get_mut(&flight.vuln))
                {
                    item.retry_after = o.finished_at + RETRY_AFTER_MS;
                }
                if o.status == OutcomeStatus::Failed {
                    flight.failed = true; // keeps its load until its ROLLBACK is issued
                    continue;
                }
            }
            if flight.action == CommandAction::Deploy && ok {
                let vuln = flight.vuln.clone();
                self.fixed_by_deploy(asset, &vuln);
            }
            self.release(world, &o.command_id);
        }
    }

    fn fixed_by_deploy(&mut self, asset: u32, vuln: &str) {
        let Some(queue) = self.items.get_mut(&asset) else { return };
        let Some(done) = queue.get(vuln).cloned() else { return };
        queue.retain(|_, i| {
            i.product != done.product
                || compare(Scheme::Generic, &i.fixed, &done.fixed) == Some(Ordering::Greater)
        });
    }

    fn release(&mut self, world: &World, id: &str) {
        let Some(flight) = self.flights.remove(id) else { return };
        self.busy.remove(&flight.asset);
        self.total = self.total.saturating_sub(1);
        let t = &world.assets[flight.asset as usize].telemetry;
        if let Some(s) = &t.business_service {
            self.services.entry(s.clone()).and_modify(|n| *n = n.saturating_sub(1));
        }
        if let Some(g) = &t.ha_group {
            self.ha.entry(g.clone()).and_modify(|n| *n = n.saturating_sub(1));
        }
    }

    fn slot(&mut self, world: &World, asset: u32, t: i64) -> Option<Slot> {
        let min = self.policy.min_slot_ms();
        if let Some(s) = self.slots.get(&asset) {
            if s.end - t.max(s.start) >= min {
                return Some(Slot { start: s.start.max(t), end: s.end });
            }
        }
        let window = world.assets[asset as usize].telemetry.maintenance_window.as_ref();
        let slot = next_slot(window, t, &self.policy).ok()?;
        self.slots.insert(asset, slot);
        Some(slot)
    }

    /// Issues this step's commands: rollbacks of failed deployments, then deployments.
    pub fn plan(&mut self, world: &World, t: i64) -> Vec<DeploymentCommand> {
        let mut out = Vec::new();
        let failed: Vec<(String, Flight)> = self
            .flights
            .iter()
            .filter(|(_, f)| f.failed)
            .map(|(id, f)| (id.clone(), f.clone()))
            .collect();
        for (id, f) in failed {
            let Some(slot) = self.slot(world, f.asset, t) else { continue };
            let c = self.command(
                world,
                f.asset,
                &f.vuln,
                CommandAction::Rollback,
                slot,
                t,
                Some(id.clone()),
            );
            self.flights.remove(&id);
            self.flights.insert(
                c.command_id.clone(),
                Flight { action: CommandAction::Rollback, failed: false, ..f.clone() },
            );
            self.busy.insert(f.asset, c.command_id.clone());
            out.push(c);
        }
        let mut candidates: Vec<(f32, i64, u32, String)> = Vec::new();
        let assets: Vec<u32> = self.items.keys().copied().collect();
        for asset in assets {
            if self.busy.contains_key(&asset) || world.assets[asset as usize].arrival > t {
                continue;
            }
            let Some(queue) = self.items.get(&asset) else { continue };
            let top = queue.iter().filter(|(_, i)| i.retry_after <= t).min_by(|a, b| {
                b.1.cvss.total_cmp(&a.1.cvss).then(a.1.first_seen.cmp(&b.1.first_seen))
            });
            let Some((vuln, item)) = top.map(|(v, i)| (v.clone(), i.clone())) else { continue };
            if self.slot(world, asset, t).is_some_and(|s| s.start <= t) {
                candidates.push((item.cvss, item.first_seen, asset, vuln));
            }
        }
        candidates.sort_by(|a, b| {
            b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)).then(a.2.cmp(&b.2)).then(a.3.cmp(&b.3))
        });
        let blast = self.policy.blast_radius.limit(self.live);
        for (_, _, asset, vuln) in candidates {
            if self.total + 1 > blast {
                break;
            }
            let telemetry = &world.assets[asset as usize].telemetry;
            if let Some(s) = &telemetry.business_service {
                let size = self.service_sizes.get(s).copied().unwrap_or(0);
                let cap = self.policy.service_overrides.get(s).copied();
                let cap = cap.unwrap_or_else(|| self.policy.service_cap.limit(size));
                if self.services.get(s).copied().unwrap_or(0) + 1 > cap {
                    continue;
                }
            }
            if let Some(g) = &telemetry.ha_group {
                let size = self.ha_sizes.get(g).copied().unwrap_or(0);
                if size >= 2 && self.ha.get(g).copied().unwrap_or(0) + 1 > size - 1 {
                    continue;
                }
            }
            let Some(slot) = self.slot(world, asset, t) else { continue };
            let c = self.command(world, asset, &vuln, CommandAction::Deploy, slot, t, None);
            if let Some(s) = &telemetry.business_service {
                *self.services.entry(s.clone()).or_default() += 1;
            }
            if let Some(g) = &telemetry.ha_group {
                *self.ha.entry(g.clone()).or_default() += 1;
            }
            self.total += 1;
            self.busy.insert(asset, c.command_id.clone());
            let flight = Flight { asset, vuln, action: CommandAction::Deploy, failed: false };
            self.flights.insert(c.command_id.clone(), flight);
            out.push(c);
        }
        out
    }

    #[allow(clippy::too_many_arguments)]
    fn command(
        &mut self,
        world: &World,
        asset: u32,
        vuln: &str,
        action: CommandAction,
        slot: Slot,
        t: i64,
        rollback_of: Option<String>,
    ) -> DeploymentCommand {
        self.issued += 1;
        let asset_id = world.assets[asset as usize].telemetry.asset_id.clone();
        let item = self.items.get(&asset).and_then(|q| q.get(vuln));
        let (product, fixed, cvss) = item.map_or((String::new(), String::new(), 0.0), |i| {
            (i.product.clone(), i.fixed.clone(), i.cvss)
        });
        let mut c = DeploymentCommand {
            command_id: format!("fifo-{:08}", self.issued),
            action,
            campaign_id: format!("fifo-{product}@{fixed}"),
            wave: 1,
            ring: Ring::Broad,
            remediation: Remediation {
                ecosystem: "vendor".to_string(),
                package: product,
                target_version: Some(fixed),
                kb: None,
            },
            target_assets: vec![asset_id.clone()],
            not_before: slot.start,
            not_after: slot.end,
            deadline: slot.end,
            rationale: vec![Rationale {
                exposure_id: String::new(),
                asset_id,
                vulnerability_id: vuln.to_string(),
                risk: cvss * 100.0,
                reason: format!("CVSS {cvss:.1}"),
            }],
            predicted_failure: 0.0,
            issued_at: t,
            policy_version: "cvss-fifo".to_string(),
            model_version: "none".to_string(),
            signature: None,
            plan_reason: "CVSS-FIFO: the asset's highest-CVSS open finding, in its window".into(),
            emergency: false,
            shadow: false,
            rollback_of,
        };
        sign_command(&mut c, &self.signer);
        c
    }
}
