//! Getters of a connection from C, in one place because they only read:
//! first the session's state (JIDs, flags, the last status), then its
//! settings, what a Strophe user reads from `conn.service`,
//! `conn.maxRetries`, `conn.options.*`. All may be called from any
//! thread, also inside callbacks.

use super::conn::epode_conn;
use super::guard::{c_str, copy_out, ffi, out_param, FfiError};
use super::result::epode_result;
use super::status::epode_status;
use std::ffi::c_char;

/// Copies the session's full JID ("" before connect).
///
/// **Ownership**: nothing is consumed; the caller keeps every argument.
///
/// **Lifetime**: `conn` a live connection (from `epode_conn_new`, not yet
/// freed); `buf` valid for `cap` bytes (or NULL with `cap` 0) and `len`
/// NULL or writable, for the call only: the text is copied.
///
/// **Thread**: any thread, also inside the connection's callbacks; never
/// blocks.
///
/// **Errors**: EPODE_ERR_NULL_ARG, EPODE_ERR_BUFFER_TOO_SMALL (`*len` says
/// how much is needed).
#[no_mangle]
pub unsafe extern "C" fn epode_conn_jid(
    conn: *const epode_conn,
    buf: *mut c_char,
    cap: usize,
    len: *mut usize,
) -> epode_result {
    ffi!(on conn, |c| copy_out(&c.connection().jid(), buf, cap, len))
}

/// Copies the authzid (the bare JID given to connect).
///
/// **Ownership**: nothing is consumed; the caller keeps every argument.
///
/// **Lifetime**: `conn` a live connection (from `epode_conn_new`, not yet
/// freed); `buf` valid for `cap` bytes (or NULL with `cap` 0) and `len`
/// NULL or writable, for the call only: the text is copied.
///
/// **Thread**: any thread, also inside the connection's callbacks; never
/// blocks.
///
/// **Errors**: EPODE_ERR_NULL_ARG, EPODE_ERR_BUFFER_TOO_SMALL (`*len` says
/// how much is needed).
#[no_mangle]
pub unsafe extern "C" fn epode_conn_authzid(
    conn: *const epode_conn,
    buf: *mut c_char,
    cap: usize,
    len: *mut usize,
) -> epode_result {
    ffi!(on conn, |c| copy_out(&c.connection().authzid(), buf, cap, len))
}

/// Copies the domain of the session.
///
/// **Ownership**: nothing is consumed; the caller keeps every argument.
///
/// **Lifetime**: `conn` a live connection (from `epode_conn_new`, not yet
/// freed); `buf` valid for `cap` bytes (or NULL with `cap` 0) and `len`
/// NULL or writable, for the call only: the text is copied.
///
/// **Thread**: any thread, also inside the connection's callbacks; never
/// blocks.
///
/// **Errors**: EPODE_ERR_NULL_ARG, EPODE_ERR_BUFFER_TOO_SMALL (`*len` says
/// how much is needed).
#[no_mangle]
pub unsafe extern "C" fn epode_conn_domain(
    conn: *const epode_conn,
    buf: *mut c_char,
    cap: usize,
    len: *mut usize,
) -> epode_result {
    ffi!(on conn, |c| copy_out(&c.connection().domain(), buf, cap, len))
}

/// The connection's flags: authenticated, connected (a session is under
/// way), disconnecting, paused. Any out-pointer may be NULL.
///
/// **Ownership**: nothing is consumed; the caller keeps every argument.
///
/// **Lifetime**: `conn` a live connection (from `epode_conn_new`, not yet
/// freed); each out-pointer NULL or writable, for the call only.
///
/// **Thread**: any thread, also inside the connection's callbacks; never
/// blocks.
///
/// **Errors**: EPODE_ERR_NULL_ARG (`conn`).
#[no_mangle]
pub unsafe extern "C" fn epode_conn_flags(
    conn: *const epode_conn,
    authenticated: *mut bool,
    connected: *mut bool,
    disconnecting: *mut bool,
    paused: *mut bool,
) -> epode_result {
    ffi!(on conn, |c| {
        let pairs = [
            (authenticated, c.connection().authenticated()),
            (connected, c.connection().connected()),
            (disconnecting, c.connection().disconnecting()),
            (paused, c.connection().paused()),
        ];
        for (ptr, value) in pairs {
            if let Some(p) = ptr.as_mut() {
                *p = value;
            }
        }
        Ok(())
    })
}

