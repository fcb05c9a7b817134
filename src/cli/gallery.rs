//! The flags of `reelframe gallery`.

use super::S3Args;
use crate::units;
use clap::Args;
use std::path::PathBuf;
use std::time::Duration;

/// Arguments of `reelframe gallery`.
#[derive(Debug, Args)]
pub struct GalleryArgs {
    /// Record files (JSONL) written by `reelframe extract` (shards too: give them all).
    #[arg(value_name = "RECORDS", required = true)]
    pub records: Vec<PathBuf>,

    /// The folder to write the gallery into; open its index.html [default: `gallery` beside
    /// the first RECORDS file].
    #[arg(short, long, value_name = "DIR")]
    pub out: Option<PathBuf>,

    /// The title on every page [default: the first RECORDS file's name].
    #[arg(long, value_name = "TEXT")]
    pub title: Option<String>,

    /// Videos (or groups) per page.
    #[arg(long, value_name = "N", default_value_t = 100, value_parser = clap::value_parser!(u64).range(10..=5000))]
    pub page_size: u64,

    /// Near-duplicate groups from `reelframe similar -o FILE` instead of grouping here with
    /// vPDQ's default rule.
    #[arg(long, value_name = "FILE", conflicts_with = "no_groups")]
    pub groups: Option<PathBuf>,

    /// Show no near-duplicate groups (and skip grouping).
    #[arg(long)]
    pub no_groups: bool,

    /// Link pictures in S3 with presigned URLs valid this long (`1h`, `7d` at most), signed
    /// with your AWS credentials; anyone holding the page can open them until then.
    #[arg(long, value_name = "DURATION", value_parser = units::positive_duration_secs, conflicts_with = "public_url_base", help_heading = "S3")]
    pub presign: Option<Duration>,

    /// How to reach S3 (for --presign), and --public-url-base to link `s3://bucket/key` as
    /// BASE/key.
    #[command(flatten)]
    pub s3: S3Args,
}
