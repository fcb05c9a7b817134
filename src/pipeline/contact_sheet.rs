/*!
Stage ④ (contact sheet): every sampled frame of a video as a tile of one JPEG, in frame order,
each labelled with its time, so a rater judges a video from one image instead of sixty.

Tiles are cut from the upright RGB pictures as they are encoded (an area average down to the
tile size: each tile costs one read of its frame), so the sheet needs no second decode. The grid
is as close to square as the frames' shape allows and at most [`MAX_WIDTH`] pixels wide; tiles
never upscale. Labels are drawn with a built-in 5×7 bitmap font (digits, `:` and `.`), white on
a dark box in the tile's bottom-left corner.
*/

use crate::error::{ErrorKind, ItemError};
use crate::pipeline::encode::RgbPicture;

/// Widest sheet, in pixels.
pub const MAX_WIDTH: u32 = 2048;
/// Longest side of a tile: enough to judge a frame, small enough to keep sheets light.
pub const MAX_TILE_SIDE: u32 = 320;
/// Pixels between tiles and around the sheet.
const GAP: u32 = 4;
/// Background grey of the sheet.
const BACKGROUND: u8 = 24;

/// 5×7 glyphs, one byte a row, bit 4 the leftmost pixel.
fn glyph(c: char) -> Option<[u8; 7]> {
    Some(match c {
        '0' => [0x0e, 0x11, 0x13, 0x15, 0x19, 0x11, 0x0e],
        '1' => [0x04, 0x0c, 0x04, 0x04, 0x04, 0x04, 0x0e],
        '2' => [0x0e, 0x11, 0x01, 0x02, 0x04, 0x08, 0x1f],
        '3' => [0x1f, 0x02, 0x04, 0x02, 0x01, 0x11, 0x0e],
        '4' => [0x02, 0x06, 0x0a, 0x12, 0x1f, 0x02, 0x02],
        '5' => [0x1f, 0x10, 0x1e, 0x01, 0x01, 0x11, 0x0e],
        '6' => [0x06, 0x08, 0x10, 0x1e, 0x11, 0x11, 0x0e],
        '7' => [0x1f, 0x01, 0x02, 0x04, 0x08, 0x08, 0x08],
        '8' => [0x0e, 0x11, 0x11, 0x0e, 0x11, 0x11, 0x0e],
        '9' => [0x0e, 0x11, 0x11, 0x0f, 0x01, 0x02, 0x0c],
        ':' => [0x00, 0x0c, 0x0c, 0x00, 0x0c, 0x0c, 0x00],
        '.' => [0x00, 0x00, 0x00, 0x00, 0x00, 0x0c, 0x0c],
        '-' => [0x00, 0x00, 0x00, 0x1f, 0x00, 0x00, 0x00],
        _ => return None,
    })
}

/// A frame's label: `m:ss.t` (minutes, seconds, tenths; truncated), e.g. `0:07.5`, `1:02.0`.
pub fn time_label(ms: i64) -> String {
    let sign = if ms < 0 { "-" } else { "" };
    let ms = ms.unsigned_abs();
    format!(
        "{sign}{}:{:02}.{}",
        ms / 60_000,
        ms / 1000 % 60,
        ms / 100 % 10
    )
}

/// The grid: how many columns, and each cell's size.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Layout {
    /// Tiles per row.
    pub columns: u32,
    /// Rows of tiles.
    pub rows: u32,
    /// Tile width.
    pub tile_width: u32,
    /// Tile height.
    pub tile_height: u32,
}

impl Layout {
    /// The grid for `count` frames of `width`×`height`: columns ≈ √(count × height / width), so
    /// the sheet comes out near square; tiles as big as fits in [`MAX_WIDTH`], at most
    /// [`MAX_TILE_SIDE`] on their longest side, never bigger than the frame.
    pub fn for_frames(count: usize, width: u32, height: u32) -> Layout {
        let count = count.max(1) as f64;
        let (w, h) = (width.max(1) as f64, height.max(1) as f64);
        let columns = ((count * h / w).sqrt().ceil() as u32).clamp(1, count as u32);
        let room = (MAX_WIDTH - GAP) / columns - GAP;
        let tile_side = (MAX_TILE_SIDE as f64 * (w / h).min(1.0)).floor() as u32;
        let tile_width = room.min(width).min(tile_side).max(1);
        let tile_height = ((tile_width as f64 * h / w).round() as u32).max(1);
        Layout {
            columns,
            rows: (count as u32).div_ceil(columns),
            tile_width,
            tile_height,
        }
    }

    /// The sheet's size.
    pub fn size(&self) -> (u32, u32) {
        (
            GAP + self.columns * (self.tile_width + GAP),
            GAP + self.rows * (self.tile_height + GAP),
        )
    }
}

