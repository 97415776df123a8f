//! The stanza API: parse, build, read and serialize XML elements from C.
//!
//! An `epode_stanza *` from `_new`, `_parse`, `_clone` or
//! `epode_builder_finish` is owned by the caller and freed with
//! `epode_stanza_free`. A `const epode_stanza *` from `_child` or
//! `_find_child` is borrowed from its parent: valid until the parent is
//! modified or freed, never freed by itself.

use super::guard::{
    c_str, copy_out, ffi, into_c_string, obj, obj_mut, opt_c_str, out_param, FfiError, FfiResult,
};
use super::result::epode_result;
use crate::xml::{parse_element, Element, XmlError};
use std::ffi::c_char;

/// An XML element (a stanza or any part of one). Opaque.
#[allow(non_camel_case_types)]
pub struct epode_stanza {
    _opaque: [u8; 0],
}

pub(crate) fn stanza_ref<'a>(ptr: *const epode_stanza, what: &str) -> FfiResult<&'a Element> {
    // SAFETY: every epode_stanza pointer handed to C is an Element in disguise.
    unsafe { obj(ptr.cast::<Element>(), what) }
}

fn stanza_mut<'a>(ptr: *mut epode_stanza, what: &str) -> FfiResult<&'a mut Element> {
    // SAFETY: as in stanza_ref.
    unsafe { obj_mut(ptr.cast::<Element>(), what) }
}

pub(crate) fn into_handle(elem: Element) -> *mut epode_stanza {
    Box::into_raw(Box::new(elem)).cast()
}

fn borrowed_handle(elem: &Element) -> *const epode_stanza {
    (elem as *const Element).cast()
}

pub(crate) fn xml_error(err: XmlError) -> FfiError {
    FfiError::new(epode_result::EPODE_ERR_MALFORMED_XML, err.to_string())
}

fn not_found(what: String) -> FfiError {
    FfiError::new(epode_result::EPODE_ERR_NOT_FOUND, what)
}

/// Checks a name given by C for an element or attribute: non-empty, and
/// free of characters XML never allows in names.
pub(crate) fn check_name(name: &str) -> FfiResult<()> {
    let bad = name.is_empty()
        || name.starts_with(|c: char| c.is_ascii_digit() || c == '-' || c == '.')
        || name.chars().any(|c| {
            c.is_whitespace()
                || matches!(
                    c,
                    '<' | '>' | '&' | '"' | '\'' | '/' | '=' | '\0'..='\u{1f}'
                )
        });
    if bad {
        return Err(FfiError::new(
            epode_result::EPODE_ERR_INVALID_ARG,
            format!("{name:?} is not a valid XML name"),
        ));
    }
    Ok(())
}

/// The lead bytes of every character `check_text` refuses: the controls
/// and 0xEF.
static SUSPECT: [bool; 256] = {
    let mut m = [false; 256];
    let mut b = 0;
    while b < 0x20 {
        m[b] = true;
        b += 1;
    }
    m[0xEF] = true;
    m
};

/// Checks text given by C: XML 1.0 cannot carry most control characters,
/// so refuse them here rather than send a stanza the server will reject.
pub(crate) fn check_text(text: &str, what: &str) -> FfiResult<()> {
    // Every character refused starts with a control byte or 0xEF (U+FFFE,
    // U+FFFF): most text has neither, and bytes are checked far faster
    // than characters are decoded (this ran on every builder call). Tab
    // and line ends take the slow path.
    if !crate::xml::any_marked(text.as_bytes(), &SUSPECT) {
        return Ok(());
    }
    match text
        .chars()
        .find(|&c| matches!(c, '\0'..='\u{8}' | '\u{b}' | '\u{c}' | '\u{e}'..='\u{1f}' | '\u{fffe}' | '\u{ffff}'))
    {
        Some(c) => Err(FfiError::new(
            epode_result::EPODE_ERR_INVALID_ARG,
            format!("{what} contains U+{:04X}, which XML does not allow", c as u32),
        )),
        None => Ok(()),
    }
}

