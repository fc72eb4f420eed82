//! Bitmap text from the public-domain `font8x8` glyphs.
//!
//! Glyphs are drawn proportionally: each glyph's blank columns are trimmed and
//! one blank column separates neighbours. Monospaced 8-px cells waste a lot of
//! room in tick labels ("0.1" would be 24 px wide instead of 13), and the
//! trimmed spacing reads more like a normal typeface. Everything is drawn at
//! integer scale so glyph pixels stay crisp.

use font8x8::{BASIC_FONTS, GREEK_FONTS, LATIN_FONTS, UnicodeFonts};
use image::RgbImage;

/// Height in pixels of one line of text at `scale`, without any leading.
pub const GLYPH_HEIGHT: u32 = 8;

/// Advance of a space, in unscaled pixels; an all-blank glyph would otherwise
/// have zero width.
const SPACE_ADVANCE: u32 = 4;
/// Blank columns between two glyphs, in unscaled pixels.
const GLYPH_GAP: u32 = 1;

/// One glyph bitmap with the columns it actually uses.
struct Glyph {
    rows: [u8; 8],
    /// First used column (bit index, 0 = leftmost).
    first: u32,
    /// Number of columns drawn (`0` for blank glyphs such as space).
    width: u32,
}

/// Looks a character up in the ASCII table first, then Latin-1 and Greek (so
/// "é", "±", "λ" work); anything else renders as '?' rather than vanishing.
fn glyph(c: char) -> Glyph {
    let rows = BASIC_FONTS
        .get(c)
        .or_else(|| LATIN_FONTS.get(c))
        .or_else(|| GREEK_FONTS.get(c))
        .or_else(|| BASIC_FONTS.get('?'))
        .unwrap_or([0; 8]);
    let used = rows.iter().fold(0u8, |acc, r| acc | r);
    if used == 0 {
        return Glyph {
            rows,
            first: 0,
            width: 0,
        };
    }
    // font8x8 stores the leftmost pixel in the least significant bit.
    let first = used.trailing_zeros();
    let last = 7 - used.leading_zeros();
    Glyph {
        rows,
        first,
        width: last - first + 1,
    }
}

/// Horizontal advance of a glyph, in unscaled pixels, excluding the gap.
fn glyph_advance(g: &Glyph) -> u32 {
    if g.width == 0 { SPACE_ADVANCE } else { g.width }
}

/// Width in pixels that `s` occupies when drawn at `scale` (0 is treated as 1).
pub fn text_width(s: &str, scale: u32) -> u32 {
    let scale = scale.max(1);
    let mut width = 0;
    for (i, c) in s.chars().enumerate() {
        if i > 0 {
            width += GLYPH_GAP;
        }
        width += glyph_advance(&glyph(c));
    }
    width * scale
}

/// Height in pixels of a line of text at `scale`.
pub fn text_height(scale: u32) -> u32 {
    GLYPH_HEIGHT * scale.max(1)
}

/// Shortens `s` with a trailing ".." until it fits in `max_width` pixels, so
/// long labels degrade gracefully instead of running into neighbours.
pub fn fit_text(s: &str, scale: u32, max_width: u32) -> String {
    if text_width(s, scale) <= max_width {
        return s.to_string();
    }
    let mut chars: Vec<char> = s.chars().collect();
    while !chars.is_empty() {
        chars.pop();
        let candidate: String = chars.iter().collect::<String>() + "..";
        if text_width(&candidate, scale) <= max_width {
            return candidate;
        }
    }
    String::new()
}

/// Calls `put(dx, dy)` for every set pixel of `s` laid out horizontally, with
/// offsets relative to the text's top-left corner.
fn for_each_pixel(s: &str, scale: u32, mut put: impl FnMut(u32, u32)) {
    let scale = scale.max(1);
    let mut pen = 0u32;
    for (i, c) in s.chars().enumerate() {
        if i > 0 {
            pen += GLYPH_GAP;
        }
        let g = glyph(c);
        for (row, bits) in g.rows.iter().enumerate() {
            for col in 0..g.width {
                if bits & (1 << (g.first + col)) != 0 {
                    for sy in 0..scale {
                        for sx in 0..scale {
                            put((pen + col) * scale + sx, row as u32 * scale + sy);
                        }
                    }
                }
            }
        }
        pen += glyph_advance(&g);
    }
}

fn put_pixel(img: &mut RgbImage, x: i64, y: i64, color: [u8; 3]) {
    if x >= 0 && y >= 0 && (x as u64) < img.width() as u64 && (y as u64) < img.height() as u64 {
        img.put_pixel(x as u32, y as u32, image::Rgb(color));
    }
}

