//! Spawning children and measuring them with `wait4`: wall time, user + system CPU and peak RSS
//! of each process, the same way for reelframe and for ffmpeg.
//!
//! A batch runs up to N children at once (a simple job pool, as `xargs -P N` would) and reports
//! the wall time of the whole batch, the CPU summed over its children and the largest peak RSS
//! of any single child. Children's stderr goes to a file so a failure can show its tail.
//!
//! Ctrl-C: [`install_interrupt_handler`] makes SIGINT set a flag instead of killing bench, so the
//! caller can clean its scratch directory up. The children share the terminal's process group,
//! so they receive the SIGINT themselves and end; the batch then stops with an error.

use anyhow::{bail, Context, Result};
use serde::Serialize;
use std::ffi::OsString;
use std::fs::File;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc;
use std::time::Instant;

/// One child to run: a program, its arguments and where its stderr goes.
#[derive(Debug, Clone)]
pub struct ChildSpec {
    /// The program (a path or a name looked up on PATH).
    pub program: PathBuf,
    /// Its arguments.
    pub args: Vec<OsString>,
    /// File that receives the child's stderr (stdout is discarded).
    pub stderr: PathBuf,
}

impl ChildSpec {
    /// The command line, for messages and the JSON report.
    pub fn command_line(&self) -> Vec<String> {
        std::iter::once(self.program.as_os_str())
            .chain(self.args.iter().map(|a| a.as_os_str()))
            .map(|s| s.to_string_lossy().into_owned())
            .collect()
    }
}

/// What one batch of children cost.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize)]
pub struct Measurement {
    /// Wall-clock seconds from the first spawn to the last child reaped.
    pub wall_seconds: f64,
    /// User CPU seconds, summed over the children.
    pub user_seconds: f64,
    /// System CPU seconds, summed over the children.
    pub sys_seconds: f64,
    /// Largest peak resident set size of any single child, in KiB (`ru_maxrss` on Linux).
    pub peak_rss_kib: u64,
    /// Children run.
    pub processes: usize,
}

impl Measurement {
    /// User + system CPU seconds.
    pub fn cpu_seconds(&self) -> f64 {
        self.user_seconds + self.sys_seconds
    }
}

static INTERRUPTED: AtomicBool = AtomicBool::new(false);

extern "C" fn on_sigint(_: libc::c_int) {
    INTERRUPTED.store(true, Ordering::SeqCst);
}

/// Makes SIGINT set a flag (see [`interrupted`]) instead of ending the process at once.
pub fn install_interrupt_handler() {
    // SAFETY: the handler only stores to an atomic, which is async-signal-safe.
    unsafe {
        let mut action: libc::sigaction = std::mem::zeroed();
        action.sa_sigaction = on_sigint as extern "C" fn(libc::c_int) as usize;
        libc::sigemptyset(&mut action.sa_mask);
        libc::sigaction(libc::SIGINT, &action, std::ptr::null_mut());
    }
}

/// Has SIGINT arrived since [`install_interrupt_handler`]?
pub fn interrupted() -> bool {
    INTERRUPTED.load(Ordering::SeqCst)
}

fn timeval_seconds(tv: libc::timeval) -> f64 {
    tv.tv_sec as f64 + tv.tv_usec as f64 / 1e6
}

/// The last `max_lines` lines of a file (empty when it cannot be read).
pub fn tail(path: &Path, max_lines: usize) -> String {
    let text = std::fs::read(path).unwrap_or_default();
    let text = String::from_utf8_lossy(&text);
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(max_lines)..].join("\n")
}

/// Waits for the child `pid` (and only it) and returns its raw wait status and resource usage.
fn wait_pid(pid: libc::pid_t) -> std::io::Result<(libc::c_int, libc::rusage)> {
    loop {
        let mut status: libc::c_int = 0;
        // SAFETY: rusage is plain data; wait4 fills it in.
        let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
        // SAFETY: valid pointers to locals.
        let got = unsafe { libc::wait4(pid, &mut status, 0, &mut usage) };
        if got == pid {
            return Ok((status, usage));
        }
        let err = std::io::Error::last_os_error();
        if err.kind() != std::io::ErrorKind::Interrupted {
            return Err(err);
        }
    }
}

/// A child that did not succeed: how it ended and the tail of its stderr.
fn failure(spec: &ChildSpec, status: libc::c_int) -> anyhow::Error {
    let how = if libc::WIFEXITED(status) {
        format!("exited with status {}", libc::WEXITSTATUS(status))
    } else if libc::WIFSIGNALED(status) {
        format!("was killed by signal {}", libc::WTERMSIG(status))
    } else {
        format!("ended with wait status {status}")
    };
    let tail = tail(&spec.stderr, 15);
    anyhow::anyhow!(
        "`{}` {how}{}",
        spec.command_line().join(" "),
        if tail.is_empty() {
            String::new()
        } else {
            format!("; its stderr ends with:\n{tail}")
        }
    )
}

