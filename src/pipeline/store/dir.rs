//! The local directory store: `OUT/<key>`, written through a temporary file and a rename.

use super::{FrameStore, ObjectMeta};
use crate::error::StoreError;
use bytes::Bytes;
use futures_util::future::BoxFuture;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

/// Writes objects as files under a root directory.
#[derive(Debug)]
pub struct DirStore {
    root: PathBuf,
    counter: AtomicU64,
}

impl DirStore {
    /// A store rooted at `root` (created when missing).
    pub fn new(root: impl Into<PathBuf>) -> std::io::Result<DirStore> {
        let root = root.into();
        std::fs::create_dir_all(&root)?;
        Ok(DirStore {
            root,
            counter: AtomicU64::new(0),
        })
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
        let serial = self.counter.fetch_add(1, Ordering::Relaxed);
        Box::pin(async move {
            let name = key.clone();
            tokio::task::spawn_blocking(move || write_atomic(&root, serial, &key, &bytes))
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
}

/// Writes `root/key` through `.tmp-<pid>-<serial>` and a rename, refusing unsafe keys.
fn write_atomic(root: &Path, serial: u64, key: &str, bytes: &[u8]) -> Result<String, StoreError> {
    if key
        .split('/')
        .any(|s| s.is_empty() || s == "." || s == "..")
        || key.contains('\\')
    {
        return Err(StoreError::Io {
            key: key.to_string(),
            source: std::io::Error::new(std::io::ErrorKind::InvalidInput, "unsafe key"),
        });
    }
    let path = root.join(key);
    let io = |source| StoreError::Io {
        key: key.to_string(),
        source,
    };
    let parent = path.parent().expect("keys have a folder");
    std::fs::create_dir_all(parent).map_err(io)?;
    let tmp = parent.join(format!(".tmp-{}-{serial}", std::process::id()));
    let write = || -> std::io::Result<()> {
        let mut file = std::fs::File::create(&tmp)?;
        file.write_all(bytes)?;
        std::fs::rename(&tmp, &path)
    };
    if let Err(err) = write() {
        let _ = std::fs::remove_file(&tmp);
        return Err(io(err));
    }
    Ok(path.display().to_string())
}
