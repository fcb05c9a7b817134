//! `reelframe inspect`: what reelframe sees in one video (not built yet).

use clap::Args;

/// Arguments of `reelframe inspect`.
#[derive(Debug, Args)]
pub struct InspectArgs {
    /// The video: a path or URL.
    pub video: String,
}

/// Runs `reelframe inspect`.
pub fn run(_args: &InspectArgs) -> anyhow::Result<i32> {
    anyhow::bail!("inspect is not built yet")
}
