/*!
Where records go: a [`RecordSink`] takes one finished record at a time. [`JsonlSink`] writes JSON
lines to any writer and flushes each, so a killed run loses at most the records in flight;
[`S3JournalSink`] appends to a local journal and uploads it to S3 every minute and at the end.
*/

use crate::error::{ErrorKind, ItemError};
use crate::files::{write_atomic, Durability};
use crate::pipeline::net::retry::{with_retries, Failure};
use crate::pipeline::net::s3::{classify, S3Location};
use crate::pipeline::net::FetchLimits;
use serde_json::{Map, Value};
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};
use tokio::runtime::Handle;
use tokio::task::JoinHandle;

/// Where records go.
pub trait RecordSink: Send {
    /// Writes one record; it is durable (flushed) when this returns.
    fn write(&mut self, record: &Map<String, Value>) -> io::Result<()>;
}

/// Writes records as JSON lines to any writer, flushing after each.
pub struct JsonlSink<W: Write + Send> {
    out: W,
    line: Vec<u8>,
}

impl<W: Write + Send> JsonlSink<W> {
    /// A sink over `out`.
    pub fn new(out: W) -> Self {
        JsonlSink {
            out,
            line: Vec::new(),
        }
    }
}

impl<W: Write + Send> RecordSink for JsonlSink<W> {
    fn write(&mut self, record: &Map<String, Value>) -> io::Result<()> {
        self.line.clear();
        serde_json::to_writer(&mut self.line, record)?;
        self.line.push(b'\n');
        self.out.write_all(&self.line)?;
        self.out.flush()
    }
}

/// A records object in S3, written from a local journal: the journal is the resumable copy, the
/// object what other machines and later runs read.
#[derive(Clone)]
pub struct S3Records {
    client: aws_sdk_s3::Client,
    location: S3Location,
    limits: FetchLimits,
}

impl S3Records {
    /// The records object at `location`, reached through `client` under `limits`' retries.
    pub fn new(client: aws_sdk_s3::Client, location: S3Location, limits: FetchLimits) -> Self {
        S3Records {
            client,
            location,
            limits,
        }
    }

    /// The object's location.
    pub fn location(&self) -> &S3Location {
        &self.location
    }

    /// Brings an earlier run's records object down as `journal` (when there is one), so a rerun
    /// on another machine resumes from it. Returns whether an object was found.
    pub async fn restore(&self, journal: &Path) -> Result<bool, ItemError> {
        let what = self.location.to_string();
        let output = match self
            .client
            .get_object()
            .bucket(&self.location.bucket)
            .key(&self.location.key)
            .send()
            .await
        {
            Ok(output) => output,
            Err(err) => {
                let failure = classify(&what, &err);
                if failure.error.kind == ErrorKind::NotFound {
                    return Ok(false);
                }
                return Err(failure.error);
            }
        };
        let bytes = output
            .body
            .collect()
            .await
            .map_err(|err| ItemError::new(ErrorKind::IncompleteBody, format!("{what}: {err}")))?
            .into_bytes();
        let io_error = |err: io::Error| {
            ItemError::new(
                ErrorKind::Io,
                format!("writing the journal {}: {err}", journal.display()),
            )
        };
        if let Some(parent) = journal.parent().filter(|p| !p.as_os_str().is_empty()) {
            std::fs::create_dir_all(parent).map_err(io_error)?;
        }
        write_atomic(journal, &bytes, Durability::Synced).map_err(io_error)?;
        Ok(true)
    }

    /// Uploads the local file `file` as the object (or, with `extension`, as the object's key
    /// with that extension: the Avro copy), retried under the run's retry policy.
    pub async fn upload(
        &self,
        file: &Path,
        content_type: &str,
        extension: Option<&str>,
    ) -> Result<(), ItemError> {
        let location = match extension {
            None => self.location.clone(),
            Some(ext) => S3Location {
                bucket: self.location.bucket.clone(),
                key: Path::new(&self.location.key)
                    .with_extension(ext)
                    .to_string_lossy()
                    .into_owned(),
            },
        };
        let what = location.to_string();
        let deadline = Instant::now() + self.limits.fetch_deadline;
        with_retries(&self.limits.retry, deadline, &what, |_| async {
            let body = aws_sdk_s3::primitives::ByteStream::from_path(file)
                .await
                .map_err(|err| {
                    Failure::permanent(ItemError::new(
                        ErrorKind::Io,
                        format!("reading {}: {err}", file.display()),
                    ))
                })?;
            self.client
                .put_object()
                .bucket(&location.bucket)
                .key(&location.key)
                .content_type(content_type)
                .body(body)
                .send()
                .await
                .map_err(|err| classify(&what, &err))
        })
        .await
        .map(|_| ())
    }
}

/// Content type of JSONL records objects.
pub const JSONL_CONTENT_TYPE: &str = "application/x-ndjson";

/// Records going to S3: appended to a local journal (flushed per record, so a killed run
/// resumes from it) and uploaded as the records object every minute and by [`Self::finish`].
pub struct S3JournalSink {
    journal: JsonlSink<std::fs::File>,
    path: PathBuf,
    object: S3Records,
    runtime: Handle,
    ticker: JoinHandle<()>,
}

impl S3JournalSink {
    /// A sink appending to `file` (the journal at `path`) and uploading it to `object` every
    /// minute on `runtime`.
    pub fn new(file: std::fs::File, path: PathBuf, object: S3Records, runtime: Handle) -> Self {
        let ticker = {
            let (object, path) = (object.clone(), path.clone());
            runtime.spawn(async move {
                let mut tick = tokio::time::interval(Duration::from_secs(60));
                tick.tick().await;
                loop {
                    tick.tick().await;
                    if let Err(err) = object.upload(&path, JSONL_CONTENT_TYPE, None).await {
                        tracing::warn!("uploading records: {err}");
                    }
                }
            })
        };
        S3JournalSink {
            journal: JsonlSink::new(file),
            path,
            object,
            runtime,
            ticker,
        }
    }

    /// Stops the minute uploads and uploads the whole journal once more. Call from outside the
    /// runtime.
    pub fn finish(self) -> Result<(), ItemError> {
        self.ticker.abort();
        drop(self.journal);
        self.runtime
            .block_on(self.object.upload(&self.path, JSONL_CONTENT_TYPE, None))
    }
}

impl RecordSink for S3JournalSink {
    fn write(&mut self, record: &Map<String, Value>) -> io::Result<()> {
        self.journal.write(record)
    }
}
