//! The closed loop on the embedded bus: outcomes of signed commands retrain the patch-failure
//! model while the pipeline runs, the planner hot-swaps to every published version, and a
//! poisoned burst of outcomes (labels flipped) is rejected by the champion/challenger gate.

use patchline_processors::events::*;
use patchline_processors::fixtures;
use patchline_processors::learn::failure::FAILURE_MODEL;
use patchline_processors::sign::{sign_command, Signer};
use patchline_topology::codec::{Codec, Format};
use patchline_topology::embedded::EmbeddedPipeline;
use patchline_topology::observe::metrics::Metrics;
use patchline_topology::runtime::stage::ProcessorOptions;
use patchline_topology::spec::TopologySpec;
use std::sync::Arc;

const NOW: i64 = 1_769_731_200_000;
const HOUR: i64 = 3_600_000;

struct Loop {
    pipeline: EmbeddedPipeline,
    codec: Arc<Codec>,
    signer: Signer,
    clock: i64,
    commands: usize,
}

impl Loop {
    fn new() -> Loop {
        let spec = TopologySpec::default_topology().expect("topology");
        let codec = Arc::new(Codec::bundled().expect("codec"));
        let signer = Signer::from_seed(&[7; 32]);
        let options =
            ProcessorOptions { signing_key: Some(signer.clone()), ..ProcessorOptions::default() };
        let clock = Arc::new(|| NOW);
        let pipeline = EmbeddedPipeline::new_with(
            spec,
            codec.clone(),
            Metrics::new().expect("metrics"),
            clock,
            &options,
        )
        .expect("pipeline");
        Loop { pipeline, codec, signer, clock: NOW, commands: 0 }
    }

    fn send(&self, topic: &str, e: Event) {
        let value = self.codec.encode(&e).expect("encode");
        let topic = format!("patchline.{topic}");
        self.pipeline.bus().produce(&topic, e.key().as_bytes(), value, NOW).expect("produce");
    }

    fn version(&self, stage: &str) -> f64 {
        let p = self.pipeline.processor(stage).expect("stage");
        p.model_gauges()
            .iter()
            .find(|g| g.model == FAILURE_MODEL && g.metric == "version")
            .map_or(-1.0, |g| g.value)
    }

    fn rejections(&self) -> f64 {
        let p = self.pipeline.processor("learn").expect("learn stage");
        p.model_gauges()
            .iter()
            .find(|g| g.model == FAILURE_MODEL && g.metric == "rejections")
            .map_or(-1.0, |g| g.value)
    }

    /// A signed command deploying to `assets`, then one outcome each: failed when `fails(i)`.
    async fn deploy(&mut self, assets: &[String], fails: impl Fn(usize) -> bool) {
        self.commands += 1;
        let mut c = DeploymentCommand {
            command_id: format!("cmd-{}", self.commands),
            campaign_id: format!("cmp-{}", self.commands),
            target_assets: assets.to_vec(),
            not_before: self.clock,
            not_after: self.clock + 30 * 24 * HOUR,
            ..fixtures::command()
        };
        sign_command(&mut c, &self.signer);
        self.send("commands", Event::DeploymentCommand(c.clone()));
        for (i, a) in assets.iter().enumerate() {
            let status = if fails(i) { OutcomeStatus::Failed } else { OutcomeStatus::Succeeded };
            self.send(
                "outcomes",
                Event::DeploymentOutcome(fixtures::outcome(&c.command_id, a, status)),
            );
        }
        self.pipeline.run_until_idle().await.expect("run");
    }

    /// Advances the punctuation clock by an hour (one gate) and delivers what it published.
    async fn gate(&mut self) {
        self.clock += HOUR;
        self.pipeline.punctuate(self.clock).expect("punctuate");
        self.pipeline.run_until_idle().await.expect("run");
    }

    fn published(&self) -> Vec<ModelSnapshot> {
        let records = self.pipeline.bus().read_all("patchline.models").expect("models");
        records
            .iter()
            .filter_map(|r| {
                match self.codec.decode(EventKind::ModelSnapshot, Format::Avro, r.value.as_deref()?)
                {
                    Ok(Event::ModelSnapshot(s)) if s.model == FAILURE_MODEL => Some(s),
                    _ => None,
                }
            })
            .collect()
    }
}

#[tokio::test]
async fn outcomes_retrain_while_running_and_a_poisoned_burst_is_rejected() {
    let mut l = Loop::new();
    let rhel: Vec<String> = (0..150).map(|i| format!("rhel-{i}")).collect();
    let debian: Vec<String> = (0..150).map(|i| format!("debian-{i}")).collect();
    for id in &rhel {
        l.send(
            "assets",
            Event::AssetTelemetry(AssetTelemetry {
                os_family: "rhel".into(),
                ..fixtures::asset(id, NOW)
            }),
        );
    }
    for id in &debian {
        l.send("assets", Event::AssetTelemetry(fixtures::asset(id, NOW)));
    }
    l.pipeline.run_until_idle().await.expect("run");
    l.gate().await; // starts the learn stage's interval
    assert_eq!(l.version("plan"), 0.0, "the planner starts on the prior");

    // Clean weeks: the patch fails on a third of RHEL hosts and rarely on Debian. Each interval
    // is promoted unless the challenger is worse on the held-out reservoir; with clean data the
    // first ones always are, later ones may tie within noise.
    for week in 0..4 {
        l.deploy(&rhel, |i| (i + week) % 3 == 0).await;
        l.deploy(&debian, |i| (i + week) % 50 == 0).await;
        l.gate().await;
        let published = l.published();
        assert!(published.len() >= 2.min(week + 1), "week {week}: {} promotions", published.len());
        let newest = published.last().expect("a version").version as f64;
        assert_eq!(l.version("plan"), newest, "the planner swapped to the newest version");
    }
    let rejected_before = l.rejections();
    let before = l.published();
    // A burst whose labels are flipped: Debian reported failing, RHEL succeeding.
    l.deploy(&rhel, |i| i % 3 != 0).await;
    l.deploy(&debian, |i| i % 50 != 0).await;
    l.gate().await;
    assert_eq!(l.published(), before, "the poisoned interval published nothing");
    assert_eq!(l.rejections(), rejected_before + 1.0);
    assert_eq!(l.version("plan"), before.last().expect("v4").version as f64);
}
