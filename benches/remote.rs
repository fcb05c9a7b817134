//! Local vs remote throughput: the same workload extracted local→local and
//! loopback HTTP → loopback S3 (moto), in the same run, with the ratio printed.
//!
//! `cargo bench --bench remote` (uses `samples/`), or
//! `REELFRAME_WORKLOAD=/tmp/wlfull REPEAT=3 cargo bench --bench remote`.
//! Needs moto (`python3 -m pip install 'moto[server]'`). The servers share the machine's cores
//! with reelframe, as they would not in production, so the ratio is a lower bound.

mod common;
#[path = "../tests/common/http_faults.rs"]
mod http_faults;
#[path = "../tests/common/s3_server.rs"]
mod s3_server;

use common::{env_usize, videos, workload_dir};
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

fn run(args: &[String], env: &[(String, String)]) -> Duration {
    let started = Instant::now();
    let out = Command::new(env!("CARGO_BIN_EXE_reelframe"))
        .args(args)
        .envs(env.iter().cloned())
        .output()
        .expect("reelframe runs");
    let took = started.elapsed();
    assert!(
        out.status.success(),
        "reelframe failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    took
}

fn main() {
    // `cargo bench` passes --bench; `cargo test --benches` would run this too: skip then.
    if !std::env::args().any(|a| a == "--bench") {
        return;
    }
    let workload = workload_dir();
    let repeat = env_usize("REPEAT", 3);
    let jobs = std::thread::available_parallelism().map_or(2, |n| n.get());
    let files = videos(&workload);
    let http = http_faults::FaultServer::serve_dir(&workload);
    let s3 = s3_server::S3Server::start();
    s3.create_bucket("frames");
    let scratch = tempfile::tempdir().unwrap();
    let list = |name: &str, url: &dyn Fn(&Path) -> String| {
        let path = scratch.path().join(name);
        let text: String = files
            .iter()
            .map(|f| {
                let id = f.file_stem().unwrap().to_string_lossy();
                format!("{{\"content_id\":\"{id}\",\"video_url\":\"{}\"}}\n", url(f))
            })
            .collect();
        std::fs::write(&path, text).unwrap();
        path
    };
    let local_list = list("local.jsonl", &|f| f.display().to_string());
    let remote_list = list("remote.jsonl", &|f| {
        http.url(&format!("/{}", f.file_name().unwrap().to_string_lossy()))
    });
    let common = |list: &Path, out: &str, records: &Path| -> Vec<String> {
        let mut a: Vec<String> = ["extract", "-q", "--force", "--jobs"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        a.push(jobs.to_string());
        a.extend(["--input".into(), list.display().to_string()]);
        a.extend(["--out".into(), out.to_string()]);
        a.extend(["--records".into(), records.display().to_string()]);
        a
    };
    let local_out = scratch.path().join("out");
    let local_args = common(
        &local_list,
        local_out.to_str().unwrap(),
        &scratch.path().join("local-records.jsonl"),
    );
    let mut remote_args = common(
        &remote_list,
        "s3://frames/bench",
        &scratch.path().join("remote-records.jsonl"),
    );
    remote_args.push("--s3-path-style".into());
    let env = s3.env();
    let (mut local, mut remote) = (Vec::new(), Vec::new());
    for _ in 0..repeat {
        local.push(run(&local_args, &[]));
        remote.push(run(&remote_args, &env));
    }
    let best = |v: &[Duration]| v.iter().min().copied().unwrap().as_secs_f64();
    let n = files.len() as f64;
    let (l, r) = (best(&local), best(&remote));
    println!(
        "workload: {} ({} videos), jobs {jobs}, best of {repeat}",
        workload.display(),
        files.len()
    );
    println!("local → local          {l:7.2} s  {:6.2} videos/s", n / l);
    println!("HTTP → S3 (loopback)   {r:7.2} s  {:6.2} videos/s", n / r);
    println!("remote / local videos/s = {:.2}", l / r);
}
