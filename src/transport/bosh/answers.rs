//! Reading the server's answers: what an HTTP outcome does to the request
//! and the session, and what a body says (its attributes at session
//! creation, a terminate and its condition, the stanzas inside).

use super::client::{Answer, Outcome};
use super::{BoshTransport, Retry, State, POLL_DEFER};
use crate::status::Status;
use crate::transport::Incoming;
use crate::xml::ns;
use crate::xml::{Element, StreamEvent};
#[cfg(any(fuzzing, test))]
use crate::xml::{Limits, StreamParser};
#[cfg(any(fuzzing, test))]
use crate::{options::Options, transport::Transport};
use std::time::{Duration, Instant};

impl BoshTransport {
    pub(super) fn on_answer(&mut self, answer: Answer, out: &mut Vec<Incoming>) {
        if !self.requests.is_current(answer.rid, answer.attempt) {
            return; // about a request given up on or already sent again
        }
        let now = Instant::now();
        match answer.outcome {
            Outcome::Written => {
                self.requests.on_written(answer.rid, now);
                self.note_written(answer.rid);
            }
            Outcome::Reply(reply) if reply.status == 200 => {
                self.heard = Some(now);
                self.requests.on_answered(answer.rid);
                if self.requests.is_empty() {
                    // What the engine sends on this answer goes instead of a poll.
                    let soonest = now + POLL_DEFER;
                    self.poll_at = Some(self.poll_at.map_or(soonest, |t| t.max(soonest)));
                }
                for c in &reply.set_cookies {
                    self.jar.store(c);
                }
                self.on_body(&reply.body, out);
            }
            // A redirect is not followed (it would turn the POST into a
            // GET, or move the session elsewhere): like a client error,
            // sending the request again cannot help.
            Outcome::Reply(reply) if (300..500).contains(&reply.status) => {
                self.give_up(
                    out,
                    Status::ConnFail,
                    &format!("HTTP {}", reply.status),
                    Some(reply.status),
                );
            }
            Outcome::Reply(reply) => self.on_error(
                answer.rid,
                &format!("HTTP {}", reply.status),
                Some(reply.status),
                out,
            ),
            Outcome::Failed(e) if e.fatal => {
                self.give_up(out, Status::ConnFail, &e.message, None);
            }
            Outcome::Failed(e) => self.on_error(answer.rid, &e.message, None, out),
        }
    }

    fn on_error(&mut self, rid: u64, why: &str, code: Option<u16>, out: &mut Vec<Incoming>) {
        if let Some(code) = code {
            out.push(Incoming::ProtocolError { code });
        }
        let cap = self.primary_timeout();
        if self.requests.on_failed(rid, Instant::now(), cap) == Retry::GiveUp {
            self.give_up(
                out,
                Status::ConnTimeout,
                &format!("giving-up ({why})"),
                None,
            );
        }
    }

    fn give_up(
        &mut self,
        out: &mut Vec<Incoming>,
        status: Status,
        condition: &str,
        code: Option<u16>,
    ) {
        self.state = State::Closed;
        self.requests.clear();
        out.push(Incoming::Failed {
            status,
            condition: condition.to_string(),
            code,
        });
    }

    fn on_body(&mut self, text: &str, out: &mut Vec<Incoming>) {
        if self.raw_input {
            out.push(Incoming::Raw(text.to_string()));
        }
        self.parser.reset();
        let events = match self.parser.feed(text.as_bytes()) {
            Ok(events) if self.parser.buffered() == 0 => events,
            _ => {
                self.give_up(out, Status::ConnFail, "bad-format", None);
                return;
            }
        };
        if self.xml_in {
            // The hook sees the whole body, before its stanzas are handled:
            // built from what was just parsed, not parsed a second time.
            if let Some(body) = super::wrappers::received_wrapper(&events) {
                out.push(Incoming::XmlIn(body));
            }
        }
        // Strophe: a remote-stream-error terminate with a <conflict/> in it
        // (bare, or inside <stream:error>) is condition "conflict".
        let conflict = events
            .iter()
            .any(|e| matches!(e, StreamEvent::Stanza(s) if contains_conflict(s)));
        for event in events {
            match event {
                StreamEvent::Open(body) => {
                    if !self.on_body_attrs(&body, conflict, out) {
                        return;
                    }
                }
                StreamEvent::Stanza(mut stanza) => {
                    // A stanza that relied on the body's default namespace is jabber:client.
                    if stanza.attr("xmlns") == Some(ns::HTTPBIND) {
                        stanza.set_attr("xmlns", ns::CLIENT);
                    }
                    out.push(Incoming::Stream(StreamEvent::Stanza(stanza)));
                }
                StreamEvent::Close(_) => {}
            }
        }
    }

