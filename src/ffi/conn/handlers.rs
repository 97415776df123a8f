//! Handlers from C: Strophe's `addHandler` (stanzas matched by filters),
//! `addTimedHandler` and `addProtocolErrorHandler`, with their deletion.
//! Each handler's return value says whether it stays, so the constants for
//! it and for the match flags live here too.

use super::{borrowed, epode_conn};
use crate::ffi::callback::{epode_free_cb, Registration};
use crate::ffi::guard::{c_str, ffi, opt_c_str, FfiError};
use crate::ffi::result::epode_result;
use crate::ffi::stanza::epode_stanza;
use crate::handler::{Keep, Matcher};
use std::ffi::{c_char, c_int, c_void};
use std::time::Duration;

/// A handler returns this to stay registered.
#[allow(dead_code)] // a #define of the header, which cbindgen reads
pub const EPODE_HANDLER_KEEP: c_int = 1;
/// A handler returns this to be removed.
pub const EPODE_HANDLER_REMOVE: c_int = 0;
/// `epode_conn_add_handler` flag: compare `from` by bare JID.
pub const EPODE_MATCH_BARE_FROM: u32 = 1;
/// `epode_conn_add_handler` flag: cut namespaces at '#' before comparing.
pub const EPODE_IGNORE_NS_FRAGMENT: u32 = 2;

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

/// A handler's comma-separated type filter. A lone `""` is no filter; in a
/// list, an empty entry is Strophe's `""`: the stanza has no type.
fn type_list(types: &str) -> Vec<String> {
    if types.trim().is_empty() {
        return Vec::new();
    }
    types.split(',').map(|s| s.trim().to_string()).collect()
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
