/*!
Resuming: the records an earlier run wrote, read back at start. Completed items (same sampling)
are kept and skipped; failed ones are dropped so they run again; the file is compacted so it never
holds two records for one content ID.
*/

use crate::files::{AtomicFile, Durability};
use serde_json::Value;
use std::collections::hash_map::Entry;
use std::collections::{HashMap, HashSet};
use std::fs::{self, File, OpenOptions};
use std::io::{self, BufRead, BufReader, Write};
use std::path::Path;

/// The IDs already done in an earlier run, and the records file opened for appending.
pub struct ResumeLog {
    done: HashSet<[u8; 16]>,
    crashed_once: HashSet<[u8; 16]>,
    /// How many completed records were kept from the earlier run.
    pub kept: u64,
    /// How many earlier records were dropped (failed, other sampling, duplicate or torn lines).
    pub dropped: u64,
}

fn id_hash(id: &str) -> [u8; 16] {
    let h = blake3::hash(id.as_bytes());
    h.as_bytes()[..16].try_into().expect("16 bytes")
}

impl ResumeLog {
    /// Compacts the records file at `path` (when it exists) and opens it for appending.
    ///
    /// Kept: lines that parse, have a `content_id`, `status: "ok"` and `derived.sampling` equal
    /// to `sampling`, the first per ID. Everything else is dropped, so those items run again.
    /// With `force`, the file starts empty.
    pub fn open(path: &Path, sampling: &Value, force: bool) -> io::Result<(ResumeLog, File)> {
        let mut log = ResumeLog {
            done: HashSet::new(),
            crashed_once: HashSet::new(),
            kept: 0,
            dropped: 0,
        };
        if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
            fs::create_dir_all(parent)?;
        }
        if force || !path.exists() {
            let file = File::create(path)?;
            return Ok((log, file));
        }
        {
            let reader = BufReader::new(File::open(path)?);
            let mut writer = AtomicFile::create(path)?;
            let mut buf = Vec::new();
            let mut reader = reader;
            loop {
                buf.clear();
                if reader.read_until(b'\n', &mut buf)? == 0 {
                    break;
                }
                // A line without its newline is one a killed run was writing: drop it.
                let complete = buf.ends_with(b"\n");
                let verdict = if complete {
                    serde_json::from_slice::<Value>(&buf)
                        .ok()
                        .and_then(|v| judge(&v, sampling))
                } else {
                    None
                };
                let keep = match verdict {
                    Some((id, Verdict::Done)) => log.done.insert(id_hash(&id)),
                    Some((id, Verdict::CrashedOnce)) => {
                        log.crashed_once.insert(id_hash(&id));
                        false
                    }
                    None => false,
                };
                if keep {
                    writer.write_all(&buf)?;
                    log.kept += 1;
                } else if !buf.iter().all(|b| b.is_ascii_whitespace()) {
                    log.dropped += 1;
                }
            }
            writer.commit(Durability::Synced)?;
        }
        let file = OpenOptions::new().append(true).open(path)?;
        Ok((log, file))
    }

    /// A log that knows of nothing done (records going to stdout).
    pub fn empty() -> ResumeLog {
        ResumeLog {
            done: HashSet::new(),
            crashed_once: HashSet::new(),
            kept: 0,
            dropped: 0,
        }
    }

    /// Was `content_id` completed by an earlier run?
    pub fn is_done(&self, content_id: &str) -> bool {
        !self.done.is_empty() && self.done.contains(&id_hash(content_id))
    }

    /// Did a decoder crash on `content_id` in an earlier run? (It is tried once more; a second
    /// crash is final.)
    pub fn crashed_before(&self, content_id: &str) -> bool {
        !self.crashed_once.is_empty() && self.crashed_once.contains(&id_hash(content_id))
    }
}

/// What an earlier record means for a rerun.
enum Verdict {
    /// Completed with the same sampling, or crashed its decoder twice: not run again.
    Done,
    /// Crashed its decoder once: run once more.
    CrashedOnce,
}

/// The verdict on one earlier record, with its content ID; `None` for records to run again.
fn judge(record: &Value, sampling: &Value) -> Option<(String, Verdict)> {
    let id = record.get("content_id")?.as_str()?.to_string();
    match record.get("status")?.as_str()? {
        "ok" => {
            (record.get("derived")?.get("sampling")? == sampling).then_some((id, Verdict::Done))
        }
        "failed" => {
            let error = record.get("error")?;
            if error.get("kind")?.as_str()? != "decoder_crashed" {
                return None;
            }
            let attempts = error.get("attempts").and_then(Value::as_u64).unwrap_or(1);
            Some((
                id,
                if attempts >= 2 {
                    Verdict::Done
                } else {
                    Verdict::CrashedOnce
                },
            ))
        }
        _ => None,
    }
}

/// The content IDs seen in this run, each with the row it first came from (so a repeat can name
/// it); IDs are kept as 16-byte hashes so a million of them stay small.
#[derive(Default)]
pub struct SeenIds(HashMap<[u8; 16], Box<str>>);

impl SeenIds {
    /// Records `id` as first seen at `origin`; if it was seen before, returns where.
    pub fn insert(&mut self, id: &str, origin: &str) -> Option<&str> {
        match self.0.entry(id_hash(id)) {
            Entry::Occupied(first) => Some(first.into_mut()),
            Entry::Vacant(slot) => {
                slot.insert(origin.into());
                None
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn resume_keeps_done_drops_failed_torn_and_duplicate_lines() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("records.jsonl");
        let s = json!({"mode": "fps"});
        let other = json!({"mode": "frames"});
        let ok = |id: &str, s: &Value| {
            json!({"content_id": id, "status": "ok", "derived": {"sampling": s}}).to_string()
        };
        let text = format!(
            "{}\n{}\n{}\n{}\n{}\n{{\"content_id\":\"e\",\"sta",
            ok("a", &s),
            json!({"content_id": "b", "status": "failed"}),
            ok("a", &s),
            ok("c", &other),
            ok("d", &s),
        );
        fs::write(&path, text).unwrap();
        let (log, mut file) = ResumeLog::open(&path, &s, false).unwrap();
        assert!(log.is_done("a") && log.is_done("d"));
        assert!(!log.is_done("b") && !log.is_done("c") && !log.is_done("e"));
        assert_eq!((log.kept, log.dropped), (2, 4));
        writeln!(file, "{}", ok("b", &s)).unwrap();
        let lines: Vec<String> = fs::read_to_string(&path)
            .unwrap()
            .lines()
            .map(String::from)
            .collect();
        assert_eq!(lines, vec![ok("a", &s), ok("d", &s), ok("b", &s)]);
        let (log, _) = ResumeLog::open(&path, &s, true).unwrap();
        assert!(!log.is_done("a"));
        assert_eq!(fs::read_to_string(&path).unwrap(), "");
    }
}
