/*!
The raw FFmpeg calls reelframe makes where ffmpeg-next has no safe wrapper, each in one small
function whose `SAFETY:` line says why it holds. Nothing else in the crate calls
`ffmpeg::ffi` directly, so the unsafe surface is this file.
*/

use ffmpeg::format::context::Input;
use ffmpeg::Packet;
use ffmpeg_next as ffmpeg;
use std::ffi::CStr;

/// The FFmpeg version the process runs on (libavutil's `av_version_info`).
pub fn ffmpeg_version() -> String {
    // SAFETY: av_version_info takes no arguments and returns a pointer to a static
    // NUL-terminated string that lives as long as the library.
    unsafe { CStr::from_ptr(ffmpeg::ffi::av_version_info()) }
        .to_string_lossy()
        .into_owned()
}

/// The counter-clockwise rotation in degrees a display matrix describes (NaN when the matrix
/// is degenerate).
pub fn display_rotation(matrix: &[i32; 9]) -> f64 {
    // SAFETY: av_display_rotation_get reads exactly nine i32s, which `matrix` holds.
    unsafe { ffmpeg::ffi::av_display_rotation_get(matrix.as_ptr()) }
}

/// Reads the next packet of `input` into `packet`, releasing what it held first. ffmpeg-next's
/// `Packet::read` hands the packet to `av_read_frame` as it is, and `av_read_frame` overwrites
/// without unreferencing, so reusing one packet leaked a packet buffer per read (RSS grew by
/// about 250 KB per 1080p video, without bound over a long list).
pub fn read_packet(packet: &mut Packet, input: &mut Input) -> Result<(), ffmpeg::Error> {
    // SAFETY: `packet` owns a valid AVPacket; av_packet_unref frees its buffer and leaves it
    // blank, which is the state av_read_frame expects.
    unsafe { ffmpeg::ffi::av_packet_unref(ffmpeg::packet::Mut::as_mut_ptr(packet)) };
    packet.read(input)
}

/// The packet's flags as libavcodec set them. ffmpeg-next's `Packet::flags()` keeps only the
/// bits it knows (key, corrupt) and drops the rest, `AV_PKT_FLAG_DISCARD` among them.
pub fn packet_flags(packet: &Packet) -> i32 {
    // SAFETY: `packet` owns a valid AVPacket for as long as the borrow; reading an int field
    // has no side effect.
    unsafe { (*ffmpeg::packet::Ref::as_ptr(packet)).flags }
}

/// The profile's name (`High`, `Main 10`) for a codec, when libavcodec knows it.
pub fn profile_name(codec_id: ffmpeg::codec::Id, profile: i32) -> Option<String> {
    // SAFETY: avcodec_profile_name accepts any codec id and profile and returns NULL or a
    // pointer to a static NUL-terminated string.
    let ptr = unsafe { ffmpeg::ffi::avcodec_profile_name(codec_id.into(), profile) };
    // SAFETY: non-NULL pointers from avcodec_profile_name are static NUL-terminated strings.
    (!ptr.is_null()).then(|| {
        unsafe { CStr::from_ptr(ptr) }
            .to_string_lossy()
            .into_owned()
    })
}

/// The pixel format a raw `AVCodecParameters::format` value names, or `None` when the value is
/// not one of this FFmpeg's pixel formats (a new or hostile value must not become an enum
/// discriminant that does not exist).
pub fn pixel_format(raw: i32) -> Option<ffmpeg::format::Pixel> {
    use ffmpeg::ffi::AVPixelFormat;
    let (first, end) = (
        AVPixelFormat::AV_PIX_FMT_NONE as i32,
        AVPixelFormat::AV_PIX_FMT_NB as i32,
    );
    if !(first..end).contains(&raw) || raw == first {
        return None;
    }
    // SAFETY: AVPixelFormat is a `#[repr(i32)]` enum whose variants are the consecutive values
    // AV_PIX_FMT_NONE (-1) ..= AV_PIX_FMT_NB (the C enum assigns no explicit values after
    // NONE), so every value in that range, checked above, is a valid discriminant.
    let format = unsafe { std::mem::transmute::<i32, AVPixelFormat>(raw) };
    Some(ffmpeg::format::Pixel::from(format))
}

