//! Escaping for output and entity expansion for input.

use super::error::XmlError;
use std::fmt::{self, Write};

/// What a byte of text must become on output, if anything.
const fn text_escape(b: u8) -> Option<&'static str> {
    match b {
        b'&' => Some("&amp;"),
        b'<' => Some("&lt;"),
        b'>' => Some("&gt;"),
        // A literal CR would be turned into LF by the reader.
        b'\r' => Some("&#xD;"),
        _ => None,
    }
}

/// What a byte of an attribute value must become on output, if anything.
const fn attr_escape(b: u8) -> Option<&'static str> {
    match b {
        b'"' => Some("&quot;"),
        b'\'' => Some("&apos;"),
        // Literal whitespace in a value is normalized to spaces on input.
        b'\t' => Some("&#x9;"),
        b'\n' => Some("&#xA;"),
        _ => text_escape(b),
    }
}

/// A 256-entry table of the bytes `table` replaces, built at compile time:
/// the copy loop then costs one load per byte (this is the hot path of
/// every stanza sent).
static TEXT_MARKS: [bool; 256] = {
    let mut m = [false; 256];
    let mut b = 0;
    while b < 256 {
        m[b] = text_escape(b as u8).is_some();
        b += 1;
    }
    m
};

static ATTR_MARKS: [bool; 256] = {
    let mut m = [false; 256];
    let mut b = 0;
    while b < 256 {
        m[b] = attr_escape(b as u8).is_some();
        b += 1;
    }
    m
};

/// Copies `s` to `w`, replacing the bytes `table` names. Replaced bytes are
/// ASCII, so every slice boundary falls between characters.
fn escape_with<W: Write>(
    s: &str,
    w: &mut W,
    marked: &[bool; 256],
    table: fn(u8) -> Option<&'static str>,
) -> fmt::Result {
    if !any_marked(s.as_bytes(), marked) {
        return w.write_str(s); // the common case: nothing to replace
    }
    let mut last = 0;
    for (i, &b) in s.as_bytes().iter().enumerate() {
        if marked[usize::from(b)] {
            w.write_str(s.get(last..i).unwrap_or_default())?;
            w.write_str(table(b).unwrap_or_default())?;
            last = i + 1;
        }
    }
    w.write_str(s.get(last..).unwrap_or_default())
}

pub(super) fn write_text<W: Write>(s: &str, w: &mut W) -> fmt::Result {
    escape_with(s, w, &TEXT_MARKS, text_escape)
}

pub(super) fn write_attr<W: Write>(s: &str, w: &mut W) -> fmt::Result {
    escape_with(s, w, &ATTR_MARKS, attr_escape)
}

/// Escapes character data: `& < >`, and CR as `&#xD;` so it survives.
pub fn escape_text(s: &str, out: &mut String) {
    // Writing to a String cannot fail.
    let _ = write_text(s, out);
}

/// Escapes an attribute value: `& < > " '`, and TAB, LF, CR as character
/// references so attribute-value normalization leaves them alone.
pub fn escape_attr(s: &str, out: &mut String) {
    // Writing to a String cannot fail.
    let _ = write_attr(s, out);
}

/// Whether `c` may appear in an XML 1.0 document at all.
pub(super) fn is_xml_char(c: char) -> bool {
    matches!(c, '\t' | '\n' | '\r' | '\u{20}'..='\u{D7FF}' | '\u{E000}'..='\u{FFFD}' | '\u{10000}'..='\u{10FFFF}')
}

/// Whether any byte of `bytes` is marked. Chunks are looked at whole,
/// without a branch per byte, which runs several times faster than
/// `Iterator::any` on the short texts of a stanza (this is on the path of
/// every text and attribute value sent and received).
pub(crate) fn any_marked(bytes: &[u8], marked: &[bool; 256]) -> bool {
    bytes.chunks(16).any(|chunk| {
        chunk
            .iter()
            .fold(false, |hit, &b| hit | marked[usize::from(b)])
    })
}

