//! The flags of `reelframe similar`.

use clap::Args;
use std::path::PathBuf;

/// Arguments of `reelframe similar`.
#[derive(Debug, Args)]
pub struct SimilarArgs {
    /// Record files (JSONL) written by `reelframe extract` with hashes (the default).
    #[arg(value_name = "RECORDS", required = true)]
    pub records: Vec<PathBuf>,

    /// Where the groups go, one JSON object per line (`-` for stdout).
    #[arg(short, long, value_name = "FILE", default_value = "-")]
    pub out: PathBuf,

    /// Instead of grouping the inputs, report which of them match these known videos' records
    /// (the known video as vPDQ's comparison video): one line per matching input.
    #[arg(long, value_name = "KNOWN.jsonl")]
    pub against: Option<PathBuf>,

    /// Frames whose PDQ hashes are at most this many bits apart match (vPDQ's D).
    #[arg(long, value_name = "BITS", default_value_t = 31)]
    pub distance: u32,

    /// Frames of lower PDQ quality are ignored (vPDQ's F).
    #[arg(long, value_name = "0-100", default_value_t = 50)]
    pub quality: u8,

    /// Percent of the comparison video's frames that must match (vPDQ's Pc). When grouping,
    /// either video of a pair may be the comparison.
    #[arg(long, value_name = "PERCENT", default_value_t = 80.0)]
    pub comparison_match: f64,

    /// Percent of the query video's frames that must match (vPDQ's Pq; 0 lets a repost carry
    /// extra content).
    #[arg(long, value_name = "PERCENT", default_value_t = 0.0)]
    pub query_match: f64,

    /// Hash chunks shared by more frames than this (flat or common pictures) do not make
    /// candidate pairs.
    #[arg(long, value_name = "N", default_value_t = 1000)]
    pub max_bucket: usize,

    /// Do not match mirrored reposts. By default a video also matches when its frames mirrored
    /// left to right (`pdq_mirror`) match the other's; such matches say `"mirrored": true`.
    #[arg(long)]
    pub no_mirrors: bool,
}
