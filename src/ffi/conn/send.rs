//! Sending from C: a stanza, raw XML, and Strophe's `sendIQ` and
//! `sendPresence`, whose answer callbacks share one userdata (built here).

use super::{borrowed, epode_conn};
use crate::connection::Connection;
use crate::ffi::callback::{epode_free_cb, Bound, Registration};
use crate::ffi::guard::{c_str, copy_out, ffi, FfiError, FfiResult};
use crate::ffi::result::epode_result;
use crate::ffi::stanza::{epode_stanza, stanza_ref};
use crate::xml::Element;
use std::ffi::{c_char, c_void};
use std::ptr;
use std::time::Duration;

/// Sends a copy of `stanza`; the caller keeps it.
///
/// **Ownership**: nothing is consumed; the caller keeps every argument.
/// `stanza` is copied: the caller frees it.
///
/// **Lifetime**: `conn` a live connection (from `epode_conn_new`, not yet
/// freed); `stanza` live, for the call only.
///
/// **Thread**: any thread, also inside the connection's callbacks. In sync
/// mode it blocks until the exchange that carries the stanza is done
/// (inside a callback it returns at once); otherwise it returns at once.
///
/// **Errors**: EPODE_ERR_NULL_ARG, EPODE_ERR_WRONG_STATE (not connected),
/// EPODE_ERR_IO, EPODE_ERR_TIMEOUT (sync mode).
#[no_mangle]
pub unsafe extern "C" fn epode_conn_send(
    conn: *mut epode_conn,
    stanza: *const epode_stanza,
) -> epode_result {
    ffi!(on conn, |c| {
        let stanza = stanza_ref(stanza, "stanza")?;
        c.conn.send(stanza).map_err(FfiError::from)
    })
}

/// Sends raw XML, exactly as written: one complete, well-formed element
/// that XMPP allows (what `epode_stanza_parse` accepts), or
/// EPODE_ERR_MALFORMED_XML and nothing sent; the connection stays usable.
///
/// **Ownership**: nothing is consumed; the caller keeps every argument.
/// `xml` is copied.
///
/// **Lifetime**: `conn` a live connection (from `epode_conn_new`, not yet
/// freed); `xml` NUL-terminated, for the call only.
///
/// **Thread**: as for `epode_conn_send`.
///
/// **Errors**: EPODE_ERR_NULL_ARG, EPODE_ERR_INVALID_UTF8,
/// EPODE_ERR_MALFORMED_XML (nothing sent), EPODE_ERR_WRONG_STATE,
/// EPODE_ERR_IO, EPODE_ERR_TIMEOUT (sync mode).
#[no_mangle]
pub unsafe extern "C" fn epode_conn_send_raw(
    conn: *mut epode_conn,
    xml: *const c_char,
) -> epode_result {
    ffi!(on conn, |c| {
        let xml = c_str(xml, "xml")?;
        c.conn.send_raw(xml).map_err(FfiError::from)
    })
}

/// IQ answer callback; `stanza` is NULL when the IQ timed out or the session ended.
///
/// **Lifetime**: `conn` as for `epode_status_cb`; `stanza` (NULL or
/// borrowed) is valid until the callback returns.
///
/// **Thread**: the connection's engine thread (in sync mode, the thread
/// inside `epode_conn_connect`, `_run_once`, …), one callback at a time,
/// with no epode lock held. It may call any epode function; those that
/// would wait for the engine itself (`epode_conn_free` of this connection,
/// `epode_conn_run_once`, `epode_conn_set_sync(…, true)`) return
/// EPODE_ERR_WOULD_DEADLOCK.
#[allow(non_camel_case_types)]
pub type epode_iq_cb = Option<
    unsafe extern "C" fn(userdata: *mut c_void, conn: *mut epode_conn, stanza: *const epode_stanza),
>;

/// The closure sendIQ/sendPresence run with the answer.
type AnswerFn = Box<dyn FnOnce(&Connection, Option<&Element>) + Send + 'static>;

/// Builds the two closures of sendIQ/sendPresence around one userdata:
/// each may be NULL, and the userdata is freed when both are gone.
fn answer_callbacks(cbs: Bound<(epode_iq_cb, epode_iq_cb)>) -> (AnswerFn, AnswerFn) {
    let answer = |pick: fn((epode_iq_cb, epode_iq_cb)) -> epode_iq_cb| {
        let cbs = cbs.clone();
        Box::new(move |_: &Connection, elem: Option<&Element>| {
            // SAFETY: the application gave us these callbacks for this userdata.
            unsafe {
                cbs.call(|pair, ud, handle| {
                    if let Some(cb) = pick(pair) {
                        cb(ud, handle, elem.map_or(ptr::null(), borrowed))
                    }
                })
            }
        }) as AnswerFn
    };
    (answer(|p| p.0), answer(|p| p.1))
}

