/*!
Stage ③ (which frames): sampling modes and the plan that maps targets to frames.

Time stays in the stream's own units (pts and time base) here; milliseconds appear only in the
targets handed to records. The plan is built from the packet list the demuxer reports before any
decoding, so the decoder is told exactly which pictures to output.

Semantics (documented in the README):
- `--fps F`: targets at t = 0, 1/F, 2/F, … while t < min(duration, cap). Each target takes the
  frame *displayed* at t: the last frame whose pts ≤ first_pts + t (the first frame for t = 0).
- `--frames N`: N targets at the centres of N equal slices of min(duration, cap).
- `--keyframes`: every keyframe whose pts lies inside the cap.
- `--tolerance MS` (fps and frames modes): a target whose time lies within ±MS of a keyframe's
  pts takes the nearest such keyframe instead of the frame displayed at that time; the record
  reports the keyframe's actual pts. Keyframes decode on their own, so most targets then cost one
  picture each.

The plan also lists the packet ranges the decoder must be sent ([`Plan::ranges`]): a target needs
the packets from the keyframe before it (in decode order) up to its own packet, or from one
keyframe earlier when it is a leading picture of an open GOP (pts below its keyframe's).
*/

use crate::error::{ErrorKind, InvalidValue, ItemError};
use std::collections::HashMap;
use std::fmt;

/// How targets are chosen.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum SamplingMode {
    /// `num/den` frames per second, starting at t = 0.
    Fps {
        /// Numerator of the rate.
        num: u32,
        /// Denominator of the rate.
        den: u32,
    },
    /// This many frames, spread uniformly (centre of equal slices).
    Frames(u32),
    /// Every keyframe, decoding nothing else.
    Keyframes,
}

impl SamplingMode {
    /// Parses a rate such as `1`, `0.5`, `2.5` or `30000/1001` into [`SamplingMode::Fps`].
    pub fn parse_fps(text: &str) -> Result<SamplingMode, InvalidValue> {
        let text = text.trim();
        let bad_rate = || {
            InvalidValue(format!(
                "bad rate {text:?} (expected a positive number such as 1, 0.5 or 30000/1001)"
            ))
        };
        let (num, den) = if let Some((n, d)) = text.split_once('/') {
            let n: u64 = n.trim().parse().map_err(|_| bad_rate())?;
            let d: u64 = d.trim().parse().map_err(|_| bad_rate())?;
            (n, d)
        } else {
            let (int, frac) = text.split_once('.').unwrap_or((text, ""));
            if frac.len() > 6 || !frac.chars().all(|c| c.is_ascii_digit()) {
                return Err(bad_rate());
            }
            let scale = 10u64.pow(frac.len() as u32);
            let int: u64 = if int.is_empty() {
                0
            } else {
                int.parse().map_err(|_| bad_rate())?
            };
            let frac_v: u64 = if frac.is_empty() {
                0
            } else {
                frac.parse().unwrap()
            };
            (int * scale + frac_v, scale)
        };
        if num == 0 || den == 0 {
            return Err(InvalidValue(format!("rate must be positive: {text:?}")));
        }
        let g = gcd(num, den);
        let (num, den) = (num / g, den / g);
        if num > 1000 * den || num > u32::MAX as u64 || den > u32::MAX as u64 {
            return Err(InvalidValue(format!(
                "rate out of range (at most 1000 per second): {text:?}"
            )));
        }
        Ok(SamplingMode::Fps {
            num: num as u32,
            den: den as u32,
        })
    }
}

impl SamplingMode {
    /// The mode's name as records give it: `fps`, `frames` or `keyframes`.
    pub fn name(&self) -> &'static str {
        match self {
            SamplingMode::Fps { .. } => "fps",
            SamplingMode::Frames(_) => "frames",
            SamplingMode::Keyframes => "keyframes",
        }
    }

    /// The rate in `fps` mode, as written (`1`, `30000/1001`).
    pub fn rate(&self) -> Option<String> {
        match *self {
            SamplingMode::Fps { num, den: 1 } => Some(num.to_string()),
            SamplingMode::Fps { num, den } => Some(format!("{num}/{den}")),
            _ => None,
        }
    }

    /// The frame count in `frames` mode.
    pub fn count(&self) -> Option<u32> {
        match *self {
            SamplingMode::Frames(n) => Some(n),
            _ => None,
        }
    }
}

