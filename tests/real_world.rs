//! What phones and downloaders really write, made at test time with the ffmpeg CLI from
//! `samples/`: edit-list trims (H.264, HEVC, rotated), containers without pts (AVI with and
//! without B-frames, MPEG-4 Part 2), FLV, a first frame after 0, fragmented MP4, moov at the end,
//! negative DTS, a container that lies about its duration, every rotation and mirror, VFR.
//!
//! Each case asserts the frame count, the pts of every frame against ffprobe's decoded timeline
//! (`best_effort_timestamp`, what the ffmpeg CLI uses), `pts_ms` on the displayed timeline, the
//! orientation fields, and PSNR against the ffmpeg CLI's upright frame.

mod common;

use common::*;
use serde_json::Value;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

/// One decoded frame as ffprobe reports it: `best_effort_timestamp` (the time the ffmpeg CLI
/// gives the frame) and its duration.
#[derive(Debug, Clone, Copy)]
struct Shown {
    pts: i64,
    duration: i64,
}

/// ffprobe's decoded timeline of the video stream, in presentation order. Frames the decoder
/// returns only when drained carry no timestamp in a container without pts (AVI with B-frames);
/// they continue at the previous frame's pace, as the ffmpeg CLI numbers them.
fn decoded_timeline(video: &Path) -> (Vec<Shown>, (i64, i64)) {
    let stream = ffprobe_video_stream(video);
    let out = Command::new("ffprobe")
        .args(["-v", "error", "-select_streams"])
        .arg(stream.index.to_string())
        .args([
            "-show_entries",
            "frame=best_effort_timestamp,pkt_duration",
            "-of",
            "csv=p=0",
        ])
        .arg(video)
        .output()
        .unwrap();
    assert!(out.status.success());
    let mut frames: Vec<Shown> = Vec::new();
    for line in String::from_utf8_lossy(&out.stdout).lines() {
        let mut cells = line.split(',');
        let ts = cells.next().and_then(|c| c.trim().parse::<i64>().ok());
        let dur = cells.next().and_then(|c| c.trim().parse::<i64>().ok());
        let pts = match (ts, frames.last()) {
            (Some(t), _) => t,
            (None, Some(prev)) => prev.pts + prev.duration.max(1),
            (None, None) => panic!("{}: first frame has no timestamp", video.display()),
        };
        frames.push(Shown {
            pts,
            duration: dur.unwrap_or(0),
        });
    }
    frames.sort_by_key(|f| f.pts);
    assert!(!frames.is_empty(), "{}: no frames", video.display());
    (frames, stream.time_base)
}

/// How a case must come out.
struct Expect {
    rotation: i64,
    hflip: bool,
    vflip: bool,
}

const UPRIGHT: Expect = Expect {
    rotation: 0,
    hflip: false,
    vflip: false,
};

