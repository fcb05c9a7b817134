//! Checks made before `extract` does any work: every local output path can be written, and
//! every input directory holds videos. Each failure is one line naming the flag, the path and
//! the fix (exit code 2). And the records lock `extract` and `serve` both take.

use crate::config::{ExtractConfig, RecordsTarget, StoreTarget};
use crate::files::remove_temp_files;
use crate::pipeline::input::open::InputSpec;
use crate::pipeline::input::{items_from_paths, VIDEO_EXTENSIONS};
use crate::pipeline::record::RecordsLock;
use anyhow::Context;
use anyhow::{bail, Result};
use std::path::Path;

/// Checks the outputs and input directories of `config`.
pub fn check(config: &ExtractConfig) -> Result<()> {
    if let StoreTarget::Dir(dir) = &config.store {
        check_dir("--out", dir)?;
    }
    match &config.records {
        RecordsTarget::File(path) => check_file("--records", path, true)?,
        RecordsTarget::S3 { journal, .. } => check_file("--journal", journal, true)?,
        RecordsTarget::Stdout => {}
    }
    if let Some(path) = &config.stats_json {
        check_file("--stats-json", path, false)?;
    }
    for spec in &config.inputs {
        if let InputSpec::Paths(paths) = spec {
            for path in paths.iter().filter(|p| p.is_dir()) {
                if items_from_paths(std::slice::from_ref(path))
                    .next()
                    .is_none()
                {
                    bail!(
                        "no videos found in {}: reelframe takes the files directly in it ending in \
                         .{} (not subfolders); give video files, or --input LIST",
                        path.display(),
                        VIDEO_EXTENSIONS[..5].join(", .") + ", …"
                    );
                }
            }
        }
    }
    Ok(())
}

/// Takes the lock of the records file `journal` for `command` (`extract`, `serve`), creating its
/// folder: a second process on the same records stops here, before any work. When the last owner
/// was killed, removes the temporary files it left beside the records and in a directory `store`.
pub(crate) fn lock_records(
    journal: &Path,
    store: &StoreTarget,
    command: &str,
) -> Result<RecordsLock> {
    let folder = journal
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    std::fs::create_dir_all(folder)
        .with_context(|| format!("creating the records folder {}", folder.display()))?;
    let lock = RecordsLock::acquire(journal, command)?;
    if lock.previous_run_was_killed() {
        let Some(pid) = lock.killed_pid() else {
            tracing::info!("the last run on this output was killed; its lock names no process, so its temporary files (.tmp-*) are left");
            return Ok(lock);
        };
        let mut removed = remove_temp_files(folder, false, pid)?;
        if let StoreTarget::Dir(dir) = store {
            removed += remove_temp_files(dir, true, pid)
                .with_context(|| format!("cleaning {}", dir.display()))?;
        }
        tracing::info!(
            removed,
            pid,
            "the last run on this output was killed: removed the temporary files it left"
        );
    }
    Ok(lock)
}

/// A directory that exists or can be made: nothing on the way may be a file.
fn check_dir(flag: &str, dir: &Path) -> Result<()> {
    if dir.exists() && !dir.is_dir() {
        bail!(
            "{flag} {} is a file, not a directory: give a directory (it is created if missing)",
            dir.display()
        );
    }
    let mut ancestor = dir.parent();
    while let Some(a) = ancestor.filter(|a| !a.as_os_str().is_empty()) {
        if a.exists() {
            if !a.is_dir() {
                bail!(
                    "{flag} {}: {} is a file, so the directory cannot be made",
                    dir.display(),
                    a.display()
                );
            }
            break;
        }
        ancestor = a.parent();
    }
    Ok(())
}

/// A file that can be written: not a directory, and in a folder that exists (or, with
/// `parents_made`, can be made) and takes new files.
pub(crate) fn check_file(flag: &str, path: &Path, parents_made: bool) -> Result<()> {
    if path.is_dir() {
        bail!("{flag} {} is a directory: give a file path", path.display());
    }
    let parent = match path.parent().filter(|p| !p.as_os_str().is_empty()) {
        Some(parent) => parent,
        None => Path::new("."),
    };
    if !parent.exists() {
        if parents_made {
            return check_dir(flag, parent);
        }
        bail!(
            "{flag} {}: the folder {} does not exist; create it first or choose another path",
            path.display(),
            parent.display()
        );
    }
    if !parent.is_dir() {
        bail!(
            "{flag} {}: {} is not a directory",
            path.display(),
            parent.display()
        );
    }
    if let Err(err) = tempfile::Builder::new()
        .prefix(".reelframe-check")
        .tempfile_in(parent)
    {
        bail!(
            "{flag} {}: cannot write in {} ({err}); choose a writable folder",
            path.display(),
            parent.display()
        );
    }
    Ok(())
}
