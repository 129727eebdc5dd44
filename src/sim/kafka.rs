//! The closed loop of [`super::run`] with the patchline pipeline on a Kafka broker: the same
//! world, executor, processors and options, only the transport differs.
//!
//! - **Setup.** The topology's topics are created under the run's prefix (which also prefixes
//!   its consumer groups) and must hold no record. Every stage runs through `run_stage`, the
//!   Kafka runtime `patchline run` uses, in this process; the loop starts once each stage owns
//!   its partitions.
//! - **Time.** The stages punctuate on an [`ExternalClock`] that the loop moves to each step's
//!   instant, never on the wall clock; with an interval of [`PUNCTUATE_EVERY`] steps they
//!   punctuate at the same instants as on the embedded bus. Records carry wall-clock timestamps
//!   (the broker's retention works on them); simulated time travels in the events and the clock.
//! - **Lockstep.** Each step: (1) the clock moves to the step's instant, every stage punctuates
//!   when due and reports it, and after a punctuation the pipeline settles; as on the embedded
//!   bus, a punctuation sees the state before the step's inputs; (2) the step's inputs are produced and
//!   acknowledged, and the pipeline settles again; (3) the commands up to the end of the
//!   commands topic go to the executor. "Settles" is the quiescence check of
//!   [`super::lockstep`].
//!
//! The stages run concurrently, and within a stage records of different partitions and topics
//! interleave as the broker delivers them, so the order in which the planner meets a step's
//! exposures and outcomes, and with it the commands, can differ from the embedded bus's (and
//! from one Kafka run to the next).
//!
//! Invariant: every input of a step is processed by every stage that reads it, and every
//! record that follows from it has been processed, before the step's commands are read: the
//! loop waits as long as that takes, so a slow broker makes a run slower, never lossy.

use super::executor::Executor;
use super::lockstep::{CommandReader, Ends, Feed, Probe};
use super::pipeline::{setup, topic_of, Bookkeeping, COMMANDS};
use super::run::{Progress, PUNCTUATE_EVERY};
use super::world::{DAY_MS, STEP_MS};
use super::SimConfig;
use crate::error::{CliError, Result};
use patchline_processors::sign::Signer;
use patchline_topology::codec::Codec;
use patchline_topology::kafka::admin::create_topics;
use patchline_topology::kafka::run::{run_stage, KafkaStage};
use patchline_topology::kafka::KafkaConfig;
use patchline_topology::observe::metrics::Metrics;
use patchline_topology::runtime::query::{query_channel, QueryHandle};
use patchline_topology::runtime::runner::{
    ExternalClock, PunctuationClock, RunSummary, RunnerConfig,
};
use patchline_topology::runtime::stage::ProcessorOptions;
use patchline_topology::spec::TopologySpec;
use std::future::Future;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::{mpsc, watch};

/// Instance id of the stages (names their global consumer groups).
pub const INSTANCE: &str = "sim";
/// Longest the lockstep waits for a stage that makes no progress (no commit) before the run
/// fails; also bounds starting and stopping.
const STALL: Duration = Duration::from_secs(300);
/// Pause between two quiescence checks.
const POLL: Duration = Duration::from_millis(2);
/// How often the stages commit: the quiescence check sees progress through commits.
const COMMIT_EVERY: Duration = Duration::from_millis(5);

/// The broker and the topic prefix of a Kafka-mode run.
#[derive(Debug, Clone)]
pub struct KafkaTarget {
    pub kafka: KafkaConfig,
    /// Prefix of every topic and consumer group of the run.
    pub prefix: String,
}

impl KafkaTarget {
    /// `brokers` with `prefix`, by default `sim-<seed>-<unix ms>.` (fresh topics every run).
    pub fn new(brokers: &str, prefix: Option<String>, seed: u64) -> KafkaTarget {
        let kafka = KafkaConfig::new(brokers);
        let prefix = prefix.unwrap_or_else(|| {
            let ms = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_millis());
            format!("sim-{seed}-{ms}.")
        });
        KafkaTarget { kafka, prefix }
    }
}

