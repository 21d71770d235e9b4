//! Builds the book: `cargo book` (an alias for
//! `cargo run --quiet --features book --bin book --`) writes
//! `target/book/index.html`, with no `cargo install mdbook`, then fails if a
//! pinned deep link is missing from the HTML ([`pinned_ids`]).
//!
//! ```text
//! book [build]                      build the book in-process
//! book preprocess                   mdBook preprocessor protocol: [context, book] JSON on stdin
//! book preprocess supports RENDERER exit status 0: every renderer is supported
//! ```
//!
//! The `preprocess` form lets an installed `mdbook build` or `mdbook serve`
//! run the same preprocessor through the `command` of `[preprocessor.nixl]` in
//! book.toml. In-process, [`MDBook::with_preprocessor`] replaces that command
//! by the same code, keeping its place in the order (after `links`).

mod figures;
mod pinned_ids;
mod preprocessor;
mod svg;

use std::io::{self, IsTerminal};
use std::path::Path;
use std::process::ExitCode;

use mdbook_driver::MDBook;
use mdbook_driver::config::HtmlConfig;
use mdbook_preprocessor::errors::{Error, Result};
use mdbook_preprocessor::{MDBOOK_VERSION, Preprocessor};

use crate::preprocessor::Nixl;

const USAGE: &str = "usage: book [build] | book preprocess [supports RENDERER]";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let result = match args.as_slice() {
        [] | ["build"] => build(),
        // mdBook first asks whether a renderer is supported (exit status 0: yes) ...
        ["preprocess", "supports", renderer] => match Nixl.supports_renderer(renderer) {
            Ok(true) => Ok(()),
            Ok(false) => return ExitCode::FAILURE,
            Err(error) => Err(error),
        },
        // ... then pipes `[context, book]` as JSON and reads the book back.
        ["preprocess"] => preprocess(),
        ["-h" | "--help" | "help"] => {
            println!("{USAGE}");
            Ok(())
        }
        _ => Err(Error::msg(format!(
            "unexpected arguments {args:?}\n{USAGE}"
        ))),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("error: {error}");
            for cause in error.chain().skip(1) {
                eprintln!("  caused by: {cause}");
            }
            ExitCode::FAILURE
        }
    }
}

/// Builds the book into `build-dir` (target/book).
fn build() -> Result<()> {
    // mdBook reports through `tracing` (progress at INFO, problems such as an
    // unreadable [output.html] or a broken link only at WARN/ERROR); show them
    // as the `mdbook` CLI would. RUST_LOG overrides the level.
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(io::stderr)
        .with_ansi(io::stderr().is_terminal())
        .without_time()
        .with_target(false)
        .init();

    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut book = MDBook::load(root).map_err(|e| {
        e.context(format!(
            "cannot load the book at {}",
            root.join("book.toml").display()
        ))
    })?;
    // mdBook 0.5 only logs an [output.html] table it cannot read (an unknown or
    // misspelt key) and then renders with the defaults, silently dropping the
    // whole table. Make that a hard error.
    book.config
        .get::<HtmlConfig>("output.html")
        .map_err(|e| e.context("book.toml: invalid [output.html] table"))?;
    book.with_preprocessor(Nixl);
    book.build()?;
    let html_dir = book.build_dir_for("html");
    pinned_ids::check(&html_dir)?;
    println!("book written to {}", html_dir.join("index.html").display());
    Ok(())
}

/// Speaks mdBook's preprocessor protocol on stdin and stdout.
fn preprocess() -> Result<()> {
    let (ctx, book) = mdbook_preprocessor::parse_input(io::stdin())?;
    if ctx.mdbook_version != MDBOOK_VERSION {
        eprintln!(
            "warning: the `{}` preprocessor was built against mdBook {MDBOOK_VERSION}, \
             but is called by mdBook {}",
            preprocessor::NAME,
            ctx.mdbook_version
        );
    }
    let book = Nixl.run(&ctx, book)?;
    serde_json::to_writer(io::stdout().lock(), &book)
        .map_err(|e| Error::new(e).context("cannot write the book to stdout"))?;
    Ok(())
}
