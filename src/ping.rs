//! XEP-0199 XMPP Ping: the ping the liveness check sends, and the answer
//! every transport gives to a ping addressed to us.

use crate::xml::{ns, Builder, Element};

/// `<iq type='get' to id><ping/></iq>`.
pub(crate) fn ping(to: &str, id: &str) -> Element {
    Builder::iq([("type", "get"), ("to", to), ("id", id)])
        .c("ping", [("xmlns", ns::PING)])
        .build()
}

/// The `result` that answers `stanza`, or None if it is no ping to answer.
pub(crate) fn pong_for(stanza: &Element) -> Option<Element> {
    let is_ping = stanza.name() == "iq"
        && stanza.attr("type") == Some("get")
        && stanza.find_child("ping", Some(ns::PING)).is_some();
    if !is_ping {
        return None;
    }
    let mut attrs = vec![("type", "result")];
    if let Some(id) = stanza.attr("id") {
        attrs.push(("id", id));
    }
    if let Some(from) = stanza.attr("from") {
        attrs.push(("to", from));
    }
    Some(Builder::iq(attrs).build())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::xml::parse_received;

    #[test]
    fn a_ping_is_answered_with_a_result_to_its_sender() {
        let ping = parse_received(
            "<iq type='get' id='p1' from='bob@localhost/x' to='alice@localhost/y'>\
             <ping xmlns='urn:xmpp:ping'/></iq>",
        )
        .unwrap();
        assert_eq!(
            pong_for(&ping).unwrap().to_xml(),
            "<iq xmlns=\"jabber:client\" type=\"result\" id=\"p1\" to=\"bob@localhost/x\"/>"
        );
        // From the server itself: no from, no to.
        let ping =
            parse_received("<iq type='get' id='s'><ping xmlns='urn:xmpp:ping'/></iq>").unwrap();
        assert_eq!(
            pong_for(&ping).unwrap().to_xml(),
            "<iq xmlns=\"jabber:client\" type=\"result\" id=\"s\"/>"
        );
        for other in [
            "<iq type='set' id='a'><ping xmlns='urn:xmpp:ping'/></iq>",
            "<iq type='result' id='a'><ping xmlns='urn:xmpp:ping'/></iq>",
            "<iq type='get' id='a'><ping xmlns='urn:xmpp:other'/></iq>",
            "<message><ping xmlns='urn:xmpp:ping'/></message>",
        ] {
            assert!(
                pong_for(&parse_received(other).unwrap()).is_none(),
                "{other}"
            );
        }
    }

    #[test]
    fn our_ping_asks_the_server() {
        assert_eq!(
            ping("localhost", "7:ping").to_xml(),
            "<iq xmlns=\"jabber:client\" type=\"get\" to=\"localhost\" id=\"7:ping\">\
             <ping xmlns=\"urn:xmpp:ping\"/></iq>"
        );
    }
}
