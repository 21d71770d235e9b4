//! A tiny SVG writer for the book's figures: boxes, arrows, lines, text.
//!
//! Just enough for diagrams and line charts drawn by code, with no
//! dependency. Output is deterministic (coordinates are printed with at most
//! two decimals), so an unchanged figure rewrites to the same bytes.

use std::fmt::Write as _;

/// Text and line colours shared by the figures.
pub mod colour {
    /// Body text.
    pub const INK: &str = "#1f2328";
    /// Secondary text, axes.
    pub const MUTED: &str = "#59636e";
    /// Grid lines, frames.
    pub const RULE: &str = "#d0d7de";
    /// The card behind every figure (figures are `<img>`s, so they cannot
    /// follow mdBook's dark themes; an opaque card keeps them readable there).
    pub const CARD: &str = "#ffffff";
}

/// Font stacks: figures are `<img>`s and cannot use the page's web fonts.
pub const SANS: &str = "'Open Sans', 'Helvetica Neue', Helvetica, Arial, sans-serif";
/// Monospace font stack, for code and log text.
pub const MONO: &str = "'Source Code Pro', Menlo, Consolas, 'DejaVu Sans Mono', monospace";

/// How a piece of text is drawn.
#[derive(Clone, Copy, Debug)]
pub struct Font {
    /// Size in px.
    pub size: f64,
    /// Bold or not.
    pub bold: bool,
    /// Monospace or not.
    pub mono: bool,
    /// Fill colour.
    pub fill: &'static str,
    /// Drawn over a card-coloured outline, so it stays legible across lines.
    pub halo: bool,
}

impl Font {
    /// Regular sans-serif text of `size` px in the ink colour.
    pub const fn sans(size: f64) -> Font {
        Font {
            size,
            bold: false,
            mono: false,
            fill: colour::INK,
            halo: false,
        }
    }

    /// Monospace text of `size` px in the ink colour.
    pub const fn mono(size: f64) -> Font {
        Font {
            size,
            bold: false,
            mono: true,
            fill: colour::INK,
            halo: false,
        }
    }

    /// The same font, bold.
    pub const fn bold(self) -> Font {
        Font { bold: true, ..self }
    }

    /// The same font, drawn over a card-coloured halo.
    pub const fn halo(self) -> Font {
        Font { halo: true, ..self }
    }

    /// The same font in another colour.
    pub const fn fill(self, fill: &'static str) -> Font {
        Font { fill, ..self }
    }
}

/// Horizontal alignment of text relative to its anchor point.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Anchor {
    /// The point is the start of the text.
    Start,
    /// The point is the middle of the text.
    Middle,
    /// The point is the end of the text.
    End,
}

/// An SVG document under construction.
#[derive(Clone, Debug)]
pub struct Svg {
    width: f64,
    height: f64,
    body: String,
}

impl Svg {
    /// An empty `width` × `height` document on a white, rounded card.
    pub fn card(width: f64, height: f64, title: &str) -> Svg {
        let mut svg = Svg {
            width,
            height,
            body: String::new(),
        };
        let _ = writeln!(svg.body, "<title>{}</title>", escape(title));
        svg.rect(
            0.5,
            0.5,
            width - 1.0,
            height - 1.0,
            8.0,
            colour::CARD,
            colour::RULE,
        );
        svg
    }

    /// Width in px.
    pub fn width(&self) -> f64 {
        self.width
    }

    /// Height in px.
    pub fn height(&self) -> f64 {
        self.height
    }

    /// A rectangle with rounded corners (`rx`); `"none"` for no fill or stroke.
    #[allow(clippy::too_many_arguments)]
    pub fn rect(&mut self, x: f64, y: f64, w: f64, h: f64, rx: f64, fill: &str, stroke: &str) {
        let _ = writeln!(
            self.body,
            r#"<rect x="{}" y="{}" width="{}" height="{}" rx="{}" fill="{fill}" stroke="{stroke}" stroke-width="1.2"/>"#,
            num(x),
            num(y),
            num(w),
            num(h),
            num(rx)
        );
    }

    /// A dashed frame around a group of elements.
    pub fn frame(&mut self, x: f64, y: f64, w: f64, h: f64) {
        let _ = writeln!(
            self.body,
            r#"<rect x="{}" y="{}" width="{}" height="{}" rx="10" fill="none" stroke="{}" stroke-width="1.2" stroke-dasharray="6 4"/>"#,
            num(x),
            num(y),
            num(w),
            num(h),
            colour::MUTED
        );
    }

    /// One line of text.
    pub fn text(&mut self, x: f64, y: f64, text: &str, font: Font, anchor: Anchor) {
        let anchor = match anchor {
            Anchor::Start => "start",
            Anchor::Middle => "middle",
            Anchor::End => "end",
        };
        let family = if font.mono { MONO } else { SANS };
        let weight = if font.bold {
            r#" font-weight="bold""#
        } else {
            ""
        };
        let halo = if font.halo {
            format!(
                r#" stroke="{}" stroke-width="4" stroke-linejoin="round" paint-order="stroke""#,
                colour::CARD
            )
        } else {
            String::new()
        };
        let _ = writeln!(
            self.body,
            r#"<text x="{}" y="{}" font-family="{family}" font-size="{}"{weight} fill="{}"{halo} text-anchor="{anchor}">{}</text>"#,
            num(x),
            num(y),
            num(font.size),
            font.fill,
            escape(text)
        );
    }

