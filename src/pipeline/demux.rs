/*!
Stage ③ (demux): open a container, pick its video stream, read what it says, and list the
packets of the capped span without decoding them — the [`Timeline`] the sampler plans on.

Everything here runs on a worker thread, never on an async executor. The input is opened through
a custom I/O context over a file or memory (never by handing a path or URL to FFmpeg's own
protocols) with a whitelist of container formats, so an untrusted file cannot make FFmpeg open
other files or URLs (HLS playlists, concat lists). A [`Deadline`] interrupts opening and
demuxing.
*/

use crate::error::{ErrorKind, ItemError};
use crate::pipeline::deadline::Deadline;
use crate::pipeline::ffi;
use crate::pipeline::sample::{pts_to_ms, PacketInfo, Timeline};
use crate::pipeline::source::VideoData;
use crate::pipeline::tonemap::Hdr;
use ffmpeg::format::context::{Input, StreamIo};
use ffmpeg::media::Type as MediaType;
use ffmpeg::Packet;
use ffmpeg_next as ffmpeg;
use serde::{Deserialize, Serialize};
use std::fs::File;
use std::io::Cursor;
use std::sync::{Arc, Once};
use std::time::{Duration, Instant};

/// Largest frame accepted by default, in pixels (width × height): 8192×8192 (`--max-pixels`).
pub const MAX_PIXELS: u64 = 8192 * 8192;

/// Container formats reelframe opens. Image formats are listed so a still image can be named
/// `not_video` instead of `unreadable`; playlists and protocol-style demuxers are left out.
const FORMAT_WHITELIST: &str = "mov,matroska,avi,flv,mpegts,mpeg,ogg,asf,ivf,h264,hevc,m4v,\
    gif,image2,jpeg_pipe,png_pipe,webp_pipe,bmp_pipe,tiff_pipe,gif_pipe,mp3,aac,wav,flac";

/// Still-image codecs: a one-frame stream of these is a picture, not a video.
const IMAGE_CODECS: &[&str] = &["mjpeg", "png", "bmp", "webp", "tiff", "gif", "jpeg2000"];

/// Initialises FFmpeg once per process and keeps its own logging quiet (reelframe reports
/// errors itself). `RUST_LOG`-style verbosity above debug turns FFmpeg's warnings back on.
pub fn init_ffmpeg(ffmpeg_log_warnings: bool) {
    static INIT: Once = Once::new();
    INIT.call_once(|| {
        let _ = ffmpeg::init();
        ffi::install_log_callback();
        ffmpeg::util::log::set_level(if ffmpeg_log_warnings {
            ffmpeg::util::log::Level::Warning
        } else {
            ffmpeg::util::log::Level::Quiet
        });
    });
}

/// How the stored picture must be turned to be upright, from the stream's display matrix.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Orientation {
    /// Swap rows and columns first.
    pub transpose: bool,
    /// Then mirror left-right.
    pub hflip: bool,
    /// Then mirror top-bottom.
    pub vflip: bool,
}

impl Orientation {
    /// The orientation for a display matrix (nine 16.16/2.30 fixed-point numbers), following the
    /// ffmpeg CLI's autorotation (rotation, and mirroring where the matrix flips).
    pub fn from_display_matrix(matrix: &[i32; 9]) -> Orientation {
        let angle = ffi::display_rotation(matrix);
        if angle.is_nan() {
            return Orientation::default();
        }
        // av_display_rotation_get is counter-clockwise; the picture must turn clockwise by theta.
        let mut theta = -angle.round();
        theta -= 360.0 * (theta / 360.0 + 0.9 / 360.0).floor();
        let near = |a: f64| (theta - a).abs() < 1.0;
        let o = |transpose, hflip, vflip| Orientation {
            transpose,
            hflip,
            vflip,
        };
        if near(90.0) {
            o(true, matrix[3] <= 0, false)
        } else if near(180.0) {
            o(false, matrix[0] < 0, matrix[4] < 0)
        } else if near(270.0) {
            o(true, matrix[3] < 0, true)
        } else {
            o(false, false, matrix[4] < 0)
        }
    }

