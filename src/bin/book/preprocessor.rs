//! The `nixl` preprocessor: replaces `{{#nixl …}}` directives in chapters with
//! Markdown generated from this crate, so reference tables cannot drift from
//! the code.
//!
//! | directive | becomes |
//! |---|---|
//! | `{{#nixl field-reference}}` | a table of every field of the log line ([`Field::ALL`]) |
//! | `{{#nixl release-families}}` | a table of the release families ([`Family::ALL`]) |
//! | `{{#nixl figure NAME}}` | an `<img>` of a figure from [`figures::ALL`] |
//! | `{{#nixl prometheus-metrics}}` | a table of vLLM's NIXL Prometheus metrics ([`metrics::of`]) |
//! | `{{#nixl prometheus-buckets NAME}}` | the bucket bounds of the histogram `NAME` (without `NAME`: of all four) |
//! | `{{#nixl promql-recipes}}` | the PromQL recipe catalog ([`recipes::CATALOG`]), one section per recipe |
//! | `{{#nixl grafana-dashboard}}` | a download link to the Grafana dashboard ([`dashboard`]) |
//!
//! Besides the figures, the preprocessor writes the Grafana dashboard
//! (`generated/nixl-kv-transfer.json`, the same bytes as the committed
//! `dashboards/nixl-kv-transfer.json`) for that link.
//!
//! Each directive must stand alone on its line. As with mdBook's own
//! `{{#include}}`, a backslash (`\{{#nixl …}}`) prints the directive
//! literally. Anything else after `{{#nixl ` is an error that names the
//! chapter and line, and fails the build.

use std::fmt::Write as _;
use std::path::Path;

use mdbook_preprocessor::book::Book;
use mdbook_preprocessor::errors::{Error, Result};
use mdbook_preprocessor::{Preprocessor, PreprocessorContext};
use nixl_kv_metrics::field::Field;
use nixl_kv_metrics::prometheus::dashboard;
use nixl_kv_metrics::prometheus::exposition::GoFloat;
use nixl_kv_metrics::prometheus::metrics::{self, Metric, MetricType, Observation};
use nixl_kv_metrics::prometheus::recipes::{self, Expr, Recipe, Unit};
use nixl_kv_metrics::release::{FailureMark, Family, Rounding};
use nixl_kv_metrics::topology::{Instance, Mode};

use crate::figures::{self, Figure};
use crate::svg::{escape, num};

/// The preprocessor's name: the `[preprocessor.nixl]` table of book.toml.
pub const NAME: &str = "nixl";

/// Where figures are written, relative to the book's `src` directory
/// (git-ignored; mdBook copies it into the output like any static file).
pub const GENERATED_DIR: &str = "generated";

/// The file name of the Grafana dashboard in [`GENERATED_DIR`]: that of the
/// committed [`dashboard::PATH`].
pub const DASHBOARD_FILE: &str = "nixl-kv-transfer.json";

/// The chapter with one section per metric, which the metrics table links to.
const PROMETHEUS_CHAPTER: &str = "prometheus.md";

const OPEN: &str = "{{#nixl";
const CLOSE: &str = "}}";

/// The `nixl` preprocessor (see the module docs).
#[derive(Clone, Copy, Debug, Default)]
pub struct Nixl;

impl Preprocessor for Nixl {
    fn name(&self) -> &str {
        NAME
    }

    fn run(&self, ctx: &PreprocessorContext, mut book: Book) -> Result<Book> {
        let src = &ctx.config.book.src;
        let mut errors = Vec::new();
        book.for_each_chapter_mut(|chapter| {
            let Some(path) = chapter.path.clone() else {
                return; // a draft: no content
            };
            match expand(&chapter.content, &path) {
                Ok(content) => chapter.content = content,
                Err(found) => {
                    let file = match &chapter.source_path {
                        Some(source) => src.join(source).display().to_string(),
                        None => format!("chapter {:?}", chapter.name),
                    };
                    errors.extend(
                        found
                            .into_iter()
                            .map(|e| format!("{file}:{}: {}", e.line, e.message)),
                    );
                }
            }
        });
        if !errors.is_empty() {
            return Err(Error::msg(format!(
                "{} bad {{{{#nixl}}}} directive(s):\n  {}",
                errors.len(),
                errors.join("\n  ")
            )));
        }
        let dir = ctx.root.join(src).join(GENERATED_DIR);
        figures::write_all(&dir).map_err(|e| {
            Error::new(e).context(format!("cannot write the figures into {}", dir.display()))
        })?;
        write_dashboard(&dir).map_err(|e| {
            Error::new(e).context(format!("cannot write the dashboard into {}", dir.display()))
        })?;
        Ok(book)
    }
}

/// Writes the Grafana dashboard into `dir` (unless it is already there, so
/// that `mdbook serve` does not rebuild forever).
pub fn write_dashboard(dir: &Path) -> std::io::Result<()> {
    std::fs::create_dir_all(dir)?;
    let path = dir.join(DASHBOARD_FILE);
    let json = dashboard::grafana_dashboard();
    if std::fs::read_to_string(&path).ok().as_deref() != Some(json.as_str()) {
        std::fs::write(&path, json)?;
    }
    Ok(())
}

/// A bad directive: the line (1-based) and what is wrong.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DirectiveError {
    /// 1-based line of the chapter.
    pub line: usize,
    /// What is wrong, and what is accepted.
    pub message: String,
}

