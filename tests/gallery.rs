//! `reelframe gallery`: the pages are read back with an HTML parser (scraper, html5ever: what a
//! browser's parser builds), and every row, list, link and picture is checked against the
//! records and the files on disk.

mod common;

use common::s3_server::S3Server;
use common::{
    read_jsonl, reelframe_command, run_reelframe, sample, samples_dir, stderr, write_jsonl,
};
use scraper::{Html, Selector};
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Output;

fn sel(css: &str) -> Selector {
    Selector::parse(css).unwrap()
}

fn parse(path: &Path) -> Html {
    Html::parse_document(&fs::read_to_string(path).unwrap())
}

/// A run over every sample, a file that is not a video, a cut one and a repeated row.
fn extract_run(dir: &Path) -> PathBuf {
    let not_video = dir.join("notes.mp4");
    fs::write(&not_video, "not a video at all\n").unwrap();
    let cut = dir.join("cut.mp4");
    let bytes = fs::read(sample("chaplin.mp4")).unwrap();
    fs::write(&cut, &bytes[..bytes.len() / 3]).unwrap();
    let mut rows: Vec<Value> = fs::read_dir(samples_dir())
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| matches!(p.extension().and_then(|e| e.to_str()), Some("mp4" | "webm")))
        .map(|p| json!({"content_id": p.file_stem().unwrap().to_str().unwrap(), "video_url": p}))
        .collect();
    rows.sort_by_key(|r| r["content_id"].as_str().unwrap().to_string());
    rows.push(json!({"content_id": "notes", "video_url": not_video}));
    rows.push(json!({"content_id": "cut", "video_url": cut}));
    rows.push(json!({"content_id": "chaplin", "video_url": sample("chaplin.mp4")}));
    let list = dir.join("list.jsonl");
    write_jsonl(&list, &rows);
    let out = dir.join("out");
    let run = run_reelframe([
        "extract",
        "-q",
        "--input",
        list.to_str().unwrap(),
        "-o",
        out.to_str().unwrap(),
    ]);
    assert_eq!(run.status.code(), Some(1), "{}", stderr(&run));
    out
}

fn gallery(args: &[&str]) -> Output {
    let mut all = vec!["gallery"];
    all.extend_from_slice(args);
    run_reelframe(all)
}

/// A link on a page, resolved to a file: pages in subfolders carry `<base href="../">`, so every
/// relative link resolves against the gallery's root.
fn resolve(root: &Path, page: &Html, href: &str) -> PathBuf {
    let base = page
        .select(&sel("base"))
        .next()
        .and_then(|b| b.value().attr("href"))
        .unwrap_or("");
    assert!(
        !href.contains("://") && !href.starts_with('/'),
        "a local gallery links only relative paths: {href}"
    );
    assert!(base.is_empty() || base == "../", "unexpected base {base}");
    let decoded = percent_encoding::percent_decode_str(href)
        .decode_utf8()
        .unwrap()
        .into_owned();
    root.join(decoded)
}

/// Every HTML page of the gallery, by path from its root.
fn pages(root: &Path) -> BTreeMap<String, Html> {
    let mut found = BTreeMap::new();
    let mut dirs = vec![root.to_path_buf()];
    while let Some(dir) = dirs.pop() {
        for entry in fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                dirs.push(path);
            } else if path.extension().is_some_and(|e| e == "html") {
                let name = path
                    .strip_prefix(root)
                    .unwrap()
                    .to_string_lossy()
                    .into_owned();
                found.insert(name, parse(&path));
            }
        }
    }
    found
}

/// The content IDs of the rows of a list, following its pages from `first`.
fn list_ids(root: &Path, first: &str) -> Vec<String> {
    let mut ids = Vec::new();
    let mut next = Some(root.join(first));
    while let Some(path) = next {
        let page = parse(&path);
        for row in page.select(&sel("article.row[data-content-id]")) {
            ids.push(row.value().attr("data-content-id").unwrap().to_string());
        }
        next = page
            .select(&sel(".pager a[rel=next]"))
            .next()
            .map(|a| resolve(root, &page, a.value().attr("href").unwrap()));
    }
    ids
}

