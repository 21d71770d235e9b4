//! Which Prometheus evaluates the queries: the few PromQL details that
//! changed between releases and move a result's last bits.

use std::fmt;
use std::str::FromStr;

/// A Prometheus release, `MAJOR.MINOR`, as far as PromQL arithmetic goes.
///
/// Four details of `rate`, `sum` and `histogram_quantile` changed between
/// Prometheus 2.42 (Debian 12's `prometheus` package, whose `promtool` the
/// tests run) and 3.x; each method below names one and the release that
/// changed it. Nothing else in this crate's queries depends on the release.
///
/// ```
/// use nixl_kv_metrics::prometheus::PrometheusVersion;
///
/// let debian: PrometheusVersion = "2.42.0".parse()?;
/// assert_eq!(debian, PrometheusVersion::V2_42);
/// assert!(!debian.left_open_ranges());
/// assert!(PrometheusVersion::NEWEST_CHECKED.left_open_ranges());
/// assert_eq!(PrometheusVersion::new(3, 5).to_string(), "3.5");
/// # Ok::<(), nixl_kv_metrics::prometheus::VersionError>(())
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct PrometheusVersion {
    /// The major version.
    pub major: u32,
    /// The minor version.
    pub minor: u32,
}

impl PrometheusVersion {
    /// Prometheus 2.42, the `promtool` of Debian 12 (bookworm).
    pub const V2_42: PrometheusVersion = PrometheusVersion::new(2, 42);

    /// The newest release whose PromQL code was read for this model (3.14).
    pub const NEWEST_CHECKED: PrometheusVersion = PrometheusVersion::new(3, 14);

    /// A release from its two numbers.
    ///
    /// ```
    /// use nixl_kv_metrics::prometheus::PrometheusVersion;
    /// assert!(PrometheusVersion::new(2, 51) > PrometheusVersion::V2_42);
    /// ```
    pub const fn new(major: u32, minor: u32) -> PrometheusVersion {
        PrometheusVersion { major, minor }
    }

    /// A range selector `x[5m]` at time `t` holds the samples in
    /// `(t - 5m, t]` from 3.0 on, in `[t - 5m, t]` before.
    ///
    /// ```
    /// use nixl_kv_metrics::prometheus::PrometheusVersion;
    /// assert!(PrometheusVersion::new(3, 0).left_open_ranges());
    /// assert!(!PrometheusVersion::new(2, 55).left_open_ranges());
    /// ```
    pub fn left_open_ranges(self) -> bool {
        self >= PrometheusVersion::new(3, 0)
    }

    /// `rate`'s extrapolation towards the window's start: from 2.51 the
    /// counter's zero point caps the extrapolation *after* the "more than
    /// 1.1 sample intervals away" rule has been applied; before, it was
    /// applied first.
    ///
    /// ```
    /// use nixl_kv_metrics::prometheus::PrometheusVersion;
    /// assert!(PrometheusVersion::new(2, 51).caps_at_zero_after_threshold());
    /// assert!(!PrometheusVersion::V2_42.caps_at_zero_after_threshold());
    /// ```
    pub fn caps_at_zero_after_threshold(self) -> bool {
        self >= PrometheusVersion::new(2, 51)
    }

    /// `histogram_quantile` treats bucket counts within a relative 1e-12 of
    /// each other as equal from 2.49 on (before, it only removed decreases).
    ///
    /// ```
    /// use nixl_kv_metrics::prometheus::PrometheusVersion;
    /// assert!(PrometheusVersion::new(2, 49).ignores_small_bucket_deltas());
    /// ```
    pub fn ignores_small_bucket_deltas(self) -> bool {
        self >= PrometheusVersion::new(2, 49)
    }

    /// `sum` adds with Kahan-Neumaier compensation from 3.0 on, plainly
    /// before. The two agree bit for bit on two addends, not always on more.
    ///
    /// ```
    /// use nixl_kv_metrics::prometheus::PrometheusVersion;
    /// assert!(PrometheusVersion::new(3, 0).compensated_sum());
    /// ```
    pub fn compensated_sum(self) -> bool {
        self >= PrometheusVersion::new(3, 0)
    }
}

impl fmt::Display for PrometheusVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}", self.major, self.minor)
    }
}

impl FromStr for PrometheusVersion {
    type Err = VersionError;

    /// `2.42`, `2.42.0`, `v3.5.1` or `2.42.0+ds` (the patch and any suffix
    /// are ignored).
    fn from_str(text: &str) -> Result<PrometheusVersion, VersionError> {
        let invalid = || VersionError(text.to_string());
        let trimmed = text.trim();
        let version = trimmed.strip_prefix('v').unwrap_or(trimmed);
        let version = version.split(['+', '-']).next().unwrap_or(version);
        let mut parts = version.split('.');
        let mut number = || -> Result<u32, VersionError> {
            let part = parts.next().ok_or_else(invalid)?;
            if part.is_empty() || !part.bytes().all(|b| b.is_ascii_digit()) {
                return Err(invalid());
            }
            part.parse().map_err(|_| invalid())
        };
        let major = number()?;
        let minor = number()?;
        Ok(PrometheusVersion::new(major, minor))
    }
}

/// A Prometheus version string that is not `MAJOR.MINOR[.PATCH]`.
///
/// ```
/// use nixl_kv_metrics::prometheus::PrometheusVersion;
/// let error = "latest".parse::<PrometheusVersion>().unwrap_err();
/// assert!(error.to_string().starts_with("\"latest\" is not a Prometheus version"));
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VersionError(pub String);

impl fmt::Display for VersionError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{:?} is not a Prometheus version: expected MAJOR.MINOR[.PATCH], e.g. 2.42.0",
            self.0
        )
    }
}

impl std::error::Error for VersionError {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_what_promtool_prints() {
        assert_eq!("2.42.0+ds".parse(), Ok(PrometheusVersion::V2_42));
        assert_eq!("v3.14.0".parse(), Ok(PrometheusVersion::NEWEST_CHECKED));
        for bad in ["", "2", "2.", "x.1", "2.4x"] {
            assert!(bad.parse::<PrometheusVersion>().is_err(), "{bad:?}");
        }
    }
}
