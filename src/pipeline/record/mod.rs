/*!
Stage ⑥: records. Each input row becomes exactly one output record: the input record with
`content_type: "VIDEO"`, `status`, and either `derived` + `thumbnail` or an `error`.

This file holds the record's types and how one is built; [`sink`] writes them (JSONL, a local
journal uploaded to S3), [`resume`] reads an earlier run's records so completed items are skipped,
and [`avro`] converts the JSONL into an Avro container file.
*/

pub mod avro;
pub mod lock;
pub mod resume;
pub mod sink;

pub use lock::{LockError, RecordsLock};
pub use resume::{ResumeLog, SeenIds};
pub use sink::{JsonlSink, RecordSink};

use crate::error::{ErrorKind, ItemError};
use crate::pipeline::demux::VideoFacts;
use crate::pipeline::input::{content_id_text, InvalidRow, Item};
use crate::pipeline::metrics::Outcome;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// One stored frame, as the record lists it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FrameRecord {
    /// Position among the item's frames (0-based).
    pub index: u32,
    /// The time asked for, in ms from the first displayed frame.
    pub target_ms: i64,
    /// The frame's presentation time in ms from the first displayed frame: the same timeline as
    /// `target_ms` (t = 0 is the first frame a player shows, after any edit list).
    pub pts_ms: i64,
    /// Provenance: the frame's raw pts in the stream's time base (`video.time_base`), as
    /// ffprobe's frame `pts` (its `best_effort_timestamp` where the container stores no pts).
    pub stream_pts: i64,
    /// Provenance: `stream_pts` in ms on the stream's clock (ffprobe's `pts_time`); it differs
    /// from `pts_ms` by `video.start_ms`.
    pub stream_pts_ms: i64,
    /// The store key.
    pub key: String,
    /// Where the JPEG is (a path or URI).
    pub uri: String,
    /// Width in pixels.
    pub width: u32,
    /// Height in pixels.
    pub height: u32,
    /// Size of the JPEG in bytes.
    pub bytes: u64,
    /// blake3 hash of the JPEG, hex.
    pub blake3: String,
    /// PDQ hash of the upright picture before JPEG encoding (64 hex digits); null with
    /// `--hashes none`.
    #[serde(default)]
    pub pdq: Option<String>,
    /// PDQ quality, 0–100 (vPDQ ignores frames under 50 when matching); null with
    /// `--hashes none`.
    #[serde(default)]
    pub pdq_quality: Option<u8>,
    /// PDQ hash of the picture mirrored left to right (what the same frame of a mirrored repost
    /// hashes to); null with `--hashes none` and in records written before it existed.
    #[serde(default)]
    pub pdq_mirror: Option<String>,
}

/// The thumbnail, as the record gives it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ThumbnailRecord {
    /// The store key.
    pub key: String,
    /// Where the JPEG is.
    pub uri: String,
    /// Width in pixels.
    pub width: u32,
    /// Height in pixels.
    pub height: u32,
    /// Size in bytes.
    pub bytes: u64,
    /// blake3 hash of the JPEG, hex.
    pub blake3: String,
    /// Index of the frame it was made from.
    pub frame_index: u32,
}

/// The contact sheet: every frame as a labelled tile of one JPEG.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ContactSheetRecord {
    /// The store key.
    pub key: String,
    /// Where the JPEG is.
    pub uri: String,
    /// Width in pixels.
    pub width: u32,
    /// Height in pixels.
    pub height: u32,
    /// Size in bytes.
    pub bytes: u64,
    /// blake3 hash of the JPEG, hex.
    pub blake3: String,
    /// Tiles per row (frame `i` is in row `i / columns`, column `i % columns`).
    pub columns: u32,
    /// Rows of tiles.
    pub rows: u32,
}

/// Which program made the record.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ExtractorInfo {
    /// Always `reelframe`.
    pub name: String,
    /// reelframe's version.
    pub version: String,
    /// The FFmpeg version it ran on.
    pub ffmpeg: String,
}

