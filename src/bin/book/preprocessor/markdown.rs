//! Pieces of the generated Markdown: table cells, inline code, and the
//! styled wrapper of a table.

use crate::svg::escape;

/// Text for a table cell: a `|` would end the cell.
pub fn cell(text: &str) -> String {
    text.replace('|', "\\|")
}

/// Inline code for a table cell.
pub fn code(text: &str) -> String {
    format!("`{}`", cell(text))
}

/// A name as inline HTML code that may wrap after its underscores
/// (`vllm:nixl_<wbr>xfer_<wbr>time_<wbr>seconds`), not in the middle of a word.
pub fn breakable_code(name: &str) -> String {
    format!("<code>{}</code>", escape(name).replace('_', "_<wbr>"))
}

/// Wraps a generated table in `<div class="nixl-table nixl-KIND">`, so that
/// book/theme/nixl.css can lay it out (mdBook's default cell padding and
/// automatic column widths would push five columns off the page).
pub fn styled_table(kind: &str, table: &str) -> String {
    format!("<div class=\"nixl-table nixl-{kind}\">\n\n{table}\n</div>")
}

/// [`styled_table`] for a table whose columns hold sentences: on a phone
/// its rows become labelled cards (`nixl-cards` in book/theme/nixl.css), as
/// no column widths fit it into a phone's width.
pub fn card_table(kind: &str, table: &str) -> String {
    format!("<div class=\"nixl-table nixl-cards nixl-{kind}\">\n\n{table}\n</div>")
}

/// Rows of a Markdown table in `text` (lines starting with `|`).
#[cfg(test)]
pub fn rows(text: &str) -> Vec<&str> {
    text.lines().filter(|l| l.starts_with('|')).collect()
}

/// Checks that every row has as many cells as the header (unescaped `|`s).
#[cfg(test)]
pub fn assert_rectangular(rows: &[&str]) {
    let cells = |row: &str| row.replace("\\|", "").matches('|').count();
    assert!(rows.iter().all(|r| cells(r) == cells(rows[0])), "{rows:#?}");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cells_escape_the_separator() {
        assert_eq!(cell("a | b"), "a \\| b");
        assert_eq!(code("line|json"), "`line\\|json`");
        assert_eq!(
            breakable_code("vllm:nixl_num_descriptors"),
            "<code>vllm:nixl_<wbr>num_<wbr>descriptors</code>"
        );
        assert_rectangular(&rows("| a | b \\| c |\n|---|---|\n| 1 | 2 |\nnot a row"));
    }
}
