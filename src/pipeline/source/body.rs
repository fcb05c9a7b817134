//! Where a download's bytes go while they arrive: memory while small, a temporary file past
//! [`FetchLimits::memory_limit`](crate::pipeline::net::FetchLimits::memory_limit), never more than `max_bytes`.

use super::{Fetched, VideoData};
use crate::error::{ErrorKind, ItemError};
use crate::pipeline::net::retry::{with_retries, Failure};
use std::io::Write;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

/// The bytes of one download so far.
pub struct BodyBuffer {
    memory: Vec<u8>,
    spill: Option<(std::fs::File, tempfile::TempPath)>,
    len: u64,
    max_bytes: u64,
    memory_limit: u64,
    spill_dir: Option<std::path::PathBuf>,
    what: String,
}

impl BodyBuffer {
    /// An empty buffer for a download of `what` (named in errors); `expected` pre-sizes memory.
    pub fn new(
        what: &str,
        expected: Option<u64>,
        max_bytes: u64,
        memory_limit: u64,
        spill_dir: Option<&Path>,
    ) -> BodyBuffer {
        let capacity = expected.unwrap_or(0).min(memory_limit) as usize;
        BodyBuffer {
            memory: Vec::with_capacity(capacity),
            spill: None,
            len: 0,
            max_bytes,
            memory_limit,
            spill_dir: spill_dir.map(Path::to_path_buf),
            what: what.to_string(),
        }
    }

    /// Bytes received so far.
    pub fn len(&self) -> u64 {
        self.len
    }

    /// No bytes yet.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Appends a chunk; fails with [`ErrorKind::TooLarge`] past `max_bytes`, or
    /// [`ErrorKind::Io`] if the spill file cannot be written.
    pub fn push(&mut self, chunk: &[u8]) -> Result<(), ItemError> {
        self.len += chunk.len() as u64;
        if self.len > self.max_bytes {
            return Err(ItemError::new(
                ErrorKind::TooLarge,
                format!(
                    "{}: more than --max-bytes {} bytes arrived",
                    self.what, self.max_bytes
                ),
            ));
        }
        let io_error = |what: &str, err: std::io::Error| {
            ItemError::new(ErrorKind::Io, format!("{what} a spill file: {err}"))
        };
        if self.spill.is_none() && self.len > self.memory_limit {
            let file = match &self.spill_dir {
                Some(dir) => tempfile::NamedTempFile::new_in(dir),
                None => tempfile::NamedTempFile::new(),
            }
            .map_err(|err| io_error("creating", err))?;
            let (mut file, path) = file.into_parts();
            file.write_all(&self.memory)
                .map_err(|err| io_error("writing", err))?;
            self.memory = Vec::new();
            self.spill = Some((file, path));
        }
        match &mut self.spill {
            Some((file, _)) => file
                .write_all(chunk)
                .map_err(|err| io_error("writing", err)),
            None => {
                self.memory.extend_from_slice(chunk);
                Ok(())
            }
        }
    }

    /// The finished download as a [`Fetched`] video.
    pub fn finish(
        self,
        source: &'static str,
        attempts: u32,
        elapsed: Duration,
    ) -> Result<Fetched, ItemError> {
        if self.len == 0 {
            return Err(ItemError::new(
                ErrorKind::EmptyFile,
                format!("{} is empty (0 bytes)", self.what),
            ));
        }
        let (data, spill) = match self.spill {
            Some((mut file, path)) => {
                file.flush().map_err(|err| {
                    ItemError::new(ErrorKind::Io, format!("writing a spill file: {err}"))
                })?;
                (VideoData::File(path.to_path_buf()), Some(Arc::new(path)))
            }
            None => (VideoData::Memory(Arc::from(self.memory)), None),
        };
        Ok(Fetched {
            data,
            bytes: self.len,
            attempts,
            source,
            elapsed,
            spill,
        })
    }
}

