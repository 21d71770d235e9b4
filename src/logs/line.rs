//! The message after `KV Transfer metrics: `: fields, numbers, and the
//! MultiConnector's dict form.

use std::ops::Range;

use super::number::python_number;
use super::scan::{find, find_byte};
use super::{ErrorKind, Printed, Shape};
use crate::field::Field;
use crate::printer::words::excerpt;
use crate::reduce::Value;
use crate::release::Family;

/// Fields of a valid line, and where they came from.
pub(super) struct Payload {
    pub fields: Vec<Printed>,
    pub shape: Shape,
    /// The MultiConnector entry the fields were read from.
    pub connector: Option<String>,
}

/// Reads the message after the marker. `Ok(None)`: a MultiConnector line
/// with no NIXL entry (another connector's stats, not an error).
pub(super) fn parse_payload(payload: &[u8]) -> Result<Option<Payload>, ErrorKind> {
    let payload = payload.trim_ascii();
    if payload.is_empty() {
        return Err(ErrorKind::Empty);
    }
    if connector_entry(payload).is_some() {
        return parse_multi(payload);
    }
    let mut pairs = Vec::with_capacity(11);
    for part in split_fields(payload) {
        let Some(eq) = find_byte(part, b'=') else {
            return Err(ErrorKind::MissingEquals { text: lossy(part) });
        };
        pairs.push((&part[..eq], &part[eq + 1..]));
    }
    let (fields, shape) = validate(&pairs, false)?;
    Ok(Some(Payload {
        fields,
        shape,
        connector: None,
    }))
}

/// Splits `Name=value, Name=value` at every `, `.
fn split_fields(payload: &[u8]) -> impl Iterator<Item = &[u8]> {
    let mut rest = Some(payload);
    std::iter::from_fn(move || {
        let text = rest?;
        match find(text, b", ") {
            Some(i) => {
                rest = Some(&text[i + 2..]);
                Some(&text[..i])
            }
            None => {
                rest = None;
                Some(text)
            }
        }
    })
}

/// The length of `Identifier` when `text` starts with `Identifier={`: the
/// MultiConnector form, `NixlConnector={'Num successful transfers': 4, …}`.
fn connector_entry(text: &[u8]) -> Option<usize> {
    let len = text
        .iter()
        .take_while(|b| b.is_ascii_alphanumeric() || **b == b'_')
        .count();
    let starts_ok = text
        .first()
        .is_some_and(|b| b.is_ascii_alphabetic() || *b == b'_');
    (starts_ok && text[len..].starts_with(b"={")).then_some(len)
}

/// True for the connector names whose entry holds NIXL stats (a class
/// name: `NixlConnector`, `NixlPushConnector`, not a run of 64 letters and
/// more).
fn is_nixl_connector(name: &[u8]) -> bool {
    name.len() < 64 && name.starts_with(b"Nixl") && name.ends_with(b"Connector")
}

/// `Name={...}, Name={...}`: the first NIXL entry, its dict read as fields.
fn parse_multi(payload: &[u8]) -> Result<Option<Payload>, ErrorKind> {
    let mut rest = payload;
    let mut nixl = None;
    loop {
        let Some(name_len) = connector_entry(rest) else {
            return Err(ErrorKind::Dict {
                message: format!("expected Connector={{...}}, found {}", excerpt(rest)),
            });
        };
        let name = &rest[..name_len];
        rest = &rest[name_len + 1..];
        let len = value_len(rest)?;
        if nixl.is_none() && is_nixl_connector(name) {
            nixl = Some((name, &rest[..len]));
        }
        rest = &rest[len..];
        if rest.is_empty() {
            break;
        }
        rest = rest.strip_prefix(b", ").ok_or_else(|| ErrorKind::Dict {
            message: "expected ', ' between connectors".to_string(),
        })?;
    }
    let Some((name, dict)) = nixl else {
        return Ok(None);
    };
    let pairs = dict_pairs(dict)?;
    let (fields, shape) = validate(&pairs, true)?;
    Ok(Some(Payload {
        fields,
        shape,
        connector: Some(lossy(name)),
    }))
}

