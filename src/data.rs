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
//! let stats = NixlKvConnectorStats::from_data_json(Family::F4, text)?;
//! assert_eq!(stats.num_successful_transfers(), 1);
//! assert_eq!(
//!     stats.to_data_json(),
//!     r#"{"transfer_duration":[0.001381],"post_duration":[0.000672],"bytes_transferred":[2359296],"num_descriptors":[72],"num_failed_transfers":[],"num_failed_notifications":[],"num_kv_expired_reqs":[]}"#
//! );
//!
//! let bad = r#"{"bytes_transferred": [4096, -1]}"#;
//! let error = NixlKvConnectorStats::from_data_json(Family::F4, bad).unwrap_err();
//! assert_eq!(error.to_string(), "bytes_transferred[1]: -1 is negative; bytes are counted from 0 at line 1 column 31");
//! # Ok::<(), serde_json::Error>(())
//! ```

use std::fmt;

use serde::de::{self, DeserializeSeed, MapAccess, SeqAccess, Visitor};
use serde::ser::{SerializeMap, SerializeSeq};
use serde::{Deserializer, Serialize, Serializer};

use crate::python::Repr;
use crate::release::{Event, FailureMark, Family};
use crate::stats::NixlKvConnectorStats;

/// The key of 0.11.0's counter.
const COUNTER_KEY: &str = "num_successful_transfers";
/// The keys of the four per-transfer lists, in the order of vLLM's dict.
const TRANSFER_KEYS: [&str; 4] = [
    "transfer_duration",
    "post_duration",
    "bytes_transferred",
    "num_descriptors",
];

impl NixlKvConnectorStats {
    /// Reads stats from the JSON of a `data` dict, for `family`.
    ///
    /// Keys left out are empty lists, as when vLLM rebuilds stats from a
    /// dict over its own empty one.
    pub fn from_data_json(
        family: Family,
        text: &str,
    ) -> Result<NixlKvConnectorStats, serde_json::Error> {
        let mut deserializer = serde_json::Deserializer::from_str(text);
        let stats = StatsSeed(family).deserialize(&mut deserializer)?;
        deserializer.end()?;
        Ok(stats)
    }

    /// The JSON of the `data` dict vLLM would hold for these stats.
    pub fn to_data_json(&self) -> String {
        serde_json::to_string(self).expect("stats always serialize")
    }
}