/// Runs blocking Kafka calls off the async threads.
async fn blocking<T: Send + 'static>(f: impl FnOnce() -> Result<T> + Send + 'static) -> Result<T> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| CliError::Config(format!("Kafka probe task: {e}")))?
}

/// The stages running on Kafka, each in its own task.
struct Stages {
    stop: watch::Sender<bool>,
    done: mpsc::Receiver<(String, patchline_topology::Result<RunSummary>)>,
    count: usize,
    ready: Arc<AtomicUsize>,
    _queries: Vec<QueryHandle>,
}

impl Stages {
    fn start(
        spec: &TopologySpec,
        kafka: &KafkaConfig,
        options: &ProcessorOptions,
        clock: &Arc<ExternalClock>,
    ) -> Result<Stages> {
        let codec = Arc::new(Codec::bundled()?);
        let metrics = Metrics::new()?;
        let config = RunnerConfig {
            commit_interval: COMMIT_EVERY,
            punctuate_interval: Duration::from_millis((PUNCTUATE_EVERY * STEP_MS) as u64),
            clock: PunctuationClock::External(clock.clone()),
            ..RunnerConfig::default()
        };
        let (stop, stop_rx) = watch::channel(false);
        let (done_tx, done) = mpsc::channel(spec.stages.len().max(1));
        let ready = Arc::new(AtomicUsize::new(0));
        let mut queries = Vec::new();
        for stage in &spec.stages {
            let (handle, rx) = query_channel();
            queries.push(handle);
            let job = KafkaStage {
                spec: spec.clone(),
                stage: stage.clone(),
                kafka: kafka.clone(),
                codec: codec.clone(),
                metrics: metrics.clone(),
                config: config.clone(),
                instance: INSTANCE.to_string(),
                options: options.clone(),
            };
            let (name, stop, done, ready) =
                (stage.name.clone(), stop_rx.clone(), done_tx.clone(), ready.clone());
            tokio::spawn(async move {
                let on_ready = move || {
                    ready.fetch_add(1, Ordering::SeqCst);
                };
                let result = run_stage(job, stop, rx, on_ready).await;
                let _ = done.send((name, result)).await;
            });
        }
        Ok(Stages { stop, done, count: spec.stages.len(), ready, _queries: queries })
    }

    /// Awaits `fut`, failing if a stage stops first.
    async fn guard<T>(&mut self, what: &str, fut: impl Future<Output = Result<T>>) -> Result<T> {
        tokio::select! {
            r = fut => r,
            ended = self.done.recv() => Err(CliError::Config(match ended {
                Some((name, Err(e))) => format!("stage {name} failed while {what}: {e}"),
                Some((name, Ok(_))) => format!("stage {name} stopped while {what}"),
                None => format!("the stages are gone while {what}"),
            })),
        }
    }

    /// Like [`Stages::guard`], failing too if the wait exceeds [`STALL`].
    async fn within<T>(&mut self, what: &str, fut: impl Future<Output = Result<T>>) -> Result<T> {
        let bounded = async {
            tokio::time::timeout(STALL, fut).await.unwrap_or_else(|_| {
                Err(CliError::Config(format!("{what}: no end within {} s", STALL.as_secs())))
            })
        };
        self.guard(what, bounded).await
    }

    /// Waits until the pipeline settled (see [`super::lockstep`]); returns the ends it saw.
    /// Fails if the stages commit nothing for [`STALL`] meanwhile.
    async fn settle(&mut self, probe: &Arc<Probe>, what: &str) -> Result<Ends> {
        let check = async {
            let (mut progress, mut since) = (i64::MIN, Instant::now());
            loop {
                let p = probe.clone();
                match blocking(move || p.settled()).await? {
                    Ok(ends) => return Ok(ends),
                    Err(now) if now > progress => (progress, since) = (now, Instant::now()),
                    Err(_) if since.elapsed() > STALL => {
                        return Err(CliError::Config(format!(
                            "{what}: the stages committed nothing for {} s",
                            STALL.as_secs()
                        )))
                    }
                    Err(_) => {}
                }
                tokio::time::sleep(POLL).await;
            }
        };
        self.guard(what, check).await
    }

