//! vLLM releases, and the six families of NIXL-stats behaviour they fall into.
//!
//! vLLM changed `NixlKVConnectorStats` several times between 0.11.0 and
//! 0.33.0: the keys it stores, the fields it logs, when it counts as empty and
//! how it rounds. Releases that behave alike form a [`Family`]; everything else
//! in this crate asks the family, never the version number, what to do.
//!
//! ```
//! use nixl_kv_metrics::release::{Family, Release};
//!
//! let release: Release = "0.12".parse()?;
//! assert_eq!(release.to_string(), "0.12.0");
//! assert_eq!(release.family()?, Family::F3);
//! assert_eq!(Family::F6.fields().len(), 11);
//! # Ok::<(), nixl_kv_metrics::release::ReleaseError>(())
//! ```

use std::fmt;
use std::str::FromStr;

use crate::field::Field;

/// A vLLM release number, `MAJOR.MINOR.PATCH`.
///
/// Parsed leniently from what users copy out of `pip show vllm` or a log:
/// `0.33.0`, `0.12` (patch 0), `v0.15.1`, `0.31.0+cu129` (the local part after
/// `+` is ignored, it does not change the Python code).
///
/// ```
/// use nixl_kv_metrics::release::Release;
///
/// let a: Release = "v0.15.1".parse()?;
/// let b: Release = "0.31.0+cu129".parse()?;
/// assert!(a < b);
/// assert!("0.12.x".parse::<Release>().is_err());
/// # Ok::<(), nixl_kv_metrics::release::ReleaseError>(())
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Release {
    /// The major version (0 for every release so far).
    pub major: u32,
    /// The minor version.
    pub minor: u32,
    /// The patch version.
    pub patch: u32,
}

impl Release {
    /// The newest release this crate was checked against (its golden fixtures
    /// come from it). Newer releases are modelled as the newest family.
    ///
    /// ```
    /// use nixl_kv_metrics::release::Release;
    /// assert_eq!(Release::NEWEST_KNOWN.to_string(), "0.34.0");
    /// ```
    pub const NEWEST_KNOWN: Release = Release::new(0, 34, 0);

    /// The first release with NIXL KV-transfer stats (0.11.0).
    ///
    /// ```
    /// use nixl_kv_metrics::release::{Family, Release};
    /// assert_eq!(Release::FIRST_WITH_STATS.family(), Ok(Family::F1));
    /// ```
    pub const FIRST_WITH_STATS: Release = Release::new(0, 11, 0);

    /// A release from its three numbers.
    ///
    /// ```
    /// use nixl_kv_metrics::release::Release;
    /// assert_eq!(Release::new(0, 31, 2).to_string(), "0.31.2");
    /// ```
    pub const fn new(major: u32, minor: u32, patch: u32) -> Release {
        Release {
            major,
            minor,
            patch,
        }
    }

    /// The family whose behaviour this release has.
    ///
    /// Releases before 0.11.0 have no NIXL stats and are an error; releases
    /// newer than [`Release::NEWEST_KNOWN`] get the newest family (check
    /// [`Release::is_newer_than_known`] to warn about that).
    ///
    /// ```
    /// use nixl_kv_metrics::release::{Family, Release};
    /// assert_eq!(Release::new(0, 30, 9).family()?, Family::F4);
    /// assert_eq!(Release::new(0, 40, 0).family()?, Family::F6);
    /// assert!(Release::new(0, 10, 2).family().is_err());
    /// # Ok::<(), nixl_kv_metrics::release::ReleaseError>(())
    /// ```
    pub fn family(self) -> Result<Family, ReleaseError> {
        Family::ALL
            .iter()
            .rev()
            .copied()
            .find(|family| self >= family.first_release())
            .ok_or(ReleaseError::NoNixlStats(self))
    }

    /// True for a release newer than any this crate was checked against.
    ///
    /// ```
    /// use nixl_kv_metrics::release::Release;
    /// assert!(!Release::NEWEST_KNOWN.is_newer_than_known());
    /// assert!(Release::new(0, 34, 1).is_newer_than_known());
    /// ```
    pub fn is_newer_than_known(self) -> bool {
        self > Release::NEWEST_KNOWN
    }
}

impl fmt::Display for Release {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}.{}", self.major, self.minor, self.patch)
    }
}

impl FromStr for Release {
    type Err = ReleaseError;

