//! A minimal RFC 4180 CSV reader, enough for the feed files (no dependency on a CSV crate).
//!
//! Invariant: every byte of the input belongs to exactly one field or separator. Fields may be
//! quoted; inside quotes, `""` is a literal quote and commas and line breaks are data. Records end
//! at `\n`, `\r\n` or `\r` outside quotes. A record's `line` is the 1-based line where it starts,
//! counting line breaks inside quoted fields. Blank lines are skipped; a leading UTF-8 byte order
//! mark is ignored. Malformed input (an unterminated quote, text after a closing quote) is an error,
//! never a silently shifted row.

use super::FeedError;
use std::borrow::Cow;

/// One CSV record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Record<'a> {
    /// 1-based line where the record starts.
    pub line: usize,
    /// Field values, unquoted.
    pub fields: Vec<Cow<'a, str>>,
}

/// Iterator over the records of a CSV text.
pub(crate) struct Records<'a> {
    rest: &'a str,
    line: usize,
    feed: &'static str,
}

/// Reads `text` as CSV; errors name `feed`.
pub(crate) fn records<'a>(text: &'a str, feed: &'static str) -> Records<'a> {
    Records { rest: text.strip_prefix('\u{feff}').unwrap_or(text), line: 1, feed }
}

impl<'a> Records<'a> {
    /// Reads one quoted field; `self.rest` starts just after the opening quote.
    fn quoted_field(&mut self, start_line: usize) -> Result<Cow<'a, str>, FeedError> {
        let mut value = String::new();
        loop {
            let Some(quote) = self.rest.find('"') else {
                return Err(FeedError::malformed(
                    self.feed,
                    start_line,
                    "unterminated quoted field",
                ));
            };
            let chunk = &self.rest[..quote];
            self.line += count_line_breaks(chunk);
            value.push_str(chunk);
            self.rest = &self.rest[quote + 1..];
            match self.rest.strip_prefix('"') {
                Some(after) => {
                    value.push('"');
                    self.rest = after;
                }
                None => return Ok(Cow::Owned(value)),
            }
        }
    }

    fn next_record(&mut self) -> Result<Record<'a>, FeedError> {
        let line = self.line;
        let mut fields = Vec::new();
        loop {
            let field = match self.rest.strip_prefix('"') {
                Some(after) => {
                    self.rest = after;
                    self.quoted_field(line)?
                }
                None => {
                    let end = self.rest.find([',', '\n', '\r']).unwrap_or(self.rest.len());
                    let (field, rest) = self.rest.split_at(end);
                    self.rest = rest;
                    Cow::Borrowed(field)
                }
            };
            fields.push(field);
            if let Some(rest) = self.rest.strip_prefix(',') {
                self.rest = rest;
                continue;
            }
            let terminator = if self.rest.starts_with("\r\n") {
                2
            } else if self.rest.starts_with(['\n', '\r']) {
                1
            } else if self.rest.is_empty() {
                0
            } else {
                return Err(FeedError::malformed(
                    self.feed,
                    self.line,
                    "unexpected text after a closing quote",
                ));
            };
            self.rest = &self.rest[terminator..];
            if terminator > 0 {
                self.line += 1;
            }
            return Ok(Record { line, fields });
        }
    }
}

/// Number of line breaks (`\n`, `\r\n` or lone `\r`) in `text`.
fn count_line_breaks(text: &str) -> usize {
    let bytes = text.as_bytes();
    bytes
        .iter()
        .enumerate()
        .filter(|&(i, &b)| b == b'\n' || (b == b'\r' && bytes.get(i + 1) != Some(&b'\n')))
        .count()
}

impl<'a> Iterator for Records<'a> {
    type Item = Result<Record<'a>, FeedError>;

    fn next(&mut self) -> Option<Self::Item> {
        loop {
            if self.rest.is_empty() {
                return None;
            }
            let record = match self.next_record() {
                Ok(record) => record,
                Err(err) => {
                    self.rest = ""; // stop after the first error
                    return Some(Err(err));
                }
            };
            let blank = record.fields.len() == 1 && record.fields[0].is_empty();
            if !blank {
                return Some(Ok(record));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Vec<(usize, Vec<String>)> {
        records(text, "test")
            .map(|r| r.map(|r| (r.line, r.fields.iter().map(|f| f.to_string()).collect())))
            .collect::<Result<_, _>>()
            .unwrap()
    }

    fn strings(fields: &[&str]) -> Vec<String> {
        fields.iter().map(|f| f.to_string()).collect()
    }

    #[test]
    fn plain_records_and_line_endings() {
        let rows = parse("a,b,c\r\n1,,3\n\n4,5,6\r7,8,9");
        assert_eq!(
            rows,
            vec![
                (1, strings(&["a", "b", "c"])),
                (2, strings(&["1", "", "3"])),
                (4, strings(&["4", "5", "6"])),
                (5, strings(&["7", "8", "9"])),
            ]
        );
    }

    #[test]
    fn quoted_fields_keep_commas_quotes_and_line_breaks() {
        let text = "\u{feff}id,vendor,product\nCVE-1,\"Recruit Co., Ltd.\",\"\"\"Rikunabi NEXT\"\" App\"\n\
                    CVE-2,AMD,\"Ryzen \u{201c}Matisse\"\"\"\r\nCVE-3,\"two\nlines\",\"\"\nCVE-4,x,y\n";
        let rows = parse(text);
        assert_eq!(rows[0], (1, strings(&["id", "vendor", "product"])));
        assert_eq!(rows[1], (2, strings(&["CVE-1", "Recruit Co., Ltd.", "\"Rikunabi NEXT\" App"])));
        assert_eq!(rows[2], (3, strings(&["CVE-2", "AMD", "Ryzen \u{201c}Matisse\""])));
        assert_eq!(rows[3], (4, strings(&["CVE-3", "two\nlines", ""])));
        assert_eq!(rows[4], (6, strings(&["CVE-4", "x", "y"])));
        assert_eq!(rows.len(), 5);
    }

    #[test]
    fn trailing_empty_field_is_kept() {
        assert_eq!(parse("a,\n"), vec![(1, strings(&["a", ""]))]);
    }

    #[test]
    fn malformed_quotes_are_errors_with_line_numbers() {
        let err = records("a,b\n1,\"open\n", "test").nth(1).unwrap().unwrap_err();
        assert_eq!(err.to_string(), "test, line 2: unterminated quoted field");
        let err = records("a\n\"x\"y,z\n", "test").nth(1).unwrap().unwrap_err();
        assert!(err.to_string().starts_with("test, line 2: unexpected text"));
        let mut it = records("\"x\"y\nok\n", "test");
        assert!(it.next().unwrap().is_err());
        assert!(it.next().is_none());
    }
}
