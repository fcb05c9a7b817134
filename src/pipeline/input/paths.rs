//! Items from paths on the command line: a file as it is, or a directory's video files.

use super::{InputRow, InvalidRow, Item};
use crate::error::{ErrorKind, ItemError};
use serde_json::{Map, Value};
use std::fs;
use std::io;
use std::path::{Path, PathBuf};

/// File extensions taken when a directory is given as input (case-insensitive).
pub const VIDEO_EXTENSIONS: &[&str] = &[
    "mp4", "m4v", "mov", "mkv", "webm", "avi", "flv", "ts", "mts", "m2ts", "3gp", "3g2", "mpg",
    "mpeg", "ogv", "wmv", "asf",
];

/// Does `path` look like a video file by its extension?
pub fn has_video_extension(path: &Path) -> bool {
    path.extension()
        .and_then(|e| e.to_str())
        .map(|e| VIDEO_EXTENSIONS.iter().any(|v| v.eq_ignore_ascii_case(e)))
        .unwrap_or(false)
}

/// Items for paths given as arguments: a file is taken as it is; a directory contributes its
/// video files (by extension, not recursive, sorted by name). The content ID is the file stem.
pub fn items_from_paths(paths: &[PathBuf]) -> impl Iterator<Item = InputRow> + '_ {
    paths.iter().flat_map(|path| {
        let rows: Vec<InputRow> = if path.is_dir() {
            match list_video_files(path) {
                Ok(files) => files.into_iter().map(|f| Ok(item_for_path(&f))).collect(),
                Err(err) => vec![Err(Box::new(InvalidRow {
                    fields: Map::new(),
                    origin: path.display().to_string(),
                    error: ItemError::new(
                        ErrorKind::Io,
                        format!("cannot list directory {}: {err}", path.display()),
                    ),
                }))],
            }
        } else {
            vec![Ok(item_for_path(path))]
        };
        rows
    })
}

fn list_video_files(dir: &Path) -> io::Result<Vec<PathBuf>> {
    let mut files = Vec::new();
    for entry in fs::read_dir(dir)? {
        let path = entry?.path();
        let hidden = path
            .file_name()
            .and_then(|n| n.to_str())
            .is_some_and(|n| n.starts_with('.'));
        if !hidden && path.is_file() && has_video_extension(&path) {
            files.push(path);
        }
    }
    files.sort();
    Ok(files)
}

fn item_for_path(path: &Path) -> Item {
    let content_id = path
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_else(|| path.display().to_string());
    let video_url = path.display().to_string();
    let mut fields = Map::new();
    fields.insert("content_id".into(), Value::String(content_id.clone()));
    fields.insert("video_url".into(), Value::String(video_url.clone()));
    Item {
        content_id,
        video_url,
        fields,
        origin: path.display().to_string(),
    }
}
