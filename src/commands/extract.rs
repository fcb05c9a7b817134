//! `reelframe extract`: inputs → pipeline → records, with progress and a summary.

use super::progress::{Display, RunProgress};
use super::{interrupt, outputs};
use crate::config::{ExtractConfig, RecordsTarget, StoreTarget};
use crate::pipeline::demux::init_ffmpeg;
use crate::pipeline::input::open::{count_rows, download_list, open_rows, InputSpec};
use crate::pipeline::input::InputRow;
use crate::pipeline::isolate::Isolation;
use crate::pipeline::metrics::Summary;
use crate::pipeline::net::io_runtime;
use crate::pipeline::net::s3::LazyClient;
use crate::pipeline::record::avro::write_avro_from_jsonl;
use crate::pipeline::record::sink::{S3JournalSink, S3Records};
use crate::pipeline::record::{JsonlSink, RecordSink, ResumeLog};
use crate::pipeline::run::{run as run_items, RunSettings};
use crate::pipeline::source::{HttpSource, LocalSource, S3Source, Sources};
use crate::pipeline::store::{DirStore, FrameStore, S3Store};
use crate::pipeline::Extractor;
use anyhow::{Context, Result};
use std::io::{self, IsTerminal};
use std::sync::Arc;
use std::time::Instant;

/// Exit code when every item succeeded (or was already done).
pub const EXIT_OK: i32 = 0;
/// Exit code when some items failed; their records say why.
pub const EXIT_ITEMS_FAILED: i32 = 1;

/// The sources for this run: local files, HTTP(S), and S3 through `s3` (a client built on first
/// use, so runs that never touch S3 never read the AWS configuration).
fn sources(config: &ExtractConfig, s3: &Arc<LazyClient>) -> Result<Sources> {
    let limits = config.network.limits.clone();
    Ok(Sources {
        local: LocalSource {
            max_bytes: config.max_bytes,
        },
        http: Some(HttpSource::new(limits.clone()).context("setting up the HTTP client")?),
        s3: Some(S3Source::new(Arc::clone(s3), limits)),
    })
}

