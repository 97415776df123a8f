//! Outgoing traffic, typed once: an [`Outgoing`] is the serialized text of
//! one element, shared, plus its [`Kind`], both decided where the element
//! is serialized (or, for `send_raw`, where its text is checked). Everyone
//! after that — the send path, the log, stream management, the transports
//! — takes what it needs from the item (an `Arc` clone, never a copy of
//! the text) instead of copying the text or reading it again to learn
//! what it is.

use crate::xml::{ns, parse_received, Element};
use std::sync::Arc;

/// What an outgoing element is, as far as anyone on its way cares.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    /// `<message/>`, `<presence/>` or `<iq/>` (by local name, as RFC 6120
    /// names stanzas): XEP-0198 counts and keeps it, and one that the link
    /// did not take waits for the next session or is reported as unacked.
    Stanza,
    /// Anything else on the stream (stream management's `<r/>`, `<a/>`,
    /// `<enable/>`, `<resume/>`, …): it belongs to the stream it was
    /// written for and dies with it.
    Nonza,
    /// An element in the SASL namespace: its payload carries the password
    /// (PLAIN) or proofs (SCRAM), so the log shows its name only.
    Sasl,
}

impl Kind {
    /// The kind of `elem`: decided on the element, not on its text.
    pub fn of(elem: &Element) -> Kind {
        if matches!(elem.local_name(), "message" | "presence" | "iq") {
            Kind::Stanza
        } else if elem.xmlns() == Some(ns::SASL) {
            Kind::Sasl
        } else {
            Kind::Nonza
        }
    }
}

/// One serialized element on its way out.
///
/// Cloning shares the text. The element itself is kept only where someone
/// needs it after serialization: always for SASL (the log names what it
/// redacts), and while an xmlOutput hook is set, for a transport that
/// shows the hook a whole wrapper (a BOSH `<body>` with its stanzas as
/// elements). It is moved in, never copied, and goes with the item.
#[derive(Debug, Clone)]
pub(crate) struct Outgoing {
    text: Arc<str>,
    kind: Kind,
    element: Option<Arc<Element>>,
}

impl Outgoing {
    /// Serializes `elem`: the one place its text is made and its kind decided.
    pub fn of(elem: &Element) -> Outgoing {
        let kind = Kind::of(elem);
        Outgoing {
            text: elem.to_xml().into(),
            kind,
            element: (kind == Kind::Sasl).then(|| Arc::new(elem.clone())),
        }
    }

    /// [`Outgoing::of`] for an element given up: kept in the item when
    /// `keep` (an xmlOutput hook is set), moved, not copied.
    pub fn of_owned(elem: Element, keep: bool) -> Outgoing {
        let kind = Kind::of(&elem);
        Outgoing {
            text: elem.to_xml().into(),
            kind,
            element: (keep || kind == Kind::Sasl).then(|| Arc::new(elem)),
        }
    }

    /// Text the application wrote (`send_raw`), sent as written. The rule
    /// for its kind: that of the one element it parses as (`elem`, which
    /// `send_raw` has already checked it is), decided here, once. The
    /// element is kept under the same terms as in [`Outgoing::of_owned`].
    pub fn raw(text: String, elem: Element, keep: bool) -> Outgoing {
        let kind = Kind::of(&elem);
        Outgoing {
            text: text.into(),
            kind,
            element: (keep || kind == Kind::Sasl).then(|| Arc::new(elem)),
        }
    }

    /// A stanza's text that stream management kept (sent again after a
    /// resumption, or handed to the unacked handler): a stanza by how it
    /// was kept.
    pub fn stanza(text: Arc<str>) -> Outgoing {
        Outgoing {
            text,
            kind: Kind::Stanza,
            element: None,
        }
    }

    pub fn text(&self) -> &str {
        &self.text
    }

    /// The text itself, shared, for whoever keeps it past the send.
    pub fn shared_text(&self) -> &Arc<str> {
        &self.text
    }

    pub fn kind(&self) -> Kind {
        self.kind
    }

    pub fn is_stanza(&self) -> bool {
        self.kind == Kind::Stanza
    }

    /// The element kept with the text, if one was (see the type's docs).
    pub fn element(&self) -> Option<&Element> {
        self.element.as_deref()
    }

    /// The element again, for whoever shows it (the unacked handler, the
    /// xmlOutput hook of a wrapping transport): the one kept, or, for text
    /// kept without it (a stanza stream management held, one queued
    /// before the hook was set), its text read back.
    pub fn to_element(&self) -> Option<Element> {
        match &self.element {
            Some(elem) => Some(Element::clone(elem)),
            None => parse_received(&self.text).ok(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::xml::{parse_element, Builder};

    #[test]
    fn the_kind_is_decided_on_the_element() {
        for (xml, kind) in [
            ("<message to='a'/>", Kind::Stanza),
            ("  <iq type='get'><ping/></iq>", Kind::Stanza),
            ("<presence/>", Kind::Stanza),
            (
                "<client:message xmlns:client='jabber:client'/>",
                Kind::Stanza,
            ),
            ("<r xmlns='urn:xmpp:sm:3'/>", Kind::Nonza),
            ("<messages/>", Kind::Nonza),
            ("<enable/>", Kind::Nonza),
            (
                "<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' mechanism='PLAIN'>AA==</auth>",
                Kind::Sasl,
            ),
            (
                "<s:response xmlns:s='urn:ietf:params:xml:ns:xmpp-sasl'>AA==</s:response>",
                Kind::Sasl,
            ),
        ] {
            let elem = parse_element(xml).unwrap();
            assert_eq!(Kind::of(&elem), kind, "{xml}");
            let raw = Outgoing::raw(xml.to_string(), elem, false);
            assert_eq!((raw.kind(), raw.text()), (kind, xml));
        }
        // Text that is no element never becomes an item at all.
        assert!(parse_element("text").is_err());
    }

    #[test]
    fn the_text_is_shared_and_the_element_kept_only_where_needed() {
        let msg = Builder::msg([("to", "a@b")]).build();
        let out = Outgoing::of(&msg);
        assert!(out.element().is_none());
        let copy = out.clone();
        assert!(Arc::ptr_eq(out.shared_text(), copy.shared_text()));
        assert_eq!(out.to_element().unwrap().to_xml(), msg.to_xml());
        let kept = Outgoing::of_owned(msg.clone(), true);
        assert_eq!(kept.element().map(Element::to_xml), Some(msg.to_xml()));
        let auth = Builder::new("auth", [("xmlns", ns::SASL)]).build();
        assert!(
            Outgoing::of(&auth).element().is_some(),
            "SASL keeps its name"
        );
    }
}
