//! JID helpers for C: split, bare, XEP-0106 node escaping, and RFC 7622
//! validation, normalisation and comparison. Every function that answers
//! with text copies it into a caller buffer (see `epode_stanza_name` for
//! the buffer rules).

use super::guard::{c_str, copy_out, ffi, out_param, FfiError, FfiResult};
use super::result::epode_result;
use crate::jid;
use std::ffi::c_char;

/// A part of the JID (or node) at `jid_ptr`, copied out; `missing` names
/// it when `part` finds none.
///
/// # Safety
/// `jid_ptr` NULL or NUL-terminated; `buf`, `len` as for `copy_out`.
unsafe fn jid_part(
    jid_ptr: *const c_char,
    (buf, cap, len): (*mut c_char, usize, *mut usize),
    part: impl FnOnce(&str) -> Option<String>,
    missing: &str,
) -> FfiResult<()> {
    let text = c_str(jid_ptr, "jid")?;
    let value = part(text).ok_or_else(|| {
        FfiError::new(
            epode_result::EPODE_ERR_NOT_FOUND,
            format!("{text:?} has no {missing}"),
        )
    })?;
    copy_out(&value, buf, cap, len)
}

/// The node (local part) of `jid`; `EPODE_ERR_NOT_FOUND` if it has none.
///
/// **Ownership**: nothing is consumed; the caller keeps every argument.
///
/// **Lifetime**: `jid` NUL-terminated; `buf` valid for `cap` bytes (or NULL
/// with `cap` 0) and `len` NULL or writable, for the call only: the text is
/// copied.
///
/// **Thread**: any thread; never blocks.
///
/// **Errors**: EPODE_ERR_NULL_ARG, EPODE_ERR_INVALID_UTF8,
/// EPODE_ERR_NOT_FOUND, EPODE_ERR_BUFFER_TOO_SMALL.
#[no_mangle]
pub unsafe extern "C" fn epode_jid_node(
    jid: *const c_char,
    buf: *mut c_char,
    cap: usize,
    len: *mut usize,
) -> epode_result {
    ffi!(|| jid_part(
        jid,
        (buf, cap, len),
        |j| jid::node(j).map(str::to_owned),
        "node",
    ))
}

/// The domain of `jid`.
///
/// **Ownership**: nothing is consumed; the caller keeps every argument.
///
/// **Lifetime**: `jid` NUL-terminated; `buf` valid for `cap` bytes (or NULL
/// with `cap` 0) and `len` NULL or writable, for the call only: the text is
/// copied.
///
/// **Thread**: any thread; never blocks.
///
/// **Errors**: EPODE_ERR_NULL_ARG, EPODE_ERR_INVALID_UTF8,
/// EPODE_ERR_BUFFER_TOO_SMALL.
#[no_mangle]
pub unsafe extern "C" fn epode_jid_domain(
    jid: *const c_char,
    buf: *mut c_char,
    cap: usize,
    len: *mut usize,
) -> epode_result {
    ffi!(|| jid_part(
        jid,
        (buf, cap, len),
        |j| Some(jid::domain(j).to_owned()),
        "domain",
    ))
}

/// The resource of `jid`; `EPODE_ERR_NOT_FOUND` if it has none.
///
/// **Ownership**: nothing is consumed; the caller keeps every argument.
///
/// **Lifetime**: `jid` NUL-terminated; `buf` valid for `cap` bytes (or NULL
/// with `cap` 0) and `len` NULL or writable, for the call only: the text is
/// copied.
///
/// **Thread**: any thread; never blocks.
///
/// **Errors**: EPODE_ERR_NULL_ARG, EPODE_ERR_INVALID_UTF8,
/// EPODE_ERR_NOT_FOUND, EPODE_ERR_BUFFER_TOO_SMALL.
#[no_mangle]
pub unsafe extern "C" fn epode_jid_resource(
    jid: *const c_char,
    buf: *mut c_char,
    cap: usize,
    len: *mut usize,
) -> epode_result {
    ffi!(|| jid_part(
        jid,
        (buf, cap, len),
        |j| jid::resource(j).map(str::to_owned),
        "resource",
    ))
}

