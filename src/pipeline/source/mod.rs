/*!
Stage ②: fetch. A `video_url` becomes bytes the decoder can read.

[`VideoUrl::parse`] decides what a URL is and refuses schemes reelframe does not fetch from;
a [`Source`] turns a parsed URL into a [`Fetched`] video. Local files are read in place (no copy);
HTTP(S) and S3 downloads ([`HttpSource`], [`S3Source`]) go to memory when small and spill to a
temporary file otherwise, under the same [`FetchLimits`] and retry policy. [`Sources`] routes each
URL to the source for its scheme.
*/

mod body;
mod http;
mod local;
mod s3;

pub use body::BodyBuffer;
pub use http::HttpSource;
pub use local::LocalSource;
pub use s3::S3Source;

use crate::error::{ErrorKind, ItemError};
use crate::pipeline::net::s3::S3Location;
use crate::pipeline::net::FetchLimits;
use futures_util::future::BoxFuture;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

/// Where a video is, after checking its URL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum VideoUrl {
    /// A local file (a plain path or a `file://` URL).
    Local(PathBuf),
    /// An `http://` or `https://` URL.
    Http(String),
    /// An `s3://bucket/key` URL.
    S3(S3Location),
}

impl VideoUrl {
    /// Parses a `video_url`. Plain paths and `file://` are local; `http(s)://` and `s3://` are
    /// remote; any other `scheme://` is refused with [`ErrorKind::UnsupportedScheme`].
    pub fn parse(url: &str) -> Result<VideoUrl, ItemError> {
        let url = url.trim();
        if let Some(path) = url.strip_prefix("file://") {
            return Ok(VideoUrl::Local(PathBuf::from(path)));
        }
        let Some((scheme, rest)) = url.split_once("://") else {
            return Ok(VideoUrl::Local(PathBuf::from(url)));
        };
        match scheme.to_ascii_lowercase().as_str() {
            "http" | "https" => Ok(VideoUrl::Http(url.to_string())),
            "s3" => match S3Location::parse(&format!("s3://{rest}")) {
                Some(location) if !location.key.is_empty() => Ok(VideoUrl::S3(location)),
                _ => Err(ItemError::new(
                    ErrorKind::InvalidInput,
                    format!("s3 URL needs a bucket and a key: {url}"),
                )),
            },
            other => Err(ItemError::new(
                ErrorKind::UnsupportedScheme,
                format!("scheme {other:?} is not allowed (local paths, file://, http(s)://, s3:// are): {url}"),
            )),
        }
    }
}

impl std::fmt::Display for VideoUrl {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            VideoUrl::Local(path) => write!(f, "{}", path.display()),
            VideoUrl::Http(url) => f.write_str(url),
            VideoUrl::S3(location) => write!(f, "{location}"),
        }
    }
}

/// The bytes of a fetched video, as the decoder will read them.
#[derive(Debug, Clone)]
pub enum VideoData {
    /// A file on local disk, read in place.
    File(PathBuf),
    /// The whole video in memory.
    Memory(Arc<[u8]>),
}

/// A video ready to decode, with facts about how it was fetched.
#[derive(Debug, Clone)]
pub struct Fetched {
    /// The bytes.
    pub data: VideoData,
    /// How many bytes the video has.
    pub bytes: u64,
    /// How many attempts the fetch took (1 for local files).
    pub attempts: u32,
    /// Which kind of source: `local`, `http` or `s3`.
    pub source: &'static str,
    /// Time from the first request to the last byte.
    pub elapsed: Duration,
    /// Keeps a spilled download's temporary file alive; it is deleted when the last clone drops.
    pub spill: Option<Arc<tempfile::TempPath>>,
}

/// Something that can fetch videos: local disk, HTTP, S3.
pub trait Source: Send + Sync {
    /// Fetches the video at `url`, or says why it cannot.
    fn fetch<'a>(&'a self, url: &'a VideoUrl) -> BoxFuture<'a, Result<Fetched, ItemError>>;
}

