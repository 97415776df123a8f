//! The syntax of a token's text: whitespace, names (QNames of Namespaces
//! in XML) and the attributes of a start tag, with the checks quick-xml
//! leaves out. Pure functions on strings, so that the parser's state
//! machine stays apart from the character-level rules.

use super::namespaces::check_declaration;
use crate::xml::element::{intern, Name};
use crate::xml::error::{shorten, XmlError};
use crate::xml::escape::{unescape_into, Context};
use quick_xml::events::attributes::Attributes;

/// XML whitespace.
pub(super) fn is_space(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\n' | b'\r')
}

pub(super) fn is_space_char(c: char) -> bool {
    matches!(c, ' ' | '\t' | '\n' | '\r')
}

/// A name without a colon, as Namespaces in XML requires. Non-ASCII
/// characters are accepted without consulting the full XML name tables.
fn is_ncname(s: &[u8]) -> bool {
    match s.first() {
        None => false,
        Some(b) if b.is_ascii_digit() || matches!(b, b'-' | b'.') => false,
        Some(_) => s
            .iter()
            .all(|&b| b >= 0x80 || b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_')),
    }
}

/// `local` or `prefix:local`.
pub(super) fn check_qname(name: &str) -> Result<(), XmlError> {
    // Bytes, not str::split_once: its char searcher cost more than the
    // check itself on every name of every stanza.
    let bytes = name.as_bytes();
    let ok = match bytes.iter().position(|&b| b == b':') {
        Some(at) => is_ncname(&bytes[..at]) && is_ncname(&bytes[at + 1..]),
        None => is_ncname(bytes),
    };
    if ok {
        return Ok(());
    }
    Err(XmlError::Syntax(format!(
        "invalid name '{}'",
        shorten(name)
    )))
}

/// Parses the attributes after the name in a start tag's `body`.
pub(super) fn parse_attrs(body: &str, name_len: usize) -> Result<Vec<(Name, String)>, XmlError> {
    let tail = body.get(name_len..).unwrap_or_default();
    if tail.bytes().all(is_space) {
        return Ok(Vec::new());
    }
    // One allocation: at most one attribute per '=' (values may hold more).
    let mut attrs: Vec<(Name, String)> =
        Vec::with_capacity(tail.bytes().filter(|&b| b == b'=').count());
    let mut iter = Attributes::new(body, name_len);
    // Duplicates are checked below, without quick-xml's per-tag allocation.
    iter.with_checks(false);
    for attr in iter {
        let attr = attr.map_err(|e| XmlError::Syntax(e.to_string()))?;
        let key = std::str::from_utf8(attr.key.into_inner()).map_err(|_| XmlError::InvalidUtf8)?;
        check_qname(key)?;
        if attrs.iter().any(|(k, _)| k == key) {
            return Err(XmlError::Syntax(format!("duplicate attribute '{key}'")));
        }
        let raw = std::str::from_utf8(&attr.value).map_err(|_| XmlError::InvalidUtf8)?;
        check_spacing(body, raw, key)?;
        let mut value = String::with_capacity(raw.len());
        unescape_into(raw, Context::Attr, &mut value)?;
        check_declaration(key, &value)?;
        attrs.push((intern(key), value));
    }
    Ok(attrs)
}

/// XML 1.0 §3.1 requires white space between attributes (`<a x='1'y='2'/>`
/// is not well-formed); quick-xml does not check it. `raw` is the value as
/// it lies in `body`, so the byte after its closing quote is at hand.
fn check_spacing(body: &str, raw: &str, key: &str) -> Result<(), XmlError> {
    let bytes = body.as_bytes();
    let start = (raw.as_ptr() as usize).checked_sub(bytes.as_ptr() as usize);
    let close = start.map(|s| s + raw.len());
    if !matches!(close.and_then(|c| bytes.get(c)), Some(b'"' | b'\'')) {
        return Ok(()); // not a slice of `body` (quick-xml never does this)
    }
    match close.and_then(|c| bytes.get(c + 1)) {
        Some(&b) if !is_space(b) => Err(XmlError::Syntax(format!(
            "no white space after the value of attribute '{}'",
            shorten(key)
        ))),
        _ => Ok(()),
    }
}

/// A token's bytes as text. Most XMPP tokens are pure ASCII: checking that
/// first is several times cheaper than full UTF-8 validation of many short
/// slices (it was 8% of the parser's time).
pub(super) fn token_str(raw: &[u8]) -> Result<&str, XmlError> {
    if raw.is_ascii() {
        // SAFETY: ASCII bytes are valid UTF-8.
        Ok(unsafe { std::str::from_utf8_unchecked(raw) })
    } else {
        std::str::from_utf8(raw).map_err(|_| XmlError::InvalidUtf8)
    }
}
