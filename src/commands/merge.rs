/*!
`reelframe merge`: join a metadata JSONL and a downloads JSONL by `content_id`.

The join is a hash join in linear time. The DOWNLOADS side is read first into a map
(content_id → record); then METADATA is streamed one line at a time and every record that has a
download is merged and written at once, so the output keeps the metadata order and the metadata
side is never held in memory (only the set of IDs seen, for duplicate detection).

A merged record is the download record overridden by the metadata record (metadata wins on every
conflict) except `video_url`, which always comes from the download. Its fields are the metadata
fields in their order, then the download-only fields in theirs; `content_id` is the normalised
string (see [`content_id_text`]) and `content_type` is `"VIDEO"`. That is exactly what
`reelframe extract --input` takes.

Every row that does not become a merged record becomes a *reject*, one JSON line in the rejects
file:

```text
{"reason": …, "side": "metadata"|"downloads", "content_id": "…"|null, "line": N, "detail": "…", "record": …|null}
```

with `reason` one of [`RejectReason`]. Rejects are normal: the exit code is 0 whenever the merge
completes, and 2 only when a file cannot be read or written. The output file and the rejects file
are written to temporary files beside them and renamed into place at the end, so a reader never
sees a partial file.
*/

use crate::cli::Requirement;
use crate::config::MergeConfig;
use crate::pipeline::input::{content_id_text, JsonLine, JsonLines};
use anyhow::{bail, Context};
use serde_json::{json, Map, Value};
use std::collections::HashMap;
use std::fmt;
use std::fs::{self, File, OpenOptions};
use std::io::{self, BufRead, BufReader, BufWriter, Write};
use std::path::{Path, PathBuf};

/// Rejects file used when the output goes to stdout and `--rejects` is not given.
pub const STDOUT_REJECTS_FILE: &str = "merge.rejects.jsonl";
/// Suffix appended to OUT's file name for the default rejects file (`OUT.rejects.jsonl`).
pub const REJECTS_SUFFIX: &str = ".rejects.jsonl";

impl Requirement {
    /// Does `value` (a field's value, `None` when the field is missing) satisfy this requirement?
    pub fn matches(&self, value: Option<&Value>) -> bool {
        match value {
            None => false,
            Some(Value::String(s)) => *s == self.value,
            Some(other) => {
                // The JSON text (not `Value == String`, which is false for every non-string).
                let text = other.to_string();
                text == self.value
            }
        }
    }
}

/// Which input a reject comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Side {
    /// The METADATA file.
    Metadata,
    /// The DOWNLOADS file.
    Downloads,
}

impl Side {
    /// The name written in rejects (`metadata`, `downloads`).
    pub fn as_str(self) -> &'static str {
        match self {
            Side::Metadata => "metadata",
            Side::Downloads => "downloads",
        }
    }
}

/// Why a row did not become a merged record.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RejectReason {
    /// A metadata record whose content_id has no download.
    NoDownload,
    /// A download record whose content_id has no metadata.
    NoMetadata,
    /// A metadata record whose content_id an earlier metadata record already had.
    DuplicateMetadata,
    /// A download record whose content_id an earlier download record already had.
    DuplicateDownload,
    /// A merged record that failed a `--require`.
    Filtered,
    /// An unusable row: not UTF-8, not JSON, not an object, no or invalid `content_id`, or (on
    /// the downloads side) no usable `video_url`.
    Invalid,
}

impl RejectReason {
    /// Every reason, in the order the summary lists them.
    pub const ALL: [RejectReason; 6] = [
        RejectReason::NoDownload,
        RejectReason::NoMetadata,
        RejectReason::DuplicateMetadata,
        RejectReason::DuplicateDownload,
        RejectReason::Filtered,
        RejectReason::Invalid,
    ];

