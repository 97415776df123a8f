//! What the transport reports: stream events and stanzas (by phase: to
//! negotiation, stream management or the handlers), the server's close
//! and stream errors, a lost link and transport errors, each ending in the
//! status Strophe gives it.

use super::{Arrival, Engine, Phase};
use crate::error::Error;
use crate::jid;
use crate::log::log_at;
use crate::mailbox::lock;
use crate::options::TransportKind;
use crate::status::Status;
use crate::transport::Incoming;
use crate::xml::ns;
use crate::xml::{Builder, Element, StreamEvent};

impl Engine {
    pub(super) fn on_incoming(&mut self, event: Incoming) {
        match event {
            Incoming::Raw(text) => self.call_raw_input(&text),
            Incoming::RawOut(text) => self.call_raw_output(&text),
            Incoming::Stream(event) => self.on_stream_event(event),
            Incoming::Lost { code, reason } => self.on_lost(code, &reason),
            Incoming::ProtocolError { code } => self.protocol_error("http", code),
            Incoming::XmlIn(body) => self.xml_input_hook(&body),
            Incoming::XmlOut(body) => self.call_xml_output(&body),
            // The prebound session answered: it is ours.
            Incoming::Alive => {
                if self.phase == Phase::Attaching {
                    self.session_up(Arrival::Attached);
                }
            }
            Incoming::Closed { reason } => match self.phase {
                Phase::Idle => {}
                Phase::Closing => {
                    self.recovery.unconfirmed.clear();
                    self.finish(None)
                }
                _ => self.finish(Some(&reason)),
            },
            Incoming::Attached { jid } => {
                // Another handle's session is up and this one now shares it.
                if matches!(self.phase, Phase::Attaching | Phase::Negotiating) {
                    let (authzid, domain) =
                        (jid::bare(&jid).to_string(), jid::domain(&jid).to_string());
                    self.publish(|s| {
                        s.authzid = authzid;
                        s.domain = domain;
                    });
                    self.set_jid(jid);
                    self.session_up(Arrival::Attached);
                }
            }
            Incoming::Failed {
                status,
                condition,
                code,
            } => {
                if let Some(code) = code {
                    self.protocol_error("http", code);
                }
                if self.phase == Phase::Idle {
                    return;
                }
                if self.phase == Phase::Closing {
                    self.finish(None);
                } else if crate::reconnect::worth_coming_back(&condition)
                    && self.try_reconnect(&condition)
                {
                } else {
                    let status = if self.phase == Phase::Attaching {
                        Status::AttachFail
                    } else {
                        status
                    };
                    self.change_status(status, Some(&condition), None);
                    // Strophe answers an HTTP 4xx with DISCONNECTING before
                    // the end; epode says CONNFAIL first, or a refused
                    // session would look like a logout.
                    if code.is_some_and(|c| (400..500).contains(&c)) {
                        self.change_status(Status::Disconnecting, None, None);
                    }
                    self.finish(Some(&condition));
                }
            }
        }
    }

    pub(super) fn on_stream_event(&mut self, event: StreamEvent) {
        let elem = match &event {
            StreamEvent::Open(e) | StreamEvent::Stanza(e) => Some(e),
            StreamEvent::Close(e) => e.as_ref(),
        };
        let wrapped = self
            .transport
            .as_ref()
            .is_some_and(|t| t.reports_wrappers());
        if let (Some(elem), false) = (elem, wrapped) {
            self.xml_input_hook(elem);
        }
        match event {
            // Each transport checks its own stream header.
            StreamEvent::Open(_) => {}
            StreamEvent::Stanza(stanza) => self.on_stanza(stanza),
            StreamEvent::Close(close) => self.on_close(close.as_ref()),
        }
    }

    pub(super) fn on_close(&mut self, close: Option<&Element>) {
        let redirect = close
            .and_then(|c| c.attr("see-other-uri"))
            .map(str::to_string);
        if let Some(uri) = redirect.filter(|_| self.phase != Phase::Closing) {
            self.redirect(&uri);
            return;
        }
        // Strophe: a <close/> before the first features refuses the
        // connection: CONNFAIL, then DISCONNECTED.
        if self.phase == Phase::Negotiating {
            const WHY: &str = "Received closing stream";
            if self.try_reconnect(WHY) {
                return;
            }
            lock(&self.recovery.sm).disable();
            self.change_status(Status::ConnFail, Some(WHY), None);
            self.finish(None);
            return;
        }
        // The server answered our close: it had everything sent before.
        if self.phase == Phase::Closing {
            self.recovery.unconfirmed.clear();
        }
        lock(&self.recovery.sm).disable();
        self.finish(None);
    }

    pub(super) fn protocol_error(&mut self, protocol: &str, code: u16) {
        let Some(conn) = self.handle() else { return };
        for (proto, c, f) in self.protocol_error_handlers.iter_mut() {
            if proto == protocol && *c == code {
                f(&conn, code);
            }
        }
    }

    pub(super) fn on_lost(&mut self, code: Option<u16>, reason: &str) {
        if let Some(code) = code {
            self.protocol_error("websocket", code);
        }
        let why = if reason.is_empty() {
            "the link was lost"
        } else {
            reason
        };
        let phase = self.phase;
        match phase {
            Phase::Idle | Phase::Reconnecting => {}
            Phase::Closing => self.finish(None),
            _ if self.try_reconnect(why) => {}
            // A shared session can end for reasons this handle did not
            // see (another handle's disconnect, its host's exit): say which.
            Phase::Connected if matches!(self.kind, TransportKind::Shared { .. }) => {
                self.finish(Some(reason))
            }
            Phase::Connected => self.finish(None),
            _ if matches!(self.kind, TransportKind::WebSocket { .. }) => self.websocket_failed(why),
            _ => self.fail(Status::ConnFail, why),
        }
    }

