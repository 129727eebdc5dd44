//! Handling of one input record: decode, process, encode the outputs (and the changelog
//! record), or build its dead letter; and the silent restore path.
//!
//! Invariant: a record yields either its outputs or exactly one dead letter, and its changelog
//! record (when its topic has a changelog and the processor kept it) travels with its outputs,
//! so the input's offset is committed only once the changelog has it too.

use super::StageRunner;
use crate::codec::Codec;
use crate::dead_letter::{DeadLetter, DeadLetterHeader, DeadLetterReason};
use crate::error::{Error, Result};
use crate::observe::events::RecordDeadLettered;
use crate::runtime::offsets::PUNCTUATION;
use crate::runtime::record::{InputRecord, OutputRecord};
use crate::runtime::stage::{InputRoute, StagePlan};
use crate::runtime::{Sink, Source};
use patchline_processors::events::{Event, EventKind};
use patchline_processors::ProcessError;
use std::sync::Arc;
use std::time::Instant;

impl<S: Source, K: Sink> StageRunner<S, K> {
    fn route(&self, record: &InputRecord) -> Result<InputRoute> {
        self.plan
            .inputs
            .get(&record.topic)
            .cloned()
            .ok_or_else(|| Error::Config(format!("record from unexpected topic {}", record.topic)))
    }

    pub(super) async fn handle(&mut self, record: InputRecord) -> Result<()> {
        let started = Instant::now();
        self.summary.records_in += 1;
        self.counter(&record.topic, false).inc();
        let route = self.route(&record)?;
        let outcome = match decode(&self.codec, &route, &record).await {
            Ok(event) => {
                let mut outputs = std::mem::take(&mut self.scratch);
                outputs.clear();
                let changelog = self.plan.changelogs.get(&record.topic).cloned();
                // Only inputs with a changelog pay for keeping the event after processing.
                let kept = changelog.as_ref().map(|_| event.clone());
                let processed = self.plan.processor.process(event, &mut outputs);
                let encoded = processed
                    .map_err(|e| match e {
                        ProcessError::Contract(m) => (DeadLetterReason::ContractViolation, m),
                        other => (DeadLetterReason::ProcessingFailed, other.to_string()),
                    })
                    .and_then(|()| self.encode_all(&outputs))
                    .map(|mut encoded| {
                        if let (Some(topic), Some(event)) = (changelog, kept) {
                            if let Some(key) = self.plan.processor.changelog_key(&event) {
                                encoded.push(OutputRecord {
                                    topic,
                                    partition: Some(record.partition),
                                    key: key.into_bytes(),
                                    value: record.value.clone().unwrap_or_default(),
                                });
                            }
                        }
                        encoded
                    });
                self.scratch = outputs;
                encoded
            }
            Err(e) => match e.dead_letter_reason() {
                Some(reason) => Err((reason, e.to_string())),
                None => return Err(e),
            },
        };
        let outputs = match outcome {
            Ok(outputs) => {
                self.summary.processed += 1;
                outputs
            }
            Err((reason, error)) => {
                self.summary.dead_lettered += 1;
                RecordDeadLettered {
                    topic: &record.topic,
                    partition: record.partition,
                    offset: record.offset,
                    reason,
                    error: &error,
                }
                .emit(&self.metrics);
                vec![self.dead_letter(&record, reason, error)?]
            }
        };
        let token = self.tracker.begin(
            &record.topic,
            record.partition,
            record.offset,
            outputs.len() as u32,
        );
        for output in outputs {
            self.summary.records_out += 1;
            self.counter(&output.topic, true).inc();
            self.sink.send(output, token.clone())?;
        }
        self.metrics.processing_seconds().observe(started.elapsed().as_secs_f64());
        Ok(())
    }

    /// Runs the processor's punctuator and sends what it emits.
    pub fn punctuate(&mut self, now_ms: i64) -> Result<()> {
        let mut outputs = std::mem::take(&mut self.scratch);
        outputs.clear();
        self.plan.processor.punctuate(now_ms, &mut outputs);
        let encoded = self.encode_all(&outputs);
        self.scratch = outputs;
        let encoded =
            encoded.map_err(|(_, e)| Error::Encode { kind: "punctuation output", reason: e })?;
        if encoded.is_empty() {
            return Ok(());
        }
        let topic: Arc<str> = Arc::from(PUNCTUATION);
        self.punctuations += 1;
        let token = self.tracker.begin(&topic, 0, self.punctuations, encoded.len() as u32);
        for output in encoded {
            self.summary.records_out += 1;
            self.counter(&output.topic, true).inc();
            self.sink.send(output, token.clone())?;
        }
        Ok(())
    }

    fn encode_all(
        &self,
        events: &[Event],
    ) -> Result<Vec<OutputRecord>, (DeadLetterReason, String)> {
        events
            .iter()
            .map(|event| {
                let kind: EventKind = event.kind();
                let topic = self.plan.outputs.get(&kind).ok_or_else(|| {
                    (
                        DeadLetterReason::ProcessingFailed,
                        format!("no output topic for {}", kind.name()),
                    )
                })?;
                let value = self
                    .codec
                    .encode(event)
                    .map_err(|e| (DeadLetterReason::ProcessingFailed, e.to_string()))?;
                Ok(OutputRecord {
                    topic: topic.clone(),
                    partition: None,
                    key: event.key().as_bytes().to_vec(),
                    value,
                })
            })
            .collect()
    }

    fn dead_letter(
        &self,
        record: &InputRecord,
        reason: DeadLetterReason,
        error: String,
    ) -> Result<OutputRecord> {
        let limit = self.plan.inputs.get(&record.topic).map_or(usize::MAX, |r| r.max_bytes);
        let letter = DeadLetter {
            key: record.key.clone(),
            value: record.value.as_ref().map(|v| v[..v.len().min(limit)].to_vec()),
            headers: record
                .headers
                .iter()
                .map(|(key, value)| DeadLetterHeader { key: key.clone(), value: value.clone() })
                .collect(),
            reason,
            error,
            stage: self.plan.name.clone(),
            source_topic: record.topic.to_string(),
            partition: record.partition,
            offset: record.offset,
            failed_at: record.timestamp.unwrap_or(0),
        };
        Ok(OutputRecord {
            topic: self.plan.dead_letter_topic.clone(),
            partition: None,
            key: record.key.clone().unwrap_or_default(),
            value: self.codec.encode_dead_letter(&letter)?,
        })
    }
}

/// Decodes one input record of a route: size limit, then the codec, fetching an unknown writer
/// schema from the registry once.
async fn decode(codec: &Codec, route: &InputRoute, record: &InputRecord) -> Result<Event> {
    let value = record.value.as_deref().unwrap_or_default();
    if value.len() > route.max_bytes {
        return Err(Error::TooLarge { size: value.len(), limit: route.max_bytes });
    }
    match codec.decode(route.kind, route.format, value) {
        Err(Error::UnknownSchemaId(id)) => {
            codec.fetch_schema(id).await.map_err(|_| Error::UnknownSchemaId(id))?;
            codec.decode(route.kind, route.format, value)
        }
        other => other,
    }
}

/// Applies an already-processed input to a stage's state without emitting. Returns false for
/// records that do not decode or validate: they were dead-lettered when first processed.
pub async fn restore_record(plan: &mut StagePlan, codec: &Codec, record: &InputRecord) -> bool {
    let Some(route) = plan.inputs.get(&record.topic).cloned() else { return false };
    match decode(codec, &route, record).await {
        Ok(event) => plan.processor.restore(event).is_ok(),
        Err(_) => false,
    }
}
