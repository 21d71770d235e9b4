//! A tiny SVG writer for the book's figures: boxes, arrows, lines, text.
//!
//! Just enough for diagrams and line charts drawn by code, with no
//! dependency. Output is deterministic (coordinates are printed with at most
//! two decimals), so an unchanged figure rewrites to the same bytes.

use std::fmt::Write as _;

use nixl_kv_metrics::printer::numbers::trimmed;

/// The figures' palette: text and rules, and the colours of boxes and series.
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
    /// A series or box in blue, and the fill of a blue box.
    pub const BLUE: &str = "#0969da";
    /// The fill of a blue box.
    pub const BLUE_FILL: &str = "#ddf4ff";
    /// A series or box in green.
    pub const GREEN: &str = "#1a7f37";
    /// The fill of a green box.
    pub const GREEN_FILL: &str = "#dafbe1";
    /// A box in amber.
    pub const AMBER: &str = "#9a6700";
    /// The fill of an amber box.
    pub const AMBER_FILL: &str = "#fff8c5";
    /// A series in red.
    pub const RED: &str = "#cf222e";
    /// A series or reference line in grey: what the log line does not show.
    pub const GREY: &str = "#6e7781";
    /// A terminal's background.
    pub const TERMINAL: &str = "#1f2430";
    /// A terminal's text.
    pub const TERMINAL_INK: &str = "#e6edf3";
}

/// How a line or an outline is drawn.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Stroke {
    /// Its colour.
    pub colour: &'static str,
    /// Its width in px.
    pub width: f64,
    /// An SVG dash array such as `"6 4"`, or `None` for a solid line.
    pub dash: Option<&'static str>,
}

impl Stroke {
    /// A solid line of `width` px in `colour`.
    pub const fn solid(colour: &'static str, width: f64) -> Stroke {
        Stroke {
            colour,
            width,
            dash: None,
        }
    }

    /// The same line, dashed as the SVG dash array `dash` says.
    pub const fn dashed(self, dash: &'static str) -> Stroke {
        Stroke {
            dash: Some(dash),
            ..self
        }
    }

    /// The SVG attributes, each after a space.
    fn attributes(self) -> String {
        let mut out = format!(
            r#" stroke="{}" stroke-width="{}""#,
            self.colour,
            num(self.width)
        );
        if let Some(dash) = self.dash {
            let _ = write!(out, r#" stroke-dasharray="{dash}""#);
        }
        out
    }
}

/// The width of an arrow's shaft, in px.
const ARROW_WIDTH: f64 = 1.6;

/// A point, in px from the top left corner.
pub type Point = (f64, f64);

/// A rectangle: its top left corner, width and height, in px.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Rect {
    /// Left edge.
    pub x: f64,
    /// Top edge.
    pub y: f64,
    /// Width.
    pub w: f64,
    /// Height.
    pub h: f64,
}

impl Rect {
    /// The rectangle with its top left corner at (`x`, `y`).
    pub const fn new(x: f64, y: f64, w: f64, h: f64) -> Rect {
        Rect { x, y, w, h }
    }

    /// The x coordinate of its middle.
    pub fn centre_x(self) -> f64 {
        self.x + self.w / 2.0
    }

    /// The y coordinate of its middle.
    pub fn centre_y(self) -> f64 {
        self.y + self.h / 2.0
    }

    /// Its right edge.
    pub fn right(self) -> f64 {
        self.x + self.w
    }

    /// Its bottom edge.
    pub fn bottom(self) -> f64 {
        self.y + self.h
    }
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
            Rect::new(0.5, 0.5, width - 1.0, height - 1.0),
            8.0,
            colour::CARD,
            Stroke::solid(colour::RULE, 1.2),
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

    /// A rectangle with rounded corners (`rx`), filled with `fill` (`"none"`
    /// for no fill).
    pub fn rect(&mut self, rect: Rect, rx: f64, fill: &str, stroke: Stroke) {
        let _ = writeln!(
            self.body,
            r#"<rect x="{}" y="{}" width="{}" height="{}" rx="{}" fill="{fill}"{}/>"#,
            num(rect.x),
            num(rect.y),
            num(rect.w),
            num(rect.h),
            num(rx),
            stroke.attributes()
        );
    }

