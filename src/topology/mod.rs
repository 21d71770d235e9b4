//! Who transfers what in a disaggregated prefill/decode (P/D) deployment.
//!
//! A prefill instance computes a request's KV cache; a decode instance needs
//! it. With vLLM's NIXL connector the KV moves as NIXL transfers between
//! ranks of the two instances, and every such transfer is one sample of the
//! stats behind the log line. This module answers, for a [`Deployment`] and
//! one request: which ranks transfer with which, how many transfers are
//! recorded and on which instance, how many bytes and descriptors each has,
//! and who counts an expired request.
//!
//! * [`Mode::Pull`] (vLLM's default `NixlConnector`): each decode rank issues
//!   NIXL READs from the prefill ranks that hold its KV heads and records the
//!   transfers; prefill ranks only wait for notifications.
//! * [`Mode::Push`] (`NixlPushConnector`): each prefill rank issues NIXL
//!   WRITEs into the decode ranks and records them.
//!
//! The rank mapping follows vLLM's `compute_tp_mapping`
//! (`vllm/distributed/kv_transfer/kv_connector/v1/nixl/tp_mapping.py`), seen
//! from the rank that issues the transfers; bytes and descriptor counts
//! follow how the connector builds its descriptor lists (region-major, one
//! descriptor per region and block) and how NIXL's `makeXferReq` merges
//! runs that are contiguous on both sides. A model's geometry can be read
//! from its Hugging Face config ([`ModelConfig`]); which pairings a vLLM
//! release accepts, and how it registers the KV cache, is
//! [`Deployment::for_release`]; [`Deployment::figures`] gives what one
//! request costs, as `nixl-kv-metrics plan` prints it.
//!
//! ```
//! use nixl_kv_metrics::topology::{BlockLayout, Deployment, Instance, Mode, ModelGeometry, Parallelism};
//!
//! // Llama-3.1-8B, prefill at TP=4, decode at TP=2, pull mode.
//! let deployment = Deployment::new(
//!     ModelGeometry::LLAMA_3_1_8B,
//!     Parallelism::tp(4),
//!     Parallelism::tp(2),
//!     Mode::Pull,
//!     BlockLayout::Contiguous,
//! )?;
//! let plan = deployment.plan(1_000, 0)?; // 1000 prompt tokens: 63 blocks
//! assert_eq!(plan.transfers.len(), 4); // P_TP transfers, recorded on decode
//! assert!(plan.transfers.iter().all(|t| t.recorder == Instance::Decode));
//! // Each READ moves 2 of the decode rank's 4 heads: half its bytes.
//! assert_eq!(plan.transfers[0].bytes, 63 * 16 * 2 * 32 * 2 * 128 * 2);
//! # Ok::<(), nixl_kv_metrics::topology::TopologyError>(())
//! ```

use std::fmt;

mod compat;
mod deployment;
mod figures;
mod hf_config;
mod model;
mod plan;
mod registration;

pub use compat::Refusal;
pub use deployment::{BlockLayout, Deployment};
pub use figures::{Descriptors, ExpectedLine, LineFit, RequestFigures};
pub use hf_config::{ConfigError, MAX_CONFIG_BYTES, ModelConfig};
pub use model::{Dtype, ModelGeometry};
pub use plan::{Notification, PlannedTransfer, RequestPlan};
pub use registration::{
    Backend, KvRegistration, NixlMerge, Unregistrable, cross_layer_saving, runs,
};

/// One of the two instances of a P/D deployment.
///
/// ```
/// use nixl_kv_metrics::topology::Instance;
/// assert_eq!(Instance::Prefill.to_string(), "prefill");
/// assert!(Instance::Prefill < Instance::Decode);
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Instance {
    /// The producer: computes the prompt's KV cache.
    Prefill,
    /// The consumer: receives the KV cache and generates tokens.
    Decode,
}

impl fmt::Display for Instance {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Instance::Prefill => "prefill",
            Instance::Decode => "decode",
        })
    }
}

/// Which side moves the KV cache, and so which side records transfers
/// ([`Mode::recorder`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Mode {
    /// The default: decode READs, and records the transfers.
    Pull,
    /// `NixlPushConnector`: prefill WRITEs, and records the transfers.
    Push,
}

impl Mode {
    /// The instance that issues the NIXL transfers and records their
    /// telemetry. Expired requests are counted on prefill in both modes.
    ///
    /// ```
    /// use nixl_kv_metrics::topology::{Instance, Mode};
    /// assert_eq!(Mode::Pull.recorder(), Instance::Decode);
    /// assert_eq!(Mode::Push.recorder(), Instance::Prefill);
    /// ```
    pub const fn recorder(self) -> Instance {
        match self {
            Mode::Pull => Instance::Decode,
            Mode::Push => Instance::Prefill,
        }
    }

    /// The NIXL operation: `"READ"` or `"WRITE"`.
    ///
    /// ```
    /// use nixl_kv_metrics::topology::Mode;
    /// assert_eq!(Mode::Push.operation(), "WRITE");
    /// ```
    pub const fn operation(self) -> &'static str {
        match self {
            Mode::Pull => "READ",
            Mode::Push => "WRITE",
        }
    }
}

