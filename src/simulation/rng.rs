//! A small, seeded, portable pseudo-random number generator.

/// xoshiro256** (Blackman and Vigna, 2018), seeded through SplitMix64.
///
/// The four words of xoshiro's state are the first four outputs of
/// SplitMix64 started at the seed, so every seed (zero included) gives a
/// valid, well-mixed state. The integer stream is the same on every
/// platform; the float transforms ([`Rng::exponential`],
/// [`Rng::standard_normal`]) use the platform's `ln` and `cos`. Not for
/// cryptography.
///
/// ```
/// use nixl_kv_metrics::simulation::Rng;
///
/// let mut a = Rng::new(42);
/// let mut b = Rng::new(42);
/// assert_eq!(a.next_u64(), b.next_u64());
/// assert_ne!(Rng::new(1).next_u64(), Rng::new(2).next_u64());
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Rng {
    state: [u64; 4],
}

impl Rng {
    /// A generator seeded with `seed`.
    ///
    /// ```
    /// use nixl_kv_metrics::simulation::Rng;
    /// assert_eq!(Rng::new(0), Rng::new(0));
    /// ```
    pub fn new(seed: u64) -> Rng {
        let mut splitmix = seed;
        let mut next = || {
            splitmix = splitmix.wrapping_add(0x9E37_79B9_7F4A_7C15);
            let mut z = splitmix;
            z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
            z ^ (z >> 31)
        };
        Rng {
            state: [next(), next(), next(), next()],
        }
    }

    /// A new generator seeded from this one's next output: an independent
    /// stream, so that drawing more from one does not shift the other.
    ///
    /// ```
    /// use nixl_kv_metrics::simulation::Rng;
    /// let mut parent = Rng::new(7);
    /// let mut child = parent.fork();
    /// assert_ne!(child.next_u64(), parent.next_u64());
    /// ```
    pub fn fork(&mut self) -> Rng {
        Rng::new(self.next_u64())
    }

    /// The next 64 random bits.
    ///
    /// ```
    /// use nixl_kv_metrics::simulation::Rng;
    /// let mut rng = Rng::new(0);
    /// let (x, y) = (rng.next_u64(), rng.next_u64());
    /// assert_ne!(x, y);
    /// ```
    pub fn next_u64(&mut self) -> u64 {
        let s = &mut self.state;
        let result = s[1].wrapping_mul(5).rotate_left(7).wrapping_mul(9);
        let t = s[1] << 17;
        s[2] ^= s[0];
        s[3] ^= s[1];
        s[1] ^= s[2];
        s[0] ^= s[3];
        s[2] ^= t;
        s[3] = s[3].rotate_left(45);
        result
    }

    /// A uniform float in `[0, 1)`: the top 53 bits over 2⁵³.
    ///
    /// ```
    /// use nixl_kv_metrics::simulation::Rng;
    /// let mut rng = Rng::new(3);
    /// assert!((0..1000).map(|_| rng.next_f64()).all(|x| (0.0..1.0).contains(&x)));
    /// ```
    pub fn next_f64(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }

    /// A uniform integer in `[0, n)` (0 when `n` is 0), by Lemire's
    /// multiply-and-shift; its bias, below `n / 2⁶⁴`, is irrelevant here.
    ///
    /// ```
    /// use nixl_kv_metrics::simulation::Rng;
    /// let mut rng = Rng::new(5);
    /// assert!((0..1000).all(|_| rng.below(6) < 6));
    /// assert_eq!(rng.below(0), 0);
    /// ```
    pub fn below(&mut self, n: u64) -> u64 {
        ((u128::from(self.next_u64()) * u128::from(n)) >> 64) as u64
    }

    /// An exponential variate of rate `rate` (mean `1 / rate`), by
    /// inversion: the gaps of a Poisson process.
    ///
    /// ```
    /// use nixl_kv_metrics::simulation::Rng;
    /// let mut rng = Rng::new(9);
    /// let mean = (0..20_000).map(|_| rng.exponential(4.0)).sum::<f64>() / 20_000.0;
    /// assert!((mean - 0.25).abs() < 0.01);
    /// ```
    pub fn exponential(&mut self, rate: f64) -> f64 {
        -(1.0 - self.next_f64()).ln() / rate
    }

    /// A standard normal variate, by the Box–Muller transform (one of the
    /// pair; the other is discarded to keep one draw per call pair simple).
    ///
    /// ```
    /// use nixl_kv_metrics::simulation::Rng;
    /// let mut rng = Rng::new(11);
    /// let mean = (0..20_000).map(|_| rng.standard_normal()).sum::<f64>() / 20_000.0;
    /// assert!(mean.abs() < 0.03);
    /// ```
    pub fn standard_normal(&mut self) -> f64 {
        let u = 1.0 - self.next_f64(); // in (0, 1]: ln is finite
        let v = self.next_f64();
        (-2.0 * u.ln()).sqrt() * (std::f64::consts::TAU * v).cos()
    }
}

#[cfg(test)]
mod tests {
    use super::Rng;

    #[test]
    fn seeded_by_splitmix64() {
        // SplitMix64's first output from state 0 is the well-known 0xE220A8397B1DCDAF.
        assert_eq!(Rng::new(0).state[0], 0xE220_A839_7B1D_CDAF);
    }
}
