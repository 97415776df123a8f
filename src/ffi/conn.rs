//! Connections from C: create, connect, send, handlers, hooks, the
//! caller-driven loop, getters and free.
//!
//! Callbacks run on the connection's engine thread (or, in sync mode, on
//! the thread inside `epode_conn_connect`/`_run_once`/…), one at a time.
//! Pointers passed to a callback (condition, stanza, text) are borrowed and
//! valid only until it returns.

use super::callback::{epode_free_cb, Bound, Registration};
use super::guard::{
    c_str, copy_out, ffi, opt_c_str, out_param, snprintf_out, FfiError, FfiResult, KeepsLastError,
};
use super::options::epode_options;
use super::result::epode_result;
use super::stanza::{epode_stanza, stanza_ref};
use super::status::epode_status;
use crate::connection::Connection;
use crate::handler::{Keep, Matcher};
use crate::mailbox::lock;
use crate::options::Options;
use crate::status::Status;
use crate::xml::Element;
use std::ffi::{c_char, c_int, c_void, CString};
use std::ptr;
use std::sync::Mutex;
use std::time::Duration;

/// An XMPP connection. Opaque; created by `epode_conn_new`, freed by `epode_conn_free`.
#[allow(non_camel_case_types)]
pub struct epode_conn {
    conn: Connection,
    last_error: Mutex<String>,
}

impl epode_conn {
    pub(crate) fn connection(&self) -> &Connection {
        &self.conn
    }
}

impl KeepsLastError for epode_conn {
    const WHAT: &'static str = "conn";
    fn keep_last_error(&self, message: &str) {
        message.clone_into(&mut lock(&self.last_error));
    }
}

/// A handler returns this to stay registered.
#[allow(dead_code)] // a #define of the header, which cbindgen reads
pub const EPODE_HANDLER_KEEP: c_int = 1;
/// A handler returns this to be removed.
pub const EPODE_HANDLER_REMOVE: c_int = 0;
/// `epode_conn_add_handler` flag: compare `from` by bare JID.
pub const EPODE_MATCH_BARE_FROM: u32 = 1;
/// `epode_conn_add_handler` flag: cut namespaces at '#' before comparing.
pub const EPODE_IGNORE_NS_FRAGMENT: u32 = 2;

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
/// Stanza handler: returns EPODE_HANDLER_KEEP or EPODE_HANDLER_REMOVE.
///
/// **Lifetime**: `conn` as for `epode_status_cb`; `stanza` is borrowed,
/// valid until the callback returns (`epode_stanza_clone` to keep it).
///
/// **Thread**: the connection's engine thread (in sync mode, the thread
/// inside `epode_conn_connect`, `_run_once`, …), one callback at a time,
/// with no epode lock held. It may call any epode function; those that
/// would wait for the engine itself (`epode_conn_free` of this connection,
/// `epode_conn_run_once`, `epode_conn_set_sync(…, true)`) return
/// EPODE_ERR_WOULD_DEADLOCK.
#[allow(non_camel_case_types)]
pub type epode_handler_cb = Option<
    unsafe extern "C" fn(
        userdata: *mut c_void,
        conn: *mut epode_conn,
        stanza: *const epode_stanza,
    ) -> c_int,
>;
/// Timed handler: returns EPODE_HANDLER_KEEP or EPODE_HANDLER_REMOVE.
///
/// **Lifetime**: `conn` as for `epode_status_cb`.
///
/// **Thread**: the connection's engine thread (in sync mode, the thread
/// inside `epode_conn_connect`, `_run_once`, …), one callback at a time,
/// with no epode lock held. It may call any epode function; those that
/// would wait for the engine itself (`epode_conn_free` of this connection,
/// `epode_conn_run_once`, `epode_conn_set_sync(…, true)`) return
/// EPODE_ERR_WOULD_DEADLOCK.
#[allow(non_camel_case_types)]
pub type epode_timed_cb =
    Option<unsafe extern "C" fn(userdata: *mut c_void, conn: *mut epode_conn) -> c_int>;
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
/// rawInput / rawOutput hook.
///
/// **Lifetime**: `conn` as for `epode_status_cb`; `text` (NUL-terminated)
/// is valid until the callback returns.
///
/// **Thread**: the connection's engine thread (in sync mode, the thread
/// inside `epode_conn_connect`, `_run_once`, …), one callback at a time,
/// with no epode lock held. It may call any epode function; those that
/// would wait for the engine itself (`epode_conn_free` of this connection,
/// `epode_conn_run_once`, `epode_conn_set_sync(…, true)`) return
/// EPODE_ERR_WOULD_DEADLOCK.
#[allow(non_camel_case_types)]
pub type epode_text_cb =
    Option<unsafe extern "C" fn(userdata: *mut c_void, conn: *mut epode_conn, text: *const c_char)>;
