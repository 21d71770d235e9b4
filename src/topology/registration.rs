//! How vLLM registers the KV cache with NIXL, and so how many descriptors a
//! transfer reports.
//!
//! `Avg number of descriptors` is NIXL's `descCount`: the descriptors of a
//! transfer *after* NIXL merged neighbours. vLLM builds one descriptor per
//! registered region and block, region after region; NIXL then merges
//! entries that follow each other in the list and are adjacent in memory on
//! both sides. What a region is changed with the release and the attention
//! backend's KV-cache shape ([`KvRegistration::of`]):
//!
//! | registration | vLLM | descriptors of one READ of `B` blocks forming `R` runs, `L` layers |
//! |---|---|---|
//! | [`TwoRegions`](KvRegistration::TwoRegions) | FlashAttention 0.11.0 – 0.22.x; CPU 0.11.0 – 0.22.x | `2 × L × R` |
//! | [`HalfBlocks`](KvRegistration::HalfBlocks) | FlashAttention 0.23.0 – 0.25.x; FlashInfer and Triton up to 0.25.x | `2 × L × B` (`L` for one block with NIXL up to 1.3) |
//! | [`WholeBlocks`](KvRegistration::WholeBlocks) | every backend from 0.26.0; MLA in every release | `L × R` |
//!
//! A *run* is a stretch of the request's block list whose local and remote
//! block ids both go up by one from entry to entry ([`runs`]). When the two
//! instances run different TP sizes (standard attention), each descriptor is
//! a slice of a block's heads, which is never adjacent to the next block's
//! slice: nothing merges and every block counts.
//!
//! Measured on CPU with vLLM's own NIXL worker (`tests/golden/realstack`):
//! 0.15.1 registers K and V as two regions per layer; 0.34.0 packs them into
//! one. The table's other rows are read from vLLM's source at those release
//! tags (`nixl_connector.py` `register_kv_caches`, later
//! `v1/nixl/base_worker.py`, and each backend's `get_kv_cache_shape`).
//!
//! ```
//! use nixl_kv_metrics::release::Release;
//! use nixl_kv_metrics::topology::{Backend, KvRegistration, NixlMerge};
//!
//! // The line of vLLM issue #41230: one block of a 36-layer model.
//! let old = KvRegistration::of("0.15.0".parse()?, Backend::FlashAttention, false)?;
//! let new = KvRegistration::of("0.34.0".parse()?, Backend::FlashAttention, false)?;
//! let one_block = ([7], [12]);
//! assert_eq!(old.descriptors(36, &one_block.0, &one_block.1, false, NixlMerge::DenseStrides), 72);
//! assert_eq!(new.descriptors(36, &one_block.0, &one_block.1, false, NixlMerge::DenseStrides), 36);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use std::fmt;
use std::str::FromStr;

use crate::release::{Release, Releases};

/// The attention backend of the workers, which decides the KV cache's shape.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Backend {
    /// FlashAttention (`FLASH_ATTN`), vLLM's default on CUDA.
    FlashAttention,
    /// FlashInfer (`FLASHINFER`).
    FlashInfer,
    /// The Triton attention backend (`TRITON_ATTN`).
    Triton,
    /// vLLM's CPU backend (`CPU_ATTN`), the one the real-stack fixtures run.
    Cpu,
}

impl Backend {
    /// Every backend modelled, in the order of [`Backend::name`]'s list.
    pub const ALL: [Backend; 4] = [
        Backend::FlashAttention,
        Backend::FlashInfer,
        Backend::Triton,
        Backend::Cpu,
    ];

    /// The name vLLM gives the backend (`VLLM_ATTENTION_BACKEND`).
    pub const fn name(self) -> &'static str {
        match self {
            Backend::FlashAttention => "FLASH_ATTN",
            Backend::FlashInfer => "FLASHINFER",
            Backend::Triton => "TRITON_ATTN",
            Backend::Cpu => "CPU_ATTN",
        }
    }
}

impl fmt::Display for Backend {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Backend {
    type Err = String;

