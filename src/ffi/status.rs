//! The connection status as C sees it: Strophe's numbers, prefixed names.

use crate::status::Status;

/// A connection status; the numbers are exactly Strophe.js's
/// `Strophe.Status` values. `epode_status_name()` names one.
#[allow(non_camel_case_types)]
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum epode_status {
    EPODE_STATUS_ERROR = 0,
    EPODE_STATUS_CONNECTING = 1,
    EPODE_STATUS_CONNFAIL = 2,
    EPODE_STATUS_AUTHENTICATING = 3,
    EPODE_STATUS_AUTHFAIL = 4,
    EPODE_STATUS_CONNECTED = 5,
    EPODE_STATUS_DISCONNECTED = 6,
    EPODE_STATUS_DISCONNECTING = 7,
    EPODE_STATUS_ATTACHED = 8,
    EPODE_STATUS_REDIRECT = 9,
    EPODE_STATUS_CONNTIMEOUT = 10,
    EPODE_STATUS_BINDREQUIRED = 11,
    EPODE_STATUS_ATTACHFAIL = 12,
    EPODE_STATUS_RECONNECTING = 13,
}

impl From<Status> for epode_status {
    fn from(s: Status) -> epode_status {
        use epode_status::*;
        const ALL: [epode_status; 14] = [
            EPODE_STATUS_ERROR,
            EPODE_STATUS_CONNECTING,
            EPODE_STATUS_CONNFAIL,
            EPODE_STATUS_AUTHENTICATING,
            EPODE_STATUS_AUTHFAIL,
            EPODE_STATUS_CONNECTED,
            EPODE_STATUS_DISCONNECTED,
            EPODE_STATUS_DISCONNECTING,
            EPODE_STATUS_ATTACHED,
            EPODE_STATUS_REDIRECT,
            EPODE_STATUS_CONNTIMEOUT,
            EPODE_STATUS_BINDREQUIRED,
            EPODE_STATUS_ATTACHFAIL,
            EPODE_STATUS_RECONNECTING,
        ];
        ALL[s as usize]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn c_statuses_keep_strophes_numbers() {
        for s in Status::ALL {
            assert_eq!(epode_status::from(s) as i32, s as i32);
            assert!(format!("{:?}", epode_status::from(s)).ends_with(s.name()));
        }
    }
}
