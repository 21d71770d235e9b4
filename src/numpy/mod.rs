//! The numpy arithmetic behind vLLM's `reduce()`, bit for bit.
//!
//! A plain left-to-right sum, or a textbook percentile, differs from numpy in
//! the last bits, and vLLM's rounding to 3 decimals sometimes shows that
//! difference. So this module follows numpy's algorithms exactly:
//!
//! * [`sum`]: numpy's pairwise summation of a contiguous `float64` array;
//! * [`mean_u32`]: `mean()` of a `uint32` array, cast to `float64` in
//!   numpy's 8192-element buffers;
//! * [`percentile`]: the default `"linear"` method with numpy's two-sided
//!   interpolation formula;
//! * [`round`]: `round(np.float64, digits)`, that is `rint(x · 10ᵈ) / 10ᵈ`.
//!
//! ```
//! use nixl_kv_metrics::numpy;
//!
//! let xfer = [0.001, 0.002, 0.001, 0.004];
//! assert_eq!(numpy::mean(&xfer), 0.002);
//! assert_eq!(numpy::percentile(&xfer, 90.0), 0.0034000000000000002);
//! assert_eq!(numpy::round(792.2965, 3), 792.296);
//! ```

/// The size of the blocks numpy sums with eight interleaved accumulators.
const PAIRWISE_BLOCK: usize = 128;

/// The number of elements numpy casts per buffer when a reduction needs a
/// cast (its default `bufsize`).
const CAST_BUFFER: usize = 8192;

mod select;

/// `np.sum` of a contiguous `float64` array: `0.0 + pairwise(a)`.
///
/// The leading `0.0` is the reduction's identity; it only shows for an array
/// of negative zeros, whose numpy sum is `+0.0`.
///
/// ```
/// use nixl_kv_metrics::numpy;
///
/// // A thousand 1 ms transfers: numpy's sum, and a left-to-right one.
/// let a = vec![0.001; 1000];
/// let naive: f64 = a.iter().sum();
/// assert_eq!(numpy::sum(&a), 1.0000000000000004);
/// assert_eq!(naive, 1.0000000000000007);
/// assert_eq!(numpy::sum(&[-0.0]), 0.0);
/// ```
pub fn sum(a: &[f64]) -> f64 {
    sum_map(a, |x| x)
}

/// `np.sum` of `f` applied to each element: what numpy computes for
/// `(np.asarray(a) / 2**20).sum()` with `f = |b| b as f64 / 2²⁰`, without
/// building the intermediate array.
///
/// ```
/// use nixl_kv_metrics::numpy;
/// let bytes = [2_359_296u64; 4];
/// assert_eq!(numpy::sum_map(&bytes, |b| b as f64 / 1_048_576.0), 9.0);
/// ```
pub fn sum_map<T: Copy>(a: &[T], f: impl Fn(T) -> f64 + Copy) -> f64 {
    0.0 + pairwise(a, f)
}

/// numpy's `pairwise_sum` for `float64`, over `f` of each element.
///
/// Below 8 elements: left to right. Up to 128: eight accumulators over
/// interleaved elements, combined as a balanced tree, then the tail left to
/// right. Above: split in two at a multiple of 8 and recurse.
fn pairwise<T: Copy>(a: &[T], f: impl Fn(T) -> f64 + Copy) -> f64 {
    let n = a.len();
    if n < 8 {
        a.iter().fold(0.0, |acc, &x| acc + f(x))
    } else if n <= PAIRWISE_BLOCK {
        let mut r = [0.0f64; 8];
        for (acc, &x) in r.iter_mut().zip(&a[..8]) {
            *acc = f(x);
        }
        let whole = n - n % 8;
        for chunk in a[8..whole].chunks_exact(8) {
            for (acc, &x) in r.iter_mut().zip(chunk) {
                *acc += f(x);
            }
        }
        let mut res = ((r[0] + r[1]) + (r[2] + r[3])) + ((r[4] + r[5]) + (r[6] + r[7]));
        for &x in &a[whole..] {
            res += f(x);
        }
        res
    } else {
        let half = n / 2;
        let split = half - half % 8;
        pairwise(&a[..split], f) + pairwise(&a[split..], f)
    }
}

/// `np.mean` of a contiguous `float64` array: [`sum`] divided by the count.
///
/// The mean of an empty array is `nan`, as in numpy.
pub fn mean(a: &[f64]) -> f64 {
    sum(a) / a.len() as f64
}

/// `np.mean` of a `uint32` array (vLLM's descriptor counts).
///
/// numpy casts the integers to `float64` in buffers of 8192 and adds each
/// buffer's pairwise sum to a running total. While the total stays below
/// 2⁵³ every step is exact; past that (over two million transfers of about
/// four billion descriptors) the buffering decides the last bits.
///
/// ```
/// use nixl_kv_metrics::numpy;
/// assert_eq!(numpy::mean_u32(&[72, 72, 56, 56]), 64.0);
/// ```
pub fn mean_u32(a: &[u32]) -> f64 {
    let total = a
        .chunks(CAST_BUFFER)
        .fold(0.0, |total, chunk| total + pairwise(chunk, f64::from));
    total / a.len() as f64
}

