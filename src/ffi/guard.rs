//! What every export shares: the panic guard, the last error (of the
//! thread, and of the handle when it keeps one), and the checks that turn C
//! pointers into Rust values (NULL, UTF-8).
//!
//! Every `extern "C"` function's body is one `ffi!` call, in one of its
//! four forms; `tests/header.rs` checks that none is written another way.

use super::result::{epode_result, error_code};
use crate::error::Error;
use crate::panic::panic_message;
use std::cell::RefCell;
use std::ffi::{c_char, CStr};
use std::panic::{catch_unwind, AssertUnwindSafe};

/// A failure on its way back to C: the code, and the message kept as last error.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FfiError {
    pub code: epode_result,
    pub message: String,
}

impl FfiError {
    pub fn new(code: epode_result, message: impl Into<String>) -> FfiError {
        FfiError {
            code,
            message: message.into(),
        }
    }
}

pub type FfiResult<T> = Result<T, FfiError>;

thread_local! {
    /// Like errno: the message of the last failed call on this thread.
    static LAST_ERROR: RefCell<String> = const { RefCell::new(String::new()) };
}

pub(crate) fn set_last_error(message: &str) {
    LAST_ERROR.with(|e| {
        let mut e = e.borrow_mut();
        e.clear();
        e.push_str(message);
    });
}

pub(crate) fn last_error() -> String {
    LAST_ERROR.with(|e| e.borrow().clone())
}

/// Runs the body of an export: a panic becomes `EPODE_ERR_PANIC`, an error
/// is recorded as this thread's last error. Nothing unwinds into C.
pub fn guard(body: impl FnOnce() -> FfiResult<()>) -> epode_result {
    match catch_unwind(AssertUnwindSafe(body)) {
        Ok(Ok(())) => epode_result::EPODE_OK,
        Ok(Err(err)) => {
            set_last_error(&err.message);
            err.code
        }
        Err(panic) => {
            let what = panic_message(&panic);
            set_last_error(&format!("internal error (bug in epode): {what}"));
            epode_result::EPODE_ERR_PANIC
        }
    }
}

/// Like `guard` for exports that return a plain value (no error code):
/// a panic yields `fallback`.
pub fn guard_value<T>(fallback: T, body: impl FnOnce() -> T) -> T {
    catch_unwind(AssertUnwindSafe(body)).unwrap_or(fallback)
}

/// A C handle that keeps the message of its last failed call (a
/// connection: `epode_conn_last_error`), beside the thread's.
pub(crate) trait KeepsLastError {
    /// The handle's parameter name, for the NULL message.
    const WHAT: &'static str;
    fn keep_last_error(&self, message: &str);
}

/// Like `guard`, on a handle: NULL is `EPODE_ERR_NULL_ARG`, and a failure
/// is kept on the handle too.
pub(crate) fn guard_on<T: KeepsLastError>(
    handle: *const T,
    body: impl FnOnce(&T) -> FfiResult<()>,
) -> epode_result {
    guard(|| {
        // SAFETY: the caller promises a live handle or NULL.
        let h = unsafe { obj(handle, T::WHAT)? };
        let result = body(h);
        if let Err(e) = &result {
            h.keep_last_error(&e.message);
        }
        result
    })
}

/// A `_free` of a boxed handle: NULL does nothing.
///
/// # Safety
/// `ptr` is NULL or came from `Box::<T>::into_raw` and is not freed before.
pub(crate) unsafe fn free_boxed<T>(ptr: *mut T) {
    if !ptr.is_null() {
        guard_value((), || drop(Box::from_raw(ptr)));
    }
}

