//! Panel layout: margins sized from the actual tick labels, the plot area,
//! and the mapping from data to pixel coordinates.

use super::canvas::PixelRect;
use super::scene::text_box;
use super::ticks::{Extent, Ticks, choose_ticks, padded_range, sanitize_range};
use super::{Axes, Series};

/// Sizes derived from the integer text scale `s`, so a panel drawn at scale 2
/// is a uniformly enlarged version of the same panel at scale 1.
#[derive(Clone, Copy, Debug)]
pub(super) struct Metrics {
    pub s: u32,
}

/// Font size (px, ascender to descender) of text at integer scale `s`: 13 px at
/// scale 1 (about matplotlib's 10 pt at 100 dpi), 19.5 px at scale 2.
pub fn font_size(s: u32) -> f32 {
    6.5 * (s.max(1) + 1) as f32
}

/// Width in pixels of `text` at scale `s`.
pub(super) fn text_w(text: &str, s: u32) -> i32 {
    text_box(text, font_size(s)).0
}

impl Metrics {
    pub fn si(self) -> i32 {
        self.s as i32
    }
    pub fn font(self) -> f32 {
        font_size(self.s)
    }
    pub fn text_h(self) -> i32 {
        self.font().ceil() as i32
    }
    /// Panel titles are a little larger than the other text.
    pub fn title_font(self) -> f32 {
        self.font() * 1.15
    }
    pub fn title_h(self) -> i32 {
        self.title_font().ceil() as i32
    }
    pub fn pad(self) -> i32 {
        6 * self.si()
    }
    pub fn tick_len(self) -> i32 {
        4 * self.si()
    }
    pub fn tick_gap(self) -> i32 {
        3 * self.si()
    }
    pub fn line_width(self) -> f64 {
        1.0 + 1.25 * self.s as f64
    }
    pub fn marker_radius(self) -> f64 {
        1.5 + 2.0 * self.s as f64
    }
    pub fn dash(self) -> [f64; 2] {
        [7.0 * self.s as f64, 4.0 * self.s as f64]
    }
}

/// Where the plot area of a panel lies and how data coordinates map onto it.
///
/// The ends of each range map to the centres of the outermost pixels of
/// `area`, so `(x_lo, y_lo)` lands in pixel `(area.x0, area.y1 - 1)` and
/// `(x_hi, y_hi)` in `(area.x1 - 1, area.y0)`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct PlotFrame {
    pub area: PixelRect,
    pub x_range: (f64, f64),
    pub y_range: (f64, f64),
    /// Range of the secondary (right-hand) axis, if the panel has one.
    pub y2_range: Option<(f64, f64)>,
}

impl PlotFrame {
    fn map(v: f64, (lo, hi): (f64, f64), start: i32, len: i32) -> f64 {
        start as f64 + 0.5 + (v - lo) / (hi - lo) * (len - 1).max(0) as f64
    }

    pub fn x_to_pixel(&self, x: f64) -> f64 {
        Self::map(x, self.x_range, self.area.x0, self.area.width())
    }

    fn y_to_pixel(&self, y: f64, range: (f64, f64)) -> f64 {
        let h = self.area.height();
        // Pixel rows grow downwards, data upwards.
        2.0 * self.area.y0 as f64 + h as f64 - Self::map(y, range, self.area.y0, h)
    }

    /// Pixel position (continuous coordinates, pixel `(i, j)` spanning
    /// `[i, i+1) x [j, j+1)`) of a point on the primary axis.
    pub fn to_pixel(&self, x: f64, y: f64) -> (f64, f64) {
        (self.x_to_pixel(x), self.y_to_pixel(y, self.y_range))
    }

    /// Like [`PlotFrame::to_pixel`] for the secondary axis (the primary one
    /// when the panel has none).
    pub fn to_pixel_secondary(&self, x: f64, y: f64) -> (f64, f64) {
        (
            self.x_to_pixel(x),
            self.y_to_pixel(y, self.y2_range.unwrap_or(self.y_range)),
        )
    }
}

pub(super) struct Layout {
    pub frame: PlotFrame,
    pub has_data: bool,
    pub x_ticks: Ticks,
    pub y_ticks: Ticks,
    pub y2_ticks: Option<Ticks>,
}

fn widest(labels: &[String], s: u32) -> i32 {
    labels.iter().map(|l| text_w(l, s)).max().unwrap_or(0)
}

fn resolve_range(explicit: Option<(f64, f64)>, extent: Extent) -> (f64, f64) {
    sanitize_range(explicit)
        .or(extent.bounds.map(|(lo, hi)| padded_range(lo, hi)))
        // Data near f64::MAX can pad out to infinity; the extent itself is finite.
        .filter(|(lo, hi)| (hi - lo).is_finite())
        .or(extent
            .bounds
            .filter(|(lo, hi)| hi > lo && (hi - lo).is_finite()))
        .unwrap_or((0.0, 1.0))
}

