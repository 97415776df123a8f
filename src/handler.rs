//! Stanza handlers (Strophe's addHandler), timed handlers and the matching
//! rules; IQ tracking in `iq`. The tables live in the engine; adds and
//! deletes arrive as commands, so a change made during dispatch applies
//! from the next stanza.

// Handlers receive the connection: the one tie back up (see engine/mod.rs).
use crate::connection::Connection;
use crate::jid::{self, Jid, JidError};
use crate::xml::Element;
use std::time::{Duration, Instant};

pub(crate) mod iq;

/// Identifies a handler for `delete_handler` / `delete_timed_handler`.
pub type HandlerId = u64;

/// What a handler tells the engine after seeing a stanza.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Keep {
    /// Keep the handler for later stanzas.
    Keep,
    /// Remove the handler.
    Remove,
}

impl From<bool> for Keep {
    /// Strophe's convention: a truthy return keeps the handler.
    fn from(keep: bool) -> Keep {
        if keep {
            Keep::Keep
        } else {
            Keep::Remove
        }
    }
}

pub type StanzaFn = Box<dyn FnMut(&Connection, &Element) -> Keep + Send>;
pub type TimedFn = Box<dyn FnMut(&Connection) -> Keep + Send>;

/// Which stanzas a handler wants (Strophe's addHandler criteria). Every
/// criterion given must hold; one that is None or the empty string matches
/// everything, as in Strophe.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Matcher {
    /// The namespace (`xmlns`) of the stanza or of any element inside it.
    pub ns: Option<String>,
    /// The element name, exactly (`stream:features`, not `features`).
    pub name: Option<String>,
    /// One or several `type` values. Empty, or one empty string: any type.
    /// In a list of several, `""` stands for a stanza without a type.
    pub types: Vec<String>,
    /// The stanza's `id`, exactly.
    pub id: Option<String>,
    /// The sender (`from`), compared as a JID (RFC 7622 normalised).
    pub from: Option<String>,
    /// Compare `from` by bare JID.
    pub match_bare_from_jid: bool,
    /// Cut namespaces at `#` before comparing.
    pub ignore_namespace_fragment: bool,
}

/// A criterion that is absent or empty matches everything.
fn given(criterion: &Option<String>) -> Option<&str> {
    criterion.as_deref().filter(|c| !c.is_empty())
}

impl Matcher {
    /// A matcher that takes every stanza; narrow it with the setters.
    pub fn new() -> Matcher {
        Matcher::default()
    }

    /// Only stanzas with this namespace (on them or on a child).
    pub fn ns(mut self, ns: &str) -> Matcher {
        self.ns = Some(ns.to_string());
        self
    }

    /// Only elements with this name.
    pub fn name(mut self, name: &str) -> Matcher {
        self.name = Some(name.to_string());
        self
    }

    /// Adds a `type` value; called more than once, any of them matches
    /// (and `""` then matches a stanza without a type).
    pub fn type_(mut self, t: &str) -> Matcher {
        self.types.push(t.to_string());
        self
    }

    /// Only the stanza with this `id` (an answer to one sent).
    pub fn id(mut self, id: &str) -> Matcher {
        self.id = Some(id.to_string());
        self
    }

    /// Only stanzas from this JID.
    pub fn from(mut self, from: &str) -> Matcher {
        self.from = Some(from.to_string());
        self
    }

