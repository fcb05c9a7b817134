//! Checked configuration: raw arguments are validated once here; everything below takes these
//! types and never sees a raw string.

use crate::bench::methods::{Mode, ModeSampling};
use crate::cli::{
    Baseline, BenchArgs, ExtractArgs, InputFormat, InspectArgs, MergeArgs, NetworkArgs,
    RecordsFormat, Requirement, SamplingArgs, ServeArgs,
};
use crate::files::safe_segment;
use crate::pipeline::encode::SizeSpec;
use crate::pipeline::extract::{ExtractOptions, Hashes};
use crate::pipeline::input::open::{InputSpec, ListFormat};
use crate::pipeline::input::{ItemDefaults, Shard, UrlTemplate};
use crate::pipeline::net::retry::RetryPolicy;
use crate::pipeline::net::s3::{S3Location, S3Settings};
use crate::pipeline::net::FetchLimits;
use crate::pipeline::sample::{Sampling, SamplingMode};
use crate::pipeline::tonemap::HdrMode;
use crate::serve::ServeSettings;
use crate::units;
use anyhow::{bail, Context, Result};
use std::path::PathBuf;
use std::time::Duration;

/// Where records go.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RecordsTarget {
    /// A JSONL file (resumable).
    File(PathBuf),
    /// Standard output (not resumable).
    Stdout,
    /// An S3 object, written from a local journal (resumable through the journal, or through
    /// the object's last upload when the journal is gone).
    S3 {
        /// The object.
        location: S3Location,
        /// The local journal.
        journal: PathBuf,
    },
}

impl RecordsTarget {
    /// The local JSONL file records are appended to, if any.
    pub fn journal(&self) -> Option<&std::path::Path> {
        match self {
            RecordsTarget::File(p) => Some(p),
            RecordsTarget::S3 { journal, .. } => Some(journal),
            RecordsTarget::Stdout => None,
        }
    }
}

/// Where frames and thumbnails go.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StoreTarget {
    /// A local directory.
    Dir(PathBuf),
    /// An S3 bucket and key prefix.
    S3(S3Location),
}

/// How to reach remote sources and stores.
#[derive(Debug, Clone)]
pub struct NetworkConfig {
    /// Limits and retries for every fetch and upload.
    pub limits: FetchLimits,
    /// S3 endpoint, addressing and region.
    pub s3: S3Settings,
    /// Base URL that replaces `s3://bucket` in record URIs.
    pub public_url_base: Option<String>,
}

/// Parses `s3://…` in a path-like argument, if it is one.
fn s3_argument(name: &str, value: &std::path::Path) -> Result<Option<S3Location>> {
    let Some(text) = value.to_str().filter(|t| t.starts_with("s3://")) else {
        return Ok(None);
    };
    S3Location::parse(text)
        .map(Some)
        .with_context(|| format!("{name} {text:?} needs a bucket: s3://bucket/prefix"))
}

/// Checks the network flags.
pub fn network_from_args(args: &NetworkArgs, max_bytes: u64) -> Result<NetworkConfig> {
    Ok(NetworkConfig {
        limits: FetchLimits {
            connect_timeout: args.connect_timeout,
            read_timeout: args.read_timeout,
            fetch_deadline: args.fetch_deadline,
            max_bytes,
            max_redirects: args.max_redirects,
            memory_limit: args.spill_above,
            spill_dir: None,
            retry: RetryPolicy {
                retries: args.retries,
                ..RetryPolicy::default()
            },
        },
        s3: S3Settings {
            endpoint: args.s3_endpoint.clone(),
            path_style: args.s3_path_style,
            region: args.s3_region.clone(),
            profile: args.profile.clone(),
            unsigned: args.no_sign_request,
        },
        public_url_base: args.public_url_base.clone(),
    })
}