/// The bare JID (`node@domain` or `domain`) of `jid`.
///
/// **Ownership**: nothing is consumed; the caller keeps every argument.
///
/// **Lifetime**: `jid` NUL-terminated; `buf` valid for `cap` bytes (or NULL
/// with `cap` 0) and `len` NULL or writable, for the call only: the text is
/// copied.
///
/// **Thread**: any thread; never blocks.
///
/// **Errors**: EPODE_ERR_NULL_ARG, EPODE_ERR_INVALID_UTF8,
/// EPODE_ERR_BUFFER_TOO_SMALL.
#[no_mangle]
pub unsafe extern "C" fn epode_jid_bare(
    jid: *const c_char,
    buf: *mut c_char,
    cap: usize,
    len: *mut usize,
) -> epode_result {
    ffi!(|| jid_part(
        jid,
        (buf, cap, len),
        |j| Some(jid::bare(j).to_owned()),
        "bare JID",
    ))
}

/// XEP-0106 escaping of a node (`d'artagnan` → `d\27artagnan`).
///
/// **Ownership**: nothing is consumed; the caller keeps every argument.
///
/// **Lifetime**: `node` NUL-terminated; `buf` valid for `cap` bytes (or
/// NULL with `cap` 0) and `len` NULL or writable, for the call only: the
/// text is copied.
///
/// **Thread**: any thread; never blocks.
///
/// **Errors**: EPODE_ERR_NULL_ARG, EPODE_ERR_INVALID_UTF8,
/// EPODE_ERR_BUFFER_TOO_SMALL.
#[no_mangle]
pub unsafe extern "C" fn epode_jid_escape_node(
    node: *const c_char,
    buf: *mut c_char,
    cap: usize,
    len: *mut usize,
) -> epode_result {
    ffi!(|| jid_part(node, (buf, cap, len), |n| Some(jid::escape_node(n)), "node"))
}

/// XEP-0106 unescaping of a node (`d\27artagnan` → `d'artagnan`).
///
/// **Ownership**: nothing is consumed; the caller keeps every argument.
///
/// **Lifetime**: `node` NUL-terminated; `buf` valid for `cap` bytes (or
/// NULL with `cap` 0) and `len` NULL or writable, for the call only: the
/// text is copied.
///
/// **Thread**: any thread; never blocks.
///
/// **Errors**: EPODE_ERR_NULL_ARG, EPODE_ERR_INVALID_UTF8,
/// EPODE_ERR_BUFFER_TOO_SMALL.
#[no_mangle]
pub unsafe extern "C" fn epode_jid_unescape_node(
    node: *const c_char,
    buf: *mut c_char,
    cap: usize,
    len: *mut usize,
) -> epode_result {
    ffi!(|| jid_part(
        node,
        (buf, cap, len),
        |n| Some(jid::unescape_node(n)),
        "node"
    ))
}

/// `text` (from argument `what`) as a valid, normalised JID, or
/// `EPODE_ERR_INVALID_JID` with the reason.
///
/// # Safety
/// `ptr` NULL or NUL-terminated.
unsafe fn valid_jid(ptr: *const c_char, what: &str) -> Result<jid::Jid, FfiError> {
    let text = c_str(ptr, what)?;
    jid::Jid::parse(text).map_err(|e| {
        FfiError::new(
            epode_result::EPODE_ERR_INVALID_JID,
            format!("{text:?}: {e}"),
        )
    })
}

/// Checks that `jid` is a valid JID (RFC 7622: its shape, each part's
/// profile, and each part's length once normalised): `EPODE_OK` or
/// `EPODE_ERR_INVALID_JID` with the reason as last error.
///
/// **Ownership**: nothing is consumed; the caller keeps every argument.
///
/// **Lifetime**: `jid` NUL-terminated, for the call only.
///
/// **Thread**: any thread; never blocks.
///
/// **Errors**: EPODE_ERR_NULL_ARG, EPODE_ERR_INVALID_UTF8,
/// EPODE_ERR_INVALID_JID.
#[no_mangle]
pub unsafe extern "C" fn epode_jid_validate(jid: *const c_char) -> epode_result {
    ffi!(|| valid_jid(jid, "jid").map(drop))
}

