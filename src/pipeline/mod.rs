/*!
The pipeline: input → fetch → decode/sample → encode → store → record.

[`Extractor::extract`] runs one item through every stage and returns what it derived, or an
[`ItemError`] saying which stage failed and why. [`run`] drives a stream of input rows through a
rayon pool of workers joined by bounded channels, so memory stays flat for an input of any
length, and a single writer thread turns each outcome into exactly one record.
*/

pub mod avro;
pub mod decode;
pub mod encode;
pub mod input;
pub mod record;
pub mod sample;
pub mod source;
pub mod store;
pub mod thumbnail;

use crate::error::{ErrorKind, ItemError};
use decode::{decode_targets, Deadline, DecodeOptions, OpenVideo};
use encode::{FrameEncoder, SizeSpec};
use input::{InputRow, Item};
use record::{
    build_record, Derived, Extracted, ExtractorInfo, FrameRecord, RecordSink, ResumeLog, SeenIds,
    ThumbnailRecord,
};
use sample::{pts_to_ms, Sampling};
use serde_json::{json, Map, Value};
use source::{Source, VideoUrl};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::Arc;
use std::time::Duration;
use store::{FrameStore, ItemKeys, ObjectMeta};

/// How each item is extracted.
#[derive(Debug, Clone)]
pub struct ExtractOptions {
    /// Which frames.
    pub sampling: Sampling,
    /// Output frame size.
    pub size: SizeSpec,
    /// JPEG quality, 1–100.
    pub quality: u8,
    /// Longest side of the thumbnail (0 = the frame's own size).
    pub thumbnail_max_side: u32,
    /// Threads inside one decoder.
    pub decode_threads: usize,
    /// Deadline for one item, from open to the last stored frame.
    pub item_timeout: Duration,
    /// Platform used in keys when the input record has none.
    pub platform: String,
}

impl ExtractOptions {
    /// The sampling parameters as records carry them; a rerun redoes items whose records differ.
    pub fn sampling_record(&self) -> Value {
        json!({
            "mode": self.sampling.mode.name(),
            "fps": self.sampling.mode.rate(),
            "frames": self.sampling.mode.count(),
            "max_seconds": self.sampling.max_ms as f64 / 1000.0,
            "tolerance_ms": self.sampling.tolerance_ms,
            "max_side": self.size.max_side,
            "width": self.size.width,
            "height": self.size.height,
            "quality": self.quality,
            "thumbnail_max_side": self.thumbnail_max_side,
        })
    }
}

/// Runs items through fetch → decode → encode → store.
pub struct Extractor {
    options: ExtractOptions,
    sampling_record: Value,
    extractor_info: ExtractorInfo,
    source: Arc<dyn Source>,
    store: Arc<dyn FrameStore>,
}

impl Extractor {
    /// An extractor reading from `source` and writing to `store`.
    pub fn new(
        options: ExtractOptions,
        source: Arc<dyn Source>,
        store: Arc<dyn FrameStore>,
    ) -> Extractor {
        Extractor {
            sampling_record: options.sampling_record(),
            extractor_info: ExtractorInfo {
                name: "reelframe".into(),
                version: env!("CARGO_PKG_VERSION").into(),
                ffmpeg: decode::ffmpeg_version(),
            },
            options,
            source,
            store,
        }
    }

    /// The sampling parameters as records carry them.
    pub fn sampling_record(&self) -> &Value {
        &self.sampling_record
    }

    /// The platform for `item`: its record's own non-empty `platform`, else the configured one.
    pub fn platform_of<'a>(&'a self, item: &'a Item) -> &'a str {
        match item.fields.get("platform") {
            Some(Value::String(p)) if !p.trim().is_empty() => p.trim(),
            _ => &self.options.platform,
        }
    }

