/*!
PDQ: Meta's 256-bit perceptual image hash with a 0–100 quality score, as ThreatExchange's
reference (`pdq/cpp/hashing/pdqhashing.cpp`, `pdq/cpp/downscaling/downscaling.cpp`) computes it.
Taken once per sampled frame (vPDQ: one PDQ hash per frame at a fixed rate) on the upright RGB
picture that is then JPEG-encoded.

The steps, each as the reference does them in `f32`:
1. luminance `0.299 R + 0.587 G + 0.114 B`;
2. two passes of a Jarosz tent filter (box along rows, then along columns, twice), window
   `ceil(size / 128)`, then decimation to 64×64 at the centres of the blocks;
3. quality: the sum of quantised neighbour gradients of the 64×64 picture, divided by 90, at most
   100;
4. a 2-D DCT keeping coefficients 1..=16 on both axes (16×16);
5. one bit per coefficient: set when it is greater than the median (Torben's algorithm);
6. the mirror hash: the hash of the picture mirrored left to right, from the same 16×16 DCT by
   negating its odd horizontal frequencies (the reference's dihedral `dct16OriginalToFlipY`:
   a flip about the Y axis; its `FlipX` is the upside-down flip), then step 5 again.

Hex output is the reference's: sixteen 16-bit words, the last (coefficient rows 15) first.

Step 2 is linear, so it is computed as what it is: each of the 64 decimated columns is one
tent-shaped kernel over its row (the two box passes composed, with the reference's shrinking
windows at the edges), and each of the 64 decimated rows one kernel over the columns. A row of
luma is made and reduced to its 64 values while in cache; no full-size float picture is
written. This reads every pixel once (~1.5 ms CPU for 1080×1920 against ~10 ms for the
reference's four full passes). The sums are not in the reference's order (its running sums
carry more rounding), so a bit whose coefficient sits within ~1e-4 of the median may differ:
tests/hashes.rs measures 0 bits against the reference on real frames.
*/

use std::fmt;
use std::sync::OnceLock;

/// Pictures smaller than this on either side get the all-zero hash and quality 0, as in the
/// reference.
pub const MIN_HASHABLE_DIM: u32 = 5;

/// A 256-bit PDQ hash: bit `16 * i + j` is coefficient (i, j) of the 16×16 DCT.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Pdq(pub [u16; 16]);

impl Pdq {
    /// Whether bit `k` (0..256) is set.
    pub fn bit(&self, k: usize) -> bool {
        self.0[k >> 4] & (1 << (k & 15)) != 0
    }

    /// The number of bits in which two hashes differ.
    pub fn distance(&self, other: &Pdq) -> u32 {
        self.0
            .iter()
            .zip(other.0.iter())
            .map(|(a, b)| (a ^ b).count_ones())
            .sum()
    }

    /// The hash as four 64-bit words, word 0 holding bits 0..64.
    pub fn words(&self) -> [u64; 4] {
        let mut out = [0u64; 4];
        for (w, chunk) in out.iter_mut().zip(self.0.chunks_exact(4)) {
            *w = chunk
                .iter()
                .enumerate()
                .fold(0u64, |acc, (i, &v)| acc | (v as u64) << (16 * i));
        }
        out
    }

    /// Parses the reference's 64-hex-digit form.
    pub fn from_hex(hex: &str) -> Option<Pdq> {
        if hex.len() != 64 || !hex.is_ascii() {
            return None;
        }
        let mut words = [0u16; 16];
        for (n, word) in words.iter_mut().rev().enumerate() {
            *word = u16::from_str_radix(&hex[4 * n..4 * n + 4], 16).ok()?;
        }
        Some(Pdq(words))
    }
}

impl fmt::Display for Pdq {
    /// The reference's form: the words from 15 down to 0, four lowercase hex digits each.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for word in self.0.iter().rev() {
            write!(f, "{word:04x}")?;
        }
        Ok(())
    }
}

/// A hash, its mirror's and its quality (0–100; vPDQ ignores frames under 50 when matching).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PdqResult {
    /// The hash.
    pub hash: Pdq,
    /// The hash of the picture mirrored left to right (what a mirrored repost's frame hashes
    /// to), as the reference's dihedral `FlipY` hash (`pdqhash.compute_dihedral(...)[0][5]`).
    pub mirror: Pdq,
    /// How much detail the picture has, 0–100.
    pub quality: u8,
}

