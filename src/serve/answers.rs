/*!
The answers the server has given, in bounded memory.

With a journal (a JSONL file of `extract` records), the answers live in it: memory holds an index
from each item-and-sampling (a 128-bit blake3 of platform, content ID and sampling record) to the
byte offset and length of its latest `ok` line (about 70 bytes an answer, hash table included), and a repeat reads that
one line back, checking it still parses and names the same item and sampling. A small LRU
(`--answer-cache`) keeps the most recent answers parsed. Without a journal the LRU is all there
is: an answer it has forgotten is extracted again, which is correct, only slower.

An item's own folder holds the files of one sampling at a time (every other sampling has a folder
of its own, see [`crate::pipeline::store::sampling_folder`]). The server writes only its default
sampling there, but an `extract` on the same output may have written another one since, whose
record is then a later line of the journal: a line is only an answer while no later line with
other sampling claims the item's folder.
*/

use crate::pipeline::store::ItemKeys;
use lru::LruCache;
use serde::Deserialize;
use serde_json::{json, Map, Value};
use std::collections::HashMap;
use std::fs::{File, OpenOptions};
use std::io::{BufRead, BufReader, Seek, SeekFrom, Write};
use std::num::NonZeroUsize;
use std::os::unix::fs::FileExt;
use std::path::Path;
use std::sync::{Arc, Mutex};

/// An answer: `{"derived": …, "thumbnail": …}`.
pub type Answer = Arc<Value>;

/// One item under one sampling: platform, content ID, the sampling record as JSON.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Key {
    /// The platform, lower-cased.
    pub platform: String,
    /// The content ID.
    pub content_id: String,
    /// The sampling record, as JSON text.
    pub sampling: String,
}

fn hash_parts(parts: &[&str]) -> u128 {
    let mut hasher = blake3::Hasher::new();
    for part in parts {
        hasher.update(&(part.len() as u64).to_le_bytes());
        hasher.update(part.as_bytes());
    }
    let bytes: [u8; 16] = hasher.finalize().as_bytes()[..16]
        .try_into()
        .expect("16 bytes");
    u128::from_le_bytes(bytes)
}

impl Key {
    /// The key's 128-bit hash: what memory holds per answer.
    fn hash(&self) -> u128 {
        hash_parts(&[&self.platform, &self.content_id, &self.sampling])
    }

    /// The hash of the item alone (any sampling).
    fn item(&self) -> u128 {
        hash_parts(&[&self.platform, &self.content_id])
    }

    /// This item under `sampling`.
    fn with_sampling(&self, sampling: &str) -> Key {
        Key {
            sampling: sampling.to_string(),
            ..self.clone()
        }
    }
}

/// Where an answer's line is in the journal.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Line {
    offset: u64,
    len: u32,
    /// Its files are in the item's own folder (not a sampling folder).
    own_folder: bool,
}

/// What is known of a key without reading anything.
pub enum Found {
    /// The answer, parsed.
    Answer(Answer),
    /// The journal line that holds it: read it with [`Answers::read`].
    Line(Line),
    /// Nothing: extract it.
    None,
}

#[derive(Default)]
struct Index {
    lines: HashMap<u128, Line>,
    /// Items whose own folder holds the files of a sampling other than the server's (an
    /// `extract` with other sampling wrote them): item → that line's key.
    foreign: HashMap<u128, u128>,
}

impl Index {
    /// `key`'s line (own folder or not) is now the latest of its item and sampling; when its
    /// files are in the item's own folder, the previous owner of that folder is no answer any
    /// more (its files were removed or overwritten). Returns the keys so forgotten.
    fn insert(&mut self, key: &Key, line: Line, default_sampling: &str) -> Vec<u128> {
        let hash = key.hash();
        self.lines.insert(hash, line);
        if !line.own_folder {
            return Vec::new();
        }
        let item = key.item();
        let default = key.with_sampling(default_sampling).hash();
        let previous = if hash == default {
            self.foreign.remove(&item)
        } else {
            self.foreign.insert(item, hash)
        };
        let mut forgotten = Vec::new();
        for old in previous.into_iter().chain([default]) {
            if old != hash && self.lines.get(&old).is_some_and(|l| l.own_folder) {
                self.lines.remove(&old);
                forgotten.push(old);
            }
        }
        forgotten
    }
}

struct Journal {
    index: Mutex<Index>,
    append: Mutex<File>,
    read: File,
}

/// The answers given so far (see the module doc).
pub struct Answers {
    recent: Mutex<LruCache<u128, Answer>>,
    journal: Option<Journal>,
    /// The server's own sampling record, as JSON text.
    default_sampling: String,
}

/// The parts of a journal line the index needs; the rest is skipped unparsed.
#[derive(Deserialize)]
struct Head {
    status: String,
    content_id: String,
    derived: HeadDerived,
    thumbnail: HeadObject,
}

#[derive(Deserialize)]
struct HeadDerived {
    platform: String,
    sampling: Value,
}

#[derive(Deserialize)]
struct HeadObject {
    key: String,
}

