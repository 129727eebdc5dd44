//! Strict structural check of an Avro body against its writer schema, for the resolution path.
//!
//! apache-avro's `Value` decoder is lenient at the end of input (a string, boolean or union that
//! hits EOF decodes as null), so a truncated body could resolve into a plausible record. This
//! walker reads the body exactly as the writer schema lays it out and fails instead.
//!
//! Invariant: [`check`] returns `Ok` only if `body` is exactly one complete, well-formed datum of
//! the schema: EOF -> [`Error::Truncated`]; bad varint, negative length, out-of-range union or enum
//! index, invalid UTF-8, bad boolean byte, trailing bytes -> [`Error::Undecodable`].

use crate::error::{Error, Result};
use apache_avro::schema::{DecimalSchema, InnerDecimalSchema, NamesRef, Schema, UuidSchema};

/// Nesting bound: a schema is finite, but a recursive one could be driven deep by the data.
const MAX_DEPTH: usize = 64;

/// Checks that `body` is exactly one datum of `schema`; `names` resolves named references.
pub fn check(schema: &Schema, names: &NamesRef<'_>, body: &[u8]) -> Result<()> {
    let mut input = body;
    datum(schema, names, &mut input, 0)?;
    super::wire::expect_consumed(input)
}

fn truncated(what: &str) -> Error {
    Error::Truncated(format!("Avro body ends inside {what}"))
}

fn bad(reason: String) -> Error {
    Error::Undecodable(reason)
}

fn take<'a>(input: &mut &'a [u8], n: usize, what: &str) -> Result<&'a [u8]> {
    if input.len() < n {
        return Err(truncated(what));
    }
    let (head, rest) = input.split_at(n);
    *input = rest;
    Ok(head)
}

/// A zig-zag varint long.
fn long(input: &mut &[u8]) -> Result<i64> {
    let mut raw = 0u64;
    for shift in (0..70).step_by(7) {
        let [byte] = *take(input, 1, "a varint")? else {
            return Err(truncated("a varint"));
        };
        if shift == 63 && byte > 1 {
            return Err(bad("varint overflows 64 bits".into()));
        }
        raw |= u64::from(byte & 0x7f) << shift;
        if byte & 0x80 == 0 {
            // Zig-zag decoding; the casts reinterpret bits.
            return Ok((raw >> 1) as i64 ^ -((raw & 1) as i64));
        }
    }
    Err(bad("varint longer than 10 bytes".into()))
}

fn int(input: &mut &[u8]) -> Result<i32> {
    let v = long(input)?;
    i32::try_from(v).map_err(|_| bad(format!("{v} out of range for an Avro int")))
}

/// A non-negative length that fits in the remaining input.
fn length(input: &mut &[u8], what: &str) -> Result<usize> {
    let len = long(input)?;
    let len = usize::try_from(len).map_err(|_| bad(format!("negative {what} length {len}")))?;
    if len > input.len() {
        return Err(truncated(what));
    }
    Ok(len)
}

fn index(input: &mut &[u8], count: usize, what: &str) -> Result<usize> {
    let i = long(input)?;
    usize::try_from(i)
        .ok()
        .filter(|i| *i < count)
        .ok_or_else(|| bad(format!("{what} index {i} out of range 0..{count}")))
}

/// Array or map blocks: a count (negative: followed by a byte size), then items, until count 0.
fn blocks(input: &mut &[u8], mut item: impl FnMut(&mut &[u8]) -> Result<()>) -> Result<()> {
    loop {
        let count = long(input)?;
        if count == 0 {
            return Ok(());
        }
        if count < 0 {
            length(input, "a block")?;
        }
        for _ in 0..count.unsigned_abs() {
            item(input)?;
        }
    }
}

