//! Real NIXL between two processes: descriptor merging, bytes, the
//! telemetry switch, and how NIXL's durations relate to wall-clock time.

use nixl_kv_metrics::telemetry::{
    MakeXfer, Prepared, XferTelemetry, captures_telemetry, desc_count, total_bytes,
};
use nixl_kv_metrics::wallclock::{WallClock, common_us};
use serde_json::Value;

use super::{Fixture, descriptors, ensure, list, same, text, uint};

/// Checks every case; returns how many.
pub(super) fn check(fixture: &Fixture) -> usize {
    let mut tally = Tally::default();
    let checked = fixture.check_each(|case| {
        let on = telemetry_on(case)?;
        if case["group"] == "concurrency" {
            for transfer in list(&case["transfers"]) {
                check_transfer(case, transfer, on, &mut tally)?;
            }
            check_batch(case, &mut tally)?;
        } else {
            check_transfer(case, case, on, &mut tally)?;
        }
        Ok(true)
    });
    // Every relation was exercised, so none of them holds vacuously.
    let t = &tally;
    let uses = [
        t.merged,
        t.unmerged,
        t.done_at_post,
        t.polled,
        t.late_polls,
        t.no_telemetry,
    ];
    let batches = [t.overlapping, t.disjoint];
    assert!(
        uses.iter().chain(&batches).all(|&n| n > 0),
        "{}: {t:?}",
        fixture.path
    );
    checked
}

/// How far NIXL's clock and the harness's (`time.perf_counter`) may drift
/// apart, as a fraction of the time measured: their rates differ by up to
/// about 400 ppm in these runs (NTP slews one of them), so comparisons
/// between NIXL's durations and wall-clock times allow 0.1 %. Comparisons
/// of NIXL's own durations with each other are exact.
const CLOCK_RATE_TOLERANCE: f64 = 1e-3;

/// `a ≥ b`, one a NIXL duration and the other a wall-clock time, allowing
/// for [`CLOCK_RATE_TOLERANCE`].
fn at_least(a: u64, b: u64) -> bool {
    a as f64 >= b as f64 * (1.0 - CLOCK_RATE_TOLERANCE)
}

/// How often each relation applied.
#[derive(Debug, Default)]
struct Tally {
    /// Transfers whose descriptors merged, and those that kept them all.
    merged: usize,
    unmerged: usize,
    /// Transfers done when posted, and transfers polled until done.
    done_at_post: usize,
    polled: usize,
    /// Transfers polled first after a deliberate delay.
    late_polls: usize,
    /// Transfers whose telemetry could not be read.
    no_telemetry: usize,
    /// Batches all in flight at once, and batches one after another.
    overlapping: usize,
    disjoint: usize,
}

/// Whether the case's agents capture telemetry, by NIXL's switch.
fn telemetry_on(case: &Value) -> Result<bool, String> {
    let env = match &case["env"]["NIXL_TELEMETRY_ENABLE"] {
        Value::Null => None,
        Value::String(v) if v == "y" => Some(true),
        Value::String(v) if v == "n" => Some(false),
        other => return Err(format!("NIXL_TELEMETRY_ENABLE={other}: not modelled")),
    };
    let capture = case["capture_telemetry"]
        .as_bool()
        .ok_or("no capture_telemetry")?;
    Ok(captures_telemetry(env, capture))
}

/// How the case made its transfer.
fn make_xfer(case: &Value) -> Result<MakeXfer, String> {
    match case["api"].as_str() {
        Some("initialize") => Ok(MakeXfer::Initialize),
        // The concurrency batches are made as vLLM makes its transfers.
        Some("prepped") | None => Ok(MakeXfer::Prepped {
            local: Prepared::Plain,
            remote: Prepared::Plain,
            skip_desc_merge: case["skip_desc_merge"].as_bool().unwrap_or(false),
        }),
        Some(other) => Err(format!("api {other:?}: not modelled")),
    }
}

