/*!
reelframe: exact, upright JPEG frames and thumbnails from short videos, decoded in-process with
libavcodec.

The data flow, one file or folder of [`pipeline`] per stage, named for it:

```text
 ① input       ② source        ③ demux → sample → decode   ④ encode, thumbnail   ⑤ store      ⑥ record
 JSONL / CSV → local, HTTP(S), → open, scan packets,      → RGB, upright, JPEG → directory, → JSONL line
 / paths       S3 (async)        plan targets, decode       (rayon workers)      S3 (async)   (RecordSink)
 input/        source/           demux.rs sample.rs         encode.rs            store/       record/
                                 decode.rs                  thumbnail.rs
```

`pipeline/extract.rs` takes one item through every stage; `pipeline/run.rs` runs a stream of
them: fetches and uploads on a small tokio runtime, decoding and encoding on rayon workers,
bounded queues between them, one record writer; [`serve`] runs one per HTTP request
(`reelframe serve`). The CLI is a leaf: [`cli`] (every flag),
[`config`] (flags checked into configurations) and [`commands`] (wiring) sit on top of the
library, which is usable without them:

```no_run
use std::sync::Arc;
use reelframe::pipeline::{Extractor, ExtractOptions};
use reelframe::pipeline::sample::{Sampling, SamplingMode};
use reelframe::pipeline::source::Sources;
use reelframe::pipeline::store::DirStore;

reelframe::pipeline::demux::init_ffmpeg(false);
let runtime = reelframe::pipeline::net::io_runtime().unwrap();
let options = ExtractOptions {
    sampling: Sampling { mode: SamplingMode::Fps { num: 1, den: 1 }, max_ms: 60_000, tolerance_ms: 0 },
    size: Default::default(),
    quality: 90,
    thumbnail_max_side: 320,
    decode_threads: 1,
    max_pixels: reelframe::pipeline::demux::MAX_PIXELS,
    item_timeout: std::time::Duration::from_secs(300),
    platform: "tiktok".into(),
    upload_concurrency: 16,
    hdr: Default::default(),
    hashes: Default::default(),
    contact_sheet: true,
    key_folder: None,
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
pub mod files;
pub mod gallery;
pub mod logging;
pub mod pipeline;
pub mod serve;
pub mod similar;
pub mod units;

pub use error::{ErrorKind, ItemError};