/// Runs `reelframe extract` and returns the exit code (0 all done, 1 some items failed).
/// Setup failures (unreadable input list, unwritable output) are errors: exit code 2.
/// `styled` is whether stderr takes colours (the bar itself is drawn only on a terminal).
pub fn run(config: &ExtractConfig, styled: bool) -> Result<i32> {
    let _ = styled;
    outputs::check(config)?;
    init_ffmpeg(false);
    let started = Instant::now();
    let runtime = io_runtime().context("starting the I/O runtime")?;
    let s3 = Arc::new(LazyClient::new(
        config.network.s3.clone(),
        config.network.limits.clone(),
    ));
    let s3_client = match (&config.store, &config.records) {
        (StoreTarget::S3(_), _) | (_, RecordsTarget::S3 { .. }) => Some(
            runtime
                .block_on(s3.get())
                .map_err(|err| anyhow::anyhow!("{}", err.message))?
                .clone(),
        ),
        _ => None,
    };
    let sources = sources(config, &s3)?;
    let store: Arc<dyn FrameStore> = match &config.store {
        StoreTarget::Dir(dir) => Arc::new(
            DirStore::new(dir)
                .with_context(|| format!("creating --out directory {}", dir.display()))?,
        ),
        StoreTarget::S3(location) => {
            let client = s3_client.clone().expect("an S3 store has a client");
            let store = S3Store::new(
                client,
                location.clone(),
                config.network.public_url_base.clone(),
                config.network.limits.clone(),
            );
            runtime
                .block_on(store.check())
                .map_err(|err| anyhow::anyhow!("checking --out {location}: {}", err.message))?;
            Arc::new(store)
        }
    };
    // one owner per records file: a second run on the same output stops here, before any work
    let records_lock = config
        .records
        .journal()
        .map(|journal| outputs::lock_records(journal, &config.store, "extract"))
        .transpose()?;
    // remote input lists: downloaded first (to temporary files that live until the end)
    let mut inputs = Vec::with_capacity(config.inputs.len());
    let mut _downloaded_lists = Vec::new();
    for spec in &config.inputs {
        match spec {
            InputSpec::Remote(url, format) => {
                let (local, file) = runtime.block_on(download_list(url, *format, &sources))?;
                inputs.push(local);
                _downloaded_lists.push(file);
            }
            other => inputs.push(other.clone()),
        }
    }
    let mut extractor = Extractor::new(
        config.options.clone(),
        Arc::new(sources),
        store,
        runtime.handle().clone(),
    );
    if config.isolate {
        let isolation = Isolation::of_this_binary(config.max_bytes)
            .context("finding the reelframe executable")?;
        extractor = extractor.with_isolation(isolation);
    }
    let extractor = Arc::new(extractor);
    let rows = open_rows(&inputs, &config.defaults)?;
    let rows: Box<dyn Iterator<Item = InputRow>> = match config.shard {
        Some(shard) => Box::new(rows.filter(move |row| shard.owns(row))),
        None => rows,
    };

    let records_object = match (&config.records, &s3_client) {
        (RecordsTarget::S3 { location, .. }, Some(client)) => Some(S3Records::new(
            client.clone(),
            location.clone(),
            config.network.limits.clone(),
        )),
        _ => None,
    };
    if let (RecordsTarget::S3 { journal, .. }, Some(object), false) =
        (&config.records, &records_object, config.force)
    {
        if !journal.exists() {
            let restored = runtime
                .block_on(object.restore(journal))
                .with_context(|| format!("reading earlier records {}", object.location()))?;
            if restored {
                tracing::info!(location = %object.location(), journal = %journal.display(), "resuming from the records object");
            }
        }
    }
    enum Sink {
        Plain(Box<dyn RecordSink>),
        S3(Box<S3JournalSink>),
    }
    let (resume, mut sink) = match config.records.journal() {
        None => (
            ResumeLog::empty(),
            Sink::Plain(Box::new(JsonlSink::new(io::stdout()))),
        ),
        Some(path) => {
            let (resume, file) =
                ResumeLog::open(path, extractor.sampling_record(), config.force)
                    .with_context(|| format!("opening records file {}", path.display()))?;
            let sink = match &records_object {
                Some(object) => Sink::S3(Box::new(S3JournalSink::new(
                    file,
                    path.to_path_buf(),
                    object.clone(),
                    runtime.handle().clone(),
                ))),
                None => Sink::Plain(Box::new(JsonlSink::new(file))),
            };
            (resume, sink)
        }
    };
    if resume.kept > 0 {
        tracing::info!(
            kept = resume.kept,
            dropped = resume.dropped,
            "resuming: completed items are skipped"
        );
    }

    let display = if config.quiet {
        Display::Quiet
    } else if io::stderr().is_terminal() {
        Display::Bar
    } else {
        Display::Lines(config.progress_interval)
    };
    let total = match display {
        Display::Quiet => None,
        _ => count_rows(&inputs).map(|n| match config.shard {
            Some(shard) => n.div_ceil(u64::from(shard.count)),
            None => n,
        }),
    };
    let records_name = match &config.records {
        RecordsTarget::File(p) => p.display().to_string(),
        RecordsTarget::Stdout => "stdout".into(),
        RecordsTarget::S3 { location, .. } => location.to_string(),
    };
    interrupt::on_interrupt_print(&match &config.records {
        RecordsTarget::Stdout => "interrupted; records went to stdout, so a rerun starts over \
                                  (use --records FILE to make runs resumable)"
            .to_string(),
        RecordsTarget::S3 { journal, .. } => format!(
            "interrupted; records so far are journaled in {} (for {records_name}): run the same \
             command again to resume (completed items are skipped)",
            journal.display()
        ),
        RecordsTarget::File(_) => format!(
            "interrupted; records so far are in {records_name}: run the same command again to \
             resume (completed items are skipped)"
        ),
    });
    let mut progress = RunProgress::start(display, total);

    let sink_ref: &mut dyn RecordSink = match &mut sink {
        Sink::Plain(sink) => sink.as_mut(),
        Sink::S3(sink) => sink.as_mut(),
    };
    let summary: Summary = run_items(
        rows,
        &extractor,
        sink_ref,
        &resume,
        RunSettings {
            jobs: config.jobs,
            prefetch: config.prefetch,
        },
        &progress,
    )
    .context("writing records")?;
    progress.stop();
    let s3_sink = match sink {
        Sink::Plain(sink) => {
            drop(sink);
            None
        }
        Sink::S3(sink) => Some(*sink),
    };
    if let (Some(avro), Some(jsonl)) = (&config.avro, config.records.journal()) {
        let n = write_avro_from_jsonl(jsonl, avro)
            .with_context(|| format!("writing Avro records {}", avro.display()))?;
        tracing::info!(records = n, path = %avro.display(), "Avro records written");
    }
    if let Some(sink) = s3_sink {
        let object = records_object.as_ref().expect("an S3 sink has its object");
        sink.finish()
            .with_context(|| format!("uploading records to {}", object.location()))?;
        if let Some(avro) = &config.avro {
            runtime
                .block_on(object.upload(avro, "application/avro", Some("avro")))
                .with_context(|| format!("uploading Avro records beside {}", object.location()))?;
        }
    }
    if let Some(lock) = records_lock {
        let path = lock.path().display().to_string();
        lock.release()
            .with_context(|| format!("releasing {path}"))?;
    }
    if let Some(path) = &config.stats_json {
        let snapshot = extractor.metrics().snapshot(&summary, started.elapsed());
        let json = serde_json::to_vec_pretty(&snapshot).expect("metrics serialise");
        std::fs::write(path, json)
            .with_context(|| format!("writing --stats-json {}", path.display()))?;
    }
    let elapsed = started.elapsed().as_secs_f64();
    if !config.quiet {
        eprintln!(
            "reelframe: {} done, {} failed, {} already done, {} duplicate; {} frames in {:.1} s \
             ({:.1} videos/s); records: {records_name}",
            summary.done,
            summary.failed,
            summary.skipped,
            summary.duplicates,
            summary.frames,
            elapsed,
            summary.done as f64 / elapsed.max(1e-9),
        );
        if summary.failed > 0 {
            eprintln!(
                "reelframe: {} failed: {} (each record's error.kind and error.message say why)",
                summary.failed,
                progress.failures_by_kind()
            );
        }
    }
    Ok(if summary.failed > 0 {
        EXIT_ITEMS_FAILED
    } else {
        EXIT_OK
    })
}
