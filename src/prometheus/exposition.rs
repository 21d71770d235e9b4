//! The text exposition: what `/metrics` serves for the NIXL metrics, as
//! prometheus_client's `generate_latest` writes it.
//!
//! Per metric, in registration order: `# HELP` and `# TYPE` (a counter's
//! family named with `_total`), then every engine's samples, histograms as
//! `_bucket{le=…}` (cumulative), `_count`, `_sum`, counters as `_total`.
//! Labels are sorted by name (`engine`, `le`, `model_name`); label values
//! escape `\`, `"` and newlines. Values and `le` bounds are printed by
//! [`GoFloat`], prometheus_client's `floatToGoString`: `0.0`, `2048.0`,
//! `2.097152e+06`, `+Inf`.
//!
//! **`_created`.** prometheus_client also serves, after each metric's
//! samples, a gauge `<name>_created` per series holding the Unix time at
//! which vLLM created the series (at start-up), unless the environment sets
//! `PROMETHEUS_DISABLE_CREATED_SERIES=true` or vLLM runs several API servers
//! (multiprocess mode has no `_created`). Those times are wall-clock
//! readings no model can reproduce, so they are an input here: `None` omits
//! the gauges (as that variable does), `Some(t)` prints `t` for every series
//! (vLLM's series differ by the microseconds between their creation).
//! Golden tests compare everything but these values.
//!
//! Prometheus itself usually scrapes in the OpenMetrics format, where
//! `_created` belongs to the metric family instead; this module writes the
//! classic text format only.
//!
//! ```
//! use nixl_kv_metrics::prometheus::NixlPromMetrics;
//! use nixl_kv_metrics::release::Family;
//!
//! let text = NixlPromMetrics::new(Family::F6, "m", [0])?.exposition(Some(1.7e9));
//! let lines: Vec<&str> = text.lines().collect();
//! assert_eq!(lines[0], "# HELP vllm:nixl_xfer_time_seconds Histogram of transfer duration for NIXL KV Cache transfers.");
//! assert_eq!(lines[1], "# TYPE vllm:nixl_xfer_time_seconds histogram");
//! assert_eq!(lines[14], r#"vllm:nixl_xfer_time_seconds_bucket{engine="0",le="+Inf",model_name="m"} 0.0"#);
//! assert_eq!(lines[17], "# HELP vllm:nixl_xfer_time_seconds_created Histogram of transfer duration for NIXL KV Cache transfers.");
//! assert_eq!(lines[18], "# TYPE vllm:nixl_xfer_time_seconds_created gauge");
//! assert_eq!(lines[19], r#"vllm:nixl_xfer_time_seconds_created{engine="0",model_name="m"} 1.7e+09"#);
//! # Ok::<(), nixl_kv_metrics::prometheus::MetricsError>(())
//! ```

use std::fmt::{self, Write as _};

use crate::prometheus::NixlPromMetrics;
use crate::python::Repr;

/// A float printed as prometheus_client's `floatToGoString` prints it:
/// `+Inf`, `-Inf`, `NaN`; otherwise Python's `repr`, except that a positive
/// value with more than six digits before the point switches to Go-style
/// exponent notation, trailing zeros dropped.
///
/// ```
/// use nixl_kv_metrics::prometheus::GoFloat;
///
/// let cases = [
///     (0.0, "0.0"), (0.005, "0.005"), (5.0, "5.0"), (524288.0, "524288.0"),
///     (2097152.0, "2.097152e+06"), (8589934592.0, "8.589934592e+09"),
///     (1000000.0, "1e+06"), (1234567.5, "1.2345675e+06"), (1e-05, "1e-05"),
///     (1e16, "1e+16"), (-1234567.0, "-1234567.0"), (f64::INFINITY, "+Inf"),
///     (f64::NEG_INFINITY, "-Inf"), (f64::NAN, "NaN"), (1.7953504961467142e9, "1.7953504961467142e+09"),
/// ];
/// for (x, text) in cases {
///     assert_eq!(GoFloat(x).to_string(), text);
/// }
/// ```
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct GoFloat(pub f64);

impl fmt::Display for GoFloat {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let x = self.0;
        if x == f64::INFINITY {
            return f.write_str("+Inf");
        }
        if x == f64::NEG_INFINITY {
            return f.write_str("-Inf");
        }
        if x.is_nan() {
            return f.write_str("NaN");
        }
        let repr = Repr(x).to_string();
        match repr.find('.') {
            Some(dot) if x > 0.0 && dot > 6 => {
                let digits = format!("{}{}", &repr[1..dot], &repr[dot + 1..]);
                let mantissa = format!("{}.{digits}", &repr[..1]);
                let mantissa = mantissa.trim_end_matches(['0', '.']);
                write!(f, "{mantissa}e+{:02}", dot - 1)
            }
            _ => f.write_str(&repr),
        }
    }
}

