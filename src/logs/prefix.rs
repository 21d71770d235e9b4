//! What comes before a message: vLLM's logger prefix, a container runtime's
//! timestamp, and the per-engine stats line that names the engine.
//!
//! vLLM's logger writes `LEVEL MM-DD HH:MM:SS [file.py:LINE] message`, and
//! newer releases put `(ProcessName pid=N) ` in front of lines from their
//! processes; when writing to a terminal, colour codes wrap the level and the
//! time. `docker logs -t` and `kubectl logs --timestamps` add an RFC 3339
//! time before all of it.

use std::borrow::Cow;

#[cfg(test)]
use super::scan::find;
use super::scan::{digits_value, find_byte};
use super::{Engine, Level};

/// What [`parse`] finds in the text before `KV Transfer metrics: `.
#[derive(Default)]
pub(super) struct Prefix {
    pub level: Option<Level>,
    pub timestamp: Option<String>,
    pub process: Option<String>,
}

/// Reads the prefix of a KV line (the bytes before the marker).
pub(super) fn parse(raw: &[u8]) -> Prefix {
    let cleaned = strip_ansi(raw);
    let text = String::from_utf8_lossy(&cleaned);
    let text = text.trim();
    let vllm_time = vllm_timestamp(text);
    let level = match vllm_time {
        Some((start, _)) => text[..start].split_whitespace().next_back(),
        None => text
            .split_whitespace()
            .find(|w| Level::from_word(w).is_some()),
    }
    .and_then(Level::from_word);
    let timestamp = match vllm_time {
        Some((start, end)) => Some(text[start..end].to_string()),
        None => container_timestamp(text).map(str::to_string),
    };
    Prefix {
        level,
        timestamp,
        process: process_tag(text).map(str::to_string),
    }
}

/// Removes terminal escape sequences (`ESC [ … final`), which vLLM's
/// coloured formatter puts around the level and the time.
fn strip_ansi(raw: &[u8]) -> Cow<'_, [u8]> {
    if find_byte(raw, 0x1b).is_none() {
        return Cow::Borrowed(raw);
    }
    let mut out = Vec::with_capacity(raw.len());
    let mut i = 0;
    while i < raw.len() {
        if raw[i] == 0x1b && raw.get(i + 1) == Some(&b'[') {
            i += 2;
            while i < raw.len() && !(0x40..=0x7e).contains(&raw[i]) {
                i += 1;
            }
            i += 1;
        } else {
            out.push(raw[i]);
            i += 1;
        }
    }
    Cow::Owned(out)
}

/// The first `MM-DD HH:MM:SS` in `text` (vLLM's `%m-%d %H:%M:%S`), as a
/// byte range.
fn vllm_timestamp(text: &str) -> Option<(usize, usize)> {
    const SHAPE: &[u8; 14] = b"00-00 00:00:00";
    let bytes = text.as_bytes();
    (0..bytes.len().saturating_sub(SHAPE.len() - 1))
        .find(|&start| {
            let before_ok = start == 0 || !matches!(bytes[start - 1], b'0'..=b'9' | b'-');
            let after_ok = bytes
                .get(start + SHAPE.len())
                .is_none_or(|b| !b.is_ascii_digit());
            before_ok
                && after_ok
                && SHAPE.iter().zip(&bytes[start..]).all(|(&s, &b)| {
                    if s == b'0' {
                        b.is_ascii_digit()
                    } else {
                        s == b
                    }
                })
        })
        .map(|start| (start, start + SHAPE.len()))
}

/// A container runtime's time at the very start: `2025-07-13T16:33:58.123Z`
/// (one token), or `2025-07-13 16:33:58[,.]123` (date and time).
fn container_timestamp(text: &str) -> Option<&str> {
    let text = text.strip_prefix('[').unwrap_or(text);
    let bytes = text.as_bytes();
    let date = bytes.get(..10)?;
    let is_date = date.iter().enumerate().all(|(i, b)| match i {
        4 | 7 => *b == b'-',
        _ => b.is_ascii_digit(),
    });
    if !is_date {
        return None;
    }
    let end = match bytes.get(10) {
        Some(b'T') => text.find(|c: char| c.is_whitespace() || c == ']'),
        Some(b' ') if bytes.get(13) == Some(&b':') => text[11..]
            .find(|c: char| c.is_whitespace() || c == ']')
            .map(|i| i + 11),
        _ => Some(10),
    }
    .unwrap_or(text.len());
    let stamp = &text[..end];
    let time_bytes = |b: &u8| b.is_ascii_digit() || b" :.,+-TZ".contains(b);
    (stamp.len() <= MAX_TIMESTAMP && stamp.bytes().all(|b| time_bytes(&b))).then_some(stamp)
}

