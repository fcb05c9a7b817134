//! `reelframe serve` under load, on loopback: requests/s and p50/p95/p99 latency at concurrency
//! 1, 4 and 16 over a workload (a fixed number of requests, each a new content_id so every one
//! decodes), then one request for a 60 s 720×1280 clip on an idle server against
//! `ffmpeg -threads 0 -t 60 -i clip -vf fps=1` run side by side, K times each, alternating.
//!
//! `cargo bench --bench serve` (uses `samples/`), or
//! `REELFRAME_WORKLOAD=/tmp/wl ROUNDS=2 REPEAT=3 CLIP=/tmp/wl/tt04_720p_75s.mp4 cargo bench --bench serve`.
//! The workload comes from `scripts/make_workload.sh DIR`. The client shares the machine's cores
//! with the server, so absolute figures are a lower bound; the ratio to ffmpeg is what counts.

mod common;
#[path = "../tests/common/serve_process.rs"]
mod serve_process;

use common::{env_usize, videos, workload_dir};
use serde_json::{json, Value};
use serve_process::spawn_serve;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

struct Server {
    child: Child,
    base: String,
}

impl Server {
    fn start(root: &Path, out: &Path, extra: &[&str]) -> Server {
        let (child, base) = spawn_serve(
            Command::new(env!("CARGO_BIN_EXE_reelframe"))
                .args([
                    "serve",
                    "--listen",
                    "127.0.0.1:0",
                    "-q",
                    "--max-queue",
                    "64",
                ])
                .arg("--out")
                .arg(out)
                .arg("--allow-root")
                .arg(root)
                .args(extra)
                .stdin(Stdio::null()),
        );
        Server {
            child,
            base: base.expect("address line"),
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// One request; returns its latency and status.
async fn call(client: &reqwest::Client, base: &str, body: &Value) -> (Duration, u16) {
    let started = Instant::now();
    let response = client
        .post(format!("{base}/store_video_frames"))
        .header("content-type", "application/json")
        .body(body.to_string())
        .send()
        .await
        .expect("request sent");
    let status = response.status().as_u16();
    let _ = response.bytes().await;
    (started.elapsed(), status)
}

fn percentile(sorted: &[Duration], p: f64) -> f64 {
    let i = ((p / 100.0) * (sorted.len() - 1) as f64).round() as usize;
    sorted[i].as_secs_f64() * 1000.0
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(|a, b| a.partial_cmp(b).unwrap());
    v[v.len() / 2]
}

fn main() {
    let root = std::fs::canonicalize(workload_dir()).expect("workload dir");
    let rounds = env_usize("ROUNDS", 2);
    let repeat = env_usize("REPEAT", 3);
    let clips = videos(&root);
    let scratch = tempfile::tempdir().unwrap();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let client = reqwest::Client::builder().no_proxy().build().unwrap();
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    println!(
        "workload {} ({} clips), {} requests per level, {cores} cores",
        root.display(),
        clips.len(),
        rounds * clips.len()
    );
    println!("| concurrency | requests | req/s | p50 ms | p95 ms | p99 ms | non-200 |");
    println!("|---:|---:|---:|---:|---:|---:|---:|");
    let server = Server::start(&root, &scratch.path().join("out"), &[]);
    for concurrency in [1usize, 4, 16] {
        let bodies: Vec<Value> = (0..rounds)
            .flat_map(|round| clips.iter().map(move |clip| (round, clip)))
            .map(|(round, clip)| {
                let stem = clip.file_stem().unwrap().to_string_lossy();
                json!({"video_uri": clip, "platform": "TIKTOK", "max_seconds": 60,
                       "content_id": format!("c{concurrency}-r{round}-{stem}")})
            })
            .collect();
        let started = Instant::now();
        let results = runtime.block_on(async {
            let gate = Arc::new(tokio::sync::Semaphore::new(concurrency));
            let tasks: Vec<_> = bodies
                .into_iter()
                .map(|body| {
                    let (gate, client, base) =
                        (Arc::clone(&gate), client.clone(), server.base.clone());
                    tokio::spawn(async move {
                        let _slot = gate.acquire_owned().await.unwrap();
                        call(&client, &base, &body).await
                    })
                })
                .collect();
            let mut results = Vec::new();
            for task in tasks {
                results.push(task.await.unwrap());
            }
            results
        });
        let wall = started.elapsed().as_secs_f64();
        if results.is_empty() {
            continue; // ROUNDS=0: only the single-request comparison
        }
        let failed = results.iter().filter(|r| r.1 != 200).count();
        let mut latencies: Vec<Duration> = results.iter().map(|r| r.0).collect();
        latencies.sort();
        println!(
            "| {concurrency} | {} | {:.2} | {:.0} | {:.0} | {:.0} | {failed} |",
            latencies.len(),
            latencies.len() as f64 / wall,
            percentile(&latencies, 50.0),
            percentile(&latencies, 95.0),
            percentile(&latencies, 99.0),
        );
    }
    drop(server);

    // one 60 s 720×1280 clip on an idle server, against ffmpeg on the same machine
    let clip = std::env::var_os("CLIP")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            clips
                .iter()
                .find(|c| c.to_string_lossy().contains("720p_75s"))
                .unwrap_or(&clips[0])
                .clone()
        });
    let clip = std::fs::canonicalize(clip).unwrap();
    println!(
        "\nsingle request, idle server: {} (first 60 s, 1 fps), median of {repeat}",
        clip.display()
    );
    let mut rows = Vec::new();
    for (name, extra) in [
        ("reelframe serve (decode threads: auto)", vec![]),
        (
            "reelframe serve --decode-threads 1",
            vec!["--decode-threads", "1"],
        ),
    ] {
        let server = Server::start(
            &root,
            &scratch.path().join(format!("single{}", rows.len())),
            &extra,
        );
        let mut ours = Vec::new();
        let mut theirs = Vec::new();
        for k in 0..repeat {
            let body = json!({"video_uri": clip, "platform": "TIKTOK", "max_seconds": 60,
                              "content_id": format!("single-{}-{k}", rows.len())});
            let (elapsed, status) = runtime.block_on(call(&client, &server.base, &body));
            assert_eq!(status, 200);
            ours.push(elapsed.as_secs_f64() * 1000.0);
            let out = scratch.path().join(format!("ffmpeg-{}-{k}", rows.len()));
            std::fs::create_dir_all(&out).unwrap();
            let started = Instant::now();
            let status = Command::new("ffmpeg")
                .args([
                    "-nostdin",
                    "-loglevel",
                    "error",
                    "-threads",
                    "0",
                    "-t",
                    "60",
                    "-i",
                ])
                .arg(&clip)
                .args(["-vf", "fps=1", "-q:v", "3"])
                .arg(out.join("%04d.jpg"))
                .status()
                .expect("ffmpeg runs");
            assert!(status.success());
            theirs.push(started.elapsed().as_secs_f64() * 1000.0);
        }
        rows.push((name, median(ours), median(theirs)));
    }
    println!("| method | ms | ffmpeg -threads 0 ms (same rounds) | ffmpeg / reelframe |");
    println!("|---|---:|---:|---:|");
    for (name, ours, theirs) in rows {
        println!(
            "| {name} | {ours:.0} | {theirs:.0} | {:.2}× |",
            theirs / ours
        );
    }
}
