//! Registering what the engine calls back: stanza, timed and protocol
//! error handlers, custom SASL mechanisms, the four inspection hooks, the
//! log handler and the unacked handler. Each only posts a command (or
//! sets the logger), so that a registration never waits for the engine.

use super::Connection;
use crate::engine::{Command, HookKind};
use crate::error::{Error, Result};
use crate::handler::{Handler, HandlerId, Keep, Matcher, TimedHandler};
use crate::log::LogLevel;
use crate::sasl::Mechanism;
use crate::xml::Element;
use std::sync::atomic::Ordering;
use std::time::Duration;

impl Connection {
    /// Strophe's `addHandler`: `callback` runs for every stanza `matcher`
    /// accepts, in registration order, until it returns `Keep::Remove`.
    /// Handlers may be added before `connect` and survive reconnection.
    /// `from` is compared normalised (RFC 7622: `Alice@LocalHost` matches
    /// `alice@localhost/phone`'s bare JID); a `from` that is not a valid JID
    /// is `Error::InvalidJid`, as it could never match.
    ///
    /// ```
    /// use epode::{Connection, Keep, Matcher, Options};
    ///
    /// let conn = Connection::new("ws://127.0.0.1:5280/xmpp-websocket", Options::default())?;
    /// let id = conn.add_handler(Matcher::new().name("message").type_("chat"), |_, msg| {
    ///     println!("{}", msg.child_text("body").unwrap_or_default());
    ///     Keep::Keep
    /// })?;
    /// conn.delete_handler(id);
    /// # Ok::<(), epode::Error>(())
    /// ```
    pub fn add_handler<F>(&self, matcher: Matcher, callback: F) -> Result<HandlerId>
    where
        F: FnMut(&Connection, &Element) -> Keep + Send + 'static,
    {
        matcher.check().map_err(|e| {
            let from = matcher.from.as_deref().unwrap_or_default();
            Error::InvalidJid(format!("handler from {from:?}: {e}"))
        })?;
        let id = self.core.next_id.fetch_add(1, Ordering::Relaxed);
        self.post(Command::AddHandler(Handler {
            id,
            matcher,
            callback: Box::new(callback),
        }));
        Ok(id)
    }

    /// Strophe's `deleteHandler`: the handler `id` runs no more (an id
    /// already gone is ignored).
    pub fn delete_handler(&self, id: HandlerId) {
        self.post(Command::DeleteHandler(id));
    }

    /// Strophe's `addTimedHandler`: runs every `period` while the session
    /// is up, until it returns `Keep::Remove`.
    ///
    /// ```no_run
    /// # let conn = epode::Connection::new("ws://h/ws", epode::Options::default())?;
    /// use epode::Keep;
    /// use std::time::Duration;
    ///
    /// let mut left = 3;
    /// conn.add_timed_handler(Duration::from_secs(60), move |conn| {
    ///     conn.send_raw("<presence xmlns='jabber:client'/>").ok();
    ///     left -= 1;
    ///     if left == 0 { Keep::Remove } else { Keep::Keep }
    /// });
    /// # Ok::<(), epode::Error>(())
    /// ```
    pub fn add_timed_handler<F>(&self, period: Duration, callback: F) -> HandlerId
    where
        F: FnMut(&Connection) -> Keep + Send + 'static,
    {
        let id = self.core.next_id.fetch_add(1, Ordering::Relaxed);
        self.post(Command::AddTimed(TimedHandler {
            id,
            period,
            next: None,
            callback: Box::new(callback),
        }));
        id
    }

    /// Strophe's `deleteTimedHandler`: the timed handler `id` runs no more.
    pub fn delete_timed_handler(&self, id: HandlerId) {
        self.post(Command::DeleteTimed(id));
    }

    /// Strophe's `addProtocolErrorHandler`: `protocol` is "websocket" (close
    /// codes) or "HTTP" (status codes), in any case. Another name is an
    /// invalid argument: the engine reports only these two, so its handler
    /// would never run.
    pub fn add_protocol_error_handler<F>(
        &self,
        protocol: &str,
        code: u16,
        callback: F,
    ) -> Result<()>
    where
        F: FnMut(&Connection, u16) + Send + 'static,
    {
        let name = protocol.to_ascii_lowercase();
        if name != "http" && name != "websocket" {
            return Err(Error::InvalidArgument(format!(
                "protocol must be \"HTTP\" or \"websocket\", not {protocol:?}"
            )));
        }
        self.post(Command::AddProtocolErrorHandler(
            name,
            code,
            Box::new(callback),
        ));
        Ok(())
    }

