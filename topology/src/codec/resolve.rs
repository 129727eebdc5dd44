//! Writer schemas by wire id, and decoding of bodies whose writer schema is not the bundled one.
//!
//! Invariant: a [`WriterSchema`] is immutable once cached; `bundled_match` is `Some(i)` exactly
//! when its Parsing Canonical Form equals bundled schema `i`'s, i.e. when its bodies are
//! byte-for-byte what the bundled schema would write, so the hot path may read them without
//! resolution. Every other body is checked strictly, then resolved to the reader schema.

use super::bundled::{self, Bundled};
use super::{classify, validate};
use crate::error::{Error, Result};
use apache_avro::reader::datum::GenericDatumReader;
use apache_avro::schema::ResolvedSchema;
use apache_avro::Schema;
use serde::de::DeserializeOwned;
use std::collections::HashMap;
use std::sync::{Arc, OnceLock, PoisonError, RwLock};

/// One writer schema known by id.
pub struct WriterSchema {
    /// The parsed writer schema.
    pub schema: &'static Schema,
    /// Named types of `schema`, for the strict check.
    names: ResolvedSchema<'static>,
    /// Bundle index of the schema with the same canonical form, if any.
    pub bundled_match: Option<usize>,
    /// Resolving readers (writer -> bundled reader schema `i`), built on first use.
    resolvers: [OnceLock<GenericDatumReader<'static>>; bundled::LEN],
}

impl WriterSchema {
    /// A writer schema that is bundled schema `index` itself.
    pub fn bundled(bundle: &'static [Bundled], index: usize) -> Result<WriterSchema> {
        Self::new(bundle[index].schema, bundle)
    }

    /// Parses (and leaks, see [`bundled::leak_schema`]) a writer schema from its JSON text.
    pub fn parse(text: &str, bundle: &'static [Bundled]) -> Result<WriterSchema> {
        let schema = bundled::leak_schema(text)
            .map_err(|e| Error::Undecodable(format!("writer schema is not valid Avro: {e}")))?;
        Self::new(schema, bundle)
    }

    fn new(schema: &'static Schema, bundle: &'static [Bundled]) -> Result<WriterSchema> {
        let names = ResolvedSchema::try_from(schema)
            .map_err(|e| Error::Undecodable(format!("writer schema does not resolve: {e}")))?;
        let canonical = schema.canonical_form();
        Ok(WriterSchema {
            schema,
            names,
            bundled_match: bundle.iter().position(|b| b.canonical == canonical),
            resolvers: std::array::from_fn(|_| OnceLock::new()),
        })
    }

    /// Decodes `body`, written with this schema, as bundled schema `index` (type `T`).
    pub fn decode<T: DeserializeOwned>(
        &self,
        bundle: &'static [Bundled],
        index: usize,
        body: &[u8],
    ) -> Result<T> {
        if self.bundled_match == Some(index) {
            read_exact(&bundle[index], body)
        } else {
            self.resolve(bundle, index, body)
        }
    }

    /// The cold path: strict structural check, `Value` resolution, then serde mapping.
    fn resolve<T: DeserializeOwned>(
        &self,
        bundle: &'static [Bundled],
        index: usize,
        body: &[u8],
    ) -> Result<T> {
        validate::check(self.schema, self.names.get_names(), body)?;
        let reader = self.resolver(bundle, index)?;
        let mut input = body;
        let value = reader.read_value(&mut input).map_err(classify::avro_resolve)?;
        apache_avro::from_value(&value).map_err(classify::avro_resolve)
    }

    fn resolver(
        &self,
        bundle: &'static [Bundled],
        index: usize,
    ) -> Result<&GenericDatumReader<'static>> {
        let slot = &self.resolvers[index];
        if let Some(reader) = slot.get() {
            return Ok(reader);
        }
        let reader = GenericDatumReader::builder(self.schema)
            .reader_schema(bundle[index].schema)
            .human_readable(false)
            .build()
            .map_err(|e| Error::Contract(format!("cannot resolve writer schema: {e}")))?;
        // A concurrent caller may have won the race; either reader is equivalent.
        Ok(slot.get_or_init(|| reader))
    }
}

/// The hot path: the body was written with bundled schema `b` itself; deserialize it straight
/// into `T` (no `Value`), then insist that the whole body was consumed.
pub fn read_exact<T: DeserializeOwned>(b: &Bundled, body: &[u8]) -> Result<T> {
    let mut input = body;
    let value = b.reader.read_deser(&mut input).map_err(classify::avro_read)?;
    super::wire::expect_consumed(input)?;
    Ok(value)
}

/// Writer schemas by wire id. Lookups clone an `Arc` under a short read lock; the lock is never
/// held across an `.await` (fetching happens outside, then [`WriterCache::insert`]).
#[derive(Default)]
pub struct WriterCache {
    by_id: RwLock<HashMap<u32, Arc<WriterSchema>>>,
}

impl WriterCache {
    /// The writer schema with wire id `id`.
    pub fn get(&self, id: u32) -> Option<Arc<WriterSchema>> {
        // A panic while holding the lock cannot leave the map half-updated (insert is one call),
        // so a poisoned lock is still consistent.
        let map = self.by_id.read().unwrap_or_else(PoisonError::into_inner);
        map.get(&id).cloned()
    }

    /// Caches `schema` under `id`; an existing entry wins (ids are immutable in a registry).
    pub fn insert(&self, id: u32, schema: WriterSchema) {
        let mut map = self.by_id.write().unwrap_or_else(PoisonError::into_inner);
        map.entry(id).or_insert_with(|| Arc::new(schema));
    }

    /// True when `id` is cached.
    pub fn contains(&self, id: u32) -> bool {
        let map = self.by_id.read().unwrap_or_else(PoisonError::into_inner);
        map.contains_key(&id)
    }
}
