/*!
`reelframe bench`: how fast reelframe extracts, measured the same way as the ffmpeg baselines.

Each reelframe mode runs as a child process — this executable's `extract` into a scratch
directory, with `--stats-json` for its stage times — and with `--compare ffmpeg` each baseline of
`scripts/baselines.sh` runs as one ffmpeg child per video, N at a time. Every child is measured by
[`crate::bench::measure`] (wall time, CPU and peak RSS from `wait4`), so both sides are timed
identically. Methods are interleaved within each repeat so that drift affects them alike, and the
inputs are read once beforehand so every method starts with the same warm page cache. The scratch
directory is removed at the end, on errors and on Ctrl-C.
*/

use crate::bench::measure::{self, ChildSpec};
use crate::bench::methods::{Anchor, Mode};
use crate::bench::report::{self, BenchReport, Kind, Machine, MethodResult, Run, Settings};
use crate::bench::{export, plot};
use crate::config::BenchConfig;
use crate::pipeline::input;
use crate::pipeline::metrics::MetricsSnapshot;
use anyhow::{bail, Context, Result};
use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::Command;

/// Exit code when bench was interrupted (128 + SIGINT, as shells report it).
pub const EXIT_INTERRUPTED: i32 = 130;

/// The videos as local files, for the anchors, or why they are not.
enum LocalVideos {
    Files(Vec<PathBuf>),
    NotLocal(String),
}

/// One method to measure.
enum Method {
    Reelframe(Mode),
    Anchor(Anchor),
}

impl Method {
    fn name(&self) -> String {
        match self {
            Method::Reelframe(mode) => mode.name(),
            Method::Anchor(anchor) => anchor.name(),
        }
    }
}

/// The local files behind a JSONL list's `video_url`s (`file://` URLs included).
fn local_files_of_list(list: &Path) -> Result<LocalVideos> {
    if list.as_os_str() == "-" {
        bail!("bench cannot read --input from stdin: it runs extract several times");
    }
    if list
        .extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("csv"))
    {
        return Ok(LocalVideos::NotLocal(
            "the input is a CSV list; the ffmpeg anchors need local files".into(),
        ));
    }
    let text = std::fs::read_to_string(list)
        .with_context(|| format!("reading --input {}", list.display()))?;
    let mut files = Vec::new();
    for (i, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let url = serde_json::from_str::<serde_json::Value>(line)
            .ok()
            .and_then(|v| v.get("video_url")?.as_str().map(str::to_string));
        let Some(url) = url else {
            return Ok(LocalVideos::NotLocal(format!(
                "{}:{} has no video_url; the ffmpeg anchors need local files",
                list.display(),
                i + 1
            )));
        };
        let path = url.strip_prefix("file://").unwrap_or(&url);
        if path.contains("://") {
            return Ok(LocalVideos::NotLocal(format!(
                "{}:{} is {url}, not a local file; the ffmpeg anchors need local files",
                list.display(),
                i + 1
            )));
        }
        files.push(PathBuf::from(path));
    }
    Ok(LocalVideos::Files(files))
}

/// The videos of the paths and the list, as local files when they all are.
fn local_videos(config: &BenchConfig) -> Result<LocalVideos> {
    let mut files = Vec::new();
    for row in input::items_from_paths(&config.paths) {
        match row {
            Ok(item) => files.push(PathBuf::from(item.video_url)),
            Err(invalid) => bail!("{}", invalid.error.message),
        }
    }
    if let Some(list) = &config.input {
        match local_files_of_list(list)? {
            LocalVideos::Files(more) => files.extend(more),
            not_local => return Ok(not_local),
        }
    }
    for file in &files {
        if !file.is_file() {
            bail!("no such video file: {}", file.display());
        }
    }
    Ok(LocalVideos::Files(files))
}

/// The first line of `ffmpeg -version`, or why ffmpeg cannot run.
fn ffmpeg_version(ffmpeg: &Path) -> Result<String> {
    let output = Command::new(ffmpeg)
        .arg("-version")
        .output()
        .with_context(|| format!("cannot run {}", ffmpeg.display()))?;
    if !output.status.success() {
        bail!("`{} -version` failed ({})", ffmpeg.display(), output.status);
    }
    Ok(String::from_utf8_lossy(&output.stdout)
        .lines()
        .next()
        .unwrap_or("")
        .trim()
        .to_string())
}

