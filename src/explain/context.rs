//! What is known of the deployment that printed a line: TP sizes, pull or
//! push, MLA or not, and the logging interval.

use std::time::Duration;

use super::Explanation;
use super::prose::Explainer;
use crate::logs::KvRecord;
use crate::topology::{
    BlockLayout, Deployment, Instance, Mode, ModelGeometry, Parallelism, TopologyError,
};
use crate::views::DEFAULT_INTERVAL;

/// The tensor-parallel sizes of the two instances: `prefill` and `decode`,
/// each the `--tensor-parallel-size` of its instance. A [`Context`] holds
/// them only once the smaller is known to divide the larger, as vLLM
/// requires.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct TpSizes {
    /// Prefill TP (`--tensor-parallel-size` of the prefill instance).
    pub prefill: u32,
    /// Decode TP.
    pub decode: u32,
}

/// What is known about the deployment that printed a line, and the logging
/// interval.
///
/// The TP sizes may be unknown ([`Context::unknown`]); the mode defaults to
/// pull (vLLM's default `NixlConnector`), the model to standard attention,
/// the interval to vLLM's 10 s. Pipeline parallelism is taken to be 1: with
/// `PP` stages every count below is `PP` times larger.
///
/// ```
/// use nixl_kv_metrics::explain::{Context, TpSizes};
/// use nixl_kv_metrics::topology::{Mode, TopologyError};
/// use std::time::Duration;
///
/// let context = Context::hetero(4, 2)?.with_mode(Mode::Push).with_interval(Duration::from_secs(5));
/// assert_eq!(context.tp_sizes(), Some(TpSizes { prefill: 4, decode: 2 }));
/// assert_eq!(context.mode(), Mode::Push);
/// assert_eq!(Context::hetero(2, 3), Err(TopologyError::TpRatio { prefill: 2, decode: 3 }));
/// assert_eq!(Context::tp(0), Err(TopologyError::Zero("prefill TP")));
/// # Ok::<(), TopologyError>(())
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Context {
    tp: Option<TpSizes>,
    mode: Mode,
    mla: bool,
    interval: Duration,
    /// What the topology gives, worked out once per context.
    per_request: PerRequest,
}

/// What the topology says of one request: worked out when a context is
/// made, because a plan lays out every rank, and building it for each line
/// explained would make `explain` slower the larger the TP sizes. A
/// function of the other fields, so it adds nothing to equality.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
struct PerRequest {
    /// Transfers one request produces.
    transfers: Option<u64>,
    /// Records of one expired request (one per prefill worker).
    expiry_records: Option<u64>,
}

impl PerRequest {
    /// Nothing known: the TP sizes are unknown.
    const UNKNOWN: PerRequest = PerRequest {
        transfers: None,
        expiry_records: None,
    };
}

impl Default for Context {
    fn default() -> Context {
        Context::unknown()
    }
}

impl Context {
    /// TP unknown, pull mode, standard attention, a 10 s interval.
    ///
    /// ```
    /// use nixl_kv_metrics::explain::Context;
    /// assert_eq!(Context::unknown().tp_sizes(), None);
    /// assert_eq!(Context::unknown().interval().as_secs(), 10);
    /// ```
    pub const fn unknown() -> Context {
        Context {
            tp: None,
            mode: Mode::Pull,
            mla: false,
            interval: DEFAULT_INTERVAL,
            per_request: PerRequest::UNKNOWN,
        }
    }

    /// Prefill and decode at the same TP.
    ///
    /// ```
    /// use nixl_kv_metrics::explain::Context;
    /// assert_eq!(Context::tp(2)?.transfers_per_request(), Some(2));
    /// # Ok::<(), nixl_kv_metrics::topology::TopologyError>(())
    /// ```
    pub fn tp(tp: u32) -> Result<Context, TopologyError> {
        Context::hetero(tp, tp)
    }

    /// Prefill at TP `prefill`, decode at TP `decode`; the smaller must
    /// divide the larger, as vLLM requires.
    ///
    /// ```
    /// use nixl_kv_metrics::explain::Context;
    /// // Each decode rank READs from two prefill ranks.
    /// assert_eq!(Context::hetero(4, 2)?.transfers_per_request(), Some(4));
    /// # Ok::<(), nixl_kv_metrics::topology::TopologyError>(())
    /// ```
    pub fn hetero(prefill: u32, decode: u32) -> Result<Context, TopologyError> {
        let context = Context {
            tp: Some(TpSizes { prefill, decode }),
            ..Context::unknown()
        };
        context.stand_in()?;
        Ok(context.worked_out())
    }

