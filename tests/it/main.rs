//! The integration tests, one binary (as ripgrep's `tests/` is): the CLI run
//! as a user runs it, golden fixtures from real vLLM releases, the laws of
//! the stats model, the log reader, the deployment model, and PromQL checked
//! by a real promtool. `support` is what they share.

mod support;

mod alerts;
mod anchors;
mod cli;
mod explain;
mod golden;
mod golden_prometheus;
mod laws;
mod logs;
mod plan;
mod promtool;
mod realstack;
mod repo_links;
mod topology;
mod transcripts;
