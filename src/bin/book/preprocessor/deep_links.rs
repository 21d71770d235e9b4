//! The tables behind `{{#nixl deep-links}}`: every pinned section of the
//! book ([`DEEP_LINKS`]) with the URL it keeps, one table per target.

use std::fmt::Write as _;

use nixl_kv_metrics::deep_links::{DEEP_LINKS, Target};
use nixl_kv_metrics::prometheus::BOOK_URL;

use super::markdown::{breakable_code, cell, code};

/// The tables, linked from a chapter `root` (`../`s) below the book's root.
/// Each row's link text is the URL after [`BOOK_URL`], which the first line
/// names once; fields, metrics and alerts are names, set as code.
pub fn deep_links(root: &str) -> String {
    let mut out = format!("Every URL below follows `{BOOK_URL}`.\n");
    for target in Target::ALL {
        let chapter = target.chapter();
        let _ = write!(
            out,
            "\n**{}**\n\n| Section | URL |\n|---|---|\n",
            target.plural()
        );
        for link in DEEP_LINKS.iter().filter(|link| link.target == target) {
            let mut url = format!(
                "[{page}#{id}]({root}{chapter}#{id})",
                page = link.page(),
                id = link.id
            );
            if let Some(alias) = link.alias {
                let _ = write!(url, ", also [#{alias}]({root}{chapter}#{alias})");
            }
            let section = match target {
                Target::Field | Target::Alert => code(link.title),
                Target::Metric => breakable_code(link.title),
                Target::QuickAnswer | Target::Troubleshooting => cell(link.title),
            };
            let _ = writeln!(out, "| {section} | {url} |");
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::preprocessor::expand_ok;
    use crate::preprocessor::markdown::{assert_rectangular, rows};

    #[test]
    fn every_pinned_link_is_a_row_with_its_url() {
        let out = expand_ok("{{#nixl deep-links}}\n", "for-vllm-maintainers.md");
        let rows = rows(&out);
        assert_eq!(rows.len(), DEEP_LINKS.len() + 2 * Target::ALL.len());
        assert_rectangular(&rows[..2 + 11]);
        assert!(out.contains(
            "| `Num successful transfers` | [fields.html#num-successful-transfers]\
             (fields.md#num-successful-transfers) |"
        ));
        assert!(out.contains(
            "[quick-answers.html#grafana-p90](quick-answers.md#grafana-p90), \
             also [#q7](quick-answers.md#q7) |"
        ));
        let nested = expand_ok("{{#nixl deep-links}}\n", "reference/glossary.md");
        assert!(nested.contains("](../troubleshooting.md#no-kv-line) |"));
    }
}