/// Runs `reelframe extract` (1 fps) on `video` and checks the record against ffprobe and the
/// ffmpeg CLI. Returns the record.
fn check(video: &Path, expect: &Expect, scratch: &Path) -> Value {
    let name = video.file_name().unwrap().to_string_lossy().into_owned();
    let out = scratch.join(format!("out_{name}"));
    let o = run_reelframe(["extract", "-o", &s(&out), &s(video)]);
    let records = read_jsonl(&out.join("records.jsonl"));
    assert_eq!(records.len(), 1);
    let rec = &records[0];
    assert_eq!(
        rec["status"],
        "ok",
        "{name}: {rec}\n{}",
        String::from_utf8_lossy(&o.stderr)
    );
    assert_valid(&schema_validator(), rec);

    let (shown, tb) = decoded_timeline(video);
    let first = shown[0].pts;
    let last = shown[shown.len() - 1];
    // the span: first frame to the end of the last, as ffprobe decodes them
    let end = last.pts + last.duration.max(1);
    let (num, den) = (tb.0 as i128, tb.1 as i128);
    let count = (0i128..)
        .take_while(|k| k * 1000 * den < (end - first) as i128 * num * 1000)
        .count()
        .max(1);
    let v = &rec["derived"]["video"];
    let frames = rec["derived"]["frames"].as_array().unwrap();
    assert_eq!(frames.len(), count, "{name}: frame count");
    assert_eq!(v["start_ms"], pts_to_ms(first, tb), "{name}: start");
    let probe: Vec<ProbeFrame> = shown
        .iter()
        .map(|f| ProbeFrame {
            pts: f.pts,
            pts_time: 0.0,
            key: false,
            pict_type: String::new(),
        })
        .collect();
    for f in frames {
        let target = f["target_ms"].as_i64().unwrap();
        let want = frame_displayed_at(&probe, first, tb, target).pts;
        assert_eq!(
            f["stream_pts"].as_i64().unwrap(),
            want,
            "{name}: frame for target {target} ms"
        );
        let pts_ms = f["pts_ms"].as_i64().unwrap();
        assert_eq!(pts_ms, pts_to_ms(want - first, tb), "{name}: {f}");
        assert!(pts_ms <= target, "{name}: a frame after its target: {f}");
        assert_eq!(f["stream_pts_ms"], pts_to_ms(want, tb), "{name}");
    }
    assert_eq!(
        (&v["rotation"], &v["hflip"], &v["vflip"]),
        (
            &Value::from(expect.rotation),
            &Value::from(expect.hflip),
            &Value::from(expect.vflip)
        ),
        "{name}: orientation"
    );
    for f in [
        &frames[0],
        &frames[frames.len() / 2],
        &frames[frames.len() - 1],
    ] {
        let ours = load_rgb(Path::new(f["uri"].as_str().unwrap()));
        let reference = ffmpeg_reference_rgb(video, f["stream_pts"].as_i64().unwrap(), scratch);
        assert_eq!(
            ours.dimensions(),
            reference.dimensions(),
            "{name}: frame {}",
            f["index"]
        );
        let db = psnr(&ours, &reference);
        assert!(db >= 35.0, "{name}: frame {}: PSNR {db:.1} dB", f["index"]);
    }
    rec.clone()
}

/// Video-only copy of a sample (the trims below cut the video stream alone).
fn video_only(sample_name: &str, dir: &Path) -> PathBuf {
    let out = dir.join(format!("v_{sample_name}"));
    ffmpeg(&[
        "-i",
        &s(&sample(sample_name)),
        "-map",
        "0:v:0",
        "-c",
        "copy",
        &s(&out),
    ]);
    out
}

/// `ffmpeg -ss AT -i SRC -c copy`: a trim without re-encoding, which MP4 writes as an edit list
/// that hides the frames between the keyframe before AT and AT.
fn trim(src: &Path, at: &str, out: &Path) {
    ffmpeg(&["-ss", at, "-i", &s(src), "-c", "copy", &s(out)]);
}

#[test]
fn edit_list_trims_start_at_the_first_displayed_frame() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let h264 = video_only("portrait_h264_aac.mp4", dir);
    let hevc = video_only("hevc_portrait.mp4", dir);
    let cases = [
        ("trim_h264.mp4", &h264, "2.5", 0),
        ("trim_h264_short.mp4", &h264, "0.5", 0),
        ("trim_hevc.mp4", &hevc, "2.5", 0),
        ("trim_rotated.mp4", &sample("rotated90.mp4"), "2.5", 90),
    ];
    for (name, src, at, rotation) in cases {
        let clip = dir.join(name);
        trim(src, at, &clip);
        // the case is real: the demuxer marks hidden packets, which ffmpeg never shows
        let discarded = Command::new("ffprobe")
            .args(["-v", "error", "-select_streams", "v:0", "-show_entries"])
            .args(["packet=flags", "-of", "csv=p=0"])
            .arg(&clip)
            .output()
            .unwrap();
        let flags = String::from_utf8_lossy(&discarded.stdout).into_owned();
        assert!(flags.lines().any(|l| l.contains('D')), "{name}: no discard");
        let expect = Expect {
            rotation,
            ..UPRIGHT
        };
        let rec = check(&clip, &expect, dir);
        // t = 0 is the first displayed frame: pts 0 here, as ffprobe shows it
        assert_eq!(rec["derived"]["frames"][0]["stream_pts"], 0, "{name}");
        // inspect reports the hidden packets
        let o = run_reelframe(["inspect", "--json", &s(&clip)]);
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        let report: Value = serde_json::from_slice(&o.stdout).unwrap();
        assert!(
            report["stream"]["discarded"].as_u64().unwrap() > 0,
            "{name}"
        );
        assert_eq!(report["video"]["start_ms"], 0, "{name}");
    }
}

