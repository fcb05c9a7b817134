/*!
One item, start to end: fetch → demux → sample → decode → encode → store → the record's
`derived` and `thumbnail` objects.

An item goes through three steps, each a method of [`Extractor`]:
[`fetch`](Extractor::fetch) (async, on the I/O runtime: local, HTTP or S3),
[`process`](Extractor::process) (blocking CPU work on a worker thread: demux, decode, sample,
convert, JPEG-encode; each frame's upload starts as soon as it is encoded) and
[`finish`](Extractor::finish) (async: wait for the uploads, fill in the URIs).
[`Extractor::extract`] runs all three for one item; `run.rs` runs many.
*/

use crate::error::{ErrorKind, ItemError};
use crate::pipeline::deadline::Deadline;
use crate::pipeline::decode::{decode_targets, DecodeOptions};
use crate::pipeline::demux::OpenVideo;
use crate::pipeline::encode::{FrameEncoder, SizeSpec};
use crate::pipeline::ffi;
use crate::pipeline::input::Item;
use crate::pipeline::metrics::{Metrics, Stage};
use crate::pipeline::record::{
    Derived, Extracted, ExtractorInfo, FetchRecord, FrameRecord, ThumbnailRecord,
};
use crate::pipeline::sample::{self, pts_to_ms, Sampling};
use crate::pipeline::source::{Fetched, Source, VideoUrl};
use crate::pipeline::store::{FrameStore, ItemKeys, ObjectMeta};
use crate::pipeline::thumbnail;
use bytes::Bytes;
use futures_util::FutureExt;
use serde_json::{json, Value};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::Arc;
use std::time::{Duration, Instant};
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
    /// `runtime` (see [`crate::pipeline::net::io_runtime`]).
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
                ffmpeg: ffi::ffmpeg_version(),
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

    /// The runtime fetches and uploads run on.
    pub fn runtime(&self) -> &Handle {
        &self.runtime
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
        // the folder now holds exactly the record's files: drop those of earlier samplings
        let keep: Vec<String> = derived
            .frames
            .iter()
            .map(|f| f.key.clone())
            .chain([thumbnail.key.clone()])
            .collect();
        if let Some((prefix, _)) = thumbnail.key.rsplit_once('/') {
            self.store
                .remove_stale(prefix.to_string(), keep)
                .await
                .map_err(ItemError::from)?;
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

    pub(crate) async fn fetch_guarded(&self, item: &Item) -> Result<Fetched, ItemError> {
        AssertUnwindSafe(self.fetch(item))
            .catch_unwind()
            .await
            .unwrap_or_else(|panic| Err(panicked("fetching", panic)))
    }

    pub(crate) fn process_guarded(
        &self,
        item: &Item,
        fetched: &Fetched,
    ) -> Result<Pending, ItemError> {
        let span = tracing::info_span!("item", content_id = %item.content_id);
        let _enter = span.enter();
        catch_unwind(AssertUnwindSafe(|| self.process(item, fetched)))
            .unwrap_or_else(|panic| Err(panicked("extracting", panic)))
    }

    pub(crate) async fn finish_guarded(&self, pending: Pending) -> Result<Extracted, ItemError> {
        AssertUnwindSafe(self.finish(pending))
            .catch_unwind()
            .await
            .unwrap_or_else(|panic| Err(panicked("storing", panic)))
    }
}
