//! The server's shared state: admission (extraction slots and a bounded wait queue), coalescing
//! of requests for the same item, and the answers already in the store ([`super::answers`]: a
//! JSONL journal of records, the same records `extract` writes, indexed in memory, and the most
//! recent answers kept parsed).

use super::answers::{Answers, Found, Key};
use super::error::ApiError;
use super::metrics::{Avoided, ServeMetrics};
use super::request::FramesRequest;
use crate::error::{ErrorKind, ItemError};
use crate::pipeline::input::Item;
use crate::pipeline::record::{build_record, Extracted};
use crate::pipeline::Extractor;
use futures_util::future::{BoxFuture, Shared};
use futures_util::FutureExt;
use serde_json::{Map, Value};
use std::collections::HashMap;
use std::num::NonZeroUsize;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering::Relaxed};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::sync::Semaphore;

/// How the server runs, checked (see `ServeConfig`).
#[derive(Debug, Clone)]
pub struct ServeSettings {
    /// Extractions running at once.
    pub max_inflight: usize,
    /// Extractions waiting for a slot at most; beyond it, 503 at once.
    pub max_queue: usize,
    /// Longest time from a request to its answer (504 after).
    pub request_timeout: Duration,
    /// Largest request body in bytes (413 above).
    pub max_body: usize,
    /// The bearer token clients must send, if any.
    pub token: Option<String>,
    /// Canonical directories local `video_uri`s may be in (empty: none).
    pub allow_roots: Vec<PathBuf>,
    /// Threads inside each decoder; `None`: the cores divided among the running extractions, so
    /// a lone request gets them all.
    pub decode_threads: Option<usize>,
    /// Cores to divide.
    pub cores: usize,
    /// The JSONL file answers are appended to and read back from at start, if any.
    pub journal: Option<PathBuf>,
    /// Answers kept whole in memory (the most recently used); older ones are read back from the
    /// journal, or extracted again without one.
    pub answer_cache: NonZeroUsize,
}

/// Says whether the store can be reached (`GET /readyz`).
pub type ReadyCheck = Arc<dyn Fn() -> BoxFuture<'static, Result<(), String>> + Send + Sync>;

pub use super::answers::Answer;
type Outcome = Result<Answer, ApiError>;

/// How a request was answered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AnswerSource {
    /// This request's own extraction.
    Decoded,
    /// Another request's extraction of the same item, running when this one came.
    Coalesced,
    /// The store already had it.
    Store,
}

impl AnswerSource {
    /// The name sent in the `X-Reelframe-Source` header and the access log.
    pub fn name(self) -> &'static str {
        match self {
            AnswerSource::Decoded => "decoded",
            AnswerSource::Coalesced => "coalesced",
            AnswerSource::Store => "store",
        }
    }
}

/// The extractions running now, which a request for the same item joins.
type Running = HashMap<Key, Shared<BoxFuture<'static, Outcome>>>;

/// Everything the routes share.
pub struct ServeState {
    /// The checked settings.
    pub settings: ServeSettings,
    /// The counters `/metrics` shows.
    pub metrics: ServeMetrics,
    extractor: Arc<Extractor>,
    slots: Arc<Semaphore>,
    running: Mutex<Running>,
    answers: Answers,
    ready: ReadyCheck,
    next_id: AtomicU64,
    stopping: AtomicBool,
}

fn key_of(request: &FramesRequest) -> Key {
    Key {
        platform: request.platform.clone(),
        content_id: request.content_id.clone(),
        sampling: request.options.sampling_record().to_string(),
    }
}

impl ServeState {
    /// The state of a server extracting with `extractor` (its options are the defaults each
    /// request may override); the journal, if any, is read back and opened for appending.
    pub fn new(
        settings: ServeSettings,
        extractor: Extractor,
        ready: ReadyCheck,
    ) -> std::io::Result<ServeState> {
        let answers = Answers::open(
            settings.journal.as_deref(),
            settings.answer_cache,
            extractor.sampling_record().to_string(),
        )?;
        tracing::debug!(answers = answers.indexed(), "journal indexed");
        Ok(ServeState {
            slots: Arc::new(Semaphore::new(settings.max_inflight)),
            settings,
            metrics: ServeMetrics::default(),
            extractor: Arc::new(extractor),
            running: Mutex::default(),
            answers,
            ready,
            next_id: AtomicU64::new(1),
            stopping: AtomicBool::new(false),
        })
    }