    fn from_str(text: &str) -> Result<Release, ReleaseError> {
        let invalid = || ReleaseError::Invalid(text.to_string());
        let trimmed = text.trim();
        let version = trimmed.strip_prefix('v').unwrap_or(trimmed);
        let public = version
            .split_once('+')
            .map_or(version, |(public, _)| public);
        let mut numbers = public.split('.').map(|part| {
            if part.is_empty() || !part.bytes().all(|b| b.is_ascii_digit()) {
                Err(invalid())
            } else {
                part.parse::<u32>().map_err(|_| invalid())
            }
        });
        let major = numbers.next().ok_or_else(invalid)??;
        let minor = numbers.next().ok_or_else(invalid)??;
        let patch = numbers.next().transpose()?.unwrap_or(0);
        if numbers.next().is_some() {
            return Err(invalid());
        }
        Ok(Release::new(major, minor, patch))
    }
}

/// Why a release string cannot be used.
///
/// ```
/// use nixl_kv_metrics::release::{Release, ReleaseError};
/// let error = "0.10.1".parse::<Release>().unwrap().family().unwrap_err();
/// assert_eq!(error.to_string(), "vLLM 0.10.1 has no NIXL KV-transfer stats: they appeared in 0.11.0");
/// assert!(matches!("zero".parse::<Release>(), Err(ReleaseError::Invalid(_))));
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ReleaseError {
    /// Not of the form `MAJOR.MINOR[.PATCH]`.
    Invalid(String),
    /// A release older than 0.11.0, which has no NIXL KV-transfer stats.
    NoNixlStats(Release),
}

impl fmt::Display for ReleaseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            // Quoted short and escaped: the text may be anything a user typed.
            ReleaseError::Invalid(text) => write!(
                f,
                "{} is not a vLLM release: expected MAJOR.MINOR[.PATCH], e.g. 0.33.0",
                crate::printer::words::excerpt(text.as_bytes())
            ),
            ReleaseError::NoNixlStats(release) => write!(
                f,
                "vLLM {release} has no NIXL KV-transfer stats: they appeared in {}",
                Release::FIRST_WITH_STATS
            ),
        }
    }
}

impl std::error::Error for ReleaseError {}

/// How a family rounds a value before printing it.
///
/// ```
/// use nixl_kv_metrics::field::Field;
/// use nixl_kv_metrics::release::{Family, Rounding};
/// use nixl_kv_metrics::{numpy, python};
///
/// // 792.2965 ms: numpy's rounding and Python's disagree on the last digit.
/// assert_eq!(numpy::round(792.2965, 3), 792.296);
/// assert_eq!(python::round(792.2965, 3), 792.297);
/// assert_eq!(Family::F4.rounding(Field::AvgXferTimeMs), Rounding::Numpy);
/// assert_eq!(Family::F5.rounding(Field::AvgXferTimeMs), Rounding::Python);
/// ```
///
/// vLLM calls Python's `round(value, digits)`. When `value` is a numpy
/// `float64` that is numpy's rounding, `rint(value * 10**digits) / 10**digits`;
/// when it is a Python float (after `.item()`) it is Python's correctly rounded
/// one. They disagree on a few per cent of values near a rounding boundary.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Rounding {
    /// numpy's `round` on a `np.float64`: scale, round half to even, unscale.
    Numpy,
    /// Python's `round` on a float: correctly rounded from the exact binary value.
    Python,
}

/// The value vLLM appends to a failure list for each event.
///
/// ```
/// use nixl_kv_metrics::release::{Event, Family};
/// use nixl_kv_metrics::stats::NixlKvConnectorStats;
///
/// let mut stats = NixlKvConnectorStats::new(Family::F3);
/// stats.record(Event::FailedTransfer)?;
/// assert!(stats.to_data_json().contains(r#""num_failed_transfers":[1.0]"#));
/// # Ok::<(), nixl_kv_metrics::stats::NotInRelease>(())
/// ```
///
/// Only the length of these lists reaches the log line, but the value is what
/// Prometheus counters are incremented by and what the JSON `data` dict carries.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FailureMark {
    /// The float `1.0` (0.11.1 to 0.14.x).
    Float,
    /// The int `1` (0.15.0 on).
    Int,
}

