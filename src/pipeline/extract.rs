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
use crate::pipeline::contact_sheet::ContactSheet;
use crate::pipeline::deadline::Deadline;
use crate::pipeline::decode::{decode_targets, DecodeOptions};
use crate::pipeline::demux::OpenVideo;
use crate::pipeline::encode::FrameEncoder;
use crate::pipeline::ffi;
use crate::pipeline::input::Item;
use crate::pipeline::isolate::{self, Isolation};
use crate::pipeline::metrics::{Metrics, Stage};
pub use crate::pipeline::options::{ExtractOptions, Hashes};
use crate::pipeline::record::{
    ContactSheetRecord, Derived, Extracted, ExtractorInfo, FetchRecord, FrameRecord,
    ThumbnailRecord,
};
use crate::pipeline::sample::{self, pts_to_ms};
use crate::pipeline::source::{Fetched, Source, VideoUrl};
use crate::pipeline::store::{FrameStore, ItemKeys, ObjectMeta, Upload};
use crate::pipeline::thumbnail;
use crate::pipeline::tonemap::HdrMode;
use bytes::Bytes;
use futures_util::FutureExt;
use serde_json::Value;
use std::collections::HashMap;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::Arc;
use std::time::Instant;
use tokio::runtime::Handle;
use tokio::sync::Semaphore;
use tokio::task::JoinHandle;

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
    isolation: Option<Isolation>,
}

