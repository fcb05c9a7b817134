//! What `extract` shows while it runs: a progress bar on a terminal (log lines print around
//! it), a plain progress line every `--progress-interval` otherwise, and the counts by error
//! kind the final summary breaks failures down by.

use crate::error::ErrorKind;
use crate::logging;
use crate::pipeline::metrics::Outcome;
use crate::pipeline::run::Progress;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressState, ProgressStyle};
use std::collections::HashMap;
use std::fmt::Write as _;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

/// How the run is shown.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Display {
    /// Nothing (`--quiet`).
    Quiet,
    /// A bar on a terminal.
    Bar,
    /// A line every so often (a log file, a batch job).
    Lines(Duration),
}

/// Counts shared by the bar, the line printer and the summary.
#[derive(Default)]
struct Counts {
    done: AtomicU64,
    failed: AtomicU64,
    skipped: AtomicU64,
    frames: AtomicU64,
    by_kind: Mutex<HashMap<ErrorKind, u64>>,
}

/// The thread printing progress lines, and the flag (with its condvar) that stops it.
type Ticker = (Arc<(Mutex<bool>, Condvar)>, std::thread::JoinHandle<()>);

/// Progress of an `extract` run: counts every outcome and shows it as `display` says.
pub struct RunProgress {
    counts: Arc<Counts>,
    bar: Option<ProgressBar>,
    ticker: Option<Ticker>,
}

impl RunProgress {
    /// Starts showing progress over `total` items (when known).
    pub fn start(display: Display, total: Option<u64>) -> RunProgress {
        let counts = Arc::new(Counts::default());
        let mut progress = RunProgress {
            counts: Arc::clone(&counts),
            bar: None,
            ticker: None,
        };
        match display {
            Display::Quiet => {}
            Display::Bar => {
                let bar = ProgressBar::with_draw_target(total, ProgressDrawTarget::stderr());
                bar.set_style(bar_style());
                bar.enable_steady_tick(Duration::from_millis(200));
                logging::set_progress_bar(Some(bar.clone()));
                progress.bar = Some(bar);
            }
            Display::Lines(every) => {
                let stop = Arc::new((Mutex::new(false), Condvar::new()));
                let stop_ticker = Arc::clone(&stop);
                let started = Instant::now();
                let handle = std::thread::spawn(move || {
                    let (lock, cvar) = &*stop_ticker;
                    let mut stopped = lock.lock().unwrap_or_else(|e| e.into_inner());
                    loop {
                        let (guard, timeout) = cvar
                            .wait_timeout(stopped, every)
                            .unwrap_or_else(|e| e.into_inner());
                        stopped = guard;
                        if *stopped {
                            return;
                        }
                        if timeout.timed_out() {
                            logging::print_line(&progress_line(&counts, total, started.elapsed()));
                        }
                    }
                });
                progress.ticker = Some((stop, handle));
            }
        }
        progress
    }

    /// Failures by kind, most frequent first: `20 not_found, 5 read_timeout`.
    pub fn failures_by_kind(&self) -> String {
        failures_text(&self.counts)
    }

    /// Stops the bar or the line printer.
    pub fn stop(&mut self) {
        if let Some(bar) = self.bar.take() {
            logging::set_progress_bar(None);
            bar.finish_and_clear();
        }
        if let Some((stop, handle)) = self.ticker.take() {
            *stop.0.lock().unwrap_or_else(|e| e.into_inner()) = true;
            stop.1.notify_all();
            let _ = handle.join();
        }
    }

    fn update_message(&self) {
        if let Some(bar) = &self.bar {
            let failed = self.counts.failed.load(Relaxed);
            let frames = self.counts.frames.load(Relaxed);
            bar.set_message(format!("{failed} failed, {frames} frames"));
        }
    }
}

impl Drop for RunProgress {
    fn drop(&mut self) {
        self.stop();
    }
}

impl Progress for RunProgress {
    fn skipped(&self) {
        self.counts.skipped.fetch_add(1, Relaxed);
        if let Some(bar) = &self.bar {
            bar.inc(1);
        }
    }

    fn finished(&self, outcome: Outcome) {
        match outcome {
            Outcome::Done { frames } => {
                self.counts.done.fetch_add(1, Relaxed);
                self.counts.frames.fetch_add(frames, Relaxed);
            }
            Outcome::Failed(kind) => {
                self.counts.failed.fetch_add(1, Relaxed);
                let mut by_kind = self
                    .counts
                    .by_kind
                    .lock()
                    .unwrap_or_else(|e| e.into_inner());
                *by_kind.entry(kind).or_default() += 1;
            }
            Outcome::Duplicate => {
                self.counts.skipped.fetch_add(1, Relaxed);
            }
        }
        self.update_message();
        if let Some(bar) = &self.bar {
            bar.inc(1);
        }
    }
}

