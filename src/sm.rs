//! XEP-0198 stream management (urn:xmpp:sm:3): the counters, the queue of
//! stanzas the server has not acknowledged, and the state a connection can
//! hand to another (also across a process restart) to resume its session.
//!
//! Only the bookkeeping lives here; the engine decides when to enable,
//! request acks and resume.

use crate::error::{Error, Result};
use crate::outgoing::{Kind, Outgoing};
use crate::xml::{ns, Builder, Element};
use base64::Engine as _;
use std::collections::VecDeque;
use std::sync::Arc;

/// Ask the server for an ack once this many stanzas wait for one.
pub(crate) const ACK_EVERY: usize = 10;

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StreamManagement {
    /// `<enable/>` was sent: outgoing stanzas are counted and kept.
    pub enabled: bool,
    /// The server's resumption id, when it agreed to resumption.
    pub id: Option<String>,
    /// The full JID of the session, to restore it on resumption.
    pub jid: Option<String>,
    /// Stanzas received since the server's `<enabled/>` (our `h`).
    pub inbound: u32,
    /// `<enabled/>` arrived: incoming stanzas count from now on.
    pub counting_inbound: bool,
    /// The last `h` the server acknowledged.
    pub acked: u32,
    /// Sent stanzas the server has not acknowledged yet, oldest first:
    /// the text that went out, shared with it, not a copy.
    pub unacked: VecDeque<Arc<str>>,
    /// An `<r/>` is out and its `<a/>` has not come back.
    pub request_pending: bool,
}

/// `<r/>`: the server answers it with an `<a/>` at once.
pub(crate) fn ack_request() -> Element {
    Builder::new("r", [("xmlns", ns::SM)]).build()
}

/// h values wrap at 2^32 (XEP-0198 §4).
fn distance(from: u32, to: u32) -> u32 {
    to.wrapping_sub(from)
}

impl StreamManagement {
    /// `<enable resume='true'/>`: counting starts afresh.
    pub fn enable(&mut self) -> Element {
        self.enabled = true;
        self.counting_inbound = false;
        self.inbound = 0;
        self.acked = 0;
        self.unacked.clear();
        self.request_pending = false;
        self.id = None;
        Builder::new("enable", [("xmlns", ns::SM), ("resume", "true")]).build()
    }

    /// The server's `<enabled/>`.
    pub fn on_enabled(&mut self, enabled: &Element, jid: &str) {
        self.counting_inbound = true;
        let resumable = matches!(enabled.attr("resume"), Some("true") | Some("1"));
        self.id = enabled.attr("id").filter(|_| resumable).map(str::to_string);
        self.jid = Some(jid.to_string());
    }

    /// Turns stream management off (the server refused it, or a new
    /// session starts without it).
    pub fn disable(&mut self) {
        *self = StreamManagement::default();
    }

    /// Whether a lost session can be resumed.
    pub fn resumable(&self) -> bool {
        self.enabled && self.id.is_some()
    }

    /// Something went out: keep it, if it is a stanza (its kind says so),
    /// until the server acknowledges it.
    pub(crate) fn sent(&mut self, item: &Outgoing) {
        if self.enabled && item.is_stanza() {
            self.unacked.push_back(Arc::clone(item.shared_text()));
        }
    }

    /// A stanza came in.
    pub fn received(&mut self) {
        if self.counting_inbound {
            self.inbound = self.inbound.wrapping_add(1);
        }
    }

    /// `<a h='…'/>` for the server's `<r/>`.
    pub fn answer(&self) -> Element {
        let h = self.inbound.to_string();
        Builder::new("a", [("xmlns", ns::SM), ("h", h.as_str())]).build()
    }

    /// `<r/>`, if one is due: enough stanzas wait and none is pending.
    pub fn request_if_due(&mut self, force: bool) -> Option<Element> {
        let due = self.enabled
            && !self.request_pending
            && !self.unacked.is_empty()
            && (force || self.unacked.len() >= ACK_EVERY);
        due.then(|| {
            self.request_pending = true;
            ack_request()
        })
    }

