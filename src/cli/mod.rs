//! Command-line arguments (clap derive): every flag of every command. Parsed once, then checked
//! into a configuration by `config.rs`; nothing else reads them.

mod gallery;
mod serve;
mod similar;

pub use gallery::GalleryArgs;
pub use serve::ServeArgs;
pub use similar::SimilarArgs;

use crate::pipeline::input::Shard;
use crate::units;
use clap::builder::RangedU64ValueParser;
use clap::{Args, Parser, Subcommand};
use std::fmt;
use std::path::PathBuf;
use std::str::FromStr;
use std::time::Duration;

/// The version line: reelframe's version and the FFmpeg it was built against.
pub const VERSION: &str = concat!(
    env!("CARGO_PKG_VERSION"),
    " (built against FFmpeg ",
    env!("REELFRAME_FFMPEG_VERSION"),
    ")"
);

/// Exact, upright JPEG frames and thumbnails from short videos, decoded in-process with libavcodec.
#[derive(Debug, Parser)]
#[command(name = "reelframe", version = VERSION, propagate_version = true)]
pub struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub command: Command,

    /// Colours and styles on stderr: `auto` uses them on a terminal unless NO_COLOR is set.
    #[arg(
        long,
        global = true,
        value_enum,
        value_name = "WHEN",
        default_value = "auto"
    )]
    pub color: ColorChoice,
}

/// When to colour output.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ColorChoice {
    /// On a terminal, unless NO_COLOR is set to a non-empty value.
    Auto,
    /// Always, even into a pipe or file.
    Always,
    /// Never.
    Never,
}

impl ColorChoice {
    /// Reads `--color` from raw arguments before clap parses them, so clap's own messages follow
    /// it too; the last occurrence wins, anything unreadable is `auto` (clap reports it).
    pub fn from_raw_args<I: IntoIterator<Item = std::ffi::OsString>>(args: I) -> ColorChoice {
        let mut choice = ColorChoice::Auto;
        let mut next_is_value = false;
        for arg in args {
            let arg = arg.to_string_lossy().into_owned();
            let value = if next_is_value {
                next_is_value = false;
                Some(arg.as_str())
            } else if arg == "--color" {
                next_is_value = true;
                None
            } else {
                arg.strip_prefix("--color=")
            };
            match value {
                Some("always") => choice = ColorChoice::Always,
                Some("never") => choice = ColorChoice::Never,
                Some(_) => choice = ColorChoice::Auto,
                None => {}
            }
        }
        choice
    }

    /// Whether to colour a stream that is (or is not) a terminal, given NO_COLOR.
    pub fn enabled(self, is_terminal: bool) -> bool {
        match self {
            ColorChoice::Always => true,
            ColorChoice::Never => false,
            ColorChoice::Auto => {
                is_terminal && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
            }
        }
    }
}

/// Shells `reelframe completions` writes scripts for.
pub use clap_complete::Shell;

/// A frame rate: `1`, `0.5`, `30000/1001` (checked, kept as typed).
fn fps_rate(text: &str) -> Result<String, String> {
    crate::pipeline::sample::SamplingMode::parse_fps(text)
        .map(|_| text.trim().to_string())
        .map_err(|e| e.to_string())
}

/// An `http://` or `https://` URL.
fn http_url(text: &str) -> Result<String, String> {
    if text.starts_with("https://") || text.starts_with("http://") {
        Ok(text.to_string())
    } else {
        Err("expected an http:// or https:// URL".into())
    }
}

/// A shard `INDEX/COUNT`.
fn shard(text: &str) -> Result<String, String> {
    // `auto` forms are resolved against the environment when the configuration is checked
    let (index, _) = text.split_once('/').unwrap_or((text, ""));
    if index.trim() == "auto" {
        return Ok(text.to_string());
    }
    Shard::parse(text)
        .map(|_| text.to_string())
        .map_err(|e| e.to_string())
}

/// A `bench --mode` (checked, kept as typed).
fn bench_mode(text: &str) -> Result<String, String> {
    crate::bench::methods::Mode::parse(text)
        .map(|_| text.to_string())
        .map_err(|e| e.to_string())
}

