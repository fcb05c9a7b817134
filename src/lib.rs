/*!
reelframe: exact, upright JPEG frames and thumbnails from short videos, decoded in-process with
libavcodec.

The data flow, one module per stage:

```text
 ① input        ② source          ③ decode + sample      ④ encode            ⑤ store        ⑥ record
 JSONL / CSV  → local, HTTP(S), → demux, plan targets → RGB, turn upright → directory,  → JSONL line
 / paths        S3 (async)        decode targets only    JPEG, thumbnail     S3 (async)     (RecordSink)
 (InputRow)     (Fetched)         (rayon workers)                            (FrameStore)
```

Fetches and uploads run on a small tokio runtime; decoding and encoding run on rayon workers;
[`pipeline::run`] joins them with bounded queues. The library is usable without the CLI:

```no_run
use std::sync::Arc;
use reelframe::pipeline::{Extractor, ExtractOptions};
use reelframe::pipeline::sample::{Sampling, SamplingMode};
use reelframe::pipeline::source::Sources;
use reelframe::pipeline::store::DirStore;

reelframe::pipeline::decode::init_ffmpeg(false);
let runtime = reelframe::pipeline::io_runtime().unwrap();
let options = ExtractOptions {
    sampling: Sampling { mode: SamplingMode::Fps { num: 1, den: 1 }, max_ms: 60_000, tolerance_ms: 0 },
    size: Default::default(),
    quality: 90,
    thumbnail_max_side: 320,
    decode_threads: 1,
    item_timeout: std::time::Duration::from_secs(300),
    platform: "tiktok".into(),
    upload_concurrency: 16,
};
let extractor = Extractor::new(
    options,
    Arc::new(Sources::local_only(1 << 31)),
    Arc::new(DirStore::new("out").unwrap()),
    runtime.handle().clone(),
);
for row in reelframe::pipeline::input::items_from_paths(&["samples".into()]) {
    let item = row.expect("a path is always an item");
    match extractor.extract(&item) {
        Ok(extracted) => println!("{}: {} frames", item.content_id, extracted.derived.frames.len()),
        Err(err) => println!("{}: {err}", item.content_id),
    }
}
```
*/

#![warn(missing_docs)]

pub mod bench;
pub mod cli;
pub mod commands;
pub mod config;
pub mod error;
pub mod logging;
pub mod pipeline;

pub use error::{ErrorKind, ItemError};