/// The last status reported (`EPODE_ERR_NOT_FOUND` before any).
///
/// **Ownership**: nothing is consumed; the caller keeps every argument.
/// `*out` is written only on success.
///
/// **Lifetime**: `conn` a live connection (from `epode_conn_new`, not yet
/// freed); `out` writable, for the call only.
///
/// **Thread**: any thread, also inside the connection's callbacks; never
/// blocks.
///
/// **Errors**: EPODE_ERR_NULL_ARG, EPODE_ERR_NOT_FOUND (no status yet).
#[no_mangle]
pub unsafe extern "C" fn epode_conn_status(
    conn: *const epode_conn,
    out: *mut epode_status,
) -> epode_result {
    ffi!(on conn, |c| {
        let out = out_param(out, "out")?;
        let status = c
            .connection()
            .status()
            .ok_or_else(|| FfiError::new(epode_result::EPODE_ERR_NOT_FOUND, "no status yet"))?;
        *out = status.into();
        Ok(())
    })
}

/// Copies the service URL in use (absolute, as resolved from a relative
/// path and `origin`; after a see-other-uri redirect, where it led).
///
/// **Ownership**: nothing is consumed; the caller keeps every argument.
///
/// **Lifetime**: `conn` a live connection (from `epode_conn_new`, not yet
/// freed); `buf` valid for `cap` bytes (or NULL with `cap` 0) and `len`
/// NULL or writable, for the call only: the text is copied.
///
/// **Thread**: any thread, also inside the connection's callbacks; never
/// blocks.
///
/// **Errors**: EPODE_ERR_NULL_ARG, EPODE_ERR_BUFFER_TOO_SMALL (`*len` says
/// how much is needed).
#[no_mangle]
pub unsafe extern "C" fn epode_conn_service(
    conn: *const epode_conn,
    buf: *mut c_char,
    cap: usize,
    len: *mut usize,
) -> epode_result {
    ffi!(on conn, |c| copy_out(&c.connection().service(), buf, cap, len))
}

/// Strophe's `maxRetries` (the option's value; default 5).
///
/// **Ownership**: nothing is consumed; the caller keeps every argument.
/// `*out` is written only on success.
///
/// **Lifetime**: `conn` a live connection (from `epode_conn_new`, not yet
/// freed); `out` writable, for the call only.
///
/// **Thread**: any thread, also inside the connection's callbacks; never
/// blocks.
///
/// **Errors**: EPODE_ERR_NULL_ARG.
#[no_mangle]
pub unsafe extern "C" fn epode_conn_max_retries(
    conn: *const epode_conn,
    out: *mut u32,
) -> epode_result {
    ffi!(on conn, |c| {
        *out_param(out, "out")? = c.connection().max_retries();
        Ok(())
    })
}

/// Strophe's `disconnection_timeout` in milliseconds: how long
/// `epode_conn_disconnect` waits for the server (default 3000).
///
/// **Ownership**: nothing is consumed; the caller keeps every argument.
/// `*out` is written only on success.
///
/// **Lifetime**: `conn` a live connection (from `epode_conn_new`, not yet
/// freed); `out` writable, for the call only.
///
/// **Thread**: any thread, also inside the connection's callbacks; never
/// blocks.
///
/// **Errors**: EPODE_ERR_NULL_ARG.
#[no_mangle]
pub unsafe extern "C" fn epode_conn_disconnection_timeout(
    conn: *const epode_conn,
    out: *mut u64,
) -> epode_result {
    ffi!(on conn, |c| {
        let ms = c.connection().disconnection_timeout().as_millis();
        *out_param(out, "out")? = u64::try_from(ms).unwrap_or(u64::MAX);
        Ok(())
    })
}

/// Copies the connection's option `key` (any name `epode_options_set`
/// takes) as text that `epode_options_set` accepts back: "true"/"false",
/// numbers, durations in milliseconds, "" when unset (`mechanisms` "":
/// every built-in allowed), one line per entry for `customHeaders` and
/// `cookies`. `sync` is the current mode (see `epode_conn_set_sync`). An
/// unknown name is EPODE_ERR_UNKNOWN_OPTION.
///
/// **Ownership**: nothing is consumed; the caller keeps every argument.
///
/// **Lifetime**: `conn` a live connection (from `epode_conn_new`, not yet
/// freed); `key` NUL-terminated; `buf` valid for `cap` bytes (or NULL with
/// `cap` 0) and `len` NULL or writable, for the call only: the text is
/// copied.
///
/// **Thread**: any thread, also inside the connection's callbacks; never
/// blocks.
///
/// **Errors**: EPODE_ERR_NULL_ARG, EPODE_ERR_INVALID_UTF8,
/// EPODE_ERR_UNKNOWN_OPTION, EPODE_ERR_BUFFER_TOO_SMALL.
#[no_mangle]
pub unsafe extern "C" fn epode_conn_option(
    conn: *const epode_conn,
    key: *const c_char,
    buf: *mut c_char,
    cap: usize,
    len: *mut usize,
) -> epode_result {
    ffi!(on conn, |c| {
        let key = c_str(key, "key")?;
        let value = c.connection().option(key).map_err(FfiError::from)?;
        copy_out(&value, buf, cap, len)
    })
}