/// A whole-number flag of type `T` (`usize`, `u64`) limited to `range`; out of it, clap's message
/// names the range.
fn within<T>(range: impl std::ops::RangeBounds<u64>) -> RangedU64ValueParser<T>
where
    T: TryFrom<u64> + Clone + Send + Sync + 'static,
    <T as TryFrom<u64>>::Error: Send + Sync + 'static + std::error::Error + ToString,
{
    RangedU64ValueParser::<T>::new().range(range)
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Extract frames and a thumbnail for every input video and write one record per item.
    Extract(Box<ExtractArgs>),
    /// Join a metadata JSONL and a downloads JSONL by content_id, ready for `extract --input`.
    Merge(MergeArgs),
    /// Show what reelframe sees in one video and which frames it would sample.
    Inspect(InspectArgs),
    /// Measure extraction speed on a workload, optionally against the ffmpeg CLI baselines.
    Bench(Box<BenchArgs>),
    /// Print a shell completion script, e.g. `reelframe completions bash >
    /// ~/.local/share/bash-completion/completions/reelframe`.
    Completions {
        /// The shell.
        #[arg(value_enum)]
        shell: Shell,
    },
    /// Print the man page (roff), e.g. `reelframe man | man -l -`.
    Man,
    /// Group near-duplicate videos by their vPDQ hashes (records from `extract --hashes pdq`).
    Similar(SimilarArgs),
    /// Write a static review site for a run's records: one row per video, filters by status
    /// and error kind, a page per video with every frame, near-duplicate groups.
    Gallery(Box<GalleryArgs>),
    /// Answer the Frame Retrieval Service call (`POST /store_video_frames`) over HTTP.
    Serve(Box<ServeArgs>),
    /// A decoder process (started by `extract`; reads jobs on stdin, answers on stdout).
    #[command(name = "__worker", hide = true)]
    Worker,
}

/// Where decoding runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Isolate {
    /// In supervised decoder processes (a crash costs one item).
    Process,
    /// In the main process.
    Off,
}

/// Whether `http(s)://` videos may come from private addresses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum PrivateUrls {
    /// Fetch from loopback, RFC 1918, CGNAT and unique local addresses too.
    Allow,
    /// Refuse them (`url_not_allowed`), for URLs from people you do not trust.
    Deny,
}

/// Formats of the records.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum RecordsFormat {
    /// JSON lines only.
    Jsonl,
    /// JSON lines (the resumable journal) plus an Avro object container file.
    Avro,
}

/// What to do with HDR video.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum HdrArg {
    /// Tone-map PQ and HLG to SDR BT.709 (reference white 203 cd/m² → SDR white, BT.2390
    /// highlight roll-off, BT.2020 → BT.709 gamut).
    #[default]
    Tonemap,
    /// Convert HDR frames as if they were SDR (the raw conversion: dim, washed out).
    Passthrough,
}

/// Perceptual hashes per frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum HashesArg {
    /// PDQ (Meta ThreatExchange) hash and quality of every frame: vPDQ at the sampling rate.
    Pdq,
    /// No hashes.
    None,
}

/// Formats of an input list.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum InputFormat {
    /// By extension: `.csv` is CSV, anything else JSONL.
    Auto,
    /// One JSON object per line.
    Jsonl,
    /// A header row with a `content_id` column.
    Csv,
}

/// Sampling flags, shared by `extract` and `inspect`.
#[derive(Debug, Clone, Args)]
pub struct SamplingArgs {
    /// Frames per second to sample (`1`, `0.5`, `30000/1001`) [default: 1].
    #[arg(long, value_name = "RATE", group = "mode", value_parser = fps_rate)]
    pub fps: Option<String>,

    /// Sample this many frames, spread uniformly over the capped duration.
    #[arg(long, value_name = "N", group = "mode", value_parser = clap::value_parser!(u32).range(1..))]
    pub frames: Option<u32>,

    /// Sample every keyframe in the capped duration, decoding nothing else.
    #[arg(long, group = "mode")]
    pub keyframes: bool,

