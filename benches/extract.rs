//! Extraction throughput on bundled samples, side by side with the ffmpeg CLI doing the same job
//! (`-threads 1 -t 60 -vf fps=1 -q:v 3`, JPEGs written) in the same run, so the ratio is what
//! counts, not the absolute time.
//!
//! `cargo bench --bench extract`

use criterion::{criterion_group, criterion_main, Criterion};
use reelframe::error::StoreError;
use reelframe::pipeline::encode::SizeSpec;
use reelframe::pipeline::input::items_from_paths;
use reelframe::pipeline::sample::{Sampling, SamplingMode};
use reelframe::pipeline::source::Sources;
use reelframe::pipeline::store::{FrameStore, ObjectMeta};
use reelframe::pipeline::{ExtractOptions, Extractor};
use std::path::PathBuf;
use std::process::Command;
use std::sync::Arc;
use std::time::Duration;

/// Keeps nothing: measures extraction without disk writes.
struct DiscardStore;

impl FrameStore for DiscardStore {
    fn put(
        &self,
        key: String,
        bytes: bytes::Bytes,
        _meta: ObjectMeta,
    ) -> futures_util::future::BoxFuture<'_, Result<String, StoreError>> {
        std::hint::black_box(bytes);
        let uri = self.uri(&key);
        Box::pin(async move { Ok(uri) })
    }
    fn uri(&self, key: &str) -> String {
        format!("discard://{key}")
    }
}

fn extractor(mode: SamplingMode, runtime: &tokio::runtime::Runtime) -> Extractor {
    let options = ExtractOptions {
        sampling: Sampling {
            mode,
            max_ms: 60_000,
            tolerance_ms: 0,
        },
        size: SizeSpec::default(),
        quality: 90,
        thumbnail_max_side: 320,
        decode_threads: 1,
        max_pixels: reelframe::pipeline::demux::MAX_PIXELS,
        item_timeout: Duration::from_secs(300),
        platform: "tiktok".into(),
        upload_concurrency: 16,
        hdr: Default::default(),
        hashes: Default::default(),
        contact_sheet: true,
        key_folder: None,
    };
    Extractor::new(
        options,
        Arc::new(Sources::local_only(u64::MAX)),
        Arc::new(DiscardStore),
        runtime.handle().clone(),
    )
}

fn bench(c: &mut Criterion) {
    reelframe::pipeline::demux::init_ffmpeg(false);
    let samples = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("samples");
    let scratch = tempfile::tempdir().unwrap();
    let runtime = reelframe::pipeline::net::io_runtime().unwrap();
    for name in ["portrait_h264_aac.mp4", "smpte-2997.mp4", "long_62s.mp4"] {
        let path = samples.join(name);
        let item = items_from_paths(std::slice::from_ref(&path))
            .next()
            .unwrap()
            .unwrap();
        let mut group = c.benchmark_group(name);
        group.sample_size(10);
        for (label, mode) in [
            ("reelframe_fps1", SamplingMode::Fps { num: 1, den: 1 }),
            ("reelframe_frames5", SamplingMode::Frames(5)),
            ("reelframe_keyframes", SamplingMode::Keyframes),
        ] {
            let ex = extractor(mode, &runtime);
            group.bench_function(label, |b| b.iter(|| ex.extract(&item).expect("extracts")));
        }
        let out = scratch.path().join("%04d.jpg");
        group.bench_function("ffmpeg_cli_fps1", |b| {
            b.iter(|| {
                let st = Command::new("ffmpeg")
                    .args([
                        "-nostdin",
                        "-loglevel",
                        "error",
                        "-y",
                        "-threads",
                        "1",
                        "-t",
                        "60",
                        "-i",
                    ])
                    .arg(&path)
                    .args(["-vf", "fps=1", "-q:v", "3"])
                    .arg(&out)
                    .status()
                    .expect("ffmpeg runs");
                assert!(st.success());
            })
        });
        group.finish();
    }
}

criterion_group!(benches, bench);
criterion_main!(benches);