    /// Reads the body's attributes; false when the session ends here.
    /// `conflict`: the body holds a `<conflict/>` element.
    fn on_body_attrs(&mut self, body: &Element, conflict: bool, out: &mut Vec<Incoming>) -> bool {
        if body.local_name() != "body" || body.attr("xmlns") != Some(ns::HTTPBIND) {
            self.give_up(out, Status::ConnFail, "bad-format", None);
            return false;
        }
        if body.attr("type") == Some("terminate") {
            let condition = match body.attr("condition") {
                Some("remote-stream-error") if conflict => "conflict",
                Some(c) => c,
                None => "unknown",
            }
            .to_string();
            if self.state == State::Closed && self.sid.is_some() {
                // The answer to our own terminate.
                out.push(Incoming::Stream(StreamEvent::Close(None)));
            } else {
                self.give_up(out, Status::ConnFail, &condition, None);
            }
            self.sid = None;
            return false;
        }
        // An attached session that answers without terminating is alive;
        // said before the body's stanzas, which belong to it.
        if std::mem::take(&mut self.attaching) {
            out.push(Incoming::Alive);
        }
        if self.state == State::Creating {
            let Some(sid) = body.attr("sid") else {
                self.give_up(out, Status::ConnFail, "bad-format", None);
                return false;
            };
            self.sid = Some(sid.to_string());
            let number = |name: &str| body.attr(name).and_then(|v| v.parse::<u64>().ok());
            // XEP-0124 §7.1: the server's wait and hold are at most ours. A
            // server that claims more is held to what we asked for (an
            // unchecked u64::MAX overflowed the timeouts).
            if let Some(wait) = number("wait") {
                self.wait = wait.min(self.wait);
            }
            if let Some(hold) = number("hold") {
                self.hold = hold.min(self.hold);
            }
            let requests = number("requests").unwrap_or(self.hold + 1).clamp(1, 16);
            self.window = requests as usize;
            // A polling session (hold 0) answers at once: empty requests
            // must then be spaced by the server's `polling` seconds.
            if self.hold == 0 {
                self.polling = Some(Duration::from_secs(number("polling").unwrap_or(1).min(60)));
            }
            self.state = State::Open;
        }
        true
    }
}

/// The BOSH fuzz target's way in (see `crate::fuzzing`): `text` as the
/// answer that creates the session, then as an answer in an open session.
#[cfg(any(fuzzing, test))]
pub(crate) fn fuzz_body(text: &str, limits: Limits) {
    let url = "http://127.0.0.1/http-bind";
    let mut t = BoshTransport::new(url, &Options::default()).expect("a valid URL");
    t.parser = StreamParser::with_limits(limits);
    t.raw_input = true;
    t.set_xml_hooks(true, true);
    for state in [State::Creating, State::Open] {
        t.state = state;
        let mut out = Vec::new();
        t.on_body(text, &mut out);
        let failed = out.iter().any(|i| matches!(i, Incoming::Failed { .. }));
        assert!(!failed || t.state == State::Closed, "failed yet not closed");
        assert!(t.window >= 1, "an empty request window");
        let _ = t.primary_timeout();
    }
}

/// Whether `elem` is or holds a `<conflict/>` (Strophe looks it up by tag
/// name, at any depth). Iterative, so a deep body cannot exhaust the stack.
fn contains_conflict(elem: &Element) -> bool {
    let mut todo = vec![elem];
    while let Some(e) = todo.pop() {
        if e.name() == "conflict" {
            return true;
        }
        todo.extend(e.child_elements());
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_server_that_claims_a_longer_wait_or_hold_is_held_to_ours() {
        let options = Options::default();
        let mut t = BoshTransport::new("http://127.0.0.1/http-bind", &options).unwrap();
        let (asked_wait, asked_hold) = (t.wait, t.hold);
        t.state = State::Creating;
        let mut out = Vec::new();
        let huge = u64::MAX;
        t.on_body(
            &format!("<body xmlns='http://jabber.org/protocol/httpbind' sid='s1' wait='{huge}' hold='{huge}' requests='2'/>"),
            &mut out,
        );
        assert_eq!((t.wait, t.hold), (asked_wait, asked_hold));
        assert_eq!(
            t.primary_timeout(),
            Duration::from_secs((asked_wait as f64 * 1.1) as u64)
        );
        // A shorter wait is the server's right.
        let mut t = BoshTransport::new("http://127.0.0.1/http-bind", &options).unwrap();
        t.state = State::Creating;
        t.on_body(
            "<body xmlns='http://jabber.org/protocol/httpbind' sid='s2' wait='10' hold='1'/>",
            &mut out,
        );
        assert_eq!(t.wait, 10);
    }
}
