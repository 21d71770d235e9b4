//! A validated P/D deployment and its rank mapping.

use super::{
    Instance, KvRegistration, Mode, ModelGeometry, NixlMerge, Parallelism, TopologyError, runs,
};

/// Where a request's blocks sit in the KV-cache tensors, on both instances.
///
/// NIXL merges consecutive descriptors of a transfer that are contiguous in
/// memory on both the local and the remote side. The connector lists
/// descriptors region by region, block by block, so a run of consecutive
/// block ids collapses into one descriptor per region, but only when each
/// descriptor covers whole blocks on both sides: a head slice of a block
/// (heterogeneous TP, one side holding more heads per rank) is not
/// contiguous with the next block's slice.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum BlockLayout {
    /// The request's blocks have consecutive ids on both instances (a fresh
    /// cache, or a lucky allocator).
    Contiguous,
    /// No two of the request's blocks are adjacent: nothing merges.
    Scattered,
}

/// A prefill and a decode instance serving one model, validated.
///
/// Checked on construction: every size is at least 1; the smaller TP
/// divides the larger (vLLM's `tp_ratio` requires it); for standard
/// attention the KV heads split over each TP (one of heads and TP divides
/// the other); both instances have the same pipeline-parallel size and the
/// layers split evenly over it (stage `s` transfers with stage `s`; vLLM's
/// newer PP-aware mapping across unequal pipelines is not modelled).
///
/// ```
/// use nixl_kv_metrics::topology::{BlockLayout, Deployment, Mode, ModelGeometry, Parallelism, TopologyError};
///
/// let deployment = Deployment::new(
///     ModelGeometry::QWEN3_0_6B, Parallelism::tp(1), Parallelism::tp(8),
///     Mode::Pull, BlockLayout::Contiguous,
/// )?;
/// assert_eq!(deployment.decode().tp, 8);
/// let bad = Deployment::new(
///     ModelGeometry::QWEN3_0_6B, Parallelism::tp(1), Parallelism::tp(3),
///     Mode::Pull, BlockLayout::Contiguous,
/// );
/// assert_eq!(bad, Err(TopologyError::HeadsVsTp { kv_heads: 8, tp: 3 }));
/// # Ok::<(), TopologyError>(())
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Deployment {
    model: ModelGeometry,
    prefill: Parallelism,
    decode: Parallelism,
    mode: Mode,
    layout: BlockLayout,
    registration: KvRegistration,
    merge: NixlMerge,
}

impl Deployment {
    /// A deployment, or the first reason it cannot be modelled.
    ///
    /// ```
    /// # use nixl_kv_metrics::topology::*;
    /// let pp2 = Parallelism::new(2, 2, 1);
    /// assert!(Deployment::new(ModelGeometry::LLAMA_3_1_8B, pp2, pp2,
    ///     Mode::Push, BlockLayout::Scattered).is_ok());
    /// assert_eq!(
    ///     Deployment::new(ModelGeometry::LLAMA_3_1_8B, pp2, Parallelism::tp(2),
    ///         Mode::Push, BlockLayout::Scattered),
    ///     Err(TopologyError::PpMismatch { prefill: 2, decode: 1 }),
    /// );
    /// ```
    pub fn new(
        model: ModelGeometry,
        prefill: Parallelism,
        decode: Parallelism,
        mode: Mode,
        layout: BlockLayout,
    ) -> Result<Deployment, TopologyError> {
        let sizes = [
            (model.layers, "layers"),
            (model.dtype_bytes, "dtype bytes"),
            (model.block_size, "block size"),
            (prefill.tp, "prefill TP"),
            (prefill.pp, "prefill PP"),
            (prefill.dp, "prefill DP"),
            (decode.tp, "decode TP"),
            (decode.pp, "decode PP"),
            (decode.dp, "decode DP"),
        ];
        let attention = [(model.kv_heads, "KV heads"), (model.head_dim, "head dim")];
        let latent = [(model.mla_latent_width.unwrap_or(0), "MLA latent width")];
        let model_sizes: &[_] = if model.is_mla() { &latent } else { &attention };
        if let Some(&(_, what)) = sizes.iter().chain(model_sizes).find(|(n, _)| *n == 0) {
            return Err(TopologyError::Zero(what));
        }
        let (small, large) = (prefill.tp.min(decode.tp), prefill.tp.max(decode.tp));
        if !large.is_multiple_of(small) {
            return Err(TopologyError::TpRatio {
                prefill: prefill.tp,
                decode: decode.tp,
            });
        }
        if !model.is_mla() {
            for tp in [prefill.tp, decode.tp] {
                let (h, t) = (model.kv_heads, tp);
                if !h.max(t).is_multiple_of(h.min(t)) {
                    return Err(TopologyError::HeadsVsTp { kv_heads: h, tp });
                }
            }
        }
        if prefill.pp != decode.pp {
            return Err(TopologyError::PpMismatch {
                prefill: prefill.pp,
                decode: decode.pp,
            });
        }
        if !model.layers.is_multiple_of(prefill.pp) {
            return Err(TopologyError::LayersVsPp {
                layers: model.layers,
                pp: prefill.pp,
            });
        }
        Ok(Deployment {
            model,
            prefill,
            decode,
            mode,
            layout,
            registration: KvRegistration::WholeBlocks,
            merge: NixlMerge::DenseStrides,
        })
    }

