/*!
reelframe: exact, upright JPEG frames and thumbnails from short videos, decoded in-process with
libavcodec.

The data flow, one module per stage:

```text
 ① input        ② source         ③ decode + sample      ④ encode            ⑤ store        ⑥ record
 JSONL / paths → local file   →  demux, plan targets → RGB, turn upright →  directory   →  JSONL line
 (InputRow)      (Fetched)       decode targets only    JPEG, thumbnail      (FrameStore)   (RecordSink)
```

The library is usable without the CLI:

```no_run
use std::sync::Arc;
use reelframe::pipeline::{Extractor, ExtractOptions};
use reelframe::pipeline::sample::{Sampling, SamplingMode};
use reelframe::pipeline::source::{LocalOnly, LocalSource};
use reelframe::pipeline::store::DirStore;

reelframe::pipeline::decode::init_ffmpeg(false);
let options = ExtractOptions {
    sampling: Sampling { mode: SamplingMode::Fps { num: 1, den: 1 }, max_ms: 60_000, tolerance_ms: 0 },
    size: Default::default(),
    quality: 90,
    thumbnail_max_side: 320,
    decode_threads: 1,
    item_timeout: std::time::Duration::from_secs(300),
    platform: "tiktok".into(),
};
let extractor = Extractor::new(
    options,
    Arc::new(LocalOnly(LocalSource { max_bytes: 1 << 31 })),
    Arc::new(DirStore::new("out").unwrap()),
);
let rows = reelframe::pipeline::input::items_from_paths(&["samples".into()]).collect::<Vec<_>>();
for row in rows {
    let (record, _outcome) = extractor.record_for(row);
    println!("{}", serde_json::Value::Object(record));
}
```
*/

#![warn(missing_docs)]

pub mod cli;
pub mod commands;
pub mod config;
pub mod error;
pub mod logging;
pub mod pipeline;

pub use error::{ErrorKind, ItemError};
