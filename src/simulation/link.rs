//! The network model: latency, jitter, and a bandwidth shared by the
//! transfers in flight.

use super::Rng;

/// The link of one issuing worker (its NIC), which all of that worker's
/// transfers share.
///
/// A transfer posted at `start` with post time `post` begins to move data
/// at `start + post + latency_us + jitter`, the jitter uniform in
/// `0..=jitter_us`. Its bytes then flow at `bytes_per_s`, divided equally
/// among the worker's transfers moving data at the same moment (processor
/// sharing: two overlapping transfers each get half the bandwidth while
/// both are moving). Links of different workers do not interfere: the
/// model has no shared switch or prefill-side NIC contention.
///
/// ```
/// use nixl_kv_metrics::simulation::{Link, Rng};
///
/// // 200 Gb/s, no latency or jitter: 25 kB take 1 µs alone, 2 µs when two share.
/// let link = Link { bytes_per_s: 25e9, latency_us: 0, jitter_us: 0 };
/// assert_eq!(link.finish_times(&[(0.0, 25_000)]), vec![1.0]);
/// assert_eq!(link.finish_times(&[(0.0, 25_000), (0.0, 25_000)]), vec![2.0, 2.0]);
/// assert_eq!(link.delay_us(&mut Rng::new(0)), 0);
/// ```
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Link {
    /// Bandwidth in bytes per second (25e9 is 200 Gb/s).
    pub bytes_per_s: f64,
    /// Fixed delay before data moves, in microseconds.
    pub latency_us: u64,
    /// Largest extra random delay, in microseconds.
    pub jitter_us: u64,
}

impl Link {
    /// The delay between the end of posting and the first byte moving:
    /// latency plus a jitter drawn from `rng`.
    ///
    /// ```
    /// use nixl_kv_metrics::simulation::{Link, Rng};
    /// let link = Link { bytes_per_s: 25e9, latency_us: 20, jitter_us: 5 };
    /// let mut rng = Rng::new(1);
    /// assert!((0..100).all(|_| (20..=25).contains(&link.delay_us(&mut rng))));
    /// ```
    pub fn delay_us(&self, rng: &mut Rng) -> u64 {
        self.latency_us
            .saturating_add(rng.below(self.jitter_us.saturating_add(1)))
    }

    /// When each flow `(start_us, bytes)` has moved all its bytes, in
    /// microseconds, with the bandwidth shared equally among the flows
    /// moving at each moment.
    ///
    /// ```
    /// use nixl_kv_metrics::simulation::Link;
    /// let link = Link { bytes_per_s: 1e6, latency_us: 0, jitter_us: 0 }; // 1 byte per µs
    /// // 10 bytes from 0 and 10 bytes from 5: alone until 5, then sharing.
    /// assert_eq!(link.finish_times(&[(0.0, 10), (5.0, 10)]), vec![15.0, 20.0]);
    /// ```
    pub fn finish_times(&self, flows: &[(f64, u64)]) -> Vec<f64> {
        let per_us = self.bytes_per_s / 1e6;
        let mut order: Vec<usize> = (0..flows.len()).collect();
        order.sort_by(|&a, &b| flows[a].0.total_cmp(&flows[b].0).then(a.cmp(&b)));
        let mut arrivals = order.into_iter().peekable();
        let mut finish = vec![0.0; flows.len()];
        let mut active: Vec<(usize, f64)> = Vec::new(); // (flow, bytes left)
        let mut now = 0.0f64;
        loop {
            if active.is_empty() {
                match arrivals.peek() {
                    Some(&next) => now = now.max(flows[next].0),
                    None => return finish,
                }
            }
            while let Some(next) = arrivals.next_if(|&i| flows[i].0 <= now) {
                active.push((next, flows[next].1 as f64));
            }
            let rate = per_us / active.len() as f64;
            let least = active.iter().map(|a| a.1).fold(f64::INFINITY, f64::min);
            let done_at = now + least / rate;
            let arrival_at = arrivals.peek().map_or(f64::INFINITY, |&i| flows[i].0);
            let until = done_at.min(arrival_at);
            let served = (until - now) * rate;
            now = until;
            if done_at <= arrival_at {
                active.retain(|&(flow, left)| {
                    let done = left <= least;
                    if done {
                        finish[flow] = now;
                    }
                    !done
                });
            }
            for flow in &mut active {
                flow.1 -= served;
            }
        }
    }
}