/// A checked `extract` configuration.
#[derive(Debug, Clone)]
pub struct ExtractConfig {
    /// Inputs, in order: paths first, then the JSONL list.
    pub inputs: Vec<InputSpec>,
    /// Where frames and thumbnails go.
    pub store: StoreTarget,
    /// Remote fetches and uploads.
    pub network: NetworkConfig,
    /// Videos fetched ahead of the decoders.
    pub prefetch: usize,
    /// The shard of the input this run owns, if sharded.
    pub shard: Option<Shard>,
    /// Records target.
    pub records: RecordsTarget,
    /// Per-item options.
    pub options: ExtractOptions,
    /// What items fall back on (URL template, platform).
    pub defaults: ItemDefaults,
    /// Largest video accepted.
    pub max_bytes: u64,
    /// Worker count.
    pub jobs: usize,
    /// Also write the records as Avro, to this path, at the end.
    pub avro: Option<PathBuf>,
    /// Where to write the run's counts and stage times as JSON, if anywhere.
    pub stats_json: Option<PathBuf>,
    /// Decode in supervised decoder processes.
    pub isolate: bool,
    /// Redo completed items.
    pub force: bool,
    /// No progress, no summary.
    pub quiet: bool,
    /// When stderr is not a terminal, a progress line this often.
    pub progress_interval: Duration,
}

/// Checks the sampling flags into a [`Sampling`].
pub fn sampling_from_args(args: &SamplingArgs) -> Result<Sampling> {
    let mode = if args.keyframes {
        SamplingMode::Keyframes
    } else if let Some(n) = args.frames {
        SamplingMode::Frames(n)
    } else {
        SamplingMode::parse_fps(args.fps.as_deref().unwrap_or("1"))?
    };
    Ok(Sampling {
        mode,
        max_ms: units::as_ms(args.max_seconds),
        tolerance_ms: units::as_ms(args.tolerance),
    })
}