    /// vLLM's name of the backend, in any case, `-` or `_` alike
    /// (`FLASH_ATTN`, `flash-attn`, `flashinfer`, `triton_attn`, `cpu`).
    fn from_str(text: &str) -> Result<Backend, String> {
        let key = text.to_ascii_uppercase().replace('-', "_");
        let key = key.strip_suffix("_ATTN").unwrap_or(&key);
        Backend::ALL
            .into_iter()
            .find(|b| b.name().strip_suffix("_ATTN").unwrap_or(b.name()) == key)
            .ok_or_else(|| {
                let names: Vec<&str> = Backend::ALL.iter().map(|b| b.name()).collect();
                format!(
                    "unknown attention backend; expected one of {}",
                    names.join(", ")
                )
            })
    }
}

/// How the NIXL worker registers one layer's KV cache.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum KvRegistration {
    /// K and V are separate tensors, registered as two regions per layer;
    /// each block is one descriptor in each.
    TwoRegions,
    /// One region per layer whose blocks hold K then V; vLLM describes each
    /// block as a K half and a V half, neither of which is adjacent to the
    /// next block's, so blocks never merge.
    HalfBlocks,
    /// One region per layer and one descriptor per block: K and V packed
    /// into each block (0.26.0 on), or MLA's single latent.
    WholeBlocks,
}

/// NIXL's rule for merging neighbouring descriptors, which changed in NIXL
/// 1.4. The two differ only for a one-block [`KvRegistration::HalfBlocks`]
/// transfer, whose K half and V half are adjacent.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum NixlMerge {
    /// NIXL up to 1.3: neighbours in the list merge when they are adjacent
    /// in memory on both sides and in the same registration.
    Contiguous,
    /// NIXL 1.4 on (1.5.1 is measured here): only dense strides merge, each
    /// descriptor a whole stride.
    DenseStrides,
}

/// A release and backend whose KV cache the NIXL worker cannot register.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Unregistrable {
    /// The release.
    pub release: Release,
    /// The backend.
    pub backend: Backend,
}

impl fmt::Display for Unregistrable {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "vLLM {}'s NIXL connector cannot register a {} KV cache",
            self.release, self.backend
        )
    }
}

impl std::error::Error for Unregistrable {}

impl KvRegistration {
    /// How `release` registers the KV cache of `backend` (of an MLA model
    /// when `mla`: one latent region per layer in every release).
    ///
    /// Two combinations cannot register at all, read from the source: 0.11.0
    /// takes Triton's blocks-first cache for a K/V pair, and 0.23.0 – 0.25.x
    /// take the CPU backend's packed 4-dimensional cache for one.
    ///
    /// ```
    /// use nixl_kv_metrics::topology::{Backend, KvRegistration};
    ///
    /// let of = |r: &str, b| KvRegistration::of(r.parse().unwrap(), b, false);
    /// assert_eq!(of("0.22.1", Backend::FlashAttention), Ok(KvRegistration::TwoRegions));
    /// assert_eq!(of("0.23.0", Backend::FlashAttention), Ok(KvRegistration::HalfBlocks));
    /// assert_eq!(of("0.25.1", Backend::FlashInfer), Ok(KvRegistration::HalfBlocks));
    /// assert_eq!(of("0.26.0", Backend::Triton), Ok(KvRegistration::WholeBlocks));
    /// assert!(of("0.24.0", Backend::Cpu).is_err());
    /// ```
    pub fn of(
        release: Release,
        backend: Backend,
        mla: bool,
    ) -> Result<KvRegistration, Unregistrable> {
        let [_, triton_recognised, blocks_first, packed] = CHANGES;
        let unregistrable = Err(Unregistrable { release, backend });
        if mla {
            return Ok(KvRegistration::WholeBlocks);
        }
        if release >= packed {
            return Ok(KvRegistration::WholeBlocks);
        }
        match backend {
            Backend::FlashAttention if release < blocks_first => Ok(KvRegistration::TwoRegions),
            Backend::Cpu if release < blocks_first => Ok(KvRegistration::TwoRegions),
            Backend::Cpu => unregistrable,
            Backend::Triton if release < triton_recognised => unregistrable,
            Backend::FlashAttention | Backend::FlashInfer | Backend::Triton => {
                Ok(KvRegistration::HalfBlocks)
            }
        }
    }

