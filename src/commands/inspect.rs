/*!
`reelframe inspect`: what reelframe sees in one video, and which frames it would sample.

The video goes through the same stages `extract` runs before decoding — fetch, open, scan the
packets up to the cap, plan the targets — and nothing is decoded. The report gives the container
facts (the [`VideoFacts`] a record carries), statistics of the packet timeline inside the capped
span (packets, keyframes, the keyframe interval, whether frames are reordered), the sampling and
its cost (how many packets the decoder would be sent), and every planned target with the frame
that answers it. It is printed as an aligned text block and a table, or with `--json` as one
JSON object (`input`, `video`, `stream`, `sampling`, `targets`).

Errors on the video print `reelframe: <kind>: <message>` on stderr and exit 1, with the same kinds
`extract` writes into error records; bad flags are usage errors (exit 2).
*/

use crate::config::InspectConfig;
use crate::error::ItemError;
use crate::pipeline::deadline::Deadline;
use crate::pipeline::demux::{init_ffmpeg, OpenVideo, VideoFacts};
use crate::pipeline::sample::{self, pts_to_ms, Plan, Sampling, Timeline};
use crate::pipeline::source::{LocalSource, VideoUrl};
use serde::Serialize;
use std::collections::HashMap;
use std::fmt::Write as _;
use std::io::Write as _;
use std::time::Duration;

/// How long inspecting one video may take, from open to the end of the scan.
pub const DEADLINE: Duration = Duration::from_secs(60);

/// Largest video accepted, in bytes (2 GiB, `extract`'s default `--max-bytes`).
pub const MAX_BYTES: u64 = 2 << 30;

/// Everything `inspect` reports about one video.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Report {
    /// The video as given on the command line.
    pub input: String,
    /// What the container says about the video (as records carry it).
    pub video: VideoFacts,
    /// Statistics of the packet timeline inside the capped span.
    pub stream: StreamStats,
    /// The sampling, its span and its cost.
    pub sampling: SamplingReport,
    /// The planned targets, in output order.
    pub targets: Vec<TargetReport>,
}

/// Statistics of the video stream's packets inside the capped span.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct StreamStats {
    /// Stream time base as `[num, den]`.
    pub time_base: [i64; 2],
    /// pts of the first presented frame (stream time base).
    pub first_pts: i64,
    /// Packets the scan read (it stops just past the cap, or at the end of the stream).
    pub packets_read: usize,
    /// Packets whose pts lies inside the capped span (including discarded ones).
    pub packets: usize,
    /// Of those, packets the demuxer marks as never shown (edit lists).
    pub discarded: usize,
    /// Keyframes presented inside the capped span.
    pub keyframes: usize,
    /// Spacing of those keyframes in presentation order; `None` with fewer than two.
    pub keyframe_interval: Option<KeyframeInterval>,
    /// Whether any packet has a pts below an earlier packet's in decode order (B-frames).
    pub reordered: bool,
    /// Whether the scan stopped at the cap rather than at the end of the stream.
    pub stopped_at_cap: bool,
}

/// Spacing between consecutive keyframes, in presentation order.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct KeyframeInterval {
    /// Mean distance in milliseconds.
    pub mean_ms: f64,
    /// Largest distance in milliseconds.
    pub max_ms: i64,
    /// Mean distance in frames (presented frames from one keyframe to the next).
    pub mean_frames: f64,
    /// Largest distance in frames.
    pub max_frames: usize,
}

/// The sampling as requested, the span it covers and what the plan costs.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SamplingReport {
    /// `fps`, `frames` or `keyframes`.
    pub mode: &'static str,
    /// The rate in `fps` mode (`1`, `30000/1001`).
    pub fps: Option<String>,
    /// The count in `frames` mode.
    pub frames: Option<u32>,
    /// The cap in seconds (0 = none).
    pub max_seconds: f64,
    /// The sampled span in ms: min(duration read, cap).
    pub span_ms: i64,
    /// How many targets the plan has.
    pub target_count: usize,
    /// Decode-order index of the last packet any target needs.
    pub last_packet: usize,
    /// Packets the decoder would be sent: the packets from each target's keyframe up to the
    /// target (GOP tails skipped), or only the keyframes in `keyframes` mode.
    pub packets_to_decode: usize,
}