impl ExtractConfig {
    /// Checks `args` into a configuration.
    pub fn from_args(args: &ExtractArgs) -> Result<ExtractConfig> {
        let mut inputs = Vec::new();
        if !args.paths.is_empty() {
            inputs.push(InputSpec::Paths(args.paths.clone()));
        }
        let format_of = |path: &std::path::Path| match args.input_format {
            InputFormat::Jsonl => ListFormat::Jsonl,
            InputFormat::Csv => ListFormat::Csv,
            InputFormat::Auto => {
                let csv = path
                    .extension()
                    .is_some_and(|e| e.eq_ignore_ascii_case("csv"));
                if csv {
                    ListFormat::Csv
                } else {
                    ListFormat::Jsonl
                }
            }
        };
        match &args.input {
            Some(p) if p.as_os_str() == "-" => inputs.push(InputSpec::Stdin(format_of(p))),
            Some(p) => {
                let text = p.to_string_lossy();
                let remote = ["http://", "https://", "s3://"]
                    .iter()
                    .any(|scheme| text.starts_with(scheme));
                if remote {
                    let without_query = text.split(['?', '#']).next().unwrap_or_default();
                    let format = format_of(std::path::Path::new(without_query));
                    inputs.push(InputSpec::Remote(text.into_owned(), format));
                } else if text.contains("://") {
                    bail!("--input {text:?}: only local files, http(s):// and s3:// are allowed");
                } else {
                    inputs.push(InputSpec::List(p.clone(), format_of(p)));
                }
            }
            None => {}
        }
        if inputs.is_empty() {
            bail!("nothing to do: give video paths or --input FILE (see --help)");
        }
        let sampling = sampling_from_args(&args.sampling)?;
        let jobs = args.jobs.unwrap_or_else(|| {
            std::thread::available_parallelism()
                .map(|n| n.get())
                .unwrap_or(1)
        });
        let platform = args.platform.trim().to_string();
        if platform.is_empty() {
            bail!("--platform must not be empty");
        }
        let store = match s3_argument("--out", &args.out)? {
            Some(location) => StoreTarget::S3(location),
            None => StoreTarget::Dir(args.out.clone()),
        };
        let shard = args
            .shard
            .as_deref()
            .map(|spec| Shard::resolve(spec, &|name| std::env::var(name).ok()))
            .transpose()?;
        // each shard's records are its own file, so shards on one output never contend
        let records_name = match shard {
            Some(s) => format!("records.shard-{:04}-of-{:04}.jsonl", s.index, s.count),
            None => "records.jsonl".to_string(),
        };
        let s3_records = |location: S3Location| {
            let journal = args.journal.clone().unwrap_or_else(|| {
                let mut path = PathBuf::from(".reelframe").join(safe_segment(&location.bucket));
                for part in location.key.split('/') {
                    path.push(safe_segment(part));
                }
                path
            });
            RecordsTarget::S3 { location, journal }
        };
        let records = match &args.records {
            Some(p) if p.as_os_str() == "-" => RecordsTarget::Stdout,
            Some(p) => match s3_argument("--records", p)? {
                Some(location) if location.key.is_empty() => {
                    bail!("--records {location} needs an object key")
                }
                Some(location) => s3_records(location),
                None => RecordsTarget::File(p.clone()),
            },
            None => match &store {
                StoreTarget::Dir(dir) => RecordsTarget::File(dir.join(&records_name)),
                StoreTarget::S3(location) => {
                    let key = match location.key.as_str() {
                        "" => records_name.clone(),
                        prefix => format!("{prefix}/{records_name}"),
                    };
                    s3_records(S3Location {
                        bucket: location.bucket.clone(),
                        key,
                    })
                }
            },
        };
        let video_url_template = args
            .video_url_template
            .as_deref()
            .map(UrlTemplate::parse)
            .transpose()?;
        let max_row_bytes = args.max_row_bytes;
        if !(1024..=1 << 30).contains(&max_row_bytes) {
            bail!("--max-row-bytes must be between 1K and 1G");
        }
        let defaults = ItemDefaults {
            video_url_template,
            platform: platform.clone(),
            max_row_bytes: max_row_bytes as usize,
        };
        if args.max_pixels < 64 * 64 {
            bail!("--max-pixels must be at least 4096 (64×64)");
        }
        let avro = match (args.records_format, &records) {
            (RecordsFormat::Jsonl, _) => None,
            (RecordsFormat::Avro, RecordsTarget::File(p)) => Some(p.with_extension("avro")),
            (RecordsFormat::Avro, RecordsTarget::S3 { journal, .. }) => {
                Some(journal.with_extension("avro"))
            }
            (RecordsFormat::Avro, RecordsTarget::Stdout) => {
                bail!("--records-format avro needs a records file, not stdout")
            }
        };
        let max_bytes = args.max_bytes;
        let prefetch = args.prefetch.unwrap_or(2 * jobs).min(4096);
        Ok(ExtractConfig {
            avro,
            stats_json: args.stats_json.clone(),
            defaults,
            inputs,
            store,
            network: network_from_args(&args.network, max_bytes)?,
            prefetch,
            shard,
            records,
            options: ExtractOptions {
                sampling,
                size: SizeSpec {
                    max_side: args.max_side,
                    width: args.width,
                    height: args.height,
                },
                quality: args.quality,
                thumbnail_max_side: args.thumbnail_max_side,
                decode_threads: args.decode_threads,
                max_pixels: args.max_pixels,
                item_timeout: args.item_timeout,
                platform,
                upload_concurrency: args.upload_concurrency,
                hdr: match args.hdr {
                    crate::cli::HdrArg::Tonemap => HdrMode::ToneMap,
                    crate::cli::HdrArg::Passthrough => HdrMode::Passthrough,
                },
                hashes: match args.hashes {
                    crate::cli::HashesArg::Pdq => Hashes::Pdq,
                    crate::cli::HashesArg::None => Hashes::None,
                },
                contact_sheet: args.contact_sheet,
            },
            max_bytes,
            jobs,
            isolate: args.isolate == crate::cli::Isolate::Process,
            force: args.force,
            quiet: args.quiet,
            progress_interval: args.progress_interval,
        })
    }
}

/// A checked `inspect` configuration.
#[derive(Debug, Clone)]
pub struct InspectConfig {
    /// The video as given (a local path or a `file://` URL).
    pub video: String,
    /// Which frames would be sampled.
    pub sampling: Sampling,
    /// JSON instead of text.
    pub json: bool,
}

impl InspectConfig {
    /// Checks `args` into a configuration.
    pub fn from_args(args: &InspectArgs) -> Result<InspectConfig> {
        let video = args.video.trim();
        if ["http://", "https://", "s3://"]
            .iter()
            .any(|scheme| video.to_ascii_lowercase().starts_with(scheme))
        {
            bail!(
                "inspect reads local files only: download {video} first (e.g. `curl -LO URL` or \
                 `aws s3 cp URL .`) and inspect the file; `extract` fetches remote videos itself"
            );
        }
        Ok(InspectConfig {
            video: args.video.clone(),
            sampling: sampling_from_args(&args.sampling)?,
            json: args.json,
        })
    }
}

