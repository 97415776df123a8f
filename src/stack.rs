//! Returns the engine thread's unused stack pages to the kernel.
//!
//! Logging in runs deep code once (SASL, the first parses); the pages it
//! touches stay resident for the life of the thread although an idle
//! connection never needs them again — about 20 KB of each idle
//! connection's 45 KB. Once the session is up, the engine thread is back in
//! its shallow loop, so everything well below the current stack pointer is
//! dead and can be dropped (the kernel maps fresh zero pages if it is ever
//! used again). Linux/glibc only; elsewhere this does nothing.

/// Kept below the current frame: the x86-64 red zone and the few calls
/// trim makes. Anything deeper that is used later simply faults in again.
const MARGIN: usize = 4 * 1024;

#[cfg(all(target_os = "linux", target_env = "gnu"))]
pub(crate) fn trim_unused() {
    let here = 0u8;
    let sp = std::ptr::addr_of!(here) as usize;
    // SAFETY: pthread_getattr_np fills `attr` for the calling thread, and
    // pthread_attr_getstack reads it; the attribute is destroyed after use.
    let (low, size) = unsafe {
        let mut attr: libc::pthread_attr_t = std::mem::zeroed();
        if libc::pthread_getattr_np(libc::pthread_self(), &mut attr) != 0 {
            return;
        }
        let mut addr: *mut libc::c_void = std::ptr::null_mut();
        let mut size: libc::size_t = 0;
        let ok = libc::pthread_attr_getstack(&attr, &mut addr, &mut size) == 0;
        libc::pthread_attr_destroy(&mut attr);
        if !ok {
            return;
        }
        (addr as usize, size)
    };
    let page = 4096;
    let start = (low + page - 1) & !(page - 1);
    let end = sp.saturating_sub(MARGIN) & !(page - 1);
    if sp < low || sp > low + size || end <= start {
        return;
    }
    // SAFETY: [start, end) lies inside this thread's own stack and wholly
    // below the live frames (the stack grows down), so nothing uses it.
    unsafe {
        libc::madvise(start as *mut libc::c_void, end - start, libc::MADV_DONTNEED);
    }
}

#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
pub(crate) fn trim_unused() {}
