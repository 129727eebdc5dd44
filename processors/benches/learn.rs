//! G6, learning: what the patch-failure model costs per outcome, and how close its predictions
//! come to the probabilities that generated the outcomes.
//!
//! Criterion part (`cargo bench -p patchline-processors --bench learn`):
//! - `ftrl/predict_update`: one champion prediction plus one challenger update with the
//!   patch-failure features, pre-hashed (what `Lifecycle::observe` does with FTRL per outcome),
//!   on models of the learn stage's default width (2^20 slots), cycling over 4,096 examples.
//! - `learn/features_hash`: `learn::failure::features` plus `hash_features` for one deployment.
//! - `learn/outcome`: `LearnProcessor::process` of one `DeploymentOutcome` whose command and
//!   asset are known (the whole per-outcome path of the stage, decode excluded).
//!
//! Ratio part (printed after criterion's, rounds interleaved in one process):
//! - `G6 ftrl_cpu_share`: FTRL predict+update time / the learn stage's per-outcome processing
//!   time, on the same outcomes (32,000 per round, default 5 rounds, `BENCH_ROUNDS`). Each round
//!   times the stage over the outcomes (`process`, decode excluded), FTRL alone over the same
//!   examples pre-hashed, and feature extraction alone, in a rotating order. Median of the
//!   per-round ratios, min-max in brackets.
//! - `G6 logloss_ratio`: the stage's progressive log-loss (the challenger's prediction before
//!   each example, as `Lifecycle` reports it) / the generating model's log-loss on the same
//!   outcomes, for a world whose failure probabilities are known (`support::outcomes`, the
//!   effects of the fleet simulator's hidden model). Outcomes stream through the stage with a
//!   punctuation (a gate) every 1,000 outcomes and one simulated hour. Reported per tenth of the
//!   stream; the goal value is the last tenth (steady state), with and without the hidden asset
//!   fragility (standard deviation 0.4 and 0) that no model can see.

mod support;

use criterion::{criterion_group, BatchSize, Criterion};
use patchline_processors::events::Event;
use patchline_processors::learn::failure::features;
use patchline_processors::learn::{hash_features, log_loss, Ftrl, FtrlParams, Hashed};
use patchline_processors::learn::{LearnProcessor, LearnSettings};
use patchline_processors::Processor;
use std::hint::black_box;
use std::time::{Duration, Instant};
use support::outcomes::{Draw, Rng, World};
use support::{env_usize, full_run, ratios_only, Spread};

const HOUR_MS: i64 = 3_600_000;

/// The stage's failure-model settings.
fn settings() -> LearnSettings {
    LearnSettings::default()
}

/// Pre-hashed examples of `draws`, as the stage hashes them.
fn hashed(world: &World, draws: &[Draw]) -> Vec<(Hashed, bool)> {
    let bits = settings().failure.0.bits;
    draws
        .iter()
        .map(|d| (hash_features(&features(&world.context(d.release, d.asset)), bits), d.failed))
        .collect()
}

/// A learn stage that knows the world's assets and the commands of `draws`.
fn stage_for(world: &World, draws: &[Draw]) -> LearnProcessor {
    let mut learn = LearnProcessor::new(settings());
    let mut out = Vec::new();
    let events = (0..world.assets.len()).map(|i| world.asset_event(i));
    for e in events.chain(world.setup_events(draws)) {
        learn.process(e, &mut out).expect("a generated event is valid");
    }
    learn
}

/// FTRL as `Lifecycle::observe` uses it: the champion predicts, the challenger updates.
fn ftrl_pass(xs: &[(Hashed, bool)]) -> Duration {
    let params = settings().failure.0;
    let (champion, mut challenger) = (Ftrl::new(params), Ftrl::new(params));
    let t = Instant::now();
    for (x, y) in xs {
        black_box(champion.predict_hashed(x));
        black_box(challenger.update_hashed(x, *y));
    }
    t.elapsed()
}

