//! A seeded, deterministic simulator of a P/D deployment's KV transfers,
//! and of the log lines vLLM would print for them.
//!
//! [`Simulation::run`] draws a workload and plays it through the
//! [`topology`](crate::topology) of a deployment:
//!
//! 1. Requests arrive as a Poisson process ([`SimConfig::arrival_rate_per_s`])
//!    with prompt lengths from [`PromptLengths`]; some hit decode's prefix
//!    cache, some are abandoned before decode asks for their KV. Prefill
//!    takes a time per token and finishes at a prefill step: the request's
//!    KV is then ready and its lease starts ([`SimConfig::lease_us`]).
//! 2. After a hand-off delay, at its next step, the recording instance
//!    (decode in pull mode, prefill in push mode) posts the request's
//!    transfers, one per [`PlannedTransfer`](crate::topology::PlannedTransfer).
//!    A worker posts one transfer after another: each takes a post time
//!    ([`PostModel`]) before the next can be posted.
//! 3. Data moves over the issuing worker's [`Link`] (latency, jitter, a
//!    bandwidth shared by its transfers in flight). A transfer fails with
//!    [`SimConfig::failure_probability`] (detected when it would have
//!    completed; its data still used the link).
//! 4. The engine polls once per step: a transfer's xfer time runs from
//!    its post to the first poll at or after its last byte, so xfer times
//!    include post time and polling delay, as NIXL's telemetry does.
//! 5. Each prefill worker releases a request when every transfer or
//!    notification it expects has arrived (a successful READ's notification
//!    at its completion; a notification-only rank's when the decode rank
//!    posted; in push mode its own WRITEs' completions), as seen at its next
//!    poll. At each poll a prefill worker first takes in notifications, then
//!    expires the requests whose lease has run out: each such worker records
//!    `num_kv_expired_reqs` once, and in pull mode every notification that
//!    arrives later records `num_notifications_after_expiry`.
//!
//! The result is per-worker telemetry tagged with worker and request
//! ([`TaggedTelemetry`], with start
//! times) and the recorded events; [`Simulation::log_lines`] feeds them
//! through the crate's [`pipeline`](crate::pipeline) to the lines a release
//! would log. Everything is integer microseconds except the bandwidth
//! sharing, and the same seed gives the same output.
//!
//! Not modelled: prefill or decode queueing and batching (prefill has
//! unbounded capacity), contention beyond each worker's own link,
//! handshakes, retries.
//!
//! ```
//! use nixl_kv_metrics::release::Family;
//! use nixl_kv_metrics::simulation::{LoggingConfig, SimConfig, Simulation};
//! use nixl_kv_metrics::topology::*;
//!
//! let deployment = Deployment::new(ModelGeometry::LLAMA_3_1_8B, Parallelism::tp(2),
//!     Parallelism::tp(2), Mode::Pull, BlockLayout::Contiguous)?;
//! let config = SimConfig { seed: 7, duration_us: 20_000_000, ..SimConfig::new(deployment) };
//! let sim = Simulation::run(&config)?;
//! assert_eq!(sim, Simulation::run(&config)?); // deterministic
//! // Two READs per request, recorded on decode.
//! assert_eq!(sim.transfers.len(), 2 * sim.requests.len());
//!
//! let intervals = sim.log_lines(Family::F6, LoggingConfig::default())?;
//! let line = intervals[0].decode[0].as_ref().expect("transfers in the first 10 s");
//! assert!(line.to_string().starts_with("KV Transfer metrics: Num successful transfers="));
//! assert!(intervals[0].prefill[0].is_none()); // prefill records nothing in pull mode
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use std::fmt;

use crate::release::Event;
use crate::telemetry::{RequestId, TaggedTelemetry};
use crate::topology::{Deployment, Instance, TopologyError, WorkerId};

mod link;
mod logging;
mod rng;
mod run;
mod workload;