    /// Sample only the first DURATION of each video: seconds (`60`, `2.5`) or `90s`, `1m`,
    /// `500ms` (0 = no cap).
    #[arg(long, value_name = "DURATION", default_value = "60", value_parser = units::duration_secs)]
    pub max_seconds: Duration,

    /// Let a target take the nearest keyframe within ± this much of its time instead of the
    /// exact frame (much less decoding; records give the frame's actual pts): milliseconds
    /// (`500`) or `500ms`, `1s`. 0 = exact frames.
    #[arg(long, value_name = "MS", default_value = "0", value_parser = units::duration_ms)]
    pub tolerance: Duration,
}

/// Arguments of `reelframe extract`.
#[derive(Debug, Args)]
pub struct ExtractArgs {
    /// Video files, or directories whose video files (by extension) are taken. The content ID is
    /// the file stem.
    #[arg(value_name = "PATH")]
    pub paths: Vec<PathBuf>,

    /// An input list (`-` reads stdin; also `http(s)://…` or `s3://bucket/key`): JSONL records
    /// with `content_id` and `video_url`, or a CSV with a `content_id` column. Other fields are
    /// copied to the output records unchanged.
    #[arg(short, long, value_name = "FILE|URL", help_heading = "Input")]
    pub input: Option<PathBuf>,

    /// Format of --input: `auto` takes `.csv` files as CSV and everything else as JSONL.
    #[arg(long, value_enum, default_value = "auto", help_heading = "Input")]
    pub input_format: InputFormat,

    /// Builds `video_url` for records that carry only an ID, e.g.
    /// `s3://bucket/videos/{content_id}.mp4`; placeholders `{content_id}` and `{platform}`
    /// (percent-encoded in URLs).
    #[arg(long, value_name = "TEMPLATE", help_heading = "Input")]
    pub video_url_template: Option<String>,

    /// Platform used in the key layout when a record has no `platform` field.
    #[arg(long, default_value = "tiktok", help_heading = "Input")]
    pub platform: String,

    /// Process only shard INDEX of COUNT of the input (by a hash of content_id), for array jobs.
    /// `auto/COUNT` takes INDEX from the engine (Kubernetes Indexed Jobs, AWS Batch arrays,
    /// Slurm arrays); `auto` also takes COUNT where the engine gives it (Slurm). Each shard's
    /// records default to their own file, `records.shard-IIII-of-NNNN.jsonl`.
    #[arg(long, value_name = "INDEX/COUNT|auto[/COUNT]", value_parser = shard, help_heading = "Input")]
    pub shard: Option<String>,

    /// Longest input row (a JSON line or CSV record) read; a longer one is skipped without
    /// being held in memory and gets an `invalid_input` record with its line number.
    #[arg(long, value_name = "SIZE", default_value = "1MiB", value_parser = units::size, help_heading = "Input")]
    pub max_row_bytes: u64,

    /// Which frames to take.
    #[command(flatten, next_help_heading = "Sampling")]
    pub sampling: SamplingArgs,

