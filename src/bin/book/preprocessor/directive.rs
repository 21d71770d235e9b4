//! What a `{{#nixl …}}` directive can be, parsed once into a [`Directive`]
//! (as mdBook's own `links` preprocessor parses `{{#include …}}` into a link
//! type) and rendered from it.
//!
//! Every kind of directive is declared once, in the `kinds!` list below,
//! with how it is written and what it becomes. From that list come
//! [`Kind`] with the table of every directive in its documentation, and the
//! "known directives" of the error message; parsing and rendering match on
//! the kinds exhaustively, so a directive cannot be added to one and
//! forgotten in another.

use std::fmt::Write as _;

use nixl_kv_metrics::prometheus::Metric;

use super::{GENERATED_DIR, deep_links, prometheus, releases};
use crate::figures::{self, Figure};
use crate::svg::{Theme, escape, num};

/// How a directive opens.
pub const OPEN: &str = "{{#nixl";
/// How a directive closes.
pub const CLOSE: &str = "}}";

/// Declares [`Kind`] from a list of `Variant = "syntax"`, each with a doc
/// comment saying what the directive becomes. The syntax is the keyword,
/// then its parameters: `NAME` is required, `[NAME]` optional.
macro_rules! kinds {
    ($($(#[doc = $becomes:literal])+ $kind:ident = $syntax:literal,)+) => {
        /// A kind of directive. Every directive, and what it becomes:
        ///
        #[doc = concat!(
            "| directive | becomes |\n|---|---|\n",
            $("| `{{#nixl ", $syntax, "}}` |", $($becomes,)+ " |\n",)+
        )]
        #[derive(Clone, Copy, Debug, PartialEq, Eq)]
        pub enum Kind {
            $($(#[doc = $becomes])+ $kind,)+
        }

        impl Kind {
            /// Every kind, in the order of the table.
            pub const ALL: &[Kind] = &[$(Kind::$kind,)+];

            /// How it is written between `{{#nixl ` and `}}`: `figure NAME`.
            pub const fn syntax(self) -> &'static str {
                match self {
                    $(Kind::$kind => $syntax,)+
                }
            }
        }
    };
}

kinds! {
    /// a table of every field of the log line ([`Field::ALL`](nixl_kv_metrics::field::Field::ALL))
    FieldReference = "field-reference",
    /// a table of the release families ([`Family::ALL`](nixl_kv_metrics::release::Family::ALL))
    ReleaseFamilies = "release-families",
    /// an `<img>` of a figure from [`figures::ALL`]
    Figure = "figure NAME",
    /// a table of vLLM's NIXL Prometheus metrics ([`Metric::of`](nixl_kv_metrics::prometheus::Metric::of))
    PrometheusMetrics = "prometheus-metrics",
    /// the bucket bounds of the histogram `NAME` (without `NAME`: of all four)
    PrometheusBuckets = "prometheus-buckets [NAME]",
    /// the PromQL recipe catalog ([`CATALOG`](nixl_kv_metrics::prometheus::CATALOG)), one section per recipe
    PromqlRecipes = "promql-recipes",
    /// a download link to the Grafana dashboard ([`grafana_dashboard`](nixl_kv_metrics::prometheus::grafana_dashboard))
    GrafanaDashboard = "grafana-dashboard",
    /// a table of how each release registers each backend's KV cache ([`KvRegistration::history`](nixl_kv_metrics::topology::KvRegistration::history))
    KvRegistrations = "kv-registrations",
    /// a download link to the alert rules ([`alert_rules`](nixl_kv_metrics::prometheus::alert_rules)), then one section per alert of [`ALERTS`](nixl_kv_metrics::prometheus::ALERTS)
    AlertRules = "alert-rules",
    /// a table per target of every pinned section and its URL ([`DEEP_LINKS`](nixl_kv_metrics::deep_links::DEEP_LINKS))
    DeepLinks = "deep-links",
}

impl Kind {
    /// The first word: `figure`.
    fn keyword(self) -> &'static str {
        self.syntax().split(' ').next().expect("never empty")
    }

    /// The parameters it takes: required ones, then optional ones (`[NAME]`).
    fn parameters(self) -> (usize, usize) {
        let parameters = self.syntax().split(' ').skip(1);
        let optional = parameters.clone().filter(|p| p.starts_with('[')).count();
        (parameters.count() - optional, optional)
    }

    /// What its `NAME` can be, for messages.
    fn names(self) -> Option<String> {
        match self {
            Kind::Figure => Some(figures::names()),
            Kind::PrometheusBuckets => Some(prometheus::histogram_names()),
            Kind::FieldReference
            | Kind::ReleaseFamilies
            | Kind::PrometheusMetrics
            | Kind::PromqlRecipes
            | Kind::GrafanaDashboard
            | Kind::KvRegistrations
            | Kind::AlertRules
            | Kind::DeepLinks => None,
        }
    }

    /// How to write it, with what its `NAME` can be:
    /// ``` `{{#nixl figure NAME}}` (NAME one of: pipeline, …)```.
    fn usage(self) -> String {
        let mut out = format!("`{OPEN} {}{CLOSE}`", self.syntax());
        if let Some(names) = self.names() {
            let _ = write!(out, " (NAME one of: {names})");
        }
        out
    }
}