    /// Adds (or replaces by name, built-ins included) a SASL mechanism.
    /// `make` builds a fresh instance for each login.
    pub fn register_mechanism<F>(&self, make: F)
    where
        F: Fn() -> Box<dyn Mechanism> + Send + 'static,
    {
        self.post(Command::AddMechanism(Box::new(make)));
    }

    /// rawInput: every piece of text as received.
    pub fn set_raw_input<F: FnMut(&Connection, &str) + Send + 'static>(&self, hook: Option<F>) {
        self.post(Command::SetTextHook(
            HookKind::RawInput,
            hook.map(|h| Box::new(h) as _),
        ));
    }

    /// rawOutput: every piece of text as sent.
    pub fn set_raw_output<F: FnMut(&Connection, &str) + Send + 'static>(&self, hook: Option<F>) {
        self.post(Command::SetTextHook(
            HookKind::RawOutput,
            hook.map(|h| Box::new(h) as _),
        ));
    }

    /// xmlInput: every element received (stanzas, open, close).
    pub fn set_xml_input<F: FnMut(&Connection, &Element) + Send + 'static>(&self, hook: Option<F>) {
        self.post(Command::SetXmlInput(hook.map(|h| Box::new(h) as _)));
    }

    /// xmlOutput: every element sent: stanzas, SASL and bind, and over
    /// WebSocket the `<open/>`s and the `<close/>` (over BOSH without
    /// `strip`, each whole `<body>` instead).
    pub fn set_xml_output<F: FnMut(&Connection, &Element) + Send + 'static>(
        &self,
        hook: Option<F>,
    ) {
        self.core
            .xml_output_hooked
            .store(hook.is_some(), Ordering::Release);
        self.post(Command::SetXmlOutput(hook.map(|h| Box::new(h) as _)));
    }

    /// Sends this connection's log messages at `level` and above to
    /// `handler` instead of the process-wide default
    /// ([`crate::log::set_default_handler`]); see [`crate::log`] for what is
    /// logged. Replacing a handler drops the previous one. The handler runs
    /// on the thread driving the engine; from inside it this is
    /// `Error::WouldDeadlock`.
    ///
    /// ```
    /// use epode::{Connection, LogLevel, Options};
    ///
    /// let conn = Connection::new("ws://127.0.0.1:5280/xmpp-websocket", Options::default())?;
    /// conn.set_log_handler(LogLevel::Info, |level, message| eprintln!("{level} {message}"))?;
    /// # Ok::<(), epode::Error>(())
    /// ```
    pub fn set_log_handler<F>(&self, level: LogLevel, handler: F) -> Result<()>
    where
        F: FnMut(LogLevel, &str) + Send + 'static,
    {
        self.core.log.set(level, Some(Box::new(handler)))
    }

    /// Removes this connection's log handler: its messages go to the
    /// process-wide default again.
    pub fn clear_log_handler(&self) -> Result<()> {
        self.core.log.set(LogLevel::Error, None)
    }

    /// Who hears of stanzas that may not have arrived: when a lost session
    /// cannot be resumed (each stanza the server had not acknowledged), or
    /// when reconnection gives up (each stanza sent while reconnecting).
    /// None clears it.
    pub fn set_unacked_handler<F>(&self, handler: Option<F>)
    where
        F: FnMut(&Connection, &Element) + Send + 'static,
    {
        self.post(Command::SetUnackedHandler(
            handler.map(|h| Box::new(h) as _),
        ));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::options::Options;
    use std::sync::Arc;

    #[test]
    fn protocol_error_handlers_take_only_the_protocols_that_report() {
        let conn = Connection::new("ws://127.0.0.1:1/ws", Options::default()).unwrap();
        let held = Arc::new(());
        for name in ["HTTP", "http", "websocket", "WebSocket"] {
            let held = Arc::clone(&held);
            let added = conn.add_protocol_error_handler(name, 1008, move |_, _| {
                let _ = &held;
            });
            assert_eq!(added, Ok(()), "{name}");
        }
        for name in ["", "ws", "wss", "bosh", "https", "tcp", "websocket "] {
            let held = Arc::clone(&held);
            let err = conn
                .add_protocol_error_handler(name, 1008, move |_, _| {
                    let _ = &held;
                })
                .unwrap_err();
            let Error::InvalidArgument(msg) = err else {
                panic!("{name:?}: {err:?}");
            };
            assert!(
                msg.contains("\"HTTP\" or \"websocket\"") && msg.contains(&format!("{name:?}")),
                "{msg}"
            );
        }
        // The refused callbacks went at once; the four taken wait in the mailbox.
        assert_eq!(Arc::strong_count(&held), 5);
    }
}
