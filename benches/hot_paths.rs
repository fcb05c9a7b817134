//! Per-stage costs of the extraction hot path, each on its own: decode + sample one clip per
//! sampling mode (no encoding), YUV → RGB conversion with scaling at 720×1280 and 1080×1920, and
//! JPEG encoding with each candidate encoder at quality 90, 4:2:0.
//!
//! `cargo bench --bench hot_paths` (about a minute).

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion};
use ffmpeg_next as ffmpeg;
use reelframe::pipeline::deadline::Deadline;
use reelframe::pipeline::decode::{decode_targets, DecodeOptions};
use reelframe::pipeline::demux::{init_ffmpeg, OpenVideo, Orientation};
use reelframe::pipeline::encode::{FrameEncoder, SizeSpec};
use reelframe::pipeline::sample::{plan, Sampling, SamplingMode};
use reelframe::pipeline::source::VideoData;
use std::path::PathBuf;
use std::time::Duration;

fn sample(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("samples")
        .join(name)
}

/// Opens, scans, plans and decodes the targets of `path`, handing each frame to `on_frame`.
fn decode_clip(
    path: &PathBuf,
    mode: SamplingMode,
    mut on_frame: impl FnMut(&ffmpeg::frame::Video),
) -> u64 {
    let data = VideoData::File(path.clone());
    let bytes = std::fs::metadata(path).unwrap().len();
    let deadline = Deadline::after(Duration::from_secs(60));
    let mut video = OpenVideo::open(&data, bytes, deadline).unwrap();
    let sampling = Sampling {
        mode,
        max_ms: 60_000,
        tolerance_ms: 0,
    };
    let timeline = video.scan(sampling.max_ms, deadline).unwrap();
    let plan = plan(&timeline, &sampling).unwrap();
    let stats = decode_targets(
        &mut video,
        &data,
        &timeline,
        &plan,
        DecodeOptions::default(),
        deadline,
        |_, frame| {
            on_frame(frame);
            Ok(())
        },
    )
    .unwrap();
    stats.frames_decoded
}

/// A decoded frame of the portrait sample, scaled (yuv420p, limited range) to `w`×`h`.
fn frame_at(w: u32, h: u32) -> ffmpeg::frame::Video {
    let mut first = None;
    decode_clip(
        &sample("portrait_h264_aac.mp4"),
        SamplingMode::Frames(1),
        |f| {
            first.get_or_insert_with(|| f.clone());
        },
    );
    let src = first.unwrap();
    let mut scaler = ffmpeg::software::scaling::Context::get(
        src.format(),
        src.width(),
        src.height(),
        ffmpeg::format::Pixel::YUV420P,
        w,
        h,
        ffmpeg::software::scaling::Flags::BICUBIC,
    )
    .unwrap();
    let mut out = ffmpeg::frame::Video::empty();
    scaler.run(&src, &mut out).unwrap();
    out.set_color_range(ffmpeg::color::Range::MPEG);
    out.set_color_space(ffmpeg::color::Space::BT709);
    out
}

fn decode(c: &mut Criterion) {
    init_ffmpeg(false);
    let mut group = c.benchmark_group("decode_sample");
    group
        .sample_size(10)
        .measurement_time(Duration::from_secs(2));
    let clip = sample("portrait_h264_aac.mp4");
    for (label, mode) in [
        ("fps1", SamplingMode::Fps { num: 1, den: 1 }),
        ("frames10", SamplingMode::Frames(10)),
        ("keyframes", SamplingMode::Keyframes),
    ] {
        group.bench_function(label, |b| b.iter(|| decode_clip(&clip, mode, |_| {})));
    }
    group.finish();
}

fn convert(c: &mut Criterion) {
    init_ffmpeg(false);
    let mut group = c.benchmark_group("yuv420p_to_rgb24");
    group
        .sample_size(20)
        .measurement_time(Duration::from_secs(2));
    let upright = Orientation::default();
    let quarter = Orientation {
        transpose: true,
        hflip: true,
        vflip: false,
    };
    for (w, h) in [(720, 1280), (1080, 1920)] {
        let frame = frame_at(w, h);
        let mut encoder = FrameEncoder::new(90, SizeSpec::default()).unwrap();
        group.bench_function(BenchmarkId::new("upright", format!("{w}x{h}")), |b| {
            b.iter(|| encoder.convert(&frame, upright).unwrap().pixels.len())
        });
        group.bench_function(BenchmarkId::new("turned_90", format!("{w}x{h}")), |b| {
            b.iter(|| encoder.convert(&frame, quarter).unwrap().pixels.len())
        });
        let mut half = FrameEncoder::new(
            90,
            SizeSpec {
                max_side: Some(h / 2),
                ..SizeSpec::default()
            },
        )
        .unwrap();
        group.bench_function(BenchmarkId::new("half_size", format!("{w}x{h}")), |b| {
            b.iter(|| half.convert(&frame, upright).unwrap().pixels.len())
        });
    }
    group.finish();
}

fn jpeg(c: &mut Criterion) {
    init_ffmpeg(false);
    let mut group = c.benchmark_group("jpeg_q90_420");
    group
        .sample_size(10)
        .measurement_time(Duration::from_secs(2));
    for (w, h) in [(720u32, 1280u32), (1080, 1920)] {
        let frame = frame_at(w, h);
        let mut encoder = FrameEncoder::new(90, SizeSpec::default()).unwrap();
        let picture = encoder.convert(&frame, Orientation::default()).unwrap();
        let rgb: Vec<u8> = (0..h as usize)
            .flat_map(|y| &picture.pixels[y * picture.pitch..y * picture.pitch + w as usize * 3])
            .copied()
            .collect();
        let size = format!("{w}x{h}");
        let mut compressor = turbojpeg::Compressor::new().unwrap();
        compressor.set_quality(90).unwrap();
        compressor.set_subsamp(turbojpeg::Subsamp::Sub2x2).unwrap();
        group.bench_function(BenchmarkId::new("turbojpeg", &size), |b| {
            b.iter(|| {
                compressor
                    .compress_to_vec(turbojpeg::Image {
                        pixels: rgb.as_slice(),
                        width: w as usize,
                        pitch: w as usize * 3,
                        height: h as usize,
                        format: turbojpeg::PixelFormat::RGB,
                    })
                    .unwrap()
                    .len()
            })
        });
        group.bench_function(BenchmarkId::new("jpeg-encoder", &size), |b| {
            b.iter(|| {
                let mut out = Vec::new();
                let mut enc = jpeg_encoder::Encoder::new(&mut out, 90);
                enc.set_sampling_factor(jpeg_encoder::SamplingFactor::R_4_2_0);
                enc.encode(&rgb, w as u16, h as u16, jpeg_encoder::ColorType::Rgb)
                    .unwrap();
                out.len()
            })
        });
        group.bench_function(BenchmarkId::new("image", &size), |b| {
            b.iter(|| {
                let mut out = Vec::new();
                image::codecs::jpeg::JpegEncoder::new_with_quality(&mut out, 90)
                    .encode(&rgb, w, h, image::ExtendedColorType::Rgb8)
                    .unwrap();
                out.len()
            })
        });
    }
    group.finish();
}

criterion_group!(benches, decode, convert, jpeg);
criterion_main!(benches);