    /// Extracts one item: every target frame stored as a JPEG, plus a thumbnail.
    pub fn extract(&self, item: &Item) -> Result<Extracted, ItemError> {
        let url = VideoUrl::parse(&item.video_url)?;
        let fetched = self.source.fetch(&url)?;
        let deadline = Deadline::after(self.options.item_timeout);
        let mut video = OpenVideo::open(&fetched.data, fetched.bytes, deadline)?;
        let timeline = video.scan(self.options.sampling.max_ms, deadline)?;
        let (facts, orientation) = (video.facts.clone(), video.orientation);
        let plan = sample::plan(&timeline, &self.options.sampling)?;
        let platform = self.platform_of(item).to_string();
        let keys = ItemKeys::new(&platform, &item.content_id);
        let mut encoder = FrameEncoder::new(self.options.quality, self.options.size)?;
        let mut frames: Vec<Option<FrameRecord>> = vec![None; plan.targets.len()];
        let mut picker = thumbnail::ThumbnailPicker::default();
        let time_base = timeline.time_base;
        let store = &*self.store;
        let (mut convert_time, mut encode_time) = (Duration::ZERO, Duration::ZERO);
        let stats = decode_targets(
            &mut video,
            &fetched.data,
            &timeline,
            &plan,
            DecodeOptions::with_threads(self.options.decode_threads),
            deadline,
            |targets, frame| {
                let encoded = encoder.encode(frame, orientation)?;
                convert_time += encoded.convert_time;
                encode_time += encoded.encode_time;
                let hash = blake3::hash(&encoded.jpeg).to_hex().to_string();
                let pts_ms = pts_to_ms(targets[0].pts, time_base);
                for target in targets {
                    let key = keys.frame(target.index, pts_ms);
                    let meta = ObjectMeta {
                        content_id: &item.content_id,
                        pts_ms: Some(pts_ms),
                    };
                    let uri = store.put(&key, &encoded.jpeg, &meta)?;
                    frames[target.index as usize] = Some(FrameRecord {
                        index: target.index,
                        target_ms: target.target_ms,
                        pts_ms,
                        key,
                        uri,
                        width: encoded.width,
                        height: encoded.height,
                        bytes: encoded.jpeg.len() as u64,
                        blake3: hash.clone(),
                    });
                }
                picker.offer(targets[0].index as usize, &encoded.stats, &encoded.jpeg);
                if deadline.passed() {
                    return Err(ItemError::new(
                        ErrorKind::Timeout,
                        "encoding: deadline passed",
                    ));
                }
                Ok(())
            },
        )?;
        tracing::debug!(
            open = ?video.open_time,
            scan = ?video.scan_time,
            demux = ?stats.demux_time,
            decode = ?stats.decode_time,
            packets_sent = stats.packets_sent,
            frames_decoded = stats.frames_decoded,
            targets = plan.targets.len(),
            convert = ?convert_time,
            encode = ?encode_time,
            "stage times"
        );
        let frames: Vec<FrameRecord> = frames
            .into_iter()
            .collect::<Option<Vec<_>>>()
            .ok_or_else(|| ItemError::new(ErrorKind::Internal, "a target frame has no record"))?;
        let (frame_index, chosen) = picker
            .pick()
            .ok_or_else(|| ItemError::new(ErrorKind::Internal, "no thumbnail candidate"))?;
        let (thumb, width, height) = thumbnail::make_thumbnail(
            chosen,
            self.options.thumbnail_max_side,
            self.options.quality,
        )?;
        let thumb_key = keys.thumbnail();
        let uri = store.put(
            &thumb_key,
            &thumb,
            &ObjectMeta {
                content_id: &item.content_id,
                pts_ms: None,
            },
        )?;
        let thumbnail = ThumbnailRecord {
            key: thumb_key,
            uri,
            width,
            height,
            bytes: thumb.len() as u64,
            blake3: blake3::hash(&thumb).to_hex().to_string(),
            frame_index: frame_index as u32,
        };
        Ok(Extracted {
            derived: Derived {
                platform,
                frames,
                video: facts,
                sampling: self.sampling_record.clone(),
                extractor: self.extractor_info.clone(),
            },
            thumbnail,
        })
    }

    /// Extracts one input row and returns its record; never panics, never returns nothing.
    pub fn record_for(&self, row: InputRow) -> (Map<String, Value>, Outcome) {
        match row {
            Err(invalid) => {
                let invalid = *invalid;
                let mut fields = invalid.fields;
                fields.insert("input".into(), Value::String(invalid.origin));
                let id = fields
                    .get("content_id")
                    .and_then(|v| input::content_id_text(v).ok());
                let record = build_record(fields, id.as_deref(), Err(&invalid.error));
                (record, Outcome::Failed(invalid.error.kind))
            }
            Ok(item) => {
                let span = tracing::info_span!("item", content_id = %item.content_id);
                let _enter = span.enter();
                let result = catch_unwind(AssertUnwindSafe(|| self.extract(&item))).unwrap_or_else(
                    |panic| {
                        let why = panic
                            .downcast_ref::<String>()
                            .cloned()
                            .or_else(|| panic.downcast_ref::<&str>().map(|s| s.to_string()))
                            .unwrap_or_else(|| "unknown panic".into());
                        Err(ItemError::new(
                            ErrorKind::Internal,
                            format!("panic while extracting: {why}"),
                        ))
                    },
                );
                let outcome = match &result {
                    Ok(e) => Outcome::Done {
                        frames: e.derived.frames.len() as u64,
                    },
                    Err(err) => {
                        tracing::warn!(origin = %item.origin, "{err}");
                        Outcome::Failed(err.kind)
                    }
                };
                let record = build_record(item.fields, Some(&item.content_id), result.as_ref());
                (record, outcome)
            }
        }
    }
}

