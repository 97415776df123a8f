//! The incremental stream parser.
//!
//! Bytes are held until they form complete tokens (see [`super::lexer`]);
//! each complete token is then checked as UTF-8 and applied to a stack of
//! open elements. quick-xml parses the attributes of start tags. Elements
//! are built iteratively, so nesting depth costs heap, never stack, and is
//! bounded by [`Limits::max_depth`] anyway.

use super::element::{intern, Element, Name, Node};
use super::error::XmlError;
use super::escape::{unescape_into, Context};
use super::lexer::{Lexer, Token};
use super::ns;
use quick_xml::events::attributes::Attributes;
use std::str::FromStr;

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

    fn start_tag(
        &mut self,
        body: &str,
        at: u64,
        end: u64,
        out: &mut Vec<StreamEvent>,
    ) -> Result<(), XmlError> {
        let (body, empty) = match body.strip_suffix('/') {
            Some(b) => (b, true),
            None => (body, false),
        };
        let name_len = body.find(is_space_char).unwrap_or(body.len());
        let name = body.get(..name_len).unwrap_or_default();
        check_qname(name)?;
        if name.starts_with("xml:") {
            // Namespace-well-formed (`xml` is bound by definition), but no
            // XMPP element lives in the XML namespace.
            self.refuse_from_caller(XML_PREFIX_REFUSED)?;
        }
        self.check_depth()?;
        if self.open.is_empty() {
            self.begin_stanza(at)?;
        }
        let elem = Element {
            name: intern(name),
            attrs: parse_attrs(body, name_len)?,
            children: Vec::new(),
        };
        self.resolve(&elem)?;
        if self.open.is_empty() && self.wrapper.is_none() && !self.document && is_wrapper(&elem) {
            self.open_wrapper(elem, empty, out);
            return Ok(());
        }
        if empty {
            return self.complete(elem, end, out);
        }
        self.open.push(elem);
        Ok(())
    }

    fn check_depth(&self) -> Result<(), XmlError> {
        let depth = usize::from(self.wrapper.is_some()) + self.open.len() + 1;
        let limit = self.limits.max_depth;
        if depth > limit {
            return Err(XmlError::TooDeep { limit });
        }
        Ok(())
    }

    fn begin_stanza(&mut self, at: u64) -> Result<(), XmlError> {
        if self.closed {
            return Err(XmlError::SecondRoot);
        }
        self.started = true;
        self.stanza_start = at;
        self.borrowed_default = false;
        self.borrowed_prefixes.clear();
        Ok(())
    }

    fn open_wrapper(&mut self, elem: Element, empty: bool, out: &mut Vec<StreamEvent>) {
        if empty {
            // `<body .../>`: an empty BOSH response.
            out.push(StreamEvent::Open(elem));
            out.push(StreamEvent::Close(None));
            self.closed = true;
        } else {
            out.push(StreamEvent::Open(elem.clone()));
            self.wrapper = Some(elem);
        }
    }

    fn end_tag(
        &mut self,
        content: &str,
        end: u64,
        out: &mut Vec<StreamEvent>,
    ) -> Result<(), XmlError> {
        // No name check: it must equal a start tag's name, which was checked.
        let name = content.trim_end_matches(is_space_char);
        match self.open.pop() {
            Some(elem) if elem.name == name => self.complete(elem, end, out),
            Some(mut elem) => Err(XmlError::MismatchedEnd {
                expected: std::mem::take(&mut elem.name).into_owned(),
                found: name.to_owned(),
            }),
            None => self.end_wrapper(name, out),
        }
    }

    fn end_wrapper(&mut self, name: &str, out: &mut Vec<StreamEvent>) -> Result<(), XmlError> {
        match &self.wrapper {
            Some(w) if w.name == name => {
                self.wrapper = None;
                self.closed = true;
                out.push(StreamEvent::Close(None));
                Ok(())
            }
            Some(w) => Err(XmlError::MismatchedEnd {
                expected: w.name.to_string(),
                found: name.to_owned(),
            }),
            None => Err(XmlError::Syntax(format!(
                "end tag </{}> without a start tag",
                shorten(name)
            ))),
        }
    }

    /// A finished element goes into its parent, or out as a stanza.
    fn complete(
        &mut self,
        elem: Element,
        end: u64,
        out: &mut Vec<StreamEvent>,
    ) -> Result<(), XmlError> {
        if let Some(parent) = self.open.last_mut() {
            parent.children.push(Node::Element(elem));
            return Ok(());
        }
        self.check_size(end.saturating_sub(self.stanza_start))?;
        let event = if self.document {
            self.closed = true;
            StreamEvent::Stanza(elem)
        } else if let Some(wrapper) = &self.wrapper {
            let mut elem = elem;
            adopt_namespaces(
                &mut elem,
                wrapper,
                self.borrowed_default,
                &self.borrowed_prefixes,
            );
            StreamEvent::Stanza(elem)
        } else {
            framed_event(elem)
        };
        out.push(event);
        Ok(())
    }

    /// Checks that every prefix in use is declared, and notes which
    /// declarations the stanza borrows from the wrapper.
    fn resolve(&mut self, elem: &Element) -> Result<(), XmlError> {
        match elem.prefix() {
            Some(p) => self.resolve_prefix(elem, p)?,
            None => self.note_default(elem),
        }
        for (key, _) in &elem.attrs {
            if let Some((p, _)) = key.split_once(':') {
                if p != "xmlns" {
                    self.resolve_prefix(elem, p)?;
                }
            }
        }
        Ok(())
    }

    fn resolve_prefix(&mut self, elem: &Element, prefix: &str) -> Result<(), XmlError> {
        let declares = |e: &Element| e.declared_namespace(Some(prefix)).is_some();
        // `xml` is bound by definition.
        if prefix == "xml" || declares(elem) || self.open.iter().any(declares) {
            return Ok(());
        }
        match &self.wrapper {
            Some(w) if declares(w) => {
                if !self.borrowed_prefixes.iter().any(|p| p == prefix) {
                    self.borrowed_prefixes.push(prefix.to_owned());
                }
                Ok(())
            }
            _ => Err(XmlError::UndeclaredPrefix(prefix.to_owned())),
        }
    }

    /// An unprefixed element with no default namespace declared within the
    /// stanza is in the wrapper's default namespace (`jabber:client`).
    fn note_default(&mut self, elem: &Element) {
        let Some(wrapper) = &self.wrapper else {
            return;
        };
        let declares = |e: &Element| e.declared_namespace(None).is_some();
        if self.borrowed_default || declares(elem) || self.open.iter().any(declares) {
            return;
        }
        self.borrowed_default = wrapper
            .declared_namespace(None)
            .is_some_and(|ns| !ns.is_empty());
    }

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

