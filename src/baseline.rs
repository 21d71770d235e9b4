//! What good looks like: the rates of the links KV moves over, in the line's
//! units, and the best rate one transfer of a given size can show.
//!
//! The line prints MiB per second ([`MIB`] bytes); link vendors quote decimal
//! gigabits (Ethernet, InfiniBand) or gigabytes (NVLink, PCIe) per second.
//! [`Link::mib_per_s`] converts, and [`Link::best_mib_per_s`] says how close
//! one transfer can come to the link's rate once its fixed costs are paid:
//! NIXL's transfer time starts when posting starts, so a transfer of `b`
//! bytes takes at least
//!
//! ```text
//! post + latency + b / rate
//! ```
//!
//! (the post call, then the first byte's trip, then the bytes at the link's
//! rate), and shows at most `b / (post + latency + b / rate)`: small
//! transfers are dominated by the fixed part. This is a model with the
//! costs in series; a backend that moves data while it is still posting
//! (UCX over shared memory finishes the copy inside the post call, measured
//! on the real stack) does better than the sum, never better than the rate.
//!
//! ```
//! use nixl_kv_metrics::baseline::{Link, Overhead};
//!
//! let nic = Link::ETHERNET[2]; // 400 Gb/s
//! assert_eq!(nic.name, "400 Gb/s Ethernet");
//! assert_eq!((nic.mib_per_s() * 10.0).round() / 10.0, 47_683.7);
//! // 2.25 MiB after a 0.672 ms post and 10 µs to the first byte:
//! let best = nic.best_mib_per_s(2_359_296, Overhead::new(672.0, 10.0));
//! assert_eq!(best.round(), 3_086.0); // 6 % of the link
//! ```

use crate::telemetry::MIB;

/// A link KV can move over, at its nominal rate in one direction.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Link {
    /// What it is: `400 Gb/s Ethernet`, `NVLink 4 (H100)`.
    pub name: &'static str,
    /// Bytes per second in one direction, as the vendor quotes the rate.
    pub bytes_per_s: f64,
}

/// The fixed costs of one transfer, in microseconds: what it pays before the
/// first byte moves at the link's rate.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Overhead {
    /// Time inside the post call (the line's `Avg post time`, in µs).
    pub post_us: f64,
    /// Time for the first byte to arrive once posted: the link's latency
    /// and the backend's own work.
    pub latency_us: f64,
}

impl Overhead {
    /// Post time and latency, both in microseconds.
    pub const fn new(post_us: f64, latency_us: f64) -> Overhead {
        Overhead {
            post_us,
            latency_us,
        }
    }

    /// Their sum, in seconds.
    fn seconds(self) -> f64 {
        (self.post_us + self.latency_us) / 1e6
    }
}

impl Link {
    /// Ethernet at 100, 200, 400 and 800 Gb/s (IEEE 802.3ba, 802.3bs,
    /// 802.3df): the rate is the MAC data rate, in decimal gigabits.
    pub const ETHERNET: [Link; 4] = [
        Link::gigabits("100 Gb/s Ethernet", 100.0),
        Link::gigabits("200 Gb/s Ethernet", 200.0),
        Link::gigabits("400 Gb/s Ethernet", 400.0),
        Link::gigabits("800 Gb/s Ethernet", 800.0),
    ];

    /// InfiniBand 4x ports, EDR to XDR (the InfiniBand Trade Association's
    /// roadmap): 100, 200, 400 and 800 Gb/s of data.
    pub const INFINIBAND: [Link; 4] = [
        Link::gigabits("InfiniBand EDR (100 Gb/s)", 100.0),
        Link::gigabits("InfiniBand HDR (200 Gb/s)", 200.0),
        Link::gigabits("InfiniBand NDR (400 Gb/s)", 400.0),
        Link::gigabits("InfiniBand XDR (800 Gb/s)", 800.0),
    ];

    /// NVLink generations, per GPU in one direction: half of the figure
    /// NVIDIA quotes, which counts both directions (300, 600, 900 and
    /// 1800 GB/s for V100, A100, H100 and Blackwell GPUs).
    pub const NVLINK: [Link; 4] = [
        Link::gigabytes("NVLink 2 (V100)", 300.0 / 2.0),
        Link::gigabytes("NVLink 3 (A100)", 600.0 / 2.0),
        Link::gigabytes("NVLink 4 (H100)", 900.0 / 2.0),
        Link::gigabytes("NVLink 5 (Blackwell)", 1800.0 / 2.0),
    ];

