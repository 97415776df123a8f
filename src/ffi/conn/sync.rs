//! Sync mode from C: switching it on or off, and `epode_conn_run_once`, the
//! caller-driven loop that runs the engine on the caller's thread. Apart
//! because these alone hand the engine from its thread to the caller's.

use super::epode_conn;
use crate::ffi::guard::{ffi, FfiError};
use crate::ffi::result::epode_result;
use std::time::Duration;

/// Switches sync mode on an existing connection (Strophe's `options.sync`).
///
/// **Ownership**: nothing is consumed; the caller keeps every argument.
///
/// **Lifetime**: `conn` a live connection (from `epode_conn_new`, not yet
/// freed).
///
/// **Thread**: any thread; switching on blocks until the engine thread has
/// handed the engine over, and inside one of the connection's callbacks is
/// EPODE_ERR_WOULD_DEADLOCK (switching off is allowed there).
///
/// **Errors**: EPODE_ERR_NULL_ARG, EPODE_ERR_WOULD_DEADLOCK, EPODE_ERR_IO
/// (no engine thread).
#[no_mangle]
pub unsafe extern "C" fn epode_conn_set_sync(conn: *mut epode_conn, sync: bool) -> epode_result {
    ffi!(on conn, |c| c.conn.set_sync(sync).map_err(FfiError::from))
}

/// Sync mode: drives the engine on this thread for at most `timeout_ms`
/// (input, commands, timers; callbacks run here).
///
/// **Ownership**: nothing is consumed; the caller keeps every argument.
///
/// **Lifetime**: `conn` a live connection (from `epode_conn_new`, not yet
/// freed).
///
/// **Thread**: the thread that drives the connection in sync mode; blocks
/// for at most `timeout_ms`, running the callbacks on this thread. Inside
/// one of the connection's callbacks it is EPODE_ERR_WOULD_DEADLOCK.
///
/// **Errors**: EPODE_ERR_NULL_ARG, EPODE_ERR_WOULD_DEADLOCK,
/// EPODE_ERR_WRONG_STATE (not in sync mode), EPODE_ERR_IO, EPODE_ERR_TLS.
#[no_mangle]
pub unsafe extern "C" fn epode_conn_run_once(
    conn: *mut epode_conn,
    timeout_ms: u32,
) -> epode_result {
    ffi!(on conn, |c| {
        c.conn
            .run_once(Duration::from_millis(u64::from(timeout_ms)))
            .map_err(FfiError::from)
    })
}
