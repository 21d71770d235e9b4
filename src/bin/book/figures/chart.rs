//! The line chart the figures share: a card with a title, a plot area whose
//! y scale runs from 0 to a "nice" maximum, points evenly spaced along x,
//! series drawn as lines with dots, and a legend at the right.

use nixl_kv_metrics::printer::numbers::{grouped, trimmed};

use crate::svg::{Anchor, Colour, Font, Point, Stroke, Svg};

/// The card: mdBook's content column, so text is shown at 1:1.
const WIDTH: f64 = 750.0;
const HEIGHT: f64 = 440.0;
/// The plot area's right, top and bottom edges (its left one depends on the
/// width of the y labels).
const RIGHT: f64 = 500.0;
const TOP: f64 = 84.0;
const BOTTOM: f64 = 350.0;
/// The width of a series' line, and of its swatch in the legend.
const SERIES_WIDTH: f64 = 2.4;

/// A line of the chart: one value per point.
pub struct Series<P> {
    /// Its name in the legend.
    pub label: &'static str,
    /// Its colour and dash pattern.
    pub stroke: Stroke,
    /// Its value at a point.
    pub value: fn(&P) -> f64,
}

// Copy whatever the point type (a derive would ask it of `P`).
impl<P> Clone for Series<P> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<P> Copy for Series<P> {}

impl<P> Series<P> {
    /// A solid series in `colour`.
    pub const fn solid(label: &'static str, colour: Colour, value: fn(&P) -> f64) -> Self {
        Series {
            label,
            stroke: Stroke::solid(colour, SERIES_WIDTH),
            value,
        }
    }

    /// The same series, dashed.
    pub const fn dashed(self, dash: &'static str) -> Self {
        Series {
            stroke: self.stroke.dashed(dash),
            ..self
        }
    }

    /// Its entry in the legend.
    pub fn key(&self) -> Key {
        Key {
            label: self.label,
            stroke: self.stroke,
            dot: true,
        }
    }
}

/// An entry of the legend: a swatch of the line (with a dot for a series
/// drawn with dots) and its label.
#[derive(Clone, Copy, Debug)]
pub struct Key {
    label: &'static str,
    stroke: Stroke,
    dot: bool,
}

/// A line chart under construction.
pub struct Chart {
    svg: Svg,
    left: f64,
    step: f64,
    y_max: f64,
    points: usize,
}

impl Chart {
    /// A chart of `points` points whose y scale reaches at least `max`, on a
    /// card whose accessible name is `name`, under a `title` and a
    /// `subtitle`. The plot area starts at `left`, leaving room for the y
    /// labels.
    pub fn new(
        name: &str,
        (title, subtitle): (&str, &str),
        left: f64,
        max: f64,
        points: usize,
    ) -> Chart {
        let mut svg = Svg::card(WIDTH, HEIGHT, name);
        svg.text(24.0, 34.0, title, Font::sans(16.0).bold(), Anchor::Start);
        svg.text(
            24.0,
            56.0,
            subtitle,
            Font::sans(12.0).fill(Colour::Muted),
            Anchor::Start,
        );
        let step = nice_step(max, 5.0);
        Chart {
            svg,
            left,
            step,
            y_max: (max / step).ceil() * step,
            points,
        }
    }

