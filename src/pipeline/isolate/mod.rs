/*!
Crash isolation: libavcodec runs on untrusted video, so by default it runs in decoder processes,
not in the main one. A decoder process is the same binary (`reelframe __worker`, whose loop is
`commands/worker.rs`); the main process fetches, schedules, stores and writes records, and each of its
worker threads keeps one decoder process busy. A decoder that dies (any signal, an abort, the
out-of-memory killer) or hangs past the item's deadline costs its current item a
`decoder_crashed` record; the next item starts a new decoder and the run goes on.

Decoder processes start with a scrubbed environment (no AWS or other credentials: they store
nothing, the main process does), confine themselves with Landlock ([`sandbox`]: no file
writes, no network) before reading anything, and read only what they are sent: a local file's
path, or the video itself over the pipe.
*/

pub mod protocol;
pub mod sandbox;

/// Ends this thread's decoder process, if it has one, and waits for it to exit.
pub fn stop_decoder() {
    DECODER.with(|slot| drop(slot.borrow_mut().take()));
}

use crate::error::{ErrorKind, ItemError};
use crate::pipeline::input::Item;
use crate::pipeline::metrics::Metrics;
use crate::pipeline::options::ExtractOptions;
use crate::pipeline::record::Extracted;
use crate::pipeline::source::{Fetched, VideoData};
use crate::pipeline::store::Upload;
use protocol::{read_message, write_message, FromWorker, ToWorker};
use std::cell::RefCell;
use std::collections::HashMap;
use std::io::{BufReader, BufWriter};
use std::path::PathBuf;
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};
use std::time::Duration;

/// Environment variables a decoder process keeps; everything else (credentials first) is
/// dropped.
const KEPT_ENV: &[&str] = &[
    "PATH",
    "LANG",
    "LC_ALL",
    "TZ",
    "TMPDIR",
    "RUST_LOG",
    "RUST_BACKTRACE",
    "REELFRAME_FAULT",
];

/// How long a decoder whose pipe closed may take to finish dying before it is killed (it
/// exits within milliseconds; only one that answers wrongly while alive waits this long).
const DYING_GRACE: Duration = Duration::from_secs(5);

/// How decoder processes are started.
#[derive(Debug, Clone)]
pub struct Isolation {
    /// The reelframe binary to run as `__worker`.
    pub exe: PathBuf,
    /// Largest video sent over the pipe.
    pub max_video_bytes: u64,
}

impl Isolation {
    /// Decoder processes of the running executable (which must be the `reelframe` binary, whose
    /// `__worker` command they run).
    pub fn of_this_binary(max_video_bytes: u64) -> std::io::Result<Isolation> {
        Ok(Isolation {
            exe: std::env::current_exe()?,
            max_video_bytes,
        })
    }
}

/// A running decoder process.
struct DecoderProcess {
    child: Child,
    /// `None` only once dropped: closing it is what tells the decoder to exit.
    to: Option<BufWriter<ChildStdin>>,
    from: BufReader<ChildStdout>,
}

impl Drop for DecoderProcess {
    /// Closes the decoder's stdin, which ends its loop, and waits for it, so no decoder outlives
    /// its worker thread (nor its CPU time the run's accounting).
    fn drop(&mut self) {
        drop(self.to.take());
        let _ = self.child.wait();
    }
}

thread_local! {
    /// Each worker thread's decoder process, started on first use and replaced when it dies.
    static DECODER: RefCell<Option<DecoderProcess>> = const { RefCell::new(None) };
}

impl DecoderProcess {
    fn start(isolation: &Isolation, options: &ExtractOptions) -> Result<Self, ItemError> {
        let mut command = Command::new(&isolation.exe);
        command
            .arg("__worker")
            .env_clear()
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit());
        for name in KEPT_ENV {
            if let Some(value) = std::env::var_os(name) {
                command.env(name, value);
            }
        }
        let mut child = command.spawn().map_err(|err| {
            ItemError::new(
                ErrorKind::Internal,
                format!(
                    "starting a decoder process ({}): {err}",
                    isolation.exe.display()
                ),
            )
        })?;
        let to = Some(BufWriter::new(child.stdin.take().expect("piped stdin")));
        let from = BufReader::new(child.stdout.take().expect("piped stdout"));
        let mut process = DecoderProcess { child, to, from };
        let init = ToWorker::Init {
            options: options.clone(),
            max_video_bytes: isolation.max_video_bytes,
        };
        write_message(process.stdin(), &init, &[]).map_err(|err| {
            ItemError::new(
                ErrorKind::Internal,
                format!("starting a decoder process: {err}"),
            )
        })?;
        Ok(process)
    }

    fn stdin(&mut self) -> &mut BufWriter<ChildStdin> {
        self.to.as_mut().expect("open until dropped")
    }

    /// Ends a process that failed or hung, and says how it ended.
    ///
    /// A decoder whose pipe closed is dying, but its exit shows a little later, and later still
    /// on a busy machine: it gets [`DYING_GRACE`] to finish, so its record names the signal it
    /// died of, not the SIGKILL this would send. A hung one was already killed by the watchdog.
    fn reap(mut self) -> Option<std::process::ExitStatus> {
        let started = std::time::Instant::now();
        loop {
            match self.child.try_wait() {
                Ok(Some(status)) => return Some(status),
                Ok(None) if started.elapsed() < DYING_GRACE => {
                    std::thread::sleep(Duration::from_millis(5));
                }
                _ => break,
            }
        }
        let _ = self.child.kill();
        self.child.wait().ok()
    }
}

