//! The `nixl` preprocessor: replaces `{{#nixl …}}` directives in chapters with
//! Markdown generated from this crate, so reference tables cannot drift from
//! the code.
//!
//! - this module speaks mdBook's protocol: it finds the directives in each
//!   chapter, replaces them, and writes the files they link to (figures,
//!   the Grafana dashboard, the alert rules) into [`GENERATED_DIR`];
//! - [`directive`]: what a directive can be, parsed once into a
//!   [`Directive`]; the table of every directive and what it becomes is
//!   generated on [`directive::Kind`];
//! - [`releases`]: the tables of fields and release families;
//! - [`prometheus`]: the tables of metrics and buckets, the PromQL recipes,
//!   the dashboard, the alerts;
//! - [`deep_links`]: the table of the book's pinned sections and their URLs;
//! - [`markdown`]: table cells and code in the generated Markdown.
//!
//! Each directive must stand alone on its line. As with mdBook's own
//! `{{#include}}`, a backslash (`\{{#nixl …}}`) prints the directive
//! literally. Anything else after `{{#nixl ` is an error that names the
//! chapter and line, and fails the build.

mod deep_links;
mod directive;
mod markdown;
mod prometheus;
mod releases;

use std::path::Path;

use mdbook_preprocessor::book::Book;
use mdbook_preprocessor::errors::{Error, Result};
use mdbook_preprocessor::{Preprocessor, PreprocessorContext};

use crate::figures;
use directive::{CLOSE, Directive, OPEN};

/// The preprocessor's name: the `[preprocessor.nixl]` table of book.toml.
pub const NAME: &str = "nixl";

/// Where figures and the dashboard are written, relative to the book's `src`
/// directory (git-ignored; mdBook copies it into the output like any static
/// file).
pub const GENERATED_DIR: &str = "generated";

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
        prometheus::write_downloads(&dir).map_err(|e| {
            Error::new(e).context(format!(
                "cannot write the dashboard and alert rules into {}",
                dir.display()
            ))
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
        match Directive::parse(inner) {
            Ok(directive) => {
                // Blank lines around the block, so it never merges with a
                // neighbouring paragraph.
                out.push('\n');
                out.push_str(&directive.render(&root));
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

/// `../` once per directory between the chapter and the book's root.
fn path_to_root(chapter: &Path) -> String {
    "../".repeat(chapter.components().count().saturating_sub(1))
}

#[cfg(test)]
fn expand_ok(content: &str, chapter: &str) -> String {
    expand(content, Path::new(chapter)).unwrap_or_else(|e| panic!("{e:?}"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use mdbook_preprocessor::book::{BookItem, Chapter};
    use mdbook_preprocessor::config::Config;

    #[test]
    fn text_without_directives_is_unchanged() {
        let text = "# Title\n\nSome {{#include x.md}} and `{{#nixlish}}`.\nno newline at end";
        assert_eq!(expand_ok(text, "a.md"), text);
    }

    #[test]
    fn a_directive_becomes_a_block_between_blank_lines() {
        let out = expand_ok(
            "# Fields\n\n{{#nixl field-reference}}\n\nAfter.\n",
            "introduction.md",
        );
        assert!(
            out.starts_with(
                "# Fields\n\n\n<div class=\"nixl-table nixl-cards nixl-field-reference\">\n\n| Field |"
            ),
            "{out}"
        );
        assert!(out.ends_with("</div>\n\n\nAfter.\n"), "{out}");
    }

    #[test]
    fn links_are_relative_to_nested_chapters() {
        let out = expand_ok("{{#nixl field-reference}}\n", "reference/glossary.md");
        assert!(out.contains("](../fields.md#throughput-mbs)"));
        let out = expand_ok("{{#nixl figure pipeline}}\n", "reference/glossary.md");
        assert!(out.contains("src=\"../generated/pipeline.svg\""), "{out}");
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
        let generated = root.join("src").join(GENERATED_DIR);
        for figure in figures::ALL {
            for theme in crate::svg::Theme::ALL {
                assert!(generated.join(figures::file_name(figure, theme)).is_file());
            }
        }
        assert!(generated.join(prometheus::DASHBOARD_FILE).is_file());
        assert!(generated.join(prometheus::ALERT_RULES_FILE).is_file());

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