/// Where raw input goes. Attribute values normalize literal whitespace to
/// spaces (XML 1.0 §3.3.3); CDATA sections expand no references.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(super) enum Context {
    Text,
    Attr,
    CData,
}

/// Bytes `unescape_into` must look at: controls, `&`, `<`, `>` (which may
/// end `]]>`) and 0xEF (the lead byte of U+FFFE/U+FFFF). Everything else is
/// copied as it is.
static UNESCAPE_MARKS: [bool; 256] = {
    let mut m = [false; 256];
    let mut b = 0;
    while b < 0x20 {
        m[b] = true;
        b += 1;
    }
    m[b'&' as usize] = true;
    m[b'<' as usize] = true;
    m[b'>' as usize] = true;
    m[0xEF] = true;
    m
};

/// Appends raw (escaped) input to `out` as real text: expands the five
/// predefined entities and character references, normalizes line ends and
/// refuses characters XML forbids.
pub(super) fn unescape_into(raw: &str, ctx: Context, out: &mut String) -> Result<(), XmlError> {
    let bytes = raw.as_bytes();
    if !any_marked(bytes, &UNESCAPE_MARKS) {
        out.push_str(raw); // the common case: plain text
        return Ok(());
    }
    let mut last = 0;
    let mut i = 0;
    while let Some(&b) = bytes.get(i) {
        if !UNESCAPE_MARKS[usize::from(b)] {
            i += 1;
            continue;
        }
        if b == 0xEF {
            // U+FFFE and U+FFFF (EF BF BE/BF) are not XML characters.
            if bytes.get(i + 1) == Some(&0xBF) && matches!(bytes.get(i + 2), Some(0xBE | 0xBF)) {
                return Err(XmlError::Syntax("U+FFFE/U+FFFF is not allowed".into()));
            }
            i += 1;
            continue;
        }
        // `b` is ASCII here, so `i` is a character boundary.
        out.push_str(raw.get(last..i).unwrap_or_default());
        i = special(raw, i, b, ctx, out)?;
        last = i;
    }
    out.push_str(raw.get(last..).unwrap_or_default());
    Ok(())
}

/// Handles the ASCII byte `b` at `i`; returns where plain text resumes.
fn special(raw: &str, i: usize, b: u8, ctx: Context, out: &mut String) -> Result<usize, XmlError> {
    let space = if ctx == Context::Attr { ' ' } else { '\n' };
    match b {
        b'&' | b'<' if ctx == Context::CData => {
            out.push(b as char);
            Ok(i + 1)
        }
        b'&' => {
            let rest = raw.get(i..).unwrap_or_default();
            let (c, len) = entity(rest)?;
            out.push(c);
            Ok(i + len)
        }
        b'\r' => {
            // CR LF and a lone CR both become one line end.
            out.push(space);
            let crlf = raw.as_bytes().get(i + 1) == Some(&b'\n');
            Ok(i + if crlf { 2 } else { 1 })
        }
        b'>' if ctx == Context::Text && raw.get(..i).is_some_and(|t| t.ends_with("]]")) => {
            // XML 1.0 §2.4: `]]>` may not appear in content unescaped. (The
            // serializer writes every `>` of text as `&gt;`.)
            Err(XmlError::Syntax(
                "']]>' is not allowed in character data: write it as ']]&gt;'".into(),
            ))
        }
        b'>' => {
            out.push('>');
            Ok(i + 1)
        }
        b'\n' | b'\t' => {
            out.push(if ctx == Context::Attr { ' ' } else { b as char });
            Ok(i + 1)
        }
        b'<' => Err(XmlError::Syntax(
            "'<' must be escaped in character data".into(),
        )),
        _ => Err(XmlError::Syntax(format!(
            "control character U+{b:04X} is not allowed"
        ))),
    }
}

