//! The first pass over the records: how many land in each list (so every page can show every
//! list's size and its page count) and, when groups are computed, each video's hashes. It also
//! fixes each file's length, so the second pass reads exactly the same records even while an
//! `extract` is still appending to them.

use super::record::has_content_id;
use super::series::Series;
use super::GalleryError;
use crate::pipeline::input::{JsonLine, JsonLines};
use crate::similar::{self, Group, MatchRule, VideoHashes};
use serde_json::Value;
use std::collections::{BTreeMap, HashMap};
use std::fs::File;
use std::io::{BufReader, Read};
use std::path::{Path, PathBuf};

/// Longest record line read (a record of 1,000 frames is about 0.5 MB).
pub const MAX_RECORD_BYTES: usize = 64 << 20;

/// Where near-duplicate groups come from.
#[derive(Debug, Clone)]
pub enum GroupsFrom {
    /// Grouped here from the records' PDQ hashes, under this rule.
    Compute(MatchRule),
    /// Read from `reelframe similar`'s output.
    File(PathBuf),
    /// No groups.
    Off,
}

/// A video's place in a group.
#[derive(Debug, Clone, PartialEq)]
pub struct Membership {
    /// The group's number.
    pub group: usize,
    /// The member's position in the group (0 is the founder).
    pub position: usize,
    /// How many videos the group holds.
    pub size: usize,
    /// "founder", or how much of each matches the other.
    pub shares: String,
}

/// A record file and the bytes of it that were read.
#[derive(Debug, Clone)]
pub struct Snapshot {
    /// The file.
    pub path: PathBuf,
    /// Its length when the first pass read it.
    pub len: u64,
}

/// What the first pass found.
#[derive(Debug, Default)]
pub struct Scan {
    /// The record files, as read.
    pub files: Vec<Snapshot>,
    /// Records per list.
    pub counts: BTreeMap<Series, usize>,
    /// Records read.
    pub records: usize,
    /// Lines that were not records: how many, and the first as `FILE:LINE: why`.
    pub skipped: (usize, Option<String>),
    /// Each grouped video's group, by content ID.
    pub groups: HashMap<String, Membership>,
    /// How many groups there are.
    pub group_count: usize,
}

/// Opens `snapshot` for reading exactly the bytes the first pass saw.
pub fn open(
    snapshot: &Snapshot,
) -> Result<JsonLines<BufReader<std::io::Take<File>>>, GalleryError> {
    let file = File::open(&snapshot.path).map_err(|e| GalleryError::io(&snapshot.path, e))?;
    Ok(JsonLines::with_limit(
        BufReader::new(file.take(snapshot.len)),
        MAX_RECORD_BYTES,
    ))
}

/// Reads `paths`, counting records per list and, for [`GroupsFrom::Compute`], grouping them.
pub fn scan(paths: &[PathBuf], groups: &GroupsFrom) -> Result<Scan, GalleryError> {
    let mut scan = Scan::default();
    let mut hashes: Vec<VideoHashes> = Vec::new();
    for path in paths {
        let len = std::fs::metadata(path)
            .map_err(|e| GalleryError::io(path, e))?
            .len();
        let snapshot = Snapshot {
            path: path.clone(),
            len,
        };
        let mut lines = open(&snapshot)?;
        while let Some((line_no, line)) =
            lines.next_line().map_err(|e| GalleryError::io(path, e))?
        {
            let value = match line {
                JsonLine::Object(map) => Value::Object(map),
                JsonLine::Invalid { why, .. } => {
                    skip(&mut scan, path, line_no, &why);
                    continue;
                }
            };
            if !has_content_id(&value) {
                skip(&mut scan, path, line_no, "no content_id");
                continue;
            }
            scan.records += 1;
            let status = value.get("status").and_then(Value::as_str).unwrap_or("");
            let kind = value.pointer("/error/kind").and_then(Value::as_str);
            for series in Series::of(status, kind) {
                *scan.counts.entry(series).or_default() += 1;
            }
            if let GroupsFrom::Compute(rule) = groups {
                if let Some(video) = VideoHashes::from_record(&value, rule.quality) {
                    hashes.push(video);
                }
            }
        }
        scan.files.push(snapshot);
    }
    let memberships = match groups {
        GroupsFrom::Compute(rule) => {
            similar::keep_first_of_each_id(&mut hashes);
            similar::group(&hashes, rule).0
        }
        GroupsFrom::File(path) => read_groups(path)?,
        GroupsFrom::Off => Vec::new(),
    };
    scan.group_count = memberships.len();
    for g in memberships {
        let size = g.members.len();
        for (position, m) in g.members.into_iter().enumerate() {
            let shares = if position == 0 {
                "founder".to_string()
            } else {
                format!(
                    "{}{:.0}% of its frames in the founder, {:.0}% of the founder's in it",
                    if m.mirrored { "mirrored: " } else { "" },
                    m.matched_in_founder,
                    m.founder_matched
                )
            };
            scan.groups.entry(m.content_id).or_insert(Membership {
                group: g.group,
                position,
                size,
                shares,
            });
        }
    }
    if scan.group_count > 0 {
        scan.counts.insert(Series::Groups, scan.group_count);
    }
    Ok(scan)
}

fn skip(scan: &mut Scan, path: &Path, line_no: u64, why: &str) {
    scan.skipped.0 += 1;
    if scan.skipped.1.is_none() {
        scan.skipped.1 = Some(format!("{}:{line_no}: {why}", path.display()));
    }
}

/// Reads `reelframe similar`'s groups.
fn read_groups(path: &Path) -> Result<Vec<Group>, GalleryError> {
    let file = File::open(path).map_err(|e| GalleryError::io(path, e))?;
    let mut lines = JsonLines::with_limit(BufReader::new(file), MAX_RECORD_BYTES);
    let mut groups = Vec::new();
    while let Some((line_no, line)) = lines.next_line().map_err(|e| GalleryError::io(path, e))? {
        let parsed = match line {
            JsonLine::Object(map) => {
                serde_json::from_value::<Group>(Value::Object(map)).map_err(|e| e.to_string())
            }
            JsonLine::Invalid { why, .. } => Err(why),
        };
        match parsed {
            Ok(group) => groups.push(group),
            Err(why) => {
                return Err(GalleryError::Groups {
                    at: format!("{}:{line_no}", path.display()),
                    why,
                })
            }
        }
    }
    Ok(groups)
}
