//! The flags of `reelframe serve`.

use super::NetworkArgs;
use clap::Args;
use std::path::PathBuf;

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

    /// Answers kept whole in memory, the most recently used (parsed, ~160 KB each with 60 frames). Older ones are
    /// read back from the journal, which memory indexes at ~70 bytes an answer; without a
    /// journal they are extracted again.
    #[arg(long, value_name = "N", default_value_t = 256)]
    pub answer_cache: usize,

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

    /// Where libavcodec runs: `process` decodes in supervised, sandboxed decoder processes (a
    /// hostile or crashing video costs its request a 500 `decoder_crashed`, never the server);
    /// `off` decodes in the server's process.
    #[arg(long, value_enum, default_value = "process")]
    pub isolate: super::Isolate,

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
