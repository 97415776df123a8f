//! Logging: what the engine is doing, for the application to see.
//!
//! Design (libstrophe's logger, with Strophe.js's level numbers):
//!
//! - A message has a [`LogLevel`]: `Debug` 0, `Info` 1, `Warn` 2, `Error` 3.
//! - Each connection may have its own handler with a minimum level
//!   ([`Connection::set_log_handler`](crate::Connection::set_log_handler)).
//!   A connection without one uses the process-wide default
//!   ([`set_default_handler`]); with neither, nothing is formatted at all:
//!   a disabled log costs two relaxed atomic loads.
//! - Handlers run on the thread that drives the engine (its own thread, or
//!   the caller's in sync mode). A connection's handler is called one
//!   message at a time; the default handler too, across all connections.
//! - What is logged: statuses (INFO, failures WARN, ERROR as ERROR), the
//!   transport and URL being opened, the SASL mechanism chosen, transport
//!   errors (WARN), and at DEBUG every stanza sent and received.
//!   **Never** a password or a SASL payload: SASL elements are logged by
//!   name only, whichever direction they travel.
//! - A handler must not set or clear handlers from inside itself (that is
//!   `Error::WouldDeadlock`); messages the handler itself causes are
//!   dropped rather than recursing.

use crate::error::{Error, Result};
use crate::mailbox::lock;
use crate::outgoing::{Kind, Outgoing};
use crate::status::Status;
use std::cell::Cell;
use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::{Arc, Mutex};

/// How important a log message is. Numbers as in libstrophe/Strophe.js.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum LogLevel {
    /// Detail: every stanza sent and received (SASL by name only).
    Debug = 0,
    /// Statuses and the steps of a session: the transport, the mechanism.
    Info = 1,
    /// Failures: a failure status, a transport error.
    Warn = 2,
    /// The ERROR status: a session ended by a stream error or a lost link.
    Error = 3,
}

impl LogLevel {
    /// Every level, in numeric order.
    pub const ALL: [LogLevel; 4] = [
        LogLevel::Debug,
        LogLevel::Info,
        LogLevel::Warn,
        LogLevel::Error,
    ];

    /// `"DEBUG"`, `"INFO"`, `"WARN"` or `"ERROR"`.
    pub fn name(self) -> &'static str {
        match self {
            LogLevel::Debug => "DEBUG",
            LogLevel::Info => "INFO",
            LogLevel::Warn => "WARN",
            LogLevel::Error => "ERROR",
        }
    }

    /// The level with this number, if there is one.
    pub fn from_number(n: i64) -> Option<LogLevel> {
        usize::try_from(n)
            .ok()
            .and_then(|i| Self::ALL.get(i).copied())
    }
}

impl std::fmt::Display for LogLevel {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// A log handler: gets the level and the message (one line, no newline).
pub type LogHandler = Box<dyn FnMut(LogLevel, &str) + Send>;

/// "No handler here": above every level, so `enabled` is one comparison.
const OFF: u8 = u8::MAX;

/// A handler and the lowest level it wants.
struct Sink {
    level: AtomicU8,
    handler: Mutex<Option<LogHandler>>,
}

impl Sink {
    const fn new() -> Sink {
        Sink {
            level: AtomicU8::new(OFF),
            handler: Mutex::new(None),
        }
    }

    fn set(&self, level: LogLevel, handler: Option<LogHandler>) -> Result<()> {
        if IN_HANDLER.get() {
            return Err(Error::WouldDeadlock(
                "a log handler cannot change log handlers".into(),
            ));
        }
        let level = if handler.is_some() { level as u8 } else { OFF };
        let old = {
            let mut slot = lock(&self.handler);
            self.level.store(level, Ordering::Relaxed);
            std::mem::replace(&mut *slot, handler)
        };
        // The old handler (and a C userdata_free) runs outside the lock.
        drop(old);
        Ok(())
    }

