//! `reelframe extract` against real videos, checked against ffprobe and the ffmpeg CLI.

mod common;

use common::*;
use serde_json::{json, Value};
use std::collections::HashMap;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Output;

/// Runs `reelframe extract ARGS -o OUT` and returns the output and the records by content ID.
fn extract(out: &Path, args: &[&str]) -> (Output, HashMap<String, Value>) {
    let mut all: Vec<String> = vec!["extract".into(), "-o".into(), out.display().to_string()];
    all.extend(args.iter().map(|a| a.to_string()));
    let output = run_reelframe(&all);
    let records_path = out.join("records.jsonl");
    let records = if records_path.exists() {
        read_jsonl(&records_path)
    } else {
        Vec::new()
    };
    let mut by_id = HashMap::new();
    for r in records {
        let id = r["content_id"].as_str().unwrap_or("<none>").to_string();
        assert!(
            by_id.insert(id.clone(), r).is_none(),
            "two records for {id}"
        );
    }
    (output, by_id)
}

fn frames(record: &Value) -> &Vec<Value> {
    record["derived"]["frames"]
        .as_array()
        .unwrap_or_else(|| panic!("no frames in {record}"))
}

/// Checks every frame of `record` is the frame ffprobe says is displayed at its target.
fn assert_frames_are_displayed_at_targets(video: &Path, record: &Value) {
    let stream = ffprobe_video_stream(video);
    let probe = ffprobe_frames(video);
    let first = probe.iter().map(|f| f.pts).min().unwrap();
    for f in frames(record) {
        let target = f["target_ms"].as_i64().unwrap();
        let expected = frame_displayed_at(&probe, first, stream.time_base, target);
        assert_eq!(
            f["stream_pts"].as_i64().unwrap(),
            expected.pts,
            "{}: frame {} for target {target} ms",
            video.display(),
            f["index"]
        );
        // pts_ms is on the target's timeline (from the first displayed frame), stream_pts_ms
        // on the stream clock
        assert_eq!(
            f["pts_ms"].as_i64().unwrap(),
            pts_to_ms(expected.pts - first, stream.time_base),
            "{}: frame {}",
            video.display(),
            f["index"]
        );
        assert_eq!(
            f["stream_pts_ms"].as_i64().unwrap(),
            pts_to_ms(expected.pts, stream.time_base)
        );
    }
}