    /// Where frames and thumbnails go: a directory (created if missing), or
    /// `s3://bucket/prefix`.
    #[arg(
        short,
        long,
        value_name = "DIR|S3_URI",
        default_value = "out",
        help_heading = "Output"
    )]
    pub out: PathBuf,

    /// Where records go: a file, `-` for stdout, or `s3://bucket/key` (journaled locally, see
    /// --journal, and uploaded every minute and at the end) [default: OUT/records.jsonl].
    #[arg(long, value_name = "PATH|S3_URI", help_heading = "Output")]
    pub records: Option<PathBuf>,

    /// The local journal of records going to S3, which makes a killed run resumable
    /// [default: .reelframe/<bucket>/<key> in the current directory].
    #[arg(long, value_name = "PATH", help_heading = "Output")]
    pub journal: Option<PathBuf>,

    /// Record format: `jsonl`, or `avro` to also write an Avro container file (RECORDS with an
    /// `.avro` extension; schema in schema/record.avsc) from the JSONL records at the end.
    #[arg(long, value_enum, default_value = "jsonl", help_heading = "Output")]
    pub records_format: RecordsFormat,

    /// Scale frames so the longest side is at most PX (never upscales) [default: no scaling].
    #[arg(long, value_name = "PX", value_parser = clap::value_parser!(u32).range(1..=16384), help_heading = "Output")]
    pub max_side: Option<u32>,

    /// Scale frames to this width (aspect ratio kept) [default: no scaling].
    #[arg(long, value_name = "PX", value_parser = clap::value_parser!(u32).range(1..=16384), help_heading = "Output")]
    pub width: Option<u32>,

    /// Scale frames to this height (aspect ratio kept; with --width, fit inside both)
    /// [default: no scaling].
    #[arg(long, value_name = "PX", value_parser = clap::value_parser!(u32).range(1..=16384), help_heading = "Output")]
    pub height: Option<u32>,

    /// JPEG quality, 1–100.
    #[arg(long, default_value_t = crate::pipeline::encode::DEFAULT_QUALITY, value_parser = clap::value_parser!(u8).range(1..=100), help_heading = "Output")]
    pub quality: u8,

    /// Longest side of the thumbnail in pixels (0 = the frame's size).
    #[arg(
        long,
        value_name = "PX",
        default_value_t = 320,
        help_heading = "Output"
    )]
    pub thumbnail_max_side: u32,

    /// Write the run's counts and per-stage times as JSON to FILE at the end (what `reelframe
    /// bench` reads). Its folder must exist.
    #[arg(long, value_name = "FILE", help_heading = "Output")]
    pub stats_json: Option<PathBuf>,

    /// Redo every item, even those an earlier run completed.
    #[arg(long, help_heading = "Output")]
    pub force: bool,

    /// No progress bar, no progress lines and no summary line.
    #[arg(short, long, help_heading = "Output")]
    pub quiet: bool,

    /// More logging (-v info, -vv debug with FFmpeg's own warnings).
    #[arg(short, long, action = clap::ArgAction::Count, help_heading = "Output")]
    pub verbose: u8,

    /// When stderr is not a terminal, print a progress line (done, failed, rate, ETA) this often.
    #[arg(long, value_name = "DURATION", default_value = "10s", value_parser = units::positive_duration_secs, help_heading = "Output")]
    pub progress_interval: Duration,

    /// Remote fetches and uploads.
    #[command(flatten, next_help_heading = "Network")]
    pub network: NetworkArgs,

    /// Videos processed at once [default: number of cores].
    #[arg(short, long, value_parser = within::<usize>(1..=1024), help_heading = "Performance")]
    pub jobs: Option<usize>,

    /// Videos fetched ahead of the decoders (at most JOBS + N videos in memory at once)
    /// [default: 2 × jobs].
    #[arg(long, value_name = "N", value_parser = within::<usize>(0..=4096), help_heading = "Performance")]
    pub prefetch: Option<usize>,

    /// Frames and thumbnails being written to the store at once.
    #[arg(long, value_name = "N", default_value_t = 16, value_parser = within::<usize>(1..=1024), help_heading = "Performance")]
    pub upload_concurrency: usize,

    /// Threads inside each decoder (1 = parallel across videos only).
    #[arg(long, default_value_t = 1, value_parser = within::<usize>(1..=64), help_heading = "Performance")]
    pub decode_threads: usize,

    /// Deadline for one item from open to its last frame: seconds (`300`) or `90s`, `5m`.
    #[arg(long, value_name = "DURATION", default_value = "5m", value_parser = units::positive_duration_secs, help_heading = "Performance")]
    pub item_timeout: Duration,

    /// Largest video accepted: bytes, or `500MB`, `2GB` (powers of 1000), `512MiB`, `2GiB`
    /// (powers of 1024); a lone letter is binary (`2G` = `2GiB`).
    #[arg(long, value_name = "SIZE", default_value = "2GiB", value_parser = units::size, help_heading = "Performance")]
    pub max_bytes: u64,

    /// Largest frame accepted, in pixels (width × height), checked against the container's
    /// size and every decoded frame; a larger one fails the item as `frame_too_large`.
    #[arg(long, value_name = "PIXELS", default_value_t = crate::pipeline::demux::MAX_PIXELS, value_parser = within::<u64>(4096..), help_heading = "Performance")]
    pub max_pixels: u64,

    /// Where videos are decoded: `process` runs libavcodec in supervised decoder processes, so a
    /// decoder that crashes costs its item (a `decoder_crashed` record) and not the run; `off`
    /// decodes in this process.
    #[arg(
        long,
        value_enum,
        default_value = "process",
        help_heading = "Performance"
    )]
    pub isolate: Isolate,

    /// HDR (PQ, HLG) video: `tonemap` to SDR BT.709, or `passthrough` for the raw conversion.
    #[arg(long, value_enum, default_value_t = HdrArg::Tonemap, help_heading = "Output")]
    pub hdr: HdrArg,

    /// Perceptual hash of every frame, taken on the upright picture before JPEG encoding
    /// (`derived.frames[].pdq`, `.pdq_quality`, and `.pdq_mirror`, the hash of the picture mirrored
    /// left to right); what `reelframe similar` groups by.
    #[arg(long, value_enum, default_value = "pdq", help_heading = "Output")]
    pub hashes: HashesArg,

    /// One JPEG per video with every frame as a tile labelled with its time, at most 2048 px
    /// wide (`derived.contact_sheet`; `--contact-sheet false` for none).
    #[arg(long, value_name = "BOOL", default_value_t = true, action = clap::ArgAction::Set, help_heading = "Output")]
    pub contact_sheet: bool,
}

