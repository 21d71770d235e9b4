//! Messages on standard error: `nixl-kv-metrics: error: …`, `warning: …`,
//! `note: …`, one line each, written in one piece. A message that cannot be
//! written is dropped: there is nowhere left to report it, and a closed or
//! full standard error must not end a run that is otherwise going well
//! (`eprintln!` would panic there).

use std::fmt::Display;
use std::io::{self, Write};

/// Bad input, or output that failed: the run's one line before exit status 2.
pub fn error(message: impl Display) {
    say("error", message);
}

/// Something skipped, or doubtful; the run goes on.
pub fn warning(message: impl Display) {
    say("warning", message);
}

/// Something worth knowing that is not wrong.
pub fn note(message: impl Display) {
    say("note", message);
}

fn say(kind: &str, message: impl Display) {
    let line = format!("nixl-kv-metrics: {kind}: {message}\n");
    let _ = io::stderr().write_all(line.as_bytes());
}
