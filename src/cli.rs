//! Command-line arguments (clap derive): every flag of every command. Parsed once, then checked
//! into a configuration by `config.rs`; nothing else reads them.

use clap::{Args, Parser, Subcommand};
use std::fmt;
use std::path::PathBuf;
use std::str::FromStr;

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
    /// Group near-duplicate videos by their vPDQ hashes (records from `extract --hashes pdq`).
    Similar(SimilarArgs),
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
    /// Frames per second to sample (`1`, `0.5`, `30000/1001`).
    #[arg(long, value_name = "RATE", group = "mode")]
    pub fps: Option<String>,

    /// Sample this many frames, spread uniformly over the capped duration.
    #[arg(long, value_name = "N", group = "mode")]
    pub frames: Option<u32>,

    /// Sample every keyframe in the capped duration, decoding nothing else.
    #[arg(long, group = "mode")]
    pub keyframes: bool,

    /// Sample only the first SECONDS of each video (0 = no cap).
    #[arg(long, value_name = "SECONDS", default_value = "60")]
    pub max_seconds: String,

    /// Let a target take the nearest keyframe within ±MS of its time instead of the exact frame
    /// (much less decoding; records give the frame's actual pts). 0 = exact frames.
    #[arg(long, value_name = "MS", default_value_t = 0)]
    pub tolerance: u64,
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
    #[arg(short, long, value_name = "FILE|URL")]
    pub input: Option<PathBuf>,

    /// Format of --input: `auto` takes `.csv` files as CSV and everything else as JSONL.
    #[arg(long, value_enum, default_value = "auto")]
    pub input_format: InputFormat,

    /// Builds `video_url` for records that carry only an ID, e.g.
    /// `s3://bucket/videos/{content_id}.mp4`; placeholders `{content_id}` and `{platform}`
    /// (percent-encoded in URLs).
    #[arg(long, value_name = "TEMPLATE")]
    pub video_url_template: Option<String>,

    /// Where frames and thumbnails go: a directory, or `s3://bucket/prefix`.
    #[arg(short, long, value_name = "DIR|S3_URI", default_value = "out")]
    pub out: PathBuf,

    /// Where records go: a file, `-` for stdout, or `s3://bucket/key` (journaled locally, see
    /// --journal, and uploaded every minute and at the end) [default: OUT/records.jsonl].
    #[arg(long, value_name = "PATH|S3_URI")]
    pub records: Option<PathBuf>,

    /// The local journal of records going to S3, which makes a killed run resumable
    /// [default: .reelframe/<bucket>/<key> in the current directory].
    #[arg(long, value_name = "PATH")]
    pub journal: Option<PathBuf>,

    /// Record format: `jsonl`, or `avro` to also write an Avro container file (RECORDS with an
    /// `.avro` extension; schema in schema/record.avsc) from the JSONL records at the end.
    #[arg(long, value_enum, default_value = "jsonl")]
    pub records_format: RecordsFormat,

    /// Platform used in the key layout when a record has no `platform` field.
    #[arg(long, default_value = "tiktok")]
    pub platform: String,

    /// Which frames to take.
    #[command(flatten)]
    pub sampling: SamplingArgs,

    /// Scale frames so the longest side is at most PX (never upscales).
    #[arg(long, value_name = "PX")]
    pub max_side: Option<u32>,

    /// Scale frames to this width (aspect ratio kept).
    #[arg(long, value_name = "PX")]
    pub width: Option<u32>,

    /// Scale frames to this height (aspect ratio kept; with --width, fit inside both).
    #[arg(long, value_name = "PX")]
    pub height: Option<u32>,

    /// JPEG quality, 1–100.
    #[arg(long, default_value_t = crate::pipeline::encode::DEFAULT_QUALITY)]
    pub quality: u8,

    /// Longest side of the thumbnail in pixels (0 = the frame's size).
    #[arg(long, value_name = "PX", default_value_t = 320)]
    pub thumbnail_max_side: u32,

    /// HDR (PQ, HLG) video: `tonemap` to SDR BT.709, or `passthrough` for the raw conversion.
    #[arg(long, value_enum, default_value_t = HdrArg::Tonemap)]
    pub hdr: HdrArg,

    /// Perceptual hash of every frame, taken on the upright picture before JPEG encoding
    /// (`derived.frames[].pdq`, `.pdq_quality`); what `reelframe similar` groups by.
    #[arg(long, value_enum, default_value = "pdq")]
    pub hashes: HashesArg,

    /// One JPEG per video with every frame as a tile labelled with its time, at most 2048 px
    /// wide (`derived.contact_sheet`; `--contact-sheet false` for none).
    #[arg(long, value_name = "BOOL", default_value_t = true, action = clap::ArgAction::Set)]
    pub contact_sheet: bool,

    /// Videos processed at once [default: number of cores].
    #[arg(short, long)]
    pub jobs: Option<usize>,

    /// Process only shard INDEX of COUNT of the input (by a hash of content_id), for array jobs.
    /// `auto/COUNT` takes INDEX from the engine (Kubernetes Indexed Jobs, AWS Batch arrays,
    /// Slurm arrays); `auto` also takes COUNT where the engine gives it (Slurm). Each shard's
    /// records default to their own file, `records.shard-IIII-of-NNNN.jsonl`.
    #[arg(long, value_name = "INDEX/COUNT|auto[/COUNT]")]
    pub shard: Option<String>,

    /// Videos fetched ahead of the decoders (at most JOBS + N videos in memory at once)
    /// [default: 2 × jobs].
    #[arg(long, value_name = "N")]
    pub prefetch: Option<usize>,

    /// Frames and thumbnails being written to the store at once.
    #[arg(long, value_name = "N", default_value_t = 16)]
    pub upload_concurrency: usize,

    /// Where videos are decoded: `process` runs libavcodec in supervised decoder processes, so a
    /// decoder that crashes costs its item (a `decoder_crashed` record) and not the run; `off`
    /// decodes in this process.
    #[arg(long, value_enum, default_value = "process")]
    pub isolate: Isolate,

    /// Threads inside each decoder (1 = parallel across videos only).
    #[arg(long, default_value_t = 1)]
    pub decode_threads: usize,

    /// Deadline for one item from open to its last frame (`300`, `90s`, `5m`).
    #[arg(long, value_name = "DURATION", default_value = "5m")]
    pub item_timeout: String,

    /// Largest video accepted (`2G`, `500M`, bytes).
    #[arg(long, value_name = "SIZE", default_value = "2G")]
    pub max_bytes: String,

    /// Largest frame accepted, in pixels (width × height), checked against the container's
    /// size and every decoded frame; a larger one fails the item as `frame_too_large`.
    #[arg(long, value_name = "PIXELS", default_value_t = crate::pipeline::demux::MAX_PIXELS)]
    pub max_pixels: u64,

    /// Longest input row (a JSON line or CSV record) read; a longer one is skipped without
    /// being held in memory and gets an `invalid_input` record with its line number.
    #[arg(long, value_name = "SIZE", default_value = "1M")]
    pub max_row_bytes: String,

    /// Remote fetches and uploads.
    #[command(flatten)]
    pub network: NetworkArgs,

    /// Write the run's counts and per-stage times as JSON to FILE at the end (what `reelframe
    /// bench` reads).
    #[arg(long, value_name = "FILE")]
    pub stats_json: Option<PathBuf>,

    /// Redo every item, even those an earlier run completed.
    #[arg(long)]
    pub force: bool,

    /// No progress bar and no summary line.
    #[arg(short, long)]
    pub quiet: bool,

    /// More logging (-v info, -vv debug with FFmpeg's own warnings).
    #[arg(short, long, action = clap::ArgAction::Count)]
    pub verbose: u8,
}

