//! Pooling the workers of one engine step.

use crate::stats::NixlKvConnectorStats;

/// vLLM's `KVOutputAggregator`: it pools what every worker of the engine
/// shipped in one step into one stats object, and tells the scheduler which
/// requests finished receiving.
///
/// The first worker (in worker order) that shipped anything becomes the
/// accumulator, and each later one is `aggregate`d into it: plain list
/// concatenation, so ranks cannot be told apart afterwards.
///
/// ```
/// use nixl_kv_metrics::pipeline::KvOutputAggregator;
/// use nixl_kv_metrics::release::Family;
/// use nixl_kv_metrics::stats::NixlKvConnectorStats;
///
/// let rank = |ms: f64| NixlKvConnectorStats::from_transfers(
///     Family::F6, vec![ms / 1e3], vec![0.0], vec![1 << 20], vec![72]);
/// let pooled = KvOutputAggregator::aggregate([None, Some(rank(2.0)), Some(rank(1.0))]).unwrap();
/// assert_eq!(pooled.transfer_duration(), &[0.002, 0.001]); // worker order
/// assert_eq!(KvOutputAggregator::aggregate([None, None]), None);
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KvOutputAggregator {
    expected: usize,
    /// Requests some worker reported finished, with how many reports are
    /// still missing, in first-report order.
    remaining: Vec<(String, usize)>,
}

impl KvOutputAggregator {
    /// An aggregator for an engine whose every request must be reported
    /// finished by `expected_finished_count` workers (vLLM passes the
    /// engine's worker count).
    pub fn new(expected_finished_count: usize) -> KvOutputAggregator {
        KvOutputAggregator {
            expected: expected_finished_count,
            remaining: Vec::new(),
        }
    }

    /// Pools one step's shipped stats, in worker order; `None` when no
    /// worker shipped anything.
    pub fn aggregate(
        shipped: impl IntoIterator<Item = Option<NixlKvConnectorStats>>,
    ) -> Option<NixlKvConnectorStats> {
        shipped
            .into_iter()
            .flatten()
            .reduce(|mut accumulator, other| {
                accumulator.aggregate(&other);
                accumulator
            })
    }

    /// One step's `finished_recving` sets, one per worker in worker order:
    /// the requests that have now been reported by every expected worker,
    /// in the order they completed. A request reported by only some workers
    /// waits, across steps, for the others (measured on vLLM 0.15.1 to
    /// 0.34.0: a TP=4 engine whose workers 0 and 1 report a request in one
    /// step and workers 2 and 3 in the next finishes it in the next).
    ///
    /// ```
    /// use nixl_kv_metrics::pipeline::KvOutputAggregator;
    ///
    /// let mut aggregator = KvOutputAggregator::new(2);
    /// let a = || vec!["a".to_string()];
    /// assert!(aggregator.finished_recving([a(), vec![]]).is_empty());
    /// assert_eq!(aggregator.finished_recving([vec![], a()]), ["a"]);
    /// ```
    pub fn finished_recving(
        &mut self,
        per_worker: impl IntoIterator<Item = Vec<String>>,
    ) -> Vec<String> {
        let mut finished = Vec::new();
        for request in per_worker.into_iter().flatten() {
            let index = match self.remaining.iter().position(|(r, _)| *r == request) {
                Some(index) => index,
                None => {
                    self.remaining.push((request, self.expected));
                    self.remaining.len() - 1
                }
            };
            let count = &mut self.remaining[index].1;
            *count = count.saturating_sub(1);
            if *count == 0 {
                finished.push(self.remaining.remove(index).0);
            }
        }
        finished
    }
}