impl Serialize for NixlKvConnectorStats {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let family = self.family();
        if family == Family::F1 {
            let mut map = serializer.serialize_map(Some(1))?;
            map.serialize_entry(COUNTER_KEY, &self.num_successful_transfers())?;
            return map.end();
        }
        let events = family.events();
        let mut map = serializer.serialize_map(Some(TRANSFER_KEYS.len() + events.len()))?;
        map.serialize_entry(TRANSFER_KEYS[0], self.transfer_duration())?;
        map.serialize_entry(TRANSFER_KEYS[1], self.post_duration())?;
        map.serialize_entry(TRANSFER_KEYS[2], self.bytes_transferred())?;
        map.serialize_entry(TRANSFER_KEYS[3], self.num_descriptors())?;
        for &event in events {
            let marks = Marks {
                mark: family.failure_mark(),
                count: self.event_count(event),
            };
            map.serialize_entry(event.key(), &marks)?;
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

/// Reads one `data` dict as stats of a family.
///
/// ```
/// use serde::de::DeserializeSeed;
/// use nixl_kv_metrics::data::StatsSeed;
/// use nixl_kv_metrics::release::Family;
///
/// let mut json = serde_json::Deserializer::from_str(r#"{"num_successful_transfers": 3}"#);
/// let stats = StatsSeed(Family::F1).deserialize(&mut json)?;
/// assert_eq!(stats.num_successful_transfers(), 3);
/// # Ok::<(), serde_json::Error>(())
/// ```
#[derive(Clone, Copy, Debug)]
pub struct StatsSeed(pub Family);

impl<'de> DeserializeSeed<'de> for StatsSeed {
    type Value = NixlKvConnectorStats;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Self::Value, D::Error> {
        deserializer.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for StatsSeed {
    type Value = NixlKvConnectorStats;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "a vLLM stats dict (an object of lists)")
    }

    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Self::Value, A::Error> {
        read_stats_entries(self.0, None, map)
    }
}

/// Reads the entries of a stats dict whose first key, if given, was already
/// read (the input document peeks at it to tell a dict from `{"steps": …}`).
pub(crate) fn read_stats_entries<'de, A: MapAccess<'de>>(
    family: Family,
    first_key: Option<String>,
    mut map: A,
) -> Result<NixlKvConnectorStats, A::Error> {
    let mut columns = Columns::default();
    let mut events = [None::<u64>; Event::ALL.len()];
    let mut counter = None;
    let mut key = match first_key {
        Some(key) => Some(key),
        None => map.next_key::<String>()?,
    };
    while let Some(name) = key {
        let duplicate = || de::Error::custom(format_args!("key {name:?} appears twice"));
        if family == Family::F1 && name == COUNTER_KEY {
            if counter.is_some() {
                return Err(duplicate());
            }
            counter = Some(map.next_value_seed(Counter)?);
        } else if let Some(i) = TRANSFER_KEYS
            .iter()
            .position(|k| *k == name)
            .filter(|_| family != Family::F1)
        {
            if columns.seen[i] {
                return Err(duplicate());
            }
            columns.seen[i] = true;
            map.next_value_seed(ColumnSeed {
                index: i,
                columns: &mut columns,
            })?;
        } else if let Some(&event) = family.events().iter().find(|e| e.key() == name) {
            if events[event.index()].is_some() {
                return Err(duplicate());
            }
            events[event.index()] = Some(map.next_value_seed(EventList(event))?);
        } else {
            return Err(de::Error::custom(format_args!(
                "key {name:?} is not in the stats of vLLM {} ({family}); its keys are {}",
                family.releases(),
                keys_of(family)
            )));
        }
        key = map.next_key::<String>()?;
    }
    let lengths = [
        columns.transfer_duration.len(),
        columns.post_duration.len(),
        columns.bytes_transferred.len(),
        columns.num_descriptors.len(),
    ];
    if lengths.iter().any(|&len| len != lengths[0]) {
        return Err(de::Error::custom(format_args!(
            "the per-transfer lists differ in length ({}): each transfer has one entry in each",
            TRANSFER_KEYS
                .iter()
                .zip(lengths)
                .map(|(k, len)| format!("{k} {len}"))
                .collect::<Vec<_>>()
                .join(", ")
        )));
    }
    let mut stats = match counter {
        Some(count) => {
            let mut stats = NixlKvConnectorStats::new(family);
            for _ in 0..count {
                stats.record_transfer(&Default::default());
            }
            stats
        }
        None => NixlKvConnectorStats::from_transfers(
            family,
            columns.transfer_duration,
            columns.post_duration,
            columns.bytes_transferred,
            columns.num_descriptors,
        ),
    };
    for event in Event::ALL {
        if let Some(count) = events[event.index()] {
            stats
                .record_many(event, count)
                .expect("only the family's own event keys are read");
        }
    }
    Ok(stats)
}

/// The family's keys, for an error message.
fn keys_of(family: Family) -> String {
    if family == Family::F1 {
        return COUNTER_KEY.to_string();
    }
    TRANSFER_KEYS
        .iter()
        .copied()
        .chain(family.events().iter().map(|e| e.key()))
        .collect::<Vec<_>>()
        .join(", ")
}

/// The four per-transfer lists while they are read.
#[derive(Default)]
struct Columns {
    transfer_duration: Vec<f64>,
    post_duration: Vec<f64>,
    bytes_transferred: Vec<u64>,
    num_descriptors: Vec<u32>,
    seen: [bool; 4],
}

/// Reads the per-transfer list number `index` into `columns`.
struct ColumnSeed<'a> {
    index: usize,
    columns: &'a mut Columns,
}

impl<'de> DeserializeSeed<'de> for ColumnSeed<'_> {
    type Value = ();

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        deserializer.deserialize_seq(self)
    }
}

impl<'de> Visitor<'de> for ColumnSeed<'_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "a list for {}", TRANSFER_KEYS[self.index])
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        let key = TRANSFER_KEYS[self.index];
        let columns = self.columns;
        let mut i = 0usize;
        let at = |i: usize| move |e: A::Error| de::Error::custom(format_args!("{key}[{i}]: {e}"));
        match self.index {
            0 | 1 => {
                let out = if self.index == 0 {
                    &mut columns.transfer_duration
                } else {
                    &mut columns.post_duration
                };
                if let Some(hint) = seq.size_hint() {
                    out.reserve(hint);
                }
                while let Some(Seconds(x)) = seq.next_element().map_err(at(i))? {
                    out.push(x);
                    i += 1;
                }
            }
            2 => {
                while let Some(Bytes(x)) = seq.next_element().map_err(at(i))? {
                    columns.bytes_transferred.push(x);
                    i += 1;
                }
            }
            _ => {
                while let Some(Descriptors(x)) = seq.next_element().map_err(at(i))? {
                    columns.num_descriptors.push(x);
                    i += 1;
                }
            }
        }
        Ok(())
    }
}

/// A duration in seconds: a non-negative number.
struct Seconds(f64);

impl<'de> de::Deserialize<'de> for Seconds {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = Seconds;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "a duration in seconds (a number >= 0)")
            }
            fn visit_f64<E: de::Error>(self, x: f64) -> Result<Seconds, E> {
                if x < 0.0 {
                    Err(E::custom(format_args!(
                        "{} is negative; a duration is a number of seconds >= 0",
                        Repr(x)
                    )))
                } else {
                    Ok(Seconds(x))
                }
            }
            fn visit_u64<E: de::Error>(self, x: u64) -> Result<Seconds, E> {
                Ok(Seconds(x as f64))
            }
            fn visit_i64<E: de::Error>(self, x: i64) -> Result<Seconds, E> {
                self.visit_f64(x as f64)
            }
        }
        deserializer.deserialize_f64(V)
    }
}

