//! Helpers for end-to-end tests on the real Kafka broker that `scripts/test.sh` starts.
//! Invariant: every test works in topics of its own (a unique prefix), so tests never see each
//! other's records, and a test fails (never skips) when the broker is unreachable.

#![allow(dead_code)]

pub mod slice;

use patchline_topology::kafka::KafkaConfig;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::message::Message;
use rdkafka::producer::{FutureProducer, FutureRecord};
use rdkafka::{ClientConfig, Offset, TopicPartitionList};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// Broker address from `PATCHLINE_KAFKA_BROKERS` (set by scripts/test.sh), else 127.0.0.1:9092.
pub fn brokers() -> String {
    std::env::var("PATCHLINE_KAFKA_BROKERS").unwrap_or_else(|_| "127.0.0.1:9092".to_string())
}

/// Kafka settings for the test broker.
pub fn kafka() -> KafkaConfig {
    KafkaConfig::new(&brokers())
}

/// A topic prefix no other test run uses.
pub fn unique_prefix(test: &str) -> String {
    let nanos = SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_nanos()).unwrap_or(0);
    format!("{test}-{}-{nanos}.", std::process::id())
}

/// A producer with acks=all.
pub fn producer() -> FutureProducer {
    let mut c = ClientConfig::new();
    c.set("bootstrap.servers", brokers()).set("acks", "all").set("partitioner", "murmur2_random");
    c.create().expect("producer against the test broker")
}

/// Produces one record and returns its (partition, offset).
pub async fn produce(p: &FutureProducer, topic: &str, key: &[u8], value: &[u8]) -> (i32, i64) {
    let d = p
        .send(FutureRecord::to(topic).key(key).payload(value), Duration::from_secs(10))
        .await
        .map_err(|(e, _)| e)
        .unwrap_or_else(|e| {
            panic!("produce to {topic} failed (is the broker at {} up?): {e}", brokers())
        });
    (d.partition, d.offset)
}

/// One record read back.
#[derive(Debug, Clone)]
pub struct Read {
    pub partition: i32,
    pub offset: i64,
    /// Record timestamp (producer create time), milliseconds.
    pub timestamp: i64,
    pub key: Option<Vec<u8>>,
    pub value: Vec<u8>,
}

/// Every record of a topic up to its current high watermarks.
pub fn read_topic(topic: &str) -> Vec<Read> {
    let mut c = ClientConfig::new();
    c.set("bootstrap.servers", brokers())
        .set("group.id", "patchline-test-reader")
        .set("enable.auto.commit", "false");
    let consumer: BaseConsumer = c.create().expect("consumer");
    let metadata = consumer.fetch_metadata(Some(topic), Duration::from_secs(10)).expect("metadata");
    let mut tpl = TopicPartitionList::new();
    let mut ends = std::collections::HashMap::new();
    for t in metadata.topics() {
        for p in t.partitions() {
            let (_, high) = consumer
                .fetch_watermarks(topic, p.id(), Duration::from_secs(10))
                .expect("watermarks");
            if high > 0 {
                ends.insert(p.id(), high);
                tpl.add_partition_offset(topic, p.id(), Offset::Beginning).expect("tpl");
            }
        }
    }
    let mut out = Vec::new();
    if ends.is_empty() {
        return out;
    }
    consumer.assign(&tpl).expect("assign");
    let deadline = Instant::now() + Duration::from_secs(30);
    while !ends.is_empty() && Instant::now() < deadline {
        let Some(m) = consumer.poll(Duration::from_millis(200)) else { continue };
        let m = m.expect("poll");
        if let Some(&end) = ends.get(&m.partition()) {
            out.push(Read {
                partition: m.partition(),
                offset: m.offset(),
                timestamp: m.timestamp().to_millis().unwrap_or(0),
                key: m.key().map(<[u8]>::to_vec),
                value: m.payload().map(<[u8]>::to_vec).unwrap_or_default(),
            });
            if m.offset() + 1 >= end {
                ends.remove(&m.partition());
            }
        }
    }
    out
}