#[test]
fn default_sampling_takes_one_frame_per_second_below_duration_and_cap() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("out");
    let (o, recs) = extract(
        &out,
        &[
            &s(&sample("smpte-2997.mp4")),
            &s(&sample("long_62s.mp4")),
            &s(&sample("chaplin.mp4")),
        ],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    // 10.04 s of video: t = 0..10 → 11 frames; 62 s capped at 60 → 60; 9.64 s → 10.
    assert_eq!(frames(&recs["smpte-2997"]).len(), 11);
    assert_eq!(frames(&recs["long_62s"]).len(), 60);
    assert_eq!(frames(&recs["chaplin"]).len(), 10);
    let targets: Vec<i64> = frames(&recs["long_62s"])
        .iter()
        .map(|f| f["target_ms"].as_i64().unwrap())
        .collect();
    assert_eq!(targets, (0..60).map(|k| k * 1000).collect::<Vec<_>>());
    assert_eq!(
        count_files_with_ext(&out.join("tiktok/long_62s"), "jpg"),
        62,
        "60 frames + thumbnail + contact sheet"
    );
    assert_frames_are_displayed_at_targets(&sample("long_62s.mp4"), &recs["long_62s"]);

    let (o, recs) = extract(
        &tmp.path().join("nocap"),
        &["--max-seconds", "0", &s(&sample("long_62s.mp4"))],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(frames(&recs["long_62s"]).len(), 62);

    let (o, recs) = extract(
        &tmp.path().join("half"),
        &[
            "--fps",
            "0.5",
            "--max-seconds",
            "7",
            &s(&sample("smpte-2997.mp4")),
        ],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let targets: Vec<i64> = frames(&recs["smpte-2997"])
        .iter()
        .map(|f| f["target_ms"].as_i64().unwrap())
        .collect();
    assert_eq!(targets, vec![0, 2000, 4000, 6000]);
}

#[test]
fn frames_mode_takes_centres_of_equal_slices() {
    let tmp = tempfile::tempdir().unwrap();
    let video = sample("smpte-2997.mp4");
    let (o, recs) = extract(tmp.path(), &["--frames", "5", &s(&video)]);
    assert!(o.status.success(), "{}", stderr(&o));
    let rec = &recs["smpte-2997"];
    let targets: Vec<i64> = frames(rec)
        .iter()
        .map(|f| f["target_ms"].as_i64().unwrap())
        .collect();
    // the video stream lasts 10.04 s: slice centres at (2i+1) * 10.04 / 10 s
    assert_eq!(targets, vec![1004, 3012, 5020, 7028, 9036]);
    assert_frames_are_displayed_at_targets(&video, rec);
}

#[test]
fn keyframes_mode_yields_exactly_the_keyframes_ffprobe_reports_in_the_cap() {
    let tmp = tempfile::tempdir().unwrap();
    for (name, cap) in [("long_62s.mp4", 60_000i64), ("smpte-2997.mp4", 4_000)] {
        let video = sample(name);
        let out = tmp.path().join(name);
        let (o, recs) = extract(
            &out,
            &[
                "--keyframes",
                "--max-seconds",
                &(cap / 1000).to_string(),
                &s(&video),
            ],
        );
        assert!(o.status.success(), "{}", stderr(&o));
        let stream = ffprobe_video_stream(&video);
        let mut expected: Vec<i64> = ffprobe_packets(&video)
            .iter()
            .filter(|p| p.key && pts_to_ms(p.pts, stream.time_base) < cap)
            .map(|p| pts_to_ms(p.pts, stream.time_base))
            .collect();
        expected.sort();
        let stem = name.rsplit_once('.').unwrap().0;
        let got: Vec<i64> = frames(&recs[stem])
            .iter()
            .map(|f| f["stream_pts_ms"].as_i64().unwrap())
            .collect();
        assert!(!expected.is_empty());
        assert_eq!(got, expected, "{name}");
    }
}

/// For every bundled sample: every frame is the one displayed at its target (per ffprobe), and
/// the first, middle and last JPEGs match the ffmpeg CLI's upright decode of the same frame.
#[test]
fn every_sample_frame_matches_ffprobe_timing_and_ffmpeg_pixels() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("out");
    let (o, recs) = extract(&out, &[&s(&samples_dir())]);
    assert!(o.status.success(), "{}", stderr(&o));
    let mut videos: Vec<PathBuf> = fs::read_dir(samples_dir())
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| matches!(p.extension().and_then(|e| e.to_str()), Some("mp4" | "webm")))
        .collect();
    videos.sort();
    assert!(videos.len() >= 8, "samples missing: {videos:?}");
    assert_eq!(recs.len(), videos.len());
    let validator = schema_validator();
    for video in &videos {
        let stem = video.file_stem().unwrap().to_str().unwrap();
        let rec = &recs[stem];
        assert_eq!(rec["status"], "ok", "{rec}");
        assert_eq!(rec["content_type"], "VIDEO");
        assert_valid(&validator, rec);
        assert_frames_are_displayed_at_targets(video, rec);
        let fs_ = frames(rec);
        for f in [&fs_[0], &fs_[fs_.len() / 2], &fs_[fs_.len() - 1]] {
            let ours = load_rgb(Path::new(f["uri"].as_str().unwrap()));
            let pts = f["stream_pts"].as_i64().unwrap();
            let reference = ffmpeg_reference_rgb(video, pts, tmp.path());
            assert_eq!(
                ours.dimensions(),
                reference.dimensions(),
                "{stem} frame {}",
                f["index"]
            );
            let db = psnr(&ours, &reference);
            assert!(
                db >= 35.0,
                "{stem} frame {}: PSNR {db:.1} dB against ffmpeg",
                f["index"]
            );
        }
        // the thumbnail is a small JPEG made from one of the frames
        let thumb = &rec["thumbnail"];
        let img = load_rgb(Path::new(thumb["uri"].as_str().unwrap()));
        assert!(
            img.width().max(img.height()) <= 320,
            "{stem}: thumbnail {:?}",
            img.dimensions()
        );
        assert!((thumb["frame_index"].as_u64().unwrap() as usize) < fs_.len());
        let bytes = fs::read(thumb["uri"].as_str().unwrap()).unwrap();
        assert_eq!(thumb["blake3"], blake3_hex(&bytes));
        assert_eq!(thumb["bytes"], bytes.len());
        let frame0 = fs::read(fs_[0]["uri"].as_str().unwrap()).unwrap();
        assert_eq!(fs_[0]["blake3"], blake3_hex(&frame0));
    }
}

fn blake3_hex(bytes: &[u8]) -> String {
    blake3::hash(bytes).to_hex().to_string()
}

