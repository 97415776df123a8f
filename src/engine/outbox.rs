//! The send path: what the application sends goes out at once, waits for
//! the session (during the login and while reconnecting) or is held while
//! paused; protocol traffic (SASL, bind, acks) goes out even when paused.
//! Also the four inspection hooks (rawInput/rawOutput/xmlInput/xmlOutput).
//!
//! Everything on this path is an [`Outgoing`]: serialized once, where the
//! element became text, with its kind decided there. The queues hold
//! items, the log and stream management read the kind, and the
//! transports share the text.

use super::Core;
use super::{Engine, HookKind, IqRequest, Phase, TextHook, XmlHook};
// Hooks receive the connection: the one tie back up (see engine/mod.rs).
use crate::connection::Connection;
use crate::handler::iq::{self, PendingIq};
use crate::mailbox::lock;
use crate::outgoing::Outgoing;
use crate::transport::Transport;
use crate::xml::Element;
use std::sync::Weak;
use std::time::Instant;

/// Output that cannot go out yet.
#[derive(Default)]
pub(super) struct Outbox {
    /// `pause()` was called: stanzas are held until `resume()`.
    paused: bool,
    held: Vec<Outgoing>,
    /// Stanzas the application sent before the session was up or while
    /// reconnecting, and those a broken link did not take: they go out,
    /// in order, when a session is up (or are reported as unacked).
    pub(super) queued: Vec<Outgoing>,
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
        for item in std::mem::take(&mut self.outbox.held) {
            self.write(item);
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

    /// Whether items keep their element: while an xmlOutput hook is set,
    /// for a transport that shows it inside a wrapper (it is moved into
    /// the item, never copied, and dropped once the item is sent).
    fn keep_elements(&self) -> bool {
        self.hooks.xml_output.is_some()
    }

    /// Serializes `elem` (the one serialization on its way) for the send path.
    fn serialize(&self, elem: Element) -> Outgoing {
        Outgoing::of_owned(elem, self.keep_elements())
    }

    pub(super) fn send_stanza(&mut self, elem: Element) {
        self.xml_output_hook(&elem);
        let item = self.serialize(elem);
        self.send_out(item);
    }

    pub(super) fn send_out(&mut self, item: Outgoing) {
        // Until the session is up, stanzas wait for it: sent during the
        // login, they would reach a server that drops them (BOSH) or ends
        // the stream for them (WebSocket).
        if self.recovery.reconnecting.is_some() || self.before_session() {
            self.outbox.queued.push(item);
        } else if self.outbox.paused {
            self.outbox.held.push(item);
        } else {
            self.write(item);
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
        for item in std::mem::take(&mut self.outbox.queued) {
            self.send_out(item);
        }
    }

    pub(super) fn write(&mut self, item: Outgoing) {
        self.log.sent(&item);
        match self.transport.as_mut().map(|t| t.send(&item)) {
            Some(Ok(())) => self.count_sent(&item),
            // The link broke before this stanza reached it: it waits for
            // the next session with those sent after it, or is reported as
            // lost if none comes. A nonza belongs to the stream that failed.
            Some(Err(e)) => {
                if item.is_stanza() {
                    self.outbox.queued.push(item);
                }
                self.on_transport_error(e);
            }
            None if !item.is_stanza() => {}
            None if self.recovery.reconnecting.is_some() => self.outbox.queued.push(item),
            None => self.report_unacked(vec![item]),
        }
    }

    /// Protocol traffic (SASL, bind) goes out even while paused.
    pub(super) fn write_now(&mut self, elem: Element) {
        self.xml_output_hook(&elem);
        let item = self.serialize(elem);
        self.write(item);
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
        self.send_stanza(stanza);
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
