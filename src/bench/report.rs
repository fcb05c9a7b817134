//! Bench results: per-method figures derived from the measured runs, the speed-ups against the
//! anchors, and their two renderings: an aligned text table and one JSON document.

pub use super::date::{iso8601, utc_now};
use super::measure::Measurement;
use crate::pipeline::metrics::{MetricsSnapshot, StageSeconds};
use serde::Serialize;
use std::fmt::Write as _;

/// Minimum, median and maximum of repeated measurements.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Spread {
    /// Smallest value.
    pub min: f64,
    /// Median (the mean of the two middle values for an even count).
    pub median: f64,
    /// Largest value.
    pub max: f64,
}

impl Spread {
    /// The spread of `values`; `None` when there are none.
    pub fn of(values: &[f64]) -> Option<Spread> {
        if values.is_empty() {
            return None;
        }
        let mut sorted = values.to_vec();
        sorted.sort_by(f64::total_cmp);
        let n = sorted.len();
        let median = if n % 2 == 1 {
            sorted[n / 2]
        } else {
            (sorted[n / 2 - 1] + sorted[n / 2]) / 2.0
        };
        Some(Spread {
            min: sorted[0],
            median,
            max: sorted[n - 1],
        })
    }
}

/// One measured run of a method (one repeat).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Run {
    /// Wall time, CPU and peak RSS of the run's processes.
    #[serde(flatten)]
    pub measurement: Measurement,
    /// User + system CPU seconds.
    pub cpu_seconds: f64,
    /// Frames written (JPEGs, thumbnails excluded).
    pub frames: u64,
    /// reelframe's own statistics of the run (`extract --stats-json`), for reelframe methods.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stats: Option<MetricsSnapshot>,
}

impl Run {
    /// A run from its measurement, frames written and (for reelframe) its stats.
    pub fn new(measurement: Measurement, frames: u64, stats: Option<MetricsSnapshot>) -> Run {
        Run {
            cpu_seconds: measurement.cpu_seconds(),
            measurement,
            frames,
            stats,
        }
    }
}

/// Seconds of one stage and its share of the stage total.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct StageShare {
    /// Seconds, summed over workers, averaged over repeats.
    pub seconds: f64,
    /// Percent of the sum of all stages.
    pub percent: f64,
}

/// reelframe's time per stage, as seconds and shares of the stage total.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct StageSplit {
    /// Downloading or opening videos.
    pub fetch: StageShare,
    /// Reading containers and packets.
    pub demux: StageShare,
    /// Inside the decoder.
    pub decode: StageShare,
    /// Colour conversion, scaling, rotation.
    pub convert: StageShare,
    /// JPEG encoding and hashing.
    pub encode: StageShare,
    /// Writing to the store.
    pub store: StageShare,
}

impl StageSplit {
    /// Averages the stage times of `snapshots` (at least one) and their shares.
    fn of(snapshots: &[&MetricsSnapshot]) -> StageSplit {
        let n = snapshots.len().max(1) as f64;
        let mut sums = [0.0f64; 6];
        for snap in snapshots {
            for (i, (_, secs)) in stage_list(&snap.stage_seconds).iter().enumerate() {
                sums[i] += secs / n;
            }
        }
        let total: f64 = sums.iter().sum();
        let share = |seconds: f64| StageShare {
            seconds,
            percent: if total > 0.0 {
                100.0 * seconds / total
            } else {
                0.0
            },
        };
        StageSplit {
            fetch: share(sums[0]),
            demux: share(sums[1]),
            decode: share(sums[2]),
            convert: share(sums[3]),
            encode: share(sums[4]),
            store: share(sums[5]),
        }
    }

    /// The stages by name, in pipeline order.
    pub fn entries(&self) -> [(&'static str, StageShare); 6] {
        [
            ("fetch", self.fetch),
            ("demux", self.demux),
            ("decode", self.decode),
            ("convert", self.convert),
            ("encode", self.encode),
            ("store", self.store),
        ]
    }
}

/// Which kind of process a method runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Kind {
    /// One `reelframe extract` child over all videos.
    Reelframe,
    /// One ffmpeg child per video.
    Ffmpeg,
}