    /// The server handled `h` stanzas in all: forget those. An `h` beyond
    /// what was sent is the server's error, reported, not trusted.
    pub fn on_ack(&mut self, h: u32) -> Result<()> {
        self.request_pending = false;
        let newly = distance(self.acked, h) as usize;
        if newly > self.unacked.len() {
            return Err(Error::InvalidArgument(format!(
                "the server acknowledged {newly} stanzas, but only {} were sent",
                self.unacked.len()
            )));
        }
        self.unacked.drain(..newly);
        self.acked = h;
        Ok(())
    }

    /// `<resume previd h/>` for a new stream.
    pub fn resume_request(&self) -> Option<Element> {
        let id = self.id.as_deref()?;
        let h = self.inbound.to_string();
        Some(
            Builder::new(
                "resume",
                [("xmlns", ns::SM), ("previd", id), ("h", h.as_str())],
            )
            .build(),
        )
    }

    /// `<resumed h/>`: what the server had not received, to send again
    /// (in order; sending counts them again).
    pub fn on_resumed(&mut self, h: u32) -> Result<Vec<Arc<str>>> {
        self.on_ack(h)?;
        self.request_pending = false;
        Ok(self.unacked.drain(..).collect())
    }

    /// Resumption failed: the stanzas that may not have arrived. With an
    /// `h` on the `<failed/>`, those the server did handle are left out.
    pub fn on_failed(&mut self, h: Option<u32>) -> Vec<Arc<str>> {
        if let Some(h) = h {
            let _ = self.on_ack(h);
        }
        let lost = self.unacked.drain(..).collect();
        self.disable();
        lost
    }

    /// The state as text, for `from_bytes` in another connection or process.
    pub fn to_bytes(&self) -> Vec<u8> {
        let b64 = |s: &str| base64::engine::general_purpose::STANDARD.encode(s);
        let mut out = String::from("epode-sm 1\n");
        if let Some(id) = &self.id {
            out.push_str(&format!("id {}\n", b64(id)));
        }
        if let Some(jid) = &self.jid {
            out.push_str(&format!("jid {}\n", b64(jid)));
        }
        out.push_str(&format!("inbound {}\nacked {}\n", self.inbound, self.acked));
        for stanza in &self.unacked {
            out.push_str(&format!("unacked {}\n", b64(stanza)));
        }
        out.into_bytes()
    }