fn datum(schema: &Schema, names: &NamesRef<'_>, input: &mut &[u8], depth: usize) -> Result<()> {
    if depth > MAX_DEPTH {
        return Err(bad(format!("nesting deeper than {MAX_DEPTH}")));
    }
    let next = depth + 1;
    match schema {
        Schema::Null => {}
        Schema::Boolean => match take(input, 1, "a boolean")? {
            [0 | 1] => {}
            other => return Err(bad(format!("boolean byte {other:?}"))),
        },
        Schema::Int | Schema::Date | Schema::TimeMillis => {
            int(input)?;
        }
        Schema::Long
        | Schema::TimeMicros
        | Schema::TimestampMillis
        | Schema::TimestampMicros
        | Schema::TimestampNanos
        | Schema::LocalTimestampMillis
        | Schema::LocalTimestampMicros
        | Schema::LocalTimestampNanos => {
            long(input)?;
        }
        Schema::Float => {
            take(input, 4, "a float")?;
        }
        Schema::Double => {
            take(input, 8, "a double")?;
        }
        Schema::String | Schema::Uuid(UuidSchema::String) => {
            let len = length(input, "a string")?;
            let bytes = take(input, len, "a string")?;
            std::str::from_utf8(bytes).map_err(|e| bad(format!("invalid UTF-8: {e}")))?;
        }
        Schema::Bytes
        | Schema::BigDecimal
        | Schema::Uuid(UuidSchema::Bytes)
        | Schema::Decimal(DecimalSchema { inner: InnerDecimalSchema::Bytes, .. }) => {
            let len = length(input, "bytes")?;
            take(input, len, "bytes")?;
        }
        Schema::Fixed(fixed)
        | Schema::Duration(fixed)
        | Schema::Uuid(UuidSchema::Fixed(fixed))
        | Schema::Decimal(DecimalSchema { inner: InnerDecimalSchema::Fixed(fixed), .. }) => {
            take(input, fixed.size, "a fixed")?;
        }
        Schema::Array(array) => blocks(input, |i| datum(&array.items, names, i, next))?,
        Schema::Map(map) => blocks(input, |i| {
            datum(&Schema::String, names, i, next)?;
            datum(&map.types, names, i, next)
        })?,
        Schema::Union(union) => {
            let variants = union.variants();
            let i = index(input, variants.len(), "union")?;
            datum(&variants[i], names, input, next)?;
        }
        Schema::Record(record) => {
            for field in &record.fields {
                datum(&field.schema, names, input, next)?;
            }
        }
        Schema::Enum(e) => {
            index(input, e.symbols.len(), "enum")?;
        }
        // The parser stores references fully qualified, as the names map is keyed.
        Schema::Ref { name } => {
            let target = names
                .get(name)
                .ok_or_else(|| bad(format!("unresolved schema reference {name}")))?;
            datum(target, names, input, next)?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use apache_avro::schema::ResolvedSchema;

    const SCHEMA: &str = r#"{"type": "record", "name": "R", "fields": [
        {"name": "s", "type": "string"},
        {"name": "o", "type": ["null", "string"]},
        {"name": "b", "type": "boolean"},
        {"name": "a", "type": {"type": "array", "items": "int"}},
        {"name": "e", "type": {"type": "enum", "name": "E", "symbols": ["X", "Y"]}},
        {"name": "e2", "type": "E"}
    ]}"#;

    fn run(body: &[u8]) -> Result<()> {
        let schema = Schema::parse_str(SCHEMA).expect("schema");
        let resolved = ResolvedSchema::try_from(&schema).expect("resolved");
        check(&schema, resolved.get_names(), body)
    }

    // s = "hi", o = Some("x"), b = true, a = [1, -1] (one block), e = Y, e2 = X
    const GOOD: &[u8] = &[4, b'h', b'i', 2, 2, b'x', 1, 4, 2, 1, 0, 2, 0];

    #[test]
    fn accepts_a_complete_datum() {
        run(GOOD).expect("valid");
        // Negative block count followed by a byte size is valid too.
        run(&[0, 0, 0, 3, 4, 2, 1, 0, 0, 0]).expect("negative block count");
    }

    #[test]
    fn classifies_every_defect() {
        for cut in 0..GOOD.len() {
            assert!(matches!(run(&GOOD[..cut]), Err(Error::Truncated(_))), "cut at {cut}");
        }
        let mut trailing = GOOD.to_vec();
        trailing.push(0);
        let cases: [(&str, Vec<u8>); 6] = [
            ("trailing", trailing),
            ("union index", vec![0, 4]),
            ("negative length", vec![1]),
            ("utf8", vec![2, 0xff]),
            ("boolean", vec![0, 0, 2]),
            ("enum index", vec![0, 0, 0, 0, 4]),
        ];
        for (what, body) in cases {
            assert!(matches!(run(&body), Err(Error::Undecodable(_))), "{what}");
        }
        let overlong = [0xffu8; 11];
        assert!(matches!(run(&overlong), Err(Error::Undecodable(_))));
    }
}
