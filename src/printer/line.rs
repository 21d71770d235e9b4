//! vLLM's line as JSON, as `reduce --format json` prints it: one object,
//! vLLM's field names in vLLM's order, each value as the line prints it
//! (an int, or a float with `repr`'s digits; `inf` and `nan` as strings).
//!
//! ```
//! use nixl_kv_metrics::printer::json;
//! use nixl_kv_metrics::release::Family;
//! use nixl_kv_metrics::stats::NixlKvConnectorStats;
//!
//! let stats = NixlKvConnectorStats::from_transfers(
//!     Family::F3, vec![0.0], vec![0.0], vec![4096], vec![1]);
//! let text = json::to_string(&stats.reduce());
//! assert!(text.starts_with(r#"{"Num successful transfers":1,"Avg xfer time (ms)":0.0,"#));
//! assert!(text.contains(r#""Throughput (MB/s)":"inf""#));
//! ```

use serde::ser::SerializeMap;
use serde::{Serialize, Serializer};

use super::json::Float;
use crate::reduce::{Summary, Value};

/// An int as a JSON integer (of any size up to 128 bits), a float as a
/// [`Float`].
impl Serialize for Value {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match *self {
            Value::Int(i) => serializer.serialize_u128(i),
            Value::Float(x) => Float(x).serialize(serializer),
        }
    }
}

/// The fields as one object, in the line's order.
impl Serialize for Summary {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(Some(self.values().len()))?;
        for (field, value) in self.values() {
            map.serialize_entry(field.name(), value)?;
        }
        map.end()
    }
}
