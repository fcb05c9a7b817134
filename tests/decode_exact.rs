//! The decoder's shortcuts are exact: skipping non-reference pictures and the tails of GOPs (and
//! decoding with frame threads) gives every target the very same picture, byte for byte, as
//! decoding every packet; and the shortcuts really do less work. Also `--tolerance`.
//!
//! Runs the library in-process on every clip in `samples/`.

mod common;

use common::*;
use ffmpeg_next as ffmpeg;
use reelframe::pipeline::deadline::Deadline;
use reelframe::pipeline::decode::{decode_targets, DecodeOptions, DecodeStats};
use reelframe::pipeline::demux::{init_ffmpeg, OpenVideo};
use reelframe::pipeline::sample::{plan, Plan, Sampling, SamplingMode, Timeline};
use reelframe::pipeline::source::VideoData;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// The clips `samples/` must hold: H.264 High with B-frames (one GOP, many GOPs, rotated),
/// Constrained Baseline with two GOPs, a VFR phone clip, HEVC, VP8 and VP9.
const EXPECTED_CLIPS: [&str; 10] = [
    "big_buck_bunny_0_30.webm",
    "chaplin.mp4",
    "example.mp4",
    "fire2.mp4",
    "hevc_portrait.mp4",
    "long_62s.mp4",
    "no_duration.webm",
    "portrait_h264_aac.mp4",
    "rotated90.mp4",
    "smpte-2997.mp4",
];

/// Every clip in `samples/`, sorted; panics if one of [`EXPECTED_CLIPS`] is missing, so the set
/// cannot shrink unnoticed (a new sample joins on its own).
fn clips() -> Vec<PathBuf> {
    let mut clips: Vec<PathBuf> = std::fs::read_dir(samples_dir())
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| {
            matches!(
                p.extension().and_then(|e| e.to_str()),
                Some("mp4" | "webm" | "mov" | "mkv")
            )
        })
        .collect();
    clips.sort();
    for name in EXPECTED_CLIPS {
        assert!(
            clips.iter().any(|c| c.file_name() == Some(name.as_ref())),
            "samples/{name} is missing; found {clips:?}"
        );
    }
    clips
}

/// blake3 of a decoded picture's visible bytes, plane by plane.
fn picture_hash(frame: &ffmpeg::frame::Video) -> String {
    let mut hasher = blake3::Hasher::new();
    hasher.update(&[frame.width() as u8, frame.height() as u8]);
    let format: ffmpeg::ffi::AVPixelFormat = frame.format().into();
    for plane in 0..frame.planes() {
        // SAFETY: av_image_get_linesize only reads the pixel format descriptor.
        let row_bytes = unsafe {
            ffmpeg::ffi::av_image_get_linesize(format, frame.width() as i32, plane as i32)
        };
        assert!(row_bytes > 0);
        let stride = frame.stride(plane);
        let data = frame.data(plane);
        for row in 0..frame.plane_height(plane) as usize {
            hasher.update(&data[row * stride..row * stride + row_bytes as usize]);
        }
    }
    hasher.finalize().to_hex().to_string()
}

struct Decoded {
    /// Target index → (pts, picture hash).
    pictures: BTreeMap<u32, (i64, String)>,
    stats: DecodeStats,
}

fn open(path: &Path, sampling: &Sampling) -> (OpenVideo, VideoData, Timeline, Plan) {
    init_ffmpeg(false);
    let data = VideoData::File(path.to_path_buf());
    let bytes = std::fs::metadata(path).unwrap().len();
    let deadline = Deadline::after(Duration::from_secs(120));
    let mut video = OpenVideo::open(&data, bytes, deadline)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let timeline = video.scan(sampling.max_ms, deadline).unwrap();
    let plan = plan(&timeline, sampling).unwrap();
    (video, data, timeline, plan)
}

fn decode(path: &Path, sampling: &Sampling, options: DecodeOptions) -> Decoded {
    let (mut video, data, timeline, plan) = open(path, sampling);
    let mut pictures = BTreeMap::new();
    let stats = decode_targets(
        &mut video,
        &data,
        &timeline,
        &plan,
        options,
        Deadline::after(Duration::from_secs(120)),
        |targets, frame| {
            let hash = picture_hash(frame);
            for t in targets {
                let pts = frame.pts().or_else(|| frame.timestamp()).unwrap();
                assert_eq!(pts, t.pts, "the frame handed over is the target's");
                assert!(pictures.insert(t.index, (pts, hash.clone())).is_none());
            }
            Ok(())
        },
    )
    .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    assert_eq!(pictures.len(), plan.targets.len());
    Decoded { pictures, stats }
}