    /// The same turn as a rotation followed by at most one mirror, as records report it:
    /// (`rotation`, `hflip`, `vflip`). `rotation` has ffprobe's sign — degrees counter-clockwise,
    /// one of -90, 0, 90, 180 — so a plain rotation reads exactly as ffprobe's display-matrix
    /// `rotation` (which may print 180 as -180); the mirror, left-right (`hflip`) or top-bottom
    /// (`vflip`), comes after it. A horizontal mirror is `(0, true, false)`, never a rotation.
    pub fn as_rotation_and_flip(&self) -> (i32, bool, bool) {
        // Self is "transpose, then hflip, then vflip"; transpose = 90° clockwise + hflip.
        match (self.transpose, self.hflip, self.vflip) {
            (false, false, false) => (0, false, false),
            (false, true, false) => (0, true, false),
            (false, false, true) => (0, false, true),
            (false, true, true) => (180, false, false),
            (true, false, false) => (-90, true, false),
            (true, true, false) => (-90, false, false),
            (true, false, true) => (90, false, false),
            (true, true, true) => (90, true, false),
        }
    }

    /// The upright display size of a `width`×`height` picture with sample aspect ratio `sar`
    /// (num, den): a non-square SAR scales the width (rounded to nearest, as the ffmpeg CLI's
    /// `scale=iw*sar:ih` would), then a transposing orientation swaps the two.
    pub fn display_size(&self, width: u32, height: u32, sar: (i32, i32)) -> (u32, u32) {
        let (num, den) = sar;
        let display_w = if num > 0 && den > 0 && num != den {
            ((width as u64 * num as u64 + den as u64 / 2) / den as u64) as u32
        } else {
            width
        };
        if self.transpose {
            (height, display_w)
        } else {
            (display_w, height)
        }
    }
}

/// Facts about a video, as its record reports them.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct VideoFacts {
    /// Container format as FFmpeg names it (`mov,mp4,m4a,3gp,3g2,mj2`, `matroska,webm`).
    pub container: String,
    /// Video codec (`h264`, `hevc`, `vp9`).
    pub codec: String,
    /// Codec profile (`High`, `Main`), when known.
    pub profile: Option<String>,
    /// Coded width in pixels.
    pub width: u32,
    /// Coded height in pixels.
    pub height: u32,
    /// Width as displayed: aspect-corrected and rotated.
    pub display_width: u32,
    /// Height as displayed: aspect-corrected and rotated.
    pub display_height: u32,
    /// Rotation applied to make frames upright, in degrees counter-clockwise with ffprobe's sign
    /// (-90, 0, 90, 180; -90 is a quarter turn clockwise, what a phone held upright records).
    /// A plain rotation reads as ffprobe's display-matrix `rotation`; a mirror is `hflip`/`vflip`.
    pub rotation: i32,
    /// Frames were mirrored left-right after the rotation (the display matrix flips them).
    pub hflip: bool,
    /// Frames were mirrored top-bottom after the rotation (the display matrix flips them).
    pub vflip: bool,
    /// Average frame rate, when known.
    pub fps: Option<f64>,
    /// Duration of the video stream in ms (from its first frame), when known.
    pub duration_ms: Option<i64>,
    /// Duration the container declares, in ms, when it declares one.
    pub container_duration_ms: Option<i64>,
    /// Presentation time of the first displayed frame in ms on the stream's clock (the origin of
    /// every `pts_ms` and `target_ms`).
    pub start_ms: i64,
    /// The stream's time base (`1/15360`), the unit of each frame's `stream_pts`.
    pub time_base: String,
    /// Pixel format of the decoded frames (`yuv420p`).
    pub pixel_format: String,
    /// Colour range (`tv` limited, `pc` full, `unknown`).
    pub color_range: String,
    /// Colour matrix (`bt709`, `bt470bg`, `unknown`).
    pub color_space: String,
    /// Transfer characteristic (`bt709`, `smpte2084`, `arib-std-b67`, `unknown`).
    pub color_transfer: String,
    /// Colour primaries (`bt709`, `bt2020`, `unknown`).
    pub color_primaries: String,
    /// The HDR transfer (`pq` for SMPTE ST 2084, `hlg` for ARIB STD-B67), or null for SDR.
    pub hdr: Option<Hdr>,
    /// Whether the frames were tone-mapped from HDR to SDR BT.709 (false for SDR video and with
    /// `--hdr passthrough`).
    pub tone_mapped: bool,
    /// Whether the container has an audio stream.
    pub has_audio: bool,
    /// Size of the video file in bytes.
    pub bytes: u64,
}

