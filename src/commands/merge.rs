//! `reelframe merge`: join metadata and download records by content_id (not built yet).

use clap::Args;
use std::path::PathBuf;

/// Arguments of `reelframe merge`.
#[derive(Debug, Args)]
pub struct MergeArgs {
    /// JSONL of metadata records.
    pub metadata: PathBuf,
    /// JSONL of download records.
    pub downloads: PathBuf,
}

/// Runs `reelframe merge`.
pub fn run(_args: &MergeArgs) -> anyhow::Result<i32> {
    anyhow::bail!("merge is not built yet")
}