/// xmlInput / xmlOutput hook.
///
/// **Lifetime**: `conn` as for `epode_status_cb`; `stanza` is borrowed,
/// valid until the callback returns.
///
/// **Thread**: the connection's engine thread (in sync mode, the thread
/// inside `epode_conn_connect`, `_run_once`, …), one callback at a time,
/// with no epode lock held. It may call any epode function; those that
/// would wait for the engine itself (`epode_conn_free` of this connection,
/// `epode_conn_run_once`, `epode_conn_set_sync(…, true)`) return
/// EPODE_ERR_WOULD_DEADLOCK.
#[allow(non_camel_case_types)]
pub type epode_xml_cb = Option<
    unsafe extern "C" fn(userdata: *mut c_void, conn: *mut epode_conn, stanza: *const epode_stanza),
>;
/// Protocol error handler: `code` is the WebSocket close code or HTTP status.
///
/// **Lifetime**: `conn` as for `epode_status_cb`.
///
/// **Thread**: the connection's engine thread (in sync mode, the thread
/// inside `epode_conn_connect`, `_run_once`, …), one callback at a time,
/// with no epode lock held. It may call any epode function; those that
/// would wait for the engine itself (`epode_conn_free` of this connection,
/// `epode_conn_run_once`, `epode_conn_set_sync(…, true)`) return
/// EPODE_ERR_WOULD_DEADLOCK.
#[allow(non_camel_case_types)]
pub type epode_protocol_error_cb =
    Option<unsafe extern "C" fn(userdata: *mut c_void, conn: *mut epode_conn, code: c_int)>;

fn borrowed(elem: &Element) -> *const epode_stanza {
    (elem as *const Element).cast()
}

/// A handler's comma-separated type filter. A lone `""` is no filter; in a
/// list, an empty entry is Strophe's `""`: the stanza has no type.
fn type_list(types: &str) -> Vec<String> {
    if types.trim().is_empty() {
        return Vec::new();
    }
    types.split(',').map(|s| s.trim().to_string()).collect()
}

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

