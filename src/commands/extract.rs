//! `reelframe extract`: inputs → pipeline → records, with progress and a summary.

use crate::config::{ExtractConfig, InputSpec, ListFormat, RecordsTarget, StoreTarget};
use crate::pipeline::input::{self, CsvItems, InputRow, ItemDefaults, JsonlItems};
use crate::pipeline::record::{JsonlSink, RecordSink, ResumeLog};
use crate::pipeline::s3::{LazyClient, S3Location};
use crate::pipeline::source::{FetchLimits, HttpSource, LocalSource, S3Source, Sources};
use crate::pipeline::store::{DirStore, FrameStore, S3Store};
use crate::pipeline::{self, Extractor, Outcome, Progress, RunSettings, Summary};
use anyhow::{bail, Context, Result};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use std::fs::File;
use std::io::{self, BufRead, BufReader, IsTerminal};
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Content type of JSONL records objects.
const JSONL_TYPE: &str = "application/x-ndjson";

/// Exit code when every item succeeded (or was already done).
pub const EXIT_OK: i32 = 0;
/// Exit code when some items failed; their records say why.
pub const EXIT_ITEMS_FAILED: i32 = 1;

/// A progress bar on a terminal: items stored/failed, videos fetched and decoded, bytes
/// downloaded, frames, rate, ETA.
struct BarProgress {
    bar: ProgressBar,
    failed: AtomicU64,
    frames: AtomicU64,
    fetched: AtomicU64,
    decoded: AtomicU64,
    bytes: AtomicU64,
}

impl BarProgress {
    fn update_message(&self) {
        self.bar.set_message(format!(
            "fetched {} ({}), decoded {}, {} failed, {} frames",
            self.fetched.load(Relaxed),
            indicatif::HumanBytes(self.bytes.load(Relaxed)),
            self.decoded.load(Relaxed),
            self.failed.load(Relaxed),
            self.frames.load(Relaxed)
        ));
    }
}

impl Progress for BarProgress {
    fn skipped(&self) {
        self.bar.inc(1);
    }

    fn fetched(&self, bytes: u64) {
        self.fetched.fetch_add(1, Relaxed);
        self.bytes.fetch_add(bytes, Relaxed);
        self.update_message();
    }

    fn decoded(&self) {
        self.decoded.fetch_add(1, Relaxed);
        self.update_message();
    }

    fn finished(&self, outcome: Outcome) {
        match outcome {
            Outcome::Done { frames } => {
                self.frames.fetch_add(frames, Relaxed);
            }
            Outcome::Failed(_) => {
                self.failed.fetch_add(1, Relaxed);
            }
        }
        self.update_message();
        self.bar.inc(1);
    }
}

/// Counts the rows an input will yield, cheaply, for the progress bar (None when unknown).
fn count_rows(inputs: &[InputSpec]) -> Option<u64> {
    let mut total = 0u64;
    for spec in inputs {
        match spec {
            InputSpec::Paths(paths) => total += input::items_from_paths(paths).count() as u64,
            InputSpec::List(path, format) | InputSpec::Downloaded(path, _, format) => {
                let reader = BufReader::new(File::open(path).ok()?);
                let lines = reader
                    .split(b'\n')
                    .filter(|l| {
                        l.as_ref()
                            .is_ok_and(|l| !l.iter().all(u8::is_ascii_whitespace))
                    })
                    .count() as u64;
                // a CSV's header is not a row (quoted newlines make this an estimate)
                total += match format {
                    ListFormat::Csv => lines.saturating_sub(1),
                    ListFormat::Jsonl => lines,
                };
            }
            InputSpec::Stdin(_) | InputSpec::Remote(..) => return None,
        }
    }
    Some(total)
}