    fn namespace_of<'a>(&self, elem: &'a Element) -> Option<&'a str> {
        let ns = elem.attr("xmlns")?;
        Some(if self.ignore_namespace_fragment {
            ns.split('#').next().unwrap_or(ns)
        } else {
            ns
        })
    }

    /// Strophe's rule (since 3.1): the namespace of the element itself or
    /// of any element inside it, at any depth, matches.
    fn namespace_matches(&self, elem: &Element) -> bool {
        let Some(want) = given(&self.ns) else {
            return true;
        };
        // Iterative: a deep stanza must not be able to exhaust the stack.
        let mut todo = vec![elem];
        while let Some(e) = todo.pop() {
            if self.namespace_of(e) == Some(want) {
                return true;
            }
            todo.extend(e.child_elements());
        }
        false
    }

    fn type_matches(&self, elem: &Element) -> bool {
        match self.types.as_slice() {
            [] => true,
            [one] if one.is_empty() => true,
            [one] => elem.attr("type") == Some(one.as_str()),
            list => {
                let t = elem.attr("type").unwrap_or("");
                list.iter().any(|w| w == t)
            }
        }
    }

    fn sender_matches(&self, elem: &Element) -> bool {
        let Some(want) = given(&self.from) else {
            return true;
        };
        let Some(from) = elem.attr("from") else {
            return false;
        };
        // Compared normalised (RFC 7622): `Alice@LocalHost` is the
        // `alice@localhost` the server writes.
        if self.match_bare_from_jid {
            jid::same_account(from, want)
        } else {
            jid::same_address(from, want)
        }
    }

    /// A `from` criterion that no stanza could match is refused when the
    /// handler is added: it must be a valid JID.
    pub(crate) fn check(&self) -> Result<(), JidError> {
        given(&self.from).map_or(Ok(()), |want| Jid::parse(want).map(drop))
    }

    /// Whether `elem` meets every criterion given, as the engine decides
    /// before calling a handler.
    pub fn matches(&self, elem: &Element) -> bool {
        self.namespace_matches(elem)
            && given(&self.name).is_none_or(|n| elem.name() == n)
            && self.type_matches(elem)
            && given(&self.id).is_none_or(|id| elem.attr("id") == Some(id))
            && self.sender_matches(elem)
    }
}

pub(crate) struct Handler {
    pub id: HandlerId,
    pub matcher: Matcher,
    pub callback: StanzaFn,
}

pub(crate) struct TimedHandler {
    pub id: HandlerId,
    pub period: Duration,
    /// None until the session is up: timers start at CONNECTED.
    pub next: Option<Instant>,
    pub callback: TimedFn,
}

/// The handlers of one connection, in registration order.
#[derive(Default)]
pub(crate) struct Handlers {
    stanza: Vec<Handler>,
    timed: Vec<TimedHandler>,
}

impl Handlers {
    pub fn add(&mut self, h: Handler) {
        self.stanza.push(h);
    }

    pub fn delete(&mut self, id: HandlerId) {
        self.stanza.retain(|h| h.id != id);
    }

    pub fn add_timed(&mut self, mut t: TimedHandler, session_up: bool) {
        if session_up {
            t.next = Some(Instant::now() + t.period);
        }
        self.timed.push(t);
    }

    pub fn delete_timed(&mut self, id: HandlerId) {
        self.timed.retain(|t| t.id != id);
    }

    /// Runs every matching handler in registration order; returns whether
    /// any matched. Handlers that say Remove are dropped afterwards.
    pub fn dispatch(&mut self, conn: &Connection, elem: &Element) -> bool {
        let mut matched = false;
        self.stanza.retain_mut(|h| {
            if !h.matcher.matches(elem) {
                return true;
            }
            matched = true;
            (h.callback)(conn, elem) == Keep::Keep
        });
        matched
    }

    /// Starts (or stops) the clocks of the timed handlers.
    pub fn session_changed(&mut self, up: bool) {
        let now = Instant::now();
        for t in &mut self.timed {
            t.next = up.then(|| now + t.period);
        }
    }

    pub fn next_deadline(&self) -> Option<Instant> {
        self.timed.iter().filter_map(|t| t.next).min()
    }

