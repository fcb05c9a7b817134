/*!
Stage ④: decoded picture → upright JPEG.

swscale converts the decoded YUV picture to RGB at the output size, honouring the stream's colour
matrix and range (limited-range BT.709 in, full-range RGB out): in one pass when the size stays,
else by scaling the yuv420p planes first (swscale's SIMD paths; straight to packed RGB it would
take its generic C path). The picture is then turned upright as the display matrix says and
encoded with libjpeg-turbo. Scaler contexts and buffers are kept across frames of a video. PQ and
HLG pictures go through 16-bit RGB and [`crate::pipeline::tonemap`] to SDR BT.709 first.
[`EncodedFrame`] carries the time each step took.
*/

use crate::error::{ErrorKind, ItemError};
use crate::pipeline::demux::Orientation;
use crate::pipeline::ffi;
use crate::pipeline::hash::{PdqHasher, PdqResult};
use crate::pipeline::tonemap::{Hdr, ToneMapper};
use ffmpeg::format::Pixel;
use ffmpeg::software::scaling;
use ffmpeg_next as ffmpeg;
use std::time::{Duration, Instant};

/// Default JPEG quality.
pub const DEFAULT_QUALITY: u8 = 90;

/// How big output frames are. All sizes are of the upright, aspect-corrected picture; aspect
/// ratio is always preserved. With none set, frames keep their display size.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
pub struct SizeSpec {
    /// Longest side at most this many pixels (never upscales).
    pub max_side: Option<u32>,
    /// Exactly this wide (height follows the aspect ratio).
    pub width: Option<u32>,
    /// Exactly this high (width follows the aspect ratio).
    pub height: Option<u32>,
}

impl SizeSpec {
    /// The output size for a picture displayed at `w`×`h`.
    pub fn apply(&self, w: u32, h: u32) -> (u32, u32) {
        let (w, h) = (w.max(1) as f64, h.max(1) as f64);
        let (mut ow, mut oh) = match (self.width, self.height) {
            (Some(tw), Some(th)) => {
                let s = (tw as f64 / w).min(th as f64 / h);
                (w * s, h * s)
            }
            (Some(tw), None) => (tw as f64, h * tw as f64 / w),
            (None, Some(th)) => (w * th as f64 / h, th as f64),
            (None, None) => (w, h),
        };
        if let Some(m) = self.max_side {
            let longest = ow.max(oh);
            if longest > m as f64 {
                let s = m as f64 / longest;
                ow *= s;
                oh *= s;
            }
        }
        ((ow.round() as u32).max(1), (oh.round() as u32).max(1))
    }
}

/// A JPEG ready for the store, with what the thumbnail picker needs to know about it.
#[derive(Debug, Clone)]
pub struct EncodedFrame {
    /// The JPEG file.
    pub jpeg: Vec<u8>,
    /// Width in pixels.
    pub width: u32,
    /// Height in pixels.
    pub height: u32,
    /// Colour statistics of the picture.
    pub stats: crate::pipeline::thumbnail::FrameStats,
    /// Time spent converting the decoded picture to upright RGB at the output size (swscale
    /// and the turn).
    pub convert_time: Duration,
    /// Time spent encoding the JPEG (libjpeg-turbo).
    pub encode_time: Duration,
    /// The PDQ hash of the upright RGB picture (before JPEG), when the encoder hashes.
    pub pdq: Option<PdqResult>,
    /// Time spent hashing.
    pub hash_time: Duration,
}

/// An upright RGB24 picture in the encoder's buffers.
#[derive(Debug, Clone, Copy)]
pub struct RgbPicture<'a> {
    /// Rows of packed RGB, `pitch` bytes apart.
    pub pixels: &'a [u8],
    /// Width in pixels.
    pub width: u32,
    /// Height in pixels.
    pub height: u32,
    /// Bytes from one row to the next.
    pub pitch: usize,
}

#[derive(PartialEq, Eq, Clone, Copy)]
struct ScalerKey {
    format: Pixel,
    width: u32,
    height: u32,
    out_width: u32,
    out_height: u32,
    full_range: bool,
    matrix: i32,
    output: Pixel,
}

/// Converts decoded pictures to upright JPEGs, reusing its scaler and buffers.
pub struct FrameEncoder {
    converter: Converter,
    compressor: turbojpeg::Compressor,
    hasher: Option<PdqHasher>,
}

