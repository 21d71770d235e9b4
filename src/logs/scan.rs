//! Byte searches for the log reader: the line end, and the two markers.
//!
//! A log is mostly lines that are not KV lines, so these searches are nearly
//! all the reader's work. The single- and two-byte searches are the `memchr`
//! crate's (SIMD, the widest the CPU has, chosen at run time); a marker is
//! found by its first byte, then compared. Measured with `cargo bench --bench
//! parse` (64 MiB log, criterion's estimate in MiB/s; in memory / from a
//! file / in memory with a run summary), twice each, interleaved, on a
//! shared 2-core machine under load:
//!
//! | searches | run 1 | run 2 |
//! |---|---|---|
//! | portable 32-byte block loops (before) | 544 / 547 / 538 | 687 / 625 / 531 |
//! | `memchr`, `memchr2` (these) | 1033 / 898 / 703 | 1075 / 1225 / 583 |
//! | the same, markers by `memmem::find` | 897 / 730 / 718 | 836 / 812 / 1015 |
//!
//! `memmem::find` builds its searcher on every call, once per line here: it
//! was slower in memory and from a file in both runs, so markers keep the
//! first-byte search. (The summary column is the noisiest: most of its time
//! is the summary's, not the search's.)

/// The index of the first `byte` in `hay`.
pub(super) fn find_byte(hay: &[u8], byte: u8) -> Option<usize> {
    memchr::memchr(byte, hay)
}

/// The index of the first byte of `hay` that is `a` or `b`.
pub(super) fn find_either(hay: &[u8], a: u8, b: u8) -> Option<usize> {
    memchr::memchr2(a, b, hay)
}

/// The index of the first occurrence of `needle` (not empty) in `hay`.
pub(super) fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    let (&first, rest) = needle.split_first()?;
    let mut start = 0;
    while start + needle.len() <= hay.len() {
        let at = start + find_byte(&hay[start..=hay.len() - needle.len()], first)?;
        if hay[at + 1..].starts_with(rest) {
            return Some(at);
        }
        start = at + 1;
    }
    None
}

/// The number written by the ASCII digits `text` (at least one, nothing
/// else), if it fits a `u128`: printed counts are Python ints, and 0.11.0's
/// pooled counter can pass 2⁶⁴.
pub(super) fn digits_value(text: &[u8]) -> Option<u128> {
    if text.is_empty() {
        return None;
    }
    text.iter().try_fold(0u128, |acc, &b| {
        let digit = b.wrapping_sub(b'0');
        (digit <= 9).then_some(())?;
        acc.checked_mul(10)?.checked_add(u128::from(digit))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn find_byte_agrees_with_position() {
        let mut text = vec![b'a'; 200];
        for at in [0, 1, 31, 32, 33, 63, 64, 150, 199] {
            text[at] = b'\n';
            assert_eq!(find_byte(&text, b'\n'), Some(at), "{at}");
            text[at] = b'a';
        }
        assert_eq!(find_byte(&text, b'\n'), None);
        assert_eq!(find_byte(b"", b'\n'), None);
    }

    #[test]
    fn find_either_byte() {
        let text = [b"x".repeat(40), b"E".to_vec(), b"K".to_vec()].concat();
        assert_eq!(find_either(&text, b'K', b'E'), Some(40));
        assert_eq!(find_either(&text, b'K', b'z'), Some(41));
        assert_eq!(find_either(b"abc", b'K', b'E'), None);
    }

    #[test]
    fn find_needles() {
        let hay = b"xxKV KV Transfer metrics: a";
        assert_eq!(find(hay, b"KV Transfer metrics: "), Some(5));
        assert_eq!(find(hay, b"KV Transfer metrics: b"), None);
        assert_eq!(find(b"Engine", b"Engine"), Some(0));
        assert_eq!(find(b"Engin", b"Engine"), None);
        assert_eq!(find(b"", b"E"), None);
    }

    #[test]
    fn digits() {
        assert_eq!(digits_value(b"000"), Some(0));
        assert_eq!(digits_value(b"18446744073709551616"), Some(1 << 64));
        assert_eq!(
            digits_value(b"340282366920938463463374607431768211455"),
            Some(u128::MAX)
        );
        assert_eq!(
            digits_value(b"340282366920938463463374607431768211456"),
            None
        );
        assert_eq!(digits_value(b""), None);
        assert_eq!(digits_value(b"1a"), None);
    }
}