/// Everything measured for one method.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct MethodResult {
    /// `reelframe-fps1`, `ffmpeg-fps1-parallel`, …
    pub name: String,
    /// reelframe or ffmpeg.
    pub kind: Kind,
    /// The command line of its (first) child.
    pub command: Vec<String>,
    /// Children run at once.
    pub jobs: usize,
    /// Videos processed per run.
    pub videos: u64,
    /// Each repeat, in order.
    pub runs: Vec<Run>,
    /// Wall seconds over the repeats.
    pub seconds: Spread,
    /// CPU seconds over the repeats.
    pub cpu_seconds: Spread,
    /// Videos per second at the median time.
    pub videos_per_second: f64,
    /// Frames written per second at the median time.
    pub frames_per_second: f64,
    /// Input megabytes (10^6 bytes) per second at the median time.
    pub input_mb_per_second: f64,
    /// Median CPU seconds per video.
    pub cpu_seconds_per_video: f64,
    /// Largest peak RSS of any one process over all repeats, in MiB.
    pub peak_rss_mb: f64,
    /// Frames written (by the last repeat).
    pub frames: u64,
    /// reelframe only: time per stage (`fetch`, `demux`, `decode`, `convert`, `encode`,
    /// `store`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stages: Option<StageSplit>,
    /// reelframe only: frames decoded per frame written.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub frames_decoded_per_frame: Option<f64>,
}

fn stage_list(s: &StageSeconds) -> [(&'static str, f64); 6] {
    [
        ("fetch", s.fetch),
        ("demux", s.demux),
        ("decode", s.decode),
        ("convert", s.convert),
        ("encode", s.encode),
        ("store", s.store),
    ]
}

impl MethodResult {
    /// Derives the figures of a method from its runs (at least one). `input_bytes` is the size
    /// of the inputs one run reads.
    pub fn from_runs(
        name: String,
        kind: Kind,
        command: Vec<String>,
        jobs: usize,
        videos: u64,
        input_bytes: u64,
        runs: Vec<Run>,
    ) -> MethodResult {
        assert!(!runs.is_empty(), "a method has at least one run");
        let wall: Vec<f64> = runs.iter().map(|r| r.measurement.wall_seconds).collect();
        let cpu: Vec<f64> = runs.iter().map(|r| r.cpu_seconds).collect();
        let seconds = Spread::of(&wall).expect("runs");
        let cpu_seconds = Spread::of(&cpu).expect("runs");
        let t = seconds.median.max(1e-9);
        let frames = runs.last().expect("runs").frames;
        let peak_kib = runs
            .iter()
            .map(|r| r.measurement.peak_rss_kib)
            .max()
            .unwrap_or(0);
        let snapshots: Vec<&MetricsSnapshot> =
            runs.iter().filter_map(|r| r.stats.as_ref()).collect();
        let (stages, frames_decoded_per_frame) = if snapshots.is_empty() {
            (None, None)
        } else {
            let stages = StageSplit::of(&snapshots);
            let last = snapshots.last().expect("non-empty");
            let per_frame =
                (last.frames > 0).then(|| last.frames_decoded as f64 / last.frames as f64);
            (Some(stages), per_frame)
        };
        MethodResult {
            name,
            kind,
            command,
            jobs,
            videos,
            videos_per_second: videos as f64 / t,
            frames_per_second: frames as f64 / t,
            input_mb_per_second: input_bytes as f64 / 1e6 / t,
            cpu_seconds_per_video: cpu_seconds.median / (videos.max(1) as f64),
            peak_rss_mb: peak_kib as f64 / 1024.0,
            frames,
            runs,
            seconds,
            cpu_seconds,
            stages,
            frames_decoded_per_frame,
        }
    }
}

/// A reelframe method's speed-up against an anchor.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Ratio {
    /// The reelframe method.
    pub reelframe: String,
    /// The anchor.
    pub anchor: String,
    /// The anchor's median seconds.
    pub anchor_seconds: f64,
    /// The reelframe method's median seconds.
    pub reelframe_seconds: f64,
    /// anchor seconds / reelframe seconds: above 1, reelframe is faster.
    pub speedup: f64,
    /// Frames the reelframe method wrote (one run).
    pub reelframe_frames: u64,
    /// Frames the anchor wrote; `None` for the decode floors, which write none.
    pub anchor_frames: Option<u64>,
    /// The two wrote different numbers of frames: the speed-up compares unequal work.
    pub frames_differ: bool,
}

