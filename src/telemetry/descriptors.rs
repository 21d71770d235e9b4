//! NIXL's descriptor merging: how a transfer's two descriptor lists become
//! the `descCount` its telemetry reports.
//!
//! A transfer pairs the `i`-th local descriptor with the `i`-th remote one.
//! NIXL (1.4 on; 1.5.1 is what was measured here) merges entry `i` into
//! entry `i − 1` when, on *both* sides, the two sit in one run of the
//! prepared list and entry `i` starts where entry `i − 1` ends: the same
//! registered region, device and length, and the next offset. A prepared
//! run is a registered region when the list is a plain (N×3) one, as the
//! harness and vLLM up to 0.32 prepare them; vLLM 0.33 on prepares strided
//! (N×5) lists with one row per layer, and merging never crosses a row.
//! Transfers made with `initialize_xfer`, or with `skip_desc_merge`, keep
//! every descriptor.
//!
//! ```
//! use nixl_kv_metrics::telemetry::{Descriptor, MakeXfer, Prepared, desc_count};
//!
//! // 64 slots of 32 KiB, adjacent on both sides: one descriptor.
//! let slots: Vec<Descriptor> = (0..64).map(|s| Descriptor::new(0, s * 32_768, 32_768, 0)).collect();
//! assert_eq!(desc_count(&slots, &slots, MakeXfer::PREPPED), 1);
//! // The same read listed in reverse order: nothing merges.
//! let reversed: Vec<Descriptor> = slots.iter().rev().copied().collect();
//! assert_eq!(desc_count(&reversed, &reversed, MakeXfer::PREPPED), 64);
//! // initialize_xfer never merges.
//! assert_eq!(desc_count(&slots, &slots, MakeXfer::Initialize), 64);
//! ```

use crate::release::Release;

/// One entry of a transfer's descriptor list: `length` bytes at `offset`
/// into registered memory region `region` of that side, on NIXL device
/// `device`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Descriptor {
    /// The index of the registered region on its side.
    pub region: u32,
    /// The byte offset inside the region.
    pub offset: u64,
    /// The length in bytes.
    pub length: u64,
    /// NIXL's device id.
    pub device: u32,
}

impl Descriptor {
    /// A descriptor from its region, offset, length and device, the order
    /// the fixtures list them in.
    pub const fn new(region: u32, offset: u64, length: u64, device: u32) -> Descriptor {
        Descriptor {
            region,
            offset,
            length,
            device,
        }
    }

    /// True when `next` starts where this one ends, inside the same run of
    /// a `prepared` list.
    ///
    /// ```
    /// use nixl_kv_metrics::telemetry::{Descriptor, Prepared};
    /// let a = Descriptor::new(0, 0, 4096, 0);
    /// assert!(a.continued_by(&Descriptor::new(0, 4096, 4096, 0), Prepared::Plain));
    /// assert!(!a.continued_by(&Descriptor::new(1, 4096, 4096, 0), Prepared::Plain)); // another region
    /// assert!(!a.continued_by(&Descriptor::new(0, 4096, 4096, 0), Prepared::Rows { row_bytes: 4096 }));
    /// ```
    pub fn continued_by(&self, next: &Descriptor, prepared: Prepared) -> bool {
        let same_row = match prepared {
            Prepared::Plain => true,
            Prepared::Rows { row_bytes } => {
                row_bytes > 0 && self.offset / row_bytes == next.offset / row_bytes
            }
        };
        next.region == self.region
            && next.device == self.device
            && next.length == self.length
            && self.offset.checked_add(self.length) == Some(next.offset)
            && same_row
    }
}

/// How one side's prepared descriptor list groups its entries into the
/// runs NIXL merges within.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Prepared {
    /// A plain (N×3) list covering each registered region slot by slot: a
    /// run is a whole region. vLLM up to 0.32 prepares these, so in 0.29 –
    /// 0.32, whose one region holds every layer, a read of a whole cache
    /// merges across layers.
    Plain,
    /// A strided (N×5) list with one row per `row_bytes` of a region (vLLM
    /// 0.33 on: one row per layer, `row_bytes` the layer stride): merging
    /// stops at a row's end.
    Rows {
        /// The bytes each row covers.
        row_bytes: u64,
    },
}

