//! The end of a session: `disconnect()` (DISCONNECTING, our close, then
//! the server's or CONNTIMEOUT), the last ack and unavailable presence,
//! and `finish`, the one place that reports DISCONNECTED.

use super::recovery::stanzas;
use super::{Engine, Phase};
use crate::mailbox::lock;
use crate::status::Status;
use crate::xml::Builder;
use std::time::Instant;

impl Engine {
    pub(super) fn disconnect(&mut self, reason: Option<String>) {
        match self.phase {
            // Strophe, without a connection: DISCONNECTING, then
            // DISCONNECTED at once (to the last status callback, if any).
            Phase::Idle => {
                self.change_status(Status::Disconnecting, reason.as_deref(), None);
                self.change_status(Status::Disconnected, None, None);
            }
            Phase::Closing => {}
            _ => {
                self.change_status(Status::Disconnecting, reason.as_deref(), None);
                self.begin_close();
            }
        }
    }

    /// Sends our close and waits for the server's, up to disconnection_timeout.
    pub(super) fn begin_close(&mut self) {
        let connected = self.phase == Phase::Connected;
        if connected {
            self.final_ack();
        }
        // A session we end cannot be resumed. What the server has not
        // acknowledged counts as received only once it answers our close.
        self.recovery.unconfirmed = stanzas(lock(&self.recovery.sm).on_failed(None));
        if connected {
            self.say_unavailable();
        }
        self.set_phase(Phase::Closing);
        self.connect_deadline = None;
        self.close_deadline = Some(Instant::now() + self.options.disconnection_timeout);
        let closed = self.transport.as_mut().map(|t| t.close());
        if !matches!(closed, Some(Ok(()))) {
            self.finish(None);
        }
    }

    /// A last <a/> before the end, as Strophe sends: a server that thinks
    /// some of its stanzas unhandled gives them to the next session.
    pub(super) fn final_ack(&mut self) {
        let ack = {
            let sm = lock(&self.recovery.sm);
            sm.enabled.then(|| sm.answer())
        };
        if let Some(ack) = ack {
            self.write_now(ack);
        }
    }

    /// Going away: contacts should not see us online until the server
    /// notices.
    pub(super) fn say_unavailable(&mut self) {
        let unavailable = Builder::pres([("type", "unavailable")]).build();
        self.write_now(unavailable);
    }

    /// Reports a failure status, drops the transport and ends in DISCONNECTED.
    pub(super) fn fail(&mut self, status: Status, condition: &str) {
        if self.try_reconnect(condition) {
            return;
        }
        self.change_status(status, Some(condition), None);
        self.finish(Some(condition));
    }

    /// Ends the session: transport gone, DISCONNECTED reported once.
    pub(super) fn finish(&mut self, condition: Option<&str>) {
        self.generation += 1;
        if let Some(mut t) = self.transport.take() {
            t.keepalive(None);
            t.abort();
        }
        let was_up = self.phase == Phase::Connected;
        self.connect_deadline = None;
        self.close_deadline = None;
        self.login.sasl = None;
        self.recovery.ack_deadline = None;
        self.recovery.reconnecting = None;
        self.recovery.reconnect_at = None;
        self.recovery.unacked_lost = 0;
        self.recovery.unacked_resent = 0;
        self.recovery.resume_refused = None;
        let unconfirmed = std::mem::take(&mut self.recovery.unconfirmed);
        self.report_unacked(unconfirmed);
        let queued = std::mem::take(&mut self.outbox.queued);
        self.report_unacked(queued);
        self.set_phase(Phase::Idle);
        if was_up {
            self.handlers.session_changed(false);
        }
        // Pending IQs will never be answered now: tell their owners.
        self.iqs.fail_all(self.handle().as_ref());
        self.change_status(Status::Disconnected, condition, None);
    }
}
