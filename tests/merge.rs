//! `reelframe merge` on real files: join rules, rejects, input quirks, scale, and the output fed
//! to `reelframe extract --input`.

mod common;

use common::*;
use serde_json::{json, Value};
use std::collections::HashSet;
use std::fs;
use std::path::PathBuf;
use std::process::Output;

/// Runs `reelframe merge ARGS`, asserting exit code 0.
fn merge_ok(args: &[String]) -> Output {
    let mut all = vec!["merge".to_string()];
    all.extend(args.iter().cloned());
    let o = run_reelframe(&all);
    assert_eq!(o.status.code(), Some(0), "merge {args:?}: {}", stderr(&o));
    o
}

/// The summary line `merge` writes on stderr for these counts.
fn summary(merged: u64, counts: [u64; 6]) -> String {
    let names = [
        "no_download",
        "no_metadata",
        "duplicate_metadata",
        "duplicate_download",
        "filtered",
        "invalid",
    ];
    let mut line = format!("reelframe merge: {merged} merged");
    for (n, name) in counts.iter().zip(names) {
        line.push_str(&format!(", {n} {name}"));
    }
    line
}

/// `(reason, side, content_id, line)` of each reject.
fn reject_keys(rejects: &[Value]) -> Vec<(String, String, Value, u64)> {
    rejects
        .iter()
        .map(|r| {
            (
                r["reason"].as_str().unwrap().to_string(),
                r["side"].as_str().unwrap().to_string(),
                r["content_id"].clone(),
                r["line"].as_u64().unwrap(),
            )
        })
        .collect()
}

fn key(reason: &str, side: &str, id: Option<&str>, line: u64) -> (String, String, Value, u64) {
    (reason.into(), side.into(), json!(id), line)
}

