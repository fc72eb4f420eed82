//! A figure as a list of drawing operations in pixel coordinates, rendered to a PNG raster
//! (`raster.rs`) and to an SVG (`svg.rs`) from the same list, so the two always agree. Text is
//! kept with its box, so layout can be checked (every label inside the canvas, none overlapping).

use std::path::{Path, PathBuf};

use anyhow::Context;
use image::RgbImage;

use super::canvas::PixelRect;
use super::font;

/// One piece of a [`Item::Shapes`] group.
#[derive(Clone, Debug, PartialEq)]
pub enum Shape {
    /// A line of `width` px with round caps and joins; `dash` is `[on, off]` in px.
    Polyline {
        points: Vec<(f64, f64)>,
        width: f64,
        dash: Option<[f64; 2]>,
    },
    /// A filled polygon (non-zero rule; any simple polygon, convex or not).
    Polygon(Vec<(f64, f64)>),
    Disc {
        centre: (f64, f64),
        radius: f64,
    },
    Ring {
        centre: (f64, f64),
        radius: f64,
        thickness: f64,
    },
}

/// Text laid out on one line; `rect` is its box (the advance width by the font's ascender-to-
/// descender height, rotated with the text).
#[derive(Clone, Debug, PartialEq)]
pub struct Text {
    pub text: String,
    pub size: f32,
    pub color: [u8; 3],
    /// Reads bottom to top (a y-axis label).
    pub vertical: bool,
    pub rect: PixelRect,
}

#[derive(Clone, Debug, PartialEq)]
pub enum Item {
    /// Axis-aligned filled rectangle.
    Rect {
        rect: PixelRect,
        color: [u8; 3],
        alpha: f32,
    },
    /// Shapes painted as one layer (overlaps do not darken), clipped to `clip`.
    Shapes {
        shapes: Vec<Shape>,
        color: [u8; 3],
        alpha: f32,
        clip: PixelRect,
    },
    Text(Text),
    /// A raster picture drawn at its own size with its top-left corner at `(x, y)`.
    Image {
        image: RgbImage,
        x: i32,
        y: i32,
    },
}

/// A drawing: a white canvas of `width` x `height` px and what is drawn on it, in order.
#[derive(Clone, Debug, PartialEq)]
pub struct Scene {
    pub width: u32,
    pub height: u32,
    pub items: Vec<Item>,
}

/// Where `(x, y)` lies on a text's box.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Anchor {
    TopLeft,
    TopCentre,
    TopRight,
    CentreLeft,
    Centre,
    CentreRight,
}

impl Scene {
    pub fn new(width: u32, height: u32) -> Self {
        Self {
            width,
            height,
            items: Vec::new(),
        }
    }

    pub fn bounds(&self) -> PixelRect {
        PixelRect::new(0, 0, self.width as i32, self.height as i32)
    }

    pub fn fill_rect(&mut self, rect: PixelRect, color: [u8; 3], alpha: f32) {
        if rect.width() > 0 && rect.height() > 0 && alpha > 0.0 {
            self.items.push(Item::Rect { rect, color, alpha });
        }
    }

    /// A rectangle outline `thickness` px wide, drawn inside `rect`.
    pub fn stroke_rect(&mut self, rect: PixelRect, color: [u8; 3], thickness: i32) {
        let t = thickness.max(1).min(rect.width()).min(rect.height());
        let (x0, y0, x1, y1) = (rect.x0, rect.y0, rect.x1, rect.y1);
        self.fill_rect(PixelRect { y1: y0 + t, ..rect }, color, 1.0);
        self.fill_rect(PixelRect { y0: y1 - t, ..rect }, color, 1.0);
        let sides = PixelRect {
            y0: y0 + t,
            y1: y1 - t,
            ..rect
        };
        self.fill_rect(
            PixelRect {
                x1: x0 + t,
                ..sides
            },
            color,
            1.0,
        );
        self.fill_rect(
            PixelRect {
                x0: x1 - t,
                ..sides
            },
            color,
            1.0,
        );
    }

