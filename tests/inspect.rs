//! `reelframe inspect` against the bundled samples, checked against ffprobe.

mod common;

use common::*;
use serde_json::Value;
use std::path::Path;
use std::process::Output;

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

/// Runs `reelframe inspect VIDEO --json ARGS`, checks it succeeded, and parses its output.
fn inspect_json(video: &Path, args: &[&str]) -> Value {
    let mut all = vec![
        "inspect".to_string(),
        video.display().to_string(),
        "--json".to_string(),
    ];
    all.extend(args.iter().map(|a| a.to_string()));
    let o = run_reelframe(&all);
    assert_eq!(
        o.status.code(),
        Some(0),
        "inspect {all:?} failed: {}",
        stderr(&o)
    );
    serde_json::from_slice(&o.stdout)
        .unwrap_or_else(|e| panic!("inspect --json printed invalid JSON ({e}): {}", stdout(&o)))
}

fn targets(report: &Value) -> &Vec<Value> {
    report["targets"]
        .as_array()
        .unwrap_or_else(|| panic!("no targets in {report}"))
}

fn int(v: &Value) -> i64 {
    v.as_i64().unwrap_or_else(|| panic!("not an integer: {v}"))
}

/// Is `pts` inside the first `cap_ms` ms after `first` (exact)?
fn before_cap(pts: i64, first: i64, time_base: (i64, i64), cap_ms: i64) -> bool {
    ((pts - first) as i128) * time_base.0 as i128 * 1000 < cap_ms as i128 * time_base.1 as i128
}

