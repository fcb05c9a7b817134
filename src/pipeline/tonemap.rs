/*!
Stage ④ (HDR): PQ and HLG pictures tone-mapped to SDR BT.709, on the RGB path.

A 10-bit HDR picture converted as if it were SDR comes out dim and washed out. When the stream's
transfer is PQ (SMPTE ST 2084, HDR10) or HLG (ARIB STD-B67), swscale converts the YUV picture to
16-bit R'G'B' with the stream's matrix (BT.2020), and this module maps each pixel, with lookup
tables built once per video:

1. **To display light**, in units of the BT.2408 reference white (203 cd/m² = 1.0): PQ through its
   EOTF; HLG through its inverse OETF and the BT.2100 OOTF of a 1000 cd/m² display (system gamma
   1.2 on the BT.2020 luminance), which puts HLG's 75 % signal at 203 cd/m², as BT.2408 says.
2. **BT.2020 → BT.709 gamut** (3×3 matrix on linear light; out-of-gamut values clip at 0).
3. **Highlights** above reference white are compressed by the BT.2390 EETF (a Hermite knee in the
   PQ domain) from the picture's own peak down to SDR white, applied to max(R, G, B) so hues keep;
   nothing at or below the knee changes, so reference white stays SDR white when the picture has
   no brighter highlights. The peak is the picture's 99.99th-percentile brightest channel (at
   least reference white): dynamic, per picture, as mpv's and libplacebo's peak detection.
4. **To SDR**: BT.1886 (gamma 2.4) inverse EOTF, 8 bits.

`--hdr passthrough` skips all of it and keeps swscale's plain conversion.
*/

use rayon::prelude::*;
use serde::{Deserialize, Serialize};

/// An HDR transfer function.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Hdr {
    /// SMPTE ST 2084 perceptual quantiser (HDR10, Dolby Vision base layers).
    Pq,
    /// ARIB STD-B67 hybrid log-gamma (broadcast, many phones).
    Hlg,
}

impl Hdr {
    /// The HDR transfer a stream's transfer characteristic names, if any.
    pub fn of_transfer(trc: ffmpeg_next::color::TransferCharacteristic) -> Option<Hdr> {
        use ffmpeg_next::color::TransferCharacteristic as T;
        match trc {
            T::SMPTE2084 => Some(Hdr::Pq),
            T::ARIB_STD_B67 => Some(Hdr::Hlg),
            _ => None,
        }
    }
}

/// What to do with HDR video.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
pub enum HdrMode {
    /// Tone-map PQ and HLG to SDR BT.709 (the default).
    #[default]
    ToneMap,
    /// Convert HDR pictures as if they were SDR (the raw conversion, dim).
    Passthrough,
}

/// BT.2408 reference white in cd/m².
const REFERENCE_WHITE: f64 = 203.0;
/// Nominal peak of the HLG reference display in cd/m² (BT.2100).
const HLG_PEAK: f64 = 1000.0;
/// Entries of the highlight gain table over [knee, peak].
const GAIN_STEPS: usize = 1024;
/// Entries of the SDR output table over [0, 1] linear.
const OUT_STEPS: usize = 1 << 14;

/// BT.2020 → BT.709 on linear RGB (BT.2087).
const BT2020_TO_BT709: [[f32; 3]; 3] = [
    [1.660_491, -0.587_641, -0.072_850],
    [-0.124_550, 1.132_899, -0.008_349],
    [-0.018_151, -0.100_579, 1.118_73],
];

/// PQ inverse EOTF: cd/m² → signal in [0, 1].
fn pq_encode(nits: f64) -> f64 {
    let (m1, m2) = (2610.0 / 16384.0, 2523.0 / 4096.0 * 128.0);
    let (c1, c2, c3) = (
        3424.0 / 4096.0,
        2413.0 / 4096.0 * 32.0,
        2392.0 / 4096.0 * 32.0,
    );
    let y = (nits / 10000.0).clamp(0.0, 1.0).powf(m1);
    ((c1 + c2 * y) / (1.0 + c3 * y)).powf(m2)
}