fn list_rows<'a>(
    reader: impl io::BufRead + 'a,
    name: String,
    format: ListFormat,
    defaults: &ItemDefaults,
) -> Result<Box<dyn Iterator<Item = InputRow> + 'a>> {
    Ok(match format {
        ListFormat::Jsonl => Box::new(JsonlItems::new(reader, name, defaults.clone())),
        ListFormat::Csv => {
            Box::new(CsvItems::new(reader, name, defaults.clone()).map_err(anyhow::Error::msg)?)
        }
    })
}

fn open_rows<'a>(
    inputs: &'a [InputSpec],
    defaults: &ItemDefaults,
) -> Result<Box<dyn Iterator<Item = InputRow> + 'a>> {
    let mut rows: Box<dyn Iterator<Item = InputRow> + 'a> = Box::new(std::iter::empty());
    for spec in inputs {
        rows = match spec {
            InputSpec::Paths(paths) => Box::new(rows.chain(input::items_from_paths(paths))),
            InputSpec::List(path, format) | InputSpec::Downloaded(path, _, format) => {
                let file = File::open(path)
                    .with_context(|| format!("opening --input {}", path.display()))?;
                let name = match spec {
                    InputSpec::Downloaded(_, url, _) => url.clone(),
                    _ => path.display().to_string(),
                };
                Box::new(rows.chain(list_rows(BufReader::new(file), name, *format, defaults)?))
            }
            InputSpec::Stdin(format) => Box::new(rows.chain(list_rows(
                io::stdin().lock(),
                "stdin".into(),
                *format,
                defaults,
            )?)),
            InputSpec::Remote(url, _) => {
                bail!("internal: the remote input list {url} was not downloaded first")
            }
        };
    }
    Ok(rows)
}

/// Downloads a remote input list to a temporary file (streamed to disk, so a list of any size
/// keeps memory flat) and returns the local spec that reads it.
async fn download_list(
    url: &str,
    format: ListFormat,
    sources: &Sources,
) -> Result<(InputSpec, Arc<tempfile::TempPath>)> {
    let video_url = crate::pipeline::source::VideoUrl::parse(url).map_err(anyhow::Error::msg)?;
    let fetched = sources
        .fetch_list(&video_url)
        .await
        .map_err(anyhow::Error::msg)
        .with_context(|| format!("downloading --input {url}"))?;
    let path = fetched
        .spill
        .clone()
        .context("a downloaded input list is always on disk")?;
    Ok((
        InputSpec::Downloaded(path.to_path_buf(), url.to_string(), format),
        path,
    ))
}

/// The sources for this run: local files, HTTP(S), and S3 through `s3` (a client built on first
/// use, so runs that never touch S3 never read the AWS configuration).
fn sources(config: &ExtractConfig, s3: &Arc<LazyClient>) -> Result<Sources> {
    let limits: FetchLimits = config.network.limits.clone();
    Ok(Sources {
        local: LocalSource {
            max_bytes: config.max_bytes,
        },
        http: Some(HttpSource::new(limits.clone()).context("setting up the HTTP client")?),
        s3: Some(S3Source::new(Arc::clone(s3), limits)),
    })
}

/// Brings an earlier run's records object down as the journal when there is no local journal.
async fn fetch_records_object(
    client: &aws_sdk_s3::Client,
    location: &S3Location,
    journal: &std::path::Path,
) -> Result<()> {
    let result = client
        .get_object()
        .bucket(&location.bucket)
        .key(&location.key)
        .send()
        .await;
    let output = match result {
        Ok(output) => output,
        Err(err) => {
            let failure = crate::pipeline::s3::classify(&location.to_string(), &err);
            if failure.error.kind == crate::error::ErrorKind::NotFound {
                return Ok(());
            }
            bail!("reading earlier records {location}: {}", failure.error);
        }
    };
    let bytes = output
        .body
        .collect()
        .await
        .with_context(|| format!("reading earlier records {location}"))?
        .into_bytes();
    if let Some(parent) = journal.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(parent)?;
    }
    std::fs::write(journal, &bytes)
        .with_context(|| format!("writing the journal {}", journal.display()))?;
    tracing::info!(%location, journal = %journal.display(), "resuming from the records object");
    Ok(())
}