/// Whether an object key lies directly in the item's own folder.
fn in_own_folder(platform: &str, content_id: &str, object_key: &str) -> bool {
    object_key
        .rsplit_once('/')
        .is_some_and(|(folder, _)| folder == ItemKeys::new(platform, content_id).prefix())
}

/// The key of an `ok` record line and whether its files are in the item's own folder.
fn head_of(line: &[u8]) -> Option<(Key, bool)> {
    let head: Head = serde_json::from_slice(line).ok()?;
    if head.status != "ok" {
        return None;
    }
    let own_folder = in_own_folder(
        &head.derived.platform,
        &head.content_id,
        &head.thumbnail.key,
    );
    let key = Key {
        platform: head.derived.platform,
        content_id: head.content_id,
        sampling: head.derived.sampling.to_string(),
    };
    Some((key, own_folder))
}

/// The answer in a whole record: `{"derived", "thumbnail"}`, if it is `key`'s `ok` record.
fn answer_of(record: &Value, key: &Key) -> Option<Answer> {
    let derived = record.get("derived")?;
    // as text: a Value compared with a String would compare it with a JSON string
    let sampling = derived.get("sampling")?.to_string();
    let matches = record.get("status")?.as_str()? == "ok"
        && record.get("content_id")?.as_str()? == key.content_id
        && derived.get("platform")?.as_str()? == key.platform
        && sampling == key.sampling;
    if !matches {
        return None;
    }
    let thumbnail = record.get("thumbnail")?;
    Some(Arc::new(
        json!({"derived": derived, "thumbnail": thumbnail}),
    ))
}

impl Answers {
    /// The answers of `journal` (read back, then opened for appending), if any, keeping up to
    /// `capacity` parsed in memory; `default_sampling` is the server's own sampling record.
    pub fn open(
        journal: Option<&Path>,
        capacity: NonZeroUsize,
        default_sampling: String,
    ) -> std::io::Result<Answers> {
        let journal = match journal {
            Some(path) => Some(Journal::open(path, &default_sampling)?),
            None => None,
        };
        Ok(Answers {
            recent: Mutex::new(LruCache::new(capacity)),
            journal,
            default_sampling,
        })
    }

    /// Answers indexed from the journal (0 without one).
    pub fn indexed(&self) -> usize {
        self.journal
            .as_ref()
            .map_or(0, |j| j.index.lock().expect("index lock").lines.len())
    }

    /// What is known of `key` in memory.
    pub fn find(&self, key: &Key) -> Found {
        let hash = key.hash();
        if let Some(answer) = self.recent.lock().expect("answers lock").get(&hash) {
            return Found::Answer(Arc::clone(answer));
        }
        match &self.journal {
            Some(journal) => match journal.index.lock().expect("index lock").lines.get(&hash) {
                Some(line) => Found::Line(*line),
                None => Found::None,
            },
            None => Found::None,
        }
    }

    /// Reads `key`'s answer back from its journal line (blocking: a positioned read of one
    /// line). A line that no longer holds it (it cannot be read, or says something else) is
    /// forgotten, and `None` says to extract it again.
    pub fn read(&self, key: &Key, line: Line) -> Option<Answer> {
        let journal = self.journal.as_ref()?;
        let mut bytes = vec![0; line.len as usize];
        let answer = journal
            .read
            .read_exact_at(&mut bytes, line.offset)
            .ok()
            .and_then(|()| serde_json::from_slice::<Value>(&bytes).ok())
            .and_then(|record| answer_of(&record, key));
        let hash = key.hash();
        match &answer {
            Some(answer) => {
                self.recent
                    .lock()
                    .expect("answers lock")
                    .put(hash, Arc::clone(answer));
            }
            None => {
                tracing::warn!(
                    offset = line.offset,
                    content_id = %key.content_id,
                    "the journal line of this answer no longer holds it: extracting it again"
                );
                let mut index = journal.index.lock().expect("index lock");
                if index.lines.get(&hash) == Some(&line) {
                    index.lines.remove(&hash);
                }
            }
        }
        answer
    }

    /// Keeps `record` (an `ok` record) as `key`'s answer: appended to the journal and indexed,
    /// and kept parsed. Returns the answer.
    pub fn keep(&self, key: &Key, record: &Map<String, Value>) -> Answer {
        let answer = Arc::new(json!({
            "derived": record["derived"],
            "thumbnail": record["thumbnail"],
        }));
        let hash = key.hash();
        let mut forgotten = Vec::new();
        if let Some(journal) = &self.journal {
            let mut text = serde_json::to_vec(record).expect("records serialise");
            text.push(b'\n');
            match journal.append(&text) {
                Ok(offset) => {
                    let thumbnail = record["thumbnail"]["key"].as_str().unwrap_or_default();
                    let line = Line {
                        offset,
                        len: text.len() as u32,
                        own_folder: in_own_folder(&key.platform, &key.content_id, thumbnail),
                    };
                    forgotten = journal.index.lock().expect("index lock").insert(
                        key,
                        line,
                        &self.default_sampling,
                    );
                }
                Err(err) => tracing::error!("appending to the journal failed: {err}"),
            }
        }
        let mut recent = self.recent.lock().expect("answers lock");
        for old in forgotten {
            recent.pop(&old);
        }
        recent.put(hash, Arc::clone(&answer));
        answer
    }
}

