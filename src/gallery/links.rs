//! Turning the URIs in records into links a browser can open from the gallery: a path relative
//! to the gallery's folder for local files, `BASE/key` for a bucket served over HTTP(S), or a
//! presigned URL. Anything else (an unknown scheme, `javascript:`…) gets no link at all.

use crate::pipeline::net::s3::S3Location;
use percent_encoding::{utf8_percent_encode, AsciiSet, CONTROLS};
use std::path::{Component, Path, PathBuf};
use std::time::Duration;

/// Characters escaped in each path segment of a link: everything a URL parser would read as
/// syntax (`#`, `?`, `%`, …), spaces and controls; non-ASCII bytes are always escaped.
const SEGMENT: &AsciiSet = &CONTROLS
    .add(b' ')
    .add(b'"')
    .add(b'#')
    .add(b'%')
    .add(b'<')
    .add(b'>')
    .add(b'?')
    .add(b'`')
    .add(b'{')
    .add(b'}')
    .add(b'\\')
    .add(b'^')
    .add(b'|')
    .add(b'[')
    .add(b']')
    .add(b':')
    .add(b';')
    .add(b'\'');

/// Percent-encodes each `/`-separated segment of `path`.
pub fn encode_path(path: &str) -> String {
    path.split('/')
        .map(|segment| utf8_percent_encode(segment, SEGMENT).to_string())
        .collect::<Vec<_>>()
        .join("/")
}

/// Signs S3 GET URLs (implemented over the S3 client in `commands`, where the runtime is).
pub trait Presign {
    /// A URL that fetches `location`'s object for `expires`; `None` when signing failed.
    fn presign(&self, location: &S3Location, expires: Duration) -> Option<String>;
}

/// How `s3://` URIs become links.
pub enum S3Links {
    /// They get no link (a local gallery of an S3 run: the page says how to get links).
    None,
    /// `s3://bucket/key` → `BASE/key`.
    PublicBase(String),
    /// Presigned GET URLs valid for the duration.
    Presigned(Box<dyn Presign + Send + Sync>, Duration),
}

/// Makes links relative to the gallery's folder.
pub struct Links {
    root: PathBuf,
    cwd: PathBuf,
    s3: S3Links,
}

/// A link and whether the file behind it was found (local files only; remote ones are assumed
/// present).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Href {
    /// What goes into `href`/`src`.
    pub url: String,
    /// `false` when a local file does not exist.
    pub present: bool,
}

impl Links {
    /// Links for pages written under `root` (an absolute, canonical folder).
    pub fn new(root: PathBuf, s3: S3Links) -> Links {
        let cwd = std::env::current_dir().unwrap_or_else(|_| PathBuf::from("/"));
        Links { root, cwd, s3 }
    }

    /// Whether `s3://` URIs get links.
    pub fn links_s3(&self) -> bool {
        !matches!(self.s3, S3Links::None)
    }

    /// The link for `uri`, relative to the gallery's root folder, or `None` for a URI that must
    /// not or cannot be linked.
    pub fn href(&self, uri: &str) -> Option<Href> {
        let lower = uri.get(..8).unwrap_or(uri).to_ascii_lowercase();
        if lower.starts_with("https://") || lower.starts_with("http://") {
            return Some(Href {
                url: uri.to_string(),
                present: true,
            });
        }
        if lower.starts_with("s3://") {
            let location = S3Location::parse(uri)?;
            let url = match &self.s3 {
                S3Links::None => return None,
                S3Links::PublicBase(base) => format!("{base}/{}", encode_path(&location.key)),
                S3Links::Presigned(signer, expires) => signer.presign(&location, *expires)?,
            };
            return Some(Href { url, present: true });
        }
        let path = match uri.strip_prefix("file://") {
            Some(rest) => PathBuf::from(rest),
            None if uri.contains("://") => return None,
            None => PathBuf::from(uri),
        };
        let absolute = normalize(&self.cwd.join(path));
        let present = absolute.is_file();
        // A link from the canonical root must follow symlinks the same way, so the target's
        // folder is made canonical too when it exists.
        let target = match (absolute.parent(), absolute.file_name()) {
            (Some(dir), Some(name)) => dir.canonicalize().map(|d| d.join(name)).unwrap_or(absolute),
            _ => absolute,
        };
        let relative = relative_path(&self.root, &target);
        Some(Href {
            url: encode_path(&relative),
            present,
        })
    }
}

/// `path` without `.` and with `..` applied, lexically.
fn normalize(path: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for component in path.components() {
        match component {
            Component::ParentDir => {
                out.pop();
            }
            Component::CurDir => {}
            other => out.push(other),
        }
    }
    out
}

/// The `/`-separated path from folder `from` to `to` (both absolute and normalized).
fn relative_path(from: &Path, to: &Path) -> String {
    let from: Vec<_> = from.components().collect();
    let to: Vec<_> = to.components().collect();
    let common = from.iter().zip(&to).take_while(|(a, b)| a == b).count();
    let mut parts: Vec<String> = vec!["..".to_string(); from.len() - common];
    parts.extend(
        to[common..]
            .iter()
            .map(|c| c.as_os_str().to_string_lossy().into_owned()),
    );
    parts.join("/")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn relative_paths() {
        let p = |s: &str| PathBuf::from(s);
        assert_eq!(
            relative_path(&p("/o/gallery"), &p("/o/tiktok/a/t.jpg")),
            "../tiktok/a/t.jpg"
        );
        assert_eq!(
            relative_path(&p("/o"), &p("/o/tiktok/t.jpg")),
            "tiktok/t.jpg"
        );
        assert_eq!(
            relative_path(&p("/x/y/g"), &p("/o/t.jpg")),
            "../../../o/t.jpg"
        );
        assert_eq!(normalize(&p("/a/./b/../c")), p("/a/c"));
    }

    #[test]
    fn segments_are_escaped_but_slashes_kept() {
        assert_eq!(encode_path("../a b/#1?x%.jpg"), "../a%20b/%231%3Fx%25.jpg");
        assert_eq!(encode_path("é/c:d"), "%C3%A9/c%3Ad");
    }

    #[test]
    fn only_known_schemes_are_linked() {
        let links = Links::new(PathBuf::from("/g"), S3Links::None);
        assert!(links
            .href("javascript:alert(1)")
            .is_some_and(|h| !h.url.starts_with("javascript")));
        assert!(links.href("ftp://host/x.jpg").is_none());
        assert!(links.href("s3://bucket/a.jpg").is_none());
        assert_eq!(
            links.href("https://cdn/x.jpg").unwrap().url,
            "https://cdn/x.jpg"
        );
        let public = Links::new(
            PathBuf::from("/g"),
            S3Links::PublicBase("https://cdn.example".into()),
        );
        assert_eq!(
            public.href("s3://bucket/pre fix/a.jpg").unwrap().url,
            "https://cdn.example/pre%20fix/a.jpg"
        );
    }
}