/// An item decoded and encoded, whose objects may still be uploading.
pub struct Pending {
    derived: Derived,
    thumbnail: ThumbnailRecord,
    /// One upload per frame, in frame order, then the thumbnail's, then the contact sheet's.
    uploads: Vec<Upload>,
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

/// How `fetched` was fetched, as the record says it.
fn fetch_record(fetched: &Fetched) -> FetchRecord {
    FetchRecord {
        source: fetched.source.to_string(),
        bytes: fetched.bytes,
        attempts: fetched.attempts,
        ms: fetched.elapsed.as_millis() as u64,
    }
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
            isolation: None,
        }
    }

    /// The same extractor, decoding in supervised decoder processes instead of in this one (see
    /// [`crate::pipeline::isolate`]).
    pub fn with_isolation(mut self, isolation: Isolation) -> Extractor {
        self.isolation = Some(isolation);
        self
    }

    /// An extractor with other options sharing this one's source, store, runtime, metrics and
    /// upload limit: per-request sampling and decoder threads (`reelframe serve`).
    pub fn with_options(&self, options: ExtractOptions) -> Extractor {
        Extractor {
            sampling_record: options.sampling_record(),
            extractor_info: self.extractor_info.clone(),
            options,
            source: Arc::clone(&self.source),
            store: Arc::clone(&self.store),
            metrics: Arc::clone(&self.metrics),
            runtime: self.runtime.clone(),
            uploads: Arc::clone(&self.uploads),
            isolation: self.isolation.clone(),
        }
    }

    /// The options items are extracted with.
    pub fn options(&self) -> &ExtractOptions {
        &self.options
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
        let pixels = u64::from(video.facts.width) * u64::from(video.facts.height);
        if pixels > self.options.max_pixels {
            return Err(ItemError::new(
                ErrorKind::FrameTooLarge,
                format!(
                    "frames are {}x{} ({pixels} pixels), more than --max-pixels {}",
                    video.facts.width, video.facts.height, self.options.max_pixels
                ),
            ));
        }
        let timeline = metrics.time(Stage::Demux, || {
            video.scan(self.options.sampling.max_ms, deadline)
        })?;
        let (mut facts, orientation) = (video.facts.clone(), video.orientation);
        let tone_map = facts.hdr.filter(|_| self.options.hdr == HdrMode::ToneMap);
        facts.tone_mapped = tone_map.is_some();
        let plan = sample::plan(&timeline, &self.options.sampling)?;
        if let Some(cut) = video.truncation {
            return Err(ItemError::new(
                ErrorKind::Truncated,
                format!(
                    "the file ends after {} of the {} video packets its index lists (at {} ms): \
                     {} target frames lie in the part that is there, the rest are missing; \
                     fetch the whole file again",
                    cut.packets_read,
                    cut.packets_indexed,
                    timeline.duration_ms(),
                    plan.targets.len()
                ),
            ));
        }
        let platform = self.platform_of(item).to_string();
        let keys = ItemKeys::new(&platform, &item.content_id)
            .in_folder(self.options.key_folder.as_deref());
        let mut encoder = FrameEncoder::new(self.options.quality, self.options.size)?
            .with_pdq(self.options.hashes == Hashes::Pdq);
        encoder.set_tone_mapping(tone_map);
        let mut frames: Vec<Option<FrameRecord>> = vec![None; plan.targets.len()];
        let mut uploads = Vec::with_capacity(plan.targets.len() + 1);
        let mut picker = thumbnail::ThumbnailPicker::default();
        let mut sheet = self
            .options
            .contact_sheet
            .then(|| ContactSheet::new(plan.targets.len()));
        let time_base = timeline.time_base;
        let stats = decode_targets(
            &mut video,
            &fetched.data,
            &timeline,
            &plan,
            DecodeOptions {
                max_pixels: self.options.max_pixels,
                ..DecodeOptions::with_threads(self.options.decode_threads)
            },
            deadline,
            |targets, frame| {
                let callback_started = Instant::now();
                let pts_ms = timeline.relative_ms(targets[0].pts);
                let encoded = encoder.encode_with(frame, orientation, |picture| {
                    if let Some(sheet) = sheet.as_mut() {
                        let indices: Vec<usize> =
                            targets.iter().map(|t| t.index as usize).collect();
                        sheet.add(&indices, pts_ms, picture);
                    }
                })?;
                metrics.add_time(Stage::Convert, encoded.convert_time);
                let jpeg = Bytes::from(encoded.jpeg);
                let hash = blake3::hash(&jpeg).to_hex().to_string();
                metrics.add_time(
                    Stage::Encode,
                    callback_started
                        .elapsed()
                        .saturating_sub(encoded.convert_time),
                );
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
                        stream_pts: targets[0].pts,
                        stream_pts_ms: pts_to_ms(targets[0].pts, time_base),
                        key,
                        uri: String::new(),
                        width: encoded.width,
                        height: encoded.height,
                        bytes: jpeg.len() as u64,
                        blake3: hash.clone(),
                        pdq: encoded.pdq.map(|p| p.hash.to_string()),
                        pdq_quality: encoded.pdq.map(|p| p.quality),
                        pdq_mirror: encoded.pdq.map(|p| p.mirror.to_string()),
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
        let frames: Vec<FrameRecord> =
            frames
                .into_iter()
                .collect::<Option<Vec<_>>>()
                .ok_or_else(|| {
                    ItemError::new(ErrorKind::DecodeFailed, "a target frame was not decoded")
                })?;
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
        let contact_sheet = match sheet {
            Some(sheet) => {
                let made = metrics.time(Stage::Encode, || sheet.finish(self.options.quality))?;
                made.map(|(jpeg, width, height)| {
                    let jpeg = Bytes::from(jpeg);
                    let key = keys.contact_sheet();
                    let layout = sheet.layout().expect("a made sheet has a layout");
                    let record = ContactSheetRecord {
                        key: key.clone(),
                        uri: String::new(),
                        width,
                        height,
                        bytes: jpeg.len() as u64,
                        blake3: blake3::hash(&jpeg).to_hex().to_string(),
                        columns: layout.columns,
                        rows: layout.rows,
                    };
                    let meta = ObjectMeta {
                        content_id: item.content_id.clone(),
                        pts_ms: None,
                    };
                    uploads.push(self.start_upload(key, jpeg, meta));
                    record
                })
            }
            None => None,
        };
        Ok(Pending {
            derived: Derived {
                platform,
                frames,
                video: facts,
                sampling: self.sampling_record.clone(),
                extractor: self.extractor_info.clone(),
                fetch: Some(fetch_record(fetched)),
                contact_sheet,
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
            .chain(derived.contact_sheet.iter().map(|s| s.key.clone()))
            .collect();
        if let Some((prefix, _)) = thumbnail.key.rsplit_once('/') {
            self.store
                .remove_stale(prefix.to_string(), keep)
                .await
                .map_err(ItemError::from)?;
        }
        if let Some(sheet) = derived.contact_sheet.as_mut() {
            sheet.uri = uris.pop().expect("the contact sheet upload is last");
        }
        let thumb_uri = uris
            .pop()
            .expect("the thumbnail upload comes after the frames'");
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
        catch_unwind(AssertUnwindSafe(|| match &self.isolation {
            Some(isolation) => self.process_isolated(isolation, item, fetched),
            None => self.process(item, fetched),
        }))
        .unwrap_or_else(|panic| Err(panicked("extracting", panic)))
    }

    /// Step 2 in a decoder process: the same work as [`Extractor::process`], done by this
    /// thread's decoder process, whose objects are stored here as they arrive.
    fn process_isolated(
        &self,
        isolation: &Isolation,
        item: &Item,
        fetched: &Fetched,
    ) -> Result<Pending, ItemError> {
        let mut uploads = HashMap::new();
        let outcome = isolate::run_isolated(
            isolation,
            &self.options,
            item,
            fetched,
            self.options.item_timeout,
            &self.metrics,
            &mut |key, bytes, meta| {
                let upload = self.start_upload(key.clone(), bytes, meta);
                uploads.insert(key, upload);
            },
        )?;
        match outcome {
            isolate::Outcome::Failed(error) => Err(error),
            isolate::Outcome::Done(mut extracted) => {
                extracted.derived.fetch = Some(fetch_record(fetched));
                let ordered = isolate::order_uploads(&extracted, uploads)?;
                let Extracted { derived, thumbnail } = *extracted;
                Ok(Pending {
                    derived,
                    thumbnail,
                    uploads: ordered,
                })
            }
        }
    }

    pub(crate) async fn finish_guarded(&self, pending: Pending) -> Result<Extracted, ItemError> {
        AssertUnwindSafe(self.finish(pending))
            .catch_unwind()
            .await
            .unwrap_or_else(|panic| Err(panicked("storing", panic)))
    }
}