/// An opened container with its chosen video stream.
pub struct OpenVideo {
    pub(crate) input: Input,
    pub(crate) stream_index: usize,
    time_base: (i64, i64),
    default_frame_duration: i64,
    /// Frames the decoder holds back to reorder (B-frames), from the stream's parameters.
    reorder_delay: usize,
    /// How to turn pictures upright.
    pub orientation: Orientation,
    /// What the container says about the video.
    pub facts: VideoFacts,
    /// Time spent opening the container (probing it and reading its stream info).
    pub open_time: Duration,
    /// Time spent in [`OpenVideo::scan`].
    pub scan_time: Duration,
    /// Set by [`OpenVideo::scan`] when the data ends before the container's index does.
    pub truncation: Option<Truncation>,
}

/// A file whose data ends before its index says (a cut download with its index in front).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Truncation {
    /// Video packets the file holds.
    pub packets_read: usize,
    /// Video packets its index lists.
    pub packets_indexed: usize,
}

/// An FFmpeg error as an item error of `kind`; an interrupt is the deadline passing.
pub(crate) fn ff_error(kind: ErrorKind, what: &str, err: ffmpeg::Error) -> ItemError {
    match err {
        ffmpeg::Error::Exit => {
            ItemError::new(ErrorKind::Timeout, format!("{what}: deadline passed"))
        }
        err => ItemError::new(kind, format!("{what}: {err}")),
    }
}

fn open_input(data: &VideoData, deadline: Deadline) -> Result<Input, ItemError> {
    let (io, hint) = match data {
        VideoData::File(path) => {
            let file = File::open(path).map_err(|err| {
                ItemError::new(ErrorKind::Io, format!("opening {}: {err}", path.display()))
            })?;
            let io = StreamIo::from_read_seek(file);
            let hint = path.file_name().map(|n| n.to_string_lossy().into_owned());
            (io, hint)
        }
        VideoData::Memory(bytes) => (
            StreamIo::from_read_seek(Cursor::new(Arc::clone(bytes))),
            None,
        ),
    };
    let io = io.map_err(|err| ff_error(ErrorKind::Internal, "creating an I/O context", err))?;
    let mut options = ffmpeg::Dictionary::new();
    options.set("format_whitelist", FORMAT_WHITELIST);
    options.set("protocol_whitelist", "none");
    let deadline_at = deadline.0;
    ffmpeg::format::input_from_stream_with_interrupt(
        io,
        hint.as_deref(),
        Some(options),
        move || Instant::now() >= deadline_at,
    )
    .map_err(|err| match err {
        // interrupted while probing, FFmpeg may report the cut-short read as invalid data
        _ if deadline.passed() => {
            ItemError::new(ErrorKind::Timeout, "opening the container: deadline passed")
        }
        ffmpeg::Error::InvalidData => ItemError::new(
            ErrorKind::Unreadable,
            "not a video container FFmpeg recognises (invalid data, or the index such as the \
             mp4 moov atom is missing)",
        ),
        ffmpeg::Error::Eof => {
            ItemError::new(ErrorKind::Truncated, "the file ends before its header does")
        }
        err => ff_error(ErrorKind::Unreadable, "opening the container", err),
    })
}

fn stream_display_matrix(stream: &ffmpeg::format::stream::Stream) -> Option<[i32; 9]> {
    stream
        .side_data()
        .find(|sd| sd.kind() == ffmpeg::codec::packet::side_data::Type::DisplayMatrix)
        .and_then(|sd| {
            let bytes = sd.data();
            (bytes.len() >= 36).then(|| {
                let mut m = [0i32; 9];
                for (i, v) in m.iter_mut().enumerate() {
                    *v = i32::from_ne_bytes(bytes[i * 4..i * 4 + 4].try_into().unwrap());
                }
                m
            })
        })
}

fn rational_f64(r: ffmpeg::Rational) -> Option<f64> {
    (r.numerator() > 0 && r.denominator() > 0)
        .then(|| r.numerator() as f64 / r.denominator() as f64)
}

fn color_range_name(range: ffmpeg::color::Range) -> String {
    match range {
        ffmpeg::color::Range::MPEG => "tv".into(),
        ffmpeg::color::Range::JPEG => "pc".into(),
        _ => "unknown".into(),
    }
}