/// `content` with every directive replaced. `chapter` is the chapter's path
/// relative to the book's `src` (links and images are made relative to it).
pub fn expand(content: &str, chapter: &Path) -> std::result::Result<String, Vec<DirectiveError>> {
    let root = path_to_root(chapter);
    let mut out = String::with_capacity(content.len());
    let mut errors = Vec::new();
    for (index, line) in content.split_inclusive('\n').enumerate() {
        let error = |message: String| DirectiveError {
            line: index + 1,
            message,
        };
        let mut rest = line;
        let mut literal = String::new();
        let mut directive: Option<(&str, usize)> = None; // (inner text, count)
        let mut count = 0;
        while let Some(at) = rest.find(OPEN) {
            let after = &rest[at + OPEN.len()..];
            // `{{#nixlfoo}}` is somebody else's directive.
            if !after.starts_with(|c: char| c.is_whitespace() || c == '}') {
                literal.push_str(&rest[..at + OPEN.len()]);
                rest = after;
                continue;
            }
            if rest[..at].ends_with('\\') {
                literal.push_str(&rest[..at - 1]);
                literal.push_str(OPEN);
                rest = after;
                continue;
            }
            let Some(end) = after.find(CLOSE) else {
                errors.push(error(format!(
                    "unterminated `{OPEN}`: close it with `{CLOSE}` on the same line"
                )));
                break;
            };
            literal.push_str(&rest[..at]);
            count += 1;
            directive = Some((&after[..end], count));
            rest = &after[end + CLOSE.len()..];
        }
        literal.push_str(rest);
        let Some((inner, count)) = directive else {
            out.push_str(&literal);
            continue;
        };
        if count > 1 || !literal.trim().is_empty() {
            errors.push(error(format!(
                "`{OPEN}{inner}{CLOSE}` must stand alone on its line (it expands to a block)"
            )));
            continue;
        }
        match render(inner, &root) {
            Ok(block) => {
                // Blank lines around the block, so it never merges with a
                // neighbouring paragraph.
                out.push('\n');
                out.push_str(&block);
                out.push('\n');
                if line.ends_with('\n') {
                    out.push('\n');
                }
            }
            Err(message) => errors.push(error(message)),
        }
    }
    if errors.is_empty() {
        Ok(out)
    } else {
        Err(errors)
    }
}

/// The Markdown for the inside of one directive (the text between
/// `{{#nixl` and `}}`).
fn render(inner: &str, root: &str) -> std::result::Result<String, String> {
    let words: Vec<&str> = inner.split_whitespace().collect();
    match words.as_slice() {
        ["field-reference"] => Ok(field_reference(root)),
        ["release-families"] => Ok(release_families(root)),
        ["prometheus-metrics"] => Ok(prometheus_metrics(root)),
        ["prometheus-buckets"] => Ok(histograms()
            .map(|metric| prometheus_buckets(metric, true))
            .collect::<Vec<_>>()
            .join("\n\n")),
        ["prometheus-buckets", name] => match histograms().find(|m| m.name == *name) {
            Some(metric) => Ok(prometheus_buckets(metric, false)),
            None => Err(format!(
                "unknown histogram `{name}`; known histograms: {}",
                histogram_names()
            )),
        },
        ["promql-recipes"] => Ok(promql_recipes()),
        ["grafana-dashboard"] => Ok(grafana_dashboard_link(root)),
        ["figure", name] => match figures::find(name) {
            Some(figure) => Ok(figure_html(figure, root)),
            None => Err(format!(
                "unknown figure `{name}`; known figures: {}",
                figures::names()
            )),
        },
        _ => Err(format!(
            "unknown directive `{OPEN}{inner}{CLOSE}`; known: `{OPEN} field-reference{CLOSE}`, \
             `{OPEN} release-families{CLOSE}`, `{OPEN} figure NAME{CLOSE}` (NAME one of: {}), \
             `{OPEN} prometheus-metrics{CLOSE}`, `{OPEN} prometheus-buckets [NAME]{CLOSE}` \
             (NAME one of: {}), `{OPEN} promql-recipes{CLOSE}`, `{OPEN} grafana-dashboard{CLOSE}`",
            figures::names(),
            histogram_names()
        )),
    }
}

/// `../` once per directory between the chapter and the book's root.
fn path_to_root(chapter: &Path) -> String {
    "../".repeat(chapter.components().count().saturating_sub(1))
}

/// Text for a table cell: a `|` would end the cell.
fn cell(text: &str) -> String {
    text.replace('|', "\\|")
}

/// Inline code for a table cell.
fn code(text: &str) -> String {
    format!("`{}`", cell(text))
}

/// A field's name as inline code, linked to its section in fields.md.
fn field_link(field: Field, root: &str) -> String {
    format!(
        "[{}]({root}fields.md#{})",
        code(field.name()),
        field.anchor()
    )
}

