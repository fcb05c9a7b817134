//! The command line as a newcomer meets it: messages that name the cause and the fix, exit
//! codes, flag values (durations, sizes), output paths checked before any work, help, shell
//! completions and the man page, colours, progress in a log, the summary, Ctrl-C, and S3
//! credentials. Every test runs the binary as a user would.

mod common;

use common::s3_server::S3Server;
use common::*;
use std::path::Path;
use std::process::Output;

/// Asserts `o` failed with exit code 2 and one line on stderr (plus clap's "try --help" hint)
/// containing every one of `needles`, without ANSI escapes; returns stderr.
fn assert_usage_error(o: &Output, needles: &[&str]) -> String {
    let err = stderr(o);
    assert_eq!(o.status.code(), Some(2), "{err}");
    assert!(!err.contains('\x1b'), "escape codes in a pipe: {err:?}");
    for needle in needles {
        assert!(err.contains(needle), "{needle:?} not in {err:?}");
    }
    let lines: Vec<&str> = err
        .lines()
        .filter(|l| !l.trim().is_empty() && !l.contains("try '--help'"))
        .collect();
    assert_eq!(lines.len(), 1, "one line, not {err:?}");
    err
}

#[test]
fn bad_flag_values_name_the_flag_and_the_accepted_forms() {
    let video = s(&sample("fire2.mp4"));
    let cases: &[(&[&str], &[&str])] = &[
        (&["--fps", "abc"], &["--fps", "30000/1001"]),
        (&["--max-seconds", "1x"], &["--max-seconds", "500ms", "1m"]),
        (&["--tolerance", "soon"], &["--tolerance", "500ms"]),
        (&["--item-timeout", "0"], &["--item-timeout", "more than 0"]),
        (&["--read-timeout", "fast"], &["--read-timeout", "90s"]),
        (&["--max-bytes", "2X"], &["--max-bytes", "2GB", "2GiB"]),
        (&["--spill-above=-1"], &["--spill-above", "512MiB"]),
        (&["--quality", "0"], &["--quality", "1..=100"]),
        (&["--jobs", "0"], &["--jobs", "1..=1024"]),
        (&["--shard", "5/4"], &["--shard", "INDEX < COUNT"]),
        (
            &["--s3-endpoint", "minio:9000"],
            &["--s3-endpoint", "http://"],
        ),
    ];
    for (flags, needles) in cases {
        let mut args = vec!["extract"];
        args.extend_from_slice(flags);
        args.push(&video);
        let o = run_reelframe(&args);
        assert_usage_error(&o, needles);
    }
}

#[test]
fn durations_take_units_and_sizes_tell_decimal_from_binary() {
    let tmp = tempfile::tempdir().unwrap();
    let video = sample("example.mp4");
    let size = std::fs::metadata(&video).unwrap().len();
    // K with 1000·K < size <= 1024·K: `K KB` is too small, `K KiB` and `K K` are not
    let k = size.div_ceil(1024);
    assert!(1000 * k < size, "sample too small for this test: {size}");
    let run = |max_bytes: String, out: &str| {
        let o = run_reelframe([
            "extract",
            "-q",
            "--max-seconds",
            "1.5s",
            "--tolerance",
            "0ms",
            "--item-timeout",
            "1m",
            "--connect-timeout",
            "500ms",
            "--max-bytes",
            &max_bytes,
            "-o",
            &s(&tmp.path().join(out)),
            &s(&video),
        ]);
        let records = read_jsonl(&tmp.path().join(out).join("records.jsonl"));
        (o, records.into_iter().next().unwrap())
    };
    let (o, rec) = run(format!("{k}KB"), "decimal");
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert_eq!(rec["error"]["kind"], "too_large", "{rec}");
    for (max_bytes, out) in [(format!("{k}KiB"), "binary"), (format!("{k}K"), "letter")] {
        let (o, rec) = run(max_bytes, out);
        assert!(o.status.success(), "{}", stderr(&o));
        assert_eq!(rec["status"], "ok");
        // 1.5 s at 1 fps: targets at 0 s and 1 s
        assert_eq!(
            rec["derived"]["frames"].as_array().unwrap().len(),
            2,
            "{rec}"
        );
    }
}

