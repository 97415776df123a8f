//! Connection options from C: set by Strophe name from text.

use super::guard::{c_str, copy_out, ffi, obj, obj_mut, out_param, FfiError};
use super::result::epode_result;
use crate::options::Options;
use std::ffi::c_char;

/// A set of connection options. Opaque; `epode_options_free` frees it.
#[allow(non_camel_case_types)]
pub struct epode_options {
    pub(crate) inner: Options,
}

/// Creates options with Strophe's defaults.
///
/// **Ownership**: `*out` receives new options, owned by the caller: free
/// them with `epode_options_free`. Written only on success.
///
/// **Lifetime**: `out` writable, for the call only.
///
/// **Thread**: any thread; never blocks.
///
/// **Errors**: EPODE_ERR_NULL_ARG.
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
/// `sync`, `pollable`, `customHeaders`, `cookies`, `keepalive`, `withCredentials`,
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
/// **Ownership**: nothing is consumed; the caller keeps every argument. The
/// options copy `key` and `value`.
///
/// **Lifetime**: `opts` live; `key` and `value` NUL-terminated, for the
/// call only.
///
/// **Thread**: any thread; one thread at a time per options object; never
/// blocks.
///
/// **Errors**: EPODE_ERR_NULL_ARG, EPODE_ERR_INVALID_UTF8,
/// EPODE_ERR_UNKNOWN_OPTION, EPODE_ERR_INVALID_ARG.
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

/// Copies option `key` of an options object, as `epode_conn_option` does.
///
/// **Ownership**: nothing is consumed; the caller keeps every argument.
///
/// **Lifetime**: `opts` live; `key` NUL-terminated; `buf` valid for `cap`
/// bytes (or NULL with `cap` 0) and `len` NULL or writable, for the call
/// only: the text is copied.
///
/// **Thread**: any thread; one thread at a time per options object; never
/// blocks.
///
/// **Errors**: EPODE_ERR_NULL_ARG, EPODE_ERR_INVALID_UTF8,
/// EPODE_ERR_UNKNOWN_OPTION, EPODE_ERR_BUFFER_TOO_SMALL.
#[no_mangle]
pub unsafe extern "C" fn epode_options_get(
    opts: *const epode_options,
    key: *const c_char,
    buf: *mut c_char,
    cap: usize,
    len: *mut usize,
) -> epode_result {
    ffi!(|| {
        let opts = obj(opts, "opts")?;
        let key = c_str(key, "key")?;
        let value = opts.inner.get(key).map_err(FfiError::from)?;
        copy_out(&value, buf, cap, len)
    })
}

/// Frees options. NULL does nothing. A connection keeps its own copy.
///
/// **Ownership**: consumes `opts`; NULL does nothing. Connections made from
/// them keep their own copy.
///
/// **Lifetime**: `opts` is not used again.
///
/// **Thread**: any thread, once no other thread uses `opts`; never blocks.
///
/// **Errors**: none.
#[no_mangle]
pub unsafe extern "C" fn epode_options_free(opts: *mut epode_options) {
    ffi!(free opts => epode_options)
}
