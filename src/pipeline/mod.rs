/*!
The pipeline: input → fetch → decode/sample → encode → store → record.

An item goes through three steps, each a method of [`Extractor`]:
[`fetch`](Extractor::fetch) (async, on the tokio runtime: local, HTTP or S3),
[`process`](Extractor::process) (blocking CPU work on a rayon worker: demux, decode, sample,
convert, JPEG-encode; each frame's upload starts as soon as it is encoded) and
[`finish`](Extractor::finish) (async: wait for the uploads, fill in the URIs).
[`Extractor::extract`] runs all three for one item.

[`run`] drives a stream of input rows through them: fetches run concurrently on the runtime,
at most `jobs + prefetch` videos are held in memory at once (fetching, waiting or decoding),
`jobs` rayon workers decode, uploads overlap the decoding of the next video, and a single
writer thread turns every outcome into exactly one record. Memory stays flat for an input of
any length.
*/

pub mod avro;
pub mod decode;
pub mod encode;
pub mod input;
pub mod metrics;
pub mod record;
pub mod retry;
pub mod s3;
pub mod sample;
pub mod source;
pub mod store;
pub mod thumbnail;

use crate::error::{ErrorKind, ItemError};
use bytes::Bytes;
use decode::{decode_targets, Deadline, DecodeOptions, OpenVideo};
use encode::{FrameEncoder, SizeSpec};
use futures_util::FutureExt;
use input::InvalidRow;
use input::{InputRow, Item};
use metrics::{Metrics, Stage};
use record::{
    build_record, Derived, Extracted, ExtractorInfo, FetchRecord, FrameRecord, RecordSink,
    ResumeLog, SeenIds, ThumbnailRecord,
};
use sample::{pts_to_ms, Sampling};
use serde_json::{json, Map, Value};
use source::{Fetched, Source, VideoUrl};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::Arc;
use std::time::{Duration, Instant};
use store::{FrameStore, ItemKeys, ObjectMeta};
use tokio::runtime::Handle;
use tokio::sync::Semaphore;
use tokio::task::JoinHandle;

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
    /// Objects being uploaded at once, over all items; a worker whose frames would exceed it
    /// waits, so memory stays bounded when the store is slower than decoding.
    pub upload_concurrency: usize,
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

/// Builds the tokio runtime that fetches and uploads run on (I/O only; decoding stays on rayon).
pub fn io_runtime() -> std::io::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .thread_name("reelframe-io")
        .enable_all()
        .build()
}

/// Runs items through fetch → decode → encode → store.
pub struct Extractor {
    options: ExtractOptions,
    sampling_record: Value,
    extractor_info: ExtractorInfo,
    source: Arc<dyn Source>,
    store: Arc<dyn FrameStore>,
    metrics: Arc<Metrics>,
    runtime: Handle,
    uploads: Arc<Semaphore>,
}

/// An item decoded and encoded, whose objects may still be uploading.
pub struct Pending {
    derived: Derived,
    thumbnail: ThumbnailRecord,
    /// One upload per frame, in frame order, then the thumbnail's.
    uploads: Vec<JoinHandle<Result<String, crate::error::StoreError>>>,
}

fn panic_message(panic: Box<dyn std::any::Any + Send>) -> String {
    panic
        .downcast_ref::<String>()
        .cloned()
        .or_else(|| panic.downcast_ref::<&str>().map(|s| s.to_string()))
        .unwrap_or_else(|| "unknown panic".into())
}

fn panicked(stage: &str, panic: Box<dyn std::any::Any + Send>) -> ItemError {
    ItemError::new(
        ErrorKind::Internal,
        format!("panic while {stage}: {}", panic_message(panic)),
    )
}

impl Extractor {
    /// An extractor reading from `source` and writing to `store`; fetches and uploads run on
    /// `runtime` (see [`io_runtime`]).
    pub fn new(
        options: ExtractOptions,
        source: Arc<dyn Source>,
        store: Arc<dyn FrameStore>,
        runtime: Handle,
    ) -> Extractor {
        Extractor {
            sampling_record: options.sampling_record(),
            extractor_info: ExtractorInfo {
                name: "reelframe".into(),
                version: env!("CARGO_PKG_VERSION").into(),
                ffmpeg: decode::ffmpeg_version(),
            },
            uploads: Arc::new(Semaphore::new(options.upload_concurrency.max(1))),
            options,
            source,
            store,
            metrics: Arc::default(),
            runtime,
        }
    }

