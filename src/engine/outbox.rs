//! The send path: what the application sends goes out at once, waits for
//! the session (during the login and while reconnecting) or is held while
//! paused; protocol traffic (SASL, bind, acks) goes out even when paused.
//! Also the four inspection hooks (rawInput/rawOutput/xmlInput/xmlOutput).

use super::Core;
use super::{Engine, HookKind, IqRequest, Phase, TextHook, XmlHook};
// Hooks receive the connection: the one tie back up (see engine/mod.rs).
use crate::connection::Connection;
use crate::handler::iq::{self, PendingIq};
use crate::mailbox::lock;
use crate::transport::Transport;
use crate::xml::Element;
use std::sync::Weak;
use std::time::Instant;

/// Output that cannot go out yet.
#[derive(Default)]
pub(super) struct Outbox {
    /// `pause()` was called: stanzas are held until `resume()`.
    paused: bool,
    held: Vec<String>,
    /// Stanzas the application sent before the session was up or while
    /// reconnecting, and those a broken link did not take: they go out,
    /// in order, when a session is up (or are reported as unacked).
    pub(super) queued: Vec<String>,
}

/// The application's inspection hooks.
#[derive(Default)]
pub(super) struct Hooks {
    raw_input: Option<TextHook>,
    raw_output: Option<TextHook>,
    xml_input: Option<XmlHook>,
    xml_output: Option<XmlHook>,
}

/// A rawInput/rawOutput ([`TextHook`]) or xmlInput/xmlOutput ([`XmlHook`]) hook.
type Hook<T> = Box<dyn FnMut(&Connection, &T) + Send>;

/// Runs a hook, if set, while the connection is alive.
fn call<T: ?Sized>(hook: Option<&mut Hook<T>>, core: &Weak<Core>, arg: &T) {
    if let (Some(hook), Some(conn)) = (hook, core.upgrade().map(Connection::borrowed)) {
        hook(&conn, arg);
    }
}

impl Engine {
    pub(super) fn pause(&mut self) {
        self.outbox.paused = true;
    }

    pub(super) fn resume(&mut self) {
        self.outbox.paused = false;
        for xml in std::mem::take(&mut self.outbox.held) {
            self.write(xml);
        }
    }

    pub(super) fn set_text_hook(&mut self, kind: HookKind, hook: Option<TextHook>) {
        match kind {
            HookKind::RawInput => {
                if let Some(t) = self.transport.as_mut() {
                    t.set_raw_input(hook.is_some());
                }
                self.hooks.raw_input = hook;
            }
            HookKind::RawOutput => {
                if let Some(t) = self.transport.as_mut() {
                    t.set_raw_output(hook.is_some());
                }
                self.hooks.raw_output = hook;
            }
        }
    }

    pub(super) fn set_xml_input(&mut self, hook: Option<XmlHook>) {
        self.hooks.xml_input = hook;
        self.tell_xml_hooks();
    }

    pub(super) fn set_xml_output(&mut self, hook: Option<XmlHook>) {
        self.hooks.xml_output = hook;
        self.tell_xml_hooks();
    }

    pub(super) fn call_raw_input(&mut self, text: &str) {
        call(self.hooks.raw_input.as_mut(), &self.core, text);
    }

    pub(super) fn call_raw_output(&mut self, text: &str) {
        call(self.hooks.raw_output.as_mut(), &self.core, text);
    }

    pub(super) fn tell_xml_hooks(&mut self) {
        let (input, output) = (
            self.hooks.xml_input.is_some(),
            self.hooks.xml_output.is_some(),
        );
        if let Some(t) = self.transport.as_mut() {
            t.set_xml_hooks(input, output);
        }
    }

    /// Tells a new transport which inspection hooks are set.
    pub(super) fn announce_hooks(&self, transport: &mut dyn Transport) {
        transport.set_raw_input(self.hooks.raw_input.is_some());
        transport.set_raw_output(self.hooks.raw_output.is_some());
        transport.set_xml_hooks(
            self.hooks.xml_input.is_some(),
            self.hooks.xml_output.is_some(),
        );
    }