    /// The snake_case name written in rejects.
    pub fn as_str(self) -> &'static str {
        match self {
            RejectReason::NoDownload => "no_download",
            RejectReason::NoMetadata => "no_metadata",
            RejectReason::DuplicateMetadata => "duplicate_metadata",
            RejectReason::DuplicateDownload => "duplicate_download",
            RejectReason::Filtered => "filtered",
            RejectReason::Invalid => "invalid",
        }
    }

    fn index(self) -> usize {
        self as usize
    }
}

/// What a merge produced: the number of merged records and of rejects per reason.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct MergeSummary {
    /// Merged records written.
    pub merged: u64,
    /// Rejects, indexed like [`RejectReason::ALL`].
    rejects: [u64; 6],
}

impl MergeSummary {
    /// Number of rejects for `reason`.
    pub fn rejected(&self, reason: RejectReason) -> u64 {
        self.rejects[reason.index()]
    }
}

impl fmt::Display for MergeSummary {
    /// `N merged, N no_download, N no_metadata, …` (every reason, zeros included).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} merged", self.merged)?;
        for reason in RejectReason::ALL {
            write!(f, ", {} {}", self.rejected(reason), reason.as_str())?;
        }
        Ok(())
    }
}

/// A failure that stops a merge: an input cannot be read or an output cannot be written.
#[derive(Debug, thiserror::Error)]
pub enum MergeError {
    /// Reading an input failed.
    #[error("reading the {} input after line {line}", side.as_str())]
    Read {
        /// Which input.
        side: Side,
        /// The last line read completely.
        line: u64,
        /// The I/O error.
        source: io::Error,
    },
    /// Writing a merged record failed.
    #[error("writing the merged records")]
    WriteOutput(#[source] io::Error),
    /// Writing a reject failed.
    #[error("writing the rejects")]
    WriteRejects(#[source] io::Error),
}

/// Joins `metadata` and `downloads` (JSONL) by content_id, writing merged records to `out` and
/// rejects to `rejects`, one JSON line each. See the module documentation for the rules.
///
/// Rejects are written in this order: the downloads side's `invalid` and `duplicate_download`
/// rows as the downloads are read; then the metadata side's rejects in metadata order; then the
/// `no_metadata` downloads in downloads order. Both writers are flushed before returning.
pub fn merge<M: BufRead, D: BufRead>(
    metadata: M,
    downloads: D,
    requirements: &[Requirement],
    out: &mut dyn Write,
    rejects: &mut dyn Write,
) -> Result<MergeSummary, MergeError> {
    let mut merger = Merger {
        rejects,
        summary: MergeSummary::default(),
    };

    // Build side: content_id → (first download record with that ID, its line).
    let mut by_id: HashMap<String, (Map<String, Value>, u64)> = HashMap::new();
    let mut lines = JsonlLines::new(downloads, Side::Downloads);
    while let Some((line, id, fields)) = lines.next_record(&mut merger)? {
        if let Err(why) = check_video_url(&fields) {
            let bad = BadRow {
                content_id: Some(id),
                detail: why,
                record: Value::Object(fields),
            };
            merger.reject_invalid(Side::Downloads, line, bad)?;
            continue;
        }
        if let Some((_, first)) = by_id.get(&id) {
            let detail = format!("content_id {id} already on downloads line {first}");
            merger.reject(
                RejectReason::DuplicateDownload,
                Side::Downloads,
                Some(id),
                line,
                detail,
                Value::Object(fields),
            )?;
            continue;
        }
        by_id.insert(id, (fields, line));
    }
    tracing::debug!(downloads = by_id.len(), "downloads indexed");

    // Probe side: stream the metadata; remember only the IDs seen (and where).
    let mut seen: HashMap<String, u64> = HashMap::new();
    let mut lines = JsonlLines::new(metadata, Side::Metadata);
    let mut buf = Vec::new();
    while let Some((line, id, meta)) = lines.next_record(&mut merger)? {
        if let Some(first) = seen.get(&id) {
            let detail = format!("content_id {id} already on metadata line {first}");
            merger.reject(
                RejectReason::DuplicateMetadata,
                Side::Metadata,
                Some(id),
                line,
                detail,
                Value::Object(meta),
            )?;
            continue;
        }
        seen.insert(id.clone(), line);
        let Some((download, _)) = by_id.remove(&id) else {
            let detail = format!("no download has content_id {id}");
            merger.reject(
                RejectReason::NoDownload,
                Side::Metadata,
                Some(id),
                line,
                detail,
                Value::Object(meta),
            )?;
            continue;
        };
        let failed: Vec<String> = requirements
            .iter()
            .filter_map(|req| {
                let value = merged_field(&id, &meta, &download, &req.field);
                if req.matches(value.as_ref()) {
                    return None;
                }
                Some(match value {
                    Some(v) => format!("{req} failed: {} is {v}", req.field),
                    None => format!("{req} failed: no {} field", req.field),
                })
            })
            .collect();
        if !failed.is_empty() {
            merger.reject(
                RejectReason::Filtered,
                Side::Metadata,
                Some(id),
                line,
                failed.join("; "),
                Value::Object(meta),
            )?;
            continue;
        }
        let record = merge_records(&id, meta, download);
        buf.clear();
        serde_json::to_writer(&mut buf, &record).expect("a JSON map serialises");
        buf.push(b'\n');
        out.write_all(&buf).map_err(MergeError::WriteOutput)?;
        merger.summary.merged += 1;
    }
    drop(seen);

    // Downloads no metadata record asked for, in downloads order.
    let mut unmatched: Vec<(String, Map<String, Value>, u64)> = by_id
        .into_iter()
        .map(|(id, (fields, line))| (id, fields, line))
        .collect();
    unmatched.sort_unstable_by_key(|(_, _, line)| *line);
    for (id, fields, line) in unmatched {
        let detail = format!("no metadata has content_id {id}");
        merger.reject(
            RejectReason::NoMetadata,
            Side::Downloads,
            Some(id),
            line,
            detail,
            Value::Object(fields),
        )?;
    }

    out.flush().map_err(MergeError::WriteOutput)?;
    merger.rejects.flush().map_err(MergeError::WriteRejects)?;
    Ok(merger.summary)
}

/// The merged record of a metadata record and its download: the metadata fields in their order
/// (with the download's `video_url`), then the download-only fields; `content_id` is `id` (a
/// string) and `content_type` is `"VIDEO"`.
pub fn merge_records(
    id: &str,
    metadata: Map<String, Value>,
    download: Map<String, Value>,
) -> Map<String, Value> {
    let mut merged = metadata;
    for (key, value) in download {
        // With preserve_order, inserting an existing key keeps its position.
        if key == "video_url" || !merged.contains_key(&key) {
            merged.insert(key, value);
        }
    }
    merged.insert("content_id".into(), Value::String(id.to_string()));
    merged.insert("content_type".into(), Value::String("VIDEO".into()));
    merged
}

/// The value `field` would have in [`merge_records`]`(id, metadata, download)`, without
/// building the record (so a filtered row keeps its original metadata record).
fn merged_field(
    id: &str,
    metadata: &Map<String, Value>,
    download: &Map<String, Value>,
    field: &str,
) -> Option<Value> {
    match field {
        "content_id" => Some(Value::String(id.to_string())),
        "content_type" => Some(Value::String("VIDEO".into())),
        "video_url" => download.get(field).or_else(|| metadata.get(field)).cloned(),
        _ => metadata.get(field).or_else(|| download.get(field)).cloned(),
    }
}

/// A download needs a non-blank string `video_url`.
fn check_video_url(fields: &Map<String, Value>) -> Result<(), String> {
    match fields.get("video_url") {
        Some(Value::String(url)) if !url.trim().is_empty() => Ok(()),
        Some(Value::String(_)) => Err("video_url is empty".into()),
        None | Some(Value::Null) => Err("no video_url".into()),
        Some(other) => Err(format!("video_url is not a string: {other}")),
    }
}

/// Writes rejects and counts them.
struct Merger<'w> {
    rejects: &'w mut dyn Write,
    summary: MergeSummary,
}

impl Merger<'_> {
    fn reject(
        &mut self,
        reason: RejectReason,
        side: Side,
        content_id: Option<String>,
        line: u64,
        detail: String,
        record: Value,
    ) -> Result<(), MergeError> {
        let reject = json!({
            "reason": reason.as_str(),
            "side": side.as_str(),
            "content_id": content_id,
            "line": line,
            "detail": detail,
            "record": record,
        });
        let mut text = serde_json::to_vec(&reject).expect("a JSON value serialises");
        text.push(b'\n');
        self.rejects
            .write_all(&text)
            .map_err(MergeError::WriteRejects)?;
        self.summary.rejects[reason.index()] += 1;
        Ok(())
    }

