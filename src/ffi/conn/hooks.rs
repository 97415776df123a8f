//! Hooks from C: Strophe's rawInput/rawOutput (the text on the wire) and
//! xmlInput/xmlOutput (the elements), one slot each that a new callback
//! replaces and NULL clears; unlike handlers they never decide anything.

use super::{borrowed, epode_conn};
use crate::connection::Connection;
use crate::ffi::callback::{epode_free_cb, Registration};
use crate::ffi::guard::ffi;
use crate::ffi::result::epode_result;
use crate::ffi::stanza::epode_stanza;
use crate::xml::Element;
use std::ffi::{c_char, c_void, CString};

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