/// Default sampling (1 fps, 60 s cap) and `--frames`: keyframe statistics match ffprobe's
/// packets, and every target is the frame ffprobe says is displayed at it.
#[test]
fn json_report_matches_ffprobe_packets_and_frames() {
    // (sample, extra flags, cap in ms, expected target count)
    let cases: [(&str, &[&str], i64, usize); 4] = [
        // 62 s clip: 1 fps under the 60 s cap gives t = 0..59
        ("long_62s.mp4", &[], 60_000, 60),
        // 10.04 s clip: t = 0..10
        ("smpte-2997.mp4", &[], 60_000, 11),
        ("smpte-2997.mp4", &["--frames", "5"], 60_000, 5),
        (
            "long_62s.mp4",
            &["--fps", "0.5", "--max-seconds", "30"],
            30_000,
            15,
        ),
    ];
    for (name, args, cap, count) in cases {
        let video = sample(name);
        let report = inspect_json(&video, args);
        let stream = ffprobe_video_stream(&video);
        let tb = stream.time_base;
        let packets = ffprobe_packets(&video);
        let frames = ffprobe_frames(&video);
        let first = frames.iter().map(|f| f.pts).min().unwrap();
        let what = format!("{name} {args:?}");

        assert_eq!(report["video"]["codec"], stream.codec.as_str(), "{what}");
        assert_eq!(report["video"]["width"], stream.width, "{what}");
        assert_eq!(report["video"]["height"], stream.height, "{what}");
        assert_eq!(report["stream"]["first_pts"], first, "{what}");
        assert_eq!(
            report["stream"]["time_base"],
            serde_json::json!([tb.0, tb.1]),
            "{what}"
        );

        // Keyframes inside the cap, and their spacing in presentation order.
        let mut keys: Vec<i64> = packets
            .iter()
            .filter(|p| p.key && before_cap(p.pts, first, tb, cap))
            .map(|p| p.pts)
            .collect();
        keys.sort();
        assert!(keys.len() >= 2, "{what}");
        assert_eq!(
            int(&report["stream"]["keyframes"]),
            keys.len() as i64,
            "{what}"
        );
        let max_gap = keys.windows(2).map(|w| w[1] - w[0]).max().unwrap();
        let interval = &report["stream"]["keyframe_interval"];
        assert_eq!(int(&interval["max_ms"]), pts_to_ms(max_gap, tb), "{what}");
        let mean_ms = (keys[keys.len() - 1] - keys[0]) as f64 * tb.0 as f64 * 1000.0
            / tb.1 as f64
            / (keys.len() - 1) as f64;
        assert!(
            (interval["mean_ms"].as_f64().unwrap() - mean_ms).abs() < 0.001,
            "{what}: {interval} vs mean {mean_ms}"
        );
        let position = |pts: i64| frames.iter().position(|f| f.pts == pts).unwrap();
        let max_frames = keys
            .windows(2)
            .map(|w| position(w[1]) - position(w[0]))
            .max()
            .unwrap();
        assert_eq!(int(&interval["max_frames"]), max_frames as i64, "{what}");

        // Packets inside the cap, and B-frame reordering in decode order.
        let in_cap = packets
            .iter()
            .filter(|p| before_cap(p.pts, first, tb, cap))
            .count();
        assert_eq!(int(&report["stream"]["packets"]), in_cap as i64, "{what}");
        assert_eq!(report["stream"]["reordered"], true, "{what}");

        // Targets: count, and the frame displayed at each.
        let got = targets(&report);
        assert_eq!(got.len(), count, "{what}");
        assert_eq!(
            int(&report["sampling"]["target_count"]),
            count as i64,
            "{what}"
        );
        let mut last_packet = 0;
        // Packets a target needs: from its keyframe (decode order) to itself, or from the
        // keyframe before that for an open-GOP leading picture (pts below its keyframe's).
        let mut needed = std::collections::BTreeSet::new();
        for (i, t) in got.iter().enumerate() {
            assert_eq!(int(&t["index"]), i as i64, "{what}");
            let target = int(&t["target_ms"]);
            let expected = frame_displayed_at(&frames, first, tb, target);
            assert_eq!(int(&t["pts"]), expected.pts, "{what}: target {target} ms");
            assert_eq!(
                int(&t["pts_ms"]),
                pts_to_ms(expected.pts - first, tb),
                "{what}: target {target} ms (from the first displayed frame)"
            );
            let packet = packets.iter().position(|p| p.pts == expected.pts).unwrap();
            assert_eq!(t["key"], packets[packet].key, "{what}: target {target} ms");
            last_packet = last_packet.max(packet);
            let mut key = (0..=packet).rev().find(|&k| packets[k].key).unwrap();
            if packets[packet].pts < packets[key].pts {
                key = (0..key).rev().find(|&k| packets[k].key).unwrap_or(key);
            }
            needed.extend(key..=packet);
        }
        assert_eq!(
            int(&report["sampling"]["last_packet"]),
            last_packet as i64,
            "{what}"
        );
        // The decoder is sent only the packets the targets need (GOP tails skipped).
        assert_eq!(
            int(&report["sampling"]["packets_to_decode"]),
            needed.len() as i64,
            "{what}"
        );
        assert!(needed.len() <= last_packet + 1, "{what}");
    }
}

#[test]
fn frames_mode_targets_are_slice_centres() {
    let report = inspect_json(&sample("smpte-2997.mp4"), &["--frames", "5"]);
    let ms: Vec<i64> = targets(&report)
        .iter()
        .map(|t| int(&t["target_ms"]))
        .collect();
    // the video stream lasts 10.04 s: slice centres at (2i+1) * 10.04 / 10 s
    assert_eq!(ms, vec![1004, 3012, 5020, 7028, 9036]);
    assert_eq!(report["sampling"]["mode"], "frames");
    assert_eq!(report["sampling"]["frames"], 5);
    assert_eq!(report["sampling"]["span_ms"], 10_040);
    assert_eq!(report["video"]["duration_ms"], 10_040);
}

