//! The incremental stream parser: [`StreamParser`] holds received bytes
//! until they form complete tokens (see [`super::lexer`]), checks each as
//! UTF-8 and applies it. This module is the feeding and buffering, the
//! limits and what is dropped or refused between and inside stanzas; what
//! tags build, the namespace rules, the syntax of names and attributes and
//! the one-document entry points each have their own submodule.
//!
//! quick-xml parses the attributes of start tags. Elements are built
//! iteratively, so nesting depth costs heap, never stack, and is bounded
//! by [`Limits::max_depth`] anyway.

mod document;
mod namespaces;
mod syntax;
mod tags;

#[cfg(any(test, fuzzing))]
pub(crate) use document::parse_document;
pub use document::{parse_element, parse_element_bytes, parse_element_with_limits, parse_received};

use super::element::{Element, Node};
use super::error::shorten;
use super::error::XmlError;
use super::escape::{unescape_into, Context};
use super::lexer::{Lexer, Token};
use syntax::{is_space, is_space_char, token_str};

/// What the parser found, in input order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StreamEvent {
    /// A wrapper's start tag (`<stream:stream>`, BOSH `<body>`), without
    /// children, or a complete RFC 7395 `<open/>`.
    Open(Element),
    /// A complete top-level stanza.
    Stanza(Element),
    /// The wrapper's end tag (`None`) or an RFC 7395 `<close/>` (`Some`).
    Close(Option<Element>),
}

/// Bounds on what a peer can make the parser hold.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Largest stanza, start tag to end tag, in bytes as received.
    pub max_stanza_bytes: usize,
    /// Deepest element nesting, counting the wrapper.
    pub max_depth: usize,
}

impl Default for Limits {
    fn default() -> Limits {
        Limits {
            max_stanza_bytes: 8 * 1024 * 1024,
            max_depth: 64,
        }
    }
}

/// Why XML from the application is refused (see [`XmlError::Restricted`]).
const COMMENT_REFUSED: &str = "comments are not allowed in XMPP (RFC 6120 §11.1)";
const PI_REFUSED: &str = "processing instructions are not allowed in XMPP (RFC 6120 §11.1)";
const DECLARATION_REFUSED: &str =
    "an XML declaration is not allowed inside an XMPP stream (RFC 6120 §11.1)";
/// CDATA is not among what RFC 6120 §11.1 forbids, yet it is refused here
/// rather than normalised. `send_raw` sends the application's text exactly
/// as written (re-serialising every raw send would defeat its purpose), so
/// normalising would have to mean rewriting that text; refusing keeps "what
/// was checked is what is sent" and makes `epode_stanza_parse` and
/// `send_raw` agree on every input. The same text written escaped
/// (`&lt;`, `&amp;`) means the same and is accepted by both.
const CDATA_REFUSED: &str =
    "CDATA sections are not accepted in XML to send: write the text escaped (&lt; &amp;) instead";
const XML_PREFIX_REFUSED: &str =
    "elements in the reserved 'xml' prefix are not allowed (no XMPP element is in the XML namespace)";

/// Buffers larger than this are given back once a big stanza is done.
const KEEP_CAPACITY: usize = 64 * 1024;

/// Turns a byte stream into [`StreamEvent`]s, whatever the chunking.
#[derive(Debug)]
pub struct StreamParser {
    limits: Limits,
    /// Parsing a lone document for `parse_element`: no wrappers, one root.
    document: bool,
    /// The document is XML from the application, to be sent as written:
    /// what XMPP does not allow on the wire is refused, not dropped.
    caller: bool,
    /// Received bytes not yet part of a complete token.
    buf: Vec<u8>,
    lexer: Lexer,
    /// Stream offset of `buf[0]`.
    base: u64,
    /// The stanza being built: its root first.
    open: Vec<Element>,
    /// The open `<stream:stream>` or `<body>`, attributes only.
    wrapper: Option<Element>,
    /// The wrapper (or a document's root) has ended.
    closed: bool,
    /// Markup was seen: an XML declaration is too late now.
    started: bool,
    /// Stream offset of the current stanza's `<`.
    stanza_start: u64,
    /// The current stanza uses the wrapper's default namespace.
    borrowed_default: bool,
    /// Prefixes the current stanza uses that only the wrapper declares.
    borrowed_prefixes: Vec<String>,
    error: Option<XmlError>,
}