    pub(super) fn on_transport_error(&mut self, e: Error) {
        log_at!(self.log, Warn, "transport error: {e}");
        if let (Error::Timeout(m), false) = (
            &e,
            matches!(self.phase, Phase::Connected | Phase::Closing | Phase::Idle),
        ) {
            let m = m.clone();
            self.fail(Status::ConnTimeout, &m);
            return;
        }
        match self.phase {
            Phase::Idle | Phase::Reconnecting => {}
            Phase::Closing => self.finish(None),
            Phase::Connected => {
                // A broken link is worth another try; a server that sends
                // garbage or oversize stanzas is not.
                let link = matches!(e, Error::Io { .. } | Error::Tls { .. });
                if !(link && self.try_reconnect(&e.to_string())) {
                    self.change_status(Status::Error, Some(&e.to_string()), None);
                    self.finish(Some(&e.to_string()));
                }
            }
            _ => self.login_failed(&e),
        }
    }

    /// CONNFAIL for an error before the session is up. A WebSocket that
    /// could not be opened or dropped gets Strophe's fixed text, which
    /// applications compare; the error itself goes to the log and to
    /// `failure_detail`. A TLS failure keeps its own condition: an
    /// untrusted certificate must not look like a network blip.
    pub(super) fn login_failed(&mut self, e: &Error) {
        if matches!(e, Error::Io { .. }) && matches!(self.kind, TransportKind::WebSocket { .. }) {
            self.websocket_failed(&e.to_string());
        } else {
            self.fail(Status::ConnFail, &e.to_string());
        }
    }

    pub(super) fn websocket_failed(&mut self, detail: &str) {
        const WEBSOCKET_FAILED: &str =
            "The WebSocket connection could not be established or was disconnected.";
        let detail = format!("{}: {detail}", self.url);
        log_at!(self.log, Warn, "{detail}");
        self.publish(|s| s.failure_detail = Some(detail));
        self.fail(Status::ConnFail, WEBSOCKET_FAILED);
    }

    pub(super) fn on_stanza(&mut self, stanza: Element) {
        self.log.received(&stanza);
        if stanza.local_name() == "error" && stanza.prefix().is_some()
            || stanza.name() == "stream:error"
        {
            self.on_stream_error(&stanza);
            return;
        }
        if stanza.attr("xmlns") == Some(ns::SM) {
            self.on_sm(&stanza);
            return;
        }
        if matches!(stanza.name(), "message" | "presence" | "iq")
            && matches!(self.phase, Phase::Connected | Phase::BindRequired)
        {
            lock(&self.recovery.sm).received();
        }
        match self.phase {
            Phase::Negotiating => self.on_features(&stanza),
            Phase::Authenticating => self.on_sasl(&stanza),
            Phase::Restarting => self.on_restart_features(&stanza),
            Phase::Binding => self.on_bind_result(&stanza),
            Phase::Session => self.on_session_result(&stanza),
            Phase::Connected | Phase::BindRequired => self.dispatch(&stanza),
            Phase::Closing
            | Phase::Idle
            | Phase::Attaching
            | Phase::Reconnecting
            | Phase::Resuming => {}
        }
    }

    pub(super) fn on_stream_error(&mut self, err: &Element) {
        let condition = err
            .child_elements()
            .find(|c| c.local_name() != "text")
            .map(|c| c.local_name().to_string())
            .unwrap_or_else(|| "unknown".to_string());
        if condition == "see-other-host"
            && matches!(self.kind, TransportKind::Tcp { .. })
            && self.phase != Phase::Closing
        {
            let to = err
                .child_elements()
                .find(|c| c.local_name() == "see-other-host")
                .map(|c| c.text())
                .unwrap_or_default();
            self.redirect_tcp(&to);
            return;
        }
        if crate::reconnect::worth_retrying(&condition) && self.try_reconnect(&condition) {
            return;
        }
        lock(&self.recovery.sm).disable();
        let status = if self.phase == Phase::Connected {
            Status::Error
        } else {
            Status::ConnFail
        };
        self.change_status(status, Some(&condition), Some(err));
        self.finish(Some(&condition));
    }

    pub(super) fn dispatch(&mut self, stanza: &Element) {
        let Some(conn) = self.handle() else { return };
        // IQ answers, and presences answering a sendPresence, go to the
        // callbacks of the stanza they answer.
        let answer = match stanza.name() {
            "iq" => matches!(stanza.attr("type"), Some("result") | Some("error")),
            "presence" => !self.iqs.is_empty(),
            _ => false,
        };
        if answer && self.iqs.answer(&conn, stanza) {
            return;
        }
        let matched = self.handlers.dispatch(&conn, stanza);
        // On a shared session every handle sees the IQ; none may answer
        // for the others that it is unavailable.
        let shared = matches!(self.kind, TransportKind::Shared { .. });
        if !matched
            && !shared
            && stanza.name() == "iq"
            && matches!(stanza.attr("type"), Some("get") | Some("set"))
        {
            self.answer_unhandled_iq(stanza);
        }
    }

    pub(super) fn reply_unavailable(&mut self, iq: &Element) {
        let mut attrs = vec![("type", "error".to_string())];
        if let Some(id) = iq.attr("id") {
            attrs.push(("id", id.to_string()));
        }
        if let Some(from) = iq.attr("from") {
            attrs.push(("to", from.to_string()));
        }
        let reply = Builder::iq(attrs.iter().map(|(k, v)| (*k, v.as_str())))
            .c("error", [("type", "cancel")])
            .c("service-unavailable", [("xmlns", ns::STANZAS)])
            .build();
        self.send_stanza(reply);
    }
}