/// A family of releases whose NIXL stats behave identically.
///
/// ```
/// use nixl_kv_metrics::release::Family;
///
/// for family in Family::ALL {
///     println!("{family}: vLLM {}", family.releases());
/// }
/// assert_eq!(Family::F4.releases().to_string(), "0.15.0 – 0.30.x");
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Family {
    /// 0.11.0: a single counter, `num_successful_transfers`, and a one-field line.
    F1,
    /// 0.11.1 – 0.11.2: per-transfer telemetry, eight fields, numpy rounding
    /// throughout, failure-only stats count as empty.
    F2,
    /// 0.12.0 – 0.14.x: as F2, but the two P90s use Python rounding.
    F3,
    /// 0.15.0 – 0.30.x: expired requests recorded, failure-only stats are kept
    /// and log an all-zero line.
    F4,
    /// 0.31.x: failed handshakes; the line gains `Num failed transfers` and
    /// `Num KV expired reqs`; Python rounding throughout.
    F5,
    /// 0.32.0 and newer: notifications after expiry, an eleventh field.
    F6,
}

impl Family {
    /// Every family, oldest first.
    ///
    /// ```
    /// use nixl_kv_metrics::release::Family;
    /// assert!(Family::ALL.windows(2).all(|w| w[0].first_release() < w[1].first_release()));
    /// ```
    pub const ALL: [Family; 6] = [
        Family::F1,
        Family::F2,
        Family::F3,
        Family::F4,
        Family::F5,
        Family::F6,
    ];

    /// The first release of the family.
    ///
    /// ```
    /// use nixl_kv_metrics::release::{Family, Release};
    /// assert_eq!(Family::F5.first_release(), Release::new(0, 31, 0));
    /// ```
    pub const fn first_release(self) -> Release {
        match self {
            Family::F1 => Release::new(0, 11, 0),
            Family::F2 => Release::new(0, 11, 1),
            Family::F3 => Release::new(0, 12, 0),
            Family::F4 => Release::new(0, 15, 0),
            Family::F5 => Release::new(0, 31, 0),
            Family::F6 => Release::new(0, 32, 0),
        }
    }

    /// The release this crate's golden fixtures for the family come from.
    ///
    /// ```
    /// use nixl_kv_metrics::release::Family;
    /// assert_eq!(Family::F6.golden_release().to_string(), "0.34.0");
    /// ```
    pub const fn golden_release(self) -> Release {
        match self {
            Family::F1 => Release::new(0, 11, 0),
            Family::F2 => Release::new(0, 11, 2),
            Family::F3 => Release::new(0, 12, 0),
            Family::F4 => Release::new(0, 15, 0),
            Family::F5 => Release::new(0, 31, 0),
            Family::F6 => Release::NEWEST_KNOWN,
        }
    }

    /// The releases in the family, as people write them: from its first
    /// release to the last before the next family's first.
    ///
    /// ```
    /// use nixl_kv_metrics::release::Family;
    ///
    /// let all: Vec<String> = Family::ALL.iter().map(|f| f.releases().to_string()).collect();
    /// assert_eq!(all, [
    ///     "0.11.0",
    ///     "0.11.1 – 0.11.x",
    ///     "0.12.0 – 0.14.x",
    ///     "0.15.0 – 0.30.x",
    ///     "0.31.x",
    ///     "0.32.0 – 0.34.0 and newer",
    /// ]);
    /// ```
    pub fn releases(self) -> Releases {
        let next = Family::ALL
            .windows(2)
            .find(|pair| pair[0] == self)
            .map(|pair| pair[1]);
        Releases::before(self.first_release(), next.map(Family::first_release))
    }