/// A byte count: an integer from 0 to 2⁶⁴ − 1.
struct Bytes(u64);

impl<'de> de::Deserialize<'de> for Bytes {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = Bytes;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "a byte count (an integer from 0 to 2^64 - 1)")
            }
            fn visit_u64<E: de::Error>(self, x: u64) -> Result<Bytes, E> {
                Ok(Bytes(x))
            }
            fn visit_i64<E: de::Error>(self, x: i64) -> Result<Bytes, E> {
                if x < 0 {
                    Err(E::custom(format_args!(
                        "{x} is negative; bytes are counted from 0"
                    )))
                } else {
                    Ok(Bytes(x as u64))
                }
            }
        }
        deserializer.deserialize_u64(V)
    }
}

/// A descriptor count: an integer that fits numpy's `uint32`, as vLLM reads it.
struct Descriptors(u32);

impl<'de> de::Deserialize<'de> for Descriptors {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = Descriptors;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "a descriptor count (an integer from 0 to 4294967295)")
            }
            fn visit_u64<E: de::Error>(self, x: u64) -> Result<Descriptors, E> {
                u32::try_from(x).map(Descriptors).map_err(|_| {
                    E::custom(format_args!(
                        "{x} descriptors do not fit in uint32, the type vLLM reads them as"
                    ))
                })
            }
            fn visit_i64<E: de::Error>(self, x: i64) -> Result<Descriptors, E> {
                Err(E::custom(format_args!(
                    "{x} is negative; a descriptor count is from 0 to 4294967295"
                )))
            }
        }
        deserializer.deserialize_u64(V)
    }
}

/// 0.11.0's counter of successful transfers.
struct Counter;

impl<'de> DeserializeSeed<'de> for Counter {
    type Value = u64;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<u64, D::Error> {
        deserializer.deserialize_u64(self)
    }
}

impl Visitor<'_> for Counter {
    type Value = u64;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "a count of successful transfers (an integer >= 0)")
    }

    fn visit_u64<E: de::Error>(self, x: u64) -> Result<u64, E> {
        Ok(x)
    }

    fn visit_i64<E: de::Error>(self, x: i64) -> Result<u64, E> {
        Err(E::custom(format_args!("{x} is negative; a count is >= 0")))
    }
}

/// An event list: one entry, `1` or `1.0`, per event. Reads to its length.
struct EventList(Event);

impl<'de> DeserializeSeed<'de> for EventList {
    type Value = u64;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<u64, D::Error> {
        deserializer.deserialize_seq(self)
    }
}

impl<'de> Visitor<'de> for EventList {
    type Value = u64;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "a list for {} with one entry (1) per event",
            self.0.key()
        )
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<u64, A::Error> {
        let key = self.0.key();
        let mut count = 0u64;
        while let Some(Mark) = seq
            .next_element()
            .map_err(|e| de::Error::custom(format_args!("{key}[{count}]: {e}")))?
        {
            count += 1;
        }
        Ok(count)
    }
}

/// One entry of an event list: vLLM appends `1` (or `1.0` before 0.15).
struct Mark;

impl<'de> de::Deserialize<'de> for Mark {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = Mark;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "1 (each entry records one event)")
            }
            fn visit_u64<E: de::Error>(self, x: u64) -> Result<Mark, E> {
                mark(x as f64, x)
            }
            fn visit_i64<E: de::Error>(self, x: i64) -> Result<Mark, E> {
                mark(x as f64, x)
            }
            fn visit_f64<E: de::Error>(self, x: f64) -> Result<Mark, E> {
                mark(x, Repr(x))
            }
        }
        fn mark<E: de::Error>(x: f64, shown: impl fmt::Display) -> Result<Mark, E> {
            if x == 1.0 {
                Ok(Mark)
            } else {
                Err(E::custom(format_args!(
                    "{shown} is not 1; each entry records one event and vLLM appends 1"
                )))
            }
        }
        deserializer.deserialize_any(V)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn error(family: Family, text: &str) -> String {
        NixlKvConnectorStats::from_data_json(family, text)
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
            let back = NixlKvConnectorStats::from_data_json(family, &stats.to_data_json()).unwrap();
            assert_eq!(back, stats, "{family}");
        }
    }

    #[test]
    fn names_what_and_where() {
        assert_eq!(
            error(Family::F6, r#"{"num_descriptors": [1, 4294967296]}"#),
            "num_descriptors[1]: 4294967296 descriptors do not fit in uint32, the type vLLM reads them as at line 1 column 34"
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
            error(Family::F6, r#"{"transfer_duration": ["1"]}"#).starts_with(
                "transfer_duration[0]: invalid type: string \"1\", expected a duration"
            )
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