/// A checked `merge` configuration.
#[derive(Debug, Clone)]
pub struct MergeConfig {
    /// The metadata JSONL (streamed).
    pub metadata: PathBuf,
    /// The downloads JSONL (the hash side).
    pub downloads: PathBuf,
    /// Where merged records go; `None` is stdout.
    pub out: Option<PathBuf>,
    /// Conditions every merged record must meet.
    pub require: Vec<Requirement>,
    /// Where rejects go, when not the default.
    pub rejects: Option<PathBuf>,
}

impl MergeConfig {
    /// Checks `args` into a configuration.
    pub fn from_args(args: &MergeArgs) -> Result<MergeConfig> {
        Ok(MergeConfig {
            metadata: args.metadata.clone(),
            downloads: args.downloads.clone(),
            out: args.out.clone().filter(|p| p.as_os_str() != "-"),
            require: args.require.clone(),
            rejects: args.rejects.clone(),
        })
    }
}

/// A checked `bench` configuration.
#[derive(Debug, Clone)]
pub struct BenchConfig {
    /// Video files or directories.
    pub paths: Vec<PathBuf>,
    /// An input list for `extract --input`.
    pub input: Option<PathBuf>,
    /// Workers and parallel ffmpeg processes.
    pub jobs: usize,
    /// The reelframe modes to measure, in order, without repeats.
    pub modes: Vec<Mode>,
    /// Runs per method.
    pub repeat: u32,
    /// Unmeasured runs per method first.
    pub warmup: u32,
    /// A Markdown table to write.
    pub export_markdown: Option<PathBuf>,
    /// A CSV file to write.
    pub export_csv: Option<PathBuf>,
    /// Also run the ffmpeg CLI baselines.
    pub compare_ffmpeg: bool,
    /// Also run ffmpeg with default threading, one video at a time.
    pub ffmpeg_serial: bool,
    /// The ffmpeg executable.
    pub ffmpeg: PathBuf,
    /// JSON instead of the table.
    pub json: bool,
    /// An SVG bar chart to draw.
    pub plot: Option<PathBuf>,
    /// `--max-seconds` as given (passed on to `extract` and, as `-t`, to ffmpeg).
    pub max_seconds: String,
    /// The cap in ms (0 = none).
    pub cap_ms: u64,
    /// Where the scratch directory goes.
    pub scratch_dir: Option<PathBuf>,
    /// No progress lines.
    pub quiet: bool,
}

impl BenchConfig {
    /// Checks `args` into a configuration.
    pub fn from_args(args: &BenchArgs) -> Result<BenchConfig> {
        if args.paths.is_empty() && args.input.is_none() {
            bail!("no inputs: give video files or directories, or --input LIST");
        }
        let jobs = match args.jobs {
            Some(n) => n,
            None => std::thread::available_parallelism().map_or(1, |n| n.get()),
        };
        Ok(BenchConfig {
            paths: args.paths.clone(),
            input: args.input.clone(),
            jobs,
            modes: modes_of(args)?,
            repeat: args.repeat,
            warmup: args.warmup,
            export_markdown: args.export_markdown.clone(),
            export_csv: args.export_csv.clone(),
            compare_ffmpeg: args.compare.contains(&Baseline::Ffmpeg),
            ffmpeg_serial: args.ffmpeg_serial,
            ffmpeg: args.ffmpeg.clone(),
            json: args.json,
            plot: args.plot.clone(),
            max_seconds: seconds_text(units::as_ms(args.max_seconds)),
            cap_ms: units::as_ms(args.max_seconds),
            scratch_dir: args.scratch_dir.clone(),
            quiet: args.quiet,
        })
    }
}

/// A duration flag given as text (serve's flags): `90s`, `5m`, or seconds.
fn flag_duration(flag: &str, text: &str) -> Result<Duration> {
    units::positive_duration_secs(text).map_err(|why| anyhow::anyhow!("{flag}: {why}"))
}