/// The name libavutil gives a pixel format (`yuv420p`), or `unknown`.
pub fn pixel_format_name(format: ffmpeg::format::Pixel) -> String {
    let fmt: ffmpeg::ffi::AVPixelFormat = format.into();
    // SAFETY: av_get_pix_fmt_name accepts any pixel format and returns NULL or a pointer to a
    // static NUL-terminated string.
    let ptr = unsafe { ffmpeg::ffi::av_get_pix_fmt_name(fmt) };
    if ptr.is_null() {
        return "unknown".into();
    }
    // SAFETY: a non-NULL result is a static NUL-terminated string.
    unsafe { CStr::from_ptr(ptr) }
        .to_string_lossy()
        .into_owned()
}

/// The fields of a stream's codec parameters ffmpeg-next does not expose.
#[derive(Debug, Clone, Copy)]
pub struct RawParameters {
    /// Coded width (0 when unknown or negative).
    pub width: u32,
    /// Coded height (0 when unknown or negative).
    pub height: u32,
    /// Codec profile number.
    pub profile: i32,
    /// Raw pixel format value (see [`pixel_format`]).
    pub format: i32,
    /// Sample aspect ratio (num, den); 0/1 when unknown.
    pub sar: (i32, i32),
    /// Colour range.
    pub color_range: ffmpeg::color::Range,
    /// Colour matrix.
    pub color_space: ffmpeg::color::Space,
    /// Transfer characteristic (PQ, HLG, BT.709…).
    pub color_transfer: ffmpeg::color::TransferCharacteristic,
    /// Colour primaries (BT.2020, BT.709…).
    pub color_primaries: ffmpeg::color::Primaries,
    /// Frames the decoder holds back to reorder them (`has_b_frames`; 0 without B-frames).
    pub video_delay: u32,
}

/// Reads the codec parameters of `params` that ffmpeg-next has no accessor for.
pub fn raw_parameters(params: &ffmpeg::codec::Parameters) -> RawParameters {
    // SAFETY: `params` borrows a valid AVCodecParameters (owned by its stream, which outlives
    // the borrow); only plain integer fields are read.
    let p = unsafe { &*params.as_ptr() };
    RawParameters {
        width: p.width.max(0) as u32,
        height: p.height.max(0) as u32,
        profile: p.profile,
        format: p.format,
        sar: (p.sample_aspect_ratio.num, p.sample_aspect_ratio.den),
        color_range: p.color_range.into(),
        color_space: p.color_space.into(),
        color_transfer: p.color_trc.into(),
        color_primaries: p.color_primaries.into(),
        video_delay: p.video_delay.max(0) as u32,
    }
}

/// How many packets the demuxer's index lists for `stream` (every sample for mp4, the keyframes
/// for Matroska's cues).
pub fn index_entries(stream: &ffmpeg::format::stream::Stream) -> usize {
    // SAFETY: `stream` borrows a valid AVStream of an open format context; the call only reads
    // the stream's index.
    let count = unsafe { ffmpeg::ffi::avformat_index_get_entries_count(stream.as_ptr()) };
    count.max(0) as usize
}

/// Moves the demuxer of `input` back to the packet of `stream_index` at `pts` (the stream's
/// first). Returns false if the demuxer cannot seek.
pub fn seek_to(input: &mut Input, stream_index: usize, pts: i64) -> bool {
    // SAFETY: `input` is an open format context borrowed mutably, so nothing else reads from it
    // meanwhile; avformat_seek_file only moves its read position.
    let ret = unsafe {
        ffmpeg::ffi::avformat_seek_file(
            input.as_mut_ptr(),
            stream_index as i32,
            i64::MIN,
            pts,
            pts,
            0,
        )
    };
    ret >= 0
}

