//! The book's figures: a registry of named SVG images drawn by code.
//!
//! A chapter inserts one with `{{#nixl figure NAME}}`. The preprocessor writes
//! every figure to `book/src/generated/NAME.svg` and, for mdBook's dark
//! themes, `NAME.dark.svg` (git-ignored), from where mdBook copies them into
//! the rendered book like any other static file, and puts an `<img>` of each
//! in the chapter (book/theme/nixl.css shows the one that matches the theme).
//! Each image links to a page of its own, `NAME.html` or `NAME.dark.html`,
//! that shows it at full size: on a phone the chapter shrinks a figure to
//! less than half its size, too small to read its labels. Numbers in a chart are computed by
//! this crate when the book is built, so a figure cannot disagree with it.
//!
//! One module per figure holds its model (what it computes with the crate)
//! and its drawing; [`chart`] is the line chart three of them share. To add
//! a figure: write a module with a `fn draw() -> Svg` and add a [`Figure`]
//! to [`ALL`].

mod chart;
mod p90_vs_tp;
mod pipeline;
mod simulated_throughput;
mod throughput_vs_concurrency;

use std::fs;
use std::io;
use std::path::Path;

use crate::svg::{Colour, Svg, Theme, escape, num};

/// One named figure.
#[derive(Clone, Copy, Debug)]
pub struct Figure {
    /// The name chapters use: `{{#nixl figure NAME}}`; also the file stem.
    pub name: &'static str,
    /// The image's `alt` text: what it shows, for readers who cannot see it.
    pub alt: &'static str,
    /// The caption printed under it (plain text).
    pub caption: &'static str,
    /// Draws it.
    pub draw: fn() -> Svg,
}

/// Every figure, by name.
pub const ALL: &[Figure] = &[
    Figure {
        name: "pipeline",
        alt: "Each worker (one per tensor-parallel rank) hands its stats to the \
              KVOutputAggregator each engine step; the scheduler ships the pooled \
              lists to KVConnectorLogging in the API server, which pools the steps \
              of one logging interval and prints one KV Transfer metrics line.",
        caption: "From the workers' recorders to one log line. Every box only \
                  concatenates lists; the numbers are computed once, at the end, \
                  over everything pooled in the interval. Drawn for the \
                  introduction's example: its four READs, one per TP rank, give \
                  its line, which vLLM 0.32 and later end with three counts, \
                  here 0.",
        draw: pipeline::draw,
    },
    Figure {
        name: "p90-vs-tp",
        alt: "Line chart: as the decode instance's TP grows from 1 to 8, the \
              line's Avg and P90 xfer time fall, while the mean time until a \
              request's slowest rank finishes stays well above the average.",
        caption: "The same 16 requests read at TP = 1, 2, 4 and 8, computed with this \
                  crate's reduce(). Each decode rank reads 1/TP of a request's KV \
                  (0.2 ms + size at 10 GiB/s); one READ in eight is 60 % slower. \
                  The line's statistics are per READ, not per request.",
        draw: p90_vs_tp::draw,
    },
    Figure {
        name: "throughput-vs-concurrency",
        alt: "Line chart: as more READs are in flight at once on one link, the \
              line's Throughput (MB/s) falls roughly as one over their number, \
              while the bytes moved per second of wall-clock time stay near the \
              link's bandwidth.",
        caption: "Each point: 1 to 32 READs (the x axis) of 8 MiB each, posted \
                  50 µs apart by one decode rank and sharing its 25 GB/s link \
                  (20 µs latency), computed with this crate's Link, reduce() and \
                  WallClock. The line divides by the summed transfer time (Σxfer), \
                  which counts every overlapping microsecond once per transfer in \
                  flight; the busy time counts it once. Under each count, Σxfer / \
                  busy time: how many READs were in flight on average.",
        draw: throughput_vs_concurrency::draw,
    },
    Figure {
        name: "simulated-throughput",
        alt: "Line chart: as simulated requests arrive faster, the decode \
              instance's log line keeps reporting a Throughput of a few thousand \
              MiB/s and then falls, while the MiB moved per second of busy time \
              and per second of the logging interval rise toward the links' \
              capacity.",
        caption: "Simulated with this crate's Simulation: Llama-3.1-8B, prefill and \
                  decode at TP 2 in pull mode, 10 s of Poisson arrivals at each rate, \
                  default links (25 GB/s per decode rank) and a 15 ms decode step. \
                  The line's Throughput and n × Avg MB / 10 s (n: Num successful \
                  transfers) come from the first interval's log line as printed; \
                  the busy-time rate needs NIXL's start times, which the line does \
                  not carry. Under each rate, the mean number of READs in flight \
                  while busy.",
        draw: simulated_throughput::draw,
    },
];