fn cpu_model() -> Option<String> {
    let text = std::fs::read_to_string("/proc/cpuinfo").ok()?;
    text.lines()
        .filter_map(|l| l.split_once(':'))
        .find(|(k, _)| matches!(k.trim(), "model name" | "Model" | "Hardware" | "cpu model"))
        .map(|(_, v)| v.trim().to_string())
}

/// Frames written under `dir`: `*.jpg` files, reelframe's `thumbnail.jpg` excluded.
fn count_frames(dir: &Path) -> u64 {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return 0;
    };
    entries
        .filter_map(|e| e.ok())
        .map(|e| {
            let path = e.path();
            if path.is_dir() {
                count_frames(&path)
            } else {
                let jpg = path
                    .extension()
                    .is_some_and(|x| x.eq_ignore_ascii_case("jpg"));
                u64::from(jpg && path.file_name().is_some_and(|n| n != "thumbnail.jpg"))
            }
        })
        .sum()
}

/// Why some items of a reelframe run failed: the first error records.
fn failed_items(records: &Path) -> String {
    let text = std::fs::read_to_string(records).unwrap_or_default();
    let failures: Vec<String> = text
        .lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .filter(|r| r.get("status").and_then(|s| s.as_str()) == Some("failed"))
        .map(|r| {
            format!(
                "{}: {}",
                r.get("content_id").and_then(|v| v.as_str()).unwrap_or("?"),
                r.get("error").map(|e| e.to_string()).unwrap_or_default()
            )
        })
        .collect();
    let shown = failures
        .iter()
        .take(5)
        .cloned()
        .collect::<Vec<_>>()
        .join("\n");
    format!("{} item(s) failed:\n{shown}", failures.len())
}

/// Everything a run needs that does not change between methods.
struct Bench<'a> {
    config: &'a BenchConfig,
    exe: PathBuf,
    scratch: PathBuf,
    jobs: usize,
    videos: &'a [PathBuf],
    cap: Option<String>,
}

impl Bench<'_> {
    fn fresh_out(&self) -> Result<PathBuf> {
        let out = self.scratch.join("out");
        if out.exists() {
            std::fs::remove_dir_all(&out).with_context(|| format!("clearing {}", out.display()))?;
        }
        std::fs::create_dir_all(&out).with_context(|| format!("creating {}", out.display()))?;
        Ok(out)
    }

    /// One `reelframe extract` child over all inputs.
    fn run_reelframe(&self, mode: &Mode) -> Result<(Run, Vec<String>)> {
        let out = self.fresh_out()?;
        let stats = self.scratch.join("stats.json");
        let _ = std::fs::remove_file(&stats);
        let mut args: Vec<OsString> = vec!["extract".into()];
        args.extend(self.config.paths.iter().map(|p| p.as_os_str().to_owned()));
        if let Some(list) = &self.config.input {
            args.extend(["--input".into(), list.as_os_str().to_owned()]);
        }
        args.extend([
            "-o".into(),
            out.as_os_str().to_owned(),
            "--jobs".into(),
            self.jobs.to_string().into(),
            "-q".into(),
            "--force".into(),
            "--stats-json".into(),
            stats.as_os_str().to_owned(),
            "--max-seconds".into(),
            self.config.max_seconds.trim().into(),
        ]);
        args.extend(mode.extract_args().into_iter().map(OsString::from));
        let spec = ChildSpec {
            program: self.exe.clone(),
            args,
            stderr: self.scratch.join("logs").join("reelframe.stderr"),
        };
        let (measurement, codes) = measure::run_batch(std::slice::from_ref(&spec), 1, &[0, 1])?;
        if codes[0] != 0 {
            bail!(
                "`{}`: {}",
                spec.command_line().join(" "),
                failed_items(&out.join("records.jsonl"))
            );
        }
        let snapshot: MetricsSnapshot = serde_json::from_slice(
            &std::fs::read(&stats).with_context(|| format!("reading {}", stats.display()))?,
        )
        .with_context(|| format!("parsing {}", stats.display()))?;
        let run = Run::new(measurement, snapshot.frames, Some(snapshot));
        Ok((run, spec.command_line()))
    }

    /// One ffmpeg child per video, the anchor's job count at a time.
    fn run_anchor(&self, anchor: &Anchor) -> Result<(Run, Vec<String>)> {
        let out = self.fresh_out()?;
        let mut specs = Vec::with_capacity(self.videos.len());
        for (i, video) in self.videos.iter().enumerate() {
            let dir = out.join(format!("{i:04}"));
            std::fs::create_dir_all(&dir)?;
            specs.push(ChildSpec {
                program: self.config.ffmpeg.clone(),
                args: anchor.ffmpeg_args(video, &dir, self.cap.as_deref()),
                stderr: self
                    .scratch
                    .join("logs")
                    .join(format!("ffmpeg-{i:04}.stderr")),
            });
        }
        let (measurement, _) = measure::run_batch(&specs, anchor.jobs(self.jobs), &[0])?;
        let run = Run::new(measurement, count_frames(&out), None);
        Ok((run, specs[0].command_line()))
    }
}

