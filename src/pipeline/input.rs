/*!
Stage ①: input lists → items.

Items come from paths on the command line (a file, or a directory's video files; the content ID is
the file stem) and from JSONL records that carry `content_id` and `video_url`. Everything is
streamed: an input of a million lines is read one line at a time. A row that cannot become an
item is not dropped: it becomes an [`InvalidRow`], which the pipeline turns into an error record.
*/

use crate::error::{ErrorKind, ItemError};
use serde_json::{Map, Value};
use std::fs;
use std::io::{self, BufRead};
use std::path::{Path, PathBuf};

/// Longest content ID accepted, in bytes.
pub const MAX_CONTENT_ID_BYTES: usize = 1024;
/// Longest input line accepted, in bytes.
pub const MAX_LINE_BYTES: usize = 1 << 20;

/// File extensions taken when a directory is given as input (case-insensitive).
pub const VIDEO_EXTENSIONS: &[&str] = &[
    "mp4", "m4v", "mov", "mkv", "webm", "avi", "flv", "ts", "mts", "m2ts", "3gp", "3g2", "mpg",
    "mpeg", "ogv", "wmv", "asf",
];

/// One video to extract: its ID, where it is, and the input record it came with.
#[derive(Debug, Clone, PartialEq)]
pub struct Item {
    /// The content ID, a string (never a number: 19-digit IDs must survive).
    pub content_id: String,
    /// Where the video is: a local path or a URL.
    pub video_url: String,
    /// The input record, passed through to the output record unchanged.
    pub fields: Map<String, Value>,
    /// Where the item came from (`items.jsonl:7`, or the path), for messages.
    pub origin: String,
}

/// A row of the input that is not a usable item, with why.
#[derive(Debug, Clone, PartialEq)]
pub struct InvalidRow {
    /// Whatever fields could be read from the row (empty if it was not JSON).
    pub fields: Map<String, Value>,
    /// Where the row is (`items.jsonl:7`).
    pub origin: String,
    /// Why it is unusable.
    pub error: ItemError,
}

/// One row of input: an item, or a row that must still get an (error) record.
pub type InputRow = Result<Item, Box<InvalidRow>>;

/// Does `path` look like a video file by its extension?
pub fn has_video_extension(path: &Path) -> bool {
    path.extension()
        .and_then(|e| e.to_str())
        .map(|e| VIDEO_EXTENSIONS.iter().any(|v| v.eq_ignore_ascii_case(e)))
        .unwrap_or(false)
}

/// Items for paths given as arguments: a file is taken as it is; a directory contributes its
/// video files (by extension, not recursive, sorted by name). The content ID is the file stem.
pub fn items_from_paths(paths: &[PathBuf]) -> impl Iterator<Item = InputRow> + '_ {
    paths.iter().flat_map(|path| {
        let rows: Vec<InputRow> = if path.is_dir() {
            match list_video_files(path) {
                Ok(files) => files.into_iter().map(|f| Ok(item_for_path(&f))).collect(),
                Err(err) => vec![Err(Box::new(InvalidRow {
                    fields: Map::new(),
                    origin: path.display().to_string(),
                    error: ItemError::new(
                        ErrorKind::Io,
                        format!("cannot list directory {}: {err}", path.display()),
                    ),
                }))],
            }
        } else {
            vec![Ok(item_for_path(path))]
        };
        rows
    })
}

fn list_video_files(dir: &Path) -> io::Result<Vec<PathBuf>> {
    let mut files = Vec::new();
    for entry in fs::read_dir(dir)? {
        let path = entry?.path();
        let hidden = path
            .file_name()
            .and_then(|n| n.to_str())
            .is_some_and(|n| n.starts_with('.'));
        if !hidden && path.is_file() && has_video_extension(&path) {
            files.push(path);
        }
    }
    files.sort();
    Ok(files)
}

