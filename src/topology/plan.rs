//! What one request costs: its transfers, bytes and descriptors.

use super::{Deployment, Instance, Mode, TopologyError};
use crate::topology::BlockLayout;

/// One NIXL transfer a request needs: one handle, from one rank of the
/// recording instance to one rank of the other, for one pipeline stage,
/// covering every layer of the stage and every block read.
///
/// ```
/// # use nixl_kv_metrics::topology::*;
/// let d = Deployment::new(ModelGeometry::QWEN3_0_6B, Parallelism::tp(1),
///     Parallelism::tp(1), Mode::Pull, BlockLayout::Contiguous)?;
/// let t = d.plan(640, 0)?.transfers[0];
/// assert_eq!((t.prefill_rank, t.decode_rank, t.recorder), (0, 0, Instance::Decode));
/// assert_eq!(t.recorder_rank(), 0);
/// assert_eq!((t.descriptors_unmerged, t.descriptors), (1_120, 28));
/// # Ok::<(), TopologyError>(())
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct PlannedTransfer {
    /// The pipeline stage (the same on both instances).
    pub stage: u32,
    /// The prefill rank.
    pub prefill_rank: u32,
    /// The decode rank.
    pub decode_rank: u32,
    /// The instance that issues the transfer and records its telemetry.
    pub recorder: Instance,
    /// Bytes moved (NIXL's `totalBytes`).
    pub bytes: u64,
    /// Descriptors in the list vLLM builds, before NIXL merges any: layers ×
    /// blocks × [`KvRegistration::per_layer_and_block`](super::KvRegistration::per_layer_and_block).
    pub descriptors_unmerged: u32,
    /// Descriptors after NIXL merged contiguous runs: what telemetry reports
    /// as `descCount`.
    pub descriptors: u32,
}

impl PlannedTransfer {
    /// The rank, on the recording instance, that issues the transfer.
    ///
    /// ```
    /// # use nixl_kv_metrics::topology::*;
    /// let d = Deployment::new(ModelGeometry::QWEN3_0_6B, Parallelism::tp(2),
    ///     Parallelism::tp(4), Mode::Push, BlockLayout::Contiguous)?;
    /// let t = d.plan(16, 0)?.transfers[3]; // prefill rank 1 writes decode rank 3
    /// assert_eq!((t.recorder_rank(), t.decode_rank), (1, 3));
    /// # Ok::<(), TopologyError>(())
    /// ```
    pub fn recorder_rank(&self) -> u32 {
        match self.recorder {
            Instance::Prefill => self.prefill_rank,
            Instance::Decode => self.decode_rank,
        }
    }
}

/// A notification without data: a prefill rank told by a decode rank that
/// it no longer needs the request's blocks (pull mode: a full prefix-cache
/// hit, or a replicated rank that is not read).
///
/// ```
/// # use nixl_kv_metrics::topology::*;
/// let d = Deployment::new(ModelGeometry::QWEN3_0_6B, Parallelism::tp(2),
///     Parallelism::tp(2), Mode::Pull, BlockLayout::Contiguous)?;
/// let plan = d.plan(32, 32)?; // everything hit in decode's prefix cache
/// assert!(plan.transfers.is_empty());
/// assert_eq!(plan.notifications[1], Notification { stage: 0, prefill_rank: 1, decode_rank: 1 });
/// # Ok::<(), TopologyError>(())
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Notification {
    /// The pipeline stage.
    pub stage: u32,
    /// The prefill rank notified.
    pub prefill_rank: u32,
    /// The decode rank that sends it.
    pub decode_rank: u32,
}

/// Everything one request moves between the instances.
///
/// ```
/// # use nixl_kv_metrics::topology::*;
/// let d = Deployment::new(ModelGeometry::LLAMA_3_1_8B, Parallelism::tp(2),
///     Parallelism::tp(2), Mode::Pull, BlockLayout::Contiguous)?;
/// let plan = d.plan(100, 40)?; // 7 blocks, 2 of them already on decode
/// assert_eq!((plan.prompt_blocks, plan.blocks), (7, 5));
/// assert_eq!(plan.total_bytes(), 2 * 5 * 16 * 2 * 32 * 4 * 128 * 2);
/// # Ok::<(), TopologyError>(())
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct RequestPlan {
    /// Blocks the prompt occupies, `ceil(tokens / block_size)`.
    pub prompt_blocks: u32,
    /// Blocks transferred: the prompt's, less those decode already holds.
    pub blocks: u32,
    /// The transfers, by stage, recording rank, then posting order.
    pub transfers: Vec<PlannedTransfer>,
    /// Data-less notifications to prefill ranks (pull mode).
    pub notifications: Vec<Notification>,
}

impl RequestPlan {
    /// Bytes over all transfers.
    ///
    /// ```
    /// # use nixl_kv_metrics::topology::*;
    /// let d = Deployment::new(ModelGeometry::QWEN3_0_6B, Parallelism::tp(1),
    ///     Parallelism::tp(1), Mode::Pull, BlockLayout::Contiguous)?;
    /// assert_eq!(d.plan(640, 0)?.total_bytes(), 70 << 20);
    /// # Ok::<(), TopologyError>(())
    /// ```
    pub fn total_bytes(&self) -> u64 {
        self.transfers.iter().map(|t| t.bytes).sum()
    }
}

