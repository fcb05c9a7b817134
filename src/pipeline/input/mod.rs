/*!
Stage ①: input lists → items.

Items come from paths on the command line (a file, or a directory's video files; the content ID is
the file stem) and from JSONL records that carry `content_id` and `video_url`. Everything is
streamed: an input of a million lines is read one line at a time. A row that cannot become an
item is not dropped: it becomes an [`InvalidRow`], which the pipeline turns into an error record.
*/

mod csv;
mod jsonl;
pub mod open;
mod paths;
mod shard;
mod template;

pub use self::csv::{strip_id_quotes, CsvItems};
pub use jsonl::{json_kind, JsonLine, JsonLines, JsonlItems};
pub use open::{open_rows, InputSpec, ListFormat};
pub use paths::{has_video_extension, items_from_paths, VIDEO_EXTENSIONS};
pub use shard::Shard;
pub use template::UrlTemplate;

use crate::error::{ErrorKind, InvalidValue, ItemError};
use serde_json::{Map, Value};
use std::fmt::Display;

/// Longest content ID accepted, in bytes. Keys stay short whatever the ID: a segment longer than
/// the store allows becomes a readable prefix plus a blake3 suffix ([`crate::files::safe_segment`]).
pub const MAX_CONTENT_ID_BYTES: usize = 64 << 10;
/// Longest input row read by default, in bytes (`--max-row-bytes`).
pub const MAX_LINE_BYTES: usize = 1 << 20;

/// One video to extract: its ID, where it is, and the input record it came with.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
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
        None => return invalid_row(fields, origin, "no content_id"),
    };
    let video_url = match fields.get("video_url").cloned() {
        Some(Value::String(url)) if !url.trim().is_empty() => url.trim().to_string(),
        Some(Value::String(_)) | Some(Value::Null) | None => {
            let Some(template) = &defaults.video_url_template else {
                return invalid_row(
                    fields,
                    origin,
                    "no video_url (or give --video-url-template)",
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

/// An unusable row: `why` it cannot be an item, prefixed with where it is.
fn invalid_row(fields: Map<String, Value>, origin: String, why: impl Display) -> InputRow {
    let message = format!("{origin}: {why}");
    Err(Box::new(InvalidRow {
        fields,
        origin,
        error: ItemError::new(ErrorKind::InvalidInput, message),
    }))
}

/// The text of a `content_id` value: a non-empty string, or an integer written as its digits.
pub fn content_id_text(value: &Value) -> Result<String, InvalidValue> {
    let text = match value {
        // verbatim: " spaced " and "spaced" are two IDs
        Value::String(s) => s.clone(),
        Value::Number(n) if n.is_u64() || n.is_i64() => n.to_string(),
        other => return Err(InvalidValue(format!("content_id is not a string: {other}"))),
    };
    if text.is_empty() {
        return Err(InvalidValue::new("content_id is empty"));
    }
    if text.len() > MAX_CONTENT_ID_BYTES {
        return Err(InvalidValue(format!(
            "content_id is {} bytes long (at most {MAX_CONTENT_ID_BYTES})",
            text.len()
        )));
    }
    if text.chars().any(char::is_control) {
        return Err(InvalidValue(format!(
            "content_id contains control characters: {text:?}"
        )));
    }
    Ok(text)
}

/// What items fall back on when their record lacks something.
#[derive(Debug, Clone)]
pub struct ItemDefaults {
    /// Builds `video_url` for records that only carry an ID.
    pub video_url_template: Option<UrlTemplate>,
    /// The platform for `{platform}` when a record has none.
    pub platform: String,
    /// Longest row (a JSON line, a CSV record) read; a longer one is skipped without being held
    /// in memory and becomes an invalid row (`--max-row-bytes`).
    pub max_row_bytes: usize,
}

impl Default for ItemDefaults {
    fn default() -> Self {
        ItemDefaults {
            video_url_template: None,
            platform: String::new(),
            max_row_bytes: MAX_LINE_BYTES,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

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
            ..ItemDefaults::default()
        };
        CsvItems::new(bytes, "ids.csv", defaults).unwrap().collect()
    }

    #[test]
    fn over_long_rows_are_skipped_and_reading_goes_on() {
        let small = ItemDefaults {
            max_row_bytes: 2048,
            ..ItemDefaults::default()
        };
        let long = "x".repeat(10_000);
        let jsonl = format!(
            "{{\"content_id\":\"a\",\"video_url\":\"a.mp4\"}}\n{{\"content_id\":\"{long}\"}}\n{{\"content_id\":\"b\",\"video_url\":\"b.mp4\"}}\n"
        );
        let rows: Vec<InputRow> =
            JsonlItems::new(jsonl.as_bytes(), "t.jsonl", small.clone()).collect();
        assert_eq!(rows.len(), 3);
        let bad = rows[1].as_ref().unwrap_err();
        assert_eq!(bad.origin, "t.jsonl:2");
        assert!(
            bad.error.message.contains("--max-row-bytes"),
            "{}",
            bad.error.message
        );
        assert_eq!(rows[2].as_ref().unwrap().content_id, "b");
        // an unterminated quoted CSV field: the row is cut at the cap, the next line reads again
        let csv = format!("content_id,video_url\na,a.mp4\n\"{long}\nb,b.mp4\nc,c.mp4\n");
        let rows: Vec<InputRow> = CsvItems::new(csv.as_bytes(), "ids.csv", small)
            .unwrap()
            .collect();
        let ids: Vec<String> = rows
            .iter()
            .map(|r| match r {
                Ok(item) => item.content_id.clone(),
                Err(bad) => format!("invalid {}", bad.origin),
            })
            .collect();
        assert_eq!(ids[0], "a");
        assert!(ids[1].starts_with("invalid ids.csv:"), "{ids:?}");
        assert_eq!(&ids[2..], ["b", "c"], "{ids:?}");
    }

    #[test]
    fn ids_are_taken_verbatim() {
        let rows = rows("{\"content_id\":\" spaced \",\"video_url\":\"a.mp4\"}\n{\"content_id\":\"spaced\",\"video_url\":\"a.mp4\"}");
        assert_eq!(rows[0].as_ref().unwrap().content_id, " spaced ");
        assert_eq!(rows[1].as_ref().unwrap().content_id, "spaced");
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
