//! The schema evolution check: every current `schemas/<name>.avsc` against every released
//! `schemas/history/<name>/v<N>.avsc`, in the direction of its topic class.
//!
//! - Input schemas (patchline reads what others write) are BACKWARD_TRANSITIVE: the current
//!   schema, as reader, must read data written with every released version.
//! - Output schemas (others read what patchline writes) are FORWARD_TRANSITIVE: every released
//!   version, as reader, must read data written with the current schema. In addition, output
//!   enums never lose symbols: patchline replays its own outputs (compacted model snapshots,
//!   exposures), so the current schema must still read old symbols too.
//!
//! Invariant: [`check_dir`] returns no violation only if all of the above hold, every schema has
//! at least one released version, and every file parses. Anything short of
//! `Compatibility::Full` counts as a violation (a partial match fails on some records).

use super::bundled::SOURCES;
use crate::error::{Error, Result};
use apache_avro::schema::Schema;
use apache_avro::schema_compatibility::{Compatibility, SchemaCompatibility};
use std::collections::BTreeMap;
use std::fmt;
use std::path::Path;

/// Which side of patchline a schema's topics are on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Class {
    /// Read by patchline: BACKWARD_TRANSITIVE.
    Input,
    /// Written by patchline: FORWARD_TRANSITIVE.
    Output,
}

/// The class of schema `name`.
pub fn class_of(name: &str) -> Class {
    match name {
        "advisory" | "threat_signal" | "finding" | "asset_telemetry" | "deployment_outcome"
        | "operator_override" => Class::Input,
        _ => Class::Output,
    }
}

/// One broken evolution rule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Violation {
    /// Schema name, e.g. `finding`.
    pub schema: String,
    /// Released version file it was checked against, e.g. `v1.avsc` (empty if none).
    pub version: String,
    /// What is broken.
    pub reason: String,
}

impl fmt::Display for Violation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} vs history {}: {}", self.schema, self.version, self.reason)
    }
}

/// Checks every bundled schema in `schemas_dir` (the repository's `schemas/`) against its history.
pub fn check_dir(schemas_dir: &Path) -> Result<Vec<Violation>> {
    let mut violations = Vec::new();
    for (name, _) in SOURCES {
        let current = read(&schemas_dir.join(format!("{name}.avsc")))?;
        let history_dir = schemas_dir.join("history").join(name);
        let mut history = Vec::new();
        if history_dir.is_dir() {
            for entry in std::fs::read_dir(&history_dir)? {
                let path = entry?.path();
                let file = path.file_name().and_then(|f| f.to_str()).unwrap_or_default();
                if file.starts_with('v') && file.ends_with(".avsc") {
                    history.push((file.to_owned(), read(&path)?));
                }
            }
        }
        history.sort();
        violations.extend(check_versions(name, class_of(name), &current, &history));
    }
    Ok(violations)
}

/// Checks one schema's current text against its released versions `(file name, text)`.
pub fn check_versions(
    name: &str,
    class: Class,
    current: &str,
    history: &[(String, String)],
) -> Vec<Violation> {
    let violation = |version: &str, reason: String| Violation {
        schema: name.to_owned(),
        version: version.to_owned(),
        reason,
    };
    let current = match Schema::parse_str(current) {
        Ok(s) => s,
        Err(e) => return vec![violation("", format!("current schema does not parse: {e}"))],
    };
    if history.is_empty() {
        return vec![violation("", "no released version in schemas/history".into())];
    }
    let mut out = Vec::new();
    for (version, text) in history {
        let old = match Schema::parse_str(text) {
            Ok(s) => s,
            Err(e) => {
                out.push(violation(version, format!("does not parse: {e}")));
                continue;
            }
        };
        let (writer, reader, rule) = match class {
            Class::Input => (&old, &current, "BACKWARD (current must read old data)"),
            Class::Output => (&current, &old, "FORWARD (old readers must read current data)"),
        };
        match SchemaCompatibility::can_read(writer, reader) {
            Ok(Compatibility::Full) => {}
            Ok(Compatibility::Partial) => out.push(violation(
                version,
                format!("{rule}: only partially compatible (e.g. an enum symbol the reader lacks)"),
            )),
            Err(e) => out.push(violation(version, format!("{rule}: {e:?}"))),
        }
        if class == Class::Output {
            for (enum_name, missing) in removed_symbols(&old, &current) {
                out.push(violation(
                    version,
                    format!("enum {enum_name} lost symbols {missing:?}; symbols are never removed"),
                ));
            }
        }
    }
    out
}

