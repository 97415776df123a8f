//! Logging from C: a per-connection handler, a process-wide default and a
//! ready-made handler that prints to stderr. See `crate::log` for the
//! design (what is logged, and that passwords and SASL payloads never are).

use super::callback::{epode_free_cb, Registration};
use super::conn::epode_conn;
use super::guard::{ffi, FfiError, FfiResult};
use super::result::epode_result;
use crate::log::{LogHandler, LogLevel};
use std::ffi::{c_char, c_int, c_void, CStr, CString};
use std::ptr;

/// How important a log message is (libstrophe's and Strophe.js's numbers).
#[allow(non_camel_case_types)]
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum epode_log_level {
    EPODE_LOG_DEBUG = 0,
    EPODE_LOG_INFO = 1,
    EPODE_LOG_WARN = 2,
    EPODE_LOG_ERROR = 3,
}

/// The C value of a level (a function, not `From`, so that cbindgen does
/// not put the Rust type in the header).
fn c_level(l: LogLevel) -> epode_log_level {
    use epode_log_level::*;
    [
        EPODE_LOG_DEBUG,
        EPODE_LOG_INFO,
        EPODE_LOG_WARN,
        EPODE_LOG_ERROR,
    ][l as usize]
}

/// A log handler. `conn` is the connection the message is about (NULL for
/// the process-wide default handler); `message` is one line without a
/// newline, borrowed until the handler returns. It runs on the thread that
/// drives the engine, one message at a time, and must not set or clear log
/// handlers (that returns EPODE_ERR_WOULD_DEADLOCK).
///
/// **Lifetime**: `conn` (NULL for the default handler) as for
/// `epode_status_cb`; `message` is valid until the handler returns.
///
/// **Thread**: the thread that drives the engine, one message at a time; a
/// process-wide default handler is called from the engine threads of all
/// connections (one call at a time). It must not set or clear log handlers
/// (EPODE_ERR_WOULD_DEADLOCK).
#[allow(non_camel_case_types)]
pub type epode_log_cb = Option<
    unsafe extern "C" fn(
        userdata: *mut c_void,
        conn: *mut epode_conn,
        level: c_int,
        message: *const c_char,
    ),
>;

fn level_arg(level: c_int) -> FfiResult<LogLevel> {
    LogLevel::from_number(i64::from(level)).ok_or_else(|| {
        FfiError::new(
            epode_result::EPODE_ERR_INVALID_ARG,
            format!("{level} is no log level (EPODE_LOG_DEBUG 0 … EPODE_LOG_ERROR 3)"),
        )
    })
}

/// Wraps a C log callback (None clears).
fn c_handler(reg: Registration<epode_log_cb>) -> Option<LogHandler> {
    let cb = reg.optional()?;
    Some(Box::new(move |level: LogLevel, message: &str| {
        let message = CString::new(message.replace('\0', " ")).unwrap_or_default();
        let level = c_level(level) as c_int;
        // SAFETY: the application gave us this callback for this userdata.
        unsafe { cb.call(|f, ud, conn| f(ud, conn, level, message.as_ptr())) }
    }))
}

/// Sends this connection's messages at `level` (an EPODE_LOG_* value) and
/// above to `callback`, instead of the default handler. A NULL `callback`
/// removes the connection's handler (its messages go to the default one
/// again). Passwords and SASL payloads are never logged, at any level.
///
/// **Ownership**: `userdata` is owned by epode from the call on, also when
/// it fails: `userdata_free` (may be NULL) runs exactly once, when the
/// handler is replaced or removed, when the connection is freed, or before
/// this returns if it fails or `callback` is NULL.
///
/// **Lifetime**: `conn` a live connection (from `epode_conn_new`, not yet
/// freed). The callback's pointers: see `epode_log_cb`.
///
/// **Thread**: any thread, also inside the connection's other callbacks;
/// never blocks. Inside a log handler it is EPODE_ERR_WOULD_DEADLOCK.
///
/// **Errors**: EPODE_ERR_NULL_ARG (`conn`), EPODE_ERR_INVALID_ARG (`level`
/// is no EPODE_LOG_* value; nothing changes), EPODE_ERR_WOULD_DEADLOCK.
#[no_mangle]
pub unsafe extern "C" fn epode_conn_set_log_handler(
    conn: *mut epode_conn,
    level: c_int,
    callback: epode_log_cb,
    userdata: *mut c_void,
    userdata_free: epode_free_cb,
) -> epode_result {
    let reg = Registration::new(conn, callback, userdata, userdata_free);
    ffi!(on conn, |c| {
        let level = if callback.is_some() {
            level_arg(level)?
        } else {
            LogLevel::Error
        };
        let handler = c_handler(reg);
        let conn = c.connection();
        match handler {
            Some(h) => conn.set_log_handler(level, h),
            None => conn.clear_log_handler(),
        }
        .map_err(FfiError::from)
    })
}