/// The figure called `name`.
pub fn find(name: &str) -> Option<&'static Figure> {
    ALL.iter().find(|figure| figure.name == name)
}

/// The names of every figure, for messages: `pipeline, p90-vs-tp, …`.
pub fn names() -> String {
    ALL.iter()
        .map(|figure| figure.name)
        .collect::<Vec<_>>()
        .join(", ")
}

/// The stem of a figure's files in `theme`: `NAME` (light) or `NAME.dark`.
fn stem(figure: &Figure, theme: Theme) -> String {
    match theme {
        Theme::Light => figure.name.to_string(),
        Theme::Dark => format!("{}.dark", figure.name),
    }
}

/// The SVG file a figure is written to in `theme`: `NAME.svg`, `NAME.dark.svg`.
pub fn file_name(figure: &Figure, theme: Theme) -> String {
    format!("{}.svg", stem(figure, theme))
}

/// The page that shows a figure at full size in `theme`: `NAME.html`,
/// `NAME.dark.html`.
pub fn viewer_name(figure: &Figure, theme: Theme) -> String {
    format!("{}.html", stem(figure, theme))
}

/// The full-size page of `figure` (drawn as `svg`) in `theme`: the image at
/// 1:1, wider than a phone's screen (it scrolls sideways and zooms, as the
/// SVG file alone would not: a phone lays that out 980 px wide and shrinks
/// it), then its caption, on the card's colour.
fn viewer_html(figure: &Figure, svg: &Svg, theme: Theme) -> String {
    format!(
        "<!DOCTYPE html>\n\
         <html lang=\"en\">\n\
         <head>\n\
         <meta charset=\"utf-8\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <title>{title}</title>\n\
         <style>\n\
         body {{ margin: 0; padding: 12px; background: {card}; color: {ink}; \
         font: 16px/1.5 'Open Sans', 'Helvetica Neue', Helvetica, Arial, sans-serif; }}\n\
         figure {{ margin: 0; }}\n\
         img {{ display: block; max-width: none; }}\n\
         figcaption {{ max-width: {w}px; margin-top: 0.6em; }}\n\
         </style>\n\
         </head>\n\
         <body>\n\
         <figure>\n\
         <img src=\"{file}\" alt=\"{alt}\" width=\"{w}\" height=\"{h}\">\n\
         <figcaption>{caption}</figcaption>\n\
         </figure>\n\
         </body>\n\
         </html>\n",
        title = escape(svg.title()),
        card = theme.value(Colour::Card),
        ink = theme.value(Colour::Ink),
        file = file_name(figure, theme),
        alt = escape(figure.alt),
        caption = escape(figure.caption),
        w = num(svg.width()),
        h = num(svg.height()),
    )
}