    /// PCIe x16 slots, one direction: 16 and 32 GT/s per lane with
    /// 128b/130b encoding (PCI-SIG, PCIe 4.0 and 5.0).
    pub const PCIE: [Link; 2] = [
        Link::pcie_x16("PCIe 4.0 x16", 16.0),
        Link::pcie_x16("PCIe 5.0 x16", 32.0),
    ];

    /// A link of `gbit` decimal gigabits per second.
    pub const fn gigabits(name: &'static str, gbit: f64) -> Link {
        Link {
            name,
            bytes_per_s: gbit * 1e9 / 8.0,
        }
    }

    /// A link of `gbyte` decimal gigabytes per second.
    pub const fn gigabytes(name: &'static str, gbyte: f64) -> Link {
        Link {
            name,
            bytes_per_s: gbyte * 1e9,
        }
    }

    /// Sixteen PCIe lanes of `gt` gigatransfers per second, 128b/130b.
    const fn pcie_x16(name: &'static str, gt: f64) -> Link {
        Link::gigabits(name, gt * 16.0 * 128.0 / 130.0)
    }

    /// The rate in the line's unit, MiB per second.
    ///
    /// ```
    /// use nixl_kv_metrics::baseline::Link;
    /// let rates: Vec<f64> =
    ///     Link::ETHERNET.iter().map(|l| (l.mib_per_s() * 10.0).round() / 10.0).collect();
    /// assert_eq!(rates, [11_920.9, 23_841.9, 47_683.7, 95_367.4]);
    /// ```
    pub fn mib_per_s(&self) -> f64 {
        self.bytes_per_s / MIB
    }

    /// The best MiB/s one transfer of `bytes` can show on this link: its
    /// MiB over post, latency and the bytes at the link's rate.
    ///
    /// ```
    /// use nixl_kv_metrics::baseline::{Link, Overhead};
    /// let link = Link::INFINIBAND[1]; // HDR, 200 Gb/s
    /// let free = Overhead::new(0.0, 0.0);
    /// assert_eq!(link.best_mib_per_s(1 << 30, free), link.mib_per_s());
    /// // 64 KiB after 20 µs of posting and 5 µs of latency: a tenth of the link.
    /// let small = link.best_mib_per_s(64 << 10, Overhead::new(20.0, 5.0));
    /// assert_eq!((small / link.mib_per_s() * 100.0).round(), 9.0);
    /// ```
    pub fn best_mib_per_s(&self, bytes: u64, overhead: Overhead) -> f64 {
        let bytes = bytes as f64;
        bytes / MIB / (overhead.seconds() + bytes / self.bytes_per_s)
    }

    /// The size of the smallest transfer, in MiB, that can reach `fraction`
    /// (below 1) of the link's rate after `overhead`: what the link moves in
    /// `fraction / (1 - fraction)` times the overhead.
    ///
    /// ```
    /// use nixl_kv_metrics::baseline::{Link, Overhead};
    /// let (nic, overhead) = (Link::ETHERNET[2], Overhead::new(50.0, 5.0));
    /// let mib = nic.mib_for_fraction(0.9, overhead);
    /// assert_eq!((mib * 10.0).round() / 10.0, 23.6); // for 90 % of 400 Gb/s
    /// let bytes = (mib * 1_048_576.0).ceil() as u64;
    /// assert!(nic.best_mib_per_s(bytes, overhead) >= 0.9 * nic.mib_per_s());
    /// ```
    pub fn mib_for_fraction(&self, fraction: f64, overhead: Overhead) -> f64 {
        self.mib_per_s() * overhead.seconds() * fraction / (1.0 - fraction)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn vendor_figures_become_bytes_per_second_in_one_direction() {
        let gbit = |l: &Link| l.bytes_per_s * 8.0 / 1e9;
        assert_eq!(
            Link::INFINIBAND.map(|l| gbit(&l)),
            Link::ETHERNET.map(|l| gbit(&l))
        );
        let nvlink = Link::NVLINK.map(|l| l.bytes_per_s / 1e9);
        assert_eq!(nvlink, [150.0, 300.0, 450.0, 900.0]);
        let pcie = Link::PCIE.map(|l| (l.bytes_per_s / 1e6).round());
        assert_eq!(pcie, [31_508.0, 63_015.0]);
    }

    #[test]
    fn the_best_rate_never_exceeds_the_link_and_grows_with_size() {
        let link = Link::NVLINK[2];
        let overhead = Overhead::new(30.0, 2.0);
        let rates: Vec<f64> = (10..34)
            .map(|shift| link.best_mib_per_s(1 << shift, overhead))
            .collect();
        assert!(rates.windows(2).all(|w| w[0] < w[1]));
        assert!(rates.iter().all(|&r| r < link.mib_per_s()));
    }
}
