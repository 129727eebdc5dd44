//! `topics create` and `topics check` against a real Kafka broker at `PATCHLINE_KAFKA_BROKERS`
//! (default `127.0.0.1:9092`; start one with `docker/kafka.sh start`).
//!
//! Invariant: the test fails (never skips) when no broker answers, touches only topics under a
//! prefix unique to the run, and deletes them at the end whatever the outcome.

use patchline_topology::kafka::admin::{check_topics, create_topics, Drift, Problem, TopicChange};
use patchline_topology::spec::{TopologySpec, DEFAULT_TOPOLOGY};
use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, TopicReplication};
use rdkafka::client::DefaultClientContext;
use rdkafka::ClientConfig;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

fn brokers() -> String {
    std::env::var("PATCHLINE_KAFKA_BROKERS").unwrap_or_else(|_| "127.0.0.1:9092".to_owned())
}

fn client_config() -> ClientConfig {
    let mut config = ClientConfig::new();
    config.set("bootstrap.servers", brokers());
    config
}

fn admin() -> AdminClient<DefaultClientContext> {
    client_config().create().expect("admin client")
}

fn unique_prefix(tag: &str) -> String {
    let nanos = SystemTime::now().duration_since(UNIX_EPOCH).expect("clock").as_nanos();
    format!("test-admin-{tag}-{}-{nanos}.", std::process::id())
}

/// The bundled topology with every topic name prefixed, consistently everywhere it appears.
fn prefixed_spec(prefix: &str) -> TopologySpec {
    let spec = TopologySpec::parse(DEFAULT_TOPOLOGY).expect("bundled topology").with_prefix(prefix);
    spec.validate().expect("prefixed topology is valid");
    spec
}

fn topic_names(spec: &TopologySpec) -> Vec<String> {
    spec.topics.iter().map(|t| t.name.clone()).collect()
}

/// Fails the test with a clear message when no broker answers.
async fn require_broker() {
    let admin = admin();
    let result = tokio::task::spawn_blocking(move || {
        admin.inner().fetch_metadata(None, Duration::from_secs(10))
    })
    .await
    .expect("join");
    if let Err(e) = result {
        panic!(
            "no Kafka broker answers at {} ({e}); start one with `docker/kafka.sh start` \
             or set PATCHLINE_KAFKA_BROKERS",
            brokers()
        );
    }
}

async fn delete_topics(names: &[String]) {
    let names: Vec<&str> = names.iter().map(String::as_str).collect();
    let opts = AdminOptions::new().operation_timeout(Some(Duration::from_secs(10)));
    match admin().delete_topics(&names, &opts).await {
        Ok(results) => {
            for result in results {
                if let Err((topic, code)) = result {
                    eprintln!("cleanup: cannot delete {topic}: {code}");
                }
            }
        }
        Err(e) => eprintln!("cleanup: delete topics failed: {e}"),
    }
}

/// create, create again, check: the happy path of the whole bundled topology.
async fn create_is_idempotent_and_check_is_clean(spec: &TopologySpec) {
    let client = client_config();
    let changes = create_topics(&client, spec).await.expect("create");
    assert_eq!(changes.len(), spec.topics.len());
    assert!(changes.iter().all(TopicChange::is_created), "{changes:?}");

    let again = create_topics(&client, spec).await.expect("create again");
    assert_eq!(again.iter().map(TopicChange::topic).collect::<Vec<_>>(), topic_names(spec));
    assert!(again.iter().all(|c| matches!(c, TopicChange::AlreadyExisted { .. })), "{again:?}");

    let drift = check_topics(&client, spec).await.expect("check");
    assert!(drift.is_empty(), "unexpected drift: {drift:#?}");
}

/// A co-partitioned topic created beforehand with the wrong partition count is left alone by
/// create and reported twice by check: its own partition count and the co-partition mismatch.
async fn wrong_partition_count_is_reported(spec: &TopologySpec) {
    let client = client_config();
    let findings = spec
        .topics
        .iter()
        .find(|t| !t.co_partitioned_with.is_empty())
        .expect("a co-partitioned topic");
    let partner = findings.co_partitioned_with[0].clone();
    let wrong = findings.partitions - 1;
    let (retention, max_bytes) =
        (findings.retention_ms.to_string(), findings.max_message_bytes.to_string());
    let topic = NewTopic::new(&findings.name, wrong, TopicReplication::Fixed(1))
        .set("cleanup.policy", findings.cleanup_policy.as_kafka())
        .set("retention.ms", &retention)
        .set("max.message.bytes", &max_bytes);
    let opts = AdminOptions::new().operation_timeout(Some(Duration::from_secs(10)));
    let created = admin().create_topics([&topic], &opts).await.expect("create directly");
    assert!(created.iter().all(Result::is_ok), "{created:?}");

    let changes = create_topics(&client, spec).await.expect("create");
    for change in &changes {
        assert_eq!(change.is_created(), change.topic() != findings.name, "{change}");
    }

    let drift = check_topics(&client, spec).await.expect("check");
    let topic = findings.name.clone();
    let expected = vec![
        Drift {
            topic: topic.clone(),
            problem: Problem::Partitions { expected: findings.partitions, actual: wrong },
        },
        Drift {
            topic,
            problem: Problem::CoPartitioning {
                partitions: wrong,
                other: partner,
                other_partitions: findings.partitions,
            },
        },
    ];
    assert_eq!(drift, expected, "drift: {drift:#?}");
    for line in &drift {
        eprintln!("drift: {line}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn topics_create_and_check_against_a_real_broker() {
    require_broker().await;

    let spec = prefixed_spec(&unique_prefix("all"));
    // Only the co-partitioned pair and the dead-letter topic the spec requires.
    let mut pair = prefixed_spec(&unique_prefix("pair"));
    pair.stages.clear();
    pair.topics.retain(|t| !t.co_partitioned_with.is_empty() || t.name == pair.dead_letter_topic);
    pair.validate().expect("pair topology is valid");

    let outcome = tokio::spawn({
        let (spec, pair) = (spec.clone(), pair.clone());
        async move {
            create_is_idempotent_and_check_is_clean(&spec).await;
            wrong_partition_count_is_reported(&pair).await;
        }
    })
    .await;

    let mut all = topic_names(&spec);
    all.extend(topic_names(&pair));
    delete_topics(&all).await;
    if let Err(e) = outcome {
        std::panic::resume_unwind(e.into_panic());
    }
}
