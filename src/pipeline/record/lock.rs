/*!
One owner per records file. A run holds an exclusive lock (`flock`) on `<records>.lock` for as
long as it writes the records, so a second process on the same output stops at once (naming the
process that holds it) instead of compacting a file the first one is appending to.

The lock file also says whether the last owner ended cleanly: it holds `pid N running` while a run
goes on and `pid N finished` after; a run that finds `running` knows the one before was killed,
and [`RecordsLock::previous_run_was_killed`] tells the caller to clean what it left.
*/

use std::fs::{File, OpenOptions};
use std::io::{self, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

/// Why the records could not be locked.
#[derive(Debug, thiserror::Error)]
pub enum LockError {
    /// Another process holds the lock.
    #[error(
        "another reelframe{} is writing {records}: wait for it to end, or give this run its own \
         -o/--records",
        holder.map(|pid| format!(" (pid {pid})")).unwrap_or_default()
    )]
    Held {
        /// The records file.
        records: String,
        /// The process that holds it, when the lock file names one.
        holder: Option<u32>,
    },
    /// The lock file could not be created or locked.
    #[error("locking {path}: {source}")]
    Io {
        /// The lock file.
        path: String,
        /// Why.
        #[source]
        source: io::Error,
    },
}

/// The lock on a records file, held until dropped.
#[derive(Debug)]
pub struct RecordsLock {
    file: File,
    path: PathBuf,
    killed_before: bool,
}

/// The lock file of `records`: `records.jsonl` → `records.jsonl.lock`.
pub fn lock_path(records: &Path) -> PathBuf {
    let mut name = records.file_name().unwrap_or_default().to_os_string();
    name.push(".lock");
    records.with_file_name(name)
}

impl RecordsLock {
    /// Takes the lock of `records` (its folder must exist), or says who holds it.
    pub fn acquire(records: &Path) -> Result<RecordsLock, LockError> {
        let path = lock_path(records);
        let shown = path.display().to_string();
        let io_error = |source| LockError::Io {
            path: shown.clone(),
            source,
        };
        let mut file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&path)
            .map_err(io_error)?;
        match file.try_lock() {
            Ok(()) => {}
            Err(std::fs::TryLockError::WouldBlock) => {
                let mut text = String::new();
                let _ = file.read_to_string(&mut text);
                return Err(LockError::Held {
                    records: records.display().to_string(),
                    holder: holder_pid(&text),
                });
            }
            Err(std::fs::TryLockError::Error(err)) => return Err(io_error(err)),
        }
        let mut before = String::new();
        file.read_to_string(&mut before).map_err(io_error)?;
        let killed_before = before.contains("running");
        let mut lock = RecordsLock {
            file,
            path,
            killed_before,
        };
        lock.set_state("running").map_err(io_error)?;
        Ok(lock)
    }

    /// Whether the last run on these records ended without releasing them cleanly (killed, or
    /// crashed): it may have left temporary files behind.
    pub fn previous_run_was_killed(&self) -> bool {
        self.killed_before
    }

    /// The lock file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Marks the run as ended cleanly and releases the lock.
    pub fn release(mut self) -> io::Result<()> {
        self.set_state("finished")
    }

    fn set_state(&mut self, state: &str) -> io::Result<()> {
        self.file.set_len(0)?;
        self.file.seek(SeekFrom::Start(0))?;
        writeln!(self.file, "pid {} {state}", std::process::id())?;
        self.file.flush()
    }
}

/// The pid in a lock file's `pid N …` line.
fn holder_pid(text: &str) -> Option<u32> {
    text.split_whitespace()
        .skip_while(|w| *w != "pid")
        .nth(1)
        .and_then(|n| n.parse().ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_second_owner_is_refused_and_a_kill_is_noticed() {
        let dir = tempfile::tempdir().unwrap();
        let records = dir.path().join("records.jsonl");
        let first = RecordsLock::acquire(&records).unwrap();
        assert!(!first.previous_run_was_killed());
        match RecordsLock::acquire(&records) {
            Err(LockError::Held { holder, .. }) => assert_eq!(holder, Some(std::process::id())),
            other => panic!("expected Held, got {other:?}"),
        }
        drop(first); // as a killed run would: never released
        let second = RecordsLock::acquire(&records).unwrap();
        assert!(second.previous_run_was_killed());
        second.release().unwrap();
        let third = RecordsLock::acquire(&records).unwrap();
        assert!(!third.previous_run_was_killed());
    }
}
