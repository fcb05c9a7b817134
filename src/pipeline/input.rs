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

/// Streams JSONL records as items. `name` labels rows in messages (`name:LINE`).
///
/// Blank lines are skipped; every other line yields one row. A line that is not a JSON object,
/// not UTF-8, too long, or lacks a usable `content_id`/`video_url` yields an [`InvalidRow`].
pub struct JsonlItems<R> {
    reader: R,
    name: String,
    line_no: u64,
    buf: Vec<u8>,
}

impl<R: BufRead> JsonlItems<R> {
    /// Reads JSONL from `reader`; `name` is used in messages.
    pub fn new(reader: R, name: impl Into<String>) -> Self {
        JsonlItems {
            reader,
            name: name.into(),
            line_no: 0,
            buf: Vec::new(),
        }
    }
}

impl<R: BufRead> Iterator for JsonlItems<R> {
    type Item = InputRow;

    fn next(&mut self) -> Option<InputRow> {
        loop {
            self.buf.clear();
            self.line_no += 1;
            let origin = format!("{}:{}", self.name, self.line_no);
            let invalid = |fields, msg: String| {
                Some(Err(Box::new(InvalidRow {
                    fields,
                    origin: origin.clone(),
                    error: ItemError::new(ErrorKind::InvalidInput, msg),
                })))
            };
            let read = io::Read::take(&mut self.reader, MAX_LINE_BYTES as u64 + 1)
                .read_until(b'\n', &mut self.buf);
            match read {
                Ok(0) => return None,
                Ok(_) => {}
                Err(err) => return invalid(Map::new(), format!("reading {origin}: {err}")),
            }
            if self.buf.len() > MAX_LINE_BYTES && !self.buf.ends_with(b"\n") {
                // Skip the rest of the oversized line so the next row starts cleanly.
                let mut sink = Vec::new();
                let _ = self.reader.read_until(b'\n', &mut sink);
                return invalid(
                    Map::new(),
                    format!("{origin}: line longer than {MAX_LINE_BYTES} bytes"),
                );
            }
            let text = match std::str::from_utf8(&self.buf) {
                Ok(text) => text.trim_start_matches('\u{feff}').trim(),
                Err(err) => return invalid(Map::new(), format!("{origin}: not UTF-8 ({err})")),
            };
            if text.is_empty() {
                continue;
            }
            let fields = match serde_json::from_str::<Value>(text) {
                Ok(Value::Object(map)) => map,
                Ok(_) => return invalid(Map::new(), format!("{origin}: not a JSON object")),
                Err(err) => return invalid(Map::new(), format!("{origin}: invalid JSON ({err})")),
            };
            return Some(item_from_record(fields, origin));
        }
    }
}

/// Turns one input record into an item, checking its `content_id` and `video_url`.
pub fn item_from_record(fields: Map<String, Value>, origin: String) -> InputRow {
    let content_id = match fields.get("content_id").map(content_id_text) {
        Some(Ok(id)) => id,
        Some(Err(why)) => return invalid_row(fields, origin, why),
        None => return invalid_row(fields, origin, "no content_id".into()),
    };
    let video_url = match fields.get("video_url").cloned() {
        Some(Value::String(url)) if !url.trim().is_empty() => url.trim().to_string(),
        Some(Value::String(_)) | Some(Value::Null) | None => {
            return invalid_row(fields, origin, "no video_url".into())
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

#[cfg(test)]
mod tests {
    use super::*;

    fn rows(text: &str) -> Vec<InputRow> {
        JsonlItems::new(text.as_bytes(), "t.jsonl").collect()
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
        let out: Vec<_> = JsonlItems::new(&bytes[..], "t").collect();
        assert_eq!(out.len(), 2);
        assert!(out[0].is_err());
        assert_eq!(out[1].as_ref().unwrap().content_id, "a");
    }

    #[test]
    fn video_extensions_are_case_insensitive() {
        assert!(has_video_extension(Path::new("a/B.MP4")));
        assert!(has_video_extension(Path::new("x.webm")));
        assert!(!has_video_extension(Path::new("LICENSES.md")));
    }
}
