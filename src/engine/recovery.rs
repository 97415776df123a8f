//! Coming back after a lost link: reconnection with backoff (the
//! `reconnect` option), and XEP-0198 stream management — acks, resumption,
//! and telling the application which stanzas may not have arrived.

use super::{Arrival, Engine, Phase, XmlHook};
use crate::error::Error;
use crate::mailbox::lock;
use crate::options::TransportKind;
use crate::outgoing::Outgoing;
use crate::reconnect;
use crate::sm::StreamManagement;
use crate::status::Status;
use crate::xml::Element;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// How long a stanza may wait for an ack before an `<r/>` asks for one.
const ACK_WAIT: Duration = Duration::from_secs(1);

/// The texts stream management kept, as the stanzas they were sent as.
pub(super) fn stanzas(kept: Vec<Arc<str>>) -> Vec<Outgoing> {
    kept.into_iter().map(Outgoing::stanza).collect()
}

fn h_of(elem: &Element) -> Option<u32> {
    elem.attr("h").and_then(|h| h.trim().parse().ok())
}

/// What it takes to come back: stream management and reconnection.
pub(super) struct Recovery {
    /// XEP-0198 bookkeeping, shared with the Connection for export.
    pub sm: Arc<Mutex<StreamManagement>>,
    /// The server offered stream management on the current stream.
    pub sm_offered: bool,
    /// When to ask for an ack of stanzas still waiting for one.
    pub ack_deadline: Option<Instant>,
    /// Attempts made since the link was lost (None: not reconnecting).
    pub reconnecting: Option<u32>,
    pub reconnect_at: Option<Instant>,
    /// Stanzas the server had not acknowledged when we closed: possibly
    /// lost unless the server answers the close (then it had them all).
    pub unconfirmed: Vec<Outgoing>,
    /// Resumption failed this many stanzas that may not have arrived.
    pub unacked_lost: usize,
    /// Stanzas `resendUnacked` sends again on the new session.
    pub unacked_resent: usize,
    /// The server's reason for refusing resumption, for CONNECTED.
    pub resume_refused: Option<String>,
    /// Who hears of stanzas that may not have arrived.
    pub unacked_handler: Option<XmlHook>,
}

impl Recovery {
    pub fn new(sm: Arc<Mutex<StreamManagement>>) -> Recovery {
        Recovery {
            sm,
            sm_offered: false,
            ack_deadline: None,
            reconnecting: None,
            reconnect_at: None,
            unconfirmed: Vec::new(),
            unacked_lost: 0,
            unacked_resent: 0,
            resume_refused: None,
            unacked_handler: None,
        }
    }
}

impl Engine {
    pub(super) fn shared(&self) -> bool {
        matches!(self.kind, TransportKind::Shared { .. })
    }

    /// The link failed: with `reconnect` on, drop the transport, report
    /// RECONNECTING and try again after the backoff delay. True if it took
    /// over (also when the attempts are used up: then DISCONNECTED).
    pub(super) fn try_reconnect(&mut self, why: &str) -> bool {
        let live = self.phase == Phase::Connected || self.recovery.reconnecting.is_some();
        if !self.options.reconnect || !live || matches!(self.phase, Phase::Closing | Phase::Idle) {
            return false;
        }
        let attempt = self.recovery.reconnecting.map_or(1, |n| n + 1);
        self.generation += 1;
        if let Some(mut t) = self.transport.take() {
            t.abort();
        }
        self.login.sasl = None;
        self.connect_deadline = None;
        self.recovery.ack_deadline = None;
        if self.phase == Phase::Connected {
            self.handlers.session_changed(false);
        }
        if attempt > self.options.max_retries {
            // No session will take the unacknowledged stanzas any more.
            let lost = stanzas(lock(&self.recovery.sm).on_failed(None));
            let queued = std::mem::take(&mut self.outbox.queued);
            self.settle_unacked(lost.into_iter().chain(queued).collect(), false);
            let why = format!("reconnection failed after {} attempts: {why}", attempt - 1);
            self.finish(Some(&why));
            return true;
        }
        self.recovery.reconnecting = Some(attempt);
        self.set_phase(Phase::Reconnecting);
        let wait = reconnect::delay(
            attempt,
            self.options.reconnect_delay,
            self.options.reconnect_max_delay,
            reconnect::jitter(),
        );
        self.recovery.reconnect_at = Some(Instant::now() + wait);
        self.change_status(Status::Reconnecting, Some(why), None);
        true
    }

