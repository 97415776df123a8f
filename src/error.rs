//! The crate's error type. The C layer maps each variant to one
//! `epode_result` code (`src/ffi/result.rs`).

use crate::xml::XmlError;
use std::fmt;
use std::sync::Arc;

/// Why an epode call failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Error {
    /// An argument had a value that is not allowed.
    InvalidArgument(String),
    /// An option name that epode does not know.
    UnknownOption(String),
    /// The call is not allowed in the connection's current state.
    WrongState(String),
    /// XML from the caller was not well-formed, or not allowed in XMPP.
    Xml(XmlError),
    /// A JID that is not valid.
    InvalidJid(String),
    /// An operating-system or network error.
    Io {
        /// What failed, with the error's own text.
        message: String,
        /// The OS error's kind, when one was behind it (a refused
        /// connection, a missing file …), for a program to decide on.
        kind: Option<std::io::ErrorKind>,
        /// The error itself, when there was one ([`std::error::Error::source`]).
        source: Option<Cause>,
    },
    /// TLS failed: an untrusted certificate, a failed handshake, a bad CA file.
    Tls {
        /// What failed, with the error's own text.
        message: String,
        /// The TLS library's error, when there was one.
        source: Option<Cause>,
    },
    /// The call would wait for the engine that is running it.
    WouldDeadlock(String),
    /// The operation did not finish in time.
    Timeout(String),
    /// No stored session to restore (Strophe's StropheSessionError).
    NoSession(String),
    /// A bug inside epode (a panic, caught at the engine's boundary): not
    /// the network's fault, so not reported as [`Error::Io`].
    Internal(String),
}

impl Error {
    /// An I/O error with no OS error behind it (a closed socket, a bad frame).
    pub(crate) fn io(message: impl Into<String>) -> Error {
        Error::Io {
            message: message.into(),
            kind: None,
            source: None,
        }
    }

    /// An I/O error caused by `error`; `message` already says it in words.
    pub(crate) fn io_from(message: impl Into<String>, error: std::io::Error) -> Error {
        Error::Io {
            message: message.into(),
            kind: Some(error.kind()),
            source: Some(Cause::new(error)),
        }
    }

    /// An I/O error caused by some other library's error (a WebSocket
    /// handshake, an HTTP exchange); `message` already says it in words.
    pub(crate) fn io_caused(
        message: impl Into<String>,
        kind: Option<std::io::ErrorKind>,
        error: impl std::error::Error + Send + Sync + 'static,
    ) -> Error {
        Error::Io {
            message: message.into(),
            kind,
            source: Some(Cause::new(error)),
        }
    }

    /// A TLS error caused by `error`; `message` already says it in words.
    pub(crate) fn tls_from(
        message: impl Into<String>,
        error: impl std::error::Error + Send + Sync + 'static,
    ) -> Error {
        Error::Tls {
            message: message.into(),
            source: Some(Cause::new(error)),
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::InvalidArgument(m) => write!(f, "invalid argument: {m}"),
            Error::UnknownOption(m) => write!(f, "unknown option {m:?}"),
            Error::WrongState(m) => write!(f, "not allowed now: {m}"),
            Error::Xml(e) => write!(f, "{e}"),
            Error::InvalidJid(m) => write!(f, "invalid JID: {m}"),
            Error::Io { message, .. } => write!(f, "I/O error: {message}"),
            Error::Tls { message, .. } => write!(f, "TLS error: {message}"),
            Error::WouldDeadlock(m) => write!(f, "would deadlock: {m}"),
            Error::Timeout(m) => write!(f, "timed out: {m}"),
            Error::NoSession(m) => write!(f, "no stored session: {m}"),
            Error::Internal(m) => write!(f, "internal error: {m}"),
        }
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Error::Xml(e) => Some(e),
            Error::Io { source, .. } | Error::Tls { source, .. } => {
                source.as_ref().map(|c| c.get())
            }
            _ => None,
        }
    }
}

impl From<XmlError> for Error {
    fn from(e: XmlError) -> Error {
        Error::Xml(e)
    }
}

impl From<std::io::Error> for Error {
    fn from(e: std::io::Error) -> Error {
        Error::io_from(e.to_string(), e)
    }
}

/// The error behind an [`Error`], shared so that `Error` stays `Clone`.
/// Two causes are equal when they say the same thing.
#[derive(Clone)]
pub struct Cause(Arc<dyn std::error::Error + Send + Sync>);

impl Cause {
    fn new(error: impl std::error::Error + Send + Sync + 'static) -> Cause {
        Cause(Arc::new(error))
    }

    /// The error itself.
    pub fn get(&self) -> &(dyn std::error::Error + 'static) {
        &*self.0
    }
}

impl fmt::Debug for Cause {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&self.0, f)
    }
}

impl PartialEq for Cause {
    fn eq(&self, other: &Cause) -> bool {
        self.0.to_string() == other.0.to_string()
    }
}

impl Eq for Cause {}

/// A `Result` whose error is [`Error`].
pub type Result<T> = std::result::Result<T, Error>;

#[cfg(test)]
mod tests {
    use super::*;
    use std::error::Error as _;

    #[test]
    fn an_io_error_keeps_its_kind_and_source_and_its_text() {
        let os = std::io::Error::new(std::io::ErrorKind::ConnectionRefused, "refused");
        let e = Error::io_from(format!("connecting to 127.0.0.1:1: {os}"), os);
        assert_eq!(
            e.to_string(),
            "I/O error: connecting to 127.0.0.1:1: refused"
        );
        let Error::Io { kind, .. } = &e else {
            panic!("{e:?}");
        };
        assert_eq!(*kind, Some(std::io::ErrorKind::ConnectionRefused));
        assert_eq!(
            e.source().map(|s| s.to_string()).as_deref(),
            Some("refused")
        );
        assert_eq!(e.clone(), e);
        let from: Error = std::io::Error::from(std::io::ErrorKind::NotFound).into();
        assert!(matches!(
            from,
            Error::Io {
                kind: Some(std::io::ErrorKind::NotFound),
                ..
            }
        ));
        assert!(Error::io("a bad frame").source().is_none());
    }

    #[test]
    fn a_caught_panic_is_internal_not_io() {
        let e = Error::Internal("the engine panicked: boom".into());
        assert_eq!(e.to_string(), "internal error: the engine panicked: boom");
        assert!(e.source().is_none());
    }
}
