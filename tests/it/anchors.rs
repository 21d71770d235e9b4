//! The book's deep links stay where other documents point: every entry of
//! `deep_links::DEEP_LINKS` (the fields, the metrics, the quick answers and
//! their old `#q1` ... `#q19` ids, the troubleshooting entries, the alerts)
//! is still in its chapter, and every section that should be pinned is.
//!
//! The check reads the Markdown sources as mdBook renders them: a heading
//! `## Title { #id }` gets the id `id`, an `<a id="...">` passes through as
//! HTML, and `{{#nixl alert-rules}}` becomes one `### Name { #id }` section
//! per alert, with the id `Alert::section_id` gives (the book's
//! preprocessor calls the same function). So no built HTML is needed, and
//! `cargo test`, which does not build the book, catches a renamed id.

use std::collections::BTreeSet;
use std::path::Path;

use nixl_kv_metrics::deep_links::{DEEP_LINKS, DeepLink, Target};
use nixl_kv_metrics::field::Field;
use nixl_kv_metrics::prometheus::{ALERTS, Alert, Metric};
use nixl_kv_metrics::release::Family;

/// A heading of a chapter: its level (the number of `#`), its text, and the
/// id of its `{ #id }` attribute if it has one.
#[derive(Debug)]
struct Heading {
    level: usize,
    title: String,
    id: Option<String>,
}

/// What a chapter's Markdown gives ids to, in order, outside code blocks.
#[derive(Debug)]
enum Item {
    Heading(Heading),
    /// `<a id="...">`: an id kept for an older link.
    Anchor(String),
    /// A `{{#nixl ...}}` directive alone on its line: its inside.
    Directive(String),
}

/// The items of `book/src/CHAPTER`, skipping fenced code blocks (whose
/// `# ` lines are hidden Rust, not headings).
fn items(chapter: &str) -> Vec<Item> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("book/src")
        .join(chapter);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let mut items = Vec::new();
    let mut fence: Option<String> = None;
    for line in text.lines() {
        let trimmed = line.trim_start();
        let marker: String = trimmed
            .chars()
            .take_while(|&c| c == '`' || c == '~')
            .collect();
        match &fence {
            Some(open) => {
                if marker.starts_with(open.as_str()) && trimmed[marker.len()..].trim().is_empty() {
                    fence = None;
                }
                continue;
            }
            None if marker.len() >= 3 => {
                fence = Some(marker);
                continue;
            }
            None => {}
        }
        if let Some(inner) = line
            .trim()
            .strip_prefix("{{#nixl ")
            .and_then(|rest| rest.strip_suffix("}}"))
        {
            items.push(Item::Directive(inner.trim().to_string()));
        }
        let level = line.chars().take_while(|&c| c == '#').count();
        if (1..=6).contains(&level) && line[level..].starts_with(' ') {
            items.push(Item::Heading(heading(level, line[level..].trim())));
        }
        let mut rest = line;
        while let Some(at) = rest.find("<a id=\"") {
            let after = &rest[at + "<a id=\"".len()..];
            let end = after.find('"').expect("a closed id attribute");
            items.push(Item::Anchor(after[..end].to_string()));
            rest = &after[end..];
        }
    }
    assert!(fence.is_none(), "{chapter}: a code block is never closed");
    items
}

/// A heading's text and `{ #id }`, as mdBook reads the attribute.
fn heading(level: usize, text: &str) -> Heading {
    match text.strip_suffix('}').and_then(|t| t.rsplit_once("{ #")) {
        Some((title, id)) => Heading {
            level,
            title: title.trim().to_string(),
            id: Some(id.trim().to_string()),
        },
        None => Heading {
            level,
            title: text.to_string(),
            id: None,
        },
    }
}

fn headings(items: &[Item]) -> impl Iterator<Item = &Heading> {
    items.iter().filter_map(|item| match item {
        Item::Heading(h) => Some(h),
        _ => None,
    })
}

fn pinned(target: Target) -> impl Iterator<Item = &'static DeepLink> {
    DEEP_LINKS.iter().filter(move |link| link.target == target)
}

/// Every id a chapter defines, by heading or anchor, and by the alert
/// sections its `{{#nixl alert-rules}}` generates.
fn ids(items: &[Item]) -> Vec<String> {
    items
        .iter()
        .flat_map(|item| match item {
            Item::Heading(h) => h.id.iter().cloned().collect(),
            Item::Anchor(id) => vec![id.clone()],
            Item::Directive(d) if d == "alert-rules" => {
                ALERTS.iter().map(Alert::section_id).collect()
            }
            Item::Directive(_) => Vec::new(),
        })
        .collect()
}