/// Flags for fetching over HTTP(S) and S3 and writing to S3.
#[derive(Debug, Clone, Args)]
pub struct NetworkArgs {
    /// Longest wait for a connection: seconds (`10`) or `500ms`, `2m`.
    #[arg(long, value_name = "DURATION", default_value = "10s", value_parser = units::positive_duration_secs)]
    pub connect_timeout: Duration,

    /// Longest wait for the next byte of a response, headers included.
    #[arg(long, value_name = "DURATION", default_value = "30s", value_parser = units::positive_duration_secs)]
    pub read_timeout: Duration,

    /// Longest time for one whole download or upload, retries included.
    #[arg(long, value_name = "DURATION", default_value = "5m", value_parser = units::positive_duration_secs)]
    pub fetch_deadline: Duration,

    /// Retries of a transient failure (connection error, timeout, 408/429/5xx), with exponential
    /// backoff and full jitter; at most N+1 attempts.
    #[arg(long, value_name = "N", default_value_t = 3, value_parser = clap::value_parser!(u32).range(0..=20))]
    pub retries: u32,

    /// Most HTTP redirects followed.
    #[arg(long, value_name = "N", default_value_t = 5)]
    pub max_redirects: usize,

    /// Whether http(s) videos, and the redirects they lead to, may come from private addresses
    /// (loopback, 10/8, 172.16/12, 192.168/16, 100.64/10, fc00::/7). Link-local (cloud
    /// metadata), unspecified, multicast and broadcast addresses are always refused; S3
    /// endpoints are exempt [default: allow; serve: deny unless --listen is loopback].
    #[arg(long, value_enum, value_name = "POLICY")]
    pub private_urls: Option<PrivateUrls>,

    /// Downloads up to SIZE stay in memory; larger ones spill to a temporary file (sizes as in
    /// --max-bytes).
    #[arg(long, value_name = "SIZE", default_value = "64MiB", value_parser = units::size)]
    pub spill_above: u64,

    /// How to reach S3.
    #[command(flatten)]
    pub s3: S3Args,
}

/// How to reach S3: endpoint, addressing, region, credentials, and the public base URL.
#[derive(Debug, Clone, Args)]
pub struct S3Args {
    /// An S3-compatible endpoint (`http://127.0.0.1:9000`) [default: AWS_ENDPOINT_URL, else
    /// AWS itself].
    #[arg(long, value_name = "URL", value_parser = http_url, help_heading = "S3")]
    pub s3_endpoint: Option<String>,

    /// Path-style S3 addressing (`endpoint/bucket/key`), which most S3-compatible servers need.
    #[arg(long, help_heading = "S3")]
    pub s3_path_style: bool,

    /// The S3 region; the flag wins over AWS_REGION, AWS_DEFAULT_REGION and the profile
    /// [default: from those, else us-east-1].
    #[arg(long, value_name = "REGION", help_heading = "S3")]
    pub s3_region: Option<String>,

