//! `patchline simulate --emit DIR`: the world's inputs as JSON-lines files, one per topic, for
//! loading a broker or `patchline run --feed TOPIC=FILE`, at any fleet size. The fleet streams
//! ([`super::assets::FleetStream`]): each asset is generated, its findings are drawn and written,
//! and it is dropped, so memory holds the catalog, the open HA groups and one asset at a time.
//!
//! What is written is the world of `patchline simulate` with the same flags as it stands at the
//! start: every advisory published by then, every KEV entry added before the first day, every
//! asset of the initial fleet and each one's first scan (plus the assets that join later, with
//! their first scan at their arrival).
//!
//! Invariant: the files hold exactly the events [`super::world::World::initial`] emits for the
//! same configuration, plus the joining assets' first scans, in the same order per topic.

use super::assets::FleetStream;
use super::catalog::Catalog;
use super::world::{draw_exposures, exposure_stream, ARRIVING_SHARE, DAY_MS};
use super::SimConfig;
use crate::error::Result;
use crate::output::to_json;
use patchline_processors::events::{Event, Finding, FindingStatus, Package};
use serde::Serialize;
use std::collections::{BTreeMap, HashMap};
use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::Path;

/// Lines written per topic.
#[derive(Debug, Default, Serialize)]
pub struct Emitted {
    pub files: BTreeMap<String, usize>,
}

struct Out {
    writers: HashMap<&'static str, BufWriter<File>>,
    counts: BTreeMap<String, usize>,
}

impl Out {
    fn write(&mut self, topic: &'static str, event: &Event) -> Result<()> {
        if let Some(w) = self.writers.get_mut(topic) {
            serde_json::to_writer(&mut *w, &to_json(event)).map_err(std::io::Error::from)?;
            w.write_all(b"\n")?;
            *self.counts.entry(topic.to_string()).or_default() += 1;
        }
        Ok(())
    }
}

/// Writes the inputs of the world of `cfg` into `dir` (created if needed).
pub fn emit(cfg: &SimConfig, dir: &Path) -> Result<Emitted> {
    std::fs::create_dir_all(dir)?;
    let topics =
        ["patchline.advisories", "patchline.threats", "patchline.assets", "patchline.findings"];
    let mut out = Out { writers: HashMap::new(), counts: BTreeMap::new() };
    for t in topics {
        let file = File::create(dir.join(format!("{t}.jsonl")))?;
        out.writers.insert(t, BufWriter::with_capacity(1 << 20, file));
    }
    let catalog = Catalog::bundled(cfg.seed)?;
    let end = (cfg.end_day + 1) * DAY_MS;
    let start = end - cfg.days * DAY_MS;
    for a in &catalog.advisories {
        if a.published.unwrap_or(start) <= start {
            let mut a = a.clone();
            a.provenance.fetched_at = start;
            out.write("patchline.advisories", &Event::Advisory(a))?;
        }
    }
    for s in &catalog.kev {
        if s.kev.as_ref().is_some_and(|k| i64::from(k.date_added) * DAY_MS < start) {
            let mut s = s.clone();
            s.provenance.fetched_at = start;
            out.write("patchline.threats", &Event::ThreatSignal(s))?;
        }
    }
    let arriving = (cfg.assets as f64 * ARRIVING_SHARE).round() as usize;
    let mut rng = exposure_stream(cfg.seed);
    for asset in FleetStream::new(cfg.seed, cfg.assets, arriving, start, end) {
        let t = asset.arrival;
        let drawn = draw_exposures(&catalog, &asset, start, &mut rng);
        out.write("patchline.assets", &Event::AssetTelemetry(asset.telemetry.clone()))?;
        let mut installed: HashMap<u32, u32> = HashMap::new();
        for (cve, _) in &drawn {
            let c = &catalog.cves[*cve as usize];
            let slot = installed.entry(c.product).or_insert(u32::MAX);
            *slot = (*slot).min(c.release - 1);
        }
        for (cve, backdated) in drawn {
            let c = &catalog.cves[cve as usize];
            if c.published > t {
                continue; // latent until published
            }
            let product = &catalog.products[c.product as usize];
            let release = installed.get(&c.product).copied().unwrap_or(0) as usize;
            let package = Package {
                ecosystem: "vendor".to_string(),
                name: product.name.clone(),
                installed_version: product.versions[release].clone(),
                fixed_version: Some(product.versions[c.release as usize].clone()),
            };
            for scanner in asset.scanners {
                let id = &asset.telemetry.asset_id;
                let f = Finding {
                    asset_id: id.clone(),
                    scanner: (*scanner).to_string(),
                    scan_id: format!("{scanner}-{id}-{}", t / 1000),
                    vulnerability_id: c.id.clone(),
                    package: package.clone(),
                    status: FindingStatus::Open,
                    first_seen: backdated.unwrap_or(t),
                    last_seen: t,
                };
                out.write("patchline.findings", &Event::Finding(f))?;
            }
        }
    }
    for w in out.writers.values_mut() {
        w.flush()?;
    }
    Ok(Emitted { files: out.counts })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sim::world::World;
    use std::sync::Arc;

    #[test]
    fn the_files_hold_what_the_world_starts_with() {
        let dir = std::env::temp_dir().join(format!("patchline-emit-{}", std::process::id()));
        let cfg = SimConfig { assets: 40, days: 14, seed: 4, end_day: 20_020 };
        let emitted = emit(&cfg, &dir).expect("emit");
        let catalog = Arc::new(Catalog::bundled(4).expect("catalog"));
        let mut world = World::new(catalog, 40, 14, 20_020, 4);
        let initial = world.initial();
        let read =
            |t: &str| std::fs::read_to_string(dir.join(format!("{t}.jsonl"))).unwrap_or_default();
        let findings = read("patchline.findings");
        let lines: Vec<&str> = findings.lines().collect();
        let expected: Vec<String> = initial
            .iter()
            .filter(|e| matches!(e, Event::Finding(_)))
            .map(|e| to_json(e).to_string())
            .collect();
        assert!(!expected.is_empty());
        assert_eq!(&lines[..expected.len()], expected.as_slice(), "same first scans");
        assert_eq!(read("patchline.assets").lines().count(), world.assets.len());
        assert_eq!(emitted.files.get("patchline.findings"), Some(&lines.len()));
        let _ = std::fs::remove_dir_all(&dir);
    }
}
