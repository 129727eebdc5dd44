//! Kafka I/O with rdkafka: admin (topic provisioning and drift checks), the consumer source, the
//! producer sink, state restore and the stage driver. Invariant: no rdkafka type leaks out of
//! this module into the processors.

pub mod admin;
pub mod config;
pub mod consumer;
pub mod producer;
pub mod rebalance;
pub mod replay;
pub mod run;

pub use config::KafkaConfig;
