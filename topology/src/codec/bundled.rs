//! The schemas compiled into the binary (`schemas/*.avsc`), parsed once per process, with a reader
//! and a writer built once per schema.
//!
//! Invariant: bundle index `i` (0-based) is the schema of `EventKind::ALL[i]` for `i < 8`, of
//! the dead letter for `i == 8` and of the operator override for `i == 9` (appended later);
//! without a schema registry its fixed wire id is `i + 1`:
//!
//! | id | schema               | id | schema               |
//! |----|----------------------|----|----------------------|
//! | 1  | `advisory`           | 6  | `deployment_command` |
//! | 2  | `threat_signal`      | 7  | `deployment_outcome` |
//! | 3  | `finding`            | 8  | `model_snapshot`     |
//! | 4  | `asset_telemetry`    | 9  | `dead_letter`        |
//! | 5  | `exposure`           | 10 | `operator_override`  |
//!
//! These ids are a contract between patchline instances that run without a registry: never
//! reorder them; append new schemas with new ids.

use crate::error::{Error, Result};
use apache_avro::reader::datum::GenericDatumReader;
use apache_avro::writer::datum::GenericDatumWriter;
use apache_avro::Schema;
use patchline_processors::events::EventKind;
use std::sync::OnceLock;

/// Number of bundled schemas.
pub const LEN: usize = 10;

/// Bundle index of the dead-letter schema.
pub const DEAD_LETTER: usize = 8;

/// Name of the dead-letter schema (the topic `kind`).
pub const DEAD_LETTER_NAME: &str = "dead_letter";

/// (name, schema text), in bundle order.
pub const SOURCES: [(&str, &str); LEN] = [
    ("advisory", include_str!("../../../schemas/advisory.avsc")),
    ("threat_signal", include_str!("../../../schemas/threat_signal.avsc")),
    ("finding", include_str!("../../../schemas/finding.avsc")),
    ("asset_telemetry", include_str!("../../../schemas/asset_telemetry.avsc")),
    ("exposure", include_str!("../../../schemas/exposure.avsc")),
    ("deployment_command", include_str!("../../../schemas/deployment_command.avsc")),
    ("deployment_outcome", include_str!("../../../schemas/deployment_outcome.avsc")),
    ("model_snapshot", include_str!("../../../schemas/model_snapshot.avsc")),
    (DEAD_LETTER_NAME, include_str!("../../../schemas/dead_letter.avsc")),
    ("operator_override", include_str!("../../../schemas/operator_override.avsc")),
];

/// The fixed wire id of bundle index `index` when no registry is used.
pub fn fixed_id(index: usize) -> u32 {
    // LEN is 9, so the cast cannot truncate.
    index as u32 + 1
}

/// The bundle index of an event kind.
pub fn index_of_kind(kind: EventKind) -> usize {
    match kind {
        EventKind::Advisory => 0,
        EventKind::ThreatSignal => 1,
        EventKind::Finding => 2,
        EventKind::AssetTelemetry => 3,
        EventKind::Exposure => 4,
        EventKind::DeploymentCommand => 5,
        EventKind::DeploymentOutcome => 6,
        EventKind::ModelSnapshot => 7,
        EventKind::OperatorOverride => 9,
    }
}

/// The bundle index of a kind name (`EventKind::name()` or `dead_letter`).
pub fn index_of_name(name: &str) -> Option<usize> {
    SOURCES.iter().position(|(n, _)| *n == name)
}

/// One bundled schema with its cached reader and writer.
pub struct Bundled {
    /// Kind name, e.g. `finding`.
    pub name: &'static str,
    /// The schema text as shipped (docs and defaults included): what gets registered.
    pub text: &'static str,
    /// The parsed schema.
    pub schema: &'static Schema,
    /// Parsing Canonical Form: two schemas with equal forms encode identically.
    pub canonical: String,
    /// Reads bodies written with exactly this schema, straight into the Rust type.
    pub reader: GenericDatumReader<'static>,
    /// Writes the Rust type with this schema.
    pub writer: GenericDatumWriter<'static>,
}

