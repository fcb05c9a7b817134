/*!
Local files written safely: one atomic-write helper and one path-segment encoder, used by every
writer in the crate (frames, the records journal's compaction, Avro records, `merge` outputs).

- [`AtomicFile`] writes under a temporary name beside the destination and renames it into place,
  so a reader (or a rerun after a kill) sees the old file or the whole new one, never half of
  one. Temporary names start with [`TEMP_PREFIX`], so a rerun can recognise and remove what a
  killed run left.
- [`safe_segment`] turns an untrusted string (a content ID, a bucket name) into one path or key
  segment that cannot escape its folder.
*/

use std::fs::File;
use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

/// Every temporary file an [`AtomicFile`] creates starts with this.
pub const TEMP_PREFIX: &str = ".tmp-";

/// Whether a committed file must reach the disk before the rename.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Durability {
    /// `fsync` the data before the rename: for files a rerun relies on (records, outputs).
    Synced,
    /// Rename without `fsync`: for frames, which a record names only after they are written and
    /// which a rerun rewrites if a crash loses them (an fsync costs ~5 ms a frame).
    Unsynced,
}

/// A file being written under a temporary name beside its destination; [`AtomicFile::commit`]
/// renames it into place, and dropping it uncommitted removes it.
pub struct AtomicFile {
    file: Option<BufWriter<File>>,
    tmp: PathBuf,
    dest: PathBuf,
}

/// A process-wide counter that makes temporary names unique between threads.
static SERIAL: AtomicU64 = AtomicU64::new(0);

impl AtomicFile {
    /// Starts writing `dest` (its folder must exist).
    pub fn create(dest: impl Into<PathBuf>) -> io::Result<AtomicFile> {
        let dest = dest.into();
        let name = dest
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let serial = SERIAL.fetch_add(1, Ordering::Relaxed);
        let tmp = dest.with_file_name(format!(
            "{TEMP_PREFIX}{}-{serial}-{name}",
            std::process::id()
        ));
        let file = File::create(&tmp)?;
        Ok(AtomicFile {
            file: Some(BufWriter::new(file)),
            tmp,
            dest,
        })
    }

    /// The final path.
    pub fn dest(&self) -> &Path {
        &self.dest
    }

    /// Flushes, syncs if asked, and renames the file into place.
    pub fn commit(mut self, durability: Durability) -> io::Result<()> {
        let file = self.file.take().expect("an uncommitted file is open");
        let file = file.into_inner().map_err(|err| err.into_error())?;
        if durability == Durability::Synced {
            file.sync_all()?;
        }
        drop(file);
        std::fs::rename(&self.tmp, &self.dest)
    }
}

impl Write for AtomicFile {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.file.as_mut().expect("open").write(buf)
    }

    fn write_all(&mut self, buf: &[u8]) -> io::Result<()> {
        self.file.as_mut().expect("open").write_all(buf)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.file.as_mut().expect("open").flush()
    }
}

impl Drop for AtomicFile {
    fn drop(&mut self) {
        if self.file.take().is_some() {
            let _ = std::fs::remove_file(&self.tmp);
        }
    }
}

/// Writes `bytes` to `dest` atomically.
pub fn write_atomic(dest: &Path, bytes: &[u8], durability: Durability) -> io::Result<()> {
    let mut file = AtomicFile::create(dest)?;
    file.write_all(bytes)?;
    file.commit(durability)
}

/// Removes the temporary files that the killed process `writer_pid` left in `dir` (and, with
/// `recursive`, in every folder below it): names starting with [`TEMP_PREFIX`] and that pid (see
/// [`AtomicFile::create`]), and the `*.compact-*.tmp` files of earlier versions. Temporary files
/// of other processes are left alone: another run may share the folder (a server, or a shard
/// with its own records) and be writing them now. Returns how many were removed.
pub fn remove_temp_files(dir: &Path, recursive: bool, writer_pid: u32) -> io::Result<u64> {
    let mut removed = 0;
    let entries = match std::fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(err) if err.kind() == io::ErrorKind::NotFound => return Ok(0),
        Err(err) => return Err(err),
    };
    let own = format!("{TEMP_PREFIX}{writer_pid}-");
    for entry in entries {
        let entry = entry?;
        let kind = entry.file_type()?;
        let name = entry.file_name();
        let name = name.to_string_lossy();
        if kind.is_dir() && recursive {
            removed += remove_temp_files(&entry.path(), true, writer_pid)?;
        } else if kind.is_file()
            && (name.starts_with(&own) || (name.contains(".compact-") && name.ends_with(".tmp")))
        {
            std::fs::remove_file(entry.path())?;
            removed += 1;
        }
    }
    Ok(removed)
}

/// Longest segment kept readable; longer ones are cut and suffixed with a hash of the whole.
const MAX_SEGMENT_BYTES: usize = 120;

/// Encodes `id` as one safe path/key segment.
///
/// Bytes outside `[A-Za-z0-9_-]` are percent-encoded (`.` included, so `..` becomes `%2E%2E`),
/// which keeps the mapping one-to-one and the segment never empty (`""` becomes `%`), never `.`
/// or `..`, and never holding a separator. Very long results are cut and suffixed with `~` and a
/// blake3 hash of the original (`~` never appears in encoded text, so these cannot collide with
/// short ones).
pub fn safe_segment(id: &str) -> String {
    if id.is_empty() {
        return "%".into();
    }
    let mut out = String::with_capacity(id.len());
    for b in id.bytes() {
        if b.is_ascii_alphanumeric() || b == b'_' || b == b'-' {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    if out.len() > MAX_SEGMENT_BYTES {
        let hash = blake3::hash(id.as_bytes()).to_hex();
        let mut cut = MAX_SEGMENT_BYTES - 33;
        // never end on a partial %XX escape
        if let Some(pos) = out[cut - 2..cut].find('%') {
            cut = cut - 2 + pos;
        }
        out.truncate(cut);
        out.push('~');
        out.push_str(&hash[..32]);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn segments_cannot_escape_and_stay_distinct() {
        for evil in [
            "..",
            "../../etc/passwd",
            "/abs",
            "a/b",
            "a\\b",
            ".",
            "",
            "\0",
            "%2E",
        ] {
            let s = safe_segment(evil);
            assert!(
                !s.contains('/') && !s.contains('\\') && !s.contains('.'),
                "{evil:?} -> {s}"
            );
            assert!(s != "." && s != "..");
        }
        assert_eq!(safe_segment("7201234567890123456"), "7201234567890123456");
        assert_ne!(safe_segment("a/b"), safe_segment("a%2Fb"));
        assert_ne!(safe_segment("a b"), safe_segment("a_b"));
        let long_a = "x".repeat(500);
        let long_b = format!("{}y", "x".repeat(499));
        assert_ne!(safe_segment(&long_a), safe_segment(&long_b));
        assert!(safe_segment(&long_a).len() <= MAX_SEGMENT_BYTES);
        assert!(safe_segment(&"é".repeat(300)).len() <= MAX_SEGMENT_BYTES);
    }

    #[test]
    fn atomic_files_appear_whole_or_not_at_all() {
        let dir = tempfile::tempdir().unwrap();
        let dest = dir.path().join("out.txt");
        let mut file = AtomicFile::create(&dest).unwrap();
        file.write_all(b"half").unwrap();
        drop(file);
        assert!(!dest.exists());
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
        write_atomic(&dest, b"whole", Durability::Synced).unwrap();
        assert_eq!(std::fs::read(&dest).unwrap(), b"whole");
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
    }
}
