//! The S3 store: frames and thumbnails as objects under `s3://bucket/prefix/<key>`.
//!
//! Each object is one PutObject, which S3 makes visible whole or not at all, so a killed run
//! never leaves a partial object; a record is written only after every object it names is
//! stored. Uploads retry under the same policy as fetches.
//!
//! Like the directory store, it removes the JPEGs an earlier run left in an item's folder that
//! the new record does not name (a rerun with other sampling): it lists the folder (one level,
//! as a directory is read) and deletes the rest. Credentials that may write but not list or
//! delete leave them in place, with one warning for the run.

use super::{FrameStore, ObjectMeta};
use crate::error::{ErrorKind, ItemError, StoreError};
use crate::pipeline::net::retry::with_retries;
use crate::pipeline::net::s3::{classify, S3Location};
use crate::pipeline::net::FetchLimits;
use bytes::Bytes;
use futures_util::future::BoxFuture;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Instant;

/// Writes objects to S3 or an S3-compatible server.
#[derive(Clone)]
pub struct S3Store {
    client: aws_sdk_s3::Client,
    location: S3Location,
    public_url_base: Option<String>,
    limits: FetchLimits,
    /// Set once listing or deleting was refused: no more attempts at removing stale objects.
    cleanup_denied: Arc<AtomicBool>,
}

impl S3Store {
    /// A store writing under `location` (a bucket and key prefix). Record URIs are
    /// `s3://bucket/prefix/key`, or `public_url_base/prefix/key` when a base is given (for a
    /// bucket served over HTTPS).
    pub fn new(
        client: aws_sdk_s3::Client,
        location: S3Location,
        public_url_base: Option<String>,
        limits: FetchLimits,
    ) -> S3Store {
        S3Store {
            client,
            location,
            public_url_base: public_url_base.map(|b| b.trim_end_matches('/').to_string()),
            limits,
            cleanup_denied: Arc::default(),
        }
    }

    /// The full object key of a store key.
    pub fn object_key(&self, key: &str) -> String {
        if self.location.key.is_empty() {
            key.to_string()
        } else {
            format!("{}/{key}", self.location.key)
        }
    }

    /// Checks, before a run, that the bucket exists and the credentials may use it; the error
    /// says which of the two it is.
    pub async fn check(&self) -> Result<(), ItemError> {
        let bucket = &self.location.bucket;
        match self.client.head_bucket().bucket(bucket).send().await {
            Ok(_) => Ok(()),
            Err(err) => {
                let failure = classify(&format!("s3://{bucket}"), &err);
                use crate::error::ErrorKind::*;
                let kind = failure.error.kind;
                Err(ItemError::new(
                    kind,
                    match kind {
                        NotFound => format!(
                            "bucket {bucket:?} does not exist ({}): create it or fix --out",
                            failure.error.message
                        ),
                        AccessDenied => format!(
                            "access to bucket {bucket:?} denied ({}): check the credentials \
                             (--profile, AWS_PROFILE) and the bucket policy",
                            failure.error.message
                        ),
                        _ => format!(
                            "cannot reach the S3 store ({}): check --s3-endpoint, \
                             AWS_ENDPOINT_URL and the network",
                            failure.error.message
                        ),
                    },
                ))
            }
        }
    }
}

impl S3Store {
    /// The object keys directly in `folder` (a key prefix ending in `/`; deeper keys are not
    /// listed, as a directory's subfolders are not), every page of them.
    async fn list_folder(&self, folder: &str) -> Result<Vec<String>, ItemError> {
        let bucket = &self.location.bucket;
        let what = format!("listing s3://{bucket}/{folder}");
        let deadline = Instant::now() + self.limits.fetch_deadline;
        let mut keys = Vec::new();
        let mut token: Option<String> = None;
        loop {
            let (page, _) = with_retries(&self.limits.retry, deadline, &what, |_| {
                let request = self
                    .client
                    .list_objects_v2()
                    .bucket(bucket)
                    .prefix(folder)
                    .delimiter("/")
                    .set_continuation_token(token.clone());
                let what = &what;
                async move { request.send().await.map_err(|err| classify(what, &err)) }
            })
            .await?;
            keys.extend(
                page.contents()
                    .iter()
                    .filter_map(|object| object.key())
                    .map(str::to_string),
            );
            match page.next_continuation_token() {
                Some(next) if page.is_truncated() == Some(true) => token = Some(next.to_string()),
                _ => return Ok(keys),
            }
        }
    }

