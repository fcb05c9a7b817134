/*!
`reelframe serve`: the Frame Retrieval Service call answered locally.

`POST /store_video_frames` takes `{video_uri, platform, content_id, max_seconds, …}` and answers
`{"derived": …, "thumbnail": …}`, exactly the objects `extract` writes into records, made by the
same one-item path ([`crate::pipeline::Extractor`]: fetch on the runtime, decode and encode on a
blocking thread, uploads on the runtime).

- [`routes`]: the routes ([`app`]), the bearer-token check, the access log.
- [`request`]: the body, checked (a 400 names the field; local paths only inside `--allow-root`).
- [`state`]: admission (slots and a bounded queue, 503 beyond), coalescing (one decode per item
  at a time).
- [`answers`]: answers already in the store, in bounded memory (a records journal indexed by
  byte offset, and a small LRU of parsed answers).
- [`metrics`]: the Prometheus counters.
- [`error`]: `{"error": {"kind", "message"}}` and the status of each error kind.
*/

pub mod answers;
pub mod error;
pub mod metrics;
pub mod request;
pub mod routes;
pub mod state;

pub use error::ApiError;
pub use routes::app;
pub use state::{ReadyCheck, ServeSettings, ServeState};
