//! vLLM's `data` dict as JSON: the shape workers ship and the scheduler passes on.
//!
//! Stats serialize to exactly the dict a release's `NixlKVConnectorStats.data`
//! holds (its keys, in its order, failure entries as `1.0` or `1`), and read
//! back from it with every value checked: a negative byte count, a descriptor
//! count beyond `uint32`, a key the release does not have, or lists of
//! different lengths are errors that name the key and the index.
//!
//! ```
//! use nixl_kv_metrics::release::Family;
//! use nixl_kv_metrics::stats::NixlKvConnectorStats;
//!
//! let text = r#"{"transfer_duration": [0.001381], "post_duration": [0.000672],
//!                "bytes_transferred": [2359296], "num_descriptors": [72]}"#;
//! let stats = NixlKvConnectorStats::from_data_json(Family::F4, text.as_bytes())?;
//! assert_eq!(stats.num_successful_transfers(), 1);
//! assert_eq!(
//!     stats.to_data_json(),
//!     r#"{"transfer_duration":[0.001381],"post_duration":[0.000672],"bytes_transferred":[2359296],"num_descriptors":[72],"num_failed_transfers":[],"num_failed_notifications":[],"num_kv_expired_reqs":[]}"#
//! );
//!
//! let bad = r#"{"bytes_transferred": [4096, -1]}"#;
//! let error = NixlKvConnectorStats::from_data_json(Family::F4, bad.as_bytes()).unwrap_err();
//! assert_eq!(error.to_string(), "bytes_transferred[1]: -1 is negative; a byte count is >= 0 at line 1 column 30");
//! # Ok::<(), nixl_kv_metrics::input::InputError>(())
//! ```

use serde::ser::{SerializeMap, SerializeSeq};
use serde::{Serialize, Serializer};

use crate::input::{self, InputError};
use crate::release::{Event, FailureMark, Family};
use crate::stats::NixlKvConnectorStats;

/// A key of vLLM's `data` dict: the one place the keys are spelled, for
/// writing the dict and for reading it back.
///
/// ```
/// use nixl_kv_metrics::data::Key;
/// use nixl_kv_metrics::release::{Event, Family};
///
/// let keys: Vec<&str> = Key::of(Family::F4).map(Key::name).collect();
/// assert_eq!(keys, ["transfer_duration", "post_duration", "bytes_transferred", "num_descriptors",
///                   "num_failed_transfers", "num_failed_notifications", "num_kv_expired_reqs"]);
/// assert_eq!(Key::find(Family::F1, "num_successful_transfers"), Some(Key::NumSuccessfulTransfers));
/// assert_eq!(Key::find(Family::F4, "num_failed_handshakes"), None);
/// assert_eq!(Key::Event(Event::FailedHandshake).name(), "num_failed_handshakes");
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Key {
    /// 0.11.0's only key: the count of successful transfers.
    NumSuccessfulTransfers,
    /// Per transfer (0.11.1 on): seconds from post to completion.
    TransferDuration,
    /// Per transfer: seconds the post call took.
    PostDuration,
    /// Per transfer: bytes moved.
    BytesTransferred,
    /// Per transfer: NIXL descriptors.
    NumDescriptors,
    /// An event's list: one entry per event.
    Event(Event),
}

impl Key {
    /// The four per-transfer lists, in the dict's order.
    pub const TRANSFERS: [Key; 4] = [
        Key::TransferDuration,
        Key::PostDuration,
        Key::BytesTransferred,
        Key::NumDescriptors,
    ];

    /// The key as vLLM spells it.
    pub const fn name(self) -> &'static str {
        match self {
            Key::NumSuccessfulTransfers => "num_successful_transfers",
            Key::TransferDuration => "transfer_duration",
            Key::PostDuration => "post_duration",
            Key::BytesTransferred => "bytes_transferred",
            Key::NumDescriptors => "num_descriptors",
            Key::Event(Event::FailedTransfer) => "num_failed_transfers",
            Key::Event(Event::FailedNotification) => "num_failed_notifications",
            Key::Event(Event::FailedHandshake) => "num_failed_handshakes",
            Key::Event(Event::KvExpiredReq) => "num_kv_expired_reqs",
            Key::Event(Event::NotificationAfterExpiry) => "num_notifications_after_expiry",
        }
    }

    /// The keys of `family`'s dict, in vLLM's order.
    pub fn of(family: Family) -> impl Iterator<Item = Key> {
        let counter = family == Family::F1;
        let transfers: &[Key] = if counter { &[] } else { &Key::TRANSFERS };
        counter
            .then_some(Key::NumSuccessfulTransfers)
            .into_iter()
            .chain(transfers.iter().copied())
            .chain(family.events().iter().map(|&event| Key::Event(event)))
    }

    /// The key of `family`'s dict spelled `name`, if it has one.
    pub fn find(family: Family, name: &str) -> Option<Key> {
        Key::of(family).find(|key| key.name() == name)
    }
}

