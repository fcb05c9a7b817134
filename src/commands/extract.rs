//! `reelframe extract`: inputs → pipeline → records, with progress and a summary.

use crate::config::{ExtractConfig, InputSpec, ListFormat, RecordsTarget};
use crate::pipeline::input::{self, CsvItems, InputRow, ItemDefaults, JsonlItems};
use crate::pipeline::record::{JsonlSink, RecordSink, ResumeLog};
use crate::pipeline::source::{LocalOnly, LocalSource};
use crate::pipeline::store::DirStore;
use crate::pipeline::{self, Extractor, Outcome, Progress, Summary};
use anyhow::{Context, Result};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use std::fs::File;
use std::io::{self, BufRead, BufReader, IsTerminal};
use std::sync::Arc;
use std::time::Instant;

/// Exit code when every item succeeded (or was already done).
pub const EXIT_OK: i32 = 0;
/// Exit code when some items failed; their records say why.
pub const EXIT_ITEMS_FAILED: i32 = 1;

/// A progress bar on a terminal: items done/failed, frames, rate, ETA.
struct BarProgress {
    bar: ProgressBar,
    failed: std::sync::atomic::AtomicU64,
    frames: std::sync::atomic::AtomicU64,
}

impl BarProgress {
    fn update_message(&self) {
        use std::sync::atomic::Ordering::Relaxed;
        self.bar.set_message(format!(
            "{} failed, {} frames",
            self.failed.load(Relaxed),
            self.frames.load(Relaxed)
        ));
    }
}

impl Progress for BarProgress {
    fn skipped(&self) {
        self.bar.inc(1);
    }

    fn finished(&self, outcome: Outcome) {
        use std::sync::atomic::Ordering::Relaxed;
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
            InputSpec::List(path, format) => {
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
            InputSpec::Stdin(_) => return None,
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
            InputSpec::List(path, format) => {
                let file = File::open(path)
                    .with_context(|| format!("opening --input {}", path.display()))?;
                let name = path.display().to_string();
                Box::new(rows.chain(list_rows(BufReader::new(file), name, *format, defaults)?))
            }
            InputSpec::Stdin(format) => Box::new(rows.chain(list_rows(
                io::stdin().lock(),
                "stdin".into(),
                *format,
                defaults,
            )?)),
        };
    }
    Ok(rows)
}

/// Runs `reelframe extract` and returns the exit code (0 all done, 1 some items failed).
/// Setup failures (unreadable input list, unwritable output) are errors: exit code 2.
pub fn run(config: &ExtractConfig) -> Result<i32> {
    crate::pipeline::decode::init_ffmpeg(false);
    let started = Instant::now();
    let store = DirStore::new(&config.out)
        .with_context(|| format!("creating output directory {}", config.out.display()))?;
    let source = LocalOnly(LocalSource {
        max_bytes: config.max_bytes,
    });
    let extractor = Extractor::new(config.options.clone(), Arc::new(source), Arc::new(store));
    let rows = open_rows(&config.inputs, &config.defaults)?;

    let (resume, mut sink): (ResumeLog, Box<dyn RecordSink>) = match &config.records {
        RecordsTarget::Stdout => (ResumeLog::empty(), Box::new(JsonlSink::new(io::stdout()))),
        RecordsTarget::File(path) => {
            let (resume, file) =
                ResumeLog::open(path, extractor.sampling_record(), config.force)
                    .with_context(|| format!("opening records file {}", path.display()))?;
            (resume, Box::new(JsonlSink::new(file)))
        }
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
        let bar =
            ProgressBar::with_draw_target(count_rows(&config.inputs), ProgressDrawTarget::stderr());
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
        })
    } else {
        Box::new(pipeline::NoProgress)
    };

    let summary: Summary = pipeline::run(
        rows,
        &extractor,
        sink.as_mut(),
        &resume,
        config.jobs,
        progress.as_ref(),
    )
    .context("writing records")?;
    drop(progress);
    drop(sink);
    if let (Some(avro), RecordsTarget::File(jsonl)) = (&config.avro, &config.records) {
        let n = crate::pipeline::avro::write_avro_from_jsonl(jsonl, avro)
            .with_context(|| format!("writing Avro records {}", avro.display()))?;
        tracing::info!(records = n, path = %avro.display(), "Avro records written");
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
