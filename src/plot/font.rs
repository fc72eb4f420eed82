//! The figures' typeface: DejaVu Sans (Bitstream Vera licence, `assets/fonts/LICENSE`), embedded
//! in the binary so figures look the same on every machine with no system fonts.
//!
//! Sizes are ab_glyph's "px scale": the distance from the font's ascender to its descender, so a
//! line of `size` px text occupies exactly `size` px of height (the text box used for layout).
//! The same glyph positions feed the raster (anti-aliased coverage) and the SVG (outlines).

use std::sync::OnceLock;

use ab_glyph::{Font, FontRef, GlyphId, OutlineCurve, PxScale, ScaleFont, point};

static FONT_BYTES: &[u8] = include_bytes!("../../assets/fonts/DejaVuSans.ttf");

pub(super) fn font() -> &'static FontRef<'static> {
    static FONT: OnceLock<FontRef<'static>> = OnceLock::new();
    FONT.get_or_init(|| {
        FontRef::try_from_slice(FONT_BYTES).expect("the embedded DejaVu Sans is a valid font")
    })
}

/// One glyph of a laid-out line: its id and pen position (x from the line's start, in px).
#[derive(Clone, Copy, Debug)]
pub(super) struct Placed {
    pub id: GlyphId,
    pub x: f32,
}

/// Glyphs of `s` on one line at `size`, kerned; characters the font lacks become '?'.
pub(super) fn layout(s: &str, size: f32) -> (Vec<Placed>, f32) {
    let f = font();
    let scaled = f.as_scaled(PxScale::from(size));
    let mut pen = 0.0f32;
    let mut prev: Option<GlyphId> = None;
    let mut out = Vec::with_capacity(s.len());
    for c in s.chars() {
        let mut id = f.glyph_id(c);
        if id.0 == 0 && !c.is_whitespace() {
            id = f.glyph_id('?');
        }
        if let Some(p) = prev {
            pen += scaled.kern(p, id);
        }
        out.push(Placed { id, x: pen });
        pen += scaled.h_advance(id);
        prev = Some(id);
    }
    (out, pen)
}

/// Advance width of `s` at `size` px.
pub fn width(s: &str, size: f32) -> f32 {
    layout(s, size).1
}

/// Distance from the top of the text box to the baseline at `size`.
pub(super) fn ascent(size: f32) -> f32 {
    font().as_scaled(PxScale::from(size)).ascent()
}

/// Calls `put(x, y, coverage)` for the pixels of `s` drawn with its box's top-left corner at the
/// origin (x right, y down, whole pixels, possibly negative for overhanging glyphs).
pub(super) fn rasterize(s: &str, size: f32, mut put: impl FnMut(i32, i32, f32)) {
    let f = font();
    let (glyphs, _) = layout(s, size);
    let baseline = ascent(size);
    for g in glyphs {
        let glyph =
            g.id.with_scale_and_position(PxScale::from(size), point(g.x, baseline));
        if let Some(outlined) = f.outline_glyph(glyph) {
            let b = outlined.px_bounds();
            let (x0, y0) = (b.min.x as i32, b.min.y as i32);
            outlined.draw(|x, y, c| put(x0 + x as i32, y0 + y as i32, c));
        }
    }
}

/// SVG path data of glyph `id` in font units scaled to 1 px = 1 unit at size 1 (y down), so a
/// `<use>` with `scale(size)` draws it at `size` px with the origin on the baseline.
pub(super) fn glyph_path(id: GlyphId) -> String {
    let f = font();
    let Some(outline) = f.outline(id) else {
        return String::new();
    };
    let k = 1.0 / f.height_unscaled();
    let p = |q: ab_glyph::Point| format!("{:.4} {:.4}", q.x * k, -q.y * k);
    let mut d = String::new();
    let mut last: Option<ab_glyph::Point> = None;
    for curve in &outline.curves {
        let (start, rest) = match curve {
            OutlineCurve::Line(a, b) => (*a, format!("L{}", p(*b))),
            OutlineCurve::Quad(a, c, b) => (*a, format!("Q{} {}", p(*c), p(*b))),
            OutlineCurve::Cubic(a, c1, c2, b) => (*a, format!("C{} {} {}", p(*c1), p(*c2), p(*b))),
        };
        if last != Some(start) {
            d.push_str(&format!("M{}", p(start)));
        }
        d.push_str(&rest);
        last = Some(match curve {
            OutlineCurve::Line(_, b)
            | OutlineCurve::Quad(_, _, b)
            | OutlineCurve::Cubic(_, _, _, b) => *b,
        });
    }
    d
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn widths_scale_and_differ_by_glyph() {
        let w = width("Sparsity 20%", 13.0);
        assert!((width("Sparsity 20%", 26.0) - 2.0 * w).abs() < 0.5);
        assert!(width("i", 13.0) < width("M", 13.0));
        assert_eq!(width("", 13.0), 0.0);
    }

    #[test]
    fn rasterized_ink_lies_inside_the_text_box() {
        let (size, s) = (20.0, "Ag|y (%)");
        let w = width(s, size);
        let mut ink = 0.0;
        rasterize(s, size, |x, y, c| {
            assert!(x >= -1 && (x as f32) <= w + 1.0, "x {x} outside 0..{w}");
            assert!(y >= 0 && (y as f32) <= size, "y {y} outside 0..{size}");
            ink += c;
        });
        assert!(ink > 20.0, "{ink}");
    }

    #[test]
    fn glyph_outlines_exist_for_letters_and_not_for_space() {
        let f = font();
        assert!(glyph_path(f.glyph_id('R')).starts_with('M'));
        assert!(glyph_path(f.glyph_id(' ')).is_empty());
        // A character outside the font falls back to '?' rather than vanishing.
        let (glyphs, _) = layout("\u{10FFFD}", 12.0);
        assert_eq!(glyphs[0].id, f.glyph_id('?'));
    }
}
