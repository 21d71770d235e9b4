//! Pooling the workers of one engine step.

use crate::stats::NixlKvConnectorStats;

/// vLLM's `KVOutputAggregator`, as far as stats go: it pools what every
/// worker of the engine shipped in one step into one stats object.
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
#[derive(Clone, Copy, Debug)]
pub struct KvOutputAggregator;

impl KvOutputAggregator {
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
}