/// Flags for fetching over HTTP(S) and S3 and writing to S3.
#[derive(Debug, Clone, Args)]
pub struct NetworkArgs {
    /// Longest wait for a connection (`10`, `500ms`, `2m`).
    #[arg(long, value_name = "DURATION", default_value = "10s")]
    pub connect_timeout: String,

    /// Longest wait for the next byte of a response, headers included.
    #[arg(long, value_name = "DURATION", default_value = "30s")]
    pub read_timeout: String,

    /// Longest time for one whole download or upload, retries included.
    #[arg(long, value_name = "DURATION", default_value = "5m")]
    pub fetch_deadline: String,

    /// Retries of a transient failure (connection error, timeout, 408/429/5xx), with exponential
    /// backoff and full jitter; at most N+1 attempts.
    #[arg(long, value_name = "N", default_value_t = 3)]
    pub retries: u32,

    /// Most HTTP redirects followed.
    #[arg(long, value_name = "N", default_value_t = 5)]
    pub max_redirects: usize,

    /// Downloads up to SIZE stay in memory; larger ones spill to a temporary file.
    #[arg(long, value_name = "SIZE", default_value = "64M")]
    pub spill_above: String,

    /// An S3-compatible endpoint (`http://127.0.0.1:9000`); also read from AWS_ENDPOINT_URL.
    #[arg(long, value_name = "URL")]
    pub s3_endpoint: Option<String>,

    /// Path-style S3 addressing (`endpoint/bucket/key`), which most S3-compatible servers need.
    #[arg(long)]
    pub s3_path_style: bool,

    /// The S3 region when the environment names none [default: us-east-1].
    #[arg(long, value_name = "REGION")]
    pub s3_region: Option<String>,

    /// Write record URIs as BASE/<key> instead of s3://bucket/<key>, for a bucket served over
    /// HTTPS (e.g. `https://cdn.example.com/frames`).
    #[arg(long, value_name = "BASE")]
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
    /// The video: a local path or a file:// URL (remote URLs are refused as `extract` refuses
    /// them).
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
    #[arg(short, long)]
    pub jobs: Option<usize>,