/// Computes PDQ hashes, keeping its kernels and buffers across pictures of one size.
#[derive(Default)]
pub struct PdqHasher {
    /// Width and height the kernels are for.
    size: (usize, usize),
    /// The 64 column kernels: first input column, and weights over its R, G, B bytes.
    across: Vec<(usize, Vec<f32>)>,
    /// The 64 row kernels: first input row and weights.
    down: Vec<(usize, Vec<f32>)>,
    /// One row of RGB bytes as floats.
    row: Vec<f32>,
    /// Every row reduced to its 64 decimated columns (h × 64).
    reduced: Vec<f32>,
}

/// The reference's `computeJaroszFilterWindowSize(old, 64)`.
fn window_size(old: usize) -> usize {
    old.div_ceil(2 * 64)
}

/// The input span `[lo, hi]` the reference's `box1DFloat` averages for output `o` of a vector of
/// `len` with a `window`: its four phases amount to a window from `half - 1` after to
/// `window - half` before, clipped to the vector (and the average over what is left).
fn box_span(o: usize, len: usize, window: usize) -> (usize, usize) {
    let half = (window + 2) / 2;
    (o.saturating_sub(window - half), (o + half - 1).min(len - 1))
}

/// The reference's luma weights for R, G and B (as its `f32` constants).
const LUMA: [f64; 3] = [0.299f32 as f64, 0.587f32 as f64, 0.114f32 as f64];

/// The kernels of the reference's blur along one axis of `len` (two box passes) followed by
/// decimation to 64: per decimated position, its first input and weights.
fn kernels(len: usize) -> Vec<(usize, Vec<f64>)> {
    let window = window_size(len);
    (0..64)
        .map(|o| {
            let c = (((o as f64 + 0.5) * len as f64) / 64.0) as usize;
            let (lo, hi) = box_span(c, len, window);
            let outer = 1.0 / (hi - lo + 1) as f64;
            let first = box_span(lo, len, window).0;
            let last = box_span(hi, len, window).1;
            let mut weights = vec![0f64; last - first + 1];
            for m in lo..=hi {
                let (mlo, mhi) = box_span(m, len, window);
                let inner = outer / (mhi - mlo + 1) as f64;
                for w in &mut weights[mlo - first..=mhi - first] {
                    *w += inner;
                }
            }
            (first, weights)
        })
        .collect()
}

/// The reference's DCT matrix: 16 rows × 64 columns.
fn dct_matrix() -> &'static [f32; 16 * 64] {
    static MATRIX: OnceLock<[f32; 16 * 64]> = OnceLock::new();
    MATRIX.get_or_init(|| {
        let mut m = [0f32; 16 * 64];
        let scale = (2.0f64 / 64.0).sqrt() as f32;
        for i in 0..16 {
            for j in 0..64 {
                m[i * 64 + j] = scale
                    * ((std::f64::consts::PI / 2.0 / 64.0) * (i + 1) as f64 * (2 * j + 1) as f64)
                        .cos() as f32;
            }
        }
        m
    })
}

/// The reference's `pdqImageDomainQualityMetric`.
fn quality(a: &[[f32; 64]; 64]) -> u8 {
    let mut gradient_sum: i32 = 0;
    for pair in a.windows(2) {
        for (u, v) in pair[0].iter().zip(&pair[1]) {
            gradient_sum += (((u - v) * 100.0 / 255.0) as i32).abs();
        }
    }
    for row in a.iter() {
        for pair in row.windows(2) {
            gradient_sum += (((pair[0] - pair[1]) * 100.0 / 255.0) as i32).abs();
        }
    }
    (gradient_sum / 90).min(100) as u8
}