/// Runs `reelframe bench` and returns the exit code (0, or 130 when interrupted). Setup
/// failures and failing children are errors (exit code 2).
pub fn run(config: &BenchConfig) -> Result<i32> {
    let modes = &config.modes;
    let (cap_ms, jobs, compare_ffmpeg) = (config.cap_ms, config.jobs, config.compare_ffmpeg);
    for (flag, path) in [
        ("--plot", &config.plot),
        ("--export-markdown", &config.export_markdown),
        ("--export-csv", &config.export_csv),
    ] {
        if let Some(path) = path {
            super::outputs::check_file(flag, path, false)?;
        }
    }
    let local = local_videos(config)?;
    let videos: Vec<PathBuf> = match (&local, compare_ffmpeg) {
        (LocalVideos::Files(files), _) => files.clone(),
        (LocalVideos::NotLocal(why), true) => bail!("--compare ffmpeg: {why}"),
        (LocalVideos::NotLocal(_), false) => Vec::new(),
    };
    if matches!(local, LocalVideos::Files(_)) && videos.is_empty() {
        bail!("no video files in the inputs");
    }
    let ffmpeg_version = match ffmpeg_version(&config.ffmpeg) {
        Ok(v) => Some(v),
        Err(err) if compare_ffmpeg => {
            return Err(err.context("--compare ffmpeg needs the ffmpeg CLI (set --ffmpeg PATH)"))
        }
        Err(_) => None,
    };
    let exe = std::env::current_exe().context("finding the reelframe executable")?;

    let mut methods: Vec<Method> = modes.iter().cloned().map(Method::Reelframe).collect();
    if compare_ffmpeg {
        methods.extend(
            Anchor::for_modes(modes, config.ffmpeg_serial)
                .into_iter()
                .map(Method::Anchor),
        );
    }

    let parent = match &config.scratch_dir {
        Some(dir) => dir.clone(),
        None => std::env::temp_dir(),
    };
    let scratch = tempfile::Builder::new()
        .prefix("reelframe-bench-")
        .tempdir_in(&parent)
        .with_context(|| format!("creating a scratch directory in {}", parent.display()))?;
    std::fs::create_dir_all(scratch.path().join("logs"))?;
    measure::install_interrupt_handler();

    let bench = Bench {
        config,
        exe,
        scratch: scratch.path().to_path_buf(),
        jobs,
        videos: &videos,
        cap: (cap_ms > 0).then(|| config.max_seconds.trim().to_string()),
    };
    match measure_all(&bench, &methods) {
        Ok(runs) => {
            let report = build_report(config, modes, &methods, runs, &videos, jobs, ffmpeg_version);
            drop(scratch);
            if config.json {
                println!(
                    "{}",
                    serde_json::to_string_pretty(&report).expect("report serialises")
                );
            } else {
                print!("{}", report.to_text());
            }
            if let Some(path) = &config.export_markdown {
                std::fs::write(path, export::to_markdown(&report))
                    .with_context(|| format!("writing --export-markdown {}", path.display()))?;
            }
            if let Some(path) = &config.export_csv {
                std::fs::write(path, export::to_csv(&report))
                    .with_context(|| format!("writing --export-csv {}", path.display()))?;
            }
            if let Some(path) = &config.plot {
                plot::write_svg(&report, path)?;
                if !config.quiet {
                    eprintln!("bench: plot written to {}", path.display());
                }
            }
            Ok(0)
        }
        Err(_) if measure::interrupted() => {
            drop(scratch);
            eprintln!("reelframe: bench interrupted; scratch directory removed");
            Ok(EXIT_INTERRUPTED)
        }
        Err(err) => Err(err),
    }
}

