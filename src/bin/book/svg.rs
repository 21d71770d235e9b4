//! A tiny SVG writer for the book's figures: boxes, arrows, lines, text.
//!
//! Just enough for diagrams and line charts drawn by code, with no
//! dependency. Output is deterministic (coordinates are printed with at most
//! two decimals), so an unchanged figure rewrites to the same bytes.

use std::fmt::Write as _;

use nixl_kv_metrics::printer::numbers::trimmed;

/// A colour of the figures, named for its role. The SVG names it as a class
/// (`f-ink` fills in ink, `s-rule` strokes in the rule colour), and each
/// [`Theme`]'s stylesheet paints the classes: one drawing, a light and a dark
/// file.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Colour {
    /// Body text.
    Ink,
    /// Secondary text, axes.
    Muted,
    /// Grid lines, frames.
    Rule,
    /// The card behind every figure, and the halo around text over lines.
    Card,
    /// A series or box outline in blue.
    Blue,
    /// The fill of a blue box.
    BlueFill,
    /// A series or box outline in green.
    Green,
    /// The fill of a green box.
    GreenFill,
    /// A box outline in amber.
    Amber,
    /// The fill of an amber box.
    AmberFill,
    /// A series in red.
    Red,
    /// A series or reference line in grey: what the log line does not show.
    Grey,
    /// A terminal's background.
    Terminal,
    /// A terminal's text.
    TerminalInk,
}

impl Colour {
    /// Every colour, in the order of the stylesheets.
    pub const ALL: [Colour; 14] = [
        Colour::Ink,
        Colour::Muted,
        Colour::Rule,
        Colour::Card,
        Colour::Blue,
        Colour::BlueFill,
        Colour::Green,
        Colour::GreenFill,
        Colour::Amber,
        Colour::AmberFill,
        Colour::Red,
        Colour::Grey,
        Colour::Terminal,
        Colour::TerminalInk,
    ];

    /// Its name in the classes `f-NAME` and `s-NAME`.
    pub const fn name(self) -> &'static str {
        match self {
            Colour::Ink => "ink",
            Colour::Muted => "muted",
            Colour::Rule => "rule",
            Colour::Card => "card",
            Colour::Blue => "blue",
            Colour::BlueFill => "blue-fill",
            Colour::Green => "green",
            Colour::GreenFill => "green-fill",
            Colour::Amber => "amber",
            Colour::AmberFill => "amber-fill",
            Colour::Red => "red",
            Colour::Grey => "grey",
            Colour::Terminal => "terminal",
            Colour::TerminalInk => "terminal-ink",
        }
    }
}

/// The palettes a figure is written in. Figures are `<img>`s, which cannot
/// see the page's theme, so each is written once per theme and
/// book/theme/nixl.css shows the one that matches mdBook's theme: light for
/// `light` and `rust`, dark for `coal`, `navy` and `ayu`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Theme {
    /// Dark ink on a white card.
    Light,
    /// Light ink on a card a shade above the dark themes' backgrounds, so the
    /// figure does not glare.
    Dark,
}

impl Theme {
    /// Both themes.
    pub const ALL: [Theme; 2] = [Theme::Light, Theme::Dark];

    /// The value of `colour` in this theme.
    pub const fn value(self, colour: Colour) -> &'static str {
        match self {
            Theme::Light => match colour {
                Colour::Ink => "#1f2328",
                Colour::Muted => "#59636e",
                Colour::Rule => "#d0d7de",
                Colour::Card => "#ffffff",
                Colour::Blue => "#0969da",
                Colour::BlueFill => "#ddf4ff",
                Colour::Green => "#1a7f37",
                Colour::GreenFill => "#dafbe1",
                Colour::Amber => "#9a6700",
                Colour::AmberFill => "#fff8c5",
                Colour::Red => "#cf222e",
                Colour::Grey => "#6e7781",
                Colour::Terminal => "#1f2430",
                Colour::TerminalInk => "#e6edf3",
            },
            Theme::Dark => match colour {
                Colour::Ink => "#e6edf3",
                Colour::Muted => "#9198a1",
                Colour::Rule => "#3d444d",
                Colour::Card => "#1c2128",
                Colour::Blue => "#4493f8",
                Colour::BlueFill => "#132c4a",
                Colour::Green => "#3fb950",
                Colour::GreenFill => "#13301f",
                Colour::Amber => "#d29922",
                Colour::AmberFill => "#362a0f",
                Colour::Red => "#ff7b72",
                Colour::Grey => "#8b949e",
                Colour::Terminal => "#0d1117",
                Colour::TerminalInk => "#e6edf3",
            },
        }
    }

    /// The stylesheet that paints every colour's classes in this theme.
    fn stylesheet(self) -> String {
        let mut out = String::from("<style>\n");
        for colour in Colour::ALL {
            let (name, value) = (colour.name(), self.value(colour));
            let _ = writeln!(out, ".f-{name}{{fill:{value}}}.s-{name}{{stroke:{value}}}");
        }
        out.push_str("</style>\n");
        out
    }
}

