//! Logging: `tracing` to stderr. Warnings by default, `-v` info, `-vv` debug; `RUST_LOG` wins.

use tracing_subscriber::EnvFilter;

/// Installs the stderr subscriber for `verbose` (count of `-v`) and `quiet`.
pub fn init(verbose: u8, quiet: bool) {
    let default = match (quiet, verbose) {
        (true, _) => "error",
        (false, 0) => "warn",
        (false, 1) => "info",
        (false, _) => "debug",
    };
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(default));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_target(false)
        .try_init();
    if verbose >= 2 {
        crate::pipeline::demux::init_ffmpeg(true);
    }
}
