//! The JSON documents `nixl-kv-metrics reduce` reads: what the workers of an
//! engine shipped during one logging interval.
//!
//! Three shapes, from the simplest:
//!
//! * one stats dict: one worker, one step;
//! * a list of stats dicts: the workers of one engine step, in worker order,
//!   `null` for a worker that shipped nothing;
//! * `{"steps": [[…], …]}`: the steps of one interval, each a list as above.
//!
//! ```
//! use nixl_kv_metrics::input::Interval;
//! use nixl_kv_metrics::release::Family;
//!
//! let text = r#"{"steps": [[{"transfer_duration": [0.001], "post_duration": [0.0005],
//!                               "bytes_transferred": [1048576], "num_descriptors": [72]}, null]]}"#;
//! let interval = Interval::from_json(Family::F6, text.as_bytes())?;
//! assert_eq!(interval.steps.len(), 1);
//! assert!(interval.steps[0][1].is_none());
//! # Ok::<(), nixl_kv_metrics::input::InputError>(())
//! ```

use std::fmt;
use std::io::Read;

use crate::pipeline::{KvConnectorLogging, KvOutputAggregator};
use crate::reduce::Summary;
use crate::release::Family;
use crate::stats::NixlKvConnectorStats;

mod document;
mod lexer;
mod number;

/// What one engine's workers shipped over the steps of one logging interval.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Interval {
    /// Per engine step, per worker in worker order: the stats it shipped.
    pub steps: Vec<Vec<Option<NixlKvConnectorStats>>>,
}

impl Interval {
    /// Reads an interval in any of the three shapes from JSON text.
    ///
    /// ```
    /// use nixl_kv_metrics::input::Interval;
    /// use nixl_kv_metrics::release::Family;
    /// let interval = Interval::from_json(Family::F4, br#"[null, {}, null]"#)?;
    /// let workers = &interval.steps[0];
    /// assert_eq!(workers.len(), 3);
    /// assert!(workers[1].as_ref().is_some_and(|stats| stats.is_empty()));
    /// # Ok::<(), nixl_kv_metrics::input::InputError>(())
    /// ```
    pub fn from_json(family: Family, bytes: &[u8]) -> Result<Interval, InputError> {
        Interval::from_reader(family, bytes)
    }

    /// Reads an interval from a byte stream, in constant memory beyond the
    /// stats themselves.
    ///
    /// ```
    /// use nixl_kv_metrics::input::Interval;
    /// use nixl_kv_metrics::release::Family;
    ///
    /// let file = std::io::Cursor::new(r#"[{"num_successful_transfers": 2}, null]"#);
    /// let interval = Interval::from_reader(Family::F1, file)?;
    /// assert_eq!(interval.log(Family::F1).unwrap().to_string(),
    ///            "KV Transfer metrics: num_successful_transfers=2");
    /// # Ok::<(), nixl_kv_metrics::input::InputError>(())
    /// ```
    pub fn from_reader(family: Family, source: impl Read) -> Result<Interval, InputError> {
        let mut steps = Steps::default();
        document::read_document(family, source, &mut steps)?;
        Ok(Interval { steps: steps.steps })
    }

    /// Reads an interval from a byte stream and hands each step's pooled
    /// stats (as the [`KvOutputAggregator`] pools them) to `observe` as
    /// soon as the step ends; steps where no worker shipped anything are
    /// skipped, as vLLM skips them.
    ///
    /// Workers are pooled as they are read, so memory follows the number of
    /// observations, never the number of steps or workers: a million steps
    /// of one transfer each, or a step of ten million `null` workers, costs
    /// what their transfers cost.
    ///
    /// ```
    /// use nixl_kv_metrics::input::Interval;
    /// use nixl_kv_metrics::release::Family;
    ///
    /// let text = br#"{"steps": [[{"transfer_duration": [0.001], "post_duration": [0.0005],
    ///                               "bytes_transferred": [1048576], "num_descriptors": [72]}, {}],
    ///                              [null, null]]}"#;
    /// let mut pooled = Vec::new();
    /// Interval::observe_steps(Family::F6, &text[..], |stats| pooled.push(stats))?;
    /// assert_eq!(pooled.len(), 1);
    /// assert_eq!(pooled[0].num_successful_transfers(), 1);
    /// # Ok::<(), nixl_kv_metrics::input::InputError>(())
    /// ```
    pub fn observe_steps(
        family: Family,
        source: impl Read,
        observe: impl FnMut(NixlKvConnectorStats),
    ) -> Result<(), InputError> {
        let mut pool = Pool {
            step: None,
            observe,
        };
        document::read_document(family, source, &mut pool)
    }