/// The speed-ups of each `(reelframe method, anchors it is compared with)` pair whose methods
/// were measured, in the order given; pairs with a method missing are left out.
pub fn ratios(methods: &[MethodResult], comparisons: &[(String, Vec<String>)]) -> Vec<Ratio> {
    let find = |name: &str| methods.iter().find(|m| m.name == name);
    let mut out = Vec::new();
    for (reelframe, anchors) in comparisons {
        let Some(rf) = find(reelframe) else { continue };
        for anchor in anchors {
            let Some(a) = find(anchor) else { continue };
            let anchor_frames = (a.frames > 0).then_some(a.frames);
            out.push(Ratio {
                reelframe_frames: rf.frames,
                anchor_frames,
                frames_differ: anchor_frames.is_some_and(|n| n != rf.frames),
                reelframe: rf.name.clone(),
                anchor: a.name.clone(),
                anchor_seconds: a.seconds.median,
                reelframe_seconds: rf.seconds.median,
                speedup: a.seconds.median / rf.seconds.median.max(1e-9),
            });
        }
    }
    out
}

/// The machine and software a bench ran on.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Machine {
    /// Logical cores available to bench.
    pub cores: usize,
    /// CPU model (`model name` in /proc/cpuinfo).
    pub cpu_model: Option<String>,
    /// Operating system and architecture.
    pub os: String,
    /// First line of `ffmpeg -version`, when ffmpeg is there.
    pub ffmpeg_version: Option<String>,
    /// reelframe's version line.
    pub reelframe_version: String,
    /// When bench ran (UTC, ISO 8601).
    pub date: String,
}

/// How bench was asked to run.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Settings {
    /// The inputs as given (paths, or the --input list).
    pub inputs: Vec<String>,
    /// Videos per run.
    pub videos: u64,
    /// Bytes of input per run.
    pub input_bytes: u64,
    /// Processes (ffmpeg) or workers (reelframe) at once.
    pub jobs: usize,
    /// Repeats of each method.
    pub repeat: usize,
    /// The cap on each video, in seconds (`0` = none).
    pub max_seconds: String,
}

/// Everything one bench produced.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct BenchReport {
    /// Where it ran.
    pub machine: Machine,
    /// How it ran.
    pub settings: Settings,
    /// Each method, reelframe's first.
    pub methods: Vec<MethodResult>,
    /// reelframe's speed-ups against the anchors.
    pub ratios: Vec<Ratio>,
}

/// Lays out `rows` under `header` in aligned columns separated by two spaces; the first column
/// is left-aligned and the others right-aligned (numbers). Trailing spaces are trimmed.
pub fn format_table(header: &[&str], rows: &[Vec<String>]) -> String {
    let columns = header.len();
    let mut widths: Vec<usize> = header.iter().map(|h| h.chars().count()).collect();
    for row in rows {
        for (i, cell) in row.iter().enumerate().take(columns) {
            widths[i] = widths[i].max(cell.chars().count());
        }
    }
    let mut out = String::new();
    let header: Vec<String> = header.iter().map(|h| h.to_string()).collect();
    for row in std::iter::once(&header).chain(rows) {
        let mut line = String::new();
        for (i, width) in widths.iter().enumerate() {
            let cell = row.get(i).map(String::as_str).unwrap_or("");
            if i > 0 {
                line.push_str("  ");
            }
            if i == 0 {
                let _ = write!(line, "{cell:<width$}");
            } else {
                let _ = write!(line, "{cell:>width$}");
            }
        }
        out.push_str(line.trim_end());
        out.push('\n');
    }
    out
}