    /// Reads what `to_bytes` wrote. Anything else is refused whole.
    pub fn from_bytes(bytes: &[u8]) -> Result<StreamManagement> {
        let bad = |why: &str| Error::InvalidArgument(format!("stream management state: {why}"));
        let text = std::str::from_utf8(bytes).map_err(|_| bad("not UTF-8"))?;
        let mut lines = text.lines();
        if lines.next() != Some("epode-sm 1") {
            return Err(bad("not an epode-sm 1 state"));
        }
        let unb64 = |v: &str| -> Result<String> {
            let raw = base64::engine::general_purpose::STANDARD
                .decode(v)
                .map_err(|_| bad("bad base64"))?;
            String::from_utf8(raw).map_err(|_| bad("not UTF-8"))
        };
        let mut sm = StreamManagement {
            enabled: true,
            counting_inbound: true,
            ..StreamManagement::default()
        };
        for line in lines {
            let (key, value) = line.split_once(' ').ok_or_else(|| bad(line))?;
            match key {
                "id" => sm.id = Some(unb64(value)?),
                "jid" => sm.jid = Some(unb64(value)?),
                "inbound" => sm.inbound = value.parse().map_err(|_| bad(line))?,
                "acked" => sm.acked = value.parse().map_err(|_| bad(line))?,
                "unacked" => {
                    let stanza = unb64(value)?;
                    let parsed = crate::xml::parse_element(&stanza);
                    if !parsed.is_ok_and(|e| Kind::of(&e) == Kind::Stanza) {
                        return Err(bad("an unacknowledged entry is not a stanza"));
                    }
                    sm.unacked.push_back(stanza.into())
                }
                _ => return Err(bad(line)),
            }
        }
        if sm.id.is_none() {
            return Err(bad("no resumption id"));
        }
        Ok(sm)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `xml` goes out, typed as `send_raw` types it.
    fn send(sm: &mut StreamManagement, xml: &str) {
        let elem = crate::xml::parse_element(xml).unwrap();
        sm.sent(&Outgoing::raw(xml.to_string(), elem, false));
    }

    fn enabled(id: &str) -> StreamManagement {
        let mut sm = StreamManagement::default();
        sm.enable();
        let e = Builder::new(
            "enabled",
            [("xmlns", ns::SM), ("id", id), ("resume", "true")],
        )
        .build();
        sm.on_enabled(&e, "a@b/r");
        sm
    }

    #[test]
    fn acks_trim_the_queue_and_resumption_resends_the_rest() {
        let mut sm = enabled("abc");
        for n in 0..5 {
            send(&mut sm, &format!("<message><body>{n}</body></message>"));
        }
        send(&mut sm, "<r xmlns='urn:xmpp:sm:3'/>"); // a nonza is not kept
        assert_eq!(sm.unacked.len(), 5);
        sm.on_ack(2).unwrap();
        assert_eq!(sm.unacked.len(), 3);
        assert!(sm.on_ack(9).is_err(), "more acks than stanzas");
        let again = sm.on_resumed(3).unwrap();
        assert_eq!(again.len(), 2);
        assert!(again[0].contains("<body>3</body>"));
        assert!(sm.unacked.is_empty());
        assert_eq!(sm.acked, 3);
    }

    #[test]
    fn counters_wrap_at_two_to_the_32() {
        let mut sm = enabled("x");
        sm.acked = u32::MAX - 1;
        for _ in 0..4 {
            send(&mut sm, "<message/>");
        }
        sm.on_ack(1).unwrap(); // MAX-1 → 1 is three stanzas
        assert_eq!(sm.unacked.len(), 1);
        sm.inbound = u32::MAX;
        sm.received();
        assert_eq!(sm.inbound, 0);
    }

    #[test]
    fn requests_wait_for_enough_stanzas_and_one_at_a_time() {
        let mut sm = enabled("x");
        send(&mut sm, "<message/>");
        assert!(sm.request_if_due(false).is_none());
        assert!(sm.request_if_due(true).is_some());
        assert!(sm.request_if_due(true).is_none(), "one outstanding");
        sm.on_ack(1).unwrap();
        for _ in 0..ACK_EVERY {
            send(&mut sm, "<message/>");
        }
        assert!(sm.request_if_due(false).is_some());
    }

    #[test]
    fn failed_resumption_reports_what_may_be_lost() {
        let mut sm = enabled("x");
        for n in 0..4 {
            send(&mut sm, &format!("<message><body>{n}</body></message>"));
        }
        let lost = sm.on_failed(Some(1));
        assert_eq!(lost.len(), 3);
        assert!(lost[0].contains("<body>1</body>"));
        assert!(!sm.resumable());
    }

    #[test]
    fn the_state_round_trips_and_garbage_is_refused() {
        let mut sm = enabled("id with spaces");
        send(&mut sm, "<message to='x'><body>é</body></message>");
        sm.received();
        let back = StreamManagement::from_bytes(&sm.to_bytes()).unwrap();
        assert_eq!(back.id, sm.id);
        assert_eq!(back.jid.as_deref(), Some("a@b/r"));
        assert_eq!(back.inbound, 1);
        assert_eq!(back.unacked, sm.unacked);
        assert!(back.resumable());
        for bad in [
            &b"nonsense"[..],
            b"epode-sm 1\ninbound x\n",
            b"epode-sm 1\nid YQ==\nunacked PHIvPg==\n", // <r/> is no stanza
            b"epode-sm 1\nacked 1\n",                   // no id
            b"epode-sm 1\nid \xff\n",
        ] {
            assert!(StreamManagement::from_bytes(bad).is_err(), "{bad:?}");
        }
    }
}