impl fmt::Display for SamplingMode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (self.rate(), self.count()) {
            (Some(rate), _) => write!(f, "fps={rate}"),
            (_, Some(n)) => write!(f, "frames={n}"),
            _ => f.write_str(self.name()),
        }
    }
}

fn gcd(mut a: u64, mut b: u64) -> u64 {
    while b != 0 {
        (a, b) = (b, a % b);
    }
    a
}

/// Which frames to take: the mode and the cap on presentation time.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Sampling {
    /// How targets are chosen.
    pub mode: SamplingMode,
    /// Only the first `max_ms` milliseconds (from the first frame) are sampled; 0 = no cap.
    pub max_ms: u64,
    /// A target may take any keyframe whose pts is within this many ms of the target time
    /// (the nearest one wins); 0 = always the exact frame displayed at the target time.
    pub tolerance_ms: u64,
}

/// One packet of the video stream, as the demuxer reported it (decode order).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PacketInfo {
    /// Presentation timestamp in the stream time base.
    pub pts: i64,
    /// Duration in the stream time base (0 if unknown).
    pub duration: i64,
    /// Whether the packet starts a keyframe.
    pub key: bool,
    /// Whether the demuxer marked the packet as not to be shown (edit lists): decoded, never output.
    pub discard: bool,
}

/// What the demuxer said about the video stream within (and just past) the cap.
#[derive(Debug, Clone, PartialEq)]
pub struct Timeline {
    /// Packets in decode order.
    pub packets: Vec<PacketInfo>,
    /// Stream time base as (num, den).
    pub time_base: (i64, i64),
    /// The first presented pts.
    pub first_pts: i64,
    /// The end of the last presented frame (pts + duration), within what was read.
    pub end_pts: i64,
    /// Whether demuxing stopped at the cap rather than at the end of the stream.
    pub stopped_at_cap: bool,
    /// The container stores no pts, or not on every packet (AVI): packet times are those the
    /// decoder's frames come out with (presentation order), and its n-th frame is the n-th in time.
    pub pts_from_order: bool,
    /// The first packet's own timestamp (pts, else dts), to rewind the demuxer to.
    pub rewind_ts: i64,
}

impl Timeline {
    /// Milliseconds from the first frame to `pts`, rounded to nearest.
    pub fn relative_ms(&self, pts: i64) -> i64 {
        pts_to_ms(pts - self.first_pts, self.time_base)
    }

    /// Duration of the read span in milliseconds.
    pub fn duration_ms(&self) -> i64 {
        self.relative_ms(self.end_pts)
    }

    /// Is `pts` (absolute) inside the first `max_ms` ms after the first frame (0 = no cap)?
    pub fn before_cap(&self, pts: i64, max_ms: u64) -> bool {
        if max_ms == 0 {
            return true;
        }
        let (num, den) = self.time_base;
        // (pts - first) * num / den < max_ms / 1000
        ((pts - self.first_pts) as i128) * (num as i128) * 1000 < (max_ms as i128) * (den as i128)
    }
}

/// Converts a pts in `time_base` to milliseconds, rounding half away from zero.
pub fn pts_to_ms(pts: i64, time_base: (i64, i64)) -> i64 {
    let (num, den) = time_base;
    let scaled = pts as i128 * num as i128 * 1000;
    let den = den as i128;
    let q = if scaled >= 0 {
        (scaled + den / 2) / den
    } else {
        (scaled - den / 2) / den
    };
    q as i64
}

/// One sampling target: the time asked for and the frame that answers it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Target {
    /// Position of the target in the output (0-based).
    pub index: u32,
    /// Target time in milliseconds from the first frame.
    pub target_ms: i64,
    /// pts of the frame displayed at that time (stream time base).
    pub pts: i64,
}

/// The decoding plan: the targets, and which packets the decoder must see.
#[derive(Debug, Clone, PartialEq)]
pub struct Plan {
    /// The targets in output order.
    pub targets: Vec<Target>,
    /// For each wanted pts, the indices into `targets` it answers.
    pub wanted: HashMap<i64, Vec<usize>>,
    /// Decode-order index of the last packet any target needs; nothing after it is decoded.
    pub last_packet: usize,
    /// Only keyframe packets need decoding.
    pub keyframes_only: bool,
    /// The sampled span in milliseconds: min(duration, cap).
    pub span_ms: i64,
    /// The tolerance the targets were chosen with, in ms (see [`Sampling::tolerance_ms`]).
    pub tolerance_ms: u64,
    /// Decode-order packet ranges (inclusive, sorted, disjoint and not adjacent) the decoder must
    /// be sent for every target to come out exact; packets between ranges are never needed.
    pub ranges: Vec<PacketRange>,
}