/// Exit status of a finished child: `Some(code)` when it exited, `None` when a signal ended it.
pub fn exit_code(status: libc::c_int) -> Option<i32> {
    libc::WIFEXITED(status).then(|| libc::WEXITSTATUS(status))
}

/// Runs `specs` with at most `jobs` at a time and measures the batch. A child that exits with a
/// code in `ok_codes` counts as success; anything else stops the batch (the children still
/// running are waited for) and returns an error with the failing child's stderr tail. The codes
/// the children exited with are returned in `specs` order.
///
/// Each child is reaped by its own pid (`wait4(pid)`) on a small waiter thread, so children that
/// other code in the process starts are never taken.
pub fn run_batch(
    specs: &[ChildSpec],
    jobs: usize,
    ok_codes: &[i32],
) -> Result<(Measurement, Vec<i32>)> {
    type Reaped = (usize, std::io::Result<(libc::c_int, libc::rusage)>);
    let jobs = jobs.max(1);
    let mut measurement = Measurement {
        processes: specs.len(),
        ..Default::default()
    };
    let mut codes = vec![0; specs.len()];
    let (tx, rx) = mpsc::channel::<Reaped>();
    let mut running = 0usize;
    let mut next = 0;
    let mut first_error: Option<anyhow::Error> = None;
    let started = Instant::now();
    loop {
        while first_error.is_none() && !interrupted() && next < specs.len() && running < jobs {
            let spec = &specs[next];
            let spawned = File::create(&spec.stderr)
                .with_context(|| format!("creating {}", spec.stderr.display()))
                .and_then(|stderr| {
                    Command::new(&spec.program)
                        .args(&spec.args)
                        .stdin(Stdio::null())
                        .stdout(Stdio::null())
                        .stderr(stderr)
                        .spawn()
                        .with_context(|| format!("cannot run {}", spec.program.display()))
                });
            match spawned {
                Ok(child) => {
                    // The Child handle is dropped without waiting: the waiter reaps it by pid.
                    let pid = child.id() as libc::pid_t;
                    let tx = tx.clone();
                    let index = next;
                    std::thread::spawn(move || {
                        let _ = tx.send((index, wait_pid(pid)));
                    });
                    running += 1;
                    next += 1;
                }
                Err(err) => first_error = Some(err),
            }
        }
        if running == 0 {
            break;
        }
        let (index, reaped) = rx.recv().expect("a waiter thread is alive");
        running -= 1;
        let (status, usage) = reaped.context("waiting for a child (wait4)")?;
        measurement.user_seconds += timeval_seconds(usage.ru_utime);
        measurement.sys_seconds += timeval_seconds(usage.ru_stime);
        measurement.peak_rss_kib = measurement.peak_rss_kib.max(usage.ru_maxrss.max(0) as u64);
        match exit_code(status) {
            Some(code) if ok_codes.contains(&code) => codes[index] = code,
            _ => {
                if first_error.is_none() {
                    first_error = Some(failure(&specs[index], status));
                }
            }
        }
    }
    measurement.wall_seconds = started.elapsed().as_secs_f64();
    if interrupted() {
        bail!("interrupted");
    }
    if let Some(err) = first_error {
        return Err(err);
    }
    Ok((measurement, codes))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sh(script: &str, stderr: &Path) -> ChildSpec {
        ChildSpec {
            program: "sh".into(),
            args: vec!["-c".into(), script.into()],
            stderr: stderr.to_path_buf(),
        }
    }

    #[test]
    fn a_batch_measures_every_child_and_its_cpu() {
        let dir = tempfile::tempdir().unwrap();
        let specs: Vec<ChildSpec> = (0..3)
            .map(|i| {
                sh(
                    "i=0; while [ $i -lt 20000 ]; do i=$((i+1)); done",
                    &dir.path().join(format!("{i}.err")),
                )
            })
            .collect();
        let (m, codes) = run_batch(&specs, 2, &[0]).unwrap();
        assert_eq!(m.processes, 3);
        assert_eq!(codes, vec![0, 0, 0]);
        assert!(m.cpu_seconds() > 0.0);
        assert!(m.peak_rss_kib > 0);
        assert!(m.wall_seconds > 0.0);
    }

    #[test]
    fn a_failing_child_reports_its_stderr_tail() {
        let dir = tempfile::tempdir().unwrap();
        let specs = vec![sh(
            "echo first >&2; echo boom >&2; exit 3",
            &dir.path().join("e"),
        )];
        let err = run_batch(&specs, 1, &[0]).unwrap_err().to_string();
        assert!(err.contains("exited with status 3"), "{err}");
        assert!(err.contains("boom"), "{err}");
        let (_, codes) = run_batch(&specs, 1, &[0, 3]).unwrap();
        assert_eq!(codes, vec![3]);
    }

    #[test]
    fn a_missing_program_is_an_error() {
        let dir = tempfile::tempdir().unwrap();
        let specs = vec![ChildSpec {
            program: "/nonexistent/ffmpeg".into(),
            args: vec![],
            stderr: dir.path().join("e"),
        }];
        assert!(run_batch(&specs, 1, &[0]).is_err());
    }
}