fn criterion_benches(c: &mut Criterion) {
    let world = World::new(7, 4_000, 64, 1, 0.4);
    let draws = world.draws(&mut Rng::new(1), 0..64, 64);
    let xs = hashed(&world, &draws);
    let params = settings().failure.0;
    let (champion, mut challenger) = (Ftrl::new(params), Ftrl::new(params));
    let mut i = 0;
    c.bench_function("ftrl/predict_update", |b| {
        b.iter(|| {
            let (x, y) = &xs[i % xs.len()];
            i += 1;
            black_box(champion.predict_hashed(x));
            black_box(challenger.update_hashed(x, *y))
        })
    });
    let mut j = 0;
    c.bench_function("learn/features_hash", |b| {
        b.iter(|| {
            let d = &draws[j % draws.len()];
            j += 1;
            black_box(hash_features(&features(&world.context(d.release, d.asset)), params.bits))
        })
    });
    // Every outcome must be a new (command, asset): a pool of all 64 x 4,000 pairs, rebuilt
    // (untimed) when it runs out.
    let all: Vec<Draw> = (0..64 * world.assets.len())
        .map(|k| Draw { release: k % 64, asset: k / 64, p: 0.0, failed: k % 31 == 0 })
        .collect();
    let mut pool: Option<(LearnProcessor, usize)> = None;
    let mut group = c.benchmark_group("learn");
    group.sample_size(30);
    group.bench_function("outcome", |b| {
        b.iter_custom(|iters| {
            let mut total = Duration::ZERO;
            let mut left = iters as usize;
            while left > 0 {
                if pool.as_ref().is_some_and(|(_, n)| *n >= all.len()) {
                    pool = None;
                }
                let (learn, next) = pool.get_or_insert_with(|| (stage_for(&world, &all), 0));
                let take = left.min(all.len() - *next).min(10_000);
                let batch: Vec<Event> =
                    all[*next..*next + take].iter().map(|d| world.outcome_event(d)).collect();
                *next += take;
                left -= take;
                let mut out = Vec::new();
                let t = Instant::now();
                for e in batch {
                    learn.process(e, &mut out).expect("a generated outcome is valid");
                }
                total += t.elapsed();
            }
            total
        })
    });
    group.bench_function("outcome_event_build", |b| {
        b.iter_batched(|| all[i % all.len()], |d| world.outcome_event(&d), BatchSize::SmallInput)
    });
    group.finish();
}

criterion_group!(benches, criterion_benches);

/// G6 CPU share: interleaved rounds of (stage, FTRL alone, features alone).
fn cpu_share(rounds: usize) -> Spread {
    let world = World::new(7, 4_000, 64, 1, 0.4);
    let (mut shares, mut stage_ns, mut ftrl_ns, mut feat_ns) = (vec![], vec![], vec![], vec![]);
    for round in 0..rounds {
        let draws = world.draws(&mut Rng::new(100 + round as u64), 0..64, 500);
        let n = draws.len() as f64;
        let mut learn = stage_for(&world, &draws);
        let outcomes: Vec<Event> = draws.iter().map(|d| world.outcome_event(d)).collect();
        let xs = hashed(&world, &draws);
        let bits = settings().failure.0.bits;
        let (mut stage, mut ftrl, mut feat) = (0.0, 0.0, 0.0);
        let mut outcomes = Some(outcomes);
        for step in 0..3 {
            match (round + step) % 3 {
                0 => {
                    let mut out = Vec::new();
                    let t = Instant::now();
                    for e in outcomes.take().into_iter().flatten() {
                        learn.process(e, &mut out).expect("a generated outcome is valid");
                    }
                    stage = t.elapsed().as_secs_f64();
                }
                1 => ftrl = ftrl_pass(&xs).as_secs_f64(),
                _ => {
                    let t = Instant::now();
                    for d in &draws {
                        let ctx = world.context(d.release, d.asset);
                        black_box(hash_features(&features(&ctx), bits));
                    }
                    feat = t.elapsed().as_secs_f64();
                }
            }
        }
        let trained = learn.failure().stats().examples as f64;
        assert_eq!(trained, n, "every outcome must become one example");
        println!(
            "round {}: stage {:.0} ns/outcome, FTRL predict+update {:.0} ns ({:.1}%), features + \
             hash {:.0} ns ({:.1}%)",
            round + 1,
            stage * 1e9 / n,
            ftrl * 1e9 / n,
            100.0 * ftrl / stage,
            feat * 1e9 / n,
            100.0 * feat / stage
        );
        shares.push(ftrl / stage);
        stage_ns.push(stage * 1e9 / n);
        ftrl_ns.push(ftrl * 1e9 / n);
        feat_ns.push(feat * 1e9 / n);
    }
    println!(
        "learn stage per outcome {} ns; FTRL predict+update {} ns; features + hash {} ns",
        Spread::of(&stage_ns).show(0),
        Spread::of(&ftrl_ns).show(0),
        Spread::of(&feat_ns).show(0)
    );
    Spread::of(&shares)
}