pub use link::Link;
pub use logging::{IntervalLines, LoggingConfig};
pub use rng::Rng;
pub use workload::{PromptLengths, Request};

/// How long posting a transfer takes: `base_us` plus `ns_per_descriptor`
/// for each descriptor (after merging), rounded up to whole microseconds
/// ([`PostModel::post_us`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct PostModel {
    /// Fixed cost of a post, in microseconds.
    pub base_us: u64,
    /// Cost per descriptor, in nanoseconds.
    pub ns_per_descriptor: u64,
}

impl PostModel {
    /// The post time of a transfer of `descriptors` descriptors.
    ///
    /// ```
    /// use nixl_kv_metrics::simulation::PostModel;
    /// let post = PostModel { base_us: 100, ns_per_descriptor: 1_500 };
    /// assert_eq!(post.post_us(3), 105); // 4.5 µs rounded up
    /// ```
    pub fn post_us(&self, descriptors: u32) -> u64 {
        let per_descriptor = u64::from(descriptors).saturating_mul(self.ns_per_descriptor);
        self.base_us.saturating_add(per_descriptor.div_ceil(1_000))
    }
}

/// Everything a simulation needs. [`SimConfig::new`] fills in defaults;
/// change fields with struct update syntax.
///
/// ```
/// use nixl_kv_metrics::simulation::{PromptLengths, SimConfig};
/// use nixl_kv_metrics::topology::*;
///
/// let deployment = Deployment::new(ModelGeometry::QWEN3_0_6B, Parallelism::tp(1),
///     Parallelism::tp(1), Mode::Pull, BlockLayout::Contiguous)?;
/// let config = SimConfig {
///     prompt_tokens: PromptLengths::Fixed(640),
///     failure_probability: 0.01,
///     ..SimConfig::new(deployment)
/// };
/// assert_eq!(config.lease_us, 480_000_000);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct SimConfig {
    /// The deployment simulated.
    pub deployment: Deployment,
    /// The seed of every random draw.
    pub seed: u64,
    /// Requests arrive in `[0, duration_us)`; the simulation runs until the
    /// last one is done.
    pub duration_us: u64,
    /// Mean arrivals per second (Poisson). Default 4.
    pub arrival_rate_per_s: f64,
    /// Prompt lengths. Default log-normal, median 1024, sigma 0.6, at most 8192.
    pub prompt_tokens: PromptLengths,
    /// Chance a request finds part of its prompt (uniform, whole blocks) in
    /// decode's prefix cache. Default 0.
    pub prefix_hit_probability: f64,
    /// Chance the decode leg never comes. Default 0.
    pub abandon_probability: f64,
    /// Prefill compute per prompt token, in microseconds. Default 50.
    pub prefill_us_per_token: f64,
    /// From prefill done to the recording instance seeing the request, in
    /// microseconds. Default 2 ms.
    pub handoff_us: u64,
    /// Prefill's engine step (its polling cadence), in microseconds. Default 25 ms.
    pub prefill_step_us: u64,
    /// Decode's engine step (its polling cadence), in microseconds. Default 15 ms.
    pub decode_step_us: u64,
    /// Each issuing worker's link. Default 25e9 B/s (200 Gb/s), 20 µs
    /// latency, up to 50 µs jitter.
    pub link: Link,
    /// Post times. Default 300 µs plus 5 µs per descriptor.
    pub post: PostModel,
    /// Chance a transfer fails. Default 0.
    pub failure_probability: f64,
    /// How long prefill keeps a request's KV for decode, in microseconds.
    /// Default 480 s, vLLM's `VLLM_NIXL_ABORT_REQUEST_TIMEOUT`.
    pub lease_us: u64,
}