    /// A chart of MiB per second whose scale reaches just above `bound`, a
    /// bandwidth no series can pass, drawn as a dashed line labelled
    /// `label` in the legend; returns the chart and that legend key.
    pub fn bandwidth(
        name: &str,
        titles: (&str, &str),
        (bound, label): (f64, &'static str),
        points: usize,
    ) -> (Chart, Key) {
        let mut chart = Chart::new(name, titles, 78.0, bound * 1.05, points);
        chart.y_axis(format_mib_s, "MiB per second");
        let key = chart.bound(bound, label);
        (chart, key)
    }

    /// The x coordinate of the `i`-th point.
    pub fn x(&self, i: usize) -> f64 {
        let first = self.left + 26.0;
        let last = RIGHT - 34.0;
        first + (last - first) * i as f64 / (self.points - 1) as f64
    }

    /// The y coordinate of `value`.
    pub fn y(&self, value: f64) -> f64 {
        BOTTOM - (BOTTOM - TOP) * value / self.y_max
    }

    /// Grid lines with their labels (`format`ted values), the x axis line,
    /// and the y axis `title`, drawn vertically.
    pub fn y_axis(&mut self, format: impl Fn(f64) -> String, title: &str) {
        let grid = Stroke::solid(Colour::Rule, 1.0);
        let ticks = (self.y_max / self.step).round() as usize;
        for k in 0..=ticks {
            let y = self.y(k as f64 * self.step);
            let stroke = if k == 0 { grid } else { grid.dashed("3 3") };
            self.svg.line((self.left, y), (RIGHT, y), stroke);
            self.svg.text(
                self.left - 8.0,
                y + 4.0,
                &format(k as f64 * self.step),
                Font::sans(11.5).fill(Colour::Muted),
                Anchor::End,
            );
        }
        self.svg.line(
            (self.left, BOTTOM),
            (RIGHT, BOTTOM),
            Stroke::solid(Colour::Muted, 1.2),
        );
        self.svg.vertical_text(
            24.0,
            (TOP + BOTTOM) / 2.0,
            title,
            Font::sans(12.0).fill(Colour::Muted),
        );
    }

    /// A tick at each point, labelled with its value and, in a second line,
    /// a note (`labels` gives both, point by point), and the axis `title`
    /// below them.
    pub fn x_axis(&mut self, labels: impl IntoIterator<Item = (String, String)>, title: &str) {
        for (i, (value, note)) in labels.into_iter().enumerate() {
            let x = self.x(i);
            self.svg.line(
                (x, BOTTOM),
                (x, BOTTOM + 5.0),
                Stroke::solid(Colour::Muted, 1.2),
            );
            self.svg.text(
                x,
                BOTTOM + 21.0,
                &value,
                Font::sans(12.5).bold(),
                Anchor::Middle,
            );
            self.svg.text(
                x,
                BOTTOM + 37.0,
                &note,
                Font::mono(11.0).fill(Colour::Muted),
                Anchor::Middle,
            );
        }
        self.svg.text(
            (self.left + RIGHT) / 2.0,
            BOTTOM + 64.0,
            title,
            Font::sans(12.0).fill(Colour::Muted),
            Anchor::Middle,
        );
    }

    /// A dashed grey line at `value`: a bound no series can pass. Returns
    /// its key for the legend.
    fn bound(&mut self, value: f64, label: &'static str) -> Key {
        let stroke = Stroke::solid(Colour::Grey, 1.4).dashed("6 4");
        let y = self.y(value);
        self.svg.line((self.left, y), (RIGHT, y), stroke);
        Key {
            label,
            stroke,
            dot: false,
        }
    }

    /// Each series' line through `points`, then its dots (so that no line
    /// crosses a dot).
    pub fn series<P>(&mut self, series: &[Series<P>], points: &[P]) {
        for line in series {
            let coords: Vec<Point> = points
                .iter()
                .enumerate()
                .map(|(i, p)| (self.x(i), self.y((line.value)(p))))
                .collect();
            self.svg.polyline(&coords, line.stroke);
        }
        for (i, point) in points.iter().enumerate() {
            for line in series {
                let at = (self.x(i), self.y((line.value)(point)));
                self.svg.dot(at, 4.5, line.stroke.colour);
            }
        }
    }

    /// A point's value as a label at `at`, in `colour`, over a halo.
    pub fn value_label(&mut self, at: Point, text: &str, colour: Colour, anchor: Anchor) {
        let font = Font::sans(11.0).bold().fill(colour).halo();
        self.svg.text(at.0, at.1, text, font, anchor);
    }

    /// The legend, right of the plot: groups of keys under a heading, then
    /// `notes` in small print.
    pub fn legend(&mut self, groups: &[(&str, &[Key])], notes: &[&str]) {
        let x = RIGHT + 22.0;
        let mut y = TOP + 4.0;
        for (heading, keys) in groups {
            let font = Font::sans(11.5).bold().fill(Colour::Muted);
            self.svg.text(x, y, heading, font, Anchor::Start);
            for key in *keys {
                y += 24.0;
                let swatch = Stroke {
                    width: SERIES_WIDTH,
                    ..key.stroke
                };
                self.svg.line((x, y - 4.0), (x + 26.0, y - 4.0), swatch);
                if key.dot {
                    self.svg.dot((x + 13.0, y - 4.0), 3.5, key.stroke.colour);
                }
                self.svg
                    .text(x + 34.0, y, key.label, Font::sans(11.5), Anchor::Start);
            }
            y += 34.0;
        }
        for (k, note) in notes.iter().enumerate() {
            let font = Font::sans(11.0).fill(Colour::Muted);
            self.svg
                .text(x, y - 6.0 + 15.0 * k as f64, note, font, Anchor::Start);
        }
    }

    /// The finished chart.
    pub fn finish(self) -> Svg {
        self.svg
    }
}

/// A "nice" tick step for an axis from 0 to `max` with about `ticks` ticks.
fn nice_step(max: f64, ticks: f64) -> f64 {
    let raw = max / ticks;
    let magnitude = 10f64.powf(raw.log10().floor());
    [1.0, 2.0, 2.5, 5.0, 10.0]
        .into_iter()
        .map(|m| m * magnitude)
        .find(|step| *step >= raw)
        .unwrap_or(10.0 * magnitude)
}

/// Milliseconds as a chart label: up to three decimals, no trailing zeros.
pub fn format_ms(ms: f64) -> String {
    trimmed(ms, 3)
}

/// MiB/s as a chart label: no decimals, thousands separated by a thin space.
pub fn format_mib_s(mib_s: f64) -> String {
    grouped(mib_s.round() as u64, '\u{2009}')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nice_steps() {
        assert_eq!(nice_step(10.0, 5.0), 2.0);
        assert_eq!(nice_step(7.3, 5.0), 2.0);
        assert!((nice_step(1.1, 5.0) - 0.25).abs() < 1e-12);
    }

    #[test]
    fn labels() {
        let labels = [
            format_ms(2.5),
            format_ms(4.0),
            format_mib_s(23_841.9),
            format_mib_s(868.8),
        ];
        assert_eq!(labels, ["2.5", "4", "23\u{2009}842", "869"]);
    }

    #[test]
    fn points_span_the_plot_and_values_the_scale() {
        let chart = Chart::new("t", ("title", "subtitle"), 64.0, 9.0, 4);
        assert_eq!((chart.x(0), chart.x(3)), (90.0, RIGHT - 34.0));
        // 9 rounds up to 10 on steps of 2.
        assert_eq!((chart.y(0.0), chart.y(10.0)), (BOTTOM, TOP));
    }
}