    /// The base options (the server's defaults).
    pub fn extractor(&self) -> &Extractor {
        &self.extractor
    }

    /// A new request ID.
    pub fn next_request_id(&self) -> u64 {
        self.next_id.fetch_add(1, Relaxed)
    }

    /// Marks the server as stopping: `/readyz` answers 503 from now on.
    pub fn stop(&self) {
        self.stopping.store(true, Relaxed);
    }

    /// Whether the server is stopping.
    pub fn stopping(&self) -> bool {
        self.stopping.load(Relaxed)
    }

    /// Checks that the store can be reached.
    pub async fn ready(&self) -> Result<(), String> {
        (self.ready)().await
    }

    /// Answers one request: from the store, by joining the running extraction of the same item,
    /// or by extracting it, within the request deadline.
    pub async fn answer(
        self: &Arc<Self>,
        request: FramesRequest,
        id: u64,
    ) -> (Result<Answer, ApiError>, AnswerSource) {
        let deadline = tokio::time::Instant::now() + self.settings.request_timeout;
        let key = key_of(&request);
        if !request.force {
            let found = match self.answers.find(&key) {
                Found::Answer(answer) => Some(answer),
                Found::Line(line) => {
                    let (state, key) = (Arc::clone(self), key.clone());
                    tokio::task::spawn_blocking(move || state.answers.read(&key, line))
                        .await
                        .ok()
                        .flatten()
                }
                Found::None => None,
            };
            if let Some(answer) = found {
                self.metrics.avoided(Avoided::Store);
                return (Ok(answer), AnswerSource::Store);
            }
        }
        let (outcome, source) = {
            let mut running = self.running.lock().expect("running lock");
            // an extraction of this item may have ended since: its answer is the most recent
            if let (false, Found::Answer(answer)) = (request.force, self.answers.find(&key)) {
                self.metrics.avoided(Avoided::Store);
                return (Ok(answer), AnswerSource::Store);
            }
            match running.get(&key) {
                Some(running) => {
                    self.metrics.avoided(Avoided::Coalesced);
                    (running.clone(), AnswerSource::Coalesced)
                }
                None => {
                    let state = Arc::clone(self);
                    let work_key = key.clone();
                    let task = tokio::spawn(async move {
                        // a successful extraction keeps its answer before it stops running
                        let outcome = state.extract(request, id, deadline).await;
                        state
                            .running
                            .lock()
                            .expect("running lock")
                            .remove(&work_key);
                        outcome
                    });
                    let shared = async move {
                        task.await.unwrap_or_else(|join| {
                            Err(ApiError::from(&ItemError::new(
                                ErrorKind::Internal,
                                format!("the extraction task failed: {join}"),
                            )))
                        })
                    }
                    .boxed()
                    .shared();
                    running.insert(key, shared.clone());
                    (shared, AnswerSource::Decoded)
                }
            }
        };
        match tokio::time::timeout_at(deadline, outcome).await {
            Ok(outcome) => (outcome, source),
            Err(_) => (
                Err(ApiError::deadline(
                    self.settings.request_timeout.as_secs_f64(),
                )),
                source,
            ),
        }
    }

    /// Seconds a refused client should wait: the mean extraction time so far, 1 to 60.
    fn retry_after(&self) -> u64 {
        self.metrics
            .mean_extraction_seconds()
            .map_or(1, |mean| mean.ceil().clamp(1.0, 60.0) as u64)
    }