impl SimConfig {
    /// Defaults (see each field) for `deployment`: seed 0, 60 s of arrivals.
    ///
    /// ```
    /// # use nixl_kv_metrics::simulation::SimConfig;
    /// # use nixl_kv_metrics::topology::*;
    /// let deployment = Deployment::new(ModelGeometry::QWEN3_0_6B, Parallelism::tp(1),
    ///     Parallelism::tp(1), Mode::Pull, BlockLayout::Contiguous)?;
    /// let config = SimConfig::new(deployment);
    /// assert_eq!((config.seed, config.duration_us), (0, 60_000_000));
    /// # Ok::<(), TopologyError>(())
    /// ```
    pub fn new(deployment: Deployment) -> SimConfig {
        SimConfig {
            deployment,
            seed: 0,
            duration_us: 60_000_000,
            arrival_rate_per_s: 4.0,
            prompt_tokens: PromptLengths::LogNormal {
                median: 1024.0,
                sigma: 0.6,
                max: 8192,
            },
            prefix_hit_probability: 0.0,
            abandon_probability: 0.0,
            prefill_us_per_token: 50.0,
            handoff_us: 2_000,
            prefill_step_us: 25_000,
            decode_step_us: 15_000,
            link: Link {
                bytes_per_s: 25e9,
                latency_us: 20,
                jitter_us: 50,
            },
            post: PostModel {
                base_us: 300,
                ns_per_descriptor: 5_000,
            },
            failure_probability: 0.0,
            lease_us: 480_000_000,
        }
    }

    /// The engine step of `instance`, in microseconds.
    ///
    /// ```
    /// # use nixl_kv_metrics::simulation::SimConfig;
    /// # use nixl_kv_metrics::topology::*;
    /// # let deployment = Deployment::new(ModelGeometry::QWEN3_0_6B, Parallelism::tp(1),
    /// #     Parallelism::tp(1), Mode::Pull, BlockLayout::Contiguous)?;
    /// let config = SimConfig::new(deployment);
    /// assert_eq!(config.step_us(Instance::Decode), 15_000);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn step_us(&self, instance: Instance) -> u64 {
        match instance {
            Instance::Prefill => self.prefill_step_us,
            Instance::Decode => self.decode_step_us,
        }
    }

    /// Checks every parameter.
    fn validate(&self) -> Result<(), SimError> {
        let invalid = |parameter, expected| {
            Err(SimError::Invalid {
                parameter,
                expected,
            })
        };
        let probabilities = [
            ("prefix_hit_probability", self.prefix_hit_probability),
            ("abandon_probability", self.abandon_probability),
            ("failure_probability", self.failure_probability),
        ];
        for (parameter, p) in probabilities {
            if !(0.0..=1.0).contains(&p) {
                return invalid(parameter, "a probability in [0, 1]");
            }
        }
        if !(self.arrival_rate_per_s.is_finite() && self.arrival_rate_per_s > 0.0) {
            return invalid("arrival_rate_per_s", "a finite rate above 0");
        }
        if !(self.prefill_us_per_token.is_finite() && self.prefill_us_per_token >= 0.0) {
            return invalid("prefill_us_per_token", "a finite time of at least 0");
        }
        if !(self.link.bytes_per_s.is_finite() && self.link.bytes_per_s > 0.0) {
            return invalid("link.bytes_per_s", "a finite bandwidth above 0");
        }
        if self.prefill_step_us == 0 {
            return invalid("prefill_step_us", "a step of at least 1 µs");
        }
        if self.decode_step_us == 0 {
            return invalid("decode_step_us", "a step of at least 1 µs");
        }
        self.prompt_tokens.validate()
    }
}