/// An inclusive range of decode-order packet indices, starting at a keyframe (or at packet 0).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PacketRange {
    /// First packet sent.
    pub first: usize,
    /// Last packet sent.
    pub last: usize,
}

impl PacketRange {
    /// Number of packets in the range.
    pub fn len(&self) -> usize {
        self.last + 1 - self.first
    }

    /// Never true: a range holds at least one packet.
    pub fn is_empty(&self) -> bool {
        false
    }
}

impl Plan {
    /// Packets the decoder is sent when GOP tails are skipped: the sum of [`Plan::ranges`]
    /// (keyframes only: the keyframe packets up to [`Plan::last_packet`]).
    pub fn packets_to_send(&self, timeline: &Timeline) -> usize {
        if self.keyframes_only {
            timeline.packets[..=self.last_packet]
                .iter()
                .filter(|p| p.key)
                .count()
        } else {
            self.ranges.iter().map(PacketRange::len).sum()
        }
    }
}

/// The packet ranges that decode every packet in `needed` (decode-order indices) exactly: each
/// needed packet pulls in the packets from the keyframe before it, or from the keyframe before
/// that when its pts is below its keyframe's (a leading picture of an open GOP).
pub fn needed_ranges(
    packets: &[PacketInfo],
    needed: impl IntoIterator<Item = usize>,
) -> Vec<PacketRange> {
    let keys: Vec<usize> = packets
        .iter()
        .enumerate()
        .filter(|(_, p)| p.key)
        .map(|(i, _)| i)
        .collect();
    let mut ranges: Vec<PacketRange> = needed
        .into_iter()
        .map(|p| {
            // position in `keys` of the last keyframe at or before p
            let n = keys.partition_point(|&k| k <= p);
            let first = match n {
                0 => 0,
                n => {
                    let k = keys[n - 1];
                    if packets[p].pts < packets[k].pts {
                        if n >= 2 {
                            keys[n - 2]
                        } else {
                            0
                        }
                    } else {
                        k
                    }
                }
            };
            PacketRange { first, last: p }
        })
        .collect();
    ranges.sort_unstable_by_key(|r| (r.first, r.last));
    let mut merged: Vec<PacketRange> = Vec::with_capacity(ranges.len());
    for r in ranges {
        match merged.last_mut() {
            Some(m) if r.first <= m.last + 1 => m.last = m.last.max(r.last),
            _ => merged.push(r),
        }
    }
    merged
}

