//! Sync mode from C: switching it on or off, `epode_conn_run_once`, the
//! caller-driven loop that runs the engine on the caller's thread, and
//! pollable mode's descriptor and timeout for the caller's own loop.
//! Apart because these alone hand the engine from its thread to the caller's.

use super::epode_conn;
use crate::ffi::guard::{ffi, out_param, FfiError};
use crate::ffi::result::epode_result;
use std::ffi::c_int;
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

/// Pollable mode (option `pollable`): the descriptor to wait on for
/// readability (POLLIN/EPOLLIN) in the caller's own loop. While it is
/// readable, `epode_conn_run_once(conn, 0)` has work; it is
/// level-triggered, stays the same for the connection's life, and is
/// closed by `epode_conn_free` (never close it yourself).
///
/// **Ownership**: nothing is consumed; the caller keeps every argument.
/// The descriptor stays the connection's.
///
/// **Lifetime**: `conn` a live connection (from `epode_conn_new`, not yet
/// freed); `out_fd` valid for writes; the descriptor until `epode_conn_free`.
///
/// **Thread**: any thread; never blocks for long (the first call makes the
/// descriptor).
///
/// **Errors**: EPODE_ERR_NULL_ARG, EPODE_ERR_WRONG_STATE (not made with
/// `pollable`), EPODE_ERR_IO.
#[no_mangle]
pub unsafe extern "C" fn epode_conn_poll_fd(
    conn: *mut epode_conn,
    out_fd: *mut c_int,
) -> epode_result {
    ffi!(on conn, |c| {
        let out = out_param(out_fd, "out_fd")?;
        *out = c.conn.poll_fd().map_err(FfiError::from)?;
        Ok(())
    })
}

/// Pollable mode: how many milliseconds the caller's loop may wait on the
/// descriptor before `epode_conn_run_once(conn, 0)` is due anyway for a
/// timer; -1 when no timer is set (wait for the descriptor alone). Rounded
/// up, so a timer is never run early. Ask again after every step.
///
/// **Ownership**: nothing is consumed; the caller keeps every argument.
///
/// **Lifetime**: `conn` a live connection (from `epode_conn_new`, not yet
/// freed); `out_ms` valid for writes.
///
/// **Thread**: the thread that drives the connection; never blocks. Inside
/// one of the connection's callbacks it is EPODE_ERR_WOULD_DEADLOCK.
///
/// **Errors**: EPODE_ERR_NULL_ARG, EPODE_ERR_WRONG_STATE (not made with
/// `pollable`), EPODE_ERR_WOULD_DEADLOCK.
#[no_mangle]
pub unsafe extern "C" fn epode_conn_next_timeout(
    conn: *mut epode_conn,
    out_ms: *mut i64,
) -> epode_result {
    ffi!(on conn, |c| {
        let out = out_param(out_ms, "out_ms")?;
        *out = match c.conn.next_timeout().map_err(FfiError::from)? {
            None => -1,
            Some(t) => i64::try_from(t.as_micros().div_ceil(1000)).unwrap_or(i64::MAX),
        };
        Ok(())
    })
}