/// Strophe's `addHandler`. Each filter may be NULL or empty (matches
/// anything); `ns` matches the stanza's namespace or that of any element
/// inside it; `types` may list several types separated by commas, where an
/// empty entry stands for a stanza without a type (`"chat,"`: chat or
/// untyped; `""` alone: any type). `flags`:
/// EPODE_MATCH_BARE_FROM, EPODE_IGNORE_NS_FRAGMENT. `from` is compared
/// normalised (RFC 7622, see `epode_jid_normalize`); one that is not a valid
/// JID is EPODE_ERR_INVALID_JID, as it could never match. The handler id
/// goes to `*out_id` (may be NULL).
///
/// **Ownership**: `userdata` is owned by epode from the call on, also when
/// it fails: `userdata_free` (may be NULL) runs exactly once, when the
/// handler is removed (it returned EPODE_HANDLER_REMOVE, or
/// `epode_conn_delete_handler`), when the connection is freed, or before
/// this returns if it fails. The filters are copied.
///
/// **Lifetime**: `conn` a live connection (from `epode_conn_new`, not yet
/// freed); the filters NULL or NUL-terminated, for the call only; `out_id`
/// NULL or writable. The callback's pointers: see `epode_handler_cb`.
///
/// **Thread**: any thread, also inside the connection's callbacks; never
/// blocks. The handler applies from the next stanza.
///
/// **Errors**: EPODE_ERR_NULL_ARG, EPODE_ERR_INVALID_UTF8,
/// EPODE_ERR_INVALID_JID (`from`).
#[no_mangle]
#[allow(clippy::too_many_arguments)]
pub unsafe extern "C" fn epode_conn_add_handler(
    conn: *mut epode_conn,
    ns: *const c_char,
    name: *const c_char,
    types: *const c_char,
    id: *const c_char,
    from: *const c_char,
    flags: u32,
    callback: epode_handler_cb,
    userdata: *mut c_void,
    userdata_free: epode_free_cb,
    out_id: *mut u64,
) -> epode_result {
    let reg = Registration::new(conn, callback, userdata, userdata_free);
    ffi!(on conn, |c| {
        let cb = reg.required("callback")?;
        let matcher = Matcher {
            ns: opt_c_str(ns, "ns")?.map(str::to_string),
            name: opt_c_str(name, "name")?.map(str::to_string),
            types: opt_c_str(types, "types")?.map(type_list).unwrap_or_default(),
            id: opt_c_str(id, "id")?.map(str::to_string),
            from: opt_c_str(from, "from")?.map(str::to_string),
            match_bare_from_jid: flags & EPODE_MATCH_BARE_FROM != 0,
            ignore_namespace_fragment: flags & EPODE_IGNORE_NS_FRAGMENT != 0,
        };
        let hid = c.conn.add_handler(matcher, move |_, elem| {
            // SAFETY: the application gave us this callback for this userdata.
            let keep = unsafe { cb.call(|f, ud, handle| f(ud, handle, borrowed(elem))) };
            Keep::from(keep != EPODE_HANDLER_REMOVE)
        })?;
        if let Some(out) = out_id.as_mut() {
            *out = hid;
        }
        Ok(())
    })
}

/// Removes a handler by id (unknown ids are ignored, as in Strophe).
///
/// **Ownership**: nothing is consumed; the caller keeps every argument. The
/// handler's `userdata_free` runs once the engine has dropped it (on the
/// engine thread).
///
/// **Lifetime**: `conn` a live connection (from `epode_conn_new`, not yet
/// freed).
///
/// **Thread**: any thread, also inside the connection's callbacks; never
/// blocks.
///
/// **Errors**: EPODE_ERR_NULL_ARG.
#[no_mangle]
pub unsafe extern "C" fn epode_conn_delete_handler(
    conn: *mut epode_conn,
    handler_id: u64,
) -> epode_result {
    ffi!(on conn, |c| {
        c.conn.delete_handler(handler_id);
        Ok(())
    })
}

/// Strophe's `addTimedHandler`: `callback` every `period_ms` while the
/// session is up, until it returns EPODE_HANDLER_REMOVE.
///
/// **Ownership**: `userdata` is owned by epode from the call on, also when
/// it fails: `userdata_free` (may be NULL) runs exactly once, when the
/// handler is removed (it returned EPODE_HANDLER_REMOVE, or
/// `epode_conn_delete_timed_handler`), when the connection is freed, or
/// before this returns if it fails.
///
/// **Lifetime**: `conn` a live connection (from `epode_conn_new`, not yet
/// freed); `out_id` NULL or writable. The callback's pointers: see
/// `epode_timed_cb`.
///
/// **Thread**: any thread, also inside the connection's callbacks; never
/// blocks.
///
/// **Errors**: EPODE_ERR_NULL_ARG.
#[no_mangle]
pub unsafe extern "C" fn epode_conn_add_timed_handler(
    conn: *mut epode_conn,
    period_ms: u32,
    callback: epode_timed_cb,
    userdata: *mut c_void,
    userdata_free: epode_free_cb,
    out_id: *mut u64,
) -> epode_result {
    let reg = Registration::new(conn, callback, userdata, userdata_free);
    ffi!(on conn, |c| {
        let cb = reg.required("callback")?;
        let period = Duration::from_millis(u64::from(period_ms.max(1)));
        let hid = c.conn.add_timed_handler(period, move |_| {
            // SAFETY: the application gave us this callback for this userdata.
            let keep = unsafe { cb.call(|f, ud, handle| f(ud, handle)) };
            Keep::from(keep != EPODE_HANDLER_REMOVE)
        });
        if let Some(out) = out_id.as_mut() {
            *out = hid;
        }
        Ok(())
    })
}