/// Plans which frames answer the targets of `sampling` on `timeline`.
pub fn plan(timeline: &Timeline, sampling: &Sampling) -> Result<Plan, ItemError> {
    let shown: Vec<&PacketInfo> = timeline.packets.iter().filter(|p| !p.discard).collect();
    if shown.is_empty() {
        return Err(ItemError::new(
            ErrorKind::NoFrames,
            "the video stream has no frames",
        ));
    }
    let mut sorted: Vec<i64> = shown.iter().map(|p| p.pts).collect();
    sorted.sort_unstable();
    sorted.dedup();
    let (tb_num, tb_den) = (timeline.time_base.0 as i128, timeline.time_base.1 as i128);
    let duration_tb = (timeline.end_pts - timeline.first_pts).max(0) as i128;
    let cap_ms = sampling.max_ms as i128;
    let span_ms = if cap_ms > 0 {
        timeline.duration_ms().min(sampling.max_ms as i64)
    } else {
        timeline.duration_ms()
    };
    // The frame displayed at absolute pts `t`: last pts <= t, or the first frame.
    let displayed_at = |t: i64| -> i64 {
        let n = sorted.partition_point(|&p| p <= t);
        sorted[n.saturating_sub(1)]
    };
    let mut targets = Vec::new();
    // Absolute target time (stream time base) of each target, for the tolerance step.
    let mut target_times: Vec<i64> = Vec::new();
    match sampling.mode {
        SamplingMode::Fps { num, den } => {
            let (f_num, f_den) = (num as i128, den as i128);
            for k in 0i128.. {
                // t = k * f_den / f_num seconds; t < duration and t < cap
                let in_duration = k * f_den * tb_den < duration_tb * tb_num * f_num;
                let in_cap = cap_ms == 0 || k * f_den * 1000 < cap_ms * f_num;
                if !(in_duration && in_cap) {
                    if k == 0 {
                        // A one-frame (or zero-duration) stream still yields its first frame.
                        targets.push(Target {
                            index: 0,
                            target_ms: 0,
                            pts: sorted[0],
                        });
                        target_times.push(timeline.first_pts);
                    }
                    break;
                }
                let t_tb = (k * f_den * tb_den).div_euclid(f_num * tb_num);
                let target_ms = div_round(k * f_den * 1000, f_num);
                target_times.push(timeline.first_pts + t_tb as i64);
                targets.push(Target {
                    index: k as u32,
                    target_ms: target_ms as i64,
                    pts: displayed_at(timeline.first_pts + t_tb as i64),
                });
            }
        }
        SamplingMode::Frames(n) => {
            let n = n as i128;
            // span in time-base units, as an exact fraction span_num / span_den
            let (span_num, span_den) =
                if cap_ms > 0 && cap_ms * tb_den < duration_tb * tb_num * 1000 {
                    (cap_ms * tb_den, tb_num * 1000)
                } else {
                    (duration_tb, 1)
                };
            for i in 0..n {
                let t_tb = ((2 * i + 1) * span_num).div_euclid(2 * n * span_den);
                target_times.push(timeline.first_pts + t_tb as i64);
                let target_ms = div_round(
                    (2 * i + 1) * span_num * tb_num * 1000,
                    2 * n * span_den * tb_den,
                );
                targets.push(Target {
                    index: i as u32,
                    target_ms: target_ms as i64,
                    pts: displayed_at(timeline.first_pts + t_tb as i64),
                });
            }
        }
        SamplingMode::Keyframes => {
            let mut keys: Vec<i64> = shown
                .iter()
                .filter(|p| p.key && timeline.before_cap(p.pts, sampling.max_ms))
                .map(|p| p.pts)
                .collect();
            keys.sort_unstable();
            keys.dedup();
            for (i, pts) in keys.into_iter().enumerate() {
                targets.push(Target {
                    index: i as u32,
                    target_ms: timeline.relative_ms(pts),
                    pts,
                });
            }
        }
    }
    if sampling.tolerance_ms > 0 && sampling.mode != SamplingMode::Keyframes {
        let mut keys: Vec<i64> = shown
            .iter()
            .filter(|p| p.key && timeline.before_cap(p.pts, sampling.max_ms))
            .map(|p| p.pts)
            .collect();
        keys.sort_unstable();
        keys.dedup();
        // |a - b| ≤ tolerance, in time-base units: |a - b| * num * 1000 ≤ tolerance_ms * den
        let within = |d: i64| {
            (d.unsigned_abs() as i128) * tb_num * 1000 <= sampling.tolerance_ms as i128 * tb_den
        };
        for (target, t_abs) in targets.iter_mut().zip(&target_times) {
            let n = keys.partition_point(|&k| k <= *t_abs);
            let before = n.checked_sub(1).map(|i| keys[i]);
            let after = keys.get(n).copied();
            let nearest = match (before, after) {
                (Some(b), Some(a)) => Some(if a - t_abs < t_abs - b { a } else { b }),
                (b, a) => b.or(a),
            };
            if let Some(k) = nearest.filter(|k| within(k - t_abs)) {
                target.pts = k;
            }
        }
    }
    if targets.is_empty() {
        return Err(ItemError::new(
            ErrorKind::NoFrames,
            format!(
                "no frame to sample in the first {span_ms} ms ({})",
                sampling.mode
            ),
        ));
    }
    let mut wanted: HashMap<i64, Vec<usize>> = HashMap::new();
    for (i, t) in targets.iter().enumerate() {
        wanted.entry(t.pts).or_default().push(i);
    }
    let last_packet = timeline
        .packets
        .iter()
        .rposition(|p| !p.discard && wanted.contains_key(&p.pts))
        .expect("every target pts comes from a packet");
    let ranges = needed_ranges(
        &timeline.packets,
        timeline
            .packets
            .iter()
            .enumerate()
            .filter(|(_, p)| !p.discard && wanted.contains_key(&p.pts))
            .map(|(i, _)| i),
    );
    Ok(Plan {
        targets,
        wanted,
        last_packet,
        keyframes_only: sampling.mode == SamplingMode::Keyframes,
        span_ms,
        tolerance_ms: if sampling.mode == SamplingMode::Keyframes {
            0
        } else {
            sampling.tolerance_ms
        },
        ranges,
    })
}

fn div_round(a: i128, b: i128) -> i128 {
    (2 * a + b).div_euclid(2 * b)
}

#[cfg(test)]
mod tests;