    /// Calls the handler unless this thread is already inside one.
    fn emit(&self, level: LogLevel, message: &str) {
        if IN_HANDLER.get() {
            return;
        }
        let mut slot = lock(&self.handler);
        if let Some(handler) = slot.as_mut() {
            let _inside = InHandler::enter();
            handler(level, message);
        }
    }
}

thread_local! {
    /// Set while this thread runs a log handler.
    static IN_HANDLER: Cell<bool> = const { Cell::new(false) };
}

/// Marks the thread as inside a handler until dropped (also on a panic).
struct InHandler;
impl InHandler {
    fn enter() -> InHandler {
        IN_HANDLER.set(true);
        InHandler
    }
}
impl Drop for InHandler {
    fn drop(&mut self) {
        IN_HANDLER.set(false);
    }
}

static DEFAULT: Sink = Sink::new();

/// Sets the process-wide default handler: it gets the messages at `level`
/// and above of every connection that has no handler of its own. Replacing
/// it drops the previous one.
pub fn set_default_handler<F>(level: LogLevel, handler: F) -> Result<()>
where
    F: FnMut(LogLevel, &str) + Send + 'static,
{
    DEFAULT.set(level, Some(Box::new(handler)))
}

/// Removes the process-wide default handler.
pub fn clear_default_handler() -> Result<()> {
    DEFAULT.set(LogLevel::Error, None)
}

/// A ready-made handler that writes `epode LEVEL: message` lines to stderr.
pub fn stderr_handler() -> impl FnMut(LogLevel, &str) + Send + 'static {
    |level: LogLevel, message: &str| eprintln!("epode {level}: {message}")
}

/// One connection's logger, shared by its handle and its engine.
#[derive(Clone)]
pub(crate) struct Logger(Arc<Sink>);

impl Logger {
    pub fn new() -> Logger {
        Logger(Arc::new(Sink::new()))
    }

    pub fn set(&self, level: LogLevel, handler: Option<LogHandler>) -> Result<()> {
        self.0.set(level, handler)
    }

    /// Whether a message at `level` would go anywhere: check this before
    /// formatting one.
    #[inline]
    pub fn enabled(&self, level: LogLevel) -> bool {
        let own = self.0.level.load(Ordering::Relaxed);
        let min = if own != OFF {
            own
        } else {
            DEFAULT.level.load(Ordering::Relaxed)
        };
        level as u8 >= min
    }

    /// Sends a message to the connection's handler, or to the default one.
    pub fn emit(&self, level: LogLevel, message: &str) {
        let own = self.0.level.load(Ordering::Relaxed);
        if own != OFF {
            if level as u8 >= own {
                self.0.emit(level, message);
            }
        } else if level as u8 >= DEFAULT.level.load(Ordering::Relaxed) {
            DEFAULT.emit(level, message);
        }
    }

    /// A status change: failures at WARN, ERROR at ERROR, the rest INFO.
    pub fn status(&self, status: Status, condition: Option<&str>) {
        let level = match status {
            Status::Error => LogLevel::Error,
            Status::ConnFail | Status::AuthFail | Status::ConnTimeout | Status::AttachFail => {
                LogLevel::Warn
            }
            _ => LogLevel::Info,
        };
        if self.enabled(level) {
            match condition {
                Some(c) => self.emit(level, &format!("status {} ({c})", status.name())),
                None => self.emit(level, &format!("status {}", status.name())),
            }
        }
    }

    /// DEBUG: an element about to be written (SASL by name only: its kind
    /// was decided where it was serialized, so its text is never read here).
    pub(crate) fn sent(&self, item: &Outgoing) {
        if self.enabled(LogLevel::Debug) {
            let text: std::borrow::Cow<'_, str> = match (item.kind(), item.element()) {
                (Kind::Sasl, Some(elem)) => redacted(elem).into(),
                (Kind::Sasl, None) => sasl_placeholder("?").into(),
                _ => item.text().into(),
            };
            self.emit(LogLevel::Debug, &format!("SENT {text}"));
        }
    }

    /// DEBUG: a stanza received (SASL elements by name only).
    pub fn received(&self, stanza: &crate::xml::Element) {
        if self.enabled(LogLevel::Debug) {
            let text = if stanza.attr("xmlns") == Some(crate::xml::ns::SASL) {
                sasl_placeholder(stanza.local_name())
            } else {
                stanza.to_xml()
            };
            self.emit(LogLevel::Debug, &format!("RECV {text}"));
        }
    }
}

/// Logs a message built with `format!` arguments, formatting it only when
/// some handler wants it: `log_at!(logger, Info, "opening {url}")`.
macro_rules! log_at {
    ($logger:expr, $level:ident, $($arg:tt)*) => {{
        let logger = &$logger;
        if logger.enabled($crate::log::LogLevel::$level) {
            logger.emit($crate::log::LogLevel::$level, &format!($($arg)*));
        }
    }};
}
pub(crate) use log_at;

