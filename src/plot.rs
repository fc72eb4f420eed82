//! Line charts, heat-map overlays and image grids for the report, as PNG and SVG.
//!
//! A figure is first laid out as a [`Scene`] (shapes, text with its box, pictures in
//! pixel coordinates), then rendered to an anti-aliased raster and to an SVG from the
//! same scene. Text uses DejaVu Sans embedded in the binary (`assets/fonts`), so
//! figures come out identical on every machine, with no system fonts or plotting back
//! end to install. The chart model is small on purpose: line series (solid, dashed or
//! dotted, with markers), shaded confidence bands, highlighted points, one optional
//! right-hand axis, reference lines (the dense model, chance), and grids of such
//! panels, which is what metric-versus-sparsity plots need. Layout keeps every label
//! inside the canvas and apart from the others, and legends off the data.
//!
//! ```no_run
//! use pvr::plot::{Axes, Figure, Series, TickFormat};
//! let axes = Axes::new("ResNet-50", "sparsity", "accuracy")
//!     .with_x_format(TickFormat::Percent)
//!     .with_series(Series::new("IMP", vec![(0.0, 0.76), (0.2, 0.77), (0.5, 0.74)]))
//!     .with_reference_line(0.76, "dense");
//! // Writes acc.png and acc.svg.
//! Figure::single(axes).save(std::path::Path::new("acc.png")).unwrap();
//! ```

mod canvas;
mod font;
mod grid;
mod images;
mod layout;
mod legend;
mod panel;
mod raster;
mod scene;
mod svg;
mod ticks;
mod weight;

use std::path::Path;

use image::RgbImage;
use serde::{Deserialize, Serialize};

pub use canvas::PixelRect;
pub use grid::{GridCell, colour_bar, colour_bar_width, image_grid};
pub use images::{draw_box, draw_outline, heatmap_overlay, viridis};
pub use layout::{PlotFrame, font_size};
pub use scene::{Anchor, Item, Scene, Shape, Text, fit_text, svg_path, text_box};
pub use ticks::{Ticks, nice_ticks};
pub use weight::LineWeight;

/// Okabe-Ito colours, ordered so the first few are the most distinct on white
/// and for the common forms of colour blindness; yellow comes last because it
/// is hard to see on a white background.
pub const PALETTE: [[u8; 3]; 8] = [
    [0, 114, 178],   // blue
    [213, 94, 0],    // vermillion
    [0, 158, 115],   // bluish green
    [230, 159, 0],   // orange
    [204, 121, 167], // reddish purple
    [86, 180, 233],  // sky blue
    [0, 0, 0],       // black
    [240, 228, 66],  // yellow
];

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum LineStyle {
    #[default]
    Solid,
    Dashed,
    Dotted,
}

/// A horizontal line across a panel at `y` on the primary axis (the dense
/// model's value, chance), listed in the legend under `label`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct ReferenceLine {
    pub y: f64,
    pub label: String,
    pub style: LineStyle,
}

/// How tick values are written.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum TickFormat {
    /// Decimal numbers with as many decimals as the tick step needs;
    /// scientific notation ("2e-6") below 1e-3 and from 1e5 up.
    #[default]
    Plain,
    /// Fractions written as percentages: 0.2 -> "20%".
    Percent,
}

/// Where the legend goes inside the plot area.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum LegendPosition {
    /// The corner or edge position that hides the least data (top-right on ties).
    #[default]
    Best,
    TopRight,
    TopLeft,
    BottomRight,
    BottomLeft,
    /// No legend.
    Hidden,
}

/// A line through `points` (drawn in the given order; non-finite points break
/// the line there).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Series {
    pub name: String,
    pub points: Vec<(f64, f64)>,
    pub style: LineStyle,
    /// `None` takes the next [`PALETTE`] colour.
    pub color: Option<[u8; 3]>,
    /// Marks every point; the shape cycles (circle, square, diamond, triangle)
    /// with the series' position so lines stay distinguishable in greyscale.
    pub markers: bool,
    /// How strongly it is drawn: one seed's curve faintly, the across-seed mean boldly.
    #[serde(default)]
    pub weight: LineWeight,
}

