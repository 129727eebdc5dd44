//! Codec tests of writer-schema resolution (older and newer producers) and of the registry path.
//!
//! Invariant: a body written with any compatible writer schema decodes to the same event as the
//! bundled schema would produce, with the same error classes for damaged bodies.

use super::registry::mock;
use super::tests::{codec, decode_finding, sample_finding};
use super::{bundled, fixtures, wire, Codec, Format};
use crate::error::Error;
use apache_avro::types::Value;
use apache_avro::writer::datum::GenericDatumWriter;
use apache_avro::Schema;
use patchline_processors::events::{Event, EventKind, Finding, FindingStatus};
use std::collections::BTreeSet;

/// `text` (a schema file) with one more top-level field, `zz_extra: string`, at the end.
fn with_extra_field(text: &str) -> String {
    let mut json: serde_json::Value = serde_json::from_str(text).expect("json");
    let fields = json["fields"].as_array_mut().expect("fields");
    fields.push(serde_json::json!({"name": "zz_extra", "type": "string", "doc": "newer producer"}));
    json.to_string()
}

/// Re-frames an encoded record under `id` with a string `"x"` appended (the extra field).
fn reframe_with_extra(bytes: &[u8], id: u32) -> Vec<u8> {
    let mut out = Vec::new();
    wire::write_header(&mut out, id);
    out.extend_from_slice(&bytes[wire::HEADER_LEN..]);
    out.extend_from_slice(&[2, b'x']);
    out
}

#[test]
fn every_kind_resolves_from_a_newer_writer_schema() {
    let codec = codec();
    for (i, (_, text)) in bundled::SOURCES.iter().enumerate() {
        let id = 1000 + i as u32;
        codec.insert_writer_schema(id, &with_extra_field(text)).expect("writer schema");
        assert_eq!(codec.writers.get(id).expect("cached").bundled_match, None);
    }
    for event in fixtures::events() {
        let i = bundled::index_of_kind(event.kind());
        let bytes = reframe_with_extra(&codec.encode(&event).expect("encode"), 1000 + i as u32);
        assert_eq!(codec.decode(event.kind(), Format::Avro, &bytes).expect("resolved"), event);
        for cut in wire::HEADER_LEN..bytes.len() {
            let err = codec.decode(event.kind(), Format::Avro, &bytes[..cut]).expect_err("cut");
            assert!(matches!(err, Error::Truncated(_)), "{:?} cut at {cut}: {err}", event.kind());
        }
        let mut trailing = bytes.clone();
        trailing.push(0);
        let err = codec.decode(event.kind(), Format::Avro, &trailing).expect_err("trailing");
        assert!(matches!(err, Error::Undecodable(_)), "{err}");
    }
    for dl in fixtures::dead_letters() {
        let bytes = reframe_with_extra(&codec.encode_dead_letter(&dl).expect("encode"), 1008);
        assert_eq!(codec.decode_dead_letter(&bytes).expect("resolved"), dl);
    }
}

/// Finding v0: `Package` without `fixed_version` (added later with default null), and a status
/// enum with a symbol the current schema lacks.
const FINDING_V0: &str = r#"{"type": "record", "name": "Finding", "namespace": "dev.patchline.v1",
  "fields": [
    {"name": "asset_id", "type": "string"}, {"name": "scanner", "type": "string"},
    {"name": "scan_id", "type": "string"}, {"name": "vulnerability_id", "type": "string"},
    {"name": "package", "type": {"type": "record", "name": "Package", "fields": [
      {"name": "ecosystem", "type": "string"}, {"name": "name", "type": "string"},
      {"name": "installed_version", "type": "string"}]}},
    {"name": "status", "type": {"type": "enum", "name": "FindingStatus",
      "symbols": ["OPEN", "FIXED", "SUPPRESSED"]}},
    {"name": "first_seen", "type": "long"}, {"name": "last_seen", "type": "long"}]}"#;

fn finding_v0(status: (u32, &str)) -> Vec<u8> {
    let schema = Schema::parse_str(FINDING_V0).expect("v0 parses");
    let s = |v: &str| Value::String(v.into());
    let record = Value::Record(vec![
        ("asset_id".into(), s("host-0042")),
        ("scanner".into(), s("grype")),
        ("scan_id".into(), s("scan-1")),
        ("vulnerability_id".into(), s("CVE-2024-3094")),
        (
            "package".into(),
            Value::Record(vec![
                ("ecosystem".into(), s("Debian")),
                ("name".into(), s("xz-utils")),
                ("installed_version".into(), s("5.6.0-0.2")),
            ]),
        ),
        ("status".into(), Value::Enum(status.0, status.1.into())),
        ("first_seen".into(), Value::Long(10)),
        ("last_seen".into(), Value::Long(20)),
    ]);
    let writer = GenericDatumWriter::builder(&schema).build().expect("writer");
    let mut out = Vec::new();
    wire::write_header(&mut out, 77);
    out.extend(writer.write_value_to_vec(record).expect("v0 encodes"));
    out
}