/// Polls `check` every 300 ms until it returns true or `timeout` passes.
pub async fn eventually(timeout: Duration, mut check: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + timeout;
    while Instant::now() < deadline {
        if check() {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
    check()
}

/// A free TCP port on 127.0.0.1.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("free port")
}

/// Starts `patchline` with arguments; its logs go to `log`.
pub fn spawn_patchline(args: &[&str], log: &PathBuf) -> Child {
    let file = std::fs::File::create(log).expect("log file");
    let err = file.try_clone().expect("log file");
    Command::new(env!("CARGO_BIN_EXE_patchline"))
        .args(args)
        .env("RUST_LOG", "info")
        .stdout(Stdio::from(file))
        .stderr(Stdio::from(err))
        .spawn()
        .expect("spawn patchline")
}

/// Sends a signal to a child with the `kill` command.
pub fn signal(child: &Child, sig: &str) {
    let status = Command::new("kill")
        .arg(format!("-{sig}"))
        .arg(child.id().to_string())
        .status()
        .expect("kill");
    assert!(status.success(), "kill -{sig} failed");
}

/// A plain HTTP/1.1 GET on 127.0.0.1; returns (status, body).
pub fn http_get(port: u16, path: &str) -> Option<(u16, String)> {
    use std::io::{Read as _, Write as _};
    let mut s = std::net::TcpStream::connect(("127.0.0.1", port)).ok()?;
    s.set_read_timeout(Some(Duration::from_secs(5))).ok()?;
    write!(s, "GET {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n").ok()?;
    let mut text = String::new();
    s.read_to_string(&mut text).ok()?;
    let status = text.split_whitespace().nth(1)?.parse().ok()?;
    let body = text.split_once("\r\n\r\n").map(|(_, b)| b.to_string()).unwrap_or_default();
    Some((status, body))
}

/// A scratch directory for one test.
pub fn scratch_dir(prefix: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("patchline-{}", prefix.trim_end_matches('.')));
    std::fs::create_dir_all(&dir).expect("scratch dir");
    dir
}

/// Starts `patchline` with arguments and extra environment variables; logs go to `log`.
/// Signing and shadow settings of the outer environment are removed first.
pub fn spawn_patchline_env(args: &[&str], env: &[(&str, &std::ffi::OsStr)], log: &Path) -> Child {
    let file = std::fs::File::create(log).expect("log file");
    let err = file.try_clone().expect("log file");
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_patchline"));
    cmd.args(args)
        .env("RUST_LOG", "info")
        .env_remove("PATCHLINE_SIGNING_KEY")
        .env_remove("PATCHLINE_SIGNING_KEY_FILE")
        .env_remove("PATCHLINE_SHADOW");
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd.stdout(Stdio::from(file)).stderr(Stdio::from(err)).spawn().expect("spawn patchline")
}

/// A fresh Ed25519 seed from the operating system's random source.
pub fn fresh_seed() -> [u8; 32] {
    use std::io::Read as _;
    let mut seed = [0u8; 32];
    std::fs::File::open("/dev/urandom")
        .and_then(|mut f| f.read_exact(&mut seed))
        .expect("32 random bytes from /dev/urandom");
    seed
}

/// Writes a file only its owner can read.
pub fn write_secret(path: &Path, text: &str) {
    use std::io::Write as _;
    use std::os::unix::fs::OpenOptionsExt as _;
    let mut options = std::fs::OpenOptions::new();
    let mut f =
        options.write(true).create(true).truncate(true).mode(0o600).open(path).expect("key");
    f.write_all(text.as_bytes()).expect("write key");
}

/// The lower-case hex of a seed, as key files hold it.
pub fn seed_hex(seed: &[u8; 32]) -> String {
    seed.iter().map(|b| format!("{b:02x}")).collect()
}

/// One Kafka test's world: the bundled topology under a unique prefix with its topics created,
/// written to a scratch directory with a config file, ready for `patchline run`.
pub struct Scenario {
    pub prefix: String,
    pub spec: patchline_topology::spec::TopologySpec,
    pub dir: PathBuf,
    pub topology: PathBuf,
    pub config: PathBuf,
}

impl Scenario {
    /// Creates the topics of the default topology prefixed for `test` and writes the topology
    /// and `config` (TOML) files.
    pub async fn new(test: &str, config: &str) -> Scenario {
        let prefix = unique_prefix(test);
        let spec = patchline_topology::spec::TopologySpec::default_topology()
            .expect("topology")
            .with_prefix(&prefix);
        patchline_topology::kafka::admin::create_topics(&kafka().client(), &spec)
            .await
            .expect("create topics on the test broker");
        let dir = scratch_dir(&prefix);
        let topology = dir.join("topology.toml");
        std::fs::write(&topology, toml::to_string(&spec).expect("toml")).expect("topology file");
        let config_file = dir.join("patchline.toml");
        std::fs::write(&config_file, config).expect("config");
        Scenario { prefix, spec, dir, topology, config: config_file }
    }

    /// The full name of topic `patchline.<name>`.
    pub fn topic(&self, name: &str) -> String {
        format!("{}patchline.{name}", self.prefix)
    }

    /// Arguments of `patchline run` on the test broker with this topology and config, serving
    /// the admin HTTP on `admin`, plus `extra`.
    pub fn run_args(&self, admin: &str, extra: &[&str]) -> Vec<String> {
        let mut args: Vec<String> = vec!["run".into(), "--brokers".into(), brokers()];
        args.extend(["--topology".into(), self.topology.display().to_string()]);
        args.extend(["--config".into(), self.config.display().to_string()]);
        args.extend(["--admin-addr".into(), admin.to_string()]);
        args.extend(extra.iter().map(|s| s.to_string()));
        args
    }
}