/// Sets the process-wide default handler: it gets the messages at `level`
/// and above of every connection without a handler of its own, with `conn`
/// NULL, from the engine threads of all connections (one call at a time).
/// A NULL `callback` removes it.
///
/// **Ownership**: `userdata` is owned by epode from the call on, also when
/// it fails: `userdata_free` (may be NULL) runs exactly once, when the
/// handler is replaced or removed, or before this returns if it fails or
/// `callback` is NULL. It is never freed otherwise: remove it before
/// unloading what `userdata` points to.
///
/// **Lifetime**: `callback` and `userdata` usable from any thread until
/// `userdata_free` runs. The callback's pointers: see `epode_log_cb`.
///
/// **Thread**: any thread; never blocks. Inside a log handler it is
/// EPODE_ERR_WOULD_DEADLOCK.
///
/// **Errors**: EPODE_ERR_INVALID_ARG (`level` is no EPODE_LOG_* value;
/// nothing changes), EPODE_ERR_WOULD_DEADLOCK.
#[no_mangle]
pub unsafe extern "C" fn epode_set_default_log_handler(
    level: c_int,
    callback: epode_log_cb,
    userdata: *mut c_void,
    userdata_free: epode_free_cb,
) -> epode_result {
    let reg = Registration::new(ptr::null_mut(), callback, userdata, userdata_free);
    ffi!(|| {
        match c_handler(reg) {
            Some(h) => crate::log::set_default_handler(level_arg(level)?, h),
            None => crate::log::clear_default_handler(),
        }
        .map_err(FfiError::from)
    })
}

/// A ready-made log handler: writes `epode LEVEL: message` to stderr.
/// Pass it to `epode_conn_set_log_handler` or
/// `epode_set_default_log_handler` with NULL userdata.
///
/// **Ownership**: nothing is consumed; the caller keeps every argument.
///
/// **Lifetime**: `message` NULL or NUL-terminated, for the call only;
/// `userdata` and `conn` are not used.
///
/// **Thread**: any thread (it is a log handler); blocks only on the write
/// to stderr.
///
/// **Errors**: none (an unknown `level` prints as "?").
#[no_mangle]
pub unsafe extern "C" fn epode_log_stderr(
    userdata: *mut c_void,
    conn: *mut epode_conn,
    level: c_int,
    message: *const c_char,
) {
    ffi!(value(), || {
        let _ = (userdata, conn);
        if message.is_null() {
            return;
        }
        let text = CStr::from_ptr(message).to_string_lossy();
        let name = LogLevel::from_number(i64::from(level)).map_or("?", LogLevel::name);
        eprintln!("epode {name}: {text}");
    })
}

/// The name of a log level ("DEBUG", "INFO", "WARN", "ERROR"), or "UNKNOWN".
/// The string is static: never free it.
///
/// **Ownership**: nothing is consumed; the caller keeps every argument. The
/// string is static: never free it.
///
/// **Lifetime**: The string lives as long as the library is loaded.
///
/// **Thread**: any thread; never blocks.
///
/// **Errors**: none (never NULL; "UNKNOWN" for a number that is no level).
#[no_mangle]
pub extern "C" fn epode_log_level_name(level: c_int) -> *const c_char {
    ffi!(value c"UNKNOWN".as_ptr(), || {
        match LogLevel::from_number(i64::from(level)) {
            Some(LogLevel::Debug) => c"DEBUG",
            Some(LogLevel::Info) => c"INFO",
            Some(LogLevel::Warn) => c"WARN",
            Some(LogLevel::Error) => c"ERROR",
            None => c"UNKNOWN",
        }
        .as_ptr()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn c_levels_keep_the_rust_numbers_and_names() {
        for l in LogLevel::ALL {
            assert_eq!(c_level(l) as i32, l as i32);
            let name = unsafe { CStr::from_ptr(epode_log_level_name(l as c_int)) };
            assert_eq!(name.to_str().unwrap(), l.name());
        }
        let unknown = unsafe { CStr::from_ptr(epode_log_level_name(9)) };
        assert_eq!(unknown.to_str().unwrap(), "UNKNOWN");
    }
}
