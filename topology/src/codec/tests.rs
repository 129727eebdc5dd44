//! Codec tests: round trips, contract fidelity (fields, order, enum symbols) and error classes.
//!
//! Invariant: every sample in [`super::fixtures`] survives encode/decode unchanged, and every
//! malformed input maps to exactly its documented error class.

use super::{bundled, fixtures, wire, Codec, Format};
use crate::error::Error;
use apache_avro::types::Value;
use apache_avro::Schema;
use patchline_processors::events::{Event, EventKind, FindingStatus};
use std::collections::{BTreeMap, BTreeSet};

pub(super) fn codec() -> Codec {
    Codec::bundled().expect("bundled codec")
}

fn to_json(e: &Event) -> Vec<u8> {
    let out = match e {
        Event::Advisory(x) => serde_json::to_vec(x),
        Event::ThreatSignal(x) => serde_json::to_vec(x),
        Event::Finding(x) => serde_json::to_vec(x),
        Event::AssetTelemetry(x) => serde_json::to_vec(x),
        Event::Exposure(x) => serde_json::to_vec(x),
        Event::DeploymentCommand(x) => serde_json::to_vec(x),
        Event::DeploymentOutcome(x) => serde_json::to_vec(x),
        Event::ModelSnapshot(x) => serde_json::to_vec(x),
        Event::OperatorOverride(x) => serde_json::to_vec(x),
    };
    out.expect("json")
}

fn to_value(e: &Event) -> Value {
    let out = match e {
        Event::Advisory(x) => apache_avro::to_value(x),
        Event::ThreatSignal(x) => apache_avro::to_value(x),
        Event::Finding(x) => apache_avro::to_value(x),
        Event::AssetTelemetry(x) => apache_avro::to_value(x),
        Event::Exposure(x) => apache_avro::to_value(x),
        Event::DeploymentCommand(x) => apache_avro::to_value(x),
        Event::DeploymentOutcome(x) => apache_avro::to_value(x),
        Event::ModelSnapshot(x) => apache_avro::to_value(x),
        Event::OperatorOverride(x) => apache_avro::to_value(x),
    };
    out.expect("value")
}

#[test]
fn codec_is_send_and_sync() {
    fn assert_send_sync<T: Send + Sync + 'static>() {}
    assert_send_sync::<Codec>();
    // The async API can run on any runtime thread (e.g. inside `tokio::spawn`).
    fn assert_send<T: Send>(_: &T) {}
    let codec = codec();
    assert_send(&Codec::with_registry("http://localhost:1", &[]));
    assert_send(&codec.fetch_schema(1));
}

#[test]
fn every_event_and_dead_letter_round_trips() {
    let codec = codec();
    let events = fixtures::events();
    let kinds: BTreeSet<_> = events.iter().map(|e| e.kind().name()).collect();
    assert_eq!(kinds.len(), EventKind::ALL.len(), "a sample of every kind");
    for event in &events {
        let bytes = codec.encode(event).expect("encode");
        let id = codec.schema_id(event.kind().name()).expect("id");
        assert_eq!(wire::unframe(&bytes).expect("framed").0, id);
        let back = codec.decode(event.kind(), Format::Avro, &bytes).expect("decode");
        assert_eq!(&back, event);
        let json = codec.decode(event.kind(), Format::Json, &to_json(event)).expect("json");
        assert_eq!(&json, event);
    }
    for dl in fixtures::dead_letters() {
        let bytes = codec.encode_dead_letter(&dl).expect("encode");
        assert_eq!(wire::unframe(&bytes).expect("framed").0, 9);
        assert_eq!(codec.decode_dead_letter(&bytes).expect("decode"), dl);
    }
}

#[test]
fn bundled_ids_are_fixed() {
    let codec = codec();
    for (i, kind) in EventKind::ALL.into_iter().take(8).enumerate() {
        assert_eq!(codec.schema_id(kind.name()), Some(i as u32 + 1));
    }
    assert_eq!(codec.schema_id("operator_override"), Some(10));
    assert_eq!(codec.schema_id("dead_letter"), Some(9));
    assert_eq!(codec.schema_id("nope"), None);
}

/// Field names of every record, in order, as the schema lists them / as the Rust type writes them.
fn schema_records(schema: &Schema, out: &mut BTreeSet<Vec<String>>) {
    match schema {
        Schema::Record(r) => {
            out.insert(r.fields.iter().map(|f| f.name.clone()).collect());
            r.fields.iter().for_each(|f| schema_records(&f.schema, out));
        }
        Schema::Array(a) => schema_records(&a.items, out),
        Schema::Union(u) => u.variants().iter().for_each(|v| schema_records(v, out)),
        _ => {}
    }
}

fn value_records(value: &Value, out: &mut BTreeSet<Vec<String>>) {
    match value {
        Value::Record(fields) => {
            out.insert(fields.iter().map(|(n, _)| n.clone()).collect());
            fields.iter().for_each(|(_, v)| value_records(v, out));
        }
        Value::Array(items) => items.iter().for_each(|v| value_records(v, out)),
        Value::Union(_, v) => value_records(v, out),
        _ => {}
    }
}

