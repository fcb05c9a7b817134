//! `reelframe bench` end to end: real reelframe and ffmpeg children on two small samples; the
//! assertions are about outcomes (what was run, counted and derived), never about timings.

mod common;

use common::*;
use serde_json::Value;
use std::fs;
use std::path::{Path, PathBuf};

/// The two smallest sample clips (6 s and 8 s) keep the repeated runs short.
fn videos() -> Vec<PathBuf> {
    vec![sample("hevc_portrait.mp4"), sample("rotated90.mp4")]
}

fn method<'a>(report: &'a Value, name: &str) -> &'a Value {
    report["methods"]
        .as_array()
        .expect("methods")
        .iter()
        .find(|m| m["name"] == name)
        .unwrap_or_else(|| panic!("no method {name} in {report:#}"))
}

fn f(v: &Value) -> f64 {
    v.as_f64().unwrap_or_else(|| panic!("not a number: {v}"))
}

fn is_empty_dir(dir: &Path) -> bool {
    fs::read_dir(dir).unwrap().next().is_none()
}

/// Frames `reelframe extract` writes for `videos` at 1 fps: the sum over its records.
fn extract_frames(videos: &[PathBuf]) -> u64 {
    let out = tempfile::tempdir().unwrap();
    let mut args = vec![
        "extract".into(),
        "-q".into(),
        "-o".into(),
        out.path().display().to_string(),
    ];
    args.extend(videos.iter().map(|v| v.display().to_string()));
    let output = run_reelframe(&args);
    assert!(
        output.status.success(),
        "extract failed: {}",
        stderr(&output)
    );
    read_jsonl(&out.path().join("records.jsonl"))
        .iter()
        .map(|r| r["derived"]["frames"].as_array().expect("frames").len() as u64)
        .sum()
}

/// Checks that `svg` is well-formed XML (tokens valid, tags balanced) and returns the text of
/// its `<text>` elements.
fn svg_texts(svg: &str) -> Vec<String> {
    let mut stack: Vec<String> = Vec::new();
    let mut texts = Vec::new();
    let mut pending: Option<String> = None;
    for token in xmlparser::Tokenizer::from(svg) {
        match token.unwrap_or_else(|e| panic!("SVG is not XML: {e}")) {
            xmlparser::Token::ElementStart { local, .. } => pending = Some(local.to_string()),
            xmlparser::Token::ElementEnd { end, .. } => match end {
                xmlparser::ElementEnd::Open => stack.push(pending.take().expect("start")),
                xmlparser::ElementEnd::Empty => pending = None,
                xmlparser::ElementEnd::Close(_, local) => {
                    assert_eq!(
                        stack.pop().as_deref(),
                        Some(local.as_str()),
                        "unbalanced SVG"
                    )
                }
            },
            xmlparser::Token::Text { text } if stack.last().is_some_and(|t| t == "text") => {
                texts.push(text.to_string())
            }
            _ => {}
        }
    }
    assert!(stack.is_empty(), "unclosed elements: {stack:?}");
    texts
}