/// One planned target and the frame that answers it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct TargetReport {
    /// Position in the output (0-based).
    pub index: u32,
    /// Target time in ms from the first frame.
    pub target_ms: i64,
    /// pts of the answering frame (stream time base).
    pub pts: i64,
    /// That frame's time in ms from the first displayed frame (same origin as `target_ms`).
    pub pts_ms: i64,
    /// Whether the answering frame is a keyframe.
    pub key: bool,
}

/// Runs `reelframe inspect`: prints the report and returns 0, or prints the video's error and
/// returns 1. Bad sampling flags are returned as errors (exit 2).
pub fn run(args: &InspectConfig) -> anyhow::Result<i32> {
    let sampling = args.sampling;
    init_ffmpeg(false);
    let report = match inspect(&args.video, &sampling) {
        Ok(report) => report,
        Err(err) => {
            eprintln!("reelframe: {}: {}", err.kind, err.message);
            return Ok(1);
        }
    };
    let text = if args.json {
        let mut s = serde_json::to_string_pretty(&report)?;
        s.push('\n');
        s
    } else {
        report.to_text()
    };
    let mut stdout = std::io::stdout().lock();
    match stdout
        .write_all(text.as_bytes())
        .and_then(|()| stdout.flush())
    {
        Ok(()) => Ok(0),
        // `reelframe inspect … | head` is fine.
        Err(err) if err.kind() == std::io::ErrorKind::BrokenPipe => Ok(0),
        Err(err) => Err(anyhow::Error::new(err).context("writing to stdout")),
    }
}

/// Fetches, opens and scans `video` as `extract` would, plans `sampling` on it, and reports
/// what it found. Nothing is decoded. Call [`init_ffmpeg`] first.
pub fn inspect(video: &str, sampling: &Sampling) -> Result<Report, ItemError> {
    let url = VideoUrl::parse(video)?;
    let source = LocalSource {
        max_bytes: MAX_BYTES,
    };
    let fetched = source.check(&url)?;
    let deadline = Deadline::after(DEADLINE);
    let mut opened = OpenVideo::open(&fetched.data, fetched.bytes, deadline)?;
    let timeline = opened.scan(sampling.max_ms, deadline)?;
    let plan = sample::plan(&timeline, sampling)?;
    let mut facts = opened.facts.clone();
    // what `extract` does by default
    facts.tone_mapped = facts.hdr.is_some();
    Ok(build_report(video, facts, &timeline, sampling, &plan))
}

/// Builds the report from what the scan and the plan found.
pub fn build_report(
    input: &str,
    facts: VideoFacts,
    timeline: &Timeline,
    sampling: &Sampling,
    plan: &Plan,
) -> Report {
    Report {
        input: input.to_string(),
        video: facts,
        stream: stream_stats(timeline, sampling.max_ms),
        sampling: sampling_report(timeline, sampling, plan),
        targets: target_reports(timeline, plan),
    }
}

