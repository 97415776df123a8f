//! Strophe's `$build`, `$msg`, `$iq`, `$pres` for C.
//!
//! `attrs` arguments are NULL or a NULL-terminated array of name, value
//! pairs: `{"to", "bob@example.com", "type", "chat", NULL}`. A NULL value in
//! `epode_builder_attrs` removes that attribute (Strophe's `attrs()` with
//! null). A builder is owned by the caller until `epode_builder_finish`
//! (which consumes it) or `epode_builder_free`.

use super::guard::{c_str, ffi, into_c_string, obj_mut, opt_c_str, out_param, FfiError, FfiResult};
use super::result::epode_result;
use super::stanza::{check_name, check_text, epode_stanza, into_handle, stanza_ref};
use crate::xml::Builder;
use std::ffi::c_char;

/// A stanza under construction, with a cursor (Strophe's Builder). Opaque.
#[allow(non_camel_case_types)]
pub struct epode_builder {
    // None only while a by-value Builder method runs.
    inner: Option<Builder>,
}

/// Reads a NULL-terminated name/value list. A NULL value is kept as None.
///
/// # Safety
/// `attrs` is NULL or a NULL-terminated array of NUL-terminated strings.
unsafe fn read_attrs<'a>(
    attrs: *const *const c_char,
) -> FfiResult<Vec<(&'a str, Option<&'a str>)>> {
    let mut out = Vec::new();
    if attrs.is_null() {
        return Ok(out);
    }
    let mut i = 0;
    // An upper bound keeps a missing NULL terminator from reading forever.
    while i < 2 * 4096 {
        let name = *attrs.add(i);
        if name.is_null() {
            return Ok(out);
        }
        let name = c_str(name, "attribute name")?;
        check_name(name)?;
        let value = opt_c_str(*attrs.add(i + 1), "attribute value")?;
        if let Some(v) = value {
            check_text(v, "attribute value")?;
        }
        out.push((name, value));
        i += 2;
    }
    Err(FfiError::new(
        epode_result::EPODE_ERR_INVALID_ARG,
        "attrs has more than 4096 pairs (is the NULL terminator missing?)",
    ))
}

/// Attributes for a new element: a NULL value there is simply left out.
fn present<'a>(attrs: Vec<(&'a str, Option<&'a str>)>) -> Vec<(&'a str, &'a str)> {
    attrs
        .into_iter()
        .filter_map(|(k, v)| v.map(|v| (k, v)))
        .collect()
}

/// A new builder made by `make`, to `*out`.
///
/// # Safety
/// `out` NULL or valid for writes.
unsafe fn start(
    out: *mut *mut epode_builder,
    make: impl FnOnce() -> FfiResult<Builder>,
) -> FfiResult<()> {
    let out = out_param(out, "out")?;
    let builder = make()?;
    *out = Box::into_raw(Box::new(epode_builder {
        inner: Some(builder),
    }));
    Ok(())
}

/// Applies a by-value Builder step to the builder behind `b`. Callers
/// validate every input first, so a failed call leaves the builder as it was.
///
/// # Safety
/// `b` is NULL or a live builder.
unsafe fn step(b: *mut epode_builder, apply: impl FnOnce(Builder) -> Builder) -> FfiResult<()> {
    let b = obj_mut(b, "builder")?;
    let inner = b
        .inner
        .take()
        .ok_or_else(|| FfiError::new(epode_result::EPODE_ERR_WRONG_STATE, "builder is unusable"))?;
    b.inner = Some(apply(inner));
    Ok(())
}

/// `$build(name, attrs)`: a new builder whose root is `<name …attrs>`.
///
/// **Ownership**: `*out` receives a new builder, owned by the caller: free
/// it with `epode_builder_free`, or consume it with `epode_builder_finish`.
/// Written only on success.
///
/// **Lifetime**: `name` and `attrs` for the call only (copied); `out`
/// writable.
///
/// **Thread**: any thread; never blocks.
///
/// **Errors**: EPODE_ERR_NULL_ARG, EPODE_ERR_INVALID_UTF8,
/// EPODE_ERR_INVALID_ARG (a bad name or attribute, or `attrs` without its
/// NULL).
#[no_mangle]
pub unsafe extern "C" fn epode_builder_new(
    name: *const c_char,
    attrs: *const *const c_char,
    out: *mut *mut epode_builder,
) -> epode_result {
    ffi!(|| start(out, || {
        let name = c_str(name, "name")?;
        check_name(name)?;
        Ok(Builder::new(name, present(read_attrs(attrs)?)))
    }))
}