/// The bundle, parsed on first use.
pub fn bundle() -> Result<&'static [Bundled]> {
    static BUNDLE: OnceLock<std::result::Result<Vec<Bundled>, String>> = OnceLock::new();
    match BUNDLE.get_or_init(load) {
        Ok(bundle) => Ok(bundle),
        Err(reason) => Err(Error::Schema { name: "bundle".into(), reason: reason.clone() }),
    }
}

/// Parses a schema and leaks it: readers and writers borrow their schema, and schemas live as
/// long as the process (bundled ones are parsed once; fetched writer schemas are bounded by the
/// ids the registry knows), so a `&'static Schema` is simpler than a self-referential owner.
pub fn leak_schema(text: &str) -> std::result::Result<&'static Schema, apache_avro::Error> {
    Ok(Box::leak(Box::new(Schema::parse_str(text)?)))
}

/// Builds the reader for bodies written with exactly `schema` (no resolution).
pub fn exact_reader(
    schema: &'static Schema,
) -> apache_avro::AvroResult<GenericDatumReader<'static>> {
    // `human_readable(false)` on both sides: the recommended setting, and readers and writers
    // must agree on it.
    GenericDatumReader::builder(schema).human_readable(false).build()
}

fn load() -> std::result::Result<Vec<Bundled>, String> {
    SOURCES
        .iter()
        .map(|&(name, text)| {
            let fail = |e: apache_avro::Error| format!("{name}.avsc: {e}");
            let schema = leak_schema(text).map_err(fail)?;
            Ok(Bundled {
                name,
                text,
                schema,
                canonical: schema.canonical_form(),
                reader: exact_reader(schema).map_err(fail)?,
                writer: GenericDatumWriter::builder(schema)
                    .human_readable(false)
                    .build()
                    .map_err(fail)?,
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bundle_order_follows_event_kinds() {
        for kind in EventKind::ALL {
            let i = index_of_kind(kind);
            assert_eq!(SOURCES[i].0, kind.name());
            assert_eq!(index_of_name(kind.name()), Some(i));
        }
        assert_eq!(index_of_kind(EventKind::OperatorOverride), 9, "appended after dead_letter");
        assert_eq!(index_of_name(DEAD_LETTER_NAME), Some(DEAD_LETTER));
        assert_eq!(index_of_name("nope"), None);
        assert_eq!((1..=10).collect::<Vec<_>>(), (0..LEN).map(fixed_id).collect::<Vec<_>>());
    }

    #[test]
    fn every_schema_parses_in_namespace_with_documented_fields() {
        let bundle = bundle().expect("bundle parses");
        for b in bundle {
            let Schema::Record(record) = b.schema else {
                panic!("{} is not a record", b.name);
            };
            assert_eq!(record.name.namespace(), Some("dev.patchline.v1"), "{}", b.name);
            let json: serde_json::Value = serde_json::from_str(b.text).expect("json");
            assert_documented(&json, b.name);
        }
        let forms: std::collections::BTreeSet<_> = bundle.iter().map(|b| &b.canonical).collect();
        assert_eq!(forms.len(), LEN, "canonical forms are distinct");
    }

    /// Every field of every record in the schema JSON has a non-empty `doc`.
    fn assert_documented(json: &serde_json::Value, file: &str) {
        match json {
            serde_json::Value::Object(map) => {
                if let Some(serde_json::Value::Array(fields)) = map.get("fields") {
                    for f in fields {
                        let doc = f.get("doc").and_then(|d| d.as_str()).unwrap_or_default();
                        assert!(!doc.is_empty(), "{file}: field {:?} has no doc", f.get("name"));
                    }
                }
                map.values().for_each(|v| assert_documented(v, file));
            }
            serde_json::Value::Array(items) => {
                items.iter().for_each(|v| assert_documented(v, file))
            }
            _ => {}
        }
    }
}