/// The length of one Python `repr` value at the start of `text`: up to a
/// `,` outside brackets and quotes, or the end.
fn value_len(text: &[u8]) -> Result<usize, ErrorKind> {
    let unbalanced = || ErrorKind::Dict {
        message: "unbalanced brackets or quotes (truncated?)".to_string(),
    };
    let mut depth = 0usize;
    let mut quote = None;
    let mut i = 0;
    while i < text.len() {
        let b = text[i];
        match quote {
            Some(_) if b == b'\\' => i += 1,
            Some(q) if b == q => quote = None,
            Some(_) => {}
            None => match b {
                b'\'' | b'"' => quote = Some(b),
                b'{' | b'[' | b'(' => depth += 1,
                b'}' | b']' | b')' => depth = depth.checked_sub(1).ok_or_else(unbalanced)?,
                b',' if depth == 0 => return Ok(i),
                _ => {}
            },
        }
        i += 1;
    }
    if depth == 0 && quote.is_none() {
        Ok(text.len())
    } else {
        Err(unbalanced())
    }
}

/// (name, value text) pairs, in the order printed.
type Pairs<'a> = Vec<(&'a [u8], &'a [u8])>;

/// `{'Key': value, …}` as (key, value) pairs.
fn dict_pairs(dict: &[u8]) -> Result<Pairs<'_>, ErrorKind> {
    let bad = |message: &str| ErrorKind::Dict {
        message: message.to_string(),
    };
    let inner = dict
        .strip_prefix(b"{")
        .and_then(|d| d.strip_suffix(b"}"))
        .ok_or_else(|| bad("the NIXL entry is not a dict"))?;
    let mut pairs = Vec::with_capacity(11);
    let mut rest = inner;
    while !rest.is_empty() {
        let quote = rest[0];
        if quote != b'\'' && quote != b'"' {
            return Err(bad("expected a quoted key"));
        }
        let close = find_byte(&rest[1..], quote).ok_or_else(|| bad("unterminated key"))? + 1;
        let key = &rest[1..close];
        rest = rest[close + 1..]
            .strip_prefix(b": ")
            .ok_or_else(|| bad("expected ': ' after a key"))?;
        let len = value_len(rest)?;
        pairs.push((key, &rest[..len]));
        rest = &rest[len..];
        if !rest.is_empty() {
            rest = rest
                .strip_prefix(b", ")
                .ok_or_else(|| bad("expected ', ' between entries"))?;
        }
    }
    Ok(pairs)
}

/// Checks names, order, count and numbers against what vLLM prints.
fn validate(pairs: &[(&[u8], &[u8])], dict: bool) -> Result<(Vec<Printed>, Shape), ErrorKind> {
    let eleven = Family::F6.fields();
    let name_of = |bytes: &[u8]| std::str::from_utf8(bytes).ok().and_then(Field::from_name);
    let first = pairs.first().map(|(name, _)| name_of(name));
    if first == Some(Some(Field::NumSuccessfulTransfersCounter)) {
        if pairs.len() != 1 {
            return Err(ErrorKind::WrongCount { count: pairs.len() });
        }
        let (_, text) = pairs[0];
        let value = parse_value(Field::NumSuccessfulTransfersCounter, text, dict)?;
        let printed = Printed {
            field: Field::NumSuccessfulTransfersCounter,
            value,
            text: lossy(text),
        };
        return Ok((vec![printed], Shape::Counter));
    }
    let mut fields = Vec::with_capacity(pairs.len());
    for (position, &(name, text)) in pairs.iter().enumerate() {
        let expected = eleven.get(position).copied();
        // The usual case: the name vLLM prints there.
        let field = match expected {
            Some(field) if field.name().as_bytes() == name => field,
            _ => name_of(name).ok_or_else(|| ErrorKind::UnknownField { name: lossy(name) })?,
        };
        if expected != Some(field) {
            return Err(ErrorKind::OutOfOrder {
                field,
                position: position + 1,
                expected,
            });
        }
        let value = parse_value(field, text, dict)?;
        fields.push(Printed {
            field,
            value,
            text: lossy(text),
        });
    }
    let shape = match fields.len() {
        8 => Shape::Eight,
        10 => Shape::Ten,
        11 => Shape::Eleven,
        count => return Err(ErrorKind::WrongCount { count }),
    };
    // vLLM prints every timing field as the int 0 when no transfer
    // succeeded (the zero path), and as a float otherwise.
    let zero_path = fields[0].value == Value::Int(0);
    for printed in &fields[1..8] {
        let fits = match printed.value {
            Value::Int(i) => zero_path && i == 0,
            Value::Float(_) => !zero_path,
        };
        if !fits {
            return Err(ErrorKind::Inconsistent {
                field: printed.field,
                text: printed.text.clone(),
            });
        }
    }
    Ok((fields, shape))
}

