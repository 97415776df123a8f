//! Noticing a link that died in silence (a NAT mapping expired, a laptop
//! slept, a middlebox dropped its state): no FIN, no RST, only nothing.
//! After `pingInterval` with nothing received, the engine asks the server
//! for a sign of life — an XEP-0198 `<r/>` when stream management is on,
//! else an XEP-0199 ping — and a link that stays silent `pingTimeout`
//! longer is lost: RECONNECTING with `reconnect`, else ERROR, DISCONNECTED.
//!
//! Anything the server sends is a sign of life, so a busy session never
//! sends a probe, and the check's deadline is the engine's only timer
//! while idle: it wakes once per interval at most.
//!
//! Also here: answering the server's (or another client's) XEP-0199 pings.

use super::{Engine, PendingIq, Phase, NS_STANZAS};
use crate::log::log_at;
use crate::mailbox::lock;
use crate::status::Status;
use crate::xml::{Builder, Element};
use std::time::{Duration, Instant};

pub const NS_PING: &str = "urn:xmpp:ping";

/// The liveness check of the current session.
#[derive(Default)]
pub(super) struct Liveness {
    /// When the watched session came up (None: nothing to watch).
    since: Option<Instant>,
    /// The probe that is out, if one is.
    probe: Option<Probe>,
}

struct Probe {
    sent: Instant,
    /// The id of the ping IQ, when the probe is one.
    ping_id: Option<String>,
}

/// Whether `stanza` is an XEP-0199 ping addressed to us.
fn is_ping(stanza: &Element) -> bool {
    stanza.name() == "iq"
        && stanza.attr("type") == Some("get")
        && stanza.find_child("ping", Some(NS_PING)).is_some()
}

/// The `result` that answers a ping, or None if `stanza` is no ping.
pub(crate) fn pong_for(stanza: &Element) -> Option<Element> {
    if !is_ping(stanza) {
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

impl Engine {
    /// The session's phase changed: watch it while one is up.
    pub(super) fn liveness_phase(&mut self, phase: Phase) {
        let watched = matches!(phase, Phase::Connected | Phase::BindRequired);
        if !watched {
            self.end_probe();
            self.liveness.since = None;
        } else if self.liveness.since.is_none() {
            self.liveness.since = Some(Instant::now());
        }
    }

    /// How long the session may hear nothing before a probe, if watched.
    /// A shared session's socket belongs to its manager, which has its own
    /// keepalive: a handle probing it would not know what it proves.
    fn idle_limit(&self) -> Option<Duration> {
        let interval = self.options.ping_interval;
        if interval.is_zero() || self.shared() {
            return None;
        }
        let allowed = self.transport.as_ref()?.silence_allowed();
        Some(interval.max(allowed))
    }

    /// The last sign of life: the last input, or the session's start.
    fn last_sign_of_life(&self) -> Option<Instant> {
        let since = self.liveness.since?;
        let heard = self.transport.as_ref().and_then(|t| t.last_heard());
        Some(heard.map_or(since, |h| h.max(since)))
    }

    /// When the check next has something to do.
    pub(super) fn liveness_deadline(&self) -> Option<Instant> {
        let limit = self.idle_limit()?;
        let last = self.last_sign_of_life()?;
        Some(match &self.liveness.probe {
            Some(p) if last <= p.sent => p.sent + self.options.ping_timeout,
            _ => last + limit,
        })
    }

    pub(super) fn check_liveness(&mut self, now: Instant) {
        let (Some(limit), Some(last)) = (self.idle_limit(), self.last_sign_of_life()) else {
            return;
        };
        if let Some(sent) = self.liveness.probe.as_ref().map(|p| p.sent) {
            if last <= sent {
                if now >= sent + self.options.ping_timeout {
                    let silent = now.saturating_duration_since(last).as_secs_f64();
                    self.end_probe();
                    self.link_silent(&format!(
                        "ping-timeout: nothing heard from the server for {silent:.1} s"
                    ));
                }
                return;
            }
            self.end_probe();
        }
        if now >= last + limit {
            self.send_probe(now);
        }
    }

    /// Asks for a sign of life in the cheapest way the session allows.
    fn send_probe(&mut self, now: Instant) {
        let mut ping_id = None;
        if self.phase == Phase::Connected {
            let sm_on = {
                let sm = lock(&self.sm);
                sm.enabled && sm.counting_inbound
            };
            if sm_on {
                self.write_now(&crate::sm::ack_request());
            } else {
                ping_id = Some(self.send_ping());
            }
        } else {
            // Before bind no stanza may go: a WebSocket ping frame can.
            let framed = self.transport.as_mut().map(|t| t.ping_frame());
            match framed {
                Some(Ok(true)) => {}
                Some(Err(e)) => return self.on_transport_error(e),
                // No probe possible: look again an interval later.
                _ => {
                    self.liveness.since = Some(now);
                    return;
                }
            }
        }
        let probe = Probe { sent: now, ping_id };
        // A write that failed has ended the session already.
        if self.liveness.since.is_some() {
            self.liveness.probe = Some(probe);
        } else if let Some(id) = probe.ping_id {
            self.iqs.remove(&id);
        }
    }

    /// An XEP-0199 ping to our server; its answer is ours, not the
    /// application's handlers'.
    fn send_ping(&mut self) -> String {
        let id = self.next_id("ping");
        let domain = self.creds.domain.clone();
        let ping = Builder::iq([
            ("type", "get"),
            ("to", domain.as_str()),
            ("id", id.as_str()),
        ])
        .c("ping", [("xmlns", NS_PING)])
        .build();
        let pending = PendingIq {
            from: self.expected_from(Some(&domain)),
            on_result: None,
            on_error: None,
            deadline: None,
        };
        self.iqs.insert(id.clone(), pending);
        self.write_now(&ping);
        id
    }

    /// The probe is over (answered, timed out, or its session gone).
    fn end_probe(&mut self) {
        if let Some(id) = self.liveness.probe.take().and_then(|p| p.ping_id) {
            self.iqs.remove(&id);
        }
    }

    /// The link is dead though nothing said so: like any lost link.
    fn link_silent(&mut self, why: &str) {
        log_at!(self.log, Warn, "{why}");
        if !self.try_reconnect(why) {
            self.change_status(Status::Error, Some(why), None);
            self.finish(Some(why));
        }
    }

    /// An IQ no handler took: a ping gets its result, anything else
    /// service-unavailable (RFC 6120 §8.4).
    pub(super) fn answer_unhandled_iq(&mut self, iq: &Element) {
        if let Some(pong) = pong_for(iq) {
            self.send_stanza(&pong);
            return;
        }
        let mut attrs = vec![("type", "error".to_string())];
        if let Some(id) = iq.attr("id") {
            attrs.push(("id", id.to_string()));
        }
        if let Some(from) = iq.attr("from") {
            attrs.push(("to", from.to_string()));
        }
        let reply = Builder::iq(attrs.iter().map(|(k, v)| (*k, v.as_str())))
            .c("error", [("type", "cancel")])
            .c("service-unavailable", [("xmlns", NS_STANZAS)])
            .build();
        self.send_stanza(&reply);
    }
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
        let pong = pong_for(&ping).unwrap();
        assert_eq!(
            pong.to_xml(),
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
}
