//! The checked `serve` configuration.

use super::{network_from_args, records_target, NetworkConfig, RecordsTarget, StoreTarget};
use crate::cli::ServeArgs;
use crate::pipeline::encode::SizeSpec;
use crate::pipeline::extract::{ExtractOptions, Hashes};
use crate::pipeline::net::guard::PrivateAddresses;
use crate::pipeline::sample::{Sampling, SamplingMode};
use crate::pipeline::tonemap::HdrMode;
use crate::serve::ServeSettings;
use crate::units;
use anyhow::{bail, Context, Result};
use std::time::Duration;

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
    /// Decode in decoder processes.
    pub isolate: bool,
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
        let answer_cache = std::num::NonZeroUsize::new(args.answer_cache)
            .filter(|n| n.get() <= 1_000_000)
            .context("--answer-cache must be between 1 and 1000000")?;
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
        let store = StoreTarget::from_out(&args.out)?;
        let journal = match &args.records {
            Some(p) if p.as_os_str() == "-" => {
                bail!("--records - (stdout) cannot be serve's journal, which is read back at start: give a file path, or leave --records out for OUT/records.jsonl")
            }
            Some(p) if p.to_string_lossy().contains("://") => {
                bail!("--records must be a local file for serve: {}", p.display())
            }
            Some(p) => Some(p.clone()),
            // extract's default records file in a directory store, so a server and an extract on
            // one output share (and take turns on) one journal; none on S3
            None => match records_target(None, &store, None, None)? {
                RecordsTarget::File(path) => Some(path),
                RecordsTarget::S3 { .. } | RecordsTarget::Stdout => None,
            },
        };
        let request_timeout = flag_duration("--request-timeout", &args.request_timeout)?;
        let max_bytes = flag_size("--max-bytes", &args.max_bytes)?;
        Ok(ServeConfig {
            listen,
            store,
            // a server other machines can reach takes URLs from them: private addresses are
            // theirs to ask for only when the operator says so
            network: network_from_args(
                &args.network,
                max_bytes,
                if listen.ip().is_loopback() {
                    PrivateAddresses::Allow
                } else {
                    PrivateAddresses::Deny
                },
            )?,
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
                key_folder: None,
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
                answer_cache,
            },
            shutdown_timeout: flag_duration("--shutdown-timeout", &args.shutdown_timeout)
                .context("--shutdown-timeout")?,
            quiet: args.quiet,
            isolate: args.isolate == crate::cli::Isolate::Process,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cli::{Cli, Command};
    use clap::Parser;

    /// The fetch policy `serve` ends up with for these flags (nothing is bound).
    fn private_addresses(flags: &[&str]) -> PrivateAddresses {
        let out = tempfile::tempdir().unwrap();
        let mut argv = vec!["reelframe", "serve", "--out", out.path().to_str().unwrap()];
        argv.extend_from_slice(flags);
        let Command::Serve(args) = Cli::try_parse_from(argv).unwrap().command else {
            unreachable!("a serve command line")
        };
        let config = ServeConfig::from_args(&args, None).unwrap();
        config.network.limits.private_addresses
    }

    #[test]
    fn private_urls_default_to_deny_unless_the_server_listens_on_loopback() {
        use PrivateAddresses::{Allow, Deny};
        let public = ["--listen", "0.0.0.0:0", "--insecure-no-auth"];
        assert_eq!(private_addresses(&[]), Allow);
        assert_eq!(private_addresses(&["--listen", "[::1]:0"]), Allow);
        assert_eq!(private_addresses(&public), Deny);
        assert_eq!(
            private_addresses(&["--listen", "192.168.1.10:8080", "--insecure-no-auth"]),
            Deny
        );
        assert_eq!(
            private_addresses(&[&public[..], &["--private-urls", "allow"]].concat()),
            Allow
        );
        assert_eq!(private_addresses(&["--private-urls", "deny"]), Deny);
    }
}
