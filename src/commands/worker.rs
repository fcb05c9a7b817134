//! `reelframe __worker`: a decoder process, started by `extract` with a scrubbed environment
//! (see `pipeline/isolate/`). It reads jobs on stdin, runs the in-process extraction path on each (open, scan,
//! decode, encode), and sends every encoded object and the outcome back on stdout; it stores
//! nothing itself and holds no credentials.

use crate::error::StoreError;
use crate::pipeline::extract::Extractor;
use crate::pipeline::isolate::protocol::{read_message, write_message, FromWorker, ToWorker};
use crate::pipeline::source::{Fetched, VideoData};
use crate::pipeline::store::{FrameStore, ObjectMeta};
use bytes::Bytes;
use futures_util::future::BoxFuture;
use std::io::{self, BufReader, BufWriter, Stdout};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// A store that hands every object to the main process, which stores it for real.
struct PipeStore {
    out: Arc<Mutex<BufWriter<Stdout>>>,
}

impl FrameStore for PipeStore {
    fn put(
        &self,
        key: String,
        bytes: Bytes,
        meta: ObjectMeta,
    ) -> BoxFuture<'_, Result<String, StoreError>> {
        let out = Arc::clone(&self.out);
        Box::pin(async move {
            let mut out = out.lock().expect("stdout lock");
            let message = FromWorker::Object {
                key: key.clone(),
                meta,
            };
            write_message(&mut *out, &message, &bytes).map_err(|source| StoreError::Io {
                key: key.clone(),
                source,
            })?;
            Ok(key)
        })
    }

    fn uri(&self, key: &str) -> String {
        key.to_string()
    }
}

/// Runs the decoder process's loop until stdin closes. Returns the process's exit code.
pub fn run() -> io::Result<i32> {
    // Rust's runtime catches SIGSEGV and SIGBUS to report stack overflows, and lets one that is
    // not an overflow through to a second delivery; a decoder process must die of the first, so
    // its parent sees the signal and its item's record names it.
    for signal in [libc::SIGSEGV, libc::SIGBUS] {
        // SAFETY: restoring a signal's default action is sound at any time; no handler of ours
        // is replaced.
        unsafe { libc::signal(signal, libc::SIG_DFL) };
    }
    // before any thread starts, so every thread of the decoder is confined
    // (an old kernel without Landlock is not an error: it gives a status of not enforced)
    if let Err(err) = crate::pipeline::isolate::sandbox::confine() {
        eprintln!(
            "reelframe: warning: decoder processes run without their Landlock sandbox: {err}"
        );
    }
    crate::pipeline::demux::init_ffmpeg(false);
    let mut input = BufReader::new(io::stdin().lock());
    let out = Arc::new(Mutex::new(BufWriter::new(io::stdout())));
    let (options, max_body) = match read_message::<ToWorker>(&mut input, 0)? {
        Some((
            ToWorker::Init {
                options,
                max_video_bytes,
            },
            _,
        )) => (options, max_video_bytes),
        Some(_) | None => return Ok(2),
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()?;
    let store = Arc::new(PipeStore {
        out: Arc::clone(&out),
    });
    let extractor = Extractor::new(
        options,
        Arc::new(crate::pipeline::source::Sources::local_only(0)),
        store,
        runtime.handle().clone(),
    );
    while let Some((message, body)) = read_message::<ToWorker>(&mut input, max_body)? {
        let ToWorker::Job {
            item,
            options,
            path,
        } = message
        else {
            return Ok(2);
        };
        let fetched = Fetched {
            bytes: match &path {
                Some(path) => std::fs::metadata(path).map(|m| m.len()).unwrap_or(0),
                None => body.len() as u64,
            },
            data: match path {
                Some(path) => VideoData::File(path),
                None => VideoData::Memory(body.into()),
            },
            attempts: 1,
            source: "local",
            elapsed: Duration::ZERO,
            spill: None,
        };
        fault_injection(&item.content_id);
        let before = extractor.metrics().work();
        let job = extractor.with_options(options);
        let result = job
            .process_guarded(&item, &fetched)
            .and_then(|pending| runtime.block_on(job.finish_guarded(pending)));
        let work = extractor.metrics().work().since(&before);
        let reply = match result {
            Ok(extracted) => FromWorker::Done {
                extracted: Box::new(extracted),
                work,
            },
            Err(error) => FromWorker::Failed { error, work },
        };
        let mut out = out.lock().expect("stdout lock");
        write_message(&mut *out, &reply, &[])?;
    }
    Ok(0)
}

/// Crashes on purpose when the tests ask for it (`REELFRAME_FAULT=segv:ID`, `abort:ID` or
/// `late-segv:ID`):
/// compiled only with the `fault-injection` feature, which only the test build enables.
#[cfg(feature = "fault-injection")]
fn fault_injection(content_id: &str) {
    let Ok(spec) = std::env::var("REELFRAME_FAULT") else {
        return;
    };
    match spec.split_once(':') {
        Some(("segv", id)) if id == content_id => {
            // SAFETY: raising a signal is always sound; SIGSEGV's default action ends the
            // process, which is the crash this hook exists to produce.
            unsafe { libc::raise(libc::SIGSEGV) };
        }
        Some(("abort", id)) if id == content_id => std::process::abort(),
        // `late-segv:ID`: the pipe to the main process closes first and the SIGSEGV comes half a
        // second later, as when a crashing process is slow to finish dying on a busy machine
        Some(("late-segv", id)) if id == content_id => {
            // SAFETY: closing stdout and raising a signal are always sound; nothing writes to
            // stdout afterwards, since the process ends here.
            unsafe {
                libc::close(1);
                std::thread::sleep(std::time::Duration::from_millis(500));
                libc::raise(libc::SIGSEGV);
            }
        }
        // `write:ID:PATH` and `connect:ID:ADDR` try what a hijacked decoder would, and say on
        // stderr whether the sandbox let them
        Some(("write", rest)) => match rest.split_once(':') {
            Some((id, path)) if id == content_id => {
                let result = std::fs::write(path, b"written by a decoder");
                eprintln!("fault hook: write {path}: {result:?}");
            }
            _ => {}
        },
        Some(("connect", rest)) => match rest.split_once(':') {
            Some((id, addr)) if id == content_id => {
                let result = std::net::TcpStream::connect(addr).map(|_| ());
                eprintln!("fault hook: connect {addr}: {result:?}");
            }
            _ => {}
        },
        _ => {}
    }
}

#[cfg(not(feature = "fault-injection"))]
fn fault_injection(_content_id: &str) {}
