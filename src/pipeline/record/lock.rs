/*!
One owner per records file. A run holds an exclusive lock (`flock`) on `<records>.lock` for as
long as it writes the records, so a second process on the same output stops at once (naming the
process that holds it) instead of compacting a file the first one is appending to.

`reelframe extract` and `reelframe serve` (whose records journal is the same kind of file, by
default the same `OUT/records.jsonl`) take the same lock, so neither can rewrite records the other
is appending to.

The lock file also says whether the last owner ended cleanly: it holds `pid N running COMMAND`
while a run goes on and `pid N finished COMMAND` after; a run that finds `running` knows the one
before was killed, and [`RecordsLock::previous_run_was_killed`] tells the caller to clean what it
left.
*/

use std::fs::{File, OpenOptions};
use std::io::{self, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

/// Why the records could not be locked.
#[derive(Debug, thiserror::Error)]
pub enum LockError {
    /// Another process holds the lock.
    #[error(
        "another reelframe{}{} is writing {records}: {}, or give this run its own -o/--records",
        command.as_ref().map(|c| format!(" {c}")).unwrap_or_default(),
        holder.map(|pid| format!(" (pid {pid})")).unwrap_or_default(),
        if command.as_deref() == Some("serve") { "stop that server" } else { "wait for it to end" }
    )]
    Held {
        /// The records file.
        records: String,
        /// The process that holds it, when the lock file names one.
        holder: Option<u32>,
        /// The command that holds it (`extract`, `serve`), when the lock file names one.
        command: Option<String>,
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
    command: String,
    killed_before: bool,
    killed_pid: Option<u32>,
}

/// The lock file of `records`: `records.jsonl` → `records.jsonl.lock`.
pub fn lock_path(records: &Path) -> PathBuf {
    let mut name = records.file_name().unwrap_or_default().to_os_string();
    name.push(".lock");
    records.with_file_name(name)
}

impl RecordsLock {
    /// Takes the lock of `records` (its folder must exist) for `command` (`extract`, `serve`: one
    /// word, named to a second process that finds the lock held), or says who holds it.
    pub fn acquire(records: &Path, command: &str) -> Result<RecordsLock, LockError> {
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
                let (holder, command) = holder_of(&text);
                return Err(LockError::Held {
                    records: records.display().to_string(),
                    holder,
                    command,
                });
            }
            Err(std::fs::TryLockError::Error(err)) => return Err(io_error(err)),
        }
        let mut before = String::new();
        file.read_to_string(&mut before).map_err(io_error)?;
        let killed_before = before.contains("running");
        let killed_pid = holder_of(&before).0.filter(|_| killed_before);
        let mut lock = RecordsLock {
            file,
            path,
            command: command.to_string(),
            killed_before,
            killed_pid,
        };
        lock.set_state("running").map_err(io_error)?;
        Ok(lock)
    }

    /// Whether the last run on these records ended without releasing them cleanly (killed, or
    /// crashed): it may have left temporary files behind.
    pub fn previous_run_was_killed(&self) -> bool {
        self.killed_before
    }

    /// The process ID of the killed run, when [`Self::previous_run_was_killed`] and its lock
    /// file named it: the temporary files it left carry this ID in their names.
    pub fn killed_pid(&self) -> Option<u32> {
        self.killed_pid
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
        writeln!(
            self.file,
            "pid {} {state} {}",
            std::process::id(),
            self.command
        )?;
        self.file.flush()
    }
}

/// The pid and the command in a lock file's `pid N STATE COMMAND` line (earlier versions wrote
/// no command).
fn holder_of(text: &str) -> (Option<u32>, Option<String>) {
    let mut words = text.split_whitespace().skip_while(|w| *w != "pid").skip(1);
    let pid = words.next().and_then(|n| n.parse().ok());
    let command = words.nth(1).map(str::to_string);
    (pid, command)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_second_owner_is_refused_and_a_kill_is_noticed() {
        let dir = tempfile::tempdir().unwrap();
        let records = dir.path().join("records.jsonl");
        let first = RecordsLock::acquire(&records, "serve").unwrap();
        assert!(!first.previous_run_was_killed());
        match RecordsLock::acquire(&records, "extract") {
            Err(err @ LockError::Held { .. }) => {
                let pid = std::process::id();
                assert_eq!(
                    err.to_string(),
                    format!(
                        "another reelframe serve (pid {pid}) is writing {}: stop that server, or \
                         give this run its own -o/--records",
                        records.display()
                    )
                );
            }
            other => panic!("expected Held, got {other:?}"),
        }
        drop(first); // as a killed run would: never released
        let second = RecordsLock::acquire(&records, "extract").unwrap();
        assert!(second.previous_run_was_killed());
        assert_eq!(second.killed_pid(), Some(std::process::id()));
        second.release().unwrap();
        let third = RecordsLock::acquire(&records, "extract").unwrap();
        assert!(!third.previous_run_was_killed());
        assert_eq!(third.killed_pid(), None);
    }

    #[test]
    fn a_lock_file_of_an_earlier_version_still_names_its_holder() {
        assert_eq!(holder_of("pid 42 running\n"), (Some(42), None));
        assert_eq!(
            holder_of("pid 42 running serve\n"),
            (Some(42), Some("serve".to_string()))
        );
    }
}
