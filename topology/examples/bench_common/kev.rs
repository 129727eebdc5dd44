//! The KEV fan-out of `bench_latency`, and the state its runs share ([`Lab`]): a fleet of
//! 10,000 production assets with one finding each of a fresh CVE, in 20 packages of 500 assets
//! (in blocks, so the last campaign's first exposure is among the last re-scored), whose
//! exposures the plan stage has handled (standard lane: nothing issued yet); then the CVE's KEV
//! addition, timed to the plan stage's handling of every re-scored exposure and to the last
//! command of those campaigns (when no new one came for 2 s).

use super::kafka::{self as bk, Res};
use super::latency::{self as lat, Lookup, Probes};
use super::probes::{self as pr, campaign_of};
use super::Spread;
use patchline_processors::events::{Environment, Event};
use patchline_topology::codec::Codec;
use patchline_topology::kafka::config::KafkaConfig;
use prometheus::IntCounter;
use std::collections::HashSet;
use std::sync::atomic::{AtomicBool, Ordering::Relaxed};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Assets a KEV addition hits.
pub const KEV_ASSETS: usize = 10_000;
/// Packages (campaigns) those assets are spread over.
pub const KEV_PACKAGES: usize = 20;

/// What the runs of `bench_latency` share.
pub struct Lab {
    pub kafka: KafkaConfig,
    pub prefix: String,
    pub codec: Arc<Codec>,
    pub probes: Arc<Probes>,
    pub lookup: Lookup,
    /// Encoded advisory (key, value) of every probe.
    pub payloads: Vec<(Vec<u8>, Vec<u8>)>,
    pub advisories: String,
    pub commands: String,
    pub assets: String,
    pub findings: String,
    pub exposures_in_plan: IntCounter,
    pub next: usize,
    /// Next probe index of the pass-through runs (after every pipeline probe, whose assets and
    /// findings were loaded up front).
    pub next_pass: usize,
    /// Topics the pass-through runs created (deleted at the end).
    pub topics: Vec<String>,
}

impl Lab {
    /// The next `n` probe indices of the pipeline.
    pub fn take(&mut self, n: usize) -> std::ops::Range<usize> {
        let r = self.next..self.next + n;
        self.next += n;
        r
    }

    /// The next `n` probe indices of the pass-through.
    pub fn take_pass(&mut self, n: usize) -> std::ops::Range<usize> {
        let r = self.next_pass..self.next_pass + n;
        self.next_pass += n;
        r
    }
}

/// Loads KEV fleet `k` (assets, findings and the CVE's advisory, seen three minutes ago, so the
/// standard lane's 10-minute settle keeps their production canaries waiting and the emergency
/// lane's 1 minute does not) and waits until the plan stage has handled its exposures.
pub async fn load_kev_fleet(lab: &mut Lab, k: usize) -> Res<()> {
    let (past, cve) = (pr::now_ms() - 180_000, format!("CVE-2032-{}", 1000 + k));
    let before = lab.exposures_in_plan.get();
    let bulk = bk::bulk_producer(&lab.kafka)?;
    let send = |topic: &str, e: Event| -> Res<()> {
        let value = lab.codec.encode(&e).map_err(|e| e.to_string())?;
        bk::send(&bulk, topic, e.key().as_bytes(), &value)
    };
    send(&lab.advisories, Event::Advisory(pr::advisory(&cve, past)))?;
    for j in 0..KEV_ASSETS {
        let id = format!("kev{k}-asset-{j}");
        let pkg = format!("kev{k}pkg{}", j / (KEV_ASSETS / KEV_PACKAGES));
        send(&lab.assets, Event::AssetTelemetry(pr::asset(&id, Environment::Production, past)))?;
        send(&lab.findings, Event::Finding(pr::finding(&id, &cve, &pkg, past)))?;
    }
    rdkafka::producer::Producer::flush(&bulk, Duration::from_secs(60)).map_err(bk::err("flush"))?;
    let t = Instant::now();
    while lab.exposures_in_plan.get() < before + KEV_ASSETS as u64 {
        if t.elapsed() > Duration::from_secs(600) {
            return Err("the plan stage did not take in the KEV fleet's exposures".into());
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    println!("KEV fleet {} loaded and planned in {:.1}s", k + 1, t.elapsed().as_secs_f64());
    Ok(())
}

/// `runs` KEV additions, each hitting 10,000 assets: (ms to the last command, ms until the plan
/// stage handled every re-scored exposure).
pub async fn kev_runs(lab: &mut Lab, runs: usize) -> Res<(Spread, Spread)> {
    let (mut last, mut planned) = (Vec::new(), Vec::new());
    let threats = lab.advisories.replace("advisories", "threats");
    for k in 0..runs {
        load_kev_fleet(lab, k).await?;
        let keys: HashSet<Vec<u8>> =
            (0..KEV_PACKAGES).map(|j| campaign_of(&format!("kev{k}pkg{j}")).into_bytes()).collect();
        let stop = Arc::new(AtomicBool::new(false));
        let base = Instant::now();
        let (rx, latest) = lat::arrivals(
            &lab.kafka,
            std::slice::from_ref(&lab.commands),
            keys,
            base,
            stop.clone(),
        )?;
        let before = lab.exposures_in_plan.get();
        let event = Event::ThreatSignal(pr::kev(&format!("CVE-2032-{}", 1000 + k), pr::now_ms()));
        let value = lab.codec.encode(&event).map_err(|e| e.to_string())?;
        let p = lat::producer(&lab.kafka)?;
        let t0 = base.elapsed();
        bk::send(&p, &threats, event.key().as_bytes(), &value)?;
        rdkafka::producer::Producer::flush(&p, Duration::from_secs(10))
            .map_err(bk::err("flush"))?;
        let mut done = None;
        let deadline = Instant::now() + Duration::from_secs(120);
        loop {
            if done.is_none() && lab.exposures_in_plan.get() >= before + KEV_ASSETS as u64 {
                done = Some(base.elapsed());
            }
            let newest = Duration::from_nanos(latest.load(Relaxed)).max(t0);
            let quiet = base.elapsed().saturating_sub(newest) > Duration::from_secs(2);
            if (done.is_some() && quiet) || Instant::now() > deadline {
                break;
            }
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
        stop.store(true, Relaxed);
        let times = rx.join().map_err(|_| "receiver panicked")?;
        let at = times.iter().max().copied().ok_or("no command arrived after the KEV addition")?;
        let ms = |d: Duration| d.saturating_sub(t0).as_secs_f64() * 1e3;
        let (last_ms, plan_ms) = (ms(Duration::from_nanos(at)), done.map_or(f64::NAN, ms));
        println!(
            "KEV {}: {} commands, the last {last_ms:.1} ms after the addition; the plan stage \
             handled the {KEV_ASSETS} re-scored exposures by {plan_ms:.1} ms",
            k + 1,
            times.len()
        );
        last.push(last_ms);
        planned.push(plan_ms);
    }
    Ok((Spread::of(&last), Spread::of(&planned)))
}
