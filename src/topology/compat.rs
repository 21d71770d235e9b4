//! Which prefill/decode pairings each vLLM release accepts, read from the
//! NIXL connector's handshake at each release tag.
//!
//! A [`Deployment`] is any pairing whose TP sizes divide; vLLM accepts fewer,
//! and which ones changed with the release. When a worker first meets a
//! remote instance it validates it (`_validate_remote_agent_handshake`);
//! the check that matters here refuses a remote instance with the *larger*
//! TP whose KV heads count as replicated, and the assertion that fails
//! fails the handshake, so every request's KV load fails. In pull mode the
//! decode workers meet the prefill instance; in push mode (0.24.0 on) both
//! sides meet the other. [`Deployment::for_release`] applies the rules and
//! the release's KV registration for a backend:
//!
//! | releases | refused |
//! |---|---|
//! | before 0.11.0 | everything: no NIXL stats |
//! | 0.11.0 – 0.13.x | prefill TP > decode TP (`nixl_connector.py`: decode TP may not be smaller) |
//! | 0.14.0 – 0.19.x | the larger TP remote with TP ≥ the model's KV heads (`is_kv_replicated`: `TP // heads ≥ 1`) |
//! | 0.20.0 – 0.20.x | the same with TP > KV heads (`kv_connector/utils.py`) |
//! | 0.21.0 on | the same, but never for MLA (`v1/nixl/worker.py`: `if not self.use_mla`) |
//! | before 0.24.0 | push mode (no `NixlPushConnector`) |
//! | before 0.28.0 | MLA models on the CPU backend (`vllm/platforms/cpu.py`) |
//!
//! MLA models have one latent per token, yet before 0.21.0 the test counts
//! the config's KV heads (`num_key_value_heads`, else the attention heads):
//! DeepSeek-V3's 128 pass it at prefill TP 8, a config with one KV head
//! fails it at any prefill TP above decode's.
//!
//! ```
//! use nixl_kv_metrics::release::Release;
//! use nixl_kv_metrics::topology::*;
//!
//! let qwen = ModelGeometry::QWEN3_0_6B; // 8 KV heads
//! let pull = |p, d| Deployment::new(qwen, Parallelism::tp(p), Parallelism::tp(d),
//!     Mode::Pull, BlockLayout::Contiguous).unwrap();
//! let at = |release: &str| release.parse::<Release>().unwrap();
//! assert!(pull(8, 4).for_release(at("0.20.0"), Backend::FlashAttention).is_ok());
//! let refused = pull(8, 4).for_release(at("0.19.1"), Backend::FlashAttention).unwrap_err();
//! assert!(refused.to_string().starts_with("vLLM 0.19.1 refuses prefill TP 8 > decode TP 4"));
//! assert!(pull(16, 4).for_release(at("0.34.0"), Backend::FlashAttention).is_err());
//! ```

use std::fmt;

use super::{Backend, Deployment, Instance, KvRegistration, Mode, Unregistrable};
use crate::pipeline::AfterFailedReceive;
use crate::release::{Release, Releases};

/// From 0.14.0 a decode TP below prefill's is allowed.
const SMALLER_DECODE_TP: Release = Release::new(0, 14, 0);
/// From 0.20.0 KV counts as replicated only for TP above the KV heads.
const REPLICATED_ABOVE_HEADS: Release = Release::new(0, 20, 0);
/// From 0.21.0 MLA models skip the replication test.
const MLA_SKIPS_TEST: Release = Release::new(0, 21, 0);
/// The first release with a push connector.
const PUSH: Release = Release::new(0, 24, 0);
/// The first release whose CPU platform runs MLA models (`CPU_MLA`).
const CPU_MLA: Release = Release::new(0, 28, 0);

/// Why a release does not run a deployment: what vLLM does instead, and
/// the releases it applies to, in words ([`Display`](fmt::Display)).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Refusal {
    /// A release before NIXL stats (0.11.0).
    NoNixlStats(Release),
    /// Push mode before 0.24.0.
    NoPush(Release),
    /// Prefill TP above decode TP before 0.14.0.
    DecodeTpSmaller {
        /// The release.
        release: Release,
        /// Prefill TP.
        prefill: u32,
        /// Decode TP.
        decode: u32,
    },
    /// The instance with the larger TP counts as holding replicated KV
    /// heads, and the other side's handshake check fails.
    Replicated {
        /// The release.
        release: Release,
        /// The instance whose KV counts as replicated (the larger TP).
        remote: Instance,
        /// Its TP.
        remote_tp: u32,
        /// The other instance's TP.
        local_tp: u32,
        /// The KV heads the test counts.
        kv_heads: u32,
        /// An MLA model (counted by its config's KV heads).
        mla: bool,
    },
    /// An MLA model whose KV-head count is not known, where the release's
    /// test needs it.
    MlaHeadsUnknown(Release),
    /// The release's NIXL worker cannot register the backend's KV cache.
    Unregistrable(Unregistrable),
    /// An MLA model on the CPU backend before 0.28.0.
    NoCpuMla(Release),
}

