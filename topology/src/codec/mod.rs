//! The codec: event <-> bytes, in the Confluent Avro wire format or JSON.
//!
//! Encoding writes the bundled schema (`schemas/*.avsc`) of the event's kind on apache-avro's
//! schema-aware serde path, framed with that schema's id (fixed ids without a registry, see
//! [`bundled`]; registry ids with one). Decoding looks the writer schema up by id: when it is the
//! bundled reader schema (same Parsing Canonical Form), the body is deserialized straight into
//! the Rust type (hot path, no `Value`); otherwise it is checked strictly and resolved to the
//! reader schema (cold path, see [`resolve`]).
//!
//! Invariant: `decode(kind, Avro, encode(e))` returns `e` for every event `e` of kind `kind`, and
//! every decoding failure is one of the record-level error classes of [`crate::error::Error`]
//! (`Truncated`, `BadMagic`, `UnknownSchemaId`, `Undecodable`, `Contract`), so the runtime can
//! dead-letter it without inspecting text.

mod bundled;
mod classify;
pub mod evolution;
mod json;
mod registry;
mod resolve;
mod validate;
mod wire;

#[cfg(test)]
mod fixtures;
#[cfg(test)]
mod tests;
#[cfg(test)]
mod tests_resolve;

pub use crate::spec::Format;
pub use registry::RegistryClient;

use crate::dead_letter::DeadLetter;
use crate::error::{Error, Result};
use bundled::Bundled;
use patchline_processors::events::{Event, EventKind};
use resolve::{WriterCache, WriterSchema};
use serde::de::DeserializeOwned;
use serde::Serialize;

/// Largest single allocation apache-avro may make while decoding (a string, bytes or fixed). A
/// corrupt length can otherwise make it allocate up to its 512 MiB default before reading fails;
/// no legitimate record is near this size. Process-wide: the first codec built sets it.
const MAX_ALLOCATION_BYTES: usize = 64 * 1024 * 1024;

/// Encodes and decodes events. `Send + Sync`; share it via `Arc`.
pub struct Codec {
    bundle: &'static [Bundled],
    /// Wire id used when encoding each bundled schema; `None`: not registered.
    encode_ids: [Option<u32>; bundled::LEN],
    writers: WriterCache,
    registry: Option<RegistryClient>,
}

impl std::fmt::Debug for Codec {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Codec")
            .field("encode_ids", &self.encode_ids)
            .field("registry", &self.registry.is_some())
            .finish_non_exhaustive()
    }
}

impl Codec {
    /// Bundled schemas only (no registry): schema `i` of [`bundled::SOURCES`] has the fixed id
    /// `i + 1` (1..=8 in the order of `EventKind::ALL`, 9 for `dead_letter`).
    pub fn bundled() -> Result<Codec> {
        let mut codec = Self::empty(None)?;
        for index in 0..bundled::LEN {
            let id = bundled::fixed_id(index);
            codec.encode_ids[index] = Some(id);
            codec.writers.insert(id, WriterSchema::bundled(codec.bundle, index)?);
        }
        Ok(codec)
    }

    /// With a Confluent-API schema registry: registers each bundled schema under the subject
    /// `<topic>-value` of each `(topic, kind name)` pair (kind name: `EventKind::name()` or
    /// `dead_letter`) and encodes with the returned ids. Ids of other writer schemas are fetched
    /// on demand by [`Codec::fetch_schema`].
    pub async fn with_registry(url: &str, topics: &[(String, String)]) -> Result<Codec> {
        let client = RegistryClient::new(url)?;
        let mut codec = Self::empty(Some(client.clone()))?;
        for (topic, kind) in topics {
            let index = bundled::index_of_name(kind)
                .ok_or_else(|| Error::Config(format!("topic {topic}: unknown kind {kind}")))?;
            let b = &codec.bundle[index];
            let id = client.register(&format!("{topic}-value"), &compact(b)?).await?;
            match codec.encode_ids[index] {
                None => codec.encode_ids[index] = Some(id),
                Some(first) if first != id => tracing::warn!(
                    kind = b.name,
                    first,
                    id,
                    "registry gave the same schema two ids; encoding with the first"
                ),
                Some(_) => {}
            }
            codec.writers.insert(id, WriterSchema::bundled(codec.bundle, index)?);
        }
        Ok(codec)
    }

    fn empty(registry: Option<RegistryClient>) -> Result<Codec> {
        apache_avro::util::max_allocation_bytes(MAX_ALLOCATION_BYTES);
        Ok(Codec {
            bundle: bundled::bundle()?,
            encode_ids: [None; bundled::LEN],
            writers: WriterCache::default(),
            registry,
        })
    }