    /// The fields of the log line, in the order vLLM prints them.
    ///
    /// ```
    /// use nixl_kv_metrics::field::Field;
    /// use nixl_kv_metrics::release::Family;
    ///
    /// assert_eq!(Family::F1.fields(), &[Field::NumSuccessfulTransfersCounter]);
    /// assert_eq!(Family::F4.fields().len(), 8);
    /// assert_eq!(Family::F5.fields()[8], Field::NumFailedTransfers);
    /// ```
    pub fn fields(self) -> &'static [Field] {
        // Each family's line is a prefix of the newest one; 0.11.0's lone
        // counter comes first in `Field::ALL`.
        let newest = &Field::ALL[1..];
        match self {
            Family::F1 => &Field::ALL[..1],
            Family::F2 | Family::F3 | Family::F4 => &newest[..8],
            Family::F5 => &newest[..10],
            Family::F6 => newest,
        }
    }

    /// The event lists the family's stats object keeps, in the order of its
    /// `data` dict (after the four per-transfer lists every family from F2 has).
    ///
    /// ```
    /// use nixl_kv_metrics::release::{Event, Family};
    /// assert!(!Family::F3.events().contains(&Event::KvExpiredReq));
    /// assert!(Family::F4.events().contains(&Event::KvExpiredReq));
    /// ```
    pub fn events(self) -> &'static [Event] {
        use Event::*;
        match self {
            Family::F1 => &[],
            Family::F2 | Family::F3 => &[FailedTransfer, FailedNotification],
            Family::F4 => &[FailedTransfer, FailedNotification, KvExpiredReq],
            Family::F5 => &[
                FailedTransfer,
                FailedNotification,
                FailedHandshake,
                KvExpiredReq,
            ],
            Family::F6 => &[
                FailedTransfer,
                FailedNotification,
                FailedHandshake,
                KvExpiredReq,
                NotificationAfterExpiry,
            ],
        }
    }

    /// How the family rounds `field` before printing it.
    ///
    /// ```
    /// use nixl_kv_metrics::field::Field;
    /// use nixl_kv_metrics::release::{Family, Rounding};
    /// assert_eq!(Family::F3.rounding(Field::AvgXferTimeMs), Rounding::Numpy);
    /// assert_eq!(Family::F3.rounding(Field::P90XferTimeMs), Rounding::Python);
    /// assert_eq!(Family::F2.rounding(Field::P90XferTimeMs), Rounding::Numpy);
    /// ```
    pub fn rounding(self, field: Field) -> Rounding {
        let is_p90 = matches!(field, Field::P90XferTimeMs | Field::P90PostTimeMs);
        match self {
            Family::F1 | Family::F2 => Rounding::Numpy,
            Family::F3 | Family::F4 if is_p90 => Rounding::Python,
            Family::F3 | Family::F4 => Rounding::Numpy,
            Family::F5 | Family::F6 => Rounding::Python,
        }
    }

    /// The value appended to a failure or expiry list for one event.
    ///
    /// ```
    /// use nixl_kv_metrics::release::{FailureMark, Family};
    /// assert_eq!(Family::F3.failure_mark(), FailureMark::Float);
    /// assert_eq!(Family::F4.failure_mark(), FailureMark::Int);
    /// ```
    pub const fn failure_mark(self) -> FailureMark {
        match self {
            Family::F1 | Family::F2 | Family::F3 => FailureMark::Float,
            _ => FailureMark::Int,
        }
    }

    /// True when stats holding only failures (or expiries) count as non-empty,
    /// so that they are shipped by workers, pooled and logged (0.15.0 on).
    /// Before that such stats were empty and their events waited for a success.
    ///
    /// ```
    /// use nixl_kv_metrics::release::Family;
    /// assert!(!Family::F3.keeps_failure_only_stats());
    /// assert!(Family::F4.keeps_failure_only_stats());
    /// ```
    pub const fn keeps_failure_only_stats(self) -> bool {
        matches!(self, Family::F4 | Family::F5 | Family::F6)
    }
}

impl fmt::Display for Family {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{self:?}")
    }
}

/// A run of vLLM releases, as people write it: `0.31.x`, `0.12.0 – 0.14.x`,
/// `0.32.0 – 0.34.0 and newer`.
///
/// ```
/// use nixl_kv_metrics::release::Family;
///
/// let eight_fields = Family::F2.releases().through(Family::F4.releases());
/// assert_eq!(eight_fields.to_string(), "0.11.1 – 0.30.x");
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Releases {
    first: Release,
    last: Last,
}

impl Releases {
    /// The releases from `first` up to the last before `next`, or to the
    /// newest and any newer when there is no `next`.
    ///
    /// ```
    /// use nixl_kv_metrics::release::{Release, Releases};
    ///
    /// let r = |s: &str| s.parse::<Release>().unwrap();
    /// assert_eq!(Releases::before(r("0.23.0"), Some(r("0.26.0"))).to_string(), "0.23.0 – 0.25.x");
    /// assert_eq!(Releases::before(r("0.26.0"), None).to_string(), "0.26.0 – 0.34.0 and newer");
    /// ```
    pub fn before(first: Release, next: Option<Release>) -> Releases {
        Releases {
            first,
            last: next.map_or(Last::Newest, Last::before),
        }
    }

    /// From the first of these releases to the last of `later`'s.
    pub fn through(self, later: Releases) -> Releases {
        Releases {
            first: self.first,
            last: later.last,
        }
    }
}

