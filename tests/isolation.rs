//! A decoder crash costs one item, not the run: decoding runs in supervised child processes,
//! which crash (on purpose, through the test-only fault hook or a real SIGSEGV from outside),
//! get replaced, and leave every other item and the records intact.

mod common;

use common::*;
use serde_json::{json, Value};
use std::fs;
use std::io::Write;
use std::path::Path;
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

fn records_by_id(path: &Path) -> std::collections::HashMap<String, Value> {
    read_jsonl(path)
        .into_iter()
        .map(|r| (r["content_id"].as_str().unwrap().to_string(), r))
        .collect()
}

/// The pids whose parent is `parent` (from /proc/*/stat).
fn children_of(parent: u32) -> Vec<u32> {
    let mut children = Vec::new();
    for entry in fs::read_dir("/proc").unwrap().flatten() {
        let Ok(pid) = entry.file_name().to_string_lossy().parse::<u32>() else {
            continue;
        };
        let Ok(stat) = fs::read_to_string(format!("/proc/{pid}/stat")) else {
            continue;
        };
        // the command name is in parentheses and may hold spaces: fields resume after ')'
        let after = &stat[stat.rfind(')').unwrap() + 2..];
        let ppid: u32 = after.split(' ').nth(1).unwrap().parse().unwrap();
        if ppid == parent {
            children.push(pid);
        }
    }
    children
}