/// The YUV → upright RGB half of [`FrameEncoder`].
struct Converter {
    size: SizeSpec,
    /// Scales yuv420p planes to the output size before the conversion, when sizes differ.
    planar: Option<((u32, u32, u32, u32), scaling::Context)>,
    planes: ffmpeg::frame::Video,
    scaler: Option<(ScalerKey, scaling::Context)>,
    rgb: ffmpeg::frame::Video,
    turned: Vec<u8>,
    /// Set for HDR video: swscale converts to 16-bit RGB, this maps it to SDR in `mapped`.
    tone: Option<ToneMapper>,
    mapped: Vec<u8>,
}

fn encode_error(what: &str, err: impl std::fmt::Display) -> ItemError {
    ItemError::new(ErrorKind::EncodeFailed, format!("{what}: {err}"))
}

/// The swscale colour matrix for a stream's colour space. Unspecified matrices are treated as
/// BT.601, as FFmpeg's own conversions do.
fn sws_matrix(space: ffmpeg::color::Space) -> i32 {
    use ffmpeg::color::Space;
    use ffmpeg::ffi::*;
    match space {
        Space::BT709 => SWS_CS_ITU709,
        Space::FCC => SWS_CS_FCC,
        Space::SMPTE240M => SWS_CS_SMPTE240M,
        Space::BT2020NCL | Space::BT2020CL => SWS_CS_BT2020,
        _ => SWS_CS_DEFAULT,
    }
}

fn is_full_range(format: Pixel, range: ffmpeg::color::Range) -> bool {
    matches!(
        format,
        Pixel::YUVJ420P | Pixel::YUVJ422P | Pixel::YUVJ444P | Pixel::YUVJ440P | Pixel::YUVJ411P
    ) || range == ffmpeg::color::Range::JPEG
}

impl FrameEncoder {
    /// An encoder writing JPEGs at `quality` (1–100), sized by `size`.
    pub fn new(quality: u8, size: SizeSpec) -> Result<FrameEncoder, ItemError> {
        let mut compressor =
            turbojpeg::Compressor::new().map_err(|e| encode_error("starting libjpeg-turbo", e))?;
        compressor
            .set_quality(quality.clamp(1, 100) as i32)
            .map_err(|e| encode_error("setting JPEG quality", e))?;
        compressor
            .set_subsamp(turbojpeg::Subsamp::Sub2x2)
            .map_err(|e| encode_error("setting JPEG subsampling", e))?;
        Ok(FrameEncoder {
            converter: Converter {
                size,
                planar: None,
                planes: ffmpeg::frame::Video::empty(),
                scaler: None,
                rgb: ffmpeg::frame::Video::empty(),
                turned: Vec::new(),
                tone: None,
                mapped: Vec::new(),
            },
            compressor,
            hasher: None,
        })
    }

    /// Tone-maps every following picture from `hdr` to SDR BT.709 (`None`: convert as SDR).
    pub fn set_tone_mapping(&mut self, hdr: Option<Hdr>) {
        let current = self.converter.tone.as_ref().map(ToneMapper::hdr);
        if current != hdr {
            self.converter.tone = hdr.map(ToneMapper::new);
        }
    }

    /// Also computes each picture's PDQ hash (on the upright RGB, before JPEG encoding).
    pub fn with_pdq(mut self, on: bool) -> FrameEncoder {
        self.hasher = on.then(PdqHasher::new);
        self
    }

    /// The upright output size of a decoded picture.
    pub fn output_size(
        &self,
        frame: &ffmpeg::frame::Video,
        orientation: Orientation,
    ) -> (u32, u32) {
        self.converter.output_size(frame, orientation)
    }

