/*!
Stage ⑤: store. JPEG frames and thumbnails are written under keys built from untrusted IDs.

[`crate::files::safe_segment`] turns any content ID or platform into one path segment that cannot climb out of
the output (no `/`, `\`, `..`, NUL or absolute paths) and is injective: two different IDs never
share a folder. Stores implement [`FrameStore`]: the local directory store ([`DirStore`]) is the
default, [`S3Store`] writes to S3 or any S3-compatible server. Writes are asynchronous so a
video's uploads overlap the decoding of the next one.
*/

mod dir;
mod s3;

pub use dir::DirStore;
pub use s3::S3Store;

use crate::error::StoreError;
use crate::files::safe_segment;
use bytes::Bytes;
use futures_util::future::BoxFuture;

/// Object keys for one item: `<platform>/<content_id>/…`, both parts safely encoded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ItemKeys {
    prefix: String,
}

impl ItemKeys {
    /// Keys for `content_id` on `platform`.
    pub fn new(platform: &str, content_id: &str) -> ItemKeys {
        ItemKeys {
            prefix: format!("{}/{}", safe_segment(platform), safe_segment(content_id)),
        }
    }

    /// The same keys inside `folder` of the item's folder (`<platform>/<content_id>/<folder>/…`),
    /// when one is given.
    pub fn in_folder(mut self, folder: Option<&str>) -> ItemKeys {
        if let Some(folder) = folder {
            self.prefix = format!("{}/{}", self.prefix, safe_segment(folder));
        }
        self
    }

    /// The folder (key prefix) of this item, without a trailing slash.
    pub fn prefix(&self) -> &str {
        &self.prefix
    }

    /// Key of frame number `index` shown at `pts_ms`: `<prefix>/<index:04>_<pts_ms>.jpg`.
    pub fn frame(&self, index: u32, pts_ms: i64) -> String {
        format!("{}/{index:04}_{pts_ms}.jpg", self.prefix)
    }

    /// Key of the thumbnail: `<prefix>/thumbnail.jpg`.
    pub fn thumbnail(&self) -> String {
        format!("{}/thumbnail.jpg", self.prefix)
    }

    /// Key of the contact sheet: `<prefix>/contact_sheet.jpg`.
    pub fn contact_sheet(&self) -> String {
        format!("{}/contact_sheet.jpg", self.prefix)
    }
}

/// The folder of one sampling inside an item's folder: `s-` and the first 12 hex digits of the
/// blake3 of the sampling record as JSON (its fields in their fixed order), e.g. `s-3f9a0c41d2e7`.
pub fn sampling_folder(sampling_record: &serde_json::Value) -> String {
    let hash = blake3::hash(sampling_record.to_string().as_bytes()).to_hex();
    format!("s-{}", &hash[..12])
}

/// One object being stored, in the background: its URI once stored.
pub type Upload = tokio::task::JoinHandle<Result<String, StoreError>>;

/// Metadata stored with an object where the store supports it.
#[derive(Debug, Clone, Default, serde::Serialize, serde::Deserialize)]
pub struct ObjectMeta {
    /// The item's content ID.
    pub content_id: String,
    /// The frame's pts in ms, for frames.
    pub pts_ms: Option<i64>,
}

/// Where frames go: a local directory, S3, memory.
pub trait FrameStore: Send + Sync {
    /// Writes `bytes` (a JPEG) under `key`, atomically: a reader sees the whole object or none.
    /// Resolves to the URI the record will carry. Runs on reelframe's tokio runtime.
    fn put(
        &self,
        key: String,
        bytes: Bytes,
        meta: ObjectMeta,
    ) -> BoxFuture<'_, Result<String, StoreError>>;

    /// The URI of `key` without writing it.
    fn uri(&self, key: &str) -> String;

    /// Removes the JPEGs in one item's folder `prefix` that are not in `keep` (left by an
    /// earlier run with other sampling), so the folder holds exactly the record's files. Other
    /// items' folders are never touched. Stores that cannot list do nothing (the default).
    fn remove_stale(
        &self,
        _prefix: String,
        _keep: Vec<String>,
    ) -> BoxFuture<'_, Result<(), StoreError>> {
        Box::pin(async { Ok(()) })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_follow_the_documented_layout() {
        let k = ItemKeys::new("tiktok", "72/01");
        assert_eq!(k.frame(3, 3000), "tiktok/72%2F01/0003_3000.jpg");
        assert_eq!(k.thumbnail(), "tiktok/72%2F01/thumbnail.jpg");
        let folder = sampling_folder(&serde_json::json!({"mode": "frames", "frames": 3}));
        assert!(folder.starts_with("s-") && folder.len() == 14, "{folder}");
        let k = k.in_folder(Some(&folder));
        assert_eq!(k.frame(0, 0), format!("tiktok/72%2F01/{folder}/0000_0.jpg"));
        assert_eq!(k.prefix(), format!("tiktok/72%2F01/{folder}"));
    }
}