/// Families as runs with their releases: `F2–F6 (vLLM ≥ 0.11.1)`.
fn families_cell(families: &[Family]) -> String {
    let index = |family: Family| {
        Family::ALL
            .iter()
            .position(|f| *f == family)
            .expect("in ALL")
    };
    let mut runs: Vec<(Family, Family)> = Vec::new();
    for &family in families {
        match runs.last_mut() {
            Some((_, last)) if index(*last) + 1 == index(family) => *last = family,
            _ => runs.push((family, family)),
        }
    }
    runs.iter()
        .map(|&(first, last)| {
            let names = if first == last {
                first.to_string()
            } else {
                format!("{first}–{last}")
            };
            format!("{names} ({})", releases_cell(first, last))
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// The releases of the families `first` to `last`: `vLLM ≥ 0.31.0`,
/// `vLLM 0.12.0 – 0.14.x`, `0.11.1 ≤ vLLM < 0.31.0`.
fn releases_cell(first: Family, last: Family) -> String {
    let index = |family: Family| {
        Family::ALL
            .iter()
            .position(|f| *f == family)
            .expect("in ALL")
    };
    if last == newest() {
        format!("vLLM ≥ {}", first.first_release())
    } else if first == last {
        format!("vLLM {}", first.releases())
    } else {
        let next = Family::ALL[index(last) + 1];
        format!(
            "{} ≤ vLLM < {}",
            first.first_release(),
            next.first_release()
        )
    }
}

/// The newest family.
fn newest() -> Family {
    Family::ALL[Family::ALL.len() - 1]
}

/// Wraps a generated table in `<div class="nixl-table nixl-KIND">`, so that
/// book/theme/nixl.css can lay it out (mdBook's default cell padding and
/// automatic column widths would push five columns off the page).
fn styled_table(kind: &str, table: &str) -> String {
    format!("<div class=\"nixl-table nixl-{kind}\">\n\n{table}\n</div>")
}

/// The table behind `{{#nixl field-reference}}`: one row per field.
pub fn field_reference(root: &str) -> String {
    let mut out = String::from(
        "| Field | Unit | Formula, over one interval's pooled samples | One sample is | Printed by |\n\
         |---|---|---|---|---|\n",
    );
    for field in Field::ALL {
        let families: Vec<Family> = field.families().collect();
        let _ = writeln!(
            out,
            "| {} | {} | {} | {} | {} |",
            field_link(field, root),
            cell(field.unit()),
            code(field.formula()),
            cell(field.sample()),
            families_cell(&families),
        );
    }
    styled_table("field-reference", &out)
}

/// The table behind `{{#nixl release-families}}`: one column per family,
/// oldest first, so that it reads as a timeline.
pub fn release_families(root: &str) -> String {
    let families = Family::ALL;
    let mut rows: Vec<(String, Vec<String>)> = Vec::new();
    let mut row = |label: &str, value: &dyn Fn(Family) -> String| {
        rows.push((
            label.to_string(),
            families.iter().map(|f| value(*f)).collect(),
        ));
    };
    // Failure lists: F1 has none, so failure rules do not apply to it.
    let has_failures = |family: Family| !family.events().is_empty();
    let not_applicable = || "—".to_string();
    let rounding = |family: Family, field: Field| {
        if !family.fields().contains(&field) {
            return not_applicable();
        }
        match family.rounding(field) {
            Rounding::Numpy => "numpy".to_string(),
            Rounding::Python => "Python".to_string(),
        }
    };
    row("vLLM releases", &|f| cell(f.releases()));
    row("Fields on the line", &|f| f.fields().len().to_string());
    row("Change from the previous family", &|f| {
        let index = families.iter().position(|g| *g == f).expect("in ALL");
        changes(index.checked_sub(1).map(|i| families[i]), f, root)
    });
    row("`is_empty()` is true when", &|f| cell(f.empty_when()));
    row(
        "Stats holding only failures",
        &|f| match (has_failures(f), f.keeps_failure_only_stats()) {
            (false, _) => not_applicable(),
            (true, true) => "shipped and logged".to_string(),
            (true, false) => "held back until a success".to_string(),
        },
    );
    row("Averages rounded by", &|f| {
        rounding(f, Field::AvgXferTimeMs)
    });
    row("P90s rounded by", &|f| rounding(f, Field::P90XferTimeMs));
    row(
        "Failure list entry",
        &|f| match (has_failures(f), f.failure_mark()) {
            (false, _) => not_applicable(),
            (true, FailureMark::Float) => "`1.0` (float)".to_string(),
            (true, FailureMark::Int) => "`1` (int)".to_string(),
        },
    );

    let mut out = String::from("| Family |");
    for family in families {
        let _ = write!(out, " {family} |");
    }
    out.push_str("\n|---|");
    out.push_str(&"---|".repeat(families.len()));
    out.push('\n');
    for (label, values) in rows {
        let _ = writeln!(out, "| {label} | {} |", values.join(" | "));
    }
    styled_table("release-families", &out)
}

/// The fields `family` adds to, and drops from, `previous`'s line.
fn changes(previous: Option<Family>, family: Family, root: &str) -> String {
    let Some(previous) = previous else {
        return "(the first)".to_string();
    };
    let added: Vec<Field> = family
        .fields()
        .iter()
        .copied()
        .filter(|f| !previous.fields().contains(f))
        .collect();
    let removed: Vec<Field> = previous
        .fields()
        .iter()
        .copied()
        .filter(|f| !family.fields().contains(f))
        .collect();
    let list = |fields: &[Field]| {
        fields
            .iter()
            .map(|f| field_link(*f, root))
            .collect::<Vec<_>>()
            .join(", ")
    };
    match (added.len(), removed.is_empty()) {
        (0, true) => format!("same fields as {previous}"),
        (0, false) => format!("drops {}", list(&removed)),
        (n, false) if n > 3 => format!("{n} fields replace {}", list(&removed)),
        (n, true) if n > 3 => format!("adds {n} fields"),
        (_, true) => format!("adds {}", list(&added)),
        (_, false) => format!("adds {}; drops {}", list(&added), list(&removed)),
    }
}

/// The HTML behind `{{#nixl figure NAME}}`: one `<figure>` with the SVG the
/// preprocessor writes to `generated/NAME.svg` (styled by book/theme/nixl.css).
/// Kept free of blank lines, so Markdown treats it as one HTML block.
pub fn figure_html(figure: &Figure, root: &str) -> String {
    let svg = (figure.draw)();
    format!(
        "<figure id=\"figure-{name}\" class=\"nixl-figure\">\n\
         <img src=\"{root}{GENERATED_DIR}/{file}\" alt=\"{alt}\" width=\"{w}\" height=\"{h}\">\n\
         <figcaption>{caption}</figcaption>\n\
         </figure>",
        name = figure.name,
        file = figures::file_name(figure),
        alt = escape(figure.alt),
        w = num(svg.width()),
        h = num(svg.height()),
        caption = escape(figure.caption),
    )
}

// ---------------------------------------------------------------------------
// Prometheus

/// The four histograms, in registration order (the newest family registers
/// every metric any family does).
fn histograms() -> impl Iterator<Item = &'static Metric> {
    metrics::of(newest())
        .iter()
        .filter(|metric| matches!(metric.kind, MetricType::Histogram { .. }))
}

/// The histograms' names, for error messages.
fn histogram_names() -> String {
    histograms().map(|m| m.name).collect::<Vec<_>>().join(", ")
}

/// The id of a metric's section in prometheus.md:
/// `vllm:nixl_xfer_time_seconds` → `vllm-nixl-xfer-time-seconds`.
pub fn metric_anchor(name: &str) -> String {
    name.replace([':', '_'], "-")
}

/// How `value` of the metric `name` changes over the families that register
/// it: runs of families with equal values, oldest first, as (first, last, value).
fn metric_runs<T: PartialEq>(name: &str, value: impl Fn(&Metric) -> T) -> Vec<(Family, Family, T)> {
    let mut runs: Vec<(Family, Family, T)> = Vec::new();
    for family in Family::ALL {
        let Some(metric) = metrics::find(family, name) else {
            continue;
        };
        let value = value(metric);
        match runs.last_mut() {
            Some((_, last, previous)) if *previous == value => *last = family,
            _ => runs.push((family, family, value)),
        }
    }
    runs
}

/// One value per run, each after its releases when there are several runs.
fn runs_cell<T>(runs: &[(Family, Family, T)], text: impl Fn(&T) -> String) -> String {
    match runs {
        [(_, _, only)] => text(only),
        _ => runs
            .iter()
            .map(|(first, last, value)| {
                format!("{}: {}", releases_cell(*first, *last), text(value))
            })
            .collect::<Vec<_>>()
            .join("<br>"),
    }
}

/// `decode`, `prefill`, or `prefill and decode`.
fn instances_text(instances: &[Instance]) -> String {
    let names: Vec<String> = instances.iter().map(Instance::to_string).collect();
    names.join(" and ")
}

/// The table behind `{{#nixl prometheus-metrics}}`: one row per metric any
/// release registers, linked to its section of prometheus.md.
pub fn prometheus_metrics(root: &str) -> String {
    let mut out = String::from(
        "| Metric | Type, samples, labels | Moves on | Since | HELP text |\n\
         |---|---|---|---|---|\n",
    );
    let labels = metrics::LABEL_NAMES
        .iter()
        .map(|label| code(label))
        .collect::<Vec<_>>()
        .join(", ");
    for metric in metrics::of(newest()) {
        let kind = match metric.kind {
            MetricType::Histogram { .. } => format!(
                "histogram: `_bucket`, `_count`, `_sum`; labels {labels}, and `le` on `_bucket`"
            ),
            MetricType::Counter { .. } => format!("counter: `_total`; labels {labels}"),
        };
        let first = metrics::first_family(metric.name).expect("registered by the newest");
        let moves_on = |mode: Mode| {
            let runs = metric_runs(metric.name, |m| m.moves_on(mode));
            let text = match runs.as_slice() {
                [(_, _, only)] => instances_text(only),
                _ => runs
                    .iter()
                    .map(|(first, last, instances)| {
                        format!(
                            "{} ({})",
                            instances_text(instances),
                            releases_cell(*first, *last)
                        )
                    })
                    .collect::<Vec<_>>()
                    .join(", then "),
            };
            let name = match mode {
                Mode::Pull => "pull",
                Mode::Push => "push",
            };
            format!("{name}: {text}")
        };
        let _ = writeln!(
            out,
            "| [{}]({root}{PROMETHEUS_CHAPTER}#{}) | {kind} | {}<br>{} | vLLM {} | {} |",
            breakable_code(metric.name),
            metric_anchor(metric.name),
            moves_on(Mode::Pull),
            moves_on(Mode::Push),
            first.first_release(),
            runs_cell(&metric_runs(metric.name, |m| m.help), |help| format!(
                "“{}”",
                cell(help)
            )),
        );
    }
    styled_table("prometheus-metrics", &out)
}

/// A metric name as inline HTML code that may wrap after its underscores
/// (`vllm:nixl_<wbr>xfer_<wbr>time_<wbr>seconds`), not in the middle of a word.
fn breakable_code(name: &str) -> String {
    format!("<code>{}</code>", escape(name).replace('_', "_<wbr>"))
}

/// `x` with at most six decimals and no trailing zeros: `0.005`, `75`.
fn decimal(x: f64) -> String {
    let text = format!("{x:.6}");
    text.trim_end_matches('0').trim_end_matches('.').to_string()
}

/// `n` with thousands separators: `8,589,934,592`.
fn grouped(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, digit) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(digit);
    }
    out
}

