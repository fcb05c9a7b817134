//! `reelframe serve` over real HTTP on loopback: the binary is started on a free port and driven
//! with reqwest. Answers are compared with `reelframe extract`'s records for the same inputs;
//! every error status, saturation, coalescing, the token, the allowed roots and SIGTERM are
//! exercised as a client sees them.

mod common;

use common::http_faults::{Behaviour, FaultServer, Gate};
use common::serve_process::spawn_serve;
use common::{
    make_broken, read_jsonl, reelframe_command, run_reelframe, s, sample, samples_dir, stderr,
};
use serde_json::{json, Value};
use std::collections::HashMap;
use std::path::PathBuf;
use std::process::{Child, Stdio};
use std::sync::Arc;
use std::time::Duration;

/// A `reelframe serve` process on 127.0.0.1 and a free port; killed when dropped.
struct Server {
    child: Child,
    base: String,
    token: Option<String>,
    log: PathBuf,
    _scratch: tempfile::TempDir,
}

impl Server {
    fn start(args: &[&str]) -> Server {
        Server::start_with_env(args, &[])
    }

    fn start_with_env(args: &[&str], env: &[(&str, &str)]) -> Server {
        let scratch = tempfile::tempdir().unwrap();
        let log = scratch.path().join("serve.log");
        let (child, address) = spawn_serve(
            reelframe_command()
                .args(["serve", "--listen", "127.0.0.1:0"])
                .args(args)
                .envs(env.iter().copied())
                .stderr(std::fs::File::create(&log).unwrap()),
        );
        let address = address.unwrap_or_else(|| {
            panic!(
                "no address line; log: {}",
                std::fs::read_to_string(&log).unwrap_or_default()
            )
        });
        let token = args
            .iter()
            .position(|a| *a == "--token")
            .map(|i| args[i + 1].to_string());
        Server {
            child,
            base: address,
            token,
            log,
            _scratch: scratch,
        }
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    fn auth(&self, request: reqwest::RequestBuilder) -> reqwest::RequestBuilder {
        match &self.token {
            Some(token) => request.bearer_auth(token),
            None => request,
        }
    }

    /// POSTs `body` as JSON; returns the status, the `X-Reelframe-Source` header and the body.
    async fn post(&self, body: &Value) -> (u16, String, Value) {
        let request = client()
            .post(self.url("/store_video_frames"))
            .header("content-type", "application/json")
            .body(body.to_string());
        let response = self.auth(request).send().await.unwrap();
        let status = response.status().as_u16();
        let source = response
            .headers()
            .get("x-reelframe-source")
            .map(|v| v.to_str().unwrap().to_string())
            .unwrap_or_default();
        let text = response.text().await.unwrap();
        let value = serde_json::from_str(&text)
            .unwrap_or_else(|e| panic!("answer is not JSON ({e}): {text:?}"));
        (status, source, value)
    }

    /// The value of an unlabelled or labelled sample in `/metrics` (0 when absent).
    async fn metric(&self, name: &str) -> f64 {
        let text = self
            .auth(client().get(self.url("/metrics")))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        text.lines()
            .find_map(|l| l.strip_prefix(name)?.strip_prefix(' ')?.parse().ok())
            .unwrap_or(0.0)
    }

    /// Polls `/metrics` until `name` reaches `value` (no time limit of its own: the test's
    /// deadline is the harness's).
    async fn wait_for_metric(&self, name: &str, value: f64) {
        while self.metric(name).await < value {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Runs `reelframe serve --listen 127.0.0.1:0 ARGS…`, which must exit at start; fails the test
/// (stopping the server) if it listens instead.
fn refused_at_start(args: &[&str]) -> std::process::Output {
    let (mut child, address) = spawn_serve(
        reelframe_command()
            .args(["serve", "--listen", "127.0.0.1:0"])
            .args(args)
            .stderr(Stdio::piped()),
    );
    if let Some(address) = address {
        let _ = child.kill();
        let o = child.wait_with_output().unwrap();
        panic!("the server started on {address}: {}", stderr(&o));
    }
    child.wait_with_output().unwrap()
}

fn client() -> reqwest::Client {
    reqwest::Client::builder().no_proxy().build().unwrap()
}

fn request(uri: &str, id: &str) -> Value {
    json!({"video_uri": uri, "platform": "TIKTOK", "content_id": id, "max_seconds": 60})
}

fn without_timing(mut derived: Value) -> Value {
    derived["fetch"].as_object_mut().unwrap().remove("ms");
    derived
}

/// The status the README promises for each item error kind.
fn status_for(kind: &str) -> u16 {
    match kind {
        "not_found" | "access_denied" | "connection_failed" | "connect_timeout" | "io" => 404,
        "too_large" => 413,
        "empty_file" | "unreadable" | "not_video" | "no_video_stream" | "unsupported_codec" => 415,
        "truncated" | "corrupt_data" | "decode_failed" | "no_frames" => 422,
        "timeout" | "fetch_deadline" => 504,
        other => panic!("unexpected kind {other}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn answers_equal_extract_records_and_repeats_come_from_the_store() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    let samples = samples_dir();
    let server = Server::start(&["--out", &s(&out), "--allow-root", &s(&samples), "-q"]);
    let mut videos: Vec<PathBuf> = std::fs::read_dir(&samples)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| matches!(p.extension().and_then(|e| e.to_str()), Some("mp4" | "webm")))
        .collect();
    videos.sort();
    let mut answers = HashMap::new();
    for video in &videos {
        let id = video.file_stem().unwrap().to_str().unwrap().to_string();
        let answer = server.post(&request(&s(video), &id)).await;
        answers.insert(id, answer);
    }
    let records_path = dir.path().join("extract.jsonl");
    let o = run_reelframe([
        "extract",
        &s(&samples),
        "-o",
        &s(&out),
        "--records",
        &s(&records_path),
        "-q",
    ]);
    assert!(
        o.status.code().is_some_and(|c| c <= 1),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let records = read_jsonl(&records_path);
    assert_eq!(records.len(), videos.len());
    let mut ok = 0;
    for record in &records {
        let id = record["content_id"].as_str().unwrap();
        let (status, source, body) = &answers[id];
        if record["status"] == "ok" {
            ok += 1;
            assert_eq!((*status, source.as_str()), (200, "decoded"), "{id}: {body}");
            assert_eq!(
                body.as_object().unwrap().len(),
                2,
                "{id}: only derived and thumbnail"
            );
            assert_eq!(
                without_timing(body["derived"].clone()),
                without_timing(record["derived"].clone()),
                "{id}"
            );
            assert_eq!(body["thumbnail"], record["thumbnail"], "{id}");
        } else {
            let kind = record["error"]["kind"].as_str().unwrap();
            assert_eq!(*status, status_for(kind), "{id}: {body}");
            assert_eq!(body["error"]["kind"], kind, "{id}");
        }
    }
    assert!(ok >= 8, "only {ok} samples extracted");
    let decodes = videos.len() as f64;
    assert_eq!(server.metric("reelframe_decodes_total").await, decodes);

    // a repeat comes from the store, byte for byte; force decodes again
    let id = "example";
    let again = server.post(&request(&s(&sample("example.mp4")), id)).await;
    assert_eq!((again.0, again.1.as_str()), (200, "store"));
    assert_eq!(again.2, answers[id].2);
    assert_eq!(server.metric("reelframe_decodes_total").await, decodes);
    assert_eq!(
        server
            .metric("reelframe_decodes_avoided_total{reason=\"store\"}")
            .await,
        1.0
    );
    let mut forced = request(&s(&sample("example.mp4")), id);
    forced["force"] = json!(true);
    let forced = server.post(&forced).await;
    assert_eq!((forced.0, forced.1.as_str()), (200, "decoded"));
    assert_eq!(
        server.metric("reelframe_decodes_total").await,
        decodes + 1.0
    );
    // other sampling is another answer
    let mut three = request(&s(&sample("example.mp4")), id);
    three["frames"] = json!(3);
    let three = server.post(&three).await;
    assert_eq!((three.0, three.1.as_str()), (200, "decoded"));
    assert_eq!(three.2["derived"]["frames"].as_array().unwrap().len(), 3);
    drop(server);

    // a restarted server answers from the records it journaled, without decoding
    let server = Server::start(&["--out", &s(&out), "--allow-root", &s(&samples), "-q"]);
    let again = server.post(&request(&s(&sample("example.mp4")), id)).await;
    assert_eq!((again.0, again.1.as_str()), (200, "store"));
    assert_eq!(
        without_timing(again.2["derived"].clone()),
        without_timing(answers[id].2["derived"].clone())
    );
    assert_eq!(server.metric("reelframe_decodes_total").await, 0.0);
}

fn error_of(body: &Value) -> (&str, &str) {
    let error = body["error"]
        .as_object()
        .unwrap_or_else(|| panic!("no error object: {body}"));
    assert_eq!(body.as_object().unwrap().len(), 1, "{body}");
    assert_eq!(error.len(), 2, "{body}");
    (
        error["kind"].as_str().unwrap(),
        error["message"].as_str().unwrap(),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_error_has_its_status_and_a_json_body() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("root");
    std::fs::create_dir(&root).unwrap();
    make_broken(&root);
    let root = std::fs::canonicalize(&root).unwrap();
    std::fs::copy(sample("example.mp4"), root.join("big.mp4")).unwrap();
    std::fs::write(dir.path().join("secret.mp4"), b"outside").unwrap();
    std::os::unix::fs::symlink(dir.path().join("secret.mp4"), root.join("link.mp4")).unwrap();
    let closed = common::refused_port();
    let to_metadata = FaultServer::start([(
        "/r",
        Behaviour::Redirect("http://[::ffff:169.254.169.254]/latest/meta-data/".into()),
    )]);
    // were the guard to let a refused URL through, it would reach this loopback proxy, not leave
    // the machine
    let trap = FaultServer::start(Vec::<(String, Behaviour)>::new());
    let proxy = trap.url("");
    let server = Server::start_with_env(
        &[
            "--out",
            &s(&dir.path().join("out")),
            "--allow-root",
            &s(&root),
            "--max-body",
            "2K",
            "--max-bytes",
            "1M",
            "--retries",
            "0",
            "-q",
        ],
        &[("http_proxy", &proxy), ("HTTP_PROXY", &proxy)],
    );
    let f = |name: &str| s(&root.join(name));
    let cases: Vec<(Value, u16, &str, &str)> = vec![
        (
            json!({"video_uri": f("big.mp4")}),
            400,
            "invalid_request",
            "content_id",
        ),
        (
            json!({"content_id": "a"}),
            400,
            "invalid_request",
            "video_uri",
        ),
        (
            json!({"content_id": "a", "video_uri": f("big.mp4"), "platform": 7}),
            400,
            "invalid_request",
            "platform",
        ),
        (
            json!({"content_id": "a", "video_uri": f("big.mp4"), "fps": "fast"}),
            400,
            "invalid_request",
            "fps",
        ),
        (
            json!({"content_id": "a", "video_uri": f("big.mp4"), "max_seconds": -1}),
            400,
            "invalid_request",
            "max_seconds",
        ),
        (
            json!({"content_id": "a", "video_uri": f("big.mp4"), "force": "yes"}),
            400,
            "invalid_request",
            "force",
        ),
        (json!([1, 2]), 400, "invalid_json", ""),
        (
            request("ftp://example.com/v.mp4", "a"),
            400,
            "unsupported_scheme",
            "video_uri",
        ),
        (
            request("relative/v.mp4", "a"),
            400,
            "invalid_request",
            "video_uri",
        ),
        (
            request(&f("missing.mp4"), "a"),
            404,
            "not_found",
            "video_uri",
        ),
        (
            request(&format!("http://127.0.0.1:{}/v.mp4", closed.port), "a"),
            404,
            "connection_failed",
            "",
        ),
        (
            request("http://169.254.169.254/latest/meta-data/", "a"),
            400,
            "url_not_allowed",
            "video_uri: http://169.254.169.254/latest/meta-data/: 169.254.169.254, a link-local address",
        ),

        (request(&f("big.mp4"), "a"), 413, "too_large", ""),
        (request(&f("random_bytes.mp4"), "a"), 415, "unreadable", ""),
        (request(&f("jpeg_named.mp4"), "a"), 415, "not_video", ""),
        (request(&f("empty.mp4"), "a"), 415, "empty_file", ""),
        (
            request(&f("garbage_middle.mp4"), "a"),
            422,
            "corrupt_data",
            "",
        ),
        (
            request("/etc/hostname", "a"),
            403,
            "forbidden_path",
            "video_uri",
        ),
        (
            request(&format!("{}/../secret.mp4", s(&root)), "a"),
            403,
            "forbidden_path",
            "video_uri",
        ),
        (
            request(&f("link.mp4"), "a"),
            403,
            "forbidden_path",
            "video_uri",
        ),
        (
            request(
                &format!("file://{}", s(&dir.path().join("secret.mp4"))),
                "a",
            ),
            403,
            "forbidden_path",
            "video_uri",
        ),
    ];
    for (body, status, kind, field) in cases {
        let (got, _, answer) = server.post(&body).await;
        let (got_kind, message) = error_of(&answer);
        assert_eq!((got, got_kind), (status, kind), "{body}: {answer}");
        assert!(
            message.starts_with(field),
            "{body}: message should name {field:?}: {message}"
        );
    }
    // a source that redirects to the metadata service: refused at the hop
    let (status, _, answer) = server.post(&request(&to_metadata.url("/r"), "a")).await;
    let (kind, message) = error_of(&answer);
    assert_eq!((status, kind), (400, "url_not_allowed"), "{answer}");
    assert!(
        message.ends_with(
            "/r: a redirect leads to ::ffff:169.254.169.254, a link-local address, where cloud \
             metadata services answer: reelframe never fetches from one (no flag allows it)"
        ),
        "{message}"
    );
    assert_eq!(to_metadata.hits("/r"), 1);
    assert_eq!(trap.connections(), 0, "a refused URL was fetched");
    // the body itself: size, media type, not JSON
    let big = json!({"content_id": "a", "video_uri": f("big.mp4"), "pad": "x".repeat(3000)});
    let cases = [
        ("application/json", big.to_string(), 413, "body_too_large"),
        (
            "text/plain",
            request(&f("big.mp4"), "a").to_string(),
            415,
            "unsupported_media_type",
        ),
        (
            "application/json",
            "{not json".to_string(),
            400,
            "invalid_json",
        ),
    ];
    for (content_type, body, status, kind) in cases {
        let response = client()
            .post(server.url("/store_video_frames"))
            .header("content-type", content_type)
            .body(body)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status().as_u16(), status, "{kind}");
        let answer: Value = serde_json::from_str(&response.text().await.unwrap()).unwrap();
        assert_eq!(error_of(&answer).0, kind);
    }
    // routes and methods
    let response = client().get(server.url("/nope")).send().await.unwrap();
    assert_eq!(response.status().as_u16(), 404);
    let answer: Value = serde_json::from_str(&response.text().await.unwrap()).unwrap();
    assert_eq!(error_of(&answer).0, "no_route");
    let response = client()
        .get(server.url("/store_video_frames"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 405);
    for path in ["/healthz", "/readyz"] {
        assert_eq!(
            client()
                .get(server.url(path))
                .send()
                .await
                .unwrap()
                .status()
                .as_u16(),
            200,
            "{path}"
        );
    }
    // nothing was decoded for a refused request, and nothing outside the root was read
    assert_eq!(
        server
            .metric("reelframe_http_requests_total{route=\"store_video_frames\",status=\"403\"}")
            .await,
        4.0
    );
    drop(server);

    // 504: a source that never answers, past the request deadline
    let hang = FaultServer::start([("/hang.mp4", Behaviour::Hang)]);
    let server = Server::start(&[
        "--out",
        &s(&dir.path().join("out2")),
        "--request-timeout",
        "1s",
        "-q",
    ]);
    let (status, _, answer) = server.post(&request(&hang.url("/hang.mp4"), "h")).await;
    assert_eq!((status, error_of(&answer).0), (504, "timeout"), "{answer}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn saturation_answers_503_at_once_and_loses_nothing_in_flight() {
    let dir = tempfile::tempdir().unwrap();
    let body: Arc<[u8]> = Arc::from(std::fs::read(sample("chaplin.mp4")).unwrap());
    // the source answers once the test has seen the third request refused: until then the first
    // request holds the only slot and the second the only queue place, however slow the machine
    let gate = Gate::new();
    let held = |body: &Arc<[u8]>| Behaviour::Gated {
        gate: gate.clone(),
        body: Arc::clone(body),
    };
    let source = FaultServer::start([
        ("/a.mp4", held(&body)),
        ("/b.mp4", held(&body)),
        ("/c.mp4", held(&body)),
    ]);
    let server = Arc::new(Server::start(&[
        "--out",
        &s(&dir.path().join("out")),
        "--max-inflight",
        "1",
        "--max-queue",
        "1",
        "-q",
    ]));
    let first = {
        let (server, uri) = (Arc::clone(&server), source.url("/a.mp4"));
        tokio::spawn(async move { server.post(&request(&uri, "a")).await })
    };
    server.wait_for_metric("reelframe_inflight", 1.0).await;
    let second = {
        let (server, uri) = (Arc::clone(&server), source.url("/b.mp4"));
        tokio::spawn(async move { server.post(&request(&uri, "b")).await })
    };
    server.wait_for_metric("reelframe_queue_depth", 1.0).await;
    let response = client()
        .post(server.url("/store_video_frames"))
        .header("content-type", "application/json")
        .body(request(&source.url("/c.mp4"), "c").to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 503);
    let retry_after: u64 = response.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!(retry_after >= 1);
    let answer: Value = serde_json::from_str(&response.text().await.unwrap()).unwrap();
    assert_eq!(error_of(&answer).0, "saturated");
    assert_eq!(
        source.hits("/c.mp4"),
        0,
        "a refused request fetches nothing"
    );
    gate.open();
    for (task, id) in [(first, "a"), (second, "b")] {
        let (status, source, body) = task.await.unwrap();
        assert_eq!((status, source.as_str()), (200, "decoded"), "{id}: {body}");
        assert!(!body["derived"]["frames"].as_array().unwrap().is_empty());
    }
    assert_eq!(server.metric("reelframe_rejected_total").await, 1.0);
    assert_eq!(server.metric("reelframe_decodes_total").await, 2.0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn eight_concurrent_duplicates_decode_once() {
    let dir = tempfile::tempdir().unwrap();
    let body: Arc<[u8]> = Arc::from(std::fs::read(sample("chaplin.mp4")).unwrap());
    // the source answers once all eight requests have reached the server, so none of them can
    // come after the extraction ended, however slow the machine
    let gate = Gate::new();
    let source = FaultServer::start([(
        "/d.mp4",
        Behaviour::Gated {
            gate: gate.clone(),
            body,
        },
    )]);
    let server = Arc::new(Server::start(&["--out", &s(&dir.path().join("out")), "-q"]));
    let tasks: Vec<_> = (0..8)
        .map(|_| {
            let (server, uri) = (Arc::clone(&server), source.url("/d.mp4"));
            tokio::spawn(async move { server.post(&request(&uri, "dup")).await })
        })
        .collect();
    // every request either started an extraction or joined one
    let coalesced = "reelframe_decodes_avoided_total{reason=\"coalesced\"}";
    let started = std::time::Instant::now();
    loop {
        let seen = server.metric("reelframe_decodes_total").await + server.metric(coalesced).await;
        if seen >= 8.0 {
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "only {seen} of 8 requests reached the server"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    gate.open();
    let mut answers = Vec::new();
    for task in tasks {
        answers.push(task.await.unwrap());
    }
    let decoded = answers.iter().filter(|a| a.1 == "decoded").count();
    assert_eq!(decoded, 1);
    for (status, _, body) in &answers {
        assert_eq!(*status, 200, "{body}");
        assert_eq!(body, &answers[0].2);
    }
    assert_eq!(server.metric("reelframe_decodes_total").await, 1.0);
    assert_eq!(
        server
            .metric("reelframe_decodes_avoided_total{reason=\"coalesced\"}")
            .await,
        7.0
    );
    assert_eq!(source.hits("/d.mp4"), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_finishes_requests_in_flight_then_exits_0() {
    let dir = tempfile::tempdir().unwrap();
    let body: Arc<[u8]> = Arc::from(std::fs::read(sample("chaplin.mp4")).unwrap());
    // the source answers only once the server has said it is finishing: both requests are then
    // in flight at the signal, however slow the machine
    let gate = Gate::new();
    let held = |body: &Arc<[u8]>| Behaviour::Gated {
        gate: gate.clone(),
        body: Arc::clone(body),
    };
    let source = FaultServer::start([("/a.mp4", held(&body)), ("/b.mp4", held(&body))]);
    let mut server = Server::start(&["--out", &s(&dir.path().join("out")), "--max-inflight", "2"]);
    let tasks: Vec<_> = ["a", "b"]
        .into_iter()
        .map(|id| {
            let (url, uri) = (
                server.url("/store_video_frames"),
                source.url(&format!("/{id}.mp4")),
            );
            tokio::spawn(async move {
                let response = client()
                    .post(url)
                    .header("content-type", "application/json")
                    .body(request(&uri, id).to_string())
                    .send()
                    .await
                    .unwrap();
                (response.status().as_u16(), response.text().await.unwrap())
            })
        })
        .collect();
    server.wait_for_metric("reelframe_inflight", 2.0).await;
    // SAFETY: kill(2) on the child's pid, which this test owns and has not yet reaped.
    assert_eq!(
        unsafe { libc::kill(server.child.id() as i32, libc::SIGTERM) },
        0
    );
    let signalled = std::time::Instant::now();
    while !server.log().contains("finishing in-flight requests") {
        assert!(
            signalled.elapsed() < Duration::from_secs(60),
            "the server never said it was finishing: {}",
            server.log()
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    gate.open();
    for task in tasks {
        let (status, text) = task.await.unwrap();
        assert_eq!(status, 200, "{text}");
        let answer: Value = serde_json::from_str(&text).unwrap();
        assert!(!answer["derived"]["frames"].as_array().unwrap().is_empty());
    }
    let status = server.child.wait().unwrap();
    assert_eq!(status.code(), Some(0), "{}", server.log());
    assert!(
        server.log().contains("finishing in-flight requests"),
        "{}",
        server.log()
    );
    assert!(
        client().get(server.url("/healthz")).send().await.is_err(),
        "still accepting after exit"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_token_is_enforced_and_other_interfaces_need_one() {
    let dir = tempfile::tempdir().unwrap();
    let token = "a-long-enough-secret-token";
    let server = Server::start(&[
        "--out",
        &s(&dir.path().join("out")),
        "--token",
        token,
        "--allow-root",
        &s(&samples_dir()),
        "-q",
    ]);
    let url = server.url("/store_video_frames");
    let body = request(&s(&sample("rotated90.mp4")), "r").to_string();
    for presented in [
        None,
        Some("wrong-token-of-some-length"),
        Some("a-long-enough-secret-toke"),
    ] {
        let mut call = client()
            .post(&url)
            .header("content-type", "application/json")
            .body(body.clone());
        if let Some(t) = presented {
            call = call.bearer_auth(t);
        }
        let response = call.send().await.unwrap();
        assert_eq!(response.status().as_u16(), 401, "{presented:?}");
        assert_eq!(response.headers()["www-authenticate"], "Bearer");
        let answer: Value = serde_json::from_str(&response.text().await.unwrap()).unwrap();
        assert_eq!(error_of(&answer).0, "unauthorized");
    }
    assert_eq!(
        client()
            .get(server.url("/metrics"))
            .send()
            .await
            .unwrap()
            .status()
            .as_u16(),
        401
    );
    assert_eq!(
        client()
            .get(server.url("/healthz"))
            .send()
            .await
            .unwrap()
            .status()
            .as_u16(),
        200
    );
    let (status, _, answer) = server
        .post(&request(&s(&sample("rotated90.mp4")), "r"))
        .await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(server.metric("reelframe_decodes_total").await, 1.0);

    // a non-loopback address without a token is refused at start, naming the fix
    let o = run_reelframe([
        "serve",
        "--listen",
        "0.0.0.0:0",
        "--out",
        &s(&dir.path().join("o")),
    ]);
    assert_eq!(o.status.code(), Some(2));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("--token") && err.contains("--insecure-no-auth"),
        "{err}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_decoder_that_crashes_costs_its_request_not_the_server() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    let samples = samples_dir();
    // the test-only fault hook makes the decoder process of item `boom` die of SIGSEGV
    let server = Server::start_with_env(
        &["--out", &s(&out), "--allow-root", &s(&samples), "-q"],
        &[("REELFRAME_FAULT", "segv:boom")],
    );
    let video = s(&samples.join("fire2.mp4"));
    let (status, _, body) = server.post(&request(&video, "boom")).await;
    assert_eq!(status, 500, "{body}");
    let (kind, message) = error_of(&body);
    assert_eq!(kind, "decoder_crashed");
    assert!(message.contains("SIGSEGV"), "{message}");
    // the server lives on, and the next request gets a new decoder
    let (status, source, body) = server.post(&request(&video, "fine")).await;
    assert_eq!((status, source.as_str()), (200, "decoded"), "{body}");
    assert_eq!(body["derived"]["frames"].as_array().unwrap().len(), 3);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serve_and_extract_never_write_one_records_journal_at_once() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    let journal = out.join("records.jsonl");
    let ids_in_journal = || {
        read_jsonl(&journal)
            .iter()
            .map(|r| {
                (
                    r["content_id"].as_str().unwrap().to_string(),
                    r["status"].clone(),
                )
            })
            .collect::<Vec<_>>()
    };
    // exit code 2 and one line naming the command and the process that holds the journal
    let assert_refused = |o: &std::process::Output, holder: &str, pid: u32| {
        let message = stderr(o);
        assert_eq!(o.status.code(), Some(2), "{message}");
        let named = format!(
            "another reelframe {holder} (pid {pid}) is writing {}",
            journal.display()
        );
        assert!(message.contains(&named), "{message}");
        assert_eq!(message.trim().lines().count(), 1, "{message}");
    };
    let samples = samples_dir();
    let server = Server::start(&["--out", &s(&out), "--allow-root", &s(&samples), "-q"]);
    let (status, _, answer) = server.post(&request(&s(&sample("chaplin.mp4")), "a")).await;
    assert_eq!(status, 200, "{answer}");

    // an extract on the server's output stops at once, naming the server
    let o = run_reelframe(["extract", &s(&sample("fire2.mp4")), "-o", &s(&out)]);
    assert_refused(&o, "serve", server.child.id());
    // and the server's journal is as the server wrote it, which goes on appending to it
    let (status, _, answer) = server
        .post(&request(&s(&sample("rotated90.mp4")), "b"))
        .await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(
        ids_in_journal(),
        [
            ("a".to_string(), json!("ok")),
            ("b".to_string(), json!("ok"))
        ]
    );
    drop(server);

    // while an extract holds the output, a server on it refuses to start, naming the extract
    let mut extract = common::extract_holding_output(&out, &[]);
    let o = refused_at_start(&["--out", &s(&out)]);
    assert_refused(&o, "extract", extract.id());
    drop(extract.stdin.take());
    assert_eq!(extract.wait().unwrap().code(), Some(0));

    // once the extract has ended, the server starts and answers from the journal it left whole
    let server = Server::start(&["--out", &s(&out), "--allow-root", &s(&samples), "-q"]);
    let (status, source, answer) = server.post(&request(&s(&sample("chaplin.mp4")), "a")).await;
    assert_eq!((status, source.as_str()), (200, "store"), "{answer}");
}

#[test]
fn a_journal_on_stdout_is_refused_naming_the_flag_and_the_fix() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    let o = refused_at_start(&["--out", &s(&out), "--records", "-"]);
    let message = stderr(&o);
    assert_eq!(o.status.code(), Some(2), "{message}");
    assert_eq!(message.trim().lines().count(), 1, "{message}");
    assert!(
        message.contains("--records -") && message.contains("give a file path"),
        "{message}"
    );
    assert!(!dir.path().join("-").exists() && !out.join("-").exists());
}

/// Asks one item with the server's own sampling (A), other sampling (B: other frames, so other
/// files; C: other quality, so the same file names with other bytes), then each again, also
/// after a restart; every file every answer names must exist with the bytes its blake3 says.
/// `read` fetches the bytes behind a URI, `None` when there are none.
async fn answers_of_one_item_keep_their_files(
    start: impl Fn() -> Server,
    read: impl Fn(&str) -> Option<Vec<u8>>,
) {
    let video = s(&sample("fire2.mp4"));
    let mut b = request(&video, "item");
    b["frames"] = json!(5);
    let mut c = request(&video, "item");
    c["quality"] = json!(50);
    let asks = [request(&video, "item"), b, c];
    let check_files = |answers: &[Value]| {
        for answer in answers {
            let derived = &answer["derived"];
            let named = derived["frames"]
                .as_array()
                .unwrap()
                .iter()
                .chain([&answer["thumbnail"], &derived["contact_sheet"]]);
            for object in named {
                let uri = object["uri"].as_str().unwrap();
                let bytes = read(uri).unwrap_or_else(|| panic!("{uri} is gone"));
                assert_eq!(
                    blake3::hash(&bytes).to_hex().as_str(),
                    object["blake3"],
                    "{uri} holds other bytes than its answer says"
                );
            }
        }
    };
    let server = start();
    let mut answers = Vec::new();
    for ask in &asks {
        let (status, source, answer) = server.post(ask).await;
        assert_eq!((status, source.as_str()), (200, "decoded"), "{answer}");
        answers.push(answer);
    }
    assert_eq!(answers[1]["derived"]["frames"].as_array().unwrap().len(), 5);
    let keys = |a: &Value| a["thumbnail"]["key"].as_str().unwrap().to_string();
    assert_eq!(keys(&answers[0]), "tiktok/item/thumbnail.jpg");
    assert!(keys(&answers[1]).starts_with("tiktok/item/s-"));
    check_files(&answers);
    // extracting the server's sampling again cleans the item's own folder, not the folders of
    // the other samplings inside it
    let mut forced = asks[0].clone();
    forced["force"] = json!(true);
    let (status, source, answer) = server.post(&forced).await;
    assert_eq!((status, source.as_str()), (200, "decoded"), "{answer}");
    answers[0] = answer;
    check_files(&answers);
    for (ask, answer) in asks.iter().zip(&answers) {
        let again = server.post(ask).await;
        assert_eq!((again.0, again.1.as_str()), (200, "store"));
        assert_eq!(&again.2, answer);
    }
    drop(server);
    let server = start();
    for (ask, answer) in asks.iter().zip(&answers) {
        let again = server.post(ask).await;
        assert_eq!((again.0, again.1.as_str()), (200, "store"));
        assert_eq!(
            without_timing(again.2["derived"].clone()),
            without_timing(answer["derived"].clone())
        );
    }
    check_files(&answers);
    assert_eq!(server.metric("reelframe_decodes_total").await, 0.0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn answers_with_other_sampling_keep_each_others_files_in_a_directory() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    let samples = samples_dir();
    let start = || Server::start(&["--out", &s(&out), "--allow-root", &s(&samples), "-q"]);
    answers_of_one_item_keep_their_files(start, |uri| std::fs::read(uri).ok()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn answers_with_other_sampling_keep_each_others_files_in_s3() {
    let s3 = common::s3_server::S3Server::start();
    s3.create_bucket("frames");
    let dir = tempfile::tempdir().unwrap();
    let journal = dir.path().join("journal.jsonl");
    let samples = samples_dir();
    let env = s3.env();
    let start = || {
        let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        Server::start_with_env(
            &[
                "--out",
                "s3://frames/serve",
                "--records",
                &s(&journal),
                "--allow-root",
                &s(&samples),
                "-q",
            ],
            &env,
        )
    };
    let read = |uri: &str| {
        let key = uri.strip_prefix("s3://frames/").expect("an s3:// URI");
        s3.get("frames", key)
    };
    answers_of_one_item_keep_their_files(start, read).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn answers_past_the_cache_come_back_from_the_journal() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    let samples = samples_dir();
    let start = || {
        Server::start(&[
            "--out",
            &s(&out),
            "--allow-root",
            &s(&samples),
            "--answer-cache",
            "2",
            "-q",
        ])
    };
    let video = s(&sample("fire2.mp4"));
    let server = start();
    let mut first = Vec::new();
    for id in ["a", "b", "c", "d"] {
        let (status, source, answer) = server.post(&request(&video, id)).await;
        assert_eq!((status, source.as_str()), (200, "decoded"), "{answer}");
        first.push(answer);
    }
    // `a` and `b` are no longer among the 2 answers kept whole: they are read back from their
    // journal lines, and checked. Spoil `a`'s line in place (same length, no `derived` any more):
    // `a` is extracted again, `b` comes from its line.
    let journal = out.join("records.jsonl");
    let text = std::fs::read_to_string(&journal).unwrap();
    assert!(text.lines().next().unwrap().contains(r#""content_id":"a""#));
    let at = text.find(r#""derived""#).unwrap() as u64;
    use std::os::unix::fs::FileExt;
    let file = std::fs::OpenOptions::new()
        .write(true)
        .open(&journal)
        .unwrap();
    file.write_at(br#""derivXd""#, at).unwrap();
    let (status, source, again) = server.post(&request(&video, "a")).await;
    assert_eq!((status, source.as_str()), (200, "decoded"), "{again}");
    assert_eq!(
        without_timing(again["derived"].clone()),
        without_timing(first[0]["derived"].clone())
    );
    first[0] = again;
    for (id, answer) in [("b", &first[1]), ("d", &first[3]), ("a", &first[0])] {
        let (status, source, again) = server.post(&request(&video, id)).await;
        assert_eq!((status, source.as_str()), (200, "store"), "{id}");
        assert_eq!(&again, answer, "{id}");
    }
    assert_eq!(server.metric("reelframe_decodes_total").await, 5.0);
    drop(server);
    let server = start();
    for (id, answer) in ["a", "b", "c", "d"].iter().zip(&first) {
        let (status, source, again) = server.post(&request(&video, id)).await;
        assert_eq!((status, source.as_str()), (200, "store"), "{id}");
        assert_eq!(&again, answer, "{id}");
    }
    assert_eq!(server.metric("reelframe_decodes_total").await, 0.0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_a_journal_answers_past_the_cache_are_extracted_again() {
    let s3 = common::s3_server::S3Server::start();
    s3.create_bucket("frames");
    let env = s3.env();
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    let samples = samples_dir();
    let server = Server::start_with_env(
        &[
            "--out",
            "s3://frames/serve",
            "--allow-root",
            &s(&samples),
            "--answer-cache",
            "1",
            "-q",
        ],
        &env,
    );
    let video = s(&sample("fire2.mp4"));
    let (_, _, a) = server.post(&request(&video, "a")).await;
    let (status, source, _) = server.post(&request(&video, "a")).await;
    assert_eq!((status, source.as_str()), (200, "store"));
    let (status, _, _) = server.post(&request(&video, "b")).await;
    assert_eq!(status, 200);
    let (status, source, again) = server.post(&request(&video, "a")).await;
    assert_eq!((status, source.as_str()), (200, "decoded"));
    assert_eq!(
        without_timing(again["derived"].clone()),
        without_timing(a["derived"].clone())
    );
    assert_eq!(server.metric("reelframe_decodes_total").await, 3.0);
}