/// How one item ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Extracted; this many frames.
    Done {
        /// Frames written.
        frames: u64,
    },
    /// Failed, with this kind of error.
    Failed(ErrorKind),
}

/// Counts for a whole run.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Summary {
    /// Items extracted in this run.
    pub done: u64,
    /// Items that failed (each has an error record).
    pub failed: u64,
    /// Items skipped because an earlier run completed them.
    pub skipped: u64,
    /// Input rows repeating a content ID already handled in this run (not processed twice).
    pub duplicates: u64,
    /// Frames written in this run.
    pub frames: u64,
}

/// Receives progress as records are written.
pub trait Progress: Send + Sync {
    /// An item was skipped (already done, or a duplicate).
    fn skipped(&self);
    /// An item ended.
    fn finished(&self, outcome: Outcome);
}

/// Progress that reports nothing.
pub struct NoProgress;

impl Progress for NoProgress {
    fn skipped(&self) {}
    fn finished(&self, _: Outcome) {}
}

/// Runs `rows` through `extractor` on `jobs` workers, writing one record per row to `sink`.
///
/// Rows whose content ID `resume` knows as done are skipped; a content ID seen twice in the input
/// is processed once (the repeat is counted in [`Summary::duplicates`] and logged). Returns when
/// every row has its record, or with the sink's error if records cannot be written.
pub fn run(
    rows: impl Iterator<Item = InputRow>,
    extractor: &Extractor,
    sink: &mut dyn RecordSink,
    resume: &ResumeLog,
    jobs: usize,
    progress: &dyn Progress,
) -> std::io::Result<Summary> {
    let jobs = jobs.max(1);
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(jobs)
        .thread_name(|i| format!("reelframe-worker-{i}"))
        .build()
        .map_err(std::io::Error::other)?;
    let (row_tx, row_rx) = crossbeam_channel::bounded::<InputRow>(jobs * 2);
    let (record_tx, record_rx) =
        crossbeam_channel::bounded::<(Map<String, Value>, Outcome)>(jobs * 4);
    let mut summary = Summary::default();
    let mut sink_error: Option<std::io::Error> = None;

    std::thread::scope(|scope| {
        // The single writer: one record per row, flushed as it arrives.
        let writer = scope.spawn(|| {
            let mut counts = Summary::default();
            for (record, outcome) in record_rx {
                if sink_error.is_none() {
                    if let Err(err) = sink.write(&record) {
                        sink_error = Some(err);
                    }
                }
                match outcome {
                    Outcome::Done { frames } => {
                        counts.done += 1;
                        counts.frames += frames;
                    }
                    Outcome::Failed(_) => counts.failed += 1,
                }
                progress.finished(outcome);
            }
            counts
        });
        pool.in_place_scope(|workers| {
            for _ in 0..jobs {
                let row_rx = row_rx.clone();
                let record_tx = record_tx.clone();
                workers.spawn(move |_| {
                    for row in row_rx {
                        let out = extractor.record_for(row);
                        if record_tx.send(out).is_err() {
                            break;
                        }
                    }
                });
            }
            drop(record_tx);
            let mut seen = SeenIds::default();
            for row in rows {
                if let Ok(item) = &row {
                    if resume.is_done(&item.content_id) {
                        summary.skipped += 1;
                        progress.skipped();
                        continue;
                    }
                    if !seen.insert(&item.content_id) {
                        tracing::warn!(origin = %item.origin, content_id = %item.content_id, "duplicate content_id in the input: processed once");
                        summary.duplicates += 1;
                        progress.skipped();
                        continue;
                    }
                }
                if row_tx.send(row).is_err() {
                    break;
                }
            }
            drop(row_tx);
        });
        let counts = writer.join().expect("record writer panicked");
        summary.done = counts.done;
        summary.failed = counts.failed;
        summary.frames = counts.frames;
    });
    match sink_error {
        Some(err) => Err(err),
        None => Ok(summary),
    }
}