impl Series {
    /// A solid, palette-coloured series with markers (metric-vs-sparsity
    /// curves have few points, and markers show where they were measured).
    pub fn new(name: impl Into<String>, points: impl IntoIterator<Item = (f64, f64)>) -> Self {
        Self {
            name: name.into(),
            points: points.into_iter().collect(),
            style: LineStyle::Solid,
            color: None,
            markers: true,
            weight: LineWeight::Normal,
        }
    }

    /// One of several curves behind a mean (one seed's): thin, light, without markers.
    pub fn faint(mut self) -> Self {
        self.weight = LineWeight::Faint;
        self.markers = false;
        self
    }

    /// The curve the faint ones are summarised by (the across-seed mean).
    pub fn bold(mut self) -> Self {
        self.weight = LineWeight::Bold;
        self
    }

    pub fn dashed(mut self) -> Self {
        self.style = LineStyle::Dashed;
        self
    }

    pub fn with_style(mut self, style: LineStyle) -> Self {
        self.style = style;
        self
    }

    pub fn with_color(mut self, color: [u8; 3]) -> Self {
        self.color = Some(color);
        self
    }

    pub fn with_markers(mut self, markers: bool) -> Self {
        self.markers = markers;
        self
    }
}

/// A shaded region between `low` and `high` at each `x` (points are sorted by
/// x before filling; non-finite points split the band).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Band {
    /// A band named like a series takes that series' colour and shares its
    /// legend entry (the usual "mean line with confidence band").
    pub name: String,
    /// `(x, low, high)`.
    pub points: Vec<(f64, f64, f64)>,
    pub color: Option<[u8; 3]>,
}

impl Band {
    pub fn new(name: impl Into<String>, points: impl IntoIterator<Item = (f64, f64, f64)>) -> Self {
        Self {
            name: name.into(),
            points: points.into_iter().collect(),
            color: None,
        }
    }

    pub fn with_color(mut self, color: [u8; 3]) -> Self {
        self.color = Some(color);
        self
    }
}

/// A point to draw attention to (e.g. the "sweet spot" sparsity): a ring
/// around it and an optional label next to it.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Highlight {
    pub x: f64,
    pub y: f64,
    pub label: Option<String>,
    /// Interpret `y` on the secondary (right-hand) axis.
    pub on_secondary: bool,
}

impl Highlight {
    pub fn new(x: f64, y: f64) -> Self {
        Self {
            x,
            y,
            ..Self::default()
        }
    }

    pub fn labeled(mut self, label: impl Into<String>) -> Self {
        self.label = Some(label.into());
        self
    }

    pub fn on_secondary(mut self) -> Self {
        self.on_secondary = true;
        self
    }
}

/// A right-hand y axis with its own range and series (sharing the x axis).
/// Its series are listed in the legend with a " (right)" suffix.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct SecondaryAxis {
    pub y_label: String,
    pub series: Vec<Series>,
    pub y_range: Option<(f64, f64)>,
    pub y_format: TickFormat,
}

impl SecondaryAxis {
    pub fn new(y_label: impl Into<String>) -> Self {
        Self {
            y_label: y_label.into(),
            ..Self::default()
        }
    }

    pub fn with_series(mut self, series: Series) -> Self {
        self.series.push(series);
        self
    }

    pub fn with_y_range(mut self, lo: f64, hi: f64) -> Self {
        self.y_range = Some((lo, hi));
        self
    }

    pub fn with_y_format(mut self, format: TickFormat) -> Self {
        self.y_format = format;
        self
    }
}