impl Journal {
    /// Indexes the `ok` lines of `path` (torn or failed lines are skipped; the last line of an
    /// item and sampling wins) and opens it for appending, ending a torn last line first so the
    /// next record starts a line of its own.
    fn open(path: &Path, default_sampling: &str) -> std::io::Result<Journal> {
        if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
            std::fs::create_dir_all(parent)?;
        }
        let mut append = OpenOptions::new()
            .create(true)
            .read(true)
            .append(true)
            .open(path)?;
        let mut index = Index::default();
        let mut reader = BufReader::with_capacity(1 << 20, File::open(path)?);
        let mut line = Vec::new();
        let mut offset = 0u64;
        loop {
            line.clear();
            let read = reader.read_until(b'\n', &mut line)?;
            if read == 0 {
                break;
            }
            let whole = line.last() == Some(&b'\n');
            if let (true, Ok(len), Some((key, own_folder))) =
                (whole, u32::try_from(read), head_of(&line))
            {
                let entry = Line {
                    offset,
                    len,
                    own_folder,
                };
                index.insert(&key, entry, default_sampling);
            }
            offset += read as u64;
        }
        index.lines.shrink_to_fit();
        index.foreign.shrink_to_fit();
        let end = append.seek(SeekFrom::End(0))?;
        if end > 0 {
            let mut last = [0u8];
            append.read_exact_at(&mut last, end - 1)?;
            if last[0] != b'\n' {
                append.write_all(b"\n")?;
            }
        }
        Ok(Journal {
            index: Mutex::new(index),
            read: File::open(path)?,
            append: Mutex::new(append),
        })
    }

    /// Appends one whole line; returns its offset.
    fn append(&self, line: &[u8]) -> std::io::Result<u64> {
        let mut file = self.append.lock().expect("journal lock");
        let offset = file.seek(SeekFrom::End(0))?;
        file.write_all(line)?;
        Ok(offset)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(id: &str, sampling: &Value, folder: &str) -> Value {
        json!({
            "content_id": id,
            "status": "ok",
            "derived": {"platform": "tiktok", "sampling": sampling, "frames": []},
            "thumbnail": {"key": format!("tiktok/{id}{folder}/thumbnail.jpg")},
        })
    }

    #[test]
    fn the_journal_index_finds_the_latest_answer_and_drops_overwritten_ones() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("journal.jsonl");
        let default = json!({"mode": "fps", "fps": 1});
        let other = json!({"mode": "frames", "frames": 5});
        let key = |id: &str, s: &Value| Key {
            platform: "tiktok".into(),
            content_id: id.into(),
            sampling: s.to_string(),
        };
        let mut text = String::new();
        for r in [
            record("a", &default, ""),
            record("b", &default, ""),
            record("b", &other, "/s-0123456789ab"),
            // an extract with other sampling in c's own folder: c's default answer is gone
            record("c", &default, ""),
            record("c", &other, ""),
            json!({"content_id": "d", "status": "error"}),
        ] {
            text += &format!("{r}\n");
        }
        text += "{\"torn"; // a killed writer's last line
        std::fs::write(&path, &text).unwrap();
        let one = NonZeroUsize::new(1).unwrap();
        let answers = Answers::open(Some(&path), one, default.to_string()).unwrap();
        assert_eq!(answers.indexed(), 4);
        for (id, s) in [
            ("a", &default),
            ("b", &default),
            ("b", &other),
            ("c", &other),
        ] {
            let Found::Line(line) = answers.find(&key(id, s)) else {
                panic!("{id} {s} not indexed");
            };
            let answer = answers
                .read(&key(id, s), line)
                .expect("the line reads back");
            assert_eq!(answer["derived"]["sampling"], *s);
        }
        assert!(matches!(answers.find(&key("c", &default)), Found::None));
        assert!(matches!(answers.find(&key("d", &default)), Found::None));
        // the server's own sampling takes c's folder back: the extract's answer is gone
        let Value::Object(c) = record("c", &default, "") else {
            unreachable!()
        };
        let kept = answers.keep(&key("c", &default), &c);
        assert!(matches!(answers.find(&key("c", &other)), Found::None));
        drop(answers);
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(text.ends_with(&format!("{{\"torn\n{}\n", record("c", &default, ""))));
        let answers = Answers::open(Some(&path), one, default.to_string()).unwrap();
        let Found::Line(line) = answers.find(&key("c", &default)) else {
            panic!("c not indexed after a restart");
        };
        assert_eq!(answers.read(&key("c", &default), line).unwrap(), kept);
        assert!(matches!(answers.find(&key("c", &other)), Found::None));
    }
}