#[test]
fn small_merge_follows_every_rule_and_reports_every_reject() {
    let tmp = tempfile::tempdir().unwrap();
    let meta = tmp.path().join("metadata.jsonl");
    let dls = tmp.path().join("downloads.jsonl");
    let out = tmp.path().join("merged.jsonl");

    // Metadata: BOM, CRLF endings, blank lines, a non-UTF-8 line; the ID 7201234567890123456 is
    // a string here and an integer in the downloads, 7301234567890123457 the other way round.
    let mut m: Vec<u8> = b"\xEF\xBB\xBF".to_vec();
    for line in [
        r#"{"content_id":"7201234567890123456","title":"meta title","video_url":"meta-url","metadata_fetch_status":200,"content_type":"IMAGE"}"#, // 1 merged
        "", // 2 blank
        r#"{"content_id":7301234567890123457,"title":"t2","metadata_fetch_status":"200"}"#, // 3 merged
        r#"{"content_id":"a404","metadata_fetch_status":404}"#, // 4 filtered
        r#"{"content_id":"nodl","metadata_fetch_status":200}"#, // 5 no_download
        r#"{"content_id":"7201234567890123456","title":"dup"}"#, // 6 duplicate_metadata
        "not json",                                             // 7 invalid
        "\u{0}",                                                // 8 placeholder: non-UTF-8
        "[1,2]",                                                // 9 invalid: not an object
        r#"{"content_id":1.5}"#,                                // 10 invalid content_id
        r#"{"title":"no id"}"#,                                 // 11 invalid: no content_id
        r#"{"content_id":"nostatus","title":"x"}"#,             // 12 filtered: field missing
        "   ",                                                  // 13 blank
        r#"{"content_id":"c3","metadata_fetch_status":200,"lang":"en"}"#, // 14 merged
    ] {
        if line == "\u{0}" {
            m.extend_from_slice(b"{\"content_id\":\"bad\xff\xfe\"}");
        } else {
            m.extend_from_slice(line.as_bytes());
        }
        m.extend_from_slice(b"\r\n");
    }
    fs::write(&meta, &m).unwrap();
    let d = [
        r#"{"content_id":7201234567890123456,"video_url":"https://cdn.example/a.mp4","title":"dl title","size":123,"content_type":"x"}"#, // 1
        r#"{"content_id":"7301234567890123457","video_url":"/v/b.mp4"}"#, // 2
        r#"{"content_id":"a404","video_url":"/v/c.mp4"}"#,                // 3
        r#"{"content_id":7301234567890123457,"video_url":"/v/dup.mp4"}"#, // 4 duplicate_download
        r#"{"content_id":"orphan","video_url":"/v/o.mp4"}"#,              // 5 no_metadata
        r#"{"content_id":"novideo"}"#,                                    // 6 invalid: no video_url
        "",                                                               // 7 blank
        r#"{"content_id":"nostatus","video_url":"/v/n.mp4"}"#,            // 8
        r#"{"content_id":"c3","video_url":"/v/c3.mp4","bytes":5,"lang":"fr"}"#, // 9
    ]
    .join("\n");
    fs::write(&dls, d).unwrap(); // no final newline

    let o = merge_ok(&[
        s(&meta),
        s(&dls),
        "-o".into(),
        s(&out),
        "--require".into(),
        "metadata_fetch_status=200".into(),
    ]);

    // Exact text: field order, metadata wins, video_url from the download, IDs as strings.
    let text = fs::read_to_string(&out).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(
        lines,
        [
            r#"{"content_id":"7201234567890123456","title":"meta title","video_url":"https://cdn.example/a.mp4","metadata_fetch_status":200,"content_type":"VIDEO","size":123}"#,
            r#"{"content_id":"7301234567890123457","title":"t2","metadata_fetch_status":"200","video_url":"/v/b.mp4","content_type":"VIDEO"}"#,
            r#"{"content_id":"c3","metadata_fetch_status":200,"lang":"en","video_url":"/v/c3.mp4","bytes":5,"content_type":"VIDEO"}"#,
        ]
    );
    assert!(text.ends_with("}\n"));

    // Default rejects file: OUT's name + .rejects.jsonl, beside OUT.
    let rejects_path = tmp.path().join("merged.jsonl.rejects.jsonl");
    let rejects = read_jsonl(&rejects_path);
    assert_eq!(
        reject_keys(&rejects),
        [
            key(
                "duplicate_download",
                "downloads",
                Some("7301234567890123457"),
                4
            ),
            key("invalid", "downloads", Some("novideo"), 6),
            key("filtered", "metadata", Some("a404"), 4),
            key("no_download", "metadata", Some("nodl"), 5),
            key(
                "duplicate_metadata",
                "metadata",
                Some("7201234567890123456"),
                6
            ),
            key("invalid", "metadata", None, 7),
            key("invalid", "metadata", None, 8),
            key("invalid", "metadata", None, 9),
            key("invalid", "metadata", None, 10),
            key("invalid", "metadata", None, 11),
            key("filtered", "metadata", Some("nostatus"), 12),
            key("no_metadata", "downloads", Some("orphan"), 5),
        ]
    );
    for r in &rejects {
        let keys: Vec<&str> = r.as_object().unwrap().keys().map(|k| k.as_str()).collect();
        assert_eq!(
            keys,
            ["reason", "side", "content_id", "line", "detail", "record"]
        );
        assert!(!r["detail"].as_str().unwrap().is_empty(), "{r}");
    }
    // The original records ride along (null when the line was not JSON).
    assert_eq!(
        rejects[0]["record"],
        json!({"content_id":7301234567890123457u64,"video_url":"/v/dup.mp4"})
    );
    assert!(rejects[0]["detail"].as_str().unwrap().contains("line 2"));
    assert!(rejects[1]["detail"].as_str().unwrap().contains("video_url"));
    assert_eq!(
        rejects[2]["record"],
        json!({"content_id":"a404","metadata_fetch_status":404})
    );
    assert!(
        rejects[2]["detail"]
            .as_str()
            .unwrap()
            .contains("metadata_fetch_status=200"),
        "{}",
        rejects[2]
    );
    assert_eq!(
        rejects[4]["record"],
        json!({"content_id":"7201234567890123456","title":"dup"})
    );
    assert_eq!(rejects[5]["record"], Value::Null);
    assert!(rejects[5]["detail"]
        .as_str()
        .unwrap()
        .contains("invalid JSON"));
    assert_eq!(rejects[6]["record"], Value::Null);
    assert!(rejects[6]["detail"].as_str().unwrap().contains("UTF-8"));
    assert_eq!(rejects[7]["record"], json!([1, 2]));
    assert_eq!(rejects[8]["record"], json!({"content_id":1.5}));
    assert!(rejects[9]["detail"]
        .as_str()
        .unwrap()
        .contains("content_id"));
    assert!(rejects[10]["detail"]
        .as_str()
        .unwrap()
        .contains("no metadata_fetch_status"));
    assert_eq!(
        rejects[11]["record"],
        json!({"content_id":"orphan","video_url":"/v/o.mp4"})
    );

    let err = stderr(&o);
    assert!(
        err.contains(&summary(3, [1, 1, 1, 1, 2, 6])),
        "stderr: {err}"
    );

    // No temporary files are left behind.
    let mut names: Vec<String> = fs::read_dir(tmp.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    assert_eq!(
        names,
        [
            "downloads.jsonl",
            "merged.jsonl",
            "merged.jsonl.rejects.jsonl",
            "metadata.jsonl"
        ]
    );

    // Without --require the two filtered records are merged, 404 included, in metadata order.
    let out2 = tmp.path().join("all.jsonl");
    let rej2 = tmp.path().join("r/all-rejects.jsonl");
    fs::create_dir(tmp.path().join("r")).unwrap();
    let o = merge_ok(&[
        s(&meta),
        s(&dls),
        "--out".into(),
        s(&out2),
        "--rejects".into(),
        s(&rej2),
    ]);
    let ids: Vec<Value> = read_jsonl(&out2)
        .iter()
        .map(|r| r["content_id"].clone())
        .collect();
    assert_eq!(
        ids,
        [
            "7201234567890123456",
            "7301234567890123457",
            "a404",
            "nostatus",
            "c3"
        ]
    );
    assert_eq!(read_jsonl(&rej2).len(), 10);
    assert!(!tmp.path().join("all.jsonl.rejects.jsonl").exists());
    assert!(stderr(&o).contains(&summary(5, [1, 1, 1, 1, 0, 6])));

    // Two requirements must both hold; string values compare by value.
    let out3 = tmp.path().join("two.jsonl");
    let o = merge_ok(&[
        s(&meta),
        s(&dls),
        "-o".into(),
        s(&out3),
        "--require".into(),
        "metadata_fetch_status=200".into(),
        "--require".into(),
        "title=t2".into(),
    ]);
    let merged = read_jsonl(&out3);
    assert_eq!(merged.len(), 1);
    assert_eq!(merged[0]["content_id"], "7301234567890123457");
    assert!(stderr(&o).contains(&summary(1, [1, 1, 1, 1, 4, 6])));
}

#[test]
fn empty_inputs_and_stdout_output() {
    let tmp = tempfile::tempdir().unwrap();
    let empty = tmp.path().join("empty.jsonl");
    fs::write(&empty, "").unwrap();
    let dls = tmp.path().join("downloads.jsonl");
    fs::write(
        &dls,
        "{\"content_id\":\"a\",\"video_url\":\"a.mp4\"}\n{\"content_id\":\"b\",\"video_url\":\"b.mp4\"}\n",
    )
    .unwrap();

    // Empty metadata, output to stdout: rejects go to ./merge.rejects.jsonl.
    let o = reelframe_command()
        .current_dir(tmp.path())
        .args(["merge", "empty.jsonl", "downloads.jsonl"])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert!(o.stdout.is_empty());
    let rejects = read_jsonl(&tmp.path().join("merge.rejects.jsonl"));
    assert_eq!(
        reject_keys(&rejects),
        [
            key("no_metadata", "downloads", Some("a"), 1),
            key("no_metadata", "downloads", Some("b"), 2)
        ]
    );
    assert!(stderr(&o).contains(&summary(0, [0, 2, 0, 0, 0, 0])));

    // Empty downloads: every metadata record has no download.
    let o = reelframe_command()
        .current_dir(tmp.path())
        .args(["merge", "downloads.jsonl", "empty.jsonl", "-o", "-"])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert!(o.stdout.is_empty());
    assert_eq!(
        reject_keys(&read_jsonl(&tmp.path().join("merge.rejects.jsonl"))),
        [
            key("no_download", "metadata", Some("a"), 1),
            key("no_download", "metadata", Some("b"), 2)
        ]
    );

    // Both empty: an empty output and an empty rejects file, both present.
    let out = tmp.path().join("out.jsonl");
    let o = merge_ok(&[s(&empty), s(&empty), "-o".into(), s(&out)]);
    assert_eq!(fs::read(&out).unwrap(), b"");
    assert_eq!(
        fs::read(tmp.path().join("out.jsonl.rejects.jsonl")).unwrap(),
        b""
    );
    assert!(stderr(&o).contains(&summary(0, [0; 6])));

    // Merged records on stdout.
    let o = reelframe_command()
        .current_dir(tmp.path())
        .args(["merge", "downloads.jsonl", "downloads.jsonl"])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert_eq!(
        String::from_utf8(o.stdout).unwrap(),
        "{\"content_id\":\"a\",\"video_url\":\"a.mp4\",\"content_type\":\"VIDEO\"}\n\
         {\"content_id\":\"b\",\"video_url\":\"b.mp4\",\"content_type\":\"VIDEO\"}\n"
    );
    assert_eq!(
        fs::read(tmp.path().join("merge.rejects.jsonl")).unwrap(),
        b""
    );
}

#[test]
fn unreadable_inputs_and_unwritable_outputs_exit_2_and_leave_nothing() {
    let tmp = tempfile::tempdir().unwrap();
    let ok = tmp.path().join("ok.jsonl");
    fs::write(&ok, "{\"content_id\":\"a\",\"video_url\":\"a.mp4\"}\n").unwrap();
    let out = tmp.path().join("out.jsonl");
    let missing = tmp.path().join("missing.jsonl");

    for (m, d) in [(&missing, &ok), (&ok, &missing)] {
        let o = run_reelframe(["merge", &s(m), &s(d), "-o", &s(&out)]);
        assert_eq!(o.status.code(), Some(2));
        assert!(stderr(&o).contains("reelframe: error:"), "{}", stderr(&o));
        assert!(stderr(&o).contains("missing.jsonl"), "{}", stderr(&o));
    }
    // A directory is not a readable JSONL file.
    let o = run_reelframe(["merge", &s(tmp.path()), &s(&ok), "-o", &s(&out)]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    // The output's directory does not exist.
    let o = run_reelframe([
        "merge",
        &s(&ok),
        &s(&ok),
        "-o",
        &s(&tmp.path().join("no/such/dir/out.jsonl")),
    ]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    // A malformed --require is a usage error.
    let o = run_reelframe(["merge", &s(&ok), &s(&ok), "--require", "nothing"]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));

    let mut names: Vec<String> = fs::read_dir(tmp.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    assert_eq!(names, ["ok.jsonl"]);
}

/// 7 000 000 000 000 000 000 + i * 7919: 19 digits, above 2^53 (f64 would change them).
fn big_id(i: u64) -> u64 {
    7_000_000_000_000_000_000 + i * 7919
}

#[test]
fn two_hundred_thousand_rows_per_side_join_exactly() {
    const N: u64 = 200_000;
    const UNMATCHED: u64 = 2_000; // 1% on each side
    let tmp = tempfile::tempdir().unwrap();
    let meta = tmp.path().join("metadata.jsonl");
    let dls = tmp.path().join("downloads.jsonl");
    let out = tmp.path().join("merged.jsonl");

    // Metadata i = 0..N in order; IDs alternate between JSON strings and integers.
    let mut m = String::with_capacity(100 * N as usize);
    for i in 0..N {
        let id = big_id(i);
        let id_json = if i % 2 == 0 {
            format!("\"{id}\"")
        } else {
            id.to_string()
        };
        m.push_str(&format!(
            "{{\"content_id\":{id_json},\"title\":\"title {i}\",\"rank\":{i}}}\n"
        ));
    }
    fs::write(&meta, m).unwrap();

    // Downloads: metadata rows UNMATCHED..N plus N + 0..UNMATCHED that no metadata has, shuffled
    // (deterministic Fisher–Yates with xorshift); IDs as integers where metadata has strings.
    let mut order: Vec<u64> = (UNMATCHED..N + UNMATCHED).collect();
    let mut state = 0x9E37_79B9_7F4A_7C15u64;
    for k in (1..order.len()).rev() {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        order.swap(k, (state % (k as u64 + 1)) as usize);
    }
    let mut d = String::with_capacity(100 * N as usize);
    for &i in &order {
        let id = big_id(i);
        let id_json = if i % 2 == 0 {
            id.to_string()
        } else {
            format!("\"{id}\"")
        };
        d.push_str(&format!(
            "{{\"content_id\":{id_json},\"video_url\":\"https://cdn.example/v/{id}.mp4\",\"rank\":-1,\"bytes\":{}}}\n",
            i * 10
        ));
    }
    fs::write(&dls, d).unwrap();

    let o = merge_ok(&[s(&meta), s(&dls), "-o".into(), s(&out)]);
    assert!(
        stderr(&o).contains(&summary(N - UNMATCHED, [UNMATCHED, UNMATCHED, 0, 0, 0, 0])),
        "{}",
        stderr(&o)
    );

    // Every merged record, in metadata order, with the right fields.
    let merged = read_jsonl(&out);
    assert_eq!(merged.len() as u64, N - UNMATCHED);
    for (k, r) in merged.iter().enumerate() {
        let i = UNMATCHED + k as u64;
        let id = big_id(i).to_string();
        assert_eq!(r["content_id"].as_str(), Some(id.as_str()), "record {k}");
        assert_eq!(r["rank"], i, "metadata wins: {r}");
    }
    for i in [UNMATCHED, UNMATCHED + 1, 77_777, N - 1] {
        let id = big_id(i);
        let r = &merged[(i - UNMATCHED) as usize];
        assert_eq!(
            r.to_string(),
            format!(
                "{{\"content_id\":\"{id}\",\"title\":\"title {i}\",\"rank\":{i},\"video_url\":\"https://cdn.example/v/{id}.mp4\",\"bytes\":{},\"content_type\":\"VIDEO\"}}",
                i * 10
            )
        );
    }

    // Rejects: the first UNMATCHED metadata rows, then the orphan downloads in downloads order.
    let rejects = read_jsonl(&tmp.path().join("merged.jsonl.rejects.jsonl"));
    assert_eq!(rejects.len() as u64, 2 * UNMATCHED);
    let (no_dl, no_meta) = rejects.split_at(UNMATCHED as usize);
    for (i, r) in no_dl.iter().enumerate() {
        assert_eq!(r["reason"], "no_download");
        assert_eq!(r["side"], "metadata");
        assert_eq!(r["content_id"], big_id(i as u64).to_string());
        assert_eq!(r["line"], i as u64 + 1);
    }
    let expected_orphans: Vec<(String, u64)> = order
        .iter()
        .enumerate()
        .filter(|(_, &i)| i >= N)
        .map(|(line, &i)| (big_id(i).to_string(), line as u64 + 1))
        .collect();
    let orphans: Vec<(String, u64)> = no_meta
        .iter()
        .map(|r| {
            assert_eq!(r["reason"], "no_metadata");
            assert_eq!(r["side"], "downloads");
            (
                r["content_id"].as_str().unwrap().to_string(),
                r["line"].as_u64().unwrap(),
            )
        })
        .collect();
    assert_eq!(orphans, expected_orphans);
    let orphan_ids: HashSet<&str> = orphans.iter().map(|(id, _)| id.as_str()).collect();
    assert_eq!(orphan_ids.len() as u64, UNMATCHED);
}

#[test]
fn merged_output_is_accepted_by_extract_input() {
    let tmp = tempfile::tempdir().unwrap();
    let meta = tmp.path().join("metadata.jsonl");
    let dls = tmp.path().join("downloads.jsonl");
    let merged = tmp.path().join("merged.jsonl");
    let chaplin = sample("chaplin.mp4");
    let gone: PathBuf = tmp.path().join("gone.mp4");
    fs::write(
        &meta,
        "{\"content_id\":7201234567890123456,\"platform\":\"tiktok\",\"caption\":\"hi\"}\n\
         {\"content_id\":\"7201234567890123457\",\"caption\":\"gone\"}\n",
    )
    .unwrap();
    fs::write(
        &dls,
        format!(
            "{}\n{}\n",
            json!({"content_id": "7201234567890123456", "video_url": s(&chaplin)}),
            json!({"content_id": 7201234567890123457u64, "video_url": s(&gone)}),
        ),
    )
    .unwrap();
    merge_ok(&[s(&meta), s(&dls), "-o".into(), s(&merged)]);
    let records = read_jsonl(&merged);
    assert_eq!(records.len(), 2);
    for r in &records {
        assert!(r["content_id"].is_string(), "{r}");
        assert!(!r["video_url"].as_str().unwrap().is_empty(), "{r}");
        assert_eq!(r["content_type"], "VIDEO");
    }

    let out = tmp.path().join("out");
    let o = run_reelframe([
        "extract",
        "--input",
        &s(&merged),
        "-o",
        &s(&out),
        "--frames",
        "1",
    ]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o)); // gone.mp4 fails
    let recs = read_jsonl(&out.join("records.jsonl"));
    assert_eq!(recs.len(), 2);
    let by_id = |id: &str| {
        recs.iter()
            .find(|r| r["content_id"] == id)
            .unwrap_or_else(|| panic!("no record for {id}: {recs:?}"))
    };
    let ok = by_id("7201234567890123456");
    assert_eq!(ok["status"], "ok", "{ok}");
    assert_eq!(ok["caption"], "hi");
    let failed = by_id("7201234567890123457");
    assert_eq!(failed["status"], "failed");
    // The row itself was usable: it failed on the missing file, not as invalid input.
    assert_eq!(failed["error"]["kind"], "not_found", "{failed}");
}