/// The body of every export, in one of four forms, so that the panic
/// guard, the last error and the NULL checks are written once:
///
/// - `ffi!(|| body)`: `body` is an `FfiResult<()>`; the export returns
///   `epode_result` (`EPODE_OK`, the error's code with its message as the
///   thread's last error, or `EPODE_ERR_PANIC`).
/// - `ffi!(on handle, |h| body)`: the same on a handle that keeps its own
///   last error (a connection); `handle` NULL is `EPODE_ERR_NULL_ARG`.
/// - `ffi!(value fallback, || body)`: an export that returns a plain value
///   (a length, a static string); a panic gives `fallback`.
/// - `ffi!(free ptr => T)`: a `_free` of a handle that is a `Box<T>`;
///   NULL does nothing.
///
/// Pointer arguments are checked inside `body` with [`obj`], [`obj_mut`],
/// [`c_str`], [`opt_c_str`] and [`out_param`] (outputs first, so that a
/// NULL output is reported before anything happens).
macro_rules! ffi {
    (on $handle:expr, |$h:ident| $body:expr) => {
        $crate::ffi::guard::guard_on($handle, |$h| $body)
    };
    (value $fallback:expr, || $body:expr) => {
        $crate::ffi::guard::guard_value($fallback, || $body)
    };
    (free $ptr:expr => $t:ty) => {
        $crate::ffi::guard::free_boxed::<$t>($ptr.cast())
    };
    (|| $body:expr) => {
        $crate::ffi::guard::guard(|| $body)
    };
}
pub(crate) use ffi;

pub fn null_arg(what: &str) -> FfiError {
    FfiError::new(epode_result::EPODE_ERR_NULL_ARG, format!("{what} is NULL"))
}

/// Borrows a NUL-terminated UTF-8 string from C.
///
/// # Safety
/// `ptr` is NULL or points to a NUL-terminated string that outlives `'a`.
pub unsafe fn c_str<'a>(ptr: *const c_char, what: &str) -> FfiResult<&'a str> {
    if ptr.is_null() {
        return Err(null_arg(what));
    }
    CStr::from_ptr(ptr).to_str().map_err(|e| {
        FfiError::new(
            epode_result::EPODE_ERR_INVALID_UTF8,
            format!("{what} is not valid UTF-8 (at byte {})", e.valid_up_to()),
        )
    })
}

/// Like `c_str`, but NULL means "not given".
///
/// # Safety
/// As for `c_str`.
pub unsafe fn opt_c_str<'a>(ptr: *const c_char, what: &str) -> FfiResult<Option<&'a str>> {
    if ptr.is_null() {
        Ok(None)
    } else {
        c_str(ptr, what).map(Some)
    }
}

/// Borrows an object behind a C handle.
///
/// # Safety
/// `ptr` is NULL or points to a live `T` for `'a`.
pub unsafe fn obj<'a, T>(ptr: *const T, what: &str) -> FfiResult<&'a T> {
    ptr.as_ref().ok_or_else(|| null_arg(what))
}

/// Mutably borrows an object behind a C handle.
///
/// # Safety
/// `ptr` is NULL or points to a live `T` for `'a`, used by nobody else meanwhile.
pub unsafe fn obj_mut<'a, T>(ptr: *mut T, what: &str) -> FfiResult<&'a mut T> {
    ptr.as_mut().ok_or_else(|| null_arg(what))
}

/// Checks an out-parameter before any work is done, so that a NULL output
/// is reported before side effects.
///
/// # Safety
/// `ptr` is NULL or valid for writes.
pub unsafe fn out_param<'a, T>(ptr: *mut T, what: &str) -> FfiResult<&'a mut T> {
    ptr.as_mut().ok_or_else(|| null_arg(what))
}

/// Copies `text` into a caller buffer, NUL-terminated. `*len` (if given)
/// receives the length without the NUL, also when the buffer is too small,
/// so the caller can retry; the buffer is written only when everything fits.
///
/// # Safety
/// `buf` is NULL or valid for `cap` bytes; `len` is NULL or valid for writes.
pub unsafe fn copy_out(text: &str, buf: *mut c_char, cap: usize, len: *mut usize) -> FfiResult<()> {
    if let Some(len) = len.as_mut() {
        *len = text.len();
    }
    if buf.is_null() || cap <= text.len() {
        return Err(FfiError::new(
            epode_result::EPODE_ERR_BUFFER_TOO_SMALL,
            format!("the buffer needs {} bytes, {cap} given", text.len() + 1),
        ));
    }
    std::ptr::copy_nonoverlapping(text.as_ptr(), buf.cast::<u8>(), text.len());
    *buf.add(text.len()) = 0;
    Ok(())
}

