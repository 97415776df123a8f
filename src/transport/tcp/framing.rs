//! RFC 6120 §4's framing over TCP: the stream header we send, the check of
//! the server's, and the close.

use crate::xml::{escape_attr, ns, Element};

/// The stream's end tag.
pub(super) const STREAM_CLOSE: &str = "</stream:stream>";

/// Our stream header for `domain` (RFC 6120 §4.7: `to`, `version`, the
/// default namespace and the streams prefix), after an XML declaration.
pub(super) fn stream_header(domain: &str) -> String {
    let mut to = String::new();
    escape_attr(domain, &mut to);
    format!(
        "<?xml version='1.0'?><stream:stream to='{to}' version='1.0' xml:lang='en' \
         xmlns='{}' xmlns:stream='{}'>",
        ns::CLIENT,
        ns::STREAMS
    )
}

/// The header as the xmlOutput hook sees it: the start tag, childless.
pub(super) fn header_element(domain: &str) -> Element {
    let mut open = Element::new("stream:stream");
    open.set_attr("to", domain);
    open.set_attr("version", "1.0");
    open.set_attr("xml:lang", "en");
    open.set_attr("xmlns", ns::CLIENT);
    open.set_attr("xmlns:stream", ns::STREAMS);
    open
}

/// The close as the xmlOutput hook sees it.
pub(super) fn close_element() -> Element {
    Element::new("/stream:stream")
}

/// RFC 6120 §4.7: the server's header opens a `stream` in the streams
/// namespace, with version 1.0 (a pre-1.0 server has no SASL or bind).
/// The condition to fail with, or None.
pub(super) fn check_header(open: &Element) -> Option<String> {
    if open.local_name() != "stream" || open.xmlns() != Some(ns::STREAMS) {
        return Some(format!(
            "the server's stream header is <{}>, not <stream:stream>",
            open.name()
        ));
    }
    match open.attr("version") {
        Some(v) if v.split('.').next().and_then(|m| m.parse::<u32>().ok()) >= Some(1) => None,
        Some(v) => Some(format!("the server speaks XMPP version {v}, not 1.0")),
        None => Some("the server's stream header has no version (pre-1.0 XMPP)".into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::xml::{StreamEvent, StreamParser};

    fn header(text: &str) -> Element {
        let events = StreamParser::new().feed(text.as_bytes()).unwrap();
        match events.into_iter().next() {
            Some(StreamEvent::Open(open)) => open,
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn our_header_parses_as_a_stream_header_for_the_domain() {
        let open = header(&stream_header("exa'mple.com"));
        assert_eq!(check_header(&open), None);
        assert_eq!(open.attr("to"), Some("exa'mple.com"));
    }

    #[test]
    fn a_header_that_is_no_1_0_stream_is_refused() {
        let streams = "xmlns:stream='http://etherx.jabber.org/streams'";
        let ok = header(&format!("<stream:stream {streams} version='1.0'>"));
        assert_eq!(check_header(&ok), None);
        let none = header(&format!("<stream:stream {streams}>"));
        assert!(check_header(&none).unwrap().contains("no version"));
        let old = header(&format!("<stream:stream {streams} version='0.9'>"));
        assert!(check_header(&old).unwrap().contains("0.9"));
        let mut wrong = Element::new("stream:stream");
        wrong.set_attr("xmlns:stream", "urn:other");
        wrong.set_attr("version", "1.0");
        assert!(check_header(&wrong).is_some());
        let mut open = Element::new("open");
        open.set_attr("xmlns", ns::FRAMING);
        open.set_attr("version", "1.0");
        assert!(check_header(&open).is_some());
    }
}