/// What a decoder process sent back for one item.
pub(crate) enum Outcome {
    /// The item was extracted; every object has been handed to `store`.
    Done(Box<Extracted>),
    /// The item failed in the decoder (a normal error record).
    Failed(ItemError),
}

/// Runs `item` in this thread's decoder process (starting one if needed): the video goes to the
/// decoder, each object it sends back goes to `on_object`, and its work is added to `metrics`.
/// A decoder that dies or outlives `deadline` is killed and replaced, and the item gets a
/// `decoder_crashed` error.
pub(crate) fn run_isolated(
    isolation: &Isolation,
    options: &ExtractOptions,
    item: &Item,
    fetched: &Fetched,
    deadline: Duration,
    metrics: &Metrics,
    on_object: &mut dyn FnMut(String, bytes::Bytes, crate::pipeline::store::ObjectMeta),
) -> Result<Outcome, ItemError> {
    DECODER.with(|slot| {
        let mut slot = slot.borrow_mut();
        if slot.is_none() {
            *slot = Some(DecoderProcess::start(isolation, options)?);
        }
        let process = slot.as_mut().expect("just started");
        let pid = process.child.id();
        // the watchdog: kills the decoder if the item outlives its deadline (plus a margin for
        // the decoder's own deadline to fire first and report a timeout)
        let (done_tx, done_rx) = crossbeam_channel::bounded::<()>(0);
        let watchdog = std::thread::spawn(move || {
            let waited = done_rx.recv_timeout(deadline + Duration::from_secs(5));
            if waited == Err(crossbeam_channel::RecvTimeoutError::Timeout) {
                // SAFETY: kill only sends a signal; `pid` is our own child, which has not been
                // reaped while the watchdog runs (the caller joins the watchdog first).
                unsafe { libc::kill(pid as libc::pid_t, libc::SIGKILL) };
            }
        });
        let result = exchange(process, options, item, fetched, metrics, on_object);
        drop(done_tx);
        let _ = watchdog.join();
        match result {
            Ok(outcome) => Ok(outcome),
            Err(_) => {
                let process = slot.take().expect("a process was running");
                Err(crashed(process.reap(), &item.content_id))
            }
        }
    })
}

/// Sends one job and reads the answers. An I/O error means the decoder died.
fn exchange(
    process: &mut DecoderProcess,
    options: &ExtractOptions,
    item: &Item,
    fetched: &Fetched,
    metrics: &Metrics,
    on_object: &mut dyn FnMut(String, bytes::Bytes, crate::pipeline::store::ObjectMeta),
) -> std::io::Result<Outcome> {
    match &fetched.data {
        VideoData::File(path) => {
            let job = ToWorker::Job {
                item: item.clone(),
                options: options.clone(),
                path: Some(path.canonicalize().unwrap_or_else(|_| path.clone())),
            };
            write_message(process.stdin(), &job, &[])?;
        }
        VideoData::Memory(bytes) => {
            let job = ToWorker::Job {
                item: item.clone(),
                options: options.clone(),
                path: None,
            };
            write_message(process.stdin(), &job, bytes)?;
        }
    }
    loop {
        let Some((message, body)) = read_message::<FromWorker>(&mut process.from, 1 << 31)? else {
            return Err(std::io::ErrorKind::UnexpectedEof.into());
        };
        match message {
            FromWorker::Object { key, meta } => on_object(key, body.into(), meta),
            FromWorker::Done { extracted, work } => {
                metrics.add_work(&work);
                return Ok(Outcome::Done(extracted));
            }
            FromWorker::Failed { error, work } => {
                metrics.add_work(&work);
                return Ok(Outcome::Failed(error));
            }
        }
    }
}

/// The uploads of an isolated item in the order a pending item keeps them: each frame's, then
/// the thumbnail's, then the contact sheet's.
pub(crate) fn order_uploads(
    extracted: &Extracted,
    mut uploads: HashMap<String, Upload>,
) -> Result<Vec<Upload>, ItemError> {
    let keys = extracted
        .derived
        .frames
        .iter()
        .map(|f| f.key.as_str())
        .chain(std::iter::once(extracted.thumbnail.key.as_str()))
        .chain(
            extracted
                .derived
                .contact_sheet
                .iter()
                .map(|s| s.key.as_str()),
        );
    keys.map(|key| {
        uploads.remove(key).ok_or_else(|| {
            ItemError::new(
                ErrorKind::DecoderCrashed,
                format!("the decoder process did not send {key}"),
            )
        })
    })
    .collect()
}

/// The error for an item whose decoder process died: `status` says how.
pub fn crashed(status: Option<std::process::ExitStatus>, content_id: &str) -> ItemError {
    use std::os::unix::process::ExitStatusExt;
    let how = match status {
        Some(status) => match status.signal() {
            Some(signal) => format!("was killed by signal {signal} ({})", signal_name(signal)),
            None => format!("exited with {status}"),
        },
        None => "stopped answering".to_string(),
    };
    ItemError::new(
        ErrorKind::DecoderCrashed,
        format!(
            "the decoder process {how} while extracting {content_id:?}; the run went on with a \
             new one (a rerun tries this item once more)"
        ),
    )
}

fn signal_name(signal: i32) -> &'static str {
    match signal {
        libc::SIGSEGV => "SIGSEGV",
        libc::SIGABRT => "SIGABRT",
        libc::SIGKILL => "SIGKILL, e.g. the out-of-memory killer or the item deadline",
        libc::SIGBUS => "SIGBUS",
        libc::SIGFPE => "SIGFPE",
        libc::SIGILL => "SIGILL",
        _ => "signal",
    }
}
