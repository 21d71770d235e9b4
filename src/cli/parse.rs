//! `nixl-kv-metrics parse`: every KV line of a vLLM log, as records.

use std::fmt::Write as _;
use std::path::PathBuf;

use clap::ValueEnum;
use nixl_kv_metrics::field::Field;
use nixl_kv_metrics::logs::{Engine, KvRecord};
use nixl_kv_metrics::python::Repr;
use nixl_kv_metrics::reduce::Value;

use super::{LogRead, Outcome, read_log};

/// Print every `KV Transfer metrics:` line of a vLLM log as a record.
///
/// JSON Lines (the default): one object per KV line, with "line" (1-based);
/// "release", the families that print the line's shape: "F1", "F2-F4"
/// (eight fields: 0.11.1 – 0.30.x print the same ones), "F4" (an all-zero
/// eight-field line, which only 0.15.0 – 0.30.x log), "F5" or "F6"; "vllm",
/// those releases in words; "engine" (the engine's index) or
/// "aggregated_engines" (the number of engines pooled), when known;
/// "timestamp", "level", "process" and "connector" (MultiConnector), when
/// present; and "fields": vLLM's field names, in vLLM's order, to the values
/// as printed ("inf" and "nan" as strings).
///
/// CSV: a header, then one row per KV line: line, release, engine, the
/// eleven fields in vLLM's order, then 0.11.0's num_successful_transfers;
/// empty where the line has no such field.
///
/// A malformed KV line is reported on stderr with its line number (the
/// first 100 one by one, then a count) and skipped; the exit status stays 0,
/// since every other line was read and the warnings say what is missing. A
/// file that cannot be read: exit status 2, nothing on stdout.
#[derive(clap::Args)]
pub struct Args {
    /// `json`: JSON Lines; `csv`: one row per line.
    #[arg(long, value_enum, default_value_t = Format::Json)]
    format: Format,
    /// The vLLM log; `-` or nothing for standard input.
    #[arg(value_name = "FILE")]
    file: Option<PathBuf>,
}

#[derive(Clone, Copy, ValueEnum)]
enum Format {
    Json,
    Csv,
}

/// The records of every KV line.
pub fn run(args: Args) -> Outcome {
    let mut out = String::new();
    if let Format::Csv = args.format {
        out.push_str(&csv_header());
    }
    let read = read_log(args.file, |record| match args.format {
        Format::Json => json_record(&mut out, record),
        Format::Csv => csv_row(&mut out, record),
    })?;
    note_if_empty(&read);
    Ok(out)
}

/// A note on stderr when the log has no KV line at all (not an error: an
/// idle server logs none).
pub(super) fn note_if_empty(read: &LogRead) {
    if read.records == 0 && read.skipped == 0 {
        eprintln!(
            "nixl-kv-metrics: note: {}: no \"KV Transfer metrics:\" line in {} lines",
            read.name, read.lines
        );
    }
}

/// A JSON string.
fn quote(text: &str) -> String {
    serde_json::to_string(text).expect("a str serializes")
}

/// Appends one JSON object and its line end to `out`.
fn json_record(out: &mut String, record: &KvRecord) {
    let families = record.families();
    write!(
        out,
        "{{\"line\":{},\"release\":\"{families}\",\"vllm\":{}",
        record.line,
        quote(&families.releases())
    )
    .expect("writing to a String");
    match record.engine {
        Engine::One(index) => write!(out, ",\"engine\":{index}"),
        Engine::Aggregated(count) => write!(out, ",\"aggregated_engines\":{count}"),
        Engine::Unknown => Ok(()),
    }
    .expect("writing to a String");
    let texts = [
        ("timestamp", record.timestamp.as_deref()),
        ("level", record.level.map(|level| level.as_str())),
        ("process", record.process.as_deref()),
        ("connector", record.connector.as_deref()),
    ];
    for (key, text) in texts {
        if let Some(text) = text {
            write!(out, ",\"{key}\":{}", quote(text)).expect("writing to a String");
        }
    }
    if record.unterminated {
        out.push_str(",\"unterminated\":true");
    }
    out.push_str(",\"fields\":{");
    for (i, printed) in record.fields.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        // Field names need no escaping (tested below).
        match printed.value {
            Value::Float(x) if !x.is_finite() => {
                write!(out, "\"{}\":\"{}\"", printed.field.name(), Repr(x))
            }
            value => write!(out, "\"{}\":{value}", printed.field.name()),
        }
        .expect("writing to a String");
    }
    out.push_str("}}\n");
}

/// The CSV columns after `line,release,engine`: the eleven fields in vLLM's
/// order, then 0.11.0's counter.
fn csv_fields() -> impl Iterator<Item = Field> {
    Field::ALL[1..]
        .iter()
        .copied()
        .chain([Field::NumSuccessfulTransfersCounter])
}

/// The CSV header row.
fn csv_header() -> String {
    let mut out = String::from("line,release,engine");
    for field in csv_fields() {
        out.push(',');
        out.push_str(field.name());
    }
    out.push('\n');
    out
}

/// Appends one CSV row to `out`.
fn csv_row(out: &mut String, record: &KvRecord) {
    let engine = match record.engine {
        Engine::Unknown => String::new(),
        engine => engine.to_string(),
    };
    write!(out, "{},{},{engine}", record.line, record.families()).expect("writing to a String");
    for field in csv_fields() {
        out.push(',');
        if let Some(value) = record.get(field) {
            write!(out, "{value}").expect("writing to a String");
        }
    }
    out.push('\n');
}

#[cfg(test)]
mod tests {
    use super::*;
    use nixl_kv_metrics::logs::parse_line;

    #[test]
    fn csv_header_has_every_field_once() {
        let header = csv_header();
        assert_eq!(header.trim_end().split(',').count(), 3 + 12);
        assert!(header.starts_with("line,release,engine,Num successful transfers,"));
        assert!(header.ends_with(",Num notifs after expiry,num_successful_transfers\n"));
    }

    #[test]
    fn field_names_need_no_json_escaping() {
        for field in Field::ALL {
            assert_eq!(quote(field.name()), format!("\"{}\"", field.name()));
        }
    }

    #[test]
    fn json_of_a_counter_line() {
        let record = parse_line(
            "INFO 10-01 01:02:03 [m.py:1] KV Transfer metrics: num_successful_transfers=3",
        )
        .unwrap()
        .unwrap();
        let (mut json, mut csv) = (String::new(), String::new());
        json_record(&mut json, &record);
        csv_row(&mut csv, &record);
        assert_eq!(
            json,
            "{\"line\":1,\"release\":\"F1\",\"vllm\":\"0.11.0\",\"timestamp\":\"10-01 01:02:03\",\
             \"level\":\"INFO\",\"fields\":{\"num_successful_transfers\":3}}\n"
        );
        assert_eq!(csv, "1,F1,,,,,,,,,,,,,3\n");
    }
}