    /// The same deployment with the KV cache registered as `registration`
    /// (by default [`KvRegistration::WholeBlocks`], what every backend does
    /// from vLLM 0.26.0; [`KvRegistration::of`] gives it for a release and
    /// backend). It changes descriptor counts only, never bytes.
    ///
    /// ```
    /// # use nixl_kv_metrics::topology::*;
    /// // The line of vLLM issue #41230: one 16-token block of a 36-layer model.
    /// let d = Deployment::new(ModelGeometry::attention(36, 8, 128), Parallelism::tp(1),
    ///     Parallelism::tp(1), Mode::Pull, BlockLayout::Contiguous)?;
    /// let old = d.with_registration(KvRegistration::TwoRegions); // vLLM 0.11 – 0.22, FlashAttention
    /// assert_eq!(d.plan(16, 0)?.transfers[0].descriptors, 36);
    /// assert_eq!(old.plan(16, 0)?.transfers[0].descriptors, 72);
    /// assert_eq!(old.plan(16, 0)?.total_bytes(), d.plan(16, 0)?.total_bytes());
    /// # Ok::<(), TopologyError>(())
    /// ```
    pub fn with_registration(self, registration: KvRegistration) -> Deployment {
        Deployment {
            registration,
            ..self
        }
    }

    /// The same deployment with the request's blocks laid out as `layout`.
    ///
    /// ```
    /// # use nixl_kv_metrics::topology::*;
    /// let d = Deployment::new(ModelGeometry::QWEN3_0_6B, Parallelism::tp(1),
    ///     Parallelism::tp(1), Mode::Pull, BlockLayout::Contiguous)?;
    /// let scattered = d.with_layout(BlockLayout::Scattered);
    /// assert_eq!(scattered.plan(64, 0)?.transfers[0].descriptors, 28 * 4);
    /// # Ok::<(), TopologyError>(())
    /// ```
    pub fn with_layout(self, layout: BlockLayout) -> Deployment {
        Deployment { layout, ..self }
    }

    /// The same deployment under another NIXL merge rule (by default
    /// [`NixlMerge::DenseStrides`], NIXL 1.4 on).
    pub fn with_nixl_merge(self, merge: NixlMerge) -> Deployment {
        Deployment { merge, ..self }
    }

    /// How the KV cache is registered with NIXL.
    pub fn registration(&self) -> KvRegistration {
        self.registration
    }

    /// The descriptors NIXL reports for one transfer of the blocks
    /// `local[i]` ← `remote[i]`, for this deployment's layers per stage,
    /// registration and TP sizes ([`KvRegistration::descriptors`]).
    ///
    /// ```
    /// # use nixl_kv_metrics::topology::*;
    /// // Measured on vLLM 0.34.0 (tests/golden/realstack): 4 layers, 7 blocks.
    /// let d = Deployment::new(ModelGeometry::attention(4, 4, 64), Parallelism::tp(1),
    ///     Parallelism::tp(2), Mode::Pull, BlockLayout::Contiguous)?;
    /// let adjacent: Vec<u32> = (10..17).collect();
    /// assert_eq!(d.descriptors(&adjacent, &adjacent), 28); // head slices never merge
    /// let same_tp = Deployment::new(ModelGeometry::attention(4, 4, 64), Parallelism::tp(2),
    ///     Parallelism::tp(2), Mode::Pull, BlockLayout::Contiguous)?;
    /// assert_eq!(same_tp.descriptors(&adjacent, &adjacent), 4);
    /// # Ok::<(), TopologyError>(())
    /// ```
    ///
    /// # Panics
    ///
    /// If `local` and `remote` differ in length.
    pub fn descriptors(&self, local: &[u32], remote: &[u32]) -> u64 {
        assert_eq!(
            local.len(),
            remote.len(),
            "one remote block per local block"
        );
        self.descriptor_count(local.len() as u64, runs(local, remote))
    }

    /// The descriptors of one transfer of `blocks` blocks forming `runs`.
    pub(super) fn descriptor_count(&self, blocks: u64, runs: u64) -> u64 {
        self.registration.count(
            self.layers_per_stage(),
            blocks,
            runs,
            !self.whole_blocks(),
            self.merge,
        )
    }