/// Tells a decoder not to allocate frames of more than `max_pixels` pixels (libavcodec's
/// `max_pixels` option: a larger size is refused with an error instead of allocated).
pub fn set_max_pixels(context: &mut ffmpeg::codec::context::Context, max_pixels: u64) {
    // SAFETY: `context` is a valid, not yet opened AVCodecContext borrowed mutably; max_pixels is
    // a plain int64 field libavcodec reads when it opens the codec and sizes frames.
    unsafe { (*context.as_mut_ptr()).max_pixels = max_pixels.min(i64::MAX as u64) as i64 };
}

thread_local! {
    /// Set on this thread when libavcodec refused a picture for exceeding a decoder's
    /// `max_pixels` (see [`take_pixel_cap_hit`]).
    static PIXEL_CAP_HIT: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

/// Whether libavcodec refused a picture on this thread for exceeding `max_pixels` since the last
/// call. Decoders report that refusal only as "invalid data"; its log line is what says why.
pub fn take_pixel_cap_hit() -> bool {
    PIXEL_CAP_HIT.with(|hit| hit.replace(false))
}

/// Routes FFmpeg's log through [`log_callback`], which notes pixel-cap refusals for the thread
/// and passes every message on to FFmpeg's own logger (which applies the log level as before).
pub fn install_log_callback() {
    #[cfg(target_arch = "x86_64")]
    // SAFETY: log_callback has the signature av_log_set_callback expects and is safe to call
    // from any thread at any time (it touches only a thread-local and the default logger).
    unsafe {
        ffmpeg::ffi::av_log_set_callback(Some(log_callback))
    };
}

#[cfg(target_arch = "x86_64")]
unsafe extern "C" fn log_callback(
    avcl: *mut libc::c_void,
    level: libc::c_int,
    fmt: *const libc::c_char,
    vl: *mut ffmpeg::ffi::__va_list_tag,
) {
    // SAFETY: FFmpeg passes a NUL-terminated format string (or NULL).
    if !fmt.is_null()
        && unsafe { CStr::from_ptr(fmt) }
            .to_bytes()
            .windows(15)
            .any(|w| w == b"max pixel count")
    {
        PIXEL_CAP_HIT.with(|hit| hit.set(true));
    }
    // SAFETY: the arguments are FFmpeg's own, passed on unchanged to its default logger.
    unsafe { ffmpeg::ffi::av_log_default_callback(avcl, level, fmt, vl) };
}

/// Sets the colour matrix (`matrix`, an `SWS_CS_*` value) and input range of a swscale
/// context converting to full-range RGB.
pub fn set_sws_colorspace(
    ctx: &mut ffmpeg::software::scaling::Context,
    matrix: i32,
    full_range: bool,
) {
    // SAFETY: `ctx` is a valid SwsContext borrowed mutably; sws_getCoefficients returns
    // pointers to static tables for any value (the default table for unknown ones).
    unsafe {
        let table = ffmpeg::ffi::sws_getCoefficients(matrix);
        let rgb_table = ffmpeg::ffi::sws_getCoefficients(ffmpeg::ffi::SWS_CS_DEFAULT);
        ffmpeg::ffi::sws_setColorspaceDetails(
            ctx.as_mut_ptr(),
            table,
            full_range as i32,
            rgb_table,
            1,
            0,
            1 << 16,
            1 << 16,
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pixel_formats_are_checked() {
        assert_eq!(pixel_format(0), Some(ffmpeg::format::Pixel::YUV420P));
        assert_eq!(pixel_format(-1), None);
        assert_eq!(pixel_format(i32::MAX), None);
        assert_eq!(pixel_format(-7), None);
        assert_eq!(pixel_format_name(ffmpeg::format::Pixel::YUV420P), "yuv420p");
    }
}
