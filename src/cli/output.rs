//! Standard output: everything a subcommand prints goes through [`Output`],
//! buffered and written record by record as the records are read, and
//! whether a failed write stops the run, and how, is decided in one place,
//! [`written`].

use std::fmt::Display;
use std::io::{self, BufWriter, StdoutLock, Write};

use nixl_kv_metrics::printer::json;
use serde::Serialize;

/// Why a subcommand stopped before its end.
#[derive(Debug)]
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

/// Buffered standard output.
pub struct Output {
    out: BufWriter<StdoutLock<'static>>,
}

impl Output {
    /// Standard output, buffered in 64 KiB: no byte is written before the
    /// first record is printed, so an error found before it leaves standard
    /// output empty.
    pub fn stdout() -> Output {
        Output {
            out: BufWriter::with_capacity(1 << 16, io::stdout().lock()),
        }
    }

    /// Prints `text`.
    pub fn text(&mut self, text: impl Display) -> Outcome {
        written(write!(self.out, "{text}"))
    }

    /// Prints `value` as one line of JSON ([`json::write`]: floats as
    /// Python's `repr`, `inf` and `nan` as strings).
    pub fn json_line(&mut self, value: &impl Serialize) -> Outcome {
        written(json::write(&mut self.out, value).and_then(|()| self.out.write_all(b"\n")))
    }

    /// Writes out what is buffered: the end of a run.
    pub fn flush(&mut self) -> Outcome {
        written(self.out.flush())
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
