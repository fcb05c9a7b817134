/*!
Many items: a stream of input rows through [`Extractor`]s, one record per row.

Fetches run concurrently on the I/O runtime, at most `jobs + prefetch` videos are held in memory
at once (fetching, waiting or decoding), `jobs` rayon workers decode, uploads overlap the decoding
of the next video, and a single writer thread turns every outcome into exactly one record through
a [`RecordSink`]. Memory stays flat for an input of any length.
*/

use crate::error::ItemError;
use crate::pipeline::extract::Extractor;
use crate::pipeline::input::{InputRow, Item};
use crate::pipeline::metrics::{Outcome, Summary};
use crate::pipeline::record::{
    duplicate_record, invalid_row_record, item_record, RecordSink, ResumeLog, SeenIds,
};
use crate::pipeline::source::Fetched;
use serde_json::{Map, Value};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use tokio::sync::Semaphore;

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

/// A decoder crash records how many runs it has cost: 1, or 2 when an earlier run's decoder
/// crashed on the same item too (that record is then final, see [`ResumeLog::crashed_before`]).
fn count_crash(err: ItemError, resume: &ResumeLog, item: &Item) -> ItemError {
    if err.kind != crate::error::ErrorKind::DecoderCrashed {
        return err;
    }
    let attempts = if resume.crashed_before(&item.content_id) {
        2
    } else {
        1
    };
    err.after_attempts(attempts)
}

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
    let runtime = extractor.runtime().clone();
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
    // Set when records can no longer be written (a full disk): no new item starts, since its
    // record could not be kept; the items in flight finish and the run ends with the error.
    let stop = AtomicBool::new(false);

    std::thread::scope(|scope| {
        // The single writer: one record per row, flushed as it arrives.
        let writer = scope.spawn(|| {
            let mut counts = Summary::default();
            for (record, outcome) in record_rx {
                if sink_error.is_none() {
                    if let Err(err) = sink.write(&record) {
                        sink_error = Some(err);
                        stop.store(true, Ordering::SeqCst);
                    }
                }
                match outcome {
                    Outcome::Done { frames } => {
                        counts.done += 1;
                        counts.frames += frames;
                    }
                    Outcome::Failed(_) => counts.failed += 1,
                    Outcome::Duplicate => counts.duplicates += 1,
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
                                let err = count_crash(err, resume, &item);
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
                if stop.load(Ordering::SeqCst) {
                    break;
                }
                let item = match row {
                    Err(invalid) => {
                        let _ = record_tx.send(invalid_row_record(*invalid));
                        continue;
                    }
                    Ok(item) => item,
                };
                if let Some(first) = seen.insert(&item.content_id, &item.origin) {
                    tracing::warn!(origin = %item.origin, content_id = %item.content_id, first = %first, "duplicate content_id in the input: processed once");
                    let record = duplicate_record(item, first);
                    let _ = record_tx.send(record);
                    continue;
                }
                if resume.is_done(&item.content_id) {
                    summary.skipped += 1;
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
        // every worker thread's decoder process exits now, waited for, not at some later drop
        pool.broadcast(|_| crate::pipeline::isolate::stop_decoder());
        let counts = writer.join().expect("record writer panicked");
        summary.done = counts.done;
        summary.failed = counts.failed;
        summary.duplicates = counts.duplicates;
        summary.frames = counts.frames;
    });
    match sink_error {
        Some(err) => Err(err),
        None => Ok(summary),
    }
}
