//! The engine's one inbox: commands from API calls (any thread) and
//! results from helper threads, with a descriptor that wakes the engine
//! from `poll()` (an eventfd on Linux: one descriptor per connection
//! rather than a pipe's two, which matters at 10,000 connections under a
//! 20,000-descriptor limit). It is written only when the engine may be
//! asleep, so a busy engine takes a burst of sends without a syscall per
//! send, and never by the engine's own thread, which looks at the queue
//! before it sleeps.

use std::collections::VecDeque;
use std::io;
use std::os::fd::RawFd;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;

pub(crate) struct Mailbox<T> {
    queue: Mutex<VecDeque<T>>,
    /// Set when a wake-up is in the descriptor and not yet drained.
    signalled: AtomicBool,
    waker: Waker,
}

/// A non-blocking descriptor pair: written to wake, readable until read.
struct Waker {
    read_fd: RawFd,
    write_fd: RawFd,
}

impl Waker {
    #[cfg(any(target_os = "linux", target_os = "android"))]
    fn new() -> io::Result<Waker> {
        // SAFETY: a plain syscall; the descriptor is ours until Drop.
        let fd = unsafe { libc::eventfd(0, libc::EFD_NONBLOCK | libc::EFD_CLOEXEC) };
        if fd < 0 {
            return Err(io::Error::last_os_error());
        }
        Ok(Waker {
            read_fd: fd,
            write_fd: fd,
        })
    }

    #[cfg(not(any(target_os = "linux", target_os = "android")))]
    fn new() -> io::Result<Waker> {
        let mut fds = [0; 2];
        // SAFETY: fds has room for the two descriptors pipe writes.
        if unsafe { libc::pipe(fds.as_mut_ptr()) } != 0 {
            return Err(io::Error::last_os_error());
        }
        for fd in fds {
            // SAFETY: fcntl on the descriptors pipe just made.
            unsafe {
                libc::fcntl(fd, libc::F_SETFL, libc::O_NONBLOCK);
                libc::fcntl(fd, libc::F_SETFD, libc::FD_CLOEXEC);
            }
        }
        Ok(Waker {
            read_fd: fds[0],
            write_fd: fds[1],
        })
    }

    fn wake(&self) {
        // Eight bytes: an eventfd takes a u64 count; a pipe takes anything.
        let one = 1u64.to_ne_bytes();
        // SAFETY: write_fd is ours; eight bytes from a live buffer. A full
        // pipe or counter (EAGAIN) already means "wake up": the result is moot.
        unsafe { libc::write(self.write_fd, one.as_ptr().cast(), one.len()) };
    }

    #[cfg(any(target_os = "linux", target_os = "android"))]
    fn drain(&self) {
        let mut count = [0u8; 8];
        // SAFETY: reading eight bytes into a live local buffer from our own
        // eventfd. One read takes the whole count and resets it; a second
        // would only say EAGAIN.
        unsafe { libc::read(self.read_fd, count.as_mut_ptr().cast(), count.len()) };
    }

    #[cfg(not(any(target_os = "linux", target_os = "android")))]
    fn drain(&self) {
        let mut buf = [0u8; 64];
        // SAFETY: reading into a live local buffer from our own pipe, until
        // it is empty (EAGAIN).
        while unsafe { libc::read(self.read_fd, buf.as_mut_ptr().cast(), buf.len()) } > 0 {}
    }
}

impl Drop for Waker {
    fn drop(&mut self) {
        // SAFETY: our descriptors, each closed exactly once.
        unsafe {
            libc::close(self.read_fd);
            if self.write_fd != self.read_fd {
                libc::close(self.write_fd);
            }
        }
    }
}

impl<T> Mailbox<T> {
    pub fn new() -> io::Result<Mailbox<T>> {
        Ok(Mailbox {
            queue: Mutex::new(VecDeque::new()),
            signalled: AtomicBool::new(false),
            waker: Waker::new()?,
        })
    }

    /// The descriptor that becomes readable when something was posted.
    pub fn wake_fd(&self) -> RawFd {
        self.waker.read_fd
    }

    pub fn post(&self, item: T) {
        lock(&self.queue).push_back(item);
        self.wake();
    }

    /// Posts without waking: only for the thread that is running the
    /// engine's step (a callback's send), which looks at the queue again
    /// before it sleeps. Saves the wake-up's write and read, two syscalls
    /// per message an echoing handler sends.
    pub fn post_quietly(&self, item: T) {
        lock(&self.queue).push_back(item);
    }

    /// Wakes the engine without a command (a helper thread has news).
    pub fn wake(&self) {
        if !self.signalled.swap(true, Ordering::AcqRel) {
            self.waker.wake();
        }
    }

    /// Takes everything posted so far, and re-arms the wake-up. The waker
    /// is emptied before the flag is cleared, so a post racing with us
    /// either lands in this drain or leaves a fresh wake-up: none is lost.
    pub fn drain(&self, out: &mut Vec<T>) {
        if self.signalled.load(Ordering::Acquire) {
            self.waker.drain();
            self.signalled.store(false, Ordering::Release);
        }
        out.extend(lock(&self.queue).drain(..));
    }

    pub fn is_empty(&self) -> bool {
        lock(&self.queue).is_empty()
    }
}

/// Locks a mutex, carrying on if a panicking thread poisoned it: every
/// structure behind our mutexes stays consistent between statements.
pub(crate) fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// Waits until one of `fds` is ready or `timeout` passes (None: forever).
/// Returns the revents of each descriptor, in order.
pub(crate) fn poll_fds(
    fds: &[(RawFd, i16)],
    timeout: Option<std::time::Duration>,
) -> io::Result<Vec<i16>> {
    let mut pfds: Vec<libc::pollfd> = fds
        .iter()
        .map(|&(fd, events)| libc::pollfd {
            fd,
            events,
            revents: 0,
        })
        .collect();
    let ms = timeout.map_or(-1, |t| {
        // Round up so a deadline 0.4 ms away does not spin with timeout 0.
        let ms = t.as_micros().div_ceil(1000);
        i32::try_from(ms).unwrap_or(i32::MAX)
    });
    // SAFETY: pfds is a live array of pollfd of the length we pass.
    let rc = unsafe { libc::poll(pfds.as_mut_ptr(), pfds.len() as libc::nfds_t, ms) };
    if rc < 0 {
        let err = io::Error::last_os_error();
        if err.kind() == io::ErrorKind::Interrupted {
            return Ok(vec![0; fds.len()]);
        }
        return Err(err);
    }
    Ok(pfds.iter().map(|p| p.revents).collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;
    use std::time::{Duration, Instant};

    #[test]
    fn a_post_from_another_thread_wakes_the_poller() {
        let mb = Arc::new(Mailbox::<u32>::new().unwrap());
        let poster = Arc::clone(&mb);
        let t = std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(20));
            poster.post(7);
            poster.post(8);
        });
        let start = Instant::now();
        let revents = poll_fds(
            &[(mb.wake_fd(), libc::POLLIN)],
            Some(Duration::from_secs(5)),
        )
        .unwrap();
        assert!(revents[0] & libc::POLLIN != 0);
        assert!(start.elapsed() < Duration::from_secs(4));
        t.join().unwrap();
        let mut got = Vec::new();
        mb.drain(&mut got);
        assert_eq!(got, vec![7, 8]);
        // Drained: the descriptor is quiet again.
        let revents = poll_fds(
            &[(mb.wake_fd(), libc::POLLIN)],
            Some(Duration::from_millis(0)),
        )
        .unwrap();
        assert_eq!(revents[0], 0);
    }
}
