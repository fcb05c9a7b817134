//! CSV input: a header row naming a `content_id` column, as the team's ID lists come.

use super::{invalid_row, item_from_record, InputRow, ItemDefaults};
use crate::error::InvalidValue;
use serde_json::{Map, Value};
use std::cell::Cell;
use std::io::{self, BufRead, BufReader, Read};

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
    /// `None` only while a reader is being replaced.
    records: Option<csv::ByteRecordsIntoIter<RowLimit<R>>>,
    headers: Vec<String>,
    id_column: usize,
    name: String,
    defaults: ItemDefaults,
    /// Lines before the current CSV reader's first (readers are replaced after an over-long row).
    line_base: u64,
}

/// Hands a CSV reader at most `limit` bytes per row: past that (a runaway quoted field), it
/// skips to the next newline without keeping what it reads and returns an error, after which
/// reading goes on from the next line. [`RowLimit::new_row`] marks where a row starts; the
/// count is exact to within the CSV reader's read-ahead (8 KiB).
struct RowLimit<R> {
    inner: BufReader<R>,
    given: Cell<u64>,
    limit: u64,
    /// Newlines skipped over, for line numbers.
    skipped_lines: u64,
}

impl<R: Read> RowLimit<R> {
    fn new_row(&self) {
        self.given.set(0);
    }
}

impl<R: Read> Read for RowLimit<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.given.get() >= self.limit {
            loop {
                let chunk = self.inner.fill_buf()?;
                if chunk.is_empty() {
                    break;
                }
                if let Some(i) = chunk.iter().position(|&b| b == b'\n') {
                    self.inner.consume(i + 1);
                    break;
                }
                let n = chunk.len();
                self.inner.consume(n);
            }
            self.skipped_lines += 1;
            self.given.set(0);
            return Err(io::Error::new(io::ErrorKind::InvalidData, ROW_TOO_LONG));
        }
        let room = (self.limit - self.given.get()).min(buf.len() as u64) as usize;
        let n = self.inner.read(&mut buf[..room])?;
        self.given.set(self.given.get() + n as u64);
        Ok(n)
    }
}

/// The message of [`RowLimit`]'s error, to tell it from other I/O errors.
const ROW_TOO_LONG: &str = "row too long";

fn csv_reader<R: Read>(reader: R, has_headers: bool) -> csv::Reader<R> {
    csv::ReaderBuilder::new()
        .flexible(true)
        .has_headers(has_headers)
        .from_reader(reader)
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
        let limited = RowLimit {
            inner: BufReader::new(reader),
            given: Cell::new(0),
            limit: defaults.max_row_bytes as u64,
            skipped_lines: 0,
        };
        let mut csv_reader = csv_reader(limited, true);
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
            records: Some(csv_reader.into_byte_records()),
            headers,
            id_column,
            name,
            defaults,
            line_base: 0,
        })
    }
}

impl<R: io::Read> Iterator for CsvItems<R> {
    type Item = InputRow;

    fn next(&mut self) -> Option<InputRow> {
        let records = self.records.as_mut()?;
        let record = records.next()?;
        let line = self.line_base + records.reader().position().line();
        let origin = format!("{}:{}", self.name, line);
        records.reader().get_ref().new_row();
        let record = match record {
            Ok(r) => r,
            Err(err) => {
                let too_long =
                    matches!(err.kind(), csv::ErrorKind::Io(e) if e.to_string() == ROW_TOO_LONG);
                if too_long {
                    // The reader may be inside a quoted field that never ends: go on with a new
                    // one from the line after the skipped row.
                    let records = self.records.take()?;
                    let limited = records.into_reader().into_inner();
                    self.line_base = line + limited.skipped_lines;
                    self.records = Some(csv_reader(limited, false).into_byte_records());
                    return Some(invalid_row(
                        Map::new(),
                        origin,
                        format!(
                            "row longer than {} bytes (--max-row-bytes): skipped to the next line",
                            self.defaults.max_row_bytes
                        ),
                    ));
                }
                return Some(invalid_row(
                    Map::new(),
                    origin,
                    format!("bad CSV row ({err})"),
                ));
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
