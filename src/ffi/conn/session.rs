//! The session from C: logging in (`epode_conn_connect`), joining a session
//! that exists (`_attach`, `_attach_shared`, `_restore`) and ending it
//! (`_disconnect`). They share one thing: the status callback each of them
//! installs (or, for a disconnect, reports to), wrapped here once.

use super::{borrowed, epode_conn};
use crate::connection::Connection;
use crate::ffi::callback::{epode_free_cb, Bound, Registration};
use crate::ffi::guard::{c_str, ffi, opt_c_str, FfiError};
use crate::ffi::result::epode_result;
use crate::ffi::stanza::epode_stanza;
use crate::ffi::status::epode_status;
use crate::mailbox::lock;
use crate::status::Status;
use crate::xml::Element;
use std::ffi::{c_char, c_void, CString};
use std::ptr;

/// Status callback: `condition` may be NULL; `stanza` is the element that
/// caused the status (a stream error; for AUTHFAIL the SASL `<failure/>`
/// or the bind/session error `<iq/>`, …) or NULL.
///
/// **Lifetime**: `conn` is the connection, valid during the call (do not
/// free it here); `condition` (NULL or NUL-terminated) and `stanza` (NULL
/// or a borrowed stanza) are valid until the callback returns: copy what
/// you keep (`epode_stanza_clone`).
///
/// **Thread**: the connection's engine thread (in sync mode, the thread
/// inside `epode_conn_connect`, `_run_once`, …), one callback at a time,
/// with no epode lock held. It may call any epode function; those that
/// would wait for the engine itself (`epode_conn_free` of this connection,
/// `epode_conn_run_once`, `epode_conn_set_sync(…, true)`) return
/// EPODE_ERR_WOULD_DEADLOCK.
#[allow(non_camel_case_types)]
pub type epode_status_cb = Option<
    unsafe extern "C" fn(
        userdata: *mut c_void,
        conn: *mut epode_conn,
        status: epode_status,
        condition: *const c_char,
        stanza: *const epode_stanza,
    ),
>;

/// Logs in (Strophe's `connect`). `password` may be NULL (ANONYMOUS,
/// EXTERNAL); `authcid` may be NULL (the JID's node is used). Statuses go
/// to `callback`.
///
/// **Ownership**: `userdata` is owned by epode from the call on, also when
/// it fails: `userdata_free` (may be NULL) runs exactly once, when a later
/// `epode_conn_connect`, `_attach`, `_attach_shared` or `_restore` replaces
/// the status callback, when the connection is freed, or before this
/// returns if it fails. The strings are copied.
///
/// **Lifetime**: `conn` a live connection (from `epode_conn_new`, not yet
/// freed); `jid`, `password`, `authcid` NUL-terminated (or NULL where
/// allowed), for the call only. The callback's pointers: see
/// `epode_status_cb`.
///
/// **Thread**: any thread, also inside the connection's callbacks. In sync
/// mode it blocks until the session is up or has failed (inside a callback
/// it returns at once and the engine goes on after the callback); otherwise
/// it returns at once.
///
/// **Errors**: EPODE_ERR_NULL_ARG, EPODE_ERR_INVALID_UTF8,
/// EPODE_ERR_INVALID_JID, EPODE_ERR_WRONG_STATE (already connecting or
/// connected), EPODE_ERR_IO (a keepalive file that cannot be written, no
/// engine thread), EPODE_ERR_TIMEOUT (sync mode).
#[no_mangle]
pub unsafe extern "C" fn epode_conn_connect(
    conn: *mut epode_conn,
    jid: *const c_char,
    password: *const c_char,
    authcid: *const c_char,
    callback: epode_status_cb,
    userdata: *mut c_void,
    userdata_free: epode_free_cb,
) -> epode_result {
    let reg = Registration::new(conn, callback, userdata, userdata_free);
    ffi!(on conn, |c| {
        let jid = c_str(jid, "jid")?;
        let password = opt_c_str(password, "password")?;
        let authcid = opt_c_str(authcid, "authcid")?;
        let status_fn = status_closure(reg.required("callback")?);
        c.conn
            .connect_as(jid, password, authcid, status_fn)
            .map_err(FfiError::from)
    })
}