    pub(super) fn xml_input_hook(&mut self, elem: &Element) {
        call(self.hooks.xml_input.as_mut(), &self.core, elem);
    }

    /// xmlOutput for one stanza, unless the transport reports whole wrappers.
    pub(super) fn xml_output_hook(&mut self, elem: &Element) {
        if !self
            .transport
            .as_ref()
            .is_some_and(|t| t.reports_wrappers())
        {
            self.call_xml_output(elem);
        }
    }

    pub(super) fn call_xml_output(&mut self, elem: &Element) {
        call(self.hooks.xml_output.as_mut(), &self.core, elem);
    }

    pub(super) fn send_stanza(&mut self, elem: &Element) {
        self.xml_output_hook(elem);
        self.send_text(elem.to_xml());
    }

    pub(super) fn send_text(&mut self, xml: String) {
        // Until the session is up, stanzas wait for it: sent during the
        // login, they would reach a server that drops them (BOSH) or ends
        // the stream for them (WebSocket).
        if self.recovery.reconnecting.is_some() || self.before_session() {
            self.outbox.queued.push(xml);
        } else if self.outbox.paused {
            self.outbox.held.push(xml);
        } else {
            self.write(xml);
        }
    }

    pub(super) fn before_session(&self) -> bool {
        matches!(
            self.phase,
            Phase::Attaching
                | Phase::Negotiating
                | Phase::Authenticating
                | Phase::Restarting
                | Phase::BindRequired
                | Phase::Binding
                | Phase::Session
                | Phase::Resuming
        )
    }

    /// The session is up: what waited for it goes out, in order.
    pub(super) fn send_waiting(&mut self) {
        for xml in std::mem::take(&mut self.outbox.queued) {
            self.send_text(xml);
        }
    }

    pub(super) fn write(&mut self, xml: String) {
        self.log.sent(&xml);
        match self.transport.as_mut().map(|t| t.send(&xml)) {
            Some(Ok(())) => self.count_sent(&xml),
            // The link broke before this stanza reached it: it waits for
            // the next session with those sent after it, or is reported as
            // lost if none comes. A nonza belongs to the stream that failed.
            Some(Err(e)) => {
                if crate::sm::is_stanza(&xml) {
                    self.outbox.queued.push(xml);
                }
                self.on_transport_error(e);
            }
            None if !crate::sm::is_stanza(&xml) => {}
            None if self.recovery.reconnecting.is_some() => self.outbox.queued.push(xml),
            None => self.report_unacked(vec![xml]),
        }
    }

    /// Protocol traffic (SASL, bind) goes out even while paused.
    pub(super) fn write_now(&mut self, elem: &Element) {
        self.xml_output_hook(elem);
        self.write(elem.to_xml());
    }

    pub(super) fn send_iq(&mut self, req: IqRequest) {
        let mut stanza = req.stanza;
        let id = match stanza.attr("id") {
            Some(id) => id.to_string(),
            None => {
                let tag = if stanza.name() == "presence" {
                    "sendPresence"
                } else {
                    "sendIQ"
                };
                let id = self.next_id(tag);
                stanza.set_attr("id", id.clone());
                id
            }
        };
        let from = self.expected_from(stanza.attr("to"));
        self.iqs.track(
            id,
            PendingIq {
                from,
                on_result: req.on_result,
                on_error: req.on_error,
                deadline: req.timeout.map(|t| Instant::now() + t),
            },
        );
        self.send_stanza(&stanza);
    }

    /// Who may answer an IQ sent to `to`.
    pub(super) fn expected_from(&self, to: Option<&str>) -> Vec<Option<String>> {
        match to {
            Some(to) => iq::answered_by(to),
            None => {
                let me = self.core.upgrade().map(|c| lock(&c.state).jid.clone());
                let me = me.unwrap_or_default();
                iq::answered_by_us(&me, &self.login.creds.domain)
            }
        }
    }
}