    /// How `backend`'s registration ran over the releases, standard
    /// attention: each run of releases with the same outcome.
    ///
    /// ```
    /// use nixl_kv_metrics::topology::{Backend, KvRegistration};
    ///
    /// let runs: Vec<String> = KvRegistration::history(Backend::FlashAttention)
    ///     .iter()
    ///     .map(|(releases, registration)| format!("{releases}: {registration:?}"))
    ///     .collect();
    /// assert_eq!(runs, [
    ///     "0.11.0 – 0.22.x: Ok(TwoRegions)",
    ///     "0.23.0 – 0.25.x: Ok(HalfBlocks)",
    ///     "0.26.0 – 0.34.0 and newer: Ok(WholeBlocks)",
    /// ]);
    /// ```
    pub fn history(backend: Backend) -> Vec<(Releases, Result<KvRegistration, Unregistrable>)> {
        let outcome = |release| KvRegistration::of(release, backend, false);
        let starts: Vec<Release> = CHANGES
            .iter()
            .enumerate()
            .filter(|&(i, &release)| {
                i == 0 || outcome(CHANGES[i - 1]).ok() != outcome(release).ok()
            })
            .map(|(_, &release)| release)
            .collect();
        starts
            .iter()
            .enumerate()
            .map(|(i, &start)| {
                (
                    Releases::before(start, starts.get(i + 1).copied()),
                    outcome(start),
                )
            })
            .collect()
    }

    /// Descriptors per layer and block in the list vLLM builds, before NIXL
    /// merges any: two for [`TwoRegions`](KvRegistration::TwoRegions) and
    /// [`HalfBlocks`](KvRegistration::HalfBlocks), one for
    /// [`WholeBlocks`](KvRegistration::WholeBlocks).
    pub const fn per_layer_and_block(self) -> u32 {
        match self {
            KvRegistration::TwoRegions | KvRegistration::HalfBlocks => 2,
            KvRegistration::WholeBlocks => 1,
        }
    }

    /// The `descCount` NIXL reports for one transfer of `layers` layers of
    /// the blocks `local[i]` ← `remote[i]` (the same length), each
    /// descriptor a slice of heads when `head_slices` (TP sizes that differ,
    /// standard attention), under NIXL's `merge` rule.
    ///
    /// ```
    /// use nixl_kv_metrics::topology::{KvRegistration, NixlMerge};
    ///
    /// let packed = KvRegistration::WholeBlocks;
    /// let n = |local: &[u32], remote: &[u32], slices| {
    ///     packed.descriptors(4, local, remote, slices, NixlMerge::DenseStrides)
    /// };
    /// assert_eq!(n(&[1, 2, 3, 4], &[5, 6, 7, 8], false), 4); // one run per layer
    /// assert_eq!(n(&[1, 2, 3, 4], &[8, 7, 6, 5], false), 16); // reversed: none merge
    /// assert_eq!(n(&[1, 2, 3, 4], &[5, 6, 7, 8], true), 16); // head slices never merge
    /// let halves = KvRegistration::HalfBlocks;
    /// assert_eq!(halves.descriptors(36, &[3], &[9], false, NixlMerge::Contiguous), 36);
    /// assert_eq!(halves.descriptors(36, &[3], &[9], false, NixlMerge::DenseStrides), 72);
    /// ```
    ///
    /// # Panics
    ///
    /// If `local` and `remote` differ in length.
    pub fn descriptors(
        self,
        layers: u32,
        local: &[u32],
        remote: &[u32],
        head_slices: bool,
        merge: NixlMerge,
    ) -> u64 {
        assert_eq!(
            local.len(),
            remote.len(),
            "one remote block per local block"
        );
        self.count(
            layers,
            local.len() as u64,
            runs(local, remote),
            head_slices,
            merge,
        )
    }

