//! XEP-0156 discovery from C: a domain's WebSocket and BOSH URLs from its
//! host-meta (`crate::discovery::HostMeta` has the rules), held in a
//! small read-only handle.

use super::guard::{c_str, copy_out, ffi, obj, opt_c_str, out_param, FfiError, FfiResult};
use super::options::epode_options;
use super::result::epode_result;
use crate::discovery::{ConnectionMethods, HostMeta};
use crate::Error;
use std::ffi::{c_char, c_int};

/// Which kind of endpoint a URL of `epode_connection_methods` is.
#[allow(non_camel_case_types)]
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum epode_endpoint_kind {
    /// `wss://` (`ws://` with `allow_plaintext`): a WebSocket service.
    EPODE_ENDPOINT_WEBSOCKET = 0,
    /// `https://` (`http://` with `allow_plaintext`): a BOSH service.
    EPODE_ENDPOINT_BOSH = 1,
}

/// A domain's connection methods as host-meta lists them. Opaque;
/// `epode_connection_methods_free` frees it.
#[allow(non_camel_case_types)]
pub struct epode_connection_methods {
    inner: ConnectionMethods,
}

impl epode_connection_methods {
    fn urls(&self, kind: c_int) -> Option<&[String]> {
        match kind {
            k if k == epode_endpoint_kind::EPODE_ENDPOINT_WEBSOCKET as c_int => {
                Some(&self.inner.websocket)
            }
            k if k == epode_endpoint_kind::EPODE_ENDPOINT_BOSH as c_int => Some(&self.inner.bosh),
            _ => None,
        }
    }
}

/// Fetches `domain`'s host-meta over HTTPS (XEP-0156): first
/// `https://DOMAIN/.well-known/host-meta`, then host-meta.json if that
/// fails or lists nothing. Only `wss://` and `https://` URLs are kept,
/// unless `opts` allows plaintext. Pass a service URL found here to
/// `epode_conn_new`.
///
/// `origin` (NULL for `https://DOMAIN`) fetches from another place, such as
/// `https://web.example.com:8443`. From `opts` (NULL for the defaults), the
/// lookup uses `ca_file`, `accept_invalid_certs`, `allow_plaintext`, and
/// `connect_timeout` as the bound of the whole lookup. Every redirect counts
/// against that bound, and at most 5 are followed.
///
/// **Ownership**: `*out` receives a new handle, owned by the caller: free
/// it with `epode_connection_methods_free`. It is written only on success.
/// Nothing is consumed.
///
/// **Lifetime**: `domain` and `origin` (NULL or) NUL-terminated, `opts`
/// NULL or live, `out` writable, for the call only.
///
/// **Thread**: any thread. It blocks for the HTTP exchanges, at most
/// `connect_timeout`.
///
/// **Errors**: EPODE_ERR_NULL_ARG, EPODE_ERR_INVALID_UTF8,
/// EPODE_ERR_INVALID_ARG (a bad domain or origin, or a plaintext origin
/// without `allow_plaintext`), EPODE_ERR_TLS, EPODE_ERR_TIMEOUT,
/// EPODE_ERR_IO (an HTTP error or a malformed document), EPODE_ERR_NOT_FOUND
/// (both documents read, neither lists a URL).
#[no_mangle]
pub unsafe extern "C" fn epode_host_meta_lookup(
    domain: *const c_char,
    origin: *const c_char,
    opts: *const epode_options,
    out: *mut *mut epode_connection_methods,
) -> epode_result {
    ffi!(|| {
        let out = out_param(out, "out")?;
        let domain = c_str(domain, "domain")?;
        let origin = opt_c_str(origin, "origin")?;
        let mut lookup = match opts.as_ref() {
            Some(opts) => HostMeta::from_options(&opts.inner),
            None => HostMeta::new(),
        };
        if let Some(origin) = origin {
            lookup = lookup.origin(origin);
        }
        let inner = lookup.connection_methods(domain).map_err(not_found)?;
        *out = Box::into_raw(Box::new(epode_connection_methods { inner }));
        Ok(())
    })
}

/// "Nothing listed" is EPODE_ERR_NOT_FOUND rather than an I/O error.
fn not_found(e: Error) -> FfiError {
    match e {
        Error::Io {
            kind: Some(std::io::ErrorKind::NotFound),
            message,
            ..
        } => FfiError::new(epode_result::EPODE_ERR_NOT_FOUND, message),
        e => FfiError::from(e),
    }
}

/// How many URLs of `kind` (an `epode_endpoint_kind`) were found; 0 for a
/// NULL handle or an unknown kind.
///
/// **Ownership**: nothing is consumed.
///
/// **Lifetime**: `methods` NULL or live, for the call only.
///
/// **Thread**: any thread; never blocks.
///
/// **Errors**: none (0 for NULL or an unknown kind).
#[no_mangle]
pub unsafe extern "C" fn epode_connection_methods_count(
    methods: *const epode_connection_methods,
    kind: c_int,
) -> usize {
    ffi!(value 0, || methods
        .as_ref()
        .and_then(|m| m.urls(kind))
        .map_or(0, <[String]>::len))
}

/// Copies URL number `index` (from 0, in the document's order, the
/// server's preference) of `kind` (an `epode_endpoint_kind`).
///
/// **Ownership**: nothing is consumed; the caller keeps every argument.
///
/// **Lifetime**: `methods` live; `buf` valid for `cap` bytes (or NULL with
/// `cap` 0) and `len` NULL or writable, for the call only: the text is
/// copied.
///
/// **Thread**: any thread; never blocks.
///
/// **Errors**: EPODE_ERR_NULL_ARG, EPODE_ERR_INVALID_ARG (an unknown
/// kind), EPODE_ERR_NOT_FOUND (`index` past the last),
/// EPODE_ERR_BUFFER_TOO_SMALL.
#[no_mangle]
pub unsafe extern "C" fn epode_connection_methods_url(
    methods: *const epode_connection_methods,
    kind: c_int,
    index: usize,
    buf: *mut c_char,
    cap: usize,
    len: *mut usize,
) -> epode_result {
    ffi!(|| url(methods, kind, index, (buf, cap, len)))
}

/// # Safety
/// As for `epode_connection_methods_url`.
unsafe fn url(
    methods: *const epode_connection_methods,
    kind: c_int,
    index: usize,
    (buf, cap, len): (*mut c_char, usize, *mut usize),
) -> FfiResult<()> {
    let urls = obj(methods, "methods")?.urls(kind).ok_or_else(|| {
        FfiError::new(
            epode_result::EPODE_ERR_INVALID_ARG,
            format!("{kind} is not an epode_endpoint_kind"),
        )
    })?;
    let url = urls.get(index).ok_or_else(|| {
        FfiError::new(
            epode_result::EPODE_ERR_NOT_FOUND,
            format!("no URL {index}: {} of this kind", urls.len()),
        )
    })?;
    copy_out(url, buf, cap, len)
}

/// Frees what `epode_host_meta_lookup` found. NULL does nothing.
///
/// **Ownership**: consumes `methods`.
///
/// **Lifetime**: `methods` NULL or live, and not used after.
///
/// **Thread**: any thread; never blocks.
///
/// **Errors**: none.
#[no_mangle]
pub unsafe extern "C" fn epode_connection_methods_free(methods: *mut epode_connection_methods) {
    ffi!(free methods => epode_connection_methods)
}