    /// The AWS profile (from ~/.aws/config and ~/.aws/credentials) to take credentials and
    /// region from [default: AWS_PROFILE, else `default`].
    #[arg(long, value_name = "NAME", help_heading = "S3")]
    pub profile: Option<String>,

    /// Send S3 requests unsigned, without looking for credentials (public buckets).
    #[arg(long, conflicts_with = "profile", help_heading = "S3")]
    pub no_sign_request: bool,

    /// A bucket served over HTTPS (e.g. `https://cdn.example.com/frames`): record URIs (extract,
    /// serve) and gallery links read BASE/<key> instead of s3://bucket/<key>.
    #[arg(long, value_name = "BASE", value_parser = http_url, help_heading = "S3")]
    pub public_url_base: Option<String>,
}

/// Arguments of `reelframe merge`.
#[derive(Debug, Args)]
pub struct MergeArgs {
    /// JSONL of metadata records, one JSON object per line, each with a `content_id` (a string,
    /// or an integer taken as its digits). Streamed: the output follows its order.
    #[arg(value_name = "METADATA")]
    pub metadata: PathBuf,

    /// JSONL of download records, one JSON object per line, each with a `content_id` and a
    /// non-empty string `video_url`. Held in memory as the hash side of the join.
    #[arg(value_name = "DOWNLOADS")]
    pub downloads: PathBuf,

    /// Write the merged records to OUT instead of stdout (`-` is stdout). OUT is written to a
    /// temporary file beside it and renamed into place at the end.
    #[arg(short, long = "out", visible_alias = "output", value_name = "OUT")]
    pub out: Option<PathBuf>,

    /// Keep only merged records whose top-level FIELD equals VALUE (repeatable; all must hold).
    /// A string field is compared by its value, any other JSON value by its JSON text, so
    /// `metadata_fetch_status=200` matches both `200` and `"200"`. A missing field fails.
    /// Records that fail are rejected with reason `filtered`.
    #[arg(long = "require", value_name = "FIELD=VALUE")]
    pub require: Vec<Requirement>,

    /// Where the rejects go, one JSON line each (always written, possibly empty)
    /// [default: OUT.rejects.jsonl beside OUT, or ./merge.rejects.jsonl when writing to stdout].
    #[arg(long, value_name = "PATH")]
    pub rejects: Option<PathBuf>,
}

/// One `--require FIELD=VALUE` condition on a merged record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Requirement {
    /// The top-level field of the merged record.
    pub field: String,
    /// The value it must have: a string's value, or any other JSON value's text.
    pub value: String,
}

impl FromStr for Requirement {
    type Err = crate::error::InvalidValue;

    /// Parses `FIELD=VALUE`, split at the first `=` (VALUE may contain `=` and may be empty).
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.split_once('=') {
            Some((field, value)) if !field.is_empty() => Ok(Requirement {
                field: field.to_string(),
                value: value.to_string(),
            }),
            Some(_) => Err(crate::error::InvalidValue(format!(
                "{s:?}: FIELD is empty (expected FIELD=VALUE)"
            ))),
            None => Err(crate::error::InvalidValue(format!(
                "{s:?}: no '=' (expected FIELD=VALUE)"
            ))),
        }
    }
}

impl fmt::Display for Requirement {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}={}", self.field, self.value)
    }
}

/// Arguments of `reelframe inspect`.
#[derive(Debug, Args)]
pub struct InspectArgs {
    /// The video: a local path or a file:// URL (download a remote video first).
    #[arg(value_name = "FILE_OR_URL")]
    pub video: String,

    /// Which frames would be sampled, exactly as in `extract`.
    #[command(flatten)]
    pub sampling: SamplingArgs,

    /// Print one JSON object instead of text.
    #[arg(long)]
    pub json: bool,
}

/// Tools to compare reelframe with.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Baseline {
    /// The ffmpeg CLI baselines (as `scripts/baselines.sh` runs them: the fps filter, keyframes,
    /// and the decode floors).
    Ffmpeg,
}

