//! The local directory store: `OUT/<key>`, written through a temporary file and a rename.

use super::{FrameStore, ObjectMeta};
use crate::error::StoreError;
use crate::files::{self, Durability};
use bytes::Bytes;
use futures_util::future::BoxFuture;
use std::path::{Path, PathBuf};

/// Writes objects as files under a root directory.
#[derive(Debug)]
pub struct DirStore {
    root: PathBuf,
}

impl DirStore {
    /// A store rooted at `root` (created when missing). The root is made absolute, so the
    /// URIs in records resolve from any working directory.
    pub fn new(root: impl Into<PathBuf>) -> std::io::Result<DirStore> {
        let root = root.into();
        std::fs::create_dir_all(&root)?;
        let root = std::path::absolute(&root)?;
        let probe = root.join(".reelframe-write-check");
        files::write_atomic(&probe, b"", Durability::Unsynced)?;
        std::fs::remove_file(&probe)?;
        Ok(DirStore { root })
    }

    /// The root directory.
    pub fn root(&self) -> &Path {
        &self.root
    }

    fn path_of(&self, key: &str) -> PathBuf {
        // Keys are built from safe segments; refuse anything else rather than trust it.
        debug_assert!(key
            .split('/')
            .all(|s| !s.is_empty() && s != "." && s != ".."));
        self.root.join(key)
    }
}

impl FrameStore for DirStore {
    fn put(
        &self,
        key: String,
        bytes: Bytes,
        _meta: ObjectMeta,
    ) -> BoxFuture<'_, Result<String, StoreError>> {
        let root = self.root.clone();
        Box::pin(async move {
            let name = key.clone();
            tokio::task::spawn_blocking(move || write_atomic(&root, &key, &bytes))
                .await
                .map_err(|err| StoreError::Io {
                    key: name,
                    source: std::io::Error::other(err),
                })?
        })
    }

    fn uri(&self, key: &str) -> String {
        self.path_of(key).display().to_string()
    }

    fn remove_stale(
        &self,
        prefix: String,
        keep: Vec<String>,
    ) -> BoxFuture<'_, Result<(), StoreError>> {
        let folder = self.path_of(&prefix);
        Box::pin(async move {
            tokio::task::spawn_blocking(move || remove_stale_jpegs(&folder, &prefix, &keep))
                .await
                .map_err(|err| StoreError::Io {
                    key: String::new(),
                    source: std::io::Error::other(err),
                })?
        })
    }
}

/// Removes the `.jpg` files directly in `folder` (the item folder `prefix`) whose keys are not
/// in `keep`.
fn remove_stale_jpegs(folder: &Path, prefix: &str, keep: &[String]) -> Result<(), StoreError> {
    let entries = match std::fs::read_dir(folder) {
        Ok(entries) => entries,
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(source) => {
            return Err(StoreError::Io {
                key: prefix.to_string(),
                source,
            })
        }
    };
    for entry in entries.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        let key = format!("{prefix}/{name}");
        let is_jpeg = entry.file_type().is_ok_and(|t| t.is_file()) && name.ends_with(".jpg");
        if is_jpeg && !keep.contains(&key) {
            std::fs::remove_file(entry.path()).map_err(|source| StoreError::Io { key, source })?;
        }
    }
    Ok(())
}

/// Writes `root/key` through a temporary file and a rename (not synced: see
/// [`Durability::Unsynced`]), refusing unsafe keys.
fn write_atomic(root: &Path, key: &str, bytes: &[u8]) -> Result<String, StoreError> {
    let io = |source| StoreError::Io {
        key: key.to_string(),
        source,
    };
    if key
        .split('/')
        .any(|s| s.is_empty() || s == "." || s == "..")
        || key.contains('\\')
    {
        return Err(io(std::io::Error::new(
            std::io::ErrorKind::InvalidInput,
            "unsafe key",
        )));
    }
    let path = root.join(key);
    let parent = path.parent().expect("keys have a folder");
    std::fs::create_dir_all(parent).map_err(io)?;
    files::write_atomic(&path, bytes, Durability::Unsynced).map_err(io)?;
    Ok(path.display().to_string())
}