    /// What [`Interval::log`] gives for the interval a byte stream holds,
    /// read through [`Interval::observe_steps`]: in memory that follows
    /// the number of observations.
    ///
    /// ```
    /// use nixl_kv_metrics::input::Interval;
    /// use nixl_kv_metrics::release::Family;
    ///
    /// let text = r#"[{"num_successful_transfers": 2}, null]"#;
    /// let line = Interval::log_stream(Family::F1, text.as_bytes())?.unwrap();
    /// assert_eq!(line.to_string(), "KV Transfer metrics: num_successful_transfers=2");
    /// # Ok::<(), nixl_kv_metrics::input::InputError>(())
    /// ```
    pub fn log_stream(family: Family, source: impl Read) -> Result<Option<Summary>, InputError> {
        let mut logging = KvConnectorLogging::new(family);
        Interval::observe_steps(family, source, |pooled| logging.observe(pooled))?;
        Ok(logging.log())
    }

    /// Runs the interval through vLLM's pipeline: each step's workers through
    /// the output aggregator, each step's pooled stats into the interval
    /// logger, then `log()`. `None` when vLLM would log nothing.
    ///
    /// ```
    /// use nixl_kv_metrics::input::Interval;
    /// use nixl_kv_metrics::release::Family;
    ///
    /// let idle = Interval::from_json(Family::F6, br#"{"steps": [[null, null]]}"#)?;
    /// assert_eq!(idle.log(Family::F6), None);
    /// # Ok::<(), nixl_kv_metrics::input::InputError>(())
    /// ```
    pub fn log(self, family: Family) -> Option<Summary> {
        let mut logging = KvConnectorLogging::new(family);
        for workers in self.steps {
            if let Some(pooled) = KvOutputAggregator::aggregate(workers) {
                logging.observe(pooled);
            }
        }
        logging.log()
    }
}

/// A document read whole: every step's workers, as [`Interval::steps`]
/// holds them.
#[derive(Default)]
struct Steps {
    steps: Vec<Vec<Option<NixlKvConnectorStats>>>,
    workers: Vec<Option<NixlKvConnectorStats>>,
}

impl document::Sink for Steps {
    fn worker(&mut self, stats: Option<NixlKvConnectorStats>) {
        self.workers.push(stats);
    }

    fn end_step(&mut self) {
        self.steps.push(std::mem::take(&mut self.workers));
    }
}

/// A document read step by step: each step's workers pooled as they come,
/// the pooled stats handed to `observe` at the step's end.
struct Pool<F> {
    step: Option<NixlKvConnectorStats>,
    observe: F,
}

impl<F: FnMut(NixlKvConnectorStats)> document::Sink for Pool<F> {
    fn worker(&mut self, stats: Option<NixlKvConnectorStats>) {
        self.step = KvOutputAggregator::aggregate([self.step.take(), stats]);
    }

    fn end_step(&mut self) {
        if let Some(pooled) = self.step.take() {
            (self.observe)(pooled);
        }
    }
}

/// Reads one stats dict (the `data` dict of one worker) from JSON text.
pub(crate) fn read_stats(family: Family, bytes: &[u8]) -> Result<NixlKvConnectorStats, InputError> {
    document::read_stats(family, bytes)
}

/// Input that is not JSON of the expected shape, or holds a bad value.
///
/// The message names the place in the document (`steps[1]: worker 0:
/// bytes_transferred[3]: …`), then the line and column, both from 1.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct InputError {
    message: String,
    line: usize,
    column: usize,
}