#[test]
fn rotation_and_display_size() {
    // reelframe reports the rotation with ffprobe's sign (counter-clockwise): 90 for
    // rotated90.mp4; fire2.mp4's half turn, which ffprobe prints as -180, is 180.
    for (name, rotation) in [("rotated90.mp4", 90), ("fire2.mp4", 180)] {
        let video = sample(name);
        let stream = ffprobe_video_stream(&video);
        assert_eq!(stream.rotation.rem_euclid(360), rotation, "{name}: ffprobe");
        let report = inspect_json(&video, &[]);
        let v = &report["video"];
        assert_eq!(v["rotation"], rotation, "{name}");
        assert_eq!(
            (&v["hflip"], &v["vflip"]),
            (&Value::Bool(false), &Value::Bool(false))
        );
        assert_eq!(
            (v["width"].as_u64().unwrap(), v["height"].as_u64().unwrap()),
            (stream.width as u64, stream.height as u64),
            "{name}: coded size"
        );
        let (w, h) = stream.upright_size();
        assert_eq!(
            (
                v["display_width"].as_u64().unwrap(),
                v["display_height"].as_u64().unwrap()
            ),
            (w as u64, h as u64),
            "{name}: display size"
        );
    }
    // rotated90: 640x360 pixels shown as 360x640
    let v = &inspect_json(&sample("rotated90.mp4"), &[])["video"];
    assert_eq!(
        (v["width"].as_u64(), v["height"].as_u64()),
        (Some(640), Some(360))
    );
    assert_eq!(
        (v["display_width"].as_u64(), v["display_height"].as_u64()),
        (Some(360), Some(640))
    );
    // fire2 is H.264 Baseline: no B-frames, one keyframe, so no keyframe interval
    let fire = inspect_json(&sample("fire2.mp4"), &[]);
    assert_eq!(fire["stream"]["reordered"], false);
    assert_eq!(fire["stream"]["keyframes"], 1);
    assert_eq!(fire["stream"]["keyframe_interval"], Value::Null);
}

#[test]
fn keyframes_mode_lists_exactly_the_keyframes_in_the_cap() {
    for (name, cap) in [("long_62s.mp4", 60_000i64), ("smpte-2997.mp4", 4_000)] {
        let video = sample(name);
        let report = inspect_json(
            &video,
            &["--keyframes", "--max-seconds", &(cap / 1000).to_string()],
        );
        let tb = ffprobe_video_stream(&video).time_base;
        let packets = ffprobe_packets(&video);
        let first = packets.iter().map(|p| p.pts).min().unwrap();
        let mut expected: Vec<i64> = packets
            .iter()
            .filter(|p| p.key && before_cap(p.pts, first, tb, cap))
            .map(|p| pts_to_ms(p.pts - first, tb))
            .collect();
        expected.sort();
        assert!(!expected.is_empty(), "{name}");
        let got = targets(&report);
        let got_ms: Vec<i64> = got.iter().map(|t| int(&t["pts_ms"])).collect();
        assert_eq!(got_ms, expected, "{name}");
        assert!(got.iter().all(|t| t["key"] == true), "{name}");
        assert_eq!(report["sampling"]["mode"], "keyframes", "{name}");
        assert_eq!(
            int(&report["stream"]["keyframes"]),
            expected.len() as i64,
            "{name}"
        );
        // Only keyframes are sent: one packet per target.
        assert_eq!(
            int(&report["sampling"]["packets_to_decode"]),
            expected.len() as i64,
            "{name}"
        );
    }
}

