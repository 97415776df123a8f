//! What tags build: a start tag opens an element (or a stream's wrapper),
//! an end tag closes it, and a finished top-level element leaves the
//! parser as a [`StreamEvent`]. Apart from the feeding in `mod.rs` because
//! this is where the element tree, the depth limit and the wrapper live.

use super::namespaces::adopt_namespaces;
use super::syntax::{check_qname, is_space_char, parse_attrs};
use super::{StreamEvent, StreamParser, XML_PREFIX_REFUSED};
use crate::xml::element::{intern, Element, Node};
use crate::xml::error::shorten;
use crate::xml::error::XmlError;
use crate::xml::ns;

impl StreamParser {
    pub(super) fn start_tag(
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

    pub(super) fn end_tag(
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