/// One transfer: its telemetry (or the error reading it) and its timings.
fn check_transfer(
    case: &Value,
    transfer: &Value,
    on: bool,
    tally: &mut Tally,
) -> Result<(), String> {
    ensure!(
        transfer["state"] == "DONE",
        "final state {}",
        transfer["state"]
    );
    ensure!(transfer["data_ok"] == true, "the data did not arrive");
    let telemetry = &transfer["telemetry"];
    same!(!telemetry.is_null(), on, "telemetry captured");
    if !on {
        let error = text(&transfer["telemetry_error"]);
        ensure!(error.starts_with("nixlNoTelemetryError"), "error {error}");
        tally.no_telemetry += 1;
        return Ok(());
    }
    let (local, remote) = (
        descriptors(&transfer["local"]),
        descriptors(&transfer["remote"]),
    );
    let count = desc_count(&local, &remote, make_xfer(case)?);
    same!(count, uint(&telemetry["descCount"]), "descCount");
    if count < local.len() as u64 {
        tally.merged += 1;
    } else {
        tally.unmerged += 1;
    }
    let bytes = uint(&telemetry["totalBytes"]);
    same!(total_bytes(&local), bytes, "totalBytes (local list)");
    same!(total_bytes(&remote), bytes, "totalBytes (remote list)");

    let (xfer, post) = (
        uint(&telemetry["xferDuration"]),
        uint(&telemetry["postDuration"]),
    );
    let wall = &transfer["wall_us"];
    ensure!(
        xfer >= post,
        "xferDuration {xfer} below postDuration {post}"
    );
    if transfer["first_state"] == "DONE" {
        // Done inside transfer(): NIXL stops the clock when posting ends.
        same!(xfer, post, "xferDuration of a transfer done when posted");
        tally.done_at_post += 1;
    } else {
        // The clock runs until a poll sees DONE, never before the first poll.
        let waited = uint(&wall["first_poll"]) - uint(&wall["post_end"]);
        ensure!(
            at_least(xfer, waited),
            "xferDuration {xfer} µs, but the first poll came {waited} µs after posting"
        );
        tally.polled += 1;
        let delay_us = (case["first_poll_delay_ms"].as_f64().unwrap_or(0.0) * 1e3) as u64;
        if case["group"] == "late_poll" && delay_us > 0 {
            ensure!(
                at_least(xfer, delay_us),
                "xferDuration {xfer} µs under the {delay_us} µs poll delay"
            );
            tally.late_polls += 1;
        }
    }
    Ok(())
}

/// A batch of eight reads: their summed NIXL time against the wall-clock
/// union of their `[post_start, done]` intervals.
///
/// When all were in flight at once (the `UCX_TLS=tcp` concurrent batches),
/// each counts the shared window: summed time ≥ busy time + (n − 1) ×
/// window, so the line's summed transfer time is about n times the wall
/// time. When they ran one after another (sequential, or UCX shared memory
/// completing each read inside its post), summed time ≤ busy time.
fn check_batch(case: &Value, tally: &mut Tally) -> Result<(), String> {
    let transfers = list(&case["transfers"]);
    let intervals: Vec<XferTelemetry> = transfers
        .iter()
        .map(|t| {
            let (start, done) = (
                uint(&t["wall_us"]["post_start"]),
                uint(&t["wall_us"]["done"]),
            );
            XferTelemetry::new(done - start, 0, 0, 0).starting_at(start)
        })
        .collect();
    let summed: u64 = transfers
        .iter()
        .map(|t| uint(&t["telemetry"]["xferDuration"]))
        .sum();
    let wall = WallClock::of(&intervals);
    let window = common_us(&intervals);
    let n = transfers.len() as u64;
    if window > 0 {
        ensure!(
            at_least(summed, wall.busy_us + (n - 1) * window),
            "{n} reads in flight together for {window} µs of {} µs, but their times sum to {summed} µs",
            wall.busy_us
        );
        tally.overlapping += 1;
    } else if wall.busy_us == wall.xfer_us {
        ensure!(
            at_least(wall.busy_us, summed),
            "{n} reads one after another in {} µs, but their times sum to {summed} µs",
            wall.busy_us
        );
        tally.disjoint += 1;
    }
    let tcp = case["env"]["UCX_TLS"] == "tcp";
    if case["mode"] == "concurrent" && tcp {
        ensure!(
            window > 0,
            "concurrent reads over TCP that never all overlapped"
        );
    }
    if case["mode"] == "sequential" {
        ensure!(
            wall.busy_us == wall.xfer_us,
            "sequential reads that overlap"
        );
    }
    Ok(())
}