/// A bucket bound in the unit people read: `5 ms`, `1 s`, `2 KiB`, `10`.
fn quantity(observes: Observation, x: f64) -> String {
    match observes {
        Observation::TransferDuration | Observation::PostDuration => {
            if x < 1.0 {
                format!("{} ms", decimal(x * 1e3))
            } else {
                format!("{} s", decimal(x))
            }
        }
        Observation::BytesTransferred => {
            let unit = [(1u64 << 30, "GiB"), (1 << 20, "MiB"), (1 << 10, "KiB")]
                .into_iter()
                .find(|&(size, _)| x >= size as f64 && (x / size as f64).fract() == 0.0);
            match unit {
                Some((size, name)) => format!("{} {name}", decimal(x / size as f64)),
                None => format!("{} B", decimal(x)),
            }
        }
        Observation::NumDescriptors => decimal(x),
    }
}

/// A bucket bound in the metric's unit, and in the readable one:
/// `0.005 s = 5 ms`, `2,048 B = 2 KiB`, `10`.
fn bound_text(observes: Observation, x: f64) -> String {
    match observes {
        Observation::TransferDuration | Observation::PostDuration => {
            format!("{} s = {} ms", decimal(x), decimal(x * 1e3))
        }
        Observation::BytesTransferred => {
            format!("{} B = {}", grouped(x as u64), quantity(observes, x))
        }
        Observation::NumDescriptors => decimal(x),
    }
}

