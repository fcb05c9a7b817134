//! What the remote and serve benches share: the workload and their settings from the environment.

use std::path::{Path, PathBuf};

/// The workload folder: `REELFRAME_WORKLOAD` (made by `scripts/make_workload.sh DIR`), or the
/// bundled `samples/`.
pub fn workload_dir() -> PathBuf {
    std::env::var_os("REELFRAME_WORKLOAD")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("samples"))
}

/// The videos directly in `dir`, sorted.
pub fn videos(dir: &Path) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(dir)
        .expect("workload dir")
        .map(|e| e.unwrap().path())
        .filter(|p| {
            p.extension()
                .and_then(|e| e.to_str())
                .is_some_and(|e| ["mp4", "mov", "webm", "mkv"].contains(&e))
        })
        .collect();
    v.sort();
    v
}

/// The whole number in the environment variable `name`, or `default` when unset or not one.
pub fn env_usize(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}