/// Packet and keyframe statistics of the capped span of `timeline`.
pub fn stream_stats(timeline: &Timeline, max_ms: u64) -> StreamStats {
    let in_span: Vec<_> = timeline
        .packets
        .iter()
        .filter(|p| timeline.before_cap(p.pts, max_ms))
        .collect();
    let discarded = in_span.iter().filter(|p| p.discard).count();
    // Presented frames in the span, in presentation order.
    let mut shown: Vec<i64> = in_span
        .iter()
        .filter(|p| !p.discard)
        .map(|p| p.pts)
        .collect();
    shown.sort_unstable();
    shown.dedup();
    let mut keys: Vec<i64> = in_span
        .iter()
        .filter(|p| p.key && !p.discard)
        .map(|p| p.pts)
        .collect();
    keys.sort_unstable();
    keys.dedup();
    let keyframe_interval = (keys.len() >= 2).then(|| {
        let gaps = keys.len() - 1;
        let position = |pts: i64| shown.partition_point(|&p| p < pts);
        let mut max_tb = 0i64;
        let mut max_frames = 0usize;
        let mut frames_total = 0usize;
        for pair in keys.windows(2) {
            max_tb = max_tb.max(pair[1] - pair[0]);
            let frames = position(pair[1]) - position(pair[0]);
            max_frames = max_frames.max(frames);
            frames_total += frames;
        }
        let (num, den) = timeline.time_base;
        let total_ms = (keys[keys.len() - 1] - keys[0]) as f64 * num as f64 * 1000.0 / den as f64;
        KeyframeInterval {
            mean_ms: round3(total_ms / gaps as f64),
            max_ms: pts_to_ms(max_tb, timeline.time_base),
            mean_frames: round3(frames_total as f64 / gaps as f64),
            max_frames,
        }
    });
    let mut reordered = false;
    let mut max_pts = i64::MIN;
    for p in &timeline.packets {
        if p.pts < max_pts {
            reordered = true;
            break;
        }
        max_pts = max_pts.max(p.pts);
    }
    StreamStats {
        time_base: [timeline.time_base.0, timeline.time_base.1],
        first_pts: timeline.first_pts,
        packets_read: timeline.packets.len(),
        packets: in_span.len(),
        discarded,
        keyframes: keys.len(),
        keyframe_interval,
        reordered,
        stopped_at_cap: timeline.stopped_at_cap,
    }
}

/// How frames are turned upright, in words: `rotation` with ffprobe's sign (counter-clockwise),
/// then a mirror.
fn orientation_text(rotation: i32, hflip: bool, vflip: bool) -> String {
    let turn = match rotation {
        0 => None,
        r if r < 0 => Some(format!("{r} (turned {}° clockwise)", -r)),
        r => Some(format!("{r} (turned {r}° counter-clockwise)")),
    };
    let mirror = match (hflip, vflip) {
        (true, _) => Some("mirrored left-right"),
        (_, true) => Some("mirrored top-bottom"),
        _ => None,
    };
    match (turn, mirror) {
        (None, None) => "none".into(),
        (Some(t), None) => t,
        (None, Some(m)) => format!("0, {m}"),
        (Some(t), Some(m)) => format!("{t}, then {m}"),
    }
}

fn round3(x: f64) -> f64 {
    (x * 1000.0).round() / 1000.0
}

/// The sampling, its span and the number of packets the decoder would be sent.
pub fn sampling_report(timeline: &Timeline, sampling: &Sampling, plan: &Plan) -> SamplingReport {
    let packets_to_decode = plan.packets_to_send(timeline);
    SamplingReport {
        mode: sampling.mode.name(),
        fps: sampling.mode.rate(),
        frames: sampling.mode.count(),
        max_seconds: sampling.max_ms as f64 / 1000.0,
        span_ms: plan.span_ms,
        target_count: plan.targets.len(),
        last_packet: plan.last_packet,
        packets_to_decode,
    }
}

/// The planned targets with their frames' pts in ms and keyframe flags.
pub fn target_reports(timeline: &Timeline, plan: &Plan) -> Vec<TargetReport> {
    let mut key_of: HashMap<i64, bool> = HashMap::new();
    for p in timeline.packets.iter().filter(|p| !p.discard) {
        *key_of.entry(p.pts).or_default() |= p.key;
    }
    plan.targets
        .iter()
        .map(|t| TargetReport {
            index: t.index,
            target_ms: t.target_ms,
            pts: t.pts,
            pts_ms: timeline.relative_ms(t.pts),
            key: key_of.get(&t.pts).copied().unwrap_or(false),
        })
        .collect()
}

