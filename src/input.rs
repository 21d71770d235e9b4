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

use serde::Deserializer;
use serde::de::{self, DeserializeSeed, MapAccess, SeqAccess, Visitor};

use crate::data::{StatsSeed, read_stats_entries};
use crate::pipeline::{KvConnectorLogging, KvOutputAggregator};
use crate::reduce::Summary;
use crate::release::Family;
use crate::stats::NixlKvConnectorStats;

/// What one engine's workers shipped over the steps of one logging interval.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Interval {
    /// Per engine step, per worker in worker order: the stats it shipped.
    pub steps: Vec<Vec<Option<NixlKvConnectorStats>>>,
}

impl Interval {
    /// Reads an interval in any of the three shapes.
    pub fn from_json(family: Family, bytes: &[u8]) -> Result<Interval, InputError> {
        let mut deserializer = serde_json::Deserializer::from_slice(bytes);
        let interval = DocumentSeed(family)
            .deserialize(&mut deserializer)
            .and_then(|interval| deserializer.end().map(|()| interval))
            .map_err(InputError)?;
        Ok(interval)
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

/// Input that is not JSON of one of the three shapes, or holds a bad value.
///
/// The message names the place in the document (`steps[1][0]:
/// bytes_transferred[3]: …`) and the line and column.
#[derive(Debug)]
pub struct InputError(serde_json::Error);

impl fmt::Display for InputError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

impl std::error::Error for InputError {}

/// Prefixes an error with where in the document it happened.
fn located<E: de::Error>(place: impl fmt::Display) -> impl FnOnce(E) -> E {
    move |error| E::custom(format_args!("{place}: {error}"))
}

/// The whole document.
struct DocumentSeed(Family);

impl<'de> DeserializeSeed<'de> for DocumentSeed {
    type Value = Interval;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Interval, D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for DocumentSeed {
    type Value = Interval;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "a vLLM stats dict, a list of per-worker stats dicts, or {{\"steps\": [[...], ...]}}"
        )
    }

    fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<Interval, A::Error> {
        let workers = StepSeed {
            family: self.0,
            place: String::new(),
        }
        .visit_seq(seq)?;
        Ok(Interval {
            steps: vec![workers],
        })
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Interval, A::Error> {
        let Some(first) = map.next_key::<String>()? else {
            let stats = read_stats_entries(self.0, None, map)?;
            return Ok(Interval {
                steps: vec![vec![Some(stats)]],
            });
        };
        if first != "steps" {
            let stats = read_stats_entries(self.0, Some(first), map)?;
            return Ok(Interval {
                steps: vec![vec![Some(stats)]],
            });
        }
        let steps = map.next_value_seed(StepsSeed(self.0))?;
        if let Some(other) = map.next_key::<String>()? {
            return Err(de::Error::custom(format_args!(
                "key {other:?} beside \"steps\": the document is {{\"steps\": [...]}} alone"
            )));
        }
        Ok(Interval { steps })
    }
}

/// `[[…], …]`: the steps of an interval.
struct StepsSeed(Family);

impl<'de> DeserializeSeed<'de> for StepsSeed {
    type Value = Vec<Vec<Option<NixlKvConnectorStats>>>;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Self::Value, D::Error> {
        deserializer.deserialize_seq(self)
    }
}

impl<'de> Visitor<'de> for StepsSeed {
    type Value = Vec<Vec<Option<NixlKvConnectorStats>>>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "a list of steps, each a list of per-worker stats dicts or nulls"
        )
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        let mut steps = Vec::new();
        loop {
            let place = format!("steps[{}]", steps.len());
            let seed = StepSeed {
                family: self.0,
                place: place.clone(),
            };
            match seq.next_element_seed(seed).map_err(located(&place))? {
                Some(workers) => steps.push(workers),
                None => return Ok(steps),
            }
        }
    }
}

/// `[dict | null, …]`: the workers of one step.
struct StepSeed {
    family: Family,
    /// Where the step is, for nested error messages (`steps[2]`, or empty).
    place: String,
}

impl<'de> DeserializeSeed<'de> for StepSeed {
    type Value = Vec<Option<NixlKvConnectorStats>>;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Self::Value, D::Error> {
        deserializer.deserialize_seq(self)
    }
}

impl<'de> Visitor<'de> for StepSeed {
    type Value = Vec<Option<NixlKvConnectorStats>>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "a list of per-worker stats dicts or nulls")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        let mut workers = Vec::new();
        loop {
            let index = workers.len();
            let worker = seq
                .next_element_seed(WorkerSeed(self.family))
                .map_err(|e| {
                    // The outer list adds its own place; name the worker here.
                    let place = if self.place.is_empty() {
                        format!("[{index}]")
                    } else {
                        format!("worker {index}")
                    };
                    de::Error::custom(format_args!("{place}: {e}"))
                })?;
            match worker {
                Some(stats) => workers.push(stats),
                None => return Ok(workers),
            }
        }
    }
}

/// One worker's entry: its stats dict, or `null`.
struct WorkerSeed(Family);

impl<'de> DeserializeSeed<'de> for WorkerSeed {
    type Value = Option<NixlKvConnectorStats>;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Self::Value, D::Error> {
        deserializer.deserialize_option(self)
    }
}

impl<'de> Visitor<'de> for WorkerSeed {
    type Value = Option<NixlKvConnectorStats>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "a stats dict, or null for a worker that shipped nothing")
    }

    fn visit_none<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(None)
    }

    fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(None)
    }

    fn visit_some<D: Deserializer<'de>>(self, deserializer: D) -> Result<Self::Value, D::Error> {
        StatsSeed(self.0).deserialize(deserializer).map(Some)
    }
}

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
            "steps[1]: worker 1: bytes_transferred[0]: -4 is negative; bytes are counted from 0 at line 1 column 51"
        );
        assert_eq!(
            error(r#"[{}, {"num_descriptors": [1.5]}]"#),
            "[1]: num_descriptors[0]: invalid type: floating point `1.5`, expected a descriptor count (an integer from 0 to 4294967295) at line 1 column 29"
        );
        assert!(error("").starts_with("EOF while parsing"));
        assert!(error("3").starts_with("invalid type: integer `3`, expected a vLLM stats dict"));
        assert!(error(r#"{"steps": [], "x": 1}"#).starts_with(r#"key "x" beside "steps""#));
        assert!(error("{} {}").starts_with("trailing characters"));
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