/// The unit a histogram observes, as its section names it.
fn observation_unit(observes: Observation) -> &'static str {
    match observes {
        Observation::TransferDuration | Observation::PostDuration => "seconds",
        Observation::BytesTransferred => "bytes",
        Observation::NumDescriptors => "descriptors (a count)",
    }
}

/// The table behind `{{#nixl prometheus-buckets NAME}}`: one row per bucket
/// of the histogram, `+Inf` last. `titled` names the metric above it.
pub fn prometheus_buckets(metric: &Metric, titled: bool) -> String {
    let MetricType::Histogram { bounds, observes } = metric.kind else {
        unreachable!("only histograms are passed");
    };
    let mut out = String::new();
    if titled {
        let _ = write!(out, "**{}**: ", code(metric.name));
    }
    let _ = writeln!(
        out,
        "{} finite buckets, then `+Inf`; observed in {}.\n",
        bounds.len(),
        observation_unit(observes)
    );
    let mut table = String::from(
        "| `le` label | Upper bound | `histogram_quantile` spreads the bucket's observations over |\n\
         |---|---|---|\n",
    );
    let mut lower = 0.0;
    for &upper in bounds {
        let _ = writeln!(
            table,
            "| {} | {} | ({}, {}] |",
            code(&GoFloat(upper).to_string()),
            bound_text(observes, upper),
            if lower == 0.0 {
                "0".to_string()
            } else {
                quantity(observes, lower)
            },
            quantity(observes, upper),
        );
        lower = upper;
    }
    let _ = writeln!(
        table,
        "| `+Inf` | none | above {top}: a quantile that falls here is reported as {top} |",
        top = quantity(observes, lower),
    );
    out.push_str(&styled_table("prometheus-buckets", &table));
    out
}

/// A recipe's unit, in words.
fn unit_text(unit: Unit) -> &'static str {
    match unit {
        Unit::Seconds => "seconds",
        Unit::Bytes => "bytes",
        Unit::BytesPerSecond => "bytes per second",
        Unit::PerSecond => "events per second",
        Unit::Number => "a plain number",
    }
}

/// A recipe's PromQL as the book prints it, on two lines where it would not
/// fit the page: a ratio breaks before its `/`, a quantile after its `q,`.
/// Joining the lines with a space gives [`Recipe::promql`] back.
pub fn promql_text(recipe: &Recipe) -> String {
    let operand = |e: &Expr| match e {
        Expr::Ratio(..) => format!("({e})"),
        _ => e.to_string(),
    };
    match recipe.expr {
        Expr::Ratio(a, b) => format!("{}\n  / {}", operand(a), operand(b)),
        Expr::Quantile(..) => recipe.promql().replacen(", ", ",\n  ", 1),
        Expr::SumRate(..) => recipe.promql(),
    }
}

/// The sections behind `{{#nixl promql-recipes}}`: per recipe, a heading
/// (id `recipe-ID`), its unit and first release, the PromQL, and what it
/// answers and does not.
pub fn promql_recipes() -> String {
    recipes::CATALOG
        .iter()
        .map(|recipe| {
            format!(
                "### {title} {{ #recipe-{id} }}\n\n\
                 Recipe `{id}`: {unit}, from vLLM {since} on.\n\n\
                 ```promql\n{promql}\n```\n\n\
                 **Answers:** {answers}\n\n\
                 **Does not answer:** {does_not}",
                title = recipe.title,
                id = recipe.id,
                unit = unit_text(recipe.unit),
                since = recipe.first_family().first_release(),
                promql = promql_text(recipe),
                answers = recipe.answers,
                does_not = recipe.does_not_answer,
            )
        })
        .collect::<Vec<_>>()
        .join("\n\n")
}