#[test]
fn bench_compares_with_ffmpeg_and_reports_every_run() {
    let scratch_parent = tempfile::tempdir().unwrap();
    let plot_dir = tempfile::tempdir().unwrap();
    let plot = plot_dir.path().join("bench.svg");
    let mut args: Vec<String> = vec!["bench".into()];
    args.extend(videos().iter().map(|v| v.display().to_string()));
    args.extend(
        [
            "--compare",
            "ffmpeg",
            "--json",
            "--jobs",
            "2",
            "--repeat",
            "2",
            "--plot",
        ]
        .map(String::from),
    );
    args.push(plot.display().to_string());
    args.extend([
        "--scratch-dir".into(),
        scratch_parent.path().display().to_string(),
    ]);
    let output = run_reelframe(&args);
    assert!(output.status.success(), "bench failed: {}", stderr(&output));
    let report: Value =
        serde_json::from_slice(&output.stdout).expect("stdout is one JSON document");

    let names = [
        "reelframe-fps1",
        "ffmpeg-fps1-parallel",
        "ffmpeg-keyframes-parallel",
        "decode-only-floor",
        "decode-ref-only-floor",
    ];
    for name in names {
        let m = method(&report, name);
        let runs = m["runs"].as_array().unwrap();
        assert_eq!(runs.len(), 2, "{name}: one entry per repeat");
        let walls: Vec<f64> = runs.iter().map(|r| f(&r["wall_seconds"])).collect();
        let s = &m["seconds"];
        assert_eq!(f(&s["min"]), walls[0].min(walls[1]), "{name}");
        assert_eq!(f(&s["max"]), walls[0].max(walls[1]), "{name}");
        assert!(
            (f(&s["median"]) - (walls[0] + walls[1]) / 2.0).abs() < 1e-12,
            "{name}"
        );
        assert!(f(&m["peak_rss_mb"]) > 0.0, "{name}: peak RSS");
        assert!(
            runs.iter().all(|r| r["peak_rss_kib"].as_u64().unwrap() > 0),
            "{name}"
        );
        assert!(
            runs.iter().all(|r| f(&r["cpu_seconds"]) > 0.0),
            "{name}: CPU"
        );
        assert_eq!(m["videos"], 2, "{name}");
    }
    assert_eq!(method(&report, "reelframe-fps1")["kind"], "reelframe");
    assert_eq!(method(&report, "decode-only-floor")["kind"], "ffmpeg");

    // frames: reelframe's are what extract writes; ffmpeg's fps filter writes some; floors none
    let rf = method(&report, "reelframe-fps1");
    assert_eq!(rf["frames"].as_u64().unwrap(), extract_frames(&videos()));
    assert!(
        method(&report, "ffmpeg-fps1-parallel")["frames"]
            .as_u64()
            .unwrap()
            > 0
    );
    assert_eq!(method(&report, "decode-only-floor")["frames"], 0);

    // the command lines are those of scripts/baselines.sh
    let command: Vec<&str> = method(&report, "ffmpeg-keyframes-parallel")["command"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a.as_str().unwrap())
        .collect();
    let line = command.join(" ");
    assert!(
        line.contains("-threads 1 -skip_frame nokey -t 60 -i"),
        "{line}"
    );
    assert!(
        line.ends_with("-fps_mode passthrough -q:v 3")
            || line.contains("-fps_mode passthrough -q:v 3 "),
        "{line}"
    );

    // reelframe's own view of the run: stage times and decode overhead
    let stages = &rf["stages"];
    for stage in ["fetch", "demux", "decode", "convert", "encode", "store"] {
        assert!(
            stages[stage]["seconds"].is_f64(),
            "stage {stage} in {stages}"
        );
    }
    assert!(f(&stages["decode"]["seconds"]) > 0.0);
    assert!(f(&rf["frames_decoded_per_frame"]) >= 1.0);
    assert!(rf["runs"][0]["stats"]["frames_decoded"].as_u64().unwrap() > 0);

    // speed-ups are anchor seconds over reelframe seconds, from the reported medians
    let ratios = report["ratios"].as_array().unwrap();
    let pairs: Vec<(&str, &str)> = ratios
        .iter()
        .map(|r| {
            (
                r["reelframe"].as_str().unwrap(),
                r["anchor"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        pairs,
        [
            ("reelframe-fps1", "ffmpeg-fps1-parallel"),
            ("reelframe-fps1", "decode-only-floor"),
            ("reelframe-fps1", "decode-ref-only-floor"),
        ]
    );
    for r in ratios {
        let anchor = f(&method(&report, r["anchor"].as_str().unwrap())["seconds"]["median"]);
        let own = f(&rf["seconds"]["median"]);
        let expected = anchor / own;
        assert!(
            (f(&r["speedup"]) - expected).abs() <= 1e-9 * expected,
            "{r}"
        );
    }

    let machine = &report["machine"];
    assert!(machine["cores"].as_u64().unwrap() >= 1);
    assert!(machine["ffmpeg_version"]
        .as_str()
        .unwrap()
        .starts_with("ffmpeg version"));
    assert!(machine["reelframe_version"]
        .as_str()
        .unwrap()
        .starts_with(env!("CARGO_PKG_VERSION")));
    assert_eq!(
        machine["date"].as_str().unwrap().len(),
        "2025-11-25T10:30:45Z".len()
    );
    assert_eq!(report["settings"]["repeat"], 2);
    assert_eq!(report["settings"]["jobs"], 2);

    // the plot: valid XML, the method names as text
    let svg = fs::read_to_string(&plot).expect("plot written");
    let texts = svg_texts(&svg);
    for name in names {
        assert!(
            texts.iter().any(|t| t.contains(name)),
            "{name} not among {texts:?}"
        );
    }
    assert!(
        texts
            .iter()
            .any(|t| t.contains("× vs ffmpeg-fps1-parallel")),
        "{texts:?}"
    );

    assert!(
        is_empty_dir(scratch_parent.path()),
        "scratch directory left behind"
    );
}

#[test]
fn bench_prints_a_table_and_cleans_its_default_scratch_dir() {
    let tmp = tempfile::tempdir().unwrap();
    let output = reelframe_command()
        .env("TMPDIR", tmp.path())
        .args([
            "bench",
            "--mode",
            "keyframes",
            "--mode",
            "frames:2",
            "--jobs",
            "1",
        ])
        .arg(sample("hevc_portrait.mp4"))
        .output()
        .unwrap();
    assert!(output.status.success(), "bench failed: {}", stderr(&output));
    let text = String::from_utf8(output.stdout).unwrap();
    for needle in [
        "method",
        "videos/s",
        "peak RSS MB",
        "reelframe-keyframes",
        "reelframe-frames2",
        "frames decoded per frame written",
    ] {
        assert!(text.contains(needle), "{needle:?} missing from:\n{text}");
    }
    let frames2 = text
        .lines()
        .find(|l| l.starts_with("reelframe-frames2 "))
        .expect("a row for frames2");
    assert!(
        frames2.trim_end().ends_with(" 2"),
        "2 frames written: {frames2}"
    );
    assert!(
        !text.contains("speed-up"),
        "no anchors, no speed-ups:\n{text}"
    );
    assert!(
        is_empty_dir(tmp.path()),
        "scratch directory left behind in TMPDIR"
    );
}

#[test]
fn a_failing_child_is_an_error_with_its_reason_and_scratch_is_removed() {
    let dir = tempfile::tempdir().unwrap();
    let scratch_parent = tempfile::tempdir().unwrap();
    let fake = dir.path().join("not_a_video.mp4");
    fs::write(&fake, b"this is not a video").unwrap();
    let output = run_reelframe([
        "bench".as_ref(),
        fake.as_os_str(),
        "--scratch-dir".as_ref(),
        scratch_parent.path().as_os_str(),
    ]);
    assert_eq!(output.status.code(), Some(2), "{}", stderr(&output));
    let err = stderr(&output);
    assert!(err.contains("reelframe-fps1"), "{err}");
    assert!(
        err.contains("1 item(s) failed") && err.contains("not_a_video"),
        "{err}"
    );
    assert!(
        is_empty_dir(scratch_parent.path()),
        "scratch directory left behind"
    );
}

#[test]
fn compare_ffmpeg_without_ffmpeg_is_a_setup_error() {
    let output = run_reelframe([
        "bench".as_ref(),
        sample("hevc_portrait.mp4").as_os_str(),
        "--compare".as_ref(),
        "ffmpeg".as_ref(),
        "--ffmpeg".as_ref(),
        "/nonexistent/ffmpeg".as_ref(),
    ]);
    assert_eq!(output.status.code(), Some(2));
    let err = stderr(&output);
    assert!(
        err.contains("--compare ffmpeg needs the ffmpeg CLI"),
        "{err}"
    );
}

#[test]
fn compare_ffmpeg_needs_local_files_in_an_input_list() {
    let dir = tempfile::tempdir().unwrap();
    let list = dir.path().join("items.jsonl");
    fs::write(
        &list,
        "{\"content_id\": \"a\", \"video_url\": \"https://example.com/a.mp4\"}\n",
    )
    .unwrap();
    let output = run_reelframe([
        "bench".as_ref(),
        "--input".as_ref(),
        list.as_os_str(),
        "--compare".as_ref(),
        "ffmpeg".as_ref(),
    ]);
    assert_eq!(output.status.code(), Some(2));
    let err = stderr(&output);
    assert!(
        err.contains("not a local file") && err.contains("need local files"),
        "{err}"
    );
}

/// `--mode keyframes` is compared with ffmpeg's keyframes run only, frame counts are shown
/// beside every speed-up and flagged when they differ, `--warmup` runs each method unmeasured
/// first, and the results can be exported as Markdown and CSV.
#[test]
fn keyframes_compare_like_with_like_and_results_export_as_markdown_and_csv() {
    let tmp = tempfile::tempdir().unwrap();
    let md = tmp.path().join("bench.md");
    let csv = tmp.path().join("bench.csv");
    let output = run_reelframe([
        "bench".as_ref(),
        sample("hevc_portrait.mp4").as_os_str(),
        "--mode".as_ref(),
        "keyframes".as_ref(),
        "--compare".as_ref(),
        "ffmpeg".as_ref(),
        "--jobs".as_ref(),
        "1".as_ref(),
        "--warmup".as_ref(),
        "1".as_ref(),
        "--json".as_ref(),
        "--export-markdown".as_ref(),
        md.as_os_str(),
        "--export-csv".as_ref(),
        csv.as_os_str(),
    ]);
    let err = stderr(&output);
    assert!(output.status.success(), "bench failed: {err}");
    let report: Value = serde_json::from_slice(&output.stdout).unwrap();
    let names: Vec<&str> = report["methods"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["name"].as_str().unwrap())
        .collect();
    assert_eq!(
        names,
        [
            "reelframe-keyframes",
            "ffmpeg-keyframes-parallel",
            "decode-only-floor",
            "decode-ref-only-floor"
        ],
        "no 1 fps run when only keyframes are measured"
    );
    let ratios = report["ratios"].as_array().unwrap();
    assert_eq!(ratios.len(), 1, "{ratios:?}");
    let r = &ratios[0];
    assert_eq!(r["anchor"], "ffmpeg-keyframes-parallel");
    let ours = method(&report, "reelframe-keyframes")["frames"]
        .as_u64()
        .unwrap();
    let theirs = method(&report, "ffmpeg-keyframes-parallel")["frames"]
        .as_u64()
        .unwrap();
    assert_eq!(r["reelframe_frames"], ours);
    assert_eq!(r["anchor_frames"], theirs);
    assert_eq!(r["frames_differ"], ours != theirs);
    // one unmeasured run per method before the measured one
    let warmups = err.lines().filter(|l| l.contains("[warm-up 1/1]")).count();
    assert_eq!(warmups, names.len(), "{err}");
    assert!(
        method(&report, "reelframe-keyframes")["runs"]
            .as_array()
            .unwrap()
            .len()
            == 1
    );

    let md = fs::read_to_string(&md).unwrap();
    for name in names.iter() {
        assert!(
            md.contains(&format!("| `{name}` |")),
            "{name} row in:\n{md}"
        );
    }
    let flagged = format!("{ours} / {theirs} ≠");
    assert_eq!(md.contains(&flagged), ours != theirs, "{md}");
    let csv = fs::read_to_string(&csv).unwrap();
    let lines: Vec<&str> = csv.lines().collect();
    assert!(lines[0].starts_with("method,kind,jobs,videos,median_seconds"));
    assert_eq!(lines.len(), 1 + names.len());
    let row: Vec<&str> = lines[1].split(',').collect();
    assert_eq!(
        (row[0], row[1], row[12]),
        (
            "reelframe-keyframes",
            "reelframe",
            ours.to_string().as_str()
        )
    );
}