/// Writes every figure and its full-size page into `dir` (created if
/// missing), once per theme, touching only files whose content changed (so
/// `mdbook serve` does not rebuild forever), and removes the SVG and HTML
/// files of figures that no longer exist.
pub fn write_all(dir: &Path) -> io::Result<()> {
    fs::create_dir_all(dir)?;
    let mut written = Vec::new();
    for figure in ALL {
        let svg = (figure.draw)();
        for theme in Theme::ALL {
            for (name, text) in [
                (file_name(figure, theme), svg.finish(theme)),
                (viewer_name(figure, theme), viewer_html(figure, &svg, theme)),
            ] {
                let path = dir.join(&name);
                if fs::read_to_string(&path).ok().as_deref() != Some(text.as_str()) {
                    fs::write(&path, text)?;
                }
                written.push(name);
            }
        }
    }
    for entry in fs::read_dir(dir)? {
        let path = entry?.path();
        let name = path.file_name().and_then(|s| s.to_str()).unwrap_or("");
        let ours = name.ends_with(".svg") || name.ends_with(".html");
        if ours && !written.iter().any(|w| w == name) {
            fs::remove_file(&path)?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every tag opened is closed, in order (a cheap well-formedness check).
    fn assert_balanced(svg: &str) {
        let mut stack = Vec::new();
        let mut rest = svg;
        while let Some(open) = rest.find('<') {
            let close = rest[open..].find('>').expect("unclosed tag") + open;
            let tag = &rest[open + 1..close];
            let name: String = tag
                .trim_start_matches('/')
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric())
                .collect();
            if let Some(closing) = tag.strip_prefix('/') {
                assert_eq!(stack.pop().as_deref(), Some(closing.trim()), "in {svg}");
            } else if !tag.ends_with('/') {
                stack.push(name);
            }
            rest = &rest[close + 1..];
        }
        assert!(stack.is_empty(), "unclosed {stack:?}");
    }

    #[test]
    fn every_figure_draws_a_well_formed_svg() {
        for figure in ALL {
            let svg = (figure.draw)();
            assert!(svg.width() > 0.0 && svg.height() > 0.0);
            for theme in Theme::ALL {
                let text = svg.finish(theme);
                assert!(text.starts_with("<svg "), "{}", figure.name);
                assert!(
                    !text.contains("NaN") && !text.contains("\"inf"),
                    "{}",
                    figure.name
                );
                assert_balanced(&text);
            }
        }
    }

    #[test]
    fn names_are_unique_file_stems() {
        for (i, figure) in ALL.iter().enumerate() {
            assert!(
                figure
                    .name
                    .chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
            );
            assert!(ALL[..i].iter().all(|other| other.name != figure.name));
            assert_eq!(find(figure.name).map(|f| f.name), Some(figure.name));
        }
        assert!(find("nope").is_none());
        assert_eq!(
            names(),
            "pipeline, p90-vs-tp, throughput-vs-concurrency, simulated-throughput"
        );
    }

    #[test]
    fn writing_is_idempotent_and_prunes_stale_files() {
        let dir = std::env::temp_dir().join(format!("nixl-book-figures-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(&dir).unwrap();
        fs::write(dir.join("gone.svg"), "<svg/>").unwrap();
        fs::write(dir.join("gone.dark.html"), "<p>").unwrap();
        write_all(&dir).unwrap();
        assert!(dir.join("pipeline.dark.svg").is_file());
        let viewer = fs::read_to_string(dir.join("pipeline.dark.html")).unwrap();
        assert!(
            viewer.contains("<img src=\"pipeline.dark.svg\""),
            "{viewer}"
        );
        assert!(viewer.contains("background: #1c2128;"), "{viewer}");
        let path = dir.join("pipeline.svg");
        let first = fs::metadata(&path).unwrap().modified().unwrap();
        std::thread::sleep(std::time::Duration::from_millis(20));
        write_all(&dir).unwrap();
        assert_eq!(fs::metadata(&path).unwrap().modified().unwrap(), first);
        assert!(!dir.join("gone.svg").exists() && !dir.join("gone.dark.html").exists());
        fs::remove_dir_all(&dir).unwrap();
    }
}
