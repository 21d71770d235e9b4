//! Standard output: everything a subcommand prints goes through [`Output`],
//! buffered and written record by record as the records are read, and
//! whether a failed write stops the run, and how, is decided in one place,
//! [`written`].
//!
//! # When a write fails
//!
//! * A reader that went away (`| head -1`: the pipe is broken) ends the run
//!   quietly, with exit status [`BROKEN_PIPE`], 141: what a shell reports
//!   for `cat`, `grep` or `sort` there, which SIGPIPE kills. Quietly,
//!   because the reader chose to stop and nothing went wrong that a message
//!   should explain; with a failure status, because output was lost, and a
//!   script under `set -o pipefail` should see this program as it sees
//!   every other tool in the pipeline. (The program is not killed by the
//!   signal itself: Rust ignores SIGPIPE, and a write fails with `EPIPE`
//!   instead; restoring the signal would kill the program in mid-write.)
//!   `--help` and `--version` go through the same path, so `--help | head
//!   -1` ends as `parse | head -1` does.
//! * Any other failure (a full disk, `/dev/full`, a standard output closed
//!   with `>&-`, which [`closed`](super::closed) detects): one line on
//!   stderr, exit status 2.

use std::cell::RefCell;
use std::fmt::Display;
use std::io::{self, BufWriter, Read, Write};
use std::rc::Rc;

use nixl_kv_metrics::printer::json;
use serde::Serialize;

use super::closed;

/// The exit status of a run whose reader went away: 128 + SIGPIPE (13), as
/// a shell reports a tool that SIGPIPE killed.
pub const BROKEN_PIPE: u8 = 141;

/// Why a subcommand stopped before its end.
#[derive(Clone, Debug)]
pub enum Stop {
    /// Bad input, or input or output that failed: one line on stderr.
    Failed(String),
    /// Whoever read standard output closed it (`| head -1`): nothing more
    /// can be printed, and nothing more needs to be read.
    Closed,
}

impl From<String> for Stop {
    fn from(message: String) -> Stop {
        Stop::Failed(message)
    }
}

/// What a subcommand's run comes to.
pub type Outcome = Result<(), Stop>;

/// Buffered standard output; a handle that can be cloned, so that a
/// reader ([`Output::flushed_before_reads`]) can write out what is buffered
/// while a subcommand prints.
#[derive(Clone)]
pub struct Output {
    state: Rc<RefCell<State>>,
}

struct State {
    out: BufWriter<Box<dyn Write>>,
    /// Set by the first failed write: every later one fails the same way.
    stopped: Option<Stop>,
}

/// A standard output that was closed when the program started.
struct ClosedStdout;

impl Write for ClosedStdout {
    fn write(&mut self, _: &[u8]) -> io::Result<usize> {
        Err(io::Error::other("standard output is closed"))
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl Output {
    /// Standard output, buffered in 64 KiB: no byte is written before the
    /// first record is printed, so an error found before it leaves standard
    /// output empty.
    pub fn stdout() -> Output {
        let out: Box<dyn Write> = if closed::stdout() {
            Box::new(ClosedStdout)
        } else {
            Box::new(io::stdout().lock())
        };
        Output {
            state: Rc::new(RefCell::new(State {
                out: BufWriter::with_capacity(1 << 16, out),
                stopped: None,
            })),
        }
    }

    /// Prints `text`.
    pub fn text(&self, text: impl Display) -> Outcome {
        self.write(|out| write!(out, "{text}"))
    }

    /// Prints `value` as one line of JSON ([`json::write`]: floats as
    /// Python's `repr`, `inf` and `nan` as strings).
    pub fn json_line(&self, value: &impl Serialize) -> Outcome {
        self.write(|out| json::write(&mut *out, value).and_then(|()| out.write_all(b"\n")))
    }

    /// Writes out what is buffered: the end of a run, or a pause in it.
    pub fn flush(&self) -> Outcome {
        self.write(|out| out.flush())
    }

    /// Why an earlier write stopped the run, if one did.
    pub fn stopped(&self) -> Option<Stop> {
        self.state.borrow().stopped.clone()
    }

    /// `source`, writing out what is buffered on this output before each
    /// read: a record printed from what was read appears before the program
    /// waits for more (`tail -f vllm.log | nixl-kv-metrics parse`), at the
    /// cost of at most one write per read. Once the output has failed, a
    /// read fails too, and [`Output::stopped`] says why.
    pub fn flushed_before_reads<R: Read>(&self, source: R) -> impl Read {
        FlushedBeforeReads {
            source,
            out: self.clone(),
        }
    }

    fn write(
        &self,
        write: impl FnOnce(&mut BufWriter<Box<dyn Write>>) -> io::Result<()>,
    ) -> Outcome {
        let mut state = self.state.borrow_mut();
        if let Some(stop) = &state.stopped {
            return Err(stop.clone());
        }
        let outcome = written(write(&mut state.out));
        if let Err(stop) = &outcome {
            state.stopped = Some(stop.clone());
        }
        outcome
    }
}

/// See [`Output::flushed_before_reads`].
struct FlushedBeforeReads<R> {
    source: R,
    out: Output,
}

impl<R: Read> Read for FlushedBeforeReads<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.out.flush().is_err() {
            return Err(io::Error::other("standard output failed"));
        }
        self.source.read(buf)
    }
}

/// The one judgement of a write: a reader that closed the pipe ends the run
/// quietly, any other failure is an error.
fn written(result: io::Result<()>) -> Outcome {
    match result {
        Ok(()) => Ok(()),
        Err(error) if error.kind() == io::ErrorKind::BrokenPipe => Err(Stop::Closed),
        Err(error) => Err(Stop::Failed(format!("cannot write output: {error}"))),
    }
}
