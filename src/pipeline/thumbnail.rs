/*!
Stage ④ (thumbnail): choose one representative frame among those already decoded.

Like FFmpeg's `thumbnail` filter, every candidate's colour histogram is compared with the mean
histogram of all candidates and the closest frame wins; frames that are nearly flat (black,
blank, fades) are passed over while any other frame exists. The winner's JPEG is decoded once and
scaled down to the thumbnail size.
*/

use crate::error::{ErrorKind, ItemError};

/// Bins per colour channel.
const BINS: usize = 32;
/// At most this many frames (the first ones) are candidates; bounds memory per video.
pub const MAX_CANDIDATES: usize = 100;
/// A frame whose luma varies less than this (standard deviation, 0–255) counts as flat.
const FLAT_LUMA_STD: f64 = 10.0;

/// Colour statistics of one picture, from a subsample of its pixels.
#[derive(Debug, Clone, PartialEq)]
pub struct FrameStats {
    /// Normalised histogram: `BINS` bins for R, then G, then B.
    pub histogram: Vec<f32>,
    /// Mean luma (0–255).
    pub mean_luma: f64,
    /// Standard deviation of luma.
    pub luma_std: f64,
}

impl FrameStats {
    /// Statistics of an RGB24 picture (every 4th pixel of every 4th row).
    pub fn of_rgb(pixels: &[u8], width: u32, height: u32, pitch: usize) -> FrameStats {
        let mut counts = vec![0u32; BINS * 3];
        let (mut sum, mut sum_sq, mut n) = (0f64, 0f64, 0f64);
        for y in (0..height as usize).step_by(4) {
            let row = &pixels[y * pitch..y * pitch + width as usize * 3];
            for px in row.chunks_exact(3).step_by(4) {
                let (r, g, b) = (px[0], px[1], px[2]);
                counts[r as usize * BINS / 256] += 1;
                counts[BINS + g as usize * BINS / 256] += 1;
                counts[2 * BINS + b as usize * BINS / 256] += 1;
                let luma = 0.299 * r as f64 + 0.587 * g as f64 + 0.114 * b as f64;
                sum += luma;
                sum_sq += luma * luma;
                n += 1.0;
            }
        }
        let n = n.max(1.0);
        let mean = sum / n;
        FrameStats {
            histogram: counts.iter().map(|&c| c as f32 / n as f32).collect(),
            mean_luma: mean,
            luma_std: (sum_sq / n - mean * mean).max(0.0).sqrt(),
        }
    }

    fn is_flat(&self) -> bool {
        self.luma_std < FLAT_LUMA_STD
    }
}

/// Collects candidates as frames are encoded and picks the representative one at the end.
#[derive(Default)]
pub struct ThumbnailPicker {
    candidates: Vec<(usize, FrameStats, Vec<u8>)>,
}

impl ThumbnailPicker {
    /// Offers the frame at output position `index` with its statistics and JPEG.
    pub fn offer(&mut self, index: usize, stats: &FrameStats, jpeg: &[u8]) {
        if self.candidates.len() < MAX_CANDIDATES {
            self.candidates.push((index, stats.clone(), jpeg.to_vec()));
        }
    }

    /// The chosen frame's output position and JPEG, if any frame was offered.
    pub fn pick(&self) -> Option<(usize, &[u8])> {
        let pool: Vec<&(usize, FrameStats, Vec<u8>)> = {
            let lively: Vec<_> = self.candidates.iter().filter(|c| !c.1.is_flat()).collect();
            if lively.is_empty() {
                self.candidates.iter().collect()
            } else {
                lively
            }
        };
        let first = pool.first()?;
        let mut mean = vec![0f64; first.1.histogram.len()];
        for c in &pool {
            for (m, h) in mean.iter_mut().zip(&c.1.histogram) {
                *m += *h as f64;
            }
        }
        mean.iter_mut().for_each(|m| *m /= pool.len() as f64);
        let error = |s: &FrameStats| -> f64 {
            s.histogram
                .iter()
                .zip(&mean)
                .map(|(h, m)| (*h as f64 - m).powi(2))
                .sum()
        };
        pool.iter()
            .min_by(|a, b| error(&a.1).total_cmp(&error(&b.1)))
            .map(|c| (c.0, c.2.as_slice()))
    }
}

/// Re-encodes `jpeg` with its longest side at most `max_side` (0 = unchanged size).
pub fn make_thumbnail(
    jpeg: &[u8],
    max_side: u32,
    quality: u8,
) -> Result<(Vec<u8>, u32, u32), ItemError> {
    let err = |what: &str, e: &dyn std::fmt::Display| {
        ItemError::new(ErrorKind::EncodeFailed, format!("thumbnail: {what}: {e}"))
    };
    let decoded = turbojpeg::decompress(jpeg, turbojpeg::PixelFormat::RGB)
        .map_err(|e| err("decoding", &e))?;
    let (w, h) = (decoded.width as u32, decoded.height as u32);
    let img = image::RgbImage::from_raw(w, h, decoded.pixels)
        .ok_or_else(|| err("decoding", &"unexpected buffer size"))?;
    let img = if max_side > 0 && w.max(h) > max_side {
        let s = max_side as f64 / w.max(h) as f64;
        let (tw, th) = (
            ((w as f64 * s).round() as u32).max(1),
            ((h as f64 * s).round() as u32).max(1),
        );
        image::imageops::resize(&img, tw, th, image::imageops::FilterType::Triangle)
    } else {
        img
    };
    let (tw, th) = img.dimensions();
    let out = turbojpeg::compress(
        turbojpeg::Image {
            pixels: img.as_raw().as_slice(),
            width: tw as usize,
            pitch: tw as usize * 3,
            height: th as usize,
            format: turbojpeg::PixelFormat::RGB,
        },
        quality as i32,
        turbojpeg::Subsamp::Sub2x2,
    )
    .map_err(|e| err("encoding", &e))?;
    Ok((out.to_vec(), tw, th))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn solid(v: u8) -> Vec<u8> {
        vec![v; 16 * 16 * 3]
    }

    fn noisy(seed: u8) -> Vec<u8> {
        (0..16 * 16 * 3)
            .map(|i| ((i as u32 * 37 + seed as u32 * 11) % 256) as u8)
            .collect()
    }

    #[test]
    fn black_frames_are_not_chosen_while_others_exist() {
        let mut p = ThumbnailPicker::default();
        for (i, px) in [solid(0), noisy(1), solid(0), noisy(2), solid(0)]
            .iter()
            .enumerate()
        {
            p.offer(i, &FrameStats::of_rgb(px, 16, 16, 48), &[i as u8]);
        }
        let (index, _) = p.pick().unwrap();
        assert!(index == 1 || index == 3, "picked {index}");
    }

    #[test]
    fn all_flat_still_yields_a_thumbnail() {
        let mut p = ThumbnailPicker::default();
        p.offer(0, &FrameStats::of_rgb(&solid(0), 16, 16, 48), b"x");
        assert_eq!(p.pick().unwrap().0, 0);
        assert!(ThumbnailPicker::default().pick().is_none());
    }
}