impl NixlKvConnectorStats {
    /// Reads stats from the JSON of a `data` dict, for `family`.
    ///
    /// Keys left out are empty lists, as when vLLM rebuilds stats from a
    /// dict over its own empty one.
    pub fn from_data_json(family: Family, text: &[u8]) -> Result<NixlKvConnectorStats, InputError> {
        input::read_stats(family, text)
    }

    /// The JSON of the `data` dict vLLM would hold for these stats.
    pub fn to_data_json(&self) -> String {
        serde_json::to_string(self).expect("stats always serialize")
    }
}

impl Serialize for NixlKvConnectorStats {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let family = self.family();
        let mut map = serializer.serialize_map(Some(Key::of(family).count()))?;
        for key in Key::of(family) {
            let name = key.name();
            match key {
                Key::NumSuccessfulTransfers => {
                    map.serialize_entry(name, &self.num_successful_transfers())
                }
                Key::TransferDuration => map.serialize_entry(name, self.transfer_duration()),
                Key::PostDuration => map.serialize_entry(name, self.post_duration()),
                Key::BytesTransferred => map.serialize_entry(name, self.bytes_transferred()),
                Key::NumDescriptors => map.serialize_entry(name, self.num_descriptors()),
                Key::Event(event) => map.serialize_entry(
                    name,
                    &Marks {
                        mark: family.failure_mark(),
                        count: self.event_count(event),
                    },
                ),
            }?;
        }
        map.end()
    }
}

/// An event list: `count` copies of the family's mark.
struct Marks {
    mark: FailureMark,
    count: u64,
}

impl Serialize for Marks {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut seq = serializer.serialize_seq(None)?;
        for _ in 0..self.count {
            match self.mark {
                FailureMark::Float => seq.serialize_element(&1.0f64)?,
                FailureMark::Int => seq.serialize_element(&1u8)?,
            }
        }
        seq.end()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn error(family: Family, text: &str) -> String {
        NixlKvConnectorStats::from_data_json(family, text.as_bytes())
            .unwrap_err()
            .to_string()
    }

    #[test]
    fn round_trips_every_family() {
        for family in Family::ALL {
            let mut stats = NixlKvConnectorStats::new(family);
            stats.record_transfer(&crate::telemetry::XferTelemetry::new(1, 2, 3, 4));
            for &event in family.events() {
                stats.record(event).unwrap();
            }
            let back =
                NixlKvConnectorStats::from_data_json(family, stats.to_data_json().as_bytes())
                    .unwrap();
            assert_eq!(back, stats, "{family}");
        }
    }

    #[test]
    fn names_what_and_where() {
        assert_eq!(
            error(Family::F6, r#"{"num_descriptors": [1, 4294967296]}"#),
            "num_descriptors[1]: 4294967296 descriptors do not fit in uint32, the type vLLM reads them as at line 1 column 25"
        );
        assert!(
            error(Family::F4, r#"{"num_failed_handshakes": []}"#).starts_with(
                r#"key "num_failed_handshakes" is not in the stats of vLLM 0.15.0 – 0.30.x (F4)"#
            )
        );
        assert!(
            error(
                Family::F6,
                r#"{"transfer_duration": [1.0], "post_duration": []}"#
            )
            .starts_with(
                "the per-transfer lists differ in length (transfer_duration 1, post_duration 0"
            )
        );
        assert!(
            error(Family::F6, r#"{"transfer_duration": ["1"]}"#)
                .starts_with("transfer_duration[0]: expected a number, found a string")
        );
        assert!(
            error(Family::F6, r#"{"transfer_duration": [-0.5]}"#)
                .starts_with("transfer_duration[0]: -0.5 is negative")
        );
        assert!(
            error(Family::F5, r#"{"num_failed_transfers": [1, 2]}"#)
                .starts_with("num_failed_transfers[1]: 2 is not 1")
        );
        assert!(
            error(Family::F5, r#"{"post_duration": [], "post_duration": []}"#)
                .starts_with(r#"key "post_duration" appears twice"#)
        );
    }
}
