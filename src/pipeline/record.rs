/*!
Stage ⑥: records. Each input item becomes exactly one output record: the input record with
`content_type: "VIDEO"`, `status`, and either `derived` + `thumbnail` or an `error`.

Records are written one JSON line at a time and flushed, so a killed run loses at most the item
in flight. [`ResumeLog`] reads an earlier records file at start: completed items (same sampling)
are kept and skipped, failed ones are dropped so they run again, and the file is compacted so it
never holds two records for one content ID.
*/

use crate::error::ItemError;
use crate::pipeline::decode::VideoFacts;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use std::collections::HashSet;
use std::fs::{self, File, OpenOptions};
use std::io::{self, BufRead, BufReader, BufWriter, Write};
use std::path::{Path, PathBuf};

/// One stored frame, as the record lists it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FrameRecord {
    /// Position among the item's frames (0-based).
    pub index: u32,
    /// The time asked for, in ms from the first frame.
    pub target_ms: i64,
    /// The frame's presentation time in ms on the stream's clock (as ffprobe's `pts_time`).
    pub pts_ms: i64,
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
#[derive(Debug, Clone, PartialEq)]
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

/// Where records go.
pub trait RecordSink: Send {
    /// Writes one record; it is durable (flushed) when this returns.
    fn write(&mut self, record: &Map<String, Value>) -> io::Result<()>;
}

/// Writes records as JSON lines to any writer, flushing after each.
pub struct JsonlSink<W: Write + Send> {
    out: W,
    line: Vec<u8>,
}

impl<W: Write + Send> JsonlSink<W> {
    /// A sink over `out`.
    pub fn new(out: W) -> Self {
        JsonlSink {
            out,
            line: Vec::new(),
        }
    }
}

impl<W: Write + Send> RecordSink for JsonlSink<W> {
    fn write(&mut self, record: &Map<String, Value>) -> io::Result<()> {
        self.line.clear();
        serde_json::to_writer(&mut self.line, record)?;
        self.line.push(b'\n');
        self.out.write_all(&self.line)?;
        self.out.flush()
    }
}

/// The IDs already done in an earlier run, and the records file opened for appending.
pub struct ResumeLog {
    done: HashSet<[u8; 16]>,
    /// How many completed records were kept from the earlier run.
    pub kept: u64,
    /// How many earlier records were dropped (failed, other sampling, duplicate or torn lines).
    pub dropped: u64,
}

fn id_hash(id: &str) -> [u8; 16] {
    let h = blake3::hash(id.as_bytes());
    h.as_bytes()[..16].try_into().expect("16 bytes")
}

impl ResumeLog {
    /// Compacts the records file at `path` (when it exists) and opens it for appending.
    ///
    /// Kept: lines that parse, have a `content_id`, `status: "ok"` and `derived.sampling` equal
    /// to `sampling`, the first per ID. Everything else is dropped, so those items run again.
    /// With `force`, the file starts empty.
    pub fn open(path: &Path, sampling: &Value, force: bool) -> io::Result<(ResumeLog, File)> {
        let mut log = ResumeLog {
            done: HashSet::new(),
            kept: 0,
            dropped: 0,
        };
        if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
            fs::create_dir_all(parent)?;
        }
        if force || !path.exists() {
            let file = File::create(path)?;
            return Ok((log, file));
        }
        let tmp: PathBuf = path.with_extension(format!("compact-{}.tmp", std::process::id()));
        {
            let reader = BufReader::new(File::open(path)?);
            let mut writer = BufWriter::new(File::create(&tmp)?);
            let mut buf = Vec::new();
            let mut reader = reader;
            loop {
                buf.clear();
                if reader.read_until(b'\n', &mut buf)? == 0 {
                    break;
                }
                // A line without its newline is one a killed run was writing: drop it.
                let complete = buf.ends_with(b"\n");
                let keep = complete
                    && serde_json::from_slice::<Value>(&buf)
                        .ok()
                        .and_then(|v| {
                            let id = v.get("content_id")?.as_str()?.to_string();
                            let ok = v.get("status")?.as_str()? == "ok";
                            let same = v.get("derived")?.get("sampling")? == sampling;
                            (ok && same).then_some(id)
                        })
                        .is_some_and(|id| log.done.insert(id_hash(&id)));
                if keep {
                    writer.write_all(&buf)?;
                    log.kept += 1;
                } else if !buf.iter().all(|b| b.is_ascii_whitespace()) {
                    log.dropped += 1;
                }
            }
            writer.flush()?;
            writer.get_ref().sync_all()?;
        }
        fs::rename(&tmp, path)?;
        let file = OpenOptions::new().append(true).open(path)?;
        Ok((log, file))
    }

    /// A log that knows of nothing done (records going to stdout).
    pub fn empty() -> ResumeLog {
        ResumeLog {
            done: HashSet::new(),
            kept: 0,
            dropped: 0,
        }
    }

    /// Was `content_id` completed by an earlier run?
    pub fn is_done(&self, content_id: &str) -> bool {
        !self.done.is_empty() && self.done.contains(&id_hash(content_id))
    }
}

/// A set of content IDs seen in this run, kept as 16-byte hashes so a million IDs stay small.
#[derive(Default)]
pub struct SeenIds(HashSet<[u8; 16]>);

impl SeenIds {
    /// Records `id`; false if it was seen before.
    pub fn insert(&mut self, id: &str) -> bool {
        self.0.insert(id_hash(id))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn resume_keeps_done_drops_failed_torn_and_duplicate_lines() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("records.jsonl");
        let s = json!({"mode": "fps"});
        let other = json!({"mode": "frames"});
        let ok = |id: &str, s: &Value| {
            json!({"content_id": id, "status": "ok", "derived": {"sampling": s}}).to_string()
        };
        let text = format!(
            "{}\n{}\n{}\n{}\n{}\n{{\"content_id\":\"e\",\"sta",
            ok("a", &s),
            json!({"content_id": "b", "status": "failed"}),
            ok("a", &s),
            ok("c", &other),
            ok("d", &s),
        );
        fs::write(&path, text).unwrap();
        let (log, mut file) = ResumeLog::open(&path, &s, false).unwrap();
        assert!(log.is_done("a") && log.is_done("d"));
        assert!(!log.is_done("b") && !log.is_done("c") && !log.is_done("e"));
        assert_eq!((log.kept, log.dropped), (2, 4));
        writeln!(file, "{}", ok("b", &s)).unwrap();
        let lines: Vec<String> = fs::read_to_string(&path)
            .unwrap()
            .lines()
            .map(String::from)
            .collect();
        assert_eq!(lines, vec![ok("a", &s), ok("d", &s), ok("b", &s)]);
        let (log, _) = ResumeLog::open(&path, &s, true).unwrap();
        assert!(!log.is_done("a"));
        assert_eq!(fs::read_to_string(&path).unwrap(), "");
    }
}