    /// The same context in `mode`.
    ///
    /// ```
    /// use nixl_kv_metrics::explain::Context;
    /// use nixl_kv_metrics::topology::Mode;
    /// // Push: each of the 2 prefill ranks WRITEs to its 2 decode ranks.
    /// assert_eq!(Context::hetero(2, 4)?.with_mode(Mode::Push).transfers_per_request(), Some(4));
    /// # Ok::<(), nixl_kv_metrics::topology::TopologyError>(())
    /// ```
    pub fn with_mode(self, mode: Mode) -> Context {
        Context { mode, ..self }.worked_out()
    }

    /// The same context for an MLA model (`true`) or standard attention.
    ///
    /// ```
    /// use nixl_kv_metrics::explain::Context;
    /// // MLA: one READ per decode rank, however many prefill ranks.
    /// assert_eq!(Context::hetero(8, 2)?.with_mla(true).transfers_per_request(), Some(2));
    /// # Ok::<(), nixl_kv_metrics::topology::TopologyError>(())
    /// ```
    pub fn with_mla(self, mla: bool) -> Context {
        Context { mla, ..self }.worked_out()
    }

    /// The same context with another logging interval
    /// (`VLLM_LOG_STATS_INTERVAL`). A zero interval makes every per-second
    /// figure infinite.
    ///
    /// ```
    /// use nixl_kv_metrics::explain::Context;
    /// use std::time::Duration;
    /// assert_eq!(Context::unknown().with_interval(Duration::from_secs(5)).interval().as_secs(), 5);
    /// ```
    pub const fn with_interval(self, interval: Duration) -> Context {
        Context { interval, ..self }
    }

    /// The TP sizes, if known.
    ///
    /// ```
    /// use nixl_kv_metrics::explain::{Context, TpSizes};
    /// assert_eq!(Context::tp(8)?.tp_sizes(), Some(TpSizes { prefill: 8, decode: 8 }));
    /// # Ok::<(), nixl_kv_metrics::topology::TopologyError>(())
    /// ```
    pub const fn tp_sizes(&self) -> Option<TpSizes> {
        self.tp
    }

    /// Pull or push.
    ///
    /// ```
    /// use nixl_kv_metrics::explain::Context;
    /// use nixl_kv_metrics::topology::Mode;
    /// assert_eq!(Context::unknown().mode(), Mode::Pull);
    /// ```
    pub const fn mode(&self) -> Mode {
        self.mode
    }

    /// True for an MLA model.
    ///
    /// ```
    /// use nixl_kv_metrics::explain::Context;
    /// assert!(Context::unknown().with_mla(true).mla());
    /// ```
    pub const fn mla(&self) -> bool {
        self.mla
    }

    /// The logging interval.
    ///
    /// ```
    /// use nixl_kv_metrics::explain::Context;
    /// assert_eq!(Context::unknown().interval(), nixl_kv_metrics::views::DEFAULT_INTERVAL);
    /// ```
    pub const fn interval(&self) -> Duration {
        self.interval
    }

    /// A deployment with these TP sizes and mode, and a model with at least
    /// one KV head per rank (so that no prefill rank is dropped as a
    /// duplicate head): the topology the counts below come from.
    ///
    /// ```
    /// use nixl_kv_metrics::explain::Context;
    /// let deployment = Context::hetero(4, 2)?.stand_in()?.unwrap();
    /// assert_eq!((deployment.prefill().tp, deployment.decode().tp), (4, 2));
    /// assert_eq!(Context::unknown().stand_in()?, None);
    /// # Ok::<(), nixl_kv_metrics::topology::TopologyError>(())
    /// ```
    pub fn stand_in(&self) -> Result<Option<Deployment>, TopologyError> {
        let Some(tp) = self.tp else {
            return Ok(None);
        };
        let model = if self.mla {
            ModelGeometry::DEEPSEEK_V3
        } else {
            ModelGeometry::attention(1, tp.prefill.max(tp.decode).max(1), 128)
        };
        Deployment::new(
            model,
            Parallelism::tp(tp.prefill),
            Parallelism::tp(tp.decode),
            self.mode,
            BlockLayout::Contiguous,
        )
        .map(Some)
    }