    /// The counters and stage times of everything this extractor has done.
    pub fn metrics(&self) -> &Metrics {
        &self.metrics
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

    /// Step 1 (async): fetches the item's video from its source.
    pub async fn fetch(&self, item: &Item) -> Result<Fetched, ItemError> {
        let url = VideoUrl::parse(&item.video_url)?;
        let fetched = self.source.fetch(&url).await?;
        self.metrics.add_time(Stage::Fetch, fetched.elapsed);
        self.metrics.add_bytes_in(fetched.bytes);
        Ok(fetched)
    }

    /// Starts storing one object; waits (blocking this thread) while `upload_concurrency`
    /// objects are already in flight. Call from a thread outside the runtime.
    fn start_upload(
        &self,
        key: String,
        bytes: Bytes,
        meta: ObjectMeta,
    ) -> JoinHandle<Result<String, crate::error::StoreError>> {
        let permit = self
            .runtime
            .block_on(Arc::clone(&self.uploads).acquire_owned())
            .expect("the upload semaphore is never closed");
        let store = Arc::clone(&self.store);
        let metrics = Arc::clone(&self.metrics);
        self.metrics.add_bytes_out(bytes.len() as u64);
        self.runtime.spawn(async move {
            let started = Instant::now();
            let result = store.put(key, bytes, meta).await;
            metrics.add_time(Stage::Store, started.elapsed());
            drop(permit);
            result
        })
    }

    /// Step 2 (blocking, CPU): decodes the target frames, encodes them as JPEGs and starts their
    /// uploads, then picks and encodes the thumbnail. Runs on the calling thread, which must not
    /// be one of the runtime's.
    pub fn process(&self, item: &Item, fetched: &Fetched) -> Result<Pending, ItemError> {
        let metrics = &*self.metrics;
        let deadline = Deadline::after(self.options.item_timeout);
        let mut video = metrics.time(Stage::Demux, || {
            OpenVideo::open(&fetched.data, fetched.bytes, deadline)
        })?;
        let timeline = metrics.time(Stage::Demux, || {
            video.scan(self.options.sampling.max_ms, deadline)
        })?;
        let (facts, orientation) = (video.facts.clone(), video.orientation);
        let plan = sample::plan(&timeline, &self.options.sampling)?;
        let platform = self.platform_of(item).to_string();
        let keys = ItemKeys::new(&platform, &item.content_id);
        let mut encoder = FrameEncoder::new(self.options.quality, self.options.size)?;
        let mut frames: Vec<Option<FrameRecord>> = vec![None; plan.targets.len()];
        let mut uploads = Vec::with_capacity(plan.targets.len() + 1);
        let mut picker = thumbnail::ThumbnailPicker::default();
        let time_base = timeline.time_base;
        let stats = decode_targets(
            &mut video,
            &fetched.data,
            &timeline,
            &plan,
            DecodeOptions::with_threads(self.options.decode_threads),
            deadline,
            |targets, frame| {
                let callback_started = Instant::now();
                let encoded = encoder.encode(frame, orientation)?;
                metrics.add_time(Stage::Convert, encoded.convert_time);
                let jpeg = Bytes::from(encoded.jpeg);
                let hash = blake3::hash(&jpeg).to_hex().to_string();
                metrics.add_time(
                    Stage::Encode,
                    callback_started
                        .elapsed()
                        .saturating_sub(encoded.convert_time),
                );
                let pts_ms = pts_to_ms(targets[0].pts, time_base);
                for target in targets {
                    let key = keys.frame(target.index, pts_ms);
                    let meta = ObjectMeta {
                        content_id: item.content_id.clone(),
                        pts_ms: Some(pts_ms),
                    };
                    uploads.push((
                        target.index,
                        self.start_upload(key.clone(), jpeg.clone(), meta),
                    ));
                    frames[target.index as usize] = Some(FrameRecord {
                        index: target.index,
                        target_ms: target.target_ms,
                        pts_ms,
                        key,
                        uri: String::new(),
                        width: encoded.width,
                        height: encoded.height,
                        bytes: jpeg.len() as u64,
                        blake3: hash.clone(),
                    });
                }
                picker.offer(targets[0].index as usize, &encoded.stats, &jpeg);
                if deadline.passed() {
                    return Err(ItemError::new(
                        ErrorKind::Timeout,
                        "encoding: deadline passed",
                    ));
                }
                Ok(())
            },
        )?;
        metrics.add_time(Stage::Demux, stats.demux_time);
        metrics.add_time(Stage::Decode, stats.decode_time);
        metrics.add_decoder_work(stats.packets_sent, stats.frames_decoded);
        let frames: Vec<FrameRecord> = frames
            .into_iter()
            .collect::<Option<Vec<_>>>()
            .ok_or_else(|| ItemError::new(ErrorKind::Internal, "a target frame has no record"))?;
        // frame order, so finish() can match each upload to its frame
        uploads.sort_by_key(|(index, _)| *index);
        let mut uploads: Vec<_> = uploads.into_iter().map(|(_, upload)| upload).collect();
        let (frame_index, chosen) = picker
            .pick()
            .ok_or_else(|| ItemError::new(ErrorKind::Internal, "no thumbnail candidate"))?;
        let (thumb, width, height) = metrics.time(Stage::Encode, || {
            thumbnail::make_thumbnail(
                chosen,
                self.options.thumbnail_max_side,
                self.options.quality,
            )
        })?;
        let thumb = Bytes::from(thumb);
        let thumb_key = keys.thumbnail();
        let thumbnail = ThumbnailRecord {
            key: thumb_key.clone(),
            uri: String::new(),
            width,
            height,
            bytes: thumb.len() as u64,
            blake3: blake3::hash(&thumb).to_hex().to_string(),
            frame_index: frame_index as u32,
        };
        uploads.push(self.start_upload(
            thumb_key,
            thumb,
            ObjectMeta {
                content_id: item.content_id.clone(),
                pts_ms: None,
            },
        ));
        Ok(Pending {
            derived: Derived {
                platform,
                frames,
                video: facts,
                sampling: self.sampling_record.clone(),
                extractor: self.extractor_info.clone(),
                fetch: Some(FetchRecord {
                    source: fetched.source.to_string(),
                    bytes: fetched.bytes,
                    attempts: fetched.attempts,
                    ms: fetched.elapsed.as_millis() as u64,
                }),
            },
            thumbnail,
            uploads,
        })
    }

    /// Step 3 (async): waits for every upload of `pending` and fills in the URIs. Fails if any
    /// object was not stored (every upload is still awaited, so none outlives the item).
    pub async fn finish(&self, pending: Pending) -> Result<Extracted, ItemError> {
        let Pending {
            mut derived,
            mut thumbnail,
            uploads,
        } = pending;
        let mut uris = Vec::with_capacity(uploads.len());
        let mut first_error: Option<ItemError> = None;
        for upload in uploads {
            match upload.await {
                Ok(Ok(uri)) => uris.push(uri),
                Ok(Err(err)) => {
                    first_error.get_or_insert(err.into());
                }
                Err(join) => {
                    first_error.get_or_insert(ItemError::new(
                        ErrorKind::Internal,
                        format!("an upload task failed: {join}"),
                    ));
                }
            }
        }
        if let Some(err) = first_error {
            return Err(err);
        }
        let thumb_uri = uris.pop().expect("the thumbnail upload is last");
        thumbnail.uri = thumb_uri;
        for (frame, uri) in derived.frames.iter_mut().zip(uris) {
            frame.uri = uri;
        }
        Ok(Extracted { derived, thumbnail })
    }

    /// Extracts one item (fetch, process, finish) on the calling thread, which must not be one of
    /// the runtime's. Panics inside become [`ErrorKind::Internal`] errors.
    pub fn extract(&self, item: &Item) -> Result<Extracted, ItemError> {
        let fetched = self.runtime.block_on(self.fetch_guarded(item))?;
        let pending = self.process_guarded(item, &fetched)?;
        drop(fetched);
        self.runtime.block_on(self.finish_guarded(pending))
    }

    async fn fetch_guarded(&self, item: &Item) -> Result<Fetched, ItemError> {
        AssertUnwindSafe(self.fetch(item))
            .catch_unwind()
            .await
            .unwrap_or_else(|panic| Err(panicked("fetching", panic)))
    }

    fn process_guarded(&self, item: &Item, fetched: &Fetched) -> Result<Pending, ItemError> {
        let span = tracing::info_span!("item", content_id = %item.content_id);
        let _enter = span.enter();
        catch_unwind(AssertUnwindSafe(|| self.process(item, fetched)))
            .unwrap_or_else(|panic| Err(panicked("extracting", panic)))
    }

    async fn finish_guarded(&self, pending: Pending) -> Result<Extracted, ItemError> {
        AssertUnwindSafe(self.finish(pending))
            .catch_unwind()
            .await
            .unwrap_or_else(|panic| Err(panicked("storing", panic)))
    }
}

/// The record of an input row that is not a usable item.
pub fn invalid_row_record(invalid: InvalidRow) -> (Map<String, Value>, Outcome) {
    let mut fields = invalid.fields;
    fields.insert("input".into(), Value::String(invalid.origin));
    let id = fields
        .get("content_id")
        .and_then(|v| input::content_id_text(v).ok());
    let record = build_record(fields, id.as_deref(), Err(&invalid.error));
    (record, Outcome::Failed(invalid.error.kind))
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

/// Receives progress as items move through the stages.
pub trait Progress: Send + Sync {
    /// An item was skipped (already done, or a duplicate).
    fn skipped(&self);
    /// A video was fetched (`bytes` long), or its fetch failed (`bytes` = 0).
    fn fetched(&self, _bytes: u64) {}
    /// A video was decoded and encoded; its uploads may still be running.
    fn decoded(&self) {}
    /// An item ended: its record is written.
    fn finished(&self, outcome: Outcome);
}

/// Progress that reports nothing.
pub struct NoProgress;

impl Progress for NoProgress {
    fn skipped(&self) {}
    fn finished(&self, _: Outcome) {}
}

/// How many items run at once.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RunSettings {
    /// Decode workers (rayon threads).
    pub jobs: usize,
    /// Videos fetched ahead of the decoders: at most `jobs + prefetch` videos are fetching,
    /// waiting or decoding at once, which bounds both memory and concurrent downloads.
    pub prefetch: usize,
}

type Record = (Map<String, Value>, Outcome);

/// Runs `rows` through `extractor`, writing one record per row to `sink`.
///
/// Rows whose content ID `resume` knows as done are skipped; a content ID seen twice in the input
/// is processed once (the repeat is counted in [`Summary::duplicates`] and logged). Returns when
/// every row has its record, or with the sink's error if records cannot be written. Must be
/// called from outside the extractor's runtime.
pub fn run(
    rows: impl Iterator<Item = InputRow>,
    extractor: &Arc<Extractor>,
    sink: &mut dyn RecordSink,
    resume: &ResumeLog,
    settings: RunSettings,
    progress: &dyn Progress,
) -> std::io::Result<Summary> {
    let jobs = settings.jobs.max(1);
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(jobs)
        .thread_name(|i| format!("reelframe-worker-{i}"))
        .build()
        .map_err(std::io::Error::other)?;
    let runtime = extractor.runtime.clone();
    let slots = Arc::new(Semaphore::new(jobs + settings.prefetch));
    type Fetching = (
        Item,
        Result<Fetched, ItemError>,
        tokio::sync::OwnedSemaphorePermit,
    );
    // Both channels are unbounded in type but bounded in use: `slots` caps the items between
    // fetch and the end of decoding, `upload_concurrency` the objects in flight.
    let (fetched_tx, fetched_rx) = crossbeam_channel::unbounded::<Fetching>();
    let (record_tx, record_rx) = crossbeam_channel::unbounded::<Record>();
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
                let fetched_rx = fetched_rx.clone();
                let record_tx = record_tx.clone();
                let runtime = runtime.clone();
                workers.spawn(move |_| {
                    for (item, fetched, slot) in fetched_rx {
                        progress.fetched(fetched.as_ref().map_or(0, |f| f.bytes));
                        let pending = fetched.and_then(|f| extractor.process_guarded(&item, &f));
                        drop(slot);
                        progress.decoded();
                        match pending {
                            Err(err) => {
                                let _ = record_tx.send(item_record(item, Err(err)));
                            }
                            Ok(pending) => {
                                let extractor = Arc::clone(extractor);
                                let record_tx = record_tx.clone();
                                runtime.spawn(async move {
                                    let result = extractor.finish_guarded(pending).await;
                                    let _ = record_tx.send(item_record(item, result));
                                });
                            }
                        }
                    }
                });
            }
            drop(fetched_rx);
            let mut seen = SeenIds::default();
            for row in rows {
                let item = match row {
                    Err(invalid) => {
                        let _ = record_tx.send(invalid_row_record(*invalid));
                        continue;
                    }
                    Ok(item) => item,
                };
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
                let slot = runtime
                    .block_on(Arc::clone(&slots).acquire_owned())
                    .expect("the slot semaphore is never closed");
                let extractor = Arc::clone(extractor);
                let fetched_tx = fetched_tx.clone();
                runtime.spawn(async move {
                    let fetched = extractor.fetch_guarded(&item).await;
                    let _ = fetched_tx.send((item, fetched, slot));
                });
            }
            drop(fetched_tx);
            drop(record_tx);
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