impl InputError {
    pub(crate) fn at(message: impl Into<String>, line: usize, column: usize) -> InputError {
        InputError {
            message: message.into(),
            line,
            column,
        }
    }

    /// The line (from 1) where the problem is.
    ///
    /// ```
    /// use nixl_kv_metrics::input::Interval;
    /// use nixl_kv_metrics::release::Family;
    /// let error = Interval::from_json(Family::F6, b"{\n  \"num_descriptors\": [-1]\n}").unwrap_err();
    /// assert_eq!((error.line(), error.column()), (2, 23));
    /// ```
    pub fn line(&self) -> usize {
        self.line
    }

    /// The column (from 1, in bytes) where the problem is (see
    /// [`InputError::line`] for an example).
    pub fn column(&self) -> usize {
        self.column
    }
}

impl fmt::Display for InputError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} at line {} column {}",
            self.message, self.line, self.column
        )
    }
}

impl std::error::Error for InputError {}

#[cfg(test)]
mod tests {
    use super::*;

    fn error(text: &str) -> String {
        Interval::from_json(Family::F6, text.as_bytes())
            .unwrap_err()
            .to_string()
    }

    #[test]
    fn errors_name_the_worker_and_step() {
        assert_eq!(
            error(r#"{"steps": [[null], [null, {"bytes_transferred": [-4]}]]}"#),
            "steps[1]: worker 1: bytes_transferred[0]: -4 is negative; a byte count is >= 0 at line 1 column 50"
        );
        assert_eq!(
            error(r#"[{}, {"num_descriptors": [1.5]}]"#),
            "[1]: num_descriptors[0]: 1.5 is not an integer; a descriptor count is a whole number at line 1 column 27"
        );
        assert!(error("").starts_with("the input is empty"));
        assert!(error("3").starts_with("expected a stats dict, a list of per-worker stats dicts"));
        assert!(error(r#"{"steps": [], "x": 1}"#).starts_with(r#"another key beside "steps""#));
        assert_eq!(
            error("{} {}"),
            "an object after the end of the document at line 1 column 4"
        );
        assert_eq!(
            error("[nul]"),
            r#"unexpected word "nul"; expected null at line 1 column 5"#
        );
        assert_eq!(
            error(r#"{"transfer_duration": [1,]}"#),
            "transfer_duration[1]: expected a number, found ']' at line 1 column 26"
        );
        assert_eq!(
            error("{\n\"post_duration\": [01]}"),
            r#""01" is not a JSON number at line 2 column 19"#
        );
    }

    #[test]
    fn long_tokens_are_refused_short() {
        let digits = "7".repeat(1 << 20);
        for (text, start) in [
            (
                format!(r#"{{"bytes_transferred": [{digits}]}}"#),
                "a number of more than 4301",
            ),
            (
                format!(r#"{{"{digits}": []}}"#),
                "a string of more than 128 bytes",
            ),
            (format!("[n{}]", "u".repeat(1 << 20)), "unexpected word"),
            (
                format!(r#"{{"transfer_duration": [1e{digits}]}}"#),
                "a number of more than 4301",
            ),
        ] {
            let message = error(&text);
            assert!(message.starts_with(start), "{message}");
            assert!(message.len() < 200, "{message}");
        }
        // Within the limit, a long number is read: as large, or as 0.
        let zeros = format!(
            r#"{{"transfer_duration": [0.{}1], "post_duration": [0],
                 "bytes_transferred": [0], "num_descriptors": [0]}}"#,
            "0".repeat(4000)
        );
        assert!(Interval::from_json(Family::F6, zeros.as_bytes()).is_ok());
    }

    #[test]
    fn three_shapes() {
        let one = Interval::from_json(Family::F6, b"{}").unwrap();
        assert_eq!(one.steps.len(), 1);
        let list = Interval::from_json(Family::F6, b"[null, {}]").unwrap();
        assert_eq!(list.steps[0].len(), 2);
        let steps = Interval::from_json(Family::F6, br#"{"steps": [[], [null]]}"#).unwrap();
        assert_eq!(steps.steps.len(), 2);
    }
}