#[test]
fn text_mode_names_the_codec_and_the_target_count() {
    // HEVC, 6.000 s: 1 fps gives targets at 0..5 s.
    let video = sample("hevc_portrait.mp4");
    let o = run_reelframe([
        "inspect".as_ref(),
        video.as_os_str(),
        "--max-seconds".as_ref(),
        "60".as_ref(),
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let text = stdout(&o);
    let field = |name: &str| {
        text.lines()
            .find_map(|l| {
                l.strip_prefix(name)
                    .filter(|rest| rest.starts_with(' '))
                    .map(|rest| rest.trim().to_string())
            })
            .unwrap_or_else(|| panic!("no {name:?} line in:\n{text}"))
    };
    assert!(field("codec").starts_with("hevc"), "{text}");
    assert_eq!(field("targets"), "6", "{text}");
    assert!(field("size").starts_with("360x640"), "{text}");
    // The table: a header, then one row per target.
    let header = text
        .lines()
        .position(|l| l.trim_start().starts_with("index"))
        .unwrap_or_else(|| panic!("no table in:\n{text}"));
    let rows: Vec<&str> = text.lines().skip(header + 1).collect();
    assert_eq!(rows.len(), 6, "{text}");
    assert!(rows[0].trim_start().starts_with("0 "), "{text}");
    assert!(rows[5].trim_start().starts_with("5 "), "{text}");
}

#[test]
fn file_urls_are_inspected_like_paths() {
    let video = sample("rotated90.mp4");
    let by_path = inspect_json(&video, &[]);
    let url = format!("file://{}", video.display());
    let o = run_reelframe(["inspect", url.as_str(), "--json"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let by_url: Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(by_url["video"], by_path["video"]);
    assert_eq!(by_url["targets"], by_path["targets"]);
}

/// Deterministic bytes that are no container (a fixed xorshift sequence).
fn random_bytes(n: usize) -> Vec<u8> {
    let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
    (0..n)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            (x >> 24) as u8
        })
        .collect()
}

fn assert_fails(args: &[&str], code: i32, kind: &str) {
    let o = run_reelframe(args);
    let err = stderr(&o);
    assert_eq!(o.status.code(), Some(code), "{args:?}: {err}");
    assert!(
        err.starts_with(&format!("reelframe: {kind}")),
        "{args:?}: expected {kind}, got: {err}"
    );
    assert!(o.stdout.is_empty(), "{args:?} printed: {}", stdout(&o));
}

#[test]
fn broken_and_missing_inputs_exit_1_with_their_error_kind() {
    let tmp = tempfile::tempdir().unwrap();
    let empty = tmp.path().join("empty.mp4");
    std::fs::write(&empty, b"").unwrap();
    let noise = tmp.path().join("noise.mp4");
    std::fs::write(&noise, random_bytes(1000)).unwrap();
    let missing = tmp.path().join("missing.mp4");
    let (empty, noise, missing) = (
        empty.display().to_string(),
        noise.display().to_string(),
        missing.display().to_string(),
    );
    for json in [false, true] {
        let with = |p: &str| {
            let mut v = vec!["inspect".to_string(), p.to_string()];
            if json {
                v.push("--json".into());
            }
            v
        };
        for (path, kind) in [
            (&empty, "empty_file"),
            (&noise, "unreadable"),
            (&missing, "not_found"),
        ] {
            let args = with(path);
            let args: Vec<&str> = args.iter().map(String::as_str).collect();
            assert_fails(&args, 1, &format!("{kind}: "));
        }
    }
    let missing_url = format!("file://{missing}");
    assert_fails(&["inspect", &missing_url], 1, "not_found: ");
    // Remote videos are a usage error with a sentence saying what to do; unknown schemes fail
    // as they do in extract.
    assert_fails(
        &["inspect", "https://example.com/v.mp4"],
        2,
        "error: inspect reads local files only: download https://example.com/v.mp4 first",
    );
    assert_fails(
        &["inspect", "ftp://example.com/v.mp4"],
        1,
        "unsupported_scheme: ",
    );
}

#[test]
fn bad_sampling_flags_are_usage_errors() {
    let video = sample("fire2.mp4").display().to_string();
    for args in [
        vec!["inspect", video.as_str(), "--fps", "0"],
        vec!["inspect", video.as_str(), "--frames", "0"],
        vec!["inspect", video.as_str(), "--max-seconds", "-1"],
        vec!["inspect", video.as_str(), "--fps", "1", "--keyframes"],
    ] {
        let o = run_reelframe(&args);
        assert_eq!(o.status.code(), Some(2), "{args:?}: {}", stderr(&o));
        assert!(o.stdout.is_empty(), "{args:?}");
    }
}
