//! Every ```` ```console ```` transcript of the book (`book/src/**/*.md`) and
//! of README.md, run against the built binary by trycmd.
//!
//! A transcript is what a user types after `$ ` and the exact output it
//! prints, standard output and error interleaved as in a terminal. A line
//! `? N` after a command is its exit status when that is not 0; `...` alone
//! on a line stands for lines left out, and `[..]` for the rest of a line.
//! A chapter's commands run in the directory of fixtures beside it
//! (`reading-logs.md`: `reading-logs.in/`), which holds the files they read;
//! `nixl-kv-metrics` is the binary under test, `cat` shows a fixture.
//!
//! After a change to the command line, `TRYCMD=overwrite cargo test
//! transcripts` writes the new output into the chapters; review the diff.

use std::path::{Path, PathBuf};

/// The Markdown files whose transcripts are checked: every chapter, and
/// the README.
fn markdown_files() -> Vec<PathBuf> {
    fn collect(dir: &Path, files: &mut Vec<PathBuf>) {
        for entry in std::fs::read_dir(dir).expect("a readable directory") {
            let path = entry.expect("a directory entry").path();
            if path.is_dir() {
                collect(&path, files);
            } else if path.extension().is_some_and(|e| e == "md") {
                files.push(path);
            }
        }
    }
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut files = vec![root.join("README.md")];
    collect(&root.join("book/src"), &mut files);
    files.sort();
    files
}

/// The 1-based lines of the console blocks in `text`. Panics, naming the
/// line, on a console block that trycmd would skip: one fenced with `~~~`
/// (trycmd reads backtick fences only) or marked `ignore`.
fn console_blocks(text: &str, file: &Path) -> Vec<usize> {
    let mut blocks = Vec::new();
    let mut fence: Option<&str> = None;
    for (index, line) in text.lines().enumerate() {
        let marker_len = line.len() - line.trim_start_matches(['`', '~']).len();
        let (marker, info) = line.split_at(marker_len);
        if let Some(open) = fence {
            if marker.starts_with(open) && info.trim().is_empty() {
                fence = None;
            }
            continue;
        }
        if marker.len() < 3 {
            continue;
        }
        fence = Some(marker);
        let language = info.trim().split(',').next().unwrap_or_default();
        if language == "console" {
            let place = format!("{}:{}", file.display(), index + 1);
            assert!(
                marker.starts_with('`') && info.trim() == "console",
                "{place}: trycmd checks only ```console blocks (backticks, no attributes); \
                 this one would not be checked"
            );
            blocks.push(index + 1);
        }
    }
    blocks
}

/// The path of `program` on `PATH`.
fn on_path(program: &str) -> PathBuf {
    let path = std::env::var_os("PATH").expect("PATH is set");
    std::env::split_paths(&path)
        .map(|dir| dir.join(program))
        .find(|candidate| candidate.is_file())
        .unwrap_or_else(|| panic!("`{program}` is not on PATH"))
}

#[test]
fn console_blocks_are_the_binary_s_output() {
    let cases = trycmd::TestCases::new();
    cases
        .register_bin(
            "nixl-kv-metrics",
            Path::new(env!("CARGO_BIN_EXE_nixl-kv-metrics")),
        )
        .register_bin("cat", on_path("cat"));
    let mut blocks = 0;
    for file in markdown_files() {
        let text = std::fs::read_to_string(&file).expect("a readable chapter");
        let found = console_blocks(&text, &file).len();
        if found > 0 {
            cases.case(&file);
            blocks += found;
        }
    }
    // The reference alone has a transcript per subcommand: if none were
    // found, the scan is broken, not the book.
    assert!(blocks >= 10, "only {blocks} console blocks found");
    cases.run();
}