/// Uploads a local records file (the journal, or its Avro copy) as `location`, retried under
/// the run's retry policy.
async fn upload_records(
    client: &aws_sdk_s3::Client,
    location: &S3Location,
    file: &std::path::Path,
    content_type: &str,
    limits: &FetchLimits,
) -> Result<()> {
    let what = location.to_string();
    let deadline = Instant::now() + limits.fetch_deadline;
    crate::pipeline::retry::with_retries(&limits.retry, deadline, &what, |_| async {
        let body = aws_sdk_s3::primitives::ByteStream::from_path(file)
            .await
            .map_err(|err| {
                crate::pipeline::retry::Failure::permanent(crate::ItemError::new(
                    crate::ErrorKind::Io,
                    format!("reading {}: {err}", file.display()),
                ))
            })?;
        client
            .put_object()
            .bucket(&location.bucket)
            .key(&location.key)
            .content_type(content_type)
            .body(body)
            .send()
            .await
            .map_err(|err| crate::pipeline::s3::classify(&what, &err))
    })
    .await
    .map_err(anyhow::Error::msg)
    .with_context(|| format!("uploading records to {location}"))?;
    Ok(())
}

/// Runs `reelframe extract` and returns the exit code (0 all done, 1 some items failed).
/// Setup failures (unreadable input list, unwritable output) are errors: exit code 2.
pub fn run(config: &ExtractConfig) -> Result<i32> {
    crate::pipeline::decode::init_ffmpeg(false);
    let started = Instant::now();
    let runtime = pipeline::io_runtime().context("starting the I/O runtime")?;
    let s3 = Arc::new(LazyClient::new(
        config.network.s3.clone(),
        config.network.limits.clone(),
    ));
    let s3_client = match (&config.store, &config.records) {
        (StoreTarget::S3(_), _) | (_, RecordsTarget::S3 { .. }) => {
            Some(runtime.block_on(s3.get()).clone())
        }
        _ => None,
    };
    let sources = sources(config, &s3)?;
    let store: Arc<dyn FrameStore> = match &config.store {
        StoreTarget::Dir(dir) => Arc::new(
            DirStore::new(dir)
                .with_context(|| format!("creating output directory {}", dir.display()))?,
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
                .map_err(anyhow::Error::msg)
                .with_context(|| format!("checking --out {location}"))?;
            Arc::new(store)
        }
    };
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
    let extractor = Arc::new(Extractor::new(
        config.options.clone(),
        Arc::new(sources),
        store,
        runtime.handle().clone(),
    ));
    let rows = open_rows(&inputs, &config.defaults)?;
    let rows: Box<dyn Iterator<Item = InputRow>> = match config.shard {
        Some(shard) => Box::new(rows.filter(move |row| shard.owns(row))),
        None => rows,
    };

    if let (RecordsTarget::S3 { location, journal }, false) = (&config.records, config.force) {
        if !journal.exists() {
            let client = s3_client.as_ref().expect("S3 records have a client");
            runtime.block_on(fetch_records_object(client, location, journal))?;
        }
    }
    let (resume, mut sink): (ResumeLog, Box<dyn RecordSink>) = match config.records.journal() {
        None => (ResumeLog::empty(), Box::new(JsonlSink::new(io::stdout()))),
        Some(path) => {
            let (resume, file) =
                ResumeLog::open(path, extractor.sampling_record(), config.force)
                    .with_context(|| format!("opening records file {}", path.display()))?;
            (resume, Box::new(JsonlSink::new(file)))
        }
    };
    // records going to S3: the journal is uploaded every minute while the run goes on
    let uploader = match (&config.records, &s3_client) {
        (RecordsTarget::S3 { location, journal }, Some(client)) => {
            let (client, location, journal) = (client.clone(), location.clone(), journal.clone());
            let limits = config.network.limits.clone();
            Some(runtime.spawn(async move {
                let mut tick = tokio::time::interval(Duration::from_secs(60));
                tick.tick().await;
                loop {
                    tick.tick().await;
                    let uploaded =
                        upload_records(&client, &location, &journal, JSONL_TYPE, &limits).await;
                    if let Err(err) = uploaded {
                        tracing::warn!("{err:#}");
                    }
                }
            }))
        }
        _ => None,
    };
    if resume.kept > 0 {
        tracing::info!(
            kept = resume.kept,
            dropped = resume.dropped,
            "resuming: completed items are skipped"
        );
    }

    let show_bar = !config.quiet && io::stderr().is_terminal();
    let progress: Box<dyn Progress> = if show_bar {
        let rows_total = count_rows(&inputs).map(|n| match config.shard {
            Some(shard) => n.div_ceil(u64::from(shard.count)),
            None => n,
        });
        let bar = ProgressBar::with_draw_target(rows_total, ProgressDrawTarget::stderr());
        bar.set_style(
            ProgressStyle::with_template(
                "{spinner} [{elapsed_precise}] {bar:30} {pos}/{len} items ({per_sec}, ETA {eta}) {msg}",
            )
            .expect("valid template"),
        );
        Box::new(BarProgress {
            bar,
            failed: 0.into(),
            frames: 0.into(),
            fetched: 0.into(),
            decoded: 0.into(),
            bytes: 0.into(),
        })
    } else {
        Box::new(pipeline::NoProgress)
    };

    let summary: Summary = pipeline::run(
        rows,
        &extractor,
        sink.as_mut(),
        &resume,
        RunSettings {
            jobs: config.jobs,
            prefetch: config.prefetch,
        },
        progress.as_ref(),
    )
    .context("writing records")?;
    drop(progress);
    drop(sink);
    if let Some(task) = uploader {
        task.abort();
    }
    if let (Some(avro), Some(jsonl)) = (&config.avro, config.records.journal()) {
        let n = crate::pipeline::avro::write_avro_from_jsonl(jsonl, avro)
            .with_context(|| format!("writing Avro records {}", avro.display()))?;
        tracing::info!(records = n, path = %avro.display(), "Avro records written");
    }
    if let (RecordsTarget::S3 { location, journal }, Some(client)) = (&config.records, &s3_client) {
        let limits = &config.network.limits;
        runtime.block_on(upload_records(
            client, location, journal, JSONL_TYPE, limits,
        ))?;
        if let Some(avro) = &config.avro {
            let avro_location = S3Location {
                bucket: location.bucket.clone(),
                key: std::path::Path::new(&location.key)
                    .with_extension("avro")
                    .to_string_lossy()
                    .into_owned(),
            };
            runtime.block_on(upload_records(
                client,
                &avro_location,
                avro,
                "application/avro",
                limits,
            ))?;
        }
    }
    if let Some(path) = &config.stats_json {
        let snapshot = extractor.metrics().snapshot(&summary, started.elapsed());
        let json = serde_json::to_vec_pretty(&snapshot).expect("metrics serialise");
        std::fs::write(path, json)
            .with_context(|| format!("writing --stats-json {}", path.display()))?;
    }
    let elapsed = started.elapsed().as_secs_f64();
    if !config.quiet {
        let records = match &config.records {
            RecordsTarget::File(p) => p.display().to_string(),
            RecordsTarget::Stdout => "stdout".into(),
            RecordsTarget::S3 { location, .. } => location.to_string(),
        };
        eprintln!(
            "reelframe: {} done, {} failed, {} already done, {} duplicate; {} frames in {:.1} s ({:.2} videos/s); records: {}",
            summary.done,
            summary.failed,
            summary.skipped,
            summary.duplicates,
            summary.frames,
            elapsed,
            summary.done as f64 / elapsed.max(1e-9),
            records
        );
    }
    Ok(if summary.failed > 0 {
        EXIT_ITEMS_FAILED
    } else {
        EXIT_OK
    })
}