/// The link behind `{{#nixl grafana-dashboard}}`: the dashboard the
/// preprocessor writes to `generated/` (see [`write_dashboard`]).
pub fn grafana_dashboard_link(root: &str) -> String {
    let size_kib = dashboard::grafana_dashboard().len() as f64 / 1024.0;
    format!(
        "<p class=\"nixl-download\"><a href=\"{root}{GENERATED_DIR}/{DASHBOARD_FILE}\" \
         download=\"{DASHBOARD_FILE}\">Download the Grafana dashboard</a> \
         (<code>{DASHBOARD_FILE}</code>, {size_kib:.0} KiB: {panels} panels, one per recipe, \
         uid <code>{uid}</code>)</p>",
        panels = recipes::CATALOG.len(),
        uid = dashboard::UID,
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use mdbook_preprocessor::book::{BookItem, Chapter};
    use mdbook_preprocessor::config::Config;

    fn expand_ok(content: &str, chapter: &str) -> String {
        expand(content, Path::new(chapter)).unwrap_or_else(|e| panic!("{e:?}"))
    }

    /// Rows of a Markdown table in `text` (lines starting with `|`).
    fn rows(text: &str) -> Vec<&str> {
        text.lines().filter(|l| l.starts_with('|')).collect()
    }

    /// Every row has as many cells as the header (unescaped `|`s).
    fn assert_rectangular(rows: &[&str]) {
        let cells = |row: &str| row.replace("\\|", "").matches('|').count();
        assert!(rows.iter().all(|r| cells(r) == cells(rows[0])), "{rows:#?}");
    }

    #[test]
    fn text_without_directives_is_unchanged() {
        let text = "# Title\n\nSome {{#include x.md}} and `{{#nixlish}}`.\nno newline at end";
        assert_eq!(expand_ok(text, "a.md"), text);
    }

    #[test]
    fn field_reference_lists_every_field_with_links() {
        let out = expand_ok(
            "# Fields\n\n{{#nixl field-reference}}\n\nAfter.\n",
            "introduction.md",
        );
        let rows = rows(&out);
        assert_eq!(rows.len(), 2 + Field::ALL.len());
        for (row, field) in rows[2..].iter().zip(Field::ALL) {
            assert!(
                row.starts_with(&format!(
                    "| [`{}`](fields.md#{}) |",
                    field.name(),
                    field.anchor()
                )),
                "{row}"
            );
            assert!(row.contains(field.formula()), "{row}");
        }
        assert_rectangular(&rows);
        assert!(rows[2].ends_with("| F1 (vLLM 0.11.0) |"), "{}", rows[2]);
        assert!(
            rows[3].ends_with("| F2–F6 (vLLM ≥ 0.11.1) |"),
            "{}",
            rows[3]
        );
        assert!(out.contains("\n\nAfter.\n"));
        assert!(
            out.starts_with(
                "# Fields\n\n\n<div class=\"nixl-table nixl-field-reference\">\n\n| Field |"
            ),
            "{out}"
        );
    }

    #[test]
    fn links_are_relative_to_nested_chapters() {
        let out = expand_ok("{{#nixl field-reference}}\n", "reference/glossary.md");
        assert!(out.contains("](../fields.md#throughput-mbs)"));
        let out = expand_ok("{{#nixl figure pipeline}}\n", "reference/glossary.md");
        assert!(out.contains("src=\"../generated/pipeline.svg\""), "{out}");
    }

    #[test]
    fn release_families_has_one_column_per_family() {
        let table = release_families("");
        assert!(table.starts_with(
            "<div class=\"nixl-table nixl-release-families\">\n\n| Family | F1 | F2 |"
        ));
        assert!(table.ends_with("|\n\n</div>"));
        let rows = rows(&table);
        assert_eq!(rows.len(), 2 + 8);
        assert_rectangular(&rows);
        let row = |label: &str| {
            *rows
                .iter()
                .find(|r| r.starts_with(&format!("| {label} |")))
                .unwrap_or_else(|| panic!("no row {label}: {rows:#?}"))
        };
        assert_eq!(
            row("vLLM releases"),
            "| vLLM releases | 0.11.0 | 0.11.1 – 0.11.2 | 0.12.0 – 0.14.x | 0.15.0 – 0.30.x \
             | 0.31.x | 0.32.0 – 0.34.0 and newer |"
        );
        assert_eq!(
            row("Fields on the line"),
            "| Fields on the line | 1 | 8 | 8 | 8 | 10 | 11 |"
        );
        let change = row("Change from the previous family");
        assert!(
            change.contains("| (the first) | 8 fields replace [`num_successful_transfers`]"),
            "{change}"
        );
        assert!(change.contains("| same fields as F2 | same fields as F3 | adds [`Num failed transfers`](fields.md#num-failed-transfers), [`Num KV expired reqs`]"), "{change}");
        assert_eq!(
            row("Averages rounded by"),
            "| Averages rounded by | — | numpy | numpy | numpy | Python | Python |"
        );
        assert_eq!(
            row("P90s rounded by"),
            "| P90s rounded by | — | numpy | Python | Python | Python | Python |"
        );
        assert_eq!(
            row("Stats holding only failures"),
            "| Stats holding only failures | — | held back until a success | held back until a success \
             | shipped and logged | shipped and logged | shipped and logged |"
        );
        assert_eq!(
            row("Failure list entry"),
            "| Failure list entry | — | `1.0` (float) | `1.0` (float) | `1` (int) | `1` (int) | `1` (int) |"
        );
    }

    #[test]
    fn figure_becomes_an_img_of_the_generated_svg() {
        let out = expand_ok(
            "Text.\n{{#nixl figure p90-vs-tp}}\nMore.\n",
            "throughput.md",
        );
        assert!(
            out.contains("<img src=\"generated/p90-vs-tp.svg\""),
            "{out}"
        );
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

    #[test]
    fn escaped_directives_stay_literal() {
        let out = expand_ok(
            "Write `\\{{#nixl figure NAME}}` to insert a figure.\n",
            "a.md",
        );
        assert_eq!(out, "Write `{{#nixl figure NAME}}` to insert a figure.\n");
    }

    #[test]
    fn bad_directives_name_the_line() {
        let text = "ok\n{{#nixl field-refrence}}\n{{#nixl figure nope}}\nsee {{#nixl field-reference}}\n{{#nixl figure pipeline\n";
        let errors = expand(text, Path::new("a.md")).unwrap_err();
        let lines: Vec<usize> = errors.iter().map(|e| e.line).collect();
        assert_eq!(lines, [2, 3, 4, 5], "{errors:#?}");
        assert!(
            errors[0]
                .message
                .contains("unknown directive `{{#nixl field-refrence}}`")
        );
        assert!(
            errors[1]
                .message
                .contains("unknown figure `nope`; known figures: pipeline, p90-vs-tp")
        );
        assert!(errors[2].message.contains("must stand alone on its line"));
        assert!(errors[3].message.contains("unterminated"));
    }

    #[test]
    fn prometheus_metrics_has_a_row_per_metric_linked_to_its_section() {
        let out = expand_ok("{{#nixl prometheus-metrics}}\n", "prometheus.md");
        let rows = rows(&out);
        assert_eq!(rows.len(), 2 + 8);
        assert_rectangular(&rows);
        let row = |name: &str| {
            *rows
                .iter()
                .find(|r| {
                    r.starts_with(&format!("| [<code>{}</code>]", name.replace('_', "_<wbr>")))
                })
                .unwrap_or_else(|| panic!("no row {name}: {rows:#?}"))
        };
        assert_eq!(
            row("vllm:nixl_xfer_time_seconds"),
            "| [<code>vllm:nixl_<wbr>xfer_<wbr>time_<wbr>seconds</code>](prometheus.md#vllm-nixl-xfer-time-seconds) \
             | histogram: `_bucket`, `_count`, `_sum`; labels `model_name`, `engine`, and `le` on `_bucket` \
             | pull: decode<br>push: prefill | vLLM 0.11.1 \
             | “Histogram of transfer duration for NIXL KV Cache transfers.” |"
        );
        let failed = row("vllm:nixl_num_failed_transfers");
        assert!(
            failed.contains(
                "| counter: `_total`; labels `model_name`, `engine` | pull: decode<br>push: prefill \
                 (0.11.1 ≤ vLLM < 0.31.0), then prefill and decode (vLLM ≥ 0.31.0) | vLLM 0.11.1 \
                 | 0.11.1 ≤ vLLM < 0.31.0: “Number of failed NIXL KV Cache transfers.”<br>\
                 vLLM ≥ 0.31.0: “Number of failed NIXL KV Cache transfers, including handshake"
            ),
            "{failed}"
        );
        assert!(
            row("vllm:nixl_num_kv_expired_reqs")
                .contains("| pull: prefill<br>push: prefill | vLLM 0.15.0 |")
        );
        assert!(
            row("vllm:nixl_num_notifications_after_expiry")
                .contains("| pull: prefill<br>push: prefill | vLLM 0.32.0 |")
        );
        let nested = expand_ok("{{#nixl prometheus-metrics}}\n", "reference/glossary.md");
        assert!(nested.contains("](../prometheus.md#vllm-nixl-num-descriptors)"));
    }

    #[test]
    fn metric_anchors_are_the_pinned_section_ids() {
        let anchors: Vec<String> = metrics::of(newest())
            .iter()
            .map(|m| metric_anchor(m.name))
            .collect();
        assert_eq!(
            anchors,
            [
                "vllm-nixl-xfer-time-seconds",
                "vllm-nixl-post-time-seconds",
                "vllm-nixl-bytes-transferred",
                "vllm-nixl-num-descriptors",
                "vllm-nixl-num-failed-transfers",
                "vllm-nixl-num-failed-notifications",
                "vllm-nixl-num-kv-expired-reqs",
                "vllm-nixl-num-notifications-after-expiry",
            ]
        );
    }

    #[test]
    fn buckets_list_every_bound_with_units() {
        let xfer = expand_ok(
            "{{#nixl prometheus-buckets vllm:nixl_xfer_time_seconds}}\n",
            "prometheus.md",
        );
        assert!(
            xfer.contains("12 finite buckets, then `+Inf`; observed in seconds."),
            "{xfer}"
        );
        let xfer_rows = rows(&xfer);
        assert_eq!(xfer_rows.len(), 2 + 12 + 1);
        assert_rectangular(&xfer_rows);
        assert_eq!(xfer_rows[2], "| `0.005` | 0.005 s = 5 ms | (0, 5 ms] |");
        assert_eq!(
            xfer_rows[6],
            "| `0.075` | 0.075 s = 75 ms | (50 ms, 75 ms] |"
        );
        assert_eq!(xfer_rows[13], "| `5.0` | 5 s = 5000 ms | (1 s, 5 s] |");
        assert_eq!(
            xfer_rows[14],
            "| `+Inf` | none | above 5 s: a quantile that falls here is reported as 5 s |"
        );

        let bytes = prometheus_buckets(
            metrics::find(newest(), metrics::BYTES_TRANSFERRED).unwrap(),
            false,
        );
        let bytes_rows = rows(&bytes);
        assert_eq!(bytes_rows[2], "| `2048.0` | 2,048 B = 2 KiB | (0, 2 KiB] |");
        assert_eq!(
            bytes_rows[7],
            "| `2.097152e+06` | 2,097,152 B = 2 MiB | (512 KiB, 2 MiB] |"
        );
        assert_eq!(
            bytes_rows[13],
            "| `8.589934592e+09` | 8,589,934,592 B = 8 GiB | (2 GiB, 8 GiB] |"
        );
        let descriptors = prometheus_buckets(
            metrics::find(newest(), metrics::NUM_DESCRIPTORS).unwrap(),
            false,
        );
        assert!(descriptors.contains("| `50000.0` | 50000 | (20000, 50000] |"));

        let all = expand_ok("{{#nixl prometheus-buckets}}\n", "prometheus.md");
        assert_eq!(
            all.matches("<div class=\"nixl-table nixl-prometheus-buckets\">")
                .count(),
            4
        );
        assert!(all.contains("**`vllm:nixl_post_time_seconds`**: 13 finite buckets"));

        let errors = expand(
            "{{#nixl prometheus-buckets vllm:nixl_num_failed_transfers}}\n",
            Path::new("a.md"),
        )
        .unwrap_err();
        assert!(
            errors[0].message.contains(
                "unknown histogram `vllm:nixl_num_failed_transfers`; known histograms: \
                 vllm:nixl_xfer_time_seconds, vllm:nixl_post_time_seconds, \
                 vllm:nixl_bytes_transferred, vllm:nixl_num_descriptors"
            ),
            "{errors:?}"
        );
    }

    #[test]
    fn promql_recipes_have_a_section_each_with_the_exact_query() {
        let out = expand_ok("{{#nixl promql-recipes}}\n", "prometheus.md");
        assert_eq!(out.matches("\n### ").count(), recipes::CATALOG.len());
        for recipe in recipes::CATALOG {
            assert!(
                out.contains(&format!("### {} {{ #recipe-{} }}", recipe.title, recipe.id)),
                "{}",
                recipe.id
            );
            let text = promql_text(recipe);
            assert!(out.contains(&format!("```promql\n{text}\n```")));
            // Only the line break differs from the query itself.
            assert_eq!(text.replace("\n  ", " "), recipe.promql());
            assert!(text.lines().all(|line| line.len() <= 80), "{text}");
            assert!(out.contains(recipe.does_not_answer));
        }
        assert!(out.contains(
            "Recipe `kv-expired-reqs-per-second`: events per second, from vLLM 0.15.0 on."
        ));
    }

    #[test]
    fn the_dashboard_link_points_at_the_written_dashboard() {
        assert_eq!(
            Path::new(dashboard::PATH).file_name().unwrap(),
            DASHBOARD_FILE
        );
        let out = expand_ok("{{#nixl grafana-dashboard}}\n", "reference/glossary.md");
        assert!(
            out.contains(
                "<a href=\"../generated/nixl-kv-transfer.json\" download=\"nixl-kv-transfer.json\">"
            ),
            "{out}"
        );
        assert!(out.contains("15 panels, one per recipe"), "{out}");

        let dir = std::env::temp_dir().join(format!("nixl-book-dashboard-{}", std::process::id()));
        write_dashboard(&dir).unwrap();
        let committed =
            std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join(dashboard::PATH))
                .unwrap();
        assert_eq!(
            std::fs::read_to_string(dir.join(DASHBOARD_FILE)).unwrap(),
            committed
        );
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn families_are_grouped_into_runs() {
        assert_eq!(
            families_cell(&[Family::F5, Family::F6]),
            "F5–F6 (vLLM ≥ 0.31.0)"
        );
        assert_eq!(families_cell(&[Family::F3]), "F3 (vLLM 0.12.0 – 0.14.x)");
        assert_eq!(
            families_cell(&[Family::F1, Family::F2, Family::F3, Family::F5]),
            "F1–F3 (0.11.0 ≤ vLLM < 0.15.0), F5 (vLLM 0.31.x)"
        );
    }

    #[test]
    fn run_expands_chapters_writes_figures_and_reports_the_chapter() {
        let root = std::env::temp_dir().join(format!("nixl-book-pre-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&root);
        let ctx = PreprocessorContext::new(root.clone(), Config::default(), "html".to_string());

        let mut book = Book::new();
        let mut parent = Chapter::new(
            "Reference",
            "{{#nixl release-families}}\n".into(),
            "reference.md",
            vec![],
        );
        parent.sub_items.push(BookItem::Chapter(Chapter::new(
            "Crate",
            "{{#nixl figure pipeline}}\n".into(),
            "reference/crate.md",
            vec!["Reference".into()],
        )));
        book.push_item(parent);
        let book = Nixl.run(&ctx, book).expect("expands");
        let contents: Vec<&str> = book.chapters().map(|c| c.content.as_str()).collect();
        assert!(contents.iter().any(|c| c.contains("| F6 |")));
        assert!(
            contents
                .iter()
                .any(|c| c.contains("src=\"../generated/pipeline.svg\""))
        );
        for figure in figures::ALL {
            assert!(
                root.join("src/generated")
                    .join(figures::file_name(figure))
                    .is_file()
            );
        }
        assert!(root.join("src/generated").join(DASHBOARD_FILE).is_file());

        let mut bad = Book::new();
        bad.push_item(Chapter::new(
            "Bad",
            "x\n{{#nixl tables}}\n".into(),
            "bad.md",
            vec![],
        ));
        let error = Nixl.run(&ctx, bad).unwrap_err().to_string();
        assert!(
            error.contains("src/bad.md:2: unknown directive `{{#nixl tables}}`"),
            "{error}"
        );
        std::fs::remove_dir_all(&root).unwrap();
    }
}
