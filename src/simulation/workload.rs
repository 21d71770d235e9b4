//! Requests: when they arrive, how long their prompts are.

use super::{Rng, SimConfig, SimError};
use crate::telemetry::RequestId;

/// The distribution of prompt lengths, in tokens.
///
/// ```
/// use nixl_kv_metrics::simulation::{PromptLengths, Rng};
///
/// let mut rng = Rng::new(1);
/// assert_eq!(PromptLengths::Fixed(640).sample(&mut rng), 640);
/// let uniform = PromptLengths::Uniform { min: 100, max: 200 };
/// assert!((100..=200).contains(&uniform.sample(&mut rng)));
/// let long_tail = PromptLengths::LogNormal { median: 1024.0, sigma: 1.0, max: 4096 };
/// assert!((1..=4096).contains(&long_tail.sample(&mut rng)));
/// ```
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum PromptLengths {
    /// Every prompt has this many tokens.
    Fixed(u32),
    /// Uniform over `min..=max`.
    Uniform {
        /// The shortest prompt.
        min: u32,
        /// The longest prompt.
        max: u32,
    },
    /// Log-normal: `median × e^(sigma × Z)` for a standard normal `Z`,
    /// rounded and clamped to `1..=max` (prompt lengths have a long tail).
    LogNormal {
        /// The median length.
        median: f64,
        /// The standard deviation of the length's logarithm.
        sigma: f64,
        /// Lengths above are clamped to it (the model's context).
        max: u32,
    },
}

impl PromptLengths {
    /// Draws one length.
    ///
    /// ```
    /// use nixl_kv_metrics::simulation::{PromptLengths, Rng};
    /// let lengths = PromptLengths::Uniform { min: 1, max: 3 };
    /// let mut rng = Rng::new(0);
    /// let draws: Vec<u32> = (0..100).map(|_| lengths.sample(&mut rng)).collect();
    /// assert!([1, 2, 3].iter().all(|n| draws.contains(n)));
    /// ```
    pub fn sample(&self, rng: &mut Rng) -> u32 {
        match *self {
            PromptLengths::Fixed(tokens) => tokens,
            PromptLengths::Uniform { min, max } => min + rng.below(u64::from(max - min) + 1) as u32,
            PromptLengths::LogNormal { median, sigma, max } => {
                let x = (median * (sigma * rng.standard_normal()).exp()).round();
                x.clamp(1.0, f64::from(max)) as u32
            }
        }
    }

    /// Checks the parameters.
    pub(super) fn validate(&self) -> Result<(), SimError> {
        let ok = match *self {
            PromptLengths::Fixed(tokens) => tokens >= 1,
            PromptLengths::Uniform { min, max } => 1 <= min && min <= max,
            PromptLengths::LogNormal { median, sigma, max } => {
                median.is_finite() && median >= 1.0 && sigma.is_finite() && sigma >= 0.0 && max >= 1
            }
        };
        ok.then_some(()).ok_or(SimError::Invalid {
            parameter: "prompt_tokens",
            expected: "at least 1 token (Uniform: 1 <= min <= max; LogNormal: \
                       finite median >= 1, finite sigma >= 0, max >= 1)",
        })
    }
}

/// One simulated request, as the workload drew it.
///
/// ```
/// use nixl_kv_metrics::simulation::{SimConfig, Simulation};
/// use nixl_kv_metrics::topology::*;
///
/// let deployment = Deployment::new(ModelGeometry::QWEN3_0_6B, Parallelism::tp(1),
///     Parallelism::tp(1), Mode::Pull, BlockLayout::Contiguous)?;
/// let sim = Simulation::run(&SimConfig::new(deployment))?;
/// let first = &sim.requests[0];
/// assert_eq!(first.id, 0);
/// assert!(first.ready_us > first.arrival_us);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Request {
    /// Arrival order, from 0.
    pub id: RequestId,
    /// When the request arrived, in microseconds.
    pub arrival_us: u64,
    /// Prompt tokens.
    pub tokens: u32,
    /// Prompt tokens already in decode's prefix cache.
    pub prefix_hit_tokens: u32,
    /// The decode leg never came (client or proxy abort): nothing is
    /// transferred and the prefill lease runs out.
    pub abandoned: bool,
    /// The prefill engine serving it (round robin over prefill DP).
    pub prefill_engine: u32,
    /// The decode engine serving it (round robin over decode DP).
    pub decode_engine: u32,
    /// The prefill step at which its KV is complete and its lease starts.
    pub ready_us: u64,
}

/// Draws the requests arriving in `[0, duration_us)`: Poisson arrivals,
/// then for each request its prompt length, prefix-cache hit and abandonment
/// (always the same number of draws per request, so changing one
/// probability does not reshuffle the rest).
pub(super) fn generate(config: &SimConfig, rng: &mut Rng) -> Vec<Request> {
    let prefill = config.deployment.prefill();
    let decode = config.deployment.decode();
    let mut requests = Vec::new();
    let mut clock_s = 0.0;
    loop {
        clock_s += rng.exponential(config.arrival_rate_per_s);
        let arrival_us = (clock_s * 1e6) as u64;
        if arrival_us >= config.duration_us {
            return requests;
        }
        let id = requests.len() as RequestId;
        let tokens = config.prompt_tokens.sample(rng);
        let hit_draw = rng.next_f64();
        let hit_tokens = rng.below(u64::from(tokens) + 1) as u32;
        let abandoned = rng.next_f64() < config.abandon_probability;
        let prefill_us = (f64::from(tokens) * config.prefill_us_per_token) as u64;
        requests.push(Request {
            id,
            arrival_us,
            tokens,
            prefix_hit_tokens: if hit_draw < config.prefix_hit_probability {
                hit_tokens
            } else {
                0
            },
            abandoned,
            prefill_engine: (id % u64::from(prefill.dp)) as u32,
            decode_engine: (id % u64::from(decode.dp)) as u32,
            ready_us: next_poll(
                arrival_us.saturating_add(prefill_us),
                config.prefill_step_us,
            ),
        });
    }
}

/// The first poll at or after `time_us`, with polls every `step_us`.
pub(super) fn next_poll(time_us: u64, step_us: u64) -> u64 {
    time_us.div_ceil(step_us).saturating_mul(step_us)
}
