/*!
Stage ②: fetch. A `video_url` becomes bytes the decoder can read.

[`VideoUrl::parse`] decides what a URL is and refuses schemes reelframe does not fetch from;
a [`Source`] turns a parsed URL into a [`Fetched`] video. Local files are read in place (no copy);
remote sources (HTTP, S3) plug in behind the same trait.
*/

mod local;

pub use local::LocalSource;

use crate::error::{ErrorKind, ItemError};
use std::path::PathBuf;
use std::sync::Arc;

/// Where a video is, after checking its URL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum VideoUrl {
    /// A local file (a plain path or a `file://` URL).
    Local(PathBuf),
    /// An `http://` or `https://` URL.
    Http(String),
    /// An `s3://bucket/key` URL.
    S3 {
        /// The bucket name.
        bucket: String,
        /// The object key.
        key: String,
    },
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
            "s3" => {
                let (bucket, key) = rest.split_once('/').unwrap_or((rest, ""));
                if bucket.is_empty() || key.is_empty() {
                    return Err(ItemError::new(
                        ErrorKind::InvalidInput,
                        format!("s3 URL needs a bucket and a key: {url}"),
                    ));
                }
                Ok(VideoUrl::S3 {
                    bucket: bucket.to_string(),
                    key: key.to_string(),
                })
            }
            other => Err(ItemError::new(
                ErrorKind::UnsupportedScheme,
                format!("scheme {other:?} is not allowed (local paths, file://, http(s)://, s3:// are): {url}"),
            )),
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
}

/// Something that can fetch videos: local disk, HTTP, S3.
pub trait Source: Send + Sync {
    /// Fetches the video at `url`, or says why it cannot.
    fn fetch(&self, url: &VideoUrl) -> Result<Fetched, ItemError>;
}

/// The default source: local files; remote URLs are refused until a remote source is configured.
pub struct LocalOnly(pub LocalSource);

impl Source for LocalOnly {
    fn fetch(&self, url: &VideoUrl) -> Result<Fetched, ItemError> {
        match url {
            VideoUrl::Local(_) => self.0.fetch(url),
            VideoUrl::Http(u) => Err(ItemError::new(
                ErrorKind::UnsupportedScheme,
                format!("remote sources are not enabled in this build: {u}"),
            )),
            VideoUrl::S3 { bucket, key } => Err(ItemError::new(
                ErrorKind::UnsupportedScheme,
                format!("remote sources are not enabled in this build: s3://{bucket}/{key}"),
            )),
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
            VideoUrl::S3 {
                bucket: "b".into(),
                key: "k/v.mp4".into()
            }
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
