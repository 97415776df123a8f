//! Why XML was refused: the one error type of the XML layer, below the
//! lexer, the unescaper and the parser that all report it.

use std::fmt;

/// Caps the length of input quoted in error messages.
pub(crate) fn shorten(s: &str) -> &str {
    match s.char_indices().nth(64) {
        Some((i, _)) => s.get(..i).unwrap_or(s),
        None => s,
    }
}

/// Why input was refused. Errors are sticky: a [`StreamParser`](super::StreamParser) keeps
/// returning the same error until [`StreamParser::reset`](super::StreamParser::reset).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum XmlError {
    /// Not well-formed XML.
    Syntax(String),
    /// The input is not UTF-8.
    InvalidUtf8,
    /// A prefix with no namespace declaration in scope.
    UndeclaredPrefix(String),
    /// A document type declaration (or other DTD markup).
    Doctype,
    /// Well-formed XML that XMPP does not allow on the wire, in XML from
    /// the application (see [`parse_element`](super::parse_element)): comments, processing
    /// instructions, an XML declaration, a byte order mark, CDATA sections
    /// and elements in the reserved `xml` prefix. The text says which.
    Restricted(String),
    /// An entity other than the five predefined ones.
    UnknownEntity(String),
    /// An end tag that does not close the open element.
    MismatchedEnd {
        /// The name of the element open.
        expected: String,
        /// The name the end tag gave.
        found: String,
    },
    /// Another element after the root (or wrapper) was closed.
    SecondRoot,
    /// A stanza larger than [`Limits::max_stanza_bytes`](super::Limits::max_stanza_bytes).
    TooLarge {
        /// The limit, in bytes.
        limit: usize,
    },
    /// Elements nested deeper than [`Limits::max_depth`](super::Limits::max_depth).
    TooDeep {
        /// The limit, in levels.
        limit: usize,
    },
    /// The input ended inside an element or a tag.
    Incomplete,
}

impl fmt::Display for XmlError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            XmlError::Syntax(m) => write!(f, "XML syntax error: {m}"),
            XmlError::InvalidUtf8 => f.write_str("XML input is not valid UTF-8"),
            XmlError::UndeclaredPrefix(p) => write!(f, "undeclared namespace prefix '{p}'"),
            XmlError::Doctype => {
                f.write_str("DTDs (<!DOCTYPE ...>) are not allowed in XMPP (RFC 6120 §11.1)")
            }
            XmlError::Restricted(m) => f.write_str(m),
            XmlError::UnknownEntity(e) => write!(
                f,
                "unknown entity '&{e};': XMPP allows only &lt; &gt; &amp; &quot; &apos; (RFC 6120 §11.1)"
            ),
            XmlError::MismatchedEnd { expected, found } => {
                write!(
                    f,
                    "mismatched end tag: expected </{expected}>, found </{found}>"
                )
            }
            XmlError::SecondRoot => f.write_str("another element after the root element ended"),
            XmlError::TooLarge { limit } => write!(f, "stanza exceeds {limit} bytes"),
            XmlError::TooDeep { limit } => write!(f, "elements nested deeper than {limit} levels"),
            XmlError::Incomplete => f.write_str("incomplete XML: input ended inside an element"),
        }
    }
}

impl std::error::Error for XmlError {}