/// Decodes the reference at the start of `s` (which begins with `&`):
/// returns the character and the length of the reference.
fn entity(s: &str) -> Result<(char, usize), XmlError> {
    let body = s.get(1..).unwrap_or_default();
    let end = body
        .bytes()
        .position(|b| !(b.is_ascii_alphanumeric() || matches!(b, b'#' | b'_' | b'-' | b'.')));
    let name = match end {
        Some(n) if body.as_bytes().get(n) == Some(&b';') => body.get(..n).unwrap_or_default(),
        _ => {
            return Err(XmlError::Syntax(
                "'&' must start an entity or character reference".into(),
            ))
        }
    };
    let c = match name {
        "lt" => '<',
        "gt" => '>',
        "amp" => '&',
        "quot" => '"',
        "apos" => '\'',
        _ if name.starts_with('#') => char_ref(name)?,
        "" => return Err(XmlError::Syntax("empty entity reference '&;'".into())),
        _ => return Err(XmlError::UnknownEntity(name.to_owned())),
    };
    Ok((c, name.len() + 2))
}

/// Decodes `#123` or `#x1F600`, refusing characters XML does not allow.
fn char_ref(name: &str) -> Result<char, XmlError> {
    let digits = name.get(1..).unwrap_or_default();
    let parsed = match digits.strip_prefix('x') {
        Some(hex) if !hex.is_empty() && hex.bytes().all(|b| b.is_ascii_hexdigit()) => {
            u32::from_str_radix(hex, 16).ok()
        }
        None if !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit()) => {
            digits.parse::<u32>().ok()
        }
        _ => None,
    };
    parsed
        .and_then(char::from_u32)
        .filter(|&c| is_xml_char(c))
        .ok_or_else(|| {
            XmlError::Syntax(format!(
                "invalid character reference '&{name};': not a character XML 1.0 allows"
            ))
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(s: &str) -> Result<String, XmlError> {
        let mut out = String::new();
        unescape_into(s, Context::Text, &mut out).map(|()| out)
    }

    fn attr(s: &str) -> Result<String, XmlError> {
        let mut out = String::new();
        unescape_into(s, Context::Attr, &mut out).map(|()| out)
    }

    #[test]
    fn escapes_text() {
        let mut s = String::new();
        escape_text("a & b < c > d \" ' \r\n\t", &mut s);
        assert_eq!(s, "a &amp; b &lt; c &gt; d \" ' &#xD;\n\t");
    }

    #[test]
    fn escapes_attributes() {
        let mut s = String::new();
        escape_attr("a & b < c > d \" ' \r\n\t é", &mut s);
        assert_eq!(s, "a &amp; b &lt; c &gt; d &quot; &apos; &#xD;&#xA;&#x9; é");
    }

    #[test]
    fn expands_entities_and_references() {
        assert_eq!(text("&lt;&gt;&amp;&quot;&apos;").as_deref(), Ok("<>&\"'"));
        assert_eq!(text("&#65;&#x42;&#x1F600;").as_deref(), Ok("AB😀"));
        assert_eq!(
            text("plain ünïcode 漢字").as_deref(),
            Ok("plain ünïcode 漢字")
        );
    }

    #[test]
    fn refuses_bad_references() {
        assert_eq!(text("&nbsp;"), Err(XmlError::UnknownEntity("nbsp".into())));
        for bad in [
            "&#0;",
            "&#x0;",
            "&#xD800;",
            "&#xFFFE;",
            "&#99999999999;",
            "&#;",
            "&#x;",
        ] {
            assert!(matches!(text(bad), Err(XmlError::Syntax(_))), "{bad}");
        }
        for bad in ["a & b", "&amp", "&;", "\u{1}", "\u{FFFF}"] {
            assert!(matches!(text(bad), Err(XmlError::Syntax(_))), "{bad:?}");
        }
        assert!(matches!(attr("a<b"), Err(XmlError::Syntax(_))));
    }

    #[test]
    fn normalizes_whitespace() {
        assert_eq!(text("a\r\nb\rc\nd\te").as_deref(), Ok("a\nb\nc\nd\te"));
        assert_eq!(attr("a\r\nb\rc\nd\te").as_deref(), Ok("a b c d e"));
        assert_eq!(attr("&#xD;&#xA;&#x9;").as_deref(), Ok("\r\n\t"));
        assert_eq!(text("&#xD;").as_deref(), Ok("\r"));
    }
}
