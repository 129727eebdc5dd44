//! `patchline`: from vulnerability disclosure to signed, wave-by-wave patch deployment commands.
//!
//! Invariant: the binary only parses flags, resolves configuration and calls into the topology
//! crate; no stage logic lives here.

mod cmd;
mod config;
mod error;
mod eval;
mod feeds;
mod fleet;
mod output;
mod sim;

use clap::{Parser, Subcommand};
use config::{Overrides, Settings};
use error::Result;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Parser)]
#[command(
    name = "patchline",
    version,
    about = "Vulnerability disclosure to deployed patch, as a Kafka stream processor"
)]
struct Cli {
    /// Log as JSON lines instead of human-readable text.
    #[arg(long, global = true)]
    log_json: bool,
    #[command(subcommand)]
    command: Command,
}

#[derive(clap::Args, Clone, Default)]
struct Connection {
    /// Kafka bootstrap servers (env PATCHLINE_BROKERS). Without brokers: the embedded bus.
    #[arg(long)]
    brokers: Option<String>,
    /// A librdkafka property, KEY=VALUE; repeatable (env PATCHLINE_LIBRDKAFKA_<KEY with _ for .>).
    #[arg(short = 'X', long = "property")]
    properties: Vec<String>,
    /// Topology file (default: the bundled topology/patchline.toml).
    #[arg(long)]
    topology: Option<PathBuf>,
    /// Config file (TOML); flags and environment override it.
    #[arg(long)]
    config: Option<PathBuf>,
}

