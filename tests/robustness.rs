//! Nothing lost at a million videos: the defects of issue 13, each reproduced as a user would
//! meet it and checked by what the user sees (records, messages, exit codes, files on disk).

mod common;

use common::*;
use serde_json::{json, Value};
use std::fs;
use std::io::Write;

fn by_id(records: &[Value]) -> std::collections::HashMap<String, Value> {
    records
        .iter()
        .map(|r| {
            (
                r["content_id"].as_str().unwrap_or("").to_string(),
                r.clone(),
            )
        })
        .collect()
}

#[test]
fn a_second_process_on_the_same_output_stops_at_once_and_the_first_loses_nothing() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("out");
    // A reads its list from stdin, so it holds the output for as long as the test keeps the
    // pipe open
    let mut first = extract_holding_output(&out, &["--max-seconds", "1"]);
    let lock = out.join("records.jsonl.lock");
    let second = run_reelframe(["extract", &s(&sample("chaplin.mp4")), "-o", &s(&out)]);
    assert_eq!(second.status.code(), Some(2), "{}", stderr(&second));
    let message = stderr(&second);
    let pid = first.id().to_string();
    assert!(
        message.contains("another reelframe") && message.contains(&pid),
        "{message}"
    );
    assert_eq!(message.trim().lines().count(), 1, "{message}");
    let mut stdin = first.stdin.take().unwrap();
    for name in ["chaplin.mp4", "fire2.mp4", "rotated90.mp4"] {
        let row = json!({"content_id": name, "video_url": s(&sample(name))});
        writeln!(stdin, "{row}").unwrap();
    }
    drop(stdin);
    let status = first.wait().unwrap();
    assert_eq!(status.code(), Some(0));
    let records = read_jsonl(&out.join("records.jsonl"));
    assert_eq!(records.len(), 3);
    assert!(records.iter().all(|r| r["status"] == "ok"), "{records:?}");
    assert!(fs::read_to_string(&lock).unwrap().contains("finished"));
}