    /// Deletes the object `object_key` (a full key).
    async fn delete(&self, object_key: &str) -> Result<(), ItemError> {
        let bucket = &self.location.bucket;
        let what = format!("deleting s3://{bucket}/{object_key}");
        let deadline = Instant::now() + self.limits.fetch_deadline;
        with_retries(&self.limits.retry, deadline, &what, |_| {
            let request = self.client.delete_object().bucket(bucket).key(object_key);
            let what = &what;
            async move { request.send().await.map_err(|err| classify(what, &err)) }
        })
        .await
        .map(|_| ())
    }

    /// Removes the `.jpg` objects directly in the item folder `prefix` that `keep` does not name.
    async fn remove_stale_objects(&self, prefix: &str, keep: &[String]) -> Result<(), ItemError> {
        let folder = format!("{}/", self.object_key(prefix));
        for object_key in self.list_folder(&folder).await? {
            let Some(name) = object_key.strip_prefix(&folder) else {
                continue;
            };
            if name.ends_with(".jpg") && !keep.contains(&format!("{prefix}/{name}")) {
                self.delete(&object_key).await?;
            }
        }
        Ok(())
    }
}

/// S3 metadata travels in HTTP headers: keep it ASCII, percent-encoding anything else.
/// (`percent_encoding` always escapes non-ASCII bytes; CONTROLS adds the control characters.)
/// S3 allows 2 KB of user metadata per object, so a long value keeps a readable prefix and a
/// blake3 hash of the whole (`…~<hash>`), as keys do.
fn header_safe(value: &str) -> String {
    const MAX: usize = 1024;
    let encoded =
        percent_encoding::utf8_percent_encode(value, percent_encoding::CONTROLS).to_string();
    if encoded.len() <= MAX {
        return encoded;
    }
    let mut cut = MAX - 33;
    while !encoded.is_char_boundary(cut) {
        cut -= 1;
    }
    let hash = blake3::hash(value.as_bytes()).to_hex();
    format!("{}~{}", &encoded[..cut], &hash[..32])
}

impl FrameStore for S3Store {
    fn put(
        &self,
        key: String,
        bytes: Bytes,
        meta: ObjectMeta,
    ) -> BoxFuture<'_, Result<String, StoreError>> {
        Box::pin(async move {
            let object_key = self.object_key(&key);
            let what = format!("s3://{}/{object_key}", self.location.bucket);
            let deadline = Instant::now() + self.limits.fetch_deadline;
            let content_id = header_safe(&meta.content_id);
            let result = with_retries(&self.limits.retry, deadline, &what, |_| {
                let mut request = self
                    .client
                    .put_object()
                    .bucket(&self.location.bucket)
                    .key(&object_key)
                    .content_type("image/jpeg")
                    .metadata("content-id", content_id.clone())
                    .body(bytes.clone().into());
                if let Some(pts) = meta.pts_ms {
                    request = request.metadata("pts-ms", pts.to_string());
                }
                let what = &what;
                async move { request.send().await.map_err(|err| classify(what, &err)) }
            })
            .await;
            match result {
                Ok(_) => Ok(self.uri(&key)),
                Err(err) => Err(StoreError::Remote {
                    key,
                    attempts: err.attempts.unwrap_or(1),
                    message: err.message,
                }),
            }
        })
    }

    fn uri(&self, key: &str) -> String {
        let object_key = self.object_key(key);
        match &self.public_url_base {
            Some(base) => format!("{base}/{object_key}"),
            None => format!("s3://{}/{object_key}", self.location.bucket),
        }
    }

    fn remove_stale(
        &self,
        prefix: String,
        keep: Vec<String>,
    ) -> BoxFuture<'_, Result<(), StoreError>> {
        Box::pin(async move {
            if self.cleanup_denied.load(Ordering::Relaxed) {
                return Ok(());
            }
            match self.remove_stale_objects(&prefix, &keep).await {
                Ok(()) => Ok(()),
                Err(err) if err.kind == ErrorKind::AccessDenied => {
                    if !self.cleanup_denied.swap(true, Ordering::Relaxed) {
                        tracing::warn!(
                            "{}: frames that earlier runs with other sampling left in the items' \
                             folders stay there (allow s3:ListBucket and s3:DeleteObject on {} \
                             to have them removed)",
                            err.message,
                            self.location
                        );
                    }
                    Ok(())
                }
                Err(err) => Err(StoreError::Cleanup {
                    folder: format!("s3://{}/{}", self.location.bucket, self.object_key(&prefix)),
                    message: err.message,
                    attempts: err.attempts.unwrap_or(1),
                }),
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn metadata_values_are_ascii() {
        assert_eq!(header_safe("72011"), "72011");
        assert!(header_safe("é\n").is_ascii());
        assert!(!header_safe("a\nb").contains('\n'));
        let long = header_safe(&"x".repeat(5000));
        assert!(long.len() <= 1024 && long.contains('~'));
        assert_ne!(long, header_safe(&"x".repeat(5001)));
    }
}
