//! Links from the book and the README into this repository's `main` branch
//! (a fixture a chapter cites as its evidence, a script, a README section)
//! lead somewhere: the path exists in the checkout, and a `#fragment` on a
//! Markdown file is one of its headings as GitHub renders the id.

use std::path::{Path, PathBuf};

const REPO_MAIN: &[&str] = &[
    "https://github.com/nixl-kv-metrics/nixl-kv-metrics/tree/main/",
    "https://github.com/nixl-kv-metrics/nixl-kv-metrics/blob/main/",
];

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// The README and every Markdown file of the book's sources.
fn documents() -> Vec<PathBuf> {
    fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                walk(&path, out);
            } else if path.extension().is_some_and(|e| e == "md") {
                out.push(path);
            }
        }
    }
    let mut out = vec![root().join("README.md")];
    walk(&root().join("book/src"), &mut out);
    out
}

/// GitHub's id for a heading: lower case, spaces to `-`, and only
/// letters, digits, `-` and `_` kept.
fn github_slug(heading: &str) -> String {
    heading
        .trim()
        .to_lowercase()
        .chars()
        .filter_map(|c| match c {
            ' ' => Some('-'),
            c if c.is_alphanumeric() || c == '-' || c == '_' => Some(c),
            _ => None,
        })
        .collect()
}

#[test]
fn links_into_the_repository_lead_somewhere() {
    let mut broken = Vec::new();
    let mut seen = 0;
    for document in documents() {
        let text = std::fs::read_to_string(&document).unwrap();
        for prefix in REPO_MAIN {
            for (at, _) in text.match_indices(prefix) {
                let rest = &text[at + prefix.len()..];
                let end = rest
                    .find(|c: char| c == ')' || c == '>' || c.is_whitespace())
                    .unwrap_or(rest.len());
                let (path, fragment) = match rest[..end].split_once('#') {
                    Some((path, fragment)) => (path, Some(fragment)),
                    None => (&rest[..end], None),
                };
                seen += 1;
                let target = root().join(path.trim_end_matches('/'));
                let place = format!("{}: {prefix}{}", document.display(), &rest[..end]);
                if !target.exists() {
                    broken.push(format!("{place}: no such path"));
                } else if let Some(fragment) = fragment {
                    let headings = std::fs::read_to_string(&target).unwrap_or_default();
                    let found = headings
                        .lines()
                        .filter_map(|line| line.strip_prefix('#'))
                        .map(|line| github_slug(line.trim_start_matches('#')))
                        .any(|slug| slug == fragment);
                    if !found {
                        broken.push(format!("{place}: no heading with that id"));
                    }
                }
            }
        }
    }
    assert!(seen > 10, "only {seen} links found: is the prefix right?");
    assert!(broken.is_empty(), "{}", broken.join("\n"));
}

#[test]
fn github_slugs() {
    assert_eq!(github_slug(" Release coverage"), "release-coverage");
    assert_eq!(
        github_slug("The `kv-worker.jsonl` file"),
        "the-kv-workerjsonl-file"
    );
}