/// Parses one complete XML element from a NUL-terminated UTF-8 string.
/// On success `*out` owns a new stanza; on failure it is not written and
/// the last error says what is wrong.
///
/// The XML must be fit to send as written, as for `epode_conn_send_raw`:
/// a comment, processing instruction, XML declaration or DTD (which RFC
/// 6120 §11.1 forbids in XMPP), a byte order mark, a CDATA section (write
/// the text escaped), an element in the reserved `xml` prefix, an entity
/// other than the five predefined ones or a reference to a character XML
/// 1.0 does not allow is EPODE_ERR_MALFORMED_XML, like XML that is not
/// well-formed.
///
/// **Ownership**: `*out` receives a new stanza, owned by the caller: free
/// it with `epode_stanza_free`. Written only on success.
///
/// **Lifetime**: `xml` NUL-terminated, for the call only; `out` writable.
///
/// **Thread**: any thread; never blocks.
///
/// **Errors**: EPODE_ERR_NULL_ARG, EPODE_ERR_INVALID_UTF8,
/// EPODE_ERR_MALFORMED_XML.
#[no_mangle]
pub unsafe extern "C" fn epode_stanza_parse(
    xml: *const c_char,
    out: *mut *mut epode_stanza,
) -> epode_result {
    ffi!(|| {
        let out = out_param(out, "out")?;
        let text = c_str(xml, "xml")?;
        let elem = parse_element(text).map_err(xml_error)?;
        *out = into_handle(elem);
        Ok(())
    })
}

/// Creates an empty element named `name`.
///
/// **Ownership**: `*out` receives a new stanza, owned by the caller: free
/// it with `epode_stanza_free`. Written only on success.
///
/// **Lifetime**: `name` NUL-terminated, for the call only; `out` writable.
///
/// **Thread**: any thread; never blocks.
///
/// **Errors**: EPODE_ERR_NULL_ARG, EPODE_ERR_INVALID_UTF8,
/// EPODE_ERR_INVALID_ARG (not an XML name).
#[no_mangle]
pub unsafe extern "C" fn epode_stanza_new(
    name: *const c_char,
    out: *mut *mut epode_stanza,
) -> epode_result {
    ffi!(|| {
        let out = out_param(out, "out")?;
        let name = c_str(name, "name")?;
        check_name(name)?;
        *out = into_handle(Element::new(name));
        Ok(())
    })
}

/// Deep-copies a stanza (owned or borrowed) into a new owned one.
///
/// **Ownership**: `*out` receives a new stanza, owned by the caller: free
/// it with `epode_stanza_free`; the caller keeps `stanza`. Written only on
/// success.
///
/// **Lifetime**: `stanza` live (owned or borrowed, also one given to a
/// callback), for the call only; `out` writable.
///
/// **Thread**: any thread; one thread at a time per stanza or builder (see
/// Threading); never blocks.
///
/// **Errors**: EPODE_ERR_NULL_ARG.
#[no_mangle]
pub unsafe extern "C" fn epode_stanza_clone(
    stanza: *const epode_stanza,
    out: *mut *mut epode_stanza,
) -> epode_result {
    ffi!(|| {
        let out = out_param(out, "out")?;
        *out = into_handle(stanza_ref(stanza, "stanza")?.clone());
        Ok(())
    })
}

/// Frees an owned stanza. NULL does nothing. Never pass a borrowed one.
///
/// **Ownership**: consumes `stanza`, an owned one (from `_new`, `_parse`,
/// `_clone`, `epode_builder_finish`); NULL does nothing. Never a borrowed
/// one.
///
/// **Lifetime**: `stanza` and every child borrowed from it are not used
/// again.
///
/// **Thread**: any thread; one thread at a time per stanza or builder (see
/// Threading); never blocks.
///
/// **Errors**: none.
#[no_mangle]
pub unsafe extern "C" fn epode_stanza_free(stanza: *mut epode_stanza) {
    ffi!(free stanza => Element)
}

