//! The crate's error type. Each variant maps to one `epode_result` code.

use crate::xml::XmlError;
use std::fmt;

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
    Io(String),
    /// TLS failed.
    Tls(String),
    /// The call would wait for the engine that is running it.
    WouldDeadlock(String),
    /// The operation did not finish in time.
    Timeout(String),
    /// No stored session to restore (Strophe's StropheSessionError).
    NoSession(String),
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::InvalidArgument(m) => write!(f, "invalid argument: {m}"),
            Error::UnknownOption(m) => write!(f, "unknown option {m:?}"),
            Error::WrongState(m) => write!(f, "not allowed now: {m}"),
            Error::Xml(e) => write!(f, "{e}"),
            Error::InvalidJid(m) => write!(f, "invalid JID: {m}"),
            Error::Io(m) => write!(f, "I/O error: {m}"),
            Error::Tls(m) => write!(f, "TLS error: {m}"),
            Error::WouldDeadlock(m) => write!(f, "would deadlock: {m}"),
            Error::Timeout(m) => write!(f, "timed out: {m}"),
            Error::NoSession(m) => write!(f, "no stored session: {m}"),
        }
    }
}

impl std::error::Error for Error {}

impl From<XmlError> for Error {
    fn from(e: XmlError) -> Error {
        Error::Xml(e)
    }
}

impl From<std::io::Error> for Error {
    fn from(e: std::io::Error) -> Error {
        Error::Io(e.to_string())
    }
}

pub type Result<T> = std::result::Result<T, Error>;