fn item_for_path(path: &Path) -> Item {
    let content_id = path
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_else(|| path.display().to_string());
    let video_url = path.display().to_string();
    let mut fields = Map::new();
    fields.insert("content_id".into(), Value::String(content_id.clone()));
    fields.insert("video_url".into(), Value::String(video_url.clone()));
    Item {
        content_id,
        video_url,
        fields,
        origin: path.display().to_string(),
    }
}

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
}

impl<R: BufRead> JsonLines<R> {
    /// Reads from `reader`.
    pub fn new(reader: R) -> Self {
        JsonLines {
            reader,
            line_no: 0,
            buf: Vec::new(),
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
            let n = io::Read::take(&mut self.reader, MAX_LINE_BYTES as u64 + 1)
                .read_until(b'\n', &mut self.buf)?;
            if n == 0 {
                return Ok(None);
            }
            self.line_no += 1;
            let invalid = |why: String, value: Value| JsonLine::Invalid { why, value };
            if self.buf.len() > MAX_LINE_BYTES && !self.buf.ends_with(b"\n") {
                // Skip the rest of the oversized line so the next row starts cleanly.
                let mut rest = Vec::new();
                self.reader.read_until(b'\n', &mut rest)?;
                return Ok(Some((
                    self.line_no,
                    invalid(
                        format!("line longer than {MAX_LINE_BYTES} bytes"),
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
            lines: JsonLines::new(reader),
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

/// Turns one input record into an item, checking its `content_id` and `video_url` (made from
/// the template in `defaults` when the record has none).
pub fn item_from_record(
    mut fields: Map<String, Value>,
    origin: String,
    defaults: &ItemDefaults,
) -> InputRow {
    let content_id = match fields.get("content_id").map(content_id_text) {
        Some(Ok(id)) => id,
        Some(Err(why)) => return invalid_row(fields, origin, why),
        None => return invalid_row(fields, origin, "no content_id".into()),
    };
    let video_url = match fields.get("video_url").cloned() {
        Some(Value::String(url)) if !url.trim().is_empty() => url.trim().to_string(),
        Some(Value::String(_)) | Some(Value::Null) | None => {
            let Some(template) = &defaults.video_url_template else {
                return invalid_row(
                    fields,
                    origin,
                    "no video_url (or give --video-url-template)".into(),
                );
            };
            let platform = match fields.get("platform") {
                Some(Value::String(p)) if !p.trim().is_empty() => p.trim().to_string(),
                _ => defaults.platform.clone(),
            };
            match template.render(&content_id, &platform) {
                Ok(url) => {
                    // The record says where the video came from.
                    fields.insert("video_url".into(), Value::String(url.clone()));
                    url
                }
                Err(why) => return invalid_row(fields, origin, why),
            }
        }
        Some(other) => {
            return invalid_row(
                fields,
                origin,
                format!("video_url is not a string: {other}"),
            )
        }
    };
    Ok(Item {
        content_id,
        video_url,
        fields,
        origin,
    })
}

fn invalid_row(fields: Map<String, Value>, origin: String, why: String) -> InputRow {
    let message = format!("{origin}: {why}");
    Err(Box::new(InvalidRow {
        fields,
        origin,
        error: ItemError::new(ErrorKind::InvalidInput, message),
    }))
}

/// The text of a `content_id` value: a non-empty string, or an integer written as its digits.
pub fn content_id_text(value: &Value) -> Result<String, String> {
    let text = match value {
        Value::String(s) => s.trim().to_string(),
        Value::Number(n) if n.is_u64() || n.is_i64() => n.to_string(),
        other => return Err(format!("content_id is not a string: {other}")),
    };
    if text.is_empty() {
        return Err("content_id is empty".into());
    }
    if text.len() > MAX_CONTENT_ID_BYTES {
        return Err(format!(
            "content_id is {} bytes long (at most {MAX_CONTENT_ID_BYTES})",
            text.len()
        ));
    }
    if text.chars().any(char::is_control) {
        return Err(format!("content_id contains control characters: {text:?}"));
    }
    Ok(text)
}

/// What items fall back on when their record lacks something.
#[derive(Debug, Clone, Default)]
pub struct ItemDefaults {
    /// Builds `video_url` for records that only carry an ID.
    pub video_url_template: Option<UrlTemplate>,
    /// The platform for `{platform}` when a record has none.
    pub platform: String,
}

/// A `video_url` template such as `s3://bucket/videos/{content_id}.mp4`.
///
/// Placeholders: `{content_id}` (required) and `{platform}`. In a URL (`scheme://…`) the values
/// are percent-encoded (everything but `A-Z a-z 0-9 - _ ~`, so `/`, `?`, `#`, `.` cannot change
/// the URL's shape); in a local path template a value with `/`, `\\` or NUL, or one that is `.`
/// or `..`, is refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UrlTemplate {
    text: String,
    is_url: bool,
}

const URL_VALUE: &percent_encoding::AsciiSet = &percent_encoding::NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'_')
    .remove(b'~');

impl UrlTemplate {
    /// Checks a template: it must contain `{content_id}` and no other placeholder than
    /// `{platform}`.
    pub fn parse(text: &str) -> Result<UrlTemplate, String> {
        if !text.contains("{content_id}") {
            return Err(format!(
                "--video-url-template must contain {{content_id}}: {text:?}"
            ));
        }
        let rest = text.replace("{content_id}", "").replace("{platform}", "");
        if rest.contains('{') || rest.contains('}') {
            return Err(format!(
                "--video-url-template knows only {{content_id}} and {{platform}}: {text:?}"
            ));
        }
        Ok(UrlTemplate {
            text: text.to_string(),
            is_url: text.contains("://"),
        })
    }

    /// The URL for `content_id` on `platform`.
    pub fn render(&self, content_id: &str, platform: &str) -> Result<String, String> {
        let encode = |value: &str, what: &str| -> Result<String, String> {
            if value.is_empty() || value.chars().all(|c| c == '.') {
                return Err(format!("{what} {value:?} cannot go into a video URL"));
            }
            if self.is_url {
                Ok(percent_encoding::utf8_percent_encode(value, URL_VALUE).to_string())
            } else if value.contains(['/', '\\', '\0']) {
                Err(format!("{what} {value:?} cannot go into a path template"))
            } else {
                Ok(value.to_string())
            }
        };
        let id = encode(content_id, "content_id")?;
        let mut out = self.text.replace("{content_id}", &id);
        if out.contains("{platform}") {
            out = out.replace("{platform}", &encode(platform, "platform")?);
        }
        Ok(out)
    }
}

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
    pub fn new(reader: R, name: impl Into<String>, defaults: ItemDefaults) -> Result<Self, String> {
        let name = name.into();
        let mut csv_reader = csv::ReaderBuilder::new()
            .flexible(true)
            .has_headers(true)
            .from_reader(reader);
        let header = csv_reader
            .byte_headers()
            .map_err(|e| format!("{name}: reading the CSV header: {e}"))?
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
                    format!(
                        "{name}: the CSV header has no content_id column (columns: {headers:?})"
                    )
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

/// One shard of an input, for array jobs (Kubernetes Indexed Jobs, AWS Batch array jobs, Slurm
/// job arrays): shard `index` of `count` owns the rows whose content ID hashes to `index`, so
/// `count` jobs reading the same list split it with no coordination, and each job's records and
/// resume are its own.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Shard {
    /// This job's shard, `0..count`.
    pub index: u32,
    /// How many shards.
    pub count: u32,
}

impl Shard {
    /// Parses `INDEX/COUNT` (`3/16`).
    pub fn parse(text: &str) -> Result<Shard, String> {
        let (index, count) = text
            .split_once('/')
            .ok_or_else(|| format!("--shard {text:?}: expected INDEX/COUNT, e.g. 3/16"))?;
        let parse = |t: &str| {
            t.trim()
                .parse::<u32>()
                .map_err(|_| format!("--shard {text:?}: not a number: {t:?}"))
        };
        let (index, count) = (parse(index)?, parse(count)?);
        if count == 0 || index >= count {
            return Err(format!("--shard {text:?}: need 0 <= INDEX < COUNT"));
        }
        Ok(Shard { index, count })
    }

    /// Does this shard own `row`? Items go by content ID; unusable rows by their origin
    /// (`list.jsonl:7`), so each still gets exactly one record across all shards.
    pub fn owns(&self, row: &InputRow) -> bool {
        let key = match row {
            Ok(item) => item.content_id.as_bytes(),
            Err(invalid) => invalid.origin.as_bytes(),
        };
        let hash = blake3::hash(key);
        let first = u64::from_le_bytes(hash.as_bytes()[..8].try_into().expect("8 bytes"));
        first % u64::from(self.count) == u64::from(self.index)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rows(text: &str) -> Vec<InputRow> {
        JsonlItems::new(text.as_bytes(), "t.jsonl", ItemDefaults::default()).collect()
    }

    #[test]
    fn jsonl_keeps_fields_and_reports_bad_rows() {
        let out = rows(
            "{\"content_id\":\"7201234567890123456\",\"video_url\":\"a.mp4\",\"x\":1}\n\
             \n\
             not json\n\
             {\"video_url\":\"b.mp4\"}\r\n\
             {\"content_id\":7201234567890123456,\"video_url\":\"c.mp4\"}",
        );
        assert_eq!(out.len(), 4);
        let first = out[0].as_ref().unwrap();
        assert_eq!(first.content_id, "7201234567890123456");
        assert_eq!(first.fields["x"], 1);
        let bad = out[1].as_ref().unwrap_err();
        assert_eq!(bad.origin, "t.jsonl:3");
        assert_eq!(bad.error.kind, ErrorKind::InvalidInput);
        let missing = out[2].as_ref().unwrap_err();
        assert!(missing.error.message.contains("no content_id"));
        assert_eq!(missing.fields["video_url"], "b.mp4");
        assert_eq!(out[3].as_ref().unwrap().content_id, "7201234567890123456");
    }

    #[test]
    fn non_utf8_line_is_an_invalid_row_and_reading_goes_on() {
        let mut bytes = b"\xff\xfe bad\n".to_vec();
        bytes.extend_from_slice(b"{\"content_id\":\"a\",\"video_url\":\"a.mp4\"}\n");
        let out: Vec<_> = JsonlItems::new(&bytes[..], "t", ItemDefaults::default()).collect();
        assert_eq!(out.len(), 2);
        assert!(out[0].is_err());
        assert_eq!(out[1].as_ref().unwrap().content_id, "a");
    }

    fn csv_rows(bytes: &[u8], template: Option<&str>) -> Vec<InputRow> {
        let defaults = ItemDefaults {
            video_url_template: template.map(|t| UrlTemplate::parse(t).unwrap()),
            platform: "tiktok".into(),
        };
        CsvItems::new(bytes, "ids.csv", defaults).unwrap().collect()
    }

    #[test]
    fn csv_ids_lose_exactly_one_pair_of_literal_quotes() {
        let text = "\u{feff}Content_ID,note\r\n\
                    '7201234567890123456',a\r\n\
                    \"\"\"7201234567890123457\"\"\",b\r\n\
                    7201234567890123458,c\r\n\
                    \"''7201234567890123459''\",d\r\n\
                    '7201234567890123460\",e\r\n\
                    ,f\r\n";
        let rows = csv_rows(text.as_bytes(), Some("s3://b/v/{content_id}.mp4"));
        let ids: Vec<Result<String, String>> = rows
            .iter()
            .map(|r| {
                r.as_ref()
                    .map(|i| i.content_id.clone())
                    .map_err(|e| e.error.message.clone())
            })
            .collect();
        assert_eq!(ids[0], Ok("7201234567890123456".into()));
        assert_eq!(ids[1], Ok("7201234567890123457".into()));
        assert_eq!(ids[2], Ok("7201234567890123458".into()));
        assert_eq!(ids[3], Ok("'7201234567890123459'".into()));
        assert_eq!(ids[4], Ok("'7201234567890123460\"".into()));
        assert!(
            ids[5].as_ref().unwrap_err().contains("content_id is empty"),
            "{:?}",
            ids[5]
        );
        let first = rows[0].as_ref().unwrap();
        assert_eq!(first.video_url, "s3://b/v/7201234567890123456.mp4");
        assert_eq!(first.fields["note"], "a");
        assert_eq!(first.origin, "ids.csv:2");
    }

    #[test]
    fn csv_edge_cases() {
        assert!(csv_rows(b"", None).is_empty());
        assert!(csv_rows(b"content_id\n", None).is_empty());
        assert!(CsvItems::new(&b"id,x\n1,2\n"[..], "x.csv", ItemDefaults::default()).is_err());
        let rows = csv_rows(b"content_id\n\xff\xfe\n42\n", Some("/v/{content_id}.mp4"));
        assert_eq!(rows.len(), 2);
        assert_eq!(
            rows[0].as_ref().unwrap_err().error.kind,
            ErrorKind::InvalidInput
        );
        assert_eq!(rows[1].as_ref().unwrap().video_url, "/v/42.mp4");
        // without a template an ID-only row has no video_url
        let rows = csv_rows(b"content_id\n42\n", None);
        assert!(rows[0]
            .as_ref()
            .unwrap_err()
            .error
            .message
            .contains("--video-url-template"));
    }

    #[test]
    fn templates_encode_ids_in_urls_and_refuse_them_in_paths() {
        let url = UrlTemplate::parse("https://h/{platform}/{content_id}.mp4").unwrap();
        assert_eq!(
            url.render("a/b?c#d e", "tik tok").unwrap(),
            "https://h/tik%20tok/a%2Fb%3Fc%23d%20e.mp4"
        );
        assert_eq!(url.render("a.b", "t").unwrap(), "https://h/t/a%2Eb.mp4");
        assert!(url.render("..", "t").is_err());
        let path = UrlTemplate::parse("/videos/{content_id}.mp4").unwrap();
        assert!(path.render("../etc/passwd", "t").is_err());
        assert_eq!(path.render("72", "t").unwrap(), "/videos/72.mp4");
        assert!(UrlTemplate::parse("/videos/x.mp4").is_err());
        assert!(UrlTemplate::parse("/v/{id}/{content_id}").is_err());
    }

    #[test]
    fn video_extensions_are_case_insensitive() {
        assert!(has_video_extension(Path::new("a/B.MP4")));
        assert!(has_video_extension(Path::new("x.webm")));
        assert!(!has_video_extension(Path::new("LICENSES.md")));
    }

    #[test]
    fn shards_split_every_row_exactly_once() {
        let rows: Vec<InputRow> = (0..1000)
            .map(|i| {
                Ok(Item {
                    content_id: format!("7{i:018}"),
                    video_url: String::new(),
                    fields: Map::new(),
                    origin: String::new(),
                })
            })
            .collect();
        let shards: Vec<Shard> = (0..4).map(|i| Shard { index: i, count: 4 }).collect();
        let mut sizes = [0usize; 4];
        for row in &rows {
            let owners: Vec<usize> = (0..4).filter(|&s| shards[s].owns(row)).collect();
            assert_eq!(owners.len(), 1);
            sizes[owners[0]] += 1;
        }
        assert!(sizes.iter().all(|&n| n > 200), "{sizes:?}");
        assert_eq!(
            Shard::parse("3/16").unwrap(),
            Shard {
                index: 3,
                count: 16
            }
        );
        for bad in ["16/16", "1/0", "x/2", "3"] {
            assert!(Shard::parse(bad).is_err(), "{bad}");
        }
    }
}