    fn reject_invalid(&mut self, side: Side, line: u64, bad: BadRow) -> Result<(), MergeError> {
        self.reject(
            RejectReason::Invalid,
            side,
            bad.content_id,
            line,
            bad.detail,
            bad.record,
        )
    }
}

/// An unusable row: the ID if one could be read, why, and what could be parsed (or null).
struct BadRow {
    content_id: Option<String>,
    detail: String,
    record: Value,
}

/// A usable record: its line number, normalised content_id and fields.
type NumberedRecord = (u64, String, Map<String, Value>);

/// One non-blank line of a JSONL input.
enum Row {
    /// A JSON object with a usable content_id (normalised) and its fields.
    Record(String, Map<String, Value>),
    /// Anything else.
    Invalid(BadRow),
}

/// Reads a JSONL input through [`JsonLines`] (shared with `extract --input`), turning each line
/// into a [`Row`] with a normalised content_id.
struct JsonlLines<R> {
    lines: JsonLines<R>,
    side: Side,
}

impl<R: BufRead> JsonlLines<R> {
    fn new(reader: R, side: Side) -> Self {
        JsonlLines {
            lines: JsonLines::new(reader),
            side,
        }
    }

    /// The next non-blank line as `(line number, row)`, or `None` at the end of the input.
    fn next_row(&mut self) -> Result<Option<(u64, Row)>, MergeError> {
        let next = self.lines.next_line().map_err(|source| MergeError::Read {
            side: self.side,
            line: self.lines.line_no(),
            source,
        })?;
        Ok(next.map(|(line, parsed)| (line, parse_row(parsed))))
    }