    /// A reelframe mode to measure (repeatable): `fps1`, `fps:RATE`, `keyframes`, `frames:N`
    /// (`frames10`), `tolerance:MS` (1 fps with `extract --tolerance MS`), or `fps:RATE+tolerance:MS`;
    /// `+hashes:none` or `+contact-sheet:false` price a feature (`--mode fps1 --mode
    /// fps1+hashes:none`) [default: fps1].
    #[arg(long = "mode", value_name = "MODE")]
    pub modes: Vec<String>,

    /// Also measure sampling at this rate (as `extract --fps`).
    #[arg(long, value_name = "RATE", group = "bench_sampling")]
    pub fps: Option<String>,

    /// Also measure N uniformly spread frames (as `extract --frames`).
    #[arg(long, value_name = "N", group = "bench_sampling")]
    pub frames: Option<u32>,

    /// Also measure keyframes only (as `extract --keyframes`).
    #[arg(long, group = "bench_sampling")]
    pub keyframes: bool,

    /// Pass `--tolerance MS` to `extract` for the fps modes that do not set their own.
    #[arg(long, value_name = "MS")]
    pub tolerance: Option<u32>,

    /// Run every method K times and report min/median/max.
    #[arg(long, value_name = "K", default_value_t = 1, value_parser = clap::value_parser!(u32).range(1..))]
    pub repeat: u32,

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

    /// Sample only the first SECONDS of each video (0 = no cap); ffmpeg gets it as `-t`.
    #[arg(long, value_name = "SECONDS", default_value = "60")]
    pub max_seconds: String,

    /// Where the scratch directory is made [default: the system's temporary directory].
    #[arg(long, value_name = "DIR")]
    pub scratch_dir: Option<PathBuf>,

    /// No progress lines on stderr.
    #[arg(short, long)]
    pub quiet: bool,
}

/// Arguments of `reelframe serve`.
#[derive(Debug, Args)]
pub struct ServeArgs {
    /// Address to listen on. Loopback by default; any other address needs --token (or
    /// --insecure-no-auth). Port 0 picks a free port (the chosen address is printed).
    #[arg(long, value_name = "ADDR:PORT", default_value = "127.0.0.1:8080")]
    pub listen: String,

    /// Where frames and thumbnails go: a directory, or `s3://bucket/prefix`.
    #[arg(short, long, value_name = "DIR|S3_URI", default_value = "out")]
    pub out: PathBuf,

    /// The records journal: every answer is appended as an `extract` record, and read back at
    /// start so a repeat is answered from the store [default: OUT/records.jsonl for a
    /// directory; none for S3].
    #[arg(long, value_name = "PATH")]
    pub records: Option<PathBuf>,

    /// Platform used when a request has none.
    #[arg(long, default_value = "tiktok")]
    pub platform: String,

    /// Extractions running at once [default: number of cores].
    #[arg(long, value_name = "N")]
    pub max_inflight: Option<usize>,

    /// Extractions waiting for a slot at most; beyond it requests get 503 at once
    /// [default: 2 × max-inflight].
    #[arg(long, value_name = "N")]
    pub max_queue: Option<usize>,

    /// Deadline of one request, queueing included (`90s`, `5m`); 504 after it.
    #[arg(long, value_name = "DURATION", default_value = "5m")]
    pub request_timeout: String,

    /// Largest request body (`64K`); 413 above it.
    #[arg(long, value_name = "SIZE", default_value = "64K")]
    pub max_body: String,

    /// On SIGTERM/SIGINT, how long in-flight requests may still run before the server exits.
    #[arg(long, value_name = "DURATION", default_value = "30s")]
    pub shutdown_timeout: String,

    /// Bearer token every request to /store_video_frames and /metrics must send
    /// (`Authorization: Bearer TOKEN`); also read from REELFRAME_TOKEN.
    #[arg(long, value_name = "TOKEN")]
    pub token: Option<String>,

    /// Listen on a non-loopback address without a token.
    #[arg(long)]
    pub insecure_no_auth: bool,

    /// A directory local `video_uri`s may be in (repeatable); symlinks and `..` are resolved
    /// before the check. Without it, local paths are refused.
    #[arg(long, value_name = "DIR")]
    pub allow_root: Vec<PathBuf>,

    /// Largest video accepted (`2G`, `500M`, bytes).
    #[arg(long, value_name = "SIZE", default_value = "2G")]
    pub max_bytes: String,

    /// Threads inside each decoder [default: the cores divided among the running extractions,
    /// so a lone request uses them all].
    #[arg(long, value_name = "N")]
    pub decode_threads: Option<usize>,

    /// Frames and thumbnails being written to the store at once, over all requests.
    #[arg(long, value_name = "N", default_value_t = 16)]
    pub upload_concurrency: usize,

    /// Remote fetches and uploads.
    #[command(flatten)]
    pub network: NetworkArgs,

    /// Errors only (no access log).
    #[arg(short, long)]
    pub quiet: bool,

    /// More logging (-v debug).
    #[arg(short, long, action = clap::ArgAction::Count)]
    pub verbose: u8,
}

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
}