/// sendIQ and sendPresence: `stanza` sent with its answer callbacks.
///
/// # Safety
/// `stanza` NULL or live; `id_buf` NULL or valid for `id_cap` bytes.
unsafe fn send_tracked(
    c: &epode_conn,
    stanza: *const epode_stanza,
    reg: Registration<(epode_iq_cb, epode_iq_cb)>,
    timeout_ms: u32,
    (id_buf, id_cap): (*mut c_char, usize),
    presence: bool,
) -> FfiResult<()> {
    {
        let stanza = stanza_ref(stanza, "stanza")?.clone();
        let (ok, err) = answer_callbacks(reg.bind());
        let timeout = (timeout_ms > 0).then(|| Duration::from_millis(u64::from(timeout_ms)));
        let id = if presence {
            c.conn.send_presence(stanza, ok, err, timeout)
        } else {
            c.conn.send_iq(stanza, ok, err, timeout)
        }?;
        if !id_buf.is_null() {
            copy_out(&id, id_buf, id_cap, ptr::null_mut())?;
        }
        Ok(())
    }
}

/// Strophe's `sendIQ`: sends `iq` (an id is added when missing) and calls
/// `on_result` or `on_error` (either may be NULL) once with the answer;
/// `on_error` gets NULL on timeout (`timeout_ms`, 0 = none) or disconnect.
/// The id is copied to `id_buf` when it is not NULL.
///
/// **Ownership**: `userdata` is owned by epode from the call on, also when
/// it fails: `userdata_free` (may be NULL) runs exactly once, after the
/// answer was delivered (to `on_result`, or to `on_error` on an error, a
/// timeout or the end of the session), when the connection is freed, or
/// before this returns if it fails. `iq` is copied: the caller frees it.
///
/// **Lifetime**: `conn` a live connection (from `epode_conn_new`, not yet
/// freed); `iq` live, for the call only; `id_buf` NULL or valid for
/// `id_cap` bytes. The callbacks' pointers: see `epode_iq_cb`.
///
/// **Thread**: as for `epode_conn_send`; the answer comes on the engine
/// thread.
///
/// **Errors**: EPODE_ERR_NULL_ARG, EPODE_ERR_INVALID_JID (its `to`),
/// EPODE_ERR_WRONG_STATE, EPODE_ERR_BUFFER_TOO_SMALL (the id; the IQ is
/// sent all the same), EPODE_ERR_IO, EPODE_ERR_TIMEOUT (sync mode).
#[no_mangle]
#[allow(clippy::too_many_arguments)]
pub unsafe extern "C" fn epode_conn_send_iq(
    conn: *mut epode_conn,
    iq: *const epode_stanza,
    on_result: epode_iq_cb,
    on_error: epode_iq_cb,
    userdata: *mut c_void,
    userdata_free: epode_free_cb,
    timeout_ms: u32,
    id_buf: *mut c_char,
    id_cap: usize,
) -> epode_result {
    let reg = Registration::new(conn, (on_result, on_error), userdata, userdata_free);
    ffi!(on conn, |c| send_tracked(c, iq, reg, timeout_ms, (id_buf, id_cap), false))
}

/// Strophe's `sendPresence`: as `epode_conn_send_iq`, for a presence.
///
/// **Ownership**: `userdata` is owned by epode from the call on, also when
/// it fails: `userdata_free` (may be NULL) runs exactly once, after the
/// answer was delivered (to `on_result`, or to `on_error` on an error, a
/// timeout or the end of the session), when the connection is freed, or
/// before this returns if it fails. `presence` is copied: the caller frees
/// it.
///
/// **Lifetime**: as for `epode_conn_send_iq`, with `presence` for `iq`.
///
/// **Thread**: as for `epode_conn_send_iq`.
///
/// **Errors**: as for `epode_conn_send_iq`.
#[no_mangle]
#[allow(clippy::too_many_arguments)]
pub unsafe extern "C" fn epode_conn_send_presence(
    conn: *mut epode_conn,
    presence: *const epode_stanza,
    on_result: epode_iq_cb,
    on_error: epode_iq_cb,
    userdata: *mut c_void,
    userdata_free: epode_free_cb,
    timeout_ms: u32,
    id_buf: *mut c_char,
    id_cap: usize,
) -> epode_result {
    let reg = Registration::new(conn, (on_result, on_error), userdata, userdata_free);
    ffi!(on conn, |c| send_tracked(c, presence, reg, timeout_ms, (id_buf, id_cap), true))
}