/// The parallel layout of one instance: tensor-parallel ranks, pipeline
/// stages, and data-parallel engines.
///
/// Each engine has `tp × pp` workers ([`Parallelism::workers_per_engine`]),
/// each recording into its own stats object; each engine has its own log
/// line unless engine logging is aggregated.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Parallelism {
    /// Tensor-parallel size (`--tensor-parallel-size`).
    pub tp: u32,
    /// Pipeline-parallel size (`--pipeline-parallel-size`).
    pub pp: u32,
    /// Data-parallel size (`--data-parallel-size`): independent engines.
    pub dp: u32,
}

impl Parallelism {
    /// A layout from its three sizes, in the order `tp`, `pp`, `dp`.
    pub const fn new(tp: u32, pp: u32, dp: u32) -> Parallelism {
        Parallelism { tp, pp, dp }
    }

    /// Tensor parallelism only (one stage, one engine).
    ///
    /// ```
    /// use nixl_kv_metrics::topology::Parallelism;
    /// assert_eq!(Parallelism::tp(4), Parallelism::new(4, 1, 1));
    /// ```
    pub const fn tp(tp: u32) -> Parallelism {
        Parallelism::new(tp, 1, 1)
    }

    /// Workers per engine, `tp × pp`.
    ///
    /// ```
    /// use nixl_kv_metrics::topology::Parallelism;
    /// assert_eq!(Parallelism::new(4, 2, 8).workers_per_engine(), 8);
    /// ```
    pub const fn workers_per_engine(&self) -> u64 {
        self.tp as u64 * self.pp as u64
    }
}

/// One worker process: a tensor-parallel rank of a pipeline stage of a
/// data-parallel engine of an instance.
///
/// Workers order by instance, engine, stage, then rank: within an engine that
/// is vLLM's worker order (global rank `stage × tp + rank`), the order in
/// which the output aggregator pools them.
///
/// ```
/// use nixl_kv_metrics::topology::{Instance, WorkerId};
/// let a = WorkerId { instance: Instance::Decode, engine: 0, stage: 0, rank: 1 };
/// let b = WorkerId { stage: 1, rank: 0, ..a };
/// assert!(a < b);
/// assert_eq!(b.to_string(), "decode engine 0 stage 1 rank 0");
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct WorkerId {
    /// The instance the worker belongs to.
    pub instance: Instance,
    /// Its data-parallel engine.
    pub engine: u32,
    /// Its pipeline stage.
    pub stage: u32,
    /// Its tensor-parallel rank.
    pub rank: u32,
}

impl fmt::Display for WorkerId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} engine {} stage {} rank {}",
            self.instance, self.engine, self.stage, self.rank
        )
    }
}

/// Why a deployment or a request cannot be modelled.
///
/// ```
/// use nixl_kv_metrics::topology::{BlockLayout, Deployment, Mode, ModelGeometry, Parallelism, TopologyError};
///
/// let err = Deployment::new(
///     ModelGeometry::QWEN3_0_6B, Parallelism::tp(2), Parallelism::tp(3),
///     Mode::Pull, BlockLayout::Contiguous,
/// ).unwrap_err();
/// assert_eq!(err, TopologyError::TpRatio { prefill: 2, decode: 3 });
/// assert!(err.to_string().contains("must divide"));
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TopologyError {
    /// A size that must be at least 1 is 0.
    Zero(&'static str),
    /// Neither tensor-parallel size divides the other.
    TpRatio {
        /// Prefill TP.
        prefill: u32,
        /// Decode TP.
        decode: u32,
    },
    /// KV heads cannot be split over the TP ranks: neither divides the other.
    HeadsVsTp {
        /// The model's KV heads.
        kv_heads: u32,
        /// The tensor-parallel size.
        tp: u32,
    },
    /// The instances have different pipeline-parallel sizes.
    PpMismatch {
        /// Prefill PP.
        prefill: u32,
        /// Decode PP.
        decode: u32,
    },
    /// The layers do not split evenly over the pipeline stages.
    LayersVsPp {
        /// The model's layers.
        layers: u32,
        /// The pipeline-parallel size.
        pp: u32,
    },
    /// More prefix-cache hit tokens than prompt tokens.
    HitBeyondPrompt {
        /// Prompt tokens.
        tokens: u32,
        /// Hit tokens.
        hit: u32,
    },
    /// A byte or descriptor count does not fit its integer type.
    Overflow,
}

impl fmt::Display for TopologyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            TopologyError::Zero(what) => write!(f, "{what} must be at least 1"),
            TopologyError::TpRatio { prefill, decode } => write!(
                f,
                "prefill TP {prefill} and decode TP {decode}: the smaller must divide the larger"
            ),
            TopologyError::HeadsVsTp { kv_heads, tp } => write!(
                f,
                "{kv_heads} KV heads cannot be split over TP {tp}: one must divide the other"
            ),
            TopologyError::PpMismatch { prefill, decode } => write!(
                f,
                "prefill PP {prefill} and decode PP {decode} differ: only stage-to-stage \
                 transfers between equal pipelines are modelled"
            ),
            TopologyError::LayersVsPp { layers, pp } => write!(
                f,
                "{layers} layers do not split evenly over {pp} pipeline stages"
            ),
            TopologyError::HitBeyondPrompt { tokens, hit } => write!(
                f,
                "{hit} prefix-cache hit tokens exceed the prompt's {tokens} tokens"
            ),
            TopologyError::Overflow => {
                f.write_str("byte or descriptor count too large to represent")
            }
        }
    }
}

impl std::error::Error for TopologyError {}