/// Copies the normalised form of `jid` (RFC 7622), the form comparisons
/// use: the node by PRECIS UsernameCaseMapped, the domain by UTS-46 in
/// U-labels, the resource by OpaqueString (`Alice@LocalHost/Phone` →
/// `alice@localhost/Phone`). `EPODE_ERR_INVALID_JID` (the reason as last
/// error) if it is not a valid JID; buffer rules as for `epode_jid_node`.
///
/// **Ownership**: nothing is consumed; the caller keeps every argument.
///
/// **Lifetime**: `jid` NUL-terminated; `buf` valid for `cap` bytes (or NULL
/// with `cap` 0) and `len` NULL or writable, for the call only: the text is
/// copied.
///
/// **Thread**: any thread; never blocks.
///
/// **Errors**: EPODE_ERR_NULL_ARG, EPODE_ERR_INVALID_UTF8,
/// EPODE_ERR_INVALID_JID, EPODE_ERR_BUFFER_TOO_SMALL.
#[no_mangle]
pub unsafe extern "C" fn epode_jid_normalize(
    jid: *const c_char,
    buf: *mut c_char,
    cap: usize,
    len: *mut usize,
) -> epode_result {
    ffi!(|| copy_out(&valid_jid(jid, "jid")?.to_string(), buf, cap, len))
}

/// `*out_equal` = whether `a` and `b` are the same address once normalised
/// (`Alice@LocalHost` and `alice@localhost`; resources must be equal too).
/// `EPODE_ERR_INVALID_JID` if either is not a valid JID.
///
/// **Ownership**: nothing is consumed; the caller keeps every argument.
/// `*out_equal` is written only on success.
///
/// **Lifetime**: `a`, `b` NUL-terminated and `out_equal` writable, for the
/// call only.
///
/// **Thread**: any thread; never blocks.
///
/// **Errors**: EPODE_ERR_NULL_ARG, EPODE_ERR_INVALID_UTF8,
/// EPODE_ERR_INVALID_JID.
#[no_mangle]
pub unsafe extern "C" fn epode_jid_equal(
    a: *const c_char,
    b: *const c_char,
    out_equal: *mut bool,
) -> epode_result {
    ffi!(|| compare(a, b, out_equal, |a, b| a == b))
}

/// `*out_equal` = whether `a` and `b` are the same account: their bare JIDs
/// equal once normalised, whatever the resources (each must still be a
/// valid JID, or `EPODE_ERR_INVALID_JID`).
///
/// **Ownership**: nothing is consumed; the caller keeps every argument.
/// `*out_equal` is written only on success.
///
/// **Lifetime**: `a`, `b` NUL-terminated and `out_equal` writable, for the
/// call only.
///
/// **Thread**: any thread; never blocks.
///
/// **Errors**: EPODE_ERR_NULL_ARG, EPODE_ERR_INVALID_UTF8,
/// EPODE_ERR_INVALID_JID.
#[no_mangle]
pub unsafe extern "C" fn epode_jid_bare_equal(
    a: *const c_char,
    b: *const c_char,
    out_equal: *mut bool,
) -> epode_result {
    ffi!(|| compare(a, b, out_equal, jid::Jid::bare_eq))
}

/// `*out_equal` = `same(a, b)` for two valid JIDs.
///
/// # Safety
/// `a`, `b` NULL or NUL-terminated; `out_equal` NULL or writable.
unsafe fn compare(
    a: *const c_char,
    b: *const c_char,
    out_equal: *mut bool,
    same: fn(&jid::Jid, &jid::Jid) -> bool,
) -> FfiResult<()> {
    // Every argument is checked before anything is written.
    let out = out_param(out_equal, "out_equal")?;
    let (a, b) = (valid_jid(a, "a")?, valid_jid(b, "b")?);
    *out = same(&a, &b);
    Ok(())
}
