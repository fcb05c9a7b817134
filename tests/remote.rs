//! Remote sources and the S3 store, against real servers on 127.0.0.1 started by the tests:
//! a fault-injecting HTTP server (tests/common/http_faults.rs), moto as the S3 server
//! (tests/common/s3_server.rs), and a TCP proxy in front of moto that a test can cut, to make
//! "the store goes away mid-run" without losing moto's in-memory state.

mod common;

use common::http_faults::{Behaviour, FaultServer};
use common::s3_server::S3Server;
use common::*;
use serde_json::{json, Value};
use std::collections::{BTreeMap, HashMap};
use std::io::{Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::path::Path;
use std::process::Output;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

fn bytes_of(name: &str) -> Arc<[u8]> {
    Arc::from(std::fs::read(sample(name)).unwrap())
}

/// Runs reelframe with the S3 server's environment (credentials, region, endpoint).
fn run_with_env(env: &[(String, String)], args: &[&str]) -> Output {
    reelframe_command()
        .envs(env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
        .args(args)
        .output()
        .expect("reelframe runs")
}

/// Runs `reelframe extract -q --input LIST --out OUT` plus `extra` flags (LIST may be a URL).
fn extract_list(list: &str, out: &Path, extra: &[&str]) -> Output {
    let mut args = vec![
        "extract",
        "-q",
        "--input",
        list,
        "--out",
        out.to_str().unwrap(),
    ];
    args.extend_from_slice(extra);
    run_reelframe(&args)
}

/// Records keyed by content_id, asserting each ID appears exactly once.
fn by_id(records: Vec<Value>) -> BTreeMap<String, Value> {
    let mut map = BTreeMap::new();
    for record in records {
        let id = record["content_id"].as_str().unwrap().to_string();
        assert!(
            map.insert(id.clone(), record).is_none(),
            "{id} has two records"
        );
    }
    map
}

fn error_kind(record: &Value) -> &str {
    record["error"]["kind"].as_str().unwrap_or("")
}

/// `content_id` → the frames' blake3 hashes, in order.
fn frame_hashes(record: &Value) -> Vec<String> {
    record["derived"]["frames"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["blake3"].as_str().unwrap().to_string())
        .collect()
}

/// portrait_h264_aac.mp4 lasts 12.0 s: 1 fps gives the targets 0, 1, …, 11 s.
const PORTRAIT_FRAMES: usize = 12;

const CLIPS: [&str; 3] = [
    "portrait_h264_aac.mp4",
    "rotated90.mp4",
    "hevc_portrait.mp4",
];

#[test]
fn http_into_s3_stores_the_same_frames_as_a_local_run() {
    let http = FaultServer::serve_dir(&samples_dir());
    let s3 = S3Server::start();
    s3.create_bucket("frames");
    let dir = tempfile::tempdir().unwrap();
    let remote_list = dir.path().join("remote.jsonl");
    let local_list = dir.path().join("local.jsonl");
    let rows = |url: &dyn Fn(&str) -> String| -> Vec<Value> {
        CLIPS
            .iter()
            .map(|c| json!({"content_id": format!("id-{c}"), "video_url": url(c), "views": 7}))
            .collect()
    };
    write_jsonl(&remote_list, &rows(&|c| http.url(&format!("/{c}"))));
    write_jsonl(
        &local_list,
        &rows(&|c| sample(c).to_string_lossy().into_owned()),
    );

    let journal = dir.path().join("journal.jsonl");
    let extract_into_s3 = |extra: &[&str]| {
        let mut args = vec![
            "extract",
            "--input",
            remote_list.to_str().unwrap(),
            "--out",
            "s3://frames/run",
            "--s3-path-style",
            "--journal",
            journal.to_str().unwrap(),
        ];
        args.extend_from_slice(extra);
        run_with_env(&s3.env(), &args)
    };
    let records_object = || {
        let uploaded = s3
            .get("frames", "run/records.jsonl")
            .expect("records object");
        let records: Vec<Value> = String::from_utf8(uploaded)
            .unwrap()
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        by_id(records)
    };
    let out = extract_into_s3(&[]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let local_out = dir.path().join("local");
    let out = extract_list(local_list.to_str().unwrap(), &local_out, &[]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));

    // the records object is the journal, uploaded at the end
    let remote = records_object();
    let local = by_id(read_jsonl(&local_out.join("records.jsonl")));
    assert_eq!(remote.len(), CLIPS.len());
    let mut objects = 0;
    for (id, record) in &remote {
        assert_eq!(record["status"], "ok", "{record}");
        assert_eq!(record["views"], 7, "unknown fields pass through");
        assert_eq!(record["derived"]["fetch"]["source"], "http");
        assert_eq!(record["derived"]["fetch"]["attempts"], 1);
        assert_eq!(
            record["derived"]["fetch"]["bytes"].as_u64().unwrap(),
            std::fs::metadata(sample(id.trim_start_matches("id-")))
                .unwrap()
                .len()
        );
        assert_eq!(frame_hashes(record), frame_hashes(&local[id]), "{id}");
        let mut objects_of_item = record["derived"]["frames"].as_array().unwrap().clone();
        objects_of_item.push(record["thumbnail"].clone());
        // the contact sheet is stored like the frames
        objects_of_item.push(record["derived"]["contact_sheet"].clone());
        for object in objects_of_item {
            let key = object["key"].as_str().unwrap();
            assert_eq!(object["uri"], format!("s3://frames/run/{key}"));
            let body = s3
                .get("frames", &format!("run/{key}"))
                .unwrap_or_else(|| panic!("{key} is missing from S3"));
            assert_eq!(
                blake3::hash(&body).to_hex().as_str(),
                object["blake3"].as_str().unwrap()
            );
            let (content_type, meta) = s3
                .head_metadata("frames", &format!("run/{key}"))
                .expect("head");
            assert_eq!(content_type.as_deref(), Some("image/jpeg"));
            assert_eq!(
                meta.get("content-id").map(String::as_str),
                Some(id.as_str())
            );
            objects += 1;
        }
        let first = &record["derived"]["frames"][0];
        let (_, meta) = s3
            .head_metadata("frames", &format!("run/{}", first["key"].as_str().unwrap()))
            .unwrap();
        assert_eq!(meta["pts-ms"], first["pts_ms"].to_string());
    }
    // nothing but the frames, the thumbnails, the contact sheets and the records
    assert_eq!(s3.list("frames", "run/").len(), objects + 1);

    // a rerun has nothing left to do
    let out = extract_into_s3(&[]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("0 done, 0 failed, 3 already done"),
        "{}",
        stderr(&out)
    );

    // a rerun with other sampling leaves in each item's folder exactly the JPEGs its new record
    // names: the earlier frames go; what is not a JPEG directly in the folder stays, and so does
    // a folder whose name only starts with the item's
    let folder = |record: &Value| {
        let key = record["thumbnail"]["key"].as_str().unwrap();
        format!("run/{}", key.rsplit_once('/').unwrap().0)
    };
    let some_folder = folder(remote.values().next().unwrap());
    let bystanders = [
        format!("{some_folder}/notes.txt"),
        format!("{some_folder}/deeper/0000_0.jpg"),
        format!("{some_folder}x/0000_0.jpg"),
    ];
    for key in &bystanders {
        s3.put("frames", key, b"not reelframe's");
    }
    let out = extract_into_s3(&["--frames", "2"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let rerun = records_object();
    assert_eq!(rerun.len(), CLIPS.len());
    let mut expected: Vec<String> = bystanders.to_vec();
    expected.push("run/records.jsonl".to_string());
    for (id, record) in &rerun {
        let frames = record["derived"]["frames"].as_array().unwrap();
        assert_eq!(frames.len(), 2, "{id}: {record}");
        assert!(
            remote[id]["derived"]["frames"].as_array().unwrap().len() > 2,
            "{id}: the first run must have had frames for the rerun to remove"
        );
        assert_eq!(folder(record), folder(&remote[id]));
        let named = frames
            .iter()
            .chain([&record["thumbnail"], &record["derived"]["contact_sheet"]]);
        expected.extend(named.map(|object| format!("run/{}", object["key"].as_str().unwrap())));
    }
    expected.sort();
    assert_eq!(s3.list("frames", "run/"), expected);
}

#[test]
fn every_http_fault_ends_in_its_own_outcome_and_the_batch_completes() {
    // far longer than any run: that the run ended before it is what shows nothing waited for it
    let stall = Duration::from_secs(600);
    let video = bytes_of("portrait_h264_aac.mp4");
    let n = video.len();
    let refused = refused_port();
    let server = FaultServer::start([
        ("/ok.mp4", Behaviour::Serve(video.clone())),
        (
            "/slow-start.mp4",
            Behaviour::SlowFirstByte {
                delay: Duration::from_millis(300),
                body: video.clone(),
            },
        ),
        (
            "/stall.mp4",
            Behaviour::StallMidBody {
                after: n / 3,
                stall,
                body: video.clone(),
            },
        ),
        (
            "/drop.mp4",
            Behaviour::DropMidBody {
                after: n / 2,
                body: video.clone(),
            },
        ),
        (
            "/flaky.mp4",
            Behaviour::FailThenServe {
                statuses: vec![500, 503],
                body: video.clone(),
            },
        ),
        (
            "/always-503.mp4",
            Behaviour::FailThenServe {
                statuses: vec![503; 10],
                body: video.clone(),
            },
        ),
        (
            "/ratelimited.mp4",
            Behaviour::RetryAfter {
                status: 429,
                seconds: 1,
                times: 1,
                body: video.clone(),
            },
        ),
        ("/missing.mp4", Behaviour::Status(404)),
        ("/forbidden.mp4", Behaviour::Status(403)),
        ("/teapot.mp4", Behaviour::Status(418)),
        ("/loop-a.mp4", Behaviour::Redirect("/loop-b.mp4".into())),
        ("/loop-b.mp4", Behaviour::Redirect("/loop-a.mp4".into())),
        ("/moved.mp4", Behaviour::Redirect("/ok.mp4".into())),
        (
            "/huge.mp4",
            Behaviour::AdvertiseLength {
                length: 50 << 30,
                body: video.clone(),
            },
        ),
        (
            "/lie-long.mp4",
            Behaviour::LieLong {
                claim: n as u64 + 5000,
                body: video.clone(),
            },
        ),
        (
            "/chunked.mp4",
            Behaviour::Chunked {
                body: video.clone(),
                chunk: 7000,
            },
        ),
        ("/hang.mp4", Behaviour::Hang),
    ]);
    let dir = tempfile::tempdir().unwrap();
    let list = dir.path().join("faults.jsonl");
    let names = [
        "ok",
        "slow-start",
        "stall",
        "drop",
        "flaky",
        "always-503",
        "ratelimited",
        "missing",
        "forbidden",
        "teapot",
        "loop-a",
        "moved",
        "huge",
        "lie-long",
        "chunked",
        "hang",
    ];
    let mut rows: Vec<Value> = names
        .iter()
        .map(|n| json!({"content_id": n, "video_url": server.url(&format!("/{n}.mp4"))}))
        .collect();
    rows.push(json!({"content_id": "refused", "video_url": format!("http://127.0.0.1:{}/x.mp4", refused.port)}));
    rows.push(json!({"content_id": "ftp", "video_url": "ftp://127.0.0.1/x.mp4"}));
    write_jsonl(&list, &rows);
    let out_dir = dir.path().join("out");
    let started = Instant::now();
    let out = extract_list(
        list.to_str().unwrap(),
        &out_dir,
        &[
            // slow-start's 300 ms first byte must pass and stall and hang fail: 2 s keeps both
            // true on a busy machine and the three attempts at each short
            "--read-timeout",
            "2s",
            "--connect-timeout",
            "2s",
            "--fetch-deadline",
            "20s",
            "--retries",
            "2",
            "--max-bytes",
            "20M",
            "--max-redirects",
            "3",
            "--prefetch",
            "20",
        ],
    );
    let elapsed = started.elapsed();
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let records = by_id(read_jsonl(&out_dir.join("records.jsonl")));
    assert_eq!(records.len(), rows.len(), "one record per input row");
    let ok_with_attempts = |id: &str, attempts: u64| {
        let r = &records[id];
        assert_eq!(r["status"], "ok", "{id}: {r}");
        assert_eq!(r["derived"]["fetch"]["attempts"], attempts, "{id}: {r}");
        assert_eq!(
            r["derived"]["frames"].as_array().unwrap().len(),
            PORTRAIT_FRAMES,
            "{id}"
        );
    };
    ok_with_attempts("ok", 1);
    ok_with_attempts("slow-start", 1);
    ok_with_attempts("flaky", 3);
    ok_with_attempts("ratelimited", 2);
    ok_with_attempts("moved", 1);
    ok_with_attempts("chunked", 1);
    let failed = |id: &str, kind: &str, attempts: u64| {
        let r = &records[id];
        assert_eq!(r["status"], "failed", "{id}: {r}");
        assert_eq!(error_kind(r), kind, "{id}: {r}");
        assert_eq!(r["error"]["attempts"], attempts, "{id}: {r}");
        assert!(!r["error"]["message"].as_str().unwrap().is_empty());
    };
    failed("stall", "read_timeout", 3);
    failed("hang", "read_timeout", 3);
    failed("drop", "incomplete_body", 3);
    failed("lie-long", "incomplete_body", 3);
    failed("always-503", "http_status", 3);
    failed("missing", "not_found", 1);
    failed("forbidden", "access_denied", 1);
    failed("teapot", "http_status", 1);
    failed("loop-a", "too_many_redirects", 1);
    failed("huge", "too_large", 1);
    failed("refused", "connection_failed", 3);
    assert_eq!(error_kind(&records["ftp"]), "unsupported_scheme");
    // the server saw exactly the attempts the records report: no retry of a 4xx, no more
    // than --retries on a transient failure
    for (path, hits) in [
        ("/missing.mp4", 1),
        ("/forbidden.mp4", 1),
        ("/teapot.mp4", 1),
        ("/huge.mp4", 1),
        ("/flaky.mp4", 3),
        ("/always-503.mp4", 3),
        ("/drop.mp4", 3),
        ("/ratelimited.mp4", 2),
    ] {
        assert_eq!(server.hits(path), hits, "{path}");
    }
    // Retry-After: 1 was honoured
    let times = server.hit_times("/ratelimited.mp4");
    assert!(
        times[1] - times[0] >= Duration::from_millis(950),
        "retried after {:?}",
        times[1] - times[0]
    );
    // every wait is bounded: nothing waited for the stalled server to go on
    assert!(elapsed < stall, "took {elapsed:?}");
    assert_eq!(server.thread_panics(), 0);
}

#[test]
fn the_fetch_deadline_bounds_a_download_that_keeps_trickling() {
    let video = bytes_of("portrait_h264_aac.mp4");
    let server = FaultServer::start([(
        "/slow.mp4",
        // the stall is under the read timeout, so only the fetch deadline can end the download;
        // both are far from the deadline, so a busy machine cannot finish the download first
        Behaviour::StallMidBody {
            after: 1000,
            stall: Duration::from_secs(30),
            body: video,
        },
    )]);
    let dir = tempfile::tempdir().unwrap();
    let list = dir.path().join("l.jsonl");
    write_jsonl(
        &list,
        &[json!({"content_id": "slow", "video_url": server.url("/slow.mp4")})],
    );
    let out_dir = dir.path().join("out");
    let out = extract_list(
        list.to_str().unwrap(),
        &out_dir,
        &["--read-timeout", "60s", "--fetch-deadline", "800ms"],
    );
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let records = read_jsonl(&out_dir.join("records.jsonl"));
    assert_eq!(error_kind(&records[0]), "fetch_deadline", "{}", records[0]);
    assert_eq!(records[0]["error"]["attempts"], 1);
}

#[test]
fn large_downloads_spill_to_disk_and_decode_the_same() {
    let server = FaultServer::serve_dir(&samples_dir());
    let dir = tempfile::tempdir().unwrap();
    let list = dir.path().join("l.jsonl");
    write_jsonl(
        &list,
        &[json!({"content_id": "p", "video_url": server.url("/portrait_h264_aac.mp4")})],
    );
    let hashes = |extra: &[&str], name: &str| {
        let out_dir = dir.path().join(name);
        let out = extract_list(list.to_str().unwrap(), &out_dir, extra);
        assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
        frame_hashes(&read_jsonl(&out_dir.join("records.jsonl"))[0])
    };
    let in_memory = hashes(&[], "memory");
    let spilled = hashes(&["--spill-above", "100K"], "spilled");
    assert_eq!(in_memory, spilled);
    assert_eq!(in_memory.len(), PORTRAIT_FRAMES);
}

#[test]
fn s3_videos_and_an_s3_input_list_with_missing_objects() {
    let s3 = S3Server::start();
    s3.create_bucket("videos");
    for clip in CLIPS {
        s3.put(
            "videos",
            &format!("in/{clip}"),
            &std::fs::read(sample(clip)).unwrap(),
        );
    }
    let mut rows: Vec<Value> = CLIPS
        .iter()
        .map(|c| json!({"content_id": c, "video_url": format!("s3://videos/in/{c}")}))
        .collect();
    rows.push(json!({"content_id": "gone", "video_url": "s3://videos/in/gone.mp4"}));
    rows.push(json!({"content_id": "nobucket", "video_url": "s3://no-such-bucket/x.mp4"}));
    let text: String = rows.iter().map(|r| format!("{r}\n")).collect();
    s3.put("videos", "lists/batch-1.jsonl", text.as_bytes());

    let dir = tempfile::tempdir().unwrap();
    let out_dir = dir.path().join("out");
    let out = run_with_env(
        &s3.env(),
        &[
            "extract",
            "-q",
            "--input",
            "s3://videos/lists/batch-1.jsonl",
            "--out",
            out_dir.to_str().unwrap(),
            "--s3-path-style",
        ],
    );
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let records = by_id(read_jsonl(&out_dir.join("records.jsonl")));
    assert_eq!(records.len(), 5);
    for clip in CLIPS {
        let r = &records[clip];
        assert_eq!(r["status"], "ok", "{r}");
        assert_eq!(r["derived"]["fetch"]["source"], "s3");
        for frame in r["derived"]["frames"].as_array().unwrap() {
            let path = Path::new(frame["uri"].as_str().unwrap());
            assert!(path.starts_with(&out_dir) && path.is_file());
        }
    }
    assert_eq!(error_kind(&records["gone"]), "not_found");
    assert_eq!(error_kind(&records["nobucket"]), "not_found");
    assert!(
        records["gone"]["error"]["message"]
            .as_str()
            .unwrap()
            .contains("s3://videos/in/gone.mp4"),
        "{}",
        records["gone"]
    );
}

#[test]
fn a_missing_bucket_or_refused_credentials_stop_the_run_before_it_starts() {
    let s3 = S3Server::start();
    let dir = tempfile::tempdir().unwrap();
    let records = dir.path().join("r.jsonl");
    let out = run_with_env(
        &s3.env(),
        &[
            "extract",
            sample("portrait_h264_aac.mp4").to_str().unwrap(),
            "--out",
            "s3://not-there/prefix",
            "--records",
            records.to_str().unwrap(),
            "--s3-path-style",
        ],
    );
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("bucket \"not-there\" does not exist"),
        "{}",
        stderr(&out)
    );

    // An S3 endpoint that answers 403 to everything, as S3 does for bad credentials.
    let denying = FaultServer::start([
        ("/frames", Behaviour::Status(403)),
        ("/frames/", Behaviour::Status(403)),
    ]);
    let out = reelframe_command()
        .envs(
            s3.env()
                .into_iter()
                .filter(|(k, _)| k != "AWS_ENDPOINT_URL"),
        )
        .args([
            "extract",
            sample("portrait_h264_aac.mp4").to_str().unwrap(),
            "--out",
            "s3://frames/x",
            "--records",
            records.to_str().unwrap(),
            "--s3-path-style",
            "--s3-endpoint",
            &denying.url(""),
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("denied (") && stderr(&out).contains("check the credentials"),
        "{}",
        stderr(&out)
    );
}

/// A TCP proxy on loopback that can be cut (every connection closed, new ones refused) and
/// restored on the same port, so the S3 server can "go away" and come back with its state.
struct CuttableProxy {
    port: u16,
    target: u16,
    up: Arc<AtomicBool>,
    conns: Arc<Mutex<Vec<TcpStream>>>,
    stop: Arc<AtomicBool>,
}

impl CuttableProxy {
    fn start(target: u16) -> CuttableProxy {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let proxy = CuttableProxy {
            port,
            target,
            up: Arc::new(AtomicBool::new(true)),
            conns: Arc::default(),
            stop: Arc::default(),
        };
        let (up, conns, stop) = (
            Arc::clone(&proxy.up),
            Arc::clone(&proxy.conns),
            Arc::clone(&proxy.stop),
        );
        std::thread::spawn(move || {
            for client in listener.incoming() {
                if stop.load(Ordering::SeqCst) {
                    break;
                }
                let Ok(client) = client else { continue };
                if !up.load(Ordering::SeqCst) {
                    // "refused": close at once, before any byte
                    let _ = client.shutdown(Shutdown::Both);
                    continue;
                }
                let Ok(server) = TcpStream::connect(("127.0.0.1", target)) else {
                    continue;
                };
                conns.lock().unwrap().push(client.try_clone().unwrap());
                conns.lock().unwrap().push(server.try_clone().unwrap());
                for (mut from, mut to) in [
                    (client.try_clone().unwrap(), server.try_clone().unwrap()),
                    (server, client),
                ] {
                    std::thread::spawn(move || {
                        let mut buf = [0u8; 16384];
                        loop {
                            match from.read(&mut buf) {
                                Ok(0) | Err(_) => break,
                                Ok(n) => {
                                    if to.write_all(&buf[..n]).is_err() {
                                        break;
                                    }
                                }
                            }
                        }
                        let _ = to.shutdown(Shutdown::Write);
                    });
                }
            }
        });
        proxy
    }

    fn endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    fn cut(&self) {
        self.up.store(false, Ordering::SeqCst);
        for conn in self.conns.lock().unwrap().drain(..) {
            let _ = conn.shutdown(Shutdown::Both);
        }
    }

    fn restore(&self) {
        self.up.store(true, Ordering::SeqCst);
    }
}

impl Drop for CuttableProxy {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        self.cut();
        let _ = TcpStream::connect(("127.0.0.1", self.port));
        let _ = self.target;
    }
}

#[test]
fn the_store_going_away_mid_run_loses_nothing_and_a_rerun_finishes() {
    let s3 = S3Server::start();
    s3.create_bucket("frames");
    let proxy = CuttableProxy::start(s3.port());
    // each video takes a moment to arrive, so the run is still going when the store goes away
    let video = bytes_of("portrait_h264_aac.mp4");
    let routes: HashMap<String, Behaviour> = (0..6)
        .map(|i| {
            (
                format!("/v{i}.mp4"),
                Behaviour::SlowFirstByte {
                    delay: Duration::from_millis(600),
                    body: video.clone(),
                },
            )
        })
        .collect();
    let http = FaultServer::start(routes);
    let dir = tempfile::tempdir().unwrap();
    let list = dir.path().join("l.jsonl");
    let rows: Vec<Value> = (0..6)
        .map(|i| json!({"content_id": format!("v{i}"), "video_url": http.url(&format!("/v{i}.mp4"))}))
        .collect();
    write_jsonl(&list, &rows);
    let records_path = dir.path().join("records.jsonl");
    let env: Vec<(String, String)> = s3
        .env()
        .into_iter()
        .filter(|(k, _)| k != "AWS_ENDPOINT_URL")
        .collect();
    let args = |endpoint: &str| -> Vec<String> {
        [
            "extract",
            "-q",
            "--input",
            list.to_str().unwrap(),
            "--out",
            "s3://frames/p",
            "--records",
            records_path.to_str().unwrap(),
            "--s3-path-style",
            "--s3-endpoint",
            endpoint,
            "--jobs",
            "1",
            "--prefetch",
            "0",
            "--retries",
            "1",
            // a cut ends connections at once (closed, not silent): no timeout is waited for,
            // and this one only has to outlast a 600 ms first byte on a busy machine
            "--connect-timeout",
            "1s",
            "--read-timeout",
            "10s",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect()
    };
    let mut child = reelframe_command()
        .envs(env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
        .args(args(&proxy.endpoint()))
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    // cut the store once the first item is recorded
    let waited = Instant::now();
    while std::fs::read_to_string(&records_path)
        .map(|t| t.lines().count())
        .unwrap_or(0)
        < 1
    {
        assert!(waited.elapsed() < Duration::from_secs(60), "no record yet");
        std::thread::sleep(Duration::from_millis(20));
    }
    proxy.cut();
    let status = child.wait().unwrap();
    assert_eq!(status.code(), Some(1), "some items must have failed");
    let first = by_id(read_jsonl(&records_path));
    assert_eq!(first.len(), 6, "every item has a record");
    let failed: Vec<&Value> = first.values().filter(|r| r["status"] == "failed").collect();
    assert!(!failed.is_empty());
    for r in &failed {
        assert!(
            ["store_failed", "connection_failed"].contains(&error_kind(r)),
            "{r}"
        );
    }

    proxy.restore();
    let out = reelframe_command()
        .envs(env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
        .args(args(&proxy.endpoint()))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let last = by_id(read_jsonl(&records_path));
    assert_eq!(last.len(), 6);
    for (id, r) in &last {
        assert_eq!(r["status"], "ok", "{id}: {r}");
        for frame in r["derived"]["frames"].as_array().unwrap() {
            let key = format!("p/{}", frame["key"].as_str().unwrap());
            let body = s3
                .get("frames", &key)
                .unwrap_or_else(|| panic!("{key} missing"));
            assert_eq!(
                blake3::hash(&body).to_hex().as_str(),
                frame["blake3"].as_str().unwrap()
            );
        }
    }
}

#[test]
fn an_http_input_list_is_read_like_a_local_one() {
    let video = bytes_of("portrait_h264_aac.mp4");
    let list: String = (0..3)
        .map(|i| {
            format!(
                "{}\n",
                json!({"content_id": format!("c{i}"), "video_url": "VIDEO"})
            )
        })
        .collect();
    let probe = FaultServer::start([("/v.mp4", Behaviour::Serve(video))]);
    let list = list.replace("VIDEO", &probe.url("/v.mp4"));
    let lists = FaultServer::start([("/list.jsonl", Behaviour::Serve(Arc::from(list.as_bytes())))]);
    let dir = tempfile::tempdir().unwrap();
    let out_dir = dir.path().join("out");
    let out = extract_list(&lists.url("/list.jsonl"), &out_dir, &[]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let records = by_id(read_jsonl(&out_dir.join("records.jsonl")));
    assert_eq!(
        records.keys().cloned().collect::<Vec<_>>(),
        vec!["c0", "c1", "c2"]
    );
    assert_eq!(probe.hits("/v.mp4"), 3);
}

/// The message of a failed record of kind `url_not_allowed` (asserting both, and one attempt).
fn refused_message<'a>(records: &'a BTreeMap<String, Value>, id: &str) -> &'a str {
    let r = &records[id];
    assert_eq!(r["status"], "failed", "{id}: {r}");
    assert_eq!(error_kind(r), "url_not_allowed", "{id}: {r}");
    assert_eq!(r["error"]["attempts"], 1, "{id}: not retried: {r}");
    r["error"]["message"].as_str().unwrap()
}

#[test]
fn urls_to_metadata_and_link_local_addresses_are_refused_in_every_spelling() {
    let video = bytes_of("portrait_h264_aac.mp4");
    let server = FaultServer::start([
        ("/ok.mp4", Behaviour::Serve(video)),
        (
            "/to-metadata",
            Behaviour::Redirect("http://169.254.169.254/latest/meta-data/".into()),
        ),
    ]);
    let port = server.addr().port();
    let dir = tempfile::tempdir().unwrap();
    let list = dir.path().join("list.jsonl");
    let rows = [
        (
            "metadata",
            "http://169.254.169.254/latest/meta-data/".to_string(),
        ),
        ("mapped", "http://[::ffff:169.254.169.254]/".to_string()),
        ("decimal", "http://2852039166/latest/meta-data/".to_string()),
        ("redirect", server.url("/to-metadata")),
        ("ok", server.url("/ok.mp4")),
        ("by-name", format!("http://localhost:{port}/ok.mp4")),
    ];
    let rows: Vec<Value> = rows
        .iter()
        .map(|(id, url)| json!({"content_id": id, "video_url": url}))
        .collect();
    write_jsonl(&list, &rows);
    let out_dir = dir.path().join("out");
    // Were the guard to let a fetch through, it must still not leave loopback: every URL but
    // 127.0.0.1's and localhost's goes through this proxy, which answers nothing and counts.
    let trap = FaultServer::start(Vec::<(String, Behaviour)>::new());
    let out = reelframe_command()
        .args(["extract", "-q", "--input", &s(&list), "--out", &s(&out_dir)])
        .args(["--connect-timeout", "2s", "--retries", "0"])
        .env("http_proxy", trap.url(""))
        .env("HTTP_PROXY", trap.url(""))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert_eq!(trap.connections(), 0, "a refused URL was fetched");
    let validator = schema_validator();
    let records = by_id(read_jsonl(&out_dir.join("records.jsonl")));
    assert_eq!(
        records.len(),
        rows.len(),
        "one record per row: the run went on"
    );
    for record in records.values() {
        assert_valid(&validator, record);
    }
    assert_eq!(
        refused_message(&records, "metadata"),
        "http://169.254.169.254/latest/meta-data/: 169.254.169.254, a link-local address, \
         where cloud metadata services answer: reelframe never fetches from one (no flag allows it)"
    );
    let mapped = refused_message(&records, "mapped");
    assert!(
        mapped.contains("::ffff:169.254.169.254, a link-local address"),
        "{mapped}"
    );
    let decimal = refused_message(&records, "decimal");
    assert!(
        decimal.contains(": 169.254.169.254, a link-local address"),
        "{decimal}"
    );
    let redirect = refused_message(&records, "redirect");
    assert!(
        redirect.contains("a redirect leads to 169.254.169.254, a link-local address"),
        "{redirect}"
    );
    assert_eq!(
        server.hits("/to-metadata"),
        1,
        "the redirect was asked once"
    );
    // private addresses are allowed by default, by address and by name
    for id in ["ok", "by-name"] {
        let r = &records[id];
        assert_eq!(r["status"], "ok", "{id}: {r}");
        assert_eq!(
            r["derived"]["frames"].as_array().unwrap().len(),
            PORTRAIT_FRAMES
        );
    }
}

#[test]
fn private_urls_deny_refuses_loopback_by_address_and_by_name_without_connecting() {
    let video = bytes_of("portrait_h264_aac.mp4");
    let server = FaultServer::start([("/x.mp4", Behaviour::Serve(video))]);
    let port = server.addr().port();
    let dir = tempfile::tempdir().unwrap();
    let list = dir.path().join("list.jsonl");
    let rows = [
        json!({"content_id": "address", "video_url": server.url("/x.mp4")}),
        json!({"content_id": "name", "video_url": format!("http://localhost:{port}/x.mp4")}),
    ];
    write_jsonl(&list, &rows);
    let denied = dir.path().join("denied");
    let out = extract_list(list.to_str().unwrap(), &denied, &["--private-urls", "deny"]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let records = by_id(read_jsonl(&denied.join("records.jsonl")));
    assert_eq!(
        refused_message(&records, "address"),
        format!(
            "http://127.0.0.1:{port}/x.mp4: 127.0.0.1, a loopback address, refused by \
             --private-urls deny: give --private-urls allow to fetch from private addresses"
        )
    );
    let by_name = refused_message(&records, "name");
    assert!(
        by_name.contains(
            "localhost resolves to 127.0.0.1, a loopback address, refused by --private-urls deny"
        ),
        "{by_name}"
    );
    assert_eq!(server.connections(), 0, "no connection was attempted");

    // the same rows by default: fetched, and the server counts the connections
    let allowed = dir.path().join("allowed");
    let out = extract_list(list.to_str().unwrap(), &allowed, &[]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let records = by_id(read_jsonl(&allowed.join("records.jsonl")));
    assert!(records.values().all(|r| r["status"] == "ok"), "{records:?}");
    assert_eq!(server.connections(), 2);
}