    pub fn shapes(&mut self, shapes: Vec<Shape>, color: [u8; 3], alpha: f32, clip: PixelRect) {
        if !shapes.is_empty() {
            self.items.push(Item::Shapes {
                shapes,
                color,
                alpha,
                clip,
            });
        }
    }

    /// Draws `text` at `size` px with the given point of its box at `(x, y)`; returns the box.
    pub fn text(
        &mut self,
        text: &str,
        (x, y): (i32, i32),
        anchor: Anchor,
        size: f32,
        color: [u8; 3],
    ) -> PixelRect {
        let (w, h) = text_box(text, size);
        let (dx, dy) = match anchor {
            Anchor::TopLeft => (0, 0),
            Anchor::TopCentre => (w / 2, 0),
            Anchor::TopRight => (w, 0),
            Anchor::CentreLeft => (0, h / 2),
            Anchor::Centre => (w / 2, h / 2),
            Anchor::CentreRight => (w, h / 2),
        };
        self.push_text(
            text,
            PixelRect::new(x - dx, y - dy, w, h),
            size,
            color,
            false,
        )
    }

    /// Draws `text` reading bottom to top, centred on `(x, y)`; returns its (tall) box.
    pub fn vertical_text(
        &mut self,
        text: &str,
        (x, y): (i32, i32),
        size: f32,
        color: [u8; 3],
    ) -> PixelRect {
        let (w, h) = text_box(text, size);
        self.push_text(
            text,
            PixelRect::new(x - h / 2, y - w / 2, h, w),
            size,
            color,
            true,
        )
    }

    fn push_text(
        &mut self,
        text: &str,
        rect: PixelRect,
        size: f32,
        color: [u8; 3],
        vertical: bool,
    ) -> PixelRect {
        if !text.is_empty() {
            self.items.push(Item::Text(Text {
                text: text.to_string(),
                size,
                color,
                vertical,
                rect,
            }));
        }
        rect
    }

    pub fn image(&mut self, image: RgbImage, x: i32, y: i32) {
        if image.width() > 0 && image.height() > 0 {
            self.items.push(Item::Image { image, x, y });
        }
    }

    /// Draws `other` with its top-left corner at `(dx, dy)` (its items, not its background).
    pub fn place(&mut self, other: Scene, dx: i32, dy: i32) {
        let shift = |r: PixelRect| PixelRect::new(r.x0 + dx, r.y0 + dy, r.width(), r.height());
        let (fx, fy) = (dx as f64, dy as f64);
        let pt = |p: (f64, f64)| (p.0 + fx, p.1 + fy);
        for item in other.items {
            self.items.push(match item {
                Item::Rect { rect, color, alpha } => Item::Rect {
                    rect: shift(rect),
                    color,
                    alpha,
                },
                Item::Shapes {
                    shapes,
                    color,
                    alpha,
                    clip,
                } => Item::Shapes {
                    shapes: shapes
                        .into_iter()
                        .map(|s| match s {
                            Shape::Polyline {
                                points,
                                width,
                                dash,
                            } => Shape::Polyline {
                                points: points.into_iter().map(pt).collect(),
                                width,
                                dash,
                            },
                            Shape::Polygon(points) => {
                                Shape::Polygon(points.into_iter().map(pt).collect())
                            }
                            Shape::Disc { centre, radius } => Shape::Disc {
                                centre: pt(centre),
                                radius,
                            },
                            Shape::Ring {
                                centre,
                                radius,
                                thickness,
                            } => Shape::Ring {
                                centre: pt(centre),
                                radius,
                                thickness,
                            },
                        })
                        .collect(),
                    color,
                    alpha,
                    clip: shift(clip),
                },
                Item::Text(t) => Item::Text(Text {
                    rect: shift(t.rect),
                    ..t
                }),
                Item::Image { image, x, y } => Item::Image {
                    image,
                    x: x + dx,
                    y: y + dy,
                },
            });
        }
    }

    /// Boxes of every text drawn, in drawing order.
    pub fn text_boxes(&self) -> Vec<(&str, PixelRect)> {
        self.items
            .iter()
            .filter_map(|i| match i {
                Item::Text(t) => Some((t.text.as_str(), t.rect)),
                _ => None,
            })
            .collect()
    }

