//! Campaigns: open exposures grouped by remediation (ecosystem, package, target version). One
//! campaign fixes many vulnerabilities on many assets with one change per asset.
//!
//! Invariant: every open exposure is held by exactly one campaign member (the campaign of its
//! current remediation and its asset), closed exposures by none, and a member exists only while
//! it holds at least one exposure. Campaign ids depend only on the remediation, so every
//! instance and every replay names a campaign the same way.

use crate::events::{Exposure, ExposureStatus, Lane, Remediation, SsvcDecision};
use crate::ids::stable_id;
use std::collections::{BTreeMap, BTreeSet, HashMap};

const DAY_MS: i64 = 86_400_000;

/// What a command's rationale needs of one exposure.
#[derive(Debug, Clone, PartialEq)]
pub struct ExposureRef {
    pub exposure_id: String,
    pub vulnerability_id: String,
    pub installed_version: String,
    pub risk: f32,
    pub reason: String,
    pub due_date: i32,
    pub emergency: bool,
    pub accepted_until: Option<i32>,
    pub updated_at: i64,
    /// What operator overrides do to it (see [`super::overrides`]).
    pub effect: super::overrides::Effect,
}

impl ExposureRef {
    /// True while a policy exception or an operator override accepts the exposure (it is then
    /// not planned); a `FORCE_PATCH` override wins over both.
    pub fn accepted_at(&self, t: i64) -> bool {
        if self.effect.forced {
            return false;
        }
        self.accepted_until.is_some_and(|until| t.div_euclid(DAY_MS) < i64::from(until))
            || self.effect.held_until.is_some_and(|until| t < until)
    }

    /// In the emergency lane: SSVC ACT, KEV, or forced by an operator.
    pub fn urgent(&self) -> bool {
        self.emergency || self.effect.forced
    }
}

/// An asset in a campaign, with the exposures the remediation fixes on it.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Member {
    pub exposures: BTreeMap<String, ExposureRef>,
}

impl Member {
    /// The exposures to plan at `t` (not accepted), by exposure id.
    pub fn plannable(&self, t: i64) -> impl Iterator<Item = &ExposureRef> {
        self.exposures.values().filter(move |e| !e.accepted_at(t))
    }
}

/// A remediation and the assets that need it.
#[derive(Debug, Clone, PartialEq)]
pub struct Campaign {
    pub id: String,
    pub remediation: Remediation,
    pub members: BTreeMap<String, Member>,
    /// Earliest event time of any exposure that joined the campaign.
    pub first_seen: i64,
}

impl Campaign {
    fn exposures(&self) -> impl Iterator<Item = &ExposureRef> {
        self.members.values().flat_map(|m| m.exposures.values())
    }
    /// Highest risk of its exposures.
    pub fn max_risk(&self) -> f32 {
        self.exposures().map(|e| e.risk).fold(0.0, f32::max)
    }
    /// Earliest due date of its exposures.
    pub fn earliest_due(&self) -> i32 {
        self.exposures().map(|e| e.due_date).min().unwrap_or(i32::MAX)
    }
    /// In the emergency lane when any exposure is (SSVC ACT, KEV, or an operator's
    /// `FORCE_PATCH`).
    pub fn emergency(&self) -> bool {
        self.exposures().any(ExposureRef::urgent)
    }
}

/// The campaign id and remediation of an exposure.
pub fn remediation_of(e: &Exposure) -> (String, Remediation) {
    let remediation = Remediation {
        ecosystem: e.ecosystem.clone(),
        package: e.package.clone(),
        target_version: e.fixed_version.clone(),
        kb: None,
    };
    let target = remediation.target_version.as_deref().unwrap_or("vendor-patch");
    (stable_id("cmp", &[&remediation.ecosystem, &remediation.package, target]), remediation)
}

/// A one-line human reason, e.g. `KEV, SSVC Act, EPSS 0.940, internet-exposed high production,
/// risk 912.0`.
pub fn reason(e: &Exposure) -> String {
    let mut parts = Vec::new();
    if e.kev {
        parts.push("KEV".to_string());
    }
    parts.push(format!("SSVC {:?}", e.ssvc_decision));
    if let Some(epss) = e.epss {
        parts.push(format!("EPSS {epss:.3}"));
    }
    let exposed = if e.internet_exposed { "internet-exposed " } else { "" };
    parts.push(format!("{exposed}{:?} {:?}", e.criticality, e.environment).to_lowercase());
    parts.push(format!("risk {:.1}", e.risk));
    parts.join(", ")
}

/// What applying an exposure changed.
#[derive(Debug, Default, PartialEq)]
pub struct Applied {
    /// Campaigns whose members changed.
    pub touched: Vec<String>,
    /// (campaign, asset, instant) when the asset's last exposure of the campaign closed as
    /// `fixed`: the scanner confirms the remediation is in place.
    pub fixed: Option<(String, String, i64)>,
}

/// All campaigns, with an index from exposure to the member holding it.
#[derive(Debug, Default)]
pub struct Campaigns {
    by_id: BTreeMap<String, Campaign>,
    home: HashMap<String, (String, String)>,
}