/// `np.percentile(a, q)` with numpy's default `"linear"` method.
///
/// The virtual index is `h = (n − 1) · (q / 100)` in `float64`; the result
/// interpolates between the order statistics at `⌊h⌋` and `⌊h⌋ + 1` with
/// numpy's formula: `a + (b − a)·t`, or `b − (b − a)·(1 − t)` once `t ≥ 0.5`.
/// The percentile of an empty array is `nan`.
///
/// The two order statistics are found by a radix selection on the bits of
/// the floats, which reads `a` twice and neither sorts nor copies it.
///
/// One detail is not modelled: when `+0.0` and `-0.0` are both present and
/// the two order statistics are zeros, which of the equal zeros numpy's
/// introselect leaves there, and so the sign of a zero result, follows its
/// swap order. NIXL reports unsigned microseconds, so real data has no `-0.0`.
///
/// ```
/// use nixl_kv_metrics::numpy;
/// let xfer = [0.004, 0.001, 0.002, 0.001]; // seconds
/// // h = 3 × 0.9 = 2.7: 70 % of the way from 0.002 to 0.004.
/// assert_eq!(numpy::percentile(&xfer, 90.0), 0.0034000000000000002);
/// assert_eq!(numpy::percentile(&[5.0], 90.0), 5.0);
/// assert!(numpy::percentile(&[], 90.0).is_nan());
/// ```
pub fn percentile(a: &[f64], q: f64) -> f64 {
    let n = a.len();
    if n == 0 {
        return f64::NAN;
    }
    let h = (n - 1) as f64 * (q / 100.0);
    if h >= (n - 1) as f64 {
        // numpy takes the last order statistic for both neighbours and a
        // weight of h + 1, which the formula turns back into that value.
        let last = a.iter().copied().max_by(f64::total_cmp).expect("n > 0");
        return lerp(last, last, h + 1.0);
    }
    let floor = h.floor();
    let (below, above) = select::neighbours(a, floor as usize);
    lerp(below, above, h - floor)
}

/// numpy's `_lerp`: exact at both ends, whichever side `t` is nearer.
fn lerp(a: f64, b: f64, t: f64) -> f64 {
    let diff = b - a;
    if t >= 0.5 {
        b - diff * (1.0 - t)
    } else {
        a + diff * t
    }
}

/// `round(np.float64(x), digits)`: `rint(x · 10ᵈ) / 10ᵈ`, ties to even.
///
/// Unlike Python's `round`, this rounds the *scaled* value, which is itself
/// rounded: `792.2965` is stored as 792.29650000000003…, so Python rounds it
/// up to 792.297, but `792.2965 × 1000` comes out as exactly 792296.5, a tie
/// that numpy sends to the even 792296.
///
/// ```
/// use nixl_kv_metrics::numpy;
/// assert_eq!(numpy::round(0.0005, 3), 0.0); // 0.5 → even
/// assert_eq!(numpy::round(0.0015, 3), 0.002);
/// assert_eq!(numpy::round(72.0, 1), 72.0);
/// ```
pub fn round(x: f64, digits: usize) -> f64 {
    let scale = (0..digits).fold(1.0f64, |s, _| s * 10.0);
    (x * scale).round_ties_even() / scale
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sum_map_matches_sum_of_mapped() {
        let bytes: Vec<u64> = (0..1000).map(|i| i * 7919 + 3).collect();
        let mib: Vec<f64> = bytes.iter().map(|&b| b as f64 / 1_048_576.0).collect();
        assert_eq!(sum_map(&bytes, |b| b as f64 / 1_048_576.0), sum(&mib));
    }

    #[test]
    fn pairwise_matches_hand_tree_for_nine() {
        let a = [1e16, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0];
        // eight accumulators hold the first eight; the ninth is added last.
        let tree = ((1e16 + 1.0) + (1.0 + 1.0)) + ((1.0 + 1.0) + (1.0 + 1.0));
        assert_eq!(sum(&a), tree + 1.0);
    }

    #[test]
    fn percentile_of_empty_is_nan() {
        assert!(percentile(&[], 90.0).is_nan());
        assert!(mean(&[]).is_nan());
    }

    #[test]
    fn percentile_selects_neighbours() {
        let a = [4.0, 1.0, 3.0, 2.0];
        // h = 3 × 0.9 = 2.7: between 3 and 4, t = 0.7 → 4 − 1 × 0.3
        assert_eq!(percentile(&a, 90.0), 4.0 - (1.0 - (2.7 - 2.0)));
        assert_eq!(a, [4.0, 1.0, 3.0, 2.0], "input untouched");
    }
}