#[test]
fn output_paths_are_checked_before_any_work() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("out");
    let video = s(&sample("fire2.mp4"));
    let o = run_reelframe([
        "extract",
        "--stats-json",
        "/nonexistent/x.json",
        "-o",
        &s(&out),
        &video,
    ]);
    assert_usage_error(&o, &["--stats-json /nonexistent/x.json", "does not exist"]);
    assert!(!out.exists(), "work was done before the check");

    let file = tmp.path().join("afile.txt");
    std::fs::write(&file, "x").unwrap();
    let o = run_reelframe(["extract", "-o", &s(&file), &video]);
    assert_usage_error(&o, &["--out", "afile.txt is a file, not a directory"]);
    let o = run_reelframe(["extract", "-o", &s(&file.join("sub")), &video]);
    assert_usage_error(&o, &["afile.txt is a file"]);

    let o = run_reelframe([
        "extract",
        "--records",
        &s(tmp.path()),
        "-o",
        &s(&out),
        &video,
    ]);
    assert_usage_error(&o, &["--records", "is a directory"]);

    let empty = tmp.path().join("empty");
    std::fs::create_dir(&empty).unwrap();
    std::fs::write(empty.join("notes.txt"), "not a video").unwrap();
    let o = run_reelframe(["extract", "-o", &s(&out), &s(&empty)]);
    assert_usage_error(&o, &["no videos found in", "empty", ".mp4"]);
    assert!(!out.exists());
}

#[test]
fn inspect_of_a_url_says_what_to_do() {
    let o = run_reelframe(["inspect", "https://example.com/v.mp4"]);
    let err = assert_usage_error(&o, &["inspect reads local files only", "download"]);
    assert!(!err.contains("Http("), "{err}");
}

#[test]
fn the_summary_breaks_failures_down_by_kind_and_a_log_shows_progress() {
    let tmp = tempfile::tempdir().unwrap();
    let inputs = tmp.path().join("in");
    std::fs::create_dir(&inputs).unwrap();
    std::fs::copy(sample("fire2.mp4"), inputs.join("good.mp4")).unwrap();
    std::fs::write(inputs.join("empty1.mp4"), b"").unwrap();
    std::fs::write(inputs.join("empty2.mp4"), b"").unwrap();
    std::fs::write(
        inputs.join("text.mp4"),
        b"this is not a video at all\n".repeat(40),
    )
    .unwrap();
    let out = tmp.path().join("out");
    let o = run_reelframe([
        "extract",
        "--max-seconds",
        "1",
        "--progress-interval",
        "1ms",
        "-o",
        &s(&out),
        &s(&inputs),
        &s(&tmp.path().join("missing.mp4")),
    ]);
    let err = stderr(&o);
    assert_eq!(o.status.code(), Some(1), "{err}");
    assert!(!err.contains('\x1b'), "escape codes in a pipe: {err:?}");
    let lines: Vec<&str> = err.lines().collect();
    assert!(
        lines[lines.len() - 2].starts_with("reelframe: 1 done, 4 failed, 0 already done"),
        "{err}"
    );
    assert!(
        lines[lines.len() - 1]
            .starts_with("reelframe: 4 failed: 2 empty_file, 1 not_found, 1 unreadable ("),
        "{err}"
    );
    // the warnings name each failed item whole
    for id in ["empty1", "empty2", "text", "missing"] {
        assert!(
            err.lines()
                .any(|l| l.contains("WARN") && l.contains(&format!("content_id={id}"))),
            "no warning for {id}: {err}"
        );
    }
    // not a terminal: progress lines with counts and a rate
    let progress = err
        .lines()
        .find(|l| l.starts_with("reelframe: ") && l.contains(" items, "))
        .unwrap_or_else(|| panic!("no progress line: {err}"));
    assert!(
        progress.contains("/5 items, ")
            && progress.contains(" failed, ")
            && progress.contains(" videos/s"),
        "{progress}"
    );
}