    /// A dashed frame around a group of elements.
    pub fn frame(&mut self, rect: Rect) {
        self.rect(
            rect,
            10.0,
            "none",
            Stroke::solid(colour::MUTED, 1.2).dashed("6 4"),
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

    /// A straight line.
    pub fn line(&mut self, (x1, y1): Point, (x2, y2): Point, stroke: Stroke) {
        let _ = writeln!(
            self.body,
            r#"<line x1="{}" y1="{}" x2="{}" y2="{}"{}/>"#,
            num(x1),
            num(y1),
            num(x2),
            num(y2),
            stroke.attributes()
        );
    }

    /// A line from `from` to `to` in `colour`, ending in a filled arrowhead
    /// whose tip is exactly at `to`.
    pub fn arrow(&mut self, from: Point, to: Point, colour: &'static str) {
        const HEAD_LENGTH: f64 = 9.0;
        const HEAD_HALF_WIDTH: f64 = 4.5;
        let (dx, dy) = (to.0 - from.0, to.1 - from.1);
        let length = dx.hypot(dy);
        if length <= HEAD_LENGTH {
            return;
        }
        let (ux, uy) = (dx / length, dy / length);
        // The shaft stops where the head begins, so its end does not poke out.
        let (bx, by) = (to.0 - ux * HEAD_LENGTH, to.1 - uy * HEAD_LENGTH);
        self.line(from, (bx + ux, by + uy), Stroke::solid(colour, ARROW_WIDTH));
        let (px, py) = (-uy * HEAD_HALF_WIDTH, ux * HEAD_HALF_WIDTH);
        let _ = writeln!(
            self.body,
            r#"<path d="M {} {} L {} {} L {} {} Z" fill="{colour}"/>"#,
            num(to.0),
            num(to.1),
            num(bx + px),
            num(by + py),
            num(bx - px),
            num(by - py)
        );
    }

    /// An arrow in `colour` along `points` (at least two): straight segments,
    /// with the head on the last one.
    pub fn path_arrow(&mut self, points: &[Point], colour: &'static str) {
        let [.., from, to] = points else {
            return;
        };
        if points.len() > 2 {
            self.polyline(
                &points[..points.len() - 1],
                Stroke::solid(colour, ARROW_WIDTH),
            );
        }
        self.arrow(*from, *to, colour);
    }

    /// An open polyline through `points`.
    pub fn polyline(&mut self, points: &[Point], stroke: Stroke) {
        let points: Vec<String> = points
            .iter()
            .map(|(x, y)| format!("{},{}", num(*x), num(*y)))
            .collect();
        let _ = writeln!(
            self.body,
            r#"<polyline points="{}" fill="none"{} stroke-linejoin="round"/>"#,
            points.join(" "),
            stroke.attributes()
        );
    }

    /// A filled circle with a card-coloured ring (a data point).
    pub fn dot(&mut self, (cx, cy): Point, r: f64, fill: &str) {
        let _ = writeln!(
            self.body,
            r#"<circle cx="{}" cy="{}" r="{}" fill="{fill}"{}/>"#,
            num(cx),
            num(cy),
            num(r),
            Stroke::solid(colour::CARD, 1.5).attributes()
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

/// A coordinate with at most two decimals and no trailing zeros (never `-0`).
pub fn num(x: f64) -> String {
    match trimmed(x, 2) {
        zero if zero == "-0" => "0".to_string(),
        text => text,
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
        for part in ["<title>a &lt; b</title>", ">x &amp; &quot;y&quot;</text>"] {
            assert!(out.contains(part), "{part} in {out}");
        }
        assert!(out.starts_with("<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"100\""));
        assert!(out.ends_with("</svg>\n"));
    }

    #[test]
    fn arrow_tip_is_at_the_target() {
        let mut svg = Svg::card(100.0, 100.0, "t");
        svg.arrow((0.0, 10.0), (50.0, 10.0), "#000");
        let out = svg.finish();
        assert!(
            out.contains(r#"<path d="M 50 10 L 41 14.5 L 41 5.5 Z""#),
            "{out}"
        );
    }
}