    /// Problems with the text layout: a box outside the canvas, or two boxes overlapping.
    pub fn text_layout_problems(&self) -> Vec<String> {
        let boxes = self.text_boxes();
        let bounds = self.bounds();
        let mut problems = Vec::new();
        for (i, (a, ra)) in boxes.iter().enumerate() {
            if ra.intersect(&bounds) != *ra {
                problems.push(format!("`{a}` at {ra:?} leaves the {bounds:?} canvas"));
            }
            for (b, rb) in &boxes[i + 1..] {
                if ra.overlaps(rb) {
                    problems.push(format!("`{a}` at {ra:?} overlaps `{b}` at {rb:?}"));
                }
            }
        }
        problems
    }

    pub fn to_png(&self) -> RgbImage {
        super::raster::render(self)
    }

    pub fn to_svg(&self) -> String {
        super::svg::render(self)
    }

    /// Writes `path` (a `.png`) and the SVG beside it (same stem), creating the folder.
    pub fn save(&self, path: &Path) -> anyhow::Result<()> {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
        }
        self.to_png()
            .save_with_format(path, image::ImageFormat::Png)
            .with_context(|| format!("writing {}", path.display()))?;
        let svg = svg_path(path);
        std::fs::write(&svg, self.to_svg()).with_context(|| format!("writing {}", svg.display()))
    }
}

/// `x.png` -> `x.svg`.
pub fn svg_path(png: &Path) -> PathBuf {
    png.with_extension("svg")
}

/// Whole-pixel size of the box of `text` at `size`: advance width by line height.
pub fn text_box(text: &str, size: f32) -> (i32, i32) {
    (font::width(text, size).ceil() as i32, size.ceil() as i32)
}

/// `text` shortened with a trailing "…" until it is at most `max_width` px wide at `size`.
pub fn fit_text(text: &str, size: f32, max_width: i32) -> String {
    if text_box(text, size).0 <= max_width {
        return text.to_string();
    }
    let mut chars: Vec<char> = text.chars().collect();
    while chars.pop().is_some() {
        let candidate = chars.iter().collect::<String>().trim_end().to_string() + "…";
        if text_box(&candidate, size).0 <= max_width {
            return candidate;
        }
    }
    String::new()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_boxes_follow_anchors_and_placement() {
        let mut scene = Scene::new(200, 100);
        let r = scene.text("label", (100, 50), Anchor::Centre, 13.0, [0; 3]);
        let (w, h) = text_box("label", 13.0);
        assert_eq!((r.width(), r.height()), (w, h));
        assert!((r.x0 + w / 2 - 100).abs() <= 1 && (r.y0 + h / 2 - 50).abs() <= 1);
        let v = scene.vertical_text("axis", (10, 50), 13.0, [0; 3]);
        assert!(v.height() > v.width());
        let mut outer = Scene::new(400, 300);
        outer.place(scene, 30, 40);
        assert_eq!(outer.text_boxes()[0].1.x0, r.x0 + 30);
        assert!(outer.text_layout_problems().is_empty());
    }

    #[test]
    fn layout_problems_are_found() {
        let mut scene = Scene::new(100, 40);
        scene.text("left", (0, 0), Anchor::TopLeft, 13.0, [0; 3]);
        scene.text("overlapping", (10, 5), Anchor::TopLeft, 13.0, [0; 3]);
        scene.text("off the edge", (90, 30), Anchor::TopLeft, 13.0, [0; 3]);
        let problems = scene.text_layout_problems();
        assert!(
            problems.iter().any(|p| p.contains("overlaps")),
            "{problems:?}"
        );
        assert!(
            problems.iter().any(|p| p.contains("leaves")),
            "{problems:?}"
        );
    }

    #[test]
    fn fit_text_shortens_with_an_ellipsis() {
        assert_eq!(fit_text("short", 13.0, 100), "short");
        let t = fit_text("a rather long column label", 13.0, 60);
        assert!(t.ends_with('…') && text_box(&t, 13.0).0 <= 60, "{t}");
        assert_eq!(fit_text("wide", 13.0, 0), "");
    }
}