/// G6 log-loss: the stage's progressive log-loss over a stream with known probabilities,
/// against the generating model's, per tenth of the stream. Returns the last tenth's ratio.
fn logloss(fragility_sd: f64, releases: usize, per_command: usize) -> (f64, f64, f64) {
    let world = World::new(11, 20_000, 120, releases, fragility_sd);
    let draws = world.draws(&mut Rng::new(5), 0..world.releases.len(), per_command);
    let events = world.stream(&draws);
    let mut learn = LearnProcessor::new(settings());
    let mut out = Vec::new();
    for i in 0..world.assets.len() {
        learn.process(world.asset_event(i), &mut out).expect("valid asset");
    }
    let tenth = draws.len().div_ceil(10);
    let (mut seen, mut now, mut truth, mut oracle) = (0usize, 0i64, 0.0, 0.0);
    let mut marks: Vec<(i64, f64, f64, f64)> = vec![(0, 0.0, 0.0, 0.0)];
    // The oracle knows every effect but whether a release is bad: it starts each release at the
    // 4% prior and updates that belief by Bayes' rule with each outcome of the release.
    let mut bad_odds = vec![(0.04f64 / 0.96).ln(); world.releases.len()];
    let started = Instant::now();
    for e in events {
        let outcome = matches!(e, Event::DeploymentOutcome(_));
        learn.process(e, &mut out).expect("valid event");
        if !outcome {
            continue;
        }
        let d = &draws[seen];
        truth += log_loss(d.p, d.failed);
        let (p_bad, p_good) = (
            world.probability_if(d.release, d.asset, true),
            world.probability_if(d.release, d.asset, false),
        );
        let belief = patchline_processors::learn::sigmoid(bad_odds[d.release]);
        oracle += log_loss(belief * p_bad + (1.0 - belief) * p_good, d.failed);
        let likelihood = |p: f64| if d.failed { p } else { 1.0 - p };
        bad_odds[d.release] += (likelihood(p_bad) / likelihood(p_good)).ln();
        seen += 1;
        if seen.is_multiple_of(1_000) {
            now += HOUR_MS;
            learn.punctuate(now, &mut out);
        }
        if seen.is_multiple_of(tenth) || seen == draws.len() {
            let s = learn.failure().stats();
            marks.push((s.examples, s.progressive_log_loss * s.examples as f64, truth, oracle));
        }
    }
    let stats = learn.failure().stats();
    let ratios: Vec<String> = marks
        .windows(2)
        .map(|w| {
            let n = (w[1].0 - w[0].0) as f64;
            format!("{:.3}", ((w[1].1 - w[0].1) / n) / ((w[1].2 - w[0].2) / n))
        })
        .collect();
    let last = marks.len() - 1;
    let n = (marks[last].0 - marks[last - 1].0) as f64;
    let (stage_last, truth_last, oracle_last) = (
        (marks[last].1 - marks[last - 1].1) / n,
        (marks[last].2 - marks[last - 1].2) / n,
        (marks[last].3 - marks[last - 1].3) / n,
    );
    let overall = stats.progressive_log_loss / (truth / seen as f64);
    let rate = draws.iter().filter(|d| d.failed).count() as f64 / draws.len() as f64;
    println!(
        "fragility sd {fragility_sd}: {} outcomes ({} releases x {per_command} assets, failure \
         rate {:.2}%), {} examples, {} promotions, {} rejections, {:.1}s",
        seen,
        world.releases.len(),
        100.0 * rate,
        stats.examples,
        stats.promotions,
        stats.rejections,
        started.elapsed().as_secs_f64()
    );
    println!(
        "  log-loss ratio per tenth of the stream: {}; whole stream {:.4} (stage {:.4} nats, \
         generating model {:.4})",
        ratios.join(" "),
        overall,
        stats.progressive_log_loss,
        truth / seen as f64
    );
    println!(
        "  last tenth: stage {stage_last:.4} nats, generating model {truth_last:.4} nats, ratio \
         {:.4}; oracle without release quality {oracle_last:.4} nats ({:.4}x the generating \
         model), stage / oracle {:.4}",
        stage_last / truth_last,
        oracle_last / truth_last,
        stage_last / oracle_last
    );
    let alone: Vec<String> = [0.1, 0.3, 1.0]
        .iter()
        .map(|&a| format!("alpha {a}: {:.4}", ftrl_alone(&world, &draws, a) / truth_last))
        .collect();
    println!(
        "  FTRL alone on every outcome (no holdout, no gate), last tenth / generating model: {}",
        alone.join(", ")
    );
    (stage_last / truth_last, overall, oracle_last / truth_last)
}