fn sasl_placeholder(name: &str) -> String {
    format!(
        "<{name} xmlns='{}'/> (SASL payload not logged)",
        crate::xml::ns::SASL
    )
}

/// An outgoing SASL element cut down to its name (and the mechanism of an
/// `<auth>`): the payload of `<auth>`/`<response>` carries the password
/// (PLAIN) or proofs (SCRAM).
fn redacted(elem: &crate::xml::Element) -> String {
    let name = sasl_placeholder(elem.name());
    match elem.attr("mechanism") {
        Some(m) => format!("{name} mechanism {m}"),
        None => name,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn capture(logger: &Logger, level: LogLevel) -> Arc<Mutex<Vec<String>>> {
        let lines = Arc::new(Mutex::new(Vec::new()));
        let sink = Arc::clone(&lines);
        logger
            .set(
                level,
                Some(Box::new(move |l: LogLevel, m: &str| {
                    sink.lock().unwrap().push(format!("{l} {m}"))
                })),
            )
            .unwrap();
        lines
    }

    #[test]
    fn levels_filter_and_keep_strophes_numbers() {
        assert_eq!(LogLevel::from_number(0), Some(LogLevel::Debug));
        assert_eq!(LogLevel::from_number(3), Some(LogLevel::Error));
        assert_eq!(LogLevel::from_number(4), None);
        assert_eq!(LogLevel::from_number(-1), None);
        let logger = Logger::new();
        let lines = capture(&logger, LogLevel::Warn);
        assert!(!logger.enabled(LogLevel::Info));
        log_at!(logger, Info, "not wanted {}", 1);
        log_at!(logger, Warn, "wanted {}", 2);
        logger.status(Status::AuthFail, Some("not-authorized"));
        logger.status(Status::Connected, None);
        assert_eq!(
            *lines.lock().unwrap(),
            ["WARN wanted 2", "WARN status AUTHFAIL (not-authorized)"]
        );
    }

    #[test]
    fn sasl_payloads_are_never_logged() {
        let logger = Logger::new();
        let lines = capture(&logger, LogLevel::Debug);
        let sent = |xml: &str| {
            let elem = crate::xml::parse_element(xml).unwrap();
            logger.sent(&Outgoing::raw(xml.to_string(), elem, false));
        };
        sent("<auth xmlns=\"urn:ietf:params:xml:ns:xmpp-sasl\" mechanism=\"PLAIN\">AGFsaWNlAHNlY3JldA==</auth>");
        sent("<response xmlns='urn:ietf:params:xml:ns:xmpp-sasl'>Yz1iaXdz</response>");
        let challenge = crate::xml::parse_element(
            "<challenge xmlns='urn:ietf:params:xml:ns:xmpp-sasl'>cj1meWtv</challenge>",
        )
        .unwrap();
        logger.received(&challenge);
        sent("<message to='a@b'><body>urn:ietf:params:xml:ns:xmpp-sasl</body></message>");
        let lines = lines.lock().unwrap();
        assert_eq!(lines.len(), 4);
        for secret in ["AGFsaWNlAHNlY3JldA", "Yz1iaXdz", "cj1meWtv"] {
            assert!(lines.iter().all(|l| !l.contains(secret)), "{lines:?}");
        }
        assert!(lines[0].contains("<auth ") && lines[0].ends_with("mechanism PLAIN"));
        assert!(lines[2].starts_with("DEBUG RECV <challenge "));
        // A body that merely mentions the namespace is logged as it is.
        assert!(lines[3].contains("<body>"));
    }

    #[test]
    fn a_handler_cannot_replace_handlers_from_inside_itself() {
        let logger = Logger::new();
        let inner = logger.clone();
        let results = Arc::new(Mutex::new(Vec::new()));
        let seen = Arc::clone(&results);
        logger
            .set(
                LogLevel::Debug,
                Some(Box::new(move |_: LogLevel, _: &str| {
                    let r = inner.set(LogLevel::Debug, None);
                    seen.lock().unwrap().push(r.is_err());
                    // Logging from inside the handler is dropped, not recursive.
                    inner.emit(LogLevel::Error, "nested");
                })),
            )
            .unwrap();
        logger.emit(LogLevel::Info, "outer");
        assert_eq!(*results.lock().unwrap(), [true]);
        logger.set(LogLevel::Debug, None).unwrap();
        assert_eq!(logger.0.level.load(Ordering::Relaxed), OFF);
    }
}
