//! The whole bodies the xml hooks see (unless `strip`), built from what
//! is at hand rather than parsed again: a body sent, from the elements of
//! the stanzas serialized into it; a body received, from the events the
//! stream parser read it as.

use crate::outgoing::Outgoing;
use crate::xml::{Element, Node, StreamEvent};

/// A wrapper as sent (a BOSH `<body>`), for the xmlOutput hook: its start
/// and the elements of the stanzas it carries, as they were before being
/// serialized into it (see [`Outgoing::to_element`]), not its text read back.
pub(crate) fn sent_wrapper(mut wrapper: Element, items: &[Outgoing]) -> Element {
    for elem in items.iter().filter_map(Outgoing::to_element) {
        wrapper.append_child(elem);
    }
    wrapper
}

/// A wrapper as received (a BOSH `<body>`), for the xmlInput hook, from
/// the events the stream parser read it as instead of a second parse: the
/// wrapper with its stanzas as children. The parser made each stanza
/// self-contained by copying the wrapper's namespace declarations it
/// relied on (the default one first, prefixes last); inside the wrapper
/// those copies are dropped again, so the hook sees the body as written
/// (a stanza that itself repeated a declaration of the wrapper's, in that
/// place, is shown without the repetition, which means the same).
pub(crate) fn received_wrapper(events: &[StreamEvent]) -> Option<Element> {
    let mut events = events.iter();
    let mut wrapper = match events.next() {
        Some(StreamEvent::Open(wrapper)) => wrapper.clone(),
        // Not a wrapper at all: the one element it is.
        Some(StreamEvent::Stanza(whole)) => return Some(whole.clone()),
        _ => return None,
    };
    for event in events {
        if let StreamEvent::Stanza(stanza) = event {
            let mut stanza = stanza.clone();
            drop_adopted(&mut stanza, &wrapper);
            wrapper.children_mut().push(Node::Element(stanza));
        }
    }
    Some(wrapper)
}

/// Undoes the stream parser's copies of `wrapper`'s declarations on one
/// of its stanzas (see [`received_wrapper`]).
fn drop_adopted(stanza: &mut Element, wrapper: &Element) {
    if let Some(default) = wrapper.declared_namespace(None) {
        if stanza.attrs().next() == Some(("xmlns", default)) {
            stanza.remove_attr("xmlns");
        }
    }
    loop {
        let Some((key, value)) = stanza.attrs().last() else {
            return;
        };
        let copied = key
            .strip_prefix("xmlns:")
            .is_some_and(|p| wrapper.declared_namespace(Some(p)) == Some(value));
        if !copied {
            return;
        }
        let key = key.to_string();
        stanza.remove_attr(&key);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::xml::{parse_received, Builder, StreamParser};

    #[test]
    fn a_received_wrapper_is_the_body_as_a_second_parse_would_read_it() {
        for body in [
            "<body xmlns='http://jabber.org/protocol/httpbind' sid='s'/>",
            "<body xmlns='http://jabber.org/protocol/httpbind' \
              xmlns:stream='http://etherx.jabber.org/streams'>\
              <stream:features><bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'/>\
              </stream:features>\
              <message xmlns='jabber:client' to='a@b'><body>hi</body></message>\
              <iq type='result' id='1'/></body>",
        ] {
            let mut parser = StreamParser::new();
            let events = parser.feed(body.as_bytes()).unwrap();
            let built = received_wrapper(&events).unwrap();
            assert_eq!(built.to_xml(), parse_received(body).unwrap().to_xml());
        }
    }

    #[test]
    fn a_sent_wrapper_holds_the_elements_that_were_serialized() {
        let msg = Builder::msg([("to", "a@b")]).build();
        let items = [Outgoing::of_owned(msg.clone(), true), Outgoing::of(&msg)];
        let body = Builder::new("body", [("xmlns", crate::xml::ns::HTTPBIND)]).build();
        let text = format!(
            "<body xmlns='{}'>{}{}</body>",
            crate::xml::ns::HTTPBIND,
            items[0].text(),
            items[1].text()
        );
        let built = sent_wrapper(body, &items);
        assert_eq!(built.to_xml(), parse_received(&text).unwrap().to_xml());
    }
}
