//! CSV input: a header row naming a `content_id` column, as the team's ID lists come.

use super::{invalid_row, item_from_record, InputRow, ItemDefaults};
use crate::error::InvalidValue;
use serde_json::{Map, Value};
use std::io;

/// Removes exactly one matching pair of surrounding `'` or `"` from an ID, as the team's CSVs
/// carry them (`'7201…'`, or `"7201…"` after CSV unquoting). Nothing else is touched.
pub fn strip_id_quotes(id: &str) -> &str {
    let b = id.as_bytes();
    if b.len() >= 2 && (b[0] == b'\'' || b[0] == b'"') && b[b.len() - 1] == b[0] {
        &id[1..id.len() - 1]
    } else {
        id
    }
}

/// Streams a CSV with a header row naming a `content_id` column (any case) as items; the other
/// columns become string fields. IDs lose one pair of literal surrounding quotes
/// ([`strip_id_quotes`]) and stay strings. A UTF-8 BOM and CRLF line ends are accepted; a row
/// that is not UTF-8 or has no usable ID yields an [`InvalidRow`].
pub struct CsvItems<R: io::Read> {
    records: csv::ByteRecordsIntoIter<R>,
    headers: Vec<String>,
    id_column: usize,
    name: String,
    defaults: ItemDefaults,
}

impl<R: io::Read> CsvItems<R> {
    /// Reads the header of `reader`. An empty input yields no rows; a header without a
    /// `content_id` column is an error (the whole list is unusable).
    pub fn new(
        reader: R,
        name: impl Into<String>,
        defaults: ItemDefaults,
    ) -> Result<Self, InvalidValue> {
        let name = name.into();
        let mut csv_reader = csv::ReaderBuilder::new()
            .flexible(true)
            .has_headers(true)
            .from_reader(reader);
        let header = csv_reader
            .byte_headers()
            .map_err(|e| InvalidValue(format!("{name}: reading the CSV header: {e}")))?
            .clone();
        let headers: Vec<String> = header
            .iter()
            .map(|h| {
                String::from_utf8_lossy(h)
                    .trim_start_matches('\u{feff}')
                    .trim()
                    .to_string()
            })
            .collect();
        let id_column = if header.is_empty() {
            0
        } else {
            headers
                .iter()
                .position(|h| h.eq_ignore_ascii_case("content_id"))
                .ok_or_else(|| {
                    InvalidValue(format!(
                        "{name}: the CSV header has no content_id column (columns: {headers:?})"
                    ))
                })?
        };
        Ok(CsvItems {
            records: csv_reader.into_byte_records(),
            headers,
            id_column,
            name,
            defaults,
        })
    }
}

impl<R: io::Read> Iterator for CsvItems<R> {
    type Item = InputRow;

    fn next(&mut self) -> Option<InputRow> {
        let record = self.records.next()?;
        let line = self.records.reader().position().line();
        let origin = format!("{}:{}", self.name, line);
        let record = match record {
            Ok(r) => r,
            Err(err) => {
                return Some(invalid_row(
                    Map::new(),
                    origin,
                    format!("bad CSV row ({err})"),
                ))
            }
        };
        let mut fields = Map::new();
        for (i, raw) in record.iter().enumerate() {
            let key = self
                .headers
                .get(i)
                .cloned()
                .unwrap_or_else(|| format!("column_{i}"));
            match std::str::from_utf8(raw) {
                Ok(text) => {
                    fields.insert(key, Value::String(text.to_string()));
                }
                Err(err) => {
                    return Some(invalid_row(
                        fields,
                        origin,
                        format!("column {key:?} is not UTF-8 ({err})"),
                    ))
                }
            }
        }
        let id = fields
            .get(&self.headers[self.id_column])
            .and_then(Value::as_str)
            .map(|v| strip_id_quotes(v.trim()).trim().to_string())
            .unwrap_or_default();
        fields.insert("content_id".into(), Value::String(id));
        Some(item_from_record(fields, origin, &self.defaults))
    }
}
