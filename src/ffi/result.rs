//! `epode_result`: the one return type of every fallible C function.
//! Numbers are part of the ABI: never reuse or renumber one.

use crate::error::Error;

/// The result of a fallible epode call. `EPODE_OK` is 0; every other value
/// names one kind of failure, and the detailed message is kept as the last
/// error (`epode_last_error`, `epode_conn_last_error`).
#[allow(non_camel_case_types)]
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum epode_result {
    EPODE_OK = 0,
    /// A required pointer argument was NULL.
    EPODE_ERR_NULL_ARG = 1,
    /// A string argument was not valid UTF-8.
    EPODE_ERR_INVALID_UTF8 = 2,
    /// XML given by the caller was not well-formed (or not allowed in XMPP).
    EPODE_ERR_MALFORMED_XML = 3,
    /// An argument had a value that is not allowed.
    EPODE_ERR_INVALID_ARG = 4,
    /// An option name that epode does not know.
    EPODE_ERR_UNKNOWN_OPTION = 5,
    /// The call is not allowed in the connection's current state.
    EPODE_ERR_WRONG_STATE = 6,
    /// The thing asked for (attribute, child, JID part …) does not exist.
    EPODE_ERR_NOT_FOUND = 7,
    /// The caller's buffer is too small; the needed length was written to `*len`.
    EPODE_ERR_BUFFER_TOO_SMALL = 8,
    /// A JID that is not valid.
    EPODE_ERR_INVALID_JID = 9,
    /// A bug inside epode was caught before it could cross into C.
    EPODE_ERR_PANIC = 10,
    /// An operating-system or network error.
    EPODE_ERR_IO = 11,
    /// The call would deadlock (e.g. freeing a connection from its own callback).
    EPODE_ERR_WOULD_DEADLOCK = 12,
    /// The operation did not finish in time.
    EPODE_ERR_TIMEOUT = 13,
    /// No stored session to restore (Strophe's StropheSessionError).
    EPODE_ERR_NO_SESSION = 14,
    /// TLS failed (certificate not trusted, handshake error).
    EPODE_ERR_TLS = 15,
    /// Any other failure; the last error says what.
    EPODE_ERR_OTHER = 16,
}

/// Every result with its NUL-terminated name, indexed by number.
pub(super) const NAMES: [(epode_result, &str); 17] = {
    use epode_result::*;
    [
        (EPODE_OK, "EPODE_OK\0"),
        (EPODE_ERR_NULL_ARG, "EPODE_ERR_NULL_ARG\0"),
        (EPODE_ERR_INVALID_UTF8, "EPODE_ERR_INVALID_UTF8\0"),
        (EPODE_ERR_MALFORMED_XML, "EPODE_ERR_MALFORMED_XML\0"),
        (EPODE_ERR_INVALID_ARG, "EPODE_ERR_INVALID_ARG\0"),
        (EPODE_ERR_UNKNOWN_OPTION, "EPODE_ERR_UNKNOWN_OPTION\0"),
        (EPODE_ERR_WRONG_STATE, "EPODE_ERR_WRONG_STATE\0"),
        (EPODE_ERR_NOT_FOUND, "EPODE_ERR_NOT_FOUND\0"),
        (EPODE_ERR_BUFFER_TOO_SMALL, "EPODE_ERR_BUFFER_TOO_SMALL\0"),
        (EPODE_ERR_INVALID_JID, "EPODE_ERR_INVALID_JID\0"),
        (EPODE_ERR_PANIC, "EPODE_ERR_PANIC\0"),
        (EPODE_ERR_IO, "EPODE_ERR_IO\0"),
        (EPODE_ERR_WOULD_DEADLOCK, "EPODE_ERR_WOULD_DEADLOCK\0"),
        (EPODE_ERR_TIMEOUT, "EPODE_ERR_TIMEOUT\0"),
        (EPODE_ERR_NO_SESSION, "EPODE_ERR_NO_SESSION\0"),
        (EPODE_ERR_TLS, "EPODE_ERR_TLS\0"),
        (EPODE_ERR_OTHER, "EPODE_ERR_OTHER\0"),
    ]
};

impl epode_result {
    /// The constant's name, e.g. `"EPODE_ERR_NULL_ARG"`.
    pub fn name(self) -> &'static str {
        let with_nul = NAMES[self as usize].1;
        &with_nul[..with_nul.len() - 1]
    }
}

/// The C code for a Rust error: one per variant, fixed (numbers are
/// never reused).
pub(super) fn error_code(e: &Error) -> epode_result {
    use epode_result::*;
    match e {
        Error::InvalidArgument(_) => EPODE_ERR_INVALID_ARG,
        Error::UnknownOption(_) => EPODE_ERR_UNKNOWN_OPTION,
        Error::WrongState(_) => EPODE_ERR_WRONG_STATE,
        Error::Xml(crate::xml::XmlError::InvalidUtf8) => EPODE_ERR_INVALID_UTF8,
        Error::Xml(_) => EPODE_ERR_MALFORMED_XML,
        Error::InvalidJid(_) => EPODE_ERR_INVALID_JID,
        Error::Io { .. } => EPODE_ERR_IO,
        Error::Tls { .. } => EPODE_ERR_TLS,
        Error::WouldDeadlock(_) => EPODE_ERR_WOULD_DEADLOCK,
        Error::Timeout(_) => EPODE_ERR_TIMEOUT,
        Error::NoSession(_) => EPODE_ERR_NO_SESSION,
        // A bug caught at the engine's boundary, as one caught at C's.
        Error::Internal(_) => EPODE_ERR_PANIC,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_are_dense() {
        for (n, (r, _)) in NAMES.iter().enumerate() {
            assert_eq!(*r as usize, n);
        }
    }

    #[test]
    fn rust_errors_map_to_their_codes() {
        use epode_result::*;
        assert_eq!(error_code(&Error::Internal("x".into())), EPODE_ERR_PANIC);
        assert_eq!(error_code(&Error::io("x")), EPODE_ERR_IO);
        let io = std::io::Error::from(std::io::ErrorKind::TimedOut);
        assert_eq!(error_code(&io.into()), EPODE_ERR_IO);
    }
}
