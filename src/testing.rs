//! Helpers for tests of readers, shared by the unit tests and the fuzz
//! targets (which enable the `testing` feature); not part of the API.

use std::io::{self, Read};

/// A reader that hands out its bytes a few at a time, so that whatever reads
/// through it sees tokens and lines split across reads.
#[derive(Clone, Debug)]
pub struct Trickle<'a> {
    bytes: &'a [u8],
    max: usize,
    cycle: bool,
    last: usize,
}

impl<'a> Trickle<'a> {
    /// `chunk` bytes per read (fewer at the end).
    pub fn new(bytes: &'a [u8], chunk: usize) -> Trickle<'a> {
        Trickle {
            bytes,
            max: chunk,
            cycle: false,
            last: 0,
        }
    }

    /// 1, 2, …, `max` bytes per read, then 1 again, so that over a long
    /// input the splits fall at every offset a buffer could leave.
    pub fn cycling(bytes: &'a [u8], max: usize) -> Trickle<'a> {
        Trickle {
            cycle: true,
            ..Trickle::new(bytes, max)
        }
    }
}

impl Read for Trickle<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.last = if self.cycle {
            self.last % self.max + 1
        } else {
            self.max
        };
        let n = self.last.min(buf.len()).min(self.bytes.len());
        buf[..n].copy_from_slice(&self.bytes[..n]);
        self.bytes = &self.bytes[n..];
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sizes(mut reader: Trickle<'_>, buffer: usize) -> Vec<usize> {
        let mut buf = vec![0; buffer];
        std::iter::from_fn(|| Some(reader.read(&mut buf).unwrap()).filter(|&n| n > 0)).collect()
    }

    #[test]
    fn reads_a_few_bytes_at_a_time() {
        assert_eq!(sizes(Trickle::new(b"abcdefg", 3), 8), [3, 3, 1]);
        assert_eq!(sizes(Trickle::cycling(b"abcdefgh", 3), 8), [1, 2, 3, 1, 1]);
        assert_eq!(sizes(Trickle::new(b"abcd", 3), 2), [2, 2]);
    }
}