    /// The model's geometry.
    ///
    /// ```
    /// # use nixl_kv_metrics::topology::*;
    /// let d = Deployment::new(ModelGeometry::QWEN3_0_6B, Parallelism::tp(1),
    ///     Parallelism::tp(1), Mode::Pull, BlockLayout::Contiguous)?;
    /// assert_eq!(d.model(), ModelGeometry::QWEN3_0_6B);
    /// # Ok::<(), TopologyError>(())
    /// ```
    pub fn model(&self) -> ModelGeometry {
        self.model
    }

    /// The prefill instance's layout.
    ///
    /// ```
    /// # use nixl_kv_metrics::topology::*;
    /// let d = Deployment::new(ModelGeometry::QWEN3_0_6B, Parallelism::tp(2),
    ///     Parallelism::tp(1), Mode::Pull, BlockLayout::Contiguous)?;
    /// assert_eq!(d.prefill().tp, 2);
    /// # Ok::<(), TopologyError>(())
    /// ```
    pub fn prefill(&self) -> Parallelism {
        self.prefill
    }

    /// The decode instance's layout.
    ///
    /// ```
    /// # use nixl_kv_metrics::topology::*;
    /// let d = Deployment::new(ModelGeometry::QWEN3_0_6B, Parallelism::tp(2),
    ///     Parallelism::tp(1), Mode::Pull, BlockLayout::Contiguous)?;
    /// assert_eq!(d.decode().tp, 1);
    /// # Ok::<(), TopologyError>(())
    /// ```
    pub fn decode(&self) -> Parallelism {
        self.decode
    }

    /// The layout of `instance`.
    ///
    /// ```
    /// # use nixl_kv_metrics::topology::*;
    /// let d = Deployment::new(ModelGeometry::QWEN3_0_6B, Parallelism::new(2, 1, 3),
    ///     Parallelism::tp(1), Mode::Pull, BlockLayout::Contiguous)?;
    /// assert_eq!(d.parallelism(Instance::Prefill).dp, 3);
    /// # Ok::<(), TopologyError>(())
    /// ```
    pub fn parallelism(&self, instance: Instance) -> Parallelism {
        match instance {
            Instance::Prefill => self.prefill,
            Instance::Decode => self.decode,
        }
    }

    /// Pull or push.
    ///
    /// ```
    /// # use nixl_kv_metrics::topology::*;
    /// let d = Deployment::new(ModelGeometry::QWEN3_0_6B, Parallelism::tp(1),
    ///     Parallelism::tp(1), Mode::Push, BlockLayout::Contiguous)?;
    /// assert_eq!(d.mode(), Mode::Push);
    /// # Ok::<(), TopologyError>(())
    /// ```
    pub fn mode(&self) -> Mode {
        self.mode
    }

    /// Whether a request's blocks are contiguous.
    ///
    /// ```
    /// # use nixl_kv_metrics::topology::*;
    /// let d = Deployment::new(ModelGeometry::QWEN3_0_6B, Parallelism::tp(1),
    ///     Parallelism::tp(1), Mode::Pull, BlockLayout::Scattered)?;
    /// assert_eq!(d.layout(), BlockLayout::Scattered);
    /// # Ok::<(), TopologyError>(())
    /// ```
    pub fn layout(&self) -> BlockLayout {
        self.layout
    }

    /// Layers per pipeline stage (each stage's workers hold and transfer
    /// only their own layers).
    ///
    /// ```
    /// # use nixl_kv_metrics::topology::*;
    /// let pp2 = Parallelism::new(1, 2, 1);
    /// let d = Deployment::new(ModelGeometry::QWEN3_0_6B, pp2, pp2,
    ///     Mode::Pull, BlockLayout::Contiguous)?;
    /// assert_eq!(d.layers_per_stage(), 14);
    /// # Ok::<(), TopologyError>(())
    /// ```
    pub fn layers_per_stage(&self) -> u32 {
        self.model.layers / self.prefill.pp
    }

    /// How many times one expired request is counted
    /// (`num_kv_expired_reqs`): once by every worker of the prefill engine
    /// that held it, `P_TP × P_PP`, since each keeps its own lease table.
    ///
    /// ```
    /// # use nixl_kv_metrics::topology::*;
    /// let d = Deployment::new(ModelGeometry::LLAMA_3_1_8B, Parallelism::tp(4),
    ///     Parallelism::tp(1), Mode::Pull, BlockLayout::Contiguous)?;
    /// assert_eq!(d.expiry_records_per_request(), 4);
    /// # Ok::<(), TopologyError>(())
    /// ```
    pub fn expiry_records_per_request(&self) -> u64 {
        self.prefill.workers_per_engine()
    }