    /// Fires the timed handlers that are due.
    pub fn fire_due(&mut self, conn: &Connection, now: Instant) {
        self.timed.retain_mut(|t| match t.next {
            Some(due) if due <= now => {
                let keep = (t.callback)(conn) == Keep::Keep;
                t.next = Some(now + t.period);
                keep
            }
            _ => true,
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::xml::parse_element;

    fn el(s: &str) -> Element {
        parse_element(s).unwrap()
    }

    #[test]
    fn matching_table() {
        let msg = el("<message xmlns='jabber:client' type='chat' id='m1' from='bob@localhost/phone'><body>x</body></message>");
        let iq = el("<iq xmlns='jabber:client' type='get' id='q1' from='localhost'><query xmlns='http://jabber.org/protocol/disco#info'/></iq>");
        let cases: Vec<(Matcher, bool, bool)> = vec![
            (Matcher::new(), true, true),
            (Matcher::new().name("message"), true, false),
            (Matcher::new().name("iq"), false, true),
            (Matcher::new().type_("chat"), true, false),
            (Matcher::new().type_("normal").type_("chat"), true, false),
            (Matcher::new().type_("get").type_("set"), false, true),
            (Matcher::new().id("m1"), true, false),
            (Matcher::new().id("nope"), false, false),
            (Matcher::new().from("bob@localhost/phone"), true, false),
            (Matcher::new().from("bob@localhost"), false, false),
            (
                Matcher {
                    match_bare_from_jid: true,
                    ..Matcher::new().from("bob@localhost/laptop")
                },
                true,
                false,
            ),
            (Matcher::new().ns("jabber:client"), true, true),
            // A child's namespace matches too.
            (
                Matcher::new().ns("http://jabber.org/protocol/disco#info"),
                false,
                true,
            ),
            (
                Matcher::new().ns("http://jabber.org/protocol/disco"),
                false,
                false,
            ),
            (
                Matcher {
                    ignore_namespace_fragment: true,
                    ..Matcher::new().ns("http://jabber.org/protocol/disco")
                },
                false,
                true,
            ),
            (
                Matcher::new().name("message").type_("chat").id("m1"),
                true,
                false,
            ),
            (
                Matcher::new().name("message").type_("groupchat"),
                false,
                false,
            ),
        ];
        for (i, (m, on_msg, on_iq)) in cases.iter().enumerate() {
            assert_eq!(m.matches(&msg), *on_msg, "case {i} on message: {m:?}");
            assert_eq!(m.matches(&iq), *on_iq, "case {i} on iq: {m:?}");
        }
    }

    /// Issue 14, item 9: Strophe (since 3.1) looks for the namespace at
    /// any depth, not only among the direct children.
    #[test]
    fn the_namespace_of_any_descendant_matches() {
        let error = el("<iq xmlns='jabber:client' type='error' id='e1'><error type='cancel'><item-not-found xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/></error></iq>");
        let stanzas = Matcher::new().ns("urn:ietf:params:xml:ns:xmpp-stanzas");
        assert!(stanzas.matches(&error));
        assert!(stanzas.clone().name("iq").type_("error").matches(&error));
        let deep = el("<message xmlns='jabber:client'><a><b><c><d xmlns='urn:x:deep#frag'/></c></b></a></message>");
        assert!(Matcher::new().ns("urn:x:deep#frag").matches(&deep));
        assert!(!Matcher::new().ns("urn:x:deep").matches(&deep));
        let cut = Matcher {
            ignore_namespace_fragment: true,
            ..Matcher::new().ns("urn:x:deep")
        };
        assert!(cut.matches(&deep));
        assert!(!Matcher::new().ns("urn:x:elsewhere").matches(&deep));
        // Depth is no problem (the parser's limit is far below this).
        let mut nested = Element::new("message");
        for _ in 0..2_000 {
            let mut outer = Element::new("x");
            outer.append_child(nested);
            nested = outer;
        }
        assert!(!Matcher::new().ns("urn:x:none").matches(&nested));
    }

    /// Issue 14, item 9: empty strings are wildcards, as None is (Strophe
    /// tests each criterion for truthiness); in a list of types, "" stands
    /// for a stanza without a type.
    #[test]
    fn empty_criteria_are_wildcards() {
        let msg =
            el("<message xmlns='jabber:client' type='chat' id='m1' from='bob@localhost/phone'/>");
        let untyped = el("<message xmlns='jabber:client' id='m2'/>");
        for m in [
            Matcher::new().ns(""),
            Matcher::new().name(""),
            Matcher::new().type_(""),
            Matcher::new().id(""),
            Matcher::new().from(""),
            Matcher {
                match_bare_from_jid: true,
                ..Matcher::new().from("")
            },
            Matcher::new().ns("").name("").type_("").id("").from(""),
        ] {
            assert!(m.matches(&msg), "{m:?}");
            assert!(m.matches(&untyped), "{m:?}");
        }
        let chat_or_none = Matcher::new().type_("chat").type_("");
        assert!(chat_or_none.matches(&msg));
        assert!(chat_or_none.matches(&untyped));
        let normal_or_none = Matcher::new().type_("normal").type_("");
        assert!(!normal_or_none.matches(&msg));
        assert!(normal_or_none.matches(&untyped));
        assert!(normal_or_none.matches(&el("<message xmlns='jabber:client' type=''/>")));
        assert!(!Matcher::new().type_("chat").matches(&untyped));
        assert!(!Matcher::new()
            .type_("chat")
            .type_("normal")
            .matches(&untyped));
    }

    /// Issue 20: `from` is compared as XMPP compares addresses (RFC 7622),
    /// in both modes; resources keep their case.
    #[test]
    fn from_is_compared_normalised() {
        let from = |jid: &str| el(&format!("<message xmlns='jabber:client' from='{jid}'/>"));
        let bare = |want: &str| Matcher {
            match_bare_from_jid: true,
            ..Matcher::new().from(want)
        };
        let cases: [(&str, &str, bool, bool); 9] = [
            // (criterion, stanza's from, full match, bare match)
            ("Alice@LocalHost", "alice@localhost", true, true),
            ("Alice@LocalHost", "alice@localhost/phone", false, true),
            ("alice@localhost/phone", "ALICE@LOCALHOST/phone", true, true),
            (
                "alice@localhost/Phone",
                "alice@localhost/phone",
                false,
                true,
            ),
            ("ａｌｉｃｅ@localhost", "alice@localhost", true, true),
            (
                "élise@bücher.example",
                "E\u{301}lise@xn--bcher-kva.example/r",
                false,
                true,
            ),
            ("alice@localhost", "bob@localhost", false, false),
            // A from that is no valid JID matches only itself, byte for byte.
            ("alice@localhost", "Alice b@localhost", false, false),
            ("a@x", "a@x/\u{2028}", false, true),
        ];
        for (want, sender, full, by_bare) in cases {
            let stanza = from(sender);
            assert_eq!(
                Matcher::new().from(want).matches(&stanza),
                full,
                "{want} vs {sender}"
            );
            assert_eq!(bare(want).matches(&stanza), by_bare, "{want} ~ {sender}");
        }
    }

    #[test]
    fn an_invalid_from_criterion_is_refused() {
        assert!(Matcher::new().from("Alice@LocalHost").check().is_ok());
        assert!(Matcher::new().from("").check().is_ok());
        assert!(Matcher::new().check().is_ok());
        for bad in [
            "alice b@localhost",
            "@localhost",
            "alice@",
            "a@b_c",
            "x/\u{7}",
        ] {
            assert!(Matcher::new().from(bad).check().is_err(), "{bad:?}");
            let by_bare = Matcher {
                match_bare_from_jid: true,
                ..Matcher::new().from(bad)
            };
            assert!(by_bare.check().is_err(), "{bad:?}");
        }
    }

    #[test]
    fn a_stanza_without_type_or_from_does_not_match_such_filters() {
        let bare = el("<presence xmlns='jabber:client'/>");
        assert!(!Matcher::new().type_("unavailable").matches(&bare));
        assert!(!Matcher::new().from("a@b").matches(&bare));
    }
}
