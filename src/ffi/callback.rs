//! C callbacks with their userdata: `userdata_free` runs exactly once, when
//! the last closure holding the userdata is dropped.

use std::ffi::c_void;
use std::sync::Arc;

/// Frees a userdata pointer given with a callback.
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