#[derive(Subcommand)]
enum Command {
    /// Run the pipeline: on Kafka when brokers are configured, else on the embedded bus over
    /// JSON-lines feeds.
    Run {
        #[command(flatten)]
        conn: Connection,
        /// Confluent-API schema registry URL (env PATCHLINE_SCHEMA_REGISTRY).
        #[arg(long)]
        schema_registry: Option<String>,
        /// Admin HTTP address for /metrics, /healthz, /readyz (env PATCHLINE_ADMIN_ADDR).
        #[arg(long)]
        admin_addr: Option<SocketAddr>,
        /// Run only these stages (repeatable).
        #[arg(long = "stage")]
        stages: Vec<String>,
        /// Stable id of this instance (env PATCHLINE_INSTANCE_ID; default: the host name).
        #[arg(long)]
        instance_id: Option<String>,
        /// Embedded bus only: TOPIC=FILE of JSON lines to feed in (repeatable).
        #[arg(long = "feed")]
        feeds: Vec<String>,
        /// File with the Ed25519 key that signs deployment commands, hex seed or PEM PKCS#8
        /// (env PATCHLINE_SIGNING_KEY_FILE).
        #[arg(long)]
        signing_key_file: Option<PathBuf>,
        /// Shadow mode: publish plans to the plans topic, unsigned, and issue no command
        /// (env PATCHLINE_SHADOW).
        #[arg(long)]
        shadow: bool,
        /// Plan policy file, TOML: gates, waits, wave sizes, caps, freezes
        /// (env PATCHLINE_PLAN_POLICY_FILE).
        #[arg(long)]
        plan_policy: Option<PathBuf>,
        /// Remediation policy file, TOML: SSVC table, SLAs, overrides, exceptions
        /// (env PATCHLINE_POLICY_FILE; default: the bundled policy).
        #[arg(long)]
        policy: Option<PathBuf>,
    },
    /// Check deployment commands as an executor must before running them: signed with the
    /// published key, unchanged, not a shadow plan, not expired. Exits 1 if any fails.
    Verify {
        /// Published public key: 64 hex characters, a PEM public key, or a file holding either
        /// (env PATCHLINE_PUBLIC_KEY).
        #[arg(long, env = "PATCHLINE_PUBLIC_KEY")]
        public_key: String,
        /// Check expiry at this instant (milliseconds since the epoch) instead of now.
        #[arg(long)]
        now_ms: Option<i64>,
        /// Commands as JSON lines, a JSON array or `patchline run` output; `-` or none: stdin.
        input: Option<PathBuf>,
    },
    /// Print the public key (hex, key id, PEM) of the signing key, to publish to executors.
    PublicKey {
        /// Signing key file (default: PATCHLINE_SIGNING_KEY_FILE, then PATCHLINE_SIGNING_KEY).
        #[arg(long)]
        key_file: Option<PathBuf>,
    },
    /// The closed loop over simulated weeks on the embedded bus, then a scorecard: patchline
    /// against patchline without learning and a CVSS-FIFO baseline, on the same world.
    Demo {
        /// Fleet size at the start (default: 500; 40 with --snapshot).
        #[arg(long)]
        assets: Option<usize>,
        /// Simulated days.
        #[arg(long, default_value_t = 56)]
        days: i64,
        /// Random seed of the world.
        #[arg(long, default_value_t = 7)]
        seed: u64,
        /// Last simulated day, YYYY-MM-DD (default: the bundled CVE snapshot's day).
        #[arg(long, default_value = sim::DEFAULT_END)]
        end: String,
        /// Write a self-contained HTML report with charts to this file.
        #[arg(long)]
        html: Option<PathBuf>,
        /// Print one JSON document instead of text.
        #[arg(long)]
        json: bool,
        /// The one-shot view instead: exposures and commands of the pipeline over the bundled
        /// data as of 2026-01-30.
        #[arg(long)]
        snapshot: bool,
        /// --snapshot: findings generated per asset.
        #[arg(long, default_value_t = 6)]
        findings_per_asset: usize,
        /// --snapshot: rows to print per table.
        #[arg(long, default_value_t = 12)]
        limit: usize,
    },
    /// The fleet simulator as a load generator: the world and the executor in closed loop
    /// against one policy on the embedded bus, or with --brokers on a Kafka broker through the
    /// Kafka runtime of `run`; prints what flowed and what came out.
    Simulate {
        /// Fleet size at the start.
        #[arg(long, default_value_t = 2000)]
        assets: usize,
        /// Simulated days.
        #[arg(long, default_value_t = 56)]
        days: i64,
        /// Random seed of the world.
        #[arg(long, default_value_t = 7)]
        seed: u64,
        /// Last simulated day, YYYY-MM-DD.
        #[arg(long, default_value = sim::DEFAULT_END)]
        end: String,
        /// patchline, no-learning or cvss-fifo.
        #[arg(long, default_value = "patchline")]
        policy: String,
        /// Print one JSON document instead of text.
        #[arg(long)]
        json: bool,
        /// No progress lines on stderr.
        #[arg(long)]
        quiet: bool,
        /// Write the world's inputs (JSON lines, one file per topic) to this folder, streaming,
        /// instead of running the loop: a load for `run --feed` or a broker, at any fleet size.
        #[arg(long)]
        emit: Option<PathBuf>,
        /// Kafka mode: run the pipeline on this broker (HOST:PORT) instead of the embedded
        /// bus, with the topology's topics created under --topic-prefix and the stages
        /// punctuating on the simulated clock, in lockstep with it (slower, same loop).
        #[arg(long)]
        brokers: Option<String>,
        /// Kafka mode: prefix of every topic and consumer group; its topics must hold no
        /// record (default: sim-<seed>-<unix ms>.).
        #[arg(long, requires = "brokers")]
        topic_prefix: Option<String>,
    },
    /// Time-split backtest: rank the CVEs known at --as-of and score the rankings against the
    /// KEV additions of the next --horizon days.
    Eval {
        /// Data folder laid out like ../shared/data (cve/, epss/, kev/).
        #[arg(long)]
        data: PathBuf,
        /// KEV catalog in CISA's JSON format: the labels and the KEV state at --as-of.
        #[arg(long)]
        kev_labels: PathBuf,
        /// As-of date, YYYY-MM-DD: only what was known that day is used.
        #[arg(long)]
        as_of: String,
        /// Label window in days after --as-of.
        #[arg(long)]
        horizon: i32,
        /// Also write the model trained at --as-of as a model snapshot (JSON) to this file,
        /// e.g. the bundled exploit-likelihood weights.
        #[arg(long)]
        save_model: Option<PathBuf>,
        /// Print one JSON object instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// Provision or check the topology's topics on Kafka.
    Topics {
        #[command(subcommand)]
        action: TopicsAction,
    },
    /// Put operator input on the topology's Kafka topics: scanner reports as findings, operator
    /// overrides (accept risk, force patch, false positive, restore a model version).
    Publish {
        #[command(subcommand)]
        what: PublishWhat,
    },
}

#[derive(Subcommand)]
enum PublishWhat {
    /// A Trivy or Grype JSON report (optionally gzipped) of one asset, as findings.
    Scan {
        #[command(flatten)]
        conn: Connection,
        /// Report format.
        #[arg(long, value_enum)]
        format: cmd::publish::ScanFormat,
        /// The asset the report is about (the findings' key).
        #[arg(long)]
        asset_id: String,
        /// Scan id recorded on each finding (default: the file name).
        #[arg(long)]
        scan_id: Option<String>,
        /// The report file.
        report: PathBuf,
    },
    /// Operator overrides, one JSON object per line (schemas/operator_override.avsc fields).
    Overrides {
        #[command(flatten)]
        conn: Connection,
        /// The JSON-lines file.
        file: PathBuf,
    },
}

#[derive(Subcommand)]
enum TopicsAction {
    /// Create missing topics with their partitions, cleanup policy, retention and size limit.
    Create {
        #[command(flatten)]
        conn: Connection,
    },
    /// Report drift between the cluster and the topology; exits 1 on drift.
    Check {
        #[command(flatten)]
        conn: Connection,
    },
}

fn settings(conn: &Connection, extra: Overrides) -> Result<Settings> {
    let file = match &conn.config {
        Some(p) => Some(std::fs::read_to_string(p)?),
        None => None,
    };
    let env: std::collections::BTreeMap<String, String> = std::env::vars().collect();
    let overrides = Overrides {
        brokers: conn.brokers.clone(),
        properties: conn.properties.clone(),
        topology: conn.topology.clone(),
        ..extra
    };
    Settings::resolve(file.as_deref(), &env, &overrides)
}

async fn dispatch(cli: Cli) -> Result<()> {
    match cli.command {
        Command::Run {
            conn,
            schema_registry,
            admin_addr,
            stages,
            instance_id,
            feeds,
            signing_key_file,
            shadow,
            plan_policy,
            policy,
        } => {
            let extra = Overrides {
                schema_registry,
                admin_addr,
                stages,
                instance_id,
                signing_key_file,
                shadow,
                plan_policy,
                policy,
                ..Default::default()
            };
            let s = settings(&conn, extra)?;
            if s.kafka.is_some() {
                cmd::run::run_kafka(s).await
            } else {
                cmd::run::run_embedded(s, &feeds).await
            }
        }
        Command::Demo {
            assets,
            days,
            seed,
            end,
            html,
            json,
            snapshot,
            findings_per_asset,
            limit,
        } => {
            if snapshot {
                let assets = assets.unwrap_or(40);
                let opts = cmd::demo::DemoOptions { assets, findings_per_asset, seed, limit, json };
                return cmd::demo::run(opts).await;
            }
            let config = sim::SimConfig::new(assets.unwrap_or(500), days, seed, &end)?;
            cmd::demo::run_loop(cmd::demo::LoopOptions { config, html, json }).await
        }
        Command::Simulate {
            assets,
            days,
            seed,
            end,
            policy,
            json,
            quiet,
            emit,
            brokers,
            topic_prefix,
        } => {
            let config = sim::SimConfig::new(assets, days, seed, &end)?;
            let kafka =
                brokers.map(|b| sim::kafka::KafkaTarget::new(&b, topic_prefix, config.seed));
            let opts = cmd::simulate::SimulateOptions { config, policy, json, quiet, emit, kafka };
            cmd::simulate::run_simulation(opts).await
        }
        Command::Eval { data, kev_labels, as_of, horizon, save_model, json } => {
            cmd::eval::run(data, kev_labels, &as_of, horizon, save_model, json)
        }
        Command::Verify { public_key, now_ms, input } => {
            cmd::verify::run(&cmd::verify::VerifyOptions { public_key, now_ms, input })
        }
        Command::PublicKey { key_file } => cmd::verify::public_key(key_file.as_deref()),
        Command::Publish {
            what: PublishWhat::Scan { conn, format, asset_id, scan_id, report },
        } => {
            let scan_id = scan_id.unwrap_or_else(|| {
                report.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default()
            });
            let now = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_millis() as i64);
            let events = cmd::publish::scan_findings(format, &report, &asset_id, &scan_id, now)?;
            cmd::publish::publish(&settings(&conn, Overrides::default())?, events).await
        }
        Command::Publish { what: PublishWhat::Overrides { conn, file } } => {
            let events = cmd::publish::overrides(&file)?;
            cmd::publish::publish(&settings(&conn, Overrides::default())?, events).await
        }
        Command::Topics { action: TopicsAction::Create { conn } } => {
            cmd::topics::run(&settings(&conn, Overrides::default())?, true).await
        }
        Command::Topics { action: TopicsAction::Check { conn } } => {
            cmd::topics::run(&settings(&conn, Overrides::default())?, false).await
        }
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let quiet = matches!(cli.command, Command::Demo { .. } | Command::Simulate { .. });
    let default_filter = if quiet { "warn" } else { "info" };
    patchline_topology::observe::logging::init_logging_with(cli.log_json, default_filter);
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("patchline: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(dispatch(cli)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("patchline: {e}");
            ExitCode::FAILURE
        }
    }
}