/// Copies the element's name (as written, e.g. `stream:features`) into `buf`.
/// `*len` (may be NULL) receives the length without the NUL, also when the
/// buffer is too small (`EPODE_ERR_BUFFER_TOO_SMALL`).
///
/// **Ownership**: nothing is consumed; the caller keeps every argument.
///
/// **Lifetime**: `stanza` live; `buf` valid for `cap` bytes (or NULL with
/// `cap` 0) and `len` NULL or writable, for the call only: the text is
/// copied.
///
/// **Thread**: any thread; one thread at a time per stanza or builder (see
/// Threading); never blocks.
///
/// **Errors**: EPODE_ERR_NULL_ARG, EPODE_ERR_BUFFER_TOO_SMALL (`*len` says
/// how much is needed).
#[no_mangle]
pub unsafe extern "C" fn epode_stanza_name(
    stanza: *const epode_stanza,
    buf: *mut c_char,
    cap: usize,
    len: *mut usize,
) -> epode_result {
    ffi!(|| copy_out(stanza_ref(stanza, "stanza")?.name(), buf, cap, len))
}

/// Copies the value of attribute `name` into `buf` (`EPODE_ERR_NOT_FOUND`
/// when the element has none). Buffer rules as for `epode_stanza_name`.
///
/// **Ownership**: nothing is consumed; the caller keeps every argument.
///
/// **Lifetime**: `stanza` live; `name` NUL-terminated; `buf` valid for
/// `cap` bytes (or NULL with `cap` 0) and `len` NULL or writable, for the
/// call only: the text is copied.
///
/// **Thread**: any thread; one thread at a time per stanza or builder (see
/// Threading); never blocks.
///
/// **Errors**: EPODE_ERR_NULL_ARG, EPODE_ERR_INVALID_UTF8,
/// EPODE_ERR_NOT_FOUND, EPODE_ERR_BUFFER_TOO_SMALL.
#[no_mangle]
pub unsafe extern "C" fn epode_stanza_attr(
    stanza: *const epode_stanza,
    name: *const c_char,
    buf: *mut c_char,
    cap: usize,
    len: *mut usize,
) -> epode_result {
    ffi!(|| {
        let elem = stanza_ref(stanza, "stanza")?;
        let name = c_str(name, "name")?;
        let value = elem
            .attr(name)
            .ok_or_else(|| not_found(format!("<{}> has no attribute {name:?}", elem.name())))?;
        copy_out(value, buf, cap, len)
    })
}

/// The number of attributes (namespace declarations included).
///
/// **Ownership**: nothing is consumed; the caller keeps every argument.
/// `*out` is written only on success.
///
/// **Lifetime**: `stanza` live; `out` writable, for the call only.
///
/// **Thread**: any thread; one thread at a time per stanza or builder (see
/// Threading); never blocks.
///
/// **Errors**: EPODE_ERR_NULL_ARG.
#[no_mangle]
pub unsafe extern "C" fn epode_stanza_attr_count(
    stanza: *const epode_stanza,
    out: *mut usize,
) -> epode_result {
    ffi!(|| {
        let out = out_param(out, "out")?;
        *out = stanza_ref(stanza, "stanza")?.attrs().count();
        Ok(())
    })
}

/// Copies the name of the attribute at `index` (document order) into `buf`.
///
/// **Ownership**: nothing is consumed; the caller keeps every argument.
///
/// **Lifetime**: `stanza` live; `buf` valid for `cap` bytes (or NULL with
/// `cap` 0) and `len` NULL or writable, for the call only: the text is
/// copied.
///
/// **Thread**: any thread; one thread at a time per stanza or builder (see
/// Threading); never blocks.
///
/// **Errors**: EPODE_ERR_NULL_ARG, EPODE_ERR_NOT_FOUND (no such index),
/// EPODE_ERR_BUFFER_TOO_SMALL.
#[no_mangle]
pub unsafe extern "C" fn epode_stanza_attr_name_at(
    stanza: *const epode_stanza,
    index: usize,
    buf: *mut c_char,
    cap: usize,
    len: *mut usize,
) -> epode_result {
    ffi!(|| {
        let elem = stanza_ref(stanza, "stanza")?;
        let (name, _) = elem
            .attrs()
            .nth(index)
            .ok_or_else(|| not_found(format!("<{}> has no attribute #{index}", elem.name())))?;
        copy_out(name, buf, cap, len)
    })
}