/// One chart panel.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Axes {
    pub title: String,
    pub x_label: String,
    pub y_label: String,
    pub series: Vec<Series>,
    pub bands: Vec<Band>,
    pub highlights: Vec<Highlight>,
    /// Optional right-hand axis (e.g. accuracy next to RMA) with its own label and series.
    pub secondary: Option<SecondaryAxis>,
    /// `None` (or an invalid range) fits the data with a 5% margin.
    pub x_range: Option<(f64, f64)>,
    pub y_range: Option<(f64, f64)>,
    pub x_format: TickFormat,
    pub y_format: TickFormat,
    /// Horizontal lines on the primary axis (the dense model's value, chance).
    pub reference_lines: Vec<ReferenceLine>,
    pub legend: LegendPosition,
}

impl Axes {
    pub fn new(
        title: impl Into<String>,
        x_label: impl Into<String>,
        y_label: impl Into<String>,
    ) -> Self {
        Self {
            title: title.into(),
            x_label: x_label.into(),
            y_label: y_label.into(),
            ..Self::default()
        }
    }

    pub fn with_series(mut self, series: Series) -> Self {
        self.series.push(series);
        self
    }

    pub fn with_band(mut self, band: Band) -> Self {
        self.bands.push(band);
        self
    }

    pub fn with_highlight(mut self, highlight: Highlight) -> Self {
        self.highlights.push(highlight);
        self
    }

    pub fn with_secondary(mut self, secondary: SecondaryAxis) -> Self {
        self.secondary = Some(secondary);
        self
    }

    pub fn with_x_range(mut self, lo: f64, hi: f64) -> Self {
        self.x_range = Some((lo, hi));
        self
    }

    pub fn with_y_range(mut self, lo: f64, hi: f64) -> Self {
        self.y_range = Some((lo, hi));
        self
    }

    pub fn with_x_format(mut self, format: TickFormat) -> Self {
        self.x_format = format;
        self
    }

    pub fn with_y_format(mut self, format: TickFormat) -> Self {
        self.y_format = format;
        self
    }

    /// A dashed grey line at `y` (e.g. the dense model's value).
    pub fn with_reference_line(mut self, y: f64, label: impl Into<String>) -> Self {
        self.reference_lines.push(ReferenceLine {
            y,
            label: label.into(),
            style: LineStyle::Dashed,
        });
        self
    }

    /// A dotted grey line at `y` for chance level.
    pub fn with_chance_line(mut self, y: f64, label: impl Into<String>) -> Self {
        self.reference_lines.push(ReferenceLine {
            y,
            label: label.into(),
            style: LineStyle::Dotted,
        });
        self
    }

    pub fn with_legend(mut self, legend: LegendPosition) -> Self {
        self.legend = legend;
        self
    }

    /// Where the plot area lands in a `width` x `height` panel and how data
    /// maps onto it, exactly as [`Figure::render`] will draw it.
    /// (With the legend inside the plot; a legend placed below shrinks the area.)
    pub fn frame(&self, width: u32, height: u32, text_scale: u32) -> PlotFrame {
        layout::layout(self, width, height, text_scale.max(1), 0).frame
    }

    /// Lays this panel out alone.
    pub fn scene(&self, width: u32, height: u32, text_scale: u32) -> Scene {
        panel::render(self, width, height, text_scale.max(1))
    }

    /// Renders this panel alone.
    pub fn render(&self, width: u32, height: u32, text_scale: u32) -> RgbImage {
        self.scene(width, height, text_scale).to_png()
    }
}

/// A grid of panels, `columns` per row, with an optional overall title.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Figure {
    pub title: Option<String>,
    pub panels: Vec<Axes>,
    pub columns: usize,
    pub panel_width: u32,
    pub panel_height: u32,
    /// Integer text scale; `0` picks 2 for panels of at least 720 x 480 and 1
    /// otherwise, so text stays proportionate to the panel.
    pub text_scale: u32,
}