/// A size flag given as text (serve's flags): `64K`, `2GiB`, or bytes.
fn flag_size(flag: &str, text: &str) -> Result<u64> {
    units::size(text).map_err(|why| anyhow::anyhow!("{flag}: {why}"))
}

/// A checked `serve` configuration.
#[derive(Debug, Clone)]
pub struct ServeConfig {
    /// Where to listen.
    pub listen: std::net::SocketAddr,
    /// Where frames and thumbnails go.
    pub store: StoreTarget,
    /// Remote fetches and uploads.
    pub network: NetworkConfig,
    /// Largest video accepted.
    pub max_bytes: u64,
    /// The defaults each request may override.
    pub options: ExtractOptions,
    /// Admission, deadlines, auth, roots, journal.
    pub settings: ServeSettings,
    /// How long in-flight requests may run after SIGTERM/SIGINT.
    pub shutdown_timeout: Duration,
    /// No access log.
    pub quiet: bool,
}

impl ServeConfig {
    /// Checks `args` into a configuration; `env_token` is REELFRAME_TOKEN's value.
    pub fn from_args(args: &ServeArgs, env_token: Option<String>) -> Result<ServeConfig> {
        let listen: std::net::SocketAddr = args.listen.trim().parse().with_context(|| {
            format!(
                "--listen {:?} is not ADDR:PORT (e.g. 127.0.0.1:8080)",
                args.listen
            )
        })?;
        let token = args.token.clone().or(env_token).filter(|t| !t.is_empty());
        if token
            .as_ref()
            .is_some_and(|t| t.trim() != t || t.len() < 16)
        {
            bail!("--token must be at least 16 characters without surrounding spaces");
        }
        if !listen.ip().is_loopback() && token.is_none() && !args.insecure_no_auth {
            bail!("--listen {listen} is reachable from other machines: give --token TOKEN (or REELFRAME_TOKEN), or --insecure-no-auth to serve without one");
        }
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
        let max_inflight = args.max_inflight.unwrap_or(cores);
        if max_inflight == 0 || max_inflight > 1024 {
            bail!("--max-inflight must be between 1 and 1024");
        }
        let max_queue = args.max_queue.unwrap_or(2 * max_inflight);
        if max_queue > 100_000 {
            bail!("--max-queue must be at most 100000");
        }
        if args.decode_threads.is_some_and(|n| n == 0 || n > 64) {
            bail!("--decode-threads must be between 1 and 64");
        }
        if args.upload_concurrency == 0 || args.upload_concurrency > 1024 {
            bail!("--upload-concurrency must be between 1 and 1024");
        }
        let mut allow_roots = Vec::new();
        for root in &args.allow_root {
            let canonical = std::fs::canonicalize(root)
                .with_context(|| format!("--allow-root {}", root.display()))?;
            if !canonical.is_dir() {
                bail!("--allow-root {} is not a directory", root.display());
            }
            allow_roots.push(canonical);
        }
        let platform = args.platform.trim().to_ascii_lowercase();
        if platform.is_empty() {
            bail!("--platform must not be empty");
        }
        let store = match s3_argument("--out", &args.out)? {
            Some(location) => StoreTarget::S3(location),
            None => StoreTarget::Dir(args.out.clone()),
        };
        let journal = match (&args.records, &store) {
            (Some(p), _) if p.to_string_lossy().contains("://") => {
                bail!("--records must be a local file for serve: {}", p.display())
            }
            (Some(p), _) => Some(p.clone()),
            (None, StoreTarget::Dir(dir)) => Some(dir.join("records.jsonl")),
            (None, StoreTarget::S3(_)) => None,
        };
        let request_timeout = flag_duration("--request-timeout", &args.request_timeout)?;
        let max_bytes = flag_size("--max-bytes", &args.max_bytes)?;
        Ok(ServeConfig {
            listen,
            store,
            network: network_from_args(&args.network, max_bytes)?,
            max_bytes,
            options: ExtractOptions {
                sampling: Sampling {
                    mode: SamplingMode::Fps { num: 1, den: 1 },
                    max_ms: 60_000,
                    tolerance_ms: 0,
                },
                size: SizeSpec::default(),
                quality: crate::pipeline::encode::DEFAULT_QUALITY,
                thumbnail_max_side: 320,
                decode_threads: 1,
                max_pixels: crate::pipeline::demux::MAX_PIXELS,
                item_timeout: request_timeout,
                platform,
                upload_concurrency: args.upload_concurrency,
                hdr: HdrMode::default(),
                hashes: Hashes::default(),
                contact_sheet: true,
            },
            settings: ServeSettings {
                max_inflight,
                max_queue,
                request_timeout,
                max_body: flag_size("--max-body", &args.max_body)? as usize,
                token,
                allow_roots,
                decode_threads: args.decode_threads,
                cores,
                journal,
            },
            shutdown_timeout: flag_duration("--shutdown-timeout", &args.shutdown_timeout)
                .context("--shutdown-timeout")?,
            quiet: args.quiet,
        })
    }
}