/// Reads a response body under the limits: each chunk must arrive within
/// `limits.read_timeout`, the total stays under `max_bytes`, and a body shorter than the
/// announced `expected` length is an [`ErrorKind::IncompleteBody`] (worth retrying).
pub(crate) async fn read_body<S, E>(
    what: &str,
    expected: Option<u64>,
    mut chunks: S,
    limits: &crate::pipeline::net::FetchLimits,
) -> Result<BodyBuffer, Failure>
where
    S: futures_util::Stream<Item = Result<bytes::Bytes, E>> + Unpin,
    E: std::error::Error,
{
    use futures_util::StreamExt;
    if let Some(length) = expected.filter(|&n| n > limits.max_bytes) {
        return Err(Failure::permanent(ItemError::new(
            ErrorKind::TooLarge,
            format!(
                "{what}: announced {length} bytes, more than --max-bytes {}",
                limits.max_bytes
            ),
        )));
    }
    let mut body = BodyBuffer::new(
        what,
        expected,
        limits.max_bytes,
        limits.memory_limit,
        limits.spill_dir.as_deref(),
    );
    let of_expected = || expected.map_or(String::new(), |n| format!(" of {n}"));
    loop {
        let chunk = match tokio::time::timeout(limits.read_timeout, chunks.next()).await {
            Err(_) => {
                return Err(Failure::transient(ItemError::new(
                    ErrorKind::ReadTimeout,
                    format!(
                        "{what}: no byte for --read-timeout {:.1} s after {}{} bytes",
                        limits.read_timeout.as_secs_f64(),
                        body.len(),
                        of_expected()
                    ),
                )))
            }
            Ok(None) => break,
            Ok(Some(Err(err))) => {
                return Err(Failure::transient(ItemError::new(
                    ErrorKind::IncompleteBody,
                    format!(
                        "{what}: the connection broke after {}{} bytes: {}",
                        body.len(),
                        of_expected(),
                        crate::error::error_chain(&err)
                    ),
                )))
            }
            Ok(Some(Ok(chunk))) => chunk,
        };
        body.push(&chunk).map_err(Failure::permanent)?;
    }
    if let Some(length) = expected.filter(|&n| body.len() < n) {
        return Err(Failure::transient(ItemError::new(
            ErrorKind::IncompleteBody,
            format!(
                "{what}: the body ended after {} of {length} bytes",
                body.len()
            ),
        )));
    }
    Ok(body)
}

/// Runs `attempt` under `limits.retry` and the whole-fetch deadline `limits.fetch_deadline`,
/// recording the attempts and the total time in the result or the error.
pub(crate) async fn fetch_with_retries<F, Fut>(
    what: &str,
    limits: &crate::pipeline::net::FetchLimits,
    mut attempt: F,
) -> Result<Fetched, ItemError>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<Fetched, Failure>>,
{
    use std::sync::atomic::{AtomicU32, Ordering};
    let started = std::time::Instant::now();
    let deadline = started + limits.fetch_deadline;
    let attempts = AtomicU32::new(0);
    let retried = with_retries(&limits.retry, deadline, what, |_| {
        attempts.fetch_add(1, Ordering::Relaxed);
        attempt()
    });
    match tokio::time::timeout_at(deadline.into(), retried).await {
        Ok(Ok((mut fetched, attempts))) => {
            fetched.attempts = attempts;
            fetched.elapsed = started.elapsed();
            Ok(fetched)
        }
        Ok(Err(err)) => Err(err),
        Err(_) => Err(ItemError::new(
            ErrorKind::FetchDeadline,
            format!(
                "{what}: not fetched within --fetch-deadline {:.1} s",
                limits.fetch_deadline.as_secs_f64()
            ),
        )
        .after_attempts(attempts.load(Ordering::Relaxed).max(1))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn small_bodies_stay_in_memory_large_ones_spill_and_the_cap_holds() {
        let mut small = BodyBuffer::new("a", None, 100, 10, None);
        small.push(b"hello").unwrap();
        let fetched = small.finish("http", 1, Duration::ZERO).unwrap();
        assert!(matches!(&fetched.data, VideoData::Memory(b) if &b[..] == b"hello"));

        let dir = tempfile::tempdir().unwrap();
        let mut large = BodyBuffer::new("b", None, 100, 10, Some(dir.path()));
        large.push(b"0123456789").unwrap();
        large.push(b"abcdef").unwrap();
        let fetched = large.finish("http", 2, Duration::ZERO).unwrap();
        let VideoData::File(path) = &fetched.data else {
            panic!("expected a spill file")
        };
        assert_eq!(std::fs::read(path).unwrap(), b"0123456789abcdef");
        assert_eq!((fetched.bytes, fetched.attempts), (16, 2));
        let path = path.clone();
        drop(fetched);
        assert!(!path.exists(), "the spill file goes with the last Fetched");

        let mut capped = BodyBuffer::new("c", None, 8, 4, Some(dir.path()));
        capped.push(b"12345678").unwrap();
        assert_eq!(capped.push(b"9").unwrap_err().kind, ErrorKind::TooLarge);
        let empty = BodyBuffer::new("d", None, 8, 4, None);
        assert_eq!(
            empty.finish("s3", 1, Duration::ZERO).unwrap_err().kind,
            ErrorKind::EmptyFile
        );
    }
}
