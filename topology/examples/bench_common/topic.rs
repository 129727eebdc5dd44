//! Kafka helpers of `bench_restore`: filling the benchmark topic and reading its watermarks.
//! Production is not part of any measurement.

use super::gen::Workload;
use patchline_processors::events::Event;
use patchline_topology::codec::Codec;
use patchline_topology::kafka::config::KafkaConfig;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::error::{KafkaError, RDKafkaErrorCode};
use rdkafka::producer::{BaseProducer, BaseRecord, Producer};
use std::time::Duration;

fn err(context: &str) -> impl Fn(KafkaError) -> String + '_ {
    move |e| format!("{context}: {e}")
}

/// Produces `keys` finding records; returns (value bytes, key bytes).
pub fn produce(
    kafka: &KafkaConfig,
    topic: &str,
    codec: &Codec,
    w: &Workload,
    keys: usize,
) -> Result<(u64, u64), String> {
    let mut c = kafka.client();
    c.set("partitioner", "murmur2_random")
        .set("compression.type", "lz4")
        .set("linger.ms", "100")
        .set("batch.size", "1000000")
        .set("batch.num.messages", "100000")
        .set("queue.buffering.max.messages", "1000000")
        .set("queue.buffering.max.kbytes", "1048576")
        .set("acks", "1");
    let producer: BaseProducer = c.create().map_err(err("producer"))?;
    let (mut values, mut key_bytes, mut sent) = (0u64, 0u64, 0usize);
    'assets: for i in 0.. {
        for f in w.findings(i) {
            if sent == keys {
                break 'assets;
            }
            let key = f.asset_id.clone();
            let value = codec.encode(&Event::Finding(f)).map_err(|e| e.to_string())?;
            loop {
                match producer.send(BaseRecord::to(topic).key(&key).payload(&value)) {
                    Ok(()) => break,
                    Err((KafkaError::MessageProduction(RDKafkaErrorCode::QueueFull), _)) => {
                        producer.poll(Duration::from_millis(20));
                    }
                    Err((e, _)) => return Err(format!("produce: {e}")),
                }
            }
            values += value.len() as u64;
            key_bytes += key.len() as u64;
            sent += 1;
            if sent.is_multiple_of(10_000) {
                producer.poll(Duration::ZERO);
            }
        }
    }
    producer.flush(Duration::from_secs(300)).map_err(err("flush"))?;
    Ok((values, key_bytes))
}

pub fn watermarks(kafka: &KafkaConfig, topic: &str) -> Result<Vec<i64>, String> {
    let mut c = kafka.client();
    c.set("group.id", "patchline-bench-watermarks");
    let consumer: BaseConsumer = c.create().map_err(err("consumer"))?;
    let metadata =
        consumer.fetch_metadata(Some(topic), Duration::from_secs(10)).map_err(err("metadata"))?;
    let count = metadata.topics().first().map_or(0, |t| t.partitions().len()) as i32;
    (0..count)
        .map(|p| {
            consumer
                .fetch_watermarks(topic, p, Duration::from_secs(10))
                .map(|(_, high)| high)
                .map_err(err("watermarks"))
        })
        .collect()
}