/// PQ EOTF: signal in [0, 1] → cd/m².
fn pq_decode(signal: f64) -> f64 {
    let (m1, m2) = (2610.0 / 16384.0, 2523.0 / 4096.0 * 128.0);
    let (c1, c2, c3) = (
        3424.0 / 4096.0,
        2413.0 / 4096.0 * 32.0,
        2392.0 / 4096.0 * 32.0,
    );
    let p = signal.clamp(0.0, 1.0).powf(1.0 / m2);
    10000.0 * ((p - c1).max(0.0) / (c2 - c3 * p)).powf(1.0 / m1)
}

/// HLG inverse OETF: signal in [0, 1] → normalised scene light in [0, 1].
fn hlg_scene_light(signal: f64) -> f64 {
    let (a, b) = (0.178_832_77, 0.284_668_92);
    let c = 0.559_910_73;
    let e = signal.clamp(0.0, 1.0);
    if e <= 0.5 {
        e * e / 3.0
    } else {
        (((e - c) / a).exp() + b) / 12.0
    }
}

/// The BT.2390 EETF on display light relative to reference white: maps `peak` (≥ 1) to 1.0 with
/// a Hermite knee in the PQ domain; identity below the knee.
fn eetf(light: f64, peak: f64) -> f64 {
    if peak <= 1.0 {
        return light.min(1.0);
    }
    let source_max = pq_encode(peak * REFERENCE_WHITE);
    let e1 = pq_encode(light * REFERENCE_WHITE) / source_max;
    let max_lum = pq_encode(REFERENCE_WHITE) / source_max;
    let knee = 1.5 * max_lum - 0.5;
    let e2 = if e1 < knee {
        e1
    } else {
        let t = ((e1 - knee) / (1.0 - knee)).min(1.0);
        let (t2, t3) = (t * t, t * t * t);
        (2.0 * t3 - 3.0 * t2 + 1.0) * knee
            + (t3 - 2.0 * t2 + t) * (1.0 - knee)
            + (-2.0 * t3 + 3.0 * t2) * max_lum
    };
    pq_decode(e2 * source_max) / REFERENCE_WHITE
}

/// Steps of the signal (R'G'B' in [0, 1]) the tables are indexed by: 12 bits, 4× a 10-bit
/// source's, so the tables stay in the L1 cache.
const SIGNAL_STEPS: usize = 4095;