#[test]
fn rust_fields_match_schema_fields_in_order() {
    let bundle = bundled::bundle().expect("bundle");
    let mut declared = BTreeSet::new();
    bundle.iter().for_each(|b| schema_records(b.schema, &mut declared));
    let mut written = BTreeSet::new();
    fixtures::events().iter().for_each(|e| value_records(&to_value(e), &mut written));
    for dl in fixtures::dead_letters() {
        value_records(&apache_avro::to_value(&dl).expect("value"), &mut written);
    }
    // Every record the Rust types write is declared with the same fields in the same order, and
    // the samples exercise every declared record.
    assert_eq!(written, declared);
}

#[test]
fn fixtures_cover_every_enum_symbol() {
    let bundle = bundled::bundle().expect("bundle");
    let mut symbols = BTreeMap::new();
    bundle.iter().for_each(|b| super::evolution::enums(b.schema, &mut symbols));
    let mut text = String::new();
    for e in fixtures::events() {
        text.push_str(&String::from_utf8(to_json(&e)).expect("utf8"));
    }
    for dl in fixtures::dead_letters() {
        text.push_str(&serde_json::to_string(&dl).expect("json"));
    }
    for (name, syms) in symbols {
        for s in syms {
            assert!(text.contains(&format!("\"{s}\"")), "{name}::{s} never used in fixtures");
        }
    }
}

pub(super) fn sample_finding() -> (Event, Vec<u8>) {
    let event =
        fixtures::events().into_iter().find(|e| e.kind() == EventKind::Finding).expect("finding");
    let bytes = codec().encode(&event).expect("encode");
    (event, bytes)
}

pub(super) fn decode_finding(codec: &Codec, bytes: &[u8]) -> Result<Event, Error> {
    codec.decode(EventKind::Finding, Format::Avro, bytes)
}

#[test]
fn every_cut_of_every_record_is_truncated() {
    let codec = codec();
    for event in fixtures::events() {
        let bytes = codec.encode(&event).expect("encode");
        for cut in 0..bytes.len() {
            let err = codec.decode(event.kind(), Format::Avro, &bytes[..cut]).expect_err("cut");
            assert!(matches!(err, Error::Truncated(_)), "{:?} cut at {cut}: {err}", event.kind());
        }
    }
}

#[test]
fn bad_inputs_map_to_their_error_class() {
    let codec = codec();
    let (_, good) = sample_finding();
    assert!(matches!(decode_finding(&codec, &good[..3]), Err(Error::Truncated(_))));
    let mut bad_magic = good.clone();
    bad_magic[0] = 0x7b;
    assert!(matches!(decode_finding(&codec, &bad_magic), Err(Error::BadMagic(0x7b))));
    let mut unknown = good.clone();
    unknown[1..5].copy_from_slice(&999u32.to_be_bytes());
    assert!(matches!(decode_finding(&codec, &unknown), Err(Error::UnknownSchemaId(999))));
    let mut trailing = good.clone();
    trailing.push(0);
    assert!(matches!(decode_finding(&codec, &trailing), Err(Error::Undecodable(_))));

    // Hand-made finding bodies (schema id 3): four strings, the package, then the status enum.
    let frame = |body: &[u8]| [&[0, 0, 0, 0, 3][..], body].concat();
    let strings = [2, b'a', 2, b's', 2, b'x', 2, b'v'];
    let package = [2, b'e', 2, b'n', 2, b'1', 0];
    let with = |tail: &[u8]| frame(&[&strings[..], &package, tail].concat());
    let undecodable: [(&str, Vec<u8>); 5] = [
        ("bad union index", frame(&[&strings[..], &[2, b'e', 2, b'n', 2, b'1', 10]].concat())),
        ("bad enum index", with(&[18, 2, 2])),
        ("invalid utf-8", frame(&[2, 0xff])),
        ("negative length", frame(&[1])),
        ("bad varint", frame(&[0xff; 11])),
    ];
    for (what, bytes) in undecodable {
        let err = decode_finding(&codec, &bytes).expect_err(what);
        assert!(matches!(err, Error::Undecodable(_)), "{what}: {err}");
    }
    let ok = decode_finding(&codec, &with(&[2, 2, 2])).expect("hand-made finding decodes");
    let Event::Finding(f) = ok else { panic!("kind") };
    assert_eq!((f.status, f.first_seen, f.last_seen), (FindingStatus::Fixed, 1, 1));
}

#[test]
fn json_errors_map_to_their_error_class() {
    let codec = codec();
    let (event, _) = sample_finding();
    let json = String::from_utf8(to_json(&event)).expect("utf8");
    let unknown_symbol = json.replace("\"OPEN\"", "\"SUPPRESSED\"");
    let err = codec.decode(EventKind::Finding, Format::Json, unknown_symbol.as_bytes());
    assert!(matches!(err, Err(Error::Contract(_))), "{err:?}");
    let err = codec.decode(EventKind::Finding, Format::Json, b"{\"asset_id\": }");
    assert!(matches!(err, Err(Error::Undecodable(_))), "{err:?}");
}

#[tokio::test]
async fn unknown_id_without_registry_cannot_be_fetched() {
    let codec = codec();
    assert!(matches!(codec.fetch_schema(999).await, Err(Error::UnknownSchemaId(999))));
    codec.fetch_schema(3).await.expect("bundled ids are known");
}