impl Default for StreamParser {
    fn default() -> StreamParser {
        StreamParser::new()
    }
}

impl StreamParser {
    /// A parser with default [`Limits`].
    pub fn new() -> StreamParser {
        StreamParser::with_limits(Limits::default())
    }

    /// A parser with the given limits.
    pub fn with_limits(limits: Limits) -> StreamParser {
        StreamParser {
            limits,
            document: false,
            caller: false,
            buf: Vec::new(),
            lexer: Lexer::default(),
            base: 0,
            open: Vec::new(),
            wrapper: None,
            closed: false,
            started: false,
            stanza_start: 0,
            borrowed_default: false,
            borrowed_prefixes: Vec::new(),
            error: None,
        }
    }

    /// Parses more input and returns the events it completed.
    pub fn feed(&mut self, bytes: &[u8]) -> Result<Vec<StreamEvent>, XmlError> {
        let mut out = Vec::new();
        self.feed_into(bytes, &mut out).map(|()| out)
    }

    /// Like [`feed`](Self::feed), appending to `out`. On error, events
    /// completed earlier in the same call are left in `out`.
    pub fn feed_into(&mut self, bytes: &[u8], out: &mut Vec<StreamEvent>) -> Result<(), XmlError> {
        if let Some(err) = &self.error {
            return Err(err.clone());
        }
        let result = self.feed_inner(bytes, out);
        if let Err(err) = &result {
            self.error = Some(err.clone());
        }
        result
    }

    /// Forgets everything, for a stream restart, the next WebSocket message
    /// or the next BOSH body. Buffers keep their capacity.
    pub fn reset(&mut self) {
        self.buf.clear();
        self.lexer.reset();
        self.base = 0;
        self.open.clear();
        self.wrapper = None;
        self.closed = false;
        self.started = false;
        self.stanza_start = 0;
        self.borrowed_default = false;
        self.borrowed_prefixes.clear();
        self.error = None;
    }

    /// Bytes received but not yet part of a complete token.
    pub fn buffered(&self) -> usize {
        self.buf.len()
    }

    fn feed_inner(&mut self, bytes: &[u8], out: &mut Vec<StreamEvent>) -> Result<(), XmlError> {
        if self.buf.is_empty() {
            // Nothing held back: parse straight from the caller's bytes and
            // keep only the incomplete tail.
            let used = self.process(bytes, out)?;
            self.buf
                .extend_from_slice(bytes.get(used..).unwrap_or_default());
            self.base += used as u64;
        } else {
            self.buf.extend_from_slice(bytes);
            let buf = std::mem::take(&mut self.buf);
            let result = self.process(&buf, out);
            self.buf = buf;
            let used = result?.min(self.buf.len());
            self.buf.drain(..used);
            self.base += used as u64;
        }
        if self.buf.capacity() > KEEP_CAPACITY && self.buf.len() < KEEP_CAPACITY / 4 {
            self.buf.shrink_to(KEEP_CAPACITY / 4);
        }
        self.check_held()
    }

    /// Applies every complete token in `data`; returns the bytes used.
    fn process(&mut self, data: &[u8], out: &mut Vec<StreamEvent>) -> Result<usize, XmlError> {
        let mut pos = 0;
        while let Some(rest) = data.get(pos..).filter(|r| !r.is_empty()) {
            let Some((kind, len)) = self.lexer.next(rest)? else {
                return Ok(pos + self.skip_idle_space(rest));
            };
            let at = self.base + pos as u64;
            self.token(kind, rest.get(..len).unwrap_or_default(), at, out)?;
            pos += len;
        }
        Ok(pos)
    }

    /// Whitespace between stanzas (keepalives) is dropped as it arrives
    /// rather than held until the next `<`.
    fn skip_idle_space(&mut self, rest: &[u8]) -> usize {
        if !self.open.is_empty() {
            return 0;
        }
        let n = rest.iter().take_while(|&&b| is_space(b)).count();
        self.lexer.skip(n);
        n
    }

    /// Refuses a stanza that has grown past the limit while incomplete, so
    /// a peer that never closes a tag cannot make us hold unbounded memory.
    fn check_held(&self) -> Result<(), XmlError> {
        let end = self.base + self.buf.len() as u64;
        let start = if self.open.is_empty() {
            self.base
        } else {
            self.stanza_start
        };
        self.check_size(end.saturating_sub(start))
    }