    /// [`KvRegistration::descriptors`] from the number of blocks and of the
    /// [`runs`] they form, for a plan that knows only those.
    ///
    /// ```
    /// use nixl_kv_metrics::topology::{KvRegistration, NixlMerge};
    /// let split = KvRegistration::TwoRegions;
    /// assert_eq!(split.count(36, 5, 1, false, NixlMerge::DenseStrides), 72);
    /// assert_eq!(split.count(36, 5, 5, false, NixlMerge::DenseStrides), 360);
    /// ```
    pub fn count(
        self,
        layers: u32,
        blocks: u64,
        runs: u64,
        head_slices: bool,
        merge: NixlMerge,
    ) -> u64 {
        let layers = u64::from(layers);
        let per_block = u64::from(self.per_layer_and_block());
        if head_slices {
            return layers * per_block * blocks;
        }
        match self {
            KvRegistration::TwoRegions => 2 * layers * runs,
            KvRegistration::WholeBlocks => layers * runs,
            KvRegistration::HalfBlocks if blocks == 1 && merge == NixlMerge::Contiguous => layers,
            KvRegistration::HalfBlocks => 2 * layers * blocks,
        }
    }
}

/// The releases from which some backend's registration changed: NIXL stats
/// (0.11.0); Triton's cache recognised (0.11.1); FlashAttention's cache
/// blocks-first (0.23.0); K and V packed for every backend (0.26.0).
const CHANGES: [Release; 4] = [
    Release::new(0, 11, 0),
    Release::new(0, 11, 1),
    Release::new(0, 23, 0),
    Release::new(0, 26, 0),
];

/// Descriptors a READ saves by merging across layers, which only vLLM 0.29.0
/// – 0.32.x allow: they register all layers as one buffer and list plain
/// per-block descriptors, so layer `l`'s last block merges with layer
/// `l + 1`'s first (whole blocks: equal KV heads per rank on both sides)
/// when those are the cache's last and first blocks on both
/// sides. That is `layers − 1` for a READ starting at block 0 and ending at
/// the last block (`local_total − 1`, `remote_total − 1`) on both sides,
/// and 0 otherwise. From 0.33.0 each layer is a strided entry of its own and
/// nothing merges across layers. Serving never hits it: block 0 is vLLM's
/// null block and no request gets it; reads of whole caches do
/// (tests/golden/realstack: vLLM 0.31.0 reports 1 descriptor for all 256
/// blocks of 4 layers, 0.33.0 and 0.34.0 report 4).
///
/// ```
/// use nixl_kv_metrics::topology::cross_layer_saving;
///
/// let all: Vec<u32> = (0..256).collect();
/// let at = |r: &str| cross_layer_saving(r.parse().unwrap(), 4, &all, &all, 256, 256);
/// assert_eq!((at("0.31.0"), at("0.33.0"), at("0.28.0")), (3, 0, 0));
/// assert_eq!(cross_layer_saving("0.31.0".parse().unwrap(), 4, &all[1..], &all[1..], 256, 256), 0);
/// ```
pub fn cross_layer_saving(
    release: Release,
    layers: u32,
    local: &[u32],
    remote: &[u32],
    local_total: u32,
    remote_total: u32,
) -> u64 {
    let merges = (Release::new(0, 29, 0)..Release::new(0, 33, 0)).contains(&release);
    let spans = |blocks: &[u32], total: u32| {
        blocks.first() == Some(&0)
            && total
                .checked_sub(1)
                .is_some_and(|last| blocks.last() == Some(&last))
    };
    if merges && spans(local, local_total) && spans(remote, remote_total) {
        u64::from(layers.saturating_sub(1))
    } else {
        0
    }
}

/// Runs of a transfer's block list: stretches in which the local and the
/// remote block id both go up by one from one entry to the next, so that
/// NIXL can merge them into one descriptor per region. 0 for no blocks.
///
/// ```
/// use nixl_kv_metrics::topology::runs;
///
/// assert_eq!(runs(&[4, 5, 6, 7], &[0, 1, 2, 3]), 1);
/// assert_eq!(runs(&[4, 5, 6, 7], &[0, 1, 3, 4]), 2); // a gap on one side
/// assert_eq!(runs(&[4, 5, 6, 7], &[3, 2, 1, 0]), 4);
/// assert_eq!(runs(&[], &[]), 0);
/// ```
pub fn runs(local: &[u32], remote: &[u32]) -> u64 {
    let n = local.len().min(remote.len());
    let follows = |i: usize| {
        local[i - 1].checked_add(1) == Some(local[i])
            && remote[i - 1].checked_add(1) == Some(remote[i])
    };
    match n {
        0 => 0,
        _ => 1 + (1..n).filter(|&i| !follows(i)).count() as u64,
    }
}