    /// The next usable record as `(line number, content_id, fields)`; unusable rows on the way
    /// are written to `merger`'s rejects as `invalid`.
    fn next_record(
        &mut self,
        merger: &mut Merger<'_>,
    ) -> Result<Option<NumberedRecord>, MergeError> {
        while let Some((line, row)) = self.next_row()? {
            match row {
                Row::Record(id, fields) => return Ok(Some((line, id, fields))),
                Row::Invalid(bad) => merger.reject_invalid(self.side, line, bad)?,
            }
        }
        Ok(None)
    }
}

fn parse_row(line: JsonLine) -> Row {
    let invalid = |content_id, detail, record| {
        Row::Invalid(BadRow {
            content_id,
            detail,
            record,
        })
    };
    let fields = match line {
        JsonLine::Object(fields) => fields,
        JsonLine::Invalid { why, value } => return invalid(None, why, value),
    };
    match fields.get("content_id").map(content_id_text) {
        Some(Ok(id)) => Row::Record(id, fields),
        Some(Err(why)) => invalid(None, why.to_string(), Value::Object(fields)),
        None => invalid(None, "no content_id".into(), Value::Object(fields)),
    }
}

/// A file being written under a temporary name beside its destination; [`Self::commit`] renames
/// it into place, and dropping it uncommitted removes it.
struct PendingFile {
    dest: PathBuf,
    tmp: PathBuf,
    writer: Option<BufWriter<File>>,
}

