//! The checked `inspect` configuration.

use super::sampling_from_args;
use crate::cli::InspectArgs;
use crate::pipeline::sample::Sampling;
use anyhow::{bail, Result};

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
