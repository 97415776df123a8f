//! Connection statuses, with exactly the numbers Strophe.js uses, so code
//! ported from Strophe (or comparing numbers across languages) stays right.

use std::fmt;

/// The status reported to the status callback (Strophe's `Strophe.Status`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Status {
    Error = 0,
    Connecting = 1,
    ConnFail = 2,
    Authenticating = 3,
    AuthFail = 4,
    Connected = 5,
    Disconnected = 6,
    Disconnecting = 7,
    Attached = 8,
    Redirect = 9,
    ConnTimeout = 10,
    BindRequired = 11,
    AttachFail = 12,
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
