//! One element parsed whole, rather than a stream fed in pieces: the
//! entry points for XML from the application ([`parse_element`], checked
//! to be fit to send as written) and XML received ([`parse_received`]),
//! and the end-of-document checks only a lone document has.

use super::{Limits, StreamEvent, StreamParser};
use crate::xml::element::Element;
use crate::xml::error::XmlError;
use crate::xml::lexer::Token;
use std::str::FromStr;

/// `"<a/>".parse::<Element>()`: the same as [`parse_element`].
impl FromStr for Element {
    type Err = XmlError;

    fn from_str(s: &str) -> Result<Element, XmlError> {
        parse_element(s)
    }
}

/// Parses exactly one element of XML from the application: the XML that
/// `Connection::send_raw` sends as written and `epode_stanza_parse` reads.
/// Whitespace may surround it; anything more is an error.
///
/// It must be fit to send as written. Comments, processing instructions,
/// an XML declaration and DTDs (which RFC 6120 §11.1 forbids in XMPP), a
/// byte order mark, CDATA sections (see `CDATA_REFUSED` in the source)
/// and elements in the reserved `xml` prefix are refused
/// ([`XmlError::Restricted`], [`XmlError::Doctype`]), as are entities
/// other than the five predefined ones and references to characters XML
/// 1.0 does not allow. For XML received from elsewhere, which may carry
/// some of those, use [`parse_received`].
pub fn parse_element(s: &str) -> Result<Element, XmlError> {
    parse_element_with_limits(s, unlimited())
}

/// [`parse_element`] for bytes, which must be UTF-8.
pub fn parse_element_bytes(b: &[u8]) -> Result<Element, XmlError> {
    let s = std::str::from_utf8(b).map_err(|_| XmlError::InvalidUtf8)?;
    parse_element(s)
}

/// [`parse_element`] with explicit limits.
pub fn parse_element_with_limits(s: &str, limits: Limits) -> Result<Element, XmlError> {
    parse_document(s, limits, true)
}

/// Parses exactly one element of XML received from a server (a BOSH body,
/// say) the way the stream parser reads a stream: an XML declaration, a
/// byte order mark, comments and processing instructions around or inside
/// it are dropped and CDATA sections read as text. Not for XML to be sent
/// as written: that is [`parse_element`]'s job.
pub fn parse_received(s: &str) -> Result<Element, XmlError> {
    parse_document(s, unlimited(), false)
}

/// The whole input is already in memory, so only depth is limited.
fn unlimited() -> Limits {
    Limits {
        max_stanza_bytes: usize::MAX,
        ..Limits::default()
    }
}

pub(crate) fn parse_document(s: &str, limits: Limits, caller: bool) -> Result<Element, XmlError> {
    let mut parser = StreamParser {
        document: true,
        caller,
        ..StreamParser::with_limits(limits)
    };
    let mut out = Vec::with_capacity(1);
    parser.feed_into(s.as_bytes(), &mut out)?;
    parser.finish(&mut out)?;
    match (out.pop(), out.is_empty()) {
        (Some(StreamEvent::Stanza(elem)), true) => Ok(elem),
        _ => Err(XmlError::Incomplete),
    }
}

impl StreamParser {
    /// End of a lone document: trailing text must be whitespace and the
    /// root must be complete.
    fn finish(&mut self, out: &mut Vec<StreamEvent>) -> Result<(), XmlError> {
        let pending = std::mem::take(&mut self.buf);
        match pending.first() {
            None => {}
            Some(b'<')
                if self.closed && !matches!(pending.get(1), None | Some(b'/' | b'!' | b'?')) =>
            {
                return Err(XmlError::SecondRoot);
            }
            Some(b'<') => return Err(XmlError::Incomplete),
            Some(_) => self.token(Token::Text, &pending, self.base, out)?,
        }
        if !self.open.is_empty() || !self.closed {
            return Err(XmlError::Incomplete);
        }
        Ok(())
    }
}