/// Shrinks `picture` into a packed `tw`×`th` RGB tile by averaging each tile pixel's source
/// rectangle (aspect ratio as given; the caller keeps it).
pub fn shrink(picture: RgbPicture<'_>, tw: u32, th: u32) -> Vec<u8> {
    let (w, h) = (picture.width as usize, picture.height as usize);
    let (tw, th) = (tw as usize, th as usize);
    let mut out = vec![0u8; tw * th * 3];
    // Source column span of every tile column.
    let xs: Vec<(usize, usize)> = (0..tw)
        .map(|x| (x * w / tw, ((x + 1) * w / tw).max(x * w / tw + 1).min(w)))
        .collect();
    // Each band of source rows is summed byte by byte into `acc` (contiguous, vectorised), then
    // each tile pixel adds up its columns' sums.
    let mut acc = vec![0u32; w * 3];
    for ty in 0..th {
        let (y0, y1) = (ty * h / th, ((ty + 1) * h / th).max(ty * h / th + 1).min(h));
        acc.iter_mut().for_each(|s| *s = 0);
        for y in y0..y1 {
            let row = &picture.pixels[y * picture.pitch..y * picture.pitch + w * 3];
            for (s, &v) in acc.iter_mut().zip(row) {
                *s += v as u32;
            }
        }
        let rows = (y1 - y0) as u32;
        for (x, &(x0, x1)) in xs.iter().enumerate() {
            let n = rows * (x1 - x0) as u32;
            let mut sum = [0u32; 3];
            for px in acc[x0 * 3..x1 * 3].chunks_exact(3) {
                sum[0] += px[0];
                sum[1] += px[1];
                sum[2] += px[2];
            }
            for c in 0..3 {
                out[(ty * tw + x) * 3 + c] = ((sum[c] + n / 2) / n) as u8;
            }
        }
    }
    out
}

/// Collects the tiles of one video's frames and lays them out.
pub struct ContactSheet {
    count: usize,
    layout: Option<Layout>,
    /// Per frame position: its label time and tile (`tile_width`×`tile_height`, packed RGB).
    tiles: Vec<Option<(i64, Vec<u8>)>>,
}

impl ContactSheet {
    /// A sheet for `count` frames.
    pub fn new(count: usize) -> ContactSheet {
        ContactSheet {
            count,
            layout: None,
            tiles: vec![None; count],
        }
    }

    /// Adds the frame at positions `indices` (one decoded frame may serve several targets),
    /// shown at `ms`. The first frame fixes the layout; a frame of another shape is scaled
    /// to its tile.
    pub fn add(&mut self, indices: &[usize], ms: i64, picture: RgbPicture<'_>) {
        let layout = *self
            .layout
            .get_or_insert_with(|| Layout::for_frames(self.count, picture.width, picture.height));
        let tile = shrink(picture, layout.tile_width, layout.tile_height);
        for &i in indices {
            if let Some(slot) = self.tiles.get_mut(i) {
                *slot = Some((ms, tile.clone()));
            }
        }
    }

    /// The grid, once a frame has been added.
    pub fn layout(&self) -> Option<Layout> {
        self.layout
    }

    /// The sheet as a JPEG at `quality`, with its size; `None` when no frame was added.
    pub fn finish(&self, quality: u8) -> Result<Option<(Vec<u8>, u32, u32)>, ItemError> {
        let Some(layout) = self.layout else {
            return Ok(None);
        };
        let (sw, sh) = layout.size();
        let mut sheet = vec![BACKGROUND; (sw * sh * 3) as usize];
        let (tw, th) = (layout.tile_width as usize, layout.tile_height as usize);
        for (i, tile) in self.tiles.iter().enumerate() {
            let Some((ms, pixels)) = tile else { continue };
            let (col, row) = (i as u32 % layout.columns, i as u32 / layout.columns);
            let x0 = (GAP + col * (layout.tile_width + GAP)) as usize;
            let y0 = (GAP + row * (layout.tile_height + GAP)) as usize;
            for y in 0..th {
                let at = ((y0 + y) * sw as usize + x0) * 3;
                sheet[at..at + tw * 3].copy_from_slice(&pixels[y * tw * 3..(y + 1) * tw * 3]);
            }
            draw_label(&mut sheet, sw as usize, x0, y0 + th, tw, &time_label(*ms));
        }
        let jpeg = turbojpeg::compress(
            turbojpeg::Image {
                pixels: sheet.as_slice(),
                width: sw as usize,
                pitch: sw as usize * 3,
                height: sh as usize,
                format: turbojpeg::PixelFormat::RGB,
            },
            quality.clamp(1, 100) as i32,
            turbojpeg::Subsamp::Sub2x2,
        )
        .map_err(|e| ItemError::new(ErrorKind::EncodeFailed, format!("contact sheet: {e}")))?;
        Ok(Some((jpeg.to_vec(), sw, sh)))
    }
}