/// The reference's `dct64To16`: B = D A Dᵀ, summed in the reference's order.
fn dct_64_to_16(a: &[[f32; 64]; 64]) -> [[f32; 16]; 16] {
    let d = dct_matrix();
    let mut t = [[0f32; 64]; 16];
    for (i, t_row) in t.iter_mut().enumerate() {
        let dr = &d[i * 64..(i + 1) * 64];
        for (j, t_ij) in t_row.iter_mut().enumerate() {
            let mut sum = 0f32;
            for k in 0..64 {
                sum += dr[k] * a[k][j];
            }
            *t_ij = sum;
        }
    }
    let mut b = [[0f32; 16]; 16];
    for (i, b_row) in b.iter_mut().enumerate() {
        for (j, b_ij) in b_row.iter_mut().enumerate() {
            let dr = &d[j * 64..(j + 1) * 64];
            let mut sum = 0f32;
            for k in 0..64 {
                sum += t[i][k] * dr[k];
            }
            *b_ij = sum;
        }
    }
    b
}

/// Torben's median, as the reference's `torben.cpp`.
fn torben(m: &[f32]) -> f32 {
    let n = m.len();
    let (mut min, mut max) = (m[0], m[0]);
    for &v in &m[1..] {
        min = min.min(v);
        max = max.max(v);
    }
    let half = n.div_ceil(2);
    loop {
        let guess = (min + max) / 2.0;
        let (mut less, mut greater, mut equal) = (0usize, 0usize, 0usize);
        let (mut max_lt, mut min_gt) = (min, max);
        for &v in m {
            if v < guess {
                less += 1;
                if v > max_lt {
                    max_lt = v;
                }
            } else if v > guess {
                greater += 1;
                if v < min_gt {
                    min_gt = v;
                }
            } else {
                equal += 1;
            }
        }
        if less <= half && greater <= half {
            return if less >= half {
                max_lt
            } else if less + equal >= half {
                guess
            } else {
                min_gt
            };
        } else if less > greater {
            max = max_lt;
        } else {
            min = min_gt;
        }
    }
}

/// The reference's `dct16OriginalToFlipY`: mirroring the 64×64 picture left to right (column
/// `x` to `63 - x`) multiplies horizontal frequency `u` by `(-1)^u`; column `j` holds `u = j + 1`,
/// so the even columns change sign.
fn dct_mirrored(b: &[[f32; 16]; 16]) -> [[f32; 16]; 16] {
    let mut out = *b;
    for row in out.iter_mut() {
        for v in row.iter_mut().step_by(2) {
            *v = -*v;
        }
    }
    out
}

fn bits(b: &[[f32; 16]; 16]) -> Pdq {
    let flat: Vec<f32> = b.iter().flatten().copied().collect();
    let median = torben(&flat);
    let mut words = [0u16; 16];
    for (i, row) in b.iter().enumerate() {
        for (j, &v) in row.iter().enumerate() {
            if v > median {
                words[i] |= 1 << j;
            }
        }
    }
    Pdq(words)
}

impl PdqHasher {
    /// A hasher with empty buffers.
    pub fn new() -> PdqHasher {
        PdqHasher::default()
    }

    /// The PDQ hash of a packed RGB24 picture, rows `pitch` bytes apart.
    pub fn hash_rgb(&mut self, pixels: &[u8], width: u32, height: u32, pitch: usize) -> PdqResult {
        let (w, h) = (width as usize, height as usize);
        if width < MIN_HASHABLE_DIM || height < MIN_HASHABLE_DIM {
            return PdqResult {
                hash: Pdq::default(),
                mirror: Pdq::default(),
                quality: 0,
            };
        }
        assert!(pixels.len() >= (h - 1) * pitch + w * 3, "picture too small");
        if self.size != (w, h) {
            self.size = (w, h);
            // Column kernels over interleaved RGB, each weight times the channel's luma weight.
            self.across = kernels(w)
                .into_iter()
                .map(|(first, weights)| {
                    let rgb = weights
                        .iter()
                        .flat_map(|&k| LUMA.map(|c| (k * c) as f32))
                        .collect();
                    (first, rgb)
                })
                .collect();
            self.down = kernels(h)
                .into_iter()
                .map(|(first, weights)| (first, weights.into_iter().map(|k| k as f32).collect()))
                .collect();
        }
        self.row.resize(w * 3, 0.0);
        self.reduced.resize(h * 64, 0.0);
        for (bytes, out) in pixels
            .chunks(pitch)
            .take(h)
            .zip(self.reduced.chunks_exact_mut(64))
        {
            // Bytes to floats in one contiguous (vectorised) pass; the luma weights are folded
            // into the column kernels, which run over interleaved R, G, B.
            for (f, &b) in self.row.iter_mut().zip(&bytes[..w * 3]) {
                *f = b as f32;
            }
            for (o, (first, weights)) in out.iter_mut().zip(&self.across) {
                *o = dot(&self.row[3 * first..3 * first + weights.len()], weights);
            }
        }
        let mut a = [[0f32; 64]; 64];
        for (a_row, (first, weights)) in a.iter_mut().zip(&self.down) {
            for (k, &wt) in weights.iter().enumerate() {
                let at = (first + k) * 64;
                for (v, &r) in a_row.iter_mut().zip(&self.reduced[at..at + 64]) {
                    *v += wt * r;
                }
            }
        }
        let quality = quality(&a);
        let b = dct_64_to_16(&a);
        PdqResult {
            hash: bits(&b),
            mirror: bits(&dct_mirrored(&b)),
            quality,
        }
    }
}

