//! JSON as the crate writes it: compact, every float with the digits
//! Python's `repr` gives it (the digits of vLLM's line, `1e-05` where
//! serde_json would write `1e-5`), and `inf`, `-inf` and `nan`, which JSON
//! cannot hold as numbers, as the strings Python prints for them.
//!
//! The shapes are `Serialize` impls beside what they print
//! ([`line`](super::line), [`record`](super::record), [`run`](super::run));
//! the digits and the inf/nan policy are here, once: a float field
//! serializes as a [`Float`], and [`write()`] and [`to_string`] run every value
//! through [`ReprFormatter`].
//!
//! ```
//! use nixl_kv_metrics::printer::json::{Float, to_string};
//!
//! assert_eq!(to_string(&[Float(72.0), Float(1e-5), Float(1e16)]), "[72.0,1e-05,1e+16]");
//! assert_eq!(to_string(&[Float(f64::INFINITY), Float(f64::NAN)]), r#"["inf","nan"]"#);
//! ```

use std::io;

use serde::ser::SerializeMap;
use serde::{Serialize, Serializer};
use serde_json::ser::Formatter;

use crate::python::Repr;
use crate::views::Bounded;

/// A float as JSON: a number with `repr`'s digits when finite, else the
/// string `"inf"`, `"-inf"` or `"nan"`.
///
/// (serde_json itself writes a non-finite float as `null`, before any
/// formatter sees it: the policy has to be decided here, at serialization.)
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Float(pub f64);

impl Serialize for Float {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        if self.0.is_finite() {
            serializer.serialize_f64(self.0)
        } else {
            serializer.collect_str(&Repr(self.0))
        }
    }
}

/// A bounded number as `{"value": …, "min": …, "max": …}`.
///
/// ```
/// use nixl_kv_metrics::printer::json::to_string;
/// use nixl_kv_metrics::views::Bounded;
///
/// let x = Bounded::new(2.0, 1.5, f64::INFINITY);
/// assert_eq!(to_string(&x), r#"{"value":2.0,"min":1.5,"max":"inf"}"#);
/// ```
impl Serialize for Bounded {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(Some(3))?;
        map.serialize_entry("value", &Float(self.value))?;
        map.serialize_entry("min", &Float(self.min))?;
        map.serialize_entry("max", &Float(self.max))?;
        map.end()
    }
}

/// serde_json's compact layout, with finite floats written as Python's
/// `repr` writes them.
#[derive(Clone, Copy, Debug, Default)]
pub struct ReprFormatter;

impl Formatter for ReprFormatter {
    fn write_f64<W: ?Sized + io::Write>(&mut self, writer: &mut W, value: f64) -> io::Result<()> {
        write!(writer, "{}", Repr(value))
    }
}

/// Writes `value` to `out` as compact JSON through [`ReprFormatter`].
pub fn write<W: io::Write, T: Serialize + ?Sized>(out: W, value: &T) -> io::Result<()> {
    let mut serializer = serde_json::Serializer::with_formatter(out, ReprFormatter);
    value.serialize(&mut serializer).map_err(io::Error::from)
}

/// `value` as compact JSON through [`ReprFormatter`].
pub fn to_string<T: Serialize + ?Sized>(value: &T) -> String {
    let mut out = Vec::new();
    write(&mut out, value).expect("writing JSON to memory cannot fail");
    String::from_utf8(out).expect("serde_json writes UTF-8")
}

/// Adds `key: value` to `map` when there is a value: a member that is
/// absent rather than `null`, as in every object the CLI prints.
pub(crate) fn entry<M: SerializeMap, T: Serialize>(
    map: &mut M,
    key: &str,
    value: Option<T>,
) -> Result<(), M::Error> {
    match value {
        Some(value) => map.serialize_entry(key, &value),
        None => Ok(()),
    }
}