/// Removes a timed handler by id.
///
/// **Ownership**: nothing is consumed; the caller keeps every argument. The
/// handler's `userdata_free` runs once the engine has dropped it (on the
/// engine thread).
///
/// **Lifetime**: `conn` a live connection (from `epode_conn_new`, not yet
/// freed).
///
/// **Thread**: any thread, also inside the connection's callbacks; never
/// blocks.
///
/// **Errors**: EPODE_ERR_NULL_ARG.
#[no_mangle]
pub unsafe extern "C" fn epode_conn_delete_timed_handler(
    conn: *mut epode_conn,
    handler_id: u64,
) -> epode_result {
    ffi!(on conn, |c| {
        c.conn.delete_timed_handler(handler_id);
        Ok(())
    })
}

/// Strophe's `addProtocolErrorHandler`: `protocol` is "websocket" (close
/// codes) or "HTTP" (BOSH status codes), in any case; another name, or a
/// code outside 0 to 65535, is `EPODE_ERR_INVALID_ARG`.
///
/// **Ownership**: `userdata` is owned by epode from the call on, also when
/// it fails: `userdata_free` (may be NULL) runs exactly once, when the
/// connection is freed, or before this returns if it fails. (Handlers are
/// never replaced: each one added stays until then.)
///
/// **Lifetime**: `conn` a live connection (from `epode_conn_new`, not yet
/// freed); `protocol` NUL-terminated, for the call only. The callback's
/// pointers: see `epode_protocol_error_cb`.
///
/// **Thread**: any thread, also inside the connection's callbacks; never
/// blocks.
///
/// **Errors**: EPODE_ERR_NULL_ARG, EPODE_ERR_INVALID_UTF8,
/// EPODE_ERR_INVALID_ARG (the protocol or the code).
#[no_mangle]
pub unsafe extern "C" fn epode_conn_add_protocol_error_handler(
    conn: *mut epode_conn,
    protocol: *const c_char,
    code: c_int,
    callback: epode_protocol_error_cb,
    userdata: *mut c_void,
    userdata_free: epode_free_cb,
) -> epode_result {
    let reg = Registration::new(conn, callback, userdata, userdata_free);
    ffi!(on conn, |c| {
        let protocol = c_str(protocol, "protocol")?;
        let cb = reg.required("callback")?;
        let code = u16::try_from(code).map_err(|_| {
            FfiError::new(
                epode_result::EPODE_ERR_INVALID_ARG,
                format!("{code} is no protocol status code"),
            )
        })?;
        c.conn
            .add_protocol_error_handler(protocol, code, move |_, code| {
                // SAFETY: the application gave us this callback for this userdata.
                unsafe { cb.call(|f, ud, handle| f(ud, handle, c_int::from(code))) }
            })
            .map_err(FfiError::from)
    })
}

/// A rawInput/rawOutput hook; a NULL callback clears it.
fn text_hook(
    reg: Registration<epode_text_cb>,
) -> Option<impl FnMut(&Connection, &str) + Send + 'static> {
    reg.optional().map(|cb| {
        move |_: &Connection, text: &str| {
            let text = CString::new(text.replace('\0', " ")).unwrap_or_default();
            // SAFETY: the application gave us this callback for this userdata.
            unsafe { cb.call(|f, ud, handle| f(ud, handle, text.as_ptr())) }
        }
    })
}

/// An xmlInput/xmlOutput (or unacked) hook; a NULL callback clears it.
pub(crate) fn xml_hook(
    reg: Registration<epode_xml_cb>,
) -> Option<impl FnMut(&Connection, &Element) + Send + 'static> {
    reg.optional().map(|cb| {
        move |_: &Connection, elem: &Element| {
            // SAFETY: the application gave us this callback for this userdata.
            unsafe { cb.call(|f, ud, handle| f(ud, handle, borrowed(elem))) }
        }
    })
}