impl fmt::Display for Refusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            Refusal::NoNixlStats(release) => write!(
                f,
                "vLLM {release} has no NIXL KV-transfer stats (they start with {})",
                Release::FIRST_WITH_STATS
            ),
            Refusal::NoPush(release) => write!(
                f,
                "vLLM {release} has no push mode: NixlPushConnector, whose prefill workers \
                 WRITE the KV cache, arrived in {PUSH}"
            ),
            Refusal::DecodeTpSmaller {
                release,
                prefill,
                decode,
            } => {
                write!(
                    f,
                    "vLLM {release} refuses prefill TP {prefill} > decode TP {decode}: \
                     {} require decode TP ≥ prefill TP (an assertion in the decode worker's \
                     handshake, nixl_connector.py), so every request's KV load fails",
                    Releases::before(Release::FIRST_WITH_STATS, Some(SMALLER_DECODE_TP))
                )?;
                // The handshake fails before it stores the prefill instance's
                // block size, which get_finished then looks up.
                if AfterFailedReceive::of(release) == AfterFailedReceive::StepRaises {
                    write!(
                        f,
                        "; in {} the decode worker's next step then raises (KeyError in \
                         get_finished), which stops the engine",
                        AfterFailedReceive::StepRaises.releases()
                    )?;
                }
                Ok(())
            }
            Refusal::Replicated {
                release,
                remote,
                remote_tp,
                local_tp,
                kv_heads,
                mla,
            } => {
                let local = match remote {
                    Instance::Prefill => Instance::Decode,
                    Instance::Decode => Instance::Prefill,
                };
                let (sign, releases) = if release < REPLICATED_ABOVE_HEADS {
                    (
                        "≥",
                        Releases::before(SMALLER_DECODE_TP, Some(REPLICATED_ABOVE_HEADS)),
                    )
                } else {
                    (">", Releases::before(REPLICATED_ABOVE_HEADS, None))
                };
                let file = if release < REPLICATED_ABOVE_HEADS {
                    "nixl_connector.py"
                } else if release < PUSH {
                    "v1/nixl/worker.py"
                } else {
                    "v1/nixl/base_worker.py"
                };
                let heads = if mla {
                    format!(
                        "the config's {kv_heads} KV heads (MLA counts them until {MLA_SKIPS_TEST})"
                    )
                } else {
                    format!("the model's {kv_heads} KV heads")
                };
                write!(
                    f,
                    "vLLM {release} refuses {remote} TP {remote_tp} > {local} TP {local_tp} \
                     when {remote} TP {sign} {heads}: the {local} worker's handshake takes the \
                     {remote} KV for replicated and fails an assertion ({releases}, {file}), \
                     so every request's KV load fails"
                )
            }
            Refusal::MlaHeadsUnknown(release) => write!(
                f,
                "vLLM {release} accepts an MLA model at prefill TP above decode TP only if \
                 its config's KV heads (num_key_value_heads) pass the replication test \
                 (until {MLA_SKIPS_TEST}); give them with --kv-heads, or the config with --model"
            ),
            Refusal::NoCpuMla(release) => write!(
                f,
                "vLLM {release} does not run MLA models on CPU: its CPU platform raises \
                 NotImplementedError when asked for an MLA backend (vllm/platforms/cpu.py; \
                 CPU_MLA arrived in {CPU_MLA})"
            ),
            Refusal::Unregistrable(why) => write!(
                f,
                "{why}: the worker fails while registering it, before any transfer"
            ),
        }
    }
}

impl std::error::Error for Refusal {}