/// Sets attribute `name` to `value` (keeping its place if it exists);
/// a NULL `value` removes the attribute.
///
/// **Ownership**: nothing is consumed; the caller keeps every argument.
/// `name` and `value` are copied.
///
/// **Lifetime**: `stanza` live and owned (not borrowed); `name`, `value`
/// NUL-terminated (or NULL), for the call only. Children borrowed from
/// `stanza` stay valid.
///
/// **Thread**: any thread; one thread at a time per stanza or builder (see
/// Threading); never blocks.
///
/// **Errors**: EPODE_ERR_NULL_ARG, EPODE_ERR_INVALID_UTF8,
/// EPODE_ERR_INVALID_ARG (not an XML name, or text XML does not allow).
#[no_mangle]
pub unsafe extern "C" fn epode_stanza_set_attr(
    stanza: *mut epode_stanza,
    name: *const c_char,
    value: *const c_char,
) -> epode_result {
    ffi!(|| {
        let elem = stanza_mut(stanza, "stanza")?;
        let name = c_str(name, "name")?;
        check_name(name)?;
        match opt_c_str(value, "value")? {
            Some(value) => {
                check_text(value, "value")?;
                elem.set_attr(name, value);
            }
            None => {
                elem.remove_attr(name);
            }
        }
        Ok(())
    })
}

/// Copies the element's own text (its direct text children, joined and
/// unescaped) into `buf`. An element without text gives "".
///
/// **Ownership**: nothing is consumed; the caller keeps every argument.
///
/// **Lifetime**: `stanza` live; `buf` valid for `cap` bytes (or NULL with
/// `cap` 0) and `len` NULL or writable, for the call only: the text is
/// copied.
///
/// **Thread**: any thread; one thread at a time per stanza or builder (see
/// Threading); never blocks.
///
/// **Errors**: EPODE_ERR_NULL_ARG, EPODE_ERR_BUFFER_TOO_SMALL (`*len` says
/// how much is needed).
#[no_mangle]
pub unsafe extern "C" fn epode_stanza_text(
    stanza: *const epode_stanza,
    buf: *mut c_char,
    cap: usize,
    len: *mut usize,
) -> epode_result {
    ffi!(|| copy_out(&stanza_ref(stanza, "stanza")?.text(), buf, cap, len))
}

/// Appends text to the element.
///
/// **Ownership**: nothing is consumed; the caller keeps every argument.
/// `text` is copied.
///
/// **Lifetime**: `stanza` live and owned; `text` NUL-terminated, for the
/// call only.
///
/// **Thread**: any thread; one thread at a time per stanza or builder (see
/// Threading); never blocks.
///
/// **Errors**: EPODE_ERR_NULL_ARG, EPODE_ERR_INVALID_UTF8,
/// EPODE_ERR_INVALID_ARG (text XML does not allow).
#[no_mangle]
pub unsafe extern "C" fn epode_stanza_append_text(
    stanza: *mut epode_stanza,
    text: *const c_char,
) -> epode_result {
    ffi!(|| {
        let elem = stanza_mut(stanza, "stanza")?;
        let text = c_str(text, "text")?;
        check_text(text, "text")?;
        elem.append_text(text);
        Ok(())
    })
}

/// Appends a deep copy of `child` to `parent`. The caller keeps `child`.
///
/// **Ownership**: nothing is consumed; the caller keeps every argument.
/// `child` is copied: the caller frees it.
///
/// **Lifetime**: `parent` live and owned; `child` live, for the call only.
/// Children borrowed from `parent` before the call are invalid after it.
///
/// **Thread**: any thread; one thread at a time per stanza or builder (see
/// Threading); never blocks.
///
/// **Errors**: EPODE_ERR_NULL_ARG.
#[no_mangle]
pub unsafe extern "C" fn epode_stanza_append_child(
    parent: *mut epode_stanza,
    child: *const epode_stanza,
) -> epode_result {
    ffi!(|| {
        let child = stanza_ref(child, "child")?.clone();
        stanza_mut(parent, "parent")?.append_child(child);
        Ok(())
    })
}

