//! Renders a [`Scene`] as a self-contained SVG: glyph outlines of the embedded font (defined
//! once, reused per character, so the file needs no fonts and matches the PNG), shapes as paths,
//! pictures as embedded PNGs. Each text's string is kept as the `aria-label` of its group, so
//! the text stays searchable and readable by screen readers.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use base64::Engine as _;

use super::canvas::PixelRect;
use super::font;
use super::scene::{Item, Scene, Shape, Text};

fn hex([r, g, b]: [u8; 3]) -> String {
    format!("#{r:02x}{g:02x}{b:02x}")
}

pub(super) fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

fn num(v: f64) -> String {
    let s = format!("{v:.2}");
    let s = s.trim_end_matches('0').trim_end_matches('.');
    if s == "-0" { "0".into() } else { s.into() }
}

fn points_path(points: &[(f64, f64)], close: bool) -> String {
    let mut d = String::new();
    for (i, &(x, y)) in points
        .iter()
        .filter(|p| p.0.is_finite() && p.1.is_finite())
        .enumerate()
    {
        let _ = write!(d, "{}{} {}", if i == 0 { 'M' } else { 'L' }, num(x), num(y));
    }
    if close && !d.is_empty() {
        d.push('Z');
    }
    d
}

/// Registry of the `<defs>`: glyph outlines by id and clip rectangles.
#[derive(Default)]
struct Defs {
    glyphs: BTreeMap<u16, String>,
    clips: Vec<PixelRect>,
}

impl Defs {
    fn clip(&mut self, rect: PixelRect) -> usize {
        match self.clips.iter().position(|c| *c == rect) {
            Some(i) => i,
            None => {
                self.clips.push(rect);
                self.clips.len() - 1
            }
        }
    }
}