impl Deployment {
    /// This deployment as `release` runs it with `backend`: refused when the
    /// release does not pair these instances or cannot register the
    /// backend's KV cache, else with the release's
    /// [`KvRegistration`] (which sets the descriptor counts).
    ///
    /// ```
    /// use nixl_kv_metrics::topology::*;
    ///
    /// let d = Deployment::new(ModelGeometry::attention(36, 8, 128), Parallelism::tp(1),
    ///     Parallelism::tp(1), Mode::Pull, BlockLayout::Contiguous)?;
    /// let old = d.for_release("0.22.1".parse().unwrap(), Backend::FlashAttention).unwrap();
    /// assert_eq!(old.plan(16, 0)?.transfers[0].descriptors, 72);
    /// let push = Deployment::new(d.model(), d.prefill(), d.decode(), Mode::Push,
    ///     BlockLayout::Contiguous)?;
    /// let refused = push.for_release("0.23.0".parse().unwrap(), Backend::Triton).unwrap_err();
    /// assert_eq!(refused.to_string(), "vLLM 0.23.0 has no push mode: \
    ///     NixlPushConnector, whose prefill workers WRITE the KV cache, arrived in 0.24.0");
    /// # Ok::<(), TopologyError>(())
    /// ```
    pub fn for_release(self, release: Release, backend: Backend) -> Result<Deployment, Refusal> {
        self.check_connector(release)?;
        // The attention backend is chosen when the workers load the model,
        // before any request and so before any handshake: an MLA model the
        // CPU platform refuses never gets to meet the other instance
        // (measured on 0.15.1: `pull-mla-p2d1` stops at startup with
        // "MLA is not supported on CPU.", not at the handshake).
        if self.model().is_mla() && backend == Backend::Cpu && release < CPU_MLA {
            return Err(Refusal::NoCpuMla(release));
        }
        self.check_pairing(release)?;
        let registration = KvRegistration::of(release, backend, self.model().is_mla())
            .map_err(Refusal::Unregistrable)?;
        Ok(self.with_registration(registration))
    }

    /// Whether the release has the connector: stats, and push mode.
    fn check_connector(&self, release: Release) -> Result<(), Refusal> {
        if release < Release::FIRST_WITH_STATS {
            return Err(Refusal::NoNixlStats(release));
        }
        if self.mode() == Mode::Push && release < PUSH {
            return Err(Refusal::NoPush(release));
        }
        Ok(())
    }