/// The C status callback's type, without the `Option` of NULL.
type StatusFn = unsafe extern "C" fn(
    *mut c_void,
    *mut epode_conn,
    epode_status,
    *const c_char,
    *const epode_stanza,
);

/// Wraps a C status callback as the engine's status closure.
fn status_closure(
    cb: Bound<StatusFn>,
) -> impl FnMut(&Connection, Status, Option<&str>, Option<&Element>) + Send + 'static {
    move |conn: &Connection, status: Status, condition: Option<&str>, elem: Option<&Element>| {
        let condition = condition.map(|s| CString::new(s.replace('\0', " ")).unwrap_or_default());
        if let Some(detail) = status.is_failure().then(|| conn.failure_detail()).flatten() {
            // SAFETY: the handle outlives its engine, which runs this; its
            // last_error is dropped after the connection (field order).
            if let Some(c) = unsafe { cb.conn().0.as_ref() } {
                *lock(&c.last_error) = detail;
            }
        }
        // SAFETY: the application gave us this callback for this userdata.
        unsafe {
            cb.call(|f, ud, handle| {
                f(
                    ud,
                    handle,
                    status.into(),
                    condition.as_ref().map_or(ptr::null(), |c| c.as_ptr()),
                    elem.map_or(ptr::null(), borrowed),
                )
            })
        }
    }
}

/// Strophe's `attach`: joins a BOSH session someone else created
/// (prebinding). `rid` is the next rid to use. Statuses: ATTACHED once the
/// server answered on the session, ATTACHFAIL if it is gone.
///
/// **Ownership**: `userdata` is owned by epode from the call on, also when
/// it fails: `userdata_free` (may be NULL) runs exactly once, when a later
/// `epode_conn_connect`, `_attach`, `_attach_shared` or `_restore` replaces
/// the status callback, when the connection is freed, or before this
/// returns if it fails. The strings are copied.
///
/// **Lifetime**: `conn` a live connection (from `epode_conn_new`, not yet
/// freed); `jid`, `sid` NUL-terminated, for the call only. The callback's
/// pointers: see `epode_status_cb`.
///
/// **Thread**: any thread, also inside the connection's callbacks. In sync
/// mode it blocks until ATTACHED or ATTACHFAIL (inside a callback it
/// returns at once and the engine goes on after the callback); otherwise it
/// returns at once.
///
/// **Errors**: EPODE_ERR_NULL_ARG, EPODE_ERR_INVALID_UTF8,
/// EPODE_ERR_INVALID_JID, EPODE_ERR_INVALID_ARG (an empty `sid`),
/// EPODE_ERR_WRONG_STATE (not BOSH, or already connected), EPODE_ERR_IO,
/// EPODE_ERR_TIMEOUT (sync mode).
#[no_mangle]
pub unsafe extern "C" fn epode_conn_attach(
    conn: *mut epode_conn,
    jid: *const c_char,
    sid: *const c_char,
    rid: u64,
    callback: epode_status_cb,
    userdata: *mut c_void,
    userdata_free: epode_free_cb,
) -> epode_result {
    let reg = Registration::new(conn, callback, userdata, userdata_free);
    ffi!(on conn, |c| {
        let jid = c_str(jid, "jid")?;
        let sid = c_str(sid, "sid")?;
        let status_fn = status_closure(reg.required("callback")?);
        c.conn
            .attach(jid, sid, rid, status_fn)
            .map_err(FfiError::from)
    })
}