#[test]
fn colours_follow_color_and_no_color() {
    let missing = "/nonexistent/v.mp4";
    let tmp = tempfile::tempdir().unwrap();
    let run = |color: Option<&str>, no_color: bool| {
        let mut cmd = reelframe_command();
        cmd.env_remove("NO_COLOR");
        if no_color {
            cmd.env("NO_COLOR", "1");
        }
        if let Some(c) = color {
            cmd.args(["--color", c]);
        }
        cmd.args(["extract", "-o", &s(tmp.path()), "--force", missing]);
        stderr(&cmd.output().unwrap())
    };
    assert!(!run(None, false).contains('\x1b'), "auto into a pipe");
    assert!(!run(Some("never"), false).contains('\x1b'));
    assert!(run(Some("always"), false).contains('\x1b'));
    // clap's own errors follow --color too
    let o = reelframe_command()
        .env_remove("NO_COLOR")
        .args(["--color", "always", "extract", "--fps", "abc", missing])
        .output()
        .unwrap();
    assert!(stderr(&o).contains('\x1b'));
    assert!(!run(Some("auto"), true).contains('\x1b'));
}

#[test]
fn help_is_grouped_with_defaults_and_completions_and_man_page_print() {
    let o = run_reelframe(["extract", "--help"]);
    assert!(o.status.success());
    let help = String::from_utf8(o.stdout).unwrap();
    let mut at = 0;
    for heading in [
        "Input:",
        "Sampling:",
        "Output:",
        "Network:",
        "S3:",
        "Performance:",
    ] {
        let found = help[at..]
            .find(&format!("\n{heading}\n"))
            .unwrap_or_else(|| panic!("no {heading} heading after byte {at}: {help}"));
        at += found + 1;
    }
    for default in [
        "[default: 60]",
        "[default: 0]",
        "[default: 5m]",
        "[default: 2GiB]",
        "[default: 64MiB]",
        "[default: out]",
        "[default: 10s]",
        "[default: number of cores]",
    ] {
        assert!(help.contains(default), "{default} missing");
    }
    assert!(help.contains("--no-sign-request") && help.contains("--profile <NAME>"));
    assert!(help.contains("wins over AWS_REGION"));

    for (shell, marker) in [
        ("bash", "complete -F"),
        ("zsh", "#compdef reelframe"),
        ("fish", "complete -c reelframe"),
    ] {
        let o = run_reelframe(["completions", shell]);
        assert!(o.status.success(), "{shell}");
        let script = String::from_utf8(o.stdout).unwrap();
        assert!(script.contains(marker), "{shell}: {marker}");
        assert!(
            script.contains("max-seconds"),
            "{shell} completes extract's flags"
        );
    }
    let o = run_reelframe(["man"]);
    assert!(o.status.success());
    let man = String::from_utf8(o.stdout).unwrap();
    assert!(
        man.starts_with(".ie") || man.starts_with(".TH"),
        "{}",
        &man[..80]
    );
    assert!(man.contains(".TH reelframe") && man.contains("extract"));
}

