//! The Kafka sink: a threaded, idempotent producer whose delivery reports acknowledge outputs in
//! the offset tracker. Invariant: every record accepted by `send` is acknowledged exactly once,
//! by its delivery report, with success or the broker's error.

use crate::error::{Error, Result};
use crate::kafka::config::KafkaConfig;
use crate::runtime::offsets::OffsetTracker;
use crate::runtime::record::{AckToken, OutputRecord};
use crate::runtime::Sink;
use rdkafka::error::KafkaError;
use rdkafka::producer::{BaseRecord, DeliveryResult, Producer, ProducerContext, ThreadedProducer};
use rdkafka::types::RDKafkaErrorCode;
use rdkafka::ClientContext;
use std::sync::Arc;
use std::time::Duration;

/// Routes delivery reports to the tracker.
pub struct DeliveryContext {
    tracker: Arc<OffsetTracker>,
}

impl ClientContext for DeliveryContext {
    fn stats(&self, _statistics: rdkafka::statistics::Statistics) {}
}

impl ProducerContext for DeliveryContext {
    type DeliveryOpaque = Box<AckToken>;

    fn delivery(&self, result: &DeliveryResult<'_>, token: Self::DeliveryOpaque) {
        let outcome = match result {
            Ok(_) => Ok(()),
            Err((e, _)) => Err(e.to_string()),
        };
        self.tracker.ack(&token, outcome);
    }
}

/// The producer type of the Kafka sink.
pub type StageProducer = ThreadedProducer<DeliveryContext>;

/// Writes a stage's outputs to Kafka.
pub struct KafkaSink {
    producer: Arc<StageProducer>,
}

impl KafkaSink {
    /// A sink whose deliveries acknowledge into `tracker`.
    pub fn new(config: &KafkaConfig, tracker: Arc<OffsetTracker>) -> Result<KafkaSink> {
        let producer: StageProducer =
            config.producer().create_with_context(DeliveryContext { tracker })?;
        Ok(KafkaSink { producer: Arc::new(producer) })
    }

    /// The underlying producer (the consumer context flushes it on revocation).
    pub fn producer(&self) -> Arc<StageProducer> {
        self.producer.clone()
    }
}

impl Sink for KafkaSink {
    fn send(&self, record: OutputRecord, token: AckToken) -> Result<()> {
        let mut token = Box::new(token);
        loop {
            let mut base = BaseRecord::with_opaque_to(&record.topic, token)
                .key(&record.key)
                .payload(&record.value);
            if let Some(p) = record.partition {
                base = base.partition(p);
            }
            match self.producer.send(base) {
                Ok(()) => return Ok(()),
                Err((KafkaError::MessageProduction(RDKafkaErrorCode::QueueFull), rejected)) => {
                    // The local queue is full: wait for deliveries, then retry the same record.
                    token = rejected.delivery_opaque;
                    self.producer.poll(Duration::from_millis(10));
                }
                Err((e, _)) => return Err(Error::Kafka(e)),
            }
        }
    }

    fn flush(&self, timeout: Duration) -> Result<()> {
        self.producer.flush(timeout).map_err(Error::Kafka)
    }
}