/// XML whitespace.
fn is_space(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\n' | b'\r')
}

fn is_space_char(c: char) -> bool {
    matches!(c, ' ' | '\t' | '\n' | '\r')
}

/// Caps the length of input quoted in error messages.
fn shorten(s: &str) -> &str {
    match s.char_indices().nth(64) {
        Some((i, _)) => s.get(..i).unwrap_or(s),
        None => s,
    }
}

/// A name without a colon, as Namespaces in XML requires. Non-ASCII
/// characters are accepted without consulting the full XML name tables.
fn is_ncname(s: &str) -> bool {
    match s.bytes().next() {
        None => false,
        Some(b) if b.is_ascii_digit() || b == b'-' || b == b'.' => false,
        Some(_) => s
            .bytes()
            .all(|b| b >= 0x80 || b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_')),
    }
}

/// `local` or `prefix:local`.
fn check_qname(name: &str) -> Result<(), XmlError> {
    let ok = match name.split_once(':') {
        Some((prefix, local)) => is_ncname(prefix) && is_ncname(local),
        None => is_ncname(name),
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
fn parse_attrs(body: &str, name_len: usize) -> Result<Vec<(Name, String)>, XmlError> {
    let tail = body.get(name_len..).unwrap_or_default();
    if tail.bytes().all(is_space) {
        return Ok(Vec::new());
    }
    let mut attrs: Vec<(Name, String)> = Vec::new();
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

/// The constraints of Namespaces in XML 1.0 §3 on declarations: no prefix
/// undeclaring (`xmlns:p=''`), and the reserved `xml` and `xmlns` prefixes
/// and namespaces only as defined.
fn check_declaration(key: &str, value: &str) -> Result<(), XmlError> {
    let prefix = match key.strip_prefix("xmlns") {
        Some("") => None,
        Some(rest) => match rest.strip_prefix(':') {
            Some(p) => Some(p),
            None => return Ok(()),
        },
        None => return Ok(()),
    };
    let why = match prefix {
        Some("xmlns") => "the prefix 'xmlns' cannot be declared".to_owned(),
        Some("xml") if value != ns::XML => {
            format!("the prefix 'xml' can only be bound to {}", ns::XML)
        }
        Some("xml") => return Ok(()),
        Some(p) if value.is_empty() => format!(
            "xmlns:{}='' undeclares a prefix, which XML 1.0 does not allow",
            shorten(p)
        ),
        _ if value == ns::XML || value == ns::XMLNS => {
            format!("{value} cannot be declared: it is reserved")
        }
        _ => return Ok(()),
    };
    Err(XmlError::Syntax(why))
}

/// `<stream:stream>` or BOSH `<body>`: their children are the stanzas.
fn is_wrapper(elem: &Element) -> bool {
    match elem.local_name() {
        "stream" => elem.xmlns() == Some(ns::STREAMS),
        "body" => elem.xmlns() == Some(ns::HTTPBIND),
        _ => false,
    }
}

/// A top-level element with no wrapper: RFC 7395 framing or a stanza.
fn framed_event(elem: Element) -> StreamEvent {
    if elem.xmlns() != Some(ns::FRAMING) {
        return StreamEvent::Stanza(elem);
    }
    match elem.local_name() {
        "open" => StreamEvent::Open(elem),
        "close" => StreamEvent::Close(Some(elem)),
        _ => StreamEvent::Stanza(elem),
    }
}

/// Makes a wrapper's child self-contained: copies the declarations it
/// relies on from the wrapper, the default namespace first.
fn adopt_namespaces(elem: &mut Element, wrapper: &Element, default: bool, prefixes: &[String]) {
    if default && elem.declared_namespace(None).is_none() {
        if let Some(ns) = wrapper.declared_namespace(None) {
            elem.attrs.insert(0, (intern("xmlns"), ns.to_owned()));
        }
    }
    for prefix in prefixes {
        if let Some(ns) = wrapper.declared_namespace(Some(prefix)) {
            elem.attrs
                .push((format!("xmlns:{prefix}").into(), ns.to_owned()));
        }
    }
}

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

/// A token's bytes as text. Most XMPP tokens are pure ASCII: checking that
/// first is several times cheaper than full UTF-8 validation of many short
/// slices (it was 8% of the parser's time).
fn token_str(raw: &[u8]) -> Result<&str, XmlError> {
    if raw.is_ascii() {
        // SAFETY: ASCII bytes are valid UTF-8.
        Ok(unsafe { std::str::from_utf8_unchecked(raw) })
    } else {
        std::str::from_utf8(raw).map_err(|_| XmlError::InvalidUtf8)
    }
}
