//! A command line clap refused, or a request for help: `--help` and
//! `--version` printed through [`Output`] (so a failed write counts, as
//! for any output), and every usage error as one line.
//!
//! clap writes a usage error over several lines (the error, a tip, the
//! usage, a pointer to `--help`) and quotes the user's words as given.
//! Here it becomes the error and its tip on one line, with every word of
//! the user's shortened and escaped as an [`excerpt`] is:
//! `nixl-kv-metrics: error: invalid value 'x' for '--format <FORMAT>'
//! [possible values: json, csv]`.
//!
//! [`excerpt`]: nixl_kv_metrics::printer::words::excerpt

use std::io::IsTerminal;

use clap::error::{ContextKind, ContextValue, ErrorKind};
use nixl_kv_metrics::printer::words::{EXCERPT_CHARS, escaped};

use super::{Outcome, Output, Stop};

/// Prints the help or version clap was asked for, or gives its refusal
/// of the command line as one line.
pub fn refused(error: clap::Error, out: &Output) -> Outcome {
    match error.kind() {
        ErrorKind::DisplayHelp | ErrorKind::DisplayVersion => {
            let text = error.render();
            if std::io::stdout().is_terminal() && std::env::var_os("NO_COLOR").is_none() {
                out.text(text.ansi())
            } else {
                out.text(text)
            }
        }
        _ => Err(Stop::Failed(one_line(error))),
    }
}

/// The refusal in one line, without clap's `error: ` (the caller adds its
/// own prefix).
fn one_line(mut error: clap::Error) -> String {
    // A value refused by one of the value parsers (`flags`): its flag, and
    // the parser's own message.
    if error.kind() == ErrorKind::ValueValidation
        && let Some(ContextValue::String(flag)) = error.get(ContextKind::InvalidArg)
        && let Some(reason) = std::error::Error::source(&error)
    {
        let flag = flag.split(' ').next().unwrap_or(flag);
        return format!("{flag}: {reason}");
    }
    if error.kind() == ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand {
        return "no subcommand given: `nixl-kv-metrics --help` lists them".to_string();
    }
    let shortened: Vec<(ContextKind, ContextValue)> = error
        .context()
        .filter_map(|(kind, value)| {
            let value = match value {
                ContextValue::String(text) => ContextValue::String(short(text)),
                ContextValue::Strings(texts) => {
                    ContextValue::Strings(texts.iter().map(|text| short(text)).collect())
                }
                _ => return None,
            };
            Some((kind, value))
        })
        .collect();
    for (kind, value) in shortened {
        error.insert(kind, value);
    }
    let rendered = error.render().to_string();
    let kept: Vec<String> = rendered
        .split("\n\n")
        .map(str::trim)
        .filter(|part| {
            !part.is_empty() && !part.starts_with("Usage:") && !part.starts_with("For more")
        })
        .map(paragraph)
        .collect();
    let line = kept.join("; ");
    line.strip_prefix("error: ").unwrap_or(&line).to_string()
}

/// A paragraph of clap's message on one line: its first line, then the
/// indented lines below it, as a list after a `:`
/// (`cannot be used with: --prefill-tp <N>, --decode-tp <N>`).
fn paragraph(text: &str) -> String {
    let mut lines = text.lines().map(str::trim);
    let head = lines.next().unwrap_or_default();
    let rest: Vec<&str> = lines.collect();
    match (rest.is_empty(), head.ends_with(':')) {
        (true, _) => head.to_string(),
        (false, true) => format!("{head} {}", rest.join(", ")),
        (false, false) => format!("{head} {}", rest.join(" ")),
    }
}

/// A word of the command line as a message quotes it.
fn short(text: &str) -> String {
    escaped(text.as_bytes(), EXCERPT_CHARS)
}