/// snprintf semantics, for last-error messages: writes as much as fits
/// (always NUL-terminated when `cap > 0`) and returns the full length.
///
/// # Safety
/// `buf` is NULL or valid for `cap` bytes.
pub unsafe fn snprintf_out(text: &str, buf: *mut c_char, cap: usize) -> usize {
    if !buf.is_null() && cap > 0 {
        // Cut on a char boundary so the C side never sees half a character.
        let mut n = text.len().min(cap - 1);
        while !text.is_char_boundary(n) {
            n -= 1;
        }
        std::ptr::copy_nonoverlapping(text.as_ptr(), buf.cast::<u8>(), n);
        *buf.add(n) = 0;
    }
    text.len()
}

/// Hands a Rust string to C as a newly allocated C string, freed by
/// `epode_string_free`. Text from XML never holds NUL; if some did, it is
/// refused rather than silently cut.
pub fn into_c_string(text: String) -> FfiResult<*mut c_char> {
    std::ffi::CString::new(text)
        .map(std::ffi::CString::into_raw)
        .map_err(|_| {
            FfiError::new(
                epode_result::EPODE_ERR_INVALID_ARG,
                "text contains a NUL byte",
            )
        })
}

/// The message of this thread's last failed epode call, with snprintf
/// semantics: writes at most `cap` bytes including the NUL and returns the
/// full length. Calls that succeed leave it as it was (like errno).
///
/// **Ownership**: nothing is consumed; the caller keeps every argument.
///
/// **Lifetime**: `buf` valid for `cap` bytes (or NULL with `cap` 0), for
/// the call only.
///
/// **Thread**: any thread; each thread has its own last error; never
/// blocks.
///
/// **Errors**: none: returns the message's full length (snprintf
/// semantics).
#[no_mangle]
pub unsafe extern "C" fn epode_last_error(buf: *mut c_char, cap: usize) -> usize {
    ffi!(value 0, || snprintf_out(&last_error(), buf, cap))
}

/// Frees a string that epode allocated (e.g. by `epode_stanza_to_string`).
/// NULL does nothing.
///
/// **Ownership**: consumes `s` (a string epode allocated:
/// `epode_stanza_to_string`, `epode_builder_to_string`); NULL does nothing.
///
/// **Lifetime**: `s` is not used again.
///
/// **Thread**: any thread; never blocks.
///
/// **Errors**: none.
#[no_mangle]
pub unsafe extern "C" fn epode_string_free(s: *mut c_char) {
    ffi!(value(), || if !s.is_null() {
        drop(std::ffi::CString::from_raw(s))
    })
}

impl From<Error> for FfiError {
    fn from(e: Error) -> FfiError {
        FfiError::new(error_code(&e), e.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_panic_becomes_an_error_code() {
        let r = guard(|| panic!("boom"));
        assert_eq!(r, epode_result::EPODE_ERR_PANIC);
        assert!(last_error().contains("boom"));
    }

    #[test]
    fn copy_out_writes_only_when_it_fits() {
        let mut buf = [b'x' as c_char; 4];
        let mut len = 0usize;
        let r = unsafe { copy_out("hello", buf.as_mut_ptr(), buf.len(), &mut len) };
        assert_eq!(
            r.unwrap_err().code,
            epode_result::EPODE_ERR_BUFFER_TOO_SMALL
        );
        assert_eq!(len, 5);
        assert!(buf.iter().all(|&c| c == b'x' as c_char));
        let r = unsafe { copy_out("hey", buf.as_mut_ptr(), buf.len(), &mut len) };
        assert!(r.is_ok());
        assert_eq!(len, 3);
        assert_eq!(
            unsafe { CStr::from_ptr(buf.as_ptr()) }.to_str().unwrap(),
            "hey"
        );
    }

    #[test]
    fn snprintf_cuts_on_char_boundaries() {
        let mut buf = [0 as c_char; 3];
        let n = unsafe { snprintf_out("aé", buf.as_mut_ptr(), buf.len()) };
        assert_eq!(n, 3);
        // "é" is two bytes and does not fit after "a" with the NUL.
        assert_eq!(
            unsafe { CStr::from_ptr(buf.as_ptr()) }.to_str().unwrap(),
            "a"
        );
    }

    #[test]
    fn a_rust_error_becomes_its_code_and_message() {
        let e = FfiError::from(Error::Internal("boom".into()));
        assert_eq!(e.code, epode_result::EPODE_ERR_PANIC);
    }
}
