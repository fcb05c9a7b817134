//! The service's counters, rendered as Prometheus text at `GET /metrics`.

use std::collections::BTreeMap;
use std::fmt::Write;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::sync::Mutex;
use std::time::Duration;

/// Upper bounds (seconds) of the extraction latency histogram's buckets.
pub const LATENCY_BUCKETS: &[f64] = &[
    0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0,
];

/// Why a request was answered without decoding.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Avoided {
    /// It joined a running extraction of the same item.
    Coalesced,
    /// The store already had the answer.
    Store,
}

/// Counters of one server.
#[derive(Debug, Default)]
pub struct ServeMetrics {
    requests: Mutex<BTreeMap<(&'static str, u16), u64>>,
    latency_buckets: [AtomicU64; 12],
    latency_count: AtomicU64,
    latency_micros: AtomicU64,
    decodes: AtomicU64,
    failed: AtomicU64,
    frames: AtomicU64,
    bytes_in: AtomicU64,
    bytes_out: AtomicU64,
    avoided_coalesced: AtomicU64,
    avoided_store: AtomicU64,
    rejected: AtomicU64,
    /// Extractions running now.
    pub inflight: AtomicU64,
    /// Extractions waiting for a slot now.
    pub queued: AtomicU64,
}

impl ServeMetrics {
    /// Counts one answered request.
    pub fn request(&self, route: &'static str, status: u16) {
        *self
            .requests
            .lock()
            .expect("metrics lock")
            .entry((route, status))
            .or_default() += 1;
    }

    /// Counts one extraction that started decoding.
    pub fn decode_started(&self) {
        self.decodes.fetch_add(1, Relaxed);
    }

    /// Counts one extraction that ended, with its latency and, when it succeeded, its frames and
    /// bytes.
    pub fn extraction(&self, elapsed: Duration, ok: Option<(u64, u64, u64)>) {
        let seconds = elapsed.as_secs_f64();
        for (bucket, bound) in self.latency_buckets.iter().zip(LATENCY_BUCKETS) {
            if seconds <= *bound {
                bucket.fetch_add(1, Relaxed);
            }
        }
        self.latency_count.fetch_add(1, Relaxed);
        self.latency_micros
            .fetch_add(elapsed.as_micros() as u64, Relaxed);
        match ok {
            Some((frames, bytes_in, bytes_out)) => {
                self.frames.fetch_add(frames, Relaxed);
                self.bytes_in.fetch_add(bytes_in, Relaxed);
                self.bytes_out.fetch_add(bytes_out, Relaxed);
            }
            None => {
                self.failed.fetch_add(1, Relaxed);
            }
        }
    }

    /// Counts a request answered without a decode of its own.
    pub fn avoided(&self, why: Avoided) {
        match why {
            Avoided::Coalesced => self.avoided_coalesced.fetch_add(1, Relaxed),
            Avoided::Store => self.avoided_store.fetch_add(1, Relaxed),
        };
    }

    /// Counts a request refused with 503 because the server was saturated.
    pub fn rejected(&self) {
        self.rejected.fetch_add(1, Relaxed);
    }

    /// Extractions that decoded so far.
    pub fn decodes(&self) -> u64 {
        self.decodes.load(Relaxed)
    }

    /// The mean time of the extractions so far, if any ended.
    pub fn mean_extraction_seconds(&self) -> Option<f64> {
        let count = self.latency_count.load(Relaxed);
        (count > 0).then(|| self.latency_micros.load(Relaxed) as f64 / 1e6 / count as f64)
    }