#[test]
fn rotated_clips_come_out_upright_with_swapped_dimensions() {
    let tmp = tempfile::tempdir().unwrap();
    let rotated = sample("rotated90.mp4");
    let fire = sample("fire2.mp4");
    let (o, recs) = extract(tmp.path(), &[&s(&rotated), &s(&fire)]);
    assert!(o.status.success(), "{}", stderr(&o));
    let rec = &recs["rotated90"];
    assert_eq!(
        (
            rec["derived"]["video"]["width"].as_u64(),
            rec["derived"]["video"]["height"].as_u64()
        ),
        (Some(640), Some(360))
    );
    // ffprobe's sign: the clip's display matrix says 90 (counter-clockwise), and no mirror
    assert_eq!(ffprobe_video_stream(&rotated).rotation, 90);
    assert_eq!(rec["derived"]["video"]["rotation"], 90);
    assert_eq!(rec["derived"]["video"]["hflip"], false);
    assert_eq!(rec["derived"]["video"]["vflip"], false);
    for f in frames(rec) {
        assert_eq!(
            (f["width"].as_u64(), f["height"].as_u64()),
            (Some(360), Some(640))
        );
    }
    assert_eq!(recs["fire2"]["derived"]["video"]["rotation"], 180);
    assert_eq!(recs["fire2"]["derived"]["video"]["hflip"], false);
    // Pixels: ours equals ffmpeg's autorotated picture, and differs from the stored (unturned) one.
    let f = &frames(&recs["fire2"])[1];
    let ours = load_rgb(Path::new(f["uri"].as_str().unwrap()));
    let pts = f["stream_pts"].as_i64().unwrap();
    let upright = ffmpeg_reference_rgb(&fire, pts, tmp.path());
    assert!(psnr(&ours, &upright) >= 35.0);
    let stored = tmp.path().join("stored.png");
    ffmpeg(&[
        "-noautorotate",
        "-copyts",
        "-i",
        &s(&fire),
        "-vf",
        &format!("select='eq(pts\\,{pts})'"),
        "-frames:v",
        "1",
        "-pix_fmt",
        "rgb24",
        &s(&stored),
    ]);
    let db = psnr(&ours, &load_rgb(&stored));
    assert!(
        db < 20.0,
        "the frame was not turned: PSNR {db:.1} dB against the stored picture"
    );
}

/// Converts limited-range Y'CbCr to full-range RGB with luma coefficients (kr, kb).
fn ycbcr_to_rgb(y: f64, cb: f64, cr: f64, kr: f64, kb: f64) -> [f64; 3] {
    let (y, u, v) = (
        (y - 16.0) * 255.0 / 219.0,
        (cb - 128.0) * 255.0 / 224.0,
        (cr - 128.0) * 255.0 / 224.0,
    );
    let r = y + 2.0 * (1.0 - kr) * v;
    let b = y + 2.0 * (1.0 - kb) * u;
    let g = (y - kr * r - kb * b) / (1.0 - kr - kb);
    [r, g, b].map(|c| c.clamp(0.0, 255.0))
}

#[test]
fn colour_bars_come_out_full_range_with_the_bt709_matrix() {
    let tmp = tempfile::tempdir().unwrap();
    let video = sample("smpte-2997.mp4");
    let (o, recs) = extract(tmp.path(), &["--max-seconds", "1", &s(&video)]);
    assert!(o.status.success(), "{}", stderr(&o));
    let img = load_rgb(Path::new(
        frames(&recs["smpte-2997"])[0]["uri"].as_str().unwrap(),
    ));
    // The source's own Y'CbCr samples of the first frame, from the ffmpeg CLI.
    let raw = tmp.path().join("f.yuv");
    ffmpeg(&[
        "-i",
        &s(&video),
        "-frames:v",
        "1",
        "-f",
        "rawvideo",
        "-pix_fmt",
        "yuv444p",
        &s(&raw),
    ]);
    let yuv = fs::read(&raw).unwrap();
    let (w, h) = (1920usize, 1080usize);
    assert_eq!(yuv.len(), w * h * 3);
    // Seven 75% bars between x = 1/8 and 7/8 of the width, in the top half of the picture.
    let bar = 0.75 / 7.0;
    let mut matrix_matters = false;
    for i in 0..7 {
        let (cx, cy) = (0.125 + (i as f64 + 0.5) * bar, 0.2);
        let at = |plane: usize| {
            yuv[plane * w * h + (cy * h as f64) as usize * w + (cx * w as f64) as usize] as f64
        };
        let bt709 = ycbcr_to_rgb(at(0), at(1), at(2), 0.2126, 0.0722);
        let bt601 = ycbcr_to_rgb(at(0), at(1), at(2), 0.299, 0.114);
        let got = region_mean_rgb(&img, cx - 0.01, cy - 0.02, cx + 0.01, cy + 0.02);
        for c in 0..3 {
            assert!(
                (got[c] - bt709[c]).abs() <= 6.0,
                "bar {i}: got {got:?}, BT.709 says {bt709:?}"
            );
        }
        matrix_matters |= (0..3).any(|c| (bt601[c] - bt709[c]).abs() > 12.0);
    }
    assert!(matrix_matters, "the test must tell BT.601 from BT.709");
    // the pillarbox is black, not the grey of a limited range left unexpanded
    let black = region_mean_rgb(&img, 0.02, 0.1, 0.1, 0.3);
    assert!(black.iter().all(|&v| v < 6.0), "black margin is {black:?}");
}