/// The modes asked for, in order, without repeats.
fn modes_of(args: &BenchArgs) -> Result<Vec<Mode>> {
    let mut modes = Vec::new();
    for text in &args.modes {
        modes.push(Mode::parse(text)?);
    }
    if let Some(rate) = &args.fps {
        modes.push(Mode::parse(&format!("fps:{rate}"))?);
    }
    if let Some(n) = args.frames {
        modes.push(Mode::parse(&format!("frames:{n}"))?);
    }
    if args.keyframes {
        modes.push(Mode::parse("keyframes")?);
    }
    if modes.is_empty() {
        modes.push(Mode::fps1());
    }
    if let Some(ms) = args.tolerance {
        let ms = u32::try_from(units::as_ms(ms)).context("--tolerance is too large")?;
        let mut applied = false;
        for mode in &mut modes {
            if matches!(mode.sampling, ModeSampling::Fps(_)) && mode.tolerance_ms.is_none() {
                mode.tolerance_ms = Some(ms);
                applied = true;
            }
        }
        if !applied {
            bail!("--tolerance applies to fps modes, and none is measured");
        }
    }
    let mut unique: Vec<Mode> = Vec::new();
    for mode in modes {
        if !unique.iter().any(|m| m.name() == mode.name()) {
            unique.push(mode);
        }
    }
    Ok(unique)
}

/// Milliseconds as the seconds ffmpeg's `-t` and `extract --max-seconds` take (`60`, `2.5`).
fn seconds_text(ms: u64) -> String {
    if ms.is_multiple_of(1000) {
        (ms / 1000).to_string()
    } else {
        format!("{}.{:03}", ms / 1000, ms % 1000)
            .trim_end_matches('0')
            .to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seconds_for_ffmpeg() {
        assert_eq!(seconds_text(60_000), "60");
        assert_eq!(seconds_text(2_500), "2.5");
        assert_eq!(seconds_text(0), "0");
        assert_eq!(seconds_text(1_234), "1.234");
    }
}

/// A checked `similar` configuration.
#[derive(Debug, Clone)]
pub struct SimilarConfig {
    /// Record files to group (or to match against `against`).
    pub records: Vec<PathBuf>,
    /// Where the output goes; `None` is stdout.
    pub out: Option<PathBuf>,
    /// Known videos' records.
    pub against: Option<PathBuf>,
    /// The match rule.
    pub rule: crate::similar::MatchRule,
}

impl SimilarConfig {
    /// Checks `args` into a configuration.
    pub fn from_args(args: &crate::cli::SimilarArgs) -> Result<SimilarConfig> {
        if args.distance > 256 {
            bail!("--distance must be at most 256 (bits of a PDQ hash)");
        }
        if args.quality > 100 {
            bail!("--quality must be between 0 and 100");
        }
        for (flag, v) in [
            ("--comparison-match", args.comparison_match),
            ("--query-match", args.query_match),
        ] {
            if !(0.0..=100.0).contains(&v) {
                bail!("{flag} must be a percentage between 0 and 100");
            }
        }
        if args.max_bucket < 2 {
            bail!("--max-bucket must be at least 2");
        }
        Ok(SimilarConfig {
            records: args.records.clone(),
            out: Some(args.out.clone()).filter(|p| p.as_os_str() != "-"),
            against: args.against.clone(),
            rule: crate::similar::MatchRule {
                distance: args.distance,
                quality: args.quality,
                comparison_match: args.comparison_match,
                query_match: args.query_match,
                max_bucket: args.max_bucket,
            },
        })
    }
}