#[test]
fn every_pinned_id_is_in_its_chapter_once() {
    for link in DEEP_LINKS {
        let chapter = link.target.chapter();
        let items = items(chapter);
        let ids = ids(&items);
        for id in std::iter::once(link.id).chain(link.alias) {
            let count = ids.iter().filter(|defined| *defined == id).count();
            assert_eq!(
                count, 1,
                "{chapter}#{id}: defined {count} times, pinned once"
            );
        }
        match link.target {
            Target::Alert => {
                assert!(
                    items
                        .iter()
                        .any(|i| matches!(i, Item::Directive(d) if d == "alert-rules")),
                    "{chapter} no longer generates the alert sections"
                );
                let alert = ALERTS.iter().find(|a| a.section_id() == link.id);
                assert_eq!(alert.map(|a| a.name), Some(link.title), "{}", link.id);
            }
            _ => {
                let heading = headings(&items)
                    .find(|h| h.id.as_deref() == Some(link.id))
                    .unwrap_or_else(|| panic!("{chapter}#{}: no heading", link.id));
                assert_eq!(heading.title, link.title, "{chapter}#{}", link.id);
            }
        }
    }
}

#[test]
fn an_old_id_stands_right_before_the_heading_it_leads_to() {
    let items = items(Target::QuickAnswer.chapter());
    for link in pinned(Target::QuickAnswer) {
        let Some(alias) = link.alias else { continue };
        let at = items
            .iter()
            .position(|i| matches!(i, Item::Anchor(a) if a == alias))
            .unwrap_or_else(|| panic!("#{alias} is gone"));
        match items.get(at + 1) {
            Some(Item::Heading(h)) => assert_eq!(h.id.as_deref(), Some(link.id), "#{alias}"),
            next => panic!("#{alias} is followed by {next:?}, not its question"),
        }
    }
    let aliases: BTreeSet<&str> = DEEP_LINKS.iter().filter_map(|l| l.alias).collect();
    let first_ids: BTreeSet<String> = (1..=19).map(|n| format!("q{n}")).collect();
    assert_eq!(aliases, first_ids.iter().map(String::as_str).collect());
}

#[test]
fn every_field_metric_and_alert_is_pinned() {
    let fields: BTreeSet<&str> = Field::ALL.iter().map(|f| f.anchor()).collect();
    let pinned_fields: BTreeSet<&str> = pinned(Target::Field).map(|l| l.id).collect();
    assert_eq!(fields, pinned_fields);

    let metrics: Vec<&str> = Metric::of(*Family::ALL.last().expect("families"))
        .iter()
        .map(|m| m.name)
        .collect();
    let pinned_metrics: Vec<&str> = pinned(Target::Metric).map(|l| l.title).collect();
    assert_eq!(metrics, pinned_metrics);

    let alerts: Vec<&str> = ALERTS.iter().map(|a| a.name).collect();
    let pinned_alerts: Vec<&str> = pinned(Target::Alert).map(|l| l.title).collect();
    assert_eq!(alerts, pinned_alerts);
}

/// Every question of quick-answers.md and every entry of troubleshooting.md
/// is pinned, in the chapter's order: a new one cannot be forgotten.
#[test]
fn every_question_and_troubleshooting_entry_is_pinned_in_order() {
    for (target, level) in [(Target::QuickAnswer, 3), (Target::Troubleshooting, 2)] {
        let items = items(target.chapter());
        let in_chapter: Vec<(Option<&str>, &str)> = headings(&items)
            .filter(|h| h.level == level)
            .map(|h| (h.id.as_deref(), h.title.as_str()))
            .collect();
        let in_list: Vec<(Option<&str>, &str)> =
            pinned(target).map(|l| (Some(l.id), l.title)).collect();
        assert_eq!(in_chapter, in_list, "{}", target.chapter());
    }
}

#[test]
fn the_alerts_runbooks_are_pinned_troubleshooting_entries() {
    for alert in ALERTS {
        assert!(
            DeepLink::find(Target::Troubleshooting, alert.anchor).is_some(),
            "{} links to troubleshooting.html#{}, which is not pinned",
            alert.name,
            alert.anchor
        );
    }
}

#[test]
fn headings_and_anchors_are_read_as_mdbook_reads_them() {
    let h = heading(2, "No KV line at all { #no-kv-line }");
    assert_eq!(
        (h.title.as_str(), h.id.as_deref()),
        ("No KV line at all", Some("no-kv-line"))
    );
    assert_eq!(heading(3, "Plain").id, None);
    // The hidden lines of a Rust example are not headings.
    let fields = items("fields.md");
    assert!(headings(&fields).all(|h| !h.title.starts_with("use ")));
}