/// The bar: at most ~62 columns before the message, which is cut to fit what is left, so the
/// whole line fits 80 columns. Rates have one decimal.
fn bar_style() -> ProgressStyle {
    ProgressStyle::with_template(
        "{spinner} {elapsed:>4} {bar:16} {pos}/{len} {rate} ETA {eta:>3} {wide_msg}",
    )
    .expect("valid template")
    .with_key(
        "rate",
        |state: &ProgressState, w: &mut dyn std::fmt::Write| {
            let _ = write!(w, "{}", rate_text(state.per_sec()));
        },
    )
}

/// Items per second, rounded: `3.4/s`, `0.25/s` below one per second.
fn rate_text(per_sec: f64) -> String {
    if !per_sec.is_finite() || per_sec <= 0.0 {
        "0/s".into()
    } else if per_sec < 1.0 {
        format!("{per_sec:.2}/s")
    } else {
        format!("{per_sec:.1}/s")
    }
}

/// `reelframe: 120/5000 items, 118 done, 2 failed, 3.4 videos/s, ETA 24m`.
fn progress_line(counts: &Counts, total: Option<u64>, elapsed: Duration) -> String {
    let done = counts.done.load(Relaxed);
    let failed = counts.failed.load(Relaxed);
    let skipped = counts.skipped.load(Relaxed);
    let handled = done + failed + skipped;
    let elapsed = elapsed.as_secs_f64().max(1e-9);
    let rate = (done + failed) as f64 / elapsed;
    let mut line = match total {
        Some(total) => format!("reelframe: {handled}/{total} items"),
        None => format!("reelframe: {handled} items"),
    };
    let _ = write!(line, ", {done} done, {failed} failed");
    if skipped > 0 {
        let _ = write!(line, ", {skipped} already done");
    }
    let _ = write!(
        line,
        ", {} videos/s",
        rate_text(rate).trim_end_matches("/s")
    );
    if let Some(total) = total {
        let left = total.saturating_sub(handled);
        if rate > 0.0 && left > 0 {
            let eta = Duration::from_secs((left as f64 / rate).ceil() as u64);
            let _ = write!(line, ", ETA {}", humantime::format_duration(eta));
        }
    }
    line.push('\n');
    line
}

fn failures_text(counts: &Counts) -> String {
    let by_kind = counts.by_kind.lock().unwrap_or_else(|e| e.into_inner());
    let mut kinds: Vec<(&ErrorKind, &u64)> = by_kind.iter().collect();
    kinds.sort_by(|a, b| b.1.cmp(a.1).then_with(|| a.0.name().cmp(&b.0.name())));
    kinds
        .iter()
        .map(|(kind, n)| format!("{n} {kind}"))
        .collect::<Vec<_>>()
        .join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn failures_are_listed_by_count_then_name() {
        let counts = Counts::default();
        let p = RunProgress {
            counts: Arc::new(counts),
            bar: None,
            ticker: None,
        };
        for kind in [
            ErrorKind::ReadTimeout,
            ErrorKind::NotFound,
            ErrorKind::CorruptData,
            ErrorKind::NotFound,
            ErrorKind::NotFound,
            ErrorKind::ReadTimeout,
        ] {
            p.finished(Outcome::Failed(kind));
        }
        assert_eq!(
            p.failures_by_kind(),
            "3 not_found, 2 read_timeout, 1 corrupt_data"
        );
    }

    #[test]
    fn rates_are_rounded() {
        assert_eq!(rate_text(3.456_789), "3.5/s");
        assert_eq!(rate_text(0.123_4), "0.12/s");
        assert_eq!(rate_text(0.0), "0/s");
    }

    #[test]
    fn a_progress_line_gives_counts_rate_and_eta() {
        let counts = Counts::default();
        counts.done.store(8, Relaxed);
        counts.failed.store(2, Relaxed);
        // the time so far is given, not measured: a test thread paused between two clock
        // readings (a busy machine) would otherwise change the rate
        let line = progress_line(&counts, Some(20), Duration::from_secs(5));
        assert_eq!(
            line,
            "reelframe: 10/20 items, 8 done, 2 failed, 2.0 videos/s, ETA 5s\n"
        );
    }
}