    /// The login timed out. A `<resume/>` never answered (Prosody 0.12
    /// crashes on resumption over BOSH) counts as refused: the next
    /// attempt binds a new session instead of asking again.
    pub(super) fn login_timed_out(&mut self) {
        if self.phase == Phase::Resuming {
            self.recovery.resume_refused = Some("no answer".into());
            self.forget_unresumable();
        }
    }

    pub(super) fn fire_recovery_timers(&mut self, now: Instant) {
        if self.recovery.reconnect_at.is_some_and(|d| d <= now) {
            self.recovery.reconnect_at = None;
            self.open_transport();
        }
        // Stream management lives on an authenticated stream only: an <r/>
        // on a new stream before login is refused (and ends resumption),
        // and one on a closing stream is pointless. The timer goes all the
        // same: left due, it would make every wait zero until the close.
        if self.recovery.ack_deadline.is_some_and(|d| d <= now) {
            self.recovery.ack_deadline = None;
            if self.phase != Phase::Connected {
                return;
            }
            let request = lock(&self.recovery.sm).request_if_due(true);
            if let Some(r) = request {
                self.write_now(r);
            }
        }
    }

    /// A stanza is out: keep it until acknowledged, and ask for acks now
    /// and then (every few stanzas, or after ACK_WAIT).
    pub(super) fn count_sent(&mut self, item: &Outgoing) {
        if self.phase != Phase::Connected {
            return;
        }
        let (request, waiting) = {
            let mut sm = lock(&self.recovery.sm);
            if !sm.enabled {
                return;
            }
            sm.sent(item);
            let request = sm.request_if_due(false);
            (request, !sm.unacked.is_empty() && !sm.request_pending)
        };
        if let Some(r) = request {
            self.write_now(r);
        } else if waiting && self.recovery.ack_deadline.is_none() {
            self.recovery.ack_deadline = Some(Instant::now() + ACK_WAIT);
        }
    }

    /// `<enable/>` after bind, when the server offers stream management.
    /// A shared session never enables it: its handles send independently
    /// and one handle's counters could not match the server's.
    pub(super) fn enable_sm(&mut self) {
        if !self.options.stream_management || !self.recovery.sm_offered || self.shared() {
            lock(&self.recovery.sm).disable();
            return;
        }
        let enable = lock(&self.recovery.sm).enable();
        self.write_now(enable);
    }

    /// After SASL on a new stream: `<resume/>` a resumable session.
    pub(super) fn try_resume(&mut self) -> bool {
        let possible = self.options.stream_management && self.recovery.sm_offered && !self.shared();
        let request = if possible {
            lock(&self.recovery.sm).resume_request()
        } else {
            None
        };
        let Some(request) = request else {
            self.forget_unresumable();
            return false;
        };
        self.set_phase(Phase::Resuming);
        self.write_now(request);
        true
    }

    /// A new session starts where the old one cannot be resumed (the link
    /// broke before the server's `<enabled/>`, or it refused resumption):
    /// its unacknowledged stanzas may be lost, and the application hears so.
    pub(super) fn forget_unresumable(&mut self) {
        let lost = stanzas(lock(&self.recovery.sm).on_failed(None));
        self.settle_unacked(lost, true);
    }

    /// Stanzas the old session may not have received: with `resendUnacked`
    /// and a new session to come, they go first on it, in order; else the
    /// application hears of each.
    fn settle_unacked(&mut self, lost: Vec<Outgoing>, new_session_follows: bool) {
        if self.options.resend_unacked && new_session_follows {
            self.recovery.unacked_resent += lost.len();
            let later = std::mem::replace(&mut self.outbox.queued, lost);
            self.outbox.queued.extend(later);
        } else {
            self.recovery.unacked_lost += lost.len();
            self.report_unacked(lost);
        }
    }