    /// Text rotated by -90° (reading upwards), centred on (`x`, `y`).
    pub fn vertical_text(&mut self, x: f64, y: f64, text: &str, font: Font) {
        let family = if font.mono { MONO } else { SANS };
        let _ = writeln!(
            self.body,
            r#"<text transform="translate({} {}) rotate(-90)" font-family="{family}" font-size="{}" fill="{}" text-anchor="middle">{}</text>"#,
            num(x),
            num(y),
            num(font.size),
            font.fill,
            escape(text)
        );
    }

    /// A straight line; `dash` is an SVG dash array such as `"4 3"`, or empty.
    #[allow(clippy::too_many_arguments)]
    pub fn line(
        &mut self,
        x1: f64,
        y1: f64,
        x2: f64,
        y2: f64,
        stroke: &str,
        width: f64,
        dash: &str,
    ) {
        let dash = if dash.is_empty() {
            String::new()
        } else {
            format!(r#" stroke-dasharray="{dash}""#)
        };
        let _ = writeln!(
            self.body,
            r#"<line x1="{}" y1="{}" x2="{}" y2="{}" stroke="{stroke}" stroke-width="{}"{dash}/>"#,
            num(x1),
            num(y1),
            num(x2),
            num(y2),
            num(width)
        );
    }

    /// A line from (`x1`, `y1`) to (`x2`, `y2`) ending in a filled arrowhead
    /// whose tip is exactly at (`x2`, `y2`).
    pub fn arrow(&mut self, x1: f64, y1: f64, x2: f64, y2: f64, stroke: &str) {
        const HEAD_LENGTH: f64 = 9.0;
        const HEAD_HALF_WIDTH: f64 = 4.5;
        let (dx, dy) = (x2 - x1, y2 - y1);
        let length = dx.hypot(dy);
        if length <= HEAD_LENGTH {
            return;
        }
        let (ux, uy) = (dx / length, dy / length);
        // The shaft stops where the head begins, so its end does not poke out.
        let (bx, by) = (x2 - ux * HEAD_LENGTH, y2 - uy * HEAD_LENGTH);
        self.line(x1, y1, bx + ux, by + uy, stroke, 1.6, "");
        let (px, py) = (-uy * HEAD_HALF_WIDTH, ux * HEAD_HALF_WIDTH);
        let _ = writeln!(
            self.body,
            r#"<path d="M {} {} L {} {} L {} {} Z" fill="{stroke}"/>"#,
            num(x2),
            num(y2),
            num(bx + px),
            num(by + py),
            num(bx - px),
            num(by - py)
        );
    }

    /// An arrow along `points` (at least two): straight segments, with the
    /// head on the last one.
    pub fn path_arrow(&mut self, points: &[(f64, f64)], stroke: &str) {
        let [.., (x1, y1), (x2, y2)] = points else {
            return;
        };
        if points.len() > 2 {
            self.polyline(&points[..points.len() - 1], stroke, 1.6, "");
        }
        self.arrow(*x1, *y1, *x2, *y2, stroke);
    }

    /// An open polyline through `points`.
    pub fn polyline(&mut self, points: &[(f64, f64)], stroke: &str, width: f64, dash: &str) {
        let points: Vec<String> = points
            .iter()
            .map(|(x, y)| format!("{},{}", num(*x), num(*y)))
            .collect();
        let dash = if dash.is_empty() {
            String::new()
        } else {
            format!(r#" stroke-dasharray="{dash}""#)
        };
        let _ = writeln!(
            self.body,
            r#"<polyline points="{}" fill="none" stroke="{stroke}" stroke-width="{}" stroke-linejoin="round"{dash}/>"#,
            points.join(" "),
            num(width)
        );
    }

    /// A filled circle with a white ring (a data point).
    pub fn dot(&mut self, x: f64, y: f64, r: f64, fill: &str) {
        let _ = writeln!(
            self.body,
            r#"<circle cx="{}" cy="{}" r="{}" fill="{fill}" stroke="{}" stroke-width="1.5"/>"#,
            num(x),
            num(y),
            num(r),
            colour::CARD
        );
    }

    /// The finished document.
    pub fn finish(self) -> String {
        format!(
            "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{w}\" height=\"{h}\" viewBox=\"0 0 {w} {h}\">\n{}</svg>\n",
            self.body,
            w = num(self.width),
            h = num(self.height),
        )
    }
}

/// A coordinate with at most two decimals and no trailing zeros.
pub fn num(x: f64) -> String {
    let text = format!("{x:.2}");
    let text = text.trim_end_matches('0').trim_end_matches('.');
    if text == "-0" {
        "0".to_string()
    } else {
        text.to_string()
    }
}

/// `text` escaped for SVG/HTML character data and attribute values.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            _ => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_are_short_and_stable() {
        assert_eq!(num(12.0), "12");
        assert_eq!(num(12.5), "12.5");
        assert_eq!(num(1.0 / 3.0), "0.33");
        assert_eq!(num(-0.001), "0");
    }

    #[test]
    fn text_is_escaped() {
        let mut svg = Svg::card(100.0, 50.0, "a < b");
        svg.text(1.0, 2.0, "x & \"y\"", Font::sans(12.0), Anchor::Start);
        let out = svg.finish();
        assert!(out.contains("<title>a &lt; b</title>"));
        assert!(out.contains(">x &amp; &quot;y&quot;</text>"));
        assert!(out.starts_with("<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"100\""));
        assert!(out.ends_with("</svg>\n"));
    }

    #[test]
    fn arrow_tip_is_at_the_target() {
        let mut svg = Svg::card(100.0, 100.0, "t");
        svg.arrow(0.0, 10.0, 50.0, 10.0, "#000");
        let out = svg.finish();
        assert!(
            out.contains(r#"<path d="M 50 10 L 41 14.5 L 41 5.5 Z""#),
            "{out}"
        );
    }
}