/// Computes the plot area and ticks: margins are sized from the actual tick
/// labels, and tick density from the pixels the area ends up with. `below` is
/// the height kept free under the x-axis label (for a legend placed there).
pub(super) fn layout(axes: &Axes, width: u32, height: u32, s: u32, below: i32) -> Layout {
    let m = Metrics { s };
    let (w, h) = (width as i32, height as i32);
    let (mut xs, mut ys, mut y2s) = (Extent::default(), Extent::default(), Extent::default());
    for (series, secondary) in all_series(axes) {
        for &(x, y) in series
            .points
            .iter()
            .filter(|p| p.0.is_finite() && p.1.is_finite())
        {
            xs.add(x);
            if secondary { y2s.add(y) } else { ys.add(y) }
        }
    }
    for &(x, lo, hi) in axes.bands.iter().flat_map(|b| &b.points) {
        if x.is_finite() && lo.is_finite() && hi.is_finite() {
            xs.add(x);
            ys.add(lo);
            ys.add(hi);
        }
    }
    for hl in axes
        .highlights
        .iter()
        .filter(|hl| hl.x.is_finite() && hl.y.is_finite())
    {
        xs.add(hl.x);
        if hl.on_secondary {
            y2s.add(hl.y)
        } else {
            ys.add(hl.y)
        }
    }
    let has_data = xs.bounds.is_some();
    for r in axes.reference_lines.iter() {
        ys.add(r.y);
    }
    let x_range = resolve_range(axes.x_range, xs);
    let y_range = resolve_range(axes.y_range, ys);
    let y2_range = axes
        .secondary
        .as_ref()
        .map(|sec| resolve_range(sec.y_range, y2s));

    let th = m.text_h();
    // Below the title, leave room for half of the top tick label (centred on
    // the frame's top edge) plus a gap, so the two never touch.
    let top = m.pad()
        + if axes.title.is_empty() {
            th / 2
        } else {
            m.title_h() + m.pad() + th / 2
        };
    let x_label_h = if axes.x_label.is_empty() {
        0
    } else {
        m.pad() + th
    };
    let bottom = m.si() + m.tick_len() + m.tick_gap() + th + x_label_h + m.pad() + below.max(0);
    let plot_h = (h - top - bottom).max(2);
    let y_fits = |_: &[String], frac: f64| frac * plot_h as f64 >= (th + 4 * m.si()) as f64;
    let empty = || Ticks {
        values: vec![],
        labels: vec![],
    };
    let tick_or_empty = |range: (f64, f64), format| {
        if has_data {
            choose_ticks(range.0, range.1, format, y_fits)
        } else {
            empty()
        }
    };
    let y_ticks = tick_or_empty(y_range, axes.y_format);
    let y2_ticks = axes
        .secondary
        .as_ref()
        .map(|sec| tick_or_empty(y2_range.unwrap_or((0.0, 1.0)), sec.y_format));

    let y_label_w = if axes.y_label.is_empty() {
        0
    } else {
        th + m.pad()
    };
    let left =
        m.pad() + y_label_w + widest(&y_ticks.labels, s) + m.tick_gap() + m.tick_len() + m.si();
    let mut right = match (&axes.secondary, &y2_ticks) {
        (Some(sec), Some(t)) => {
            let label_w = if sec.y_label.is_empty() {
                0
            } else {
                th + m.pad()
            };
            m.si() + m.tick_len() + m.tick_gap() + widest(&t.labels, s) + label_w + m.pad()
        }
        _ => m.pad() * 2,
    };
    let x_ticks_for = |plot_w: i32| {
        if !has_data {
            return empty();
        }
        choose_ticks(x_range.0, x_range.1, axes.x_format, |labels, frac| {
            frac * plot_w as f64 >= (widest(labels, s) + 8 * m.si()) as f64
        })
    };
    let mut x_ticks = x_ticks_for((w - left - right).max(2));
    if axes.secondary.is_none() {
        // Leave room for the last x tick label, which is centred on its tick.
        if let (Some(&v), Some(label)) = (x_ticks.values.last(), x_ticks.labels.last()) {
            let plot_w = (w - left - right).max(2) as f64;
            let from_edge = (x_range.1 - v) / (x_range.1 - x_range.0) * plot_w;
            let overflow = text_w(label, s) as f64 / 2.0 - from_edge;
            let needed = overflow.ceil() as i32 + m.pad();
            if needed > right {
                right = needed;
                x_ticks = x_ticks_for((w - left - right).max(2));
            }
        }
    }
    // The first x tick label is centred on its tick too: keep it off the left edge.
    let mut left = left;
    if let (Some(&v), Some(label)) = (x_ticks.values.first(), x_ticks.labels.first()) {
        let plot_w = (w - left - right).max(2) as f64;
        let from_edge = (v - x_range.0) / (x_range.1 - x_range.0) * plot_w;
        let needed = (text_w(label, s) as f64 / 2.0 - from_edge).ceil() as i32 + m.pad();
        if needed > left {
            left = needed;
            x_ticks = x_ticks_for((w - left - right).max(2));
        }
    }
    let area = PixelRect::new(left, top, (w - left - right).max(2), plot_h);
    Layout {
        frame: PlotFrame {
            area,
            x_range,
            y_range,
            y2_range,
        },
        has_data,
        x_ticks,
        y_ticks,
        y2_ticks,
    }
}

pub(super) fn all_series(axes: &Axes) -> impl Iterator<Item = (&Series, bool)> {
    let secondary = axes.secondary.iter().flat_map(|sec| sec.series.iter());
    axes.series
        .iter()
        .map(|s| (s, false))
        .chain(secondary.map(|s| (s, true)))
}