/// Arguments of `reelframe bench`.
#[derive(Debug, Args)]
pub struct BenchArgs {
    /// Video files, or directories whose video files (by extension) are taken.
    #[arg(value_name = "PATH")]
    pub paths: Vec<PathBuf>,

    /// An input list passed to `extract --input` (JSONL or CSV). The ffmpeg anchors need the
    /// list's `video_url`s to be local files.
    #[arg(short, long, value_name = "FILE")]
    pub input: Option<PathBuf>,

    /// Videos processed at once: reelframe's workers and parallel ffmpeg processes alike
    /// [default: number of cores].
    #[arg(short, long, value_parser = within::<usize>(1..=1024))]
    pub jobs: Option<usize>,

    /// A reelframe mode to measure (repeatable): `fps1`, `fps:RATE`, `keyframes`, `frames:N`
    /// (`frames10`), `tolerance:MS` (1 fps with `extract --tolerance MS`), or `fps:RATE+tolerance:MS`;
    /// `+hashes:none` or `+contact-sheet:false` price a feature (`--mode fps1 --mode
    /// fps1+hashes:none`) [default: fps1].
    #[arg(long = "mode", value_name = "MODE", value_parser = bench_mode)]
    pub modes: Vec<String>,

    /// Also measure sampling at this rate (as `extract --fps`).
    #[arg(long, value_name = "RATE", group = "bench_sampling", value_parser = fps_rate)]
    pub fps: Option<String>,

    /// Also measure N uniformly spread frames (as `extract --frames`).
    #[arg(long, value_name = "N", group = "bench_sampling", value_parser = clap::value_parser!(u32).range(1..))]
    pub frames: Option<u32>,

    /// Also measure keyframes only (as `extract --keyframes`).
    #[arg(long, group = "bench_sampling")]
    pub keyframes: bool,

    /// Pass `--tolerance MS` to `extract` for the fps modes that do not set their own:
    /// milliseconds (`500`) or `500ms`, `1s`.
    #[arg(long, value_name = "MS", value_parser = units::duration_ms)]
    pub tolerance: Option<Duration>,

    /// Run every method K times and report min/median/max.
    #[arg(long, value_name = "K", default_value_t = 1, value_parser = clap::value_parser!(u32).range(1..))]
    pub repeat: u32,

    /// Run every method N times first, unmeasured (warms caches and the CPU's clocks), as
    /// hyperfine's --warmup.
    #[arg(long, value_name = "N", default_value_t = 0)]
    pub warmup: u32,

    /// Also write the results as a Markdown table to FILE.
    #[arg(long, value_name = "FILE")]
    pub export_markdown: Option<PathBuf>,

    /// Also write the results as CSV (one row per method) to FILE.
    #[arg(long, value_name = "FILE")]
    pub export_csv: Option<PathBuf>,

    /// Also run these baselines on the same inputs with the same job count.
    #[arg(long, value_enum, value_name = "TOOL")]
    pub compare: Vec<Baseline>,

    /// With `--compare ffmpeg`, also run ffmpeg with default threading, one video at a time.
    #[arg(long)]
    pub ffmpeg_serial: bool,

    /// The ffmpeg executable for `--compare ffmpeg`.
    #[arg(long, value_name = "PATH", default_value = "ffmpeg")]
    pub ffmpeg: PathBuf,

    /// Print one JSON document (machine, settings, methods with every run, speed-ups) instead of
    /// the table.
    #[arg(long)]
    pub json: bool,

    /// Draw videos per second per method as a bar chart into this SVG file.
    #[arg(long, value_name = "FILE.svg")]
    pub plot: Option<PathBuf>,

    /// Sample only the first DURATION of each video: seconds (`60`) or `90s`, `1m` (0 = no cap);
    /// ffmpeg gets it as `-t`.
    #[arg(long, value_name = "DURATION", default_value = "60", value_parser = units::duration_secs)]
    pub max_seconds: Duration,

    /// Where the scratch directory is made [default: the system's temporary directory].
    #[arg(long, value_name = "DIR")]
    pub scratch_dir: Option<PathBuf>,

    /// No progress lines on stderr.
    #[arg(short, long)]
    pub quiet: bool,
}
