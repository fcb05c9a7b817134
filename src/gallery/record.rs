//! The parts of a reelframe record the gallery shows, read leniently: a field that is missing
//! or of another type is simply not shown, so records from older runs still render.

use serde::Deserialize;
use serde_json::{Map, Value};

/// One record, as the gallery sees it.
#[derive(Debug, Clone, Deserialize)]
pub struct ShownRecord {
    /// The content ID, as text (an integer ID as its digits).
    #[serde(deserialize_with = "id_text")]
    pub content_id: String,
    /// Where the video came from.
    #[serde(default, deserialize_with = "lenient")]
    pub video_url: Option<String>,
    /// `ok`, `failed` or `duplicate` (anything else is shown as written).
    #[serde(default, deserialize_with = "lenient")]
    pub status: Option<String>,
    /// Why the item failed.
    #[serde(default, deserialize_with = "lenient")]
    pub error: Option<ShownError>,
    /// The thumbnail.
    #[serde(default, deserialize_with = "lenient")]
    pub thumbnail: Option<Picture>,
    /// Frames, video facts, contact sheet.
    #[serde(default, deserialize_with = "lenient")]
    pub derived: Option<ShownDerived>,
}

/// A record's `error`.
#[derive(Debug, Clone, Deserialize)]
pub struct ShownError {
    /// The error kind (`decode_failed`, …).
    pub kind: String,
    /// The sentence that says why.
    #[serde(default)]
    pub message: String,
}

/// A stored picture: a frame, the thumbnail or the contact sheet.
#[derive(Debug, Clone, Deserialize)]
pub struct Picture {
    /// Where it is: a local path, `s3://bucket/key` or an http(s) URL.
    pub uri: String,
    /// Width in pixels.
    #[serde(default, deserialize_with = "lenient")]
    pub width: Option<u32>,
    /// Height in pixels.
    #[serde(default, deserialize_with = "lenient")]
    pub height: Option<u32>,
}

/// A record's `derived`.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct ShownDerived {
    /// The sampled frames.
    #[serde(default, deserialize_with = "lenient_list")]
    pub frames: Vec<ShownFrame>,
    /// What the video is.
    #[serde(default, deserialize_with = "lenient")]
    pub video: Option<ShownVideo>,
    /// The contact sheet.
    #[serde(default, deserialize_with = "lenient")]
    pub contact_sheet: Option<Picture>,
}

/// One sampled frame.
#[derive(Debug, Clone, Deserialize)]
pub struct ShownFrame {
    /// Its picture.
    #[serde(flatten)]
    pub picture: Picture,
    /// Its time on the displayed timeline, ms.
    #[serde(default, deserialize_with = "lenient")]
    pub pts_ms: Option<i64>,
    /// PDQ quality, 0–100.
    #[serde(default, deserialize_with = "lenient")]
    pub pdq_quality: Option<u8>,
}

/// A record's `derived.video`.
#[derive(Debug, Clone, Deserialize)]
pub struct ShownVideo {
    /// Duration, ms.
    #[serde(default, deserialize_with = "lenient")]
    pub duration_ms: Option<u64>,
    /// Codec name.
    #[serde(default, deserialize_with = "lenient")]
    pub codec: Option<String>,
    /// Upright width.
    #[serde(default, deserialize_with = "lenient")]
    pub display_width: Option<u32>,
    /// Upright height.
    #[serde(default, deserialize_with = "lenient")]
    pub display_height: Option<u32>,
    /// Frames per second.
    #[serde(default, deserialize_with = "lenient")]
    pub fps: Option<f64>,
}

impl ShownRecord {
    /// Reads a record object; `None` when it has no usable `content_id`.
    pub fn from_map(map: Map<String, Value>) -> Option<ShownRecord> {
        serde_json::from_value(Value::Object(map)).ok()
    }

    /// `status`, or `unknown`.
    pub fn status(&self) -> &str {
        self.status.as_deref().unwrap_or("unknown")
    }

    /// The error kind of a failed record.
    pub fn error_kind(&self) -> Option<&str> {
        self.error.as_ref().map(|e| e.kind.as_str())
    }

    /// The frames, or none.
    pub fn frames(&self) -> &[ShownFrame] {
        self.derived.as_ref().map_or(&[], |d| &d.frames)
    }

    /// The contact sheet, if any.
    pub fn contact_sheet(&self) -> Option<&Picture> {
        self.derived.as_ref()?.contact_sheet.as_ref()
    }

    /// The video facts, if any.
    pub fn video(&self) -> Option<&ShownVideo> {
        self.derived.as_ref()?.video.as_ref()
    }
}

/// Whether `record` has a content ID the gallery can show (a string or a number), the same
/// test [`ShownRecord::from_map`] makes.
pub fn has_content_id(record: &Value) -> bool {
    matches!(
        record.get("content_id"),
        Some(Value::String(_) | Value::Number(_))
    )
}

fn id_text<'de, D: serde::Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    match Value::deserialize(d)? {
        Value::String(s) => Ok(s),
        Value::Number(n) => Ok(n.to_string()),
        _ => Err(serde::de::Error::custom("content_id is not a string")),
    }
}

/// A field of the wrong type reads as absent instead of failing the record.
fn lenient<'de, D, T>(d: D) -> Result<Option<T>, D::Error>
where
    D: serde::Deserializer<'de>,
    T: serde::de::DeserializeOwned,
{
    Ok(serde_json::from_value(Value::deserialize(d)?).ok())
}

/// A list whose unreadable entries are left out.
fn lenient_list<'de, D, T>(d: D) -> Result<Vec<T>, D::Error>
where
    D: serde::Deserializer<'de>,
    T: serde::de::DeserializeOwned,
{
    Ok(match Value::deserialize(d)? {
        Value::Array(items) => items
            .into_iter()
            .filter_map(|v| serde_json::from_value(v).ok())
            .collect(),
        _ => Vec::new(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(json: &str) -> Option<ShownRecord> {
        match serde_json::from_str(json).unwrap() {
            Value::Object(map) => ShownRecord::from_map(map),
            _ => None,
        }
    }

    #[test]
    fn wrong_types_read_as_absent() {
        let r = record(r#"{"content_id": 42, "status": 7, "thumbnail": "x", "derived": {"frames": [{"uri": "/a.jpg", "pts_ms": 1000}, {"no": 1}], "video": "x"}}"#).unwrap();
        assert_eq!(r.content_id, "42");
        assert_eq!(r.status(), "unknown");
        assert!(r.thumbnail.is_none());
        assert_eq!(r.frames().len(), 1);
        assert_eq!(r.frames()[0].pts_ms, Some(1000));
        assert!(r.video().is_none());
    }

    #[test]
    fn no_content_id_is_no_record() {
        assert!(record(r#"{"status": "ok"}"#).is_none());
        assert!(record(r#"{"content_id": null}"#).is_none());
    }
}