/// How a line or an outline is drawn.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Stroke {
    /// Its colour.
    pub colour: Colour,
    /// Its width in px.
    pub width: f64,
    /// An SVG dash array such as `"6 4"`, or `None` for a solid line.
    pub dash: Option<&'static str>,
}

impl Stroke {
    /// A solid line of `width` px in `colour`.
    pub const fn solid(colour: Colour, width: f64) -> Stroke {
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

    /// The SVG attributes but its colour (see [`paint`]), each after a space.
    fn attributes(self) -> String {
        let mut out = format!(r#" stroke-width="{}""#, num(self.width));
        if let Some(dash) = self.dash {
            let _ = write!(out, r#" stroke-dasharray="{dash}""#);
        }
        out
    }
}

/// The `class` attribute, after a space, that fills an element in `fill` and
/// strokes it in `stroke` (see [`Colour`]).
fn paint(fill: Option<Colour>, stroke: Option<Colour>) -> String {
    let classes: Vec<String> = [("f", fill), ("s", stroke)]
        .into_iter()
        .filter_map(|(kind, colour)| colour.map(|c| format!("{kind}-{}", c.name())))
        .collect();
    format!(r#" class="{}""#, classes.join(" "))
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
    pub fill: Colour,
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
            fill: Colour::Ink,
            halo: false,
        }
    }

    /// Monospace text of `size` px in the ink colour.
    pub const fn mono(size: f64) -> Font {
        Font {
            size,
            bold: false,
            mono: true,
            fill: Colour::Ink,
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
    pub const fn fill(self, fill: Colour) -> Font {
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
    title: String,
    body: String,
}

impl Svg {
    /// An empty `width` × `height` document on a rounded card.
    pub fn card(width: f64, height: f64, title: &str) -> Svg {
        let mut svg = Svg {
            width,
            height,
            title: title.to_string(),
            body: String::new(),
        };
        let _ = writeln!(svg.body, "<title>{}</title>", escape(title));
        svg.rect(
            Rect::new(0.5, 0.5, width - 1.0, height - 1.0),
            8.0,
            Some(Colour::Card),
            Stroke::solid(Colour::Rule, 1.2),
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

    /// Its title: its accessible name.
    pub fn title(&self) -> &str {
        &self.title
    }

    /// A rectangle with rounded corners (`rx`), filled with `fill` (`None`
    /// for no fill).
    pub fn rect(&mut self, rect: Rect, rx: f64, fill: Option<Colour>, stroke: Stroke) {
        let no_fill = if fill.is_none() {
            r#" fill="none""#
        } else {
            ""
        };
        let _ = writeln!(
            self.body,
            r#"<rect x="{}" y="{}" width="{}" height="{}" rx="{}"{}{no_fill}{}/>"#,
            num(rect.x),
            num(rect.y),
            num(rect.w),
            num(rect.h),
            num(rx),
            paint(fill, Some(stroke.colour)),
            stroke.attributes()
        );
    }

    /// A dashed frame around a group of elements.
    pub fn frame(&mut self, rect: Rect) {
        self.rect(
            rect,
            10.0,
            None,
            Stroke::solid(Colour::Muted, 1.2).dashed("6 4"),
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
        let (halo, outline) = if font.halo {
            (
                Some(Colour::Card),
                r#" stroke-width="4" stroke-linejoin="round" paint-order="stroke""#,
            )
        } else {
            (None, "")
        };
        let _ = writeln!(
            self.body,
            r#"<text x="{}" y="{}" font-family="{family}" font-size="{}"{weight}{}{outline} text-anchor="{anchor}">{}</text>"#,
            num(x),
            num(y),
            num(font.size),
            paint(Some(font.fill), halo),
            escape(text)
        );
    }

    /// Text rotated by -90° (reading upwards), centred on (`x`, `y`).
    pub fn vertical_text(&mut self, x: f64, y: f64, text: &str, font: Font) {
        let family = if font.mono { MONO } else { SANS };
        let _ = writeln!(
            self.body,
            r#"<text transform="translate({} {}) rotate(-90)" font-family="{family}" font-size="{}"{} text-anchor="middle">{}</text>"#,
            num(x),
            num(y),
            num(font.size),
            paint(Some(font.fill), None),
            escape(text)
        );
    }

    /// A straight line.
    pub fn line(&mut self, (x1, y1): Point, (x2, y2): Point, stroke: Stroke) {
        let _ = writeln!(
            self.body,
            r#"<line x1="{}" y1="{}" x2="{}" y2="{}"{}{}/>"#,
            num(x1),
            num(y1),
            num(x2),
            num(y2),
            paint(None, Some(stroke.colour)),
            stroke.attributes()
        );
    }

    /// A line from `from` to `to` in `colour`, ending in a filled arrowhead
    /// whose tip is exactly at `to`.
    pub fn arrow(&mut self, from: Point, to: Point, colour: Colour) {
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
            r#"<path d="M {} {} L {} {} L {} {} Z"{}/>"#,
            num(to.0),
            num(to.1),
            num(bx + px),
            num(by + py),
            num(bx - px),
            num(by - py),
            paint(Some(colour), None)
        );
    }

    /// An arrow in `colour` along `points` (at least two): straight segments,
    /// with the head on the last one.
    pub fn path_arrow(&mut self, points: &[Point], colour: Colour) {
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
            r#"<polyline points="{}" fill="none"{}{} stroke-linejoin="round"/>"#,
            points.join(" "),
            paint(None, Some(stroke.colour)),
            stroke.attributes()
        );
    }

    /// A filled circle with a card-coloured ring (a data point).
    pub fn dot(&mut self, (cx, cy): Point, r: f64, fill: Colour) {
        let ring = Stroke::solid(Colour::Card, 1.5);
        let _ = writeln!(
            self.body,
            r#"<circle cx="{}" cy="{}" r="{}"{}{}/>"#,
            num(cx),
            num(cy),
            num(r),
            paint(Some(fill), Some(ring.colour)),
            ring.attributes()
        );
    }

    /// The finished document, painted in `theme`.
    pub fn finish(&self, theme: Theme) -> String {
        format!(
            "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{w}\" height=\"{h}\" viewBox=\"0 0 {w} {h}\">\n{}{}</svg>\n",
            self.body,
            theme.stylesheet(),
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
        let out = svg.finish(Theme::Light);
        for part in ["<title>a &lt; b</title>", ">x &amp; &quot;y&quot;</text>"] {
            assert!(out.contains(part), "{part} in {out}");
        }
        assert!(out.starts_with("<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"100\""));
        assert!(out.ends_with("</svg>\n"));
    }

    #[test]
    fn arrow_tip_is_at_the_target() {
        let mut svg = Svg::card(100.0, 100.0, "t");
        svg.arrow((0.0, 10.0), (50.0, 10.0), Colour::Ink);
        let out = svg.finish(Theme::Light);
        assert!(
            out.contains(r#"<path d="M 50 10 L 41 14.5 L 41 5.5 Z" class="f-ink"/>"#),
            "{out}"
        );
    }

    #[test]
    fn each_theme_paints_the_same_drawing() {
        let mut svg = Svg::card(100.0, 50.0, "t");
        svg.text(1.0, 2.0, "x", Font::sans(12.0).halo(), Anchor::Start);
        let (light, dark) = (svg.finish(Theme::Light), svg.finish(Theme::Dark));
        assert!(
            light.contains(r#" class="f-ink s-card" stroke-width="4""#),
            "{light}"
        );
        assert!(light.contains(".f-card{fill:#ffffff}") && dark.contains(".f-card{fill:#1c2128}"));
        // Only the stylesheets differ, and every colour is in both.
        let drawing = |out: &str| out[..out.find("<style>").unwrap()].to_string();
        assert_eq!(drawing(&light), drawing(&dark));
        for colour in Colour::ALL {
            for out in [&light, &dark] {
                assert!(out.contains(&format!(".s-{}{{stroke:", colour.name())));
            }
            assert!(!Theme::Light.value(colour).is_empty());
        }
    }
}
