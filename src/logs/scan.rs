//! Byte searches for the log reader: the line end, and the two markers.
//!
//! A log is mostly lines that are not KV lines, so these searches are nearly
//! all the reader's work. They look at 32 bytes at a time with a loop the
//! compiler turns into vector compares (no early exit inside a block), then
//! find the position inside the block that matched.

/// Bytes looked at per step of [`find_byte`].
const BLOCK: usize = 32;

/// The index of the first `byte` in `hay`.
pub(super) fn find_byte(hay: &[u8], byte: u8) -> Option<usize> {
    let mut blocks = hay.chunks_exact(BLOCK);
    let mut offset = 0;
    for block in &mut blocks {
        if block.iter().fold(false, |seen, &b| seen | (b == byte)) {
            return block.iter().position(|&b| b == byte).map(|i| offset + i);
        }
        offset += BLOCK;
    }
    blocks
        .remainder()
        .iter()
        .position(|&b| b == byte)
        .map(|i| offset + i)
}

/// The index of the first byte of `hay` that is `a` or `b`.
pub(super) fn find_either(hay: &[u8], a: u8, b: u8) -> Option<usize> {
    let is = |x: u8| (x == a) | (x == b);
    let mut blocks = hay.chunks_exact(BLOCK);
    let mut offset = 0;
    for block in &mut blocks {
        if block.iter().fold(false, |seen, &x| seen | is(x)) {
            return block.iter().position(|&x| is(x)).map(|i| offset + i);
        }
        offset += BLOCK;
    }
    blocks
        .remainder()
        .iter()
        .position(|&x| is(x))
        .map(|i| offset + i)
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