/// The planes of a yuv420p10le picture (data, stride) and how to read its samples.
struct Yuv420p10<'a> {
    y: (&'a [u8], usize),
    u: (&'a [u8], usize),
    v: (&'a [u8], usize),
    width: usize,
    y_off: f32,
    y_scale: f32,
    c_scale: f32,
}

impl Yuv420p10<'_> {
    /// Hands `each` the R'G'B' of every pixel of `row` as table indices (BT.2020 NCL matrix:
    /// Kr = 0.2627, Kb = 0.0593), the chroma of each pixel pair computed once.
    #[inline(always)]
    fn row(&self, row: usize, mut each: impl FnMut(usize, [usize; 3])) {
        let (rv, gu, gv, bu) = (1.4746f32, -0.164_553f32, -0.571_353f32, 1.8814f32);
        let sample = |plane: &[u8], at: usize| u16::from_le_bytes([plane[at], plane[at + 1]]);
        let y_row = &self.y.0[row * self.y.1..];
        let u_row = &self.u.0[(row / 2) * self.u.1..];
        let v_row = &self.v.0[(row / 2) * self.v.1..];
        for cx in 0..self.width.div_ceil(2) {
            let u = (sample(u_row, 2 * cx) as f32 - 512.0) * self.c_scale;
            let v = (sample(v_row, 2 * cx) as f32 - 512.0) * self.c_scale;
            let (dr, dg, db) = (rv * v, gu * u + gv * v, bu * u);
            for x in [2 * cx, 2 * cx + 1] {
                if x < self.width {
                    let y = (sample(y_row, 2 * x) as f32 - self.y_off) * self.y_scale;
                    each(x, [index(y + dr), index(y + dg), index(y + db)]);
                }
            }
        }
    }
}

/// The lookup tables of one HDR video; [`ToneMapper::map`] applies them to a picture.
pub struct ToneMapper {
    hdr: Hdr,
    /// 12-bit signal → PQ: display light (1.0 = reference white); HLG: scene light.
    to_linear: Vec<f32>,
    /// HLG only: BT.2020 scene luminance (×[`OUT_STEPS`]) → OOTF gain to display light.
    hlg_gain: Vec<f32>,
    /// 12-bit signal → display light of that signal as the brightest channel (peak detection).
    signal_light: Vec<f32>,
    /// SDR linear (×[`OUT_STEPS`]) → 8-bit BT.1886 code.
    to_sdr: Vec<u8>,
    /// The peak the gain table was built for, and the table: gain at `knee + i·step`.
    gain_peak: f64,
    knee: f32,
    gain_step: f32,
    gain: Vec<f32>,
    histogram: Vec<u32>,
}

/// A signal value in [0, 1] as a table index.
#[inline(always)]
fn index(signal: f32) -> usize {
    (signal.clamp(0.0, 1.0) * SIGNAL_STEPS as f32 + 0.5) as usize
}

impl ToneMapper {
    /// The tables for `hdr` video.
    pub fn new(hdr: Hdr) -> ToneMapper {
        let to_linear: Vec<f32> = (0..=SIGNAL_STEPS)
            .map(|i| {
                let signal = i as f64 / SIGNAL_STEPS as f64;
                (match hdr {
                    Hdr::Pq => pq_decode(signal) / REFERENCE_WHITE,
                    Hdr::Hlg => hlg_scene_light(signal),
                }) as f32
            })
            .collect();
        let hlg_gain = match hdr {
            Hdr::Pq => Vec::new(),
            Hdr::Hlg => (0..=OUT_STEPS)
                .map(|i| {
                    let ys = (i as f64 / OUT_STEPS as f64).max(1e-6);
                    (HLG_PEAK / REFERENCE_WHITE * ys.powf(0.2)) as f32
                })
                .collect(),
        };
        let signal_light = to_linear
            .iter()
            .map(|&l| {
                let l = l as f64;
                (match hdr {
                    Hdr::Pq => l,
                    // a grey pixel of that scene light, through the OOTF
                    Hdr::Hlg => HLG_PEAK / REFERENCE_WHITE * l.max(1e-6).powf(1.2),
                }) as f32
            })
            .collect();
        let to_sdr = (0..=OUT_STEPS)
            .map(|i| {
                let l = i as f64 / OUT_STEPS as f64;
                (l.powf(1.0 / 2.4) * 255.0).round() as u8
            })
            .collect();
        ToneMapper {
            hdr,
            to_linear,
            hlg_gain,
            signal_light,
            to_sdr,
            gain_peak: f64::NAN,
            knee: 1.0,
            gain_step: 1.0,
            gain: Vec::new(),
            histogram: vec![0; SIGNAL_STEPS + 1],
        }
    }

    /// The transfer this mapper decodes.
    pub fn hdr(&self) -> Hdr {
        self.hdr
    }

    /// Builds the highlight gain table for `peak` (display light, 1.0 = reference white).
    fn set_peak(&mut self, peak: f64) {
        if (peak - self.gain_peak).abs() < 1e-3 {
            return;
        }
        self.gain_peak = peak;
        if peak <= 1.0 {
            self.knee = 1.0;
            self.gain = vec![1.0; 2];
            self.gain_step = 1.0;
            return;
        }
        // the knee in linear light: below it the EETF is the identity
        let source_max = pq_encode(peak * REFERENCE_WHITE);
        let max_lum = pq_encode(REFERENCE_WHITE) / source_max;
        let knee = pq_decode((1.5 * max_lum - 0.5).max(0.0) * source_max) / REFERENCE_WHITE;
        self.knee = knee as f32;
        let step = (peak - knee) / GAIN_STEPS as f64;
        self.gain_step = step as f32;
        self.gain = (0..=GAIN_STEPS + 1)
            .map(|i| {
                let l = knee + i as f64 * step;
                (eetf(l.min(peak), peak) / l.max(1e-9)) as f32
            })
            .collect();
    }

    /// Sets the peak from the histogram of brightest-channel signal indices: the 99.99th
    /// percentile, at least reference white.
    fn peak_from_histogram(&mut self) {
        let total: u64 = self.histogram.iter().map(|&h| h as u64).sum();
        let allowed = total / 10_000;
        let mut above = 0u64;
        let mut bin = self.histogram.len() - 1;
        while bin > 0 {
            above += self.histogram[bin] as u64;
            if above > allowed {
                break;
            }
            bin -= 1;
        }
        let peak = (self.signal_light[bin] as f64).max(1.0);
        self.set_peak(peak);
        self.histogram.iter_mut().for_each(|h| *h = 0);
    }

    /// One pixel: 12-bit R'G'B' indices → SDR BT.709, 8 bits.
    #[inline(always)]
    fn pixel(&self, r: usize, g: usize, b: usize, out: &mut [u8]) {
        let m = &BT2020_TO_BT709;
        let lin = &self.to_linear[..SIGNAL_STEPS + 1];
        let scale = OUT_STEPS as f32;
        let (mut r, mut g, mut b) = (
            lin[r.min(SIGNAL_STEPS)],
            lin[g.min(SIGNAL_STEPS)],
            lin[b.min(SIGNAL_STEPS)],
        );
        if self.hdr == Hdr::Hlg {
            let ys = (0.2627 * r + 0.6780 * g + 0.0593 * b).clamp(0.0, 1.0);
            let k = self.hlg_gain[(ys * scale) as usize];
            (r, g, b) = (r * k, g * k, b * k);
        }
        let r7 = (m[0][0] * r + m[0][1] * g + m[0][2] * b).max(0.0);
        let g7 = (m[1][0] * r + m[1][1] * g + m[1][2] * b).max(0.0);
        let b7 = (m[2][0] * r + m[2][1] * g + m[2][2] * b).max(0.0);
        let top = r7.max(g7).max(b7);
        let gain = if top <= self.knee {
            1.0
        } else {
            let last = self.gain.len() - 2;
            let x = ((top - self.knee) / self.gain_step).min(last as f32);
            let i = (x as usize).min(last);
            let f = x - i as f32;
            self.gain[i] + (self.gain[i + 1] - self.gain[i]) * f
        };
        let sdr = &self.to_sdr[..OUT_STEPS + 1];
        let code = |v: f32| sdr[((v * gain).min(1.0) * scale + 0.5) as usize];
        out[0] = code(r7);
        out[1] = code(g7);
        out[2] = code(b7);
    }

    /// Converts and tone-maps a 10-bit 4:2:0 picture (yuv420p10le planes, BT.2020
    /// non-constant-luminance matrix; limited range unless `full_range`) straight into `out`
    /// (packed RGB24), chroma from the nearest sample as swscale's unscaled conversion takes it.
    /// swscale's own 10-bit → RGB conversion runs its generic C path, several times slower.
    pub fn map_yuv420p10(
        &mut self,
        frame: &ffmpeg_next::frame::Video,
        full_range: bool,
        out: &mut Vec<u8>,
    ) {
        let (width, height) = (frame.width() as usize, frame.height() as usize);
        out.resize(width * height * 3, 0);
        let (y_off, y_scale, c_scale) = if full_range {
            (0.0f32, 1.0 / 1023.0, 1.0 / 1023.0)
        } else {
            (64.0, 1.0 / 876.0, 1.0 / 896.0)
        };
        let planes = Yuv420p10 {
            y: (frame.data(0), frame.stride(0)),
            u: (frame.data(1), frame.stride(1)),
            v: (frame.data(2), frame.stride(2)),
            width,
            y_off,
            y_scale,
            c_scale,
        };
        // the peak, from every other row
        for row in (0..height).step_by(2) {
            let histogram = &mut self.histogram;
            planes.row(row, |_, [r, g, b]| histogram[r.max(g).max(b)] += 1);
        }
        self.peak_from_histogram();
        let this = &*self;
        // rows in parallel: a 1080×1920 picture is ~2 M table-driven pixels
        out.par_chunks_exact_mut(width * 3)
            .enumerate()
            .for_each(|(row, dst)| {
                planes.row(row, |x, [r, g, b]| {
                    this.pixel(r, g, b, &mut dst[3 * x..3 * x + 3])
                })
            });
    }

    /// Tone-maps `rgb48` (packed RGB, 16 bits little-endian a channel, rows `stride` bytes
    /// apart) into `out` (packed RGB24, `width`×`height`).
    pub fn map(
        &mut self,
        rgb48: &[u8],
        width: usize,
        height: usize,
        stride: usize,
        out: &mut Vec<u8>,
    ) {
        let at = |px: &[u8], c: usize| {
            let code = u16::from_le_bytes([px[2 * c], px[2 * c + 1]]) as usize;
            (code * SIGNAL_STEPS + 32767) / 65535
        };
        for row in rgb48.chunks(stride).take(height) {
            for px in row[..width * 6].chunks_exact(6) {
                self.histogram[at(px, 0).max(at(px, 1)).max(at(px, 2))] += 1;
            }
        }
        self.peak_from_histogram();
        out.resize(width * height * 3, 0);
        let rows = rgb48.chunks(stride).take(height);
        for (src, dst) in rows.zip(out.chunks_exact_mut(width * 3)) {
            for (px, o) in src[..width * 6]
                .chunks_exact(6)
                .zip(dst.chunks_exact_mut(3))
            {
                self.pixel(at(px, 0), at(px, 1), at(px, 2), o);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pq_round_trips_and_reference_white_is_58_percent() {
        for nits in [0.1, 1.0, 100.0, 203.0, 1000.0, 4000.0] {
            assert!(
                (pq_decode(pq_encode(nits)) - nits).abs() / nits < 1e-6,
                "{nits}"
            );
        }
        assert!((pq_encode(203.0) - 0.58).abs() < 0.005);
    }

    #[test]
    fn hlg_75_percent_is_reference_white_on_a_1000_nit_display() {
        let scene = hlg_scene_light(0.75);
        let display = HLG_PEAK * scene.powf(1.2);
        assert!((display - 203.0).abs() < 3.0, "{display}");
    }

    #[test]
    fn the_eetf_keeps_the_midtones_maps_the_peak_to_white_and_is_monotonic() {
        for peak in [1.5, 4.93, 49.3] {
            assert!((eetf(peak, peak) - 1.0).abs() < 1e-6, "{peak}");
            // the knee sits lower the brighter the peak: ~95 cd/m² for a 1000 cd/m² peak
            let mid = if peak > 10.0 { 0.05 } else { 0.3 };
            assert!(
                (eetf(mid, peak) - mid).abs() < 1e-9,
                "{peak}: midtones move"
            );
            let mut last = 0.0;
            for i in 1..=1000 {
                let v = eetf(peak * i as f64 / 1000.0, peak);
                assert!(v >= last && v <= 1.0 + 1e-9, "{peak}: {v} after {last}");
                last = v;
            }
        }
        // no highlights above reference white: nothing changes
        assert_eq!(eetf(0.8, 1.0), 0.8);
    }

    /// One pixel of 16-bit R'G'B' through the mapper.
    fn map_pixel(mapper: &mut ToneMapper, rgb: [u16; 3]) -> [u8; 3] {
        let mut src = Vec::new();
        for c in rgb {
            src.extend_from_slice(&c.to_le_bytes());
        }
        let mut out = Vec::new();
        mapper.map(&src, 1, 1, 6, &mut out);
        [out[0], out[1], out[2]]
    }

    #[test]
    fn reference_white_becomes_sdr_white_and_grey_stays_grey() {
        let code = |signal: f64| (signal * 65535.0).round() as u16;
        let mut pq = ToneMapper::new(Hdr::Pq);
        let white = code(pq_encode(203.0));
        assert_eq!(map_pixel(&mut pq, [white; 3]), [255; 3]);
        // a 1000-nit highlight alone is its own peak: it becomes white too
        let bright = code(pq_encode(1000.0));
        assert_eq!(map_pixel(&mut pq, [bright; 3]), [255; 3]);
        // 18 % grey of a 203-nit white: (0.18)^(1/2.4) of SDR
        let grey = code(pq_encode(0.18 * 203.0));
        let want = (0.18f64.powf(1.0 / 2.4) * 255.0).round() as i32;
        let got = map_pixel(&mut pq, [grey; 3]);
        assert!(got.iter().all(|&c| (c as i32 - want).abs() <= 1), "{got:?}");
        let mut hlg = ToneMapper::new(Hdr::Hlg);
        let got = map_pixel(&mut hlg, [code(0.75); 3]);
        assert!(got.iter().all(|&c| c >= 250), "{got:?}");
    }
}
