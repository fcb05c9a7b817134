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
5. one bit per coefficient: set when it is greater than the median (Torben's algorithm).

Hex output is the reference's: sixteen 16-bit words, the last (coefficient rows 15) first.

Work is kept exact and cheap: the column passes run across a whole row at once (the same sums
per column as the reference's column-at-a-time loop, so the same floats), and the last column
pass computes only the 64 columns the decimation reads.
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

/// A hash and its quality (0–100; vPDQ ignores frames under 50 when matching).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PdqResult {
    /// The hash.
    pub hash: Pdq,
    /// How much detail the picture has, 0–100.
    pub quality: u8,
}

/// Computes PDQ hashes, keeping its buffers across pictures.
#[derive(Default)]
pub struct PdqHasher {
    luma: Vec<f32>,
    scratch: Vec<f32>,
    sums: Vec<f32>,
}

/// The reference's `computeJaroszFilterWindowSize(old, 64)`.
fn window_size(old: usize) -> usize {
    (old + 2 * 64 - 1) / (2 * 64)
}

/// The reference's `box1DFloat` along one contiguous vector.
fn box_1d(input: &[f32], output: &mut [f32], window: usize) {
    let len = input.len();
    let half = (window + 2) / 2;
    let phase1 = half - 1;
    let phase2 = window - half + 1;
    let phase3 = len - window;
    let phase4 = half - 1;
    let (mut li, mut ri, mut oi) = (0, 0, 0);
    let mut sum = 0.0f32;
    let mut current = 0usize;
    for _ in 0..phase1 {
        sum += input[ri];
        current += 1;
        ri += 1;
    }
    for _ in 0..phase2 {
        sum += input[ri];
        current += 1;
        output[oi] = sum / current as f32;
        ri += 1;
        oi += 1;
    }
    for _ in 0..phase3 {
        sum += input[ri];
        sum -= input[li];
        output[oi] = sum / current as f32;
        li += 1;
        ri += 1;
        oi += 1;
    }
    for _ in 0..phase4 {
        sum -= input[li];
        current -= 1;
        output[oi] = sum / current as f32;
        li += 1;
        oi += 1;
    }
}

/// The reference's `boxAlongColsFloat` for the columns in `cols` (all when `None`), computed a
/// whole row at a time: per column the same additions in the same order, so the same results.
fn box_cols(
    input: &[f32],
    output: &mut [f32],
    rows: usize,
    cols: usize,
    window: usize,
    sums: &mut Vec<f32>,
    only: Option<&[usize]>,
) {
    let half = (window + 2) / 2;
    let phase1 = half - 1;
    let phase2 = window - half + 1;
    let phase3 = rows - window;
    let phase4 = half - 1;
    let width = only.map_or(cols, |c| c.len());
    sums.clear();
    sums.resize(width, 0.0);
    let gather = |row: usize, k: usize| -> f32 {
        match only {
            Some(c) => input[row * cols + c[k]],
            None => input[row * cols + k],
        }
    };
    let (mut li, mut ri, mut oi) = (0, 0, 0);
    let mut current = 0usize;
    let mut write = |oi: usize, sums: &[f32], current: usize| match only {
        Some(c) => {
            for (k, &s) in sums.iter().enumerate() {
                output[oi * cols + c[k]] = s / current as f32;
            }
        }
        None => {
            for (o, &s) in output[oi * cols..(oi + 1) * cols].iter_mut().zip(sums) {
                *o = s / current as f32;
            }
        }
    };
    let add = |sums: &mut [f32], row: usize, sign: f32| match only {
        Some(_) => {
            for (k, s) in sums.iter_mut().enumerate() {
                if sign > 0.0 {
                    *s += gather(row, k);
                } else {
                    *s -= gather(row, k);
                }
            }
        }
        None => {
            let src = &input[row * cols..(row + 1) * cols];
            if sign > 0.0 {
                for (s, &v) in sums.iter_mut().zip(src) {
                    *s += v;
                }
            } else {
                for (s, &v) in sums.iter_mut().zip(src) {
                    *s -= v;
                }
            }
        }
    };
    for _ in 0..phase1 {
        add(sums, ri, 1.0);
        current += 1;
        ri += 1;
    }
    for _ in 0..phase2 {
        add(sums, ri, 1.0);
        current += 1;
        write(oi, sums, current);
        ri += 1;
        oi += 1;
    }
    for _ in 0..phase3 {
        add(sums, ri, 1.0);
        add(sums, li, -1.0);
        write(oi, sums, current);
        li += 1;
        ri += 1;
        oi += 1;
    }
    for _ in 0..phase4 {
        add(sums, li, -1.0);
        current -= 1;
        write(oi, sums, current);
        li += 1;
        oi += 1;
    }
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
    for i in 0..63 {
        for j in 0..64 {
            let d = ((a[i][j] - a[i + 1][j]) * 100.0 / 255.0) as i32;
            gradient_sum += d.abs();
        }
    }
    for row in a.iter() {
        for j in 0..63 {
            let d = ((row[j] - row[j + 1]) * 100.0 / 255.0) as i32;
            gradient_sum += d.abs();
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
                quality: 0,
            };
        }
        assert!(pixels.len() >= (h - 1) * pitch + w * 3, "picture too small");
        self.luma.clear();
        self.luma.reserve(w * h);
        for row in pixels.chunks(pitch).take(h) {
            self.luma.extend(
                row[..w * 3].chunks_exact(3).map(|p| {
                    0.299f32 * p[0] as f32 + 0.587f32 * p[1] as f32 + 0.114f32 * p[2] as f32
                }),
            );
        }
        self.hash_luma(w, h)
    }

    /// Hashes `self.luma` (`w`×`h`, row-major).
    fn hash_luma(&mut self, w: usize, h: usize) -> PdqResult {
        let along_rows = window_size(w);
        let along_cols = window_size(h);
        self.scratch.resize(w * h, 0.0);
        // The 64 rows and columns the decimation reads (block centres).
        let pick = |n: usize| -> Vec<usize> {
            (0..64)
                .map(|o| (((o as f64 + 0.5) * n as f64) / 64.0) as usize)
                .collect()
        };
        let (pick_rows, pick_cols) = (pick(h), pick(w));
        // Two passes of rows-then-columns (the reference's jaroszFilterFloat, nreps = 2); the
        // last column pass only for the columns that are read.
        for pass in 0..2 {
            for (inp, out) in self
                .luma
                .chunks_exact(w)
                .zip(self.scratch.chunks_exact_mut(w))
            {
                box_1d(inp, out, along_rows);
            }
            let only = (pass == 1).then_some(pick_cols.as_slice());
            box_cols(
                &self.scratch,
                &mut self.luma,
                h,
                w,
                along_cols,
                &mut self.sums,
                only,
            );
        }
        let mut a = [[0f32; 64]; 64];
        for (a_row, &r) in a.iter_mut().zip(&pick_rows) {
            for (v, &c) in a_row.iter_mut().zip(&pick_cols) {
                *v = self.luma[r * w + c];
            }
        }
        let quality = quality(&a);
        let b = dct_64_to_16(&a);
        PdqResult {
            hash: bits(&b),
            quality,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn naive_box_cols(input: &[f32], rows: usize, cols: usize, window: usize) -> Vec<f32> {
        let mut out = vec![0.0; rows * cols];
        let mut column = vec![0.0; rows];
        let mut result = vec![0.0; rows];
        for j in 0..cols {
            for i in 0..rows {
                column[i] = input[i * cols + j];
            }
            box_1d(&column, &mut result, window);
            for i in 0..rows {
                out[i * cols + j] = result[i];
            }
        }
        out
    }

    #[test]
    fn row_at_a_time_column_pass_is_bit_identical_to_the_reference_loop() {
        let (rows, cols) = (37, 23);
        let input: Vec<f32> = (0..rows * cols)
            .map(|i| ((i * 7919) % 255) as f32 * 0.77)
            .collect();
        for window in [1, 2, 3, 6, 7, 8] {
            let mut out = vec![0.0; rows * cols];
            box_cols(&input, &mut out, rows, cols, window, &mut Vec::new(), None);
            assert_eq!(out, naive_box_cols(&input, rows, cols, window), "{window}");
            let only = [0usize, 5, 22];
            let mut part = vec![0.0; rows * cols];
            box_cols(
                &input,
                &mut part,
                rows,
                cols,
                window,
                &mut Vec::new(),
                Some(&only),
            );
            for i in 0..rows {
                for &j in &only {
                    assert_eq!(part[i * cols + j], out[i * cols + j]);
                }
            }
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
        let mut pixels = vec![0u8; (w * h * 3) as usize];
        for y in 0..h {
            for x in 0..w {
                let at = ((y * w + x) * 3) as usize;
                let v = ((x * 3 + y * 5) % 256) as u8 ^ ((x / 9 + y / 13) % 2 * 200) as u8;
                pixels[at..at + 3].copy_from_slice(&[v, v / 2, 255 - v]);
            }
        }
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
                quality: 0
            }
        );
    }
}