/// The longest container timestamp: RFC 3339 with nanoseconds and an
/// offset, `2025-07-13T16:33:58.123456789+00:00`, has 35 bytes.
const MAX_TIMESTAMP: usize = 40;

/// `APIServer pid=428` from `(APIServer pid=428) `.
fn process_tag(text: &str) -> Option<&str> {
    let pid = text.as_bytes().windows(5).position(|w| w == b" pid=")?;
    let open = text[..pid].rfind('(')?;
    let close = pid + text[pid..].find(')')?;
    Some(&text[open + 1..close])
}

/// The engine a stats line names, if `line` is one: `Engine 000: …` (one
/// engine's logger) or `4 Engines Aggregated: …`
/// (`--aggregate-engine-logging`).
#[cfg(test)]
fn engine_header(line: &[u8]) -> Option<Engine> {
    let mut from = 0;
    while let Some(i) = find(&line[from..], b"Engine") {
        if let Some(engine) = engine_header_at(line, from + i) {
            return Some(engine);
        }
        from += i + 1;
    }
    None
}

/// The engine named by the `Engine` at `at` in `line`, if it starts
/// `Engine 000: ` or `4 Engines Aggregated: `.
pub(super) fn engine_header_at(line: &[u8], at: usize) -> Option<Engine> {
    let after = line[at..].strip_prefix(b"Engine")?;
    if let Some(rest) = after.strip_prefix(b" ") {
        let digits = rest.iter().take_while(|b| b.is_ascii_digit()).count();
        if digits > 0 && rest[digits..].starts_with(b": ") {
            let index = digits_value(&rest[..digits])?;
            return u32::try_from(index).ok().map(Engine::One);
        }
    } else if after.starts_with(b"s Aggregated: ") && line[..at].ends_with(b" ") {
        let before = &line[..at - 1];
        let digits = before
            .iter()
            .rev()
            .take_while(|b| b.is_ascii_digit())
            .count();
        let count = digits_value(&before[before.len() - digits..])?;
        return u32::try_from(count).ok().map(Engine::Aggregated);
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn vllm_prefix() {
        let p = parse(b"(APIServer pid=428) INFO 07-13 16:33:58 [metrics.py:103] ");
        assert_eq!(p.level, Some(Level::Info));
        assert_eq!(p.timestamp.as_deref(), Some("07-13 16:33:58"));
        assert_eq!(p.process.as_deref(), Some("APIServer pid=428"));
    }

    #[test]
    fn coloured_and_container_prefixes() {
        let p = parse(b"\x1b[32mDEBUG\x1b[0m \x1b[2m07-13 16:33:58\x1b[0m [metrics.py:103] ");
        assert_eq!(p.level, Some(Level::Debug));
        assert_eq!(p.timestamp.as_deref(), Some("07-13 16:33:58"));
        let p = parse(b"2025-07-13T16:33:58.123456789Z ");
        assert_eq!(
            p.timestamp.as_deref(),
            Some("2025-07-13T16:33:58.123456789Z")
        );
        assert_eq!(p.level, None);
        let p = parse(b"2025-07-13 16:33:58,120 INFO ");
        assert_eq!(p.timestamp.as_deref(), Some("2025-07-13 16:33:58,120"));
        assert_eq!(p.level, Some(Level::Info));
        let p = parse(b"");
        assert!(p.timestamp.is_none() && p.level.is_none() && p.process.is_none());
        // Only a time's characters, and only as many as a time has.
        let p = parse(b"2025-07-13T16:33:58\x07\x1b]0;title ");
        assert_eq!(p.timestamp, None);
        let long = format!("2025-07-13T{} ", "1".repeat(1000));
        assert_eq!(parse(long.as_bytes()).timestamp, None);
    }

    #[test]
    fn container_time_before_vllm_time_prefers_vllm() {
        let p = parse(b"2025-07-13T16:33:59.000Z (APIServer pid=1) INFO 07-13 16:33:58 [m.py:1] ");
        assert_eq!(p.timestamp.as_deref(), Some("07-13 16:33:58"));
        assert_eq!(p.level, Some(Level::Info));
    }

    #[test]
    fn headers() {
        assert_eq!(
            engine_header(b"INFO 07-13 16:33:58 [loggers.py:1] Engine 001: Avg prompt"),
            Some(Engine::One(1))
        );
        assert_eq!(
            engine_header(b"(EngineCore_DP0 pid=1) x Engine 000: Avg"),
            Some(Engine::One(0))
        );
        assert_eq!(
            engine_header(b"INFO [l.py:1] 4 Engines Aggregated: Avg prompt"),
            Some(Engine::Aggregated(4))
        );
        assert_eq!(engine_header(b"(EngineCore_DP0 pid=1) INFO hello"), None);
        assert_eq!(engine_header(b"Engine 0x: no"), None);
        assert_eq!(engine_header(b"Engines Aggregated: no count"), None);
    }
}
