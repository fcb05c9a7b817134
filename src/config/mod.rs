//! Checked configuration: raw arguments are validated once here; everything below takes these
//! types and never sees a raw string.

mod bench;
mod gallery;
mod inspect;
mod merge;
mod serve;
mod similar;

pub use bench::BenchConfig;
pub use gallery::{GalleryConfig, LinkMode};
pub use inspect::InspectConfig;
pub use merge::MergeConfig;
pub use serve::ServeConfig;
pub use similar::SimilarConfig;

use crate::cli::{
    ExtractArgs, InputFormat, NetworkArgs, PrivateUrls, RecordsFormat, S3Args, SamplingArgs,
};
use crate::files::safe_segment;
use crate::pipeline::encode::SizeSpec;
use crate::pipeline::extract::{ExtractOptions, Hashes};
use crate::pipeline::input::open::{InputSpec, ListFormat};
use crate::pipeline::input::{ItemDefaults, Shard, UrlTemplate};
use crate::pipeline::net::guard::PrivateAddresses;
use crate::pipeline::net::retry::RetryPolicy;
use crate::pipeline::net::s3::{S3Location, S3Settings};
use crate::pipeline::net::FetchLimits;
use crate::pipeline::sample::{Sampling, SamplingMode};
use crate::pipeline::tonemap::HdrMode;
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

impl StoreTarget {
    /// The store `-o/--out` names: `s3://bucket/prefix`, or a local directory.
    pub fn from_out(out: &std::path::Path) -> Result<StoreTarget> {
        Ok(match s3_argument("--out", out)? {
            Some(location) => StoreTarget::S3(location),
            None => StoreTarget::Dir(out.to_path_buf()),
        })
    }
}

/// Where a run's records go: `--records` if given (`-` standard output, `s3://bucket/key` an
/// object written from the local `--journal`, anything else a file), else beside the frames in
/// `store` as `records.jsonl`, or `records.shard-I-of-N.jsonl` for a shard (so shards on one
/// output never contend).
pub fn records_target(
    records: Option<&std::path::Path>,
    store: &StoreTarget,
    shard: Option<Shard>,
    journal: Option<&std::path::Path>,
) -> Result<RecordsTarget> {
    let records_name = match shard {
        Some(s) => format!("records.shard-{:04}-of-{:04}.jsonl", s.index, s.count),
        None => "records.jsonl".to_string(),
    };
    let s3_records = |location: S3Location| {
        let journal = journal.map(PathBuf::from).unwrap_or_else(|| {
            let mut path = PathBuf::from(".reelframe").join(safe_segment(&location.bucket));
            for part in location.key.split('/') {
                path.push(safe_segment(part));
            }
            path
        });
        RecordsTarget::S3 { location, journal }
    };
    Ok(match records {
        Some(p) if p.as_os_str() == "-" => RecordsTarget::Stdout,
        Some(p) => match s3_argument("--records", p)? {
            Some(location) if location.key.is_empty() => {
                bail!("--records {location} needs an object key")
            }
            Some(location) => s3_records(location),
            None => RecordsTarget::File(p.to_path_buf()),
        },
        None => match store {
            StoreTarget::Dir(dir) => RecordsTarget::File(dir.join(&records_name)),
            StoreTarget::S3(location) => {
                let key = match location.key.as_str() {
                    "" => records_name,
                    prefix => format!("{prefix}/{records_name}"),
                };
                s3_records(S3Location {
                    bucket: location.bucket.clone(),
                    key,
                })
            }
        },
    })
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

/// Checks the network flags; `private_urls` applies when `--private-urls` is not given.
pub fn network_from_args(
    args: &NetworkArgs,
    max_bytes: u64,
    private_urls: PrivateAddresses,
) -> Result<NetworkConfig> {
    let private_addresses = match args.private_urls {
        Some(PrivateUrls::Allow) => PrivateAddresses::Allow,
        Some(PrivateUrls::Deny) => PrivateAddresses::Deny,
        None => private_urls,
    };
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
            private_addresses,
        },
        s3: s3_settings(&args.s3),
        public_url_base: args.s3.public_url_base.clone(),
    })
}

/// The S3 flags as settings.
pub fn s3_settings(args: &S3Args) -> S3Settings {
    S3Settings {
        endpoint: args.s3_endpoint.clone(),
        path_style: args.s3_path_style,
        region: args.s3_region.clone(),
        profile: args.profile.clone(),
        unsigned: args.no_sign_request,
    }
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
        let store = StoreTarget::from_out(&args.out)?;
        let shard = args
            .shard
            .as_deref()
            .map(|spec| Shard::resolve(spec, &|name| std::env::var(name).ok()))
            .transpose()?;
        let records = records_target(
            args.records.as_deref(),
            &store,
            shard,
            args.journal.as_deref(),
        )?;
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
            network: network_from_args(&args.network, max_bytes, PrivateAddresses::Allow)?,
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
                key_folder: None,
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
