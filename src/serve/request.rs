//! The body of `POST /store_video_frames`, checked: every bad field is a 400 naming it, and a
//! local `video_uri` must resolve (symlinks and `..` followed) inside an `--allow-root`.

use super::error::ApiError;
use crate::pipeline::extract::ExtractOptions;
use crate::pipeline::input::content_id_text;
use crate::pipeline::sample::SamplingMode;
use crate::pipeline::source::VideoUrl;
use crate::pipeline::store::sampling_folder;
use axum::http::StatusCode;
use serde_json::{Map, Value};
use std::path::{Component, Path, PathBuf};

/// Fields the route reads; any other field is ignored.
pub const FIELDS: &[&str] = &[
    "video_uri",
    "platform",
    "content_id",
    "max_seconds",
    "fps",
    "frames",
    "keyframes",
    "tolerance_ms",
    "max_side",
    "width",
    "height",
    "quality",
    "thumbnail_max_side",
    "force",
];

/// A checked request.
#[derive(Debug, Clone)]
pub struct FramesRequest {
    /// The content ID, as text.
    pub content_id: String,
    /// The platform, lower-cased.
    pub platform: String,
    /// Where the video is: a canonical local path inside an allowed root, or an http(s)/s3 URL.
    pub video_url: String,
    /// The options this item is extracted with (the server's, with the request's overrides).
    pub options: ExtractOptions,
    /// Decode again even when the store has the answer.
    pub force: bool,
}

fn integer(
    map: &Map<String, Value>,
    field: &str,
    min: u64,
    max: u64,
) -> Result<Option<u64>, ApiError> {
    match map.get(field) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Number(n)) => match n.as_u64() {
            Some(v) if (min..=max).contains(&v) => Ok(Some(v)),
            _ => Err(ApiError::bad_field(
                field,
                format!("must be an integer from {min} to {max}, not {n}"),
            )),
        },
        Some(other) => Err(ApiError::bad_field(
            field,
            format!("must be an integer from {min} to {max}, not {other}"),
        )),
    }
}

fn boolean(map: &Map<String, Value>, field: &str) -> Result<bool, ApiError> {
    match map.get(field) {
        None | Some(Value::Null) => Ok(false),
        Some(Value::Bool(b)) => Ok(*b),
        Some(other) => Err(ApiError::bad_field(
            field,
            format!("must be true or false, not {other}"),
        )),
    }
}

/// Text of a field that may be a number or a string (`fps`, `max_seconds`).
fn number_text(map: &Map<String, Value>, field: &str) -> Result<Option<String>, ApiError> {
    match map.get(field) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Number(n)) => Ok(Some(n.to_string())),
        Some(Value::String(s)) => Ok(Some(s.trim().to_string())),
        Some(other) => Err(ApiError::bad_field(
            field,
            format!("must be a number, not {other}"),
        )),
    }
}

/// Parses and checks a request body against the server's `base` options and `allow_roots`
/// (canonical directories; empty: no local paths).
pub fn parse_request(
    body: &[u8],
    base: &ExtractOptions,
    allow_roots: &[PathBuf],
) -> Result<FramesRequest, ApiError> {
    let value: Value = serde_json::from_slice(body).map_err(|err| {
        ApiError::new(
            StatusCode::BAD_REQUEST,
            "invalid_json",
            format!(
                "the body is not JSON ({err}): send a JSON object with video_uri and content_id"
            ),
        )
    })?;
    let Value::Object(map) = value else {
        return Err(ApiError::new(
            StatusCode::BAD_REQUEST,
            "invalid_json",
            "the body must be a JSON object with video_uri and content_id",
        ));
    };
    let content_id = match map.get("content_id") {
        None | Some(Value::Null) => return Err(ApiError::bad_field("content_id", "is required")),
        Some(v) => content_id_text(v).map_err(|e| ApiError::bad_field("content_id", e))?,
    };
    let uri = match map.get("video_uri") {
        Some(Value::String(s)) if !s.trim().is_empty() => s.trim().to_string(),
        None | Some(Value::Null) => return Err(ApiError::bad_field("video_uri", "is required")),
        Some(other) => {
            return Err(ApiError::bad_field(
                "video_uri",
                format!("must be a non-empty string, not {other}"),
            ))
        }
    };
    let platform = match map.get("platform") {
        None | Some(Value::Null) => base.platform.clone(),
        Some(Value::String(s)) => {
            let p = s.trim().to_ascii_lowercase();
            let ok = !p.is_empty()
                && p.len() <= 64
                && p.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"_-.".contains(&b));
            if !ok {
                return Err(ApiError::bad_field(
                    "platform",
                    format!("{s:?} is not a platform name (letters, digits, _ - ., e.g. TIKTOK)"),
                ));
            }
            p
        }
        Some(other) => {
            return Err(ApiError::bad_field(
                "platform",
                format!("must be a string such as \"TIKTOK\", not {other}"),
            ))
        }
    };
    let mut options = base.clone();
    options.platform = platform.clone();
    if let Some(text) = number_text(&map, "max_seconds")? {
        let seconds: f64 = text
            .parse()
            .ok()
            .filter(|s: &f64| s.is_finite() && *s >= 0.0 && *s <= 86_400.0)
            .ok_or_else(|| {
                ApiError::bad_field(
                    "max_seconds",
                    format!("{text:?} is not a number of seconds from 0 (no cap) to 86400"),
                )
            })?;
        options.sampling.max_ms = (seconds * 1000.0).round() as u64;
    }
    let fps = number_text(&map, "fps")?;
    let frames = integer(&map, "frames", 1, 100_000)?;
    let keyframes = boolean(&map, "keyframes")?;
    let modes = usize::from(fps.is_some()) + usize::from(frames.is_some()) + usize::from(keyframes);
    if modes > 1 {
        return Err(ApiError::bad_field(
            "fps",
            "give at most one of fps, frames and keyframes",
        ));
    }
    if let Some(rate) = fps {
        options.sampling.mode =
            SamplingMode::parse_fps(&rate).map_err(|e| ApiError::bad_field("fps", e))?;
    } else if let Some(n) = frames {
        options.sampling.mode = SamplingMode::Frames(n as u32);
    } else if keyframes {
        options.sampling.mode = SamplingMode::Keyframes;
    }
    if let Some(ms) = integer(&map, "tolerance_ms", 0, 60_000)? {
        options.sampling.tolerance_ms = ms;
    }
    for (field, slot) in [
        ("max_side", &mut options.size.max_side),
        ("width", &mut options.size.width),
        ("height", &mut options.size.height),
    ] {
        if let Some(px) = integer(&map, field, 1, 16_384)? {
            *slot = Some(px as u32);
        }
    }
    if let Some(q) = integer(&map, "quality", 1, 100)? {
        options.quality = q as u8;
    }
    if let Some(px) = integer(&map, "thumbnail_max_side", 0, 16_384)? {
        options.thumbnail_max_side = px as u32;
    }
    // the server's own sampling keeps the item's folder; any other gets a folder of its own, so
    // its extraction (which leaves its folder holding exactly its files) never touches the
    // files of the item's other answers
    let sampling = options.sampling_record();
    if sampling != base.sampling_record() {
        options.key_folder = Some(sampling_folder(&sampling));
    }
    let force = boolean(&map, "force")?;
    let video_url = match VideoUrl::parse(&uri).map_err(|e| ApiError::from(&e))? {
        VideoUrl::Local(path) => check_local(&path, allow_roots)?.display().to_string(),
        VideoUrl::Http(_) | VideoUrl::S3(_) => uri,
    };
    Ok(FramesRequest {
        content_id,
        platform,
        video_url,
        options,
        force,
    })
}

