//! A KV line read from a log, as `parse` prints it: a JSON object (one per
//! line of JSON Lines) or a CSV row.
//!
//! JSON: "line"; "release", the families that print the line's shape, and
//! "vllm", those releases in words; "engine" or "aggregated_engines" when
//! known; "timestamp", "level", "process" and "connector" when present;
//! "unterminated": true for a last line cut short; "fields", vLLM's names in
//! vLLM's order to the values as printed.
//!
//! CSV: `line,release,engine`, then the eleven fields in vLLM's order, then
//! 0.11.0's `num_successful_transfers`; empty where the line has no such
//! field.
//!
//! ```
//! use nixl_kv_metrics::logs::parse_line;
//! use nixl_kv_metrics::printer::{json, record};
//!
//! let line = "INFO 10-01 01:02:03 [m.py:1] KV Transfer metrics: num_successful_transfers=3";
//! let record = parse_line(line)?.unwrap();
//! assert_eq!(
//!     json::to_string(&record),
//!     r#"{"line":1,"release":"F1","vllm":"0.11.0","timestamp":"10-01 01:02:03","level":"INFO","fields":{"num_successful_transfers":3}}"#
//! );
//! assert!(record::csv_header().starts_with("line,release,engine,Num successful transfers,"));
//! assert_eq!(record::CsvRow(&record).to_string(), "1,F1,,,,,,,,,,,,,3");
//! # Ok::<(), nixl_kv_metrics::logs::ErrorKind>(())
//! ```

use std::fmt;

use serde::ser::SerializeMap;
use serde::{Serialize, Serializer};

use super::json::entry;
use crate::field::Field;
use crate::logs::{Engine, KvRecord, Printed};

/// The record as one JSON object.
impl Serialize for KvRecord {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let families = self.families();
        let mut map = serializer.serialize_map(None)?;
        map.serialize_entry("line", &self.line)?;
        map.serialize_entry("release", &families.to_string())?;
        map.serialize_entry("vllm", &families.releases())?;
        match self.engine {
            Engine::One(index) => map.serialize_entry("engine", &index)?,
            Engine::Aggregated(count) => map.serialize_entry("aggregated_engines", &count)?,
            Engine::Unknown => {}
        }
        entry(&mut map, "timestamp", self.timestamp.as_deref())?;
        entry(&mut map, "level", self.level.map(|level| level.as_str()))?;
        entry(&mut map, "process", self.process.as_deref())?;
        entry(&mut map, "connector", self.connector.as_deref())?;
        entry(&mut map, "unterminated", self.unterminated.then_some(true))?;
        map.serialize_entry("fields", &Fields(&self.fields))?;
        map.end()
    }
}

/// A line's fields as one object, in the line's order.
struct Fields<'a>(&'a [Printed]);

impl Serialize for Fields<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(Some(self.0.len()))?;
        for printed in self.0 {
            map.serialize_entry(printed.field.name(), &printed.value)?;
        }
        map.end()
    }
}

/// The CSV columns after `line,release,engine`: the eleven fields in vLLM's
/// order, then 0.11.0's counter.
fn csv_fields() -> impl Iterator<Item = Field> {
    Field::ALL[1..]
        .iter()
        .copied()
        .chain([Field::NumSuccessfulTransfersCounter])
}

/// The CSV header row, without its line end.
pub fn csv_header() -> String {
    let mut out = String::from("line,release,engine");
    for field in csv_fields() {
        out.push(',');
        out.push_str(field.name());
    }
    out
}

/// A record as one CSV row, without its line end.
pub struct CsvRow<'a>(pub &'a KvRecord);

impl fmt::Display for CsvRow<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        use fmt::Write;
        // Put together, then written in one piece: a formatter's write
        // costs more than a String's, and a row has thirty pieces.
        let record = self.0;
        let mut row = String::with_capacity(192);
        write!(row, "{},{},", record.line, record.families())?;
        if record.engine != Engine::Unknown {
            write!(row, "{}", record.engine)?;
        }
        for field in csv_fields() {
            row.push(',');
            // The digits as printed, which are the value's `repr`: no
            // float is formatted again.
            if let Some(printed) = record.printed(field) {
                row.push_str(printed.digits());
            }
        }
        f.write_str(&row)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_header_has_every_field_once() {
        let header = csv_header();
        assert_eq!(header.split(',').count(), 3 + 12);
        assert!(header.ends_with(",Num notifs after expiry,num_successful_transfers"));
    }
}
