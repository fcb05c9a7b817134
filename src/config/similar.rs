//! The checked `similar` configuration.

use anyhow::{bail, Result};
use std::path::PathBuf;

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
                mirrors: !args.no_mirrors,
            },
        })
    }
}