/// Sets (or, with a NULL callback, clears) the rawInput hook.
///
/// **Ownership**: `userdata` is owned by epode from the call on, also when
/// it fails: `userdata_free` (may be NULL) runs exactly once, when the hook
/// is replaced or cleared, when the connection is freed, or before this
/// returns if it fails or `callback` is NULL.
///
/// **Lifetime**: `conn` a live connection (from `epode_conn_new`, not yet
/// freed). The callback's pointers: see `epode_text_cb`.
///
/// **Thread**: any thread, also inside the connection's callbacks; never
/// blocks.
///
/// **Errors**: EPODE_ERR_NULL_ARG (`conn`).
#[no_mangle]
pub unsafe extern "C" fn epode_conn_set_raw_input(
    conn: *mut epode_conn,
    callback: epode_text_cb,
    userdata: *mut c_void,
    userdata_free: epode_free_cb,
) -> epode_result {
    let reg = Registration::new(conn, callback, userdata, userdata_free);
    ffi!(on conn, |c| {
        c.conn.set_raw_input(text_hook(reg));
        Ok(())
    })
}

/// Sets (or clears) the rawOutput hook.
///
/// **Ownership**: `userdata` is owned by epode from the call on, also when
/// it fails: `userdata_free` (may be NULL) runs exactly once, when the hook
/// is replaced or cleared, when the connection is freed, or before this
/// returns if it fails or `callback` is NULL.
///
/// **Lifetime**: `conn` a live connection (from `epode_conn_new`, not yet
/// freed). The callback's pointers: see `epode_text_cb`.
///
/// **Thread**: any thread, also inside the connection's callbacks; never
/// blocks.
///
/// **Errors**: EPODE_ERR_NULL_ARG (`conn`).
#[no_mangle]
pub unsafe extern "C" fn epode_conn_set_raw_output(
    conn: *mut epode_conn,
    callback: epode_text_cb,
    userdata: *mut c_void,
    userdata_free: epode_free_cb,
) -> epode_result {
    let reg = Registration::new(conn, callback, userdata, userdata_free);
    ffi!(on conn, |c| {
        c.conn.set_raw_output(text_hook(reg));
        Ok(())
    })
}

/// Sets (or clears) the xmlInput hook.
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
pub unsafe extern "C" fn epode_conn_set_xml_input(
    conn: *mut epode_conn,
    callback: epode_xml_cb,
    userdata: *mut c_void,
    userdata_free: epode_free_cb,
) -> epode_result {
    let reg = Registration::new(conn, callback, userdata, userdata_free);
    ffi!(on conn, |c| {
        c.conn.set_xml_input(xml_hook(reg));
        Ok(())
    })
}

/// Sets (or clears) the xmlOutput hook.
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
pub unsafe extern "C" fn epode_conn_set_xml_output(
    conn: *mut epode_conn,
    callback: epode_xml_cb,
    userdata: *mut c_void,
    userdata_free: epode_free_cb,
) -> epode_result {
    let reg = Registration::new(conn, callback, userdata, userdata_free);
    ffi!(on conn, |c| {
        c.conn.set_xml_output(xml_hook(reg));
        Ok(())
    })
}

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
    ffi!(on conn, |c| copy_out(&c.conn.jid(), buf, cap, len))
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
    ffi!(on conn, |c| copy_out(&c.conn.authzid(), buf, cap, len))
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
    ffi!(on conn, |c| copy_out(&c.conn.domain(), buf, cap, len))
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
            (authenticated, c.conn.authenticated()),
            (connected, c.conn.connected()),
            (disconnecting, c.conn.disconnecting()),
            (paused, c.conn.paused()),
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
            .conn
            .status()
            .ok_or_else(|| FfiError::new(epode_result::EPODE_ERR_NOT_FOUND, "no status yet"))?;
        *out = status.into();
        Ok(())
    })
}

#[cfg(test)]
mod tests {
    use super::type_list;

    #[test]
    fn an_empty_entry_in_a_type_list_means_no_type() {
        assert!(type_list("").is_empty());
        assert!(type_list("  ").is_empty());
        assert_eq!(type_list("chat"), ["chat"]);
        assert_eq!(type_list("chat, normal"), ["chat", "normal"]);
        assert_eq!(type_list("chat,"), ["chat", ""]);
        assert_eq!(type_list(",headline"), ["", "headline"]);
    }
}