#[test]
fn a_stream_that_grows_past_the_pixel_cap_fails_with_its_own_kind() {
    let tmp = tempfile::tempdir().unwrap();
    let small = tmp.path().join("small.h264");
    let big = tmp.path().join("big.h264");
    for (path, size) in [(&small, "64x64"), (&big, "640x360")] {
        ffmpeg(&[
            "-f",
            "lavfi",
            "-i",
            &format!("testsrc2=s={size}:r=10:d=1"),
            "-c:v",
            "libx264",
            "-pix_fmt",
            "yuv420p",
            &s(path),
        ]);
    }
    // one raw H.264 stream whose header says 64x64 and whose second half is 640x360
    let mut bytes = fs::read(&small).unwrap();
    bytes.extend(fs::read(&big).unwrap());
    let switch = tmp.path().join("switch.h264");
    fs::write(&switch, bytes).unwrap();
    let out = tmp.path().join("out");
    let o = run_reelframe([
        "extract",
        "-q",
        &s(&switch),
        "-o",
        &s(&out),
        "--max-pixels",
        "10000",
        "--max-seconds",
        "0",
    ]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    let records = read_jsonl(&out.join("records.jsonl"));
    assert_eq!(
        records[0]["error"]["kind"], "frame_too_large",
        "{records:?}"
    );
    let message = records[0]["error"]["message"].as_str().unwrap();
    assert!(message.contains("--max-pixels 10000"), "{message}");
    // under a cap it fits, the same file is extracted
    let o = run_reelframe([
        "extract",
        "-q",
        &s(&switch),
        "-o",
        &s(&tmp.path().join("ok")),
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
}

#[test]
fn a_cut_download_is_truncated_never_ok() {
    let tmp = tempfile::tempdir().unwrap();
    let whole = tmp.path().join("whole.mp4");
    ffmpeg(&[
        "-i",
        &s(&sample("chaplin.mp4")),
        "-c",
        "copy",
        "-movflags",
        "+faststart",
        &s(&whole),
    ]);
    let bytes = fs::read(&whole).unwrap();
    let cuts = tmp.path().join("cuts");
    fs::create_dir(&cuts).unwrap();
    let percents = [5, 10, 20, 35, 50, 65, 80, 90, 95, 99];
    for p in percents {
        fs::write(
            cuts.join(format!("cut{p:02}.mp4")),
            &bytes[..bytes.len() * p / 100],
        )
        .unwrap();
    }
    let out = tmp.path().join("out");
    let o = run_reelframe(["extract", "-q", &s(&cuts), "-o", &s(&out)]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    let records = read_jsonl(&out.join("records.jsonl"));
    assert_eq!(records.len(), percents.len());
    for r in &records {
        assert_eq!(r["error"]["kind"], "truncated", "{r}");
    }
}

#[test]
fn every_row_gets_one_record_with_its_id_verbatim() {
    let tmp = tempfile::tempdir().unwrap();
    let list = tmp.path().join("list.jsonl");
    let video = s(&sample("fire2.mp4"));
    let long_id = format!("id-{}", "é".repeat(2500));
    write_jsonl(
        &list,
        &[
            json!({"content_id": " spaced ", "video_url": video}),
            json!({"content_id": "spaced", "video_url": video}),
            json!({"content_id": "spaced", "video_url": video}),
            json!({"content_id": long_id, "video_url": video}),
        ],
    );
    let out = tmp.path().join("out");
    let o = run_reelframe(["extract", "-q", "--input", &s(&list), "-o", &s(&out)]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let records = read_jsonl(&out.join("records.jsonl"));
    assert_eq!(records.len(), 4, "{records:?}");
    let mut statuses: Vec<(String, String)> = records
        .iter()
        .map(|r| {
            (
                r["content_id"].as_str().unwrap().chars().take(10).collect(),
                r["status"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    statuses.sort();
    assert_eq!(
        statuses,
        [
            (" spaced ".into(), "ok".into()),
            ("id-ééééééé".into(), "ok".into()),
            ("spaced".into(), "duplicate".into()),
            ("spaced".into(), "ok".into()),
        ]
    );
    let duplicate = records.iter().find(|r| r["status"] == "duplicate").unwrap();
    assert_eq!(duplicate["error"]["kind"], "duplicate");
    let why = duplicate["error"]["message"].as_str().unwrap();
    assert!(
        why.contains("list.jsonl:3") && why.contains("list.jsonl:2"),
        "{why}"
    );
    // the long ID's keys stay within file-name limits
    for r in &records {
        if r["status"] == "ok" {
            for frame in r["derived"]["frames"].as_array().unwrap() {
                let key = frame["key"].as_str().unwrap();
                assert!(key.split('/').all(|seg| seg.len() <= 120), "{key}");
            }
        }
    }
    // a rerun writes the same verdicts: nothing redone, the repeat named again
    let o = run_reelframe(["extract", "-q", "--input", &s(&list), "-o", &s(&out)]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let again = read_jsonl(&out.join("records.jsonl"));
    assert_eq!(again.len(), 4);
    assert_eq!(
        again.iter().filter(|r| r["status"] == "duplicate").count(),
        1
    );
}

#[test]
fn an_over_long_row_is_skipped_with_its_line_and_the_rest_is_read() {
    let tmp = tempfile::tempdir().unwrap();
    let video = s(&sample("fire2.mp4"));
    let huge = "x".repeat(3 << 20);
    let list = tmp.path().join("list.jsonl");
    let mut text = String::new();
    text.push_str(&json!({"content_id": "a", "video_url": video}).to_string());
    text.push('\n');
    text.push_str(&format!("{{\"content_id\":\"{huge}\"}}\n"));
    text.push_str(&json!({"content_id": "b", "video_url": video}).to_string());
    text.push('\n');
    fs::write(&list, text).unwrap();
    let csv = tmp.path().join("ids.csv");
    fs::write(
        &csv,
        format!("content_id,video_url\nc,{video}\n\"{huge}\nd,{video}\n"),
    )
    .unwrap();
    let out = tmp.path().join("out");
    for (input, good, bad_line) in [
        (&list, ["a", "b"], "list.jsonl:2"),
        (&csv, ["c", "d"], "ids.csv:"),
    ] {
        let o = run_reelframe(["extract", "-q", "--input", &s(input), "-o", &s(&out)]);
        assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
        let records = by_id(&read_jsonl(&out.join("records.jsonl")));
        for id in good {
            assert_eq!(records[id]["status"], "ok", "{id}");
        }
        let bad: Vec<&Value> = records
            .values()
            .filter(|r| r["error"]["kind"] == "invalid_input")
            .filter(|r| r["input"].as_str().unwrap_or("").contains(bad_line))
            .collect();
        assert_eq!(bad.len(), 1, "{records:?}");
        let why = bad[0]["error"]["message"].as_str().unwrap();
        assert!(why.contains("--max-row-bytes"), "{why}");
    }
}

#[test]
fn a_rerun_after_a_kill_removes_what_the_killed_run_left_and_nothing_else() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("out");
    let o = run_reelframe(["extract", "-q", &s(&sample("fire2.mp4")), "-o", &s(&out)]);
    assert_eq!(o.status.code(), Some(0));
    // what a SIGKILL leaves: a lock that says running, temporary frames and a compaction copy
    fs::write(out.join("records.jsonl.lock"), "pid 999999 running\n").unwrap();
    let item = out.join("tiktok").join("fire2");
    let leftovers = [
        item.join(".tmp-999999-7-0001_1000.jpg"),
        out.join(".tmp-999999-3-records.jsonl"),
        out.join("records.compact-999999.tmp"),
    ];
    // what other writers sharing the folder are writing now (a server, a shard with its own
    // records; this test process stands for one) or left in their own killed runs
    let others = [
        item.join(format!(".tmp-{}-1-0002_2000.jpg", std::process::id())),
        out.join(".tmp-999998-1-records.shard-0001-of-0002.jsonl"),
    ];
    for path in leftovers.iter().chain(&others) {
        fs::write(path, vec![0u8; 4096]).unwrap();
    }
    let o = run_reelframe(["extract", "-q", &s(&sample("fire2.mp4")), "-o", &s(&out)]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    for path in &leftovers {
        assert!(!path.exists(), "{} is still there", path.display());
    }
    for path in &others {
        assert!(
            path.exists(),
            "another writer's {} was removed",
            path.display()
        );
    }
    assert_eq!(read_jsonl(&out.join("records.jsonl")).len(), 1);
}

#[test]
fn shard_auto_reads_the_engines_index_and_each_shard_has_its_own_records() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("out");
    let mut ids = Vec::new();
    for (var, index) in [
        ("JOB_COMPLETION_INDEX", "0"),
        ("AWS_BATCH_JOB_ARRAY_INDEX", "1"),
    ] {
        let o = reelframe_command()
            .args(["extract", "-q", &s(&samples_dir()), "-o", &s(&out)])
            .args(["--shard", "auto/2", "--max-seconds", "1"])
            .env(var, index)
            .output()
            .unwrap();
        assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
        let records = out.join(format!("records.shard-000{index}-of-0002.jsonl"));
        ids.extend(
            read_jsonl(&records)
                .iter()
                .map(|r| r["content_id"].as_str().unwrap().to_string()),
        );
    }
    // Slurm: index relative to the array's first task, count from the engine
    let o = reelframe_command()
        .args([
            "extract",
            "-q",
            &s(&sample("fire2.mp4")),
            "-o",
            &s(&tmp.path().join("slurm")),
        ])
        .args(["--shard", "auto"])
        .env("SLURM_ARRAY_TASK_ID", "11")
        .env("SLURM_ARRAY_TASK_MIN", "10")
        .env("SLURM_ARRAY_TASK_COUNT", "4")
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert!(tmp
        .path()
        .join("slurm/records.shard-0001-of-0004.jsonl")
        .exists());
    ids.sort();
    let mut expected: Vec<String> = fs::read_dir(samples_dir())
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "mp4" || e == "webm"))
        .map(|p| p.file_stem().unwrap().to_string_lossy().into_owned())
        .collect();
    expected.sort();
    assert_eq!(ids, expected, "every sample in exactly one shard");
    let o = reelframe_command()
        .args(["extract", &s(&sample("fire2.mp4")), "--shard", "auto/4"])
        .env_remove("JOB_COMPLETION_INDEX")
        .env_remove("AWS_BATCH_JOB_ARRAY_INDEX")
        .env_remove("SLURM_ARRAY_TASK_ID")
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("no array index"), "{}", stderr(&o));
}
