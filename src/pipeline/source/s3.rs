//! `s3://bucket/key` videos, fetched with aws-sdk-s3 under [`FetchLimits`].

use super::body::{fetch_with_retries, read_body};
use super::{Fetched, Source, VideoUrl};
use crate::error::{ErrorKind, ItemError};
use crate::pipeline::net::retry::Failure;
use crate::pipeline::net::s3::{classify, LazyClient, S3Location};
use crate::pipeline::net::FetchLimits;
use futures_util::future::BoxFuture;
use std::sync::Arc;
use std::time::Instant;

/// Fetches videos from S3 or an S3-compatible server.
#[derive(Clone)]
pub struct S3Source {
    client: Arc<LazyClient>,
    limits: FetchLimits,
}

impl S3Source {
    /// A source over `client` (built on first use; see [`crate::pipeline::net::s3::client`]).
    pub fn new(client: Arc<LazyClient>, limits: FetchLimits) -> S3Source {
        S3Source { client, limits }
    }

    /// The S3 client.
    pub fn client(&self) -> &Arc<LazyClient> {
        &self.client
    }

    /// The limits this source fetches under.
    pub fn limits(&self) -> &FetchLimits {
        &self.limits
    }

    async fn attempt(&self, location: &S3Location, what: &str) -> Result<Fetched, Failure> {
        let started = Instant::now();
        let client = self
            .client
            .get()
            .await
            .map_err(|err| Failure::permanent(err.clone()))?;
        let output = client
            .get_object()
            .bucket(&location.bucket)
            .key(&location.key)
            .send()
            .await
            .map_err(|err| classify(what, &err))?;
        let expected = output.content_length().map(|n| n.max(0) as u64);
        let chunks = futures_util::stream::unfold(output.body, |mut body| async move {
            body.next().await.map(|chunk| (chunk, body))
        });
        let body = read_body(what, expected, Box::pin(chunks), &self.limits).await?;
        body.finish("s3", 1, started.elapsed())
            .map_err(Failure::permanent)
    }
}

impl Source for S3Source {
    fn fetch<'a>(&'a self, url: &'a VideoUrl) -> BoxFuture<'a, Result<Fetched, ItemError>> {
        Box::pin(async move {
            let VideoUrl::S3(location) = url else {
                return Err(ItemError::new(
                    ErrorKind::UnsupportedScheme,
                    format!("{url} is not an s3:// URL"),
                ));
            };
            let what = location.to_string();
            fetch_with_retries(&what, &self.limits, || self.attempt(location, &what)).await
        })
    }
}