    /// The release's rules for the two TP sizes, checked by each
    /// handshake's validation.
    fn check_pairing(&self, release: Release) -> Result<(), Refusal> {
        let (prefill, decode) = (self.prefill().tp, self.decode().tp);
        if prefill > decode && release < SMALLER_DECODE_TP {
            return Err(Refusal::DecodeTpSmaller {
                release,
                prefill,
                decode,
            });
        }
        // The instance met in a handshake whose TP is the larger.
        let remote = match self.mode() {
            Mode::Pull if prefill > decode => Instance::Prefill,
            Mode::Push if prefill > decode => Instance::Prefill,
            Mode::Push if decode > prefill => Instance::Decode,
            _ => return Ok(()),
        };
        let model = self.model();
        if model.is_mla() && release >= MLA_SKIPS_TEST {
            return Ok(());
        }
        if model.is_mla() && model.kv_heads == 0 {
            return Err(Refusal::MlaHeadsUnknown(release));
        }
        let (remote_tp, local_tp) = match remote {
            Instance::Prefill => (prefill, decode),
            Instance::Decode => (decode, prefill),
        };
        let replicated = if release < REPLICATED_ABOVE_HEADS {
            remote_tp >= model.kv_heads
        } else {
            remote_tp > model.kv_heads
        };
        if !replicated {
            return Ok(());
        }
        Err(Refusal::Replicated {
            release,
            remote,
            remote_tp,
            local_tp,
            kv_heads: model.kv_heads,
            mla: model.is_mla(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::topology::{BlockLayout, ModelGeometry, Parallelism};

    fn verdict(model: ModelGeometry, p: u32, d: u32, mode: Mode, release: &str) -> Option<String> {
        let tp = Parallelism::tp;
        let deployment = Deployment::new(model, tp(p), tp(d), mode, BlockLayout::Contiguous);
        deployment
            .unwrap()
            .for_release(release.parse().unwrap(), Backend::FlashAttention)
            .err()
            .map(|refusal| refusal.to_string())
    }

    #[test]
    fn prefill_tp_above_decode_tp_by_release() {
        let four_heads = ModelGeometry::attention(4, 4, 64);
        let pull = |p, d, r| verdict(four_heads, p, d, Mode::Pull, r);
        assert!(
            pull(2, 1, "0.13.0")
                .unwrap()
                .contains("0.11.0 – 0.13.x require decode TP")
        );
        assert!(pull(2, 1, "0.12.0").unwrap().ends_with(
            "in 0.12.0 – 0.13.x the decode worker's next step then raises \
                            (KeyError in get_finished), which stops the engine"
        ));
        assert_eq!(pull(2, 1, "0.14.0"), None);
        // Four prefill ranks for four heads: replicated until 0.20.0.
        let refused = pull(4, 2, "0.15.1").unwrap();
        assert!(
            refused.contains("when prefill TP ≥ the model's 4 KV heads"),
            "{refused}"
        );
        assert!(refused.contains("(0.14.0 – 0.19.x, "), "{refused}");
        assert_eq!(pull(4, 2, "0.20.0"), None);
        assert!(
            pull(8, 2, "0.34.0")
                .unwrap()
                .contains("prefill TP 8 > decode TP 2")
        );
        // Decode TP above the heads is fine in pull mode: decode reads, it is not met.
        assert_eq!(pull(1, 8, "0.15.1"), None);
    }

    #[test]
    fn push_checks_both_sides() {
        let four_heads = ModelGeometry::attention(4, 4, 64);
        let push = |p, d, r| verdict(four_heads, p, d, Mode::Push, r);
        assert!(push(1, 1, "0.23.0").unwrap().contains("no push mode"));
        assert_eq!(push(2, 4, "0.24.0"), None);
        let refused = push(1, 8, "0.24.0").unwrap();
        assert!(
            refused.starts_with("vLLM 0.24.0 refuses decode TP 8 > prefill TP 1"),
            "{refused}"
        );
        assert!(
            push(8, 1, "0.34.0")
                .unwrap()
                .contains("prefill TP 8 > decode TP 1")
        );
    }

    #[test]
    fn mla_counts_config_heads_until_0_21() {
        let mla = |kv_heads| ModelGeometry {
            kv_heads,
            ..ModelGeometry::DEEPSEEK_V3
        };
        let pull = |heads, r| verdict(mla(heads), 2, 1, Mode::Pull, r);
        assert!(
            pull(1, "0.15.1")
                .unwrap()
                .contains("the config's 1 KV heads")
        );
        assert!(pull(1, "0.20.2").is_some());
        assert_eq!(pull(1, "0.21.0"), None);
        assert_eq!(pull(128, "0.14.0"), None); // DeepSeek-V3's 128
        assert!(pull(0, "0.20.0").unwrap().contains("--kv-heads"));
        assert_eq!(pull(0, "0.21.0"), None);
    }

    #[test]
    fn unregistrable_backends_are_refused() {
        let (qwen, one) = (ModelGeometry::QWEN3_0_6B, Parallelism::tp(1));
        let d = Deployment::new(qwen, one, one, Mode::Pull, BlockLayout::Contiguous).unwrap();
        let refused = d
            .for_release(Release::new(0, 24, 0), Backend::Cpu)
            .unwrap_err();
        assert_eq!(
            refused.to_string(),
            "vLLM 0.24.0's NIXL connector cannot register a CPU_ATTN KV cache: the worker \
             fails while registering it, before any transfer"
        );
        assert!(d.for_release(Release::new(0, 10, 2), Backend::Cpu).is_err());
        let mla = Deployment::new(
            ModelGeometry::DEEPSEEK_V3,
            one,
            one,
            Mode::Pull,
            BlockLayout::Contiguous,
        )
        .unwrap();
        let refused = mla
            .for_release(Release::new(0, 27, 1), Backend::Cpu)
            .unwrap_err();
        assert!(
            refused
                .to_string()
                .contains("does not run MLA models on CPU")
        );
        assert!(mla.for_release(CPU_MLA, Backend::Cpu).is_ok());
    }

    #[test]
    fn cpu_mla_refusal_comes_before_the_handshake() {
        // One latent head: before 0.21.0 prefill TP 2 > decode TP 1 would fail
        // the handshake, but on CPU the workers stop earlier, at startup.
        let tiny_mla = ModelGeometry {
            kv_heads: 1,
            ..ModelGeometry::DEEPSEEK_V3
        };
        let tp = Parallelism::tp;
        let d = Deployment::new(tiny_mla, tp(2), tp(1), Mode::Pull, BlockLayout::Contiguous);
        let release = Release::new(0, 15, 1);
        assert_eq!(
            d.unwrap().for_release(release, Backend::Cpu).unwrap_err(),
            Refusal::NoCpuMla(release)
        );
        let refused = verdict(tiny_mla, 2, 1, Mode::Pull, "0.15.1").unwrap();
        assert!(
            refused.contains("refuses prefill TP 2 > decode TP 1"),
            "{refused}"
        );
    }
}