/// Draws `s` with its top-left corner at (`x`, `y`); pixels outside the image
/// are skipped, so callers may draw partially visible text.
pub fn draw_text(img: &mut RgbImage, x: i32, y: i32, s: &str, scale: u32, color: [u8; 3]) {
    for_each_pixel(s, scale, |dx, dy| {
        put_pixel(img, x as i64 + dx as i64, y as i64 + dy as i64, color)
    });
}

/// Draws `s` rotated 90° counter-clockwise (reading bottom to top, as y-axis
/// labels conventionally do). (`x`, `y`) is the top-left corner of the rotated
/// text's bounding box, which is `text_height` wide and `text_width` tall.
pub fn draw_text_vertical(img: &mut RgbImage, x: i32, y: i32, s: &str, scale: u32, color: [u8; 3]) {
    let len = text_width(s, scale) as i64;
    for_each_pixel(s, scale, |dx, dy| {
        put_pixel(
            img,
            x as i64 + dy as i64,
            y as i64 + len - 1 - dx as i64,
            color,
        )
    });
}

/// Draws `s` in a faux bold (the glyphs drawn twice, one pixel apart), used for
/// titles so they stand out without a second font.
pub fn draw_text_bold(img: &mut RgbImage, x: i32, y: i32, s: &str, scale: u32, color: [u8; 3]) {
    draw_text(img, x, y, s, scale, color);
    draw_text(img, x + 1, y, s, scale, color);
}

/// Width of `s` drawn with [`draw_text_bold`].
pub fn bold_text_width(s: &str, scale: u32) -> u32 {
    if s.is_empty() {
        0
    } else {
        text_width(s, scale) + 1
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn width_of_empty_text_is_zero() {
        assert_eq!(text_width("", 1), 0);
        assert_eq!(text_width("", 2), 0);
    }

    #[test]
    fn width_scales_linearly_and_grows_with_length() {
        let w1 = text_width("Sparsity 0.5", 1);
        assert_eq!(text_width("Sparsity 0.5", 2), 2 * w1);
        assert!(text_width("ab", 1) > text_width("a", 1));
        // '1' is narrower than 'M' in the proportional layout.
        assert!(text_width("1", 1) < text_width("M", 1));
        assert!(text_width("M", 1) <= 8);
    }

    #[test]
    fn width_matches_drawn_extent() {
        for s in ["Accuracy (%)", "0.25", "W", "a b", "i"] {
            for scale in [1, 2] {
                let w = text_width(s, scale);
                let mut img = RgbImage::from_pixel(w + 20, 30, image::Rgb([255; 3]));
                draw_text(&mut img, 10, 5, s, scale, [0, 0, 0]);
                let dark: Vec<u32> = img
                    .enumerate_pixels()
                    .filter(|(_, _, p)| p.0 == [0, 0, 0])
                    .map(|(x, _, _)| x)
                    .collect();
                let min = *dark.iter().min().unwrap();
                let max = *dark.iter().max().unwrap();
                assert_eq!(min, 10, "{s} at {scale}");
                assert_eq!(max, 10 + w - 1, "{s} at {scale}");
            }
        }
    }

    #[test]
    fn vertical_text_occupies_rotated_box() {
        let s = "RMA";
        let w = text_width(s, 1);
        let mut img = RgbImage::from_pixel(40, 60, image::Rgb([255; 3]));
        draw_text_vertical(&mut img, 5, 7, s, 1, [0, 0, 0]);
        let dark: Vec<(u32, u32)> = img
            .enumerate_pixels()
            .filter(|(_, _, p)| p.0 == [0, 0, 0])
            .map(|(x, y, _)| (x, y))
            .collect();
        assert!(
            dark.iter()
                .all(|&(x, y)| (5..13).contains(&x) && (7..7 + w).contains(&y))
        );
        assert_eq!(dark.iter().map(|p| p.1).min(), Some(7));
        assert_eq!(dark.iter().map(|p| p.1).max(), Some(7 + w - 1));
    }

    #[test]
    fn unknown_characters_and_clipping_do_not_panic() {
        let mut img = RgbImage::new(10, 10);
        draw_text(&mut img, -5, -3, "\u{1F600}λé", 2, [255, 0, 0]);
        draw_text_vertical(&mut img, 8, 8, "overflow", 3, [255, 0, 0]);
        assert!(text_width("\u{1F600}", 1) > 0);
    }

    #[test]
    fn fit_text_truncates_with_ellipsis() {
        assert_eq!(fit_text("short", 1, 100), "short");
        let t = fit_text("a rather long column label", 1, 40);
        assert!(t.ends_with(".."));
        assert!(text_width(&t, 1) <= 40);
    }
}
