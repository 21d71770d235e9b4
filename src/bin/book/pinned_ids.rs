//! After a build, the deep links checked where readers follow them: in the
//! HTML pages.
//!
//! `tests/it/anchors.rs` checks the Markdown sources, so `cargo test` (which
//! never compiles mdBook) catches a renamed section. This check closes the
//! remaining gap, the renderer itself: an id the sources spell right but
//! mdBook renders differently (a heading attribute it does not parse, an
//! `<a id>` it escapes) would pass the first check and break every link from
//! vLLM's docs. CI builds the book, so it runs there.

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::Path;

use mdbook_preprocessor::errors::{Error, Result};
use nixl_kv_metrics::deep_links::DEEP_LINKS;

/// Fails, naming every missing `page#id`, unless each pinned id (and each
/// older alias) is an `id` attribute of its page under `html_dir`.
pub fn check(html_dir: &Path) -> Result<()> {
    let mut missing = Vec::new();
    let mut pages = BTreeMap::new();
    for link in DEEP_LINKS {
        let page = link.page();
        if !pages.contains_key(&page) {
            let path = html_dir.join(&page);
            let html = fs::read_to_string(&path)
                .map_err(|e| Error::new(e).context(format!("cannot read {}", path.display())))?;
            pages.insert(page.clone(), ids(&html));
        }
        let ids = &pages[&page];
        for id in std::iter::once(link.id).chain(link.alias) {
            if !ids.contains(id) {
                missing.push(format!("{page}#{id}"));
            }
        }
    }
    if missing.is_empty() {
        Ok(())
    } else {
        Err(Error::msg(format!(
            "{} pinned deep link(s) missing from the built HTML: {}",
            missing.len(),
            missing.join(", ")
        )))
    }
}

/// The values of every `id="..."` attribute in a page. mdBook writes
/// attributes with double quotes, and ids never contain one.
fn ids(html: &str) -> BTreeSet<String> {
    html.split(" id=\"")
        .skip(1)
        .filter_map(|rest| rest.split_once('"').map(|(id, _)| id.to_string()))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::ids;

    #[test]
    fn ids_are_read_from_attributes_only() {
        let html = r##"<h2 id="grafana-p90"><a class="header" href="#grafana-p90">x</a></h2>
<a id="q7"></a><p>id="not-an-attribute"</p>"##;
        let found: Vec<String> = ids(html).into_iter().collect();
        assert_eq!(found, ["grafana-p90", "q7"]);
    }
}
