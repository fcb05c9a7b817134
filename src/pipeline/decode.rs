/*!
Stage ③ (decode): open a container, pick its video stream, list its packets, decode the targets.

Everything here runs on a worker thread, never on an async executor. The input is opened through
a custom I/O context over a file or memory (never by handing a path or URL to FFmpeg's own
protocols) with a whitelist of container formats, so an untrusted file cannot make FFmpeg open
other files or URLs (HLS playlists, concat lists). A deadline interrupts both demuxing and
decoding.

Decoding follows the plan from [`crate::pipeline::sample`], on the input the scan already
opened (rewound to its first packet, each packet checked against the scan's): only the packet
ranges the targets need are sent — from each target's keyframe to the target — and the decoder is
drained and flushed across the GOP tails in between; within a range, pictures no target needs and
no other picture references are skipped inside the decoder (`skip_frame = NonReference`). Both
leave every target bit-identical to a full decode (`tests/decode_exact.rs` proves it on every
sample clip); should a target still be missing, a full decode supplies it.
*/

use crate::error::{ErrorKind, ItemError};
use crate::pipeline::sample::{PacketInfo, PacketRange, Plan, Target, Timeline};
use crate::pipeline::source::VideoData;
use ffmpeg::codec::threading;
use ffmpeg::format::context::{Input, StreamIo};
use ffmpeg::media::Type as MediaType;
use ffmpeg::{Discard, Packet};
use ffmpeg_next as ffmpeg;
use serde::{Deserialize, Serialize};
use std::ffi::CStr;
use std::fs::File;
use std::io::Cursor;
use std::sync::{Arc, Once};
use std::time::{Duration, Instant};

/// Largest frame accepted, in pixels (width × height).
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
        ffmpeg::util::log::set_level(if ffmpeg_log_warnings {
            ffmpeg::util::log::Level::Warning
        } else {
            ffmpeg::util::log::Level::Quiet
        });
    });
}

/// The FFmpeg version the process runs on (libavutil's `av_version_info`).
pub fn ffmpeg_version() -> String {
    // SAFETY: av_version_info returns a static NUL-terminated string.
    unsafe { CStr::from_ptr(ffmpeg::ffi::av_version_info()) }
        .to_string_lossy()
        .into_owned()
}

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
    pub fn from_display_matrix(matrix: &[i32; 9]) -> (Orientation, i32) {
        // SAFETY: av_display_rotation_get reads exactly nine i32s.
        let angle = unsafe { ffmpeg::ffi::av_display_rotation_get(matrix.as_ptr()) };
        if angle.is_nan() {
            return (Orientation::default(), 0);
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
            let o = if matrix[3] > 0 {
                o(true, false, false)
            } else {
                o(true, true, false)
            };
            (o, 90)
        } else if near(180.0) {
            (o(false, matrix[0] < 0, matrix[4] < 0), 180)
        } else if near(270.0) {
            let o = if matrix[3] < 0 {
                o(true, true, true)
            } else {
                o(true, false, true)
            };
            (o, 270)
        } else {
            (o(false, false, matrix[4] < 0), 0)
        }
    }

    /// Whether width and height swap.
    pub fn swaps_dimensions(&self) -> bool {
        self.transpose
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
    /// Clockwise rotation applied to make frames upright (0, 90, 180, 270).
    pub rotation: i32,
    /// Average frame rate, when known.
    pub fps: Option<f64>,
    /// Duration of the video stream in ms (from its first frame), when known.
    pub duration_ms: Option<i64>,
    /// Duration the container declares, in ms, when it declares one.
    pub container_duration_ms: Option<i64>,
    /// Presentation time of the first frame in ms (stream clock).
    pub start_ms: i64,
    /// Pixel format of the decoded frames (`yuv420p`).
    pub pixel_format: String,
    /// Colour range (`tv` limited, `pc` full, `unknown`).
    pub color_range: String,
    /// Colour matrix (`bt709`, `bt470bg`, `unknown`).
    pub color_space: String,
    /// Whether the container has an audio stream.
    pub has_audio: bool,
    /// Size of the video file in bytes.
    pub bytes: u64,
}

