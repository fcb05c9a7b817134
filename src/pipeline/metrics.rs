//! Run metrics: how items ended ([`Outcome`], [`Summary`]), how many videos, frames and bytes
//! went through, and where the time went.
//!
//! Every stage adds to one shared [`Metrics`] with relaxed atomics (no locks on the hot path).
//! [`Metrics::snapshot`] turns it into a [`MetricsSnapshot`], which `reelframe extract
//! --stats-json` writes and `reelframe bench` reads. Stage times are summed over all workers, so
//! on N workers they can add up to N × the wall time.

use crate::error::ErrorKind;
use serde::{Deserialize, Serialize};
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::time::Duration;

/// How one item ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Extracted; this many frames.
    Done {
        /// Frames written.
        frames: u64,
    },
    /// Failed, with this kind of error.
    Failed(ErrorKind),
    /// The row repeats a content ID an earlier row of the run has: not processed twice.
    Duplicate,
}

/// Counts for a whole run.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Summary {
    /// Items extracted in this run.
    pub done: u64,
    /// Items that failed (each has an error record).
    pub failed: u64,
    /// Items skipped because an earlier run completed them.
    pub skipped: u64,
    /// Input rows repeating a content ID an earlier row of this run has (each has a `duplicate`
    /// record naming that row; not processed twice).
    pub duplicates: u64,
    /// Frames written in this run.
    pub frames: u64,
}

/// The stages whose time is measured.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stage {
    /// Downloading or opening the video.
    Fetch,
    /// Opening the container and reading packets (the scan and the decode pass).
    Demux,
    /// Inside the decoder (send packet / receive frame).
    Decode,
    /// Colour conversion, scaling and rotation.
    Convert,
    /// JPEG encoding (frames and thumbnail) and hashing.
    Encode,
    /// Writing frames and thumbnails to the store.
    Store,
}

const STAGES: usize = 6;

/// Decoding work as plain numbers ([`Metrics::work`]).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Work {
    stage_nanos: [u64; STAGES],
    packets_sent: u64,
    frames_decoded: u64,
}

impl Work {
    /// The work done since `before`.
    pub fn since(&self, before: &Work) -> Work {
        let mut stage_nanos = [0; STAGES];
        for (i, nanos) in stage_nanos.iter_mut().enumerate() {
            *nanos = self.stage_nanos[i].saturating_sub(before.stage_nanos[i]);
        }
        Work {
            stage_nanos,
            packets_sent: self.packets_sent.saturating_sub(before.packets_sent),
            frames_decoded: self.frames_decoded.saturating_sub(before.frames_decoded),
        }
    }
}

/// Shared counters for one run.
#[derive(Debug, Default)]
pub struct Metrics {
    stage_nanos: [AtomicU64; STAGES],
    bytes_in: AtomicU64,
    frames_decoded: AtomicU64,
    packets_sent: AtomicU64,
    bytes_out: AtomicU64,
}

impl Metrics {
    /// Adds `elapsed` to `stage`.
    pub fn add_time(&self, stage: Stage, elapsed: Duration) {
        self.stage_nanos[stage as usize].fetch_add(elapsed.as_nanos() as u64, Relaxed);
    }

    /// Runs `f`, adding its time to `stage`.
    pub fn time<T>(&self, stage: Stage, f: impl FnOnce() -> T) -> T {
        let started = std::time::Instant::now();
        let out = f();
        self.add_time(stage, started.elapsed());
        out
    }

    /// Counts the bytes of one fetched video.
    pub fn add_bytes_in(&self, bytes: u64) {
        self.bytes_in.fetch_add(bytes, Relaxed);
    }

    /// Counts bytes written to the store.
    pub fn add_bytes_out(&self, bytes: u64) {
        self.bytes_out.fetch_add(bytes, Relaxed);
    }

    /// Counts the decoder's work for one video.
    pub fn add_decoder_work(&self, packets_sent: u64, frames_decoded: u64) {
        self.packets_sent.fetch_add(packets_sent, Relaxed);
        self.frames_decoded.fetch_add(frames_decoded, Relaxed);
    }

    /// The decoding work done so far (the times of demux, decode, convert and encode, packets
    /// sent, frames decoded), as plain numbers that can cross a process boundary.
    pub fn work(&self) -> Work {
        let mut stage_nanos = [0; STAGES];
        for stage in [Stage::Demux, Stage::Decode, Stage::Convert, Stage::Encode] {
            stage_nanos[stage as usize] = self.stage_nanos[stage as usize].load(Relaxed);
        }
        Work {
            stage_nanos,
            packets_sent: self.packets_sent.load(Relaxed),
            frames_decoded: self.frames_decoded.load(Relaxed),
        }
    }

