//! C callbacks with their userdata: `userdata_free` runs exactly once, when
//! the last closure holding the userdata is dropped.
//!
//! Every export that takes `(callback, userdata, userdata_free)` makes a
//! `Registration` of them first thing, before any check that can fail:
//! from then on the userdata is owned, and `userdata_free` runs exactly
//! once whatever happens — on failure of the call (the registration is
//! dropped unused), when the callback is replaced or deleted, or when the
//! connection is freed (the engine drops the closures that hold it).

use super::conn::epode_conn;
use super::guard::{null_arg, FfiResult};
use std::ffi::c_void;
use std::sync::Arc;

/// Frees a userdata pointer given with a callback.
///
/// **Lifetime**: `userdata` is the pointer given with the registration; it
/// is not used by epode after this call.
///
/// **Thread**: whichever thread drops the registration: the caller's (a
/// failed registration), the engine thread (a handler removed or replaced)
/// or the thread in `epode_conn_free`. Runs exactly once per registration.
#[allow(non_camel_case_types)]
pub type epode_free_cb = Option<unsafe extern "C" fn(userdata: *mut c_void)>;

/// A C userdata pointer and its destructor.
pub(crate) struct UserData {
    ptr: *mut c_void,
    free: epode_free_cb,
}

// SAFETY: the C API documents that userdata is used from the engine thread;
// moving the pointer there is the caller's stated contract.
unsafe impl Send for UserData {}
unsafe impl Sync for UserData {}

impl UserData {
    pub fn new(ptr: *mut c_void, free: epode_free_cb) -> Arc<UserData> {
        Arc::new(UserData { ptr, free })
    }

    pub fn ptr(&self) -> *mut c_void {
        self.ptr
    }
}

impl Drop for UserData {
    fn drop(&mut self) {
        if let Some(free) = self.free {
            // A panic must not unwind out of Drop into C either.
            let ptr = self.ptr;
            let _ = std::panic::catch_unwind(|| {
                // SAFETY: the caller gave us this destructor for this pointer.
                unsafe { free(ptr) }
            });
        }
    }
}

/// A raw pointer that may travel to the engine thread (the C handle).
pub(crate) struct SendPtr<T>(pub *mut T);
impl<T> Clone for SendPtr<T> {
    fn clone(&self) -> Self {
        *self
    }
}
impl<T> Copy for SendPtr<T> {}
// SAFETY: the pointed-to handle outlives the engine thread (free joins it).
unsafe impl<T> Send for SendPtr<T> {}
unsafe impl<T> Sync for SendPtr<T> {}

/// `(callback, userdata, userdata_free)` as a C registration gives them,
/// with the connection handle its callbacks receive. See the module's
/// comment for when `userdata_free` runs.
pub(crate) struct Registration<C> {
    callback: C,
    userdata: Arc<UserData>,
    conn: SendPtr<epode_conn>,
}

impl<C> Registration<C> {
    /// Takes ownership of `userdata`: from here on `userdata_free` runs
    /// exactly once. `conn` is what the callbacks get as their connection
    /// (NULL where there is none).
    pub(crate) fn new(
        conn: *mut epode_conn,
        callback: C,
        userdata: *mut c_void,
        userdata_free: epode_free_cb,
    ) -> Registration<C> {
        Registration {
            callback,
            userdata: UserData::new(userdata, userdata_free),
            conn: SendPtr(conn),
        }
    }

    /// The callbacks as they are (for a pair of optional ones).
    pub(crate) fn bind(self) -> Bound<C> {
        Bound {
            callback: self.callback,
            userdata: self.userdata,
            conn: self.conn,
        }
    }
}

impl<F> Registration<Option<F>> {
    /// A callback that must be given: NULL is `EPODE_ERR_NULL_ARG` (and
    /// the userdata is freed as the registration drops).
    pub(crate) fn required(self, what: &str) -> FfiResult<Bound<F>> {
        let callback = self.callback.ok_or_else(|| null_arg(what))?;
        Ok(Bound {
            callback,
            userdata: self.userdata,
            conn: self.conn,
        })
    }

    /// A callback whose NULL clears what was set: `None`, and the userdata
    /// is freed at once.
    pub(crate) fn optional(self) -> Option<Bound<F>> {
        let callback = self.callback?;
        Some(Bound {
            callback,
            userdata: self.userdata,
            conn: self.conn,
        })
    }
}

/// A registered callback, ready to be moved into the engine's closures.
/// Clones share the userdata: it is freed when the last one drops.
pub(crate) struct Bound<C> {
    callback: C,
    userdata: Arc<UserData>,
    conn: SendPtr<epode_conn>,
}

impl<C: Clone> Clone for Bound<C> {
    fn clone(&self) -> Self {
        Bound {
            callback: self.callback.clone(),
            userdata: Arc::clone(&self.userdata),
            conn: self.conn,
        }
    }
}

impl<C: Copy> Bound<C> {
    /// Calls `f` with the callback and the two arguments every callback
    /// starts with: the userdata and the connection.
    ///
    /// # Safety
    /// `f` calls the C callback as the application registered it.
    pub(crate) unsafe fn call<R>(&self, f: impl FnOnce(C, *mut c_void, *mut epode_conn) -> R) -> R {
        f(self.callback, self.userdata.ptr(), self.conn.0)
    }

    /// The connection handle the callbacks get.
    pub(crate) fn conn(&self) -> SendPtr<epode_conn> {
        self.conn
    }
}