/// The number of child elements (text nodes not counted).
///
/// **Ownership**: nothing is consumed; the caller keeps every argument.
/// `*out` is written only on success.
///
/// **Lifetime**: `stanza` live; `out` writable, for the call only.
///
/// **Thread**: any thread; one thread at a time per stanza or builder (see
/// Threading); never blocks.
///
/// **Errors**: EPODE_ERR_NULL_ARG.
#[no_mangle]
pub unsafe extern "C" fn epode_stanza_child_count(
    stanza: *const epode_stanza,
    out: *mut usize,
) -> epode_result {
    ffi!(|| {
        let out = out_param(out, "out")?;
        *out = stanza_ref(stanza, "stanza")?.child_elements().count();
        Ok(())
    })
}

/// Borrows the child element at `index` (text nodes not counted). The
/// pointer is valid until `stanza` is modified or freed; do not free it.
///
/// **Ownership**: `*out` receives a borrowed child: never free it. Written
/// only on success.
///
/// **Lifetime**: `*out` is valid until `stanza` is modified or freed (for a
/// stanza given to a callback: until the callback returns).
///
/// **Thread**: any thread; one thread at a time per stanza or builder (see
/// Threading); never blocks.
///
/// **Errors**: EPODE_ERR_NULL_ARG, EPODE_ERR_NOT_FOUND.
#[no_mangle]
pub unsafe extern "C" fn epode_stanza_child(
    stanza: *const epode_stanza,
    index: usize,
    out: *mut *const epode_stanza,
) -> epode_result {
    ffi!(|| {
        let out = out_param(out, "out")?;
        let elem = stanza_ref(stanza, "stanza")?;
        let child = elem
            .child_elements()
            .nth(index)
            .ok_or_else(|| not_found(format!("<{}> has no child element #{index}", elem.name())))?;
        *out = borrowed_handle(child);
        Ok(())
    })
}

/// Borrows the first child element with local name `name` and, when `ns`
/// is not NULL, that namespace. Lifetime as for `epode_stanza_child`.
///
/// **Ownership**: `*out` receives a borrowed child: never free it. Written
/// only on success.
///
/// **Lifetime**: `name`, `ns` for the call only; `*out` as for
/// `epode_stanza_child`.
///
/// **Thread**: any thread; one thread at a time per stanza or builder (see
/// Threading); never blocks.
///
/// **Errors**: EPODE_ERR_NULL_ARG, EPODE_ERR_INVALID_UTF8,
/// EPODE_ERR_NOT_FOUND.
#[no_mangle]
pub unsafe extern "C" fn epode_stanza_find_child(
    stanza: *const epode_stanza,
    name: *const c_char,
    ns: *const c_char,
    out: *mut *const epode_stanza,
) -> epode_result {
    ffi!(|| {
        let out = out_param(out, "out")?;
        let elem = stanza_ref(stanza, "stanza")?;
        let name = c_str(name, "name")?;
        let ns = opt_c_str(ns, "ns")?;
        let child = elem
            .find_child(name, ns)
            .ok_or_else(|| not_found(format!("<{}> has no child <{name}>", elem.name())))?;
        *out = borrowed_handle(child);
        Ok(())
    })
}

/// Serializes the stanza to a new string, freed with `epode_string_free`.
///
/// **Ownership**: `*out` receives a new string, owned by the caller: free
/// it with `epode_string_free`. Written only on success.
///
/// **Lifetime**: `stanza` live, for the call only; `out` writable.
///
/// **Thread**: any thread; one thread at a time per stanza or builder (see
/// Threading); never blocks.
///
/// **Errors**: EPODE_ERR_NULL_ARG.
#[no_mangle]
pub unsafe extern "C" fn epode_stanza_to_string(
    stanza: *const epode_stanza,
    out: *mut *mut c_char,
) -> epode_result {
    ffi!(|| {
        let out = out_param(out, "out")?;
        *out = into_c_string(stanza_ref(stanza, "stanza")?.to_string())?;
        Ok(())
    })
}
