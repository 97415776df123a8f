//! Custom SASL mechanisms written in C: one callback, called at each step
//! of the exchange, that writes its response through `epode_sasl_out_set`.

use super::callback::{epode_free_cb, Bound, Registration};
use super::conn::epode_conn;
use super::guard::{c_str, ffi, obj_mut, FfiError};
use super::result::epode_result;
use crate::sasl::{Credentials, Mechanism, SaslError};
use std::ffi::{c_char, c_int};

/// Where a custom mechanism's callback is in the exchange.
#[allow(non_camel_case_types)]
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum epode_sasl_step {
    /// The initial response (only for client-first mechanisms); `input` is empty.
    EPODE_SASL_START = 0,
    /// A challenge from the server; write the response.
    EPODE_SASL_CHALLENGE = 1,
    /// The server's `<success/>`: `input` is its additional data (maybe
    /// empty). Return EPODE_OK to accept it; anything else is AUTHFAIL.
    EPODE_SASL_SUCCESS = 2,
}

/// The response a custom mechanism's callback gives back. Opaque; valid
/// only during the callback.
#[allow(non_camel_case_types)]
pub struct epode_sasl_out {
    data: Option<Vec<u8>>,
}

/// A custom mechanism's callback: return EPODE_OK to go on, anything else
/// to fail the authentication (AUTHFAIL).
///
/// **Lifetime**: `input` (valid for `input_len` bytes) and `out` are valid
/// until the callback returns; write the response with
/// `epode_sasl_out_set`.
///
/// **Thread**: the engine thread, during the login; it must not block for
/// long (the login waits).
#[allow(non_camel_case_types)]
pub type epode_sasl_cb = Option<
    unsafe extern "C" fn(
        userdata: *mut std::ffi::c_void,
        step: epode_sasl_step,
        input: *const u8,
        input_len: usize,
        out: *mut epode_sasl_out,
    ) -> epode_result,
>;

/// Sets the response of this step: raw bytes (epode base64-encodes them).
/// Not calling it means "no response" (for START: `<auth/>` without data).
///
/// **Ownership**: nothing is consumed; the caller keeps every argument.
/// `data` is copied.
///
/// **Lifetime**: `out` the pointer given to the running `epode_sasl_cb`,
/// valid only during that call; `data` valid for `len` bytes (or NULL with
/// `len` 0), for the call only.
///
/// **Thread**: the engine thread, inside the mechanism's callback (the only
/// place `out` exists); never blocks.
///
/// **Errors**: EPODE_ERR_NULL_ARG.
#[no_mangle]
pub unsafe extern "C" fn epode_sasl_out_set(
    out: *mut epode_sasl_out,
    data: *const u8,
    len: usize,
) -> epode_result {
    ffi!(|| {
        let out = obj_mut(out, "out")?;
        let bytes = if len == 0 {
            Vec::new()
        } else if data.is_null() {
            return Err(super::guard::null_arg("data"));
        } else {
            std::slice::from_raw_parts(data, len).to_vec()
        };
        out.data = Some(bytes);
        Ok(())
    })
}

struct CMechanism {
    name: String,
    priority: i32,
    client_first: bool,
    callback: Bound<SaslFn>,
}

/// The C callback's type, without the `Option` of NULL.
type SaslFn = unsafe extern "C" fn(
    *mut std::ffi::c_void,
    epode_sasl_step,
    *const u8,
    usize,
    *mut epode_sasl_out,
) -> epode_result;

impl CMechanism {
    fn call(&self, step: epode_sasl_step, input: &[u8]) -> Result<Option<Vec<u8>>, SaslError> {
        let mut out = epode_sasl_out { data: None };
        // SAFETY: the application registered this callback for this userdata;
        // `input` and `out` live across the call.
        let result = unsafe {
            self.callback
                .call(|f, ud, _| f(ud, step, input.as_ptr(), input.len(), &mut out))
        };
        if result == epode_result::EPODE_OK {
            Ok(out.data)
        } else {
            Err(SaslError::Other(format!(
                "{} refused ({})",
                self.name,
                result.name()
            )))
        }
    }
}

impl Mechanism for CMechanism {
    fn name(&self) -> &str {
        &self.name
    }

    fn priority(&self) -> i32 {
        self.priority
    }

    fn is_client_first(&self) -> bool {
        self.client_first
    }

    fn test(&self, _creds: &Credentials) -> bool {
        true
    }

    fn start(&mut self, _creds: &Credentials) -> Result<Option<Vec<u8>>, SaslError> {
        self.call(epode_sasl_step::EPODE_SASL_START, &[])
    }

    fn challenge(&mut self, _creds: &Credentials, challenge: &[u8]) -> Result<Vec<u8>, SaslError> {
        Ok(self
            .call(epode_sasl_step::EPODE_SASL_CHALLENGE, challenge)?
            .unwrap_or_default())
    }

    fn success(
        &mut self,
        _creds: &Credentials,
        additional: Option<&[u8]>,
    ) -> Result<(), SaslError> {
        self.call(
            epode_sasl_step::EPODE_SASL_SUCCESS,
            additional.unwrap_or_default(),
        )
        .map(drop)
    }
}

/// Registers a SASL mechanism written in C, used like a built-in one: it is
/// chosen when the server offers `name` and no mechanism of higher
/// `priority` (PLAIN is 50, SCRAM-SHA-256 70) is offered too; a name equal
/// to a built-in replaces it. `callback` runs on the engine thread at each
/// step.
///
/// **Ownership**: `userdata` is owned by epode from the call on, also when
/// it fails: `userdata_free` (may be NULL) runs exactly once, when a
/// mechanism of the same name replaces it, when the connection is freed, or
/// before this returns if it fails. `name` is copied.
///
/// **Lifetime**: `conn` a live connection (from `epode_conn_new`, not yet
/// freed); `name` NUL-terminated, for the call only. The callback's
/// pointers: see `epode_sasl_cb`.
///
/// **Thread**: any thread, also inside the connection's callbacks; never
/// blocks. The mechanism is used from the next login.
///
/// **Errors**: EPODE_ERR_NULL_ARG, EPODE_ERR_INVALID_UTF8,
/// EPODE_ERR_INVALID_ARG (not an RFC 4422 mechanism name).
#[no_mangle]
pub unsafe extern "C" fn epode_conn_register_mechanism(
    conn: *mut epode_conn,
    name: *const c_char,
    priority: c_int,
    client_first: bool,
    callback: epode_sasl_cb,
    userdata: *mut std::ffi::c_void,
    userdata_free: epode_free_cb,
) -> epode_result {
    let reg = Registration::new(conn, callback, userdata, userdata_free);
    ffi!(on conn, |c| {
        let name = c_str(name, "name")?;
        let valid = !name.is_empty()
            && name.len() <= 20
            && name
                .bytes()
                .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || b == b'-' || b == b'_');
        if !valid {
            return Err(FfiError::new(
                epode_result::EPODE_ERR_INVALID_ARG,
                format!("{name:?} is not a SASL mechanism name (RFC 4422: 1-20 of A-Z 0-9 - _)"),
            ));
        }
        let callback = reg.required("callback")?;
        let name = name.to_string();
        c.connection().register_mechanism(move || {
            Box::new(CMechanism {
                name: name.clone(),
                priority,
                client_first,
                callback: callback.clone(),
            })
        });
        Ok(())
    })
}