fn color_space_name(space: ffmpeg::color::Space) -> String {
    space.name().unwrap_or("unknown").to_string()
}

impl OpenVideo {
    /// Opens `data`, chooses the video stream FFmpeg would, and reads what the container says.
    /// A still image, an audio-only file and a file without any stream are refused here.
    pub fn open(data: &VideoData, bytes: u64, deadline: Deadline) -> Result<OpenVideo, ItemError> {
        let started = Instant::now();
        let input = open_input(data, deadline)?;
        let container = input.format().name().to_string();
        let has_audio = input
            .streams()
            .any(|s| s.parameters().medium() == MediaType::Audio);
        let stream = input
            .streams()
            .best(MediaType::Video)
            .filter(|s| {
                !s.disposition()
                    .contains(ffmpeg::format::stream::Disposition::ATTACHED_PIC)
            })
            .or_else(|| {
                input.streams().find(|s| {
                    s.parameters().medium() == MediaType::Video
                        && !s
                            .disposition()
                            .contains(ffmpeg::format::stream::Disposition::ATTACHED_PIC)
                })
            });
        let Some(stream) = stream else {
            let (kind, why) = if has_audio {
                (
                    ErrorKind::NotVideo,
                    "audio only: the container has no video stream",
                )
            } else {
                (
                    ErrorKind::NoVideoStream,
                    "the container has no video stream",
                )
            };
            return Err(ItemError::new(
                kind,
                format!("{why} (container {container})"),
            ));
        };
        let params = stream.parameters();
        let codec_id = params.id();
        let codec = codec_id.name().to_string();
        let is_image_container = container == "image2" || container.ends_with("_pipe");
        if is_image_container || (IMAGE_CODECS.contains(&codec.as_str()) && stream.frames() <= 1) {
            return Err(ItemError::new(
                ErrorKind::NotVideo,
                format!("a still image ({codec} in {container}), not a video"),
            ));
        }
        let raw = ffi::raw_parameters(&params);
        let (width, height) = (raw.width, raw.height);
        let tb = stream.time_base();
        if tb.numerator() <= 0 || tb.denominator() <= 0 {
            return Err(ItemError::new(
                ErrorKind::Unreadable,
                "the video stream has no time base",
            ));
        }
        let time_base = (tb.numerator() as i64, tb.denominator() as i64);
        let avg_rate = stream.avg_frame_rate();
        let fps = rational_f64(avg_rate).or_else(|| rational_f64(stream.rate()));
        let default_frame_duration = fps
            .map(|f| ((time_base.1 as f64) / (time_base.0 as f64) / f).round() as i64)
            .filter(|d| *d > 0)
            .unwrap_or(1);
        let orientation = stream_display_matrix(&stream)
            .map(|m| Orientation::from_display_matrix(&m))
            .unwrap_or_default();
        let (rotation, hflip, vflip) = orientation.as_rotation_and_flip();
        let (display_width, display_height) = orientation.display_size(width, height, raw.sar);
        let container_duration_ms = (input.duration() > 0).then(|| input.duration() / 1000);
        let facts = VideoFacts {
            container,
            codec,
            profile: ffi::profile_name(codec_id, raw.profile),
            width,
            height,
            display_width,
            display_height,
            rotation,
            hflip,
            vflip,
            fps,
            duration_ms: None,
            container_duration_ms,
            start_ms: 0,
            time_base: format!("{}/{}", time_base.0, time_base.1),
            pixel_format: ffi::pixel_format(raw.format)
                .map_or_else(|| "unknown".into(), ffi::pixel_format_name),
            color_range: color_range_name(raw.color_range),
            color_space: color_space_name(raw.color_space),
            color_transfer: raw.color_transfer.name().unwrap_or("unknown").to_string(),
            color_primaries: raw.color_primaries.name().unwrap_or("unknown").to_string(),
            hdr: Hdr::of_transfer(raw.color_transfer),
            tone_mapped: false,
            has_audio,
            bytes,
        };
        let stream_index = stream.index();
        Ok(OpenVideo {
            input,
            stream_index,
            time_base,
            default_frame_duration,
            reorder_delay: raw.video_delay as usize,
            orientation,
            facts,
            open_time: started.elapsed(),
            scan_time: Duration::ZERO,
            truncation: None,
        })
    }