fn wait_for_records(path: &Path, n: usize) {
    let started = Instant::now();
    // complete lines only: a record being appended is not read half-written
    let complete =
        |path: &Path| fs::read(path).map_or(0, |b| b.iter().filter(|&&c| c == b'\n').count());
    while complete(path) < n {
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "no record {n} in {}",
            path.display()
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn row(name: &str) -> String {
    json!({"content_id": name, "video_url": s(&sample(name))}).to_string()
}

/// `extract --input -` with one job, fed by the test through stdin.
fn extract_from_stdin(out: &Path) -> Child {
    reelframe_command()
        .args([
            "extract",
            "-q",
            "--jobs",
            "1",
            "--input",
            "-",
            "-o",
            &s(out),
        ])
        .args(["--max-seconds", "2"])
        .env("AWS_ACCESS_KEY_ID", "AKIAEXAMPLE")
        .env("AWS_SECRET_ACCESS_KEY", "secret-the-decoder-must-not-see")
        .stdin(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}

#[test]
fn a_decoder_that_crashes_costs_its_item_once_more_on_rerun_then_the_record_stays() {
    let tmp = tempfile::tempdir().unwrap();
    let list = tmp.path().join("list.jsonl");
    let names = [
        "chaplin.mp4",
        "fire2.mp4",
        "rotated90.mp4",
        "hevc_portrait.mp4",
    ];
    fs::write(
        &list,
        names.iter().map(|n| row(n) + "\n").collect::<String>(),
    )
    .unwrap();
    let out = tmp.path().join("out");
    let run = |fault: &str| {
        reelframe_command()
            .args([
                "extract",
                "-q",
                "--input",
                &s(&list),
                "-o",
                &s(&out),
                "--max-seconds",
                "2",
            ])
            .env("REELFRAME_FAULT", fault)
            .output()
            .unwrap()
    };
    let first = run("segv:chaplin.mp4");
    assert_eq!(first.status.code(), Some(1), "{}", stderr(&first));
    let records = records_by_id(&out.join("records.jsonl"));
    assert_eq!(records.len(), 4);
    let crashed = &records["chaplin.mp4"];
    assert_eq!(crashed["error"]["kind"], "decoder_crashed", "{crashed}");
    assert_eq!(crashed["error"]["attempts"], 1);
    let why = crashed["error"]["message"].as_str().unwrap();
    assert!(why.contains("SIGSEGV"), "{why}");
    for name in &names[1..] {
        assert_eq!(records[*name]["status"], "ok", "{name}");
    }
    // the rerun tries the crashed item once more (an abort this time): its record is now final
    let second = run("abort:chaplin.mp4");
    assert_eq!(second.status.code(), Some(1));
    let records = records_by_id(&out.join("records.jsonl"));
    assert_eq!(records.len(), 4);
    assert_eq!(records["chaplin.mp4"]["error"]["attempts"], 2);
    assert!(records["chaplin.mp4"]["error"]["message"]
        .as_str()
        .unwrap()
        .contains("SIGABRT"));
    let third = run("");
    assert_eq!(third.status.code(), Some(0));
    let summary = stderr(&third);
    assert!(records_by_id(&out.join("records.jsonl"))["chaplin.mp4"]["error"]["attempts"] == 2);
    assert!(
        !summary.contains("failed") || summary.contains("0 failed"),
        "{summary}"
    );
}

/// A decoder whose pipe closes a while before its crash ends it (as a crashing process that is
/// slow to finish dying on a busy machine) is reported with the signal it died of, not killed
/// by the main process for being slow to die.
#[test]
fn a_decoder_that_is_slow_to_die_is_reported_with_its_own_signal() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("out");
    let run = reelframe_command()
        .args(["extract", "-q", &s(&sample("fire2.mp4")), "-o", &s(&out)])
        .args(["--max-seconds", "2"])
        .env("REELFRAME_FAULT", "late-segv:fire2")
        .output()
        .unwrap();
    assert_eq!(run.status.code(), Some(1), "{}", stderr(&run));
    let records = records_by_id(&out.join("records.jsonl"));
    let error = &records["fire2"]["error"];
    assert_eq!(error["kind"], "decoder_crashed", "{error}");
    let why = error["message"].as_str().unwrap();
    assert!(why.contains("signal 11 (SIGSEGV)"), "{why}");
}

#[test]
fn a_decoder_killed_from_outside_is_replaced_and_holds_no_credentials() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("out");
    let mut main = extract_from_stdin(&out);
    let mut stdin = main.stdin.take().unwrap();
    writeln!(stdin, "{}", row("chaplin.mp4")).unwrap();
    stdin.flush().unwrap();
    let records = out.join("records.jsonl");
    wait_for_records(&records, 1);
    let decoders = children_of(main.id());
    assert_eq!(
        decoders.len(),
        1,
        "one decoder process per job: {decoders:?}"
    );
    let decoder = decoders[0];
    let environ = fs::read(format!("/proc/{decoder}/environ")).unwrap();
    let environ = String::from_utf8_lossy(&environ);
    assert!(
        !environ.contains("AWS_"),
        "the decoder sees credentials: {environ}"
    );
    assert!(environ.contains("PATH="), "{environ}");
    let cmdline = fs::read_to_string(format!("/proc/{decoder}/cmdline")).unwrap();
    assert!(cmdline.contains("__worker"), "{cmdline}");
    // a segfault from outside, between items
    // SAFETY (test): decoder is our grandchild's pid, alive (read above).
    let killed = unsafe { libc::kill(decoder as i32, libc::SIGSEGV) };
    assert_eq!(killed, 0);
    // one row at a time: rows in flight are fetched concurrently and reach the decoder in the
    // order their fetches finish, not their input order
    for (n, name) in ["fire2.mp4", "rotated90.mp4"].into_iter().enumerate() {
        writeln!(stdin, "{}", row(name)).unwrap();
        stdin.flush().unwrap();
        wait_for_records(&records, n + 2);
    }
    drop(stdin);
    let status = main.wait().unwrap();
    assert_eq!(status.code(), Some(1));
    let by_id = records_by_id(&records);
    assert_eq!(by_id.len(), 3);
    assert_eq!(by_id["chaplin.mp4"]["status"], "ok");
    assert_eq!(by_id["fire2.mp4"]["error"]["kind"], "decoder_crashed");
    assert!(by_id["fire2.mp4"]["error"]["message"]
        .as_str()
        .unwrap()
        .contains("SIGSEGV"));
    assert_eq!(
        by_id["rotated90.mp4"]["status"], "ok",
        "a new decoder took over"
    );
}

#[test]
fn decoding_in_a_process_gives_the_same_records_as_in_process() {
    let tmp = tempfile::tempdir().unwrap();
    let strip = |mut r: Value| {
        let frames = r["derived"]["frames"].as_array_mut().unwrap();
        for f in frames.iter_mut() {
            f.as_object_mut().unwrap().remove("uri");
        }
        r["derived"].as_object_mut().unwrap().remove("fetch");
        r["thumbnail"].as_object_mut().unwrap().remove("uri");
        if let Some(sheet) = r["derived"]["contact_sheet"].as_object_mut() {
            sheet.remove("uri");
        }
        r
    };
    let mut runs = Vec::new();
    for isolate in ["process", "off"] {
        let out = tmp.path().join(isolate);
        let o = run_reelframe([
            "extract",
            "-q",
            &s(&samples_dir()),
            "-o",
            &s(&out),
            "--isolate",
            isolate,
        ]);
        assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
        let mut records: Vec<Value> = read_jsonl(&out.join("records.jsonl"))
            .into_iter()
            .map(strip)
            .collect();
        records.sort_by_key(|r| r["content_id"].as_str().unwrap().to_string());
        runs.push(records);
    }
    assert!(runs[0].len() >= 10);
    assert_eq!(runs[0], runs[1]);
}

/// The Landlock ABI the running kernel offers (0 when none), asked the way the kernel documents:
/// `landlock_create_ruleset(NULL, 0, LANDLOCK_CREATE_RULESET_VERSION)`.
fn landlock_abi() -> i64 {
    // SAFETY: with a null attribute pointer, size 0 and the VERSION flag the call reads no
    // memory and only returns the ABI version (or -1 with errno).
    let abi = unsafe {
        libc::syscall(
            libc::SYS_landlock_create_ruleset,
            std::ptr::null::<u8>(),
            0usize,
            1u32,
        )
    };
    abi.max(0)
}

#[test]
fn a_hijacked_decoder_can_neither_write_files_nor_connect_out() {
    let tmp = tempfile::tempdir().unwrap();
    let probe = tmp.path().join("escaped.txt");
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.set_nonblocking(true).unwrap();
    let addr = listener.local_addr().unwrap();
    let abi = landlock_abi();
    for (n, fault) in [
        format!("write:fire2:{}", s(&probe)),
        format!("connect:fire2:{addr}"),
    ]
    .iter()
    .enumerate()
    {
        let out = tmp.path().join(format!("out{n}"));
        let run = reelframe_command()
            .args(["extract", "-q", &s(&sample("fire2.mp4")), "-o", &s(&out)])
            .env("REELFRAME_FAULT", fault)
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&run.stderr);
        assert_eq!(run.status.code(), Some(0), "{stderr}");
        // the hook ran in the decoder process and reported what it tried
        let (what, target) = fault.split_once(":fire2:").unwrap();
        let line = stderr
            .lines()
            .find(|l| l.starts_with(&format!("fault hook: {what} {target}: ")))
            .unwrap_or_else(|| panic!("the fault hook did not run: {stderr}"));
        let needed = if what == "write" { 1 } else { 4 };
        if abi < needed {
            eprintln!("this kernel's Landlock ABI is {abi}: {what} is not confined here ({line})");
            continue;
        }
        assert!(
            line.contains("Err(") && line.contains("PermissionDenied"),
            "{line}"
        );
        // and the records are as without the attempt
        let records = records_by_id(&out.join("records.jsonl"));
        assert_eq!(records["fire2"]["status"], "ok");
    }
    assert!(!probe.exists(), "a decoder wrote {}", probe.display());
    if abi >= 4 {
        assert!(listener.accept().is_err(), "a decoder connected to {addr}");
    }
}
