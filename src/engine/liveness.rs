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
use crate::liveness::{Verdict, Watch};
use crate::log::log_at;
use crate::mailbox::lock;
use crate::ping::{ping, pong_for};
use crate::status::Status;
use crate::xml::Element;
use std::time::{Duration, Instant};

/// The liveness check of the current session: its timing, and the id of
/// the ping IQ when the probe out is one.
#[derive(Default)]
pub(super) struct Liveness {
    watch: Watch,
    ping_id: Option<String>,
}

impl Engine {
    /// The session's phase changed: watch it while one is up.
    pub(super) fn liveness_phase(&mut self, phase: Phase) {
        if matches!(phase, Phase::Connected | Phase::BindRequired) {
            self.liveness.watch.start(Instant::now());
        } else {
            self.liveness.watch.stop();
            self.forget_ping();
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

    fn last_heard(&self) -> Option<Instant> {
        self.transport.as_ref().and_then(|t| t.last_heard())
    }

    /// When the check next has something to do.
    pub(super) fn liveness_deadline(&self) -> Option<Instant> {
        let limit = self.idle_limit()?;
        let timeout = self.options.ping_timeout;
        self.liveness
            .watch
            .deadline(limit, timeout, self.last_heard())
    }

    pub(super) fn check_liveness(&mut self, now: Instant) {
        let Some(limit) = self.idle_limit() else {
            return;
        };
        let (timeout, heard) = (self.options.ping_timeout, self.last_heard());
        let verdict = self.liveness.watch.check(now, limit, timeout, heard);
        // An answered (or abandoned) ping is not ours to wait for any more.
        if !self.liveness.watch.probing() {
            self.forget_ping();
        }
        match verdict {
            Verdict::Nothing => {}
            Verdict::Probe => self.send_probe(now),
            Verdict::Dead(why) => self.link_silent(&why),
        }
    }

    /// Asks for a sign of life in the cheapest way the session allows.
    fn send_probe(&mut self, now: Instant) {
        if self.phase == Phase::Connected {
            let sm_on = {
                let sm = lock(&self.recovery.sm);
                sm.enabled && sm.counting_inbound
            };
            if sm_on {
                self.write_now(crate::sm::ack_request());
            } else {
                let id = self.send_ping();
                self.liveness.ping_id = Some(id);
            }
        } else {
            // Before bind no stanza may go: a WebSocket ping frame can.
            let framed = self.transport.as_mut().map(|t| t.ping_frame());
            match framed {
                Some(Ok(true)) => {}
                Some(Err(e)) => return self.on_transport_error(e),
                // No probe possible: look again an interval later.
                _ => self.liveness.watch.restart(now),
            }
        }
        // A write that failed has ended the session already.
        if !self.liveness.watch.probing() {
            self.forget_ping();
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
        self.write_now(ping);
        id
    }

    /// The probe is over (answered, timed out, or its session gone).
    fn forget_ping(&mut self) {
        if let Some(id) = self.liveness.ping_id.take() {
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
            Some(pong) => self.send_stanza(pong),
            None => self.reply_unavailable(iq),
        }
    }
}
