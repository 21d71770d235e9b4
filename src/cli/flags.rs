//! Flag values checked once, where clap reads them: `--interval`, the TP
//! sizes, `--engine` and `--vllm`. A value out of range is refused at the flag, in one line naming
//! the flag ([`refuse`](super::refuse)), before anything is read or printed.

use std::fmt;
use std::time::Duration;

use nixl_kv_metrics::printer::numbers::trimmed;
use nixl_kv_metrics::printer::words::excerpt;
use nixl_kv_metrics::release::{Release, ReleaseError};
use nixl_kv_metrics::views::DEFAULT_INTERVAL;

/// The largest TP size accepted. vLLM splits a model's attention heads over
/// its TP ranks and requires the head count to be a multiple of the TP size,
/// so TP never exceeds a model's head count; 1024 is far above that, and
/// keeps `explain`, which lays out a transfer plan per rank, quick.
pub const MAX_TP: u32 = 1024;

/// `--tp`, `--prefill-tp`, `--decode-tp`: a tensor-parallel size, 1 to
/// [`MAX_TP`].
pub fn tp_size(text: &str) -> Result<u32, String> {
    match text.parse::<u32>() {
        Ok(tp) if (1..=MAX_TP).contains(&tp) => Ok(tp),
        Ok(_) => Err(format!(
            "{} is out of range: a TP size is from 1 to {MAX_TP}",
            excerpt(text.as_bytes())
        )),
        Err(_) => Err(format!(
            "{} is not a TP size (a whole number from 1 to {MAX_TP})",
            excerpt(text.as_bytes())
        )),
    }
}

/// The shortest logging interval accepted, in seconds: 1 ms (shorter
/// intervals would round towards zero in the per-second figures).
const MIN_INTERVAL_S: f64 = 1e-3;

/// The longest logging interval accepted, in seconds: a year.
const MAX_INTERVAL_S: f64 = 365.0 * 24.0 * 3600.0;

/// `--interval`: `VLLM_LOG_STATS_INTERVAL`, from 1 ms to a year. `Display`
/// writes it as the flag takes it, in seconds (`10`).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct LogInterval(pub Duration);

impl fmt::Display for LogInterval {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&trimmed(self.0.as_secs_f64(), 9))
    }
}

/// `--interval`, as `explain` and `summarize` take it.
#[derive(clap::Args)]
pub struct IntervalFlag {
    /// The logging interval, VLLM_LOG_STATS_INTERVAL, in seconds.
    #[arg(
        long = "interval",
        value_name = "SECONDS",
        value_parser = interval,
        default_value_t = LogInterval(DEFAULT_INTERVAL)
    )]
    pub interval: LogInterval,
}

impl IntervalFlag {
    /// The interval given, or the default.
    pub fn duration(&self) -> Duration {
        self.interval.0
    }
}

/// Reads `--interval`: a number of seconds in range.
pub fn interval(text: &str) -> Result<LogInterval, String> {
    let seconds: f64 = text
        .parse()
        .map_err(|_| format!("{} is not a number of seconds", excerpt(text.as_bytes())))?;
    if !(MIN_INTERVAL_S..=MAX_INTERVAL_S).contains(&seconds) {
        return Err(format!(
            "{} is out of range: a logging interval is from {MIN_INTERVAL_S} s to \
             {MAX_INTERVAL_S} s (a year)",
            excerpt(text.as_bytes())
        ));
    }
    Ok(LogInterval(Duration::from_secs_f64(seconds)))
}

/// `--engine`: an engine's index, vLLM's data-parallel rank, from 0 to
/// `u32::MAX`.
pub fn engine(text: &str) -> Result<usize, String> {
    text.parse::<u32>()
        .map(|index| index as usize)
        .map_err(|_| {
            format!(
                "{} is not an engine index (a whole number from 0 to {})",
                excerpt(text.as_bytes()),
                u32::MAX
            )
        })
}

/// `--vllm`: a vLLM release, `MAJOR.MINOR[.PATCH]` (whether it has NIXL
/// stats is [`family_of`](super::family_of)'s to say).
pub fn release(text: &str) -> Result<Release, String> {
    text.parse()
        .map_err(|error: ReleaseError| error.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tp_sizes() {
        assert_eq!(tp_size("8"), Ok(8));
        assert_eq!(tp_size("1024"), Ok(MAX_TP));
        for bad in ["0", "1025", "4294967296", "-1", "x", "2.0", ""] {
            assert!(tp_size(bad).is_err(), "{bad}");
        }
        assert_eq!(
            tp_size("0").unwrap_err(),
            "\"0\" is out of range: a TP size is from 1 to 1024"
        );
    }

    #[test]
    fn intervals() {
        assert_eq!(interval("10"), Ok(LogInterval(Duration::from_secs(10))));
        assert_eq!(
            interval("0.25"),
            Ok(LogInterval(Duration::from_millis(250)))
        );
        for bad in ["0", "-1", "nan", "inf", "1e30", "1e-12", "0.0009", "x", ""] {
            assert!(interval(bad).is_err(), "{bad}");
        }
        let long = "9".repeat(10_000);
        assert!(interval(&long).unwrap_err().len() < 200);
    }

    #[test]
    fn engines() {
        assert_eq!(engine("0"), Ok(0));
        assert_eq!(engine("4294967295"), Ok(u32::MAX as usize));
        for bad in ["-1", "4294967296", "x", "", "1.0"] {
            assert!(engine(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn releases() {
        assert_eq!(release("0.33.0"), Ok(Release::new(0, 33, 0)));
        let long = format!("\x1b[2J{}", "9".repeat(10_000));
        let message = release(&long).unwrap_err();
        assert!(
            message.len() < 150 && !message.contains('\x1b'),
            "{message}"
        );
    }

    #[test]
    fn the_default_interval_reads_back() {
        let default = LogInterval(DEFAULT_INTERVAL);
        assert_eq!(default.to_string(), "10");
        assert_eq!(interval(&default.to_string()), Ok(default));
    }
}