/// An opened container with its chosen video stream.
pub struct OpenVideo {
    input: Input,
    stream_index: usize,
    time_base: (i64, i64),
    default_frame_duration: i64,
    /// How to turn pictures upright.
    pub orientation: Orientation,
    /// What the container says about the video.
    pub facts: VideoFacts,
    /// Time spent opening the container (probing it and reading its stream info).
    pub open_time: Duration,
    /// Time spent in [`OpenVideo::scan`].
    pub scan_time: Duration,
}

/// Reads the next packet into `packet`, releasing what it held first. ffmpeg-next's
/// `Packet::read` hands the packet to `av_read_frame` as it is, and `av_read_frame` overwrites
/// without unreferencing, so reusing one packet leaked a packet buffer per read (RSS grew by about
/// 250 KB per 1080p video, without bound over a long list).
fn read_packet(packet: &mut Packet, input: &mut Input) -> Result<(), ffmpeg::Error> {
    // SAFETY: the packet is a valid, owned AVPacket; unref leaves it blank and reusable.
    unsafe { ffmpeg::ffi::av_packet_unref(ffmpeg::packet::Mut::as_mut_ptr(packet)) };
    packet.read(input)
}

fn ff_error(kind: ErrorKind, what: &str, err: ffmpeg::Error) -> ItemError {
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

fn profile_name(codec_id: ffmpeg::codec::Id, profile: i32) -> Option<String> {
    // SAFETY: avcodec_profile_name returns NULL or a static NUL-terminated string.
    let ptr = unsafe { ffmpeg::ffi::avcodec_profile_name(codec_id.into(), profile) };
    (!ptr.is_null()).then(|| {
        unsafe { CStr::from_ptr(ptr) }
            .to_string_lossy()
            .into_owned()
    })
}

fn rational_f64(r: ffmpeg::Rational) -> Option<f64> {
    (r.numerator() > 0 && r.denominator() > 0)
        .then(|| r.numerator() as f64 / r.denominator() as f64)
}

fn pixel_format_name(format: ffmpeg::format::Pixel) -> String {
    let fmt: ffmpeg::ffi::AVPixelFormat = format.into();
    // SAFETY: av_get_pix_fmt_name returns NULL or a static string.
    let ptr = unsafe { ffmpeg::ffi::av_get_pix_fmt_name(fmt) };
    if ptr.is_null() {
        "unknown".into()
    } else {
        unsafe { CStr::from_ptr(ptr) }
            .to_string_lossy()
            .into_owned()
    }
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
        // SAFETY: the parameters pointer is valid while the stream is.
        let (width, height, profile, format) = unsafe {
            let p = &*params.as_ptr();
            (
                p.width.max(0) as u32,
                p.height.max(0) as u32,
                p.profile,
                p.format,
            )
        };
        if width as u64 * height as u64 > MAX_PIXELS {
            return Err(ItemError::new(
                ErrorKind::TooLarge,
                format!("frames are {width}x{height}, more than the {MAX_PIXELS}-pixel cap"),
            ));
        }
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
        let (orientation, rotation) = stream_display_matrix(&stream)
            .map(|m| Orientation::from_display_matrix(&m))
            .unwrap_or_default();
        // SAFETY: the stream pointer is valid while the input is.
        let sar = unsafe { (*params.as_ptr()).sample_aspect_ratio };
        let (display_width, display_height) =
            orientation.display_size(width, height, (sar.num, sar.den));
        let container_duration_ms = (input.duration() > 0).then(|| input.duration() / 1000);
        let pix = ffmpeg::format::Pixel::from(unsafe {
            std::mem::transmute::<i32, ffmpeg::ffi::AVPixelFormat>(format)
        });
        let (color_range, color_space) = unsafe {
            let p = &*params.as_ptr();
            (
                color_range_name(p.color_range.into()),
                color_space_name(p.color_space.into()),
            )
        };
        let facts = VideoFacts {
            container,
            codec,
            profile: profile_name(codec_id, profile),
            width,
            height,
            display_width,
            display_height,
            rotation,
            fps,
            duration_ms: None,
            container_duration_ms,
            start_ms: 0,
            pixel_format: pixel_format_name(pix),
            color_range,
            color_space,
            has_audio,
            bytes,
        };
        let stream_index = stream.index();
        Ok(OpenVideo {
            input,
            stream_index,
            time_base,
            default_frame_duration,
            orientation,
            facts,
            open_time: started.elapsed(),
            scan_time: Duration::ZERO,
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
        loop {
            if deadline.passed() {
                return Err(ItemError::new(
                    ErrorKind::Timeout,
                    "demuxing: deadline passed",
                ));
            }
            match read_packet(&mut packet, &mut self.input) {
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
            let discard = packet.flags().bits() & ffmpeg::ffi::AV_PKT_FLAG_DISCARD != 0;
            if packet.is_corrupt() {
                return Err(ItemError::new(
                    ErrorKind::Truncated,
                    format!(
                        "packet {} at pts {} ms is incomplete: the file ends early or is damaged",
                        packets.len(),
                        crate::pipeline::sample::pts_to_ms(pts, self.time_base)
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
        let timeline = Timeline {
            packets,
            time_base: self.time_base,
            first_pts: min_pts,
            end_pts,
            stopped_at_cap,
        };
        self.facts.start_ms = crate::pipeline::sample::pts_to_ms(min_pts, self.time_base);
        if !stopped_at_cap {
            self.facts.duration_ms = Some(timeline.duration_ms());
        }
        Ok(timeline)
    }
}

/// Counters and timings from one decode, for logs and benchmarks.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct DecodeStats {
    /// Video packets read from the container (demuxed) during decoding.
    pub packets_read: u64,
    /// Packets sent to the decoder.
    pub packets_sent: u64,
    /// Frames the decoder returned.
    pub frames_decoded: u64,
    /// Times the decoder was drained and flushed to jump over the tail of a GOP.
    pub flushes: u64,
    /// Whether the input had to be opened again because rewinding it did not reproduce the scan's
    /// packets.
    pub reopened: bool,
    /// Whether the optimised pass missed a target and a full decode had to supply it.
    pub full_decode_fallback: bool,
    /// Time spent reading packets from the container.
    pub demux_time: Duration,
    /// Time spent in the decoder (sending packets, receiving frames, flushing), not counting the
    /// `on_frame` callback.
    pub decode_time: Duration,
}

/// Decoder options. The two skips are exact (every target is bit-identical to a full decode);
/// switching them off exists to prove that.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DecodeOptions {
    /// Threads inside one decoder (1 = parallelism comes from decoding several videos at once).
    pub threads: usize,
    /// Tell the decoder to skip pictures no target needs and no other picture references
    /// (`skip_frame = NonReference` for non-target packets).
    pub skip_non_reference: bool,
    /// Send only the packets from each target's keyframe to the target, draining and flushing
    /// the decoder between such ranges instead of decoding the rest of each GOP.
    pub skip_gop_tails: bool,
}

impl Default for DecodeOptions {
    fn default() -> DecodeOptions {
        DecodeOptions {
            threads: 1,
            skip_non_reference: true,
            skip_gop_tails: true,
        }
    }
}

impl DecodeOptions {
    /// The default (both skips on) with `threads` decoder threads.
    pub fn with_threads(threads: usize) -> DecodeOptions {
        DecodeOptions {
            threads,
            ..DecodeOptions::default()
        }
    }
}

/// What one decoding pass over the input achieved.
enum PassEnd {
    /// Read up to this decode-order packet index (exclusive).
    Done { read_to: usize },
    /// The demuxer returned a packet that is not the scan's packet at that position.
    Desync,
}

/// Errors, counts and found targets carried across passes.
struct Tally {
    stats: DecodeStats,
    found: Vec<bool>,
    errors: u64,
    first_error: Option<String>,
    /// Time spent inside `on_frame`, subtracted from the decoder's time.
    callback_time: Duration,
}

/// The pts the scan assigned to `packet` (pts, else dts), when the packet carries one.
fn packet_pts(packet: &Packet) -> Option<i64> {
    packet.pts().or(packet.dts())
}

/// Puts the demuxer back at the first packet of the stream. Returns false if it cannot.
fn rewind(input: &mut Input, stream_index: usize, timeline: &Timeline) -> bool {
    let Some(first) = timeline.packets.first() else {
        return false;
    };
    // SAFETY: the context is open; seeking only moves its read position.
    let ret = unsafe {
        ffmpeg::ffi::avformat_seek_file(
            input.as_mut_ptr(),
            stream_index as i32,
            i64::MIN,
            first.pts,
            first.pts,
            0,
        )
    };
    ret >= 0
}

fn open_decoder(video: &OpenVideo, threads: usize) -> Result<ffmpeg::decoder::Video, ItemError> {
    let stream = video
        .input
        .stream(video.stream_index)
        .ok_or_else(|| ItemError::new(ErrorKind::Internal, "the video stream vanished"))?;
    let mut context = ffmpeg::codec::context::Context::from_parameters(stream.parameters())
        .map_err(|err| ff_error(ErrorKind::DecodeFailed, "setting up the decoder", err))?;
    context.set_threading(threading::Config {
        kind: if threads == 1 {
            threading::Type::None
        } else {
            threading::Type::Frame
        },
        count: threads,
        ..Default::default()
    });
    let mut decoder = context.decoder().video().map_err(|err| match err {
        ffmpeg::Error::DecoderNotFound => ItemError::new(
            ErrorKind::UnsupportedCodec,
            format!("no decoder for {} in this FFmpeg", video.facts.codec),
        ),
        err => ff_error(ErrorKind::UnsupportedCodec, "opening the decoder", err),
    })?;
    decoder.set_packet_time_base(stream.time_base());
    Ok(decoder)
}

/// Hands one decoded frame to `on_frame` if it answers targets not yet answered.
fn take_frame<F>(
    frame: &ffmpeg::frame::Video,
    plan: &Plan,
    time_base: (i64, i64),
    tally: &mut Tally,
    on_frame: &mut F,
) -> Result<(), ItemError>
where
    F: FnMut(&[Target], &ffmpeg::frame::Video) -> Result<(), ItemError>,
{
    tally.stats.frames_decoded += 1;
    let Some(pts) = frame.pts().or_else(|| frame.timestamp()) else {
        return Ok(());
    };
    if frame.is_corrupt() || frame.has_decode_errors() {
        tally.errors += 1;
        tally.first_error.get_or_insert_with(|| {
            format!(
                "damaged picture at {} ms",
                crate::pipeline::sample::pts_to_ms(pts, time_base)
            )
        });
        // never hand on a damaged picture: the item fails, or (keyframes) a clean pass follows
        return Ok(());
    }
    if let Some(indices) = plan.wanted.get(&pts) {
        if indices.iter().all(|&i| tally.found[i]) {
            return Ok(());
        }
        let targets: Vec<Target> = indices.iter().map(|&i| plan.targets[i]).collect();
        for &i in indices {
            tally.found[i] = true;
        }
        let started = Instant::now();
        let result = on_frame(&targets, frame);
        tally.callback_time += started.elapsed();
        result?;
    }
    Ok(())
}

/// Receives every frame the decoder has ready.
fn receive_all<F>(
    decoder: &mut ffmpeg::decoder::Video,
    frame: &mut ffmpeg::frame::Video,
    plan: &Plan,
    time_base: (i64, i64),
    tally: &mut Tally,
    on_frame: &mut F,
) -> Result<(), ItemError>
where
    F: FnMut(&[Target], &ffmpeg::frame::Video) -> Result<(), ItemError>,
{
    while decoder.receive_frame(frame).is_ok() {
        take_frame(frame, plan, time_base, tally, on_frame)?;
    }
    Ok(())
}

/// Sends the packets of `ranges` (decode-order indices into the timeline) from the input's
/// current position, which must be the stream's first packet, and drains the decoder at the end.
#[allow(clippy::too_many_arguments)]
fn decode_pass<F>(
    input: &mut Input,
    stream_index: usize,
    decoder: &mut ffmpeg::decoder::Video,
    timeline: &Timeline,
    plan: &Plan,
    ranges: &[PacketRange],
    skip_non_reference: bool,
    send_non_key: bool,
    deadline: Deadline,
    tally: &mut Tally,
    on_frame: &mut F,
) -> Result<PassEnd, ItemError>
where
    F: FnMut(&[Target], &ffmpeg::frame::Video) -> Result<(), ItemError>,
{
    let tb = timeline.time_base;
    let mut frame = ffmpeg::frame::Video::empty();
    let mut packet = Packet::empty();
    let mut index = 0usize;
    let mut range = 0usize;
    let mut flush_first = false;
    let mut decoding = Duration::ZERO;
    let callbacks_before = tally.callback_time;
    while let Some(current) = ranges.get(range) {
        if deadline.passed() {
            return Err(ItemError::new(
                ErrorKind::Timeout,
                "decoding: deadline passed",
            ));
        }
        let started = Instant::now();
        let read = read_packet(&mut packet, input);
        tally.stats.demux_time += started.elapsed();
        match read {
            Ok(()) => {}
            Err(ffmpeg::Error::Eof) => break,
            Err(ffmpeg::Error::InvalidData) => continue,
            Err(err) => return Err(ff_error(ErrorKind::Truncated, "reading packets", err)),
        }
        if packet.stream() != stream_index {
            continue;
        }
        let Some(info) = timeline.packets.get(index).copied() else {
            break;
        };
        if packet_pts(&packet).is_some_and(|pts| pts != info.pts) || packet.is_key() != info.key {
            return Ok(PassEnd::Desync);
        }
        let i = index;
        index += 1;
        tally.stats.packets_read += 1;
        if i < current.first {
            continue;
        }
        if plan.keyframes_only && !info.key && !send_non_key {
            if i == current.last {
                range += 1;
            }
            continue;
        }
        let started = Instant::now();
        if flush_first {
            // Nothing between the previous range and this keyframe is needed: empty the
            // decoder and start afresh here.
            let _ = decoder.send_eof();
            receive_all(decoder, &mut frame, plan, tb, tally, on_frame)?;
            decoder.flush();
            tally.stats.flushes += 1;
            flush_first = false;
        }
        let wanted = plan.wanted.contains_key(&info.pts);
        decoder.skip_frame(if plan.keyframes_only {
            Discard::NonKey
        } else if wanted || !skip_non_reference {
            Discard::Default
        } else {
            Discard::NonReference
        });
        tally.stats.packets_sent += 1;
        loop {
            match decoder.send_packet(&packet) {
                Ok(()) => break,
                Err(ffmpeg::Error::Other { errno }) if errno == libc::EAGAIN => {
                    // The decoder wants its output drained first.
                    receive_all(decoder, &mut frame, plan, tb, tally, on_frame)?;
                }
                Err(err) => {
                    tally.errors += 1;
                    tally.first_error.get_or_insert_with(|| {
                        format!(
                            "packet at {} ms: {err}",
                            crate::pipeline::sample::pts_to_ms(info.pts, tb)
                        )
                    });
                    break;
                }
            }
        }
        receive_all(decoder, &mut frame, plan, tb, tally, on_frame)?;
        decoding += started.elapsed();
        if i == current.last {
            range += 1;
            flush_first = true;
        }
    }
    let started = Instant::now();
    let _ = decoder.send_eof();
    receive_all(decoder, &mut frame, plan, tb, tally, on_frame)?;
    decoding += started.elapsed();
    let callbacks = tally.callback_time - callbacks_before;
    tally.stats.decode_time += decoding.saturating_sub(callbacks);
    Ok(PassEnd::Done { read_to: index })
}

/// Decodes the frames `plan` asks for from `video` (already opened and scanned; it is rewound
/// here, or opened again from `data` if rewinding does not reproduce the scan's packets) and
/// hands each to `on_frame` with the targets it answers, in the order the decoder returns them
/// (presentation order within each decoded range).
pub fn decode_targets(
    video: &mut OpenVideo,
    data: &VideoData,
    timeline: &Timeline,
    plan: &Plan,
    options: DecodeOptions,
    deadline: Deadline,
    mut on_frame: impl FnMut(&[Target], &ffmpeg::frame::Video) -> Result<(), ItemError>,
) -> Result<DecodeStats, ItemError> {
    let threads = options.threads.max(1);
    // Per-packet skip_frame decisions are exact only without frame threading.
    let skip_non_reference = options.skip_non_reference && threads == 1;
    let everything = [PacketRange {
        first: 0,
        last: plan.last_packet,
    }];
    let optimised_ranges: &[PacketRange] = if options.skip_gop_tails && !plan.keyframes_only {
        &plan.ranges
    } else {
        &everything
    };
    let mut tally = Tally {
        stats: DecodeStats::default(),
        found: vec![false; plan.targets.len()],
        errors: 0,
        first_error: None,
        callback_time: Duration::ZERO,
    };
    let mut read_to = 0usize;
    // Pass 0 is the optimised one; pass 1 (only if it missed a target) decodes every packet.
    let mut pass = 0;
    let mut positioned = rewind(&mut video.input, video.stream_index, timeline);
    while pass < 2 {
        if !positioned {
            let reopened = OpenVideo::open(data, video.facts.bytes, deadline)?;
            if reopened.stream_index != video.stream_index {
                return Err(ItemError::new(
                    ErrorKind::Internal,
                    "the video stream changed between opening and decoding",
                ));
            }
            video.input = reopened.input;
            tally.stats.reopened = true;
        }
        let (ranges, skip_non_reference) = if pass == 0 {
            (optimised_ranges, skip_non_reference)
        } else {
            (&everything[..], false)
        };
        let mut decoder = open_decoder(video, threads)?;
        let end = decode_pass(
            &mut video.input,
            video.stream_index,
            &mut decoder,
            timeline,
            plan,
            ranges,
            skip_non_reference,
            pass == 1,
            deadline,
            &mut tally,
            &mut on_frame,
        )?;
        match end {
            PassEnd::Desync if tally.stats.reopened => {
                return Err(ItemError::new(
                    ErrorKind::Internal,
                    "the demuxer returned different packets when reading the video again",
                ))
            }
            PassEnd::Desync => {
                positioned = false;
                continue;
            }
            PassEnd::Done { read_to: r } => read_to = read_to.max(r),
        }
        if pass == 0 && plan.keyframes_only && tally.errors > 0 {
            // Some decoders (HEVC after an open-GOP CRA) report errors when they are given only
            // the keyframes. Send every packet as ffmpeg's `-skip_frame nokey` does (the decoder
            // still drops non-keyframes) for the targets not found yet.
            tracing::debug!("keyframe-only decoding reported errors; sending every packet");
            tally.errors = 0;
            tally.first_error = None;
            tally.stats.full_decode_fallback = true;
            positioned = rewind(&mut video.input, video.stream_index, timeline);
            pass = 1;
            continue;
        }
        let optimised = ranges.len() > 1 || skip_non_reference;
        let missing = tally.found.iter().any(|f| !f);
        if pass == 0 && missing && optimised && tally.errors == 0 {
            tally.stats.full_decode_fallback = true;
            tracing::debug!("a target was missed with GOP/non-reference skipping; decoding fully");
            positioned = rewind(&mut video.input, video.stream_index, timeline);
            pass = 1;
            continue;
        }
        break;
    }
    if tally.errors > 0 {
        return Err(ItemError::new(
            ErrorKind::CorruptData,
            format!(
                "the decoder reported {} error(s) in the sampled span; first: {}",
                tally.errors,
                tally.first_error.unwrap_or_default()
            ),
        ));
    }
    let missing: Vec<i64> = plan
        .targets
        .iter()
        .zip(&tally.found)
        .filter(|(_, f)| !**f)
        .map(|(t, _)| t.target_ms)
        .collect();
    if !missing.is_empty() {
        let kind = if read_to <= plan.last_packet {
            ErrorKind::Truncated
        } else {
            ErrorKind::DecodeFailed
        };
        return Err(ItemError::new(
            kind,
            format!(
                "{} of {} target frames were not decoded (first target at {} ms)",
                missing.len(),
                plan.targets.len(),
                missing[0]
            ),
        ));
    }
    Ok(tally.stats)
}
