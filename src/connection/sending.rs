//! Sending: stanzas (`send`, serialized here, on the caller's thread,
//! into the one text they travel as), raw XML (`send_raw`, typed here by
//! the element it parses as), tracked IQs and presences, and the flow
//! controls `pause`/`resume`/`flush`. Also what a send waits for in sync
//! mode. Kept apart so that every way out starts in one file.

use super::{parse_jid, Connection};
use crate::engine::{Command, Engine, IqRequest};
use crate::error::{Error, Result};
use crate::mailbox::lock;
use crate::outgoing::Outgoing;
use crate::xml::{ns, Element};
use std::sync::atomic::Ordering;
use std::sync::{MutexGuard, TryLockError};
use std::time::{Duration, Instant};

impl Connection {
    fn require_session(&self) -> Result<()> {
        if lock(&self.core.state).connected {
            Ok(())
        } else {
            Err(Error::WrongState("not connected".into()))
        }
    }

    /// Sends a stanza. It leaves at once (or at the next `run_once` in sync
    /// mode), in the order of the calls.
    ///
    /// ```no_run
    /// # let conn = epode::Connection::new("ws://h/ws", epode::Options::default())?;
    /// use epode::{xml::NO_ATTRS, Builder};
    ///
    /// let msg = Builder::msg([("to", "bob@example.com"), ("type", "chat")])
    ///     .c_text("body", NO_ATTRS, "hello")
    ///     .build();
    /// conn.send(&msg)?;
    /// # Ok::<(), epode::Error>(())
    /// ```
    pub fn send(&self, stanza: &Element) -> Result<()> {
        self.require_session()?;
        let namespaced;
        let stanza = if lacks_client_ns(stanza) {
            let mut copy = stanza.clone();
            copy.set_attr("xmlns", ns::CLIENT);
            namespaced = copy;
            &namespaced
        } else {
            stanza
        };
        // Serializing here (into the one text the stanza travels as) is
        // cheaper than a deep copy and spreads the work over the calling
        // threads; the xmlOutput hook needs the element.
        if self.core.xml_output_hooked.load(Ordering::Acquire) {
            self.post(Command::Send(stanza.clone()));
        } else {
            self.post(Command::SendSerialized(Outgoing::of(stanza)));
        }
        self.after_send()
    }

    /// Sends raw XML, exactly as written, after checking that it is one
    /// well-formed element that XMPP allows (see [`crate::xml::parse_element`]:
    /// no comments, processing instructions, XML declaration, DTD or CDATA).
    /// Anything else is refused whole with [`Error::Xml`] before it is
    /// queued, so nothing of it is sent and the connection goes on as if
    /// the call had not been made.
    ///
    /// A `<message/>`, `<presence/>` or `<iq/>` written without a namespace
    /// gets `xmlns="jabber:client"` (and is then sent as serialized), as
    /// [`Connection::send`] gives it.
    ///
    /// What the text is (a stanza stream management counts, a nonza, SASL
    /// the log must not show) is decided here, once, by the element it
    /// parses as: the text is never read again on its way out.
    pub fn send_raw(&self, xml: &str) -> Result<()> {
        self.require_session()?;
        let mut elem = crate::xml::parse_element(xml)?;
        let xml = if lacks_client_ns(&elem) {
            elem.set_attr("xmlns", ns::CLIENT);
            elem.to_xml()
        } else {
            xml.to_string()
        };
        let keep = self.core.xml_output_hooked.load(Ordering::Acquire);
        self.post(Command::SendSerialized(Outgoing::raw(xml, elem, keep)));
        self.after_send()
    }

    /// In sync mode a send returns when the exchange carrying it is done
    /// (for BOSH: when its HTTP request is written). One waiting sender
    /// drives the engine; the others wait for their tickets (see
    /// [`crate::send_tickets`]), so the driver's next exchange carries all
    /// their stanzas at once.
    fn after_send(&self) -> Result<()> {
        // Pollable mode: the caller's loop writes it, woken by the post.
        if !self.core.sync.load(Ordering::Acquire) || self.core.pollable || self.on_engine_thread()
        {
            return Ok(());
        }
        let tickets = &self.core.tickets;
        let ticket = tickets.take();
        let deadline = Instant::now() + self.core.options.connect_timeout;
        loop {
            if tickets.is_done(ticket) || !self.core.sync.load(Ordering::Acquire) {
                return Ok(());
            }
            if Instant::now() >= deadline {
                return Err(Error::Timeout(
                    "the server did not take the data in time".into(),
                ));
            }
            let releases = tickets.releases();
            match self.core.engine.try_lock() {
                Ok(engine) => self.step_for_send(engine)?,
                Err(TryLockError::Poisoned(p)) => self.step_for_send(p.into_inner())?,
                Err(TryLockError::WouldBlock) => tickets.wait(ticket, releases, deadline),
            }
        }
    }

