//! Local files: checked (exists, regular file, not empty, not too large) and read in place.

use super::{Fetched, Source, VideoData, VideoUrl};
use crate::error::{ErrorKind, ItemError};
use futures_util::future::BoxFuture;
use std::io;
use std::time::Instant;

/// Reads videos from local disk.
#[derive(Debug, Clone)]
pub struct LocalSource {
    /// Largest file accepted, in bytes.
    pub max_bytes: u64,
}

impl Source for LocalSource {
    fn fetch<'a>(&'a self, url: &'a VideoUrl) -> BoxFuture<'a, Result<Fetched, ItemError>> {
        // a stat is quick: answer now rather than hop to a blocking thread
        let result = self.check(url);
        Box::pin(async move { result })
    }
}

impl LocalSource {
    /// Checks a local file (exists, regular, not empty, not too large); it is read in place.
    pub fn check(&self, url: &VideoUrl) -> Result<Fetched, ItemError> {
        let started = Instant::now();
        let VideoUrl::Local(path) = url else {
            return Err(ItemError::new(
                ErrorKind::UnsupportedScheme,
                format!("{url} is not a local file"),
            ));
        };
        let meta = std::fs::metadata(path).map_err(|err| {
            let kind = if err.kind() == io::ErrorKind::NotFound {
                ErrorKind::NotFound
            } else {
                ErrorKind::Io
            };
            ItemError::new(kind, format!("{}: {err}", path.display()))
        })?;
        if !meta.is_file() {
            return Err(ItemError::new(
                ErrorKind::Io,
                format!("{} is not a regular file", path.display()),
            ));
        }
        if meta.len() == 0 {
            return Err(ItemError::new(
                ErrorKind::EmptyFile,
                format!("{} is empty (0 bytes)", path.display()),
            ));
        }
        if meta.len() > self.max_bytes {
            return Err(ItemError::new(
                ErrorKind::TooLarge,
                format!(
                    "{} is {} bytes, more than --max-bytes {}",
                    path.display(),
                    meta.len(),
                    self.max_bytes
                ),
            ));
        }
        Ok(Fetched {
            data: VideoData::File(path.clone()),
            bytes: meta.len(),
            attempts: 1,
            source: "local",
            elapsed: started.elapsed(),
            spill: None,
        })
    }
}