/// Draws `text` white on a dark box whose bottom-left corner is (`x0`, `bottom`) in a sheet
/// `sw` pixels wide, within `max_w` pixels; glyphs at scale 2 when the tile is wide enough.
fn draw_label(sheet: &mut [u8], sw: usize, x0: usize, bottom: usize, max_w: usize, text: &str) {
    let glyphs: Vec<[u8; 7]> = text.chars().filter_map(glyph).collect();
    let scale = if max_w >= 6 * 2 * glyphs.len() + 8 {
        2
    } else {
        1
    };
    let (pad, advance) = (2 * scale, 6 * scale);
    let box_w = (glyphs.len() * advance + 2 * pad - scale).min(max_w);
    let box_h = 7 * scale + 2 * pad;
    if bottom < box_h {
        return;
    }
    let top = bottom - box_h;
    for y in top..bottom {
        for x in x0..x0 + box_w {
            let at = (y * sw + x) * 3;
            for v in &mut sheet[at..at + 3] {
                *v /= 4;
            }
        }
    }
    for (n, rows) in glyphs.iter().enumerate() {
        for (gy, bits) in rows.iter().enumerate() {
            for gx in 0..5 {
                if bits & (0x10 >> gx) == 0 {
                    continue;
                }
                for dy in 0..scale {
                    for dx in 0..scale {
                        let x = x0 + pad + n * advance + gx * scale + dx;
                        let y = top + pad + gy * scale + dy;
                        if x < x0 + box_w {
                            let at = (y * sw + x) * 3;
                            sheet[at..at + 3].copy_from_slice(&[255, 255, 255]);
                        }
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_read_minutes_seconds_and_tenths() {
        assert_eq!(time_label(0), "0:00.0");
        assert_eq!(time_label(7_549), "0:07.5");
        assert_eq!(time_label(62_000), "1:02.0");
        assert_eq!(time_label(-40), "-0:00.0");
        assert!(time_label(3_723_456).chars().all(|c| glyph(c).is_some()));
    }

    #[test]
    fn layouts_are_near_square_and_at_most_2048_wide() {
        for (count, w, h) in [
            (60, 720, 1280),
            (60, 1920, 1080),
            (1, 720, 1280),
            (3, 64, 48),
        ] {
            let l = Layout::for_frames(count, w, h);
            let (sw, sh) = l.size();
            assert!(sw <= MAX_WIDTH, "{count} {w}x{h}: {sw} wide");
            assert!(l.columns * l.rows >= count as u32);
            assert!(l.tile_width <= w, "never upscales");
            assert!(l.tile_width.max(l.tile_height) <= MAX_TILE_SIDE + 1);
            if count >= 60 {
                let ratio = sw as f64 / sh as f64;
                assert!((0.6..1.7).contains(&ratio), "{count} {w}x{h}: {sw}x{sh}");
            }
        }
        let portrait = Layout::for_frames(60, 720, 1280);
        assert_eq!((portrait.columns, portrait.rows), (11, 6));
    }

    #[test]
    fn shrinking_averages_each_source_rectangle() {
        // 4×2 picture: left half black, right half white; to 2×1 gives one black, one white.
        let mut pixels = vec![0u8; 4 * 2 * 3 + 6];
        for y in 0..2 {
            for x in 2..4 {
                let at = y * 15 + x * 3;
                pixels[at..at + 3].copy_from_slice(&[255, 255, 255]);
            }
        }
        let pic = RgbPicture {
            pixels: &pixels,
            width: 4,
            height: 2,
            pitch: 15,
        };
        assert_eq!(shrink(pic, 2, 1), vec![0, 0, 0, 255, 255, 255]);
        assert_eq!(shrink(pic, 1, 1), vec![128, 128, 128]);
    }

    #[test]
    fn tiles_land_in_frame_order_with_a_label() {
        let (w, h) = (40u32, 30u32);
        let mut sheet = ContactSheet::new(3);
        for (i, v) in [(0usize, 200u8), (2, 100)] {
            let pixels = vec![v; (w * h * 3) as usize];
            let pic = RgbPicture {
                pixels: &pixels,
                width: w,
                height: h,
                pitch: (w * 3) as usize,
            };
            sheet.add(&[i], i as i64 * 1000, pic);
        }
        let (jpeg, sw, sh) = sheet.finish(95).unwrap().unwrap();
        let img = image::load_from_memory(&jpeg).unwrap().to_rgb8();
        assert_eq!(img.dimensions(), (sw, sh));
        let l = Layout::for_frames(3, w, h);
        let centre = |i: u32| {
            let x = GAP + (i % l.columns) * (l.tile_width + GAP) + l.tile_width / 2;
            let y = GAP + (i / l.columns) * (l.tile_height + GAP) + l.tile_height / 4;
            img.get_pixel(x, y)[0] as i32
        };
        assert!((centre(0) - 200).abs() < 8);
        assert!(
            (centre(1) - BACKGROUND as i32).abs() < 8,
            "missing frame stays empty"
        );
        assert!((centre(2) - 100).abs() < 8);
        assert!(ContactSheet::new(2).finish(90).unwrap().is_none());
    }
}