impl fmt::Display for Releases {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let first = self.first;
        match self.last {
            Last::Exact(last) if last == first => write!(f, "{first}"),
            Last::Exact(last) => write!(f, "{first} – {last}"),
            Last::Minor(major, minor)
                if (major, minor, 0) == (first.major, first.minor, first.patch) =>
            {
                write!(f, "{major}.{minor}.x")
            }
            Last::Minor(major, minor) => write!(f, "{first} – {major}.{minor}.x"),
            Last::Newest if first == Release::NEWEST_KNOWN => write!(f, "{first} and newer"),
            Last::Newest => write!(f, "{first} – {} and newer", Release::NEWEST_KNOWN),
        }
    }
}

/// Where a run of releases ends.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Last {
    /// At this release.
    Exact(Release),
    /// With every patch release of this `MAJOR.MINOR`.
    Minor(u32, u32),
    /// Nowhere yet: at the newest release checked, and any newer.
    Newest,
}

impl Last {
    /// The end of the releases before `next`: the previous patch release,
    /// or every patch of the previous minor one. (No family starts at a
    /// `MAJOR.0.0`.)
    fn before(next: Release) -> Last {
        match next.patch.checked_sub(1) {
            Some(patch) => Last::Exact(Release::new(next.major, next.minor, patch)),
            None => Last::Minor(next.major, next.minor - 1),
        }
    }
}

/// An event that vLLM counts by appending one entry to a list of its own.
///
/// Every list is counted by its length; each has its recorder in vLLM
/// (`record_failed_transfer()`, ...) and [`NixlKvConnectorStats::record`](crate::stats::NixlKvConnectorStats::record) here.
///
/// ```
/// use nixl_kv_metrics::release::Event;
/// assert_eq!(Event::FailedHandshake.key(), "num_failed_handshakes");
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Event {
    /// A NIXL transfer that failed or could not be set up (`record_failed_transfer`).
    FailedTransfer,
    /// A `send_notif` that failed (`record_failed_notification`).
    FailedNotification,
    /// A NIXL handshake that failed (`record_failed_handshake`, 0.31 on).
    FailedHandshake,
    /// A request whose KV lease ran out before it was read (`record_kv_expired_req`).
    KvExpiredReq,
    /// A notification that arrived after the request expired
    /// (`record_notification_after_expiry`, 0.32 on).
    NotificationAfterExpiry,
}

impl Event {
    /// Every event, in the order the newest `data` dict lists their keys.
    ///
    /// ```
    /// use nixl_kv_metrics::release::{Event, Family};
    /// assert_eq!(Family::F6.events(), &Event::ALL);
    /// ```
    pub const ALL: [Event; 5] = [
        Event::FailedTransfer,
        Event::FailedNotification,
        Event::FailedHandshake,
        Event::KvExpiredReq,
        Event::NotificationAfterExpiry,
    ];

    /// The key of the event's list in vLLM's `data` dict, as
    /// [`Key`](crate::data::Key) spells it.
    ///
    /// ```
    /// use nixl_kv_metrics::release::Event;
    /// let keys: Vec<&str> = Event::ALL.iter().map(|e| e.key()).collect();
    /// assert_eq!(keys[3], "num_kv_expired_reqs");
    /// ```
    pub const fn key(self) -> &'static str {
        crate::data::Key::Event(self).name()
    }

    /// The index of the event in [`Event::ALL`].
    ///
    /// ```
    /// use nixl_kv_metrics::release::Event;
    /// assert!(Event::ALL.iter().enumerate().all(|(i, e)| e.index() == i));
    /// ```
    pub const fn index(self) -> usize {
        self as usize
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn family_boundaries() {
        // Releases inside each family, from its first one on.
        let cases = [
            (Family::F1, "0.11.0"),
            (Family::F2, "0.11.1 0.11.2"),
            (Family::F3, "0.12.0 0.14.9"),
            (Family::F4, "0.15.0 0.30.5"),
            (Family::F5, "0.31.0 0.31.7"),
            (Family::F6, "0.32.0 0.33.0 0.34.0 1.0.0"),
        ];
        for (family, releases) in cases {
            for text in releases.split(' ') {
                let release: Release = text.parse().unwrap();
                assert_eq!(release.family(), Ok(family), "{text}");
            }
        }
    }

    #[test]
    fn rejects_malformed() {
        for bad in [
            "", "0", "0.", ".1", "0.12.0.1", "0.x", "a.b.c", "0.12.-1", "0.1 2",
        ] {
            assert!(bad.parse::<Release>().is_err(), "{bad:?}");
        }
        assert_eq!(
            "0.10.2".parse::<Release>().unwrap().family(),
            Err(ReleaseError::NoNixlStats(Release::new(0, 10, 2)))
        );
    }
}