/// `86 / 159 ≠` when the counts differ, `12 / 12` when they agree, `12 / -` against a floor.
pub fn frames_cell(r: &Ratio) -> String {
    match r.anchor_frames {
        None => format!("{} / -", r.reelframe_frames),
        Some(n) if r.frames_differ => format!("{} / {n} ≠", r.reelframe_frames),
        Some(n) => format!("{} / {n}", r.reelframe_frames),
    }
}

/// Seconds as `1.23`, or `1.20/1.23/1.40` (min/median/max) when there were repeats.
fn seconds_cell(spread: &Spread, repeats: usize) -> String {
    if repeats >= 2 {
        format!("{:.2}/{:.2}/{:.2}", spread.min, spread.median, spread.max)
    } else {
        format!("{:.2}", spread.median)
    }
}

impl BenchReport {
    /// The report as aligned text: a header, the table of methods, the stage split of each
    /// reelframe method and the speed-ups.
    pub fn to_text(&self) -> String {
        let m = &self.machine;
        let s = &self.settings;
        let mut out = format!(
            "reelframe {} on {} ({} cores, {}), {}\n{}\n{} videos ({:.1} MB), {} jobs, cap {} s, {} repeat{}\n\n",
            m.reelframe_version,
            m.cpu_model.as_deref().unwrap_or("unknown CPU"),
            m.cores,
            m.os,
            m.date,
            m.ffmpeg_version.as_deref().unwrap_or("ffmpeg: not found"),
            s.videos,
            s.input_bytes as f64 / 1e6,
            s.jobs,
            s.max_seconds,
            s.repeat,
            if s.repeat == 1 { "" } else { "s" },
        );
        let seconds_header = if s.repeat >= 2 {
            "seconds min/med/max"
        } else {
            "seconds"
        };
        let header = [
            "method",
            seconds_header,
            "videos/s",
            "frames/s",
            "input MB/s",
            "CPU s/video",
            "peak RSS MB",
            "frames",
        ];
        let rows: Vec<Vec<String>> = self
            .methods
            .iter()
            .map(|r| {
                vec![
                    r.name.clone(),
                    seconds_cell(&r.seconds, s.repeat),
                    format!("{:.2}", r.videos_per_second),
                    format!("{:.1}", r.frames_per_second),
                    format!("{:.1}", r.input_mb_per_second),
                    format!("{:.2}", r.cpu_seconds_per_video),
                    format!("{:.0}", r.peak_rss_mb),
                    r.frames.to_string(),
                ]
            })
            .collect();
        out.push_str(&format_table(&header, &rows));
        for r in &self.methods {
            let Some(stages) = &r.stages else { continue };
            let split: Vec<String> = stages
                .entries()
                .iter()
                .map(|(name, share)| {
                    format!("{name} {:.2} s ({:.0}%)", share.seconds, share.percent)
                })
                .collect();
            let _ = write!(
                out,
                "\n{} stages (summed over workers): {}",
                r.name,
                split.join(", ")
            );
            if let Some(ratio) = r.frames_decoded_per_frame {
                let _ = write!(out, "; {ratio:.2} frames decoded per frame written");
            }
            out.push('\n');
        }
        if !self.ratios.is_empty() {
            out.push_str(
                "\nspeed-up (anchor seconds / reelframe seconds; >1: reelframe is faster)\n",
            );
            let rows: Vec<Vec<String>> = self
                .ratios
                .iter()
                .map(|r| {
                    vec![
                        format!("{} vs {}", r.reelframe, r.anchor),
                        format!("{:.2}×", r.speedup),
                        frames_cell(r),
                    ]
                })
                .collect();
            out.push_str(&format_table(
                &["comparison", "speed-up", "frames (ours/theirs)"],
                &rows,
            ));
            if self.ratios.iter().any(|r| r.frames_differ) {
                out.push_str(
                    "≠ DIFFERENT FRAME COUNTS: that comparison measures unequal work (see docs/benchmarks.md)\n",
                );
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(wall: f64, frames: u64) -> Run {
        Run::new(
            Measurement {
                wall_seconds: wall,
                user_seconds: wall,
                sys_seconds: 0.5,
                peak_rss_kib: 2048,
                processes: 1,
            },
            frames,
            None,
        )
    }

    fn method(name: &str, kind: Kind, walls: &[f64]) -> MethodResult {
        MethodResult::from_runs(
            name.into(),
            kind,
            vec![],
            2,
            4,
            8_000_000,
            walls.iter().map(|&w| run(w, 40)).collect(),
        )
    }

    #[test]
    fn spread_is_min_median_max() {
        assert_eq!(Spread::of(&[]), None);
        let one = Spread::of(&[2.0]).unwrap();
        assert_eq!((one.min, one.median, one.max), (2.0, 2.0, 2.0));
        let odd = Spread::of(&[3.0, 1.0, 2.0]).unwrap();
        assert_eq!((odd.min, odd.median, odd.max), (1.0, 2.0, 3.0));
        let even = Spread::of(&[4.0, 1.0, 3.0, 2.0]).unwrap();
        assert_eq!((even.min, even.median, even.max), (1.0, 2.5, 4.0));
    }

    #[test]
    fn figures_are_derived_from_the_median_run() {
        let m = method("reelframe-fps1", Kind::Reelframe, &[4.0, 2.0, 3.0]);
        assert_eq!(m.seconds.median, 2.0 + 1.0);
        assert_eq!(m.videos_per_second, 4.0 / 3.0);
        assert_eq!(m.frames_per_second, 40.0 / 3.0);
        assert_eq!(m.input_mb_per_second, 8.0 / 3.0);
        assert_eq!(m.cpu_seconds_per_video, 3.5 / 4.0);
        assert_eq!(m.peak_rss_mb, 2.0);
        assert_eq!(m.stages, None);
    }

    #[test]
    fn stage_split_is_averaged_over_repeats_and_sums_to_100() {
        let snap = |decode: f64| MetricsSnapshot {
            frames: 10,
            frames_decoded: 25,
            stage_seconds: StageSeconds {
                decode,
                encode: 1.0,
                ..Default::default()
            },
            ..Default::default()
        };
        let runs = vec![
            Run::new(Measurement::default(), 10, Some(snap(2.0))),
            Run::new(Measurement::default(), 10, Some(snap(4.0))),
        ];
        let m = MethodResult::from_runs("r".into(), Kind::Reelframe, vec![], 1, 1, 0, runs);
        let stages = m.stages.unwrap();
        let decode = stages.decode;
        assert_eq!(decode.seconds, 3.0);
        assert_eq!(decode.percent, 75.0);
        let total: f64 = stages.entries().iter().map(|(_, s)| s.percent).sum();
        assert!((total - 100.0).abs() < 1e-9);
        assert_eq!(m.frames_decoded_per_frame, Some(2.5));
    }

    #[test]
    fn different_frame_counts_are_flagged() {
        let mut ours = method("reelframe-keyframes", Kind::Reelframe, &[1.0]);
        ours.frames = 86;
        let mut theirs = method("ffmpeg-keyframes-parallel", Kind::Ffmpeg, &[2.0]);
        theirs.frames = 159;
        let mut floor = method("decode-only-floor", Kind::Ffmpeg, &[1.0]);
        floor.frames = 0;
        let r = ratios(
            &[ours, theirs, floor],
            &[(
                "reelframe-keyframes".into(),
                vec![
                    "ffmpeg-keyframes-parallel".into(),
                    "decode-only-floor".into(),
                ],
            )],
        );
        assert!(r[0].frames_differ && !r[1].frames_differ);
        assert_eq!(frames_cell(&r[0]), "86 / 159 ≠");
        assert_eq!(frames_cell(&r[1]), "86 / -");
    }

    #[test]
    fn ratios_are_anchor_over_reelframe_for_measured_pairs_only() {
        let methods = vec![
            method("reelframe-fps1", Kind::Reelframe, &[2.0]),
            method("ffmpeg-fps1-parallel", Kind::Ffmpeg, &[3.0]),
            method("decode-only-floor", Kind::Ffmpeg, &[1.0]),
        ];
        let comparisons = vec![(
            "reelframe-fps1".to_string(),
            vec![
                "ffmpeg-fps1-parallel".to_string(),
                "ffmpeg-fps1-serial".to_string(),
                "decode-only-floor".to_string(),
            ],
        )];
        let r = ratios(&methods, &comparisons);
        assert_eq!(r.len(), 2);
        assert_eq!(
            (r[0].anchor.as_str(), r[0].speedup),
            ("ffmpeg-fps1-parallel", 1.5)
        );
        assert_eq!(
            (r[1].anchor.as_str(), r[1].speedup),
            ("decode-only-floor", 0.5)
        );
        assert!(ratios(&methods, &[("reelframe-keyframes".into(), vec![])]).is_empty());
    }

    #[test]
    fn tables_align_columns() {
        let text = format_table(
            &["method", "seconds"],
            &[
                vec!["a".into(), "1.00".into()],
                vec!["longer-name".into(), "12.50".into()],
            ],
        );
        assert_eq!(
            text,
            "method       seconds\n\
             a               1.00\n\
             longer-name    12.50\n"
        );
    }

    #[test]
    fn the_text_report_shows_spreads_stages_and_speedups() {
        let methods = vec![
            method("reelframe-fps1", Kind::Reelframe, &[2.0, 2.2]),
            method("ffmpeg-fps1-parallel", Kind::Ffmpeg, &[3.0, 3.3]),
        ];
        let ratios = ratios(
            &methods,
            &[("reelframe-fps1".into(), vec!["ffmpeg-fps1-parallel".into()])],
        );
        let report = BenchReport {
            machine: Machine {
                cores: 2,
                cpu_model: Some("Test CPU".into()),
                os: "linux x86_64".into(),
                ffmpeg_version: Some("ffmpeg version 5.1".into()),
                reelframe_version: "0.1.0".into(),
                date: iso8601(0),
            },
            settings: Settings {
                inputs: vec!["wl".into()],
                videos: 4,
                input_bytes: 8_000_000,
                jobs: 2,
                repeat: 2,
                max_seconds: "60".into(),
            },
            methods,
            ratios,
        };
        let text = report.to_text();
        assert!(text.contains("seconds min/med/max"), "{text}");
        assert!(text.contains("2.00/2.10/2.20"), "{text}");
        assert!(
            text.lines()
                .any(|l| l.split_whitespace().collect::<Vec<_>>()
                    == [
                        "reelframe-fps1",
                        "vs",
                        "ffmpeg-fps1-parallel",
                        "1.50×",
                        "40",
                        "/",
                        "40"
                    ]),
            "{text}"
        );
        assert!(!text.contains('≠'), "{text}");
        let lines: Vec<&str> = text
            .lines()
            .filter(|l| {
                (l.starts_with("reelframe-fps1 ") || l.starts_with("ffmpeg-fps1-parallel "))
                    && !l.contains(" vs ")
            })
            .collect();
        assert_eq!(lines.len(), 2, "{text}");
        assert_eq!(lines[0].chars().count(), lines[1].chars().count(), "{text}");
    }
}