    /// Reads the video packets up to the cap (`max_ms`, 0 = all) without decoding, and returns
    /// the timeline the plan is built from. Also fills `facts.duration_ms` and `start_ms`.
    pub fn scan(&mut self, max_ms: u64, deadline: Deadline) -> Result<Timeline, ItemError> {
        let started = Instant::now();
        let timeline = self.scan_packets(max_ms, deadline);
        self.scan_time = started.elapsed();
        timeline
    }

    fn scan_packets(&mut self, max_ms: u64, deadline: Deadline) -> Result<Timeline, ItemError> {
        let (tb_num, tb_den) = self.time_base;
        let cap_tb = (max_ms > 0).then(|| {
            ((max_ms as i128 * tb_den as i128) / (tb_num as i128 * 1000)).min(i64::MAX as i128)
                as i64
        });
        let mut packets: Vec<PacketInfo> = Vec::new();
        let mut min_pts = i64::MAX;
        let mut end_pts = i64::MIN;
        let mut stopped_at_cap = false;
        let mut last_dts: Option<i64> = None;
        let mut packet = Packet::empty();
        let mut bad_reads = 0u32;
        let mut pts_missing = false;
        loop {
            if deadline.passed() {
                return Err(ItemError::new(
                    ErrorKind::Timeout,
                    "demuxing: deadline passed",
                ));
            }
            match ffi::read_packet(&mut packet, &mut self.input) {
                Ok(()) => {}
                Err(ffmpeg::Error::Eof) => break,
                Err(ffmpeg::Error::InvalidData) if bad_reads < 64 => {
                    bad_reads += 1;
                    continue;
                }
                Err(err) => {
                    if packets.is_empty() {
                        return Err(ff_error(ErrorKind::Unreadable, "reading packets", err));
                    }
                    return Err(ff_error(
                        ErrorKind::Truncated,
                        &format!("reading packets after {} frames", packets.len()),
                        err,
                    ));
                }
            }
            if packet.stream() != self.stream_index {
                continue;
            }
            pts_missing |= packet.pts().is_none();
            let pts = match (packet.pts(), packet.dts()) {
                (Some(pts), _) => pts,
                (None, Some(dts)) => dts,
                (None, None) => match packets.last() {
                    Some(prev) => prev.pts + prev.duration.max(self.default_frame_duration),
                    None => 0,
                },
            };
            let duration = if packet.duration() > 0 {
                packet.duration()
            } else {
                self.default_frame_duration
            };
            let discard = ffi::packet_flags(&packet) & ffmpeg::ffi::AV_PKT_FLAG_DISCARD != 0;
            if packet.is_corrupt() {
                return Err(ItemError::new(
                    ErrorKind::Truncated,
                    format!(
                        "packet {} at pts {} ms is incomplete: the file ends early or is damaged",
                        packets.len(),
                        pts_to_ms(pts, self.time_base)
                    ),
                ));
            }
            packets.push(PacketInfo {
                pts,
                duration,
                key: packet.is_key(),
                discard,
            });
            if !discard {
                min_pts = min_pts.min(pts);
                end_pts = end_pts.max(pts.saturating_add(duration));
            }
            if let (Some(cap), true) = (cap_tb, min_pts != i64::MAX) {
                // Decode order: once dts reaches first + cap no later packet can be shown earlier.
                let dts = packet.dts().or(last_dts).unwrap_or(pts);
                last_dts = Some(dts);
                if dts >= min_pts.saturating_add(cap) {
                    stopped_at_cap = true;
                    break;
                }
            }
        }
        if min_pts == i64::MAX {
            return Err(ItemError::new(
                ErrorKind::NoFrames,
                "the video stream has no packets",
            ));
        }
        let rewind_ts = packets[0].pts;
        let pts_from_order = pts_missing;
        if pts_from_order {
            (min_pts, end_pts) = times_without_pts(&mut packets, self.reorder_delay);
        }
        let timeline = Timeline {
            packets,
            time_base: self.time_base,
            first_pts: min_pts,
            end_pts,
            stopped_at_cap,
            pts_from_order,
            rewind_ts,
        };
        self.facts.start_ms = pts_to_ms(min_pts, self.time_base);
        if !stopped_at_cap {
            self.facts.duration_ms = Some(timeline.duration_ms());
            // The whole stream was read: an index (mp4's sample table, AVI's idx1) that lists
            // more packets than came means the data ends early, whatever the packets say.
            let indexed = self
                .input
                .stream(self.stream_index)
                .map_or(0, |s| ffi::index_entries(&s));
            if indexed > timeline.packets.len() {
                self.truncation = Some(Truncation {
                    packets_read: timeline.packets.len(),
                    packets_indexed: indexed,
                });
            }
        }
        Ok(timeline)
    }
}

