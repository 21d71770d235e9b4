//! The tables of the log line's fields and of the release families, and the
//! words for runs of releases that the other tables share.

use std::fmt::Write as _;

use nixl_kv_metrics::field::Field;
use nixl_kv_metrics::release::{FailureMark, Family, Rounding};
use nixl_kv_metrics::topology::{Backend, KvRegistration};

use super::markdown::{card_table, cell, code, styled_table};

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
pub fn releases_cell(first: Family, last: Family) -> String {
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
pub fn newest() -> Family {
    Family::ALL[Family::ALL.len() - 1]
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
    card_table("field-reference", &out)
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
    row("vLLM releases", &|f| f.releases().to_string());
    row("Fields on the line", &|f| f.fields().len().to_string());
    row("Change from the previous family", &|f| {
        let index = families.iter().position(|g| *g == f).expect("in ALL");
        changes(index.checked_sub(1).map(|i| families[i]), f, root)
    });
    row("`is_empty()` is true when", &|f| empty_when(f).to_string());
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
    // The fields of `a`'s line that `b`'s lacks.
    let missing = |a: Family, b: Family| -> Vec<Field> {
        let (a, b) = (a.fields(), b.fields());
        a.iter().copied().filter(|f| !b.contains(f)).collect()
    };
    let (added, removed) = (missing(family, previous), missing(previous, family));
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

/// In words, when a family's `is_empty()` is true: what a worker holds back
/// (see the `is_empty` of [`NixlKvConnectorStats`](nixl_kv_metrics::stats::NixlKvConnectorStats)).
fn empty_when(family: Family) -> &'static str {
    match family {
        Family::F1 => "the counter is 0",
        Family::F2 | Family::F3 => "no successful transfers (failures are ignored)",
        Family::F4 => "no successes, no failed transfers or notifications, no expiries",
        Family::F5 | Family::F6 => "every list is empty",
    }
}

/// The table behind `{{#nixl kv-registrations}}`: for each attention
/// backend, the runs of releases that register its KV cache alike, and the
/// descriptors a READ of `B` blocks in `R` runs reports over `L` layers.
pub fn kv_registrations() -> String {
    let mut out = String::from(
        "| Backend | vLLM | How the NIXL worker registers a layer | Descriptors of a READ |\n\
         |---|---|---|---|\n",
    );
    for backend in Backend::ALL {
        for (releases, registration) in KvRegistration::history(backend) {
            let (how, count) = match registration {
                Ok(KvRegistration::TwoRegions) => ("K and V as two regions", "2 × L × R"),
                Ok(KvRegistration::HalfBlocks) => (
                    "one region; each block as a K half and a V half",
                    "2 × L × B (L for one block with NIXL ≤ 1.3)",
                ),
                Ok(KvRegistration::WholeBlocks) => {
                    ("one region, K and V packed in each block", "L × R")
                }
                Err(_) => ("cannot register it", "–"),
            };
            let _ = writeln!(out, "| `{backend}` | {releases} | {how} | {count} |");
        }
    }
    out.push_str("| any MLA backend | every release | one latent region | L × R |\n");
    card_table("registrations", &out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::preprocessor::expand_ok;
    use crate::preprocessor::markdown::{assert_rectangular, rows};

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
            "| vLLM releases | 0.11.0 | 0.11.1 – 0.11.x | 0.12.0 – 0.14.x | 0.15.0 – 0.30.x \
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
    fn empty_when_says_what_is_empty_does() {
        for family in Family::ALL.into_iter().filter(|f| !f.events().is_empty()) {
            let ignores_failures = empty_when(family).contains("failures are ignored");
            assert_eq!(
                ignores_failures,
                !family.keeps_failure_only_stats(),
                "{family}"
            );
        }
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
}
