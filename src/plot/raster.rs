//! Renders a [`Scene`] to an RGB raster: shapes through anti-aliased coverage masks, text through
//! the embedded font's glyph coverage, pictures copied in.

use image::{Rgb, RgbImage};

use super::canvas::{Canvas, PixelRect};
use super::font;
use super::scene::{Item, Scene, Shape, Text};

pub(super) fn render(scene: &Scene) -> RgbImage {
    let mut img = RgbImage::from_pixel(scene.width, scene.height, Rgb([255; 3]));
    let mut canvas = Canvas::new(&mut img);
    for item in &scene.items {
        match item {
            Item::Rect { rect, color, alpha } => canvas.fill_rect(*rect, *color, *alpha),
            Item::Shapes {
                shapes,
                color,
                alpha,
                clip,
            } => {
                let mut clipped = canvas.clipped(*clip);
                let mut mask = clipped.mask();
                for shape in shapes {
                    match shape {
                        Shape::Polyline {
                            points,
                            width,
                            dash,
                        } => mask.polyline(points, *width, *dash),
                        Shape::Polygon(points) => mask.polygon(points),
                        Shape::Disc { centre, radius } => mask.disc(*centre, *radius),
                        Shape::Ring {
                            centre,
                            radius,
                            thickness,
                        } => mask.ring(*centre, *radius, *thickness),
                    }
                }
                mask.composite(&mut clipped, *color, *alpha);
            }
            Item::Text(text) => draw_text(&mut canvas, text),
            Item::Image { image, x, y } => {
                image::imageops::replace(canvas.img, image, *x as i64, *y as i64)
            }
        }
    }
    img
}

fn draw_text(canvas: &mut Canvas, t: &Text) {
    let PixelRect { x0, y0, y1, .. } = t.rect;
    font::rasterize(&t.text, t.size, |dx, dy, c| {
        let (x, y) = if t.vertical {
            (x0 + dy, y1 - 1 - dx)
        } else {
            (x0 + dx, y0 + dy)
        };
        canvas.blend(x, y, t.color, c);
    });
}

#[cfg(test)]
mod tests {
    use super::super::scene::Anchor;
    use super::*;

    fn dark(img: &RgbImage) -> Vec<(u32, u32)> {
        img.enumerate_pixels()
            .filter(|(_, _, p)| p.0[0] < 128)
            .map(|(x, y, _)| (x, y))
            .collect()
    }

    #[test]
    fn text_ink_stays_in_its_box_horizontal_and_vertical() {
        let mut scene = Scene::new(160, 160);
        let h = scene.text("Accuracy (%)", (10, 10), Anchor::TopLeft, 16.0, [0; 3]);
        let ink = dark(&scene.to_png());
        assert!(ink.len() > 50);
        let inside =
            |r: PixelRect, (x, y): (u32, u32)| r.expand(1).contains_point(x as f64, y as f64);
        assert!(ink.iter().all(|&p| inside(h, p)));
        let mut scene = Scene::new(160, 160);
        let v = scene.vertical_text("Accuracy (%)", (40, 80), 16.0, [0; 3]);
        let ink = dark(&scene.to_png());
        assert!(ink.iter().all(|&p| inside(v, p)), "{v:?}");
        // Reading bottom to top: the first letter's ink is at the bottom of the box.
        let lowest = ink.iter().map(|p| p.1).max().unwrap();
        assert!(lowest as i32 > v.y1 - 6, "{lowest} vs {v:?}");
    }

    #[test]
    fn items_are_drawn_in_order_and_pictures_copied() {
        let mut scene = Scene::new(20, 20);
        scene.fill_rect(PixelRect::new(0, 0, 10, 10), [255, 0, 0], 1.0);
        scene.image(RgbImage::from_pixel(4, 4, Rgb([0, 0, 255])), 8, 8);
        scene.shapes(
            vec![Shape::Polygon(vec![
                (12.0, 12.0),
                (20.0, 12.0),
                (20.0, 20.0),
                (12.0, 20.0),
            ])],
            [0, 255, 0],
            1.0,
            scene.bounds(),
        );
        let img = scene.to_png();
        assert_eq!(img.get_pixel(2, 2).0, [255, 0, 0]);
        assert_eq!(img.get_pixel(9, 9).0, [0, 0, 255]);
        assert_eq!(img.get_pixel(15, 15).0, [0, 255, 0]);
        assert_eq!(img.get_pixel(5, 15).0, [255; 3]);
    }
}