    /// The Prometheus text exposition (version 0.0.4).
    pub fn render(&self) -> String {
        let mut out = String::new();
        let mut family = |name: &str, kind: &str, help: &str| {
            let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} {kind}");
            name.to_string()
        };
        let _ = family(
            "reelframe_http_requests_total",
            "counter",
            "HTTP requests answered, by route and status.",
        );
        let requests = self.requests.lock().expect("metrics lock").clone();
        for ((route, status), n) in &requests {
            let _ = writeln!(
                out,
                "reelframe_http_requests_total{{route=\"{route}\",status=\"{status}\"}} {n}"
            );
        }
        let mut simple = |name: &str, kind: &str, help: &str, value: u64| {
            let _ = writeln!(
                out,
                "# HELP {name} {help}\n# TYPE {name} {kind}\n{name} {value}"
            );
        };
        simple(
            "reelframe_decodes_total",
            "counter",
            "Extractions that fetched and decoded a video.",
            self.decodes.load(Relaxed),
        );
        simple(
            "reelframe_extractions_failed_total",
            "counter",
            "Extractions that ended in an error.",
            self.failed.load(Relaxed),
        );
        simple(
            "reelframe_frames_total",
            "counter",
            "Frames extracted and stored.",
            self.frames.load(Relaxed),
        );
        simple(
            "reelframe_bytes_in_total",
            "counter",
            "Video bytes fetched.",
            self.bytes_in.load(Relaxed),
        );
        simple(
            "reelframe_bytes_out_total",
            "counter",
            "JPEG bytes stored (frames and thumbnails).",
            self.bytes_out.load(Relaxed),
        );
        simple(
            "reelframe_inflight",
            "gauge",
            "Extractions running now.",
            self.inflight.load(Relaxed),
        );
        simple(
            "reelframe_queue_depth",
            "gauge",
            "Extractions waiting for a slot now.",
            self.queued.load(Relaxed),
        );
        simple(
            "reelframe_rejected_total",
            "counter",
            "Requests refused with 503 because every slot and queue place was taken.",
            self.rejected.load(Relaxed),
        );
        let _ = writeln!(
            out,
            "# HELP reelframe_decodes_avoided_total Requests answered without a decode of their own.\n# TYPE reelframe_decodes_avoided_total counter\nreelframe_decodes_avoided_total{{reason=\"coalesced\"}} {}\nreelframe_decodes_avoided_total{{reason=\"store\"}} {}",
            self.avoided_coalesced.load(Relaxed),
            self.avoided_store.load(Relaxed)
        );
        let name = "reelframe_extraction_seconds";
        let _ = writeln!(out, "# HELP {name} Time from a slot to the answer of each extraction.\n# TYPE {name} histogram");
        for (bucket, bound) in self.latency_buckets.iter().zip(LATENCY_BUCKETS) {
            let _ = writeln!(
                out,
                "{name}_bucket{{le=\"{bound}\"}} {}",
                bucket.load(Relaxed)
            );
        }
        let count = self.latency_count.load(Relaxed);
        let _ = writeln!(out, "{name}_bucket{{le=\"+Inf\"}} {count}");
        let _ = writeln!(
            out,
            "{name}_sum {}",
            self.latency_micros.load(Relaxed) as f64 / 1e6
        );
        let _ = writeln!(out, "{name}_count {count}");
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn histogram_is_cumulative_and_counts_match() {
        let m = ServeMetrics::default();
        m.extraction(Duration::from_millis(300), Some((3, 100, 50)));
        m.extraction(Duration::from_secs(400), None);
        m.request("store_video_frames", 200);
        let text = m.render();
        assert!(text.contains("reelframe_extraction_seconds_bucket{le=\"0.25\"} 0\n"));
        assert!(text.contains("reelframe_extraction_seconds_bucket{le=\"0.5\"} 1\n"));
        assert!(text.contains("reelframe_extraction_seconds_bucket{le=\"300\"} 1\n"));
        assert!(text.contains("reelframe_extraction_seconds_bucket{le=\"+Inf\"} 2\n"));
        assert!(text.contains("reelframe_frames_total 3\n"));
        assert!(text.contains(
            "reelframe_http_requests_total{route=\"store_video_frames\",status=\"200\"} 1\n"
        ));
    }
}
