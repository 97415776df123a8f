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

use super::{Engine, Phase};
use crate::handler::iq::PendingIq;
use crate::log::log_at;
use crate::mailbox::lock;
use crate::ping::{ping, pong_for};
use crate::status::Status;
use crate::xml::Element;
use std::time::{Duration, Instant};

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
                let sm = lock(&self.recovery.sm);
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
            self.iqs.forget(&id);
        }
    }

    /// An XEP-0199 ping to our server; its answer is ours, not the
    /// application's handlers'.
    fn send_ping(&mut self) -> String {
        let id = self.next_id("ping");
        let domain = self.login.creds.domain.clone();
        let ping = ping(&domain, &id);
        let pending = PendingIq {
            from: self.expected_from(Some(&domain)),
            on_result: None,
            on_error: None,
            deadline: None,
        };
        self.iqs.track(id.clone(), pending);
        self.write_now(&ping);
        id
    }

    /// The probe is over (answered, timed out, or its session gone).
    fn end_probe(&mut self) {
        if let Some(id) = self.liveness.probe.take().and_then(|p| p.ping_id) {
            self.iqs.forget(&id);
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
    /// service-unavailable.
    pub(super) fn answer_unhandled_iq(&mut self, iq: &Element) {
        match pong_for(iq) {
            Some(pong) => self.send_stanza(&pong),
            None => self.reply_unavailable(iq),
        }
    }
}