    /// The ranks of the other instance that `rank` of the recording
    /// instance ([`Mode::recorder`]) transfers with, in posting order: for
    /// pull, the prefill ranks a decode rank READs from; for push, the
    /// decode ranks a prefill rank WRITEs to.
    ///
    /// vLLM's `compute_tp_mapping`, seen from the issuing rank with local
    /// TP `L` and remote TP `R`: for MLA or `L ≥ R`, the one rank
    /// `rank × R / L`; otherwise the `k = R / L` ranks `rank × k + i`,
    /// keeping only the first rank of each distinct KV head (GQA
    /// de-duplication, which only drops ranks when the model has fewer KV
    /// heads than `R`; vLLM refuses that case at handshake for pure
    /// attention models, it matters for hybrids). In push mode an MLA
    /// prefill rank writes the replicated latent to each of its `k` decode
    /// ranks (`push_worker.py`, `_xfer_blocks_for_req`).
    ///
    /// ```
    /// # use nixl_kv_metrics::topology::*;
    /// let pull = Deployment::new(ModelGeometry::LLAMA_3_1_8B, Parallelism::tp(8),
    ///     Parallelism::tp(2), Mode::Pull, BlockLayout::Contiguous)?;
    /// assert_eq!(pull.peers(1), vec![4, 5, 6, 7]);
    /// // Two KV heads over prefill TP 4: ranks 0,1 hold head 0, ranks 2,3 head 1.
    /// let gqa = Deployment::new(ModelGeometry::attention(24, 2, 128), Parallelism::tp(4),
    ///     Parallelism::tp(1), Mode::Pull, BlockLayout::Contiguous)?;
    /// assert_eq!(gqa.peers(0), vec![0, 2]);
    /// # Ok::<(), TopologyError>(())
    /// ```
    pub fn peers(&self, rank: u32) -> Vec<u32> {
        let (local, remote) = match self.mode {
            Mode::Pull => (self.decode.tp, self.prefill.tp),
            Mode::Push => (self.prefill.tp, self.decode.tp),
        };
        let (local, remote, rank) = (u64::from(local), u64::from(remote), u64::from(rank));
        let to_u32 = |r: u64| u32::try_from(r).expect("a rank below a u32 TP size");
        let k = remote / local;
        if self.mode == Mode::Push && self.model.is_mla() && remote > local {
            return (rank * k..rank * k + k).map(to_u32).collect();
        }
        if self.model.is_mla() || local >= remote {
            return vec![to_u32(rank * remote / local)];
        }
        let heads = u64::from(self.model.kv_heads);
        let head_of = |r: u64| r * heads / remote;
        (rank * k..rank * k + k)
            .filter(|&r| r == rank * k || head_of(r) != head_of(r - 1))
            .map(to_u32)
            .collect()
    }

    /// The prefill ranks a pull-mode decode rank maps to but does not READ
    /// from: they get a notification only. For MLA with `P_TP > D_TP` the
    /// latent is replicated, so one READ suffices and the other `k − 1`
    /// ranks are notified (`_read_blocks_for_req`). Ranks dropped by GQA
    /// de-duplication are treated the same way. Empty in push mode.
    ///
    /// ```
    /// # use nixl_kv_metrics::topology::*;
    /// let mla = Deployment::new(ModelGeometry::DEEPSEEK_V3, Parallelism::tp(4),
    ///     Parallelism::tp(2), Mode::Pull, BlockLayout::Contiguous)?;
    /// assert_eq!(mla.peers(1), vec![2]);
    /// assert_eq!(mla.notified_only(1), vec![3]);
    /// # Ok::<(), TopologyError>(())
    /// ```
    pub fn notified_only(&self, decode_rank: u32) -> Vec<u32> {
        if self.mode == Mode::Push || self.prefill.tp <= self.decode.tp {
            return Vec::new();
        }
        let k = self.prefill.tp / self.decode.tp;
        let read = self.peers(decode_rank);
        (decode_rank * k..decode_rank * k + k)
            .filter(|r| !read.contains(r))
            .collect()
    }

    /// KV heads one transfer carries per layer and region (standard
    /// attention): each side holds `max(1, H / TP)` heads per rank, and a
    /// transfer moves the slice held by the side with more ranks, so
    /// `max(1, H / max(P_TP, D_TP))`.
    pub(super) fn heads_per_transfer(&self) -> u64 {
        let tp = self.prefill.tp.max(self.decode.tp);
        u64::from((self.model.kv_heads / tp).max(1))
    }

    /// True when a transfer's descriptors cover whole blocks on both sides,
    /// so that contiguous blocks can merge: always for MLA (the latent is
    /// replicated), and for standard attention when both sides hold the
    /// same heads per rank.
    pub(super) fn whole_blocks(&self) -> bool {
        let per_rank = |tp: u32| (self.model.kv_heads / tp).max(1);
        self.model.is_mla() || per_rank(self.prefill.tp) == per_rank(self.decode.tp)
    }
}