#[test]
fn broken_inputs_get_error_records_and_the_rest_succeeds() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("in");
    let broken = make_broken(&dir);
    assert_eq!(broken.len(), 6, "{broken:?}");
    fs::copy(sample("chaplin.mp4"), dir.join("good.mp4")).unwrap();
    let (o, recs) = extract(&tmp.path().join("out"), &[&s(&dir)]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    let want = [
        ("empty", "empty_file"),
        ("truncated_40pct", "unreadable"),
        ("no_moov", "unreadable"),
        ("jpeg_named", "not_video"),
        ("garbage_middle", "corrupt_data"),
        ("random_bytes", "unreadable"),
    ];
    assert_eq!(recs.len(), want.len() + 1);
    let validator = schema_validator();
    for (id, kind) in want {
        let rec = &recs[id];
        assert_eq!(rec["status"], "failed", "{id}: {rec}");
        assert_eq!(rec["error"]["kind"], kind, "{id}: {rec}");
        assert!(
            rec["error"]["message"].as_str().unwrap().len() > 10,
            "{id}: {rec}"
        );
        assert_valid(&validator, rec);
    }
    assert_eq!(recs["good"]["status"], "ok");
    assert!(stderr(&o).contains("1 done, 6 failed"), "{}", stderr(&o));
}

#[test]
fn jsonl_rows_pass_fields_through_and_bad_rows_get_error_records() {
    let tmp = tempfile::tempdir().unwrap();
    let chaplin = s(&sample("chaplin.mp4"));
    let rows = [
        json!({"content_id": "7201234567890123456", "video_url": chaplin, "meta": {"a": [1, 2.5, null]}, "score": 0.25}),
        json!({"content_id": 7201234567890123457u64, "video_url": s(&sample("fire2.mp4"))}),
        json!({"content_id": "../../escape", "video_url": chaplin}),
        json!({"content_id": "missing", "video_url": "/nonexistent/video.mp4"}),
        json!({"content_id": "ftp", "video_url": "ftp://example.invalid/v.mp4"}),
        json!({"content_id": "no-url"}),
        json!({"content_id": "7201234567890123456", "video_url": chaplin, "dup": true}),
    ];
    let mut text: String = rows.iter().map(|r| format!("{r}\n")).collect();
    text.push_str("{not json\n\n");
    let list = tmp.path().join("items.jsonl");
    fs::write(&list, text).unwrap();
    let out = tmp.path().join("out");
    let o = run_reelframe(["extract", "--input", &s(&list), "-o", &s(&out)]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    let records = read_jsonl(&out.join("records.jsonl"));
    // 8 rows, 8 records: the repeated ID is processed once, its repeat says so
    assert_eq!(records.len(), 8, "{records:#?}");
    let by_id = |id: &str| {
        records
            .iter()
            .find(|r| r["content_id"] == id && r["status"] != "duplicate")
            .unwrap_or_else(|| panic!("no {id}"))
    };
    let repeat = records
        .iter()
        .find(|r| r["status"] == "duplicate")
        .expect("a record for the repeated row");
    assert_eq!(repeat["content_id"], "7201234567890123456");
    assert_eq!(repeat["dup"], true, "the repeat's own fields pass through");
    let why = repeat["error"]["message"].as_str().unwrap();
    assert!(
        why.contains("items.jsonl:1") && why.contains("items.jsonl:7"),
        "{why}"
    );
    let first = by_id("7201234567890123456");
    assert_eq!(first["meta"], json!({"a": [1, 2.5, null]}));
    assert_eq!(first["score"], 0.25);
    assert!(
        first.get("dup").is_none(),
        "the first occurrence is the one processed"
    );
    assert_eq!(by_id("7201234567890123457")["status"], "ok");
    let escape = by_id("../../escape");
    assert_eq!(escape["status"], "ok");
    for f in frames(escape) {
        let path = fs::canonicalize(f["uri"].as_str().unwrap()).unwrap();
        assert!(
            path.starts_with(fs::canonicalize(&out).unwrap()),
            "{path:?} escaped the output"
        );
        assert!(f["key"]
            .as_str()
            .unwrap()
            .starts_with("tiktok/%2E%2E%2F%2E%2E%2Fescape/"));
    }
    assert_eq!(by_id("missing")["error"]["kind"], "not_found");
    assert_eq!(by_id("ftp")["error"]["kind"], "unsupported_scheme");
    assert_eq!(by_id("no-url")["error"]["kind"], "invalid_input");
    let bad_json = records
        .iter()
        .find(|r| r.get("content_id").is_none())
        .expect("a record for the bad line");
    assert_eq!(bad_json["error"]["kind"], "invalid_input");
    assert_eq!(bad_json["input"], format!("{}:8", list.display()));
    let validator = schema_validator();
    for r in &records {
        assert_valid(&validator, r);
    }
    assert!(stderr(&o).contains("1 duplicate"), "{}", stderr(&o));
}

fn mtimes(dir: &Path) -> Vec<(PathBuf, std::time::SystemTime)> {
    let mut out = Vec::new();
    for entry in fs::read_dir(dir).unwrap() {
        let p = entry.unwrap().path();
        if p.is_dir() {
            out.extend(mtimes(&p));
        } else {
            out.push((p.clone(), fs::metadata(&p).unwrap().modified().unwrap()));
        }
    }
    out.sort();
    out
}

#[test]
fn rerun_skips_completed_items_and_changes_nothing() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("out");
    let args = [s(&sample("chaplin.mp4")), s(&sample("fire2.mp4"))];
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let (o, _) = extract(&out, &args);
    assert!(o.status.success(), "{}", stderr(&o));
    let before = fs::read(out.join("records.jsonl")).unwrap();
    let files_before = mtimes(&out.join("tiktok"));
    let (o, _) = extract(&out, &args);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("0 done, 0 failed, 2 already done"),
        "{}",
        stderr(&o)
    );
    assert_eq!(fs::read(out.join("records.jsonl")).unwrap(), before);
    assert_eq!(
        mtimes(&out.join("tiktok")),
        files_before,
        "a rerun rewrote frames"
    );
    // other sampling parameters redo the items, replacing their records
    let mut more = args.clone();
    more.extend(["--frames", "2"]);
    let (o, recs) = extract(&out, &more);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(recs.len(), 2);
    assert!(recs.values().all(|r| frames(r).len() == 2));
    // --force redoes everything
    let (o, recs) = extract(&out, &[args[0], args[1], "--frames", "2", "--force"]);
    assert!(
        stderr(&o).contains("2 done, 0 failed, 0 already done"),
        "{}",
        stderr(&o)
    );
    assert_eq!(recs.len(), 2);
}