impl PendingFile {
    fn create(dest: &Path) -> anyhow::Result<Self> {
        let Some(name) = dest.file_name() else {
            bail!("{} is not a file path", dest.display());
        };
        let dir = match dest.parent() {
            Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
            _ => PathBuf::from("."),
        };
        let mut attempt = 0u32;
        loop {
            let mut tmp_name = std::ffi::OsString::from(".");
            tmp_name.push(name);
            tmp_name.push(format!(".{}.{attempt}.tmp", std::process::id()));
            let tmp = dir.join(tmp_name);
            match OpenOptions::new().write(true).create_new(true).open(&tmp) {
                Ok(file) => {
                    return Ok(PendingFile {
                        dest: dest.to_path_buf(),
                        tmp,
                        writer: Some(BufWriter::with_capacity(1 << 16, file)),
                    })
                }
                Err(err) if err.kind() == io::ErrorKind::AlreadyExists && attempt < 100 => {
                    attempt += 1;
                }
                Err(err) => {
                    return Err(err).with_context(|| {
                        format!("creating {} (for {})", tmp.display(), dest.display())
                    })
                }
            }
        }
    }

    fn writer(&mut self) -> &mut BufWriter<File> {
        self.writer.as_mut().expect("not committed yet")
    }

    /// Flushes, syncs and renames the file into place.
    fn commit(mut self) -> anyhow::Result<()> {
        let writer = self.writer.take().expect("not committed yet");
        let file = writer
            .into_inner()
            .map_err(|e| e.into_error())
            .with_context(|| format!("writing {}", self.tmp.display()))?;
        file.sync_all()
            .with_context(|| format!("writing {}", self.tmp.display()))?;
        drop(file);
        fs::rename(&self.tmp, &self.dest).with_context(|| {
            format!("renaming {} to {}", self.tmp.display(), self.dest.display())
        })?;
        self.tmp = PathBuf::new();
        Ok(())
    }
}

impl Drop for PendingFile {
    fn drop(&mut self) {
        if !self.tmp.as_os_str().is_empty() {
            self.writer = None;
            let _ = fs::remove_file(&self.tmp);
        }
    }
}

/// The default rejects path: OUT's file name + `.rejects.jsonl` beside OUT, or
/// `merge.rejects.jsonl` in the current directory when the output is stdout (`out` is `None`).
pub fn default_rejects_path(out: Option<&Path>) -> PathBuf {
    match out.and_then(|o| o.file_name().map(|name| (o, name))) {
        Some((out, name)) => {
            let mut name = name.to_os_string();
            name.push(REJECTS_SUFFIX);
            out.with_file_name(name)
        }
        None => PathBuf::from(STDOUT_REJECTS_FILE),
    }
}

