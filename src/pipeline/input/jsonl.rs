//! JSON-lines input: records with `content_id` and `video_url`, read one line at a time.

use super::{invalid_row, item_from_record, InputRow, ItemDefaults, MAX_LINE_BYTES};
use serde_json::{Map, Value};
use std::io::{self, BufRead};

/// One non-blank line of a JSON-lines input.
#[derive(Debug, Clone, PartialEq)]
pub enum JsonLine {
    /// A JSON object.
    Object(Map<String, Value>),
    /// Anything else: why, and the JSON value the line held (`Null` when it was not JSON).
    Invalid {
        /// What is wrong with the line.
        why: String,
        /// The value, when the line was JSON but not an object.
        value: Value,
    },
}

/// Reads JSON lines as raw bytes: lines are numbered from 1 (blank ones counted, then skipped),
/// CRLF endings and a UTF-8 BOM at the start of a line are accepted, and a line that is not UTF-8,
/// not JSON, not an object or longer than [`MAX_LINE_BYTES`] is a [`JsonLine::Invalid`] row like
/// any other, never an error. Only I/O errors are errors.
pub struct JsonLines<R> {
    reader: R,
    line_no: u64,
    buf: Vec<u8>,
    max_line_bytes: usize,
}

/// Consumes `reader` up to and including the next newline without keeping what it reads, so a
/// line of any length costs no memory to skip.
fn skip_line(reader: &mut impl BufRead) -> io::Result<()> {
    loop {
        let chunk = reader.fill_buf()?;
        if chunk.is_empty() {
            return Ok(());
        }
        match chunk.iter().position(|&b| b == b'\n') {
            Some(i) => {
                reader.consume(i + 1);
                return Ok(());
            }
            None => {
                let n = chunk.len();
                reader.consume(n);
            }
        }
    }
}

impl<R: BufRead> JsonLines<R> {
    /// Reads from `reader`, with lines of at most [`MAX_LINE_BYTES`].
    pub fn new(reader: R) -> Self {
        JsonLines::with_limit(reader, MAX_LINE_BYTES)
    }

    /// Reads from `reader`; a line longer than `max_line_bytes` is skipped without being held in
    /// memory and becomes an invalid row.
    pub fn with_limit(reader: R, max_line_bytes: usize) -> Self {
        JsonLines {
            reader,
            line_no: 0,
            buf: Vec::new(),
            max_line_bytes,
        }
    }

    /// The number of the last line read.
    pub fn line_no(&self) -> u64 {
        self.line_no
    }

    /// The next non-blank line with its number, or `None` at the end.
    pub fn next_line(&mut self) -> io::Result<Option<(u64, JsonLine)>> {
        loop {
            self.buf.clear();
            let n = io::Read::take(&mut self.reader, self.max_line_bytes as u64 + 1)
                .read_until(b'\n', &mut self.buf)?;
            if n == 0 {
                return Ok(None);
            }
            self.line_no += 1;
            let invalid = |why: String, value: Value| JsonLine::Invalid { why, value };
            if self.buf.len() > self.max_line_bytes && !self.buf.ends_with(b"\n") {
                // Skip the rest of the oversized line so the next row starts cleanly.
                skip_line(&mut self.reader)?;
                self.buf = Vec::new();
                return Ok(Some((
                    self.line_no,
                    invalid(
                        format!(
                            "line longer than {} bytes (--max-row-bytes): skipped",
                            self.max_line_bytes
                        ),
                        Value::Null,
                    ),
                )));
            }
            let bytes = self.buf.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(&self.buf);
            if bytes.iter().all(u8::is_ascii_whitespace) {
                continue;
            }
            let line = match std::str::from_utf8(bytes) {
                Err(err) => invalid(format!("not UTF-8 ({err})"), Value::Null),
                Ok(text) => match serde_json::from_str::<Value>(text.trim()) {
                    Ok(Value::Object(map)) => JsonLine::Object(map),
                    Ok(other) => {
                        invalid(format!("not a JSON object: {}", json_kind(&other)), other)
                    }
                    Err(err) => invalid(format!("invalid JSON ({err})"), Value::Null),
                },
            };
            return Ok(Some((self.line_no, line)));
        }
    }
}

/// What kind of JSON value `value` is, for messages ("an array").
pub fn json_kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// Streams JSONL records as items. `name` labels rows in messages (`name:LINE`).
///
/// Blank lines are skipped; every other line yields one row. A line that [`JsonLines`] calls
/// invalid, or a record without a usable `content_id`/`video_url`, yields an [`InvalidRow`]. An
/// I/O error yields one invalid row and ends the stream.
pub struct JsonlItems<R> {
    lines: JsonLines<R>,
    name: String,
    defaults: ItemDefaults,
    failed: bool,
}

impl<R: BufRead> JsonlItems<R> {
    /// Reads JSONL from `reader`; `name` is used in messages.
    pub fn new(reader: R, name: impl Into<String>, defaults: ItemDefaults) -> Self {
        JsonlItems {
            lines: JsonLines::with_limit(reader, defaults.max_row_bytes),
            name: name.into(),
            defaults,
            failed: false,
        }
    }
}

impl<R: BufRead> Iterator for JsonlItems<R> {
    type Item = InputRow;

    fn next(&mut self) -> Option<InputRow> {
        if self.failed {
            return None;
        }
        match self.lines.next_line() {
            Ok(None) => None,
            Ok(Some((line, JsonLine::Object(fields)))) => Some(item_from_record(
                fields,
                format!("{}:{line}", self.name),
                &self.defaults,
            )),
            Ok(Some((line, JsonLine::Invalid { why, .. }))) => Some(invalid_row(
                Map::new(),
                format!("{}:{line}", self.name),
                why,
            )),
            Err(err) => {
                self.failed = true;
                let origin = format!("{}:{}", self.name, self.lines.line_no() + 1);
                Some(invalid_row(
                    Map::new(),
                    origin,
                    format!("read error: {err}"),
                ))
            }
        }
    }
}