    /// Converts one decoded picture to upright RGB24 at the output size: one swscale pass
    /// (scale and colour conversion together, with the stream's matrix and range), then the turn.
    /// The scaler and both buffers are reused across frames of the same size and format.
    pub fn convert(
        &mut self,
        frame: &ffmpeg::frame::Video,
        orientation: Orientation,
    ) -> Result<RgbPicture<'_>, ItemError> {
        self.converter.convert(frame, orientation)
    }

    /// Converts, turns and encodes one decoded picture.
    pub fn encode(
        &mut self,
        frame: &ffmpeg::frame::Video,
        orientation: Orientation,
    ) -> Result<EncodedFrame, ItemError> {
        self.encode_with(frame, orientation, |_| {})
    }

    /// [`encode`](Self::encode), showing the upright RGB picture to `inspect` before the JPEG
    /// is made (the contact sheet cuts its tile there).
    pub fn encode_with(
        &mut self,
        frame: &ffmpeg::frame::Video,
        orientation: Orientation,
        inspect: impl FnOnce(RgbPicture<'_>),
    ) -> Result<EncodedFrame, ItemError> {
        let started = Instant::now();
        let picture = self.converter.convert(frame, orientation)?;
        let (width, height, pitch) = (picture.width, picture.height, picture.pitch);
        let pixels: &[u8] = picture.pixels;
        let convert_time = started.elapsed();
        let stats = crate::pipeline::thumbnail::FrameStats::of_rgb(pixels, width, height, pitch);
        let started = Instant::now();
        let pdq = self
            .hasher
            .as_mut()
            .map(|h| h.hash_rgb(pixels, width, height, pitch));
        let hash_time = started.elapsed();
        inspect(picture);
        let started = Instant::now();
        let image = turbojpeg::Image {
            pixels,
            width: width as usize,
            pitch,
            height: height as usize,
            format: turbojpeg::PixelFormat::RGB,
        };
        let jpeg = self
            .compressor
            .compress_to_vec(image)
            .map_err(|e| encode_error("JPEG encoding", e))?;
        let encode_time = started.elapsed();
        Ok(EncodedFrame {
            jpeg,
            width,
            height,
            stats,
            convert_time,
            encode_time,
            pdq,
            hash_time,
        })
    }
}

impl Converter {
    fn output_size(&self, frame: &ffmpeg::frame::Video, orientation: Orientation) -> (u32, u32) {
        let sar = frame.aspect_ratio();
        let (dw, dh) = orientation.display_size(
            frame.width(),
            frame.height(),
            (sar.numerator(), sar.denominator()),
        );
        self.size.apply(dw, dh)
    }

    /// Converts one decoded picture to upright RGB24 at the output size, then turns it. Scalers
    /// and buffers are reused across frames of the same size and format.
    ///
    /// At the decoded size one swscale pass converts (its SIMD yuv→rgb path). When the size
    /// changes (a non-square pixel aspect, `--max-side`), scaling straight to packed RGB runs
    /// swscale's generic C output path, ~9 ms for a 720×1280 frame; so yuv420p planes are scaled
    /// first (SIMD, same format and range) and then converted at the new size.
    fn convert(
        &mut self,
        frame: &ffmpeg::frame::Video,
        orientation: Orientation,
    ) -> Result<RgbPicture<'_>, ItemError> {
        let (out_w, out_h) = self.output_size(frame, orientation);
        // Scale in the stored orientation; turning comes after.
        let (scale_w, scale_h) = if orientation.transpose {
            (out_h, out_w)
        } else {
            (out_w, out_h)
        };
        let tone_yuv = self.tone.is_some() && frame.format() == Pixel::YUV420P10LE;
        let planar = matches!(frame.format(), Pixel::YUV420P | Pixel::YUV420P10LE)
            && (tone_yuv || frame.format() == Pixel::YUV420P)
            && (scale_w, scale_h) != (frame.width(), frame.height())
            && scale_w % 2 == 0
            && scale_h % 2 == 0;
        let source: &ffmpeg::frame::Video = if planar {
            let planar_key = (frame.width(), frame.height(), scale_w, scale_h);
            if self
                .planar
                .as_ref()
                .map(|(k, _)| *k != planar_key)
                .unwrap_or(true)
            {
                let ctx = scaling::Context::get(
                    frame.format(),
                    frame.width(),
                    frame.height(),
                    frame.format(),
                    scale_w,
                    scale_h,
                    scaling::Flags::BICUBIC,
                )
                .map_err(|e| encode_error("creating the scaler", e))?;
                self.planar = Some((planar_key, ctx));
                self.planes = ffmpeg::frame::Video::empty();
            }
            let (_, scaler) = self.planar.as_mut().expect("scaler was just set");
            scaler
                .run(frame, &mut self.planes)
                .map_err(|e| encode_error("scaling", e))?;
            &self.planes
        } else {
            frame
        };
        let at_size = (source.width(), source.height()) == (scale_w, scale_h);
        if let (true, Some(tone)) = (tone_yuv && at_size, &mut self.tone) {
            let full_range = is_full_range(frame.format(), frame.color_range());
            tone.map_yuv420p10(source, full_range, &mut self.mapped);
            let (w, h) = (source.width(), source.height());
            return Ok(finish_turn(
                &self.mapped,
                (w, h, w as usize * 3),
                (out_w, out_h),
                orientation,
                &mut self.turned,
            ));
        }
        let key = ScalerKey {
            format: source.format(),
            width: source.width(),
            height: source.height(),
            out_width: scale_w,
            out_height: scale_h,
            full_range: is_full_range(frame.format(), frame.color_range()),
            matrix: sws_matrix(frame.color_space()),
            output: if self.tone.is_some() {
                Pixel::RGB48LE
            } else {
                Pixel::RGB24
            },
        };
        if self.scaler.as_ref().map(|(k, _)| *k != key).unwrap_or(true) {
            let mut ctx = scaling::Context::get(
                key.format,
                key.width,
                key.height,
                key.output,
                key.out_width,
                key.out_height,
                scaling::Flags::BICUBIC,
            )
            .map_err(|e| encode_error("creating the colour converter", e))?;
            ffi::set_sws_colorspace(&mut ctx, key.matrix, key.full_range);
            self.scaler = Some((key, ctx));
            self.rgb = ffmpeg::frame::Video::empty();
        }
        let (_, scaler) = self.scaler.as_mut().expect("scaler was just set");
        scaler
            .run(source, &mut self.rgb)
            .map_err(|e| encode_error("converting to RGB", e))?;
        let (data, stride) = match &mut self.tone {
            Some(tone) => {
                let (w, h) = (scale_w as usize, scale_h as usize);
                tone.map(self.rgb.data(0), w, h, self.rgb.stride(0), &mut self.mapped);
                (&self.mapped[..], w * 3)
            }
            None => (self.rgb.data(0), self.rgb.stride(0)),
        };
        Ok(finish_turn(
            data,
            (scale_w, scale_h, stride),
            (out_w, out_h),
            orientation,
            &mut self.turned,
        ))
    }
}