/// Routes each URL to the source for its scheme. Remote sources are optional: a URL whose
/// source is not configured is refused with [`ErrorKind::UnsupportedScheme`].
pub struct Sources {
    /// Local files.
    pub local: LocalSource,
    /// `http://` and `https://`.
    pub http: Option<HttpSource>,
    /// `s3://`.
    pub s3: Option<S3Source>,
}

impl Sources {
    /// Local files only; remote URLs are refused.
    pub fn local_only(max_bytes: u64) -> Sources {
        Sources {
            local: LocalSource { max_bytes },
            http: None,
            s3: None,
        }
    }
}

/// Largest remote input list accepted.
pub const MAX_LIST_BYTES: u64 = 1 << 40;

impl Sources {
    /// Fetches a remote input list: like a video, under the same limits and retries, except that
    /// it always goes to a temporary file (never memory) and may be up to [`MAX_LIST_BYTES`].
    pub async fn fetch_list(&self, url: &VideoUrl) -> Result<Fetched, ItemError> {
        let for_lists = |limits: &FetchLimits| FetchLimits {
            memory_limit: 0,
            max_bytes: MAX_LIST_BYTES,
            ..limits.clone()
        };
        let refused = |what: &str| {
            ItemError::new(
                ErrorKind::UnsupportedScheme,
                format!("remote sources are not enabled here: {what}"),
            )
        };
        match url {
            VideoUrl::Http(u) => {
                let http = self.http.as_ref().ok_or_else(|| refused(u))?;
                let source = HttpSource::new(for_lists(http.limits())).map_err(|err| {
                    ItemError::new(ErrorKind::Internal, format!("HTTP client: {err}"))
                })?;
                source.fetch(url).await
            }
            VideoUrl::S3(_) => {
                let s3 = self.s3.as_ref().ok_or_else(|| refused("s3://"))?;
                let limits = for_lists(s3.limits());
                S3Source::new(Arc::clone(s3.client()), limits)
                    .fetch(url)
                    .await
            }
            VideoUrl::Local(path) => Err(ItemError::new(
                ErrorKind::InvalidInput,
                format!("{} is a local list, not a remote one", path.display()),
            )),
        }
    }
}

impl Source for Sources {
    fn fetch<'a>(&'a self, url: &'a VideoUrl) -> BoxFuture<'a, Result<Fetched, ItemError>> {
        let refused = |what: String| {
            let err = ItemError::new(
                ErrorKind::UnsupportedScheme,
                format!("remote sources are not enabled here: {what}"),
            );
            Box::pin(async move { Err(err) }) as BoxFuture<'a, _>
        };
        match url {
            VideoUrl::Local(_) => self.local.fetch(url),
            VideoUrl::Http(u) => match &self.http {
                Some(http) => http.fetch(url),
                None => refused(u.clone()),
            },
            VideoUrl::S3(location) => match &self.s3 {
                Some(s3) => s3.fetch(url),
                None => refused(location.to_string()),
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_schemes_and_refuses_others() {
        assert_eq!(
            VideoUrl::parse("a/b.mp4").unwrap(),
            VideoUrl::Local("a/b.mp4".into())
        );
        assert_eq!(
            VideoUrl::parse("file:///x/y.mp4").unwrap(),
            VideoUrl::Local("/x/y.mp4".into())
        );
        assert!(matches!(
            VideoUrl::parse("HTTPS://h/v.mp4").unwrap(),
            VideoUrl::Http(_)
        ));
        assert_eq!(
            VideoUrl::parse("s3://b/k/v.mp4").unwrap(),
            VideoUrl::S3(S3Location {
                bucket: "b".into(),
                key: "k/v.mp4".into()
            })
        );
        for bad in ["ftp://h/x", "concat:a|b://", "gopher://x", "data://x"] {
            let err = VideoUrl::parse(bad).unwrap_err();
            assert_eq!(err.kind, ErrorKind::UnsupportedScheme, "{bad}");
        }
        assert_eq!(
            VideoUrl::parse("s3://bucket-only").unwrap_err().kind,
            ErrorKind::InvalidInput
        );
    }
}
