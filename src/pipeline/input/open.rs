//! Opening the inputs of a run: paths, local lists, stdin and remote lists (downloaded to a
//! temporary file first), chained into one stream of rows.

use super::{items_from_paths, CsvItems, InputRow, ItemDefaults, JsonlItems};
use crate::error::ItemError;
use crate::pipeline::source::{Sources, VideoUrl};
use std::fs::File;
use std::io::{self, BufRead, BufReader};
use std::path::PathBuf;
use std::sync::Arc;

/// The format of an input list.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ListFormat {
    /// JSON lines.
    Jsonl,
    /// CSV with a `content_id` column.
    Csv,
}

/// Where input rows come from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum InputSpec {
    /// Paths on the command line.
    Paths(Vec<PathBuf>),
    /// A list file.
    List(PathBuf, ListFormat),
    /// A list at an `http(s)://` or `s3://` URL, downloaded to a temporary file first
    /// ([`download_list`]).
    Remote(String, ListFormat),
    /// A remote list once downloaded: the local file and the URL it came from (named in
    /// messages and records).
    Downloaded(PathBuf, String, ListFormat),
    /// A list on stdin.
    Stdin(ListFormat),
}

/// Why the inputs could not be opened.
#[derive(Debug, thiserror::Error)]
pub enum OpenError {
    /// A list file could not be opened.
    #[error("opening --input {path}: {source}")]
    Io {
        /// The list.
        path: String,
        /// Why.
        #[source]
        source: io::Error,
    },
    /// A list is not usable as a whole (a CSV without a `content_id` column).
    #[error(transparent)]
    Invalid(#[from] crate::error::InvalidValue),
    /// A remote list could not be downloaded.
    #[error("downloading --input {url}: {error}")]
    Download {
        /// The list's URL.
        url: String,
        /// Why.
        error: ItemError,
    },
    /// A remote list was given to [`open_rows`] before [`download_list`].
    #[error("the remote input list {0} must be downloaded first")]
    NotDownloaded(String),
}

fn list_rows<'a>(
    reader: impl BufRead + 'a,
    name: String,
    format: ListFormat,
    defaults: &ItemDefaults,
) -> Result<Box<dyn Iterator<Item = InputRow> + 'a>, OpenError> {
    Ok(match format {
        ListFormat::Jsonl => Box::new(JsonlItems::new(reader, name, defaults.clone())),
        ListFormat::Csv => Box::new(CsvItems::new(reader, name, defaults.clone())?),
    })
}

/// Chains every input into one stream of rows, in order. Lists are read lazily, one row at a
/// time, so memory stays flat for a list of any length.
pub fn open_rows<'a>(
    inputs: &'a [InputSpec],
    defaults: &ItemDefaults,
) -> Result<Box<dyn Iterator<Item = InputRow> + 'a>, OpenError> {
    let mut rows: Box<dyn Iterator<Item = InputRow> + 'a> = Box::new(std::iter::empty());
    for spec in inputs {
        rows = match spec {
            InputSpec::Paths(paths) => Box::new(rows.chain(items_from_paths(paths))),
            InputSpec::List(path, format) | InputSpec::Downloaded(path, _, format) => {
                let file = File::open(path).map_err(|source| OpenError::Io {
                    path: path.display().to_string(),
                    source,
                })?;
                let name = match spec {
                    InputSpec::Downloaded(_, url, _) => url.clone(),
                    _ => path.display().to_string(),
                };
                Box::new(rows.chain(list_rows(BufReader::new(file), name, *format, defaults)?))
            }
            InputSpec::Stdin(format) => Box::new(rows.chain(list_rows(
                io::stdin().lock(),
                "stdin".into(),
                *format,
                defaults,
            )?)),
            InputSpec::Remote(url, _) => return Err(OpenError::NotDownloaded(url.clone())),
        };
    }
    Ok(rows)
}

/// Counts the rows the inputs will yield, cheaply, for a progress bar's length (None when
/// unknown: stdin, or a list not yet downloaded).
pub fn count_rows(inputs: &[InputSpec]) -> Option<u64> {
    let mut total = 0u64;
    for spec in inputs {
        match spec {
            InputSpec::Paths(paths) => total += items_from_paths(paths).count() as u64,
            InputSpec::List(path, format) | InputSpec::Downloaded(path, _, format) => {
                let reader = BufReader::new(File::open(path).ok()?);
                let lines = reader
                    .split(b'\n')
                    .filter(|l| {
                        l.as_ref()
                            .is_ok_and(|l| !l.iter().all(u8::is_ascii_whitespace))
                    })
                    .count() as u64;
                // a CSV's header is not a row (quoted newlines make this an estimate)
                total += match format {
                    ListFormat::Csv => lines.saturating_sub(1),
                    ListFormat::Jsonl => lines,
                };
            }
            InputSpec::Stdin(_) | InputSpec::Remote(..) => return None,
        }
    }
    Some(total)
}

/// Downloads a remote input list to a temporary file (streamed to disk, so a list of any size
/// keeps memory flat) and returns the spec that reads it, with the file's guard: the file is
/// deleted when the guard drops.
pub async fn download_list(
    url: &str,
    format: ListFormat,
    sources: &Sources,
) -> Result<(InputSpec, Arc<tempfile::TempPath>), OpenError> {
    let failed = |error: ItemError| OpenError::Download {
        url: url.to_string(),
        error,
    };
    let video_url = VideoUrl::parse(url).map_err(failed)?;
    let fetched = sources.fetch_list(&video_url).await.map_err(failed)?;
    let path = fetched.spill.clone().ok_or_else(|| {
        failed(ItemError::new(
            crate::error::ErrorKind::Internal,
            "a downloaded input list is always on disk",
        ))
    })?;
    Ok((
        InputSpec::Downloaded(path.to_path_buf(), url.to_string(), format),
        path,
    ))
}
