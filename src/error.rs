/*!
Typed errors.

Every failure of one item is an [`ItemError`]: a machine-readable [`ErrorKind`] (it becomes the
record's `error.kind`) plus a human message with the context that explains it (the stage, the
file, the timestamp). Stage code returns `ItemError`s; only the command layer turns setup
failures into `anyhow` errors with exit code 2.
*/

use serde::{Deserialize, Serialize};
use std::fmt;

/// What went wrong with one item, as a stable snake_case name written into its record.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorKind {
    /// The input row itself is unusable (bad JSON, no `content_id`, no `video_url`).
    InvalidInput,
    /// The URL's scheme is not one reelframe fetches from.
    UnsupportedScheme,
    /// The video file or object does not exist (HTTP 404/410, S3 NoSuchKey/NoSuchBucket).
    NotFound,
    /// The server refused access (HTTP 401/403, S3 AccessDenied or bad credentials).
    AccessDenied,
    /// The server answered with another error status, after any retries.
    HttpStatus,
    /// No connection could be made, or it broke (refused, reset, DNS, TLS).
    ConnectionFailed,
    /// Connecting took longer than `--connect-timeout`.
    ConnectTimeout,
    /// No byte arrived for `--read-timeout` (a stalled server).
    ReadTimeout,
    /// The whole download took longer than `--fetch-deadline`.
    FetchDeadline,
    /// The server closed the body before sending the bytes it announced.
    IncompleteBody,
    /// More redirects than `--max-redirects`, or a redirect loop.
    TooManyRedirects,
    /// The video could not be read (permissions, I/O error).
    Io,
    /// The video is zero bytes long.
    EmptyFile,
    /// The video is larger than `--max-bytes`, or its frames larger than the pixel cap.
    TooLarge,
    /// The bytes are not a container FFmpeg recognises (random bytes, a missing `moov` atom).
    Unreadable,
    /// The file is a still image or another non-video medium.
    NotVideo,
    /// The container holds no video stream.
    NoVideoStream,
    /// The container ends before the data its index promises.
    Truncated,
    /// The compressed video is damaged: the decoder reported errors.
    CorruptData,
    /// The codec is not supported by the FFmpeg libraries reelframe runs on.
    UnsupportedCodec,
    /// Decoding failed for another reason.
    DecodeFailed,
    /// The stream holds no frame inside the sampled span.
    NoFrames,
    /// The item took longer than its deadline.
    Timeout,
    /// Colour conversion, scaling or JPEG encoding failed.
    EncodeFailed,
    /// Writing a frame or thumbnail to the store failed.
    StoreFailed,
    /// A bug: a panic or a broken invariant inside reelframe.
    Internal,
}

impl ErrorKind {
    /// The snake_case name used in records.
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorKind::InvalidInput => "invalid_input",
            ErrorKind::UnsupportedScheme => "unsupported_scheme",
            ErrorKind::NotFound => "not_found",
            ErrorKind::AccessDenied => "access_denied",
            ErrorKind::HttpStatus => "http_status",
            ErrorKind::ConnectionFailed => "connection_failed",
            ErrorKind::ConnectTimeout => "connect_timeout",
            ErrorKind::ReadTimeout => "read_timeout",
            ErrorKind::FetchDeadline => "fetch_deadline",
            ErrorKind::IncompleteBody => "incomplete_body",
            ErrorKind::TooManyRedirects => "too_many_redirects",
            ErrorKind::Io => "io",
            ErrorKind::EmptyFile => "empty_file",
            ErrorKind::TooLarge => "too_large",
            ErrorKind::Unreadable => "unreadable",
            ErrorKind::NotVideo => "not_video",
            ErrorKind::NoVideoStream => "no_video_stream",
            ErrorKind::Truncated => "truncated",
            ErrorKind::CorruptData => "corrupt_data",
            ErrorKind::UnsupportedCodec => "unsupported_codec",
            ErrorKind::DecodeFailed => "decode_failed",
            ErrorKind::NoFrames => "no_frames",
            ErrorKind::Timeout => "timeout",
            ErrorKind::EncodeFailed => "encode_failed",
            ErrorKind::StoreFailed => "store_failed",
            ErrorKind::Internal => "internal",
        }
    }
}

impl fmt::Display for ErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The failure of one item: a kind for machines and a message for people.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, Serialize, Deserialize)]
#[error("{kind}: {message}")]
pub struct ItemError {
    /// What kind of failure this is.
    pub kind: ErrorKind,
    /// What happened, with enough context to act on it.
    pub message: String,
    /// How many attempts were made before giving up (for fetches and uploads that retry).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub attempts: Option<u32>,
}

impl ItemError {
    /// An error of `kind` with `message`.
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> Self {
        ItemError {
            kind,
            message: message.into(),
            attempts: None,
        }
    }

    /// The same error, noting that it ended `attempts` attempts.
    pub fn after_attempts(mut self, attempts: u32) -> Self {
        self.attempts = Some(attempts);
        self
    }
}

/// Errors of the store stage.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// An I/O error while writing `key`.
    #[error("writing {key}: {source}")]
    Io {
        /// The object key being written.
        key: String,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
    /// A remote store refused or failed the write of `key`, after `attempts` attempts.
    #[error("uploading {key} (attempt {attempts}): {message}")]
    Remote {
        /// The object key being written.
        key: String,
        /// What the store said.
        message: String,
        /// Attempts made.
        attempts: u32,
    },
}

impl From<StoreError> for ItemError {
    fn from(err: StoreError) -> Self {
        let attempts = match &err {
            StoreError::Remote { attempts, .. } => Some(*attempts),
            StoreError::Io { .. } => None,
        };
        ItemError {
            kind: ErrorKind::StoreFailed,
            message: err.to_string(),
            attempts,
        }
    }
}