/// Runs `reelframe merge`: 0 when the merge completed (rejects included); an error (exit code
/// 2) when an input cannot be read or an output cannot be written.
pub fn run(args: &MergeConfig) -> anyhow::Result<i32> {
    let out_path = args.out.as_deref().filter(|p| p.as_os_str() != "-");
    let rejects_path = args
        .rejects
        .clone()
        .unwrap_or_else(|| default_rejects_path(out_path));
    if out_path == Some(rejects_path.as_path()) {
        bail!(
            "--rejects {} is the output file; give another path",
            rejects_path.display()
        );
    }

    let open = |path: &Path, what: &str| {
        File::open(path)
            .map(|f| BufReader::with_capacity(1 << 16, f))
            .with_context(|| format!("opening {what} {}", path.display()))
    };
    let metadata = open(&args.metadata, "METADATA")?;
    let downloads = open(&args.downloads, "DOWNLOADS")?;

    let mut rejects = PendingFile::create(&rejects_path)?;
    let mut out_file = out_path.map(PendingFile::create).transpose()?;
    let stdout = io::stdout();
    let mut stdout_writer;
    let out: &mut dyn Write = match out_file.as_mut() {
        Some(file) => file.writer(),
        None => {
            stdout_writer = BufWriter::with_capacity(1 << 16, stdout.lock());
            &mut stdout_writer
        }
    };

    let summary =
        merge(metadata, downloads, &args.require, out, rejects.writer()).map_err(|err| {
            let path = match &err {
                MergeError::Read {
                    side: Side::Metadata,
                    ..
                } => args.metadata.display().to_string(),
                MergeError::Read {
                    side: Side::Downloads,
                    ..
                } => args.downloads.display().to_string(),
                MergeError::WriteOutput(_) => out_path
                    .map(|p| p.display().to_string())
                    .unwrap_or_else(|| "stdout".into()),
                MergeError::WriteRejects(_) => rejects_path.display().to_string(),
            };
            anyhow::Error::new(err).context(path)
        })?;

    // The rejects first, so that once OUT exists its rejects file does too.
    rejects.commit()?;
    if let Some(file) = out_file {
        file.commit()?;
    }
    eprintln!(
        "reelframe merge: {summary}; output: {}; rejects: {}",
        out_path
            .map(|p| p.display().to_string())
            .unwrap_or_else(|| "stdout".into()),
        rejects_path.display()
    );
    Ok(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn map(v: Value) -> Map<String, Value> {
        match v {
            Value::Object(m) => m,
            _ => panic!("not an object"),
        }
    }

    #[test]
    fn requirement_parses_at_first_equals_and_compares_by_text() {
        let r: Requirement = "status=200".parse().unwrap();
        assert_eq!(r.field, "status");
        assert!(r.matches(Some(&json!(200))));
        assert!(r.matches(Some(&json!("200"))));
        assert!(!r.matches(Some(&json!(404))));
        assert!(!r.matches(Some(&json!(200.0))));
        assert!(!r.matches(None));
        let r: Requirement = "q=a=b".parse().unwrap();
        assert_eq!((r.field.as_str(), r.value.as_str()), ("q", "a=b"));
        assert!("ok=true"
            .parse::<Requirement>()
            .unwrap()
            .matches(Some(&json!(true))));
        assert!("x="
            .parse::<Requirement>()
            .unwrap()
            .matches(Some(&json!(""))));
        assert!("=1".parse::<Requirement>().is_err());
        assert!("nothing".parse::<Requirement>().is_err());
    }

    #[test]
    fn merged_field_agrees_with_merge_records() {
        let meta = map(json!({"content_id": 5, "a": 1, "video_url": "m", "content_type": "X"}));
        let dl = map(json!({"content_id": "5", "video_url": "d", "a": 2, "b": 3}));
        let merged = merge_records("5", meta.clone(), dl.clone());
        assert_eq!(
            Value::Object(merged.clone()).to_string(),
            r#"{"content_id":"5","a":1,"video_url":"d","content_type":"VIDEO","b":3}"#
        );
        for field in [
            "content_id",
            "a",
            "video_url",
            "content_type",
            "b",
            "missing",
        ] {
            assert_eq!(
                merged_field("5", &meta, &dl, field).as_ref(),
                merged.get(field),
                "{field}"
            );
        }
    }

    #[test]
    fn lines_skip_blanks_bom_and_crlf_and_keep_non_utf8_as_invalid() {
        let input = b"\xEF\xBB\xBF{\"content_id\":1}\r\n\r\n  \n\xff\n{\"content_id\":\"2\"}";
        let mut lines = JsonlLines::new(&input[..], Side::Metadata);
        let mut got = Vec::new();
        while let Some((line, row)) = lines.next_row().unwrap() {
            got.push(match row {
                Row::Record(id, _) => format!("{line}:{id}"),
                Row::Invalid(bad) => {
                    format!("{line}:invalid:{}", bad.detail.starts_with("not UTF-8"))
                }
            });
        }
        assert_eq!(got, ["1:1", "4:invalid:true", "5:2"]);
    }

    #[test]
    fn default_rejects_path_sits_beside_out() {
        assert_eq!(
            default_rejects_path(Some(Path::new("d/m.jsonl"))),
            PathBuf::from("d/m.jsonl.rejects.jsonl")
        );
        assert_eq!(
            default_rejects_path(None),
            PathBuf::from("merge.rejects.jsonl")
        );
    }
}