#[test]
fn containers_without_pts_plan_on_the_times_frames_come_out_with() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let chaplin = s(&sample("chaplin.mp4"));
    let common = ["-t", "5", "-an", "-vf", "scale=320:180,fps=30"];
    let cases: [(&str, &[&str]); 5] = [
        ("h264_bframes.avi", &["-c:v", "libx264", "-bf", "3"]),
        (
            "mpeg4_bframes.avi",
            &["-c:v", "mpeg4", "-bf", "2", "-q:v", "4"],
        ),
        ("h264_no_bframes.avi", &["-c:v", "libx264", "-bf", "0"]),
        ("mpeg4_no_bframes.avi", &["-c:v", "mpeg4", "-q:v", "4"]),
        ("h264_bframes.flv", &["-c:v", "libx264", "-bf", "3"]),
    ];
    for (name, codec) in cases {
        let clip = dir.join(name);
        let mut args = vec!["-i", &chaplin];
        args.extend(common);
        args.extend(codec);
        args.extend(["-threads", "1"]);
        let clip_s = s(&clip);
        args.push(&clip_s);
        ffmpeg(&args);
        let rec = check(&clip, &UPRIGHT, dir);
        assert_eq!(rec["derived"]["frames"].as_array().unwrap().len(), 5);
    }
}

/// Overwrites the matrix of the first `tkhd` box (the only track: the files have no audio).
fn set_track_matrix(path: &Path, matrix: [i32; 9]) {
    let mut data = fs::read(path).unwrap();
    let at = data
        .windows(4)
        .position(|w| w == b"tkhd")
        .expect("a tkhd box");
    // after the type: version/flags 4, then times and ids (20 bytes in version 0, 32 in 1),
    // 8 reserved, layer, group, volume, reserved (8): the matrix
    let version = data[at + 4];
    let offset = at + 4 + 4 + if version == 1 { 32 } else { 20 } + 8 + 8;
    for (i, v) in matrix.iter().enumerate() {
        data[offset + 4 * i..offset + 4 * i + 4].copy_from_slice(&v.to_be_bytes());
    }
    fs::write(path, data).unwrap();
}

/// Multiplies the duration the `mvhd` box declares (what ffprobe's format duration shows).
fn inflate_declared_duration(path: &Path, factor: u32) {
    let mut data = fs::read(path).unwrap();
    let at = data
        .windows(4)
        .position(|w| w == b"mvhd")
        .expect("an mvhd box");
    assert_eq!(data[at + 4], 0, "version 0 mvhd");
    let field = at + 4 + 4 + 4 + 4 + 4; // version/flags, creation, modification, timescale
    let d = u32::from_be_bytes(data[field..field + 4].try_into().unwrap());
    data[field..field + 4].copy_from_slice(&(d * factor).to_be_bytes());
    fs::write(path, data).unwrap();
}