impl Prepared {
    /// How vLLM `release` prepares its lists, for a KV cache whose layers
    /// lie `layer_bytes` apart in a registered region: plain up to 0.32,
    /// one row per layer from 0.33.0 (which requires NIXL 1.5 for strided
    /// lists). Read at the release tags (`v1/nixl/base_worker.py`) and
    /// measured: reading all 256 blocks of a 4-layer cache reports 1
    /// descriptor on vLLM 0.31.0 and 4 on 0.33.0 and 0.34.0
    /// (tests/golden/realstack, `kv-worker.jsonl`).
    ///
    /// ```
    /// use nixl_kv_metrics::release::Release;
    /// use nixl_kv_metrics::telemetry::Prepared;
    /// assert_eq!(Prepared::vllm(Release::new(0, 31, 0), 1 << 20), Prepared::Plain);
    /// assert_eq!(Prepared::vllm(Release::new(0, 33, 0), 1 << 20), Prepared::Rows { row_bytes: 1 << 20 });
    /// ```
    pub fn vllm(release: Release, layer_bytes: u64) -> Prepared {
        if release >= Release::new(0, 33, 0) {
            Prepared::Rows {
                row_bytes: layer_bytes,
            }
        } else {
            Prepared::Plain
        }
    }
}

/// How a transfer was made.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum MakeXfer {
    /// `initialize_xfer` with the two lists: NIXL posts them as given.
    Initialize,
    /// `make_prepped_xfer` with indices into prepared lists, as vLLM makes
    /// every transfer.
    Prepped {
        /// How the local list was prepared.
        local: Prepared,
        /// How the remote list was prepared.
        remote: Prepared,
        /// The `skip_desc_merge` flag: no merging at all.
        skip_desc_merge: bool,
    },
}

impl MakeXfer {
    /// A prepped transfer over plain lists on both sides, merging.
    pub const PREPPED: MakeXfer = MakeXfer::Prepped {
        local: Prepared::Plain,
        remote: Prepared::Plain,
        skip_desc_merge: false,
    };
}

/// The `descCount` NIXL reports for a transfer of `local[i]` ← `remote[i]`
/// made as `how`.
///
/// ```
/// use nixl_kv_metrics::telemetry::{Descriptor, MakeXfer, Prepared, desc_count};
///
/// let d = |slot: u64| Descriptor::new(0, slot * 4096, 4096, 0);
/// // Two layers of two blocks each, in one registered region.
/// let list = [d(0), d(1), d(2), d(3)];
/// let rows = Prepared::Rows { row_bytes: 2 * 4096 };
/// let strided = MakeXfer::Prepped { local: rows, remote: rows, skip_desc_merge: false };
/// assert_eq!(desc_count(&list, &list, MakeXfer::PREPPED), 1); // vLLM 0.29 – 0.32
/// assert_eq!(desc_count(&list, &list, strided), 2); // vLLM 0.33 on: one per layer
/// ```
///
/// # Panics
///
/// If the lists differ in length.
pub fn desc_count(local: &[Descriptor], remote: &[Descriptor], how: MakeXfer) -> u64 {
    assert_eq!(
        local.len(),
        remote.len(),
        "one remote descriptor per local descriptor"
    );
    let MakeXfer::Prepped {
        local: local_runs,
        remote: remote_runs,
        skip_desc_merge: false,
    } = how
    else {
        return local.len() as u64;
    };
    let merges = (1..local.len())
        .filter(|&i| {
            local[i - 1].continued_by(&local[i], local_runs)
                && remote[i - 1].continued_by(&remote[i], remote_runs)
        })
        .count();
    (local.len() - merges) as u64
}

/// NIXL's `totalBytes` for a transfer: the lengths of one side's
/// descriptors, summed.
///
/// ```
/// use nixl_kv_metrics::telemetry::{Descriptor, total_bytes};
/// assert_eq!(total_bytes(&[Descriptor::new(0, 0, 4096, 0), Descriptor::new(2, 0, 4096, 0)]), 8192);
/// ```
pub fn total_bytes(descriptors: &[Descriptor]) -> u64 {
    descriptors.iter().map(|d| d.length).sum()
}