    /// A stream-management element from the server.
    pub(super) fn on_sm(&mut self, elem: &Element) {
        // Closing ends stream management (servers ack as they close).
        if self.phase == Phase::Closing {
            return;
        }
        match elem.local_name() {
            "enabled" => {
                let jid = self.login.creds.jid.clone();
                lock(&self.recovery.sm).on_enabled(elem, &jid);
            }
            // Only while stream management is on: not after the server
            // refused <enable/> (nor before it was asked for).
            "r" => {
                let answer = {
                    let sm = lock(&self.recovery.sm);
                    sm.enabled.then(|| sm.answer())
                };
                if let Some(answer) = answer {
                    self.write_now(answer);
                }
            }
            "a" => {
                let acked = match h_of(elem) {
                    Some(h) => lock(&self.recovery.sm).on_ack(h),
                    None => Err(Error::InvalidArgument("an ack without h".into())),
                };
                match acked {
                    Ok(()) => {
                        let waiting = !lock(&self.recovery.sm).unacked.is_empty();
                        self.recovery.ack_deadline = waiting.then(|| Instant::now() + ACK_WAIT);
                    }
                    Err(e) => self.server_lied(&e.to_string()),
                }
            }
            "resumed" if self.phase == Phase::Resuming => self.on_resumed(elem),
            "failed" if self.phase == Phase::Resuming => self.on_resume_failed(elem),
            // The server refused <enable/>: go on without.
            "failed" if self.phase == Phase::Connected => lock(&self.recovery.sm).disable(),
            _ => {}
        }
    }

    /// XEP-0198 §4: a count the server cannot have is the end of the stream.
    fn server_lied(&mut self, why: &str) {
        lock(&self.recovery.sm).disable();
        let why = format!("handled-count-too-high: {why}");
        self.change_status(Status::Error, Some(&why), None);
        self.finish(Some(&why));
    }

    fn on_resumed(&mut self, elem: &Element) {
        let Some(h) = h_of(elem) else {
            self.server_lied("<resumed/> without h");
            return;
        };
        let (again, jid) = {
            let mut sm = lock(&self.recovery.sm);
            (sm.on_resumed(h), sm.jid.clone())
        };
        let again = match again {
            Ok(again) => again,
            Err(e) => {
                self.server_lied(&e.to_string());
                return;
            }
        };
        if let Some(jid) = jid {
            self.set_jid(jid);
        }
        self.session_up(Arrival::Resumed { again });
    }

    /// The server forgot the session: report what may be lost, bind anew.
    fn on_resume_failed(&mut self, elem: &Element) {
        let why = elem
            .child_elements()
            .map(|c| c.local_name().to_string())
            .next()
            .unwrap_or_else(|| "undefined-condition".into());
        self.recovery.resume_refused = Some(why);
        let lost = stanzas(lock(&self.recovery.sm).on_failed(h_of(elem)));
        self.settle_unacked(lost, true);
        self.bind_or_wait();
    }

    /// The session is up again: send what waited, say how it came back.
    pub(super) fn back_online(&mut self, resumed: bool) -> Option<String> {
        let was_reconnecting = self.recovery.reconnecting.take().is_some();
        self.recovery.reconnect_at = None;
        self.publish(|s| s.resumed = resumed);
        self.send_waiting();
        let lost = std::mem::take(&mut self.recovery.unacked_lost);
        let resent = std::mem::take(&mut self.recovery.unacked_resent);
        let refused = self.recovery.resume_refused.take();
        if resumed {
            return Some("resumed".into());
        }
        let mut why = Vec::new();
        if let Some(refused) = refused {
            why.push(format!("resumption refused ({refused})"));
        }
        if lost > 0 {
            why.push(format!("{lost} stanzas may not have arrived"));
        }
        if resent > 0 {
            why.push(format!("{resent} stanzas sent again"));
        }
        match (why.is_empty(), was_reconnecting) {
            (true, false) => None,
            (true, true) => Some("new session".into()),
            (false, _) => Some(format!("new session: {}", why.join("; "))),
        }
    }

    /// Hands each stanza that may not have arrived to the application.
    pub(super) fn report_unacked(&mut self, stanzas: Vec<Outgoing>) {
        if stanzas.is_empty() {
            return;
        }
        let Some(conn) = self.handle() else { return };
        if let Some(handler) = self.recovery.unacked_handler.as_mut() {
            for elem in stanzas.iter().filter_map(Outgoing::to_element) {
                handler(&conn, &elem);
            }
        }
    }
}