#[test]
fn rerun_retries_failed_items_and_keeps_one_record_per_id() {
    let tmp = tempfile::tempdir().unwrap();
    let late = tmp.path().join("late.mp4");
    let list = tmp.path().join("items.jsonl");
    write_jsonl(
        &list,
        &[
            json!({"content_id": "a", "video_url": s(&sample("chaplin.mp4"))}),
            json!({"content_id": "late", "video_url": s(&late)}),
        ],
    );
    let out = tmp.path().join("out");
    let (o, recs) = extract(&out, &["--input", &s(&list)]);
    assert_eq!(o.status.code(), Some(1));
    assert_eq!(recs["late"]["error"]["kind"], "not_found");
    fs::copy(sample("fire2.mp4"), &late).unwrap();
    let (o, recs) = extract(&out, &["--input", &s(&list)]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert_eq!(recs.len(), 2);
    assert_eq!(recs["late"]["status"], "ok");
    assert!(
        stderr(&o).contains("1 done, 0 failed, 1 already done"),
        "{}",
        stderr(&o)
    );
}

#[test]
fn a_killed_run_resumes_with_exactly_one_record_per_input() {
    let tmp = tempfile::tempdir().unwrap();
    let list = tmp.path().join("items.jsonl");
    let videos = [
        "smpte-2997.mp4",
        "portrait_h264_aac.mp4",
        "chaplin.mp4",
        "hevc_portrait.mp4",
    ];
    let n = 16;
    let text: String = (0..n)
        .map(|i| {
            format!(
                "{}\n",
                json!({"content_id": format!("item{i:02}"), "video_url": s(&sample(videos[i % 4]))})
            )
        })
        .collect();
    fs::write(&list, text).unwrap();
    let out = tmp.path().join("out");
    let records = out.join("records.jsonl");
    let mut child = reelframe_command()
        .args([
            "extract",
            "--jobs",
            "1",
            "--input",
            &s(&list),
            "-o",
            &s(&out),
        ])
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    // wait until some, but not all, records are written, then SIGKILL
    let started = std::time::Instant::now();
    loop {
        let lines = fs::read_to_string(&records)
            .map(|t| t.lines().count())
            .unwrap_or(0);
        if lines >= 3 {
            break;
        }
        assert!(started.elapsed().as_secs() < 120, "no progress");
        assert!(
            child.try_wait().unwrap().is_none(),
            "finished before it could be killed"
        );
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    child.kill().unwrap();
    child.wait().unwrap();
    let partial = fs::read_to_string(&records).unwrap().lines().count();
    assert!(
        partial < n,
        "the run finished before the kill ({partial} records)"
    );
    let (o, recs) = extract(&out, &["--input", &s(&list)]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(recs.len(), n);
    for (id, r) in &recs {
        assert_eq!(r["status"], "ok", "{id}");
        for f in frames(r).iter().chain([&r["thumbnail"]]) {
            let img =
                image::open(f["uri"].as_str().unwrap()).unwrap_or_else(|e| panic!("{id}: {e}"));
            assert_eq!(img.width() as u64, f["width"].as_u64().unwrap());
        }
    }
    // no temporary files left behind by the rerun's compaction
    assert!(fs::read_dir(&out).unwrap().all(|e| !e
        .unwrap()
        .file_name()
        .to_string_lossy()
        .ends_with(".tmp")));
}

#[test]
fn scaling_keeps_aspect_and_quality_changes_size() {
    let tmp = tempfile::tempdir().unwrap();
    let video = s(&sample("portrait_h264_aac.mp4"));
    // The record of frame 1 (t = 1 s) of the 540x960 portrait sample under `flags`.
    let frame_with = |dir: &str, flags: &[&str]| -> Value {
        let mut args = flags.to_vec();
        args.extend(["--max-seconds", "2", &video]);
        let (o, recs) = extract(&tmp.path().join(dir), &args);
        assert!(o.status.success(), "{flags:?}: {}", stderr(&o));
        frames(&recs["portrait_h264_aac"])[1].clone()
    };
    let size = |f: &Value| (f["width"].as_u64().unwrap(), f["height"].as_u64().unwrap());
    assert_eq!(size(&frame_with("a", &["--max-side", "320"])), (180, 320));
    assert_eq!(size(&frame_with("b", &["--width", "270"])), (270, 480));
    let low = frame_with("c", &["--quality", "30"])["bytes"]
        .as_u64()
        .unwrap();
    let high = frame_with("d", &["--quality", "95"])["bytes"]
        .as_u64()
        .unwrap();
    assert!(low * 2 < high, "{low} vs {high}");
}

#[test]
fn usage_errors_exit_2_and_version_names_ffmpeg() {
    let o = run_reelframe(["extract"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("nothing to do"));
    let o = run_reelframe(["extract", "--fps", "0", "x.mp4"]);
    assert_eq!(o.status.code(), Some(2));
    let o = run_reelframe(["extract", "--fps", "1", "--keyframes", "x.mp4"]);
    assert_eq!(o.status.code(), Some(2));
    let o = run_reelframe(["--version"]);
    let v = String::from_utf8_lossy(&o.stdout);
    assert!(
        v.contains("built against FFmpeg") && v.contains("libavcodec"),
        "{v}"
    );
}

#[test]
fn records_to_stdout() {
    let tmp = tempfile::tempdir().unwrap();
    let o = run_reelframe([
        "extract",
        "--records",
        "-",
        "--max-seconds",
        "1",
        "-o",
        &s(tmp.path()),
        &s(&sample("chaplin.mp4")),
    ]);
    assert!(o.status.success());
    let text = String::from_utf8(o.stdout).unwrap();
    let rec: Value = serde_json::from_str(text.trim()).unwrap();
    assert_eq!(rec["content_id"], "chaplin");
    assert_eq!(frames(&rec).len(), 1);
}

/// The README's second set-up command is the one CI runs.
#[test]
fn readme_test_command_is_what_ci_runs() {
    let readme = fs::read_to_string(repo_dir().join("README.md")).unwrap();
    let block = readme
        .split("```")
        .nth(1)
        .expect("a code block in the README");
    let commands: Vec<&str> = block
        .lines()
        .skip(1)
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .collect();
    assert_eq!(
        commands.len(),
        2,
        "the README starts with exactly two commands: {commands:?}"
    );
    let ci = fs::read_to_string(repo_dir().join(".ci/run")).unwrap();
    let last = ci
        .lines()
        .map(str::trim)
        .rfind(|l| !l.is_empty() && !l.starts_with('#'))
        .unwrap();
    assert_eq!(commands[1], last);
    assert!(commands[0].contains("extract") && commands[0].contains("samples"));
}

#[test]
fn limits_and_non_video_media_fail_with_their_own_kinds() {
    let tmp = tempfile::tempdir().unwrap();
    let audio = tmp.path().join("audio_only.mp4");
    ffmpeg(&[
        "-f",
        "lavfi",
        "-i",
        "sine=duration=2",
        "-c:a",
        "aac",
        &s(&audio),
    ]);
    let (o, recs) = extract(
        &tmp.path().join("a"),
        &[&s(&audio), &s(&sample("chaplin.mp4"))],
    );
    assert_eq!(o.status.code(), Some(1));
    assert_eq!(recs["audio_only"]["error"]["kind"], "not_video");
    assert_eq!(recs["chaplin"]["status"], "ok");

    // fire2.mp4 is 1.7 MB, chaplin.mp4 0.76 MB
    let (o, recs) = extract(
        &tmp.path().join("b"),
        &[
            "--max-bytes",
            "1M",
            &s(&sample("fire2.mp4")),
            &s(&sample("chaplin.mp4")),
        ],
    );
    assert_eq!(o.status.code(), Some(1));
    assert_eq!(recs["fire2"]["error"]["kind"], "too_large");
    assert!(recs["fire2"]["error"]["message"]
        .as_str()
        .unwrap()
        .contains("--max-bytes"));
    assert_eq!(recs["chaplin"]["status"], "ok");

    let (o, recs) = extract(
        &tmp.path().join("c"),
        &["--item-timeout", "1ms", &s(&sample("chaplin.mp4"))],
    );
    assert_eq!(o.status.code(), Some(1));
    assert_eq!(
        recs["chaplin"]["error"]["kind"], "timeout",
        "{}",
        recs["chaplin"]
    );
}

#[test]
fn csv_of_quoted_ids_with_a_url_template() {
    let tmp = tempfile::tempdir().unwrap();
    let videos = tmp.path().join("videos");
    fs::create_dir(&videos).unwrap();
    fs::copy(
        sample("chaplin.mp4"),
        videos.join("7201234567890123456.mp4"),
    )
    .unwrap();
    fs::copy(sample("fire2.mp4"), videos.join("7201234567890123457.mp4")).unwrap();
    let csv = tmp.path().join("ids.csv");
    // a BOM, CRLF, one ID in literal single quotes, one in literal double quotes, one bad row
    fs::write(
        &csv,
        "\u{feff}content_id,metadata_fetch_status\r\n'7201234567890123456',200\r\n\"\"\"7201234567890123457\"\"\",200\r\n'',404\r\n",
    )
    .unwrap();
    let template = format!("{}/{{content_id}}.mp4", videos.display());
    let (o, recs) = extract(
        &tmp.path().join("out"),
        &[
            "--input",
            &s(&csv),
            "--video-url-template",
            &template,
            "--max-seconds",
            "2",
        ],
    );
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert_eq!(recs.len(), 3, "{recs:#?}");
    let a = &recs["7201234567890123456"];
    assert_eq!(a["status"], "ok");
    assert_eq!(a["metadata_fetch_status"], "200");
    assert_eq!(
        a["video_url"],
        format!("{}/7201234567890123456.mp4", videos.display())
    );
    assert_eq!(recs["7201234567890123457"]["status"], "ok");
    let bad = &recs[""];
    assert_eq!(bad["error"]["kind"], "invalid_input");
    assert_eq!(bad["input"], format!("{}:4", csv.display()));
}

#[test]
fn avro_records_read_back_with_apache_avro_and_fastavro() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("out");
    let list = tmp.path().join("items.jsonl");
    write_jsonl(
        &list,
        &[
            json!({"content_id": "7201234567890123456", "video_url": s(&sample("chaplin.mp4")), "score": 0.5}),
            json!({"content_id": "gone", "video_url": "/nonexistent.mp4"}),
        ],
    );
    let (o, recs) = extract(
        &out,
        &[
            "--input",
            &s(&list),
            "--records-format",
            "avro",
            "--max-seconds",
            "3",
        ],
    );
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    let avro = out.join("records.avro");
    // Rust: apache-avro reader, against the schema kept in the repo
    let schema = apache_avro::Schema::parse_str(
        &fs::read_to_string(repo_dir().join("schema/record.avsc")).unwrap(),
    )
    .unwrap();
    let reader = apache_avro::Reader::with_schema(&schema, fs::File::open(&avro).unwrap()).unwrap();
    let values: Vec<Value> = reader
        .map(|v| apache_avro::from_value::<Value>(&v.unwrap()).unwrap())
        .collect();
    assert_eq!(values.len(), 2);
    let ok = values
        .iter()
        .find(|v| v["content_id"] == "7201234567890123456")
        .unwrap();
    assert_eq!(ok["status"], "ok");
    let frames_json = &recs["7201234567890123456"]["derived"]["frames"];
    assert_eq!(ok["derived"]["frames"].as_array().unwrap().len(), 3);
    assert_eq!(
        ok["derived"]["frames"][2]["blake3"],
        frames_json[2]["blake3"]
    );
    assert_eq!(
        serde_json::from_str::<Value>(ok["input_json"].as_str().unwrap()).unwrap(),
        json!({"score": 0.5})
    );
    let failed = values.iter().find(|v| v["content_id"] == "gone").unwrap();
    assert_eq!(failed["error"]["kind"], "not_found");
    // Python: fastavro, a standard Avro reader independent of the Rust crate
    let py = std::process::Command::new("python3")
        .args([
            "-c",
            "import sys, json, fastavro\n\
             recs = list(fastavro.reader(open(sys.argv[1], 'rb')))\n\
             print(json.dumps([[r['content_id'], r['status'], len((r['derived'] or {}).get('frames', [])), (r['error'] or {}).get('kind')] for r in recs]))",
        ])
        .arg(&avro)
        .output()
        .unwrap();
    assert!(
        py.status.success(),
        "fastavro (pip install fastavro): {}",
        String::from_utf8_lossy(&py.stderr)
    );
    let mut rows: Vec<Value> = serde_json::from_slice(&py.stdout).unwrap();
    rows.sort_by_key(|r| r[0].as_str().unwrap().to_string());
    assert_eq!(
        rows,
        vec![
            json!(["7201234567890123456", "ok", 3, null]),
            json!(["gone", "failed", 0, "not_found"])
        ]
    );
}

#[test]
fn a_records_own_platform_wins_over_the_flag() {
    let tmp = tempfile::tempdir().unwrap();
    let list = tmp.path().join("items.jsonl");
    let chaplin = s(&sample("chaplin.mp4"));
    write_jsonl(
        &list,
        &[
            json!({"content_id": "a", "video_url": chaplin, "platform": "Instagram Reels"}),
            json!({"content_id": "b", "video_url": chaplin}),
        ],
    );
    let out = tmp.path().join("out");
    let (o, recs) = extract(
        &out,
        &[
            "--input",
            &s(&list),
            "--platform",
            "youtube",
            "--max-seconds",
            "1",
        ],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(recs["a"]["derived"]["platform"], "Instagram Reels");
    assert_eq!(
        recs["a"]["platform"], "Instagram Reels",
        "the input field passes through"
    );
    assert_eq!(
        frames(&recs["a"])[0]["key"],
        "Instagram%20Reels/a/0000_0.jpg"
    );
    assert!(out.join("Instagram%20Reels/a/thumbnail.jpg").exists());
    assert_eq!(recs["b"]["derived"]["platform"], "youtube");
    assert_eq!(frames(&recs["b"])[0]["key"], "youtube/b/0000_0.jpg");
}

#[test]
fn empty_header_only_and_non_utf8_csv_files() {
    let tmp = tempfile::tempdir().unwrap();
    for (name, bytes, records) in [
        ("empty.csv", &b""[..], 0usize),
        ("header_only.csv", &b"content_id,video_url\r\n"[..], 0),
        (
            "latin1.csv",
            &b"content_id,video_url\n\xe9t\xe9,x.mp4\n"[..],
            1,
        ),
    ] {
        let csv = tmp.path().join(name);
        fs::write(&csv, bytes).unwrap();
        let out = tmp.path().join(format!("out_{name}"));
        let o = run_reelframe(["extract", "--input", &s(&csv), "-o", &s(&out)]);
        assert_eq!(
            o.status.code(),
            Some(if records == 0 { 0 } else { 1 }),
            "{name}: {}",
            stderr(&o)
        );
        let recs = read_jsonl(&out.join("records.jsonl"));
        assert_eq!(recs.len(), records, "{name}");
        if records == 1 {
            assert_eq!(recs[0]["error"]["kind"], "invalid_input");
            assert!(recs[0]["error"]["message"]
                .as_str()
                .unwrap()
                .contains("not UTF-8"));
        }
    }
    // a CSV without a content_id column is a usage error: nothing can be done with it
    let csv = tmp.path().join("no_id.csv");
    fs::write(&csv, "id,url\n1,x.mp4\n").unwrap();
    let o = run_reelframe([
        "extract",
        "--input",
        &s(&csv),
        "-o",
        &s(&tmp.path().join("x")),
    ]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o).contains("no content_id column"),
        "{}",
        stderr(&o)
    );
}

#[test]
fn shards_split_the_input_into_disjoint_runs_that_cover_it() {
    let tmp = tempfile::tempdir().unwrap();
    let mut seen: HashMap<String, usize> = HashMap::new();
    // all shards on one output: each writes its own records file, so none waits for another
    let out = tmp.path().join("out");
    for index in 0..3 {
        let shard = format!("{index}/3");
        let o = run_reelframe([
            "extract",
            "-q",
            &s(&samples_dir()),
            "-o",
            &s(&out),
            "--shard",
            &shard,
            "--max-seconds",
            "2",
        ]);
        assert!(matches!(o.status.code(), Some(0)), "{}", stderr(&o));
        let records = out.join(format!("records.shard-{index:04}-of-0003.jsonl"));
        for record in read_jsonl(&records) {
            *seen
                .entry(record["content_id"].as_str().unwrap().to_string())
                .or_default() += 1;
        }
    }
    let all = input_stems(&samples_dir());
    assert_eq!(seen.len(), all.len(), "{seen:?}");
    assert!(seen.values().all(|&n| n == 1), "{seen:?}");
    let o = run_reelframe(["extract", "x.mp4", "--shard", "3/3"]);
    assert_eq!(o.status.code(), Some(2));
}

/// The content IDs `extract DIR` gives: the stems of the directory's video files.
fn input_stems(dir: &Path) -> Vec<String> {
    let mut stems: Vec<String> = fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| {
            p.extension()
                .and_then(|e| e.to_str())
                .is_some_and(|e| ["mp4", "webm", "mov", "mkv"].contains(&e))
        })
        .map(|p| p.file_stem().unwrap().to_string_lossy().into_owned())
        .collect();
    stems.sort();
    stems
}