    /// Stops every stage (each drains and commits) and reports the first failure.
    async fn stop(mut self) -> Result<()> {
        let _ = self.stop.send(true);
        for _ in 0..self.count {
            match tokio::time::timeout(STALL, self.done.recv()).await {
                Ok(Some((_, Ok(_)))) => {}
                Ok(Some((name, Err(e)))) => {
                    return Err(CliError::Config(format!("stage {name} failed at shutdown: {e}")))
                }
                Ok(None) => break,
                Err(_) => return Err(CliError::Config("the stages did not stop".into())),
            }
        }
        Ok(())
    }
}

/// The Kafka loop of a patchline policy; see the module docs.
pub async fn kafka_loop(
    cfg: &SimConfig,
    book: &mut Bookkeeping,
    mut executor: Executor,
    key: Signer,
    target: &KafkaTarget,
    progress: &mut dyn FnMut(&Progress),
) -> Result<Executor> {
    let start = book.run.world.start;
    let (spec, options) = setup(book.run.policy, key, start)?;
    book.run.learn_stage = spec.stages.iter().any(|s| s.name == "learn");
    let spec = spec.with_prefix(&target.prefix);
    let kafka = target.kafka.clone();
    create_topics(&kafka.client(), &spec).await?;
    let (k, s) = (kafka.clone(), spec.clone());
    let probe = Arc::new(blocking(move || Probe::open(&k, &s, INSTANCE)).await?);
    let p = probe.clone();
    blocking(move || p.require_empty()).await?;
    let codec = Codec::bundled()?;
    let commands = format!("{}{COMMANDS}", target.prefix);
    let parts: Vec<i32> = probe.partitions(&commands).into_iter().map(|(_, p)| p).collect();
    let reader_group = format!("{}.sim-reader", spec.name);
    let mut reader = CommandReader::new(&kafka, &reader_group, &commands, &parts)?;
    let mut feed = Feed::new(&kafka)?;
    let clock = ExternalClock::new(start);
    let n = spec.stages.len();
    let mut stages = Stages::start(&spec, &kafka, &options, &clock)?;
    let ready = stages.ready.clone();
    let started = async {
        while ready.load(Ordering::SeqCst) < n {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        clock.wait_handled(start, n).await;
        Ok(())
    };
    stages.within("starting", started).await?;
    let steps = cfg.days * DAY_MS / STEP_MS;
    let began = Instant::now();
    for step in 0..=steps {
        let t = start + step * STEP_MS;
        clock.advance(t);
        let punctuated = async {
            clock.wait_handled(t, n).await;
            Ok(())
        };
        stages.within("punctuating", punctuated).await?;
        if step % PUNCTUATE_EVERY == 0 {
            // The stages punctuate every PUNCTUATE_EVERY steps from the start: at other steps
            // they emitted nothing, and the pipeline is as settled as the last step left it.
            stages.settle(&probe, "settling after punctuation").await?;
        }
        for e in &book.step_inputs(&mut executor, step, t) {
            let topic = format!("{}{}", target.prefix, topic_of(e));
            feed.send(&topic, e.key().as_bytes(), &codec.encode(e)?).await?;
        }
        probe.note(stages.within("producing the step's inputs", feed.flush()).await?);
        let ends = stages.settle(&probe, "settling after the step's inputs").await?;
        let fresh = stages.within("reading commands", reader.read_to(&ends, &codec)).await?;
        book.hand_over(&mut executor, fresh, t);
        if step > 0 && (step * STEP_MS) % DAY_MS == 0 {
            progress(&book.report(&executor, step, t, cfg));
        }
    }
    book.run.loop_wall = began.elapsed();
    stages.stop().await?;
    let dead = probe.partitions(&spec.dead_letter_topic);
    let p = probe.clone();
    let ends = blocking(move || p.ends(&dead)).await?;
    book.run.dead_letters = ends.values().map(|e| *e as usize).sum();
    Ok(executor)
}
