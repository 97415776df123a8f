//! The session's progress steered from C: binding the resource after
//! BINDREQUIRED, holding output (`pause`) and letting it go (`resume`,
//! `flush`). Each is a single step the application takes when it chooses.

use super::epode_conn;
use crate::ffi::guard::{ffi, FfiError};
use crate::ffi::result::epode_result;

/// Binds the resource after BINDREQUIRED (explicitResourceBinding).
///
/// **Ownership**: nothing is consumed; the caller keeps every argument.
///
/// **Lifetime**: `conn` a live connection (from `epode_conn_new`, not yet
/// freed).
///
/// **Thread**: any thread, also inside the connection's callbacks
/// (typically the BINDREQUIRED one); never blocks.
///
/// **Errors**: EPODE_ERR_NULL_ARG, EPODE_ERR_WRONG_STATE (not after
/// BINDREQUIRED).
#[no_mangle]
pub unsafe extern "C" fn epode_conn_bind(conn: *mut epode_conn) -> epode_result {
    ffi!(on conn, |c| c.conn.bind().map_err(FfiError::from))
}

/// Holds outgoing stanzas until `epode_conn_resume` (Strophe's `pause`).
///
/// **Ownership**: nothing is consumed; the caller keeps every argument.
///
/// **Lifetime**: `conn` a live connection (from `epode_conn_new`, not yet
/// freed).
///
/// **Thread**: any thread, also inside the connection's callbacks; never
/// blocks.
///
/// **Errors**: EPODE_ERR_NULL_ARG.
#[no_mangle]
pub unsafe extern "C" fn epode_conn_pause(conn: *mut epode_conn) -> epode_result {
    ffi!(on conn, |c| {
        c.conn.pause();
        Ok(())
    })
}

/// Sends what `pause` held.
///
/// **Ownership**: nothing is consumed; the caller keeps every argument.
///
/// **Lifetime**: `conn` a live connection (from `epode_conn_new`, not yet
/// freed).
///
/// **Thread**: as for `epode_conn_send`.
///
/// **Errors**: EPODE_ERR_NULL_ARG, EPODE_ERR_IO, EPODE_ERR_TIMEOUT (sync
/// mode).
#[no_mangle]
pub unsafe extern "C" fn epode_conn_resume(conn: *mut epode_conn) -> epode_result {
    ffi!(on conn, |c| c.conn.resume().map_err(FfiError::from))
}

/// Writes everything queued now; in sync mode returns when written.
///
/// **Ownership**: nothing is consumed; the caller keeps every argument.
///
/// **Lifetime**: `conn` a live connection (from `epode_conn_new`, not yet
/// freed).
///
/// **Thread**: as for `epode_conn_send`.
///
/// **Errors**: EPODE_ERR_NULL_ARG, EPODE_ERR_IO, EPODE_ERR_TIMEOUT (sync
/// mode).
#[no_mangle]
pub unsafe extern "C" fn epode_conn_flush(conn: *mut epode_conn) -> epode_result {
    ffi!(on conn, |c| c.conn.flush().map_err(FfiError::from))
}