/// `$msg(attrs)`: `<message xmlns="jabber:client" …attrs>`.
///
/// **Ownership**: as for `epode_builder_new`.
///
/// **Lifetime**: `attrs` for the call only (copied); `out` writable.
///
/// **Thread**: any thread; never blocks.
///
/// **Errors**: EPODE_ERR_NULL_ARG, EPODE_ERR_INVALID_UTF8,
/// EPODE_ERR_INVALID_ARG.
#[no_mangle]
pub unsafe extern "C" fn epode_builder_msg(
    attrs: *const *const c_char,
    out: *mut *mut epode_builder,
) -> epode_result {
    ffi!(|| start(out, || Ok(Builder::msg(present(read_attrs(attrs)?)))))
}

/// `$iq(attrs)`: `<iq xmlns="jabber:client" …attrs>`.
///
/// **Ownership**: as for `epode_builder_new`.
///
/// **Lifetime**: `attrs` for the call only (copied); `out` writable.
///
/// **Thread**: any thread; never blocks.
///
/// **Errors**: EPODE_ERR_NULL_ARG, EPODE_ERR_INVALID_UTF8,
/// EPODE_ERR_INVALID_ARG.
#[no_mangle]
pub unsafe extern "C" fn epode_builder_iq(
    attrs: *const *const c_char,
    out: *mut *mut epode_builder,
) -> epode_result {
    ffi!(|| start(out, || Ok(Builder::iq(present(read_attrs(attrs)?)))))
}

/// `$pres(attrs)`: `<presence xmlns="jabber:client" …attrs>`.
///
/// **Ownership**: as for `epode_builder_new`.
///
/// **Lifetime**: `attrs` for the call only (copied); `out` writable.
///
/// **Thread**: any thread; never blocks.
///
/// **Errors**: EPODE_ERR_NULL_ARG, EPODE_ERR_INVALID_UTF8,
/// EPODE_ERR_INVALID_ARG.
#[no_mangle]
pub unsafe extern "C" fn epode_builder_pres(
    attrs: *const *const c_char,
    out: *mut *mut epode_builder,
) -> epode_result {
    ffi!(|| start(out, || Ok(Builder::pres(present(read_attrs(attrs)?)))))
}

/// `c(name, attrs, text)`: adds a child. Without text (NULL) the cursor
/// moves into the child; with text it stays on the parent, as in Strophe.
///
/// **Ownership**: nothing is consumed; the caller keeps every argument.
/// Everything is copied.
///
/// **Lifetime**: `b` live; `name`, `attrs`, `text` for the call only.
///
/// **Thread**: any thread; one thread at a time per stanza or builder (see
/// Threading); never blocks.
///
/// **Errors**: EPODE_ERR_NULL_ARG, EPODE_ERR_INVALID_UTF8,
/// EPODE_ERR_INVALID_ARG; on an error the builder is unchanged.
#[no_mangle]
pub unsafe extern "C" fn epode_builder_c(
    b: *mut epode_builder,
    name: *const c_char,
    attrs: *const *const c_char,
    text: *const c_char,
) -> epode_result {
    ffi!(|| {
        let name = c_str(name, "name")?;
        check_name(name)?;
        let attrs = present(read_attrs(attrs)?);
        match opt_c_str(text, "text")? {
            Some(text) => {
                check_text(text, "text")?;
                step(b, |inner| inner.c_text(name, attrs, text))
            }
            None => step(b, |inner| inner.c(name, attrs)),
        }
    })
}

/// `cnode(elem)`: appends a copy of `stanza` and moves the cursor into it.
///
/// **Ownership**: nothing is consumed; the caller keeps every argument.
/// `stanza` is copied: the caller frees it.
///
/// **Lifetime**: `b` live; `stanza` live, for the call only.
///
/// **Thread**: any thread; one thread at a time per stanza or builder (see
/// Threading); never blocks.
///
/// **Errors**: EPODE_ERR_NULL_ARG.
#[no_mangle]
pub unsafe extern "C" fn epode_builder_cnode(
    b: *mut epode_builder,
    stanza: *const epode_stanza,
) -> epode_result {
    ffi!(|| {
        let node = stanza_ref(stanza, "stanza")?.clone();
        step(b, |inner| inner.cnode(node))
    })
}

