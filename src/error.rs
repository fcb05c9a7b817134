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
    /// The URL, or a redirect it led to, would connect to an address reelframe does not fetch
    /// from: link-local (cloud metadata), unspecified, multicast or broadcast, or a private one
    /// under `--private-urls deny`. Never retried; no connection is made.
    UrlNotAllowed,
    /// The video could not be read (permissions, I/O error).
    Io,
    /// The video is zero bytes long.
    EmptyFile,
    /// The video is larger than `--max-bytes`.
    TooLarge,
    /// A frame is larger than `--max-pixels` (as the container says, or as decoded: a stream
    /// can change size after its header).
    FrameTooLarge,
    /// The row repeats a content ID an earlier row of the same run already has; that row is
    /// processed, this one is not.
    Duplicate,
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
    /// The decoder process died (a signal, an abort, the out-of-memory killer) or hung past the
    /// item's deadline while extracting this item; the run went on with a new one.
    DecoderCrashed,
    /// A bug: a panic or a broken invariant inside reelframe.
    Internal,
}

impl ErrorKind {
    /// The snake_case name used in records: the name serde writes, so the two cannot differ.
    pub fn name(self) -> String {
        match serde_json::to_value(self) {
            Ok(serde_json::Value::String(name)) => name,
            _ => unreachable!("ErrorKind serialises as a string"),
        }
    }
}

impl fmt::Display for ErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.name())
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

/// A value given to reelframe (a flag, a template, a shard, an input field) that cannot be used;
/// the message names the value and the forms that are accepted.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct InvalidValue(pub String);

impl InvalidValue {
    /// An invalid value, explained by `message`.
    pub fn new(message: impl Into<String>) -> InvalidValue {
        InvalidValue(message.into())
    }
}

/// Joins an error and its sources into one line: `outer: inner: innermost`, each cause once.
pub fn error_chain(err: &dyn std::error::Error) -> String {
    let mut text = err.to_string();
    let mut source = err.source();
    while let Some(cause) = source {
        let cause_text = cause.to_string();
        if !text.contains(&cause_text) {
            text.push_str(": ");
            text.push_str(&cause_text);
        }
        source = cause.source();
    }
    text
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
    /// A remote store failed to list or delete the objects an earlier run left in an item's
    /// folder (`folder`), after `attempts` attempts.
    #[error("removing the frames of an earlier run from {folder} (attempt {attempts}): {message}")]
    Cleanup {
        /// The item's folder.
        folder: String,
        /// What the store said.
        message: String,
        /// Attempts made.
        attempts: u32,
    },
}

impl From<StoreError> for ItemError {
    fn from(err: StoreError) -> Self {
        let attempts = match &err {
            StoreError::Remote { attempts, .. } | StoreError::Cleanup { attempts, .. } => {
                Some(*attempts)
            }
            StoreError::Io { .. } => None,
        };
        ItemError {
            kind: ErrorKind::StoreFailed,
            message: err.to_string(),
            attempts,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kind_names_are_serdes() {
        assert_eq!(ErrorKind::NotFound.name(), "not_found");
        assert_eq!(
            ErrorKind::TooManyRedirects.to_string(),
            "too_many_redirects"
        );
        let back: ErrorKind = serde_json::from_str("\"corrupt_data\"").unwrap();
        assert_eq!(back, ErrorKind::CorruptData);
    }
}
