//! The checked `merge` configuration.

use crate::cli::{MergeArgs, Requirement};
use anyhow::Result;
use std::path::PathBuf;

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
