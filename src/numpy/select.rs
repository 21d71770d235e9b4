//! Two neighbouring order statistics of a float array, without sorting it.
//!
//! `np.percentile` needs the values of rank `k` and `k + 1`. numpy
//! partitions a copy of the array; here a most-significant-digit radix
//! selection finds them by reading the array: one pass counts the top 16
//! bits of every value's order key, one pass keeps the values of the bucket
//! that holds rank `k` (and notes the smallest value above it), and a
//! selection among those few finishes the job. That keeps `reduce` of a
//! million transfers within a few milliseconds.

/// Below this many values a plain selection on a copy is quicker.
const SMALL: usize = 4096;

/// Digits of the first radix pass (buckets = 2^16).
const DIGIT_BITS: u32 = 16;

/// The values of rank `k` and `k + 1` (0-based, ascending by
/// [`f64::total_cmp`]) of `a`, which must have more than `k + 1` values.
pub(super) fn neighbours(a: &[f64], k: usize) -> (f64, f64) {
    debug_assert!(k + 1 < a.len());
    if a.len() <= SMALL {
        let mut copy = a.to_vec();
        return select_in(&mut copy, k);
    }
    let shift = u64::BITS - DIGIT_BITS;
    let mut counts = vec![0usize; 1 << DIGIT_BITS];
    for &x in a {
        counts[(order_key(x) >> shift) as usize] += 1;
    }
    // The bucket holding rank k, and the rank of k inside it.
    let mut before = 0;
    let mut bucket = 0;
    for (digit, &count) in counts.iter().enumerate() {
        if before + count > k {
            bucket = digit;
            break;
        }
        before += count;
    }
    let mut candidates = Vec::with_capacity(counts[bucket]);
    // The smallest value in a later bucket, in case rank k + 1 is there.
    let mut next_above = f64::INFINITY;
    let mut next_key = u64::MAX;
    for &x in a {
        let key = order_key(x);
        let digit = (key >> shift) as usize;
        if digit == bucket {
            candidates.push(x);
        } else if digit > bucket && key < next_key {
            next_key = key;
            next_above = x;
        }
    }
    let rank = k - before;
    if rank + 1 < candidates.len() {
        select_in(&mut candidates, rank)
    } else {
        let (_, below, _) = candidates.select_nth_unstable_by(rank, f64::total_cmp);
        (*below, next_above)
    }
}

/// Rank `k` and `k + 1` of `a` (reordering it), which has more than `k + 1`
/// values.
fn select_in(a: &mut [f64], k: usize) -> (f64, f64) {
    let (_, below, rest) = a.select_nth_unstable_by(k, f64::total_cmp);
    let above = rest
        .iter()
        .copied()
        .min_by(f64::total_cmp)
        .expect("rank k + 1 exists");
    (*below, above)
}

/// A key whose unsigned order is `f64::total_cmp`'s order of the floats.
fn order_key(x: f64) -> u64 {
    let bits = x.to_bits();
    if bits >> 63 == 1 {
        !bits
    } else {
        bits | 1 << 63
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A deterministic spread of values, with ties and zeros.
    fn values(n: usize, seed: u64) -> Vec<f64> {
        let mut state = seed;
        (0..n)
            .map(|_| {
                state = state
                    .wrapping_mul(6364136223846793005)
                    .wrapping_add(1442695040888963407);
                match state >> 60 {
                    0 => 0.0,
                    1 => 0.001,
                    _ => {
                        (state >> 11) as f64 / (1u64 << 53) as f64
                            * 10f64.powi((state % 7) as i32 - 5)
                    }
                }
            })
            .collect()
    }

    #[test]
    fn agrees_with_sorting() {
        for (n, seed) in [(4097, 1), (10_000, 2), (50_000, 3), (5000, 4)] {
            let a = values(n, seed);
            let mut sorted = a.clone();
            sorted.sort_by(f64::total_cmp);
            for k in [0, 1, n / 2, n * 9 / 10, n - 2] {
                assert_eq!(neighbours(&a, k), (sorted[k], sorted[k + 1]), "n={n} k={k}");
            }
        }
    }

    #[test]
    fn all_equal_and_bucket_edges() {
        let same = vec![0.0015; 10_000];
        assert_eq!(neighbours(&same, 8999), (0.0015, 0.0015));
        // Rank k is the last of its bucket: rank k + 1 comes from a later one.
        let mut split = vec![1.0; 5000];
        split.extend(vec![3.0; 5000]);
        assert_eq!(neighbours(&split, 4999), (1.0, 3.0));
    }

    #[test]
    fn key_orders_like_total_cmp() {
        let xs = [-1.5, -0.0, 0.0, 1e-300, 0.001, 2.0, f64::INFINITY];
        for pair in xs.windows(2) {
            assert!(order_key(pair[0]) < order_key(pair[1]), "{pair:?}");
        }
    }
}
