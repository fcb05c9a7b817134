//! Logging: `tracing` to stderr. Warnings by default, `-v` info, `-vv` debug; `RUST_LOG` wins.
//!
//! While a progress bar is on screen ([`set_progress_bar`]), every log line is printed with the
//! bar suspended (cleared, the line written whole, the bar redrawn), so the two never garble
//! each other. Colours only when asked (`--color`, NO_COLOR, a terminal).

use indicatif::ProgressBar;
use std::io::{self, Write};
use std::sync::Mutex;
use tracing_subscriber::EnvFilter;

/// The bar on screen, if any.
static BAR: Mutex<Option<ProgressBar>> = Mutex::new(None);

/// Routes log lines around `bar` (or straight to stderr with `None`).
pub fn set_progress_bar(bar: Option<ProgressBar>) {
    *BAR.lock().unwrap_or_else(|e| e.into_inner()) = bar;
}

/// Prints `line` (with its newline) on stderr, around the progress bar if one is on screen.
pub fn print_line(line: &str) {
    let write = || {
        let mut err = io::stderr().lock();
        let _ = err.write_all(line.as_bytes());
        let _ = err.flush();
    };
    match BAR.lock().unwrap_or_else(|e| e.into_inner()).as_ref() {
        Some(bar) => bar.suspend(write),
        None => write(),
    }
}

/// A stderr writer that suspends the progress bar for each log event (tracing-subscriber
/// writes an event in one `write_all`).
struct BarAwareStderr;

impl Write for BarAwareStderr {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        print_line(&String::from_utf8_lossy(buf));
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// Installs the stderr subscriber for `verbose` (count of `-v`) and `quiet`; `ansi` turns
/// colours on.
pub fn init(verbose: u8, quiet: bool, ansi: bool) {
    let default = match (quiet, verbose) {
        (true, _) => "error",
        (false, 0) => "warn",
        (false, 1) => "info",
        (false, _) => "debug",
    };
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(default));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(|| BarAwareStderr)
        .with_ansi(ansi)
        .with_target(false)
        .try_init();
    if verbose >= 2 {
        crate::pipeline::demux::init_ffmpeg(true);
    }
}