#[test]
fn older_writer_schema_resolves_with_defaults() {
    let codec = codec();
    codec.insert_writer_schema(77, FINDING_V0).expect("v0 cached");
    let decoded = decode_finding(&codec, &finding_v0((1, "FIXED"))).expect("resolves");
    let Event::Finding(Finding { package, status, first_seen, .. }) = decoded else {
        panic!("kind");
    };
    assert_eq!(package.fixed_version, None);
    assert_eq!((status, first_seen), (FindingStatus::Fixed, 10));
    let err = decode_finding(&codec, &finding_v0((2, "SUPPRESSED"))).expect_err("unknown symbol");
    assert!(matches!(err, Error::Contract(_)), "{err}");
    // The same v0 body on a topic of another kind breaks the contract rather than decoding.
    let err = codec.decode(EventKind::Exposure, Format::Avro, &finding_v0((0, "OPEN")));
    assert!(matches!(err, Err(Error::Contract(_))), "{err:?}");
}

#[test]
fn a_bundled_schema_under_another_id_takes_the_hot_path() {
    let codec = codec();
    let (event, bytes) = sample_finding();
    // Whitespace and docs differ; the canonical form does not.
    let mut json: serde_json::Value = serde_json::from_str(bundled::SOURCES[2].1).expect("json");
    json["doc"] = "registered by another producer".into();
    let text = json.to_string();
    codec.insert_writer_schema(500, &text).expect("cached");
    assert_eq!(codec.writers.get(500).expect("cached").bundled_match, Some(2));
    let mut reframed = bytes.clone();
    reframed[1..5].copy_from_slice(&500u32.to_be_bytes());
    assert_eq!(decode_finding(&codec, &reframed).expect("decodes"), event);
}

#[tokio::test]
async fn registry_path_registers_encodes_and_fetches() {
    let registry = mock::MockRegistry::default();
    let url = mock::serve(registry.clone()).await;
    let mut topics: Vec<(String, String)> = bundled::SOURCES
        .iter()
        .map(|(name, _)| (format!("patchline.{name}"), name.to_string()))
        .collect();
    topics.push(("patchline.findings-2".into(), "finding".into()));
    let codec = Codec::with_registry(&url, &topics).await.expect("registered");
    let ids: BTreeSet<_> = bundled::SOURCES.iter().map(|(n, _)| codec.schema_id(n)).collect();
    assert_eq!(ids.len(), bundled::LEN);
    assert!(ids.iter().all(|id| id.is_some_and(|id| id > 100)));
    for event in fixtures::events() {
        let bytes = codec.encode(&event).expect("encode");
        assert_eq!(codec.decode(event.kind(), Format::Avro, &bytes).expect("decode"), event);
    }
    // Without a registry the fixed ids are unknown to it, and vice versa.
    let (event, fixed_id_bytes) = sample_finding();
    assert!(matches!(decode_finding(&codec, &fixed_id_bytes), Err(Error::UnknownSchemaId(3))));
    assert!(matches!(codec.fetch_schema(3).await, Err(Error::UnknownSchemaId(3))));

    // A newer producer registers a finding schema with an extra field and writes with it.
    let client = super::RegistryClient::new(&url).expect("client");
    let newer = with_extra_field(bundled::SOURCES[2].1);
    let id = client.register("patchline.finding-value", &newer).await.expect("register");
    let bytes = reframe_with_extra(&fixed_id_bytes, id);
    assert!(matches!(decode_finding(&codec, &bytes), Err(Error::UnknownSchemaId(i)) if i == id));
    codec.fetch_schema(id).await.expect("fetched");
    assert_eq!(decode_finding(&codec, &bytes).expect("resolved"), event);
}

#[tokio::test]
async fn unregistered_kinds_cannot_be_encoded() {
    let url = mock::serve(mock::MockRegistry::default()).await;
    let topics = [("patchline.findings".to_owned(), "finding".to_owned())];
    let codec = Codec::with_registry(&url, &topics).await.expect("registered");
    assert_eq!(codec.schema_id("exposure"), None);
    let exposure =
        fixtures::events().into_iter().find(|e| e.kind() == EventKind::Exposure).expect("exposure");
    assert!(matches!(codec.encode(&exposure), Err(Error::Encode { kind: "exposure", .. })));
    let bad = [("t".to_owned(), "nope".to_owned())];
    assert!(matches!(Codec::with_registry(&url, &bad).await, Err(Error::Config(_))));
}