    /// Adds work done elsewhere (by a decoder process).
    pub fn add_work(&self, work: &Work) {
        for (total, nanos) in self.stage_nanos.iter().zip(work.stage_nanos) {
            total.fetch_add(nanos, Relaxed);
        }
        self.add_decoder_work(work.packets_sent, work.frames_decoded);
    }

    /// Bytes fetched so far.
    pub fn bytes_in(&self) -> u64 {
        self.bytes_in.load(Relaxed)
    }

    /// The counters now, with the run's counts and wall time added.
    pub fn snapshot(&self, summary: &Summary, wall: Duration) -> MetricsSnapshot {
        let secs = |stage: Stage| self.stage_nanos[stage as usize].load(Relaxed) as f64 / 1e9;
        MetricsSnapshot {
            videos: summary.done + summary.failed,
            done: summary.done,
            failed: summary.failed,
            skipped: summary.skipped,
            duplicates: summary.duplicates,
            frames: summary.frames,
            frames_decoded: self.frames_decoded.load(Relaxed),
            packets_sent: self.packets_sent.load(Relaxed),
            bytes_in: self.bytes_in.load(Relaxed),
            bytes_out: self.bytes_out.load(Relaxed),
            wall_seconds: wall.as_secs_f64(),
            stage_seconds: StageSeconds {
                fetch: secs(Stage::Fetch),
                demux: secs(Stage::Demux),
                decode: secs(Stage::Decode),
                convert: secs(Stage::Convert),
                encode: secs(Stage::Encode),
                store: secs(Stage::Store),
            },
        }
    }
}

/// Seconds spent per stage, summed over workers.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct StageSeconds {
    /// Downloading or opening videos.
    pub fetch: f64,
    /// Reading containers and packets.
    pub demux: f64,
    /// Inside the decoder.
    pub decode: f64,
    /// Colour conversion, scaling, rotation.
    pub convert: f64,
    /// JPEG encoding and hashing.
    pub encode: f64,
    /// Writing to the store.
    pub store: f64,
}

/// What `reelframe extract --stats-json` writes: one run's counts and stage times.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct MetricsSnapshot {
    /// Items processed in this run (done + failed).
    pub videos: u64,
    /// Items extracted.
    pub done: u64,
    /// Items that failed.
    pub failed: u64,
    /// Items skipped because an earlier run completed them.
    pub skipped: u64,
    /// Repeated content IDs in the input.
    pub duplicates: u64,
    /// Frames written.
    pub frames: u64,
    /// Frames the decoders returned (≥ frames; the ratio is the decode overhead).
    pub frames_decoded: u64,
    /// Packets sent to the decoders.
    pub packets_sent: u64,
    /// Bytes of video fetched.
    pub bytes_in: u64,
    /// Bytes of JPEG written.
    pub bytes_out: u64,
    /// Wall-clock time of the run.
    pub wall_seconds: f64,
    /// Time per stage, summed over workers.
    pub stage_seconds: StageSeconds,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stage_times_add_up_per_stage() {
        let metrics = Metrics::default();
        metrics.add_time(Stage::Decode, Duration::from_millis(1500));
        metrics.add_time(Stage::Decode, Duration::from_millis(500));
        metrics.add_time(Stage::Store, Duration::from_millis(250));
        metrics.add_bytes_in(10);
        metrics.add_decoder_work(7, 3);
        let summary = Summary {
            done: 2,
            failed: 1,
            frames: 5,
            ..Default::default()
        };
        let snap = metrics.snapshot(&summary, Duration::from_secs(3));
        assert_eq!(snap.stage_seconds.decode, 2.0);
        assert_eq!(snap.stage_seconds.store, 0.25);
        assert_eq!(snap.stage_seconds.fetch, 0.0);
        assert_eq!((snap.videos, snap.frames, snap.bytes_in), (3, 5, 10));
        assert_eq!((snap.packets_sent, snap.frames_decoded), (7, 3));
        let json = serde_json::to_value(&snap).unwrap();
        assert_eq!(json["stage_seconds"]["decode"], 2.0);
        assert_eq!(json["wall_seconds"], 3.0);
    }
}