    /// Transfers one request produces, if the TP sizes are known: the
    /// number of transfers [`Deployment::plan`] gives for one request.
    ///
    /// Pull mode: `D_TP` when decode's TP is at least prefill's, and for
    /// MLA; `P_TP` when prefill's is larger (fewer when GQA de-duplication
    /// drops prefill ranks that hold the same KV head, which this does not
    /// assume). Push mode: `P_TP` when prefill's TP is at least decode's,
    /// else `D_TP`.
    ///
    /// ```
    /// use nixl_kv_metrics::explain::Context;
    /// assert_eq!(Context::hetero(2, 8)?.transfers_per_request(), Some(8));
    /// assert_eq!(Context::unknown().transfers_per_request(), None);
    /// # Ok::<(), nixl_kv_metrics::topology::TopologyError>(())
    /// ```
    pub fn transfers_per_request(&self) -> Option<u64> {
        self.per_request.transfers
    }

    /// Records one expired request leaves in `Num KV expired reqs` (each
    /// prefill worker counts it), if the TP sizes are known: the stand-in
    /// deployment's
    /// [`expiry_records_per_request`](Deployment::expiry_records_per_request).
    ///
    /// ```
    /// use nixl_kv_metrics::explain::Context;
    /// assert_eq!(Context::hetero(4, 2)?.expiry_records_per_request(), Some(4));
    /// assert_eq!(Context::unknown().expiry_records_per_request(), None);
    /// # Ok::<(), nixl_kv_metrics::topology::TopologyError>(())
    /// ```
    pub fn expiry_records_per_request(&self) -> Option<u64> {
        self.per_request.expiry_records
    }

    /// The context with what the topology gives for its TP sizes, mode and
    /// attention worked out ([`PerRequest`]).
    fn worked_out(self) -> Context {
        let deployment = self.stand_in().ok().flatten();
        let transfers = deployment.as_ref().and_then(|deployment| {
            let block = deployment.model().block_size;
            let plan = deployment.plan(block, 0).ok()?;
            Some(plan.transfers.len() as u64)
        });
        let per_request = PerRequest {
            transfers,
            expiry_records: deployment.map(|d| d.expiry_records_per_request()),
        };
        Context {
            per_request,
            ..self
        }
    }

    /// The TP of the instance that records the transfers (decode in pull
    /// mode, prefill in push mode), if known.
    ///
    /// ```
    /// use nixl_kv_metrics::explain::Context;
    /// use nixl_kv_metrics::topology::Mode;
    /// assert_eq!(Context::hetero(4, 2)?.recording_tp(), Some(2));
    /// assert_eq!(Context::hetero(4, 2)?.with_mode(Mode::Push).recording_tp(), Some(4));
    /// # Ok::<(), nixl_kv_metrics::topology::TopologyError>(())
    /// ```
    pub fn recording_tp(&self) -> Option<u32> {
        self.tp.map(|tp| match self.mode.recorder() {
            Instance::Prefill => tp.prefill,
            Instance::Decode => tp.decode,
        })
    }

    /// The reading of `record` in this context.
    ///
    /// ```
    /// use nixl_kv_metrics::explain::{Context, Topic};
    /// use nixl_kv_metrics::logs::parse_line;
    /// let record = parse_line("KV Transfer metrics: num_successful_transfers=6")?.unwrap();
    /// let explanation = Context::tp(2)?.explain(&record);
    /// assert_eq!(explanation.requests(), Some(3.0));
    /// assert!(explanation.reading.is_none()); // 0.11.0: a count and nothing else
    /// assert!(explanation.has(Topic::CounterOnly));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn explain(&self, record: &KvRecord) -> Explanation {
        Explainer::new(*self, record).run()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn transfers_per_request_follow_the_topology() {
        let pull = |p, d| Context::hetero(p, d).unwrap();
        for (p, d, k) in [(1, 1, 1), (2, 2, 2), (2, 8, 8), (8, 2, 8), (4, 1, 4)] {
            assert_eq!(pull(p, d).transfers_per_request(), Some(k), "{p} {d}");
            // MLA: always D_TP.
            assert_eq!(
                pull(p, d).with_mla(true).transfers_per_request(),
                Some(u64::from(d))
            );
            // Push: the larger TP.
            let push = pull(p, d).with_mode(Mode::Push);
            assert_eq!(push.transfers_per_request(), Some(u64::from(p.max(d))));
        }
    }
}