    fn check_size(&self, bytes: u64) -> Result<(), XmlError> {
        let limit = self.limits.max_stanza_bytes;
        if bytes > limit as u64 {
            return Err(XmlError::TooLarge { limit });
        }
        Ok(())
    }

    /// Applies one complete token that starts at stream offset `at`.
    fn token(
        &mut self,
        kind: Token,
        raw: &[u8],
        at: u64,
        out: &mut Vec<StreamEvent>,
    ) -> Result<(), XmlError> {
        let end = at + raw.len() as u64;
        if !self.open.is_empty() {
            // Refuse a huge stanza early even when it arrives in one chunk.
            self.check_size(end.saturating_sub(self.stanza_start))?;
        } else if !matches!(kind, Token::Text) {
            // A comment, PI or CDATA between stanzas is held whole until it
            // ends, so it obeys the same limit, however it is chunked (the
            // fuzzer found a 5 KB PI refused in pieces, accepted at once).
            // Idle whitespace is skipped as it arrives and never held.
            self.check_size(raw.len() as u64)?;
        }
        let s = token_str(raw)?;
        // Token delimiters are ASCII, so these slices fall on char boundaries.
        let inner = |head: usize, tail: usize| {
            s.get(head..s.len().saturating_sub(tail))
                .unwrap_or_default()
        };
        match kind {
            Token::Text => self.text(s, Context::Text, at),
            Token::CData => {
                self.refuse_from_caller(CDATA_REFUSED)?;
                self.text(inner(9, 3), Context::CData, at)
            }
            Token::Comment => self.refuse_from_caller(COMMENT_REFUSED),
            Token::Pi => self.processing_instruction(inner(2, 2)),
            Token::Start => self.start_tag(inner(1, 1), at, end, out),
            Token::End => self.end_tag(inner(2, 1), end, out),
        }
    }

    /// From a server, comments (and below, PIs) are dropped and CDATA is
    /// read as text; XML from the application is refused instead, because
    /// `send_raw` sends it as written (see [`CDATA_REFUSED`]).
    fn refuse_from_caller(&self, why: &str) -> Result<(), XmlError> {
        match self.caller {
            true => Err(XmlError::Restricted(why.to_owned())),
            false => Ok(()),
        }
    }

    /// Text (or CDATA) that starts at stream offset `at`.
    fn text(&mut self, raw: &str, ctx: Context, at: u64) -> Result<(), XmlError> {
        let Some(top) = self.open.last_mut() else {
            return self.idle_text(raw, at);
        };
        if let Some(Node::Text(prev)) = top.children.last_mut() {
            return unescape_into(raw, ctx, prev);
        }
        let mut text = String::with_capacity(raw.len());
        unescape_into(raw, ctx, &mut text)?;
        if !text.is_empty() {
            top.children.push(Node::Text(text));
        }
        Ok(())
    }

    /// Text outside any stanza may only be whitespace, and a BOM only as
    /// the very first character of the stream. (Whitespace is skipped as
    /// it arrives, so "started" alone would let a BOM after it pass when
    /// the two come in separate chunks; the fuzzer found that.)
    fn idle_text(&self, raw: &str, at: u64) -> Result<(), XmlError> {
        if raw.starts_with('\u{FEFF}') {
            // Sent as written, a BOM would be text in the middle of the stream.
            self.refuse_from_caller("a byte order mark is not allowed inside an XMPP stream")?;
        }
        let raw = match !self.started && at == 0 {
            true => raw.strip_prefix('\u{FEFF}').unwrap_or(raw),
            false => raw,
        };
        if raw.bytes().all(is_space) {
            return Ok(());
        }
        Err(XmlError::Syntax(format!(
            "text outside of any stanza: '{}'",
            shorten(raw.trim())
        )))
    }

    /// Processing instructions are dropped; the XML declaration is allowed
    /// only before any markup. XML from the application may have neither.
    fn processing_instruction(&mut self, content: &str) -> Result<(), XmlError> {
        let target = content.split(is_space_char).next().unwrap_or_default();
        if !target.eq_ignore_ascii_case("xml") {
            return self.refuse_from_caller(PI_REFUSED);
        }
        self.refuse_from_caller(DECLARATION_REFUSED)?;
        if self.started {
            return Err(XmlError::Syntax(
                "XML declaration not at the start of the document".into(),
            ));
        }
        self.started = true;
        Ok(())
    }
}