impl Deployment {
    /// The plan of one request of `tokens` prompt tokens, `prefix_hit_tokens`
    /// of which decode already holds in its prefix cache.
    ///
    /// Only whole blocks are cached, so the hit is rounded down to blocks;
    /// the prompt's last block is transferred whole even when partly filled.
    /// With no block left to move there is no transfer; in pull mode the
    /// decode ranks then notify their prefill ranks instead.
    ///
    /// Bytes per transfer, standard attention:
    /// `blocks × block_size × 2 × layers × heads × head_dim × dtype_bytes`,
    /// with `layers` those of one stage and `heads =
    /// max(1, kv_heads / max(P_TP, D_TP))` (the full per-rank slice at equal
    /// TP; the decode rank's slice when `D_TP > P_TP`; `1/k` of it when
    /// `P_TP > D_TP`). MLA: `blocks × block_size × layers × latent ×
    /// dtype_bytes`. Descriptors: as [`Deployment::descriptors`] counts them
    /// for the deployment's [`KvRegistration`](super::KvRegistration), the
    /// blocks forming one run ([`BlockLayout::Contiguous`]) or none adjacent
    /// ([`BlockLayout::Scattered`]).
    ///
    /// ```
    /// # use nixl_kv_metrics::topology::*;
    /// // The example line of vLLM issue #41230: one 16-token block of a
    /// // 36-layer, 8-KV-head model at TP=1: 2.25 MiB in 36 descriptors (K and
    /// // V packed, vLLM 0.26 on), 72 where K and V are two regions.
    /// let d = Deployment::new(ModelGeometry::attention(36, 8, 128), Parallelism::tp(1),
    ///     Parallelism::tp(1), Mode::Pull, BlockLayout::Contiguous)?;
    /// let t = d.plan(16, 0)?.transfers[0];
    /// assert_eq!((t.bytes, t.descriptors), (2_359_296, 36));
    /// let split = d.with_registration(KvRegistration::TwoRegions);
    /// assert_eq!(split.plan(16, 0)?.transfers[0].descriptors, 72);
    /// assert_eq!(d.plan(16, 17), Err(TopologyError::HitBeyondPrompt { tokens: 16, hit: 17 }));
    /// # Ok::<(), TopologyError>(())
    /// ```
    pub fn plan(&self, tokens: u32, prefix_hit_tokens: u32) -> Result<RequestPlan, TopologyError> {
        if tokens == 0 {
            return Err(TopologyError::Zero("prompt tokens"));
        }
        if prefix_hit_tokens > tokens {
            return Err(TopologyError::HitBeyondPrompt {
                tokens,
                hit: prefix_hit_tokens,
            });
        }
        let model = self.model();
        let prompt_blocks = tokens.div_ceil(model.block_size);
        let blocks = prompt_blocks - prefix_hit_tokens / model.block_size;
        let (bytes, descriptors_unmerged, descriptors) = self.transfer_size(blocks)?;
        let recorder = self.mode().recorder();
        let mut plan = RequestPlan {
            prompt_blocks,
            blocks,
            transfers: Vec::new(),
            notifications: Vec::new(),
        };
        for stage in 0..self.prefill().pp {
            for rank in 0..self.parallelism(recorder).tp {
                let peers = self.peers(rank);
                let notified = self.notified_only(rank);
                let notify = |&prefill_rank: &u32| Notification {
                    stage,
                    prefill_rank,
                    decode_rank: rank,
                };
                if blocks == 0 {
                    if self.mode() == Mode::Pull {
                        let all = peers.iter().chain(&notified);
                        plan.notifications.extend(all.map(notify));
                    }
                    continue;
                }
                plan.transfers.extend(peers.iter().map(|&peer| {
                    let (prefill_rank, decode_rank) = match recorder {
                        Instance::Prefill => (rank, peer),
                        Instance::Decode => (peer, rank),
                    };
                    PlannedTransfer {
                        stage,
                        prefill_rank,
                        decode_rank,
                        recorder,
                        bytes,
                        descriptors_unmerged,
                        descriptors,
                    }
                }));
                plan.notifications.extend(notified.iter().map(notify));
            }
        }
        Ok(plan)
    }

    /// Bytes, unmerged and merged descriptors of one transfer of `blocks`.
    fn transfer_size(&self, blocks: u32) -> Result<(u64, u32, u32), TopologyError> {
        let model = self.model();
        let layers = self.layers_per_stage();
        // K and V (twice a head's elements per token and layer), or MLA's latent.
        let per_token_layer = match model.mla_latent_width {
            Some(latent) => u64::from(latent),
            None => [2, self.heads_per_transfer(), u64::from(model.head_dim)]
                .into_iter()
                .try_fold(1u64, u64::checked_mul)
                .ok_or(TopologyError::Overflow)?,
        };
        let bytes = [
            u64::from(blocks),
            u64::from(model.block_size),
            u64::from(layers),
            per_token_layer,
            u64::from(model.dtype_bytes),
        ]
        .into_iter()
        .try_fold(1u64, u64::checked_mul)
        .ok_or(TopologyError::Overflow)?;
        let blocks = u64::from(blocks);
        let runs = match self.layout() {
            BlockLayout::Contiguous => blocks.min(1),
            BlockLayout::Scattered => blocks,
        };
        let per_block = u64::from(self.registration().per_layer_and_block());
        let unmerged = [u64::from(layers), per_block, blocks]
            .into_iter()
            .try_fold(1u64, u64::checked_mul)
            .ok_or(TopologyError::Overflow)?;
        let merged = self.descriptor_count(blocks, runs);
        let fit = |n: u64| u32::try_from(n).map_err(|_| TopologyError::Overflow);
        Ok((bytes, fit(unmerged)?, fit(merged)?))
    }
}
