//! Connection statuses, with exactly the numbers Strophe.js uses, so code
//! ported from Strophe (or comparing numbers across languages) stays right.

use std::fmt;

/// The status reported to the status callback (Strophe's `Strophe.Status`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Status {
    /// A stream error or a lost link ended the session (without
    /// `reconnect`, or past it); DISCONNECTED follows.
    Error = 0,
    /// The transport is being opened.
    Connecting = 1,
    /// The connection attempt failed (refused, TLS, HTTP error …).
    ConnFail = 2,
    /// SASL authentication is under way.
    Authenticating = 3,
    /// The server refused the credentials, or no mechanism fits.
    AuthFail = 4,
    /// The session is up: stanzas can be sent and received.
    Connected = 5,
    /// The session is over; every failure ends here too.
    Disconnected = 6,
    /// `disconnect()` was called; the session is being closed.
    Disconnecting = 7,
    /// An existing session was taken over (BOSH attach/restore, a worker's).
    Attached = 8,
    /// The server sent see-other-uri; connecting again there.
    Redirect = 9,
    /// No answer within the connect timeout.
    ConnTimeout = 10,
    /// Logged in with `explicitResourceBinding`: call `bind()`.
    BindRequired = 11,
    /// The session to attach to was not there.
    AttachFail = 12,
    /// The session was lost and a reconnection attempt is under way.
    Reconnecting = 13,
}

impl Status {
    /// Every status, in numeric order.
    pub const ALL: [Status; 14] = [
        Status::Error,
        Status::Connecting,
        Status::ConnFail,
        Status::Authenticating,
        Status::AuthFail,
        Status::Connected,
        Status::Disconnected,
        Status::Disconnecting,
        Status::Attached,
        Status::Redirect,
        Status::ConnTimeout,
        Status::BindRequired,
        Status::AttachFail,
        Status::Reconnecting,
    ];

    /// Strophe's constant name, e.g. `"CONNFAIL"`.
    pub fn name(self) -> &'static str {
        match self {
            Status::Error => "ERROR",
            Status::Connecting => "CONNECTING",
            Status::ConnFail => "CONNFAIL",
            Status::Authenticating => "AUTHENTICATING",
            Status::AuthFail => "AUTHFAIL",
            Status::Connected => "CONNECTED",
            Status::Disconnected => "DISCONNECTED",
            Status::Disconnecting => "DISCONNECTING",
            Status::Attached => "ATTACHED",
            Status::Redirect => "REDIRECT",
            Status::ConnTimeout => "CONNTIMEOUT",
            Status::BindRequired => "BINDREQUIRED",
            Status::AttachFail => "ATTACHFAIL",
            Status::Reconnecting => "RECONNECTING",
        }
    }

    /// A status that says the session attempt or the session failed.
    pub fn is_failure(self) -> bool {
        matches!(
            self,
            Status::Error
                | Status::ConnFail
                | Status::AuthFail
                | Status::ConnTimeout
                | Status::AttachFail
        )
    }

    /// The status with Strophe's number `n`, if there is one.
    pub fn from_number(n: i64) -> Option<Status> {
        usize::try_from(n)
            .ok()
            .and_then(|i| Status::ALL.get(i).copied())
    }
}

impl fmt::Display for Status {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_are_strophes() {
        let expected = [
            ("ERROR", 0),
            ("CONNECTING", 1),
            ("CONNFAIL", 2),
            ("AUTHENTICATING", 3),
            ("AUTHFAIL", 4),
            ("CONNECTED", 5),
            ("DISCONNECTED", 6),
            ("DISCONNECTING", 7),
            ("ATTACHED", 8),
            ("REDIRECT", 9),
            ("CONNTIMEOUT", 10),
            ("BINDREQUIRED", 11),
            ("ATTACHFAIL", 12),
            ("RECONNECTING", 13),
        ];
        for (name, n) in expected {
            let s = Status::from_number(n).expect("known number");
            assert_eq!(s.name(), name);
            assert_eq!(s as i64, n);
        }
        assert_eq!(Status::from_number(14), None);
        assert_eq!(Status::from_number(-1), None);
    }
}