fn sampling(mode: SamplingMode) -> Sampling {
    Sampling {
        mode,
        max_ms: 60_000,
        tolerance_ms: 0,
    }
}

const FULL: DecodeOptions = DecodeOptions {
    threads: 1,
    skip_non_reference: false,
    skip_gop_tails: false,
    max_pixels: reelframe::pipeline::demux::MAX_PIXELS,
};

#[test]
fn skipping_gop_tails_and_non_reference_pictures_changes_no_target() {
    let variants = [
        ("both skips", DecodeOptions::with_threads(1)),
        (
            "GOP tails only",
            DecodeOptions {
                skip_non_reference: false,
                ..DecodeOptions::with_threads(1)
            },
        ),
        ("frame threads", DecodeOptions::with_threads(2)),
    ];
    for clip in clips() {
        for mode in [
            SamplingMode::Fps { num: 1, den: 1 },
            SamplingMode::Frames(7),
        ] {
            let s = sampling(mode);
            let full = decode(&clip, &s, FULL);
            // every variant at 1 fps; the default one for the other mode
            let tried = if matches!(mode, SamplingMode::Fps { .. }) {
                3
            } else {
                1
            };
            for (name, options) in variants.into_iter().take(tried) {
                let fast = decode(&clip, &s, options);
                assert_eq!(
                    fast.pictures,
                    full.pictures,
                    "{} {mode}: {name} changed a target",
                    clip.display()
                );
                assert!(fast.stats.packets_sent <= full.stats.packets_sent);
                assert!(
                    !fast.stats.full_decode_fallback,
                    "{}: {name}",
                    clip.display()
                );
                assert!(!fast.stats.reopened, "{}: rewinding failed", clip.display());
            }
        }
    }
}

/// Clip with B-frames and GOPs longer than a second: both skips must save work.
#[test]
fn the_skips_send_fewer_packets_and_decode_fewer_frames_on_long_gops() {
    let clip = sample("long_62s.mp4");
    let packets = ffprobe_packets(&clip);
    let keys: Vec<usize> = (0..packets.len()).filter(|&i| packets[i].key).collect();
    assert!(packets.len() / keys.len() > 30, "long GOPs expected");
    assert!(
        packets.windows(2).any(|w| w[1].pts < w[0].pts),
        "B-frames expected (pts out of order)"
    );
    let s = sampling(SamplingMode::Fps { num: 1, den: 1 });
    let full = decode(&clip, &s, FULL);
    let tails = decode(
        &clip,
        &s,
        DecodeOptions {
            skip_non_reference: false,
            ..DecodeOptions::default()
        },
    );
    let both = decode(&clip, &s, DecodeOptions::default());
    assert!(
        tails.stats.packets_sent < full.stats.packets_sent,
        "{tails:?} vs {full:?}",
        tails = tails.stats,
        full = full.stats
    );
    assert!(tails.stats.flushes > 0);
    assert!(both.stats.frames_decoded < tails.stats.frames_decoded);
    assert!(both.stats.frames_decoded < full.stats.frames_decoded);
    assert_eq!(both.pictures, full.pictures);
    // a full decode outputs every picture it is sent
    assert_eq!(full.stats.frames_decoded, full.stats.packets_sent);
}

#[test]
fn keyframes_mode_sends_only_keyframes() {
    for clip in [sample("long_62s.mp4"), sample("hevc_portrait.mp4")] {
        let d = decode(
            &clip,
            &sampling(SamplingMode::Keyframes),
            DecodeOptions::default(),
        );
        assert_eq!(
            d.stats.packets_sent,
            d.pictures.len() as u64,
            "{}",
            clip.display()
        );
        assert_eq!(d.stats.frames_decoded, d.pictures.len() as u64);
    }
}