    /// Confluent wire format: `0x00`, 4-byte big-endian schema id, Avro body written on the
    /// schema-aware serde path.
    pub fn encode(&self, event: &Event) -> Result<Vec<u8>> {
        let index = bundled::index_of_kind(event.kind());
        match event {
            Event::Advisory(e) => self.encode_as(index, e),
            Event::ThreatSignal(e) => self.encode_as(index, e),
            Event::Finding(e) => self.encode_as(index, e),
            Event::AssetTelemetry(e) => self.encode_as(index, e),
            Event::Exposure(e) => self.encode_as(index, e),
            Event::DeploymentCommand(e) => self.encode_as(index, e),
            Event::DeploymentOutcome(e) => self.encode_as(index, e),
            Event::ModelSnapshot(e) => self.encode_as(index, e),
            Event::OperatorOverride(e) => self.encode_as(index, e),
        }
    }

    /// Encodes a dead letter like [`Codec::encode`].
    pub fn encode_dead_letter(&self, dl: &DeadLetter) -> Result<Vec<u8>> {
        self.encode_as(bundled::DEAD_LETTER, dl)
    }

    /// Decodes a payload of a topic of `kind` in `format`.
    pub fn decode(&self, kind: EventKind, format: Format, bytes: &[u8]) -> Result<Event> {
        let index = bundled::index_of_kind(kind);
        Ok(match kind {
            EventKind::Advisory => Event::Advisory(self.decode_as(index, format, bytes)?),
            EventKind::ThreatSignal => Event::ThreatSignal(self.decode_as(index, format, bytes)?),
            EventKind::Finding => Event::Finding(self.decode_as(index, format, bytes)?),
            EventKind::AssetTelemetry => {
                Event::AssetTelemetry(self.decode_as(index, format, bytes)?)
            }
            EventKind::Exposure => Event::Exposure(self.decode_as(index, format, bytes)?),
            EventKind::DeploymentCommand => {
                Event::DeploymentCommand(self.decode_as(index, format, bytes)?)
            }
            EventKind::DeploymentOutcome => {
                Event::DeploymentOutcome(self.decode_as(index, format, bytes)?)
            }
            EventKind::ModelSnapshot => Event::ModelSnapshot(self.decode_as(index, format, bytes)?),
            EventKind::OperatorOverride => {
                Event::OperatorOverride(self.decode_as(index, format, bytes)?)
            }
        })
    }

    /// Decodes an Avro dead letter.
    pub fn decode_dead_letter(&self, bytes: &[u8]) -> Result<DeadLetter> {
        self.decode_as(bundled::DEAD_LETTER, Format::Avro, bytes)
    }

    /// Fetches writer schema `id` from the registry (`GET /schemas/ids/{id}`) and caches it.
    /// Without a registry, or when the registry does not know the id: `Err(UnknownSchemaId)`.
    /// A schema that is not valid Avro: `Err(Undecodable)`. Registry unreachable or failing:
    /// `Err(Registry)`, which is retryable.
    pub async fn fetch_schema(&self, id: u32) -> Result<()> {
        if self.writers.contains(id) {
            return Ok(());
        }
        let registry = self.registry.as_ref().ok_or(Error::UnknownSchemaId(id))?;
        let text = registry.schema_by_id(id).await?;
        self.insert_writer_schema(id, &text)
    }

    /// The schema id used when encoding `kind_name` (`EventKind::name()` or `dead_letter`).
    pub fn schema_id(&self, kind_name: &str) -> Option<u32> {
        bundled::index_of_name(kind_name).and_then(|i| self.encode_ids[i])
    }

    /// Parses `text` as the writer schema with wire id `id` and caches it.
    pub(crate) fn insert_writer_schema(&self, id: u32, text: &str) -> Result<()> {
        let schema = WriterSchema::parse(text, self.bundle)?;
        self.writers.insert(id, schema);
        Ok(())
    }

    fn encode_as<T: Serialize>(&self, index: usize, value: &T) -> Result<Vec<u8>> {
        let b = &self.bundle[index];
        let id = self.encode_ids[index].ok_or_else(|| Error::Encode {
            kind: b.name,
            reason: "no schema id: the kind was not registered with the schema registry".into(),
        })?;
        let mut out = Vec::with_capacity(256);
        wire::write_header(&mut out, id);
        b.writer.write_ser(&mut out, value).map_err(|e| classify::avro_write(b.name, e))?;
        Ok(out)
    }

    fn decode_as<T: DeserializeOwned>(
        &self,
        index: usize,
        format: Format,
        bytes: &[u8],
    ) -> Result<T> {
        match format {
            Format::Json => json::decode(bytes),
            Format::Avro => {
                let (id, body) = wire::unframe(bytes)?;
                let writer = self.writers.get(id).ok_or(Error::UnknownSchemaId(id))?;
                writer.decode(self.bundle, index, body)
            }
        }
    }
}

/// The schema text as registered: the shipped `.avsc` (docs and defaults kept, since registries
/// check compatibility with them) without insignificant whitespace.
fn compact(b: &Bundled) -> Result<String> {
    let json: serde_json::Value = serde_json::from_str(b.text)
        .map_err(|e| Error::Schema { name: b.name.into(), reason: e.to_string() })?;
    Ok(json.to_string())
}
