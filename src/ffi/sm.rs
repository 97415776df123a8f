//! Reconnection and XEP-0198 stream management from C: whether the
//! session was resumed, the state to resume it elsewhere, and who hears of
//! stanzas that may not have arrived.

use super::callback::{epode_free_cb, Registration};
use super::conn::epode_conn;
use super::conn::hooks::{epode_xml_cb, xml_hook};
use super::guard::{c_str, copy_out, ffi, out_param, FfiError};
use super::result::epode_result;
use std::ffi::{c_char, c_void};

/// Whether the session came back by XEP-0198 resumption (the last
/// CONNECTED carried the condition "resumed"): nothing was lost and
/// nothing needs fetching again.
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
pub unsafe extern "C" fn epode_conn_resumed(
    conn: *const epode_conn,
    out: *mut bool,
) -> epode_result {
    ffi!(on conn, |c| {
        *out_param(out, "out")? = c.connection().resumed();
        Ok(())
    })
}

/// Copies the state of a resumable session (its id, counters and the
/// stanzas the server has not acknowledged) as text, for
/// `epode_conn_set_sm_state` on another connection or in another process.
/// `EPODE_ERR_NOT_FOUND` when the session cannot be resumed. The text
/// holds the unacknowledged stanzas: keep it as private as the messages.
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
/// **Errors**: EPODE_ERR_NULL_ARG, EPODE_ERR_NOT_FOUND (nothing to resume),
/// EPODE_ERR_BUFFER_TOO_SMALL.
#[no_mangle]
pub unsafe extern "C" fn epode_conn_sm_state(
    conn: *const epode_conn,
    buf: *mut c_char,
    cap: usize,
    len: *mut usize,
) -> epode_result {
    ffi!(on conn, |c| {
        let state = c.connection().sm_state().ok_or_else(|| {
            FfiError::new(
                epode_result::EPODE_ERR_NOT_FOUND,
                "the session cannot be resumed".to_string(),
            )
        })?;
        let text = String::from_utf8_lossy(&state);
        copy_out(&text, buf, cap, len)
    })
}

/// Takes over a state from `epode_conn_sm_state`: the next
/// `epode_conn_connect` logs in and resumes that session (CONNECTED
/// "resumed"), or reports the unacknowledged stanzas to the unacked handler
/// and binds a new session. `EPODE_ERR_INVALID_ARG` for anything that is
/// not such a state; `EPODE_ERR_WRONG_STATE` once connecting.
///
/// **Ownership**: nothing is consumed; the caller keeps every argument.
/// `state` is copied.
///
/// **Lifetime**: `conn` a live connection (from `epode_conn_new`, not yet
/// freed); `state` NUL-terminated, for the call only.
///
/// **Thread**: any thread, also inside the connection's callbacks; never
/// blocks.
///
/// **Errors**: EPODE_ERR_NULL_ARG, EPODE_ERR_INVALID_UTF8,
/// EPODE_ERR_INVALID_ARG (not a state), EPODE_ERR_WRONG_STATE (already
/// connecting).
#[no_mangle]
pub unsafe extern "C" fn epode_conn_set_sm_state(
    conn: *mut epode_conn,
    state: *const c_char,
) -> epode_result {
    ffi!(on conn, |c| {
        let state = c_str(state, "state")?;
        c.connection()
            .set_sm_state(state.as_bytes())
            .map_err(FfiError::from)
    })
}

/// Sets (or, with a NULL callback, clears) the handler that hears of each
/// stanza that may not have arrived: when a lost session cannot be
/// resumed (each one the server had not acknowledged), or when
/// reconnection gives up (each one sent while reconnecting). It runs on the
/// engine thread; the stanza is borrowed for the call.
///
/// **Ownership**: `userdata` is owned by epode from the call on, also when
/// it fails: `userdata_free` (may be NULL) runs exactly once, when the hook
/// is replaced or cleared, when the connection is freed, or before this
/// returns if it fails or `callback` is NULL.
///
/// **Lifetime**: `conn` a live connection (from `epode_conn_new`, not yet
/// freed). The callback's pointers: see `epode_xml_cb`.
///
/// **Thread**: any thread, also inside the connection's callbacks; never
/// blocks.
///
/// **Errors**: EPODE_ERR_NULL_ARG (`conn`).
#[no_mangle]
pub unsafe extern "C" fn epode_conn_set_unacked_handler(
    conn: *mut epode_conn,
    callback: epode_xml_cb,
    userdata: *mut c_void,
    userdata_free: epode_free_cb,
) -> epode_result {
    let reg = Registration::new(conn, callback, userdata, userdata_free);
    ffi!(on conn, |c| {
        c.connection().set_unacked_handler(xml_hook(reg));
        Ok(())
    })
}
