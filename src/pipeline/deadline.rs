//! The time after which work on one item is abandoned, checked by every blocking stage
//! (demuxing through FFmpeg's interrupt callback, decoding, encoding).

use std::time::{Duration, Instant};

/// A point in time after which work on an item is abandoned.
#[derive(Debug, Clone, Copy)]
pub struct Deadline(pub Instant);

impl Deadline {
    /// A deadline `limit` from now.
    pub fn after(limit: Duration) -> Deadline {
        Deadline(Instant::now() + limit)
    }

    /// Has it passed?
    pub fn passed(&self) -> bool {
        Instant::now() >= self.0
    }
}