/// Gives the packets of a stream without pts, or with pts on some packets only (AVI and other
/// containers that store decode order; MPEG-4 Part 2 in AVI gets pts only on its B-frames) the times their frames come out of the decoder with, as ffmpeg's
/// `best_effort_timestamp` does: the decoder holds `delay` frames back to reorder them, so the
/// n-th frame it returns (presentation order) carries the dts of packet n + delay. Packet n gets
/// that time, so the sorted packet times are the frames' times in presentation order (the last
/// `delay` frames, which leave the decoder when it is drained, continue at the last packet's
/// pace). Returns the first and end times. The decoder numbers the frames it returns in the same
/// order (`Timeline::pts_from_order`).
fn times_without_pts(packets: &mut [PacketInfo], delay: usize) -> (i64, i64) {
    let dts: Vec<i64> = packets.iter().map(|p| p.pts).collect();
    let n = dts.len();
    let last = dts[n - 1];
    let step = packets[n - 1].duration.max(1);
    for (i, packet) in packets.iter_mut().enumerate() {
        packet.pts = match dts.get(i + delay) {
            Some(&t) => t,
            None => last.saturating_add(step.saturating_mul((i + delay + 1 - n) as i64)),
        };
    }
    let first = packets.iter().map(|p| p.pts).min().unwrap_or(0);
    let end = packets
        .iter()
        .map(|p| p.pts.saturating_add(p.duration))
        .max()
        .unwrap_or(0);
    (first, end)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Where output pixel (x, y) of a `w`×`h` picture turned by `o` comes from (encode.rs's
    /// definition: transpose, then mirror left-right, then top-bottom).
    fn by_orientation(o: Orientation, w: i32, h: i32, x: i32, y: i32) -> (i32, i32) {
        let (ow, oh) = if o.transpose { (h, w) } else { (w, h) };
        let fy = if o.vflip { oh - 1 - y } else { y };
        let fx = if o.hflip { ow - 1 - x } else { x };
        if o.transpose {
            (fy, fx)
        } else {
            (fx, fy)
        }
    }

    /// The same for "rotate `ccw` degrees counter-clockwise, then mirror".
    fn by_rotation(rot: (i32, bool, bool), w: i32, h: i32, x: i32, y: i32) -> (i32, i32) {
        let (ccw, hflip, vflip) = rot;
        let (ow, oh) = if ccw % 180 == 0 { (w, h) } else { (h, w) };
        let x = if hflip { ow - 1 - x } else { x };
        let y = if vflip { oh - 1 - y } else { y };
        match ccw {
            0 => (x, y),
            180 => (w - 1 - x, h - 1 - y),
            // counter-clockwise quarter turn: output (x, y) shows input (w-1-y, x)
            90 => (w - 1 - y, x),
            -90 => (y, h - 1 - x),
            _ => unreachable!(),
        }
    }

    #[test]
    fn rotation_and_flip_describe_the_same_turn_as_the_orientation() {
        let (w, h) = (5, 3);
        for bits in 0..8 {
            let o = Orientation {
                transpose: bits & 1 != 0,
                hflip: bits & 2 != 0,
                vflip: bits & 4 != 0,
            };
            let r = o.as_rotation_and_flip();
            assert!(!(r.1 && r.2), "{o:?}: at most one mirror");
            let (ow, oh) = if o.transpose { (h, w) } else { (w, h) };
            for y in 0..oh {
                for x in 0..ow {
                    assert_eq!(
                        by_orientation(o, w, h, x, y),
                        by_rotation(r, w, h, x, y),
                        "{o:?} as {r:?} at ({x}, {y})"
                    );
                }
            }
        }
        // a horizontal mirror is a mirror, not a half turn
        let mirror = Orientation {
            transpose: false,
            hflip: true,
            vflip: false,
        };
        assert_eq!(mirror.as_rotation_and_flip(), (0, true, false));
    }
}