impl Default for Figure {
    fn default() -> Self {
        Self {
            title: None,
            panels: Vec::new(),
            columns: 1,
            panel_width: 800,
            panel_height: 520,
            text_scale: 0,
        }
    }
}

impl Figure {
    /// One panel at 800 x 520 (text at scale 2).
    pub fn single(axes: Axes) -> Self {
        Self {
            panels: vec![axes],
            ..Self::default()
        }
    }

    /// Panels at 400 x 300 each (text at scale 1), `columns` per row.
    pub fn grid(panels: Vec<Axes>, columns: usize) -> Self {
        Self {
            panels,
            columns,
            panel_width: 400,
            panel_height: 300,
            ..Self::default()
        }
    }

    pub fn with_title(mut self, title: impl Into<String>) -> Self {
        self.title = Some(title.into());
        self
    }

    pub fn with_panel_size(mut self, width: u32, height: u32) -> Self {
        self.panel_width = width;
        self.panel_height = height;
        self
    }

    pub fn with_text_scale(mut self, scale: u32) -> Self {
        self.text_scale = scale;
        self
    }

    /// The text scale actually used (resolving `text_scale == 0`).
    pub fn effective_text_scale(&self) -> u32 {
        match self.text_scale {
            0 if self.panel_width >= 720 && self.panel_height >= 480 => 2,
            0 => 1,
            s => s,
        }
    }

    /// `(columns, rows)` of the panel grid: columns are capped at the number of
    /// panels, and an empty figure still has one (empty) cell.
    pub fn grid_shape(&self) -> (u32, u32) {
        let n = self.panels.len().max(1);
        let columns = self.columns.clamp(1, n);
        (columns as u32, n.div_ceil(columns) as u32)
    }

    /// Font size of the overall title.
    fn title_font(&self) -> f32 {
        font_size(self.effective_text_scale()) * 1.3
    }

    /// Height of the band above the panels holding the overall title (0 when
    /// there is none).
    pub fn title_band_height(&self) -> u32 {
        match &self.title {
            Some(t) if !t.is_empty() => {
                self.title_font().ceil() as u32 + 12 * self.effective_text_scale()
            }
            _ => 0,
        }
    }

    /// Pixel size of [`Figure::render`]'s output:
    /// `(columns x panel_width, rows x panel_height + title band)`.
    pub fn size(&self) -> (u32, u32) {
        let (columns, rows) = self.grid_shape();
        (
            columns * self.panel_width,
            rows * self.panel_height + self.title_band_height(),
        )
    }

    /// The figure laid out: title band, then the panels row by row.
    pub fn scene(&self) -> Scene {
        let (width, height) = self.size();
        let mut scene = Scene::new(width, height);
        let band = self.title_band_height();
        if let Some(title) = self.title.as_deref().filter(|_| band > 0) {
            let size = self.title_font();
            let title = fit_text(title, size, width as i32 - 16);
            let at = (width as i32 / 2, band as i32 / 2);
            scene.text(&title, at, Anchor::Centre, size, panel::TEXT_COLOR);
        }
        let scale = self.effective_text_scale();
        let (columns, _) = self.grid_shape();
        for (i, axes) in self.panels.iter().enumerate() {
            let panel = panel::render(axes, self.panel_width, self.panel_height, scale);
            let col = i as u32 % columns;
            let row = i as u32 / columns;
            let (x, y) = (col * self.panel_width, band + row * self.panel_height);
            scene.place(panel, x as i32, y as i32);
        }
        scene
    }

    pub fn render(&self) -> RgbImage {
        self.scene().to_png()
    }

    /// Writes the PNG at `path` and the SVG beside it, creating the folder if needed.
    pub fn save(&self, path: &Path) -> anyhow::Result<()> {
        self.scene().save(path)
    }
}

#[cfg(test)]
mod layout_tests;
#[cfg(test)]
mod tests;