/// One sample line: a name, labels (in the order printed) and a value.
///
/// ```
/// use nixl_kv_metrics::prometheus::Sample;
///
/// let sample = Sample::new(
///     "vllm:nixl_num_failed_transfers_total",
///     vec![("engine".into(), "0".into()), ("model_name".into(), "a \"b\"\\c\nd".into())],
///     3.0,
/// );
/// assert_eq!(sample.to_string(),
///            r#"vllm:nixl_num_failed_transfers_total{engine="0",model_name="a \"b\"\\c\nd"} 3.0"#);
/// assert_eq!(sample.label("engine"), Some("0"));
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct Sample {
    /// The sample's name (metric name and suffix).
    pub name: String,
    /// Label names and values, sorted by name.
    pub labels: Vec<(String, String)>,
    /// The value.
    pub value: f64,
}

impl Sample {
    /// A sample from its parts.
    pub fn new(name: impl Into<String>, labels: Vec<(String, String)>, value: f64) -> Sample {
        Sample {
            name: name.into(),
            labels,
            value,
        }
    }

    /// The value of label `name`, if the sample has it.
    pub fn label(&self, name: &str) -> Option<&str> {
        self.labels
            .iter()
            .find(|(label, _)| label == name)
            .map(|(_, value)| value.as_str())
    }
}

impl fmt::Display for Sample {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.name)?;
        if !self.labels.is_empty() {
            f.write_char('{')?;
            for (i, (name, value)) in self.labels.iter().enumerate() {
                if i > 0 {
                    f.write_char(',')?;
                }
                write!(f, "{name}=\"{}\"", escape_label_value(value))?;
            }
            f.write_char('}')?;
        }
        write!(f, " {}", GoFloat(self.value))
    }
}

/// A label value as the exposition writes it: `\` → `\\`, `"` → `\"`,
/// newline → `\n`.
///
/// ```
/// use nixl_kv_metrics::prometheus::escape_label_value;
/// assert_eq!(escape_label_value("a\\b\"c\nd"), r#"a\\b\"c\nd"#);
/// ```
pub fn escape_label_value(value: &str) -> String {
    value
        .replace('\\', r"\\")
        .replace('\n', r"\n")
        .replace('"', r#"\""#)
}

/// A HELP text as the exposition writes it: `\` → `\\`, newline → `\n`.
///
/// ```
/// use nixl_kv_metrics::prometheus::escape_help;
/// assert_eq!(escape_help("a\\b\nc \"d\""), r#"a\\b\nc "d""#);
/// ```
pub fn escape_help(help: &str) -> String {
    help.replace('\\', r"\\").replace('\n', r"\n")
}

/// The exposition of `metrics`, `_created` gauges at `created` or omitted.
pub(crate) fn render(metrics: &NixlPromMetrics, created: Option<f64>) -> String {
    let mut out = String::new();
    for (index, metric) in metrics.metrics().iter().enumerate() {
        let family = metric.exposed_name();
        let help = escape_help(metric.help);
        let _ = writeln!(out, "# HELP {family} {help}");
        let _ = writeln!(out, "# TYPE {family} {}", metric.type_name());
        for sample in metrics.metric_samples(index) {
            let _ = writeln!(out, "{sample}");
        }
        if let Some(created) = created {
            let _ = writeln!(out, "# HELP {}_created {help}", metric.name);
            let _ = writeln!(out, "# TYPE {}_created gauge", metric.name);
            for sample in metrics.created_samples(index, created) {
                let _ = writeln!(out, "{sample}");
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn go_float_matches_prometheus_client() {
        // Checked against prometheus_client 0.26's floatToGoString.
        let cases = [
            (100000.0, "100000.0"),
            (999999.9, "999999.9"),
            (10000000.5, "1.00000005e+07"),
            (123456789012345.67, "1.2345678901234567e+14"),
            (1e15, "1e+15"),
            (9999999999999998.0, "9.999999999999998e+15"),
            (1.5e16, "1.5e+16"),
            (-0.0, "-0.0"),
            (5e-324, "5e-324"),
            (0.1, "0.1"),
        ];
        for (x, text) in cases {
            assert_eq!(GoFloat(x).to_string(), text, "{x:e}");
        }
    }
}