/// Last-tenth log-loss of FTRL alone (no holdout, no gate) with `alpha`, trained on every
/// outcome of the same stream: how much of the gap is the lifecycle and how much the step size.
fn ftrl_alone(world: &World, draws: &[Draw], alpha: f64) -> f64 {
    let params = FtrlParams { alpha, ..settings().failure.0 };
    let mut model = Ftrl::new(params);
    let start = draws.len() - draws.len().div_ceil(10);
    let mut loss = 0.0;
    for (i, d) in draws.iter().enumerate() {
        let x = hash_features(&features(&world.context(d.release, d.asset)), params.bits);
        let p = model.update_hashed(&x, d.failed);
        if i >= start {
            loss += log_loss(p, d.failed);
        }
    }
    loss / (draws.len() - start) as f64
}

fn main() {
    if !full_run() {
        let (hidden, _, _) = logloss(0.4, 1, 10);
        println!("smoke run (cargo test): log-loss path ran, ratio {:.3}", hidden);
        return;
    }
    if !ratios_only() {
        benches();
        criterion::Criterion::default().configure_from_args().final_summary();
    }
    let rounds = env_usize("BENCH_ROUNDS", 5);
    println!("\nG6 CPU share: {rounds} interleaved rounds of 32,000 outcomes (64 commands x 500)");
    let share = cpu_share(rounds);
    println!("FTRL predict+update / learn stage per outcome: {}", share.show(3));
    let releases = env_usize("BENCH_RELEASES", 40);
    let per = env_usize("BENCH_PER_COMMAND", 100);
    println!("\nG6 log-loss: 120 packages x {releases} releases x {per} assets each");
    let (hidden, hidden_all, hidden_oracle) = logloss(0.4, releases, per);
    let (visible, visible_all, visible_oracle) = logloss(0.0, releases, per);
    println!(
        "{}",
        serde_json::json!({
            "bench": "learn",
            "ftrl_cpu_share": { "median": share.median, "min": share.min, "max": share.max },
            "logloss_ratio_last_tenth": hidden,
            "logloss_ratio_whole_stream": hidden_all,
            "logloss_ratio_no_hidden_fragility_last_tenth": visible,
            "logloss_ratio_no_hidden_fragility_whole_stream": visible_all,
            "oracle_ratio_last_tenth": hidden_oracle,
            "oracle_ratio_no_hidden_fragility_last_tenth": visible_oracle,
        })
    );
    println!("G6 ftrl_cpu_share={:.3}", share.median);
    println!("G6 logloss_ratio={hidden:.4}");
}