impl Report {
    /// The report as an aligned text block followed by a table of the targets.
    pub fn to_text(&self) -> String {
        let v = &self.video;
        let st = &self.stream;
        let sa = &self.sampling;
        let mut rows: Vec<(&str, String)> = Vec::new();
        rows.push(("video", self.input.clone()));
        rows.push(("bytes", v.bytes.to_string()));
        rows.push(("container", v.container.clone()));
        rows.push((
            "codec",
            match &v.profile {
                Some(p) => format!("{} ({p})", v.codec),
                None => v.codec.clone(),
            },
        ));
        let size = if (v.width, v.height) == (v.display_width, v.display_height) {
            format!("{}x{}", v.width, v.height)
        } else {
            format!(
                "{}x{} coded, {}x{} displayed",
                v.width, v.height, v.display_width, v.display_height
            )
        };
        rows.push(("size", size));
        rows.push(("rotation", orientation_text(v.rotation, v.hflip, v.vflip)));
        rows.push((
            "pixels",
            format!(
                "{}, range {}, matrix {}, transfer {}, primaries {}",
                v.pixel_format, v.color_range, v.color_space, v.color_transfer, v.color_primaries
            ),
        ));
        rows.push((
            "hdr",
            match v.hdr {
                Some(hdr) => format!(
                    "{} (extract tone-maps it to SDR BT.709 unless --hdr passthrough)",
                    if hdr == crate::pipeline::tonemap::Hdr::Pq {
                        "PQ"
                    } else {
                        "HLG"
                    }
                ),
                None => "no (SDR)".into(),
            },
        ));
        let container_duration = v
            .container_duration_ms
            .map(|ms| format!("container says {ms} ms"))
            .unwrap_or_else(|| "no container duration".into());
        rows.push((
            "duration",
            match v.duration_ms {
                Some(ms) => format!("{ms} ms ({container_duration})"),
                None => format!(
                    "longer than the {} s cap, not scanned further ({container_duration})",
                    sa.max_seconds
                ),
            },
        ));
        rows.push(("start", format!("{} ms (pts {})", v.start_ms, st.first_pts)));
        rows.push((
            "time base",
            format!("{}/{}", st.time_base[0], st.time_base[1]),
        ));
        rows.push((
            "fps",
            v.fps
                .map(|f| format!("{f:.3}"))
                .unwrap_or_else(|| "unknown".into()),
        ));
        rows.push(("audio", if v.has_audio { "yes" } else { "no" }.into()));
        let mut packets = format!("{} in the span ({} read", st.packets, st.packets_read);
        if st.discarded > 0 {
            let _ = write!(packets, ", {} discarded", st.discarded);
        }
        packets.push(')');
        rows.push(("packets", packets));
        let mut keyframes = st.keyframes.to_string();
        match &st.keyframe_interval {
            Some(k) => {
                let _ = write!(
                    keyframes,
                    ", every {:.1} ms / {:.1} frames on average, at most {} ms / {} frames",
                    k.mean_ms, k.mean_frames, k.max_ms, k.max_frames
                );
            }
            None => keyframes.push_str(" (no interval: fewer than two in the span)"),
        }
        rows.push(("keyframes", keyframes));
        rows.push((
            "reordering",
            if st.reordered {
                "yes (B-frames: decode order differs from presentation order)"
            } else {
                "no"
            }
            .into(),
        ));
        let mode = match (&sa.fps, sa.frames) {
            (Some(rate), _) => format!("fps={rate}"),
            (None, Some(n)) => format!("frames={n}"),
            (None, None) => sa.mode.to_string(),
        };
        let cap = if sa.max_seconds > 0.0 {
            format!("cap {} s", sa.max_seconds)
        } else {
            "no cap".into()
        };
        rows.push(("sampling", format!("{mode}, {cap}, span {} ms", sa.span_ms)));
        rows.push(("targets", sa.target_count.to_string()));
        rows.push((
            "decode cost",
            format!(
                "{} packet(s) sent to the decoder{} (up to packet #{} in decode order)",
                sa.packets_to_decode,
                if sa.mode == "keyframes" {
                    ", keyframes only"
                } else {
                    ""
                },
                sa.last_packet
            ),
        ));

        let width = rows.iter().map(|(k, _)| k.len()).max().unwrap_or(0);
        let mut out = String::new();
        for (k, value) in &rows {
            let _ = writeln!(out, "{k:<width$}  {value}");
        }
        out.push('\n');
        let header = ["index", "target_ms", "pts", "pts_ms", "key"];
        let cells: Vec<[String; 5]> = self
            .targets
            .iter()
            .map(|t| {
                [
                    t.index.to_string(),
                    t.target_ms.to_string(),
                    t.pts.to_string(),
                    t.pts_ms.to_string(),
                    if t.key { "yes" } else { "no" }.to_string(),
                ]
            })
            .collect();
        let mut widths = header.map(str::len);
        for row in &cells {
            for (w, c) in widths.iter_mut().zip(row) {
                *w = (*w).max(c.len());
            }
        }
        let line = |out: &mut String, row: [&str; 5]| {
            let mut l = String::new();
            for (i, (c, w)) in row.iter().zip(widths).enumerate() {
                if i > 0 {
                    l.push_str("  ");
                }
                if i == 4 {
                    let _ = write!(l, "{c:<w$}");
                } else {
                    let _ = write!(l, "{c:>w$}");
                }
            }
            let _ = writeln!(out, "{}", l.trim_end());
        };
        line(&mut out, header);
        for row in &cells {
            line(&mut out, [&row[0], &row[1], &row[2], &row[3], &row[4]]);
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pipeline::sample::{PacketInfo, SamplingMode};

    /// 25 fps in 1/12800, keyframes at frames 0, 50 and 75, B-frame-like decode order.
    fn timeline(n: i64) -> Timeline {
        let step = 512;
        let mut packets: Vec<PacketInfo> = (0..n)
            .map(|i| PacketInfo {
                pts: i * step,
                duration: step,
                key: i == 0 || i == 50 || i == 75,
                discard: false,
            })
            .collect();
        for i in (1..packets.len() - 1).step_by(2) {
            if !packets[i].key && !packets[i + 1].key {
                packets.swap(i, i + 1);
            }
        }
        Timeline {
            packets,
            time_base: (1, 12800),
            first_pts: 0,
            end_pts: n * step,
            stopped_at_cap: false,
            pts_from_order: false,
            rewind_ts: 0,
        }
    }

    #[test]
    fn keyframe_interval_in_ms_and_frames_within_the_cap() {
        let tl = timeline(100);
        let st = stream_stats(&tl, 0);
        assert_eq!(st.keyframes, 3);
        assert!(st.reordered);
        let k = st.keyframe_interval.unwrap();
        assert_eq!(k.max_ms, 2000);
        assert_eq!(k.max_frames, 50);
        assert_eq!(k.mean_ms, 1500.0);
        assert_eq!(k.mean_frames, 37.5);
        // a 2.5 s cap holds frames 0..62: keyframes 0 and 50
        let capped = stream_stats(&tl, 2500);
        assert_eq!(capped.packets, 63);
        assert_eq!(capped.keyframes, 2);
        // a 1 s cap holds one keyframe: no interval
        assert_eq!(stream_stats(&tl, 1000).keyframe_interval, None);
    }

    #[test]
    fn decode_cost_counts_packets_up_to_the_last_target() {
        let tl = timeline(100);
        let fps = Sampling {
            mode: SamplingMode::parse_fps("1").unwrap(),
            max_ms: 0,
            tolerance_ms: 0,
        };
        let plan = sample::plan(&tl, &fps).unwrap();
        let r = sampling_report(&tl, &fps, &plan);
        assert_eq!(r.target_count, 4);
        assert_eq!(r.packets_to_decode, plan.packets_to_send(&tl));
        assert!(r.packets_to_decode <= plan.last_packet + 1);
        let keys = Sampling {
            mode: SamplingMode::Keyframes,
            max_ms: 0,
            tolerance_ms: 0,
        };
        let plan = sample::plan(&tl, &keys).unwrap();
        let r = sampling_report(&tl, &keys, &plan);
        assert_eq!((r.target_count, r.packets_to_decode), (3, 3));
        let targets = target_reports(&tl, &plan);
        assert!(targets.iter().all(|t| t.key));
        assert_eq!(
            targets.iter().map(|t| t.pts_ms).collect::<Vec<_>>(),
            vec![0, 2000, 3000]
        );
    }
}
