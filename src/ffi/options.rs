//! Connection options from C: set by Strophe name from text.

use super::guard::{c_str, ffi, obj_mut, out_param, FfiError};
use super::result::epode_result;
use crate::error::Error;
use crate::options::Options;
use std::ffi::c_char;

/// A set of connection options. Opaque; `epode_options_free` frees it.
#[allow(non_camel_case_types)]
pub struct epode_options {
    pub(crate) inner: Options,
}

pub(crate) fn error_code(e: &Error) -> epode_result {
    use epode_result::*;
    match e {
        Error::InvalidArgument(_) => EPODE_ERR_INVALID_ARG,
        Error::UnknownOption(_) => EPODE_ERR_UNKNOWN_OPTION,
        Error::WrongState(_) => EPODE_ERR_WRONG_STATE,
        Error::Xml(crate::xml::XmlError::InvalidUtf8) => EPODE_ERR_INVALID_UTF8,
        Error::Xml(_) => EPODE_ERR_MALFORMED_XML,
        Error::InvalidJid(_) => EPODE_ERR_INVALID_JID,
        Error::Io(_) => EPODE_ERR_IO,
        Error::Tls(_) => EPODE_ERR_TLS,
        Error::WouldDeadlock(_) => EPODE_ERR_WOULD_DEADLOCK,
        Error::Timeout(_) => EPODE_ERR_TIMEOUT,
        Error::NoSession(_) => EPODE_ERR_NO_SESSION,
    }
}

impl From<Error> for FfiError {
    fn from(e: Error) -> FfiError {
        FfiError::new(error_code(&e), e.to_string())
    }
}

/// Creates options with Strophe's defaults.
///
/// # Safety
/// `out` is valid for writes.
#[no_mangle]
pub unsafe extern "C" fn epode_options_new(out: *mut *mut epode_options) -> epode_result {
    ffi!(|| {
        let out = out_param(out, "out")?;
        *out = Box::into_raw(Box::new(epode_options {
            inner: Options::default(),
        }));
        Ok(())
    })
}

/// Sets an option by its Strophe name (`mechanisms`, `protocol`, `worker`,
/// `sync`, `customHeaders`, `cookies`, `keepalive`, `withCredentials`,
/// `contentType`, `explicitResourceBinding`, `maxRetries`, `wait`, `hold`,
/// `TIMEOUT`, `SECONDARY_TIMEOUT`, `disconnection_timeout`) or one of
/// epode's own (`origin`, `ca_file`, `accept_invalid_certs`,
/// `keepalive_path`, `connect_timeout`, `resource`, `route`, `strip`,
/// `reconnect`, `reconnect_delay`, `reconnect_max_delay`,
/// `streamManagement`, `max_stanza_bytes`, `max_depth`,
/// `max_send_queue_bytes`, `pingInterval`, `pingTimeout`). List options add one entry per call. An
/// unknown name is `EPODE_ERR_UNKNOWN_OPTION`; a bad value, or a number
/// outside the option's range (`epode_last_error` names it, e.g. TIMEOUT
/// 1.0 to 10.0, milliseconds up to 86400000), `EPODE_ERR_INVALID_ARG`;
/// either way nothing changes.
///
/// # Safety
/// `opts` a live options object; `key` and `value` NUL-terminated.
#[no_mangle]
pub unsafe extern "C" fn epode_options_set(
    opts: *mut epode_options,
    key: *const c_char,
    value: *const c_char,
) -> epode_result {
    ffi!(|| {
        let opts = obj_mut(opts, "opts")?;
        let key = c_str(key, "key")?;
        let value = c_str(value, "value")?;
        opts.inner.set(key, value).map_err(FfiError::from)
    })
}

/// Frees options. NULL does nothing. A connection keeps its own copy.
///
/// # Safety
/// `opts` is NULL or live options not freed before.
#[no_mangle]
pub unsafe extern "C" fn epode_options_free(opts: *mut epode_options) {
    ffi!(free opts => epode_options)
}