fn canonical(path: &str) -> PathBuf {
    fs::canonicalize(path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

#[test]
fn every_record_is_shown_with_working_links() {
    let dir = tempfile::tempdir().unwrap();
    let out = extract_run(dir.path());
    let records = read_jsonl(&out.join("records.jsonl"));
    let root = dir.path().join("review");
    let run = gallery(&[
        out.join("records.jsonl").to_str().unwrap(),
        "-o",
        root.to_str().unwrap(),
    ]);
    assert_eq!(run.status.code(), Some(0), "{}", stderr(&run));
    let count = |status: &str| records.iter().filter(|r| r["status"] == status).count();
    assert!(
        stderr(&run).starts_with(&format!(
            "gallery: {} videos: {} ok, {} failed, {} duplicate; 1 near-duplicate group; ",
            records.len(),
            count("ok"),
            count("failed"),
            count("duplicate")
        )),
        "{}",
        stderr(&run)
    );
    assert_eq!((count("failed"), count("duplicate")), (2, 1));

    // every record is a row of the "all" list exactly once, in record order
    let ids: Vec<String> = records
        .iter()
        .map(|r| r["content_id"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(list_ids(&root, "index.html"), ids);
    // each status list and each error kind's list holds exactly its records
    let mut lists: Vec<(String, String, Value)> = ["ok", "failed", "duplicate"]
        .iter()
        .map(|s| (format!("p/{s}-1.html"), "status".to_string(), json!(s)))
        .collect();
    let failed_kinds: Vec<&str> = records
        .iter()
        .filter(|r| r["status"] == "failed")
        .map(|r| r["error"]["kind"].as_str().unwrap())
        .collect();
    // the kinds as the tabs list them: by size, equal sizes by name (the records' own order is
    // the order items finished in, which varies from run to run)
    let mut kinds = failed_kinds.clone();
    kinds.sort();
    kinds.dedup();
    kinds.sort_by_key(|k| std::cmp::Reverse(failed_kinds.iter().filter(|f| *f == k).count()));
    assert!(!kinds.is_empty());
    for kind in kinds {
        lists.push((format!("p/kind-{kind}-1.html"), "kind".into(), json!(kind)));
    }
    for (first, field, value) in &lists {
        let expected: Vec<String> = records
            .iter()
            .filter(|r| match field.as_str() {
                "status" => r["status"] == *value,
                _ => r["status"] == "failed" && r["error"]["kind"] == *value,
            })
            .map(|r| r["content_id"].as_str().unwrap().to_string())
            .collect();
        assert!(!expected.is_empty(), "{first}");
        assert_eq!(list_ids(&root, first), expected, "{first}");
    }

    // the tabs: every list with its size, statuses first, then the kinds, duplicates, groups
    let index = parse(&root.join("index.html"));
    let tabs: Vec<String> = index
        .select(&sel("nav a"))
        .map(|a| a.text().collect())
        .collect();
    let mut expected_tabs = vec![
        format!("all ({})", records.len()),
        format!("ok ({})", count("ok")),
        format!("failed ({})", count("failed")),
    ];
    for (_, field, value) in &lists {
        if field == "kind" {
            let n = records
                .iter()
                .filter(|r| r["error"]["kind"] == *value)
                .count();
            expected_tabs.push(format!("{} ({n})", value.as_str().unwrap()));
        }
    }
    expected_tabs.push(format!("duplicate ({})", count("duplicate")));
    expected_tabs.push("groups (1)".to_string());
    assert_eq!(tabs, expected_tabs);

    // no script anywhere, and every relative link and picture is a file that exists
    let all = pages(&root);
    assert_eq!(
        all.len(),
        1 + lists.len() + 1 + records.len() + 1,
        "{:?}",
        all.keys()
    );
    let mut pictures = 0;
    for (name, page) in &all {
        assert_eq!(page.select(&sel("script")).count(), 0, "{name}");
        for a in page.select(&sel("a[href]")) {
            let target = resolve(&root, page, a.value().attr("href").unwrap());
            assert!(
                target.is_file(),
                "{name}: {} is not a file",
                target.display()
            );
        }
        for img in page.select(&sel("img")) {
            let target = resolve(&root, page, img.value().attr("src").unwrap());
            assert!(
                target.is_file(),
                "{name}: {} is not a file",
                target.display()
            );
            assert_eq!(img.value().attr("loading"), Some("lazy"), "{name}");
            pictures += 1;
        }
    }
    assert!(pictures > 0);

    // each video's page shows its frames, in order, from the files its record names
    for (n, record) in records.iter().enumerate() {
        let page = &all[&format!("v/{}.html", n + 1)];
        let row = page.select(&sel("article.row")).next().unwrap();
        assert_eq!(
            row.value().attr("data-content-id"),
            record["content_id"].as_str()
        );
        let frames: Vec<PathBuf> = page
            .select(&sel(".frames img"))
            .map(|img| resolve(&root, page, img.value().attr("src").unwrap()))
            .map(|p| fs::canonicalize(p).unwrap())
            .collect();
        let expected: Vec<PathBuf> = record["derived"]["frames"]
            .as_array()
            .map(|f| {
                f.iter()
                    .map(|f| canonical(f["uri"].as_str().unwrap()))
                    .collect()
            })
            .unwrap_or_default();
        assert_eq!(frames, expected, "{}", record["content_id"]);
        let text = page.root_element().text().collect::<String>();
        if let Some(message) = record["error"]["message"].as_str() {
            assert!(
                text.contains(message),
                "{}: {message}",
                record["content_id"]
            );
        }
        if let Some(sheet) = record["derived"]["contact_sheet"]["uri"].as_str() {
            let shown = page.select(&sel(".sheet-full img")).next().unwrap();
            let target = resolve(&root, page, shown.value().attr("src").unwrap());
            assert_eq!(fs::canonicalize(target).unwrap(), canonical(sheet));
        }
    }
}

/// `n` records copied from `template` with IDs `v0000`, `v0001`, … (same pictures).
fn many_records(template: &Value, n: usize, path: &Path) {
    let rows: Vec<Value> = (0..n)
        .map(|i| {
            let mut r = template.clone();
            r["content_id"] = json!(format!("v{i:04}"));
            r
        })
        .collect();
    write_jsonl(path, &rows);
}

/// One real record of a sample (extracted in `dir/one`).
fn one_record(dir: &Path) -> Value {
    let out = dir.join("one");
    let run = run_reelframe([
        "extract",
        "-q",
        sample("fire2.mp4").to_str().unwrap(),
        "-o",
        out.to_str().unwrap(),
    ]);
    assert_eq!(run.status.code(), Some(0), "{}", stderr(&run));
    read_jsonl(&out.join("records.jsonl")).remove(0)
}

#[test]
fn pages_hold_each_record_once_and_a_rerun_replaces_them() {
    let dir = tempfile::tempdir().unwrap();
    let template = one_record(dir.path());
    let records = dir.path().join("many.jsonl");
    many_records(&template, 25, &records);
    let root = dir.path().join("g");
    let run = gallery(&[
        records.to_str().unwrap(),
        "-o",
        root.to_str().unwrap(),
        "--page-size",
        "10",
    ]);
    assert_eq!(run.status.code(), Some(0), "{}", stderr(&run));
    let expected: Vec<String> = (0..25).map(|i| format!("v{i:04}")).collect();
    assert_eq!(list_ids(&root, "index.html"), expected);
    assert!(root.join("p/all-3.html").is_file());
    assert!(!root.join("p/all-4.html").exists());
    assert_eq!(list_ids(&root, "p/ok-1.html"), expected);
    // the last page links back and says where it is
    let last = parse(&root.join("p/all-3.html"));
    let prev = last.select(&sel(".pager a[rel=prev]")).next().unwrap();
    assert_eq!(prev.value().attr("href"), Some("p/all-2.html"));
    assert!(last
        .root_element()
        .text()
        .collect::<String>()
        .contains("page 3 of 3"));
    // a video's page leads to its list page and to the videos before and after it
    let video = parse(&root.join("v/12.html"));
    let links: Vec<&str> = video
        .select(&sel(".pager a"))
        .map(|a| a.value().attr("href").unwrap())
        .collect();
    assert_eq!(links, ["p/all-2.html", "v/11.html", "v/13.html"]);
    let last = parse(&root.join("v/25.html"));
    assert_eq!(last.select(&sel(".pager a[rel=next]")).count(), 0);
    // 25 copies of one video are one near-duplicate group, shown on its page and listed
    let group = parse(&root.join("g/1.html"));
    assert_eq!(group.select(&sel("article.row")).count(), 25);
    assert_eq!(list_ids(&root, "p/groups-1.html").len(), 0);
    assert_eq!(
        parse(&root.join("p/groups-1.html"))
            .select(&sel("article.row[data-group='1'] figure"))
            .count(),
        25
    );

    // a rerun with larger pages replaces the old pages instead of leaving stale ones
    let run = gallery(&[
        records.to_str().unwrap(),
        "-o",
        root.to_str().unwrap(),
        "--no-groups",
    ]);
    assert_eq!(run.status.code(), Some(0), "{}", stderr(&run));
    assert!(!root.join("p/all-2.html").exists());
    assert!(!root.join("g/1.html").exists());
    assert_eq!(list_ids(&root, "index.html"), expected);
    let index = fs::read_to_string(root.join("index.html")).unwrap();
    assert!(
        !index.contains("p/groups-1.html"),
        "--no-groups shows no groups tab"
    );

    // a folder holding anything else is refused, and left alone
    let other = dir.path().join("other");
    fs::create_dir(&other).unwrap();
    fs::write(other.join("keep.txt"), "mine").unwrap();
    let run = gallery(&[records.to_str().unwrap(), "-o", other.to_str().unwrap()]);
    assert_eq!(run.status.code(), Some(2));
    assert_eq!(
        stderr(&run),
        format!(
            "reelframe: error: {} is not empty and is not a reelframe gallery: give --out a new or empty folder\n",
            other.display()
        )
    );
    assert_eq!(fs::read_dir(&other).unwrap().count(), 1);
}

#[test]
fn hostile_record_text_stays_text() {
    let dir = tempfile::tempdir().unwrap();
    let records = dir.path().join("hostile.jsonl");
    let id = "<script>alert(1)</script>\"'&";
    let message = "<img src=x onerror=alert(2)> failed";
    write_jsonl(
        &records,
        &[
            json!({"content_id": id, "status": "failed", "video_url": "javascript:alert(3)",
                   "error": {"kind": "../../etc/passwd", "message": message},
                   "thumbnail": {"uri": "javascript:alert(4)", "width": 10, "height": 10}}),
            json!({"content_id": 7, "status": "ok", "derived": {"frames": [{"uri": "data:text/html,<b>x</b>"}]}}),
            json!({"no_id": true}),
        ],
    );
    fs::write(
        &records,
        fs::read_to_string(&records).unwrap() + "{\"content_id\": \"torn\", \"sta",
    )
    .unwrap();
    let root = dir.path().join("g");
    let run = gallery(&[records.to_str().unwrap(), "-o", root.to_str().unwrap()]);
    assert_eq!(run.status.code(), Some(0), "{}", stderr(&run));
    assert!(
        stderr(&run).contains(&format!(
            "gallery: 2 lines are not records and were left out (first: {}:3: no content_id)",
            records.display()
        )),
        "{}",
        stderr(&run)
    );
    for (name, page) in pages(&root) {
        assert_eq!(page.select(&sel("script")).count(), 0, "{name}");
        assert_eq!(page.select(&sel("[onerror]")).count(), 0, "{name}");
        for attr in ["href", "src"] {
            for e in page.select(&sel(&format!("[{attr}]"))) {
                let v = e.value().attr(attr).unwrap();
                assert!(!v.contains(':'), "{name}: {attr}={v} names a scheme");
            }
        }
    }
    let index = parse(&root.join("index.html"));
    let text = index.root_element().text().collect::<String>();
    assert!(text.contains(id) && text.contains(message), "{text}");
    // an unknown error kind gets the list `other`, never a path from the record
    assert!(root.join("p/kind-other-1.html").is_file());
    assert_eq!(
        list_ids(&root, "index.html"),
        [id.to_string(), "7".to_string()]
    );
}

#[test]
fn groups_from_similar_and_missing_pictures() {
    let dir = tempfile::tempdir().unwrap();
    let template = one_record(dir.path());
    let records = dir.path().join("three.jsonl");
    many_records(&template, 3, &records);
    // `similar`'s groups give the same pages as grouping in the gallery
    let groups = dir.path().join("groups.jsonl");
    let run = run_reelframe([
        "similar",
        records.to_str().unwrap(),
        "-o",
        groups.to_str().unwrap(),
    ]);
    assert_eq!(run.status.code(), Some(0), "{}", stderr(&run));
    let (computed, from_file) = (dir.path().join("a"), dir.path().join("b"));
    for (root, extra) in [(&computed, None), (&from_file, Some(&groups))] {
        let mut args = vec![records.to_str().unwrap(), "-o", root.to_str().unwrap()];
        if let Some(g) = extra {
            args.extend(["--groups", g.to_str().unwrap()]);
        }
        let run = gallery(&args);
        assert_eq!(run.status.code(), Some(0), "{}", stderr(&run));
    }
    let members = |root: &Path| -> Vec<String> {
        parse(&root.join("g/1.html"))
            .select(&sel("article.row"))
            .map(|r| r.value().attr("data-content-id").unwrap().to_string())
            .collect()
    };
    assert_eq!(members(&computed), ["v0000", "v0001", "v0002"]);
    assert_eq!(members(&from_file), members(&computed));
    // each member's row links its group
    let index = parse(&computed.join("index.html"));
    assert_eq!(
        index.select(&sel("article.row a[href='g/1.html']")).count(),
        3
    );
    // a groups file that is not one is an error naming its line
    let run = gallery(&[
        records.to_str().unwrap(),
        "-o",
        computed.to_str().unwrap(),
        "--groups",
        records.to_str().unwrap(),
    ]);
    assert_eq!(run.status.code(), Some(2));
    assert!(
        stderr(&run).starts_with(&format!(
            "reelframe: error: {}:1: not a group from `reelframe similar`",
            records.display()
        )),
        "{}",
        stderr(&run)
    );

    // a frame deleted after the run is named, and the gallery is still written
    let gone = template["derived"]["frames"][1]["uri"].as_str().unwrap();
    fs::remove_file(gone).unwrap();
    let run = gallery(&[records.to_str().unwrap(), "-o", computed.to_str().unwrap()]);
    assert_eq!(run.status.code(), Some(0), "{}", stderr(&run));
    assert!(
        stderr(&run).contains(&format!(
            "gallery: 3 pictures named by the records are not on disk (first: {gone}); were frames moved or deleted after the run?"
        )),
        "{}",
        stderr(&run)
    );
}

#[test]
fn s3_pictures_are_linked_by_public_base_or_presigned() {
    let s3 = S3Server::start();
    s3.create_bucket("frames");
    let dir = tempfile::tempdir().unwrap();
    let journal = dir.path().join("journal.jsonl");
    let run = reelframe_command()
        .envs(s3.env())
        .args([
            "extract",
            "-q",
            sample("fire2.mp4").to_str().unwrap(),
            sample("chaplin.mp4").to_str().unwrap(),
            "--out",
            "s3://frames/run",
            "--s3-path-style",
            "--journal",
            journal.to_str().unwrap(),
        ])
        .output()
        .unwrap();
    assert_eq!(run.status.code(), Some(0), "{}", stderr(&run));
    let records = read_jsonl(&journal);
    let thumbs: Vec<(String, String)> = records
        .iter()
        .map(|r| {
            let uri = r["thumbnail"]["uri"].as_str().unwrap();
            let key = uri
                .strip_prefix("s3://frames/")
                .expect("an s3 URI")
                .to_string();
            (key, r["thumbnail"]["blake3"].as_str().unwrap().to_string())
        })
        .collect();
    let thumb_srcs = |root: &Path| -> Vec<String> {
        parse(&root.join("index.html"))
            .select(&sel("article.row > a:first-child img"))
            .map(|i| i.value().attr("src").unwrap().to_string())
            .collect()
    };
    let run_gallery = |root: &Path, extra: &[&str]| -> Output {
        reelframe_command()
            .envs(s3.env())
            .args([
                "gallery",
                journal.to_str().unwrap(),
                "-o",
                root.to_str().unwrap(),
            ])
            .args(extra)
            .output()
            .unwrap()
    };

    // without a way to link them, the pictures are placeholders and the fix is named
    let plain = dir.path().join("plain");
    let run = run_gallery(&plain, &[]);
    assert_eq!(run.status.code(), Some(0), "{}", stderr(&run));
    assert!(thumb_srcs(&plain).is_empty());
    let pictures = 2 * records.len()
        + records
            .iter()
            .map(|r| r["derived"]["frames"].as_array().unwrap().len())
            .sum::<usize>();
    assert!(
        stderr(&run).contains(&format!(
            "gallery: {pictures} pictures are in S3 and shown without a link: pass --presign 1h (signed with your credentials) or --public-url-base BASE"
        )),
        "{}",
        stderr(&run)
    );

    // a public base stands for s3://bucket
    let public = dir.path().join("public");
    let run = run_gallery(
        &public,
        &["--public-url-base", "https://cdn.example/frames/"],
    );
    assert_eq!(run.status.code(), Some(0), "{}", stderr(&run));
    let expected: Vec<String> = thumbs
        .iter()
        .map(|(k, _)| format!("https://cdn.example/frames/{k}"))
        .collect();
    assert_eq!(thumb_srcs(&public), expected);

    // presigned URLs fetch the very bytes the record hashed, with no credentials
    let signed = dir.path().join("signed");
    let run = run_gallery(&signed, &["--presign", "1h", "--s3-path-style"]);
    assert_eq!(run.status.code(), Some(0), "{}", stderr(&run));
    let srcs = thumb_srcs(&signed);
    assert_eq!(srcs.len(), thumbs.len());
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let client = reqwest::Client::builder().no_proxy().build().unwrap();
    for (src, (key, blake3)) in srcs.iter().zip(&thumbs) {
        assert!(
            src.starts_with(&format!("{}/frames/{key}?", s3.endpoint())),
            "{src}"
        );
        assert!(src.contains("X-Amz-Signature="), "{src}");
        let body = runtime.block_on(async {
            let answer = client.get(src).send().await.unwrap();
            assert_eq!(answer.status(), 200, "{src}");
            answer.bytes().await.unwrap()
        });
        assert_eq!(blake3::hash(&body).to_hex().as_str(), blake3);
    }
    // the longest validity S3 accepts is a week
    let run = run_gallery(&signed, &["--presign", "8d"]);
    assert_eq!(run.status.code(), Some(2));
    assert_eq!(
        stderr(&run),
        "reelframe: error: --presign 8days is longer than S3 allows: at most 7d\n"
    );
}