/// `Σ a[i] b[i]` in four interleaved sums (so the additions do not wait on each other).
fn dot(a: &[f32], b: &[f32]) -> f32 {
    let mut sums = [0f32; 4];
    let (ca, cb) = (a.chunks_exact(4), b.chunks_exact(4));
    let tail: f32 = ca
        .remainder()
        .iter()
        .zip(cb.remainder())
        .map(|(x, y)| x * y)
        .sum();
    for (x, y) in ca.zip(cb) {
        for k in 0..4 {
            sums[k] += x[k] * y[k];
        }
    }
    (sums[0] + sums[1]) + (sums[2] + sums[3]) + tail
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The reference's `box1DFloat`, line for line.
    fn box_1d(input: &[f32], output: &mut [f32], window: usize) {
        let len = input.len();
        let half = (window + 2) / 2;
        let (p1, p2, p3, p4) = (half - 1, window - half + 1, len - window, half - 1);
        let (mut li, mut ri, mut oi) = (0, 0, 0);
        let (mut sum, mut current) = (0f32, 0usize);
        for _ in 0..p1 {
            sum += input[ri];
            current += 1;
            ri += 1;
        }
        for _ in 0..p2 {
            sum += input[ri];
            current += 1;
            output[oi] = sum / current as f32;
            ri += 1;
            oi += 1;
        }
        for _ in 0..p3 {
            sum += input[ri];
            sum -= input[li];
            output[oi] = sum / current as f32;
            li += 1;
            ri += 1;
            oi += 1;
        }
        for _ in 0..p4 {
            sum -= input[li];
            current -= 1;
            output[oi] = sum / current as f32;
            li += 1;
            oi += 1;
        }
    }

    /// The reference's jaroszFilterFloat (rows, then columns, twice) and decimateFloat.
    fn reference_downsample(luma: &[f32], w: usize, h: usize) -> [[f32; 64]; 64] {
        let mut buf = luma.to_vec();
        let (mut row, mut out) = (vec![0f32; w.max(h)], vec![0f32; w.max(h)]);
        for _ in 0..2 {
            for y in 0..h {
                box_1d(&buf[y * w..(y + 1) * w], &mut out[..w], window_size(w));
                buf[y * w..(y + 1) * w].copy_from_slice(&out[..w]);
            }
            for x in 0..w {
                for y in 0..h {
                    row[y] = buf[y * w + x];
                }
                box_1d(&row[..h], &mut out[..h], window_size(h));
                for y in 0..h {
                    buf[y * w + x] = out[y];
                }
            }
        }
        let mut a = [[0f32; 64]; 64];
        for (i, a_row) in a.iter_mut().enumerate() {
            let y = (((i as f64 + 0.5) * h as f64) / 64.0) as usize;
            for (j, v) in a_row.iter_mut().enumerate() {
                *v = buf[y * w + (((j as f64 + 0.5) * w as f64) / 64.0) as usize];
            }
        }
        a
    }

    fn test_picture(w: usize, h: usize) -> Vec<u8> {
        let mut pixels = vec![0u8; w * h * 3];
        for y in 0..h {
            for x in 0..w {
                let v = ((x * 3 + y * 5) % 256) as u8 ^ ((x / 9 + y / 13) % 2 * 200) as u8;
                pixels[(y * w + x) * 3..(y * w + x) * 3 + 3].copy_from_slice(&[v, v / 2, 255 - v]);
            }
        }
        pixels
    }

    #[test]
    fn box_spans_are_the_reference_filters_windows() {
        for (len, window) in [(16, 7), (16, 8), (23, 1), (23, 2), (100, 6)] {
            for i in 0..len {
                let mut impulse = vec![0f32; len];
                impulse[i] = 1.0;
                let mut out = vec![0f32; len];
                box_1d(&impulse, &mut out, window);
                for (o, &v) in out.iter().enumerate() {
                    let (lo, hi) = box_span(o, len, window);
                    let expected = if (lo..=hi).contains(&i) {
                        1.0 / (hi - lo + 1) as f32
                    } else {
                        0.0
                    };
                    assert!(
                        (v - expected).abs() < 1e-6,
                        "{len} {window}: in {i} out {o}"
                    );
                }
            }
        }
    }

    #[test]
    fn kernels_give_the_reference_downsample() {
        // (Under 64 px a side the decimation repeats pixels and many coefficients are ~0: their bits
        // are rounding noise in the reference too.)
        for (w, h) in [(64, 64), (101, 77), (360, 640), (1080, 1920), (1920, 1080)] {
            let pixels = test_picture(w, h);
            let luma: Vec<f32> = pixels
                .chunks_exact(3)
                .map(|p| 0.299f32 * p[0] as f32 + 0.587f32 * p[1] as f32 + 0.114f32 * p[2] as f32)
                .collect();
            let reference = reference_downsample(&luma, w, h);
            let mut hasher = PdqHasher::new();
            hasher.hash_rgb(&pixels, w as u32, h as u32, w * 3);
            let ours = {
                let mut a = [[0f32; 64]; 64];
                for (a_row, (first, weights)) in a.iter_mut().zip(&hasher.down) {
                    for (k, &wt) in weights.iter().enumerate() {
                        let at = (first + k) * 64;
                        for (v, &r) in a_row.iter_mut().zip(&hasher.reduced[at..at + 64]) {
                            *v += wt * r;
                        }
                    }
                }
                a
            };
            for i in 0..64 {
                for j in 0..64 {
                    let d = (ours[i][j] - reference[i][j]).abs();
                    assert!(
                        d < 2e-3,
                        "{w}x{h} at ({i}, {j}): {} vs {}",
                        ours[i][j],
                        reference[i][j]
                    );
                }
            }
            let expected = bits(&dct_64_to_16(&reference));
            let got = hasher.hash_rgb(&pixels, w as u32, h as u32, w * 3);
            assert!(got.hash.distance(&expected) <= 1, "{w}x{h}");
            assert_eq!(got.quality, quality(&reference), "{w}x{h}");
        }
    }

    /// This thread's CPU time (the machine is shared: wall time would measure the neighbours).
    fn cpu_now() -> std::time::Duration {
        let mut ts = libc::timespec {
            tv_sec: 0,
            tv_nsec: 0,
        };
        // SAFETY: clock_gettime writes one timespec into the valid, exclusively borrowed `ts`.
        unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut ts) };
        std::time::Duration::new(ts.tv_sec as u64, ts.tv_nsec as u32)
    }

    #[test]
    #[ignore = "timing, run by hand: cargo test --release --lib hash_speed -- --ignored --nocapture"]
    fn hash_speed() {
        let (w, h) = (1080usize, 1920usize);
        let pixels: Vec<u8> = (0..w * h * 3)
            .map(|i| ((i as u32).wrapping_mul(2654435761) >> 24) as u8)
            .collect();
        let mut hasher = PdqHasher::new();
        let t = cpu_now();
        for _ in 0..20 {
            hasher.hash_rgb(&pixels, w as u32, h as u32, w * 3);
        }
        eprintln!(
            "{w}x{h}: {:?} CPU per hash (with its mirror)",
            (cpu_now() - t) / 20
        );
        let mut b = [[0f32; 16]; 16];
        for (k, v) in b.iter_mut().flatten().enumerate() {
            *v = (k as f32 * 0.37).sin();
        }
        let t = cpu_now();
        let mut sink = 0;
        for _ in 0..10_000 {
            sink += bits(&dct_mirrored(std::hint::black_box(&b))).0[0] as u32;
        }
        eprintln!(
            "the mirror step alone: {:?} CPU ({sink})",
            (cpu_now() - t) / 10_000
        );
    }

    /// `pixels` (RGB, `w` wide) mirrored left to right.
    fn mirrored(pixels: &[u8], w: usize) -> Vec<u8> {
        pixels
            .chunks_exact(w * 3)
            .flat_map(|row| row.chunks_exact(3).rev().flatten().copied())
            .collect()
    }

    #[test]
    fn mirror_hash_is_the_hash_of_the_mirrored_picture() {
        // Widths where the blur and decimation are symmetric about the centre (64, and 320:
        // window 3, sample points mirror onto sample points) make the construction exact (0
        // bits measured at every size); 1080 and 101 sample off-centre, so bits may move there.
        for (w, h, most) in [
            (64, 64, 0),
            (320, 180, 0),
            (320, 569, 0),
            (1080, 1920, 4),
            (101, 77, 4),
        ] {
            let pixels = test_picture(w, h);
            let flipped = mirrored(&pixels, w);
            let mut hasher = PdqHasher::new();
            let original = hasher.hash_rgb(&pixels, w as u32, h as u32, w * 3);
            let mirror = hasher.hash_rgb(&flipped, w as u32, h as u32, w * 3);
            let (forth, back) = (
                original.mirror.distance(&mirror.hash),
                mirror.mirror.distance(&original.hash),
            );
            eprintln!("{w}x{h}: mirror hash vs hash of the mirrored picture: {forth}, back {back}");
            assert!(
                forth <= most && back <= most,
                "{w}x{h}: {forth} and {back} bits"
            );
            assert_eq!(original.quality, mirror.quality, "{w}x{h}");
            // the picture is not symmetric, so its mirror hash is far from its hash
            assert!(original.hash.distance(&original.mirror) > 60, "{w}x{h}");
        }
    }

    #[test]
    fn box_filter_averages_a_window_centred_as_the_reference_draws_it() {
        // The reference's worked example: window 7 over 0..16 gives these sums.
        let input: Vec<f32> = (0..16).map(|v| v as f32).collect();
        let mut out = vec![0.0; 16];
        box_1d(&input, &mut out, 7);
        let sums = [
            6, 10, 15, 21, 28, 35, 42, 49, 56, 63, 70, 77, 84, 75, 65, 54,
        ];
        let counts = [4, 5, 6, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 6, 5, 4];
        for k in 0..16 {
            assert_eq!(out[k], sums[k] as f32 / counts[k] as f32, "{k}");
        }
    }

    #[test]
    fn torben_is_the_lower_median_of_an_even_count() {
        let v: Vec<f32> = (0..256).map(|i| ((i * 37) % 256) as f32).collect();
        assert_eq!(torben(&v), 127.0);
        assert_eq!(torben(&[3.0, 1.0, 2.0]), 2.0);
    }

    #[test]
    fn hex_round_trips_in_the_reference_word_order() {
        let mut words = [0u16; 16];
        words[0] = 0x0001;
        words[15] = 0xabcd;
        let hash = Pdq(words);
        let hex = hash.to_string();
        assert_eq!(hex.len(), 64);
        assert!(hex.starts_with("abcd"));
        assert!(hex.ends_with("0001"));
        assert_eq!(Pdq::from_hex(&hex), Some(hash));
        assert_eq!(Pdq::from_hex("xyz"), None);
        assert_eq!(hash.distance(&Pdq::default()), 1 + 10);
    }

    #[test]
    fn half_the_bits_are_set_and_flat_pictures_have_no_quality() {
        let (w, h) = (90u32, 160u32);
        let pixels = test_picture(w as usize, h as usize);
        let mut hasher = PdqHasher::new();
        let result = hasher.hash_rgb(&pixels, w, h, w as usize * 3);
        let ones: u32 = result.hash.0.iter().map(|w| w.count_ones()).sum();
        assert!((120..=128).contains(&ones), "{ones} bits set");
        assert!(result.quality > 50, "quality {}", result.quality);
        let flat = vec![128u8; (w * h * 3) as usize];
        assert_eq!(hasher.hash_rgb(&flat, w, h, w as usize * 3).quality, 0);
        assert_eq!(
            hasher.hash_rgb(&pixels, 4, 4, w as usize * 3),
            PdqResult {
                hash: Pdq::default(),
                mirror: Pdq::default(),
                quality: 0
            }
        );
    }
}