fn read(path: &Path) -> Result<String> {
    std::fs::read_to_string(path)
        .map_err(|e| Error::Schema { name: path.display().to_string(), reason: e.to_string() })
}

/// Enum symbols of `old` missing from the same-named enum of `current`.
fn removed_symbols(old: &Schema, current: &Schema) -> Vec<(String, Vec<String>)> {
    let (mut before, mut after) = (BTreeMap::new(), BTreeMap::new());
    enums(old, &mut before);
    enums(current, &mut after);
    before
        .into_iter()
        .filter_map(|(name, symbols)| {
            let now = after.get(&name)?;
            let missing: Vec<String> = symbols.into_iter().filter(|s| !now.contains(s)).collect();
            (!missing.is_empty()).then_some((name, missing))
        })
        .collect()
}

/// Collects every enum defined in `schema`: full name -> symbols.
pub(crate) fn enums(schema: &Schema, out: &mut BTreeMap<String, Vec<String>>) {
    match schema {
        Schema::Enum(e) => {
            out.insert(e.name.fullname(None), e.symbols.clone());
        }
        Schema::Record(r) => r.fields.iter().for_each(|f| enums(&f.schema, out)),
        Schema::Array(a) => enums(&a.items, out),
        Schema::Map(m) => enums(&m.types, out),
        Schema::Union(u) => u.variants().iter().for_each(|v| enums(v, out)),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn repo_schemas() -> std::path::PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../schemas")
    }

    fn current(name: &str) -> String {
        read(&repo_schemas().join(format!("{name}.avsc"))).expect("schema file")
    }

    fn v1(text: &str) -> Vec<(String, String)> {
        vec![("v1.avsc".to_owned(), text.to_owned())]
    }

    #[test]
    fn repository_schemas_respect_their_history() {
        let violations = check_dir(&repo_schemas()).expect("readable");
        assert!(violations.is_empty(), "{violations:#?}");
    }

    #[test]
    fn new_required_input_field_is_a_violation() {
        let old = current("finding");
        let broken = old.replacen(
            r#"{"name": "scan_id","#,
            r#"{"name": "region", "type": "string", "doc": "new, no default"},
    {"name": "scan_id","#,
            1,
        );
        assert_ne!(broken, old);
        let v = check_versions("finding", Class::Input, &broken, &v1(&old));
        assert_eq!(v.len(), 1, "{v:?}");
        assert!(v[0].reason.contains("region"), "{}", v[0]);
        // With a default, the same addition is fine.
        let fixed = broken.replace(r#""doc": "new, no default""#, r#""default": "", "doc": "d""#);
        assert!(check_versions("finding", Class::Input, &fixed, &v1(&old)).is_empty());
    }

    #[test]
    fn removed_input_enum_symbol_is_a_violation() {
        let old = current("finding");
        let broken = old.replace(r#"["OPEN", "FIXED"]"#, r#"["OPEN"]"#);
        assert_ne!(broken, old);
        assert_eq!(check_versions("finding", Class::Input, &broken, &v1(&old)).len(), 1);
    }

    #[test]
    fn output_enum_changes_are_violations() {
        let old = current("exposure");
        let added =
            old.replace(r#"["EMERGENCY", "STANDARD"]"#, r#"["EMERGENCY", "STANDARD", "DEFERRED"]"#);
        let removed = old.replace(r#"["EMERGENCY", "STANDARD"]"#, r#"["EMERGENCY"]"#);
        assert_ne!(added, old);
        for broken in [added, removed] {
            let v = check_versions("exposure", Class::Output, &broken, &v1(&old));
            assert_eq!(v.len(), 1, "{v:?}");
        }
    }

    #[test]
    fn removing_a_required_output_field_is_a_violation() {
        let old = current("model_snapshot");
        let broken = old.replace(r#"{"name": "bias", "type": "float", "doc": "Intercept."},"#, "");
        assert_ne!(broken, old);
        assert_eq!(check_versions("model_snapshot", Class::Output, &broken, &v1(&old)).len(), 1);
    }

    #[test]
    fn missing_history_and_unparsable_files_are_violations() {
        let text = current("advisory");
        assert_eq!(check_versions("advisory", Class::Input, &text, &[]).len(), 1);
        assert_eq!(check_versions("advisory", Class::Input, "{", &v1(&text)).len(), 1);
        assert_eq!(check_versions("advisory", Class::Input, &text, &v1("{")).len(), 1);
    }
}