#[test]
fn tolerance_serves_targets_from_keyframes_and_decodes_less() {
    let clip = sample("long_62s.mp4");
    let probe = ffprobe_packets(&clip);
    let tb = ffprobe_video_stream(&clip).time_base;
    let first = probe.iter().map(|p| p.pts).min().unwrap();
    let key_pts: Vec<i64> = probe.iter().filter(|p| p.key).map(|p| p.pts).collect();
    let exact = sampling(SamplingMode::Fps { num: 1, den: 1 });
    let loose = Sampling {
        tolerance_ms: 500,
        ..exact
    };
    let (_, _, _, exact_plan) = open(&clip, &exact);
    let (_, _, _, loose_plan) = open(&clip, &loose);
    assert_eq!(loose_plan.targets.len(), exact_plan.targets.len());
    let mut on_keyframes = 0;
    for (t, e) in loose_plan.targets.iter().zip(&exact_plan.targets) {
        assert_eq!(t.target_ms, e.target_ms);
        let off = pts_to_ms(t.pts - first, tb) - t.target_ms;
        if t.pts != e.pts {
            assert!(key_pts.contains(&t.pts), "moved only onto keyframes");
            assert!(
                off.abs() <= 500,
                "target {} ms served {off} ms away",
                t.target_ms
            );
            on_keyframes += 1;
        }
    }
    assert!(
        on_keyframes >= 10,
        "{on_keyframes} targets moved to keyframes"
    );
    let full = decode(&clip, &exact, DecodeOptions::default());
    let fast = decode(&clip, &loose, DecodeOptions::default());
    assert!(
        fast.stats.frames_decoded < full.stats.frames_decoded,
        "{:?} vs {:?}",
        fast.stats,
        full.stats
    );
    // targets the tolerance left alone are the exact frames, byte for byte
    for (i, (pts, hash)) in &fast.pictures {
        let (epts, ehash) = &full.pictures[i];
        if pts == epts {
            assert_eq!(hash, ehash);
        }
    }

    // through the CLI: the record reports each frame's actual pts, within the tolerance
    let tmp = tempfile::tempdir().unwrap();
    let out = run_reelframe([
        "extract".as_ref(),
        "-q".as_ref(),
        "--tolerance".as_ref(),
        "500".as_ref(),
        "-o".as_ref(),
        tmp.path().as_os_str(),
        clip.as_os_str(),
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let records = read_jsonl(&tmp.path().join("records.jsonl"));
    let record = &records[0];
    assert_eq!(record["derived"]["sampling"]["tolerance_ms"], 500);
    let frames = record["derived"]["frames"].as_array().unwrap();
    // stream_pts_ms is on the stream clock; targets and pts_ms count from the first frame
    let first_ms = pts_to_ms(first, tb);
    let key_ms: Vec<i64> = key_pts.iter().map(|&p| pts_to_ms(p, tb)).collect();
    let mut keyframe_hits = 0;
    for f in frames {
        let (pts_ms, target_ms) = (
            f["stream_pts_ms"].as_i64().unwrap(),
            f["target_ms"].as_i64().unwrap(),
        );
        assert!((pts_ms - first_ms - target_ms).abs() <= 501, "{f}");
        assert_eq!(f["pts_ms"].as_i64().unwrap(), pts_ms - first_ms, "{f}");
        keyframe_hits += key_ms.contains(&pts_ms) as usize;
    }
    assert!(keyframe_hits >= 10);
}

/// x265's default open GOPs start with CRA pictures; given only the keyframe packets, FFmpeg's
/// HEVC decoder reports errors on some of them (ffmpeg's own `-skip_frame nokey` sends every
/// packet). `--keyframes` must still yield every keyframe, at its pts, without an error.
#[test]
fn keyframes_of_an_open_gop_hevc_stream_all_come_out() {
    let dir = tempfile::tempdir().unwrap();
    let clip = dir.path().join("hevc_open_gop.mp4");
    ffmpeg(&[
        "-i",
        &s(&sample("big_buck_bunny_0_30.webm")),
        "-t",
        "20",
        "-an",
        "-vf",
        "crop=ih*9/16:ih,scale=180:320,fps=30,format=yuv420p",
        "-c:v",
        "libx265",
        "-preset",
        "ultrafast",
        "-crf",
        "26",
        "-tag:v",
        "hvc1",
        "-x265-params",
        "log-level=error",
        "-g",
        "250",
        &s(&clip),
    ]);
    let keyframe_pts: Vec<i64> = ffprobe_packets(&clip)
        .iter()
        .filter(|p| p.key)
        .map(|p| p.pts)
        .collect();
    assert!(keyframe_pts.len() >= 3, "{keyframe_pts:?}");
    let out = dir.path().join("out");
    let o = run_reelframe([
        "extract".as_ref(),
        clip.as_os_str(),
        "--keyframes".as_ref(),
        "-o".as_ref(),
        out.as_os_str(),
    ]);
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let record = &read_jsonl(&out.join("records.jsonl"))[0];
    let tb = ffprobe_video_stream(&clip).time_base;
    let got: Vec<i64> = record["derived"]["frames"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["stream_pts_ms"].as_i64().unwrap())
        .collect();
    let want: Vec<i64> = keyframe_pts.iter().map(|&p| pts_to_ms(p, tb)).collect();
    assert_eq!(got, want);
}