    /// Waits for an extraction slot: at once if one is free, in the queue if it has room,
    /// otherwise 503.
    async fn admit(
        &self,
        deadline: tokio::time::Instant,
    ) -> Result<tokio::sync::OwnedSemaphorePermit, ApiError> {
        if let Ok(permit) = Arc::clone(&self.slots).try_acquire_owned() {
            return Ok(permit);
        }
        let queued = self.metrics.queued.fetch_add(1, Relaxed) + 1;
        if queued > self.settings.max_queue as u64 {
            self.metrics.queued.fetch_sub(1, Relaxed);
            self.metrics.rejected();
            return Err(ApiError::saturated(self.retry_after()));
        }
        let waited =
            tokio::time::timeout_at(deadline, Arc::clone(&self.slots).acquire_owned()).await;
        self.metrics.queued.fetch_sub(1, Relaxed);
        match waited {
            Ok(Ok(permit)) => Ok(permit),
            Ok(Err(_closed)) => Err(ApiError::saturated(1)),
            Err(_) => Err(ApiError::deadline(
                self.settings.request_timeout.as_secs_f64(),
            )),
        }
    }

    /// Extracts one item in a slot: fetch (async), decode and encode on a blocking thread,
    /// finish the uploads (async); then journals the record.
    async fn extract(
        self: &Arc<Self>,
        request: FramesRequest,
        id: u64,
        deadline: tokio::time::Instant,
    ) -> Outcome {
        let key = key_of(&request);
        let _permit = self.admit(deadline).await?;
        let running = self.metrics.inflight.fetch_add(1, Relaxed) + 1;
        let _running = InflightGuard(self);
        let mut options = request.options.clone();
        options.decode_threads = self
            .settings
            .decode_threads
            .unwrap_or_else(|| (self.settings.cores / running as usize).max(1));
        options.item_timeout = deadline
            .saturating_duration_since(tokio::time::Instant::now())
            .max(Duration::from_millis(1));
        let extractor = Arc::new(self.extractor.with_options(options));
        let mut fields = Map::new();
        fields.insert(
            "content_id".into(),
            Value::String(request.content_id.clone()),
        );
        fields.insert("video_url".into(), Value::String(request.video_url.clone()));
        fields.insert("platform".into(), Value::String(request.platform.clone()));
        let item = Item {
            content_id: request.content_id.clone(),
            video_url: request.video_url.clone(),
            fields,
            origin: format!("request {id}"),
        };
        self.metrics.decode_started();
        let started = Instant::now();
        let result = run_item(&extractor, item.clone()).await;
        let ok = result.as_ref().ok().map(|e| {
            let bytes_out =
                e.derived.frames.iter().map(|f| f.bytes).sum::<u64>() + e.thumbnail.bytes;
            let bytes_in = e.derived.fetch.as_ref().map_or(0, |f| f.bytes);
            (e.derived.frames.len() as u64, bytes_in, bytes_out)
        });
        self.metrics.extraction(started.elapsed(), ok);
        let extracted = result.map_err(|err| {
            tracing::warn!(id, content_id = %item.content_id, "{err}");
            ApiError::from(&err)
        })?;
        let record = build_record(item.fields, Some(&item.content_id), Ok(&extracted));
        Ok(self.answers.keep(&key, &record))
    }
}

/// Decrements the in-flight gauge when an extraction ends, however it ends.
struct InflightGuard<'a>(&'a ServeState);

impl Drop for InflightGuard<'_> {
    fn drop(&mut self) {
        self.0.metrics.inflight.fetch_sub(1, Relaxed);
    }
}

/// fetch → process (on a blocking thread, never the executor) → finish.
async fn run_item(extractor: &Arc<Extractor>, item: Item) -> Result<Extracted, ItemError> {
    let fetched = extractor.fetch_guarded(&item).await?;
    let worker = Arc::clone(extractor);
    let pending = tokio::task::spawn_blocking(move || worker.process_guarded(&item, &fetched))
        .await
        .map_err(|join| {
            ItemError::new(
                ErrorKind::Internal,
                format!("the decoding thread failed: {join}"),
            )
        })??;
    extractor.finish_guarded(pending).await
}