/// The RGB24 picture `data` (`width`×`height`, rows `pitch` bytes apart) turned upright: as it is,
/// or turned into `turned`.
fn finish_turn<'a>(
    data: &'a [u8],
    (width, height, pitch): (u32, u32, usize),
    (out_w, out_h): (u32, u32),
    orientation: Orientation,
    turned: &'a mut Vec<u8>,
) -> RgbPicture<'a> {
    if orientation == Orientation::default() {
        RgbPicture {
            pixels: data,
            width,
            height,
            pitch,
        }
    } else {
        turn_rgb(data, width, height, pitch, orientation, turned);
        RgbPicture {
            pixels: turned,
            width: out_w,
            height: out_h,
            pitch: out_w as usize * 3,
        }
    }
}

/// Writes `src` (RGB24, `w`×`h`, rows `stride` bytes apart) turned by `o` into `dst` (packed).
///
/// Row-preserving turns copy rows (reversed for a mirror); transposing turns go through 32×32
/// tiles so that both the rows read and the rows written stay in cache.
pub fn turn_rgb(src: &[u8], w: u32, h: u32, stride: usize, o: Orientation, dst: &mut Vec<u8>) {
    let (w, h) = (w as usize, h as usize);
    let (ow, oh) = if o.transpose { (h, w) } else { (w, h) };
    // Every byte is written below: only the length needs setting.
    dst.resize(ow * oh * 3, 0);
    if w == 0 || h == 0 {
        return;
    }
    assert!(
        src.len() >= (h - 1) * stride + w * 3,
        "source buffer too small"
    );
    if !o.transpose {
        for (oy, row) in dst.chunks_exact_mut(ow * 3).enumerate() {
            let fy = if o.vflip { oh - 1 - oy } else { oy };
            let from = &src[fy * stride..fy * stride + w * 3];
            if o.hflip {
                for (d, s) in row.chunks_exact_mut(3).zip(from.chunks_exact(3).rev()) {
                    d.copy_from_slice(s);
                }
            } else {
                row.copy_from_slice(from);
            }
        }
        return;
    }
    const TILE: usize = 32;
    for ty in (0..oh).step_by(TILE) {
        for tx in (0..ow).step_by(TILE) {
            let x_end = (tx + TILE).min(ow);
            for oy in ty..(ty + TILE).min(oh) {
                // Output row oy reads source column sx; output column ox reads source row sy.
                let sx = if o.vflip { oh - 1 - oy } else { oy };
                let row = &mut dst[(oy * ow + tx) * 3..(oy * ow + x_end) * 3];
                for (ox, d) in (tx..x_end).zip(row.chunks_exact_mut(3)) {
                    let sy = if o.hflip { ow - 1 - ox } else { ox };
                    let at = sy * stride + sx * 3;
                    d.copy_from_slice(&src[at..at + 3]);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn size_spec_preserves_aspect_and_never_upscales_with_max_side() {
        assert_eq!(SizeSpec::default().apply(720, 1280), (720, 1280));
        let max = SizeSpec {
            max_side: Some(640),
            ..Default::default()
        };
        assert_eq!(max.apply(720, 1280), (360, 640));
        assert_eq!(max.apply(320, 240), (320, 240));
        let w = SizeSpec {
            width: Some(360),
            ..Default::default()
        };
        assert_eq!(w.apply(720, 1280), (360, 640));
        let box_ = SizeSpec {
            width: Some(100),
            height: Some(100),
            ..Default::default()
        };
        assert_eq!(box_.apply(720, 1280), (56, 100));
    }

    /// A 3×2 picture whose pixels encode their own coordinates.
    fn grid() -> Vec<u8> {
        let mut v = Vec::new();
        for y in 0..2u8 {
            for x in 0..3u8 {
                v.extend_from_slice(&[x, y, 0]);
            }
        }
        v
    }

    fn at(buf: &[u8], w: usize, x: usize, y: usize) -> (u8, u8) {
        (buf[(y * w + x) * 3], buf[(y * w + x) * 3 + 1])
    }

    #[test]
    fn clockwise_turn_puts_the_bottom_left_pixel_top_left() {
        let mut out = Vec::new();
        let clock = Orientation {
            transpose: true,
            hflip: true,
            vflip: false,
        };
        turn_rgb(&grid(), 3, 2, 9, clock, &mut out);
        // 2 wide, 3 high; top-left comes from source (0, 1), top-right from (0, 0)
        assert_eq!(at(&out, 2, 0, 0), (0, 1));
        assert_eq!(at(&out, 2, 1, 0), (0, 0));
        assert_eq!(at(&out, 2, 1, 2), (2, 0));
    }

    /// The plain per-pixel definition the tiled turn must agree with.
    fn naive_turn(src: &[u8], w: usize, h: usize, stride: usize, o: Orientation) -> Vec<u8> {
        let (ow, oh) = if o.transpose { (h, w) } else { (w, h) };
        let mut dst = vec![0; ow * oh * 3];
        for oy in 0..oh {
            let fy = if o.vflip { oh - 1 - oy } else { oy };
            for ox in 0..ow {
                let fx = if o.hflip { ow - 1 - ox } else { ox };
                let (sx, sy) = if o.transpose { (fy, fx) } else { (fx, fy) };
                let s = sy * stride + sx * 3;
                dst[(oy * ow + ox) * 3..(oy * ow + ox) * 3 + 3].copy_from_slice(&src[s..s + 3]);
            }
        }
        dst
    }

    #[test]
    fn tiled_turn_matches_the_per_pixel_definition_for_every_orientation() {
        let (w, h, stride) = (70usize, 45usize, 70 * 3 + 5);
        let src: Vec<u8> = (0..stride * h).map(|i| (i * 7 % 251) as u8).collect();
        let mut out = Vec::new();
        for bits in 0..8 {
            let o = Orientation {
                transpose: bits & 1 != 0,
                hflip: bits & 2 != 0,
                vflip: bits & 4 != 0,
            };
            turn_rgb(&src, w as u32, h as u32, stride, o, &mut out);
            assert_eq!(out, naive_turn(&src, w, h, stride, o), "{o:?}");
        }
    }

    #[test]
    fn half_turn_reverses_both_axes() {
        let mut out = Vec::new();
        turn_rgb(
            &grid(),
            3,
            2,
            9,
            Orientation {
                transpose: false,
                hflip: true,
                vflip: true,
            },
            &mut out,
        );
        assert_eq!(at(&out, 3, 0, 0), (2, 1));
        assert_eq!(at(&out, 3, 2, 1), (0, 0));
    }
}