#[cfg(unix)]
#[test]
fn ctrl_c_says_the_run_can_be_resumed_and_a_rerun_does() {
    use std::os::unix::process::ExitStatusExt;
    let tmp = tempfile::tempdir().unwrap();
    let inputs = tmp.path().join("in");
    std::fs::create_dir(&inputs).unwrap();
    for i in 0..12 {
        std::fs::copy(sample("long_62s.mp4"), inputs.join(format!("v{i:02}.mp4"))).unwrap();
    }
    let out = tmp.path().join("out");
    let out_text = s(&out);
    let inputs_text = s(&inputs);
    let args = [
        "extract",
        "--jobs",
        "1",
        "--fps",
        "2",
        "--max-seconds",
        "20",
        "-o",
        &out_text,
        &inputs_text,
    ];
    let child = reelframe_command()
        .args(args)
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let records = out.join("records.jsonl");
    let started = std::time::Instant::now();
    while std::fs::read_to_string(&records).map_or(true, |t| t.lines().count() < 1) {
        assert!(
            started.elapsed().as_secs() < 120,
            "no records after 2 minutes"
        );
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    let kill = std::process::Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(kill.success());
    let o = child.wait_with_output().unwrap();
    let err = stderr(&o);
    assert_eq!(o.status.signal(), Some(2), "ended by SIGINT: {err}");
    assert!(
        err.contains("interrupted; records so far are in")
            && err.contains("run the same command again to resume"),
        "{err}"
    );
    let kept = read_jsonl(&records).len();
    assert!((1..12).contains(&kept), "{kept}");
    let o = run_reelframe(args);
    let err = stderr(&o);
    assert!(o.status.success(), "{err}");
    assert!(
        err.contains(&format!(", {kept} already done")),
        "the rerun resumes: {err}"
    );
    assert_eq!(read_jsonl(&records).len(), 12);
}

/// Runs reelframe with nothing that could give AWS credentials: no AWS_* variables, HOME at
/// an empty folder (no ~/.aws), and the instance metadata service off.
fn run_without_credentials(home: &Path, args: &[&str]) -> Output {
    let mut cmd = reelframe_command();
    for (key, _) in std::env::vars_os() {
        if key.to_string_lossy().starts_with("AWS_") {
            cmd.env_remove(&key);
        }
    }
    cmd.env("HOME", home)
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .args(args)
        .output()
        .unwrap()
}

#[test]
fn s3_without_credentials_is_one_line_and_profiles_and_unsigned_requests_work() {
    let server = S3Server::start();
    server.create_bucket("frames");
    server.create_bucket("lists");
    let list = format!(
        "{{\"content_id\":\"fire2\",\"video_url\":\"{}\"}}\n",
        sample("fire2.mp4").display()
    );
    server.put("lists", "batch.jsonl", list.as_bytes());
    let home = tempfile::tempdir().unwrap();
    let work = tempfile::tempdir().unwrap();
    let endpoint = server.endpoint();
    let video = s(&sample("fire2.mp4"));
    let journal = s(&work.path().join("journal.jsonl"));
    let common = [
        "--s3-endpoint",
        endpoint.as_str(),
        "--s3-path-style",
        "--journal",
        journal.as_str(),
    ];

    // frames to S3, no credentials anywhere
    let mut args = vec!["extract", "--max-seconds", "1", "-o", "s3://frames/run"];
    args.extend_from_slice(&common);
    args.push(&video);
    let o = run_without_credentials(home.path(), &args);
    let err = assert_usage_error(
        &o,
        &[
            "no AWS credentials found",
            "AWS_PROFILE",
            "--no-sign-request",
        ],
    );
    assert!(err.len() < 400 && !err.contains("DispatchFailure"), "{err}");

    // an input list on S3: one line, no retry warnings
    let work_out = s(work.path());
    let mut args = vec![
        "extract",
        "-o",
        &work_out,
        "--input",
        "s3://lists/batch.jsonl",
    ];
    args.extend_from_slice(&common);
    let o = run_without_credentials(home.path(), &args);
    let err = assert_usage_error(&o, &["no AWS credentials found"]);
    assert!(!err.contains("retry") && !err.contains("WARN"), "{err}");

    // a profile named on the command line gives the credentials and the region
    let aws = home.path().join(".aws");
    std::fs::create_dir(&aws).unwrap();
    std::fs::write(
        aws.join("credentials"),
        "[moto]\naws_access_key_id = test\naws_secret_access_key = test\n",
    )
    .unwrap();
    std::fs::write(aws.join("config"), "[profile moto]\nregion = us-east-1\n").unwrap();
    let mut args = vec![
        "extract",
        "-q",
        "--max-seconds",
        "1",
        "--profile",
        "moto",
        "-o",
        "s3://frames/profile",
    ];
    args.extend_from_slice(&common);
    args.push(&video);
    let o = run_without_credentials(home.path(), &args);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(server
        .list("frames", "profile/")
        .iter()
        .any(|k| k.ends_with("thumbnail.jpg")));

    // a profile that does not exist: one line naming it
    let mut args = vec!["extract", "--profile", "nosuch", "-o", "s3://frames/x"];
    args.extend_from_slice(&common);
    args.push(&video);
    let o = run_without_credentials(home.path(), &args);
    assert_usage_error(&o, &["\"nosuch\""]);

    // unsigned requests need no credentials at all: moto refuses them on a private object
    // (which shows they are unsigned) and serves them once the object is public-read
    let unsigned_out = s(&work.path().join("unsigned"));
    let mut args = vec![
        "extract",
        "-q",
        "--input",
        "s3://lists/batch.jsonl",
        "--no-sign-request",
        "-o",
        &unsigned_out,
    ];
    args.extend_from_slice(&common);
    let o = run_without_credentials(home.path(), &args);
    assert_usage_error(&o, &["access_denied", "HTTP 403"]);
    let client = server.client();
    tokio::runtime::Runtime::new()
        .unwrap()
        .block_on(
            client
                .put_object_acl()
                .bucket("lists")
                .key("batch.jsonl")
                .acl(aws_sdk_s3::types::ObjectCannedAcl::PublicRead)
                .send(),
        )
        .unwrap();
    let o = run_without_credentials(home.path(), &args);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(
        read_jsonl(&work.path().join("unsigned/records.jsonl"))[0]["status"],
        "ok"
    );
}

#[test]
fn a_rerun_with_other_sampling_leaves_exactly_the_records_frames_and_uris_are_absolute() {
    let tmp = tempfile::tempdir().unwrap();
    let inputs = tmp.path().join("in");
    std::fs::create_dir(&inputs).unwrap();
    std::fs::copy(sample("fire2.mp4"), inputs.join("a.mp4")).unwrap();
    std::fs::copy(sample("chaplin.mp4"), inputs.join("b.mp4")).unwrap();
    // run from tmp with a relative --out, as a user in that folder would
    let run = |args: &[&str]| {
        let o = reelframe_command()
            .current_dir(tmp.path())
            .args(["extract", "-q", "-o", "out"])
            .args(args)
            .output()
            .unwrap();
        assert!(o.status.success(), "{}", stderr(&o));
    };
    run(&["--fps", "1", "--max-seconds", "4", "in"]);
    let jpegs = |id: &str| count_files_with_ext(&tmp.path().join("out/tiktok").join(id), "jpg");
    let b_before = jpegs("b");
    assert_eq!(
        jpegs("a"),
        3 + 2,
        "fire2 is 2.1 s long: frames at 0, 1 and 2 s, plus the thumbnail and the contact sheet"
    );
    run(&["--fps", "2", "--max-seconds", "1", "in/a.mp4"]);
    let records = read_jsonl(&tmp.path().join("out/records.jsonl"));
    let a = records.iter().find(|r| r["content_id"] == "a").unwrap();
    let frames = a["derived"]["frames"].as_array().unwrap();
    assert_eq!(frames.len(), 2);
    let mut listed: Vec<String> = std::fs::read_dir(tmp.path().join("out/tiktok/a"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    listed.sort();
    let mut expected: Vec<String> = frames
        .iter()
        .map(|f| {
            f["key"]
                .as_str()
                .unwrap()
                .rsplit('/')
                .next()
                .unwrap()
                .to_string()
        })
        .chain(["thumbnail.jpg".to_string(), "contact_sheet.jpg".to_string()])
        .collect();
    expected.sort();
    assert_eq!(
        listed, expected,
        "the folder holds exactly the record's frames"
    );
    assert_eq!(jpegs("b"), b_before, "another item's folder is untouched");
    // this test's working directory is not tmp: the URIs resolve anyway
    for uri in frames
        .iter()
        .map(|f| &f["uri"])
        .chain([&a["thumbnail"]["uri"]])
    {
        let path = Path::new(uri.as_str().unwrap());
        assert!(path.is_absolute() && path.is_file(), "{uri}");
    }
}

#[test]
fn an_unreachable_s3_endpoint_is_one_line_without_the_sdk_dump() {
    let o = reelframe_command()
        .env("AWS_ACCESS_KEY_ID", "test")
        .env("AWS_SECRET_ACCESS_KEY", "test")
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .args([
            "extract",
            "-o",
            "s3://frames/run",
            "--s3-endpoint",
            "http://127.0.0.1:1",
            "--s3-path-style",
            "--retries",
            "0",
            &s(&sample("fire2.mp4")),
        ])
        .output()
        .unwrap();
    let err = assert_usage_error(
        &o,
        &[
            "checking --out s3://frames/run: cannot reach the S3 store",
            "Connection refused",
            "--s3-endpoint",
        ],
    );
    assert!(
        !err.contains("DispatchFailure") && !err.contains("ConnectorError"),
        "{err}"
    );
}