#[test]
fn rotations_mirrors_and_mp4_layouts_that_work() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    // 4 s, 320x180, H.264 with B-frames, no audio: the base for the layouts and matrices
    let base = dir.join("base.mp4");
    ffmpeg(&[
        "-i",
        &s(&sample("chaplin.mp4")),
        "-t",
        "4",
        "-an",
        "-vf",
        "scale=320:180",
        "-c:v",
        "libx264",
        "-bf",
        "3",
        "-g",
        "30",
        "-threads",
        "1",
        &s(&base),
    ]);
    let one = 1 << 16;
    let w = 1 << 30;
    // (name, matrix, rotation, hflip, vflip); rotation has ffprobe's sign (counter-clockwise)
    let matrices: [(&str, [i32; 9], i64, bool, bool); 6] = [
        (
            "rot_cw90.mp4",
            [0, one, 0, -one, 0, 0, 0, 0, w],
            -90,
            false,
            false,
        ),
        (
            "rot_ccw90.mp4",
            [0, -one, 0, one, 0, 0, 0, 0, w],
            90,
            false,
            false,
        ),
        (
            "rot_180.mp4",
            [-one, 0, 0, 0, -one, 0, 0, 0, w],
            180,
            false,
            false,
        ),
        (
            "mirror_lr.mp4",
            [-one, 0, 0, 0, one, 0, 0, 0, w],
            0,
            true,
            false,
        ),
        (
            "mirror_tb.mp4",
            [one, 0, 0, 0, -one, 0, 0, 0, w],
            0,
            false,
            true,
        ),
        (
            "transposed.mp4",
            [0, one, 0, one, 0, 0, 0, 0, w],
            -90,
            true,
            false,
        ),
    ];
    for (name, matrix, rotation, hflip, vflip) in matrices {
        let clip = dir.join(name);
        fs::copy(&base, &clip).unwrap();
        set_track_matrix(&clip, matrix);
        let probe = ffprobe_video_stream(&clip);
        if !hflip && !vflip {
            // a plain rotation reads as ffprobe's own (which prints a half turn as -180)
            let r = if probe.rotation == -180 {
                180
            } else {
                probe.rotation
            };
            assert_eq!(
                r as i64, rotation,
                "{name}: ffprobe says {}",
                probe.rotation
            );
        }
        let expect = Expect {
            rotation,
            hflip,
            vflip,
        };
        check(&clip, &expect, dir);
    }
    // MP4 layouts
    let copy = |name: &str, extra: &[&str]| {
        let out = dir.join(name);
        let mut args = vec!["-i".to_string(), s(&base), "-c".into(), "copy".into()];
        args.extend(extra.iter().map(|a| a.to_string()));
        args.push(s(&out));
        ffmpeg(&args.iter().map(String::as_str).collect::<Vec<_>>());
        out
    };
    let fragmented = copy("fragmented.mp4", &["-movflags", "frag_keyframe+empty_moov"]);
    let moov_at_end = copy("moov_at_end.mp4", &[]);
    let faststart = copy("faststart.mp4", &["-movflags", "+faststart"]);
    let late_first = copy("first_frame_late.mp4", &["-use_editlist", "0"]);
    let lying = copy("lying_duration.mp4", &[]);
    inflate_declared_duration(&lying, 10);
    let mkv = copy("bframes.mkv", &[]);
    // the cases are real
    let data = fs::read(&moov_at_end).unwrap();
    let pos = |kind: &[u8]| data.windows(4).position(|w| w == kind).unwrap();
    assert!(pos(b"moov") > pos(b"mdat"), "moov at the end");
    let packets = ffprobe_packets(&base);
    assert!(
        packets.iter().any(|p| p.dts.is_some_and(|d| d < 0)),
        "negative DTS"
    );
    let late = decoded_timeline(&late_first);
    assert!(
        late.0[0].pts > 0,
        "first frame after 0 without an edit list"
    );
    for clip in [&base, &fragmented, &moov_at_end, &faststart, &mkv] {
        let rec = check(clip, &UPRIGHT, dir);
        assert_eq!(rec["derived"]["frames"].as_array().unwrap().len(), 4);
    }
    let rec = check(&lying, &UPRIGHT, dir);
    assert_eq!(rec["derived"]["frames"].as_array().unwrap().len(), 4);
    assert!(
        rec["derived"]["video"]["container_duration_ms"]
            .as_i64()
            .unwrap()
            > 30_000
    );
    assert_eq!(rec["derived"]["video"]["duration_ms"], 4_000);
    // the example: first frame at 67 ms, target 1000 names the frame shown at 1000 ms
    // of the displayed timeline, not a frame "after" it
    let rec = check(&late_first, &UPRIGHT, dir);
    assert!(rec["derived"]["video"]["start_ms"].as_i64().unwrap() > 0);
    assert_eq!(rec["derived"]["frames"][1]["pts_ms"], 1000);
    // VFR: the phone clip in samples/
    check(
        &sample("fire2.mp4"),
        &Expect {
            rotation: 180,
            ..UPRIGHT
        },
        dir,
    );
}