/// Seed 000's attach: joins the session of the connection's `worker`
/// (a name in this process, or a Unix socket path shared by this user's
/// processes). The callback gets EPODE_STATUS_ATTACHED, with the session's
/// JID readable through `epode_conn_jid`, or EPODE_STATUS_ATTACHFAIL when
/// no session is up; this never logs in (`epode_conn_connect` does, and
/// itself attaches when the session of its account is already up).
/// `EPODE_ERR_WRONG_STATE` without the `worker` option.
///
/// **Ownership**: `userdata` is owned by epode from the call on, also when
/// it fails: `userdata_free` (may be NULL) runs exactly once, when a later
/// `epode_conn_connect`, `_attach`, `_attach_shared` or `_restore` replaces
/// the status callback, when the connection is freed, or before this
/// returns if it fails.
///
/// **Lifetime**: `conn` a live connection (from `epode_conn_new`, not yet
/// freed). The callback's pointers: see `epode_status_cb`.
///
/// **Thread**: any thread, also inside the connection's callbacks. In sync
/// mode it blocks until ATTACHED or ATTACHFAIL (inside a callback it
/// returns at once and the engine goes on after the callback); otherwise it
/// returns at once.
///
/// **Errors**: EPODE_ERR_NULL_ARG, EPODE_ERR_WRONG_STATE (no `worker`
/// option, or already connected), EPODE_ERR_IO.
#[no_mangle]
pub unsafe extern "C" fn epode_conn_attach_shared(
    conn: *mut epode_conn,
    callback: epode_status_cb,
    userdata: *mut c_void,
    userdata_free: epode_free_cb,
) -> epode_result {
    let reg = Registration::new(conn, callback, userdata, userdata_free);
    ffi!(on conn, |c| {
        let status_fn = status_closure(reg.required("callback")?);
        c.conn.attach_shared(status_fn).map_err(FfiError::from)
    })
}

/// Strophe's `restore`: attaches to the session the `keepalive` option
/// kept (in the keepalive file). `jid` may be NULL, a JID or a domain; it
/// must match the stored session. Without one: `EPODE_ERR_NO_SESSION`
/// (Strophe's StropheSessionError), and a login with `epode_conn_connect`
/// is the way on.
///
/// **Ownership**: `userdata` is owned by epode from the call on, also when
/// it fails: `userdata_free` (may be NULL) runs exactly once, when a later
/// `epode_conn_connect`, `_attach`, `_attach_shared` or `_restore` replaces
/// the status callback, when the connection is freed, or before this
/// returns if it fails. The string is copied.
///
/// **Lifetime**: `conn` a live connection (from `epode_conn_new`, not yet
/// freed); `jid` NULL or NUL-terminated, for the call only. The callback's
/// pointers: see `epode_status_cb`.
///
/// **Thread**: any thread, also inside the connection's callbacks. In sync
/// mode it blocks until ATTACHED or ATTACHFAIL (inside a callback it
/// returns at once and the engine goes on after the callback); otherwise it
/// returns at once.
///
/// **Errors**: EPODE_ERR_NULL_ARG, EPODE_ERR_INVALID_UTF8,
/// EPODE_ERR_INVALID_JID, EPODE_ERR_NO_SESSION, EPODE_ERR_WRONG_STATE (not
/// BOSH, or already connected), EPODE_ERR_IO.
#[no_mangle]
pub unsafe extern "C" fn epode_conn_restore(
    conn: *mut epode_conn,
    jid: *const c_char,
    callback: epode_status_cb,
    userdata: *mut c_void,
    userdata_free: epode_free_cb,
) -> epode_result {
    let reg = Registration::new(conn, callback, userdata, userdata_free);
    ffi!(on conn, |c| {
        let jid = opt_c_str(jid, "jid")?;
        let status_fn = status_closure(reg.required("callback")?);
        c.conn.restore(jid, status_fn).map_err(FfiError::from)
    })
}

/// Starts a graceful disconnect (Strophe's `disconnect(reason)`); `reason`
/// may be NULL. In sync mode returns when DISCONNECTED. Without a session,
/// as in Strophe, DISCONNECTING and DISCONNECTED follow at once (to the
/// last status callback, if there was one).
///
/// **Ownership**: nothing is consumed; the caller keeps every argument.
/// `reason` is copied.
///
/// **Lifetime**: `conn` a live connection (from `epode_conn_new`, not yet
/// freed); `reason` NULL or NUL-terminated, for the call only.
///
/// **Thread**: any thread, also inside the connection's callbacks. In sync
/// mode it blocks until DISCONNECTED (inside a callback it returns at
/// once); otherwise it returns at once.
///
/// **Errors**: EPODE_ERR_NULL_ARG, EPODE_ERR_INVALID_UTF8, EPODE_ERR_IO,
/// EPODE_ERR_TIMEOUT (sync mode).
#[no_mangle]
pub unsafe extern "C" fn epode_conn_disconnect(
    conn: *mut epode_conn,
    reason: *const c_char,
) -> epode_result {
    ffi!(on conn, |c| {
        let reason = opt_c_str(reason, "reason")?;
        c.conn.disconnect(reason).map_err(FfiError::from)
    })
}
