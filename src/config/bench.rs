//! The checked `bench` configuration.

use crate::bench::methods::{Mode, ModeSampling};
use crate::cli::{Baseline, BenchArgs};
use crate::units;
use anyhow::{bail, Context, Result};
use std::path::PathBuf;

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