/// `t(text)`: appends text at the cursor.
///
/// **Ownership**: nothing is consumed; the caller keeps every argument.
/// `text` is copied.
///
/// **Lifetime**: `b` live; `text` for the call only.
///
/// **Thread**: any thread; one thread at a time per stanza or builder (see
/// Threading); never blocks.
///
/// **Errors**: EPODE_ERR_NULL_ARG, EPODE_ERR_INVALID_UTF8,
/// EPODE_ERR_INVALID_ARG; on an error the builder is unchanged.
#[no_mangle]
pub unsafe extern "C" fn epode_builder_t(
    b: *mut epode_builder,
    text: *const c_char,
) -> epode_result {
    ffi!(|| {
        let text = c_str(text, "text")?;
        check_text(text, "text")?;
        step(b, |inner| inner.t(text))
    })
}

/// `attrs(attrs)`: sets attributes on the cursor's element; a NULL value removes one.
///
/// **Ownership**: nothing is consumed; the caller keeps every argument.
/// `attrs` is copied.
///
/// **Lifetime**: `b` live; `attrs` for the call only.
///
/// **Thread**: any thread; one thread at a time per stanza or builder (see
/// Threading); never blocks.
///
/// **Errors**: EPODE_ERR_NULL_ARG, EPODE_ERR_INVALID_UTF8,
/// EPODE_ERR_INVALID_ARG; on an error the builder is unchanged.
#[no_mangle]
pub unsafe extern "C" fn epode_builder_attrs(
    b: *mut epode_builder,
    attrs: *const *const c_char,
) -> epode_result {
    ffi!(|| {
        let attrs = read_attrs(attrs)?;
        step(b, |inner| inner.attrs(attrs))
    })
}

/// `up()`: moves the cursor to the parent (stays at the root).
///
/// **Ownership**: nothing is consumed; the caller keeps every argument.
///
/// **Lifetime**: `b` live.
///
/// **Thread**: any thread; one thread at a time per stanza or builder (see
/// Threading); never blocks.
///
/// **Errors**: EPODE_ERR_NULL_ARG.
#[no_mangle]
pub unsafe extern "C" fn epode_builder_up(b: *mut epode_builder) -> epode_result {
    ffi!(|| step(b, Builder::up))
}

/// Serializes the tree built so far to a new string (`epode_string_free`).
///
/// **Ownership**: `*out` receives a new string, owned by the caller: free
/// it with `epode_string_free`. Written only on success.
///
/// **Lifetime**: `b` live; `out` writable.
///
/// **Thread**: any thread; one thread at a time per stanza or builder (see
/// Threading); never blocks.
///
/// **Errors**: EPODE_ERR_NULL_ARG.
#[no_mangle]
pub unsafe extern "C" fn epode_builder_to_string(
    b: *mut epode_builder,
    out: *mut *mut c_char,
) -> epode_result {
    ffi!(|| {
        let out = out_param(out, "out")?;
        let b = obj_mut(b, "builder")?;
        let tree = b
            .inner
            .as_ref()
            .ok_or_else(|| {
                FfiError::new(epode_result::EPODE_ERR_WRONG_STATE, "builder is unusable")
            })?
            .tree();
        *out = into_c_string(tree.to_string())?;
        Ok(())
    })
}

/// Finishes: `*out` receives the built stanza (owned) and the builder is
/// freed — also when this fails, so never use `b` afterwards.
///
/// **Ownership**: consumes `b`, also when it fails; `*out` receives a new
/// stanza, owned by the caller: free it with `epode_stanza_free`. Written
/// only on success.
///
/// **Lifetime**: `b` is not used again; `out` writable.
///
/// **Thread**: any thread; one thread at a time per stanza or builder (see
/// Threading); never blocks.
///
/// **Errors**: EPODE_ERR_NULL_ARG (and `b`, if not NULL, is freed).
#[no_mangle]
pub unsafe extern "C" fn epode_builder_finish(
    b: *mut epode_builder,
    out: *mut *mut epode_stanza,
) -> epode_result {
    ffi!(|| {
        if b.is_null() {
            return Err(super::guard::null_arg("builder"));
        }
        let builder = Box::from_raw(b);
        let out = out_param(out, "out")?;
        let tree = builder
            .inner
            .ok_or_else(|| {
                FfiError::new(epode_result::EPODE_ERR_WRONG_STATE, "builder is unusable")
            })?
            .build();
        *out = into_handle(tree);
        Ok(())
    })
}

/// Frees a builder without finishing it. NULL does nothing.
///
/// **Ownership**: consumes `b`; NULL does nothing.
///
/// **Lifetime**: `b` is not used again.
///
/// **Thread**: any thread; one thread at a time per stanza or builder (see
/// Threading); never blocks.
///
/// **Errors**: none.
#[no_mangle]
pub unsafe extern "C" fn epode_builder_free(b: *mut epode_builder) {
    ffi!(free b => epode_builder)
}
