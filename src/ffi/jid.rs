//! JID helpers for C: split, bare, XEP-0106 node escaping.
//! Every function copies its answer into a caller buffer (see
//! `epode_stanza_name` for the buffer rules).

use super::guard::{c_str, copy_out, guard, FfiError};
use super::result::epode_result;
use crate::jid;
use std::ffi::c_char;

fn jid_part(
    jid_ptr: *const c_char,
    buf: *mut c_char,
    cap: usize,
    len: *mut usize,
    part: impl FnOnce(&str) -> Option<String>,
    missing: &str,
) -> epode_result {
    guard(|| {
        // SAFETY: the caller promises a NUL-terminated string or NULL.
        let text = unsafe { c_str(jid_ptr, "jid")? };
        let value = part(text).ok_or_else(|| {
            FfiError::new(
                epode_result::EPODE_ERR_NOT_FOUND,
                format!("{text:?} has no {missing}"),
            )
        })?;
        // SAFETY: the caller promises buf/len as documented.
        unsafe { copy_out(&value, buf, cap, len) }
    })
}

/// The node (local part) of `jid`; `EPODE_ERR_NOT_FOUND` if it has none.
///
/// # Safety
/// `jid` NUL-terminated; `buf` valid for `cap` bytes; `len` NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn epode_jid_node(
    jid: *const c_char,
    buf: *mut c_char,
    cap: usize,
    len: *mut usize,
) -> epode_result {
    jid_part(
        jid,
        buf,
        cap,
        len,
        |j| jid::node(j).map(str::to_owned),
        "node",
    )
}

/// The domain of `jid`.
///
/// # Safety
/// As for `epode_jid_node`.
#[no_mangle]
pub unsafe extern "C" fn epode_jid_domain(
    jid: *const c_char,
    buf: *mut c_char,
    cap: usize,
    len: *mut usize,
) -> epode_result {
    jid_part(
        jid,
        buf,
        cap,
        len,
        |j| Some(jid::domain(j).to_owned()),
        "domain",
    )
}

/// The resource of `jid`; `EPODE_ERR_NOT_FOUND` if it has none.
///
/// # Safety
/// As for `epode_jid_node`.
#[no_mangle]
pub unsafe extern "C" fn epode_jid_resource(
    jid: *const c_char,
    buf: *mut c_char,
    cap: usize,
    len: *mut usize,
) -> epode_result {
    jid_part(
        jid,
        buf,
        cap,
        len,
        |j| jid::resource(j).map(str::to_owned),
        "resource",
    )
}

/// The bare JID (`node@domain` or `domain`) of `jid`.
///
/// # Safety
/// As for `epode_jid_node`.
#[no_mangle]
pub unsafe extern "C" fn epode_jid_bare(
    jid: *const c_char,
    buf: *mut c_char,
    cap: usize,
    len: *mut usize,
) -> epode_result {
    jid_part(
        jid,
        buf,
        cap,
        len,
        |j| Some(jid::bare(j).to_owned()),
        "bare JID",
    )
}

/// XEP-0106 escaping of a node (`d'artagnan` → `d\27artagnan`).
///
/// # Safety
/// `node` NUL-terminated; `buf`/`len` as for `epode_jid_node`.
#[no_mangle]
pub unsafe extern "C" fn epode_jid_escape_node(
    node: *const c_char,
    buf: *mut c_char,
    cap: usize,
    len: *mut usize,
) -> epode_result {
    jid_part(node, buf, cap, len, |n| Some(jid::escape_node(n)), "node")
}

/// XEP-0106 unescaping of a node (`d\27artagnan` → `d'artagnan`).
///
/// # Safety
/// As for `epode_jid_escape_node`.
#[no_mangle]
pub unsafe extern "C" fn epode_jid_unescape_node(
    node: *const c_char,
    buf: *mut c_char,
    cap: usize,
    len: *mut usize,
) -> epode_result {
    jid_part(node, buf, cap, len, |n| Some(jid::unescape_node(n)), "node")
}

/// Checks that `jid` is a valid JID (RFC 7622 shape and lengths):
/// `EPODE_OK` or `EPODE_ERR_INVALID_JID` with the reason as last error.
///
/// # Safety
/// `jid` NUL-terminated.
#[no_mangle]
pub unsafe extern "C" fn epode_jid_validate(jid: *const c_char) -> epode_result {
    guard(|| {
        let text = c_str(jid, "jid")?;
        jid::Jid::parse(text).map(drop).map_err(|e| {
            FfiError::new(
                epode_result::EPODE_ERR_INVALID_JID,
                format!("{text:?}: {e}"),
            )
        })
    })
}