/// A failure or expiry a worker recorded.
///
/// ```
/// use nixl_kv_metrics::release::Event;
/// use nixl_kv_metrics::simulation::{SimConfig, Simulation};
/// use nixl_kv_metrics::topology::*;
///
/// let deployment = Deployment::new(ModelGeometry::QWEN3_0_6B, Parallelism::tp(2),
///     Parallelism::tp(2), Mode::Pull, BlockLayout::Contiguous)?;
/// let config = SimConfig { abandon_probability: 1.0, duration_us: 1_000_000,
///     lease_us: 5_000_000, ..SimConfig::new(deployment) };
/// let sim = Simulation::run(&config)?;
/// // Every request abandoned: each prefill worker counts each expiry.
/// assert_eq!(sim.events.len(), 2 * sim.requests.len());
/// let e = sim.events[0];
/// assert_eq!((e.event, e.worker.instance), (Event::KvExpiredReq, Instance::Prefill));
/// assert!(e.time_us >= sim.requests[e.request as usize].ready_us + 5_000_000);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct SimEvent {
    /// The poll at which it was recorded, in microseconds.
    pub time_us: u64,
    /// The worker that recorded it.
    pub worker: WorkerId,
    /// The request concerned.
    pub request: RequestId,
    /// What was recorded.
    pub event: Event,
}

/// What a simulation produced.
///
/// ```
/// use nixl_kv_metrics::simulation::{SimConfig, Simulation};
/// use nixl_kv_metrics::topology::*;
/// use nixl_kv_metrics::wallclock::WallClock;
///
/// let deployment = Deployment::new(ModelGeometry::QWEN3_0_6B, Parallelism::tp(1),
///     Parallelism::tp(1), Mode::Pull, BlockLayout::Contiguous)?;
/// let sim = Simulation::run(&SimConfig::new(deployment))?;
/// let telemetry: Vec<_> = sim.transfers.iter().map(|t| t.telemetry).collect();
/// let wall = WallClock::of(&telemetry);
/// // Summed xfer time counts overlaps more than once: pooled <= wall-clock.
/// assert!(wall.pooled_mib_per_s <= wall.throughput_mib_per_s().unwrap());
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct Simulation {
    /// The deployment simulated.
    pub deployment: Deployment,
    /// Every request, in arrival order (`requests[i].id == i`).
    pub requests: Vec<Request>,
    /// Successful transfers, by recording time (the poll that saw them
    /// complete, `end_time_us`), then worker, then start time.
    pub transfers: Vec<TaggedTelemetry>,
    /// Failures and expiries, by time, then worker.
    pub events: Vec<SimEvent>,
}

impl Simulation {
    /// Runs the simulation `config` describes.
    ///
    /// ```
    /// use nixl_kv_metrics::simulation::{SimConfig, SimError, Simulation};
    /// use nixl_kv_metrics::topology::*;
    ///
    /// let deployment = Deployment::new(ModelGeometry::QWEN3_0_6B, Parallelism::tp(1),
    ///     Parallelism::tp(1), Mode::Pull, BlockLayout::Contiguous)?;
    /// let bad = SimConfig { failure_probability: 1.5, ..SimConfig::new(deployment) };
    /// assert!(matches!(Simulation::run(&bad), Err(SimError::Invalid { parameter: "failure_probability", .. })));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn run(config: &SimConfig) -> Result<Simulation, SimError> {
        config.validate()?;
        run::run(config)
    }
}

/// Why a simulation cannot run.
///
/// ```
/// use nixl_kv_metrics::simulation::SimError;
/// let err = SimError::Invalid { parameter: "decode_step_us", expected: "a step of at least 1 µs" };
/// assert_eq!(err.to_string(), "decode_step_us: expected a step of at least 1 µs");
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SimError {
    /// A request cannot be planned on the deployment.
    Topology(TopologyError),
    /// A parameter is out of range.
    Invalid {
        /// The parameter (a [`SimConfig`] or [`LoggingConfig`] field).
        parameter: &'static str,
        /// What it should be.
        expected: &'static str,
    },
}

impl From<TopologyError> for SimError {
    fn from(error: TopologyError) -> SimError {
        SimError::Topology(error)
    }
}

impl fmt::Display for SimError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SimError::Topology(error) => error.fmt(f),
            SimError::Invalid {
                parameter,
                expected,
            } => write!(f, "{parameter}: expected {expected}"),
        }
    }
}

impl std::error::Error for SimError {}