/// One value: an int for counts, a float (or the zero path's `0`) for the
/// rest. In the dict form numpy 2 prints `np.float64(1.381)`.
fn parse_value(field: Field, text: &[u8], dict: bool) -> Result<Value, ErrorKind> {
    let bad = |expected: &'static str| ErrorKind::BadNumber {
        field,
        text: lossy(text),
        expected,
    };
    let inner = if dict {
        &text[numpy_scalar(text)]
    } else {
        text
    };
    let counts = field.digits().is_none();
    let value = python_number(inner).ok_or_else(|| {
        bad(if counts {
            "an integer as Python prints it"
        } else {
            "a number as Python prints it"
        })
    })?;
    match value {
        Value::Float(_) if counts => Err(bad("an integer as Python prints it")),
        _ => Ok(value),
    }
}

/// Where `1.381` is in `np.float64(1.381)`; all of any other text. (The
/// range starts and ends at ASCII bytes, so it also slices a `str`.)
pub(super) fn numpy_scalar(text: &[u8]) -> Range<usize> {
    let whole = 0..text.len();
    let Some(rest) = text.strip_prefix(b"np.") else {
        return whole;
    };
    let name = rest
        .iter()
        .take_while(|b| b.is_ascii_alphanumeric())
        .count();
    let open = 3 + name;
    if name > 0 && text.get(open) == Some(&b'(') && text.ends_with(b")") && text.len() > open {
        open + 1..text.len() - 1
    } else {
        whole
    }
}

/// Bytes as text, invalid UTF-8 replaced.
fn lossy(bytes: &[u8]) -> String {
    match std::str::from_utf8(bytes) {
        Ok(text) => text.to_owned(),
        Err(_) => String::from_utf8_lossy(bytes).into_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numpy_scalars() {
        let inner = |text: &'static [u8]| &text[numpy_scalar(text)];
        assert_eq!(inner(b"np.float64(1.381)"), b"1.381");
        assert_eq!(inner(b"np.float64(inf)"), b"inf");
        assert_eq!(inner(b"np.float64()"), b"");
        assert_eq!(inner(b"np.(1)"), b"np.(1)");
        assert_eq!(inner(b"np.float64)"), b"np.float64)");
        assert_eq!(inner(b"1.5"), b"1.5");
    }

    #[test]
    fn value_lengths() {
        assert_eq!(value_len(b"{'a': 1, 'b': [1, 2]}, X={}").unwrap(), 21);
        assert_eq!(value_len(b"{'a,}': 1}").unwrap(), 10);
        assert_eq!(value_len(b"12, 3").unwrap(), 2);
        assert!(value_len(b"{'a': 1").is_err());
        assert!(value_len(b"{'a: 1}").is_err());
    }
}
