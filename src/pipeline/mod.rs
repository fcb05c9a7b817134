/*!
The pipeline, one file or folder per stage, in the order an item meets them:

```text
 ① input/     lists → items (paths, JSONL, CSV, remote lists, shards)
 ② source/    fetch: local, HTTP(S), S3 behind `Source`
 ③ demux.rs   open, probe, packet scan → timeline
    sample.rs which frames (pure)
    decode.rs decode passes: GOP-tail and non-reference skips
 ④ encode.rs  convert, scale, turn upright, JPEG
    tonemap.rs    HDR (PQ, HLG) to SDR BT.709
    hash.rs   PDQ perceptual hash of each upright frame
    thumbnail.rs  the representative frame
    contact_sheet.rs  every frame as a labelled tile of one JPEG
 ⑤ store/     directory, S3 behind `FrameStore`
 ⑥ record/    record types, sinks (JSONL, S3 journal, Avro), resume
```

[`extract`] runs one item through all of them (in a supervised decoder process, see
[`isolate`], or in this one); [`run`] runs a stream of items with bounded queues and one record
writer. Beside the stages: [`net`] (limits, retries and the S3 client that
sources and stores share), [`metrics`] (counts and stage times), [`deadline`] and [`ffi`] (the
raw FFmpeg calls). Nothing here imports the CLI.
*/

pub mod input;
pub mod source;

pub mod decode;
pub mod demux;
pub mod sample;

pub mod contact_sheet;
pub mod encode;
pub mod hash;
pub mod thumbnail;
pub mod tonemap;

pub mod store;

pub mod record;

pub mod extract;
pub mod isolate;
pub mod run;

pub mod deadline;
pub mod ffi;
pub mod metrics;
pub mod net;
pub mod options;

pub use extract::{ExtractOptions, Extractor};
pub use metrics::{Outcome, Summary};
pub use run::{run, NoProgress, Progress, RunSettings};