pub(super) fn render(scene: &Scene) -> String {
    let mut defs = Defs::default();
    let mut body = String::new();
    for item in &scene.items {
        match item {
            Item::Rect { rect, color, alpha } => {
                let _ = writeln!(
                    body,
                    r#"<rect x="{}" y="{}" width="{}" height="{}" fill="{}"{}/>"#,
                    rect.x0,
                    rect.y0,
                    rect.width(),
                    rect.height(),
                    hex(*color),
                    opacity("fill-opacity", *alpha)
                );
            }
            Item::Shapes {
                shapes,
                color,
                alpha,
                clip,
            } => {
                let clip = if *clip == scene.bounds() {
                    String::new()
                } else {
                    format!(r#" clip-path="url(#c{})""#, defs.clip(*clip))
                };
                let _ = writeln!(body, "<g{clip}{}>", opacity("opacity", *alpha));
                for shape in shapes {
                    shape_element(&mut body, shape, &hex(*color));
                }
                body.push_str("</g>\n");
            }
            Item::Text(text) => text_element(&mut body, &mut defs, text),
            Item::Image { image, x, y } => {
                let mut png = Vec::new();
                if image
                    .write_to(&mut std::io::Cursor::new(&mut png), image::ImageFormat::Png)
                    .is_ok()
                {
                    let _ = writeln!(
                        body,
                        r#"<image x="{x}" y="{y}" width="{}" height="{}" xlink:href="data:image/png;base64,{}"/>"#,
                        image.width(),
                        image.height(),
                        base64::engine::general_purpose::STANDARD.encode(&png)
                    );
                }
            }
        }
    }
    let mut out = format!(
        r##"<svg xmlns="http://www.w3.org/2000/svg" xmlns:xlink="http://www.w3.org/1999/xlink" width="{w}" height="{h}" viewBox="0 0 {w} {h}">
<rect width="{w}" height="{h}" fill="#ffffff"/>
<defs>
"##,
        w = scene.width,
        h = scene.height
    );
    for (id, d) in defs.glyphs.iter().filter(|(_, d)| !d.is_empty()) {
        let _ = writeln!(out, r#"<path id="g{id}" d="{d}"/>"#);
    }
    for (i, c) in defs.clips.iter().enumerate() {
        let _ = writeln!(
            out,
            r#"<clipPath id="c{i}"><rect x="{}" y="{}" width="{}" height="{}"/></clipPath>"#,
            c.x0,
            c.y0,
            c.width(),
            c.height()
        );
    }
    out.push_str("</defs>\n");
    out.push_str(&body);
    out.push_str("</svg>\n");
    out
}

fn opacity(attr: &str, alpha: f32) -> String {
    if alpha >= 1.0 {
        String::new()
    } else {
        format!(r#" {attr}="{}""#, num(alpha.max(0.0) as f64))
    }
}

fn shape_element(body: &mut String, shape: &Shape, color: &str) {
    let _ = match shape {
        Shape::Polyline {
            points,
            width,
            dash,
        } => {
            // Round caps lengthen each dash by the width, as the raster's capsules do.
            let dash = dash.map_or(String::new(), |[on, off]| {
                format!(r#" stroke-dasharray="{} {}""#, num(on), num(off))
            });
            writeln!(
                body,
                r#"<path d="{}" fill="none" stroke="{color}" stroke-width="{}" stroke-linecap="round" stroke-linejoin="round"{dash}/>"#,
                points_path(points, false),
                num(*width)
            )
        }
        Shape::Polygon(points) => {
            writeln!(
                body,
                r#"<path d="{}" fill="{color}"/>"#,
                points_path(points, true)
            )
        }
        Shape::Disc { centre, radius } => writeln!(
            body,
            r#"<circle cx="{}" cy="{}" r="{}" fill="{color}"/>"#,
            num(centre.0),
            num(centre.1),
            num(*radius)
        ),
        Shape::Ring {
            centre,
            radius,
            thickness,
        } => writeln!(
            body,
            r#"<circle cx="{}" cy="{}" r="{}" fill="none" stroke="{color}" stroke-width="{}"/>"#,
            num(centre.0),
            num(centre.1),
            num(*radius),
            num(*thickness)
        ),
    };
}

fn text_element(body: &mut String, defs: &mut Defs, t: &Text) {
    let (glyphs, _) = font::layout(&t.text, t.size);
    let size = t.size as f64;
    let baseline = font::ascent(t.size) as f64;
    let place = if t.vertical {
        format!(
            "translate({} {}) rotate(-90) translate(0 {})",
            t.rect.x0,
            t.rect.y1,
            num(baseline)
        )
    } else {
        format!(
            "translate({} {})",
            t.rect.x0,
            num(t.rect.y0 as f64 + baseline)
        )
    };
    let _ = write!(
        body,
        r#"<g aria-label="{}" role="img" fill="{}" transform="{place} scale({})">"#,
        escape(&t.text),
        hex(t.color),
        num(size)
    );
    for g in glyphs {
        let path = defs
            .glyphs
            .entry(g.id.0)
            .or_insert_with(|| font::glyph_path(g.id));
        if !path.is_empty() {
            let _ = write!(
                body,
                r##"<use xlink:href="#g{}" x="{:.4}"/>"##,
                g.id.0,
                g.x as f64 / size
            );
        }
    }
    body.push_str("</g>\n");
}

#[cfg(test)]
mod tests {
    use super::super::scene::Anchor;
    use super::*;

    #[test]
    fn the_svg_holds_every_item_and_reuses_glyphs() {
        let mut scene = Scene::new(120, 80);
        scene.fill_rect(PixelRect::new(1, 2, 3, 4), [255, 0, 0], 0.5);
        scene.text("a<b & a", (5, 5), Anchor::TopLeft, 13.0, [0; 3]);
        scene.shapes(
            vec![
                Shape::Polyline {
                    points: vec![(0.0, 0.0), (10.0, 10.0)],
                    width: 2.0,
                    dash: Some([6.0, 3.0]),
                },
                Shape::Disc {
                    centre: (5.0, 5.0),
                    radius: 2.0,
                },
            ],
            [0, 114, 178],
            1.0,
            PixelRect::new(0, 0, 50, 50),
        );
        scene.image(image::RgbImage::new(2, 2), 3, 3);
        let svg = scene.to_svg();
        assert!(svg.starts_with("<svg") && svg.trim_end().ends_with("</svg>"));
        assert!(svg.contains(r##"fill="#ff0000" fill-opacity="0.5""##));
        assert!(svg.contains(r#"aria-label="a&lt;b &amp; a""#));
        // 'a' appears twice but is defined once.
        let a = font::font();
        let id = ab_glyph::Font::glyph_id(a, 'a').0;
        assert_eq!(svg.matches(&format!(r#"<path id="g{id}""#)).count(), 1);
        assert_eq!(svg.matches(&format!("#g{id}\"")).count(), 2);
        assert!(svg.contains("stroke-dasharray") && svg.contains("clip-path=\"url(#c0)\""));
        assert!(svg.contains("data:image/png;base64,"));
    }
}
