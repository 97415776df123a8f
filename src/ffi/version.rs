//! The library's own names and numbers: the `EPODE_VERSION_*` macros of
//! the header and `epode_version()` (from the same Cargo version, which a
//! test checks), and the names of statuses and result codes.

use super::guard::ffi;
use crate::status::Status;
use std::ffi::{c_char, c_int};

/// Major version of the header you compiled against.
#[allow(dead_code)] // a #define of the header, which cbindgen reads
pub const EPODE_VERSION_MAJOR: u32 = 0;
/// Minor version of the header you compiled against.
#[allow(dead_code)] // a #define of the header, which cbindgen reads
pub const EPODE_VERSION_MINOR: u32 = 1;
/// Patch version of the header you compiled against.
#[allow(dead_code)] // a #define of the header, which cbindgen reads
pub const EPODE_VERSION_PATCH: u32 = 0;

/// Strophe's status names, NUL-terminated, indexed by number.
const STATUS_NAMES: [&str; 14] = [
    "ERROR\0",
    "CONNECTING\0",
    "CONNFAIL\0",
    "AUTHENTICATING\0",
    "AUTHFAIL\0",
    "CONNECTED\0",
    "DISCONNECTED\0",
    "DISCONNECTING\0",
    "ATTACHED\0",
    "REDIRECT\0",
    "CONNTIMEOUT\0",
    "BINDREQUIRED\0",
    "ATTACHFAIL\0",
    "RECONNECTING\0",
];

const VERSION_C: &str = concat!(env!("CARGO_PKG_VERSION"), "\0");

/// The library's version, e.g. "0.1.0" (static; never free it). Compare
/// with the `EPODE_VERSION_*` macros to detect a header/library mismatch.
///
/// **Ownership**: nothing is consumed; the caller keeps every argument. The
/// string is static: never free it.
///
/// **Lifetime**: The string lives as long as the library is loaded.
///
/// **Thread**: any thread; never blocks.
///
/// **Errors**: none (never NULL).
#[no_mangle]
pub extern "C" fn epode_version() -> *const c_char {
    ffi!(value VERSION_C.as_ptr().cast(), || VERSION_C.as_ptr().cast())
}

/// Strophe's name of a status, e.g. "CONNFAIL" for 2; "UNKNOWN" for a
/// number that is no status. Static; never free it.
///
/// **Ownership**: nothing is consumed; the caller keeps every argument. The
/// string is static: never free it.
///
/// **Lifetime**: The string lives as long as the library is loaded.
///
/// **Thread**: any thread; never blocks.
///
/// **Errors**: none (never NULL; "UNKNOWN" for a number that is no status).
#[no_mangle]
pub extern "C" fn epode_status_name(status: c_int) -> *const c_char {
    ffi!(value c"UNKNOWN".as_ptr(), || {
        let name =
            Status::from_number(i64::from(status)).map_or("UNKNOWN\0", |s| STATUS_NAMES[s as usize]);
        name.as_ptr().cast()
    })
}

/// The name of a result code, e.g. `"EPODE_ERR_NULL_ARG"`; `"EPODE_UNKNOWN"`
/// for a number epode never returns. The string is static: never free it.
///
/// **Ownership**: nothing is consumed; the caller keeps every argument. The
/// string is static: never free it.
///
/// **Lifetime**: The string lives as long as the library is loaded.
///
/// **Thread**: any thread; never blocks.
///
/// **Errors**: none (never NULL; "EPODE_UNKNOWN" for a number that is no
/// result).
#[no_mangle]
pub extern "C" fn epode_result_str(code: c_int) -> *const c_char {
    ffi!(value c"EPODE_UNKNOWN".as_ptr(), || {
        let name = usize::try_from(code)
            .ok()
            .and_then(|i| super::result::NAMES.get(i))
            .map_or("EPODE_UNKNOWN\0", |entry| entry.1);
        name.as_ptr().cast()
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::ffi::CStr;

    #[test]
    fn every_result_code_names_itself() {
        for (n, (r, _)) in super::super::result::NAMES.iter().enumerate() {
            let s = unsafe { CStr::from_ptr(epode_result_str(n as i32)) };
            assert_eq!(s.to_str().unwrap(), r.name());
        }
        let unknown = unsafe { CStr::from_ptr(epode_result_str(99)) };
        assert_eq!(unknown.to_str().unwrap(), "EPODE_UNKNOWN");
    }

    #[test]
    fn macros_match_the_cargo_version() {
        assert_eq!(
            EPODE_VERSION_MAJOR.to_string(),
            env!("CARGO_PKG_VERSION_MAJOR")
        );
        assert_eq!(
            EPODE_VERSION_MINOR.to_string(),
            env!("CARGO_PKG_VERSION_MINOR")
        );
        assert_eq!(
            EPODE_VERSION_PATCH.to_string(),
            env!("CARGO_PKG_VERSION_PATCH")
        );
        let v = unsafe { CStr::from_ptr(epode_version()) }.to_str().unwrap();
        assert_eq!(v, env!("CARGO_PKG_VERSION"));
    }

    #[test]
    fn status_names_agree_with_status() {
        for s in Status::ALL {
            let c = unsafe { CStr::from_ptr(epode_status_name(s as i32)) };
            assert_eq!(c.to_str().unwrap(), s.name());
        }
        let c = unsafe { CStr::from_ptr(epode_status_name(42)) };
        assert_eq!(c.to_str().unwrap(), "UNKNOWN");
    }
}
