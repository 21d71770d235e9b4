//! Presentation: how this crate's results are written for people and tools.
//!
//! The rest of the crate computes and returns data (a line, a record, an
//! explanation, a run's totals); this module is the one place that turns
//! data into text, as ripgrep keeps printing apart from searching. The CLI
//! and the book's generator both print through it.
//!
//! * [`words`]: plurals and lists in running text, and short, escaped
//!   excerpts of input for messages;
//! * [`numbers`]: numbers with trailing zeros trimmed and thousands grouped.

pub mod numbers;
pub mod words;
