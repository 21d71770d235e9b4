//! Presentation: how this crate's results are written for people and tools.
//!
//! The rest of the crate computes and returns data (a line, a record, an
//! explanation, a run's totals); this module is the one place that turns
//! data into text, as ripgrep keeps printing apart from searching. The CLI
//! and the book's generator both print through it.
//!
//! * [`words`]: plurals, ordinals and lists in running text, and short,
//!   escaped excerpts of input for messages;
//! * [`numbers`]: numbers with trailing zeros trimmed, ratios, percentages,
//!   significant digits, thousands grouped;
//! * [`explanation`]: an explained KV line as text (`explain`);
//! * [`json`]: JSON with Python's `repr` digits for every float, and the
//!   one policy for `inf` and `nan`;
//! * [`line`](mod@line): vLLM's line as JSON (`reduce --format json`);
//! * [`plan`]: a deployment's expected transfers and line, as text or JSON
//!   (`plan`);
//! * [`record`]: a KV line read from a log, as JSON or CSV (`parse`);
//! * [`run`]: a run of KV lines summarized, as text or JSON (`summarize`).

pub mod explanation;
pub mod json;
pub mod line;
pub mod numbers;
pub mod plan;
pub mod record;
pub mod run;
pub mod words;