/// Runs every method `repeat` times, interleaved; the runs per method, in `methods` order.
fn measure_all(bench: &Bench<'_>, methods: &[Method]) -> Result<Vec<(Vec<Run>, Vec<String>)>> {
    // read the inputs once so every method starts with the same (warm) page cache
    for video in bench.videos {
        let mut file = std::fs::File::open(video)?;
        std::io::copy(&mut file, &mut std::io::sink())?;
    }
    let warmup = bench.config.warmup as usize;
    for k in 0..warmup {
        for method in methods {
            let (run, _) = match method {
                Method::Reelframe(mode) => bench.run_reelframe(mode),
                Method::Anchor(anchor) => bench.run_anchor(anchor),
            }
            .with_context(|| format!("{} (warm-up {} of {warmup})", method.name(), k + 1))?;
            if !bench.config.quiet {
                eprintln!(
                    "bench: [warm-up {}/{warmup}] {:<22} {:8.2} s (not counted)",
                    k + 1,
                    method.name(),
                    run.measurement.wall_seconds,
                );
            }
        }
    }
    let repeat = bench.config.repeat as usize;
    let mut results: Vec<(Vec<Run>, Vec<String>)> =
        methods.iter().map(|_| Default::default()).collect();
    for k in 0..repeat {
        for (method, result) in methods.iter().zip(&mut results) {
            let (run, command) = match method {
                Method::Reelframe(mode) => bench.run_reelframe(mode),
                Method::Anchor(anchor) => bench.run_anchor(anchor),
            }
            .with_context(|| format!("{} (run {} of {repeat})", method.name(), k + 1))?;
            if !bench.config.quiet {
                eprintln!(
                    "bench: [{}/{repeat}] {:<28} {:8.2} s  {:8.2} CPU s  {:6} frames",
                    k + 1,
                    method.name(),
                    run.measurement.wall_seconds,
                    run.cpu_seconds,
                    run.frames
                );
            }
            result.0.push(run);
            result.1 = command;
        }
    }
    Ok(results)
}

fn build_report(
    config: &BenchConfig,
    modes: &[Mode],
    methods: &[Method],
    runs: Vec<(Vec<Run>, Vec<String>)>,
    videos: &[PathBuf],
    jobs: usize,
    ffmpeg_version: Option<String>,
) -> BenchReport {
    let first_stats = runs
        .iter()
        .flat_map(|(r, _)| r.iter())
        .find_map(|r| r.stats.as_ref());
    let local_bytes: u64 = videos
        .iter()
        .filter_map(|v| std::fs::metadata(v).ok())
        .map(|m| m.len())
        .sum();
    let (n_videos, input_bytes) = if videos.is_empty() {
        first_stats.map_or((0, 0), |s| (s.videos, s.bytes_in))
    } else {
        (videos.len() as u64, local_bytes)
    };
    let results: Vec<MethodResult> = methods
        .iter()
        .zip(runs)
        .map(|(method, (runs, command))| {
            let (kind, method_jobs) = match method {
                Method::Reelframe(_) => (Kind::Reelframe, jobs),
                Method::Anchor(anchor) => (Kind::Ffmpeg, anchor.jobs(jobs)),
            };
            MethodResult::from_runs(
                method.name(),
                kind,
                command,
                method_jobs,
                n_videos,
                input_bytes,
                runs,
            )
        })
        .collect();
    let comparisons: Vec<(String, Vec<String>)> = modes
        .iter()
        .map(|m| {
            (
                m.name(),
                m.compared_with().iter().map(Anchor::name).collect(),
            )
        })
        .collect();
    let ratios = report::ratios(&results, &comparisons);
    let mut inputs: Vec<String> = config
        .paths
        .iter()
        .map(|p| p.display().to_string())
        .collect();
    if let Some(list) = &config.input {
        inputs.push(format!("--input {}", list.display()));
    }
    BenchReport {
        machine: Machine {
            cores: std::thread::available_parallelism().map_or(1, |n| n.get()),
            cpu_model: cpu_model(),
            os: format!("{} {}", std::env::consts::OS, std::env::consts::ARCH),
            ffmpeg_version,
            reelframe_version: crate::cli::VERSION.to_string(),
            date: report::utc_now(),
        },
        settings: Settings {
            inputs,
            videos: n_videos,
            input_bytes,
            jobs,
            repeat: config.repeat as usize,
            max_seconds: config.max_seconds.trim().to_string(),
        },
        methods: results,
        ratios,
    }
}