/// Everything derived from the video.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Derived {
    /// The platform used in the key layout.
    pub platform: String,
    /// The frames, in target order.
    pub frames: Vec<FrameRecord>,
    /// Facts about the video.
    pub video: VideoFacts,
    /// The sampling parameters (a rerun with other parameters redoes the item).
    pub sampling: Value,
    /// Which program made this.
    pub extractor: ExtractorInfo,
    /// How the video was fetched.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fetch: Option<FetchRecord>,
    /// The contact sheet; null with `--contact-sheet false`.
    #[serde(default)]
    pub contact_sheet: Option<ContactSheetRecord>,
}

/// How a video was fetched: from where, how many bytes, in how many attempts.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FetchRecord {
    /// `local`, `http` or `s3`.
    pub source: String,
    /// Bytes fetched.
    pub bytes: u64,
    /// Attempts it took (1 when nothing was retried).
    pub attempts: u32,
    /// Time from the first request to the last byte, in ms.
    pub ms: u64,
}

/// What extracting one item produced.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Extracted {
    /// The derived block.
    pub derived: Derived,
    /// The thumbnail.
    pub thumbnail: ThumbnailRecord,
}

/// Builds the output record for an item: its input `fields` plus the outcome.
pub fn build_record(
    mut fields: Map<String, Value>,
    content_id: Option<&str>,
    outcome: Result<&Extracted, &ItemError>,
) -> Map<String, Value> {
    if let Some(id) = content_id {
        // The ID as a string, whatever type the input used.
        fields.insert("content_id".into(), Value::String(id.to_string()));
    }
    fields.insert("content_type".into(), Value::String("VIDEO".into()));
    match outcome {
        Ok(extracted) => {
            fields.insert("status".into(), Value::String("ok".into()));
            fields.insert(
                "derived".into(),
                serde_json::to_value(&extracted.derived).expect("serialisable"),
            );
            fields.insert(
                "thumbnail".into(),
                serde_json::to_value(&extracted.thumbnail).expect("serialisable"),
            );
            fields.remove("error");
        }
        Err(err) => {
            fields.insert("status".into(), Value::String("failed".into()));
            fields.insert("derived".into(), Value::Null);
            fields.insert("thumbnail".into(), Value::Null);
            fields.insert(
                "error".into(),
                serde_json::to_value(err).expect("serialisable"),
            );
        }
    }
    fields
}

/// The record of an input row that is not a usable item.
pub fn invalid_row_record(invalid: InvalidRow) -> (Map<String, Value>, Outcome) {
    let mut fields = invalid.fields;
    fields.insert("input".into(), Value::String(invalid.origin));
    let id = fields
        .get("content_id")
        .and_then(|v| content_id_text(v).ok());
    let record = build_record(fields, id.as_deref(), Err(&invalid.error));
    (record, Outcome::Failed(invalid.error.kind))
}

/// The record of a row whose content ID an earlier row of the run (at `first`) already has:
/// status `duplicate`, and an error of kind `duplicate` naming that row.
pub fn duplicate_record(item: Item, first: &str) -> (Map<String, Value>, Outcome) {
    let error = ItemError::new(
        ErrorKind::Duplicate,
        format!(
            "{}: content_id {:?} repeats {first}, which is processed once",
            item.origin, item.content_id
        ),
    );
    let mut record = build_record(item.fields, Some(&item.content_id), Err(&error));
    record.insert("status".into(), Value::String("duplicate".into()));
    (record, Outcome::Duplicate)
}

/// The record of an item and how it ended.
pub fn item_record(
    item: Item,
    result: Result<Extracted, ItemError>,
) -> (Map<String, Value>, Outcome) {
    let outcome = match &result {
        Ok(e) => Outcome::Done {
            frames: e.derived.frames.len() as u64,
        },
        Err(err) => {
            tracing::warn!(origin = %item.origin, content_id = %item.content_id, "{err}");
            Outcome::Failed(err.kind)
        }
    };
    let record = build_record(item.fields, Some(&item.content_id), result.as_ref());
    (record, outcome)
}