impl Campaigns {
    /// Applies the newest version of an exposure.
    pub fn apply(&mut self, e: &Exposure) -> Applied {
        let mut applied = Applied::default();
        let (campaign_id, remediation) = remediation_of(e);
        if let Some((old_campaign, asset)) = self.home.remove(&e.exposure_id) {
            if let Some(c) = self.by_id.get_mut(&old_campaign) {
                let emptied = c.members.get_mut(&asset).is_some_and(|m| {
                    m.exposures.remove(&e.exposure_id);
                    m.exposures.is_empty()
                });
                if emptied {
                    c.members.remove(&asset);
                    let fixed = e.status == ExposureStatus::Closed
                        && e.close_reason.as_deref() == Some("fixed");
                    if fixed && old_campaign == campaign_id {
                        applied.fixed = Some((old_campaign.clone(), asset, e.updated_at));
                    }
                }
                if c.members.is_empty() {
                    self.by_id.remove(&old_campaign);
                }
            }
            applied.touched.push(old_campaign);
        }
        if e.status != ExposureStatus::Open {
            return applied;
        }
        let c = self.by_id.entry(campaign_id.clone()).or_insert_with(|| Campaign {
            id: campaign_id.clone(),
            remediation,
            members: BTreeMap::new(),
            first_seen: e.updated_at,
        });
        c.first_seen = c.first_seen.min(e.updated_at);
        let emergency = e.lane == Lane::Emergency || e.kev || e.ssvc_decision == SsvcDecision::Act;
        c.members.entry(e.asset_id.clone()).or_default().exposures.insert(
            e.exposure_id.clone(),
            ExposureRef {
                exposure_id: e.exposure_id.clone(),
                vulnerability_id: e.vulnerability_id.clone(),
                installed_version: e.installed_version.clone(),
                risk: e.risk,
                reason: reason(e),
                due_date: e.due_date,
                emergency,
                accepted_until: e.accepted_until,
                updated_at: e.updated_at,
                effect: Default::default(),
            },
        );
        self.home.insert(e.exposure_id.clone(), (campaign_id.clone(), e.asset_id.clone()));
        if !applied.touched.contains(&campaign_id) {
            applied.touched.push(campaign_id);
        }
        applied
    }

    /// Calls `f(package, asset, exposure)` for every exposure of the campaigns `only` names
    /// (every campaign when `None`).
    pub fn for_each_ref_mut(
        &mut self,
        only: Option<&[String]>,
        mut f: impl FnMut(&str, &str, &mut ExposureRef),
    ) {
        for c in self.by_id.values_mut() {
            if only.is_some_and(|ids| !ids.contains(&c.id)) {
                continue;
            }
            for (asset, m) in c.members.iter_mut() {
                for r in m.exposures.values_mut() {
                    f(&c.remediation.package, asset, r);
                }
            }
        }
    }

    /// A campaign by id.
    pub fn get(&self, id: &str) -> Option<&Campaign> {
        self.by_id.get(id)
    }

    /// Campaigns an asset is a member of.
    pub fn of_asset(&self, asset: &str) -> BTreeSet<String> {
        self.by_id
            .values()
            .filter(|c| c.members.contains_key(asset))
            .map(|c| c.id.clone())
            .collect()
    }

    /// Campaign ids in planning order: emergency lane first, then by highest risk, then by
    /// earliest due date, then by id.
    pub fn priority_order(&self) -> Vec<String> {
        Self::ordered(self.by_id.values())
    }

    /// The campaigns among `ids` that exist, in planning order (the same relative order as in
    /// [`Campaigns::priority_order`], without sorting the others).
    pub fn priority_order_of<'a>(&self, ids: impl IntoIterator<Item = &'a String>) -> Vec<String> {
        Self::ordered(ids.into_iter().filter_map(|id| self.by_id.get(id)))
    }

    fn ordered<'a>(campaigns: impl Iterator<Item = &'a Campaign>) -> Vec<String> {
        // Each key is computed once per campaign, not once per comparison.
        let mut keyed: Vec<(bool, f32, i32, &str)> = campaigns
            .map(|c| (c.emergency(), c.max_risk(), c.earliest_due(), c.id.as_str()))
            .collect();
        keyed.sort_by(|a, b| {
            b.0.cmp(&a.0).then(b.1.total_cmp(&a.1)).then(a.2.cmp(&b.2)).then(a.3.cmp(b.3))
        });
        keyed.into_iter().map(|k| k.3.to_string()).collect()
    }

    /// Drops the members of assets for which `keep` is false.
    pub fn retain_assets(&mut self, keep: &dyn Fn(&str) -> bool) {
        self.home.retain(|_, (_, asset)| keep(asset));
        for c in self.by_id.values_mut() {
            c.members.retain(|asset, _| keep(asset));
        }
        self.by_id.retain(|_, c| !c.members.is_empty());
    }

    /// Number of campaigns.
    pub fn len(&self) -> usize {
        self.by_id.len()
    }

    /// True when there is no campaign.
    pub fn is_empty(&self) -> bool {
        self.by_id.is_empty()
    }

    /// Number of open exposures held.
    pub fn exposures(&self) -> usize {
        self.home.len()
    }
}
