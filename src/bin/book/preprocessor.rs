//! The `nixl` preprocessor: replaces `{{#nixl …}}` directives in chapters with
//! Markdown generated from this crate, so reference tables cannot drift from
//! the code.
//!
//! | directive | becomes |
//! |---|---|
//! | `{{#nixl field-reference}}` | a table of every field of the log line ([`Field::ALL`]) |
//! | `{{#nixl release-families}}` | a table of the release families ([`Family::ALL`]) |
//! | `{{#nixl figure NAME}}` | an `<img>` of a figure from [`figures::ALL`] |
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
use nixl_kv_metrics::release::{FailureMark, Family, Rounding};

use crate::figures::{self, Figure};
use crate::svg::{escape, num};

/// The preprocessor's name: the `[preprocessor.nixl]` table of book.toml.
pub const NAME: &str = "nixl";

/// Where figures are written, relative to the book's `src` directory
/// (git-ignored; mdBook copies it into the output like any static file).
pub const GENERATED_DIR: &str = "generated";

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
        Ok(book)
    }
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
        ["figure", name] => match figures::find(name) {
            Some(figure) => Ok(figure_html(figure, root)),
            None => Err(format!(
                "unknown figure `{name}`; known figures: {}",
                figures::ALL
                    .iter()
                    .map(|f| f.name)
                    .collect::<Vec<_>>()
                    .join(", ")
            )),
        },
        _ => Err(format!(
            "unknown directive `{OPEN}{inner}{CLOSE}`; known: `{OPEN} field-reference{CLOSE}`, \
             `{OPEN} release-families{CLOSE}`, `{OPEN} figure NAME{CLOSE}` (NAME one of: {})",
            figures::ALL
                .iter()
                .map(|f| f.name)
                .collect::<Vec<_>>()
                .join(", ")
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
    let newest = Family::ALL[Family::ALL.len() - 1];
    runs.iter()
        .map(|&(first, last)| {
            let names = if first == last {
                first.to_string()
            } else {
                format!("{first}–{last}")
            };
            let releases = if last == newest {
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
            };
            format!("{names} ({releases})")
        })
        .collect::<Vec<_>>()
        .join(", ")
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
             | 0.31.x | 0.32.0 – 0.33.0 and newer |"
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