    /// One step for waiting sends, unless none is needed: with the mailbox
    /// empty and the transport idle, every ticket taken so far is done, and
    /// a step would only sleep.
    fn step_for_send(&self, engine: MutexGuard<'_, Engine>) -> Result<()> {
        let taken = self.core.tickets.taken();
        if engine.transport_idle() && self.core.mailbox.is_empty() {
            self.core.tickets.mark_done(taken);
            drop(engine);
            self.core.tickets.released();
            return Ok(());
        }
        self.drive_locked(engine, Some(Duration::from_millis(250)), false)
    }

    /// Strophe's `sendIQ`: sends `iq` (an id is added if it has none) and
    /// calls `on_result` or `on_error` with the answer; on timeout
    /// `on_error` gets None. Returns the id.
    ///
    /// ```no_run
    /// # let conn = epode::Connection::new("ws://h/ws", epode::Options::default())?;
    /// use epode::Builder;
    /// use std::time::Duration;
    ///
    /// let ping = Builder::iq([("type", "get"), ("to", "example.com")])
    ///     .c("ping", [("xmlns", "urn:xmpp:ping")])
    ///     .build();
    /// conn.send_iq(
    ///     ping,
    ///     |_, _| println!("pong"),
    ///     |_, err| println!("failed: {err:?}"), // None: timed out
    ///     Some(Duration::from_secs(10)),
    /// )?;
    /// # Ok::<(), epode::Error>(())
    /// ```
    pub fn send_iq<R, E>(
        &self,
        iq: Element,
        on_result: R,
        on_error: E,
        timeout: Option<Duration>,
    ) -> Result<String>
    where
        R: FnOnce(&Connection, Option<&Element>) + Send + 'static,
        E: FnOnce(&Connection, Option<&Element>) + Send + 'static,
    {
        self.send_tracked(iq, "sendIQ", on_result, on_error, timeout)
    }

    /// Sends `stanza` (with an id ending in `:suffix` when it has none) and
    /// hands its answer to `on_result` / `on_error`.
    fn send_tracked<R, E>(
        &self,
        stanza: Element,
        suffix: &str,
        on_result: R,
        on_error: E,
        timeout: Option<Duration>,
    ) -> Result<String>
    where
        R: FnOnce(&Connection, Option<&Element>) + Send + 'static,
        E: FnOnce(&Connection, Option<&Element>) + Send + 'static,
    {
        self.require_session()?;
        // Its answer is matched to this address: one that is no JID could
        // never be (the server refuses it anyway, RFC 6120 §8.3.3.8).
        if let Some(to) = stanza.attr("to") {
            parse_jid("to", to)?;
        }
        let mut stanza = stanza;
        if lacks_client_ns(&stanza) {
            stanza.set_attr("xmlns", ns::CLIENT);
        }
        let id = match stanza.attr("id") {
            Some(id) => id.to_string(),
            None => {
                let id = self.unique_id(suffix);
                stanza.set_attr("id", id.clone());
                id
            }
        };
        self.post(Command::SendIq(IqRequest {
            stanza,
            on_result: Some(Box::new(on_result)),
            on_error: Some(Box::new(on_error)),
            timeout,
        }));
        self.after_send()?;
        Ok(id)
    }

    /// Strophe's `sendPresence`: like `send_iq`, for a presence whose answer
    /// (or error) is tracked by id; an id it adds ends in `:sendPresence`.
    pub fn send_presence<R, E>(
        &self,
        pres: Element,
        on_result: R,
        on_error: E,
        timeout: Option<Duration>,
    ) -> Result<String>
    where
        R: FnOnce(&Connection, Option<&Element>) + Send + 'static,
        E: FnOnce(&Connection, Option<&Element>) + Send + 'static,
    {
        self.send_tracked(pres, "sendPresence", on_result, on_error, timeout)
    }

    /// A unique id for a stanza (Strophe's `getUniqueId(suffix)`).
    pub fn unique_id(&self, suffix: &str) -> String {
        let n = self.core.next_id.fetch_add(1, Ordering::Relaxed);
        format!("{}-{n}:{suffix}", self.core.id_prefix)
    }

    /// Holds outgoing stanzas until `resume` (Strophe's `pause`).
    /// `paused()` is true as soon as this returns.
    pub fn pause(&self) {
        // The flag changes with the command, under one lock, so that
        // pause and resume from several threads leave it as the engine
        // will: the last one posted wins.
        let mut state = lock(&self.core.state);
        state.paused = true;
        self.post(Command::Pause);
    }

    /// Sends what `pause` held, at once.
    pub fn resume(&self) -> Result<()> {
        {
            let mut state = lock(&self.core.state);
            state.paused = false;
            self.post(Command::Resume);
        }
        self.after_send()
    }

    /// Sends everything queued now. In sync mode, returns when written.
    pub fn flush(&self) -> Result<()> {
        self.post(Command::Flush);
        self.after_send()
    }
}

/// A client's stanza written without a namespace: it can only mean
/// jabber:client, but a WebSocket server reads it as in no namespace and
/// ends the stream (RFC 7395 §3.3.3: every message declares its own), and
/// in a BOSH body it would be in httpbind's.
fn lacks_client_ns(elem: &Element) -> bool {
    matches!(elem.name(), "message" | "presence" | "iq") && elem.attr("xmlns").is_none()
}