fn forbidden(path: &Path) -> ApiError {
    ApiError::new(
        StatusCode::FORBIDDEN,
        "forbidden_path",
        format!(
            "video_uri: {} is outside every --allow-root directory of this server: pass an http(s):// or s3:// URI, or a file under an allowed root",
            path.display()
        ),
    )
}

/// A local path the server may read: absolute, no `..`, and inside an allowed root once
/// symlinks are resolved. Returns the canonical path, which is what is then opened.
pub fn check_local(path: &Path, allow_roots: &[PathBuf]) -> Result<PathBuf, ApiError> {
    if allow_roots.is_empty() {
        return Err(ApiError::new(
            StatusCode::FORBIDDEN,
            "forbidden_path",
            "video_uri: this server reads no local files (start it with --allow-root DIR): pass an http(s):// or s3:// URI",
        ));
    }
    if !path.is_absolute() {
        return Err(ApiError::bad_field(
            "video_uri",
            format!("local path {} must be absolute", path.display()),
        ));
    }
    if path.components().any(|c| matches!(c, Component::ParentDir)) {
        return Err(forbidden(path));
    }
    // Outside every root even before symlinks are followed: refuse without touching the disk,
    // so the answer says nothing about which files exist there.
    if !allow_roots.iter().any(|root| path.starts_with(root)) {
        return Err(forbidden(path));
    }
    let canonical = std::fs::canonicalize(path).map_err(|err| {
        ApiError::new(
            StatusCode::NOT_FOUND,
            "not_found",
            format!("video_uri: {}: {err}", path.display()),
        )
    })?;
    if !allow_roots.iter().any(|root| canonical.starts_with(root)) {
        return Err(forbidden(path));
    }
    Ok(canonical)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn local_paths_stay_inside_the_roots() {
        let dir = tempfile::tempdir().unwrap();
        let root = std::fs::canonicalize(dir.path()).unwrap().join("root");
        std::fs::create_dir(&root).unwrap();
        std::fs::write(root.join("a.mp4"), b"x").unwrap();
        std::fs::write(dir.path().join("secret.mp4"), b"x").unwrap();
        #[cfg(unix)]
        std::os::unix::fs::symlink(dir.path().join("secret.mp4"), root.join("link.mp4")).unwrap();
        let roots = vec![root.clone()];
        assert_eq!(
            check_local(&root.join("a.mp4"), &roots).unwrap(),
            root.join("a.mp4")
        );
        for bad in [
            root.join("../secret.mp4"),
            dir.path().join("secret.mp4"),
            PathBuf::from("/etc/passwd"),
            #[cfg(unix)]
            root.join("link.mp4"),
        ] {
            let err = check_local(&bad, &roots).unwrap_err();
            assert_eq!(
                (err.status, err.kind.as_str()),
                (StatusCode::FORBIDDEN, "forbidden_path"),
                "{bad:?}"
            );
        }
        assert_eq!(
            check_local(&root.join("gone.mp4"), &roots)
                .unwrap_err()
                .status,
            StatusCode::NOT_FOUND
        );
        assert_eq!(
            check_local(Path::new("rel.mp4"), &roots)
                .unwrap_err()
                .status,
            StatusCode::BAD_REQUEST
        );
        assert_eq!(
            check_local(&root.join("a.mp4"), &[]).unwrap_err().status,
            StatusCode::FORBIDDEN
        );
    }
}