/// One directive, parsed.
#[derive(Clone, Copy, Debug)]
pub enum Directive {
    /// `{{#nixl field-reference}}`.
    FieldReference,
    /// `{{#nixl release-families}}`.
    ReleaseFamilies,
    /// `{{#nixl figure NAME}}`.
    Figure(&'static Figure),
    /// `{{#nixl prometheus-metrics}}`.
    PrometheusMetrics,
    /// `{{#nixl prometheus-buckets [NAME]}}`: one histogram's, or all.
    PrometheusBuckets(Option<&'static Metric>),
    /// `{{#nixl promql-recipes}}`.
    PromqlRecipes,
    /// `{{#nixl grafana-dashboard}}`.
    GrafanaDashboard,
    /// `{{#nixl kv-registrations}}`.
    KvRegistrations,
    /// `{{#nixl alert-rules}}`.
    AlertRules,
    /// `{{#nixl deep-links}}`.
    DeepLinks,
}

impl Directive {
    /// Parses the text between `{{#nixl` and `}}`; the error says what is
    /// wrong and what is accepted.
    pub fn parse(inner: &str) -> Result<Directive, String> {
        let mut words = inner.split_whitespace();
        let keyword = words.next().unwrap_or_default();
        let arguments: Vec<&str> = words.collect();
        let Some(&kind) = Kind::ALL.iter().find(|kind| kind.keyword() == keyword) else {
            let known: Vec<String> = Kind::ALL.iter().map(|kind| kind.usage()).collect();
            return Err(format!(
                "unknown directive `{OPEN}{inner}{CLOSE}`; known: {}",
                known.join(", ")
            ));
        };
        let (required, optional) = kind.parameters();
        if !(required..=required + optional).contains(&arguments.len()) {
            return Err(format!("`{OPEN}{inner}{CLOSE}`: write {}", kind.usage()));
        }
        let name = arguments.first().copied();
        Ok(match kind {
            Kind::FieldReference => Directive::FieldReference,
            Kind::ReleaseFamilies => Directive::ReleaseFamilies,
            Kind::Figure => {
                let name = name.expect("a required NAME");
                let figure = figures::find(name).ok_or_else(|| {
                    format!(
                        "unknown figure `{name}`; known figures: {}",
                        figures::names()
                    )
                })?;
                Directive::Figure(figure)
            }
            Kind::PrometheusMetrics => Directive::PrometheusMetrics,
            Kind::PrometheusBuckets => {
                Directive::PrometheusBuckets(name.map(prometheus::histogram).transpose()?)
            }
            Kind::PromqlRecipes => Directive::PromqlRecipes,
            Kind::GrafanaDashboard => Directive::GrafanaDashboard,
            Kind::KvRegistrations => Directive::KvRegistrations,
            Kind::AlertRules => Directive::AlertRules,
            Kind::DeepLinks => Directive::DeepLinks,
        })
    }

    /// The Markdown (or HTML block) it becomes in a chapter `root` (`../`s)
    /// below the book's root.
    pub fn render(self, root: &str) -> String {
        match self {
            Directive::FieldReference => releases::field_reference(root),
            Directive::ReleaseFamilies => releases::release_families(root),
            Directive::Figure(figure) => figure_html(figure, root),
            Directive::PrometheusMetrics => prometheus::prometheus_metrics(root),
            Directive::PrometheusBuckets(Some(metric)) => {
                prometheus::prometheus_buckets(metric, false)
            }
            Directive::PrometheusBuckets(None) => prometheus::all_buckets(),
            Directive::PromqlRecipes => prometheus::promql_recipes(),
            Directive::GrafanaDashboard => prometheus::grafana_dashboard_link(root),
            Directive::KvRegistrations => releases::kv_registrations(),
            Directive::AlertRules => prometheus::alert_sections(root),
            Directive::DeepLinks => deep_links::deep_links(root),
        }
    }
}

/// The HTML behind `{{#nixl figure NAME}}`: one `<figure>` with the SVG the
/// preprocessor writes to `generated/` once per theme, each image a link to
/// its full-size page, so that a tap on a phone shows labels it can read. The
/// stylesheet (book/theme/nixl.css) shows the image of mdBook's theme.
/// Kept free of blank lines, so Markdown treats it as one HTML block.
pub fn figure_html(figure: &Figure, root: &str) -> String {
    let svg = (figure.draw)();
    let image = |theme: Theme| {
        let dir = format!("{root}{GENERATED_DIR}");
        let (src, href) = (
            figures::file_name(figure, theme),
            figures::viewer_name(figure, theme),
        );
        let class = match theme {
            Theme::Light => "nixl-figure-light",
            Theme::Dark => "nixl-figure-dark",
        };
        format!(
            "<a class=\"{class}\" href=\"{dir}/{href}\" title=\"Open the figure full size\">\
             <img src=\"{dir}/{src}\" alt=\"{alt}\" width=\"{w}\" height=\"{h}\" loading=\"lazy\"></a>\n",
            alt = escape(figure.alt),
            w = num(svg.width()),
            h = num(svg.height()),
        )
    };
    format!(
        "<figure id=\"figure-{name}\" class=\"nixl-figure\">\n\
         {light}{dark}\
         <figcaption>{caption}</figcaption>\n\
         </figure>",
        name = figure.name,
        light = image(Theme::Light),
        dark = image(Theme::Dark),
        caption = escape(figure.caption),
    )
}
#[cfg(test)]
mod tests {
    use super::*;
    use crate::preprocessor::expand_ok;

    #[test]
    fn every_kind_parses_from_its_syntax() {
        for &kind in Kind::ALL {
            // NAME as the first name the kind accepts.
            let first_name = kind
                .names()
                .map(|names| names.split(", ").next().expect("at least one").to_string());
            let written = kind
                .syntax()
                .replace("[NAME]", "")
                .replace("NAME", first_name.as_deref().unwrap_or("NAME"));
            let directive = Directive::parse(&written).unwrap_or_else(|e| panic!("{written}: {e}"));
            assert!(!directive.render("").is_empty(), "{written}");
        }
    }

    #[test]
    fn bad_arguments_say_how_to_write_the_directive() {
        let error = |inner: &str| Directive::parse(inner).unwrap_err();
        assert_eq!(
            error(" figure"),
            "`{{#nixl figure}}`: write `{{#nixl figure NAME}}` (NAME one of: pipeline, \
             p90-vs-tp, throughput-vs-concurrency, simulated-throughput)"
        );
        assert!(
            error(" field-reference now")
                .starts_with("`{{#nixl field-reference now}}`: write `{{#nixl field-reference}}`")
        );
        assert_eq!(
            error(" tables"),
            "unknown directive `{{#nixl tables}}`; known: `{{#nixl field-reference}}`, \
             `{{#nixl release-families}}`, `{{#nixl figure NAME}}` (NAME one of: pipeline, \
             p90-vs-tp, throughput-vs-concurrency, simulated-throughput), \
             `{{#nixl prometheus-metrics}}`, `{{#nixl prometheus-buckets [NAME]}}` (NAME one \
             of: vllm:nixl_xfer_time_seconds, vllm:nixl_post_time_seconds, \
             vllm:nixl_bytes_transferred, vllm:nixl_num_descriptors), \
             `{{#nixl promql-recipes}}`, `{{#nixl grafana-dashboard}}`, \
             `{{#nixl kv-registrations}}`, `{{#nixl alert-rules}}`, `{{#nixl deep-links}}`"
        );
    }

    #[test]
    fn parameters_come_from_the_syntax() {
        assert_eq!(Kind::FieldReference.parameters(), (0, 0));
        assert_eq!(Kind::Figure.parameters(), (1, 0));
        assert_eq!(Kind::PrometheusBuckets.parameters(), (0, 1));
        assert_eq!(Kind::PrometheusBuckets.keyword(), "prometheus-buckets");
    }

    #[test]
    fn figure_becomes_an_img_of_the_generated_svg() {
        let out = expand_ok(
            "Text.\n{{#nixl figure p90-vs-tp}}\nMore.\n",
            "throughput.md",
        );
        assert!(
            out.contains("<a class=\"nixl-figure-light\" href=\"generated/p90-vs-tp.html\"")
                && out.contains("<img src=\"generated/p90-vs-tp.svg\""),
            "{out}"
        );
        assert!(out.contains("<img src=\"generated/p90-vs-tp.dark.svg\""));
        assert!(out.contains("<figure id=\"figure-p90-vs-tp\""));
        // One HTML block: no blank line inside, blank lines around.
        let start = out.find("<figure").unwrap();
        let end = out.find("</figure>").unwrap();
        assert!(!out[start..end].contains("\n\n"));
        assert!(
            out[..start].ends_with("\n\n") && out[end..].starts_with("</figure>\n\n"),
            "{out}"
        );
    }
}
