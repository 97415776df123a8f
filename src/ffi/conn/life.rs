//! A connection's life from C: `epode_conn_new` makes one, `epode_conn_free`
//! ends it, and `epode_conn_last_error` says why its last call failed. Kept
//! apart because these are the only functions that create or destroy the
//! handle the others borrow.

use super::epode_conn;
use crate::connection::Connection;
use crate::ffi::guard::{c_str, ffi, out_param, snprintf_out, FfiError};
use crate::ffi::options::epode_options;
use crate::ffi::result::epode_result;
use crate::mailbox::lock;
use crate::options::Options;
use std::ffi::c_char;
use std::sync::Mutex;

/// Creates a connection to `service` (ws://, wss://, http://, https://, or
/// a path with the `origin` option). `opts` may be NULL (defaults); the
/// connection copies it.
///
/// **Ownership**: `*out` receives a new connection, owned by the caller:
/// free it with `epode_conn_free`. Written only on success. `opts` is
/// copied, so the caller keeps (and frees) it.
///
/// **Lifetime**: `service` NUL-terminated and `opts` NULL or live, for the
/// call only; `out` writable.
///
/// **Thread**: any thread; never blocks (nothing is sent before
/// `epode_conn_connect`).
///
/// **Errors**: EPODE_ERR_NULL_ARG, EPODE_ERR_INVALID_UTF8,
/// EPODE_ERR_INVALID_ARG (a service URL epode cannot use).
#[no_mangle]
pub unsafe extern "C" fn epode_conn_new(
    service: *const c_char,
    opts: *const epode_options,
    out: *mut *mut epode_conn,
) -> epode_result {
    ffi!(|| {
        let out = out_param(out, "out")?;
        let service = c_str(service, "service")?;
        let options = match opts.as_ref() {
            Some(o) => o.inner.clone(),
            None => Options::default(),
        };
        let conn = Connection::new(service, options)?;
        *out = Box::into_raw(Box::new(epode_conn {
            conn,
            last_error: Mutex::new(String::new()),
        }));
        Ok(())
    })
}

/// Ends the session at once (no goodbye; use `epode_conn_disconnect` for
/// that), stops the engine, runs every pending `userdata_free` and frees
/// the connection. NULL does nothing. From inside one of the connection's
/// own callbacks it returns `EPODE_ERR_WOULD_DEADLOCK` and frees nothing.
///
/// **Ownership**: consumes `conn` on EPODE_OK, and runs every
/// `userdata_free` still pending on it; NULL does nothing. On an error
/// nothing is freed.
///
/// **Lifetime**: `conn` is not used again after EPODE_OK; no callback of it
/// runs after this returns.
///
/// **Thread**: any thread that is not running one of this connection's
/// callbacks (that is EPODE_ERR_WOULD_DEADLOCK); blocks until the engine
/// has stopped.
///
/// **Errors**: EPODE_ERR_WOULD_DEADLOCK.
#[no_mangle]
pub unsafe extern "C" fn epode_conn_free(conn: *mut epode_conn) -> epode_result {
    ffi!(value epode_result::EPODE_ERR_PANIC, || {
        if conn.is_null() {
            return epode_result::EPODE_OK;
        }
        let result = ffi!(on conn, |c| c.conn.close().map_err(FfiError::from));
        if result == epode_result::EPODE_OK {
            ffi!(free conn => epode_conn);
        }
        result
    })
}

/// The message of the last failed call on this connection, snprintf-style;
/// after a failure status whose condition is one of Strophe's fixed texts
/// (a WebSocket that could not be opened), the error behind it.
///
/// **Ownership**: nothing is consumed; the caller keeps every argument.
///
/// **Lifetime**: `conn` a live connection (from `epode_conn_new`, not yet
/// freed); `buf` valid for `cap` bytes (or NULL with `cap` 0), for the call
/// only.
///
/// **Thread**: any thread, also inside the connection's callbacks; never
/// blocks.
///
/// **Errors**: none: returns the message's full length (snprintf
/// semantics); "conn is NULL" for a NULL `conn`.
#[no_mangle]
pub unsafe extern "C" fn epode_conn_last_error(
    conn: *const epode_conn,
    buf: *mut c_char,
    cap: usize,
) -> usize {
    ffi!(value 0, || match conn.as_ref() {
        Some(c) => snprintf_out(&lock(&c.last_error), buf, cap),
        None => snprintf_out("conn is NULL", buf, cap),
    })
}
