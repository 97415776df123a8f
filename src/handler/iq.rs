//! IQ tracking: a `sendIQ` (or `sendPresence`) waits for its answer with
//! an optional deadline, and only an answer from the address it was sent
//! to counts (a spoofed reply is not delivered). The engine owns the
//! table; nothing here knows the engine.

// Handlers receive the connection: the one tie back up (see engine/mod.rs).
use crate::connection::Connection;
use crate::jid;
use crate::xml::Element;
use std::collections::HashMap;
use std::time::Instant;

/// A `sendIQ` callback: the answer, or None when none will come (timeout,
/// end of the session).
pub type IqFn = Box<dyn FnOnce(&Connection, Option<&Element>) + Send>;

/// An IQ (or presence) waiting for its answer.
pub(crate) struct PendingIq {
    /// Senders whose answer counts.
    pub from: Vec<Option<String>>,
    pub on_result: Option<IqFn>,
    pub on_error: Option<IqFn>,
    pub deadline: Option<Instant>,
}

/// The stanzas waiting for an answer, by id.
#[derive(Default)]
pub(crate) struct IqTracker {
    pending: HashMap<String, PendingIq>,
}

/// Who may answer an IQ sent to `to`: that address (or, for a bare one,
/// any of its resources).
pub(crate) fn answered_by(to: &str) -> Vec<Option<String>> {
    vec![Some(to.to_string())]
}

/// Who may answer an IQ sent without a `to`: our account (`me`, bare or
/// full) or its server (`domain`), or a reply without a `from`.
pub(crate) fn answered_by_us(me: &str, domain: &str) -> Vec<Option<String>> {
    vec![
        None,
        Some(jid::bare(me).to_string()),
        Some(me.to_string()),
        Some(domain.to_string()),
    ]
}

impl IqTracker {
    pub fn track(&mut self, id: String, pending: PendingIq) {
        self.pending.insert(id, pending);
    }

    /// Stops waiting for `id`, without telling anyone.
    pub fn forget(&mut self, id: &str) {
        self.pending.remove(id);
    }

    pub fn is_empty(&self) -> bool {
        self.pending.is_empty()
    }

    pub fn clear(&mut self) {
        self.pending.clear();
    }

    pub fn next_deadline(&self) -> Option<Instant> {
        self.pending.values().filter_map(|p| p.deadline).min()
    }

    /// Those whose deadline has passed get their error callback (no answer).
    pub fn expire(&mut self, conn: &Connection, now: Instant) {
        let expired: Vec<String> = self
            .pending
            .iter()
            .filter(|(_, p)| p.deadline.is_some_and(|d| d <= now))
            .map(|(id, _)| id.clone())
            .collect();
        for id in expired {
            if let Some(f) = self.pending.remove(&id).and_then(|p| p.on_error) {
                f(conn, None);
            }
        }
    }

    /// None will be answered now (the session ended): each owner hears so,
    /// if there is still a connection to tell.
    pub fn fail_all(&mut self, conn: Option<&Connection>) {
        let pending: Vec<_> = self.pending.drain().collect();
        if let Some(conn) = conn {
            for (_, iq) in pending {
                if let Some(f) = iq.on_error {
                    f(conn, None);
                }
            }
        }
    }

    /// Delivers an answer to its callbacks; false if it answers none of ours.
    pub fn answer(&mut self, conn: &Connection, iq: &Element) -> bool {
        let Some(id) = iq.attr("id") else {
            return false;
        };
        let from = iq.attr("from");
        let matches = self.pending.get(id).is_some_and(|p| {
            p.from.iter().any(|want| match (want, from) {
                (None, None) => true,
                // Compared normalised: the server may write the address
                // otherwise than the `to` we sent (case, width, IDN form).
                (Some(w), Some(f)) => {
                    jid::same_address(w, f)
                        || (jid::resource(w).is_none() && jid::same_account(f, w))
                }
                _ => false,
            })
        });
        if !matches {
            return false;
        }
        let Some(pending) = self.pending.remove(id) else {
            return false;
        };
        let callback = if iq.attr("type") != Some("error") {
            pending.on_result
        } else {
            pending.on_error
        };
        if let Some(f) = callback {
            f(conn, Some(iq));
        }
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn waiting(from: Vec<Option<String>>) -> IqTracker {
        let mut t = IqTracker::default();
        let pending = PendingIq {
            from,
            on_result: None,
            on_error: None,
            deadline: None,
        };
        t.track("1:sendIQ".into(), pending);
        t
    }

    #[test]
    fn who_may_answer() {
        assert_eq!(answered_by("bob@x/r"), vec![Some("bob@x/r".to_string())]);
        assert_eq!(
            answered_by_us("a@x/me", "x"),
            vec![
                None,
                Some("a@x".to_string()),
                Some("a@x/me".to_string()),
                Some("x".to_string())
            ]
        );
    }

    #[test]
    fn deadlines() {
        let mut t = waiting(vec![None]);
        assert_eq!(t.next_deadline(), None);
        let at = Instant::now();
        let pending = PendingIq {
            from: vec![None],
            on_result: None,
            on_error: None,
            deadline: Some(at),
        };
        t.track("2:sendIQ".into(), pending);
        assert_eq!(t.next_deadline(), Some(at));
        t.forget("2:sendIQ");
        assert_eq!(t.next_deadline(), None);
        assert!(!t.is_empty());
        t.clear();
        assert!(t.is_empty());
    }
}
