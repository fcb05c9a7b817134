/*!
How each item is extracted: the options every stage of one item reads, checked once by the
configuration and shared by the in-process path and the decoder processes.
*/

use crate::pipeline::encode::SizeSpec;
use crate::pipeline::sample::Sampling;
use crate::pipeline::tonemap::HdrMode;
use serde_json::{json, Value};
use std::time::Duration;

/// How each item is extracted.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct ExtractOptions {
    /// Which frames.
    pub sampling: Sampling,
    /// Output frame size.
    pub size: SizeSpec,
    /// JPEG quality, 1–100.
    pub quality: u8,
    /// Longest side of the thumbnail (0 = the frame's own size).
    pub thumbnail_max_side: u32,
    /// Threads inside one decoder.
    pub decode_threads: usize,
    /// Largest frame accepted, in pixels (the container's size and every decoded frame).
    pub max_pixels: u64,
    /// Deadline for one item, from open to the last stored frame.
    pub item_timeout: Duration,
    /// Platform used in keys when the input record has none.
    pub platform: String,
    /// Objects being uploaded at once, over all items; a worker whose frames would exceed it
    /// waits, so memory stays bounded when the store is slower than decoding.
    pub upload_concurrency: usize,
    /// What to do with HDR (PQ, HLG) video: tone-map it to SDR (default) or convert it raw.
    pub hdr: HdrMode,
    /// Perceptual hashes of every frame.
    pub hashes: Hashes,
    /// Make a contact sheet (every frame as a labelled tile of one JPEG).
    pub contact_sheet: bool,
    /// A folder inside each item's folder that its objects go to
    /// (`<platform>/<content_id>/<folder>/…`); none: the item's folder itself. `serve` gives
    /// every sampling other than its default one such a folder, so answers for one item with
    /// different sampling never overwrite or remove each other's files.
    #[serde(default)]
    pub key_folder: Option<String>,
}

/// Which perceptual hash each frame gets.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
pub enum Hashes {
    /// PDQ (vPDQ when taken at a fixed rate), as Meta's ThreatExchange defines it.
    #[default]
    Pdq,
    /// None.
    None,
}

impl Hashes {
    /// The name records and flags use.
    pub fn name(self) -> &'static str {
        match self {
            Hashes::Pdq => "pdq",
            Hashes::None => "none",
        }
    }
}

impl ExtractOptions {
    /// The sampling parameters as records carry them; a rerun redoes items whose records differ.
    pub fn sampling_record(&self) -> Value {
        let mut record = json!({
            "mode": self.sampling.mode.name(),
            "fps": self.sampling.mode.rate(),
            "frames": self.sampling.mode.count(),
            "max_seconds": self.sampling.max_ms as f64 / 1000.0,
            "tolerance_ms": self.sampling.tolerance_ms,
            "max_side": self.size.max_side,
            "width": self.size.width,
            "height": self.size.height,
            "quality": self.quality,
            "thumbnail_max_side": self.thumbnail_max_side,
            "hashes": self.hashes.name(),
            "contact_sheet": self.contact_sheet,
        });
        // Only the non-default choice is recorded, so records written before HDR was
        // tone-mapped still count as done with the default.
        if self.hdr == HdrMode::Passthrough {
            record["hdr"] = json!("passthrough");
        }
        record
    }
}
